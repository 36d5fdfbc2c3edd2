// Writing a synced table into its instance's PostgreSQL: the emulator's side of what the real
// service's sync pipeline does. Each sync is ONE transaction on a connection of the emulator's
// own (its superuser, on the server's private socket), so readers see the previous rows or the new
// ones and a failed or interrupted sync leaves the previous rows:
//
// - a snapshot (the initial one, every SNAPSHOT refresh, a full refresh) loads the rows into a
//   temporary table and replaces the target's contents from it — the table itself, with its
//   indexes and grants, stays (a snapshot that follows a non-additive schema change rebuilds it);
// - a change-feed sync loads `table_changes` rows into a temporary table, reduces them to the last
//   change per primary key and applies deletes and upserts.
//
// Rows whose primary key has a NULL are skipped, as the real service skips them. `timeseries_key`
// decides between rows with the same key: the one with the largest value wins, and a change older
// (by it) than the row already synced is ignored.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type * as arrow from 'apache-arrow';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { batchToCopyText } from './arrow-copy';

const STAGE = 'lakebase_synced_stage';
const FINAL = 'lakebase_synced_final';

export interface TargetName {
  schema: string;
  table: string;
}

export interface TargetColumn {
  name: string;
  pgType: string;
}

export interface WriteOptions {
  columns: readonly TargetColumn[];
  primaryKey: readonly string[];
  timeseriesKey?: string;
  /** Rows read so far (for the synced table's progress). */
  onRows?: (rows: number) => void;
  signal?: AbortSignal;
}

/** A source row repeats a primary key and no timeseries_key says which one to keep. */
export class DuplicateKeyError extends Error {
  override readonly name = 'DuplicateKeyError';
}

const ident = (name: string) => pg.escapeIdentifier(name);
const list = (names: readonly string[]) => names.map(ident).join(', ');

export class SyncedTableWriter {
  private constructor(private readonly client: pg.Client) {}

  static async open(config: pg.ClientConfig): Promise<SyncedTableWriter> {
    const client = new pg.Client(config);
    // An error on an idle connection (the server stopping) must not crash the emulator.
    client.on('error', () => undefined);
    await client.connect();
    // COPY text written in UTC and ISO dates reads back the same everywhere.
    await client.query("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'");
    return new SyncedTableWriter(client);
  }

  private relation(target: TargetName): string {
    return `${ident(target.schema)}.${ident(target.table)}`;
  }

  async schemaExists(schema: string): Promise<boolean> {
    return (await this.client.query('SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1', [schema])).rows.length > 0;
  }

  async tableExists(target: TargetName): Promise<boolean> {
    return (await this.client.query('SELECT pg_catalog.to_regclass($1) IS NOT NULL AS found', [this.relation(target)])).rows[0].found === true;
  }

  async begin(): Promise<void> {
    await this.client.query('BEGIN');
  }

  async commit(): Promise<void> {
    await this.client.query('COMMIT');
  }

  async close(): Promise<void> {
    // Ending a connection inside a transaction rolls it back: what an interrupted sync leaves.
    await this.client.end().catch(() => undefined);
  }

