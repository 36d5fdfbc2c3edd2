// The declarations every TypeScript cell sees without an import (display, chart, the magics'
// function), in a module of their own that imports nothing else of the kernel: the kernel hands
// them to the compiler thread first thing (kernel/main.ts), before it loads the rest of itself.
// The session puts the values behind them on globalThis (kernel/session.ts).
import { MAGIC_FUNCTION } from '../magics/magic-function';

/** Declarations every TypeScript cell sees without an import. */
export const PRELUDE = `
interface LakebaseDisplayOptions {
  /** Publish under this id; display(value, { displayId, update: true }) replaces it later. */
  displayId?: string;
  /** Replace the output shown under displayId. */
  update?: boolean;
  /** The value is already a MIME bundle, e.g. { "text/html": "<b>hi</b>" }. */
  raw?: boolean;
  metadata?: Record<string, unknown>;
}
interface LakebaseDisplayHandle {
  readonly displayId: string;
  update(value: unknown): void;
}
/** Shows a value as an output of this cell (objects with Symbol.for("Jupyter.display") render themselves). */
const display: (value: unknown, options?: LakebaseDisplayOptions) => LakebaseDisplayHandle =
  (globalThis as any)[Symbol.for('lakebase.kernel')].display;
interface LakebaseChartSpec {
  mark: 'bar' | 'line' | 'point' | 'area';
  /** The column on the x axis (default: the first). */
  x?: string;
  /** The column on the y axis (default: the first numeric column after x). */
  y?: string;
  /** A column whose values color the marks. */
  color?: string;
  title?: string;
  width?: number;
  height?: number;
}
interface LakebaseChart {
  /** What text-only clients show: "bar chart of population by country (3 rows)". */
  readonly description: string;
  /** The Vega-Lite spec, rows inlined. */
  readonly vegaLite: object;
  /** The chart as an SVG document, drawn in the kernel. */
  svg(): Promise<string>;
}
/**
 * Draws rows as a chart, at most 5,000 of them (aggregate big results in SQL): a result, rows
 * stored with --into, or plain objects. display(chart(rows, { mark: "bar", x: "country", y: "population" }))
 */
const chart: (rows: unknown, spec: LakebaseChartSpec) => LakebaseChart =
  (globalThis as any)[Symbol.for('lakebase.kernel')].chart;
const ${MAGIC_FUNCTION}: (index: number, variables: Record<string, unknown>, mode: 'statement' | 'expression') => Promise<any> =
  (globalThis as any)[Symbol.for('lakebase.kernel')].magic;
`;

/**
 * The names PRELUDE declares (`display`, `chart`, `lakebase$magic`, its interfaces), read from it
 * so that a declaration added there is reserved too: a variable stored under one of them (`--into
 * display`) would shadow the kernel's own in every later cell, so the magics refuse them.
 */
export const PRELUDE_NAMES: readonly string[] = [...PRELUDE.matchAll(/^(?:const|let|interface|type|function)\s+([A-Za-z_$][\w$]*)/gm)].map((match) => match[1]);
