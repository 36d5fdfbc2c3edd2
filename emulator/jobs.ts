// The emulator's Jobs service: jobs (persisted), their runs and their run history, and the three
// ways a run starts — `run-now`, a Quartz cron schedule that fires on time (`quartz.ts`, croner),
// and a table-update trigger that fires after commits to source tables (`table-trigger.ts`). A run
// executes its pipeline tasks in dependency order, each one a pipeline update started with cause
// JOB_TASK and awaited, so a scheduled synced-table refresh really moves rows.
//
// Run states are the API's, in both forms it reports them: the deprecated `state`
// (`life_cycle_state` PENDING → RUNNING → TERMINATING → TERMINATED or INTERNAL_ERROR, with
// `result_state`) and `status` (`state` with `termination_details`). A failed task ends the run
// with life_cycle_state INTERNAL_ERROR and "Task <key> failed with message: ..." (as the CLI's fake
// workspace records the real service doing). `max_concurrent_runs` (default 1) is enforced: a run
// beyond it waits QUEUED when `queue.enabled`, else is SKIPPED.
import { ApiError, errors } from './api-errors';
import { parseJobSettings, renderSettings, taskOrder } from './job-wire';
import type { JobSettings, TaskSettings } from './job-wire';
import { JOB_LIMITS } from './limits';
import { isActive } from './pipeline-state';
import type { PipelineRegistry } from './pipelines';
import { parseQuartz } from './quartz';
import type { StateStore } from './store';
import { TableUpdateTrigger } from './table-trigger';
import type { Clock } from './table-trigger';

export type RunTrigger = 'PERIODIC' | 'ONE_TIME' | 'TABLE';
export type LifeCycleState = 'QUEUED' | 'PENDING' | 'RUNNING' | 'TERMINATING' | 'TERMINATED' | 'SKIPPED' | 'INTERNAL_ERROR';
export type ResultState = 'SUCCESS' | 'FAILED' | 'CANCELED' | 'UPSTREAM_FAILED' | 'UPSTREAM_CANCELED' | 'MAXIMUM_CONCURRENT_RUNS_REACHED';

export interface JobRecord {
  jobId: number;
  creator: string;
  createdTime: number;
  settings: JobSettings;
}

export interface TaskRunRecord {
  runId: number;
  taskKey: string;
  pipelineId: string;
  fullRefresh: boolean;
  startTime: number;
  endTime: number;
  lifeCycleState: LifeCycleState;
  resultState?: ResultState;
  stateMessage: string;
  /** The pipeline update this task started. */
  updateId?: string;
}

export interface JobRunRecord {
  runId: number;
  jobId: number;
  runName: string;
  creator: string;
  trigger: RunTrigger;
  startTime: number;
  endTime: number;
  queueDuration: number;
  lifeCycleState: LifeCycleState;
  resultState?: ResultState;
  stateMessage: string;
  userCancelledOrTimedout: boolean;
  terminationCode?: string;
  terminationType?: string;
  tasks: TaskRunRecord[];
  fullRefreshOverride?: boolean;
  idempotencyToken?: string;
  /** The schedule that fired a PERIODIC run. */
  schedule?: JobSettings['schedule'];
}

/** Commits to lakehouse tables, for table-update triggers (the emulator's lakehouse provides it). */
export interface TableCommitFeed {
  onCommit(listener: (commit: { table: string; version: number }) => void): () => void;
}

export interface JobRegistryDependencies {
  store: StateStore;
  pipelines: PipelineRegistry;
  /** Where table-update triggers hear of commits (the lakehouse); without it such triggers are refused. */
  tableCommits?: TableCommitFeed;
  /** How long PENDING and TERMINATING last at least. */
  stepDelayMs: number;
  host: () => string;
  log: (line: string) => void;
  clock?: Clock;
}

