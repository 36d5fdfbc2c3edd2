// Chart specs from result sets and rows (axis types from column types), and the SVG Vega draws
// here in Node, with no browser and no canvas. The real frontends' view is in the browser test.
import { describe, expect, test } from 'vitest';
import { Chart, CHART_MAX_ROWS, chart, RESULT_SET_OF_ROWS, VEGA_LITE_MIME, vegaLiteField } from '../lakebase/chart';
import type { Column } from '../lakebase/contracts';
import { JUPYTER_DISPLAY } from '../lakebase/contracts';
import { LakebaseError } from '../lakebase/errors';
import { ResultSet } from '../lakebase/result-set';

const OIDS: Record<string, number> = { int4: 23, int8: 20, numeric: 1700, float8: 701, text: 25, bool: 16, date: 1082, timestamp: 1114, timestamptz: 1184, uuid: 2950 };

function column(name: string, typeName: string): Column {
  return { name, typeName, typeOid: OIDS[typeName], tableOid: 0, columnNumber: 0 };
}

function result(columns: Column[], values: unknown[][], rowCount = values.length): ResultSet {
  return new ResultSet({ statement: 'SELECT', command: 'SELECT', columns, values, rowCount, elapsedMs: 1, displayLimit: 100 });
}

const cities = result(
  [column('country', 'text'), column('population', 'int8'), column('founded', 'date'), column('updated', 'timestamptz'), column('big', 'bool')],
  [
    ['PT', '777596', new Date(1147, 9, 25), new Date(Date.UTC(2024, 0, 2, 3, 4, 5)), true],
    ['NL', '655468', new Date(1270, 0, 1), new Date(Date.UTC(2024, 0, 3)), false],
  ],
);

function failure(run: () => unknown): LakebaseError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(LakebaseError);
    return error as LakebaseError;
  }
  throw new Error('expected a LakebaseError');
}

describe('the Vega-Lite spec', () => {
  test('axis types come from column types: text nominal in query order, numbers quantitative, dates a UTC time axis', () => {
    const bar = chart(cities, { mark: 'bar', x: 'country', y: 'population' }).vegaLite;
    expect(bar).toEqual({
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      width: 480,
      height: 300,
      // Only the charted columns; int8 (an exact string from pg) as a number.
      data: { values: [{ country: 'PT', population: 777596 }, { country: 'NL', population: 655468 }] },
      mark: { type: 'bar', tooltip: true },
      encoding: {
        x: { field: 'country', type: 'nominal', title: 'country', sort: null },
        y: { field: 'population', type: 'quantitative', title: 'population' },
      },
    });
    const line = chart(cities, { mark: 'line', x: 'founded', y: 'population', color: 'big' }).vegaLite;
    expect(line.encoding.x).toEqual({ field: 'founded', type: 'temporal', title: 'founded', scale: { type: 'utc' } });
    expect(line.encoding.color).toEqual({ field: 'big', type: 'nominal', title: 'big', sort: null });
    // A date is charted as the day PostgreSQL stored (node-postgres read it as local midnight).
    expect(line.data.values.map((row) => row.founded)).toEqual(['1147-10-25T00:00:00.000Z', '1270-01-01T00:00:00.000Z']);
    expect(line.data.values.map((row) => row.big)).toEqual(['true', 'false']);
    const instants = chart(cities, { mark: 'point', x: 'updated', y: 'population' }).vegaLite;
    expect(instants.data.values.map((row) => row.updated)).toEqual(['2024-01-02T03:04:05.000Z', '2024-01-03T00:00:00.000Z']);
  });

  test('x defaults to the first column and y to the first numeric column after it', () => {
    const drawn = chart(cities, { mark: 'bar' });
    expect([drawn.vegaLite.encoding.x?.field, drawn.vegaLite.encoding.y?.field]).toEqual(['country', 'population']);
    expect(drawn.description).toBe('bar chart of population by country (2 rows)');
    expect(failure(() => chart(result([column('a', 'text'), column('b', 'uuid')], [['x', 'y']]), { mark: 'bar' })).code).toBe('CHART_INVALID');
  });

  test('rows stored with --into keep their column types; plain objects are typed from their values', () => {
    const stored = Object.defineProperty([...cities.rows], RESULT_SET_OF_ROWS, { value: cities, enumerable: false });
    expect(chart(stored, { mark: 'line', x: 'founded' }).vegaLite.encoding.x?.type).toBe('temporal');
    const plain = [
      { day: new Date(Date.UTC(2024, 0, 1)), orders: 3, region: 'north' },
      { day: new Date(Date.UTC(2024, 0, 2)), orders: 5n, region: null },
    ];
    const drawn = chart(plain, { mark: 'area', x: 'day', y: 'orders', color: 'region' }).vegaLite;
    expect([drawn.encoding.x?.type, drawn.encoding.y?.type, drawn.encoding.color?.type]).toEqual(['temporal', 'quantitative', 'nominal']);
    expect(drawn.data.values).toEqual([
      { day: '2024-01-01T00:00:00.000Z', orders: 3, region: 'north' },
      { day: '2024-01-02T00:00:00.000Z', orders: 5, region: null },
    ]);
  });

  test('column names Vega-Lite would read as paths are escaped in fields, kept in titles and data', () => {
    expect(vegaLiteField('a.b[0]\\c')).toBe('a\\.b\\[0\\]\\\\c');
    const drawn = chart([{ 'net.sales': 1, 'shop[1]': 'x' }], { mark: 'bar', x: 'shop[1]', y: 'net.sales' }).vegaLite;
    expect(drawn.encoding.y).toEqual({ field: 'net\\.sales', type: 'quantitative', title: 'net.sales' });
    expect(drawn.data.values).toEqual([{ 'shop[1]': 'x', 'net.sales': 1 }]);
  });

  test('mistakes are clear errors: an unknown column lists the columns, a bad mark lists the marks', () => {
    const unknown = failure(() => chart(cities, { mark: 'bar', x: 'contry' }));
    expect(unknown.code).toBe('CHART_UNKNOWN_COLUMN');
    expect(unknown.hint).toBe('Its columns: country, population, founded, updated, big.');
    const mark = failure(() => chart(cities, { mark: 'pie' as 'bar' }));
    expect(mark.code).toBe('CHART_INVALID');
    expect(mark.message).toContain('bar, line, point, area');
    expect(failure(() => chart('rows' as unknown as [], { mark: 'bar' })).code).toBe('CHART_INVALID');
  });

  test(`more than ${CHART_MAX_ROWS} rows is refused with how to aggregate in SQL, also when only a page was kept`, () => {
    const page = result([column('n', 'int4')], [[1], [2]], 1_000_000);
    const error = failure(() => chart(page, { mark: 'point', x: 'n', y: 'n' }));
    expect(error.code).toBe('CHART_TOO_MANY_ROWS');
    expect(error.message).toBe('A chart draws at most 5,000 rows; this result has 1,000,000.');
    expect(error.hint).toMatch(/GROUP BY.*date_trunc.*width_bucket/);
    const plain = Array.from({ length: CHART_MAX_ROWS + 1 }, (_, n) => ({ n }));
    expect(failure(() => chart(plain, { mark: 'point' })).code).toBe('CHART_TOO_MANY_ROWS');
  });

  test('a result that kept only its displayed page is not drawn as if it were all', () => {
    const page = result([column('n', 'int4')], [[1], [2]], 150);
    const error = failure(() => chart(page, { mark: 'point', x: 'n', y: 'n' }));
    expect(error.code).toBe('CHART_INCOMPLETE');
    expect(error.message).toBe('This result kept only the 2 rows it displays, of 150: a chart of them would miss the rest.');
    expect(error.hint).toMatch(/--chart.*--into/);
  });
});

