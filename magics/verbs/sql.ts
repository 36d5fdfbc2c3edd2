// `%lakebase sql`: run the statements of a line or a cell, in order, on one session, and show
// each result. Values come in as bound parameters (`:name` → `$n`), never as text.
import { CHART_MARKS, CHART_MAX_ROWS, chart, RESULT_SET_OF_ROWS, type ChartMark } from '../../lakebase/chart';
import type { Column, CopySource, Notice, SqlSession } from '../../lakebase/contracts';
import { JUPYTER_DISPLAY } from '../../lakebase/contracts';
import { LakebaseError, SqlError } from '../../lakebase/errors';
import { rowTypeOf } from '../../lakebase/pg-types';
import { ResultSet } from '../../lakebase/result-set';
import { bindParameters } from '../../lakebase/sql/parameters';
import { copyDirectionOf } from '../../lakebase/sql/copy';
import { splitStatements } from '../../lakebase/sql/lexer';
import type { VerbContext, VerbFamily } from '../declarations';
import { MAGIC_ERRORS, MagicUsageError } from '../errors';
import type { MagicHost, VariableLookup } from '../host';
import type { MagicServices } from '../services';
import { transactionNote } from './transaction-note';

/** Stable codes of the errors this verb raises itself (server errors are `SqlError`s). */
export const SQL_VERB_ERRORS = {
  /** The cell was interrupted between two statements. */
  interrupted: 'INTERRUPTED',
  /** `--into` on a cell whose last statement returns no rows (`COMMIT`, `CREATE TABLE`). */
  intoWithoutRows: 'INTO_WITHOUT_ROWS',
  /** A `COPY ... FROM STDIN` without `--stdin`, `--stdin` without one, or more than one. */
  copyStdin: 'COPY_STDIN',
  /** `--chart` on a cell whose last statement returns no rows. */
  chartWithoutRows: 'CHART_WITHOUT_ROWS',
} as const;

/**
 * Commands that leave the schema as it is. After any other (DDL, and also SET, which can change
 * the search_path, and COMMIT or ROLLBACK, which settle DDL) completion reads the catalog again.
 */
const READS_AND_WRITES_ROWS = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'SHOW', 'FETCH', 'MOVE', 'EXPLAIN', 'VALUES', 'TABLE']);

/**
 * The largest row count passed to a session as "all rows": sessions count rows as numbers and may
 * size buffers from the limit, so `Infinity` stays in the grammar and never reaches them.
 */
const ALL_ROWS = Number.MAX_SAFE_INTEGER;

