// How a result looks: a psql-like aligned `text/plain` table and a static, escaped `text/html`
// table, with the same footer. Pure functions of the result; no Jupyter import, so results render
// the same in a notebook, in nbconvert output, in VS Code and in a plain Node program.
//
// Choices, for users and for whoever changes this file:
// - SQL NULL shows as `(null)` in text/plain (psql's own `\pset null '(null)'` convention; psql's
//   default, an empty cell, cannot be told from an empty string) and as an italic `NULL` in HTML
//   (grey where the frontend styles Bootstrap's `text-muted`, as Notebook 6 does).
// - Booleans show as `true`/`false` (the values a TypeScript cell gets), not psql's `t`/`f`.
// - Dates: `date` and `timestamp` values (which node-postgres reads as local time) show their
//   local fields; `timestamptz` values show in UTC with `+00`, what psql shows with TimeZone=UTC.
// - Long values are shortened with `…`: text/plain cells to 80 columns and 10 lines, HTML cells to
//   120 columns with the longer value (up to 2,000 characters) in a `title` tooltip.
// - Control characters show as Unicode control pictures (␉ ␍ ␛ ...), so data can never drive
//   the terminal of a console client or break the alignment; a newline starts a new line within
//   the cell, marked with `+` as psql does.
// - HTML has no scripts, no event handlers, no <style> element and no style attribute (untrusted
//   notebooks strip them): alignment is markup that sanitizers keep (see "text/html" below).
// - One alignment rule for every table: numbers right, everything else left, headers like their
//   column; `renderTable` draws the magics' own tables (magics/outputs.ts) the same way.
import type { Column, MimeBundle } from './contracts';
import { displayWidth, graphemeWidths } from './sql/display-width';
import { isNumericType, typeNameOf } from './pg-types';

/** What the renderer reads of a result (`ResultSet` has all of it). */
export interface RenderableResult {
  readonly command: string;
  readonly columns: readonly Column[];
  readonly values: readonly (readonly unknown[])[];
  readonly rowCount: number | null;
  readonly elapsedMs: number;
  readonly displayLimit: number;
  /** A first page while the rest is counted, or whose count stopped: `rowCount` is a count so far. */
  readonly counting?: 'running' | 'stopped' | undefined;
}

/** Shown for SQL NULL in text/plain. */
export const NULL_TEXT = '(null)';
/** Shown (styled) for SQL NULL in HTML. */
export const NULL_HTML = 'NULL';
/** text/plain: at most this many columns per line of a cell, and lines per cell. */
export const PLAIN_CELL_WIDTH = 80;
export const PLAIN_CELL_LINES = 10;
/** HTML: at most this many columns per cell; the tooltip holds at most this many characters. */
export const HTML_CELL_WIDTH = 120;
export const HTML_TITLE_LENGTH = 2000;
/** Values longer than this are cut before formatting: nothing shows more, and a 1 GB text must not be copied. */
const FORMAT_LENGTH = 20_000;
/** Bytes of a bytea value turned into hex; more never show. */
const BYTEA_BYTES = 1024;

const ELLIPSIS = '…';

// ---------------------------------------------------------------------------------------------
// Values

type ColumnType = Pick<Column, 'typeOid' | 'typeName'>;