export const jobErrors = {
  jobNotFound: (id: number) => new ApiError('RESOURCE_DOES_NOT_EXIST', `Job ${id} does not exist.`, { job_id: String(id) }),
  runNotFound: (id: number) => new ApiError('RESOURCE_DOES_NOT_EXIST', `Run ${id} does not exist.`, { run_id: String(id) }),
  noTableFeed: () =>
    errors.notImplemented('Table update triggers without the emulator\'s lakehouse', { field: 'trigger.table_update' }),
};

/** A job's armed schedule or trigger. */
interface ArmedTrigger {
  stop(): void;
  /** Table triggers: what they have seen since their last fire (`trigger_state`). */
  seen?(): unknown;
  /** Table triggers that are not paused: hear of a commit. */
  commit?(table: string): void;
}

interface ActiveRun {
  controller: AbortController;
  done: Promise<void>;
}

export class JobRegistry {
  /** Stops the schedule or trigger of each job. */
  readonly #triggers = new Map<number, ArmedTrigger>();
  readonly #active = new Map<number, ActiveRun>();
  /** Runs waiting for a slot, per job, oldest first. */
  readonly #queued = new Map<number, number[]>();
  #unsubscribeCommits: (() => void) | undefined;
  #closed = false;

  constructor(private readonly deps: JobRegistryDependencies) {}

  private get jobs() {
    return this.deps.store.state.jobs;
  }

  private get runs() {
    return this.deps.store.state.jobRuns;
  }

  // ------------------------------------------------------------------------------------------
  // Jobs

  async create(body: Record<string, unknown>, creator: string): Promise<number> {
    const settings = parseJobSettings(body, 'CreateJob', ['access_control_list']);
    this.#checkTrigger(settings);
    const jobId = ++this.deps.store.state.lastJobId;
    this.jobs[String(jobId)] = { jobId, creator, createdTime: Date.now(), settings };
    await this.deps.store.save();
    this.#arm(this.jobs[String(jobId)]);
    this.deps.log(`job ${jobId}: created (${settings.name})`);
    return jobId;
  }

  get(jobId: number): JobRecord {
    const record = Object.prototype.hasOwnProperty.call(this.jobs, String(jobId)) ? this.jobs[String(jobId)] : undefined;
    if (!record) throw jobErrors.jobNotFound(jobId);
    return record;
  }

  list(name?: string): JobRecord[] {
    const all = Object.values(this.jobs).sort((a, b) => a.jobId - b.jobId);
    return name === undefined ? all : all.filter((job) => job.settings.name.toLowerCase() === name.toLowerCase());
  }

  /** `jobs/reset`: the settings replaced as a whole. */
  async reset(jobId: number, newSettings: Record<string, unknown>): Promise<void> {
    const record = this.get(jobId);
    const settings = parseJobSettings(newSettings, 'JobSettings');
    this.#checkTrigger(settings);
    record.settings = settings;
    await this.deps.store.save();
    this.#arm(record);
  }

  /** `jobs/update`: top-level fields replaced, `fields_to_remove` removed. */
  async update(jobId: number, newSettings: Record<string, unknown>, fieldsToRemove: readonly string[]): Promise<void> {
    const record = this.get(jobId);
    const merged: Record<string, unknown> = { ...(record.settings as unknown as Record<string, unknown>), ...newSettings };
    for (const field of fieldsToRemove) {
      if (!['schedule', 'trigger', 'description', 'tags', 'queue', 'email_notifications', 'webhook_notifications'].includes(field)) {
        throw errors.invalidParameter('fields_to_remove', `'${field}' cannot be removed (the emulator removes schedule, trigger, description, tags, queue and notifications).`);
      }
      delete merged[field];
    }
    if (newSettings.schedule !== undefined) delete merged.trigger;
    if (newSettings.trigger !== undefined) delete merged.schedule;
    // GET does not return trigger.table_update.condition; keep the stored one unless replaced.
    const settings = parseJobSettings(merged, 'JobSettings', ['format']);
    if (newSettings.trigger === undefined && record.settings.trigger && settings.trigger) settings.trigger = record.settings.trigger;
    this.#checkTrigger(settings);
    record.settings = settings;
    await this.deps.store.save();
    this.#arm(record);
  }

