// `/api/2.2/jobs/*` (and the same under 2.1, which older clients call): jobs create, get, list,
// reset, update, delete, run-now, and runs get, list, cancel — as the JS SDK's `JobsService` sends
// them (GET with query parameters, POST with JSON bodies) and parses the replies.
import { errors } from '../api-errors';
import { caller, onlyFields, optionalBoolean, optionalString, queryBoolean } from '../http';
import type { Reply, Request, Route } from '../http';
import { parseJobId } from '../job-wire';
import { renderJob, renderRun } from '../jobs';
import type { JobRegistry, JobRunRecord } from '../jobs';
import { JOB_LIMITS } from '../limits';

function ok(body: unknown): Reply {
  return { status: 200, body };
}

function parseLimit(raw: string | null, limits: { default: number; max: number }): number {
  if (raw === null || raw === '') return limits.default;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > limits.max) {
    throw errors.invalidParameter('limit', `limit must be a whole number from 1 to ${limits.max}, got '${raw}'.`);
  }
  // "If a request specifies a limit of 0, the service instead uses the maximum limit."
  return value === 0 ? limits.max : value;
}

/** Offset-based pages (`offset`, or the `page_token` that encodes the next offset). */
function page<T>(items: readonly T[], request: Request, limits: { default: number; max: number }) {
  const limit = parseLimit(request.url.searchParams.get('limit'), limits);
  const token = request.url.searchParams.get('page_token');
  const offsetText = token ? Buffer.from(token, 'base64url').toString('utf8') : request.url.searchParams.get('offset') ?? '0';
  const offset = Number(offsetText);
  if (!Number.isInteger(offset) || offset < 0) throw errors.invalidParameter(token ? 'page_token' : 'offset', 'Invalid page_token or offset.');
  const slice = items.slice(offset, offset + limit);
  const more = offset + limit < items.length;
  const encode = (at: number) => Buffer.from(String(at), 'utf8').toString('base64url');
  return {
    items: slice,
    has_more: more,
    ...(more ? { next_page_token: encode(offset + limit) } : {}),
    ...(offset > 0 ? { prev_page_token: encode(Math.max(0, offset - limit)) } : {}),
  };
}

