// A sync's source on a PostgreSQL connection: a table or view by name, or any query. Rows leave
// the server as `COPY (SELECT ...) TO STDOUT` in text format and go, unparsed, into the target's
// `COPY ... FROM STDIN`: no row is ever turned into JavaScript values, so the sync runs at COPY's
// speed and in constant memory. (A `pg` cursor would turn every value into JavaScript and back into
// text: design.md measured 1M rows through pg-cursor at 2.7 s, where `psql \copy` out takes 0.8 s.)
//
// The read runs in a READ ONLY transaction on a session of its own, so a source "query" that
// writes (`DELETE ... RETURNING`) is refused by the server, and the user's own session, with its
// transaction, is left alone.
import { LakebaseError, SqlError } from '../errors';
import type { SqlSession } from '../contracts';
import { splitStatements } from '../sql/lexer';
import type { CopyChannel } from './channel';
import { SYNC_ERRORS } from './errors';
import type { ColumnMapping } from './result';
import type { ReadOptions, SyncSource } from './source';
import { query, quoteColumns, quoteIdent } from './sql';
import { mapPostgresType } from './types';
import type { SourceColumnType } from './types';

/** One column of the source, as the target will get it. */
export interface SourceColumn {
  name: string;
  type: SourceColumnType;
}

/** Session settings that make COPY's text output read back identically on any server. */
const PORTABLE_TEXT_SETTINGS = [
  // ISO dates (year first) parse the same whatever the target's DateStyle order.
  "SET DateStyle = 'ISO, YMD'",
  "SET IntervalStyle = 'postgres'",
  // timestamptz prints with its offset; UTC keeps it short and unambiguous.
  "SET TimeZone = 'UTC'",
  // Exact float output on servers before PostgreSQL 12 (from 12 on, any value > 0 means "shortest exact").
  'SET extra_float_digits = 3',
  "SET bytea_output = 'hex'",
];

/** The alias the user's query gets inside the engine's statements. */
const SOURCE_ALIAS = 'lakebase_source';

export class PostgresSource implements SyncSource {
  private constructor(
    private readonly session: SqlSession,
    /** What to read, as SQL: a quoted relation name or the user's query in parentheses. */
    private readonly relation: string,
    /** How messages name it. */
    readonly description: string,
    /** How the state of incremental syncs names it: the table, or the query's text. */
    readonly stateName: string,
    readonly columns: readonly SourceColumn[],
    /** The primary key of a table source (a default key for the target); undefined for queries and views. */
    readonly primaryKey: readonly string[] | undefined,
  ) {}

  /**
   * Opens a session of its own next to `session`, and finds out what `from` is (a table or view
   * name, or a query) and what its columns are. Nothing is read yet.
   */
  static async open(session: SqlSession, from: string, signal?: AbortSignal): Promise<PostgresSource> {
    if (session.openSibling === undefined) {
      throw new LakebaseError(SYNC_ERRORS.unsupportedSession, `The connection ${session.description} cannot open a second session for the sync.`);
    }
    const own = await session.openSibling(signal);
    try {
      // Everything this session runs is read-only, describing the source included.
      await query(own, 'SET default_transaction_read_only = on', [], signal);
      for (const setting of PORTABLE_TEXT_SETTINGS) await query(own, setting, [], signal);
      const text = from.trim();
      const { relation, description, primaryKey, columns } = isQuery(text)
        ? await describeQuery(own, text, signal)
        : await describeRelation(own, text, signal);
      return new PostgresSource(own, relation, description, description === 'query' ? text : description, columns, primaryKey);
    } catch (error) {
      await own.close();
      throw error;
    }
  }

  /** Built-in types as declared; others as the target has them, else text (see `types.ts`). */
  async mapColumns(knownTypes: (declared: readonly string[]) => Promise<string[]>): Promise<ColumnMapping[]> {
    const foreign = this.columns.filter((column) => !column.type.builtin && !column.type.isUnknown).map((column) => column.type.declared);
    const known = new Set(foreign.length > 0 ? await knownTypes(foreign) : []);
    return this.columns.map((column) => ({ name: column.name, sourceType: column.type.declared, ...mapPostgresType(column.type, known.has(column.type.declared)) }));
  }

