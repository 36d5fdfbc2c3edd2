// `%lakebase sql`: run the statements of a line or a cell, in order, on one session, and show
// each result. Values come in as bound parameters (`:name` → `$n`), never as text.
import type { Column, Notice, SqlSession } from '../../lakebase/contracts';
import { JUPYTER_DISPLAY } from '../../lakebase/contracts';
import { LakebaseError, SqlError } from '../../lakebase/errors';
import { rowTypeOf } from '../../lakebase/pg-types';
import type { ResultSet } from '../../lakebase/result-set';
import { bindParameters } from '../../lakebase/sql/parameters';
import { splitStatements } from '../../lakebase/sql/lexer';
import type { VerbContext, VerbFamily } from '../declarations';
import type { MagicHost } from '../host';
import type { MagicServices } from '../services';
import { transactionNote } from './transaction-note';

/** Stable codes of the errors this verb raises itself (server errors are `SqlError`s). */
export const SQL_VERB_ERRORS = {
  /** The cell was interrupted between two statements. */
  interrupted: 'INTERRUPTED',
  /** `--into` on a cell whose last statement returns no rows (`COMMIT`, `CREATE TABLE`). */
  intoWithoutRows: 'INTO_WITHOUT_ROWS',
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
          name: 'on',
          kind: 'text',
          valueName: 'CONNECTION',
          completes: 'connections',
          summary: 'Run on this named connection instead of the current one (it stays current)',
        },
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
        '--into VARIABLE keeps every row of the last statement (not only the displayed ones) as an array of row objects, ' +
          'declared in TypeScript with a type from the column types (NOT NULL table columns are not nullable), ' +
          'so later cells get completion and type errors on column names.',
      ],
      examples: [
        '%lakebase sql SELECT now()',
        '%lakebase sql --into users SELECT id, name FROM users WHERE region = :region',
        '%%lakebase --display-limit 20',
        '%%lakebase --on analytics',
        'const count = %lakebase sql SELECT count(*) FROM users',
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
  const statements = splitStatements(text, { lineOffset: linesBefore });
  if (statements.length === 0) {
    host.stderr('lakebase: there is no SQL statement to run\n');
    return undefined;
  }
  const connectionName = invocation.options.on as string | undefined;
  const { name: nameShown, session } =
    connectionName === undefined ? services.connections.current() : services.connections.get(connectionName);
  const limit = (invocation.options['display-limit'] as number | undefined) ?? services.settings.displayLimit;
  const into = invocation.options.into as string | undefined;
  const lookup = (name: string) =>
    Object.prototype.hasOwnProperty.call(variables, name) ? { found: true as const, value: variables[name] } : host.lookupVariable(name);
  const onNotice = (notice: Notice) => host.stderr(formatNotice(notice));

  let last: ResultSet | undefined;
  try {
    for (const [index, statement] of statements.entries()) {
      if (host.signal.aborted) {
        throw new LakebaseError(SQL_VERB_ERRORS.interrupted, `Interrupted before statement ${index + 1} of ${statements.length} ran.`, {
          hint: 'The statements before it ran (and, outside a transaction, are committed).',
        });
      }
      const bound = bindParameters(statement.text, lookup);
      const isLast = index === statements.length - 1;
      let result: ResultSet;
      try {
        result = await session.run(bound.text, {
          params: bound.values,
          displayLimit: Number.isFinite(limit) ? limit : ALL_ROWS,
          fetchAll: isLast && into !== undefined,
          signal: host.signal,
          onNotice,
        });
      } catch (error) {
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
      if (isLast) last = result;
      else show(result);
    }
  } finally {
    const note = transactionNote(session.transactionStatus, nameShown);
    if (note !== undefined) host.stderr(note);
  }
  if (into !== undefined && last !== undefined) await storeRows(into, last, session, host);
  return last;
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
