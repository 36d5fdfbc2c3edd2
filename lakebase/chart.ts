// Results as charts: a Vega-Lite spec with the rows inlined, drawn in two ways in one MIME bundle.
// JupyterLab and VS Code draw `application/vnd.vegalite.v5+json` themselves (tooltips, crisp at
// any size); Notebook 6, nbconvert's HTML and GitHub's viewer do not, and show the
// `image/svg+xml` that `vega` and `vega-lite` render here, in the kernel, without a browser or a
// canvas. No Jupyter import: a plain Node program can draw the same chart.
//
// Choices, for users and for whoever changes this file:
// - Axis types come from column types: numeric types are quantitative, `date`/`timestamp`/
//   `timestamptz` temporal (a time axis), everything else nominal. Rows given without column
//   types (plain objects) are typed from their first non-null value.
// - A nominal axis keeps the query's order (`sort: null`): the SQL's ORDER BY decides, not the
//   alphabet.
// - Time is drawn in UTC (`scale: utc`): `timestamptz` values are their UTC instants, which is how
//   the tables show them (`+00`); `date` and `timestamp` values show the fields PostgreSQL stored.
// - int8 and numeric arrive as exact strings (pg-types) and are charted as numbers: a chart
//   cannot show more than 15 digits anyway.
// - At most CHART_MAX_ROWS rows are drawn: a chart of a big result is a chart of a query that
//   aggregates (GROUP BY, date_trunc, width_bucket), not millions of points shipped to a browser
//   (Altair refuses more than 5,000 rows for the same reason).
// - `vega` and `vega-lite` are ES modules with a top-level await (vega-canvas probing for the
//   optional `canvas` package), so `require()` cannot load them even on Node 20.19+; they are
//   loaded with `import()`, on the first chart, which keeps them out of the kernel's start.
import type { Column, MimeBundle } from './contracts';
import { JUPYTER_DISPLAY } from './contracts';
import { LakebaseError } from './errors';
import { isNumericType, typeNameOf } from './pg-types';
import { formatValue } from './render';
import { ResultSet } from './result-set';

export const CHART_MARKS = ['bar', 'line', 'point', 'area'] as const;
export type ChartMark = (typeof CHART_MARKS)[number];

/** The most rows a chart draws; more is an error that says how to aggregate in SQL. */
export const CHART_MAX_ROWS = 5000;

/** The MIME type JupyterLab (`@jupyterlab/vega5-extension`) and VS Code draw natively. */
export const VEGA_LITE_MIME = 'application/vnd.vegalite.v5+json';
const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/** Stable codes of the errors charts raise. */
export const CHART_ERRORS = {
  /** `x`, `y` or `color` names no column of the rows. */
  unknownColumn: 'CHART_UNKNOWN_COLUMN',
  /** More rows than CHART_MAX_ROWS. */
  tooManyRows: 'CHART_TOO_MANY_ROWS',
  /** A result that kept only its displayed page: a chart of it would silently miss rows. */
  incomplete: 'CHART_INCOMPLETE',
  /** A spec that cannot be drawn: an unknown mark, no column to use as y, rows that are not rows. */
  invalid: 'CHART_INVALID',
  /** Vega could not draw the chart (a bug, or a spec Vega-Lite rejects). */
  renderFailed: 'CHART_RENDER_FAILED',
} as const;

/** What to draw: a mark and the columns on its channels. */
export interface ChartSpec {
  mark: ChartMark;
  /** The column on the x axis (default: the first column). */
  x?: string;
  /** The column on the y axis (default: the first numeric column other than x). */
  y?: string;
  /** A column whose values color the marks (one line, bar segment or point color per value). */
  color?: string;
  title?: string;
  /** Size of the plotting area in pixels (default 480 by 300). */
  width?: number;
  height?: number;
}

/** What `chart()` accepts: a result set, rows stored with `--into`, or any array of plain objects. */
export type ChartRows = ResultSet | readonly Record<string, unknown>[];

export type FieldType = 'quantitative' | 'temporal' | 'nominal';

/** The Vega-Lite spec of a chart (the part of the grammar this module writes). */
export interface VegaLiteSpec {
  $schema: string;
  title?: string;
  width: number;
  height: number;
  data: { values: Record<string, unknown>[] };
  mark: { type: ChartMark; tooltip: boolean };
  encoding: { x: VegaLiteChannel; y: VegaLiteChannel; color?: VegaLiteChannel };
}

interface VegaLiteChannel {
  field: string;
  type: FieldType;
  title: string;
  sort?: null;
  scale?: { type: 'utc' };
}

/** `Symbol.for('lakebase.resultSet')`: rows stored with `--into` point back to their result, for its column types. */
export const RESULT_SET_OF_ROWS = Symbol.for('lakebase.resultSet');

