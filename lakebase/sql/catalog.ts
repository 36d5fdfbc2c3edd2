// What SQL completion knows of a database: its schemas, and its tables and views with their
// columns, read from pg_catalog in one statement. A cache keeps one snapshot per session, loaded
// only while the session is idle (never inside the user's transaction, whose snapshot or failed
// state it must not touch), with a time limit, and dropped when the schema may have changed.
import type { SqlSession } from '../contracts';

export type RelationKind = 'table' | 'view' | 'materialized view' | 'foreign table' | 'partitioned table';

export interface CatalogColumn {
  name: string;
  /** As `format_type` writes it: `integer`, `character varying(20)`, `numeric(10,2)`. */
  type: string;
  notNull: boolean;
}

export interface CatalogRelation {
  schema: string;
  name: string;
  kind: RelationKind;
  /** On the session's search_path, so that it can be named without its schema. */
  visible: boolean;
  columns: readonly CatalogColumn[];
}

export interface SqlCatalog {
  schemas: readonly string[];
  relations: readonly CatalogRelation[];
}

const KINDS: Record<string, RelationKind> = {
  r: 'table',
  v: 'view',
  m: 'materialized view',
  f: 'foreign table',
  p: 'partitioned table',
};

/** More relations than a completion list can usefully show; the visible ones come first. */
const MAX_RELATIONS = 5000;

const RELATIONS_SQL = `
SELECT n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS kind,
       pg_catalog.pg_table_is_visible(c.oid) AS visible,
       coalesce((SELECT json_agg(json_build_object('name', a.attname, 'type', pg_catalog.format_type(a.atttypid, a.atttypmod),
                                                   'notNull', a.attnotnull) ORDER BY a.attnum)
                   FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]') AS columns
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p')
   AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
 ORDER BY visible DESC, schema, name
 LIMIT ${MAX_RELATIONS}`;

const SCHEMAS_SQL = `
SELECT nspname::text AS schema FROM pg_catalog.pg_namespace
 WHERE nspname <> 'information_schema' AND nspname !~ '^pg_'
 ORDER BY 1`;

export async function loadCatalog(session: SqlSession, signal?: AbortSignal): Promise<SqlCatalog> {
  if (session.dialect === 'databricks') return loadWarehouseCatalog(session, signal);
  const options = { displayLimit: MAX_RELATIONS, fetchAll: true, signal };
  const relations = await session.run(RELATIONS_SQL, options);
  const schemas = await session.run(SCHEMAS_SQL, options);
  return {
    schemas: schemas.values.map(([schema]) => String(schema)),
    relations: relations.values.map(([schema, name, kind, visible, columns]) => ({
      schema: String(schema),
      name: String(name),
      kind: KINDS[String(kind)] ?? 'table',
      visible: visible === true,
      columns: columns as CatalogColumn[],
    })),
  };
}

/**
 * A SQL warehouse's Unity Catalog, from `system.information_schema`: schemas are named
 * `catalog.schema` (and catalogs alone), so that three-part names complete part by part; the
 * relations of the current catalog and schema are the visible ones.
 */
async function loadWarehouseCatalog(session: SqlSession, signal?: AbortSignal): Promise<SqlCatalog> {
  const options = { displayLimit: MAX_RELATIONS, fetchAll: true, signal };
  const current = await session.run('SELECT current_catalog() AS c, current_schema() AS s', options);
  const [currentCatalog, currentSchema] = (current.values[0] ?? []).map(String);
  const schemata = await session.run('SELECT catalog_name, schema_name FROM system.information_schema.schemata ORDER BY 1, 2', options);
  const columns = await session.run(
    `SELECT table_catalog, table_schema, table_name, column_name, full_data_type, is_nullable
       FROM system.information_schema.columns ORDER BY table_catalog, table_schema, table_name, ordinal_position LIMIT ${MAX_RELATIONS * 20}`,
    options,
  );
  const relations = new Map<string, CatalogRelation & { columns: CatalogColumn[] }>();
  for (const [catalog, schema, table, column, type, nullable] of columns.values.map((row) => row.map(String))) {
    const key = `${catalog}.${schema}.${table}`;
    let relation = relations.get(key);
    if (relation === undefined) {
      relation = { schema: `${catalog}.${schema}`, name: table, kind: 'table', visible: catalog === currentCatalog && schema === currentSchema, columns: [] };
      relations.set(key, relation);
    }
    relation.columns.push({ name: column, type, notNull: nullable === 'NO' });
  }
  const schemas = new Set<string>();
  for (const [catalog, schema] of schemata.values.map((row) => row.map(String))) {
    schemas.add(catalog);
    if (schema !== 'information_schema') schemas.add(`${catalog}.${schema}`);
  }
  return { schemas: [...schemas], relations: [...relations.values()].sort((a, b) => Number(b.visible) - Number(a.visible)) };
}

export interface CatalogCacheOptions {
  /** After this long a snapshot is read again (other sessions change the schema too). Default 30 s. */
  maxAgeMs?: number;
  /** A load that takes longer is cancelled and completion goes on without it. Default 2 s. */
  loadTimeoutMs?: number;
  /** Injected for tests. */
  load?: typeof loadCatalog;
  now?: () => number;
}

/** One catalog snapshot per session; see the comment at the top of this file. */
export class CatalogCache {
  readonly #snapshots = new WeakMap<SqlSession, { catalog: SqlCatalog; loadedAt: number }>();
  readonly #maxAgeMs: number;
  readonly #loadTimeoutMs: number;
  readonly #load: typeof loadCatalog;
  readonly #now: () => number;

  constructor(options: CatalogCacheOptions = {}) {
    this.#maxAgeMs = options.maxAgeMs ?? 30_000;
    this.#loadTimeoutMs = options.loadTimeoutMs ?? 2_000;
    this.#load = options.load ?? loadCatalog;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The session's catalog: the kept snapshot while it is fresh, else a new one if the session is
   * idle. Undefined when there is none to give; a failed load is not an error (completion then
   * offers keywords only).
   */
  async get(session: SqlSession): Promise<SqlCatalog | undefined> {
    const kept = this.#snapshots.get(session);
    if (kept && this.#now() - kept.loadedAt < this.#maxAgeMs) return kept.catalog;
    if (session.transactionStatus !== 'idle') return kept?.catalog;
    // The signal cancels a load that runs too long; the race also gives up on one still queued
    // behind a statement of the user's (that one sees the signal when its turn comes).
    const signal = AbortSignal.timeout(this.#loadTimeoutMs);
    const timedOut = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    try {
      const catalog = await Promise.race([this.#load(session, signal), timedOut]);
      this.#snapshots.set(session, { catalog, loadedAt: this.#now() });
      return catalog;
    } catch {
      return kept?.catalog;
    }
  }

  /** The schema may have changed on this session (DDL, or a commit that may hold some). */
  invalidate(session: SqlSession): void {
    this.#snapshots.delete(session);
  }
}