/** The column's type name, from the OID when the session did not look it up. */
function typeName(column: ColumnType | undefined): string {
  if (column === undefined) return 'unknown';
  return column.typeName !== 'unknown' && column.typeName !== '' ? column.typeName : typeNameOf(column.typeOid);
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** `.123` from milliseconds, trailing zeros dropped as PostgreSQL prints fractions; '' for none. */
function fraction(milliseconds: number): string {
  return milliseconds === 0 ? '' : `.${String(milliseconds).padStart(3, '0').replace(/0+$/, '')}`;
}

/** `2024-01-02` or `0044-03-15 BC`, from year/month/day fields (year 0 is 1 BC). */
function dateText(year: number, month: number, day: number): string {
  const bc = year <= 0;
  return `${String(bc ? 1 - year : year).padStart(4, '0')}-${pad2(month + 1)}-${pad2(day)}${bc ? ' BC' : ''}`;
}

/** A Date as PostgreSQL prints the column type it came from (see the header of this file). */
export function formatDate(date: Date, type: string): string {
  if (Number.isNaN(date.getTime())) return 'Invalid Date';
  if (type === 'date' || type === 'timestamp') {
    const day = dateText(date.getFullYear(), date.getMonth(), date.getDate());
    if (type === 'date') return day;
    const time = `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}${fraction(date.getMilliseconds())}`;
    return day.endsWith(' BC') ? `${day.slice(0, -3)} ${time} BC` : `${day} ${time}`;
  }
  const day = dateText(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
  const time = `${pad2(date.getUTCHours())}:${pad2(date.getUTCMinutes())}:${pad2(date.getUTCSeconds())}${fraction(date.getUTCMilliseconds())}+00`;
  return day.endsWith(' BC') ? `${day.slice(0, -3)} ${time} BC` : `${day} ${time}`;
}

interface IntervalFields {
  years?: number;
  months?: number;
  days?: number;
  hours?: number;
  minutes?: number;
  seconds?: number;
  milliseconds?: number;
}

/** An interval as psql prints it (IntervalStyle `postgres`): `1 year 2 mons 3 days 04:05:06.789`. */
export function formatInterval(interval: IntervalFields): string {
  const unit = (n: number, singular: string, plural: string) => `${n} ${n === 1 ? singular : plural}`;
  const parts: string[] = [];
  if (interval.years) parts.push(unit(interval.years, 'year', 'years'));
  if (interval.months) parts.push(unit(interval.months, 'mon', 'mons'));
  if (interval.days) parts.push(unit(interval.days, 'day', 'days'));
  const microseconds = Math.round(
    (((interval.hours ?? 0) * 60 + (interval.minutes ?? 0)) * 60 + (interval.seconds ?? 0)) * 1e6 + (interval.milliseconds ?? 0) * 1e3,
  );
  if (microseconds !== 0 || parts.length === 0) {
    const total = Math.abs(microseconds);
    const seconds = Math.floor(total / 1e6) % 60;
    const minutes = Math.floor(total / 6e7) % 60;
    const hours = Math.floor(total / 3.6e9);
    const micros = total % 1e6;
    const fractionText = micros === 0 ? '' : `.${String(micros).padStart(6, '0').replace(/0+$/, '')}`;
    parts.push(`${microseconds < 0 ? '-' : ''}${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}${fractionText}`);
  }
  return parts.join(' ');
}

/** `\x0102ff`, as PostgreSQL prints bytea (hex output); long values end in `…`. */
function byteaText(bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, BYTEA_BYTES));
  return `\\x${buffer.toString('hex')}${bytes.byteLength > BYTEA_BYTES ? ELLIPSIS : ''}`;
}

/** JSON text that never throws: bigints as their digits, cycles and the like as `String(value)`. */
function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? item.toString() : item)) ?? String(value);
  } catch (error) {
    // A circular structure or a throwing toJSON: still show something rather than fail the table.
    return `${String(value)} (${error instanceof Error ? error.message.split('\n')[0] : 'not JSON'})`;
  }
}