/** A field of the chart: the column's name, its axis type, and how its values become JSON. */
interface Field {
  name: string;
  type: FieldType;
  value(raw: unknown): unknown;
}

const TEMPORAL_TYPES = new Set(['date', 'timestamp', 'timestamptz']);

/** Draws `rows` as `spec` says. Throws a `LakebaseError` (`CHART_*`) for a spec it cannot draw. */
export function chart(rows: ChartRows, spec: ChartSpec): Chart {
  if (!CHART_MARKS.includes(spec?.mark)) {
    throw new LakebaseError(CHART_ERRORS.invalid, `A chart's mark is one of ${CHART_MARKS.join(', ')}; got ${JSON.stringify(spec?.mark)}.`, {
      hint: 'e.g. chart(rows, { mark: "bar", x: "country", y: "population" })',
    });
  }
  const table = tableOf(rows);
  if (table.count > CHART_MAX_ROWS) {
    throw new LakebaseError(
      CHART_ERRORS.tooManyRows,
      `A chart draws at most ${CHART_MAX_ROWS.toLocaleString('en-US')} rows; this result has ${table.count.toLocaleString('en-US')}.`,
      {
        hint:
          'Aggregate in SQL and chart the aggregate: GROUP BY a category, date_trunc(\'day\', at) for a time axis, ' +
          'or width_bucket(value, low, high, 50) for a histogram.',
      },
    );
  }
  if (table.rows.length < table.count) {
    throw new LakebaseError(
      CHART_ERRORS.incomplete,
      `This result kept only the ${table.rows.length.toLocaleString('en-US')} rows it displays, of ${table.count.toLocaleString('en-US')}: a chart of them would miss the rest.`,
      { hint: 'Draw it in the magic with --chart, or keep every row with --into VARIABLE and chart the variable.' },
    );
  }
  const names = table.fields.map((field) => field.name);
  const field = (role: string, name: string | undefined): Field | undefined => {
    if (name === undefined) return undefined;
    const found = table.fields.find((candidate) => candidate.name === name);
    if (found === undefined) {
      throw new LakebaseError(CHART_ERRORS.unknownColumn, `The chart's ${role} column ${JSON.stringify(name)} is not in the result.`, {
        hint: names.length === 0 ? 'The result has no columns.' : `Its columns: ${names.join(', ')}.`,
      });
    }
    return found;
  };
  const x = field('x', spec.x ?? names[0]);
  if (x === undefined) throw new LakebaseError(CHART_ERRORS.invalid, 'There is nothing to chart: the result has no columns.');
  const y =
    field('y', spec.y) ??
    table.fields.find((candidate) => candidate !== x && candidate.type === 'quantitative');
  if (y === undefined) {
    throw new LakebaseError(CHART_ERRORS.invalid, `No numeric column to draw on the y axis (columns: ${names.join(', ')}).`, {
      hint: 'Name one with --y COLUMN (or y: "column" in chart()), or SELECT a count(*) or a sum(...).',
    });
  }
  const color = field('color', spec.color);
  const used = [x, y, ...(color ? [color] : [])];
  const values = table.rows.map((row) => Object.fromEntries(used.map((f) => [f.name, f.value(row[f.name])])));
  const vegaLite: VegaLiteSpec = {
    $schema: VEGA_LITE_SCHEMA,
    ...(spec.title === undefined ? {} : { title: spec.title }),
    width: spec.width ?? 480,
    height: spec.height ?? 300,
    data: { values },
    mark: { type: spec.mark, tooltip: true },
    encoding: { x: channel(x), y: channel(y), ...(color === undefined ? {} : { color: channel(color) }) },
  };
  const rowsWord = `${values.length.toLocaleString('en-US')} ${values.length === 1 ? 'row' : 'rows'}`;
  const description = `${spec.mark} chart of ${y.name} by ${x.name}${color ? `, colored by ${color.name}` : ''} (${rowsWord})`;
  return new Chart(vegaLite, description);
}

/** A chart: renders itself as Vega-Lite, SVG drawn here, and a line of text. */
export class Chart {
  #svg: Promise<string> | undefined;

  constructor(
    readonly vegaLite: VegaLiteSpec,
    /** `bar chart of population by country (3 rows)`: what text-only clients show. */
    readonly description: string,
  ) {}

  /** The chart drawn as an SVG document, by Vega in this process (once; later calls share it). */
  svg(): Promise<string> {
    this.#svg ??= renderSvg(this.vegaLite);
    return this.#svg;
  }