  /** Deletes the job: its schedule stops and its active runs are cancelled; its run history stays readable. */
  async delete(jobId: number): Promise<void> {
    this.get(jobId);
    this.#disarm(jobId);
    delete this.jobs[String(jobId)];
    this.#queued.delete(jobId);
    const active = Object.values(this.runs).filter((run) => run.jobId === jobId && this.#isActiveRun(run));
    await Promise.all(active.map((run) => this.cancel(run.runId)));
    await this.deps.store.save();
  }

  /** `trigger_state` of a job with a table-update trigger. */
  triggerState(jobId: number): Record<string, unknown> | undefined {
    const trigger = this.#triggers.get(jobId);
    const seen = trigger?.seen?.();
    return seen === undefined ? undefined : { table: { last_seen_table_states: seen } };
  }

  // ------------------------------------------------------------------------------------------
  // Runs

  /** Starts a run now (`run-now`, a schedule, a trigger); returns its id. */
  async runNow(jobId: number, options: { trigger: RunTrigger; fullRefresh?: boolean; creator?: string; idempotencyToken?: string }): Promise<JobRunRecord> {
    const job = this.get(jobId);
    // "If a run with the provided token already exists, the request does not create a new run but
    // returns the ID of the existing run instead" (RunNow.idempotency_token).
    const token = options.idempotencyToken;
    const earlier = token === undefined ? undefined : Object.values(this.runs).find((run) => run.idempotencyToken === token);
    if (earlier) return earlier;
    const runId = ++this.deps.store.state.lastRunId;
    const run: JobRunRecord = {
      runId,
      jobId,
      runName: job.settings.name,
      creator: options.creator ?? job.creator,
      trigger: options.trigger,
      startTime: Date.now(),
      endTime: 0,
      queueDuration: 0,
      lifeCycleState: 'PENDING',
      stateMessage: '',
      userCancelledOrTimedout: false,
      tasks: taskOrder(job.settings.tasks).map((task) => this.#newTaskRun(task, options.fullRefresh)),
      ...(options.fullRefresh !== undefined ? { fullRefreshOverride: options.fullRefresh } : {}),
      ...(token !== undefined ? { idempotencyToken: token } : {}),
      ...(options.trigger === 'PERIODIC' && job.settings.schedule ? { schedule: job.settings.schedule } : {}),
    };
    this.runs[String(runId)] = run;
    this.#forgetOldRuns(jobId);
    const limit = job.settings.max_concurrent_runs;
    const activeCount = Object.values(this.runs).filter((other) => other.jobId === jobId && other.runId !== runId && this.#isActiveRun(other)).length;
    if (activeCount >= limit) {
      if (job.settings.queue?.enabled) {
        run.lifeCycleState = 'QUEUED';
        run.stateMessage = `Queued because the job has reached its limit of ${limit} concurrent ${limit === 1 ? 'run' : 'runs'}.`;
        const queue = this.#queued.get(jobId) ?? [];
        queue.push(runId);
        this.#queued.set(jobId, queue);
      } else {
        this.#finish(run, 'SKIPPED', 'MAXIMUM_CONCURRENT_RUNS_REACHED', `Skipping this run because the limit of ${limit} maximum concurrent runs has been reached.`, {
          code: 'MAX_CONCURRENT_RUNS_EXCEEDED',
          type: 'CLIENT_ERROR',
        });
      }
      await this.deps.store.save();
      return run;
    }
    await this.deps.store.save();
    this.#start(run);
    return run;
  }

  getRun(runId: number): JobRunRecord {
    const run = Object.prototype.hasOwnProperty.call(this.runs, String(runId)) ? this.runs[String(runId)] : undefined;
    if (!run) throw jobErrors.runNotFound(runId);
    return run;
  }

  /** Newest first. */
  listRuns(filter: { jobId?: number; activeOnly?: boolean; completedOnly?: boolean; startTimeFrom?: number; startTimeTo?: number }): JobRunRecord[] {
    return Object.values(this.runs)
      .filter((run) => filter.jobId === undefined || run.jobId === filter.jobId)
      .filter((run) => !filter.activeOnly || this.#isActiveRun(run))
      .filter((run) => !filter.completedOnly || !this.#isActiveRun(run))
      .filter((run) => filter.startTimeFrom === undefined || run.startTime >= filter.startTimeFrom)
      .filter((run) => filter.startTimeTo === undefined || run.startTime <= filter.startTimeTo)
      .sort((a, b) => b.runId - a.runId);
  }

  /** Cancels a run that is still going (a no-op for one that ended, as the API's cancel is). */
  async cancel(runId: number): Promise<void> {
    const run = this.getRun(runId);
    if (run.lifeCycleState === 'QUEUED') {
      const queue = this.#queued.get(run.jobId) ?? [];
      this.#queued.set(run.jobId, queue.filter((id) => id !== runId));
      run.userCancelledOrTimedout = true;
      this.#finish(run, 'TERMINATED', 'CANCELED', 'Run cancelled.', { code: 'USER_CANCELED', type: 'SUCCESS' });
      await this.deps.store.save();
      return;
    }
    const active = this.#active.get(runId);
    if (!active) return;
    run.userCancelledOrTimedout = true;
    active.controller.abort(new Error('Run cancelled.'));
  }

  /** Resolves when the run has ended (tests, and the emulator's shutdown). */
  async settled(runId: number): Promise<JobRunRecord> {
    await this.#active.get(runId)?.done;
    return this.getRun(runId);
  }

  /** At emulator start: schedules and triggers come back; runs cut off by a stop are recorded as failed. */
  async restore(): Promise<void> {
    for (const run of Object.values(this.runs)) {
      if (!this.#isActiveRun(run)) continue;
      for (const task of run.tasks) {
        if (isTaskActive(task)) Object.assign(task, { lifeCycleState: 'INTERNAL_ERROR', resultState: 'FAILED', stateMessage: 'The emulator stopped while this task ran.', endTime: Date.now() });
      }
      this.#finish(run, 'INTERNAL_ERROR', 'FAILED', 'The emulator stopped while this run was active.', { code: 'INTERNAL_ERROR', type: 'INTERNAL_ERROR' });
    }
    await this.deps.store.save();
    for (const job of Object.values(this.jobs)) {
      try {
        this.#arm(job);
      } catch (error) {
        this.deps.log(`job ${job.jobId}: its schedule or trigger could not be restored: ${(error as Error).message}`);
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const jobId of [...this.#triggers.keys()]) this.#disarm(jobId);
    this.#unsubscribeCommits?.();
    for (const active of this.#active.values()) active.controller.abort(new Error('The emulator is stopping.'));
    await Promise.allSettled([...this.#active.values()].map((active) => active.done));
  }

  // ------------------------------------------------------------------------------------------
  // Schedules and triggers

  #checkTrigger(settings: JobSettings): void {
    if (settings.trigger && this.deps.tableCommits === undefined) throw jobErrors.noTableFeed();
  }

  /** (Re)starts the job's schedule or trigger from its current settings. */
  #arm(job: JobRecord): void {
    this.#disarm(job.jobId);
    if (this.#closed) return;
    const { schedule, trigger } = job.settings;
    if (schedule && schedule.pause_status === 'UNPAUSED') {
      const stop = parseQuartz(schedule.quartz_cron_expression, schedule.timezone_id).start(() => this.#fire(job.jobId, 'PERIODIC'));
      this.#triggers.set(job.jobId, { stop });
    } else if (trigger) {
      const update = trigger.table_update;
      const tableTrigger = new TableUpdateTrigger(
        {
          tableNames: update.table_names,
          condition: update.condition ?? 'ANY_UPDATED',
          waitAfterLastChangeMs: (update.wait_after_last_change_seconds ?? 0) * 1000,
          minTimeBetweenTriggersMs: (update.min_time_between_triggers_seconds ?? 0) * 1000,
        },
        () => this.#fire(job.jobId, 'TABLE'),
        this.deps.clock,
      );
      this.#listenForCommits();
      this.#triggers.set(job.jobId, {
        stop: () => tableTrigger.stop(),
        seen: () => tableTrigger.seen(),
        // A paused trigger hears of no commit, so it never fires.
        ...(trigger.pause_status === 'UNPAUSED' ? { commit: (table: string) => tableTrigger.commit(table) } : {}),
      });
    }
  }

  #disarm(jobId: number): void {
    this.#triggers.get(jobId)?.stop();
    this.#triggers.delete(jobId);
  }

  #listenForCommits(): void {
    if (this.#unsubscribeCommits) return;
    const feed = this.deps.tableCommits;
    if (!feed) return;
    this.#unsubscribeCommits = feed.onCommit(({ table }) => {
      for (const trigger of this.#triggers.values()) trigger.commit?.(table);
    });
  }

  #fire(jobId: number, trigger: RunTrigger): void {
    if (this.#closed) return;
    this.runNow(jobId, { trigger }).catch((error: unknown) => this.deps.log(`job ${jobId}: a ${trigger} run could not start: ${(error as Error).stack ?? String(error)}`));
  }

  // ------------------------------------------------------------------------------------------
  // Executing a run

  #newTaskRun(task: TaskSettings, fullRefreshOverride: boolean | undefined): TaskRunRecord {
    return {
      runId: ++this.deps.store.state.lastRunId,
      taskKey: task.task_key,
      pipelineId: task.pipeline_task.pipeline_id,
      fullRefresh: fullRefreshOverride ?? task.pipeline_task.full_refresh ?? false,
      startTime: 0,
      endTime: 0,
      lifeCycleState: 'PENDING',
      stateMessage: '',
    };
  }

  #isActiveRun(run: JobRunRecord): boolean {
    return ['QUEUED', 'PENDING', 'RUNNING', 'TERMINATING'].includes(run.lifeCycleState);
  }

  #start(run: JobRunRecord): void {
    const controller = new AbortController();
    const done = this.#execute(run, controller.signal)
      .catch((error: unknown) => {
        this.deps.log(`run ${run.runId}: failed unexpectedly: ${(error as Error).stack ?? String(error)}`);
        this.#finish(run, 'INTERNAL_ERROR', 'FAILED', 'The emulator failed to run this job; see its log.', { code: 'INTERNAL_ERROR', type: 'INTERNAL_ERROR' });
      })
      .finally(async () => {
        this.#active.delete(run.runId);
        await this.deps.store.save();
        this.#startQueued(run.jobId);
      });
    this.#active.set(run.runId, { controller, done });
  }

  #startQueued(jobId: number): void {
    const queue = this.#queued.get(jobId);
    const next = queue?.shift();
    if (next === undefined || this.#closed) return;
    const run = this.runs[String(next)];
    if (!run || run.lifeCycleState !== 'QUEUED') return this.#startQueued(jobId);
    run.queueDuration = Date.now() - run.startTime;
    run.lifeCycleState = 'PENDING';
    run.stateMessage = '';
    this.#start(run);
  }

  async #execute(run: JobRunRecord, signal: AbortSignal): Promise<void> {
    await this.#pause(signal);
    if (signal.aborted) return this.#cancelled(run);
    run.lifeCycleState = 'RUNNING';
    await this.deps.store.save();
    let failure: TaskRunRecord | undefined;
    for (const task of run.tasks) {
      if (failure || signal.aborted) {
        Object.assign(task, {
          lifeCycleState: 'TERMINATED',
          resultState: signal.aborted ? 'UPSTREAM_CANCELED' : 'UPSTREAM_FAILED',
          stateMessage: signal.aborted ? 'An upstream task was cancelled.' : `Upstream task ${failure?.taskKey} failed.`,
        });
        continue;
      }
      await this.#runTask(task, signal);
      if (task.resultState !== 'SUCCESS' && task.resultState !== 'CANCELED') failure = task;
    }
    run.lifeCycleState = 'TERMINATING';
    await this.deps.store.save();
    await this.#pause(undefined);
    if (signal.aborted || run.tasks.some((task) => task.resultState === 'CANCELED')) return this.#cancelled(run);
    if (failure) {
      return this.#finish(run, 'INTERNAL_ERROR', 'FAILED', `Task ${failure.taskKey} failed with message: ${failure.stateMessage.replace(/\.$/, '')}.`, {
        code: 'RUN_EXECUTION_ERROR',
        type: 'CLIENT_ERROR',
      });
    }
    this.#finish(run, 'TERMINATED', 'SUCCESS', '', { code: 'SUCCESS', type: 'SUCCESS' });
  }

