// What a synced table reports as its `data_synchronization_status` (docs/databricks-apis.md §1.4):
// one of the 11 detailed states (with the real typo SYNCED_TABLED_OFFLINE), a message, and the
// status object that belongs to the state — computed from the table's record, its pipeline's
// latest update and its instance, so the status can never disagree with what really happened.
import type { InstanceState } from './instance-state';
import { isActive } from './pipeline-state';
import type { PipelineUpdateRecord, SyncedTableRecord } from './store';

export const SYNCED_TABLE_STATES = [
  'SYNCED_TABLE_PROVISIONING',
  'SYNCED_TABLE_PROVISIONING_PIPELINE_RESOURCES',
  'SYNCED_TABLE_PROVISIONING_INITIAL_SNAPSHOT',
  'SYNCED_TABLE_ONLINE',
  'SYNCED_TABLE_ONLINE_NO_PENDING_UPDATE',
  'SYNCED_TABLE_ONLINE_TRIGGERED_UPDATE',
  'SYNCED_TABLE_ONLINE_CONTINUOUS_UPDATE',
  'SYNCED_TABLE_ONLINE_UPDATING_PIPELINE_RESOURCES',
  'SYNCED_TABLE_ONLINE_PIPELINE_FAILED',
  'SYNCED_TABLE_OFFLINE_FAILED',
  // The typo is the real value in the Provisioned database API.
  'SYNCED_TABLED_OFFLINE',
] as const;
export type SyncedTableState = (typeof SYNCED_TABLE_STATES)[number];

/** Rows moved by the update that runs now (`SyncedTablePipelineProgress`). */
export interface SyncProgress {
  synced: number;
  total: number | undefined;
  /** The source version being applied. */
  version: number;
  startedAt: number;
}

export interface StatusInputs {
  record: SyncedTableRecord;
  /** The pipeline's newest update, if it ever ran. */
  update: PipelineUpdateRecord | undefined;
  instanceState: InstanceState | undefined;
  progress: SyncProgress | undefined;
}

function progressOf(progress: SyncProgress | undefined, now: number): Record<string, unknown> | undefined {
  if (!progress) return undefined;
  const fraction = progress.total === undefined ? undefined : progress.total === 0 ? 1 : Math.min(1, progress.synced / progress.total);
  const elapsed = (now - progress.startedAt) / 1000;
  const rate = elapsed > 0 ? progress.synced / elapsed : 0;
  return {
    synced_row_count: progress.synced,
    ...(progress.total !== undefined ? { total_row_count: progress.total } : {}),
    ...(fraction !== undefined ? { sync_progress_completion: fraction } : {}),
    ...(progress.total !== undefined && rate > 0 ? { estimated_completion_time_seconds: Math.max(0, (progress.total - progress.synced) / rate) } : {}),
    latest_version_currently_processing: progress.version,
    provisioning_phase: 'PROVISIONING_PHASE_MAIN',
  };
}

/** `data_synchronization_status` of a synced table now. */
export function synchronizationStatus(inputs: StatusInputs, now = Date.now()): Record<string, unknown> {
  const { record, update, instanceState, progress } = inputs;
  const processed = record.processed;
  const position = processed ? { last_processed_commit_version: processed.version, timestamp: processed.at } : {};
  const running = progressOf(progress, now);
  const fullRefreshRunning = update !== undefined && isActive(update.state) && update.fullRefresh;
  // "present after any successful sync, except during a FULL REFRESH" (§1.4)
  const lastSync =
    record.lastSync && !fullRefreshRunning
      ? {
          last_sync: {
            delta_table_sync_info: { delta_commit_version: record.lastSync.version, delta_commit_timestamp: record.lastSync.commitTimestamp },
            sync_start_timestamp: record.lastSync.start,
            sync_end_timestamp: record.lastSync.end,
          },
        }
      : {};
  const base = { pipeline_id: record.pipelineId, ...lastSync };
  const status = (state: SyncedTableState, message: string, details: Record<string, unknown> = {}) => ({ detailed_state: state, message, ...base, ...details });

  if (instanceState !== undefined && instanceState !== 'AVAILABLE') {
    return status('SYNCED_TABLED_OFFLINE', `The database instance ${record.instanceName} is ${instanceState}; the synced table is not served until it is AVAILABLE.`);
  }
  if (update === undefined) return status('SYNCED_TABLE_PROVISIONING', 'Provisioning the synced table.');

  if (isActive(update.state)) {
    const settingUp = update.state !== 'RUNNING' && update.state !== 'STOPPING';
    // Still provisioning: before the first sync, and (but for continuous tables, whose one update
    // goes on) until the update that made it has ended.
    const initial = !record.lastSync || (record.policy !== 'CONTINUOUS' && record.initialUpdateId === update.id);
    if (initial || update.fullRefresh) {
      if (settingUp) {
        return status('SYNCED_TABLE_PROVISIONING_PIPELINE_RESOURCES', 'Provisioning the pipeline resources of the synced table.', {
          provisioning_status: running ? { initial_pipeline_sync_progress: running } : {},
        });
      }
      return status('SYNCED_TABLE_PROVISIONING_INITIAL_SNAPSHOT', `Copying the snapshot of ${record.sourceTable} into the synced table.`, {
        provisioning_status: running ? { initial_pipeline_sync_progress: running } : {},
      });
    }
    if (record.policy === 'CONTINUOUS') {
      if (settingUp) {
        return status('SYNCED_TABLE_ONLINE_UPDATING_PIPELINE_RESOURCES', 'The synced table is online; its continuous pipeline is starting.', {
          continuous_update_status: { ...position, ...(running ? { initial_pipeline_sync_progress: running } : {}) },
        });
      }
      return status('SYNCED_TABLE_ONLINE_CONTINUOUS_UPDATE', `The synced table is online and applies changes of ${record.sourceTable} as they are committed.`, {
        continuous_update_status: { ...position, ...(running ? { initial_pipeline_sync_progress: running } : {}) },
      });
    }
    return status('SYNCED_TABLE_ONLINE_TRIGGERED_UPDATE', `The synced table is online; an update from ${record.sourceTable} is running.`, {
      triggered_update_status: { ...position, ...(running ? { triggered_update_progress: running } : {}) },
    });
  }

  if (update.state === 'FAILED') {
    const why = update.message ?? 'The pipeline update failed.';
    if (record.lastSync) {
      // failed_status is populated "if the table is still synced and available for serving".
      return status('SYNCED_TABLE_ONLINE_PIPELINE_FAILED', `The synced table is online with the data of its last successful sync, but its pipeline failed: ${why}`, {
        failed_status: position,
      });
    }
    return status('SYNCED_TABLE_OFFLINE_FAILED', `The synced table failed before its first sync: ${why}`);
  }
  if (!record.lastSync) return status('SYNCED_TABLED_OFFLINE', 'The pipeline was stopped before the initial snapshot completed.');
  if (update.state === 'CANCELED') {
    return status('SYNCED_TABLE_ONLINE', 'The synced table is online; its pipeline is stopped. Start an update to sync again.', {
      ...(record.policy === 'CONTINUOUS' ? { continuous_update_status: position } : { triggered_update_status: position }),
    });
  }
  return status('SYNCED_TABLE_ONLINE_NO_PENDING_UPDATE', 'The synced table is online and up to date with its last sync.', { triggered_update_status: position });
}