  async [JUPYTER_DISPLAY](): Promise<MimeBundle> {
    return { [VEGA_LITE_MIME]: this.vegaLite, 'image/svg+xml': await this.svg(), 'text/plain': this.description };
  }

  toString(): string {
    return this.description;
  }
}

/** Vega-Lite → Vega → a static SVG, with no DOM (`renderer: 'none'`, `toSVG()`). */
async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  try {
    const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
    const compiled = vegaLite.compile(spec as unknown as Parameters<typeof vegaLite.compile>[0]).spec;
    const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
    try {
      return await view.toSVG();
    } finally {
      view.finalize();
    }
  } catch (error) {
    throw new LakebaseError(CHART_ERRORS.renderFailed, `Vega could not draw the chart: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

/**
 * A field name as Vega-Lite reads it: `.` and `[` ]` would otherwise reach into nested objects
 * (`"a.b"` is field `b` of `a`), so they are escaped with `\`, as the Vega-Lite docs say.
 */
export function vegaLiteField(name: string): string {
  return name.replace(/[\\.[\]]/g, '\\$&');
}

function channel(field: Field): VegaLiteChannel {
  return {
    field: vegaLiteField(field.name),
    type: field.type,
    title: field.name,
    ...(field.type === 'nominal' ? { sort: null } : {}),
    ...(field.type === 'temporal' ? { scale: { type: 'utc' as const } } : {}),
  };
}

/** The rows as objects, their fields typed, and how many rows there are in all. */
function tableOf(rows: ChartRows): { fields: Field[]; rows: readonly Record<string, unknown>[]; count: number } {
  const result = rows instanceof ResultSet ? rows : (rows as { [RESULT_SET_OF_ROWS]?: unknown })[RESULT_SET_OF_ROWS];
  if (result instanceof ResultSet) {
    return {
      fields: result.columns.map(fieldOfColumn),
      rows: result.rows,
      count: Math.max(result.rowCount ?? 0, result.values.length),
    };
  }
  if (!Array.isArray(rows) || rows.some((row) => typeof row !== 'object' || row === null)) {
    throw new LakebaseError(CHART_ERRORS.invalid, 'chart() draws a result set or an array of row objects.', {
      hint: 'e.g. chart([{ city: "Lisbon", people: 545796 }], { mark: "bar", x: "city", y: "people" })',
    });
  }
  const plain = rows as readonly Record<string, unknown>[];
  const names = [...new Set(plain.flatMap((row) => Object.keys(row)))];
  return { fields: names.map((name) => fieldOfValues(name, plain.map((row) => row[name]))), rows: plain, count: plain.length };
}

function fieldOfColumn(column: Column): Field {
  const type = column.typeName !== 'unknown' && column.typeName !== '' ? column.typeName : typeNameOf(column.typeOid);
  if (isNumericType(column.typeOid)) return { name: column.name, type: 'quantitative', value: toNumber };
  if (TEMPORAL_TYPES.has(type)) return { name: column.name, type: 'temporal', value: (raw) => toInstant(raw, type) };
  return { name: column.name, type: 'nominal', value: (raw) => (typeof raw === 'string' || raw === null || raw === undefined ? raw ?? null : formatValue(raw, column)) };
}

function fieldOfValues(name: string, values: readonly unknown[]): Field {
  const sample = values.find((value) => value !== null && value !== undefined);
  if (typeof sample === 'number' || typeof sample === 'bigint') return { name, type: 'quantitative', value: toNumber };
  if (sample instanceof Date) return { name, type: 'temporal', value: (raw) => toInstant(raw, 'timestamptz') };
  return { name, type: 'nominal', value: (raw) => (raw === null || raw === undefined ? null : typeof raw === 'string' ? raw : formatValue(raw)) };
}

/** A number for a quantitative axis; null (a gap) for what is not one. */
function toNumber(raw: unknown): number | null {
  const number = typeof raw === 'number' ? raw : typeof raw === 'bigint' || typeof raw === 'string' ? Number(raw) : NaN;
  return Number.isFinite(number) ? number : null;
}

/**
 * An ISO instant for a UTC time axis: a `timestamptz` as the instant it is; a `date` or
 * `timestamp` (which node-postgres reads as local time) as its own fields, written as UTC.
 */
function toInstant(raw: unknown, type: string): string | null {
  if (typeof raw === 'string') return raw;
  if (!(raw instanceof Date) || Number.isNaN(raw.getTime())) return null;
  if (type === 'timestamptz') return raw.toISOString();
  const utc = new Date(0);
  utc.setUTCFullYear(raw.getFullYear(), raw.getMonth(), raw.getDate());
  utc.setUTCHours(raw.getHours(), raw.getMinutes(), raw.getSeconds(), raw.getMilliseconds());
  return utc.toISOString();
}
