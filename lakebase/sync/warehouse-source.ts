// A sync's source on a Databricks SQL warehouse: a table or view (`catalog.schema.table`) or any
// query in Databricks SQL. Rows arrive as Arrow record batches (`WarehouseSession.streamArrow`,
// one fetch at a time) and leave as COPY text for the target (`emulator/arrow-copy.ts`, the same
// encoder the emulator's synced tables use), so memory stays flat whatever the size. A Delta table
// with Change Data Feed also offers its feed (`table_changes`), so INCREMENTAL syncs carry deletes.
//
// Types become the target's as synced tables map them (arrow-copy.ts): BIGINT → bigint,
// DECIMAL(p,s) → numeric(p,s), TIMESTAMP → timestamptz, STRING → text, ARRAY/MAP/STRUCT → jsonb, ...
import type * as arrow from 'apache-arrow';
import { batchToCopyText, postgresTypeOf } from '../../emulator/arrow-copy';
import { LakebaseError } from '../errors';
import { splitStatements } from '../sql/lexer';
import type { WarehouseSession } from '../warehouse/session';
import { databricksType } from '../warehouse/types';
import type { CopyChannel } from './channel';
import { SYNC_ERRORS } from './errors';
import { isQuery } from './postgres-source';
import type { ColumnMapping } from './result';
import type { ChangeFeed, ReadOptions, SyncSource } from './source';

/** A warehouse session, told apart from a PostgreSQL one by its dialect. */
export function isWarehouseSession(session: unknown): session is WarehouseSession {
  return typeof session === 'object' && session !== null && (session as { dialect?: unknown }).dialect === 'databricks' && typeof (session as { streamArrow?: unknown }).streamArrow === 'function';
}

