// Synced tables (reverse ETL), as the rest of the library needs them: create, get, delete (with
// `purge_data`), list, refresh (an update of the table's pipeline) and waiting until a table is
// online or an update has ended, with the status' progress reported on the way. Calls go through
// the official JS SDK; where SDK 0.17 falls short (no `purge_data` on delete) through its auth
// with our own request. Facts: docs/databricks-apis.md §1 and §1.6.
import type { SyncedDatabaseTable } from '@databricks/sdk-experimental/dist/apis/database';
import type { UpdateInfo } from '@databricks/sdk-experimental/dist/apis/pipelines';
import { parseErrorFromResponse } from '@databricks/sdk-experimental/dist/apierr';
import { LakebaseError } from './errors';
import { waitFor } from './waiting';
import type { WaitProgress } from './waiting';
import { workspaceError } from './workspace';
import type { Workspace } from './workspace';

export type { SyncedDatabaseTable };
export type SyncedTableState = NonNullable<NonNullable<SyncedDatabaseTable['data_synchronization_status']>['detailed_state']>;
export type SchedulingPolicy = 'SNAPSHOT' | 'TRIGGERED' | 'CONTINUOUS';

/** What the seed calls FULL and INCREMENTAL are SNAPSHOT and TRIGGERED for synced tables (issue 9). */
export const POLICY_ALIASES: Readonly<Record<string, SchedulingPolicy>> = {
  SNAPSHOT: 'SNAPSHOT',
  TRIGGERED: 'TRIGGERED',
  CONTINUOUS: 'CONTINUOUS',
  FULL: 'SNAPSHOT',
  INCREMENTAL: 'TRIGGERED',
};

export const SYNCED_TABLE_ERRORS = {
  notFound: 'SYNCED_TABLE_NOT_FOUND',
  failed: 'SYNCED_TABLE_FAILED',
  offline: 'SYNCED_TABLE_OFFLINE',
  updateFailed: 'PIPELINE_UPDATE_FAILED',
  updateCanceled: 'PIPELINE_UPDATE_CANCELED',
  listUnavailable: 'SYNCED_TABLE_LIST_UNAVAILABLE',
} as const;

/** States in which a synced table serves its rows and nothing is provisioning any more. */
const ONLINE: readonly SyncedTableState[] = [
  'SYNCED_TABLE_ONLINE',
  'SYNCED_TABLE_ONLINE_NO_PENDING_UPDATE',
  'SYNCED_TABLE_ONLINE_CONTINUOUS_UPDATE',
];

/** Rows moved by the update that runs, from whichever status object the state carries. */
export interface SyncedTableProgress {
  state: SyncedTableState | undefined;
  message: string | undefined;
  syncedRows?: number;
  totalRows?: number;
  lastSyncedVersion?: number;
}

export function progressOf(table: SyncedDatabaseTable): SyncedTableProgress {
  const status = table.data_synchronization_status;
  const progress =
    status?.provisioning_status?.initial_pipeline_sync_progress ??
    status?.triggered_update_status?.triggered_update_progress ??
    status?.continuous_update_status?.initial_pipeline_sync_progress;
  const version = status?.last_sync?.delta_table_sync_info?.delta_commit_version;
  return {
    state: status?.detailed_state,
    message: status?.message,
    ...(progress?.synced_row_count !== undefined ? { syncedRows: Number(progress.synced_row_count) } : {}),
    ...(progress?.total_row_count !== undefined ? { totalRows: Number(progress.total_row_count) } : {}),
    ...(version !== undefined ? { lastSyncedVersion: Number(version) } : {}),
  };
}

