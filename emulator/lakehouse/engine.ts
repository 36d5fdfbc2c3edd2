// The local lakehouse: Unity Catalog catalogs, schemas and Delta tables on the emulator's own
// PostgreSQL server (a private one, `createPrivateServer`), queried in Databricks SQL.
//
// Why PostgreSQL and not DuckDB (both were candidates; both load here): Delta's change data feed
// must list exactly the rows each INSERT, UPDATE, DELETE and MERGE touched, with pre- and
// post-images. PostgreSQL's statement-level triggers with transition tables hand over exactly
// those rows, for MERGE too, without the engine parsing or rewriting the user's DML; DuckDB has
// no triggers and its RETURNING has no old values, so the engine would have to rewrite every DML
// statement or diff whole tables. PostgreSQL is also what the emulator already runs and knows how
// to start, stop, cancel and keep across restarts, and the benchmarks' baselines (the same rows
// through `pg`, `psql \copy`) read the very same tables. What it costs: Databricks' STRUCT and MAP
// types become composite types (see types.ts), and `s.field` needs its table qualifier (`t.s.field`).
//
// Other modules of the emulator use it through `Lakehouse` (the warehouse's Thrift endpoint and
// the Statement Execution API run SQL in sessions; the UC routes read and change the catalog;
// reverse ETL reads tables at versions, changes between versions, and hears of commits).
import { EventEmitter } from 'node:events';
import { finished } from 'node:stream/promises';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type * as arrow from 'apache-arrow';
import { createPrivateServer } from '../postgres/index';
import type { PrivateServer } from '../postgres/index';
import type { ResultColumn } from './arrow';
import { copyToBatches, rowsToBatch } from './arrow';
import type { CatalogRecord, ColumnInfo, CommitRecord, SchemaRecord, TableRecord } from './catalog';
import {
  catalogFromRow,
  cdfEnabled,
  columnsJson,
  CompositeTypeRegistry,
  createTableObjects,
  createViewAndTriggers,
  dataTable,
  DEFAULT_CATALOG,
  DEFAULT_SCHEMA,
  firstUnrecordedVersion,
  historyTable,
  pgSchemaName,
  schemaFromRow,
  SETUP_SQL,
  TABLE_SELECT,
  tableFromRow,
} from './catalog';
import { fromPostgres, LakehouseError, lakehouseErrors } from './errors';
import type { Token } from './lexer';
import { LexError, significant, tokenize } from './lexer';
import type { ChangeBound, ParameterValues, TableInfo, TranslationContext } from './translate';
import { matchingParen, NO_PARAMETERS, parameterLiteral, splitArguments, translateTokens } from './translate';
import type { SqlType } from './types';
import { parseType, PG_OIDS, pgType, quoteIdentifier, quoteLiteral, typeOfPgColumn, typeText } from './types';

export type { ResultColumn } from './arrow';
export type { CatalogRecord, CommitRecord, SchemaRecord, TableRecord } from './catalog';
export { DEFAULT_CATALOG, DEFAULT_SCHEMA } from './catalog';

/** The PostgreSQL database that holds the lakehouse. */
const DATABASE = 'lakehouse';
/** Rows per Arrow record batch, and bytes (estimated from the COPY data). */
const BATCH_ROWS = 100_000;
const BATCH_BYTES = 16 * 1024 * 1024;

export interface LakehouseOptions {
  /** The lakehouse's directory (its PostgreSQL data inside). */
  dataDir: string;
  /** Where the instances' ready-made data directory is, to start faster; false runs initdb. */
  templateDir?: string | false;
  log?: (line: string) => void;
}

/** A committed write, as `onCommit` listeners hear of it. */
export interface CommitEvent {
  /** `catalog.schema.table`. */
  table: string;
  version: number;
  operation: string;
  timestamp: Date;
}

/** Parameters of a statement: by name (`:name`) or by position (`?`), as text with a Databricks type. */
export interface StatementParameter {
  name?: string;
  type?: string;
  /** null is SQL NULL. */
  value: string | null;
}

export interface ExecuteOptions {
  parameters?: readonly StatementParameter[];
}

/** What a statement produced. `batches` streams; read it to the end (or `close` it) before the next statement. */
export interface StatementResult {
  /** Empty when the statement returns no rows. */
  columns: ResultColumn[];
  batches: AsyncIterable<arrow.RecordBatch>;
  /** Rows inserted, updated or deleted, for writes. */
  modifiedRows?: number;
  /** Settles when the rows have all been read or the result was closed. */
  done?: Promise<void>;
  /** Abandons the rows not read yet: the query stops on the server. */
  close?: () => Promise<void>;
}

/** A table as other parts of the emulator see it. */
export interface TableDescription {
  fullName: string;
  catalog: string;
  schema: string;
  name: string;
  columns: { name: string; type: string; nullable: boolean; comment: string | null }[];
  properties: Record<string, string>;
  version: number;
  changeDataFeed: boolean;
  createdAt: Date;
  owner: string;
  uid: string;
  comment: string | null;
}

export interface TableRead {
  /** The version read. */
  version: number;
  columns: ResultColumn[];
  batches: AsyncIterable<arrow.RecordBatch>;
}

export class Lakehouse {
  readonly #server: PrivateServer;
  readonly #log: (line: string) => void;
  #pool: pg.Pool | undefined;
  #types: CompositeTypeRegistry | undefined;
  readonly #catalogs = new Map<string, CatalogRecord>();
  readonly #schemas = new Map<string, SchemaRecord>();
  readonly #tables = new Map<string, TableRecord>();
  /** Data and history table OIDs → the table, to type result columns read from them. */
  readonly #byOid = new Map<number, { table: TableRecord; firstColumn: number }>();
  readonly #commits = new EventEmitter();
  readonly #sessions = new Set<LakehouseSession>();

  private constructor(options: LakehouseOptions) {
    this.#log = options.log ?? (() => {});
    this.#server = createPrivateServer({ dataDir: options.dataDir, name: 'lakehouse', templateDir: options.templateDir, log: this.#log });
  }

  /** Starts the engine (first time: creates the database, `main` and `main.default`). */
  static async start(options: LakehouseOptions): Promise<Lakehouse> {
    const lakehouse = new Lakehouse(options);
    try {
      await lakehouse.#start();
    } catch (error) {
      // A server that started and then failed its setup is stopped, not left running unowned.
      await lakehouse.stop().catch(() => undefined);
      throw error;
    }
    return lakehouse;
  }