/** Databricks identifiers: `name`, or in backticks with doubled backticks inside. */
function quoteName(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** `catalog.schema.table` as typed (one to three parts, optionally in backticks), checked and quoted. */
function tableName(text: string): { quoted: string; plain: string } | undefined {
  const parts = text.match(/`(?:[^`]|``)+`|[A-Za-z_][A-Za-z0-9_]*/g);
  if (!parts || parts.join('.') !== text || parts.length > 3) return undefined;
  const plain = parts.map((part) => (part.startsWith('`') ? part.slice(1, -1).replace(/``/g, '`') : part));
  return { quoted: plain.map(quoteName).join('.'), plain: plain.join('.') };
}

export class WarehouseSource implements SyncSource {
  readonly changeFeed?: ChangeFeed;

  private constructor(
    private readonly session: WarehouseSession,
    /** What to read, as SQL: a quoted table name or the user's query in parentheses. */
    private readonly relation: string,
    readonly description: string,
    readonly stateName: string,
    private readonly schema: arrow.Schema,
    /** The table's quoted name, when the source is a table with Change Data Feed. */
    cdfTable: string | undefined,
  ) {
    if (cdfTable !== undefined) this.changeFeed = this.#changeFeed(cdfTable);
  }

  get columns(): { name: string }[] {
    return this.schema.fields.map((field) => ({ name: field.name }));
  }

  /** A Delta table has no primary key the sync could use (its constraints are informational). */
  readonly primaryKey = undefined;

  static async open(session: WarehouseSession, from: string, signal?: AbortSignal): Promise<WarehouseSource> {
    const text = from.trim();
    if (isQuery(text)) {
      const statements = splitStatements(text);
      if (statements.length !== 1) {
        throw new LakebaseError(SYNC_ERRORS.invalid, `The sync source must be one query; it has ${statements.length} statements.`);
      }
      const relation = `(${statements[0].text}) AS lakebase_source`;
      const schema = await describe(session, `SELECT * FROM ${relation} LIMIT 0`, signal);
      return new WarehouseSource(session, relation, 'query', text, schema, undefined);
    }
    const name = tableName(text);
    if (!name) {
      throw new LakebaseError(SYNC_ERRORS.sourceNotFound, `The sync source "${text}" is neither a table name nor a query.`, {
        hint: 'Name a table or view as catalog.schema.table (backticks around unusual names), or give a query starting with SELECT or WITH.',
      });
    }
    const schema = await describe(session, `SELECT * FROM ${name.quoted} LIMIT 0`, signal).catch((error: unknown) => {
      throw new LakebaseError(SYNC_ERRORS.sourceNotFound, `The sync source ${name.plain} cannot be read: ${(error as Error).message}`, { cause: error });
    });
    const cdf = await hasChangeDataFeed(session, name.quoted, signal);
    return new WarehouseSource(session, name.quoted, name.plain, name.plain, schema, cdf ? name.quoted : undefined);
  }

  async mapColumns(): Promise<ColumnMapping[]> {
    return this.schema.fields.map((field) => ({ name: field.name, sourceType: databricksType(field.type).toUpperCase(), targetType: postgresTypeOf(field.type), rule: 'same' as const }));
  }

  async estimateRows(options: ReadOptions): Promise<number | undefined> {
    // A count is cheap for a Delta table (its statistics); a query is not counted twice.
    if (this.relation.startsWith('(')) return undefined;
    try {
      const { sql, params } = this.#select(options, true);
      const table = await this.session.fetchArrow(sql, { namedParams: params, ...(options.signal ? { signal: options.signal } : {}) });
      return Number(table.getChildAt(0)?.get(0));
    } catch (error) {
      if (options.signal?.aborted) throw error;
      return undefined;
    }
  }

  read(channel: CopyChannel, options: ReadOptions, onChunk: (chunk: Buffer) => void): Promise<number> {
    const { sql, params } = this.#select(options, false);
    return this.#stream(channel, sql, params, this.columns.map((column) => column.name), options, onChunk);
  }

  async close(): Promise<void> {
    // The session is the user's connection: the engine reads through it and leaves it open.
  }

  /** The SELECT a read runs: the columns, keys not null, rows from the watermark on (a bound parameter). */
  #select(options: ReadOptions, count: boolean): { sql: string; params: Record<string, unknown> } {
    const conditions = options.notNull.map((column) => `${quoteName(column)} IS NOT NULL`);
    const params: Record<string, unknown> = {};
    const watermark = options.watermark;
    if (watermark?.from !== undefined) {
      const field = this.schema.fields.find((candidate) => candidate.name === watermark.column);
      if (!field) throw new Error(`Bug: watermark column ${watermark.column} is not a source column.`);
      conditions.push(`${quoteName(watermark.column)} >= CAST(:lakebase_watermark AS ${databricksType(field.type).toUpperCase()})`);
      params.lakebase_watermark = watermark.from;
    }
    const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
    const list = count ? 'count(*)' : this.schema.fields.map((field) => quoteName(field.name)).join(', ');
    return { sql: `SELECT ${list} FROM ${this.relation}${where}`, params };
  }

  async #stream(
    channel: CopyChannel,
    sql: string,
    params: Record<string, unknown>,
    columns: readonly string[],
    options: ReadOptions,
    onChunk: (chunk: Buffer) => void,
  ): Promise<number> {
    let rows = 0;
    try {
      for await (const batch of this.session.streamArrow(sql, { namedParams: params, ...(options.signal ? { signal: options.signal } : {}) })) {
        const { text, rows: written } = batchToCopyText(batch, columns);
        if (written === 0) continue;
        rows += written;
        const chunk = Buffer.from(text, 'utf8');
        onChunk(chunk);
        // The target stopped reading: stop streaming (the statement is closed on the warehouse).
        if (channel.closed) break;
        await channel.push(chunk)?.catch(() => undefined);
      }
      channel.end();
      return rows;
    } catch (error) {
      channel.fail(error);
      throw error;
    }
  }

  #changeFeed(table: string): ChangeFeed {
    const names = () => this.columns.map((column) => column.name);
    const keysNotNull = (options: ReadOptions) => options.notNull.map((column) => `${quoteName(column)} IS NOT NULL`);
    const where = (conditions: string[]) => (conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '');
    const list = (columns: readonly string[]) => columns.map(quoteName).join(', ');
    return {
      latestVersion: async (signal) => {
        const history = await this.session.fetchArrow(`DESCRIBE HISTORY ${table} LIMIT 1`, signal ? { signal } : {});
        return Number(history.getChild('version')?.get(0));
      },
      readSnapshot: (channel, version, options, onChunk) =>
        this.#stream(channel, `SELECT ${list(names())} FROM ${table} VERSION AS OF ${checkedVersion(version)}${where(keysNotNull(options))}`, {}, names(), options, onChunk),
      readChanges: (channel, fromVersion, toVersion, options, onChunk) => {
        const columns = [...names(), '_change_type', '_commit_version'];
        // Versions are the engine's own integers, not user text.
        const source = `table_changes('${table.replace(/`/g, '').replace(/'/g, "''")}', ${checkedVersion(fromVersion)}, ${checkedVersion(toVersion)})`;
        return this.#stream(channel, `SELECT ${list(columns)} FROM ${source}${where(keysNotNull(options))}`, {}, columns, options, onChunk);
      },
    };
  }
}

function checkedVersion(version: number): number {
  if (!Number.isSafeInteger(version) || version < 0) throw new Error(`Bug: ${version} is not a table version.`);
  return version;
}

async function describe(session: WarehouseSession, sql: string, signal?: AbortSignal): Promise<arrow.Schema> {
  const table = await session.fetchArrow(sql, signal ? { signal } : {});
  if (table.schema.fields.length === 0) throw new LakebaseError(SYNC_ERRORS.invalid, 'The source has no columns.');
  const names = new Set<string>();
  for (const field of table.schema.fields) {
    if (names.has(field.name)) throw new LakebaseError(SYNC_ERRORS.invalid, `The source has two columns named "${field.name}".`);
    names.add(field.name);
  }
  return table.schema;
}

/** Whether the table records a change data feed (`delta.enableChangeDataFeed`). */
async function hasChangeDataFeed(session: WarehouseSession, table: string, signal?: AbortSignal): Promise<boolean> {
  try {
    const properties = await session.fetchArrow(`SHOW TBLPROPERTIES ${table}`, signal ? { signal } : {});
    for (const row of properties.toArray() as { key?: string; value?: string }[]) {
      if (row.key === 'delta.enableChangeDataFeed') return String(row.value).toLowerCase() === 'true';
    }
    return false;
  } catch (error) {
    if (signal?.aborted) throw error;
    // A view has no table properties: no change feed.
    return false;
  }
}
