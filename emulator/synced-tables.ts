// Synced tables: a Delta table of the emulator's lakehouse kept in a table of an instance's
// PostgreSQL by a pipeline, as the real service keeps them (docs/databricks-apis.md §1, lakebase.md
// "Reverse ETL"). Creating one validates it as the real service does, provisions a pipeline (or
// joins an existing one with the same scheduling policy) and starts the initial snapshot; the
// pipeline's updates then move the data (`synced-table-writer.ts`):
//
// - SNAPSHOT: every update copies the whole table and replaces the contents in one transaction;
// - TRIGGERED: every update applies the source's change data feed since the last synced version;
// - CONTINUOUS: one long update applies the change feed within moments of each source commit.
//
// The status (`synced-table-state.ts`) is computed from the record, the pipeline's updates and the
// instance, so it shows the real state sequence with progress. A non-additive schema change of
// the source fails a TRIGGERED or CONTINUOUS pipeline (the table stays online with its last data).
import type * as arrow from 'apache-arrow';
import { ApiError, errors } from './api-errors';
import { postgresTypeOf } from './arrow-copy';
import type { InstanceRegistry } from './instances';
import { arrowType } from './lakehouse/arrow';
import type { Lakehouse } from './lakehouse/engine';
import type { LakehouseHost } from './lakehouse/host';
import type { TableCommitFeed } from './jobs';
import type { PipelineFlow, PipelineRegistry, UpdateContext } from './pipelines';
import { SUPERUSER_ROLE } from './postgres/instance-server';
import type { SchedulingPolicy, StateStore, SyncedTableRecord } from './store';
import { synchronizationStatus } from './synced-table-state';
import type { SyncProgress } from './synced-table-state';
import { SyncedTableWriter } from './synced-table-writer';
import type { TargetColumn, TargetName } from './synced-table-writer';
import type { UnityCatalog } from './unity-catalog';

export const SCHEDULING_POLICIES: readonly SchedulingPolicy[] = ['SNAPSHOT', 'TRIGGERED', 'CONTINUOUS'];

/** A validated create request. */
export interface SyncedTableRequest {
  name: string;
  databaseInstanceName?: string;
  logicalDatabaseName?: string;
  sourceTable: string;
  primaryKey: string[];
  timeseriesKey?: string;
  policy: SchedulingPolicy;
  createDatabaseObjectsIfMissing: boolean;
  existingPipelineId?: string;
  newPipelineSpec?: SyncedTableRecord['newPipelineSpec'];
}

export interface SyncedTableRegistryDependencies {
  store: StateStore;
  instances: InstanceRegistry;
  catalog: UnityCatalog;
  pipelines: PipelineRegistry;
  lakehouse: LakehouseHost;
  commits: TableCommitFeed;
  log: (line: string) => void;
}

export const syncedTableErrors = {
  notFound: (name: string) => new ApiError('RESOURCE_DOES_NOT_EXIST', `Synced table '${name}' does not exist.`, { synced_table_name: name }),
  exists: (name: string) => new ApiError('RESOURCE_ALREADY_EXISTS', `Synced table '${name}' already exists.`, { synced_table_name: name }),
  sourceNotFound: (name: string) =>
    new ApiError('RESOURCE_DOES_NOT_EXIST', `Table '${name}' does not exist. The source of a synced table is a Unity Catalog table (catalog.schema.table).`, { table_name: name }),
  noChangeDataFeed: (source: string, policy: string) =>
    errors.invalidParameter(
      'spec.scheduling_policy',
      `The ${policy} scheduling policy needs Change Data Feed on the source table ${source}. Enable it with ALTER TABLE ${source} SET TBLPROPERTIES (delta.enableChangeDataFeed = true), or use SNAPSHOT.`,
    ),
  updateNotImplemented: () => new ApiError('NOT_IMPLEMENTED', 'Update Synced Database Table is not yet implemented.'),
};

/** `catalog.schema.table` → its parts; the catalog lower-cased as UC stores names. */
function parts(name: string, field: string): [string, string, string] {
  const split = name.split('.');
  if (split.length !== 3 || split.some((part) => part === '')) {
    throw errors.invalidParameter(field, `'${name}' is not a full table name: use catalog.schema.table.`);
  }
  return [split[0].toLowerCase(), split[1], split[2]];
}