  /** One pipeline task: start an update (cause JOB_TASK) and wait for it to end. */
  async #runTask(task: TaskRunRecord, signal: AbortSignal): Promise<void> {
    const pipelines = this.deps.pipelines;
    task.startTime = Date.now();
    task.lifeCycleState = 'RUNNING';
    const fail = (message: string) => Object.assign(task, { lifeCycleState: 'INTERNAL_ERROR', resultState: 'FAILED', stateMessage: message, endTime: Date.now() });
    let updateId: string;
    try {
      const record = pipelines.get(task.pipelineId);
      // "Continuous pipelines are not supported as a job task" (docs: jobs/tasks/pipeline).
      if (record.continuous) return void fail(`Pipeline ${task.pipelineId} is continuous; continuous pipelines are not supported as a job task.`);
      updateId = (await pipelines.startUpdate(task.pipelineId, { cause: 'JOB_TASK', fullRefresh: task.fullRefresh })).id;
    } catch (error) {
      return void fail(error instanceof Error ? error.message : String(error));
    }
    task.updateId = updateId;
    await this.deps.store.save();
    const stop = () => void pipelines.stop(task.pipelineId);
    signal.addEventListener('abort', stop, { once: true });
    try {
      const update = await pipelines.settled(task.pipelineId, updateId);
      task.endTime = Date.now();
      if (update.state === 'COMPLETED') Object.assign(task, { lifeCycleState: 'TERMINATED', resultState: 'SUCCESS', stateMessage: '' });
      else if (update.state === 'CANCELED') Object.assign(task, { lifeCycleState: 'TERMINATED', resultState: 'CANCELED', stateMessage: 'The pipeline update was cancelled.' });
      else if (isActive(update.state)) throw new Error(`Bug: pipeline update ${updateId} settled in ${update.state}.`);
      else fail(`The pipeline update ${updateId} failed${update.message ? `: ${update.message}` : ''}`);
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  #cancelled(run: JobRunRecord): void {
    for (const task of run.tasks) {
      if (isTaskActive(task)) Object.assign(task, { lifeCycleState: 'TERMINATED', resultState: 'CANCELED', stateMessage: 'Run cancelled.', endTime: Date.now() });
    }
    run.userCancelledOrTimedout = true;
    this.#finish(run, 'TERMINATED', 'CANCELED', 'Run cancelled.', { code: 'USER_CANCELED', type: 'SUCCESS' });
  }