/** What a table in this state is waiting for, in words (a status line shows "waiting for ..."). */
export function awaitedIn(state: string | undefined): string | undefined {
  switch (state) {
    case 'SYNCED_TABLE_PROVISIONING':
      return 'the synced table to be provisioned';
    case 'SYNCED_TABLE_PROVISIONING_PIPELINE_RESOURCES':
    case 'SYNCED_TABLE_ONLINE_UPDATING_PIPELINE_RESOURCES':
      return 'its pipeline to start';
    case 'SYNCED_TABLE_PROVISIONING_INITIAL_SNAPSHOT':
      return 'the initial snapshot';
    case 'SYNCED_TABLE_ONLINE_TRIGGERED_UPDATE':
      return 'the update';
    case 'SYNCED_TABLED_OFFLINE':
      return 'its instance to be available';
    default:
      return undefined;
  }
}

/** `SYNCED_TABLE_PROVISIONING_INITIAL_SNAPSHOT` → `PROVISIONING_INITIAL_SNAPSHOT`: the words that matter. */
export function shortState(state: string | undefined): string {
  return (state ?? 'UNKNOWN').replace(/^SYNCED_TABLED?_/, '');
}

export interface WaitForSyncOptions {
  signal?: AbortSignal;
  onProgress?: (progress: WaitProgress<SyncedDatabaseTable>) => void;
  timeoutMs?: number;
}

export class SyncedTables {
  constructor(private readonly workspace: Workspace) {}

  async create(table: SyncedDatabaseTable): Promise<SyncedDatabaseTable> {
    // A 404 here is about what the table refers to (source, instance, catalog): the service says which.
    return this.#call(`create the synced table ${table.name}`, undefined, () => this.workspace.client.database.createSyncedDatabaseTable({ synced_table: table }));
  }

  async get(name: string): Promise<SyncedDatabaseTable> {
    return this.#call(`get the synced table ${name}`, name, () => this.workspace.client.database.getSyncedDatabaseTable({ name }));
  }

