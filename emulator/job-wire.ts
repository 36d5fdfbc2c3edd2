// The wire form of Jobs API 2.2 objects (`jobs/model.d.ts` of the JS SDK, the Python SDK's
// `jobs.py`) and what the emulator accepts of them. The emulator runs pipeline tasks (synced table
// refreshes), on demand, on a Quartz cron schedule or on a table-update trigger; every other task
// type and trigger is refused by name (NOT_IMPLEMENTED), never accepted and silently not run.
import { ApiError, errors } from './api-errors';
import { JOB_LIMITS } from './limits';
import { parseQuartz, QuartzError } from './quartz';

type Body = Record<string, unknown>;

export interface PipelineTaskSettings {
  pipeline_id: string;
  full_refresh?: boolean;
}

export interface TaskSettings {
  task_key: string;
  description?: string;
  depends_on?: { task_key: string }[];
  pipeline_task: PipelineTaskSettings;
  /** The server's default, returned by GET as the real service does. */
  run_if: 'ALL_SUCCESS';
  timeout_seconds: number;
}

export interface CronScheduleSettings {
  quartz_cron_expression: string;
  timezone_id: string;
  pause_status: 'PAUSED' | 'UNPAUSED';
}

export interface TableUpdateSettings {
  table_names: string[];
  condition?: 'ANY_UPDATED' | 'ALL_UPDATED';
  wait_after_last_change_seconds?: number;
  min_time_between_triggers_seconds?: number;
}

export interface TriggerSettings {
  pause_status: 'PAUSED' | 'UNPAUSED';
  table_update: TableUpdateSettings;
}

/** `JobSettings` as stored and returned; only what the emulator can honour is accepted. */
export interface JobSettings {
  name: string;
  description?: string;
  tags?: Record<string, string>;
  tasks: TaskSettings[];
  schedule?: CronScheduleSettings;
  trigger?: TriggerSettings;
  max_concurrent_runs: number;
  timeout_seconds: number;
  queue?: { enabled: boolean };
  email_notifications: Record<string, unknown>;
  webhook_notifications: Record<string, unknown>;
  format: 'MULTI_TASK';
}

/** Accepted and kept as given (notifications go nowhere in the emulator; they are only stored). */
const KEPT_FIELDS = ['email_notifications', 'webhook_notifications', 'notification_settings', 'edit_mode', 'budget_policy_id', 'usage_policy_id', 'run_as'];

/** Fields of JobSettings the emulator cannot honour: refused by name. */
const UNSUPPORTED_FIELDS: Record<string, string> = {
  continuous: 'Continuous jobs',
  git_source: 'Jobs with a git_source',
  job_clusters: 'Job clusters',
  environments: 'Job environments',
  parameters: 'Job parameters',
  health: 'Job health rules',
  deployment: 'Job deployments',
  performance_target: 'Job performance targets',
};

/** Task types the emulator does not run. */
const TASK_TYPES = [
  'notebook_task', 'spark_jar_task', 'spark_python_task', 'spark_submit_task', 'python_wheel_task', 'sql_task', 'dbt_task',
  'run_job_task', 'condition_task', 'for_each_task', 'dashboard_task', 'power_bi_task', 'clean_rooms_notebook_task',
  'dbt_cloud_task', 'dbt_platform_task', 'gen_ai_compute_task',
];

const TASK_FIELDS = ['task_key', 'description', 'depends_on', 'pipeline_task', 'run_if', 'timeout_seconds', 'email_notifications', 'notification_settings', 'webhook_notifications'];

function isObject(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function object(value: unknown, field: string): Body {
  if (!isObject(value)) throw errors.invalidParameter(field, `${field} must be an object.`);
  return value;
}

function string(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') {
    if (value === undefined || value === null || value === '') throw errors.missingParameter(field);
    throw errors.invalidParameter(field, `${field} must be a string.`);
  }
  return value;
}

