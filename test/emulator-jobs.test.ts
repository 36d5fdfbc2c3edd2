// The emulator's Jobs API through the official JS SDK: jobs kept as the real service keeps them, a
// Quartz schedule that fires on time and leaves a run history, and the real errors.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ApiError } from '@databricks/sdk-experimental';
import type { WorkspaceClient } from '@databricks/sdk-experimental';
import { startTestEmulator } from './support/emulator-workspace';
import type { TestEmulator } from './support/emulator-workspace';

let emulator: TestEmulator;
let sdk: WorkspaceClient;

beforeAll(async () => {
  emulator = await startTestEmulator();
  sdk = (await emulator.userWorkspace()).client;
});

afterAll(async () => {
  await emulator?.stop();
});

async function apiFailure(promise: Promise<unknown>): Promise<ApiError> {
  const outcome = await promise.then(() => undefined, (error: unknown) => error);
  if (outcome instanceof ApiError) return outcome;
  throw new Error(`expected an ApiError, got ${outcome === undefined ? 'success' : String(outcome)}`);
}

async function runsOf(jobId: number) {
  const runs = [];
  for await (const run of sdk.jobs.listRuns({ job_id: jobId, expand_tasks: true })) runs.push(run);
  return runs;
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const task = (pipelineId: string) => ({ task_key: 'refresh', pipeline_task: { pipeline_id: pipelineId } });

describe('jobs', () => {
  test('a job is kept as given, with the defaults the service fills in, listed and deleted', async () => {
    const { job_id: jobId } = await sdk.jobs.create({
      name: 'nightly refresh',
      tasks: [task('0000-pipeline')],
      schedule: { quartz_cron_expression: '0 0 2 * * ?', timezone_id: 'Europe/Amsterdam' },
      tags: { team: 'serving' },
    });
    const job = await sdk.jobs.get({ job_id: jobId! });
    expect(job).toMatchObject({
      job_id: jobId,
      creator_user_name: 'default-user@lakebase.local',
      settings: {
        name: 'nightly refresh',
        max_concurrent_runs: 1,
        timeout_seconds: 0,
        format: 'MULTI_TASK',
        tags: { team: 'serving' },
        schedule: { quartz_cron_expression: '0 0 2 * * ?', timezone_id: 'Europe/Amsterdam', pause_status: 'UNPAUSED' },
        tasks: [{ task_key: 'refresh', pipeline_task: { pipeline_id: '0000-pipeline' }, run_if: 'ALL_SUCCESS' }],
      },
    });
    const listed = [];
    for await (const entry of sdk.jobs.list({ name: 'Nightly Refresh' })) listed.push(entry);
    expect(listed.map((entry) => entry.job_id)).toEqual([jobId]);
    expect(listed[0].settings?.tasks).toBeUndefined();
    await sdk.jobs.delete({ job_id: jobId! });
    const gone = await apiFailure(sdk.jobs.get({ job_id: jobId! }));
    expect({ status: gone.statusCode, code: gone.errorCode, message: gone.message }).toEqual({ status: 404, code: 'RESOURCE_DOES_NOT_EXIST', message: `Job ${jobId} does not exist.` });
  });

  test('a Quartz schedule fires on time, each run kept in the history, until it is paused', async () => {
    const { job_id: jobId } = await sdk.jobs.create({
      name: 'every second',
      tasks: [task('no-such-pipeline')],
      schedule: { quartz_cron_expression: '* * * * * ?', timezone_id: 'UTC' },
    });
    const runs = await until(() => runsOf(jobId!), (list) => list.filter((run) => run.state?.life_cycle_state === 'INTERNAL_ERROR').length >= 2);
    const ended = runs.filter((run) => run.state?.life_cycle_state === 'INTERNAL_ERROR');
    // Newest first, each started by the schedule at (about) a whole second.
    expect(ended[0].run_id!).toBeGreaterThan(ended[1].run_id!);
    for (const run of ended) {
      expect(run).toMatchObject({
        job_id: jobId,
        trigger: 'PERIODIC',
        run_type: 'JOB_RUN',
        schedule: { quartz_cron_expression: '* * * * * ?', timezone_id: 'UTC', pause_status: 'UNPAUSED' },
        state: { life_cycle_state: 'INTERNAL_ERROR', result_state: 'FAILED', state_message: 'Task refresh failed with message: The specified pipeline no-such-pipeline was not found.' },
        status: { state: 'TERMINATED', termination_details: { code: 'RUN_EXECUTION_ERROR', type: 'CLIENT_ERROR' } },
        tasks: [{ task_key: 'refresh', state: { life_cycle_state: 'INTERNAL_ERROR', result_state: 'FAILED' } }],
      });
      expect(run.end_time!).toBeGreaterThanOrEqual(run.start_time!);
    }
    expect(ended[0].start_time! - ended[1].start_time!).toBeGreaterThanOrEqual(500);

    await sdk.jobs.update({ job_id: jobId!, new_settings: { schedule: { quartz_cron_expression: '* * * * * ?', timezone_id: 'UTC', pause_status: 'PAUSED' } } });
    const paused = (await runsOf(jobId!)).length;
    // Another job's schedule firing twice is time enough for the paused one to have fired, had it run.
    const { job_id: witness } = await sdk.jobs.create({ name: 'witness', tasks: [task('x')], schedule: { quartz_cron_expression: '* * * * * ?', timezone_id: 'UTC' } });
    await until(() => runsOf(witness!), (list) => list.length >= 2);
    expect((await runsOf(jobId!)).length).toBe(paused);
    await sdk.jobs.delete({ job_id: witness! });
    await sdk.jobs.delete({ job_id: jobId! });
    // The history outlives the job.
    expect((await sdk.jobs.getRun({ run_id: ended[0].run_id! })).job_id).toBe(jobId);
  });

  test('run-now with a full refresh override, and runs listed by state', async () => {
    const { job_id: jobId } = await sdk.jobs.create({ name: 'on demand', tasks: [task('none')] });
    const started = await sdk.jobs.runNow({ job_id: jobId!, pipeline_params: { full_refresh: true }, idempotency_token: 'refresh-1' });
    const again = await sdk.jobs.runNow({ job_id: jobId!, idempotency_token: 'refresh-1' });
    expect(again.run_id).toBe(started.run_id);
    const run = await until(() => sdk.jobs.getRun({ run_id: started.run_id! }), (r) => r.status?.state === 'TERMINATED');
    expect(run).toMatchObject({ trigger: 'ONE_TIME', overriding_parameters: { pipeline_params: { full_refresh: true } }, tasks: [{ pipeline_task: { full_refresh: true } }] });
    const completed = [];
    for await (const entry of sdk.jobs.listRuns({ job_id: jobId!, completed_only: true })) completed.push(entry.run_id);
    expect(completed).toEqual([started.run_id]);
    const active = [];
    for await (const entry of sdk.jobs.listRuns({ job_id: jobId!, active_only: true })) active.push(entry.run_id);
    expect(active).toEqual([]);
    await sdk.jobs.cancelRun({ run_id: started.run_id! });
    expect((await sdk.jobs.getRun({ run_id: started.run_id! })).state?.result_state).toBe('FAILED');
  });

  test('what the service refuses, it refuses by name', async () => {
    const refused = async (settings: Record<string, unknown>) => {
      const error = await apiFailure(sdk.jobs.create(settings as never));
      return { status: error.statusCode, code: error.errorCode, message: error.message };
    };
    expect(await refused({ name: 'x', tasks: [task('p')], schedule: { quartz_cron_expression: '0 * * * *', timezone_id: 'UTC' } }))
      .toMatchObject({ status: 400, code: 'INVALID_PARAMETER_VALUE', message: expect.stringContaining('6 or 7') });
    expect(await refused({ name: 'x', tasks: [task('p')], schedule: { quartz_cron_expression: '0 0 12 * * *', timezone_id: 'UTC' } }))
      .toMatchObject({ code: 'INVALID_PARAMETER_VALUE', message: expect.stringContaining("'?'") });
    expect(await refused({ name: 'x', tasks: [task('p')], schedule: { quartz_cron_expression: '0 0 12 * * ?', timezone_id: 'Nowhere/City' } }))
      .toMatchObject({ code: 'INVALID_PARAMETER_VALUE', message: expect.stringContaining('timezone_id') });
    expect(await refused({ name: 'x', tasks: [{ task_key: 'nb', notebook_task: { notebook_path: '/x' } }] })).toMatchObject({ status: 501, code: 'NOT_IMPLEMENTED' });
    expect(await refused({ name: 'x', tasks: [task('p')], trigger: { table_update: { table_names: ['main.default.t'], wait_after_last_change_seconds: 5 } } }))
      .toMatchObject({ code: 'INVALID_PARAMETER_VALUE', message: expect.stringContaining('from 60') });
    expect(await refused({
      name: 'x', tasks: [task('p')], schedule: { quartz_cron_expression: '0 0 12 * * ?', timezone_id: 'UTC' },
      trigger: { table_update: { table_names: ['main.default.t'] } },
    })).toMatchObject({ code: 'INVALID_PARAMETER_VALUE' });
    expect(await refused({ name: 'x', tasks: [{ ...task('p'), depends_on: [{ task_key: 'ghost' }] }] })).toMatchObject({ code: 'INVALID_PARAMETER_VALUE', message: expect.stringContaining('ghost') });
    const missingRun = await apiFailure(sdk.jobs.getRun({ run_id: 987654 }));
    expect({ status: missingRun.statusCode, message: missingRun.message }).toEqual({ status: 404, message: 'Run 987654 does not exist.' });
  });
});

describe('pipelines', () => {
  test('an unknown pipeline is the real 404; creating one directly is refused by name', async () => {
    const missing = await apiFailure(sdk.pipelines.get({ pipeline_id: 'nope' }));
    expect({ status: missing.statusCode, code: missing.errorCode, message: missing.message }).toEqual({
      status: 404, code: 'RESOURCE_DOES_NOT_EXIST', message: 'The specified pipeline nope was not found.',
    });
    const created = await apiFailure(sdk.pipelines.create({ name: 'dlt' }));
    expect(created.statusCode).toBe(501);
    const statuses = [];
    for await (const status of sdk.pipelines.listPipelines({})) statuses.push(status);
    expect(statuses).toEqual([]);
  });
});