function queryNumber(request: Request, field: string): number | undefined {
  const raw = request.url.searchParams.get(field);
  if (raw === null || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw errors.invalidParameter(field, `${field} must be a whole number, got '${raw}'.`);
  return value;
}

export function jobRoutes(jobs: JobRegistry, host: () => string): Route[] {
  const routes = (version: '2.1' | '2.2'): Route[] => {
    const base = `/api/${version}/jobs`;
    const run = (record: JobRunRecord, tasks: boolean) => renderRun(record, host(), { tasks });
    return [
      {
        method: 'POST', path: `${base}/create`, authenticated: true,
        async handle(request) {
          return ok({ job_id: await jobs.create(request.body, caller(request).postgresName) });
        },
      },
      {
        method: 'GET', path: `${base}/get`, authenticated: true,
        handle(request) {
          const jobId = parseJobId(request.url.searchParams.get('job_id'));
          const job = jobs.get(jobId);
          return ok(renderJob(job, { tasks: true, triggerState: jobs.triggerState(jobId) }));
        },
      },
      {
        method: 'GET', path: `${base}/list`, authenticated: true,
        handle(request) {
          const expand = queryBoolean(request.url, 'expand_tasks') ?? false;
          const name = request.url.searchParams.get('name') ?? undefined;
          const { items, ...rest } = page(jobs.list(name), request, JOB_LIMITS.listJobs);
          return ok({ jobs: items.map((job) => renderJob(job, { tasks: expand || version === '2.1' })), ...rest });
        },
      },
      {
        method: 'POST', path: `${base}/reset`, authenticated: true,
        async handle(request) {
          onlyFields(request.body, ['job_id', 'new_settings'], 'ResetJob');
          const settings = request.body.new_settings;
          if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) throw errors.missingParameter('new_settings');
          await jobs.reset(parseJobId(request.body.job_id), settings as Record<string, unknown>);
          return ok({});
        },
      },
      {
        method: 'POST', path: `${base}/update`, authenticated: true,
        async handle(request) {
          onlyFields(request.body, ['job_id', 'new_settings', 'fields_to_remove'], 'UpdateJob');
          const settings = request.body.new_settings ?? {};
          if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) throw errors.invalidParameter('new_settings', 'new_settings must be an object.');
          const remove = request.body.fields_to_remove ?? [];
          if (!Array.isArray(remove) || remove.some((field) => typeof field !== 'string')) throw errors.invalidParameter('fields_to_remove', 'fields_to_remove must be a list of field names.');
          await jobs.update(parseJobId(request.body.job_id), settings as Record<string, unknown>, remove as string[]);
          return ok({});
        },
      },
      {
        method: 'POST', path: `${base}/delete`, authenticated: true,
        async handle(request) {
          onlyFields(request.body, ['job_id'], 'DeleteJob');
          await jobs.delete(parseJobId(request.body.job_id));
          return ok({});
        },
      },
      {
        method: 'POST', path: `${base}/run-now`, authenticated: true,
        async handle(request) {
          const body = request.body;
          onlyFields(body, ['job_id', 'pipeline_params', 'idempotency_token', 'job_parameters', 'queue', 'only', 'performance_target'], 'RunNow');
          for (const field of ['job_parameters', 'only', 'performance_target', 'queue']) {
            if (body[field] !== undefined) throw errors.notImplemented(`RunNow.${field}`, { field });
          }
          let fullRefresh: boolean | undefined;
          if (body.pipeline_params !== undefined) {
            const params = body.pipeline_params;
            if (typeof params !== 'object' || params === null || Array.isArray(params)) throw errors.invalidParameter('pipeline_params', 'pipeline_params must be an object.');
            onlyFields(params as Record<string, unknown>, ['full_refresh'], 'PipelineParams');
            fullRefresh = optionalBoolean(params as Record<string, unknown>, 'full_refresh');
          }
          const token = optionalString(body, 'idempotency_token');
          const started = await jobs.runNow(parseJobId(body.job_id), { trigger: 'ONE_TIME', fullRefresh, creator: caller(request).postgresName, idempotencyToken: token });
          return ok({ run_id: started.runId, number_in_job: started.runId });
        },
      },
      {
        method: 'GET', path: `${base}/runs/get`, authenticated: true,
        handle(request) {
          return ok(run(jobs.getRun(parseJobId(request.url.searchParams.get('run_id'), 'run_id')), true));
        },
      },
      {
        method: 'GET', path: `${base}/runs/list`, authenticated: true,
        handle(request) {
          const activeOnly = queryBoolean(request.url, 'active_only') ?? false;
          const completedOnly = queryBoolean(request.url, 'completed_only') ?? false;
          if (activeOnly && completedOnly) throw errors.invalidParameter('active_only', 'active_only and completed_only cannot both be true.');
          const runType = request.url.searchParams.get('run_type');
          const jobIdText = request.url.searchParams.get('job_id');
          const all = runType && runType !== 'JOB_RUN' ? [] : jobs.listRuns({
            jobId: jobIdText ? parseJobId(jobIdText) : undefined,
            activeOnly,
            completedOnly,
            startTimeFrom: queryNumber(request, 'start_time_from'),
            startTimeTo: queryNumber(request, 'start_time_to'),
          });
          const expand = queryBoolean(request.url, 'expand_tasks') ?? false;
          const { items, ...rest } = page(all, request, JOB_LIMITS.listRuns);
          return ok({ runs: items.map((record) => run(record, expand)), ...rest });
        },
      },
      {
        method: 'POST', path: `${base}/runs/cancel`, authenticated: true,
        async handle(request) {
          onlyFields(request.body, ['run_id'], 'CancelRun');
          await jobs.cancel(parseJobId(request.body.run_id, 'run_id'));
          return ok({});
        },
      },
      {
        method: '*', path: `${base}/{verb}`, authenticated: true,
        handle(request) {
          throw errors.notImplemented(`The Jobs API's ${request.params.verb}`, { verb: request.params.verb });
        },
      },
      {
        method: '*', path: `${base}/runs/{verb}`, authenticated: true,
        handle(request) {
          throw errors.notImplemented(`The Jobs API's runs/${request.params.verb}`, { verb: request.params.verb });
        },
      },
    ];
  };
  return [...routes('2.2'), ...routes('2.1')];
}