/** An array element inside `{...}`, quoted as PostgreSQL's array output does when needed. */
function arrayElementText(text: string): string {
  if (text === '' || /[{}",\\\s]/.test(text) || text.toUpperCase() === 'NULL') {
    return `"${text.replace(/[\\"]/g, '\\$&')}"`;
  }
  return text;
}

function arrayText(values: readonly unknown[], elementType: string): string {
  const elements = values.map((element) => {
    if (element === null || element === undefined) return 'NULL';
    if (Array.isArray(element)) return arrayText(element, elementType);
    return arrayElementText(formatScalar(element, elementType));
  });
  return `{${elements.join(',')}}`;
}

function formatScalar(value: unknown, type: string): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      // postgres-date reads 'infinity' as the number Infinity.
      if (!Number.isFinite(value) && /^(date|timestamp|timestamptz)$/.test(type) && !Number.isNaN(value)) {
        return value > 0 ? 'infinity' : '-infinity';
      }
      return String(value);
    case 'bigint':
    case 'boolean':
      return String(value);
    case 'undefined':
      return NULL_TEXT;
    case 'symbol':
    case 'function':
      return String(value);
  }
  if (value === null) return NULL_TEXT;
  if (type === 'json' || type === 'jsonb') return jsonText(value);
  if (value instanceof Date) return formatDate(value, type);
  if (value instanceof Uint8Array) return byteaText(value);
  if (Array.isArray(value)) return arrayText(value, type.replace(/^_/, ''));
  const fields = value as Record<string, unknown>;
  if (type === 'interval') return formatInterval(fields as IntervalFields);
  if (type === 'point' && typeof fields.x === 'number') return `(${fields.x},${fields.y})`;
  if (type === 'circle' && typeof fields.radius === 'number') return `<(${fields.x},${fields.y}),${fields.radius}>`;
  // Objects that say how PostgreSQL writes them (postgres-interval without a known type).
  if (typeof fields.toPostgres === 'function') {
    try {
      return String((fields.toPostgres as () => unknown)());
    } catch (error) {
      return `${jsonText(value)} (${error instanceof Error ? error.message : 'toPostgres failed'})`;
    }
  }
  return jsonText(value);
}

/**
 * The full text of a value as PostgreSQL would print it for its column type (see the header of
 * this file for dates, booleans and NULL), or null for SQL NULL. JSON is compact; arrays are
 * `{1,2,NULL}` with elements quoted when needed; bytea is `\x…` hex.
 */
export function formatValue(value: unknown, column?: ColumnType): string | null {
  if (value === null || value === undefined) return null;
  if ((typeName(column) === 'json' || typeName(column) === 'jsonb') && typeof value !== 'object') {
    return jsonText(value); // a JSON string shows with its quotes, as psql shows it
  }
  const text = formatScalar(value, typeName(column));
  return text.length > FORMAT_LENGTH ? text.slice(0, FORMAT_LENGTH) : text;
}

// ---------------------------------------------------------------------------------------------
// Pieces of text shared by both formats