  /** Creates the schema if needed and the table with its primary key; readable by the instance's superusers. */
  async createTable(target: TargetName, options: WriteOptions, superuserRole: string): Promise<void> {
    // Two synced tables made at once in one schema would both change the schema's ACL, and the
    // second GRANT fails with "tuple concurrently updated": one at a time per schema.
    await this.client.query('SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended($1, 0))', [`lakebase_synced_schema:${target.schema}`]);
    await this.client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(target.schema)}`);
    const definitions = [...options.columns.map((column) => `${ident(column.name)} ${column.pgType}`), `PRIMARY KEY (${list(options.primaryKey)})`];
    await this.client.query(`CREATE TABLE ${this.relation(target)} (${definitions.join(', ')})`);
    // Synced tables are read-only for users: the pipeline owns them.
    await this.client.query(`GRANT USAGE ON SCHEMA ${ident(target.schema)} TO ${ident(superuserRole)}`);
    await this.client.query(`GRANT SELECT ON ${this.relation(target)} TO ${ident(superuserRole)}`);
  }

  async dropTable(target: TargetName): Promise<void> {
    await this.client.query(`DROP TABLE IF EXISTS ${this.relation(target)}`);
  }

  async addColumns(target: TargetName, columns: readonly TargetColumn[]): Promise<void> {
    for (const column of columns) await this.client.query(`ALTER TABLE ${this.relation(target)} ADD COLUMN ${ident(column.name)} ${column.pgType}`);
  }

  /** A snapshot: every row of `batches` replaces the table's contents. Returns the rows written. */
  async replaceAll(target: TargetName, batches: AsyncIterable<arrow.RecordBatch>, options: WriteOptions): Promise<number> {
    const names = options.columns.map((column) => column.name);
    await this.#stage(target, names, false);
    await this.#copy(names, batches, options, []);
    await this.client.query(`DELETE FROM ${this.relation(target)}`);
    const keys = list(options.primaryKey);
    try {
      const inserted = await this.client.query(
        options.timeseriesKey
          ? `INSERT INTO ${this.relation(target)} (${list(names)}) SELECT DISTINCT ON (${keys}) ${list(names)} FROM ${STAGE} ORDER BY ${keys}, ${this.#newestFirst(options, false)}`
          : `INSERT INTO ${this.relation(target)} (${list(names)}) SELECT ${list(names)} FROM ${STAGE}`,
      );
      return inserted.rowCount ?? 0;
    } catch (error) {
      throw duplicateKey(error, options);
    }
  }

  /** A change-feed sync: `table_changes` rows applied by primary key. Returns the rows changed. */
  async applyChanges(target: TargetName, batches: AsyncIterable<arrow.RecordBatch>, options: WriteOptions): Promise<number> {
    const names = options.columns.map((column) => column.name);
    await this.#stage(target, names, true);
    await this.#copy(names, batches, options, ['_change_type', '_commit_version']);
    const keys = list(options.primaryKey);
    await this.client.query(
      `CREATE TEMPORARY TABLE ${FINAL} ON COMMIT DROP AS SELECT DISTINCT ON (${keys}) * FROM ${STAGE} WHERE _change_type <> 'update_preimage' ORDER BY ${keys}, ${this.#newestFirst(options, true)}`,
    );
    const ts = options.timeseriesKey;
    const joined = options.primaryKey.map((column) => `t.${ident(column)} = f.${ident(column)}`).join(' AND ');
    // With a timeseries key, a change older than the row already there is ignored.
    const notNewer = (current: string, change: string) => `(${current}.${ident(ts!)} IS NULL OR ${change}.${ident(ts!)} IS NULL OR ${current}.${ident(ts!)} <= ${change}.${ident(ts!)})`;
    const deleted = await this.client.query(`DELETE FROM ${this.relation(target)} t USING ${FINAL} f WHERE f._change_type = 'delete' AND ${joined}${ts ? ` AND ${notNewer('t', 'f')}` : ''}`);
    const others = names.filter((name) => !options.primaryKey.includes(name));
    const set = others.length === 0 ? 'DO NOTHING' : `DO UPDATE SET ${others.map((name) => `${ident(name)} = EXCLUDED.${ident(name)}`).join(', ')}`;
    const guard = ts && others.length > 0 ? ` WHERE ${notNewer('t', 'EXCLUDED')}` : '';
    const upserted = await this.client.query(
      `INSERT INTO ${this.relation(target)} AS t (${list(names)}) SELECT ${list(names)} FROM ${FINAL} WHERE _change_type IN ('insert', 'update_postimage') ON CONFLICT (${keys}) ${set}${guard}`,
    );
    return (deleted.rowCount ?? 0) + (upserted.rowCount ?? 0);
  }

  /** A temporary table shaped like the target's columns (plus change-feed columns). */
  async #stage(target: TargetName, names: readonly string[], changes: boolean): Promise<void> {
    await this.client.query(`CREATE TEMPORARY TABLE ${STAGE} ON COMMIT DROP AS SELECT ${list(names)} FROM ${this.relation(target)} WITH NO DATA`);
    if (changes) {
      await this.client.query(`ALTER TABLE ${STAGE} ADD COLUMN _change_type text, ADD COLUMN _commit_version bigint, ADD COLUMN _ord bigint GENERATED ALWAYS AS IDENTITY`);
    }
  }

  /** Streams the batches into the stage with COPY, skipping rows whose key has a NULL. */
  async #copy(names: readonly string[], batches: AsyncIterable<arrow.RecordBatch>, options: WriteOptions, extra: readonly string[]): Promise<void> {
    const columns = [...names, ...extra];
    let rows = 0;
    const signal = options.signal;
    async function* text(): AsyncGenerator<string> {
      for await (const batch of batches) {
        if (signal?.aborted) throw signal.reason;
        const keyVectors = options.primaryKey.map((key) => batch.getChild(key)!);
        const skip = (row: number) => keyVectors.some((vector) => !vector.isValid(row));
        const chunk = batchToCopyText(batch, columns, skip);
        rows += batch.numRows;
        options.onRows?.(rows);
        if (chunk.text) yield chunk.text;
      }
    }
    const sink = this.client.query(copyFrom(`COPY ${STAGE} (${list(columns)}) FROM STDIN`));
    // A failure or an abort destroys the sink, which ends the COPY with CopyFail: nothing staged.
    await pipeline(Readable.from(text()), sink);
  }

  /** ORDER BY after the key: newest by the timeseries key, then (for changes) the latest commit and row. */
  #newestFirst(options: WriteOptions, changes: boolean): string {
    const byTime = options.timeseriesKey ? [`${ident(options.timeseriesKey)} DESC NULLS LAST`] : [];
    const byCommit = changes ? ['_commit_version DESC', '_ord DESC'] : [];
    return [...byTime, ...byCommit].join(', ');
  }
}

function duplicateKey(error: unknown, options: WriteOptions): unknown {
  const fields = error as { code?: string; detail?: string };
  if (fields.code !== '23505') return error;
  return new DuplicateKeyError(
    `The source has more than one row with the same primary key (${options.primaryKey.join(', ')})${fields.detail ? `: ${fields.detail}` : ''}. ` +
      'Give the synced table a timeseries_key to keep the newest row of each key, or remove the duplicates from the source.',
  );
}