export const sqlFamily: VerbFamily<MagicServices> = {
  name: 'sql',
  summary: 'SQL',
  kernelOnly: true,
  verbs: [
    {
      name: 'sql',
      summary: 'Run SQL statements on the current connection and show each result',
      positionals: [],
      text: {
        name: 'SQL',
        summary: 'one or more statements separated by ";" (bind TypeScript values as :name)',
      },
      options: [
        {
          name: 'into',
          kind: 'identifier',
          valueName: 'VARIABLE',
          summary: 'Store the last statement\'s rows in a TypeScript variable typed from the columns',
        },
        {
          name: 'display-limit',
          kind: 'row-limit',
          valueName: 'ROWS',
          summary: 'Rows shown of each result, a number or all, for this magic only (default: %lakebase config display-limit)',
        },
        {
          name: 'stdin',
          kind: 'identifier',
          valueName: 'VARIABLE',
          summary: 'The data of the magic\'s COPY ... FROM STDIN: a string, bytes, an (async) iterable of them, or a stream such as fs.createReadStream(path)',
        },
        {
          name: 'on',
          kind: 'text',
          valueName: 'CONNECTION',
          completes: 'connections',
          summary: 'Run on this named connection instead of the current one (it stays current)',
        },
        {
          name: 'chart',
          kind: 'choice',
          valueName: 'MARK',
          choices: CHART_MARKS,
          summary: 'Also draw the last statement\'s rows as a chart',
        },
        { name: 'x', kind: 'text', valueName: 'COLUMN', summary: 'The chart\'s x axis (default: the first column)' },
        { name: 'y', kind: 'text', valueName: 'COLUMN', summary: 'The chart\'s y axis (default: the first numeric column after x)' },
        { name: 'color', kind: 'text', valueName: 'COLUMN', summary: 'Color the chart\'s marks by this column (a line or a bar segment per value)' },
      ],
      details: [
        'Each statement runs in order on the same server session, so a transaction begun in one cell can be committed in a later one; ' +
          'while a session is inside a transaction (or a failed one) a note on stderr says so. ' +
          'Every result is shown (rows as a table, other statements as their command tag), with its elapsed time; the last one is the ' +
          'magic\'s value. A failing statement stops the cell there: the results before it stay shown.',
        ':name binds the TypeScript variable name as a parameter ($1, $2, ...); the value is sent apart from the SQL text. ' +
          '::casts, strings, quoted identifiers, comments and dollar quotes are left alone. ' +
          'Server notices (RAISE NOTICE) go to stderr. Interrupting the kernel cancels the running statement on the server.',
        'Tab completes table, view, schema and column names (also after an alias and a dot) from the connection\'s catalog, ' +
          'keywords, and :name from the TypeScript variables; Shift+Tab on a table or column shows its columns or type. The catalog is read while the session is idle, never inside a transaction, ' +
          'and read again after a statement that may change it, or after 30 seconds.',
        'COPY ... FROM STDIN reads the TypeScript value named by --stdin, streamed with back-pressure (a file of any size); ' +
          'COPY ... TO STDOUT prints its rows as they arrive, up to the display limit, and counts the rest. ' +
          'A COPY that fails or is interrupted writes nothing.',
        '--into VARIABLE keeps every row of the last statement (not only the displayed ones) as an array of row objects, ' +
          'declared in TypeScript with a type from the column types (NOT NULL table columns are not nullable), ' +
          'so later cells get completion and type errors on column names.',
        `--chart bar|line|point|area draws the last statement's rows above its table: axis types come from the column types ` +
          '(numbers quantitative, date and timestamp columns a time axis in UTC, the rest categories in the query\'s order). ' +
          `A chart draws at most ${CHART_MAX_ROWS.toLocaleString('en-US')} rows: for a big table, aggregate in SQL and chart the aggregate, ` +
          'e.g. SELECT date_trunc(\'day\', at) AS day, count(*) FROM events GROUP BY 1 ORDER BY 1, ' +
          'or width_bucket(amount, 0, 1000, 50) for a histogram. ' +
          'JupyterLab and VS Code draw the chart themselves (Vega-Lite); Notebook 6, nbconvert HTML and GitHub show the SVG drawn by the kernel. ' +
          'From TypeScript: display(chart(rows, { mark: "bar", x: "country", y: "population" })).',
      ],
      examples: [
        '%lakebase sql SELECT now()',
        '%lakebase sql --into users SELECT id, name FROM users WHERE region = :region',
        '%%lakebase --display-limit 20',
        '%%lakebase --on analytics',
        'const count = %lakebase sql SELECT count(*) FROM users',
        '%%lakebase --chart bar --x country --y population',
        '%%lakebase --chart line --x day --y orders --color region',
      ],
      run: runSql,
    },
  ],
};