/** `1,234,567`: digits grouped by three, the same in every locale. */
export function groupDigits(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** `Time: 1.234 ms`, and for a second or more also `(01:02.345)`, as psql's `\timing` prints. */
export function formatElapsed(ms: number): string {
  const base = `Time: ${ms.toFixed(3)} ms`;
  if (ms < 1000) return base;
  const total = Math.round(ms);
  const millis = String(total % 1000).padStart(3, '0');
  const seconds = Math.floor(total / 1000) % 60;
  const minutes = Math.floor(total / 60_000) % 60;
  const hours = Math.floor(total / 3_600_000) % 24;
  const days = Math.floor(total / 86_400_000);
  let clock = `${pad2(minutes)}:${pad2(seconds)}.${millis}`;
  if (hours > 0 || days > 0) clock = `${pad2(hours)}:${clock}`;
  if (days > 0) clock = `${days} d ${clock}`;
  return `${base} (${clock})`;
}

/** Commands whose tag carries a row count (PostgreSQL protocol, CommandComplete). */
const COUNTED_COMMANDS = new Set(['UPDATE', 'DELETE', 'SELECT', 'MERGE', 'MOVE', 'FETCH', 'COPY']);

/** The command tag as psql prints it: `INSERT 0 3`, `UPDATE 2`, `CREATE TABLE`. */
export function formatCommandTag(result: Pick<RenderableResult, 'command' | 'rowCount'>): string {
  if (result.rowCount === null) return result.command;
  if (result.command === 'INSERT') return `INSERT 0 ${result.rowCount}`;
  if (COUNTED_COMMANDS.has(result.command)) return `${result.command} ${result.rowCount}`;
  return result.command;
}

/** True when the statement returned no rows at all (DDL, DML without RETURNING, SET, ...). */
function isCommandOnly(result: RenderableResult): boolean {
  return result.columns.length === 0;
}

/** How many rows are shown: the display limit applies even when every row was kept (`--into`). */
function shownRows(result: RenderableResult): readonly (readonly unknown[])[] {
  const limit = Math.max(0, result.displayLimit);
  return result.values.length > limit ? result.values.slice(0, limit) : result.values;
}

/**
 * The lines under a result: `(3 rows)` or `(showing 100 of 1,000,000 rows)` (`(showing 100 of
 * at least 300,000 rows; counting…)` while the rest is counted); the command tag when rows came
 * from a command other than SELECT (`INSERT ... RETURNING`); the elapsed time.
 */
export function formatFooter(result: RenderableResult): string[] {
  if (isCommandOnly(result)) return [formatCommandTag(result), formatElapsed(result.elapsedMs)];
  const shown = shownRows(result).length;
  const total = result.rowCount ?? result.values.length;
  const lines = [
    result.counting !== undefined
      ? `(showing ${groupDigits(shown)} of at least ${groupDigits(total)} rows; ${result.counting === 'running' ? 'counting…' : 'the count stopped'})`
      : shown < total
        ? `(showing ${groupDigits(shown)} of ${groupDigits(total)} rows)`
        : `(${groupDigits(total)} ${total === 1 ? 'row' : 'rows'})`,
  ];
  if (result.command !== 'SELECT' && result.command !== '') lines.push(formatCommandTag(result));
  lines.push(formatElapsed(result.elapsedMs));
  return lines;
}

/** Control characters as Unicode control pictures (U+2400...), `\r\n` and `\r` as line breaks. */
function visibleLines(text: string): string[] {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => line.replace(/[\u0000-\u001f\u007f]/g, (char) => String.fromCharCode(char === '\u007f' ? 0x2421 : 0x2400 + char.charCodeAt(0))));
}

/** Cuts `text` to at most `width` columns, ending in `…` when cut (never inside a grapheme). */
export function cutToWidth(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  let kept = '';
  let used = 0;
  for (const { grapheme, width: graphemeWidth } of graphemeWidths(text)) {
    if (used + graphemeWidth > width - 1) break;
    kept += grapheme;
    used += graphemeWidth;
  }
  return kept + ELLIPSIS;
}

// ---------------------------------------------------------------------------------------------
// Tables: one renderer for every table the kernel prints (result sets, and the tables of the
// magics: connections, token status, settings), so that they all align and mark NULL alike.

/** Where a column's cells (and its header, in HTML) sit: numbers right, everything else left. */
export type Alignment = 'left' | 'right';

export interface TableColumn {
  readonly name: string;
  readonly align: Alignment;
  /** The header's tooltip in HTML (a result's column type). */
  readonly title?: string;
}

/** A cell's text as it is to be shown, or null for SQL NULL. */
export type TableCell = string | null;

/** What `renderTable` draws: columns, rows of cells, and the lines under the table. */
export interface Table {
  readonly columns: readonly TableColumn[];
  readonly rows: readonly (readonly TableCell[])[];
  readonly footer: readonly string[];
}

/** A number as text: `42`, `-3.5`, `1,234,567`, `6.02e23`, the shapes our own tables print. */
const NUMBER_TEXT = /^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * The one alignment rule for columns of text (the magics' own tables, whose cells are already
 * words): right when every non-empty cell is a number, else left.
 */
export function alignmentOfTexts(cells: readonly TableCell[]): Alignment {
  const present = cells.filter((cell): cell is string => cell !== null && cell !== '');
  return present.length > 0 && present.every((cell) => NUMBER_TEXT.test(cell)) ? 'right' : 'left';
}