function integer(value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw errors.invalidParameter(field, `${field} must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, got ${JSON.stringify(value)}.`);
  }
  return value;
}

function pauseStatus(value: unknown, field: string): 'PAUSED' | 'UNPAUSED' {
  if (value === undefined || value === null) return 'UNPAUSED';
  if (value !== 'PAUSED' && value !== 'UNPAUSED') throw errors.invalidParameter(field, `${field} must be PAUSED or UNPAUSED, got ${JSON.stringify(value)}.`);
  return value;
}

export function parseSchedule(value: unknown): CronScheduleSettings {
  const schedule = object(value, 'schedule');
  for (const field of Object.keys(schedule)) {
    if (!['quartz_cron_expression', 'timezone_id', 'pause_status'].includes(field)) throw errors.unknownField(field, 'CronSchedule');
  }
  const expression = string(schedule.quartz_cron_expression, 'schedule.quartz_cron_expression');
  const timezone = string(schedule.timezone_id, 'schedule.timezone_id');
  try {
    parseQuartz(expression, timezone);
  } catch (error) {
    if (!(error instanceof QuartzError)) throw error;
    if (error.unsupported) throw errors.notImplemented(`The cron expression ${error.message.split(':')[0]}`, { field: 'schedule.quartz_cron_expression' });
    const field = error.message.includes('time zone') ? 'schedule.timezone_id' : 'schedule.quartz_cron_expression';
    throw errors.invalidParameter(field, `Invalid ${field.split('.')[1]}: ${error.message}`);
  }
  return { quartz_cron_expression: expression, timezone_id: timezone, pause_status: pauseStatus(schedule.pause_status, 'schedule.pause_status') };
}

export function parseTrigger(value: unknown): TriggerSettings {
  const trigger = object(value, 'trigger');
  for (const field of Object.keys(trigger)) {
    if (field === 'periodic' || field === 'file_arrival' || field === 'model' || field === 'sql_condition') {
      throw errors.notImplemented(`trigger.${field}`, { field: `trigger.${field}` });
    }
    if (field !== 'table_update' && field !== 'pause_status') throw errors.unknownField(field, 'TriggerSettings');
  }
  if (trigger.table_update === undefined) throw errors.missingParameter('trigger.table_update');
  const update = object(trigger.table_update, 'trigger.table_update');
  for (const field of Object.keys(update)) {
    if (!['table_names', 'condition', 'wait_after_last_change_seconds', 'min_time_between_triggers_seconds'].includes(field)) {
      throw errors.unknownField(field, 'TableUpdateTriggerConfiguration');
    }
  }
  const names = update.table_names;
  if (!Array.isArray(names) || names.length === 0) throw errors.missingParameter('trigger.table_update.table_names');
  const tableNames = names.map((name, index) => {
    const text = string(name, `trigger.table_update.table_names[${index}]`);
    if (text.split('.').length !== 3) throw errors.invalidParameter('trigger.table_update.table_names', `'${text}' is not a full table name (catalog.schema.table).`);
    return text;
  });
  const settings: TableUpdateSettings = { table_names: tableNames };
  if (update.condition !== undefined) {
    if (update.condition !== 'ANY_UPDATED' && update.condition !== 'ALL_UPDATED') {
      throw errors.invalidParameter('trigger.table_update.condition', `condition must be ANY_UPDATED or ALL_UPDATED, got ${JSON.stringify(update.condition)}.`);
    }
    settings.condition = update.condition;
  }
  for (const field of ['wait_after_last_change_seconds', 'min_time_between_triggers_seconds'] as const) {
    if (update[field] !== undefined) settings[field] = integer(update[field], `trigger.table_update.${field}`, JOB_LIMITS.minTableTriggerSeconds);
  }
  return { pause_status: pauseStatus(trigger.pause_status, 'trigger.pause_status'), table_update: settings };
}