  #finish(run: JobRunRecord, lifeCycleState: LifeCycleState, resultState: ResultState, message: string, termination: { code: string; type: string }): void {
    run.lifeCycleState = lifeCycleState;
    run.resultState = resultState;
    run.stateMessage = message;
    run.terminationCode = termination.code;
    run.terminationType = termination.type;
    run.endTime = Date.now();
    this.deps.log(`run ${run.runId} of job ${run.jobId}: ${lifeCycleState} ${resultState}${message ? ` (${message})` : ''}`);
  }

  #forgetOldRuns(jobId: number): void {
    const ofJob = Object.values(this.runs).filter((run) => run.jobId === jobId && !this.#isActiveRun(run)).sort((a, b) => b.runId - a.runId);
    for (const old of ofJob.slice(JOB_LIMITS.runsKeptPerJob)) delete this.runs[String(old.runId)];
  }

  #pause(signal: AbortSignal | undefined): Promise<void> {
    if (this.deps.stepDelayMs <= 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.deps.stepDelayMs);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}

function isTaskActive(task: TaskRunRecord): boolean {
  return ['PENDING', 'RUNNING', 'QUEUED', 'TERMINATING'].includes(task.lifeCycleState);
}

// ------------------------------------------------------------------------------------------------
// Rendering (`Job`, `BaseJob`, `Run`)