describe('the SVG, drawn in Node', () => {
  test('the bundle has the Vega-Lite spec, an SVG with one bar per row, and a line of text', async () => {
    const drawn = chart(cities, { mark: 'bar', x: 'country', y: 'population' });
    const bundle = await drawn[JUPYTER_DISPLAY]();
    expect(Object.keys(bundle).sort()).toEqual([VEGA_LITE_MIME, 'image/svg+xml', 'text/plain'].sort());
    expect(bundle[VEGA_LITE_MIME]).toBe(drawn.vegaLite);
    expect(bundle['text/plain']).toBe('bar chart of population by country (2 rows)');
    const svg = String(bundle['image/svg+xml']);
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg.match(/<path aria-label="country: [^"]*"/g)).toHaveLength(2);
    expect(svg).toContain('>PT</text>');
    expect(svg).toContain('>population</text>');
    // Drawn once; displaying the chart again does not draw it again.
    expect(await drawn.svg()).toBe(svg);
  });

  test('a time axis labels the days PostgreSQL stored', async () => {
    const days = result([column('day', 'date'), column('orders', 'int4')], [
      [new Date(2024, 2, 1), 3],
      [new Date(2024, 2, 31), 7],
    ]);
    const svg = await chart(days, { mark: 'point', x: 'day', y: 'orders' }).svg();
    // Each point's label (Vega writes it in the axis' time zone): the stored day, in any time zone.
    expect(svg.match(/aria-label="day: [^"]*"/g)).toEqual(['aria-label="day: Mar 01, 2024; orders: 3"', 'aria-label="day: Mar 31, 2024; orders: 7"']);
  });

  test('no value from the data becomes markup in the SVG', async () => {
    const hostile = '<script>alert(1)</script> & "x" onload=alert(2)';
    const svg = await chart([{ name: hostile, n: 1 }], { mark: 'bar', x: 'name', y: 'n', title: '<b>title</b>' }).svg();
    expect(svg).not.toMatch(/<script|<b>/);
    expect(svg).toContain('&lt;b&gt;title&lt;/b&gt;');
    expect(svg).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot; onload=alert(2)');
    // No event handler attribute anywhere (a quote in a value is &quot;, so `="` only starts an attribute).
    for (const tag of svg.match(/<[a-zA-Z][^>]*>/g) ?? []) expect(tag).not.toMatch(/\son[a-z]+="/i);
  });

  test('a chart Vega cannot draw is a CHART_RENDER_FAILED error, not a crash', async () => {
    const broken = new Chart({ ...chart(cities, { mark: 'bar' }).vegaLite, mark: { type: 'nonsense' as 'bar', tooltip: true } }, 'broken');
    await expect(broken.svg()).rejects.toMatchObject({ code: 'CHART_RENDER_FAILED' });
  });
});