function parseTask(value: unknown, index: number): TaskSettings {
  const task = object(value, `tasks[${index}]`);
  for (const field of Object.keys(task)) {
    if (TASK_TYPES.includes(field)) {
      throw errors.notImplemented(`A ${field} task`, { field: `tasks[${index}].${field}` });
    }
    if (!TASK_FIELDS.includes(field)) throw errors.unknownField(field, 'Task');
  }
  const key = string(task.task_key, `tasks[${index}].task_key`);
  if (!/^[\w\-.]{1,100}$/.test(key)) {
    throw errors.invalidParameter('task_key', `Invalid task_key '${key}': 1 to 100 letters, digits, '-', '_' or '.'.`);
  }
  if (task.pipeline_task === undefined) {
    throw errors.invalidParameter(`tasks[${index}]`, `Task '${key}' has no task type; the emulator runs pipeline_task tasks (synced table refreshes).`);
  }
  const pipeline = object(task.pipeline_task, `tasks[${index}].pipeline_task`);
  for (const field of Object.keys(pipeline)) {
    if (field !== 'pipeline_id' && field !== 'full_refresh') throw errors.unknownField(field, 'PipelineTask');
  }
  const fullRefresh = pipeline.full_refresh;
  if (fullRefresh !== undefined && typeof fullRefresh !== 'boolean') throw errors.invalidParameter('full_refresh', 'pipeline_task.full_refresh must be a boolean.');
  const dependsOn = task.depends_on;
  if (dependsOn !== undefined && (!Array.isArray(dependsOn) || dependsOn.some((item) => !isObject(item) || typeof item.task_key !== 'string'))) {
    throw errors.invalidParameter(`tasks[${index}].depends_on`, 'depends_on must be a list of {"task_key": ...}.');
  }
  if (task.run_if !== undefined && task.run_if !== 'ALL_SUCCESS') throw errors.notImplemented(`run_if ${String(task.run_if)}`, { field: 'run_if' });
  return {
    task_key: key,
    ...(typeof task.description === 'string' ? { description: task.description } : {}),
    ...(dependsOn ? { depends_on: (dependsOn as Body[]).map((item) => ({ task_key: String(item.task_key) })).sort((a, b) => (a.task_key < b.task_key ? -1 : 1)) } : {}),
    pipeline_task: { pipeline_id: string(pipeline.pipeline_id, `tasks[${index}].pipeline_task.pipeline_id`), ...(fullRefresh !== undefined ? { full_refresh: fullRefresh } : {}) },
    run_if: 'ALL_SUCCESS',
    timeout_seconds: task.timeout_seconds === undefined ? 0 : integer(task.timeout_seconds, `tasks[${index}].timeout_seconds`, 0),
  };
}

