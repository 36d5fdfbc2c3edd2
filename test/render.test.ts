import { describe, expect, test } from 'vitest';
import type { Column } from '../lakebase/contracts';
import { ResultSet, ResultSetInit } from '../lakebase/result-set';
import { formatElapsed, formatInterval, formatValue, renderResultSet } from '../lakebase/render';

const TYPES: Record<string, number> = {
  int4: 23, int8: 20, float8: 701, numeric: 1700, text: 25, bool: 16, jsonb: 3802, json: 114, date: 1082,
  timestamp: 1114, timestamptz: 1184, bytea: 17, _int4: 1007, _text: 1009, interval: 1186, uuid: 2950,
};

function column(name: string, typeName: string): Column {
  return { name, typeName, typeOid: TYPES[typeName], tableOid: 0, columnNumber: 0 };
}

function result(init: Partial<ResultSetInit> & Pick<ResultSetInit, 'columns' | 'values'>): ResultSet {
  return new ResultSet({
    statement: 'SELECT ...',
    command: 'SELECT',
    rowCount: init.values.length,
    elapsedMs: 1.5,
    displayLimit: 100,
    ...init,
  });
}

const lines = (...text: string[]) => text.join('\n');

describe('renderResultSet', () => {
  test('numbers right-aligned, text left, NULL visible, headers centered', () => {
    const bundle = renderResultSet(
      result({
        columns: [column('id', 'int4'), column('name', 'text'), column('score', 'float8')],
        values: [
          [1, 'alice', 1.5],
          [22, null, -3],
        ],
      }),
    );
    expect(bundle).toEqual({
      'text/plain': lines(
        ' id |  name  | score ',
        '----+--------+-------',
        '  1 | alice  |   1.5',
        ' 22 | (null) |    -3',
        '(2 rows)',
        'Time: 1.500 ms',
      ),
      'text/html': lines(
        '<table class="lakebase-result">',
        '<thead><tr><th title="int4"><div align="right">id</div></th><th title="text"><div align="left">name</div></th><th title="float8"><div align="right">score</div></th></tr></thead>',
        '<tbody>',
        '<tr><td><div align="right">1</div></td><td><div align="left">alice</div></td><td><div align="right">1.5</div></td></tr>',
        '<tr><td><div align="right">22</div></td><td><div align="left"><em class="text-muted" title="SQL NULL">NULL</em></div></td><td><div align="right">-3</div></td></tr>',
        '</tbody>',
        '</table>',
        '<p><small>(2 rows) · Time: 1.500 ms</small></p>',
      ),
    });
  });

  test('an empty result still shows its columns', () => {
    expect(renderResultSet(result({ columns: [column('id', 'int4'), column('name', 'text')], values: [] }))).toEqual({
      'text/plain': lines(' id | name ', '----+------', '(0 rows)', 'Time: 1.500 ms'),
      'text/html': lines(
        '<table class="lakebase-result">',
        '<thead><tr><th title="int4"><div align="right">id</div></th><th title="text"><div align="left">name</div></th></tr></thead>',
        '<tbody></tbody>',
        '</table>',
        '<p><small>(0 rows) · Time: 1.500 ms</small></p>',
      ),
    });
  });

  test.each([
    ['INSERT', 3, 'INSERT 0 3'],
    ['UPDATE', 2, 'UPDATE 2'],
    ['DELETE', 0, 'DELETE 0'],
    ['SELECT', 5, 'SELECT 5'], // CREATE TABLE AS / SELECT INTO
    ['CREATE TABLE', null, 'CREATE TABLE'],
    ['BEGIN', null, 'BEGIN'],
  ])('a %s without rows shows its command tag', (command, rowCount, tag) => {
    expect(renderResultSet(result({ command, rowCount, columns: [], values: [], elapsedMs: 0.25 }))).toEqual({
      'text/plain': lines(tag, 'Time: 0.250 ms'),
      'text/html': `<pre>${tag}\nTime: 0.250 ms</pre>`,
    });
  });

  test('INSERT ... RETURNING shows the rows and the tag', () => {
    const bundle = renderResultSet(result({ command: 'INSERT', columns: [column('id', 'int4')], values: [[7]] }));
    expect(bundle['text/plain']).toBe(lines(' id ', '----', '  7', '(1 row)', 'INSERT 0 1', 'Time: 1.500 ms'));
  });

  test('a page of a large result says how many rows there are', () => {
    const bundle = renderResultSet(
      result({ columns: [column('n', 'int8')], values: [['1'], ['2']], rowCount: 1_000_000, displayLimit: 2, elapsedMs: 2500 }),
    );
    expect(bundle['text/plain']).toBe(
      lines(' n ', '---', ' 1', ' 2', '(showing 2 of 1,000,000 rows)', 'Time: 2500.000 ms (00:02.500)'),
    );
    expect(bundle['text/html']).toContain('<p><small>(showing 2 of 1,000,000 rows) · Time: 2500.000 ms (00:02.500)</small></p>');
  });

  test('a page shown while the rest is counted says so, and so does one whose count stopped', () => {
    const page = { columns: [column('n', 'int8')], values: [['1'], ['2']], rowCount: 300_000, displayLimit: 2 };
    expect(renderResultSet(result({ ...page, counting: 'running' }))['text/plain']).toBe(
      lines(' n ', '---', ' 1', ' 2', '(showing 2 of at least 300,000 rows; counting…)', 'Time: 1.500 ms'),
    );
    expect(renderResultSet(result({ ...page, counting: 'stopped' }))['text/html']).toContain('<p><small>(showing 2 of at least 300,000 rows; the count stopped) · Time: 1.500 ms</small></p>');
  });

  test('the display limit holds also when every row was kept (--into)', () => {
    const bundle = renderResultSet(result({ columns: [column('n', 'int4')], values: [[1], [2], [3]], displayLimit: 1 }));
    expect(bundle['text/plain']).toBe(lines(' n ', '---', ' 1', '(showing 1 of 3 rows)', 'Time: 1.500 ms'));
  });

  test('wide characters and emoji keep the columns aligned', () => {
    const bundle = renderResultSet(
      result({
        columns: [column('city', 'text'), column('n', 'int4')],
        values: [
          ['東京', 1],
          ['Zürich', 22],
          ['👍🏽 ok', 3],
        ],
      }),
    );
    expect(bundle['text/plain']).toBe(
      lines('  city  | n  ', '--------+----', ' 東京   |  1', ' Zürich | 22', ' 👍🏽 ok  |  3', '(3 rows)', 'Time: 1.500 ms'),
    );
  });

  test('multi-line values continue with +, as psql shows them', () => {
    const bundle = renderResultSet(
      result({
        columns: [column('multi', 'text'), column('n', 'int4'), column('w', 'text')],
        values: [
          ['a\nbcd', 2, 'wide'],
          ['x', 3, 'l1\r\nl2\nl3'],
        ],
      }),
    );
    expect(bundle['text/plain']).toBe(
      lines(
        ' multi | n |  w   ',
        '-------+---+------',
        ' a    +| 2 | wide',
        ' bcd   |   | ',
        ' x     | 3 | l1  +',
        '       |   | l2  +',
        '       |   | l3',
        '(2 rows)',
        'Time: 1.500 ms',
      ),
    );
    expect(bundle['text/html']).toContain('<td><div align="left">l1<br>l2<br>l3</div></td>');
  });

  test('long text is shortened: 80 columns in text/plain, 120 in HTML with the value in a tooltip', () => {
    const long = 'x'.repeat(150);
    const bundle = renderResultSet(result({ columns: [column('t', 'text')], values: [[long]] }));
    expect(bundle['text/plain']).toBe(
      lines(` ${' '.repeat(39)}t${' '.repeat(40)} `, '-'.repeat(82), ` ${'x'.repeat(79)}…`, '(1 row)', 'Time: 1.500 ms'),
    );
    expect(bundle['text/html']).toContain(`<td title="${long}"><div align="left">${'x'.repeat(119)}…</div></td>`);
  });

  test('a tooltip holds at most 2,000 characters', () => {
    const bundle = renderResultSet(result({ columns: [column('t', 'text')], values: [['y'.repeat(5000)]] }));
    expect(bundle['text/html']).toContain(` title="${'y'.repeat(2000)}…">`);
    expect(bundle['text/html'].length).toBeLessThan(2500);
  });

  test('a long cell shows at most 10 lines', () => {
    const bundle = renderResultSet(result({ columns: [column('t', 'text')], values: [[Array.from({ length: 12 }, (_, i) => `l${i}`).join('\n')]] }));
    expect(bundle['text/plain'].split('\n').slice(2, 12)).toEqual([' l0+', ' l1+', ' l2+', ' l3+', ' l4+', ' l5+', ' l6+', ' l7+', ' l8+', ' …']);
  });

  test('JSON is compact and shortened', () => {
    const doc = { name: 'a', tags: ['x', 'y'], nested: { deep: true } };
    const big = { items: Array.from({ length: 40 }, (_, i) => i) };
    const bundle = renderResultSet(result({ columns: [column('doc', 'jsonb')], values: [[doc], [big], ['text'], [null]] }));
    expect(bundle['text/plain']).toBe(
      lines(
        '                                       doc                                        ',
        '----------------------------------------------------------------------------------',
        ' {"name":"a","tags":["x","y"],"nested":{"deep":true}}',
        ' {"items":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,2…',
        ' "text"',
        ' (null)',
        '(4 rows)',
        'Time: 1.500 ms',
      ),
    );
    const json = JSON.stringify(big);
    expect(json.length).toBe(121);
    const quoted = (text: string) => text.replaceAll('"', '&#34;');
    expect(bundle['text/html']).toContain(
      `<td title="${quoted(json)}"><div align="left">${quoted(json.slice(0, 119))}…</div></td>`,
    );
  });

  test('HTML escapes every value and column name: no script, no event handler survives', () => {
    const bundle = renderResultSet(
      result({
        columns: [column('<b onclick="x()">name</b>', 'text')],
        values: [['<script>alert("x")</script>'], ["' onmouseover='alert(1)"], ['a & b']],
      }),
    );
    expect(bundle['text/html']).toBe(
      lines(
        '<table class="lakebase-result">',
        '<thead><tr><th title="text"><div align="left">&#60;b onclick=&#34;x()&#34;&#62;name&#60;/b&#62;</div></th></tr></thead>',
        '<tbody>',
        '<tr><td><div align="left">&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;</div></td></tr>',
        '<tr><td><div align="left">&#39; onmouseover=&#39;alert(1)</div></td></tr>',
        '<tr><td><div align="left">a &#38; b</div></td></tr>',
        '</tbody>',
        '</table>',
        '<p><small>(3 rows) · Time: 1.500 ms</small></p>',
      ),
    );
    expect(bundle['text/html']).not.toMatch(/<script|<b |onclick="|onmouseover='/);
  });

  test('control characters cannot drive a terminal or break alignment', () => {
    const bundle = renderResultSet(result({ columns: [column('t', 'text')], values: [['a\tb\u001b[31mred\u0000']] }));
    expect(bundle['text/plain'].split('\n')[2]).toBe(' a␉b␛[31mred␀');
    expect(bundle['text/html']).toContain('>a␉b␛[31mred␀</div></td>');
  });

  test('a 100-row table stays small', () => {
    const columns = ['a', 'b', 'c', 'd', 'e'].map((name) => column(name, name === 'a' ? 'int4' : 'text'));
    const values = Array.from({ length: 100 }, (_, i) => [i, 'some text', null, 'more', 'x'.repeat(300)]);
    const html = renderResultSet(result({ columns, values }))['text/html'];
    expect(html.length).toBeLessThan(100 * 1024);
  });
});

describe('formatValue', () => {
  test.each([
    ['bool', true, 'true'],
    ['int8', '9007199254740993', '9007199254740993'],
    ['int8', 12n, '12'],
    ['numeric', '12.50', '12.50'],
    ['_int4', [1, null, 3], '{1,NULL,3}'],
    ['_int4', [[1, 2], [3, 4]], '{{1,2},{3,4}}'],
    ['_text', ['a b', 'c,d', '', 'NULL', '"q"', 'x\\y', 'plain'], '{"a b","c,d","","NULL","\\"q\\"","x\\\\y",plain}'],
    ['bytea', Buffer.from([1, 2, 255]), '\\x0102ff'],
    ['bytea', Buffer.alloc(2000, 0xab), `\\x${'ab'.repeat(1024)}…`],
    ['jsonb', { a: [1, 2] }, '{"a":[1,2]}'],
    ['jsonb', 'a string', '"a string"'],
    ['json', { big: 1n }, '{"big":"1"}'],
    ['timestamptz', new Date('2024-01-02T03:04:05.120Z'), '2024-01-02 03:04:05.12+00'],
    ['timestamptz', new Date('2024-01-02T03:04:05Z'), '2024-01-02 03:04:05+00'],
    ['timestamptz', new Date(Date.UTC(-43, 2, 15)), '0044-03-15 00:00:00+00 BC'],
    ['date', new Date(2024, 0, 2), '2024-01-02'],
    ['timestamp', new Date(2024, 0, 2, 3, 4, 5, 6), '2024-01-02 03:04:05.006'],
    ['date', Infinity, 'infinity'],
    ['timestamptz', -Infinity, '-infinity'],
    ['date', new Date('nope'), 'Invalid Date'],
    ['float8', NaN, 'NaN'],
    ['text', null, null],
    ['text', undefined, null],
  ])('%s %o', (typeName, value, text) => {
    expect(formatValue(value, column('c', typeName))).toBe(text);
  });

  test('values without a column type', () => {
    expect(formatValue({ a: 1 })).toBe('{"a":1}');
    expect(formatValue({ toPostgres: () => '1 day' })).toBe('1 day');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(formatValue(circular)).toBe('[object Object] (Converting circular structure to JSON)');
  });
});

test.each([
  [{ years: 1, months: 2, days: 3, hours: 4, minutes: 5, seconds: 6, milliseconds: 789 }, '1 year 2 mons 3 days 04:05:06.789'],
  [{ days: -1 }, '-1 days'],
  [{}, '00:00:00'],
  [{ hours: -4, minutes: -5 }, '-04:05:00'],
  [{ hours: 30, milliseconds: 0.001 }, '30:00:00.000001'],
  [{ years: 2, days: 1 }, '2 years 1 day'],
])('formatInterval %o', (interval, text) => {
  expect(formatInterval(interval)).toBe(text);
});

test.each([
  [0.0421, 'Time: 0.042 ms'],
  [999.9994, 'Time: 999.999 ms'],
  [61_234.5, 'Time: 61234.500 ms (01:01.235)'],
  [3_723_004, 'Time: 3723004.000 ms (01:02:03.004)'],
  [90_000_000, 'Time: 90000000.000 ms (1 d 01:00:00.000)'],
])('formatElapsed %d', (ms, text) => {
  expect(formatElapsed(ms)).toBe(text);
});
