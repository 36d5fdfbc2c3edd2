// The lakehouse's Unity Catalog objects and Delta tables, kept in its PostgreSQL database:
//
//   _lakehouse.catalogs, .schemas, .tables, .commits   what UC and the Delta log know
//   _lakehouse.is_catalogs, is_schemata, is_tables, is_columns   information_schema views
//   "<catalog>.<schema>"."<table>"     the view users read and write (the table's columns only)
//   _lakehouse_data."t<id>"            the current rows, with a hidden _row_id
//   _lakehouse_data."t<id>_history"    every version of every row: [_from, _to) in table versions,
//                                      how it began (_from_kind: i insert, u update) and ended
//                                      (_to_kind: d delete, u update)
//   _lakehouse_types.struct_/map_<hash>  composite types of STRUCT and MAP columns
//
// Writes go through the view, so PostgreSQL itself applies INSERT, UPDATE, DELETE and MERGE;
// statement-level triggers on the data table, with transition tables, copy exactly the rows each
// statement touched into the history under the version the engine set for the statement
// (`lakehouse.version`). History, time travel and the change data feed are all read from there.
// A write that does not come through the engine has no version set, and fails.
import type pg from 'pg';
import { lakehouseErrors } from './errors';
import { tokenize } from './lexer';
import type { CompositeTypes, SqlType } from './types';
import { compositeDefinition, compositeTypeName, parseTypeText, pgType, quoteIdentifier, quoteLiteral, TRANSLATION_FUNCTIONS_SQL, TYPES_SCHEMA, typeText } from './types';

export interface ColumnInfo {
  /** Lower-case: Databricks column names are case-insensitive. */
  name: string;
  type: SqlType;
  nullable: boolean;
  comment: string | null;
}

export interface TableRecord {
  id: number;
  catalog: string;
  schema: string;
  name: string;
  columns: ColumnInfo[];
  properties: Record<string, string>;
  comment: string | null;
  owner: string;
  createdAt: Date;
  uid: string;
  /** The latest committed version. */
  version: number;
  /** Versions whose changes the change data feed recorded: [from, to) pairs, `to` null while on. */
  cdfPeriods: { from: number; to: number | null }[];
  /** OID of the data table, to recognise its columns in result descriptions. */
  dataOid: number;
}

export interface SchemaRecord {
  catalog: string;
  name: string;
  comment: string | null;
  owner: string;
  createdAt: Date;
  uid: string;
}

export interface CatalogRecord {
  name: string;
  comment: string | null;
  owner: string;
  createdAt: Date;
  uid: string;
}

export interface CommitRecord {
  version: number;
  timestamp: Date;
  userName: string;
  operation: string;
  parameters: Record<string, string>;
  metrics: Record<string, string>;
  readVersion: number | null;
  isBlindAppend: boolean;
}

/** Runs SQL on the lakehouse database. */
export type Sql = Pick<pg.ClientBase, 'query'>;