  /** The synced tables of an instance. The service does not implement this call yet; a 501 says so. */
  async list(instanceName: string): Promise<SyncedDatabaseTable[]> {
    try {
      const tables: SyncedDatabaseTable[] = [];
      for await (const table of this.workspace.client.database.listSyncedDatabaseTables({ instance_name: instanceName })) tables.push(table);
      return tables;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 501) {
        throw new LakebaseError(SYNCED_TABLE_ERRORS.listUnavailable, `The workspace ${this.workspace.host} cannot list the synced tables of ${instanceName}: the service does not implement that call yet (501).`, {
          hint: 'Look one up by its name with get; the pipelines of synced tables are listed by the pipelines API.',
          cause: error,
        });
      }
      throw workspaceError(error, { host: this.workspace.host, operation: `list the synced tables of ${instanceName}` });
    }
  }

  /** Deletes the synced table; `purgeData` drops its PostgreSQL table too. */
  async delete(name: string, options: { purgeData?: boolean } = {}): Promise<void> {
    await this.#call(`delete the synced table ${name}`, name, async () => {
      // SDK 0.17's deleteSyncedDatabaseTable sends no query parameters: purge_data needs our own request.
      const headers = new Headers({ Accept: 'application/json' });
      await this.workspace.client.config.authenticate(headers);
      const url = new URL(`/api/2.0/database/synced_tables/${encodeURIComponent(name)}`, this.workspace.host);
      if (options.purgeData) url.searchParams.set('purge_data', 'true');
      const response = await fetch(url, { method: 'DELETE', headers });
      const text = await response.text();
      if (!response.ok) throw parseErrorFromResponse(response.status, response.statusText, text);
    });
  }

  /** Starts an update of the table's pipeline (a refresh); `full` copies everything again. */
  async refresh(name: string, options: { full?: boolean } = {}): Promise<{ table: SyncedDatabaseTable; pipelineId: string; updateId: string }> {
    const table = await this.get(name);
    const pipelineId = table.data_synchronization_status?.pipeline_id;
    if (!pipelineId) throw new LakebaseError(SYNCED_TABLE_ERRORS.failed, `The synced table ${name} has no pipeline yet.`, { hint: 'Wait until it is provisioned, then refresh it.' });
    const started = await this.#call(`start an update of the pipeline of ${name}`, undefined, () =>
      this.workspace.client.pipelines.startUpdate({ pipeline_id: pipelineId, full_refresh: options.full ?? false, cause: 'API_CALL' }),
    );
    return { table, pipelineId, updateId: started.update_id! };
  }

  /**
   * Waits until the table is online (provisioned and synced once; a continuous table applying
   * changes counts). A failed table ends the wait with `SYNCED_TABLE_FAILED`.
   */
  waitUntilOnline(name: string, options: WaitForSyncOptions = {}): Promise<SyncedDatabaseTable> {
    return waitFor<SyncedDatabaseTable, SyncedDatabaseTable>({
      description: `the synced table ${name} to be online`,
      poll: () => this.get(name),
      check: (table) => {
        const state = table.data_synchronization_status?.detailed_state;
        if (state !== undefined && ONLINE.includes(state)) return { done: true, result: table };
        if (state === 'SYNCED_TABLE_OFFLINE_FAILED' || state === 'SYNCED_TABLE_ONLINE_PIPELINE_FAILED') throw this.#failed(name, table);
        const awaited = awaitedIn(state);
        return { done: false, state: shortState(state), ...(awaited ? { detail: awaited } : {}) };
      },
      ...options,
    });
  }

  /** Waits until a pipeline update has ended, reporting the table's status on the way; fails unless it COMPLETED. */
  waitForUpdate(name: string, pipelineId: string, updateId: string, options: WaitForSyncOptions = {}): Promise<SyncedDatabaseTable> {
    let update: UpdateInfo | undefined;
    return waitFor<SyncedDatabaseTable, SyncedDatabaseTable>({
      description: `the update of the synced table ${name}`,
      poll: async () => {
        update = (await this.#call(`get the update ${updateId}`, undefined, () => this.workspace.client.pipelines.getUpdate({ pipeline_id: pipelineId, update_id: updateId }))).update;
        return this.get(name);
      },
      check: (table) => {
        switch (update?.state) {
          case 'COMPLETED':
            return { done: true, result: table };
          case 'FAILED':
            throw new LakebaseError(SYNCED_TABLE_ERRORS.updateFailed, `The update of the synced table ${name} failed: ${table.data_synchronization_status?.message ?? 'see the pipeline'}`, {
              hint: `The table keeps the rows of its last successful sync. Pipeline ${pipelineId}, update ${updateId}.`,
            });
          case 'CANCELED':
            throw new LakebaseError(SYNCED_TABLE_ERRORS.updateCanceled, `The update of the synced table ${name} was stopped.`, {
              hint: 'The table keeps the rows of its last successful sync; refresh it to sync again.',
            });
          default:
            return { done: false, state: shortState(table.data_synchronization_status?.detailed_state), detail: `the pipeline update (${update?.state ?? 'QUEUED'})` };
        }
      },
      ...options,
    });
  }

  #failed(name: string, table: SyncedDatabaseTable): LakebaseError {
    const status = table.data_synchronization_status;
    return new LakebaseError(SYNCED_TABLE_ERRORS.failed, `The synced table ${name} is ${shortState(status?.detailed_state)}: ${status?.message ?? 'its pipeline failed'}`, {
      hint: status?.detailed_state === 'SYNCED_TABLE_ONLINE_PIPELINE_FAILED' ? 'It serves the rows of its last successful sync; fix the cause and refresh it.' : 'Fix the cause, then delete it and create it again.',
    });
  }

  /** `table`: the synced table the call names, whose absence a 404 means (get, delete, refresh). */
  async #call<T>(operation: string, table: string | undefined, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (table !== undefined && (error as { statusCode?: number }).statusCode === 404) {
        throw new LakebaseError(SYNCED_TABLE_ERRORS.notFound, `There is no synced table ${table} in ${this.workspace.host}.`, {
          hint: 'Synced tables are named catalog.schema.table (the target); create one with synced-table create.',
          cause: error,
        });
      }
      throw workspaceError(error, { host: this.workspace.host, operation });
    }
  }
}
