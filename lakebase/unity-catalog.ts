// Unity Catalog for Lakebase Provisioned (databricks-apis.md §2.1–2.2): a database of an instance
// registered as a (read-only) catalog, and an existing Postgres table registered in a standard
// catalog. `/api/2.0/database/catalogs` and `/tables`; names are UC's: a catalog is one word, a
// table `catalog.schema.table`, whose schema and table are the Postgres ones.
import type { Workspace } from './workspace';

export interface DatabaseCatalog {
  name: string;
  database_instance_name?: string;
  database_name?: string;
  uid?: string;
}

export interface DatabaseTable {
  name: string;
  database_instance_name?: string;
  logical_database_name?: string;
  table_serving_url?: string;
}

export function createCatalog(
  workspace: Workspace,
  request: { name: string; instance: string; database: string; createDatabase?: boolean },
): Promise<DatabaseCatalog> {
  return workspace.api<DatabaseCatalog>('POST', '/api/2.0/database/catalogs', {
    operation: `register the database ${request.database} of ${request.instance} as the catalog ${request.name}`,
    instance: request.instance,
    body: {
      name: request.name,
      database_instance_name: request.instance,
      database_name: request.database,
      ...(request.createDatabase ? { create_database_if_not_exists: true } : {}),
    },
  });
}

export function getCatalog(workspace: Workspace, name: string): Promise<DatabaseCatalog> {
  return workspace.api<DatabaseCatalog>('GET', `/api/2.0/database/catalogs/${encodeURIComponent(name)}`, { operation: `get the catalog ${name}` });
}

/** Removes the catalog from Unity Catalog; the Postgres database stays. */
export async function deleteCatalog(workspace: Workspace, name: string): Promise<void> {
  await workspace.api('DELETE', `/api/2.0/database/catalogs/${encodeURIComponent(name)}`, { operation: `delete the catalog ${name}` });
}

/**
 * Registers an existing Postgres table. In a standard catalog the instance and database are
 * needed; in a database catalog they come from it.
 */
export function createTable(workspace: Workspace, request: { name: string; instance?: string; database?: string }): Promise<DatabaseTable> {
  return workspace.api<DatabaseTable>('POST', '/api/2.0/database/tables', {
    // No instance context: a 404 here is as likely the Postgres table's as the instance's, and the
    // service's message says which.
    operation: `register the table ${request.name}`,
    body: {
      name: request.name,
      ...(request.instance ? { database_instance_name: request.instance } : {}),
      ...(request.database ? { logical_database_name: request.database } : {}),
    },
  });
}

export function getTable(workspace: Workspace, name: string): Promise<DatabaseTable> {
  return workspace.api<DatabaseTable>('GET', `/api/2.0/database/tables/${encodeURIComponent(name)}`, { operation: `get the table ${name}` });
}

/** Removes the registration; the Postgres table stays. */
export async function deleteTable(workspace: Workspace, name: string): Promise<void> {
  await workspace.api('DELETE', `/api/2.0/database/tables/${encodeURIComponent(name)}`, { operation: `delete the table ${name}` });
}