/** The same rule for a result's column: numeric types right; for an untyped column, numbers right. */
function alignmentOfColumn(column: Column, values: readonly (readonly unknown[])[], index: number): Alignment {
  if (isNumericType(column.typeOid)) return 'right';
  if (column.typeName !== 'unknown' || column.typeOid !== 0) return 'left';
  // A result built by hand without types: numbers if every value is one.
  const present = values.map((row) => row[index]).filter((value) => value !== null && value !== undefined);
  return present.length > 0 && present.every((value) => typeof value === 'number' || typeof value === 'bigint') ? 'right' : 'left';
}

/** A result's rows as a `Table`: formatted cells, the display limit applied, the footer. */
export function tableOf(result: RenderableResult): Table {
  const rows = shownRows(result);
  return {
    columns: result.columns.map((column, i) => ({ name: column.name, align: alignmentOfColumn(column, rows, i), title: typeName(column) })),
    rows: rows.map((row) => result.columns.map((column, i) => formatValue(row[i], column))),
    footer: formatFooter(result),
  };
}

// ---------------------------------------------------------------------------------------------
// text/plain

/** A value's lines in a text/plain cell: control pictures, cut to the cell limits. */
function plainCellLines(text: string): string[] {
  const lines = visibleLines(text).map((line) => cutToWidth(line, PLAIN_CELL_WIDTH));
  return lines.length > PLAIN_CELL_LINES ? [...lines.slice(0, PLAIN_CELL_LINES - 1), ELLIPSIS] : lines;
}

/**
 * The aligned table psql prints by default: centered headers, a `---+---` rule, numbers right-
 * aligned, a `+` where a cell continues on the next line, no trailing spaces after the last
 * column; NULL as `(null)`; then the footer lines.
 */
export function renderPlainTable(table: Table): string {
  const { columns } = table;
  const right = columns.map((column) => column.align === 'right');
  const header = columns.map((column) => plainCellLines(column.name));
  const body = table.rows.map((row) => columns.map((_, i) => plainCellLines(row[i] ?? NULL_TEXT)));
  const widths = columns.map((_, i) =>
    Math.max(...[header[i], ...body.map((cells) => cells[i])].flatMap((lines) => lines.map(displayWidth))),
  );

  const renderRow = (cells: string[][], isHeader: boolean): string[] => {
    const height = Math.max(1, ...cells.map((lines) => lines.length));
    const lines: string[] = [];
    for (let k = 0; k < height; k++) {
      const parts = cells.map((cellLines, i) => {
        const text = cellLines[k] ?? '';
        const continues = k < cellLines.length - 1;
        const last = i === cells.length - 1;
        const padding = widths[i] - displayWidth(text);
        let shown: string;
        if (isHeader) {
          const left = Math.floor(padding / 2);
          shown = `${' '.repeat(left)}${text}${' '.repeat(padding - left)}`;
        } else if (last && !continues && (text === '' || !right[i])) {
          shown = text; // psql leaves no trailing spaces after the last column
        } else if (right[i]) shown = `${' '.repeat(padding)}${text}`;
        else shown = `${text}${' '.repeat(padding)}`;
        const marker = continues ? '+' : last && !isHeader ? '' : ' ';
        return ` ${shown}${marker}`;
      });
      lines.push(parts.join('|'));
    }
    return lines;
  };

  return [
    ...renderRow(header, true),
    widths.map((width) => '-'.repeat(width + 2)).join('+'),
    ...body.flatMap((cells) => renderRow(cells, false)),
    ...table.footer,
  ].join('\n');
}

/** A result as psql prints it: the table, or for a statement without rows its command tag. */
export function renderPlainText(result: RenderableResult): string {
  if (isCommandOnly(result)) return formatFooter(result).join('\n');
  return renderPlainTable(tableOf(result));
}