  async #start(): Promise<void> {
    await this.#server.start();
    if (!(await this.#server.databaseExists(DATABASE))) await this.#server.createDatabase(DATABASE);
    this.#pool = new pg.Pool({ ...this.#server.socketConfig(DATABASE), max: 8 });
    this.#pool.on('error', (error) => this.#log(`lakehouse: idle connection failed: ${error.message}`));
    const client = await this.#pool.connect();
    try {
      await client.query(SETUP_SQL);
      this.#types = new CompositeTypeRegistry(this.#pool);
      await this.#types.load();
      await client.query(`INSERT INTO _lakehouse.catalogs (name, owner, comment) VALUES ($1, 'System user', 'Main catalog (auto-created)') ON CONFLICT DO NOTHING`, [DEFAULT_CATALOG]);
      await this.#ensurePgSchema(client, DEFAULT_CATALOG, DEFAULT_SCHEMA, 'System user', 'Default schema (auto-created)');
    } finally {
      client.release();
    }
    await this.#reload();
  }

  async stop(): Promise<void> {
    for (const session of [...this.#sessions]) await session.close().catch(() => undefined);
    await this.#pool?.end();
    this.#pool = undefined;
    await this.#server.stop();
  }

  get #sql(): pg.Pool {
    if (this.#pool === undefined) throw new Error('The lakehouse is not running.');
    return this.#pool;
  }

  get types(): CompositeTypeRegistry {
    if (this.#types === undefined) throw new Error('The lakehouse is not running.');
    return this.#types;
  }

  async #reload(): Promise<void> {
    const [catalogs, schemas, tables] = await Promise.all([
      this.#sql.query('SELECT * FROM _lakehouse.catalogs'),
      this.#sql.query('SELECT * FROM _lakehouse.schemas'),
      this.#sql.query(`${TABLE_SELECT}`),
    ]);
    this.#catalogs.clear();
    this.#schemas.clear();
    this.#tables.clear();
    this.#byOid.clear();
    for (const row of catalogs.rows) this.#catalogs.set(row.name, catalogFromRow(row));
    for (const row of schemas.rows) this.#schemas.set(`${row.catalog}.${row.name}`, schemaFromRow(row));
    for (const row of tables.rows) this.#remember(tableFromRow(row), row.history_oid);
  }

  #remember(table: TableRecord, historyOid: number): void {
    for (const [key, existing] of this.#tables) if (existing.id === table.id) this.#tables.delete(key);
    this.#tables.set(`${table.catalog}.${table.schema}.${table.name}`, table);
    this.#byOid.set(table.dataOid, { table, firstColumn: 2 });
    this.#byOid.set(historyOid, { table, firstColumn: 6 });
  }

  async #refreshTable(id: number): Promise<TableRecord | undefined> {
    const { rows } = await this.#sql.query(`${TABLE_SELECT} WHERE t.id = $1`, [id]);
    if (rows.length === 0) {
      for (const [key, existing] of this.#tables) if (existing.id === id) this.#tables.delete(key);
      return undefined;
    }
    const table = tableFromRow(rows[0]);
    this.#remember(table, rows[0].history_oid);
    return table;
  }

  // ---- sessions ---------------------------------------------------------------------------------

  /** A session: its own connection, its current catalog and schema (USE), statements in order. */
  async openSession(options: { user: string; catalog?: string; schema?: string }): Promise<LakehouseSession> {
    const client = new pg.Client(this.#server.socketConfig(DATABASE));
    client.on('error', (error) => this.#log(`lakehouse session: ${error.message}`));
    await client.connect();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await client.query("SET TimeZone = 'UTC'");
    const catalog = options.catalog ?? DEFAULT_CATALOG;
    const schema = options.schema ?? DEFAULT_SCHEMA;
    if (!this.#catalogs.has(catalog)) throw lakehouseErrors.catalogNotFound(catalog);
    if (!this.#schemas.has(`${catalog}.${schema}`)) throw lakehouseErrors.schemaNotFound([catalog, schema]);
    const session = new LakehouseSession(this, client, rows[0].pid, options.user, catalog, schema);
    this.#sessions.add(session);
    return session;
  }

  /** @internal */
  forget(session: LakehouseSession): void {
    this.#sessions.delete(session);
  }

  /** @internal Cancels what the backend `pid` runs (`pg_cancel_backend`). */
  async cancelBackend(pid: number): Promise<void> {
    await this.#sql.query('SELECT pg_cancel_backend($1)', [pid]);
  }

  // ---- catalog ----------------------------------------------------------------------------------

  listCatalogs(): CatalogRecord[] {
    return [...this.#catalogs.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  getCatalog(name: string): CatalogRecord {
    const catalog = this.#catalogs.get(name.toLowerCase());
    if (catalog === undefined) throw lakehouseErrors.catalogNotFound(name);
    return catalog;
  }

  async createCatalog(name: string, owner: string, options: { comment?: string | null; ifNotExists?: boolean } = {}): Promise<CatalogRecord> {
    const key = checkName(name, 'catalog');
    if (this.#catalogs.has(key)) {
      if (options.ifNotExists) return this.#catalogs.get(key)!;
      throw lakehouseErrors.catalogExists(key);
    }
    const client = await this.#sql.connect();
    try {
      await client.query('BEGIN');
      await client.query('INSERT INTO _lakehouse.catalogs (name, owner, comment) VALUES ($1, $2, $3)', [key, owner, options.comment ?? null]);
      // A new catalog has a `default` schema, as in Unity Catalog.
      await this.#ensurePgSchema(client, key, DEFAULT_SCHEMA, owner, 'Default schema (auto-created)');
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw fromPostgres(error);
    } finally {
      client.release();
    }
    await this.#reload();
    return this.getCatalog(key);
  }

  async deleteCatalog(name: string, options: { force?: boolean; ifExists?: boolean } = {}): Promise<void> {
    const key = name.toLowerCase();
    if (!this.#catalogs.has(key)) {
      if (options.ifExists) return;
      throw lakehouseErrors.catalogNotFound(name);
    }
    const schemas = this.listSchemas(key);
    const hasTables = [...this.#tables.values()].some((table) => table.catalog === key);
    const nonDefault = schemas.filter((schema) => schema.name !== DEFAULT_SCHEMA);
    if (!options.force && (hasTables || nonDefault.length > 0)) {
      throw new LakehouseError('SCHEMA_NOT_EMPTY', `Cannot drop catalog \`${key}\` because it is not empty.`, { hint: 'Use DROP CATALOG ... CASCADE (or force=true in the API).' });
    }
    for (const schema of schemas) await this.#dropSchemaObjects(key, schema.name);
    await this.#sql.query('DELETE FROM _lakehouse.catalogs WHERE name = $1', [key]);
    await this.#reload();
  }

  listSchemas(catalog: string): SchemaRecord[] {
    const key = catalog.toLowerCase();
    if (!this.#catalogs.has(key)) throw lakehouseErrors.catalogNotFound(catalog);
    return [...this.#schemas.values()].filter((schema) => schema.catalog === key).sort((a, b) => a.name.localeCompare(b.name));
  }

  getSchema(catalog: string, name: string): SchemaRecord {
    const schema = this.#schemas.get(`${catalog.toLowerCase()}.${name.toLowerCase()}`);
    if (schema === undefined) {
      this.getCatalog(catalog);
      throw lakehouseErrors.schemaNotFound([catalog.toLowerCase(), name.toLowerCase()]);
    }
    return schema;
  }

  async createSchema(catalog: string, name: string, owner: string, options: { comment?: string | null; ifNotExists?: boolean } = {}): Promise<SchemaRecord> {
    const catalogKey = this.getCatalog(catalog).name;
    const key = checkName(name, 'schema');
    if (this.#schemas.has(`${catalogKey}.${key}`)) {
      if (options.ifNotExists) return this.#schemas.get(`${catalogKey}.${key}`)!;
      throw lakehouseErrors.schemaExists([catalogKey, key]);
    }
    const client = await this.#sql.connect();
    try {
      await this.#ensurePgSchema(client, catalogKey, key, owner, options.comment ?? null);
    } finally {
      client.release();
    }
    await this.#reload();
    return this.getSchema(catalogKey, key);
  }

  async deleteSchema(catalog: string, name: string, options: { cascade?: boolean; ifExists?: boolean } = {}): Promise<void> {
    const catalogKey = catalog.toLowerCase();
    const key = name.toLowerCase();
    if (!this.#schemas.has(`${catalogKey}.${key}`)) {
      if (options.ifExists) return;
      this.getCatalog(catalog);
      throw lakehouseErrors.schemaNotFound([catalogKey, key]);
    }
    const tables = [...this.#tables.values()].filter((table) => table.catalog === catalogKey && table.schema === key);
    if (tables.length > 0 && !options.cascade) throw lakehouseErrors.schemaNotEmpty([catalogKey, key]);
    await this.#dropSchemaObjects(catalogKey, key);
    await this.#sql.query('DELETE FROM _lakehouse.schemas WHERE catalog = $1 AND name = $2', [catalogKey, key]);
    await this.#reload();
  }

  async #dropSchemaObjects(catalog: string, schema: string): Promise<void> {
    for (const table of [...this.#tables.values()].filter((candidate) => candidate.catalog === catalog && candidate.schema === schema)) {
      await this.#dropTableObjects(this.#sql, table);
    }
    await this.#sql.query(`DROP SCHEMA IF EXISTS ${pgSchemaName(catalog, schema)} CASCADE`);
  }

  async #ensurePgSchema(sql: pg.ClientBase, catalog: string, schema: string, owner: string, comment: string | null): Promise<void> {
    await sql.query(`CREATE SCHEMA IF NOT EXISTS ${pgSchemaName(catalog, schema)}`);
    await sql.query('INSERT INTO _lakehouse.schemas (catalog, name, owner, comment) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [catalog, schema, owner, comment]);
  }

  listTables(catalog: string, schema: string): TableRecord[] {
    this.getSchema(catalog, schema);
    return [...this.#tables.values()].filter((table) => table.catalog === catalog.toLowerCase() && table.schema === schema.toLowerCase()).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** A table by its three-part name, or undefined. */
  findTable(catalog: string, schema: string, name: string): TableRecord | undefined {
    return this.#tables.get(`${catalog.toLowerCase()}.${schema.toLowerCase()}.${name.toLowerCase()}`);
  }

  /** A table by `catalog.schema.table`; TABLE_OR_VIEW_NOT_FOUND when missing. */
  table(fullName: string): TableRecord {
    const parts = splitFullName(fullName);
    const table = this.findTable(parts[0], parts[1], parts[2]);
    if (table === undefined) throw lakehouseErrors.tableNotFound(parts);
    return table;
  }

  describeTable(fullName: string): TableDescription {
    const table = this.table(fullName);
    return {
      fullName: `${table.catalog}.${table.schema}.${table.name}`,
      catalog: table.catalog,
      schema: table.schema,
      name: table.name,
      columns: table.columns.map((column) => ({ name: column.name, type: typeText(column.type), nullable: column.nullable, comment: column.comment })),
      properties: { ...table.properties },
      version: table.version,
      changeDataFeed: cdfEnabled(table.properties),
      createdAt: table.createdAt,
      owner: table.owner,
      uid: table.uid,
      comment: table.comment,
    };
  }

  /** Creates a Delta table (version 0), optionally filled by `fill` (CTAS) in the same commit. */
  async createTable(
    request: { catalog: string; schema: string; name: string; columns: ColumnInfo[]; properties?: Record<string, string>; comment?: string | null; owner: string; operation?: string; ifNotExists?: boolean },
    fill?: (client: pg.ClientBase, view: string) => Promise<number>,
  ): Promise<TableRecord> {
    const catalog = request.catalog.toLowerCase();
    const schema = request.schema.toLowerCase();
    const name = checkName(request.name, 'table');
    this.getSchema(catalog, schema);
    const existing = this.findTable(catalog, schema, name);
    if (existing !== undefined) {
      if (request.ifNotExists) return existing;
      throw lakehouseErrors.tableExists([catalog, schema, name]);
    }
    const seen = new Set<string>();
    for (const column of request.columns) {
      if (seen.has(column.name)) throw new LakehouseError('DATATYPE_MISMATCH', `Found duplicate column(s) in the table definition: \`${column.name}\`.`, { sqlState: '42711' });
      seen.add(column.name);
    }
    const properties = normalizeProperties(request.properties ?? {});
    const client = await this.#sql.connect();
    let id: number;
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO _lakehouse.tables (catalog, schema, name, columns, properties, comment, owner, cdf_periods) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
        [catalog, schema, name, columnsJson(request.columns), JSON.stringify(properties), request.comment ?? null, request.owner, JSON.stringify(cdfEnabled(properties) ? [{ from: 0, to: null }] : [])],
      );
      id = Number(rows[0].id);
      await createTableObjects(client, { id, catalog, schema, name, columns: request.columns }, this.types);
      await client.query("SELECT set_config('lakehouse.version', '0', true)");
      const written = fill ? await fill(client, `${pgSchemaName(catalog, schema)}.${quoteIdentifier(name)}`) : 0;
      const operation = request.operation ?? 'CREATE TABLE';
      await client.query(
        `INSERT INTO _lakehouse.commits (table_id, version, timestamp, user_name, operation, parameters, metrics, is_blind_append) VALUES ($1, 0, clock_timestamp(), $2, $3, $4, $5, true)`,
        [id, request.owner, operation, JSON.stringify({ isManaged: 'true', description: request.comment ?? null, partitionBy: '[]', properties: JSON.stringify(properties) }), JSON.stringify(fill ? { numFiles: '1', numOutputRows: String(written) } : {})],
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw fromPostgres(error);
    } finally {
      client.release();
    }
    const table = (await this.#refreshTable(id))!;
    this.#announce(table, 0, request.operation ?? 'CREATE TABLE');
    return table;
  }

  async deleteTable(fullName: string, options: { ifExists?: boolean } = {}): Promise<void> {
    const parts = splitFullName(fullName);
    const table = this.findTable(parts[0], parts[1], parts[2]);
    if (table === undefined) {
      if (options.ifExists) return;
      throw lakehouseErrors.tableNotFound(parts);
    }
    await this.#dropTableObjects(this.#sql, table);
    await this.#sql.query('DELETE FROM _lakehouse.tables WHERE id = $1', [table.id]);
    await this.#refreshTable(table.id);
  }

  async #dropTableObjects(sql: pg.Pool | pg.ClientBase, table: TableRecord): Promise<void> {
    await sql.query(`DROP VIEW IF EXISTS ${pgSchemaName(table.catalog, table.schema)}.${quoteIdentifier(table.name)}`);
    await sql.query(`DROP TABLE IF EXISTS ${dataTable(table.id)}, ${historyTable(table.id)}`);
    for (const suffix of ['on_insert', 'on_update', 'on_delete']) await sql.query(`DROP FUNCTION IF EXISTS _lakehouse_data."t${table.id}_${suffix}"()`);
  }

  // ---- versions ---------------------------------------------------------------------------------

  /**
   * Runs `work` as one commit on `table`: the next version is set for the history triggers, the
   * commit is logged with its metrics, and listeners hear of it. Writers of one table queue on its
   * catalog row.
   */
  async commit<T>(
    client: pg.ClientBase,
    table: TableRecord,
    user: string,
    operation: string,
    parameters: Record<string, string>,
    work: () => Promise<T>,
    options: { metadataOnly?: (version: number) => Promise<void> } = {},
  ): Promise<{ value: T; version: number; metrics: Record<string, number> }> {
    await client.query('BEGIN');
    let version: number;
    let value: T;
    let metrics: Record<string, number>;
    try {
      const { rows } = await client.query<{ version: string }>('SELECT version FROM _lakehouse.tables WHERE id = $1 FOR UPDATE', [table.id]);
      if (rows.length === 0) throw lakehouseErrors.tableNotFound([table.catalog, table.schema, table.name]);
      const readVersion = Number(rows[0].version);
      version = readVersion + 1;
      await client.query("SELECT set_config('lakehouse.version', $1, true)", [String(version)]);
      value = await work();
      await options.metadataOnly?.(version);
      const counts = await client.query<{ inserted: string; updated: string; deleted: string }>(
        `SELECT count(*) FILTER (WHERE _from = $1 AND _from_kind = 'i') AS inserted,
                count(*) FILTER (WHERE _from = $1 AND _from_kind = 'u') AS updated,
                count(*) FILTER (WHERE _to = $1 AND _to_kind = 'd') AS deleted
           FROM ${historyTable(table.id)} WHERE _from = $1 OR _to = $1`,
        [version],
      );
      metrics = { inserted: Number(counts.rows[0].inserted), updated: Number(counts.rows[0].updated), deleted: Number(counts.rows[0].deleted) };
      await client.query(
        `INSERT INTO _lakehouse.commits (table_id, version, timestamp, user_name, operation, parameters, metrics, read_version, is_blind_append)
         VALUES ($1, $2, clock_timestamp(), $3, $4, $5, $6, $7, $8)`,
        [table.id, version, user, operation, JSON.stringify(parameters), JSON.stringify(operationMetrics(operation, metrics)), readVersion, operation === 'WRITE' && metrics.updated === 0 && metrics.deleted === 0],
      );
      await client.query('UPDATE _lakehouse.tables SET version = $2 WHERE id = $1', [table.id, version]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw fromPostgres(error);
    }
    const refreshed = await this.#refreshTable(table.id);
    if (refreshed) this.#announce(refreshed, version, operation);
    return { value, version, metrics };
  }

  #announce(table: TableRecord, version: number, operation: string): void {
    const event: CommitEvent = { table: `${table.catalog}.${table.schema}.${table.name}`, version, operation, timestamp: new Date() };
    this.#commits.emit('commit', event);
  }

  /** Calls `listener` after every committed write of any table; returns the function that stops it. */
  onCommit(listener: (commit: CommitEvent) => void): () => void {
    const safe = (commit: CommitEvent) => {
      try {
        listener(commit);
      } catch (error) {
        this.#log(`lakehouse: a commit listener failed: ${(error as Error).message}`);
      }
    };
    this.#commits.on('commit', safe);
    return () => this.#commits.off('commit', safe);
  }

  async history(fullName: string, limit?: number): Promise<CommitRecord[]> {
    const table = this.table(fullName);
    const { rows } = await this.#sql.query(
      `SELECT version, timestamp, user_name, operation, parameters, metrics, read_version, is_blind_append FROM _lakehouse.commits WHERE table_id = $1 ORDER BY version DESC${limit ? ` LIMIT ${Math.floor(limit)}` : ''}`,
      [table.id],
    );
    return rows.map((row) => ({
      version: Number(row.version),
      timestamp: row.timestamp,
      userName: row.user_name,
      operation: row.operation,
      parameters: row.parameters,
      metrics: row.metrics,
      readVersion: row.read_version === null ? null : Number(row.read_version),
      isBlindAppend: row.is_blind_append,
    }));
  }

  /** Reads a table as of a version (default: the latest), as Arrow batches. */
  async readTable(fullName: string, options: { version?: number } = {}): Promise<TableRead> {
    const table = this.table(fullName);
    const version = options.version ?? table.version;
    const result = await this.#readWith(`SELECT * FROM ${fullNameSql(table)} VERSION AS OF ${version}`);
    return { version, ...result };
  }

  /** The change data feed between two versions (inclusive; default end: the latest), as `table_changes` returns it. */
  async readChanges(fullName: string, startVersion: number, endVersion?: number): Promise<TableRead> {
    const table = this.table(fullName);
    const end = endVersion ?? table.version;
    const result = await this.#readWith(`SELECT * FROM table_changes(${quoteLiteral(`${table.catalog}.${table.schema}.${table.name}`)}, ${startVersion}, ${end}) ORDER BY _commit_version`);
    return { version: end, ...result };
  }

  async #readWith(sql: string): Promise<Omit<TableRead, 'version'>> {
    const session = await this.openSession({ user: 'System user' });
    let result: StatementResult;
    try {
      result = await session.execute(sql);
    } catch (error) {
      await session.close();
      throw error;
    }
    const batches = result.batches;
    return {
      columns: result.columns,
      batches: (async function* () {
        try {
          yield* batches;
        } finally {
          await session.close();
        }
      })(),
    };
  }

  // ---- for the translator -----------------------------------------------------------------------

  /** @internal */
  tableInfo(table: TableRecord): TableInfo {
    return { id: table.id, catalog: table.catalog, schema: table.schema, name: table.name, columns: table.columns };
  }

  /** @internal */
  resultColumn(field: pg.FieldDef): ResultColumn {
    const source = this.#byOid.get(field.tableID);
    if (source !== undefined && field.columnID >= source.firstColumn) {
      const column = source.table.columns[field.columnID - source.firstColumn];
      if (column !== undefined && column.name === field.name) return { name: column.name, type: column.type, nullable: column.nullable };
      if (column !== undefined) return { name: field.name, type: column.type, nullable: true };
    }
    return { name: field.name, type: typeOfPgColumn(field.dataTypeID, field.dataTypeModifier, (oid) => this.types.byOid.get(oid)), nullable: true };
  }

  /** @internal */
  async versionAt(sql: pg.ClientBase, table: TableRecord, timestampSql: string): Promise<number> {
    const { rows } = await sql.query<{ version: string | null; latest: Date; earliest: Date; wanted: Date }>(
      `SELECT (SELECT max(version) FROM _lakehouse.commits WHERE table_id = $1 AND timestamp <= w.t) AS version,
              (SELECT max(timestamp) FROM _lakehouse.commits WHERE table_id = $1) AS latest,
              (SELECT min(timestamp) FROM _lakehouse.commits WHERE table_id = $1) AS earliest, w.t AS wanted
         FROM (SELECT (${timestampSql})::timestamptz AS t) w`,
      [table.id],
    );
    const row = rows[0];
    if (row.wanted > row.latest) {
      throw new LakehouseError(
        'DELTA_TIMESTAMP_GREATER_THAN_COMMIT',
        `The provided timestamp (${row.wanted.toISOString()}) is after the latest version available to this table (${fullNameText(table)}). Please use a timestamp before or at ${row.latest.toISOString()}.`,
      );
    }
    if (row.version === null) {
      throw new LakehouseError(
        'DELTA_TIMESTAMP_EARLIER_THAN_COMMIT_RETENTION',
        `The provided timestamp (${row.wanted.toISOString()}) is before the earliest version available to this table (${fullNameText(table)}). Please use a timestamp after ${row.earliest.toISOString()}.`,
      );
    }
    return Number(row.version);
  }

  /** @internal */
  checkVersion(table: TableRecord, version: number): void {
    if (!Number.isInteger(version) || version < 0 || version > table.version) {
      throw new LakehouseError('DELTA_VERSION_NOT_FOUND', `Cannot time travel Delta table to version ${version}. Available versions: [0, ${table.version}].`);
    }
  }

  /** @internal The SQL of `table_changes`, after checking the range and that the feed recorded it. */
  async changesSql(sql: pg.ClientBase, table: TableRecord, startBound: ChangeBound, endBound: ChangeBound | undefined): Promise<string> {
    const latest = table.version;
    const resolve = async (bound: ChangeBound, side: 'start' | 'end'): Promise<number> => {
      if ('version' in bound) return bound.version;
      const { rows } = await sql.query<{ version: string | null }>(
        side === 'start'
          ? 'SELECT min(version) AS version FROM _lakehouse.commits WHERE table_id = $1 AND timestamp >= ($2)::timestamptz'
          : 'SELECT max(version) AS version FROM _lakehouse.commits WHERE table_id = $1 AND timestamp <= ($2)::timestamptz',
        [table.id, await sql.query<{ t: Date }>(`SELECT (${bound.timestampSql})::timestamptz AS t`).then((r) => r.rows[0].t)],
      );
      if (rows[0].version === null) {
        if (side === 'start') throw new LakehouseError('DELTA_TIMESTAMP_GREATER_THAN_COMMIT', `The provided timestamp is after the latest version available to this table (${fullNameText(table)}).`);
        return -1;
      }
      return Number(rows[0].version);
    };
    const start = await resolve(startBound, 'start');
    const end = endBound === undefined ? latest : Math.min(await resolve(endBound, 'end'), latest);
    if (start < 0) throw new LakehouseError('DELTA_INVALID_CDC_RANGE', `CDC range from start ${start} to end ${end} was invalid. Start cannot be negative.`);
    if (start > latest) {
      throw new LakehouseError('DELTA_CDC_START_VERSION_AFTER_LATEST', `Provided start version (${start}) for reading change data is after the latest version of the table (${latest}).`, {
        hint: `Use a start version between 0 and ${latest}.`,
      });
    }
    if (end < start) throw new LakehouseError('DELTA_INVALID_CDC_RANGE', `CDC range from start ${start} to end ${end} was invalid. End cannot be before start.`);
    const missing = firstUnrecordedVersion(table, start, end);
    if (missing !== undefined) {
      throw new LakehouseError(
        'DELTA_MISSING_CHANGE_DATA',
        `Error getting change data for range [${start} , ${end}] as change data was not recorded for version [${missing}]. If you've enabled change data feed on this table, use \`DESCRIBE HISTORY\` to see when it was first enabled. Otherwise, to start recording change data, use \`ALTER TABLE table_name SET TBLPROPERTIES (delta.enableChangeDataFeed=true)\`.`,
      );
    }
    const columns = table.columns.map((column) => `h.${quoteIdentifier(column.name)}`).join(', ');
    return `SELECT ${columns}${columns ? ', ' : ''}x._change_type, x._commit_version, c.timestamp AS _commit_timestamp
      FROM ${historyTable(table.id)} h
      CROSS JOIN LATERAL (VALUES (CASE h._from_kind WHEN 'i' THEN 'insert' ELSE 'update_postimage' END, h._from),
                                 (CASE h._to_kind WHEN 'u' THEN 'update_preimage' ELSE 'delete' END, h._to)) AS x(_change_type, _commit_version)
      JOIN _lakehouse.commits c ON c.table_id = ${table.id} AND c.version = x._commit_version
     WHERE x._commit_version BETWEEN ${start} AND ${end}
       AND (h._from BETWEEN ${start} AND ${end} OR h._to BETWEEN ${start} AND ${end})`;
  }

  /** @internal After ALTER TABLE: columns, properties and the change data feed periods. */
  async alterTable(client: pg.ClientBase, table: TableRecord, version: number, change: { properties?: Record<string, string>; addColumns?: ColumnInfo[] }): Promise<void> {
    if (change.addColumns && change.addColumns.length > 0) {
      for (const column of change.addColumns) {
        if (table.columns.some((existing) => existing.name === column.name)) {
          throw new LakehouseError('DATATYPE_MISMATCH', `Cannot add column \`${column.name}\`: it already exists.`, { sqlState: '42711' });
        }
        const type = await pgType(column.type, this.types);
        await client.query(`ALTER TABLE ${dataTable(table.id)} ADD COLUMN ${quoteIdentifier(column.name)} ${type}`);
        await client.query(`ALTER TABLE ${historyTable(table.id)} ADD COLUMN ${quoteIdentifier(column.name)} ${type}`);
      }
      const columns = [...table.columns, ...change.addColumns];
      await client.query('UPDATE _lakehouse.tables SET columns = $2 WHERE id = $1', [table.id, columnsJson(columns)]);
      await createViewAndTriggers(client, { ...table, columns });
    }
    if (change.properties) {
      const properties = normalizeProperties(change.properties);
      const before = cdfEnabled(table.properties);
      const after = cdfEnabled(properties);
      const periods = table.cdfPeriods.map((period) => ({ ...period }));
      // The commit that turns the feed on is the first version it covers.
      if (!before && after) periods.push({ from: version, to: null });
      if (before && !after) for (const period of periods) if (period.to === null) period.to = version;
      await client.query('UPDATE _lakehouse.tables SET properties = $2, cdf_periods = $3 WHERE id = $1', [table.id, JSON.stringify(properties), JSON.stringify(periods)]);
    }
  }

  /** @internal */
  translationContext(sql: pg.ClientBase, session: { catalog: string; schema: string; user: string }, parameters: ParameterValues): TranslationContext {
    const record = (info: TableInfo) => this.findTable(info.catalog, info.schema, info.name)!;
    return {
      catalog: session.catalog,
      schema: session.schema,
      user: session.user,
      parameters,
      types: this.types,
      findTable: (catalog, schema, name) => {
        const table = this.findTable(catalog, schema, name);
        return table === undefined ? undefined : this.tableInfo(table);
      },
      schemaExists: (catalog, schema) => this.#schemas.has(`${catalog}.${schema}`),
      versionAt: (info, timestampSql) => this.versionAt(sql, record(info), timestampSql),
      checkVersion: (info, version) => this.checkVersion(record(info), version),
      changesSql: (info, start, end) => this.changesSql(sql, record(info), start, end),
    };
  }
}

function splitFullName(fullName: string): [string, string, string] {
  const parts = fullName.split('.').map((part) => part.replace(/^`|`$/g, '').toLowerCase());
  if (parts.length !== 3 || parts.some((part) => part === '')) {
    throw new LakehouseError('INVALID_PARAMETER_VALUE', `Invalid table name '${fullName}': use the full three-part name catalog.schema.table.`);
  }
  return [parts[0], parts[1], parts[2]];
}

function fullNameSql(table: TableRecord): string {
  return [table.catalog, table.schema, table.name].map((part) => `\`${part.replace(/`/g, '``')}\``).join('.');
}

function fullNameText(table: TableRecord): string {
  return `${table.catalog}.${table.schema}.${table.name}`;
}

/** UC names: letters, digits and underscores (and more when quoted), stored lower-case; at most 255 characters. */
function checkName(name: string, what: string): string {
  const key = name.toLowerCase();
  // PostgreSQL names its schemas "catalog.schema" in at most 63 bytes, a limit of the emulator.
  if (key.length === 0 || Buffer.byteLength(key) > 60 || /[.\s/\x00-\x1f]/.test(key)) {
    throw new LakehouseError('INVALID_PARAMETER_VALUE', `Invalid ${what} name '${name}': use letters, digits and underscores, at most 60 bytes in the local lakehouse.`);
  }
  return key;
}

/** Property keys as given, except the Delta ones, which Databricks treats case-insensitively. */
function normalizeProperties(properties: Record<string, string>): Record<string, string> {
  const normalized: Record<string, string> = {};
  for (const [key, value] of Object.entries(properties)) {
    const canonical = key.toLowerCase() === 'delta.enablechangedatafeed' ? 'delta.enableChangeDataFeed' : key;
    normalized[canonical] = String(value);
  }
  return normalized;
}

function operationMetrics(operation: string, counts: Record<string, number>): Record<string, string> {
  switch (operation) {
    case 'WRITE':
      return { numFiles: '1', numOutputRows: String(counts.inserted), numOutputBytes: '0' };
    case 'UPDATE':
      return { numUpdatedRows: String(counts.updated), numCopiedRows: '0', numAddedFiles: '1', numRemovedFiles: '1' };
    case 'DELETE':
      return { numDeletedRows: String(counts.deleted), numAddedFiles: '0', numRemovedFiles: '1', numCopiedRows: '0' };
    case 'MERGE':
      return {
        numTargetRowsInserted: String(counts.inserted),
        numTargetRowsUpdated: String(counts.updated),
        numTargetRowsDeleted: String(counts.deleted),
        numOutputRows: String(counts.inserted + counts.updated),
      };
    default:
      return {};
  }
}

// -----------------------------------------------------------------------------------------------

/**
 * One SQL session on the lakehouse: its own PostgreSQL connection, its current catalog and schema,
 * statements one at a time. A statement's result must be read to the end (or the session's
 * `cancel` called) before the next one runs.
 */
export class LakehouseSession {
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(
    private readonly lakehouse: Lakehouse,
    private readonly client: pg.Client,
    private readonly pid: number,
    readonly user: string,
    public catalog: string,
    public schema: string,
  ) {}

  /** Runs one statement; the result streams. */
  execute(sql: string, options: ExecuteOptions = {}): Promise<StatementResult> {
    const turn = this.#queue.then(() => this.#execute(sql, options));
    // The next statement waits until this one's rows have all been read.
    this.#queue = turn.then(
      (result) => (result.done ?? Promise.resolve()).catch(() => undefined),
      () => undefined,
    );
    return turn;
  }

  /** Cancels what runs now (PostgreSQL's pg_cancel_backend on this session's backend). */
  async cancel(): Promise<void> {
    await this.lakehouse.cancelBackend(this.pid);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.lakehouse.forget(this);
    await this.client.end().catch(() => undefined);
  }

  async #execute(sql: string, options: ExecuteOptions): Promise<StatementResult> {
    if (this.#closed) throw new LakehouseError('INVALID_PARAMETER_VALUE', 'The session is closed.');
    let tokens: Token[];
    try {
      tokens = significant(tokenize(sql));
    } catch (error) {
      if (error instanceof LexError) throw lakehouseErrors.syntax(`position ${error.position}`, error.message);
      throw error;
    }
    while (tokens.length > 0 && tokens[tokens.length - 1].value === ';') tokens.pop();
    if (tokens.some((token) => token.kind === 'operator' && token.value === ';')) {
      throw lakehouseErrors.syntax("';'", 'run one statement at a time.');
    }
    if (tokens.length === 0) throw lakehouseErrors.syntax('end of input', 'the statement is empty.');
    const parameters = await this.#parameters(options.parameters ?? []);
    const context = this.lakehouse.translationContext(this.client, this, parameters);
    return runStatement(tokens, { lakehouse: this.lakehouse, client: this.client, session: this, context, parameters });
  }

  async #parameters(parameters: readonly StatementParameter[]): Promise<ParameterValues> {
    if (parameters.length === 0) return NO_PARAMETERS;
    const named = new Map<string, string>();
    const positional: string[] = [];
    for (const parameter of parameters) {
      const literal = await parameterLiteral(parameter.value, parameter.type, this.lakehouse.types);
      if (parameter.name !== undefined && parameter.name !== '') named.set(parameter.name, literal);
      else positional.push(literal);
    }
    return { named, positional };
  }
}

// -----------------------------------------------------------------------------------------------
// Statements

interface StatementContext {
  lakehouse: Lakehouse;
  client: pg.Client;
  session: LakehouseSession;
  context: TranslationContext;
  parameters: ParameterValues;
}

function words(tokens: readonly Token[], from: number, count: number): string {
  return tokens
    .slice(from, from + count)
    .map((token) => token.value)
    .join(' ');
}

async function runStatement(tokens: Token[], statement: StatementContext): Promise<StatementResult> {
  const first = tokens[0].kind === 'word' ? tokens[0].value : tokens[0].value;
  switch (first) {
    case 'select':
    case 'with':
    case 'values':
    case '(':
    case 'table':
    case 'from':
      return query(tokens, statement);
    case 'insert':
      return insert(tokens, statement);
    case 'update':
    case 'delete':
    case 'merge':
      return write(tokens, statement);
    case 'truncate':
      return truncate(tokens, statement);
    case 'create':
      return create(tokens, statement);
    case 'drop':
      return drop(tokens, statement);
    case 'alter':
      return alter(tokens, statement);
    case 'describe':
    case 'desc':
      return describe(tokens, statement);
    case 'show':
      return show(tokens, statement);
    case 'use':
      return use(tokens, statement);
    case 'set':
      return setCommand(tokens);
    case 'begin':
    case 'start':
    case 'commit':
    case 'rollback':
      throw lakehouseErrors.unsupported('Transactions (BEGIN, COMMIT, ROLLBACK)', 'Each statement commits on its own, as on a SQL warehouse.');
    default:
      throw lakehouseErrors.unsupported(`The statement ${tokens[0].text.toUpperCase()}`);
  }
}

/** No rows. */
function noRows(modifiedRows?: number): StatementResult {
  return { columns: [], batches: (async function* () {})(), ...(modifiedRows !== undefined ? { modifiedRows } : {}) };
}

/** Rows the engine made itself (SHOW, DESCRIBE, counts of a write). */
function localRows(columns: ResultColumn[], rows: unknown[][], modifiedRows?: number): StatementResult {
  const batch = rowsToBatch(columns, rows);
  return {
    columns,
    batches: (async function* () {
      if (rows.length > 0) yield batch;
    })(),
    ...(modifiedRows !== undefined ? { modifiedRows } : {}),
  };
}

const STRING: SqlType = { kind: 'string' };
const BIGINT: SqlType = { kind: 'bigint' };
const column = (name: string, type: SqlType, nullable = true): ResultColumn => ({ name, type, nullable });

async function query(tokens: Token[], statement: StatementContext): Promise<StatementResult> {
  const translation = await translateTokens(tokens, statement.context);
  return runQuery(translation.sql, statement);
}

/** Runs translated SQL that returns rows: describe its columns, then stream binary COPY into Arrow. */
async function runQuery(sql: string, statement: StatementContext): Promise<StatementResult> {
  const { client, lakehouse } = statement;
  let fields: pg.FieldDef[];
  try {
    fields = (await client.query(`SELECT * FROM (${sql}) AS _q LIMIT 0`)).fields;
  } catch (error) {
    throw fromPostgres(error);
  }
  const columns = fields.map((field) => lakehouse.resultColumn(field));
  const names = fields.map((_, i) => `c${i}`);
  const textOids = new Set<number>([PG_OIDS.text, PG_OIDS.varchar, PG_OIDS.bpchar, PG_OIDS.name]);
  const select = columns.map((column, i) => (column.type.kind === 'string' && !textOids.has(fields[i].dataTypeID) ? `${names[i]}::text` : names[i]));
  const copy = client.query(copyTo(`COPY (SELECT ${select.join(', ') || 'NULL'} FROM (${sql}) AS _q${names.length ? `(${names.join(', ')})` : ''}) TO STDOUT (FORMAT binary)`));
  // Watched from the start: the stream may end or fail (a cancel's error) while nobody reads it,
  // and `finished` attached only then would wait for an end that already came and went.
  const ended = finished(copy).then(
    () => undefined,
    () => undefined,
  );
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  let closing: Promise<void> | undefined;
  // Stops the query on the server when its rows are abandoned, and reads what is left, so that the
  // session can run its next statement.
  const close = () =>
    (closing ??= (async () => {
      try {
        if (!copy.readableEnded && !copy.destroyed) {
          await statement.session.cancel().catch(() => undefined);
          // The batch reader's `for await` over the stream keeps a 'readable' listener on it, and
          // while one is attached resume() does nothing (Node's stream.Readable docs). Reading
          // nothing, the connection would never see the rest of the rows or the cancel's error
          // (PostgreSQL, blocked writing them, would not even act on the cancel), and the session
          // would hang: detach the reader, which is abandoned, and drain.
          copy.removeAllListeners('readable');
          copy.resume();
        }
        await ended;
      } finally {
        finish();
      }
    })());
  // A failure before anyone reads is kept for the reader (and must not go unhandled).
  copy.on('error', () => undefined);
  const stream = copyToBatches(copy, columns, { batchRows: BATCH_ROWS, batchBytes: BATCH_BYTES });
  const batches = (async function* () {
    try {
      for (;;) {
        let next: IteratorResult<arrow.RecordBatch>;
        try {
          next = await stream.next();
        } catch (error) {
          throw fromPostgres(error);
        }
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await close();
    }
  })();
  return { columns, batches, done, close };
}

async function insert(tokens: Token[], statement: StatementContext): Promise<StatementResult> {
  // INSERT INTO [TABLE] t ... | INSERT OVERWRITE [TABLE] t ...
  const mode = tokens[1]?.value;
  if (mode !== 'into' && mode !== 'overwrite') throw lakehouseErrors.syntax(`'${tokens[1]?.text ?? 'end of input'}'`, 'INSERT INTO or INSERT OVERWRITE was expected.');
  let at = 2;
  if (tokens[at]?.value === 'table') at++;
  if (words(tokens, at + 1, 2) === 'by name' || tokens.some((token, i) => token.value === 'by' && tokens[i + 1]?.value === 'name')) {
    throw lakehouseErrors.unsupported('INSERT ... BY NAME', 'List the columns: INSERT INTO t (a, b) SELECT ...');
  }
  if (tokens.some((token, i) => token.value === 'replace' && tokens[i + 1]?.value === 'where')) throw lakehouseErrors.unsupported('INSERT ... REPLACE WHERE');
  const body = [...tokens];
  body.splice(0, at, { kind: 'word', text: 'INSERT', value: 'insert', start: 0 }, { kind: 'word', text: 'INTO', value: 'into', start: 0 });
  const translation = await translateTokens(body, statement.context);
  const table = translation.tables[0];
  if (table === undefined) throw lakehouseErrors.syntax(`'${tokens[at]?.text ?? 'end of input'}'`, 'a table name was expected.');
  const record = statement.lakehouse.findTable(table.catalog, table.schema, table.name)!;
  const overwrite = mode === 'overwrite';
  const result = await statement.lakehouse.commit(statement.client, record, statement.session.user, 'WRITE', { mode: overwrite ? 'Overwrite' : 'Append', partitionBy: '[]' }, async () => {
    if (overwrite) await statement.client.query(`DELETE FROM ${pgSchemaName(record.catalog, record.schema)}.${quoteIdentifier(record.name)}`);
    return (await statement.client.query(translation.sql)).rowCount ?? 0;
  });
  return localRows([column('num_affected_rows', BIGINT), column('num_inserted_rows', BIGINT)], [[result.value, result.value]], result.value);
}

async function write(tokens: Token[], statement: StatementContext): Promise<StatementResult> {
  const kind = tokens[0].value;
  if (kind === 'delete' && tokens[1]?.value !== 'from') throw lakehouseErrors.syntax(`'${tokens[1]?.text ?? 'end of input'}'`, 'DELETE FROM was expected.');
  if (kind === 'merge' && tokens[1]?.value !== 'into') throw lakehouseErrors.syntax(`'${tokens[1]?.text ?? 'end of input'}'`, 'MERGE INTO was expected.');
  if (kind === 'merge' && tokens.some((token, i) => token.value === 'schema' && tokens[i + 1]?.value === 'evolution')) throw lakehouseErrors.unsupported('MERGE WITH SCHEMA EVOLUTION');
  const translation = await translateTokens(tokens, statement.context);
  const table = translation.tables[0];
  if (table === undefined) throw lakehouseErrors.syntax(`'${tokens[1]?.text ?? 'end of input'}'`, 'a table name was expected.');
  const record = statement.lakehouse.findTable(table.catalog, table.schema, table.name)!;
  const operation = kind.toUpperCase();
  const where = tokens.findIndex((token) => token.value === 'where');
  const predicate = where >= 0 ? tokens.slice(where + 1).map((token) => token.text).join(' ') : 'true';
  const result = await statement.lakehouse.commit(statement.client, record, statement.session.user, operation, { predicate: JSON.stringify([predicate]) }, async () => {
    return (await statement.client.query(translation.sql)).rowCount ?? 0;
  });
  const { inserted, updated, deleted } = result.metrics;
  if (kind === 'merge') {
    return localRows(
      [column('num_affected_rows', BIGINT), column('num_updated_rows', BIGINT), column('num_deleted_rows', BIGINT), column('num_inserted_rows', BIGINT)],
      [[inserted + updated + deleted, updated, deleted, inserted]],
      inserted + updated + deleted,
    );
  }
  return localRows([column('num_affected_rows', BIGINT)], [[result.value]], result.value);
}

async function truncate(tokens: Token[], statement: StatementContext): Promise<StatementResult> {
  const at = tokens[1]?.value === 'table' ? 2 : 1;
  const rest = tokens.slice(at);
  const body: Token[] = [{ kind: 'word', text: 'DELETE', value: 'delete', start: 0 }, { kind: 'word', text: 'FROM', value: 'from', start: 0 }, ...rest];
  const translation = await translateTokens(body, statement.context);
  const table = translation.tables[0];
  const record = statement.lakehouse.findTable(table.catalog, table.schema, table.name)!;
  await statement.lakehouse.commit(statement.client, record, statement.session.user, 'TRUNCATE', {}, async () => statement.client.query(translation.sql));
  return noRows();
}

/** Reads `name` or `a.b` or `a.b.c` at `at`; returns the parts (lower-case) and the next index. */
function readName(tokens: readonly Token[], at: number): { parts: string[]; next: number } {
  const token = tokens[at];
  if (token === undefined || (token.kind !== 'word' && token.kind !== 'quoted')) throw lakehouseErrors.syntax(token ? `'${token.text}'` : 'end of input', 'a name was expected.');
  const parts = [token.value.toLowerCase()];
  let next = at + 1;
  while (tokens[next]?.value === '.' && (tokens[next + 1]?.kind === 'word' || tokens[next + 1]?.kind === 'quoted')) {
    parts.push(tokens[next + 1].value.toLowerCase());
    next += 2;
  }
  return { parts, next };
}

function tableParts(parts: string[], session: { catalog: string; schema: string }): [string, string, string] {
  if (parts.length === 3) return [parts[0], parts[1], parts[2]];
  if (parts.length === 2) return [session.catalog, parts[0], parts[1]];
  if (parts.length === 1) return [session.catalog, session.schema, parts[0]];
  throw lakehouseErrors.unsupported(`The name ${parts.join('.')} with more than three parts`);
}

function schemaParts(parts: string[], session: { catalog: string }): [string, string] {
  if (parts.length === 2) return [parts[0], parts[1]];
  if (parts.length === 1) return [session.catalog, parts[0]];
  throw lakehouseErrors.syntax(`'${parts.join('.')}'`, 'a schema name is one or two parts.');
}

function ifNotExists(tokens: readonly Token[], at: number): { present: boolean; next: number } {
  if (words(tokens, at, 3) === 'if not exists') return { present: true, next: at + 3 };
  return { present: false, next: at };
}

function ifExists(tokens: readonly Token[], at: number): { present: boolean; next: number } {
  if (words(tokens, at, 2) === 'if exists') return { present: true, next: at + 2 };
  return { present: false, next: at };
}

/** `(key = value, ...)` of TBLPROPERTIES; keys may be dotted words or strings, values literals. */
function readProperties(tokens: readonly Token[], open: number, withValues = true): { properties: Record<string, string>; next: number } {
  if (tokens[open]?.value !== '(') throw lakehouseErrors.syntax(`'${tokens[open]?.text ?? 'end of input'}'`, "'(' was expected.");
  const { args, close } = splitArguments(tokens, open);
  const properties: Record<string, string> = {};
  for (const arg of args) {
    const equals = arg.findIndex((token) => token.value === '=');
    const keyTokens = withValues ? (equals < 0 ? arg : arg.slice(0, equals)) : arg;
    const key = keyTokens.map((token) => (token.kind === 'string' ? token.value : token.text)).join('');
    const valueTokens = equals < 0 ? [] : arg.slice(equals + 1);
    if (withValues && valueTokens.length === 0) throw lakehouseErrors.syntax(`'${key}'`, 'a property needs a value: key = value.');
    properties[key] = valueTokens.map((token) => (token.kind === 'string' ? token.value : token.text)).join('');
  }
  return { properties, next: close + 1 };
}

async function create(tokens: Token[], statement: StatementContext): Promise<StatementResult> {
  const { lakehouse, session } = statement;
  let at = 1;
  let orReplace = false;
  if (words(tokens, 1, 2) === 'or replace') {
    orReplace = true;
    at = 3;
  }
  const object = tokens[at]?.value;
  if (object === 'catalog') {
    const exists = ifNotExists(tokens, at + 1);
    const { parts, next } = readName(tokens, exists.next);
    const comment = tokens[next]?.value === 'comment' ? tokens[next + 1]?.value : undefined;
    await lakehouse.createCatalog(parts[0], session.user, { ifNotExists: exists.present, comment });
    return noRows();
  }
  if (object === 'schema' || object === 'database') {
    const exists = ifNotExists(tokens, at + 1);
    const { parts, next } = readName(tokens, exists.next);
    const [catalog, schema] = schemaParts(parts, session);
    const comment = tokens[next]?.value === 'comment' ? tokens[next + 1]?.value : undefined;
    await lakehouse.createSchema(catalog, schema, session.user, { ifNotExists: exists.present, comment });
    return noRows();
  }
  if (object === 'external' || object === 'temporary' || object === 'temp' || object === 'view' || object === 'materialized' || object === 'streaming' || object === 'function' || object === 'volume') {
    throw lakehouseErrors.unsupported(`CREATE ${tokens[at].text.toUpperCase()}`, 'The local lakehouse creates catalogs, schemas and managed Delta tables.');
  }
  if (object !== 'table') throw lakehouseErrors.unsupported(`CREATE ${tokens[at]?.text.toUpperCase() ?? ''}`.trim());
  const exists = ifNotExists(tokens, at + 1);
  const { parts, next: afterName } = readName(tokens, exists.next);
  const [catalog, schema, name] = tableParts(parts, session);
  let at2 = afterName;
  const columns: ColumnInfo[] = [];
  if (tokens[at2]?.value === '(') {
    const { args, close } = splitArguments(tokens, at2, true);
    for (const arg of args) {
      const head = arg[0]?.value;
      if (['constraint', 'primary', 'foreign', 'unique', 'check'].includes(head ?? '')) continue; // informational constraints: not enforced on Databricks either
      columns.push(await columnDefinition(arg));
    }
    at2 = close + 1;
  }
  const properties: Record<string, string> = {};
  let comment: string | null = null;
  let asSelect: number | undefined;
  while (at2 < tokens.length) {
    const word = tokens[at2].value;
    if (word === 'using') {
      const format = tokens[at2 + 1]?.value;
      if (format !== 'delta') throw lakehouseErrors.unsupported(`USING ${tokens[at2 + 1]?.text ?? ''}`, 'The local lakehouse makes Delta tables only.');
      at2 += 2;
    } else if (word === 'tblproperties') {
      const read = readProperties(tokens, at2 + 1);
      Object.assign(properties, read.properties);
      at2 = read.next;
    } else if (word === 'comment') {
      comment = tokens[at2 + 1]?.value ?? null;
      at2 += 2;
    } else if ((word === 'partitioned' || word === 'cluster') && tokens[at2 + 1]?.value === 'by') {
      // Partitioning and clustering change how Delta lays out files, not what queries return.
      at2 = tokens[at2 + 2]?.value === '(' ? matchingParen(tokens, at2 + 2) + 1 : at2 + 3;
    } else if (word === 'location') {
      throw lakehouseErrors.unsupported('LOCATION (external tables)', 'Leave LOCATION out to make a managed table.');
    } else if (word === 'as') {
      asSelect = at2 + 1;
      break;
    } else {
      throw lakehouseErrors.syntax(`'${tokens[at2].text}'`);
    }
  }
  if (orReplace) await lakehouse.deleteTable(`${catalog}.${schema}.${name}`, { ifExists: true });
  if (asSelect === undefined) {
    if (columns.length === 0) throw lakehouseErrors.syntax('end of input', 'CREATE TABLE needs a column list or AS SELECT.');
    await lakehouse.createTable({ catalog, schema, name, columns, properties, comment, owner: session.user, ifNotExists: exists.present });
    return noRows();
  }
  // CTAS: the query's columns make the table; its rows are version 0.
  const translation = await translateTokens(tokens.slice(asSelect), statement.context);
  let fields: pg.FieldDef[];
  try {
    fields = (await statement.client.query(`SELECT * FROM (${translation.sql}) AS _q LIMIT 0`)).fields;
  } catch (error) {
    throw fromPostgres(error);
  }
  const described = fields.map((field) => lakehouse.resultColumn(field));
  const tableColumns: ColumnInfo[] =
    columns.length > 0 ? columns : described.map((result) => ({ name: result.name.toLowerCase(), type: result.type.kind === 'void' ? STRING : result.type, nullable: true, comment: null }));
  const names = tableColumns.map((c) => quoteIdentifier(c.name)).join(', ');
  await lakehouse.createTable(
    { catalog, schema, name, columns: tableColumns, properties, comment, owner: session.user, operation: orReplace ? 'CREATE OR REPLACE TABLE AS SELECT' : 'CREATE TABLE AS SELECT', ifNotExists: exists.present },
    async (client, view) => (await client.query(`INSERT INTO ${view} (${names}) ${translation.sql}`)).rowCount ?? 0,
  );
  return noRows();
}

async function columnDefinition(tokens: Token[]): Promise<ColumnInfo> {
  const nameToken = tokens[0];
  if (nameToken === undefined || (nameToken.kind !== 'word' && nameToken.kind !== 'quoted')) throw lakehouseErrors.syntax(nameToken ? `'${nameToken.text}'` : "')'", 'a column name was expected.');
  const { type, next } = parseType(tokens, 1);
  let nullable = true;
  let comment: string | null = null;
  for (let i = next; i < tokens.length; i++) {
    const word = tokens[i].value;
    if (word === 'not' && tokens[i + 1]?.value === 'null') {
      nullable = false;
      i++;
    } else if (word === 'comment') {
      comment = tokens[i + 1]?.value ?? null;
      i++;
    } else if (word === 'primary' && tokens[i + 1]?.value === 'key') {
      i++;
    } else if (word === 'generated' || word === 'default' || word === 'mask') {
      throw lakehouseErrors.unsupported(`Column ${word.toUpperCase()} clauses`);
    } else {
      throw lakehouseErrors.syntax(`'${tokens[i].text}'`);
    }
  }
  return { name: nameToken.value.toLowerCase(), type, nullable, comment };
}

async function drop(tokens: Token[], statement: StatementContext): Promise<StatementResult> {
  const { lakehouse, session } = statement;
  const object = tokens[1]?.value;
  const exists = ifExists(tokens, 2);
  const { parts, next } = readName(tokens, exists.next);
  const cascade = tokens[next]?.value === 'cascade';
  if (object === 'table') {
    const [catalog, schema, name] = tableParts(parts, session);
    await lakehouse.deleteTable(`${catalog}.${schema}.${name}`, { ifExists: exists.present });
    return noRows();
  }
  if (object === 'schema' || object === 'database') {
    const [catalog, schema] = schemaParts(parts, session);
    await lakehouse.deleteSchema(catalog, schema, { cascade, ifExists: exists.present });
    return noRows();
  }
  if (object === 'catalog') {
    await lakehouse.deleteCatalog(parts[0], { force: cascade, ifExists: exists.present });
    return noRows();
  }
  throw lakehouseErrors.unsupported(`DROP ${tokens[1]?.text.toUpperCase() ?? ''}`.trim());
}

async function alter(tokens: Token[], statement: StatementContext): Promise<StatementResult> {
  const { lakehouse, session, client } = statement;
  if (tokens[1]?.value !== 'table') throw lakehouseErrors.unsupported(`ALTER ${tokens[1]?.text.toUpperCase() ?? ''}`.trim(), 'The local lakehouse alters tables only.');
  const { parts, next } = readName(tokens, 2);
  const [catalog, schema, name] = tableParts(parts, session);
  const table = lakehouse.findTable(catalog, schema, name);
  if (table === undefined) throw lakehouseErrors.tableNotFound(parts.length === 1 ? parts : [catalog, schema, name]);
  const action = words(tokens, next, 2);
  if (action === 'set tblproperties') {
    const { properties } = readProperties(tokens, next + 2);
    await lakehouse.commit(client, table, session.user, 'SET TBLPROPERTIES', { properties: JSON.stringify(properties) }, async () => undefined, {
      metadataOnly: (version) => lakehouse.alterTable(client, table, version, { properties: { ...table.properties, ...properties } }),
    });
    return noRows();
  }
  if (action === 'unset tblproperties') {
    const at = tokens[next + 2]?.value === 'if' ? next + 4 : next + 2;
    const { properties } = readProperties(tokens, at, false);
    const remaining = { ...table.properties };
    for (const key of Object.keys(properties)) for (const existing of Object.keys(remaining)) if (existing.toLowerCase() === key.toLowerCase()) delete remaining[existing];
    await lakehouse.commit(client, table, session.user, 'UNSET TBLPROPERTIES', { properties: JSON.stringify(Object.keys(properties)) }, async () => undefined, {
      metadataOnly: (version) => lakehouse.alterTable(client, table, version, { properties: remaining }),
    });
    return noRows();
  }
  if (tokens[next]?.value === 'add' && (tokens[next + 1]?.value === 'column' || tokens[next + 1]?.value === 'columns')) {
    const at = next + 2;
    const definitions: ColumnInfo[] = [];
    if (tokens[at]?.value === '(') {
      for (const arg of splitArguments(tokens, at, true).args) definitions.push(await columnDefinition(arg));
    } else {
      definitions.push(await columnDefinition(tokens.slice(at)));
    }
    for (const definition of definitions) if (!definition.nullable) throw lakehouseErrors.unsupported('ADD COLUMN ... NOT NULL', 'Added columns are nullable, as in Delta.');
    await lakehouse.commit(client, table, session.user, 'ADD COLUMNS', { columns: JSON.stringify(definitions.map((d) => ({ name: d.name, type: typeText(d.type) }))) }, async () => undefined, {
      metadataOnly: (version) => lakehouse.alterTable(client, table, version, { addColumns: definitions }),
    });
    return noRows();
  }
  throw lakehouseErrors.unsupported(`ALTER TABLE ... ${tokens.slice(next, next + 2).map((t) => t.text.toUpperCase()).join(' ')}`, 'The local lakehouse supports SET TBLPROPERTIES, UNSET TBLPROPERTIES and ADD COLUMNS.');
}

const HISTORY_COLUMNS: ResultColumn[] = [
  column('version', BIGINT),
  column('timestamp', { kind: 'timestamp' }),
  column('userId', STRING),
  column('userName', STRING),
  column('operation', STRING),
  column('operationParameters', { kind: 'map', key: STRING, value: STRING }),
  column('job', { kind: 'struct', fields: ['jobId', 'jobName', 'jobRunId', 'runId', 'jobOwnerId', 'triggerType'].map((name) => ({ name, type: STRING })) }),
  column('notebook', { kind: 'struct', fields: [{ name: 'notebookId', type: STRING }] }),
  column('clusterId', STRING),
  column('readVersion', BIGINT),
  column('isolationLevel', STRING),
  column('isBlindAppend', { kind: 'boolean' }),
  column('operationMetrics', { kind: 'map', key: STRING, value: STRING }),
  column('userMetadata', STRING),
  column('engineInfo', STRING),
];

async function describe(tokens: Token[], statement: StatementContext): Promise<StatementResult> {
  const { lakehouse, session } = statement;
  let at = 1;
  const kind = tokens[at]?.value;
  if (kind === 'history') {
    const { parts, next } = readName(tokens, 2);
    const [catalog, schema, name] = tableParts(parts, session);
    let limit: number | undefined;
    if (tokens[next]?.value === 'limit') limit = Number(tokens[next + 1]?.value);
    const commits = await lakehouse.history(`${catalog}.${schema}.${name}`, limit);
    return localRows(
      HISTORY_COLUMNS,
      commits.map((commit) => [
        commit.version,
        commit.timestamp,
        commit.userName,
        commit.userName,
        commit.operation,
        new Map(Object.entries(commit.parameters).map(([key, value]) => [key, String(value)])),
        null,
        null,
        null,
        commit.readVersion,
        'WriteSerializable',
        commit.isBlindAppend,
        new Map(Object.entries(commit.metrics).map(([key, value]) => [key, String(value)])),
        null,
        'Databricks-Runtime/lakebase-kernel-emulator',
      ]),
    );
  }
  if (kind === 'catalog') {
    const { parts } = readName(tokens, tokens[2]?.value === 'extended' ? 3 : 2);
    const catalog = lakehouse.getCatalog(parts[0]);
    return localRows([column('info_name', STRING), column('info_value', STRING)], [['Catalog Name', catalog.name], ['Comment', catalog.comment ?? ''], ['Owner', catalog.owner]]);
  }
  if (kind === 'schema' || kind === 'database') {
    const { parts } = readName(tokens, tokens[2]?.value === 'extended' ? 3 : 2);
    const [catalog, name] = schemaParts(parts, session);
    const schema = lakehouse.getSchema(catalog, name);
    return localRows([column('info_name', STRING), column('info_value', STRING)], [['Catalog Name', schema.catalog], ['Namespace Name', schema.name], ['Comment', schema.comment ?? ''], ['Owner', schema.owner]]);
  }
  if (kind === 'detail') {
    const { parts } = readName(tokens, 2);
    const [catalog, schema, name] = tableParts(parts, session);
    const table = lakehouse.describeTable(`${catalog}.${schema}.${name}`);
    return localRows(
      [column('format', STRING), column('id', STRING), column('name', STRING), column('description', STRING), column('createdAt', { kind: 'timestamp' }), column('properties', { kind: 'map', key: STRING, value: STRING })],
      [['delta', table.uid, table.fullName, table.comment, table.createdAt, new Map(Object.entries(table.properties))]],
    );
  }
  if (kind === 'table') at++;
  const extended = tokens[at]?.value === 'extended' || tokens[at]?.value === 'formatted';
  if (extended) at++;
  const { parts } = readName(tokens, at);
  const [catalog, schema, name] = tableParts(parts, session);
  const table = lakehouse.findTable(catalog, schema, name);
  if (table === undefined) throw lakehouseErrors.tableNotFound(parts.length === 1 ? parts : [catalog, schema, name]);
  const rows: unknown[][] = table.columns.map((c) => [c.name, typeText(c.type), c.comment]);
  if (extended) {
    rows.push(['', '', ''], ['# Detailed Table Information', '', '']);
    rows.push(['Catalog', table.catalog, ''], ['Database', table.schema, ''], ['Table', table.name, ''], ['Created Time', table.createdAt.toISOString(), ''], ['Owner', table.owner, '']);
    rows.push(['Type', 'MANAGED', ''], ['Provider', 'delta', ''], ['Comment', table.comment ?? '', '']);
    rows.push(['Table Properties', `[${Object.entries(table.properties).map(([key, value]) => `${key}=${value}`).join(',')}]`, '']);
  }
  return localRows([column('col_name', STRING), column('data_type', STRING), column('comment', STRING)], rows);
}

async function show(tokens: Token[], statement: StatementContext): Promise<StatementResult> {
  const { lakehouse, session } = statement;
  const kind = tokens[1]?.value;
  const likeAt = tokens.findIndex((token) => token.value === 'like');
  const pattern = likeAt >= 0 ? tokens[likeAt + 1]?.value : undefined;
  const matches = (name: string) => pattern === undefined || new RegExp(`^(${pattern.split('|').map((p) => p.trim().replace(/[.+?^${}()[\]\\]/g, '\\$&').replace(/\*/g, '.*')).join('|')})$`, 'i').test(name);
  const scope = () => {
    const inAt = tokens.findIndex((token, i) => i >= 2 && (token.value === 'in' || token.value === 'from'));
    return inAt >= 0 ? readName(tokens, inAt + 1).parts : undefined;
  };
  if (kind === 'catalogs') {
    return localRows([column('catalog', STRING)], lakehouse.listCatalogs().filter((c) => matches(c.name)).map((c) => [c.name]));
  }
  if (kind === 'schemas' || kind === 'databases') {
    const catalog = scope()?.[0] ?? session.catalog;
    const names = ['information_schema', ...lakehouse.listSchemas(catalog).map((schema) => schema.name)].sort();
    return localRows([column('databaseName', STRING)], names.filter(matches).map((name) => [name]));
  }
  if (kind === 'tables') {
    const [catalog, schema] = schemaParts(scope() ?? [session.schema], session);
    return localRows(
      [column('database', STRING), column('tableName', STRING), column('isTemporary', { kind: 'boolean' })],
      lakehouse.listTables(catalog, schema).filter((t) => matches(t.name)).map((t) => [t.schema, t.name, false]),
    );
  }
  if (kind === 'tblproperties') {
    const { parts } = readName(tokens, 2);
    const [catalog, schema, name] = tableParts(parts, session);
    const table = lakehouse.describeTable(`${catalog}.${schema}.${name}`);
    return localRows([column('key', STRING), column('value', STRING)], Object.entries(table.properties).map(([key, value]) => [key, value]));
  }
  if (kind === 'columns') {
    const parts = scope();
    if (parts === undefined) throw lakehouseErrors.syntax('end of input', 'SHOW COLUMNS IN table.');
    const [catalog, schema, name] = tableParts(parts, session);
    const table = lakehouse.describeTable(`${catalog}.${schema}.${name}`);
    return localRows([column('col_name', STRING)], table.columns.map((c) => [c.name]));
  }
  throw lakehouseErrors.unsupported(`SHOW ${tokens[1]?.text.toUpperCase() ?? ''}`.trim(), 'The local lakehouse has SHOW CATALOGS, SCHEMAS, TABLES, TBLPROPERTIES and COLUMNS.');
}

async function use(tokens: Token[], statement: StatementContext): Promise<StatementResult> {
  const { lakehouse, session } = statement;
  const kind = tokens[1]?.value;
  if (kind === 'catalog') {
    const { parts } = readName(tokens, 2);
    lakehouse.getCatalog(parts[0]);
    session.catalog = parts[0];
    session.schema = DEFAULT_SCHEMA;
    return noRows();
  }
  const { parts } = readName(tokens, kind === 'schema' || kind === 'database' ? 2 : 1);
  const [catalog, schema] = schemaParts(parts, session);
  lakehouse.getSchema(catalog, schema);
  session.catalog = catalog;
  session.schema = schema;
  return noRows();
}

function setCommand(tokens: Token[]): StatementResult {
  // Session configuration (SET key = value) is accepted and shown; the emulator's engine has no such settings.
  const equals = tokens.findIndex((token) => token.value === '=');
  const key = tokens.slice(1, equals < 0 ? tokens.length : equals).map((token) => token.text).join('');
  const value = equals < 0 ? '<undefined>' : tokens.slice(equals + 1).map((token) => (token.kind === 'string' ? token.value : token.text)).join('');
  return localRows([column('key', STRING), column('value', STRING)], [[key, value]]);
}

