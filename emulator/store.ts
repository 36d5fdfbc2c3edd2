// The emulator's persistent state: instances, Unity Catalog entries and the last API port, in one
// JSON file of the data directory, so that everything survives `emulator stop` + `start`. Roles are
// not kept here: each instance's PostgreSQL server is the truth about its roles.
import type { Capacity } from './limits';
import type { InstanceState } from './instance-state';
import { isInstanceState } from './instance-state';
import { DataFileError, readJsonFile, writeJsonFileAtomic } from './files';
import type { AutoscalingState } from './autoscaling-records';
import type { JobRecord, JobRunRecord } from './jobs';
import type { UpdateCause, UpdateState } from './pipeline-state';

export type CreatorKind = 'USER' | 'SERVICE_PRINCIPAL';

export interface CustomTag {
  key: string;
  value?: string;
}

export interface InstanceRecord {
  name: string;
  uid: string;
  state: InstanceState;
  /** What the user asked for (`stopped`); `state` says what is. */
  stopped: boolean;
  capacity: Capacity;
  creator: string;
  creatorKind: CreatorKind;
  /** RFC 3339, as `creation_time` in the API. */
  creationTime: string;
  /** The loopback address the server listens on (`read_write_dns`); kept across restarts. */
  address: string;
  /** 5432, except on machines without loopback aliases (see `hosting.ts`). */
  port: number;
  retentionWindowInDays: number;
  nodeCount: number;
  /** The `pg_version` the client asked for, if any (the emulator runs its own; see limits.ts). */
  requestedPgVersion?: string;
  customTags: CustomTag[];
  usagePolicyId?: string;
  /** The creator's role exists: made on the first successful start, never again. */
  bootstrapped: boolean;
  /**
   * Why the instance is in its state, when the emulator knows more than the state says: its server
   * died and is being restarted, or could not be (`emulator_state_message` in the API).
   */
  stateMessage?: string;
  /**
   * The Autoscaling project this instance was upgraded to (`PATCH …/upgrade`): its server is then
   * the project's production branch, reached at this address too; the instance stays AVAILABLE.
   */
  upgradedToProject?: string;
  /** `enable_readable_secondaries`: clients may log in to the secondary at `read_only_dns`. */
  readableSecondaries?: boolean;
  /** `enable_pg_native_login`: PG_ONLY roles log in with their PostgreSQL passwords. */
  pgNativeLogin?: boolean;
  /** Where the secondary listens, while `nodeCount` ≥ 2 (kept across restarts, as `address`). */
  secondaryAddress?: string;
  secondaryPort?: number;
  /** `parent_instance_ref` of a child instance: what it was copied from, and at which point. */
  parent?: ParentRef;
}

/** A child instance's parent, as `parent_instance_ref` shows it. */
export interface ParentRef {
  name: string;
  uid: string;
  /** RFC 3339, when the child was asked for as of a time. */
  branchTime?: string;
  /** When the child was asked for at an LSN. */
  lsn?: string;
  /** Where the copy really branched (`effective_lsn`). */
  effectiveLsn?: string;
}

/** A Unity Catalog catalog bound to a database of an instance (`POST /catalogs`). */
export interface CatalogRecord {
  name: string;
  uid: string;
  instanceName: string;
  databaseName: string;
  createDatabaseIfNotExists: boolean;
}

/** A Unity Catalog table registered for a Postgres table (`POST /tables`). */
export interface TableRecord {
  name: string;
  instanceName: string;
  logicalDatabaseName: string;
}

/** One update of a pipeline (`UpdateInfo`). */
export interface PipelineUpdateRecord {
  id: string;
  state: UpdateState;
  cause: UpdateCause;
  /** Epoch milliseconds, as `UpdateInfo.creation_time`. */
  creationTime: number;
  fullRefresh: boolean;
  /** Why it failed (the real service reports this in the pipeline's event log). */
  message?: string;
}

/** A pipeline the workspace made for synced tables (`GET /api/2.0/pipelines/{id}`). */
export interface PipelineRecord {
  id: string;
  name: string;
  creator: string;
  createdTime: number;
  lastModified: number;
  continuous: boolean;
  owner: { kind: 'synced-table'; name: string };
  channel: 'CURRENT' | 'PREVIEW';
  catalog?: string;
  schema?: string;
  /** Newest first. */
  updates: PipelineUpdateRecord[];
}

export type SchedulingPolicy = 'SNAPSHOT' | 'TRIGGERED' | 'CONTINUOUS';