export function renderJob(job: JobRecord, options: { tasks: boolean; triggerState?: Record<string, unknown> }): Record<string, unknown> {
  return {
    job_id: job.jobId,
    creator_user_name: job.creator,
    run_as_user_name: job.creator,
    created_time: job.createdTime,
    settings: renderSettings(job.settings, { tasks: options.tasks }),
    ...(options.triggerState ? { trigger_state: options.triggerState } : {}),
  };
}

const STATUS_STATE: Record<LifeCycleState, string> = {
  QUEUED: 'QUEUED',
  PENDING: 'PENDING',
  RUNNING: 'RUNNING',
  TERMINATING: 'TERMINATING',
  TERMINATED: 'TERMINATED',
  SKIPPED: 'TERMINATED',
  INTERNAL_ERROR: 'TERMINATED',
};

function renderState(lifeCycleState: LifeCycleState, resultState: ResultState | undefined, message: string, userCancelled: boolean) {
  return {
    life_cycle_state: lifeCycleState,
    ...(resultState ? { result_state: resultState } : {}),
    state_message: message,
    user_cancelled_or_timedout: userCancelled,
    ...(lifeCycleState === 'QUEUED' ? { queue_reason: message } : {}),
  };
}

export function renderRun(run: JobRunRecord, host: string, options: { tasks: boolean }): Record<string, unknown> {
  const ended = run.endTime > 0;
  const runDuration = ended ? run.endTime - run.startTime : 0;
  return {
    job_id: run.jobId,
    run_id: run.runId,
    number_in_job: run.runId,
    original_attempt_run_id: run.runId,
    attempt_number: 0,
    creator_user_name: run.creator,
    run_name: run.runName,
    run_type: 'JOB_RUN',
    trigger: run.trigger,
    start_time: run.startTime,
    end_time: run.endTime,
    queue_duration: run.queueDuration,
    setup_duration: 0,
    execution_duration: 0,
    cleanup_duration: 0,
    run_duration: runDuration,
    run_page_url: `${host}/#job/${run.jobId}/run/${run.runId}`,
    format: 'MULTI_TASK',
    state: renderState(run.lifeCycleState, run.resultState, run.stateMessage, run.userCancelledOrTimedout),
    status: {
      state: STATUS_STATE[run.lifeCycleState],
      ...(run.lifeCycleState === 'QUEUED' ? { queue_details: { code: 'ACTIVE_RUNS_LIMIT_REACHED', message: run.stateMessage } } : {}),
      ...(run.terminationCode && ended ? { termination_details: { code: run.terminationCode, type: run.terminationType, message: run.stateMessage } } : {}),
    },
    ...(run.schedule ? { schedule: run.schedule } : {}),
    ...(run.fullRefreshOverride !== undefined ? { overriding_parameters: { pipeline_params: { full_refresh: run.fullRefreshOverride } } } : {}),
    ...(options.tasks
      ? {
          tasks: run.tasks.map((task) => ({
            run_id: task.runId,
            task_key: task.taskKey,
            pipeline_task: { pipeline_id: task.pipelineId, full_refresh: task.fullRefresh },
            start_time: task.startTime,
            end_time: task.endTime,
            attempt_number: 0,
            run_if: 'ALL_SUCCESS',
            run_page_url: `${host}/#job/${run.jobId}/run/${task.runId}`,
            state: renderState(task.lifeCycleState, task.resultState, task.stateMessage, run.userCancelledOrTimedout),
            status: { state: STATUS_STATE[task.lifeCycleState] },
          })),
        }
      : {}),
  };
}
