// A sync's target: a PostgreSQL table written in ONE transaction on a session of its own, so that
// readers see the old rows or the new ones, never a half-loaded table, and a sync that fails, is
// interrupted or whose process is killed leaves the previous rows (the server rolls back what was
// never committed). The table is never dropped or renamed: its indexes, grants, policies, triggers
// and the views on it stay as they are.
//
// FULL: DELETE every row, then COPY the source in. DELETE rather than TRUNCATE: TRUNCATE takes an
// ACCESS EXCLUSIVE lock that would block every reader of the table for the whole load, while after
// DELETE readers go on seeing the old rows until COMMIT (the dead rows are vacuumed later).
// INCREMENTAL: COPY the changed rows into a temporary table, then upsert them by the key
// (`INSERT ... ON CONFLICT (key) DO UPDATE`), and store the new watermark in the same transaction.
import { LakebaseError } from '../errors';
import type { SqlSession } from '../contracts';
import type { CopyChannel } from './channel';
import { SYNC_ERRORS } from './errors';
import { displayRelation, query, quoteColumns, quoteIdent, quoteRelation } from './sql';
import type { RelationName } from './sql';

/** Where the state of incremental syncs lives, in the target database. */
export const STATE_SCHEMA = 'lakebase_sync';
export const STATE_TABLE = 'sync_state';
const STATE_RELATION = `${quoteIdent(STATE_SCHEMA)}.${quoteIdent(STATE_TABLE)}`;

/** One column the target gets: its name and, when the sync creates the table, its type. */
export interface TargetColumn {
  name: string;
  type: string;
}

/** The state row of one target (see `README.md`, "Sync": what is stored and why). */
export interface SyncState {
  source: string;
  mode: 'FULL' | 'INCREMENTAL';
  keyColumns: string[];
  watermarkColumn: string | undefined;
  /** The largest watermark value synced, as text. */
  watermark: string | undefined;
  /** The last source version synced (Change Data Feed sources). */
  sourceVersion: number | undefined;
  rows: number;
  lastRunAt: Date;
}

/** What the target table is, found before the load. */
export interface TargetTable {
  name: RelationName;
  exists: boolean;
  /** Column names of an existing table. */
  columns: string[];
  /** Primary key columns of an existing table. */
  primaryKey: string[] | undefined;
  /** Column sets of its primary key and unique indexes (what ON CONFLICT can use). */
  uniqueKeys: string[][];
}

export class SyncTarget {
  private constructor(
    private readonly session: SqlSession,
    readonly table: TargetTable,
  ) {}

  /** Opens a session of its own next to `session` and finds out about the table `name`. */
  static async open(session: SqlSession, name: string, signal?: AbortSignal): Promise<SyncTarget> {
    if (session.openSibling === undefined) {
      throw new LakebaseError(SYNC_ERRORS.unsupportedSession, `The connection ${session.description} cannot open a second session for the sync.`);
    }
    const own = await session.openSibling(signal);
    try {
      // COPY text from the source is read with the same settings it was written with.
      await query(own, "SET DateStyle = 'ISO, YMD'", [], signal);
      await query(own, "SET IntervalStyle = 'postgres'", [], signal);
      await query(own, "SET TimeZone = 'UTC'", [], signal);
      return new SyncTarget(own, await describeTarget(own, name, signal));
    } catch (error) {
      await own.close();
      throw error;
    }
  }

  get description(): string {
    return displayRelation(this.table.name);
  }

  /** The session's identity of the target in the state table and the lock: its quoted name. */
  get key(): string {
    return quoteRelation(this.table.name);
  }

  async begin(signal?: AbortSignal): Promise<void> {
    await query(this.session, 'BEGIN', [], signal);
    // One sync per target at a time: a second one would wait for the first one's row locks and
    // then upsert stale rows, or fail on the primary key. Held until COMMIT or ROLLBACK (or until
    // the backend ends, when a killed kernel's connection drops).
    const { rows } = await query(this.session, 'SELECT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtextextended($1, 0))', [`lakebase_sync:${this.key}`], signal);
    if (rows[0][0] !== true) {
      throw new LakebaseError(SYNC_ERRORS.busy, `Another sync into ${this.description} is running now.`, {
        hint: 'Wait for it to finish (its session holds the lock until it commits or rolls back), then run this one again.',
      });
    }
  }

  async commit(signal?: AbortSignal): Promise<void> {
    await query(this.session, 'COMMIT', [], signal);
  }

  /** Rolls back whatever the open transaction did; never throws (the session may be gone). */
  async rollback(): Promise<void> {
    if (this.session.transactionStatus === 'idle') return;
    await query(this.session, 'ROLLBACK').catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.session.close();
  }