/** Task order for a run: dependencies first; a cycle or a dependency on no task is refused. */
export function taskOrder(tasks: readonly TaskSettings[]): TaskSettings[] {
  const byKey = new Map(tasks.map((task) => [task.task_key, task]));
  const ordered: TaskSettings[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (task: TaskSettings, path: string[]) => {
    if (state.get(task.task_key) === 'done') return;
    if (state.get(task.task_key) === 'visiting') {
      throw errors.invalidParameter('depends_on', `Tasks depend on each other in a cycle: ${[...path, task.task_key].join(' → ')}.`);
    }
    state.set(task.task_key, 'visiting');
    for (const dependency of task.depends_on ?? []) {
      const upstream = byKey.get(dependency.task_key);
      if (!upstream) throw errors.invalidParameter('depends_on', `Task '${task.task_key}' depends on '${dependency.task_key}', which is not a task of the job.`);
      visit(upstream, [...path, task.task_key]);
    }
    state.set(task.task_key, 'done');
    ordered.push(task);
  };
  for (const task of tasks) visit(task, []);
  return ordered;
}

/** Validates a `JobSettings` object (create's body, reset's `new_settings`) and fills the defaults. */
export function parseJobSettings(body: Body, where = 'JobSettings', ignore: readonly string[] = []): JobSettings {
  for (const field of Object.keys(body)) {
    if (ignore.includes(field)) continue;
    if (UNSUPPORTED_FIELDS[field]) throw errors.notImplemented(UNSUPPORTED_FIELDS[field], { field });
    if (!['name', 'description', 'tags', 'tasks', 'schedule', 'trigger', 'max_concurrent_runs', 'timeout_seconds', 'queue', 'format', ...KEPT_FIELDS].includes(field)) {
      throw errors.unknownField(field, where);
    }
  }
  const tasks = body.tasks === undefined ? [] : body.tasks;
  if (!Array.isArray(tasks)) throw errors.invalidParameter('tasks', 'tasks must be a list.');
  if (tasks.length > JOB_LIMITS.maxTasks) throw errors.invalidParameter('tasks', `A job has at most ${JOB_LIMITS.maxTasks} tasks.`);
  const parsedTasks = tasks.map(parseTask);
  const keys = new Set<string>();
  for (const task of parsedTasks) {
    if (keys.has(task.task_key)) throw errors.invalidParameter('task_key', `Duplicate task_key '${task.task_key}'.`);
    keys.add(task.task_key);
  }
  taskOrder(parsedTasks);
  if (body.schedule !== undefined && body.trigger !== undefined) {
    throw errors.invalidParameter('trigger', 'A job has either a schedule or a trigger, not both.');
  }
  const settings: JobSettings = {
    name: body.name === undefined ? 'Untitled' : string(body.name, 'name'),
    tasks: parsedTasks,
    max_concurrent_runs: body.max_concurrent_runs === undefined ? 1 : integer(body.max_concurrent_runs, 'max_concurrent_runs', 0, JOB_LIMITS.maxConcurrentRuns),
    timeout_seconds: body.timeout_seconds === undefined ? 0 : integer(body.timeout_seconds, 'timeout_seconds', 0),
    email_notifications: isObject(body.email_notifications) ? body.email_notifications : {},
    webhook_notifications: isObject(body.webhook_notifications) ? body.webhook_notifications : {},
    format: 'MULTI_TASK',
  };
  if (body.description !== undefined) settings.description = string(body.description, 'description');
  if (body.tags !== undefined) {
    const tags = object(body.tags, 'tags');
    if (Object.values(tags).some((value) => typeof value !== 'string')) throw errors.invalidParameter('tags', 'tags must map names to strings.');
    settings.tags = tags as Record<string, string>;
  }
  if (body.schedule !== undefined) settings.schedule = parseSchedule(body.schedule);
  if (body.trigger !== undefined) settings.trigger = parseTrigger(body.trigger);
  if (body.queue !== undefined) {
    const queue = object(body.queue, 'queue');
    if (typeof queue.enabled !== 'boolean') throw errors.invalidParameter('queue.enabled', 'queue.enabled must be a boolean.');
    settings.queue = { enabled: queue.enabled };
  }
  return settings;
}

/** What GET returns of the settings: `trigger.table_update.condition` is accepted but not returned (FAKE `jobFixUps`). */
export function renderSettings(settings: JobSettings, options: { tasks: boolean }): Record<string, unknown> {
  const rendered: Record<string, unknown> = { ...settings };
  if (!options.tasks) delete rendered.tasks;
  if (settings.trigger) {
    const { condition: _notReturned, ...tableUpdate } = settings.trigger.table_update;
    rendered.trigger = { ...settings.trigger, table_update: tableUpdate };
  }
  return rendered;
}

export function parseJobId(value: unknown, field = 'job_id'): number {
  const id = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) {
    if (value === undefined || value === null || value === '') throw errors.missingParameter(field);
    throw new ApiError('INVALID_PARAMETER_VALUE', `Invalid ${field} ${JSON.stringify(value)}: it is a positive whole number.`, { field });
  }
  return id;
}