/** Non-additive differences between the columns synced last and the source's now. */
function schemaChange(before: readonly { name: string; type: string }[], now: readonly { name: string; type: string }[]): { added: { name: string; type: string }[]; breaking: string | undefined } {
  for (const column of before) {
    const current = now.find((candidate) => candidate.name === column.name);
    if (!current) return { added: [], breaking: `column '${column.name}' was dropped or renamed` };
    if (current.type !== column.type) return { added: [], breaking: `column '${column.name}' changed type from ${column.type} to ${current.type}` };
  }
  return { added: now.filter((column) => !before.some((old) => old.name === column.name)), breaking: undefined };
}

export class SyncedTableRegistry {
  readonly #progress = new Map<string, SyncProgress>();
  /** Continuous pipelines waiting for commits: woken with the source table that changed. */
  readonly #wakers = new Map<string, (table: string) => void>();
  #unsubscribe: (() => void) | undefined;

  constructor(private readonly deps: SyncedTableRegistryDependencies) {}

  private get records(): Record<string, SyncedTableRecord> {
    return this.deps.store.state.syncedTables;
  }

  get(name: string): SyncedTableRecord {
    const [catalog, schema, table] = parts(name, 'name');
    const key = `${catalog}.${schema}.${table}`;
    const record = Object.prototype.hasOwnProperty.call(this.records, key) ? this.records[key] : undefined;
    if (!record) throw syncedTableErrors.notFound(name);
    return record;
  }

