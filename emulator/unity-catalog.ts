// The part of Unity Catalog that Lakebase touches without synced tables: database catalogs (a UC
// catalog bound to one database of an instance, `POST /catalogs`) and existing Postgres tables
// registered in Unity Catalog (`POST /tables`). A table goes into a standard catalog, naming its
// instance and database ("Registration of database tables via /database/tables is currently only
// supported in standard catalogs", PY SDK), or into a database catalog, whose instance and
// database it takes. Either way the Postgres table must exist. The emulator keeps no standard
// catalogs of its own: any catalog name that is not a database catalog stands for one.
import { randomUUID } from 'node:crypto';
import { errors } from './api-errors';
import { CATALOG_NAME, POSTGRES_IDENTIFIER_MAX_BYTES } from './limits';
import type { InstanceRegistry } from './instances';
import { apiErrorFromHosting } from './roles';
import type { CatalogRecord, StateStore, TableRecord } from './store';

export interface CatalogRequest {
  name: string;
  instanceName: string;
  databaseName: string;
  createDatabaseIfNotExists: boolean;
}

export interface TableRequest {
  name: string;
  instanceName?: string;
  logicalDatabaseName?: string;
}

/** A record by key, never one of Object.prototype's (a catalog may well be called `constructor`). */
function own<T>(records: Record<string, T>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(records, key) ? records[key] : undefined;
}

/** UC names are case-insensitive and stored lower-case. */
function catalogKey(name: string): string {
  return name.toLowerCase();
}

export function validateCatalogName(field: string, name: string): string {
  if (name.length === 0 || name.length > CATALOG_NAME.maxLength || !CATALOG_NAME.pattern.test(name)) {
    throw errors.invalidParameter(field, `Invalid catalog name '${name}': use letters, digits and underscores.`);
  }
  return catalogKey(name);
}

export function validateDatabaseName(field: string, name: string): string {
  if (name.length === 0 || Buffer.byteLength(name) > POSTGRES_IDENTIFIER_MAX_BYTES) {
    throw errors.invalidParameter(field, `Invalid database name '${name}': 1 to ${POSTGRES_IDENTIFIER_MAX_BYTES} bytes.`);
  }
  return name;
}

function splitTableName(name: string): [string, string, string] {
  const parts = name.split('.');
  if (parts.length !== 3 || parts.some((part) => part === '')) {
    throw errors.invalidParameter('name', `Invalid table name '${name}': use the full three-part name catalog.schema.table.`);
  }
  return [parts[0], parts[1], parts[2]];
}

export class UnityCatalog {
  constructor(private readonly store: StateStore, private readonly instances: InstanceRegistry) {}

  private get catalogs() { return this.store.state.catalogs; }
  private get tables() { return this.store.state.tables; }

  async createCatalog(request: CatalogRequest): Promise<CatalogRecord> {
    const key = validateCatalogName('name', request.name);
    validateDatabaseName('database_name', request.databaseName);
    if (own(this.catalogs, key)) throw errors.catalogExists(key);
    const { server } = this.instances.requireAvailable(request.instanceName, 'registering a catalog');
    const context = { instance: request.instanceName, database: request.databaseName };
    try {
      if (!(await server.databaseExists(request.databaseName))) {
        if (!request.createDatabaseIfNotExists) throw errors.databaseNotFound(request.databaseName, request.instanceName);
        await server.createDatabase(request.databaseName);
      }
    } catch (error) {
      throw apiErrorFromHosting(error, context);
    }
    if (own(this.catalogs, key)) throw errors.catalogExists(key);
    const record: CatalogRecord = {
      name: key,
      uid: randomUUID(),
      instanceName: request.instanceName,
      databaseName: request.databaseName,
      createDatabaseIfNotExists: request.createDatabaseIfNotExists,
    };
    this.catalogs[key] = record;
    await this.store.save();
    return record;
  }

  getCatalog(name: string): CatalogRecord {
    const record = own(this.catalogs, catalogKey(name));
    if (!record) throw errors.catalogNotFound(name);
    return record;
  }

  /** Removes the catalog and its tables from UC; the Postgres database stays, as on the real service. */
  async deleteCatalog(name: string): Promise<void> {
    const record = this.getCatalog(name);
    delete this.catalogs[record.name];
    for (const [tableName, table] of Object.entries(this.tables)) {
      if (splitTableName(tableName)[0] === record.name) delete this.tables[tableName];
    }
    await this.store.save();
  }

  /**
   * Where a table to register lives: the instance and database its request names (a standard
   * catalog needs both), or its database catalog's (which the request may repeat, not change).
   */
  tableTarget(request: TableRequest): { instanceName: string; databaseName: string } {
    const [catalogName] = splitTableName(request.name);
    const catalog = own(this.catalogs, catalogKey(catalogName));
    if (!catalog) {
      if (request.instanceName === undefined) throw errors.invalidParameter('database_instance_name', `database_instance_name is required to register a table in the standard catalog '${catalogName}'.`);
      if (request.logicalDatabaseName === undefined) throw errors.invalidParameter('logical_database_name', `logical_database_name is required to register a table in the standard catalog '${catalogName}'.`);
      return { instanceName: request.instanceName, databaseName: request.logicalDatabaseName };
    }
    // "If this field is specified when creating database tables in registered catalogs, the
    // database instance name MUST match that of the registered catalog" (model.d.ts), and the same
    // for the logical database name.
    if (request.instanceName !== undefined && request.instanceName !== catalog.instanceName) {
      throw errors.invalidParameter('database_instance_name', `Catalog '${catalog.name}' belongs to database instance '${catalog.instanceName}', not '${request.instanceName}'.`);
    }
    if (request.logicalDatabaseName !== undefined && request.logicalDatabaseName !== catalog.databaseName) {
      throw errors.invalidParameter('logical_database_name', `Catalog '${catalog.name}' is bound to database '${catalog.databaseName}', not '${request.logicalDatabaseName}'.`);
    }
    return { instanceName: catalog.instanceName, databaseName: catalog.databaseName };
  }

  async createTable(request: TableRequest): Promise<TableRecord> {
    const [catalogName, schema, table] = splitTableName(request.name);
    const key = `${catalogKey(catalogName)}.${schema}.${table}`;
    const target = this.tableTarget(request);
    if (own(this.tables, key)) throw errors.tableExists(key);
    const { server } = this.instances.requireAvailable(target.instanceName, 'registering a table');
    let exists: boolean;
    try {
      if (!(await server.databaseExists(target.databaseName))) throw errors.databaseNotFound(target.databaseName, target.instanceName);
      exists = await server.relationExists(target.databaseName, schema, table);
    } catch (error) {
      throw apiErrorFromHosting(error, { instance: target.instanceName, database: target.databaseName });
    }
    // "registered tables must exist": the UC name's schema and table are the Postgres ones.
    if (!exists) throw errors.postgresTableNotFound(`${schema}.${table}`, target.databaseName, target.instanceName);
    if (own(this.tables, key)) throw errors.tableExists(key);
    const record: TableRecord = { name: key, instanceName: target.instanceName, logicalDatabaseName: target.databaseName };
    this.tables[key] = record;
    await this.store.save();
    return record;
  }

  getTable(name: string): TableRecord {
    const [catalogName, schema, table] = splitTableName(name);
    const record = own(this.tables, `${catalogKey(catalogName)}.${schema}.${table}`);
    if (!record) throw errors.tableNotFound(name);
    return record;
  }

  async deleteTable(name: string): Promise<void> {
    const record = this.getTable(name);
    delete this.tables[record.name];
    await this.store.save();
  }
}