  /** Creates the table (and its schema) with these columns and primary key, inside the transaction. */
  async create(columns: readonly TargetColumn[], primaryKey: readonly string[], signal?: AbortSignal): Promise<void> {
    await query(this.session, `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.table.name.schema)}`, [], signal);
    const definitions = columns.map((column) => `${quoteIdent(column.name)} ${column.type}`);
    if (primaryKey.length > 0) definitions.push(`PRIMARY KEY (${quoteColumns(primaryKey)})`);
    await query(this.session, `CREATE TABLE ${quoteRelation(this.table.name)} (${definitions.join(', ')})`, [], signal);
  }

  /** FULL: every old row goes, the channel's rows come in; both visible at COMMIT only. */
  async replaceRows(columns: readonly string[], rows: CopyChannel, options: { created: boolean; signal?: AbortSignal }): Promise<number> {
    if (!options.created) await query(this.session, `DELETE FROM ${quoteRelation(this.table.name)}`, [], options.signal);
    // A table created in this transaction can be loaded frozen: no later pass to set hint bits.
    const freeze = options.created ? ' WITH (FREEZE)' : '';
    const result = await this.session.run(`COPY ${quoteRelation(this.table.name)} (${quoteColumns(columns)}) FROM STDIN${freeze}`, {
      displayLimit: 0,
      copyIn: rows,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return result.rowCount ?? 0;
  }

  /**
   * INCREMENTAL: the channel's rows into a temporary table, then upserted by `key`. Rows that
   * share a key keep the one with the largest `newestBy` (the watermark). Returns the rows staged,
   * the rows written and the largest `newestBy` value staged (as text).
   */
  async upsertRows(
    columns: readonly string[],
    key: readonly string[],
    newestBy: string | undefined,
    rows: CopyChannel,
    options: { signal?: AbortSignal; onMerging?: () => void },
  ): Promise<{ staged: number; written: number; newest: string | undefined }> {
    const { signal } = options;
    const stage = quoteIdent('lakebase_sync_stage');
    const list = quoteColumns(columns);
    await query(this.session, `CREATE TEMPORARY TABLE ${stage} ON COMMIT DROP AS SELECT ${list} FROM ${quoteRelation(this.table.name)} WITH NO DATA`, [], signal);
    const copied = await this.session.run(`COPY ${stage} (${list}) FROM STDIN`, { displayLimit: 0, copyIn: rows, ...(signal ? { signal } : {}) });
    options.onMerging?.();
    const keys = quoteColumns(key);
    const others = columns.filter((column) => !key.includes(column));
    const order = newestBy === undefined ? keys : `${keys}, ${quoteIdent(newestBy)} DESC NULLS LAST`;
    const onConflict =
      others.length === 0
        ? 'DO NOTHING'
        : `DO UPDATE SET ${others.map((column) => `${quoteIdent(column)} = EXCLUDED.${quoteIdent(column)}`).join(', ')}`;
    const written = await query(
      this.session,
      `INSERT INTO ${quoteRelation(this.table.name)} (${list}) SELECT DISTINCT ON (${keys}) ${list} FROM ${stage} ORDER BY ${order} ON CONFLICT (${keys}) ${onConflict}`,
      [],
      signal,
    );
    let newest: string | undefined;
    if (newestBy !== undefined) {
      const { rows: max } = await query(this.session, `SELECT max(${quoteIdent(newestBy)})::text FROM ${stage}`, [], signal);
      newest = max[0][0] === null ? undefined : String(max[0][0]);
    }
    return { staged: copied.rowCount ?? 0, written: written.rowCount ?? 0, newest };
  }

  /**
   * A change feed's rows (the columns, then `_change_type` and `_commit_version`) into a temporary
   * table, reduced to the last change of each key (update pre-images left out; the latest commit,
   * then the latest row, wins), and applied: deletes, then upserts. Returns the rows staged and
   * the rows deleted or written.
   */
  async applyChanges(columns: readonly string[], key: readonly string[], rows: CopyChannel, options: { signal?: AbortSignal; onMerging?: () => void }): Promise<{ staged: number; written: number }> {
    const { signal } = options;
    const stage = quoteIdent('lakebase_sync_changes');
    const final = quoteIdent('lakebase_sync_final');
    const list = quoteColumns(columns);
    const keys = quoteColumns(key);
    await query(this.session, `CREATE TEMPORARY TABLE ${stage} ON COMMIT DROP AS SELECT ${list} FROM ${quoteRelation(this.table.name)} WITH NO DATA`, [], signal);
    await query(this.session, `ALTER TABLE ${stage} ADD COLUMN _change_type text, ADD COLUMN _commit_version bigint, ADD COLUMN _ord bigint GENERATED ALWAYS AS IDENTITY`, [], signal);
    const copied = await this.session.run(`COPY ${stage} (${list}, _change_type, _commit_version) FROM STDIN`, { displayLimit: 0, copyIn: rows, ...(signal ? { signal } : {}) });
    options.onMerging?.();
    await query(
      this.session,
      `CREATE TEMPORARY TABLE ${final} ON COMMIT DROP AS SELECT DISTINCT ON (${keys}) * FROM ${stage} WHERE _change_type <> 'update_preimage' ORDER BY ${keys}, _commit_version DESC, _ord DESC`,
      [],
      signal,
    );
    const joined = key.map((column) => `t.${quoteIdent(column)} = f.${quoteIdent(column)}`).join(' AND ');
    const deleted = await query(this.session, `DELETE FROM ${quoteRelation(this.table.name)} t USING ${final} f WHERE f._change_type = 'delete' AND ${joined}`, [], signal);
    const others = columns.filter((column) => !key.includes(column));
    const onConflict = others.length === 0 ? 'DO NOTHING' : `DO UPDATE SET ${others.map((column) => `${quoteIdent(column)} = EXCLUDED.${quoteIdent(column)}`).join(', ')}`;
    const upserted = await query(
      this.session,
      `INSERT INTO ${quoteRelation(this.table.name)} (${list}) SELECT ${list} FROM ${final} WHERE _change_type IN ('insert', 'update_postimage') ON CONFLICT (${keys}) ${onConflict}`,
      [],
      signal,
    );
    return { staged: copied.rowCount ?? 0, written: (deleted.rowCount ?? 0) + (upserted.rowCount ?? 0) };
  }

  /** Which of these type names (as `format_type` prints them) the target database knows. */
  async typesKnown(declared: readonly string[], signal?: AbortSignal): Promise<string[]> {
    const { rows } = await query(this.session, 'SELECT name FROM unnest($1::text[]) AS name WHERE pg_catalog.to_regtype(name) IS NOT NULL', [declared], signal);
    return rows.map((row) => String(row[0]));
  }

  /** The largest value of `column` in the target, as text (FULL with a watermark records it). */
  async maxOf(column: string, signal?: AbortSignal): Promise<string | undefined> {
    const { rows } = await query(this.session, `SELECT max(${quoteIdent(column)})::text FROM ${quoteRelation(this.table.name)}`, [], signal);
    return rows[0][0] === null ? undefined : String(rows[0][0]);
  }

  // ------------------------------------------------------------------------------------------
  // State

  /** Creates the state table if missing, in its own transaction (outside the sync's). */
  async ensureStateTable(signal?: AbortSignal): Promise<void> {
    if (await this.#stateTableExists(signal)) return;
    try {
      await query(this.session, `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(STATE_SCHEMA)}`, [], signal);
      await query(
        this.session,
        `CREATE TABLE IF NOT EXISTS ${STATE_RELATION} (
           target_table text PRIMARY KEY,
           source text NOT NULL,
           mode text NOT NULL CHECK (mode IN ('FULL', 'INCREMENTAL')),
           key_columns text[] NOT NULL DEFAULT '{}',
           watermark_column text,
           watermark text,
           source_version bigint,
           rows_last_run bigint NOT NULL,
           last_run_at timestamptz NOT NULL DEFAULT now()
         )`,
        [],
        signal,
      );
    } catch (error) {
      // Two first syncs at once: the other one created it (IF NOT EXISTS still races in PostgreSQL).
      if (await this.#stateTableExists(signal)) return;
      throw error;
    }
  }

  /** The target's state row, read inside the sync's transaction; undefined when there is none. */
  async readState(signal?: AbortSignal): Promise<SyncState | undefined> {
    if (!(await this.#stateTableExists(signal))) return undefined;
    const { rows } = await query(
      this.session,
      `SELECT source, mode, key_columns, watermark_column, watermark, source_version, rows_last_run, last_run_at FROM ${STATE_RELATION} WHERE target_table = $1`,
      [this.key],
      signal,
    );
    if (rows.length === 0) return undefined;
    const [source, mode, keyColumns, watermarkColumn, watermark, sourceVersion, rowCount, lastRunAt] = rows[0];
    return {
      source: String(source),
      mode: mode as SyncState['mode'],
      keyColumns: (keyColumns as string[]) ?? [],
      watermarkColumn: watermarkColumn === null ? undefined : String(watermarkColumn),
      watermark: watermark === null ? undefined : String(watermark),
      sourceVersion: sourceVersion === null ? undefined : Number(sourceVersion),
      rows: Number(rowCount),
      lastRunAt: lastRunAt as Date,
    };
  }

  /** Writes the state row in the sync's transaction: it commits with the rows, or not at all. */
  async writeState(state: Omit<SyncState, 'lastRunAt'>, signal?: AbortSignal): Promise<void> {
    await query(
      this.session,
      `INSERT INTO ${STATE_RELATION} (target_table, source, mode, key_columns, watermark_column, watermark, source_version, rows_last_run, last_run_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
       ON CONFLICT (target_table) DO UPDATE SET source = EXCLUDED.source, mode = EXCLUDED.mode, key_columns = EXCLUDED.key_columns,
         watermark_column = EXCLUDED.watermark_column, watermark = EXCLUDED.watermark, source_version = EXCLUDED.source_version,
         rows_last_run = EXCLUDED.rows_last_run, last_run_at = EXCLUDED.last_run_at`,
      [this.key, state.source, state.mode, state.keyColumns, state.watermarkColumn ?? null, state.watermark ?? null, state.sourceVersion ?? null, state.rows],
      signal,
    );
  }

  /** Forgets the target's state (a FULL sync without a watermark starts incremental syncs afresh). */
  async clearState(signal?: AbortSignal): Promise<void> {
    if (!(await this.#stateTableExists(signal))) return;
    await query(this.session, `DELETE FROM ${STATE_RELATION} WHERE target_table = $1`, [this.key], signal);
  }

  async #stateTableExists(signal?: AbortSignal): Promise<boolean> {
    const { rows } = await query(this.session, 'SELECT pg_catalog.to_regclass($1) IS NOT NULL', [`${STATE_RELATION}`], signal);
    return rows[0][0] === true;
  }
}

/** Splits and resolves `name` with the server's own rules (quotes, case, search_path). */
async function describeTarget(session: SqlSession, name: string, signal?: AbortSignal): Promise<TargetTable> {
  let parts: string[];
  try {
    const { rows } = await query(session, 'SELECT pg_catalog.parse_ident($1)', [name], signal);
    parts = rows[0][0] as string[];
  } catch (error) {
    throw new LakebaseError(SYNC_ERRORS.invalid, `"${name}" is not a table name.`, {
      hint: 'Name the target as table or schema.table (quote names with capitals or spaces: "My Table").',
      cause: error,
    });
  }
  if (parts.length > 2) {
    throw new LakebaseError(SYNC_ERRORS.invalid, `"${name}" has ${parts.length} parts; the target is table or schema.table in the connection's database.`, {
      hint: 'Connect to the target database and name the table there.',
    });
  }
  const { rows: found } = await query(
    session,
    `SELECT n.nspname, c.relname, c.relkind::text FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid = pg_catalog.to_regclass($1)`,
    [name],
    signal,
  );
  if (found.length === 0) {
    const schema = parts.length === 2 ? parts[0] : String((await query(session, 'SELECT current_schema()', [], signal)).rows[0][0] ?? 'public');
    return { name: { schema, table: parts[parts.length - 1] }, exists: false, columns: [], primaryKey: undefined, uniqueKeys: [] };
  }
  const [schema, table, kind] = found[0] as [string, string, string];
  if (kind !== 'r' && kind !== 'p') {
    throw new LakebaseError(SYNC_ERRORS.targetMismatch, `The target ${schema}.${table} is not a table (it is a ${RELATION_KINDS[kind] ?? kind}).`, {
      hint: 'Sync into a table; create one, or let the sync create it by naming a table that does not exist yet.',
    });
  }
  const relation = quoteRelation({ schema, table });
  const { rows: columnRows } = await query(
    session,
    'SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum',
    [relation],
    signal,
  );
  const { rows: keyRows } = await query(
    session,
    `SELECT i.indisprimary, array_agg(a.attname::text ORDER BY k.ord) FROM pg_catalog.pg_index i
       CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
      GROUP BY i.indexrelid, i.indisprimary`,
    [relation],
    signal,
  );
  const uniqueKeys = keyRows.map((row) => row[1] as string[]);
  const primary = keyRows.find((row) => row[0] === true);
  return {
    name: { schema, table },
    exists: true,
    columns: columnRows.map((row) => String(row[0])),
    primaryKey: primary ? (primary[1] as string[]) : undefined,
    uniqueKeys,
  };
}

const RELATION_KINDS: Record<string, string> = { v: 'view', m: 'materialized view', f: 'foreign table', S: 'sequence', i: 'index', c: 'composite type' };
