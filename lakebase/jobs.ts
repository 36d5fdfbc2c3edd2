// Jobs that refresh synced tables on a schedule (docs/databricks-apis.md §5): a job with one
// `pipeline_task` on the table's pipeline, fired by a Quartz cron schedule or by a table-update
// trigger on the source table. The job's name says which synced table it refreshes, so the
// schedules of a table are found again (`schedulesOf`); its pipeline task says which pipeline.
import type { BaseJob, BaseRun, CronSchedule, Run, TriggerSettings } from '@databricks/sdk-experimental/dist/apis/jobs';
import { LakebaseError } from './errors';
import { waitFor } from './waiting';
import type { WaitProgress } from './waiting';
import { workspaceError } from './workspace';
import type { Workspace } from './workspace';

export type { BaseJob, BaseRun, Run };

export const JOB_ERRORS = {
  runFailed: 'JOB_RUN_FAILED',
  noSchedule: 'SCHEDULE_NOT_FOUND',
} as const;

/** The name of the job that refreshes a synced table: how its schedules are found again. */
export function refreshJobName(syncedTable: string): string {
  return `Refresh synced table ${syncedTable}`;
}

export interface RefreshSchedule {
  syncedTable: string;
  pipelineId: string;
  fullRefresh?: boolean;
  /** A Quartz cron schedule, or ... */
  cron?: { expression: string; timezone: string };
  /** ... a table-update trigger on the source. */
  onChange?: { table: string; waitAfterLastChangeSeconds?: number; minTimeBetweenTriggersSeconds?: number };
}

const TERMINAL = ['TERMINATED', 'SKIPPED', 'INTERNAL_ERROR'];

export class Jobs {
  constructor(private readonly workspace: Workspace) {}

  /** Creates the refresh job of a synced table, or replaces the settings of the one it has. */
  async scheduleRefresh(schedule: RefreshSchedule): Promise<{ jobId: number; replaced: boolean }> {
    const settings = {
      name: refreshJobName(schedule.syncedTable),
      tasks: [{ task_key: 'refresh', pipeline_task: { pipeline_id: schedule.pipelineId, ...(schedule.fullRefresh ? { full_refresh: true } : {}) } }],
      ...(schedule.cron ? { schedule: { quartz_cron_expression: schedule.cron.expression, timezone_id: schedule.cron.timezone, pause_status: 'UNPAUSED' } as CronSchedule } : {}),
      ...(schedule.onChange
        ? {
            trigger: {
              pause_status: 'UNPAUSED',
              table_update: {
                table_names: [schedule.onChange.table],
                condition: 'ANY_UPDATED',
                ...(schedule.onChange.waitAfterLastChangeSeconds !== undefined ? { wait_after_last_change_seconds: schedule.onChange.waitAfterLastChangeSeconds } : {}),
                ...(schedule.onChange.minTimeBetweenTriggersSeconds !== undefined ? { min_time_between_triggers_seconds: schedule.onChange.minTimeBetweenTriggersSeconds } : {}),
              },
            } as TriggerSettings,
          }
        : {}),
    };
    const [existing] = await this.schedulesOf(schedule.syncedTable);
    return this.#call(`schedule refreshes of ${schedule.syncedTable}`, async () => {
      if (existing?.job_id !== undefined) {
        await this.workspace.client.jobs.reset({ job_id: existing.job_id, new_settings: settings });
        return { jobId: existing.job_id, replaced: true };
      }
      const created = await this.workspace.client.jobs.create(settings);
      return { jobId: created.job_id!, replaced: false };
    });
  }

  /** The refresh jobs of a synced table, or of every synced table. */
  async schedulesOf(syncedTable?: string): Promise<BaseJob[]> {
    return this.#call('list the refresh jobs', async () => {
      const jobs: BaseJob[] = [];
      for await (const job of this.workspace.client.jobs.list({ expand_tasks: true, ...(syncedTable ? { name: refreshJobName(syncedTable) } : {}) })) {
        if (job.settings?.tasks?.some((task) => task.pipeline_task !== undefined) && job.settings.name?.startsWith(refreshJobName(''))) jobs.push(job);
      }
      return jobs;
    });
  }

  async delete(jobId: number): Promise<void> {
    await this.#call(`delete the job ${jobId}`, () => this.workspace.client.jobs.delete({ job_id: jobId }));
  }

  async runNow(jobId: number, options: { fullRefresh?: boolean } = {}): Promise<number> {
    const started = await this.#call(`run the job ${jobId}`, () =>
      this.workspace.client.jobs.runNow({ job_id: jobId, ...(options.fullRefresh !== undefined ? { pipeline_params: { full_refresh: options.fullRefresh } } : {}) }),
    );
    return started.run_id!;
  }

  async lastRun(jobId: number): Promise<BaseRun | undefined> {
    return this.#call(`list the runs of the job ${jobId}`, async () => {
      for await (const run of this.workspace.client.jobs.listRuns({ job_id: jobId, limit: 1 })) return run;
      return undefined;
    });
  }

  /** Waits until the run has ended; fails unless it succeeded. */
  waitForRun(runId: number, options: { signal?: AbortSignal; onProgress?: (progress: WaitProgress<Run>) => void } = {}): Promise<Run> {
    return waitFor<Run, Run>({
      description: `the job run ${runId}`,
      poll: () => this.#call(`get the run ${runId}`, () => this.workspace.client.jobs.getRun({ run_id: runId })),
      check: (run) => {
        const state = run.state?.life_cycle_state ?? 'PENDING';
        if (!TERMINAL.includes(state)) return { done: false, state, detail: 'the run to end' };
        if (run.state?.result_state === 'SUCCESS') return { done: true, result: run };
        throw new LakebaseError(JOB_ERRORS.runFailed, `The job run ${runId} ended ${run.state?.result_state ?? state}${run.state?.state_message ? `: ${run.state.state_message}` : '.'}`, {
          hint: run.run_page_url ? `See ${run.run_page_url}.` : undefined,
        });
      },
      ...options,
    });
  }

  async #call<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw workspaceError(error, { host: this.workspace.host, operation });
    }
  }
}