// ---------------------------------------------------------------------------------------------
// text/html
//
// The markup has to look right after a notebook frontend's sanitizer has been over it: every
// notebook a user opens from elsewhere, and every executed one, is untrusted. Notebook 6 (its
// `components/sanitizer`) and JupyterLab (`@jupyterlab/apputils` Sanitizer) both use sanitize-html
// with Google Caja's lists; untrusted Notebook 6 output loses every `style` attribute (issue 11:
// it became `style="undefined:undefined"`). Both frontends' CSS sets `text-align: right` on every
// `td` and `th` (`.rendered_html td`, `.jp-RenderedHTMLCommon td`), which beats a cell's own
// `align` attribute. So each cell's content sits in a `<div align="...">`: the sanitizers keep
// `div[align]`, and an alignment declared on the div beats the one it would inherit from the cell,
// in every frontend and in nbconvert's HTML and GitHub's viewer alike. NULL is `<em>` (italic
// everywhere) with Bootstrap's `text-muted` class, which Notebook 6 draws grey.

/** Escapes text for HTML element content and attribute values alike. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** A cell's or header's content, aligned in a way sanitizers keep (see above). */
function aligned(align: Alignment, content: string): string {
  return `<div align="${align}">${content}</div>`;
}

/** One `<td>`: escaped, shortened with the longer value in a tooltip, line breaks as `<br>`. */
function htmlCell(text: TableCell, align: Alignment): string {
  if (text === null) return `<td>${aligned(align, `<em class="text-muted" title="SQL NULL">${NULL_HTML}</em>`)}</td>`;
  const lines = visibleLines(text);
  let shown = lines.map((line) => cutToWidth(line, HTML_CELL_WIDTH));
  if (shown.length > PLAIN_CELL_LINES) shown = [...shown.slice(0, PLAIN_CELL_LINES - 1), ELLIPSIS];
  const cut = shown.some((line, i) => line !== lines[i]) || shown.length !== lines.length;
  const full = lines.join('\n');
  const title = cut
    ? ` title="${escapeHtml(full.length > HTML_TITLE_LENGTH ? `${Array.from(full.slice(0, HTML_TITLE_LENGTH + 1)).slice(0, -1).join('')}${ELLIPSIS}` : full)}"`
    : '';
  return `<td${title}>${aligned(align, shown.map(escapeHtml).join('<br>'))}</td>`;
}

/**
 * A static HTML table: every value escaped, NULL marked apart from the text 'NULL', each header
 * aligned like its column (with its `title` as a tooltip), long text shortened; then the footer
 * in small print.
 */
export function renderHtmlTable(table: Table): string {
  const head = table.columns
    .map((column) => {
      const title = column.title === undefined ? '' : ` title="${escapeHtml(column.title)}"`;
      return `<th${title}>${aligned(column.align, visibleLines(column.name).map(escapeHtml).join('<br>'))}</th>`;
    })
    .join('');
  const body = table.rows
    .map((row) => `<tr>${table.columns.map((column, i) => htmlCell(row[i] ?? null, column.align)).join('')}</tr>`)
    .join('\n');
  return [
    '<table class="lakebase-result">',
    `<thead><tr>${head}</tr></thead>`,
    `<tbody>${body === '' ? '' : `\n${body}\n`}</tbody>`,
    '</table>',
    ...(table.footer.length === 0 ? [] : [`<p><small>${table.footer.map(escapeHtml).join(' · ')}</small></p>`]),
  ].join('\n');
}

/** A result as HTML: the table, or for a statement without rows its command tag. */
export function renderHtml(result: RenderableResult): string {
  if (isCommandOnly(result)) return `<pre>${formatFooter(result).map(escapeHtml).join('\n')}</pre>`;
  return renderHtmlTable(tableOf(result));
}

/** What a table displays as: always both formats. */
export type ResultBundle = MimeBundle & { 'text/html': string };

/** The MIME bundle of any table: `text/plain` and `text/html`, the same rows and footer. */
export function renderTable(table: Table): ResultBundle {
  return { 'text/plain': renderPlainTable(table), 'text/html': renderHtmlTable(table) };
}

/** The MIME bundle of a result: `text/plain` and `text/html`, the same rows and footer. */
export function renderResultSet(result: RenderableResult): ResultBundle {
  return { 'text/plain': renderPlainText(result), 'text/html': renderHtml(result) };
}