export const SETUP_SQL = `
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE SCHEMA IF NOT EXISTS _lakehouse;
CREATE SCHEMA IF NOT EXISTS _lakehouse_data;
CREATE SCHEMA IF NOT EXISTS ${TYPES_SCHEMA};
CREATE TABLE IF NOT EXISTS _lakehouse.catalogs (
  name text PRIMARY KEY, comment text, owner text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), uid uuid NOT NULL DEFAULT gen_random_uuid());
CREATE TABLE IF NOT EXISTS _lakehouse.schemas (
  catalog text NOT NULL REFERENCES _lakehouse.catalogs ON DELETE CASCADE, name text NOT NULL, comment text, owner text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(), uid uuid NOT NULL DEFAULT gen_random_uuid(), PRIMARY KEY (catalog, name));
CREATE TABLE IF NOT EXISTS _lakehouse.tables (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, catalog text NOT NULL, schema text NOT NULL, name text NOT NULL,
  columns jsonb NOT NULL, properties jsonb NOT NULL DEFAULT '{}', comment text, owner text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(), uid uuid NOT NULL DEFAULT gen_random_uuid(), version bigint NOT NULL DEFAULT 0,
  cdf_periods jsonb NOT NULL DEFAULT '[]', UNIQUE (catalog, schema, name),
  FOREIGN KEY (catalog, schema) REFERENCES _lakehouse.schemas ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS _lakehouse.commits (
  table_id bigint NOT NULL REFERENCES _lakehouse.tables ON DELETE CASCADE, version bigint NOT NULL, timestamp timestamptz NOT NULL,
  user_name text NOT NULL, operation text NOT NULL, parameters jsonb NOT NULL DEFAULT '{}', metrics jsonb NOT NULL DEFAULT '{}',
  read_version bigint, is_blind_append boolean NOT NULL DEFAULT false, PRIMARY KEY (table_id, version));
CREATE TABLE IF NOT EXISTS _lakehouse.composite_types (name text PRIMARY KEY, databricks_type text NOT NULL);

CREATE OR REPLACE VIEW _lakehouse.is_catalogs AS
  SELECT name AS catalog_name, owner AS catalog_owner, comment, created_at AS created, owner AS created_by,
         created_at AS last_altered, owner AS last_altered_by
    FROM _lakehouse.catalogs;
CREATE OR REPLACE VIEW _lakehouse.is_schemata AS
  SELECT catalog AS catalog_name, name AS schema_name, owner AS schema_owner, comment, created_at AS created,
         owner AS created_by, created_at AS last_altered, owner AS last_altered_by
    FROM _lakehouse.schemas
  UNION ALL
  SELECT name, 'information_schema', owner, 'Information schema (auto-created)', created_at, owner, created_at, owner FROM _lakehouse.catalogs;
CREATE OR REPLACE VIEW _lakehouse.is_tables AS
  SELECT catalog AS table_catalog, schema AS table_schema, name AS table_name, 'MANAGED'::text AS table_type,
         'YES'::text AS is_insertable_into, 'PRESERVE'::text AS commit_action, owner AS table_owner, comment,
         created_at AS created, owner AS created_by, created_at AS last_altered, owner AS last_altered_by,
         'DELTA'::text AS data_source_format
    FROM _lakehouse.tables;
CREATE OR REPLACE VIEW _lakehouse.is_columns AS
  SELECT t.catalog AS table_catalog, t.schema AS table_schema, t.name AS table_name, c.value->>'name' AS column_name,
         (c.ordinality - 1)::int AS ordinal_position, NULL::text AS column_default,
         CASE WHEN (c.value->>'nullable')::boolean THEN 'YES' ELSE 'NO' END AS is_nullable,
         c.value->>'type' AS full_data_type, upper(substring(c.value->>'type' from '^[a-z_]+')) AS data_type,
         c.value->>'comment' AS comment
    FROM _lakehouse.tables t, jsonb_array_elements(t.columns) WITH ORDINALITY AS c(value, ordinality);
${TRANSLATION_FUNCTIONS_SQL}
`;

/** The catalog and schema every new workspace has, as on Databricks. */
export const DEFAULT_CATALOG = 'main';
export const DEFAULT_SCHEMA = 'default';

export function pgSchemaName(catalog: string, schema: string): string {
  return quoteIdentifier(`${catalog}.${schema}`);
}

export function dataTable(id: number): string {
  return `_lakehouse_data."t${id}"`;
}

export function historyTable(id: number): string {
  return `_lakehouse_data."t${id}_history"`;
}

interface TableRow {
  id: string;
  catalog: string;
  schema: string;
  name: string;
  columns: { name: string; type: string; nullable: boolean; comment: string | null }[];
  properties: Record<string, string>;
  comment: string | null;
  owner: string;
  created_at: Date;
  uid: string;
  version: string;
  cdf_periods: { from: number; to: number | null }[];
  data_oid: number;
}

export function tableFromRow(row: TableRow): TableRecord {
  return {
    id: Number(row.id),
    catalog: row.catalog,
    schema: row.schema,
    name: row.name,
    columns: row.columns.map((column) => ({ name: column.name, type: parseTypeText(column.type, tokenize), nullable: column.nullable, comment: column.comment })),
    properties: row.properties,
    comment: row.comment,
    owner: row.owner,
    createdAt: row.created_at,
    uid: row.uid,
    version: Number(row.version),
    cdfPeriods: row.cdf_periods,
    dataOid: row.data_oid,
  };
}