async function runSql(context: VerbContext<MagicServices>): Promise<unknown> {
  const { invocation, host, services, variables, show } = context;
  const text = invocation.text ?? '';
  // Lines in messages (an unclosed quote, the `LINE n:` of a server error) are the cell's lines.
  const linesBefore = invocation.source.textLine;
  const connectionName = invocation.options.on as string | undefined;
  const { name: nameShown, session } =
    connectionName === undefined ? services.connections.current() : services.connections.get(connectionName);
  // Split as the connection's SQL quotes: a warehouse's `a;b` or "a;b" is one name or string.
  const dialect = session.dialect ?? 'postgres';
  const statements = splitStatements(text, { lineOffset: linesBefore, dialect });
  if (statements.length === 0) {
    host.stderr('lakebase: there is no SQL statement to run\n');
    return undefined;
  }
  const limit = (invocation.options['display-limit'] as number | undefined) ?? services.settings.displayLimit;
  const into = invocation.options.into as string | undefined;
  const mark = chartMark(invocation);
  const lookup = (name: string) =>
    Object.prototype.hasOwnProperty.call(variables, name) ? { found: true as const, value: variables[name] } : host.lookupVariable(name);
  const onNotice = (notice: Notice) => host.stderr(formatNotice(notice));
  const directions = statements.map((statement) => copyDirectionOf(statement.text));
  const stdin = copyInput(invocation.options.stdin as string | undefined, directions.filter((d) => d === 'from-stdin').length, lookup);

  let last: ResultSet | undefined;
  let lastPreview: PagePreview | undefined;
  try {
    for (const [index, statement] of statements.entries()) {
      if (host.signal.aborted) {
        throw new LakebaseError(SQL_VERB_ERRORS.interrupted, `Interrupted before statement ${index + 1} of ${statements.length} ran.`, {
          hint: 'The statements before it ran (and, outside a transaction, are committed).',
        });
      }
      const bound = bindParameters(statement.text, lookup, dialect);
      // A SQL warehouse binds `:name` itself: the text goes as written, the values by name.
      const named = session.parameterStyle === 'named';
      const isLast = index === statements.length - 1;
      const printer = directions[index] === 'to-stdout' ? new CopyPrinter(limit, host) : undefined;
      let result: ResultSet;
      // A chart needs the rows it draws (a few thousand at most), not only the displayed page;
      // one more than it draws tells a result too big for a chart, without reading the rest.
      const keep = isLast && mark !== undefined ? Math.max(Number.isFinite(limit) ? limit : ALL_ROWS, CHART_MAX_ROWS + 1) : limit;
      // Where results are displayed and can be replaced in place, a big result's page is shown
      // before its rows are all counted; not for the result --into stores or --chart draws.
      const preview =
        context.displays && host.updatesDisplays === true && !(isLast && (into !== undefined || mark !== undefined)) ? new PagePreview(show) : undefined;
      try {
        result = await session.run(named ? statement.text : bound.text, {
          ...(named ? { namedParams: namedValues(bound.names, lookup) } : { params: bound.values }),
          displayLimit: Number.isFinite(keep) ? keep : ALL_ROWS,
          fetchAll: isLast && into !== undefined,
          signal: host.signal,
          onNotice,
          ...(directions[index] === 'from-stdin' ? { copyIn: stdin } : {}),
          ...(printer ? { copyOut: (chunk: Buffer) => printer.write(chunk) } : {}),
          ...(preview ? { onPage: preview.onPage } : {}),
        });
        printer?.finish(result.rowCount);
      } catch (error) {
        preview?.stopped();
        if (statements.length > 1) {
          const line = linesBefore + countLines(text, statement.start) + 1;
          host.stderr(`lakebase: statement ${index + 1} of ${statements.length} failed (cell line ${line}); the statements after it did not run\n`);
        }
        if (!(error instanceof SqlError)) throw error;
        // The caret goes under what the user typed, on the cell's line: the SQL as the cell holds
        // it, below blank stand-ins for the lines before it (only the failing line is shown).
        throw error.withSource({
          text: '\n'.repeat(linesBefore) + text,
          start: linesBefore + statement.start,
          sourceIndex: bound.sourceIndex,
        });
      }
      if (!READS_AND_WRITES_ROWS.has(result.command)) services.catalogs.invalidate(session);
      if (isLast) {
        last = result;
        lastPreview = preview;
      } else if (preview?.shown) preview.replaceWith(result);
      else show(result);
    }
  } finally {
    const note = transactionNote(session.transactionStatus, nameShown);
    if (note !== undefined) host.stderr(note);
  }
  if (last !== undefined && mark !== undefined) {
    // Drawn before the table, and shown whatever the mode: the magic asked for a chart.
    host.display(chartOf(last, mark, invocation));
    last = last.withDisplayLimit(Number.isFinite(limit) ? limit : ALL_ROWS);
  }
  if (into !== undefined && last !== undefined) await storeRows(into, last, session, host);
  if (last !== undefined && lastPreview?.shown) {
    // Its page is on screen already: the counted table takes its place, and is not shown twice.
    lastPreview.replaceWith(last);
    return undefined;
  }
  return last;
}

let previews = 0;

/**
 * A big result's first page, shown as soon as it is in while the rest of the rows is counted
 * (`RunOptions.onPage`: a warehouse moves every page over the wire to count it), then replaced in
 * place by the counted table, or marked as never counted when the statement fails meanwhile.
 */
class PagePreview {
  #displayId: string | undefined;
  #page: ResultSet | undefined;