  /** The planner's estimate of the rows a read returns (for the ETA), or undefined. */
  async estimateRows(options: ReadOptions): Promise<number | undefined> {
    try {
      await this.#setWatermark(options);
      const { rows } = await query(this.session, `EXPLAIN (FORMAT JSON) ${this.#select(options)}`, [], options.signal);
      // `json` values arrive parsed; a server that sends text gets parsed here.
      const value = typeof rows[0][0] === 'string' ? (JSON.parse(rows[0][0]) as unknown) : rows[0][0];
      const plan = (value as { Plan: { 'Plan Rows': number } }[])[0].Plan;
      return Math.round(plan['Plan Rows']);
    } catch (error) {
      if (options.signal?.aborted) throw error;
      // An estimate is a nicety: a source that cannot be explained is still read.
      return undefined;
    }
  }

  /**
   * Streams the rows into `channel` as COPY text, in one READ ONLY transaction, and ends the
   * channel. Returns the number of rows sent. A failure fails the channel too, so the target's
   * COPY is abandoned (CopyFail) rather than committed half-way.
   */
  async read(channel: CopyChannel, options: ReadOptions, onChunk: (chunk: Buffer) => void): Promise<number> {
    try {
      await query(this.session, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', [], options.signal);
      await this.#setWatermark(options);
      const result = await this.session.run(`COPY (${this.#select(options)}) TO STDOUT`, {
        displayLimit: 0,
        ...(options.signal ? { signal: options.signal } : {}),
        copyOut: (chunk) => {
          onChunk(chunk);
          // Once the target has stopped reading, the rest is dropped while the cancel (the
          // engine aborts the signal) reaches the server: the COPY must be read to its end, or
          // the connection would be left in the middle of it.
          if (channel.closed) return undefined;
          return channel.push(chunk)?.catch(() => undefined);
        },
      });
      await query(this.session, 'COMMIT', [], options.signal);
      channel.end();
      return result.rowCount ?? 0;
    } catch (error) {
      channel.fail(error);
      if (this.session.transactionStatus !== 'idle') await query(this.session, 'ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.session.close();
  }

  /** The SELECT a read runs: the source's columns, keys not null, rows from the watermark on. */
  #select(options: ReadOptions): string {
    const conditions = options.notNull.map((column) => `${quoteIdent(column)} IS NOT NULL`);
    const watermark = options.watermark;
    if (watermark?.from !== undefined) {
      const column = this.columns.find((candidate) => candidate.name === watermark.column);
      if (!column) throw new Error(`Bug: watermark column ${watermark.column} is not a source column.`);
      // The value comes from a setting set with a bound parameter (`#setWatermark`): COPY takes no
      // parameters, and values are never pasted into SQL text. The cast is the source's own type.
      conditions.push(`${quoteIdent(watermark.column)} >= current_setting('lakebase.sync_watermark')::${column.type.declared}`);
    }
    const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
    return `SELECT ${quoteColumns(this.columns.map((column) => column.name))} FROM ${this.relation}${where}`;
  }

  async #setWatermark(options: ReadOptions): Promise<void> {
    const from = options.watermark?.from;
    if (from !== undefined) await query(this.session, "SELECT set_config('lakebase.sync_watermark', $1, false)", [from], options.signal);
  }
}

/** A query starts with a keyword that starts a query; anything else is a table or view name. */
export function isQuery(text: string): boolean {
  return /^\(*\s*(select|with|values|table)\b/i.test(text);
}

async function describeRelation(session: SqlSession, name: string, signal?: AbortSignal) {
  // The server parses the name with its own rules (quotes, case, search_path): no parser of ours.
  const { rows } = await query(
    session,
    `SELECT n.nspname, c.relname, c.relkind::text FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid = pg_catalog.to_regclass($1)`,
    [name],
    signal,
  ).catch((error: unknown) => {
    // `to_regclass` still raises on text that is not a name at all (`a b`, `x.y.z.w`).
    if (error instanceof SqlError) throw notFound(name, error.message, error);
    throw error;
  });
  if (rows.length === 0) throw notFound(name, 'no table or view of that name is visible to the sync\'s user');
  const [schema, table, kind] = rows[0] as [string, string, string];
  if (!['r', 'p', 'v', 'm', 'f'].includes(kind)) throw notFound(name, 'it is not a table or view');
  const relation = `${quoteIdent(schema)}.${quoteIdent(table)}`;
  const columns = await describeColumns(session, `SELECT * FROM ${relation}`, signal);
  const primaryKey = await primaryKeyOf(session, relation, signal);
  return { relation, description: `${schema}.${table}`, primaryKey, columns };
}

async function describeQuery(session: SqlSession, text: string, signal?: AbortSignal) {
  const statements = splitStatements(text);
  if (statements.length !== 1) {
    throw new LakebaseError(SYNC_ERRORS.invalid, `The sync source must be one query; it has ${statements.length} statements.`, {
      hint: 'Give one SELECT (or WITH ... SELECT); create helper views first if you need more.',
    });
  }
  const relation = `(${statements[0].text}) AS ${SOURCE_ALIAS}`;
  const prefix = 'SELECT * FROM (';
  try {
    const columns = await describeColumns(session, `${prefix}${statements[0].text}) AS ${SOURCE_ALIAS}`, signal);
    return { relation, description: 'query', primaryKey: undefined, columns };
  } catch (error) {
    // The caret goes under what the user wrote, not under the wrapper around it.
    if (error instanceof SqlError) {
      throw error.withSource({ text, start: statements[0].start, sourceIndex: (sent) => sent - prefix.length });
    }
    throw error;
  }
}

/** The columns of a SELECT (run with LIMIT 0), with their types described by the source's catalog. */
async function describeColumns(session: SqlSession, select: string, signal?: AbortSignal): Promise<SourceColumn[]> {
  const result = await session.run(`${select} LIMIT 0`, { displayLimit: 0, ...(signal ? { signal } : {}) });
  const columns = result.columns;
  const names = new Set<string>();
  for (const column of columns) {
    if (names.has(column.name)) {
      throw new LakebaseError(SYNC_ERRORS.invalid, `The source has two columns named "${column.name}".`, {
        hint: 'Give each column of the source query its own name (SELECT a.id AS a_id, b.id AS b_id ...).',
      });
    }
    names.add(column.name);
  }
  if (columns.length === 0) throw new LakebaseError(SYNC_ERRORS.invalid, 'The source has no columns.');
  // How each type prints and whether it (an array: its element type) is built in. A domain needs
  // no look: a row description names its base type already.
  const { rows } = await query(
    session,
    `SELECT pg_catalog.format_type(c.oid, NULLIF(c.typmod, -1)),
            t.typcategory = 'A',
            coalesce(en.nspname, tn.nspname) = 'pg_catalog',
            c.oid = 'unknown'::regtype
       FROM unnest($1::oid[], $2::int4[]) WITH ORDINALITY AS c(oid, typmod, ord)
       JOIN pg_catalog.pg_type t ON t.oid = c.oid
       JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
       LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
       LEFT JOIN pg_catalog.pg_namespace en ON en.oid = e.typnamespace
      ORDER BY c.ord`,
    [columns.map((column) => column.typeOid), columns.map((column) => column.typeModifier ?? -1)],
    signal,
  );
  return columns.map((column, index) => {
    const [declared, isArray, builtin, isUnknown] = rows[index] as [string, boolean, boolean, boolean];
    return { name: column.name, type: { declared, builtin, isArray, isUnknown } };
  });
}

async function primaryKeyOf(session: SqlSession, relation: string, signal?: AbortSignal): Promise<string[] | undefined> {
  const { rows } = await query(
    session,
    `SELECT a.attname FROM pg_catalog.pg_index i
       CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1::regclass AND i.indisprimary
      ORDER BY k.ord`,
    [relation],
    signal,
  );
  return rows.length > 0 ? rows.map((row) => String(row[0])) : undefined;
}

function notFound(name: string, why: string, cause?: unknown): LakebaseError {
  return new LakebaseError(SYNC_ERRORS.sourceNotFound, `The sync source "${name}" cannot be read: ${why}.`, {
    hint: 'Name a table or view (schema.table), or give a query starting with SELECT or WITH.',
    ...(cause ? { cause } : {}),
  });
}