  /** The record as the API renders it, with its status now. */
  status(record: SyncedTableRecord): Record<string, unknown> {
    let instanceState;
    try {
      instanceState = this.deps.instances.get(record.instanceName).state;
    } catch {
      instanceState = undefined;
    }
    let update;
    try {
      update = this.deps.pipelines.get(record.pipelineId).updates[0];
    } catch {
      update = undefined;
    }
    return synchronizationStatus({ record, update, instanceState, progress: this.#progress.get(record.name) });
  }

  async create(request: SyncedTableRequest, creator: string): Promise<SyncedTableRecord> {
    const [catalogName, schema, table] = parts(request.name, 'name');
    const key = `${catalogName}.${schema}.${table}`;
    if (Object.prototype.hasOwnProperty.call(this.records, key)) throw syncedTableErrors.exists(key);
    if (request.existingPipelineId !== undefined && request.newPipelineSpec !== undefined) {
      throw errors.invalidParameter('spec', 'At most one of existing_pipeline_id and new_pipeline_spec should be defined.');
    }
    if (request.primaryKey.length === 0) throw errors.invalidParameter('spec.primary_key_columns', 'A synced table needs primary_key_columns: the columns that identify a row in the destination.');

    // Where the table goes: a database catalog infers (and checks) instance and database; a
    // standard catalog needs both named.
    const { instanceName, databaseName, registered } = this.destination(request);
    const { server } = this.deps.instances.requireAvailable(instanceName, 'creating a synced table');

    // The source: a table of the lakehouse, with the key columns, and a change feed for incremental policies.
    const lakehouse = await this.deps.lakehouse.get();
    const source = this.#describeSource(lakehouse, request.sourceTable);
    const names = source.columns.map((column) => column.name);
    for (const column of [...request.primaryKey, ...(request.timeseriesKey ? [request.timeseriesKey] : [])]) {
      if (!names.includes(column)) {
        throw errors.invalidParameter('spec.primary_key_columns', `Column '${column}' does not exist in the source table ${source.fullName} (its columns: ${names.join(', ')}).`);
      }
    }
    if (request.policy !== 'SNAPSHOT' && !source.changeDataFeed) throw syncedTableErrors.noChangeDataFeed(source.fullName, request.policy);

    if (request.newPipelineSpec && registered && (!request.newPipelineSpec.storage_catalog || !request.newPipelineSpec.storage_schema)) {
      throw errors.invalidParameter(
        'spec.new_pipeline_spec',
        'new_pipeline_spec.storage_catalog and storage_schema are required when the destination is a database catalog: the pipeline keeps its checkpoints and event log there (a standard catalog where you can create tables).',
      );
    }
    if (request.newPipelineSpec?.storage_catalog && request.newPipelineSpec.storage_schema) {
      try {
        lakehouse.getSchema(request.newPipelineSpec.storage_catalog, request.newPipelineSpec.storage_schema);
      } catch {
        throw errors.invalidParameter('spec.new_pipeline_spec.storage_schema', `The storage schema ${request.newPipelineSpec.storage_catalog}.${request.newPipelineSpec.storage_schema} does not exist.`);
      }
    }

    // The PostgreSQL side: database and schema exist (or may be created), the table does not.
    if (!(await server.databaseExists(databaseName))) {
      if (!request.createDatabaseObjectsIfMissing) {
        throw errors.invalidParameter('logical_database_name', `Database '${databaseName}' does not exist in database instance '${instanceName}'. Set spec.create_database_objects_if_missing to create it.`);
      }
      await server.createDatabase(databaseName);
    }
    const writer = await SyncedTableWriter.open(server.adminConnection(databaseName));
    try {
      if (!(await writer.schemaExists(schema)) && !request.createDatabaseObjectsIfMissing) {
        throw errors.invalidParameter('name', `Schema '${schema}' does not exist in database '${databaseName}'. Set spec.create_database_objects_if_missing to create it.`);
      }
      if (await writer.tableExists({ schema, table })) {
        throw new ApiError('RESOURCE_ALREADY_EXISTS', `Table "${schema}"."${table}" already exists in database '${databaseName}'. A synced table creates its PostgreSQL table; drop it or choose another name.`, { table_name: key });
      }
    } finally {
      await writer.close();
    }

    // Checked again: another creation of the same name may have finished while this one checked.
    if (Object.prototype.hasOwnProperty.call(this.records, key)) throw syncedTableErrors.exists(key);
    // Its pipeline: an existing one with the same policy, or a new one.
    let pipelineId: string;
    if (request.existingPipelineId !== undefined) {
      const pipeline = this.deps.pipelines.get(request.existingPipelineId);
      const policies = new Set(this.#tablesOf(pipeline.id).map((other) => other.policy));
      if (policies.size > 0 && !policies.has(request.policy)) {
        throw errors.invalidParameter('spec.existing_pipeline_id', `Pipeline ${pipeline.id} syncs ${[...policies].join(', ')} tables; a ${request.policy} synced table needs a pipeline with the same scheduling policy.`);
      }
      pipelineId = pipeline.id;
    } else {
      pipelineId = this.deps.pipelines.create({
        name: `Synced table ${key}`,
        creator,
        continuous: request.policy === 'CONTINUOUS',
        owner: { kind: 'synced-table', name: key },
        ...(request.newPipelineSpec?.storage_catalog ? { catalog: request.newPipelineSpec.storage_catalog } : {}),
        ...(request.newPipelineSpec?.storage_schema ? { schema: request.newPipelineSpec.storage_schema } : {}),
        ...(request.newPipelineSpec?.pipeline_channel === 'PREVIEW' ? { channel: 'PREVIEW' as const } : {}),
      }).id;
    }
    const record: SyncedTableRecord = {
      name: key,
      instanceName,
      databaseName,
      registeredCatalog: registered,
      sourceTable: source.fullName,
      primaryKey: request.primaryKey,
      ...(request.timeseriesKey ? { timeseriesKey: request.timeseriesKey } : {}),
      policy: request.policy,
      createDatabaseObjectsIfMissing: request.createDatabaseObjectsIfMissing,
      ...(request.newPipelineSpec ? { newPipelineSpec: request.newPipelineSpec } : {}),
      ...(request.existingPipelineId ? { existingPipelineId: request.existingPipelineId } : {}),
      pipelineId,
      createdAt: Date.now(),
    };
    this.records[key] = record;
    await this.deps.store.save();
    this.#attach(pipelineId);
    this.deps.log(`synced table ${key}: created from ${source.fullName} (${request.policy}) on pipeline ${pipelineId}`);
    // The initial snapshot starts at once; joining a pipeline that is busy, it waits for the next update.
    await this.#startUpdate(pipelineId, 'API_CALL');
    return record;
  }

  /** Deletes the synced table; with `purgeData` its PostgreSQL table too ("the actual PostgreSQL table will be dropped"). */
  async delete(name: string, purgeData: boolean): Promise<void> {
    const record = this.get(name);
    const pipelineId = record.pipelineId;
    const others = this.#tablesOf(pipelineId).filter((other) => other.name !== record.name);
    // Stop what runs now: the rest of the pipeline's tables start again below.
    const active = this.deps.pipelines.activeUpdate(pipelineId);
    if (active) {
      await this.deps.pipelines.stop(pipelineId);
      await this.deps.pipelines.settled(pipelineId, active.id);
    }
    if (purgeData) {
      const { server } = this.deps.instances.requireAvailable(record.instanceName, 'deleting a synced table with purge_data');
      const writer = await SyncedTableWriter.open(server.adminConnection(record.databaseName));
      try {
        await writer.dropTable(this.#target(record));
      } finally {
        await writer.close();
      }
    }
    delete this.records[record.name];
    this.#progress.delete(record.name);
    if (others.length === 0) await this.deps.pipelines.delete(pipelineId);
    else if (this.deps.pipelines.get(pipelineId).continuous) await this.#startUpdate(pipelineId, 'API_CALL');
    await this.deps.store.save();
    this.deps.log(`synced table ${record.name}: deleted${purgeData ? ' with its PostgreSQL table' : ''}`);
  }

  /**
   * The synced tables of an instance being deleted go with it, as its catalogs and registered
   * tables do: their pipelines stop (and go when no other table is on them); the PostgreSQL
   * tables go with the instance's data. Returns the names removed.
   */
  async removeForInstance(instanceName: string): Promise<string[]> {
    const doomed = Object.values(this.records).filter((record) => record.instanceName === instanceName);
    for (const record of doomed) await this.delete(record.name, false);
    return doomed.map((record) => record.name);
  }

  /** At emulator start: pipelines get their work again; continuous ones start again. */
  async restore(): Promise<void> {
    const pipelineIds = new Set(Object.values(this.records).map((record) => record.pipelineId));
    for (const pipelineId of pipelineIds) {
      try {
        this.#attach(pipelineId);
        if (this.deps.pipelines.get(pipelineId).continuous) await this.#startUpdate(pipelineId, 'INFRASTRUCTURE_MAINTENANCE');
      } catch (error) {
        this.deps.log(`synced tables: pipeline ${pipelineId} could not be restored: ${(error as Error).message}`);
      }
    }
  }

  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  // ------------------------------------------------------------------------------------------

  /**
   * Where a synced table goes: a database catalog infers (and checks) instance and database; a
   * standard catalog needs both named. Public so that the route can check the caller's permission
   * on that instance before anything happens.
   */
  destination(request: Pick<SyncedTableRequest, 'name' | 'databaseInstanceName' | 'logicalDatabaseName'>): { instanceName: string; databaseName: string; registered: boolean } {
    const [catalogName] = parts(request.name, 'name');
    let databaseCatalog;
    try {
      databaseCatalog = this.deps.catalog.getCatalog(catalogName);
    } catch {
      databaseCatalog = undefined;
    }
    if (databaseCatalog) {
      // "if given there it MUST equal the catalog's instance, or the request will be rejected"
      if (request.databaseInstanceName !== undefined && request.databaseInstanceName !== databaseCatalog.instanceName) {
        throw errors.invalidParameter('database_instance_name', `Catalog '${catalogName}' belongs to database instance '${databaseCatalog.instanceName}', not '${request.databaseInstanceName}'.`);
      }
      if (request.logicalDatabaseName !== undefined && request.logicalDatabaseName !== databaseCatalog.databaseName) {
        throw errors.invalidParameter('logical_database_name', `Catalog '${catalogName}' is bound to database '${databaseCatalog.databaseName}', not '${request.logicalDatabaseName}'.`);
      }
      return { instanceName: databaseCatalog.instanceName, databaseName: databaseCatalog.databaseName, registered: true };
    }
    // A standard catalog: both are required.
    if (request.databaseInstanceName === undefined) {
      throw errors.invalidParameter('database_instance_name', `Catalog '${catalogName}' is not a database catalog: name the instance (database_instance_name) and the database (logical_database_name) of the synced table.`);
    }
    if (request.logicalDatabaseName === undefined) {
      throw errors.invalidParameter('logical_database_name', `Catalog '${catalogName}' is not a database catalog: name the database of the synced table (logical_database_name).`);
    }
    this.deps.instances.get(request.databaseInstanceName);
    return { instanceName: request.databaseInstanceName, databaseName: request.logicalDatabaseName, registered: false };
  }

  #describeSource(lakehouse: Lakehouse, name: string) {
    parts(name, 'spec.source_table_full_name');
    try {
      return lakehouse.describeTable(name);
    } catch {
      throw syncedTableErrors.sourceNotFound(name);
    }
  }

  #tablesOf(pipelineId: string): SyncedTableRecord[] {
    return Object.values(this.records).filter((record) => record.pipelineId === pipelineId);
  }

  #target(record: SyncedTableRecord): TargetName {
    const [, schema, table] = record.name.split('.');
    return { schema, table };
  }

  async #startUpdate(pipelineId: string, cause: 'API_CALL' | 'INFRASTRUCTURE_MAINTENANCE'): Promise<void> {
    if (this.deps.pipelines.activeUpdate(pipelineId)) return;
    await this.deps.pipelines.startUpdate(pipelineId, { cause, fullRefresh: false });
  }