export const TABLE_SELECT = `SELECT t.*, ('_lakehouse_data.' || quote_ident('t' || t.id))::regclass::oid::int AS data_oid,
  ('_lakehouse_data.' || quote_ident('t' || t.id || '_history'))::regclass::oid::int AS history_oid FROM _lakehouse.tables t`;

/** Composite types for STRUCT and MAP columns, made on first use and remembered. */
export class CompositeTypeRegistry implements CompositeTypes {
  /** OID (of the type and of its array type) → Databricks type. */
  readonly byOid = new Map<number, SqlType>();
  readonly #made = new Set<string>();

  constructor(private readonly sql: Sql) {}

  async load(): Promise<void> {
    const { rows } = await this.sql.query<{ name: string; databricks_type: string; oid: number; array_oid: number }>(
      `SELECT c.name, c.databricks_type, t.oid::int AS oid, t.typarray::int AS array_oid
         FROM _lakehouse.composite_types c JOIN pg_type t ON t.typname = c.name AND t.typnamespace = '${TYPES_SCHEMA}'::regnamespace`,
    );
    for (const row of rows) this.#remember(row.name, parseTypeText(row.databricks_type, tokenize), row.oid, row.array_oid);
  }

  #remember(name: string, type: SqlType, oid: number, arrayOid: number): void {
    this.#made.add(name);
    this.byOid.set(oid, type);
    this.byOid.set(arrayOid, { kind: 'array', element: type });
  }

  async nameFor(type: SqlType & { kind: 'struct' | 'map' }): Promise<string> {
    const name = compositeTypeName(type);
    if (!this.#made.has(name)) {
      const definition = await compositeDefinition(type, this);
      // Two sessions may make the same type at once; the loser's CREATE fails and it reads the winner's.
      await this.sql.query(
        `DO $$ BEGIN CREATE TYPE ${TYPES_SCHEMA}.${quoteIdentifier(name)} AS (${definition}); EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
      );
      await this.sql.query(`INSERT INTO _lakehouse.composite_types VALUES ($1, $2) ON CONFLICT DO NOTHING`, [name, typeText(type)]);
      const { rows } = await this.sql.query<{ oid: number; array_oid: number }>(
        `SELECT oid::int AS oid, typarray::int AS array_oid FROM pg_type WHERE typname = $1 AND typnamespace = '${TYPES_SCHEMA}'::regnamespace`,
        [name],
      );
      this.#remember(name, type, rows[0].oid, rows[0].array_oid);
    }
    return `${TYPES_SCHEMA}.${quoteIdentifier(name)}`;
  }
}

/**
 * The DDL of a new Delta table: data table, history table, the user's view, and the triggers that
 * fill the history. Run inside the creating transaction.
 */
export async function createTableObjects(sql: Sql, table: { id: number; catalog: string; schema: string; name: string; columns: ColumnInfo[] }, types: CompositeTypes): Promise<void> {
  const columns = [];
  for (const column of table.columns) columns.push(`${quoteIdentifier(column.name)} ${await pgType(column.type, types)}${column.nullable ? '' : ' NOT NULL'}`);
  const historyColumns = [];
  for (const column of table.columns) historyColumns.push(`${quoteIdentifier(column.name)} ${await pgType(column.type, types)}`);
  const data = dataTable(table.id);
  const history = historyTable(table.id);
  await sql.query(`CREATE TABLE ${data} (_row_id bigint GENERATED ALWAYS AS IDENTITY, ${columns.join(', ')})`);
  await sql.query(
    `CREATE TABLE ${history} (_row_id bigint NOT NULL, _from bigint NOT NULL, _from_kind "char" NOT NULL, _to bigint, _to_kind "char"${historyColumns.length ? ', ' : ''}${historyColumns.join(', ')})`,
  );
  await sql.query(`CREATE INDEX ON ${history} (_row_id) WHERE _to IS NULL`);
  await sql.query(`CREATE INDEX ON ${history} (_from)`);
  await sql.query(`CREATE INDEX ON ${history} (_to)`);
  await createViewAndTriggers(sql, table);
}

/** The user's view and the history triggers, (re)made after the columns change. */
export async function createViewAndTriggers(sql: Sql, table: { id: number; catalog: string; schema: string; name: string; columns: ColumnInfo[] }): Promise<void> {
  const data = dataTable(table.id);
  const history = historyTable(table.id);
  const names = table.columns.map((column) => quoteIdentifier(column.name));
  const list = names.join(', ');
  const prefixed = (alias: string) => names.map((name) => `${alias}.${name}`).join(', ');
  const comma = names.length > 0 ? ', ' : '';
  const version = `current_setting('lakehouse.version')::bigint`;
  const fn = (suffix: string) => `_lakehouse_data."t${table.id}_${suffix}"`;
  await sql.query(`CREATE OR REPLACE VIEW ${pgSchemaName(table.catalog, table.schema)}.${quoteIdentifier(table.name)} AS SELECT ${list || 'NULL::int AS _empty'} FROM ${data}`);
  await sql.query(`CREATE OR REPLACE FUNCTION ${fn('on_insert')}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      INSERT INTO ${history} (_row_id, _from, _from_kind${comma}${list}) SELECT n._row_id, ${version}, 'i'${comma}${prefixed('n')} FROM new_rows n;
      RETURN NULL; END $$`);
  await sql.query(`CREATE OR REPLACE FUNCTION ${fn('on_update')}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      UPDATE ${history} h SET _to = ${version}, _to_kind = 'u' FROM old_rows o WHERE h._row_id = o._row_id AND h._to IS NULL;
      INSERT INTO ${history} (_row_id, _from, _from_kind${comma}${list}) SELECT n._row_id, ${version}, 'u'${comma}${prefixed('n')} FROM new_rows n;
      RETURN NULL; END $$`);
  await sql.query(`CREATE OR REPLACE FUNCTION ${fn('on_delete')}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      UPDATE ${history} h SET _to = ${version}, _to_kind = 'd' FROM old_rows o WHERE h._row_id = o._row_id AND h._to IS NULL;
      RETURN NULL; END $$`);
  await sql.query(`CREATE OR REPLACE TRIGGER history_insert AFTER INSERT ON ${data} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn('on_insert')}()`);
  await sql.query(
    `CREATE OR REPLACE TRIGGER history_update AFTER UPDATE ON ${data} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn('on_update')}()`,
  );
  await sql.query(`CREATE OR REPLACE TRIGGER history_delete AFTER DELETE ON ${data} REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn('on_delete')}()`);
  // TRUNCATE would bypass the history; the engine turns it into DELETE.
}

export function columnsJson(columns: readonly ColumnInfo[]): string {
  return JSON.stringify(columns.map((column) => ({ name: column.name, type: typeText(column.type), nullable: column.nullable, comment: column.comment })));
}

export function catalogFromRow(row: { name: string; comment: string | null; owner: string; created_at: Date; uid: string }): CatalogRecord {
  return { name: row.name, comment: row.comment, owner: row.owner, createdAt: row.created_at, uid: row.uid };
}

export function schemaFromRow(row: { catalog: string; name: string; comment: string | null; owner: string; created_at: Date; uid: string }): SchemaRecord {
  return { catalog: row.catalog, name: row.name, comment: row.comment, owner: row.owner, createdAt: row.created_at, uid: row.uid };
}

/** Is the change data feed on for every version in [start, end]? The first version that is not, or undefined. */
export function firstUnrecordedVersion(table: TableRecord, start: number, end: number): number | undefined {
  for (let version = start; version <= end; version++) {
    const recorded = table.cdfPeriods.some((period) => version >= period.from && (period.to === null || version < period.to));
    if (!recorded) return version;
  }
  return undefined;
}

/** `delta.enableChangeDataFeed` as a boolean, as Databricks accepts it (true/false, any case). */
export function cdfEnabled(properties: Record<string, string>): boolean {
  return String(properties['delta.enablechangedatafeed'] ?? properties['delta.enableChangeDataFeed'] ?? 'false').toLowerCase() === 'true';
}

export function notFoundIfMissing<T>(value: T | undefined, parts: string[]): T {
  if (value === undefined) throw lakehouseErrors.tableNotFound(parts);
  return value;
}

export { quoteLiteral };