  constructor(private readonly show: VerbContext<MagicServices>['show']) {}

  get shown(): boolean {
    return this.#displayId !== undefined;
  }

  readonly onPage = (page: ResultSet): void => {
    this.#displayId = `lakebase-result-${process.pid}-${++previews}-${Date.now().toString(36)}`;
    this.#page = page;
    this.show(page, { displayId: this.#displayId });
  };

  replaceWith(result: ResultSet): void {
    this.show(result, { displayId: this.#displayId, update: true });
  }

  /** The statement failed (or was interrupted) while counting: the page stays, saying so. */
  stopped(): void {
    if (this.#page === undefined) return;
    this.show(new ResultSet({ ...this.#page, columns: [...this.#page.columns], values: [...this.#page.values], counting: 'stopped' }), {
      displayId: this.#displayId,
      update: true,
    });
  }
}

/** `--chart MARK`, checked against `--x`, `--y` and `--color`, which mean nothing without it. */
function chartMark(invocation: VerbContext<MagicServices>['invocation']): ChartMark | undefined {
  const mark = invocation.options.chart as ChartMark | undefined;
  const axes = (['x', 'y', 'color'] as const).filter((name) => invocation.options[name] !== undefined);
  if (mark === undefined && axes.length > 0) {
    throw new MagicUsageError(MAGIC_ERRORS.missingArgument, `--${axes[0]} names a chart column, and there is no --chart`, {
      line: invocation.source.line,
      hint: `Add --chart bar (or line, point, area), e.g. %%lakebase --chart bar --${axes[0]} ${String(invocation.options[axes[0]])}`,
    });
  }
  return mark;
}

/** The last result as the chart `--chart` asks for; a statement without rows cannot be one. */
function chartOf(result: ResultSet, mark: ChartMark, invocation: VerbContext<MagicServices>['invocation']) {
  if (result.columns.length === 0) {
    throw new LakebaseError(SQL_VERB_ERRORS.chartWithoutRows, `--chart: the last statement (${result.command}) returns no rows to draw.`, {
      hint: '--chart draws the rows of the last statement of the magic; end it with the SELECT to draw.',
    });
  }
  const option = (name: string) => invocation.options[name] as string | undefined;
  return chart(result, { mark, x: option('x'), y: option('y'), color: option('color') });
}

/**
 * The value `--stdin` names, checked against the magic's statements before any of them runs: a
 * COPY ... FROM STDIN needs it, and it feeds exactly one (a stream can be read only once).
 */
function copyInput(name: string | undefined, copies: number, lookup: (name: string) => VariableLookup): CopySource | undefined {
  const example = 'e.g. %%lakebase --stdin csv, with const csv = fs.createReadStream("cities.csv") (or a string) in a cell before';
  if (name === undefined) {
    if (copies === 0) return undefined;
    throw new LakebaseError(SQL_VERB_ERRORS.copyStdin, 'COPY ... FROM STDIN needs its data: name a TypeScript value with --stdin.', { hint: example });
  }
  if (copies !== 1) {
    throw new LakebaseError(
      SQL_VERB_ERRORS.copyStdin,
      copies === 0 ? `--stdin ${name} was given, but no statement of the magic is a COPY ... FROM STDIN.` : `--stdin feeds one COPY ... FROM STDIN; this magic has ${copies}.`,
      { hint: copies === 0 ? 'Write COPY table FROM STDIN (with its options) in the magic, or leave --stdin out.' : 'Give each COPY its own magic.' },
    );
  }
  const found = lookup(name);
  if (!found.found) {
    throw new LakebaseError(SQL_VERB_ERRORS.copyStdin, `--stdin ${name}: there is no TypeScript variable ${name}.`, { hint: example });
  }
  return found.value as CopySource;
}

/**
 * Prints what a COPY ... TO STDOUT sends, as psql does, but only its first `limit` lines (the
 * display limit, as for tables); the rest is counted, and a footer says how much was not shown.
 */
class CopyPrinter {
  #shownLines = 0;
  #truncated = false;

  constructor(
    private readonly limit: number,
    private readonly host: MagicHost,
  ) {}

  write(chunk: Buffer): void {
    if (this.#truncated) return;
    const text = chunk.toString('utf8');
    let end = 0;
    while (end < text.length && this.#shownLines < this.limit) {
      const newline = text.indexOf('\n', end);
      end = newline < 0 ? text.length : newline + 1;
      if (newline >= 0) this.#shownLines++;
    }
    this.host.stdout(text.slice(0, end));
    if (end < text.length) this.#truncated = true;
  }

  finish(rows: number | null): void {
    if (!this.#truncated) return;
    const total = rows === null ? 'more' : rows.toLocaleString('en-US');
    this.host.stdout(`(showing the first ${this.#shownLines.toLocaleString('en-US')} of ${total} rows; --display-limit all shows every row)\n`);
  }
}

/**
 * `--into`: the rows as a plain array of objects (what TypeScript code expects), which still
 * renders as the result's table when it is a cell's value, declared with a type from the columns.
 */
async function storeRows(name: string, result: ResultSet, session: SqlSession, host: MagicHost): Promise<void> {
  if (result.columns.length === 0) {
    throw new LakebaseError(SQL_VERB_ERRORS.intoWithoutRows, `--into ${name}: the last statement (${result.command}) returns no rows.`, {
      hint: '--into stores the rows of the last statement of the magic; end it with the SELECT (or ... RETURNING) to store.',
    });
  }
  const rows = [...result.rows];
  Object.defineProperty(rows, JUPYTER_DISPLAY, { value: () => result[JUPYTER_DISPLAY](), enumerable: false });
  // chart(rows, ...) reads the column types from here (a plain array has none).
  Object.defineProperty(rows, RESULT_SET_OF_ROWS, { value: result, enumerable: false });
  if (session.dialect === 'databricks' && 'toArrow' in result) {
    // A warehouse's rows are typed from its Arrow schema (decimals, dates, arrays, maps, structs).
    // Loaded here, not at start: a kernel that never meets a warehouse never loads Arrow.
    const { rowTypeOfArrow } = await import('../../lakebase/warehouse/types.js');
    const table = (result as ResultSet & { toArrow(): import('apache-arrow').Table }).toArrow();
    await host.declareVariable(name, rows, `Array<${rowTypeOfArrow(table.schema)}>`);
    return;
  }
  const notNull = await notNullColumns(result.columns, session);
  await host.declareVariable(name, rows, `Array<${rowTypeOf(result.columns, notNull)}>`);
}

/**
 * Which columns cannot be NULL: those read straight from a table column declared NOT NULL
 * (`pg_attribute.attnotnull`), looked up in one catalog query. Expressions may always be NULL as
 * far as the row description tells.
 */
async function notNullColumns(columns: readonly Column[], session: SqlSession): Promise<boolean[]> {
  const fromTables = columns.filter((column) => column.tableOid !== 0 && column.columnNumber > 0);
  if (fromTables.length === 0) return columns.map(() => false);
  const catalog = await session.run(
    'SELECT c.relid, c.num FROM unnest($1::oid[], $2::int2[]) AS c(relid, num) ' +
      'JOIN pg_catalog.pg_attribute a ON a.attrelid = c.relid AND a.attnum = c.num WHERE a.attnotnull',
    {
      params: [fromTables.map((column) => column.tableOid), fromTables.map((column) => column.columnNumber)],
      displayLimit: ALL_ROWS,
      fetchAll: true,
    },
  );
  const notNull = new Set(catalog.values.map(([relid, num]) => `${String(relid)}.${String(num)}`));
  return columns.map((column) => notNull.has(`${column.tableOid}.${column.columnNumber}`));
}

/** The values of `:name` parameters by name, as found (the warehouse driver types them itself). */
function namedValues(names: readonly string[], lookup: (name: string) => VariableLookup): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const name of names) {
    const found = lookup(name);
    if (found.found) values[name] = found.value;
  }
  return values;
}

/** As psql prints them: `NOTICE:  message`, then `DETAIL:` and `HINT:` lines. */
export function formatNotice(notice: Notice): string {
  const lines = [`${notice.severity}:  ${notice.message}`];
  if (notice.detail) lines.push(`DETAIL:  ${notice.detail}`);
  if (notice.hint) lines.push(`HINT:  ${notice.hint}`);
  return `${lines.join('\n')}\n`;
}

function countLines(text: string, index: number): number {
  let lines = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) lines++;
  return lines;
}