/** A synced table (`POST /api/2.0/database/synced_tables`): a Delta table kept in an instance's PostgreSQL. */
export interface SyncedTableRecord {
  /** `catalog.schema.table` of the target; the catalog lower-cased as UC stores it. */
  name: string;
  instanceName: string;
  databaseName: string;
  /** Whether the target catalog is a database catalog (instance and database inferred from it). */
  registeredCatalog: boolean;
  sourceTable: string;
  primaryKey: string[];
  timeseriesKey?: string;
  policy: SchedulingPolicy;
  createDatabaseObjectsIfMissing: boolean;
  newPipelineSpec?: { storage_catalog?: string; storage_schema?: string; pipeline_channel?: string; budget_policy_id?: string };
  /** Given as `existing_pipeline_id` (returned in the spec), else absent. */
  existingPipelineId?: string;
  pipelineId: string;
  createdAt: number;
  /** The columns as last synced (Delta types), to tell additive schema changes from others. */
  columns?: { name: string; type: string }[];
  lastSync?: { version: number; commitTimestamp: string; start: string; end: string };
  /** The last source version applied, and when. */
  processed?: { version: number; at: string };
  /** The pipeline update that made the first sync: while it runs, the table is still provisioning. */
  initialUpdateId?: string;
}

export interface EmulatorState {
  version: 1;
  instances: Record<string, InstanceRecord>;
  catalogs: Record<string, CatalogRecord>;
  tables: Record<string, TableRecord>;
  /** Pipelines by id; absent in state files written before pipelines existed. */
  pipelines: Record<string, PipelineRecord>;
  /** Synced tables by name. */
  syncedTables: Record<string, SyncedTableRecord>;
  /** Jobs by id (as a decimal string), and their runs; see `jobs.ts`. */
  jobs: Record<string, JobRecord>;
  jobRuns: Record<string, JobRunRecord>;
  /** The last job and run ids given out (ids are never reused). */
  lastJobId: number;
  lastRunId: number;
  /** The API port of the last run, reused when no port is given so `DATABRICKS_HOST` stays put. */
  lastPort?: number;
  /** Lakebase Autoscaling projects, branches, endpoints, roles and databases (absent in older files). */
  autoscaling?: AutoscalingState;
  /** SQL warehouses (`emulator/lakehouse/warehouses.ts`); absent in state files of older emulators. */
  warehouses?: Record<string, import('./lakehouse/warehouses').WarehouseRecord>;
}

export interface StateStore {
  /** The live state; mutate it, then `save()`. */
  readonly state: EmulatorState;
  /** Writes the state atomically; concurrent calls are serialized and the last one wins. */
  save(): Promise<void>;
}

function emptyState(): EmulatorState {
  return { version: 1, instances: {}, catalogs: {}, tables: {}, pipelines: {}, syncedTables: {}, jobs: {}, jobRuns: {}, lastJobId: 0, lastRunId: 0 };
}

function isRecordOf(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks what a hand edit or an older version could break; a bad file is refused, not guessed at. */
function parseState(path: string, value: unknown): EmulatorState {
  if (!isRecordOf(value) || value.version !== 1) throw new DataFileError(path, 'unknown format version');
  const { instances, catalogs, tables } = value;
  if (!isRecordOf(instances) || !isRecordOf(catalogs) || !isRecordOf(tables)) {
    throw new DataFileError(path, 'instances, catalogs and tables must be objects');
  }
  for (const [name, record] of Object.entries(instances)) {
    if (!isRecordOf(record) || record.name !== name || typeof record.uid !== 'string' || !isInstanceState(record.state) || typeof record.address !== 'string' || typeof record.port !== 'number') {
      throw new DataFileError(path, `instance '${name}' is malformed`);
    }
  }
  // Families added after the first format version start empty in older files.
  const state = value as unknown as EmulatorState;
  state.pipelines ??= {};
  state.syncedTables ??= {};
  state.jobs ??= {};
  state.jobRuns ??= {};
  state.lastJobId ??= 0;
  state.lastRunId ??= 0;
  for (const field of ['pipelines', 'syncedTables', 'jobs', 'jobRuns'] as const) {
    if (!isRecordOf(state[field])) throw new DataFileError(path, `${field} must be an object`);
  }
  return state;
}

export async function openStateStore(path: string): Promise<StateStore> {
  const loaded = await readJsonFile(path);
  const state = loaded === undefined ? emptyState() : parseState(path, loaded);
  let writing: Promise<void> = Promise.resolve();
  return {
    state,
    save() {
      // Chained so two saves never interleave their renames; each writes the state as it is then.
      const next = writing.then(() => writeJsonFileAtomic(path, state));
      writing = next.catch(() => undefined);
      return next;
    },
  };
}
