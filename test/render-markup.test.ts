// The HTML of every table (result sets and the magics' own tables): only markup that notebook
// sanitizers keep, one alignment rule, and no user value ever turned into markup. The real
// frontends' view of the same markup is checked in a browser (test/browser-notebook.test.ts).
import { describe, expect, test } from 'vitest';
import type { Column } from '../lakebase/contracts';
import { JUPYTER_DISPLAY } from '../lakebase/contracts';
import { ResultSet } from '../lakebase/result-set';
import { alignmentOfTexts, renderResultSet, renderTable } from '../lakebase/render';
import { TableOutput } from '../magics/outputs';

/** Values that would become markup, or break out of an attribute, if anything were pasted raw. */
const HOSTILE = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "' onmouseover='alert(1)",
  '</div></td></tr></table><b>bold</b>',
  '&lt;i&gt;already escaped&lt;/i&gt;',
  '<!-- a comment -->',
  '<svg onload=alert(1)>',
  'NULL',
  'a & b < c > d',
];

/**
 * Tags and attributes both Notebook 6's and JupyterLab's sanitizers keep (sanitize-html with
 * Jupyter's lists: `*` class and title, `div` align), and nothing else: no style, no event handler.
 */
const ALLOWED_TAG = /^<\/?(table|thead|tbody|tr|th|td|div|em|br|p|small)((?: (?:class|title|align)="[^"<>]*")*)>$/;

function tagsOf(html: string): string[] {
  return html.match(/<[^>]*>/g) ?? [];
}

/** The text a browser shows for a piece of our HTML: tags dropped, character references decoded. */
function textOf(html: string): string {
  return html.replace(/<br>/g, '\n').replace(/<[^>]*>/g, '').replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
}

function column(name: string, typeName: string, typeOid: number): Column {
  return { name, typeName, typeOid, tableOid: 0, columnNumber: 0 };
}

function resultSet(columns: Column[], values: unknown[][]): ResultSet {
  return new ResultSet({ statement: 'SELECT', command: 'SELECT', columns, values, rowCount: values.length, elapsedMs: 1, displayLimit: 100 });
}

/** The cells of the HTML table, as the text a browser shows, row by row (the header first). */
function cellTexts(html: string): string[][] {
  return [...html.matchAll(/<tr>(.*?)<\/tr>/g)].map(([, row]) => [...row.matchAll(/<t[hd][^>]*>(.*?)<\/t[hd]>/g)].map(([, cell]) => textOf(cell)));
}

describe('no user value becomes markup', () => {
  test.each(HOSTILE)('a result set with %j as column name and as value', (value) => {
    const html = renderResultSet(resultSet([column(value, 'text', 25), column('n', 'int4', 23)], [[value, 1], [null, 2]]))['text/html'];
    for (const tag of tagsOf(html)) expect(tag).toMatch(ALLOWED_TAG);
    expect(cellTexts(html)).toEqual([[value, 'n'], [value, '1'], ['NULL', '2']]);
  });

  test.each(HOSTILE)('a magic\'s table with %j as column name and as cell', (value) => {
    const bundle = new TableOutput([value, 'count'], [[value, '3']], 'empty')[JUPYTER_DISPLAY]();
    const html = String(bundle['text/html']);
    for (const tag of tagsOf(html)) expect(tag).toMatch(ALLOWED_TAG);
    expect(cellTexts(html)).toEqual([[value, 'count'], [value, '3']]);
  });

  test('a long value cut in the cell keeps its full text in an escaped tooltip', () => {
    const value = `${'<b>'.repeat(60)}"`;
    const html = renderResultSet(resultSet([column('t', 'text', 25)], [[value]]))['text/html'];
    for (const tag of tagsOf(html)) expect(tag).toMatch(ALLOWED_TAG);
    const title = /<td title="([^"]*)">/.exec(html)?.[1];
    expect(textOf(title ?? '')).toBe(value);
  });

  test('the header tooltip (the column type) is escaped as well', () => {
    const html = renderTable({ columns: [{ name: 'x', align: 'left', title: '"><script>' }], rows: [['1']], footer: ['<i>done</i>'] })['text/html'];
    for (const tag of tagsOf(html)) expect(tag).toMatch(ALLOWED_TAG);
    expect(html).toContain('title="&#34;&#62;&#60;script&#62;"');
    expect(html).toContain('<p><small>&#60;i&#62;done&#60;/i&#62;</small></p>');
  });
});

describe('markup that sanitizers keep', () => {
  test('no style attribute anywhere: alignment is a div[align] in every cell and header', () => {
    const html = renderResultSet(resultSet([column('id', 'int4', 23), column('name', 'text', 25)], [[1, 'Lisbon'], [2, null]]))['text/html'];
    expect(html).not.toContain('style=');
    expect(cellTexts(html)).toEqual([['id', 'name'], ['1', 'Lisbon'], ['2', 'NULL']]);
    expect(html).toContain('<th title="int4"><div align="right">id</div></th><th title="text"><div align="left">name</div></th>');
    expect(html).toContain('<tr><td><div align="right">1</div></td><td><div align="left">Lisbon</div></td></tr>');
  });

  test('SQL NULL is marked apart from the text NULL', () => {
    const html = renderResultSet(resultSet([column('t', 'text', 25)], [['NULL'], [null]]))['text/html'];
    expect(html).toContain('<td><div align="left">NULL</div></td>');
    expect(html).toContain('<td><div align="left"><em class="text-muted" title="SQL NULL">NULL</em></div></td>');
  });
});

describe('one alignment rule for every table: numbers right', () => {
  test('a magic\'s table right-aligns its columns of numbers, in text and in HTML, headers included', () => {
    const table = new TableOutput(['identity', 'tokens minted', 'failures', 'expires'], [
      ['alice@example.com', '12', '0', '2026-11-27 14:05:00Z (in 54 min)'],
      ['svc', '1,024', '', ''],
    ], 'none');
    const bundle = table[JUPYTER_DISPLAY]();
    expect(bundle['text/plain']).toBe(
      [
        // As psql: the header centered over the full width, no padding after a last cell.
        '     identity      | tokens minted | failures |             expires              ',
        '-------------------+---------------+----------+----------------------------------',
        ' alice@example.com |            12 |        0 | 2026-11-27 14:05:00Z (in 54 min)',
        ' svc               |         1,024 |          | ',
      ].join('\n'),
    );
    expect(String(bundle['text/html'])).toContain(
      '<thead><tr><th><div align="left">identity</div></th><th><div align="right">tokens minted</div></th>' +
        '<th><div align="right">failures</div></th><th><div align="left">expires</div></th></tr></thead>',
    );
    expect(table.toString()).toBe(bundle['text/plain']);
  });

  test('a declared alignment wins over the rule', () => {
    const bundle = new TableOutput([{ name: 'code', align: 'left' }], [['007']], 'none')[JUPYTER_DISPLAY]();
    expect(String(bundle['text/html'])).toContain('<td><div align="left">007</div></td>');
  });

  test.each([
    [['1', '-2.5', '1,234,567', '6.02e23'], 'right'],
    [['1', 'two'], 'left'],
    [['', '3'], 'right'],
    [['', ''], 'left'],
    [['1.2.3'], 'left'],
    [['12 s'], 'left'],
  ] as const)('cells %j are aligned %s', (cells, align) => {
    expect(alignmentOfTexts(cells)).toBe(align);
  });

  test('an empty magic table shows its message, in text only', () => {
    expect(new TableOutput(['a'], [], 'No connections.')[JUPYTER_DISPLAY]()).toEqual({ 'text/plain': 'No connections.' });
  });
});