  #attach(pipelineId: string): void {
    const flow: PipelineFlow = { run: (update) => this.#runUpdate(pipelineId, update) };
    this.deps.pipelines.attach(pipelineId, flow);
  }

  /** One pipeline update: every synced table of the pipeline, then (continuous) every commit until stopped. */
  async #runUpdate(pipelineId: string, update: UpdateContext): Promise<void> {
    const tables = () => this.#tablesOf(pipelineId);
    const continuous = this.deps.pipelines.get(pipelineId).continuous;
    // Continuous: listen before the first sync, so a commit made while it runs is applied after it.
    const pending = new Set<string>();
    let wake: (() => void) | undefined;
    if (continuous) {
      this.#listenForCommits();
      this.#wakers.set(pipelineId, (table) => {
        pending.add(table.toLowerCase());
        wake?.();
      });
    }
    const onAbort = () => wake?.();
    update.signal.addEventListener('abort', onAbort, { once: true });
    try {
      await update.enter('SETTING_UP_TABLES');
      await update.enter('RUNNING');
      for (const record of tables()) await this.#syncTable(record, update, update.fullRefresh);
      if (!continuous) return;
      while (!update.signal.aborted) {
        if (pending.size === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
          continue;
        }
        const changed = new Set(pending);
        pending.clear();
        for (const record of tables()) {
          if (changed.has(record.sourceTable.toLowerCase())) await this.#syncTable(record, update, false);
        }
      }
      throw update.signal.reason;
    } finally {
      update.signal.removeEventListener('abort', onAbort);
      this.#wakers.delete(pipelineId);
    }
  }

  #listenForCommits(): void {
    this.#unsubscribe ??= this.deps.commits.onCommit(({ table }) => {
      for (const waker of this.#wakers.values()) waker(table);
    });
  }

  /** Syncs one table: a snapshot (first time, SNAPSHOT policy, full refresh) or the change feed since the last version. */
  async #syncTable(record: SyncedTableRecord, update: UpdateContext, fullRefresh: boolean): Promise<void> {
    const { server } = await this.#availableInstance(record, update.signal);
    const lakehouse = await this.deps.lakehouse.get();
    const source = this.#describeSource(lakehouse, record.sourceTable);
    const [latest] = await lakehouse.history(source.fullName, 1);
    const columnsNow = source.columns.map((column) => ({ name: column.name, type: column.type }));
    const change = record.columns ? schemaChange(record.columns, columnsNow) : { added: [], breaking: undefined };
    const snapshot = fullRefresh || record.lastSync === undefined || record.policy === 'SNAPSHOT';
    if (change.breaking && !snapshot) {
      throw new Error(
        `Non-additive schema change of ${source.fullName}: ${change.breaking}. ${record.policy} synced tables accept only additive changes (new columns); ` +
          'run a full refresh, or delete the synced table and create it again.',
      );
    }
    if (!snapshot && record.processed && record.processed.version >= latest.version) return;

    const started = new Date();
    const writer = await SyncedTableWriter.open(server.adminConnection(record.databaseName));
    const target = this.#target(record);
    try {
      await writer.begin();
      let written: number;
      if (snapshot) {
        const read = await lakehouse.readTable(source.fullName, { version: latest.version });
        const columns = targetColumns(read.columns);
        const exists = await writer.tableExists(target);
        // A snapshot after a breaking change rebuilds the table (its grants and indexes go with it).
        if (exists && change.breaking) await writer.dropTable(target);
        if (!exists || change.breaking) await writer.createTable(target, { columns, primaryKey: record.primaryKey }, SUPERUSER_ROLE);
        else if (change.added.length > 0) await writer.addColumns(target, columns.filter((column) => change.added.some((added) => added.name === column.name)));
        const total = await this.#rowCount(lakehouse, source.fullName, latest.version);
        this.#progress.set(record.name, { synced: 0, total, version: latest.version, startedAt: Date.now() });
        written = await writer.replaceAll(target, read.batches, this.#writeOptions(record, columns, update.signal));
      } else {
        const from = (record.processed?.version ?? record.lastSync!.version) + 1;
        const read = await lakehouse.readChanges(source.fullName, from, latest.version);
        const columns = targetColumns(read.columns.filter((column) => !column.name.startsWith('_')));
        if (change.added.length > 0) await writer.addColumns(target, columns.filter((column) => change.added.some((added) => added.name === column.name)));
        this.#progress.set(record.name, { synced: 0, total: undefined, version: latest.version, startedAt: Date.now() });
        written = await writer.applyChanges(target, read.batches, this.#writeOptions(record, columns, update.signal));
      }
      if (update.signal.aborted) throw update.signal.reason;
      await writer.commit();
      const finished = new Date().toISOString();
      record.columns = columnsNow;
      if (record.lastSync === undefined) record.initialUpdateId = update.updateId;
      record.lastSync = { version: latest.version, commitTimestamp: new Date(latest.timestamp).toISOString(), start: started.toISOString(), end: finished };
      record.processed = { version: latest.version, at: finished };
      await this.deps.store.save();
      this.deps.log(`synced table ${record.name}: ${snapshot ? 'snapshot' : 'changes'} of ${source.fullName} at version ${latest.version} (${written} rows)`);
    } finally {
      this.#progress.delete(record.name);
      await writer.close();
    }
  }

  #writeOptions(record: SyncedTableRecord, columns: TargetColumn[], signal: AbortSignal) {
    return {
      columns,
      primaryKey: record.primaryKey,
      ...(record.timeseriesKey ? { timeseriesKey: record.timeseriesKey } : {}),
      signal,
      onRows: (rows: number) => {
        const progress = this.#progress.get(record.name);
        if (progress) progress.synced = rows;
      },
    };
  }

  async #rowCount(lakehouse: Lakehouse, table: string, version: number): Promise<number | undefined> {
    const session = await lakehouse.openSession({ user: 'System user' });
    try {
      const result = await session.execute(`SELECT count(*) AS n FROM ${table} VERSION AS OF ${version}`);
      for await (const batch of result.batches as AsyncIterable<arrow.RecordBatch>) return Number(batch.getChild('n')?.get(0));
      return undefined;
    } catch (error) {
      this.deps.log(`synced tables: counting ${table} failed: ${(error as Error).message}`);
      return undefined;
    } finally {
      await session.close();
    }
  }

  /** The instance's server once it is AVAILABLE (an instance still STARTING, after an emulator restart, is waited for). */
  async #availableInstance(record: SyncedTableRecord, signal: AbortSignal) {
    for (;;) {
      const instance = this.deps.instances.get(record.instanceName);
      if (instance.state === 'AVAILABLE') return this.deps.instances.requireAvailable(record.instanceName, 'syncing a table');
      if (instance.state !== 'STARTING' && instance.state !== 'UPDATING') {
        throw new Error(`The database instance ${record.instanceName} is ${instance.state}; start it to sync.`);
      }
      if (signal.aborted) throw signal.reason;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** The target's columns from the source's: the PostgreSQL type of each column's Arrow type. */
function targetColumns(columns: readonly { name: string; type: Parameters<typeof arrowType>[0] }[]): TargetColumn[] {
  return columns.map((column) => ({ name: column.name, pgType: postgresTypeOf(arrowType(column.type)) }));
}
