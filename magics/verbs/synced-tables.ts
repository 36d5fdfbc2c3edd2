// `%lakebase synced-table ...`: Databricks' managed synced tables (reverse ETL) from a cell or a
// terminal — create (and watch the initial snapshot), get with a live status, list, refresh,
// delete, and refresh schedules that are real Databricks Jobs with a pipeline task. The core is
// `lakebase/synced-tables.ts` and `lakebase/jobs.ts`; this module turns words into those calls and
// their progress into one live status line (`status-line.ts`).
import type { SyncedDatabaseTable } from '../../lakebase/synced-tables';
import { POLICY_ALIASES, progressOf, shortState, SyncedTables } from '../../lakebase/synced-tables';
import { Jobs, refreshJobName } from '../../lakebase/jobs';
import type { BaseJob } from '../../lakebase/jobs';
import { JUPYTER_DISPLAY } from '../../lakebase/contracts';
import type { MimeBundle } from '../../lakebase/contracts';
import { LakebaseError } from '../../lakebase/errors';
import { confirm, YES_OPTION } from '../confirm';
import type { OptionDeclaration, VerbContext, VerbDeclaration, VerbFamily } from '../declarations';
import { TableOutput, TextOutput } from '../outputs';
import type { MagicServices } from '../services';
import { watch } from '../status-line';

export const SYNCED_TABLE_VERB_ERRORS = {
  /** A needed option is missing or two say different things. */
  usage: 'SYNCED_TABLE_USAGE',
  /** The synced table has no refresh job. */
  noSchedule: 'SCHEDULE_NOT_FOUND',
} as const;

const PROFILE: OptionDeclaration = { name: 'profile', kind: 'text', valueName: 'PROFILE', summary: 'Use this profile of ~/.databrickscfg instead of the default workspace' };
const NO_WAIT: OptionDeclaration = { name: 'no-wait', kind: 'flag', summary: 'Return at once instead of following the sync with a live status line' };
const NAME = { name: 'NAME', summary: 'the synced table: catalog.schema.table (the target)' };

/** A synced table as a verb's result: a small table of what matters, and the API object for code. */
export class SyncedTableView {
  constructor(readonly table: SyncedDatabaseTable) {}

  get state(): string | undefined {
    return this.table.data_synchronization_status?.detailed_state;
  }

  private rows(): string[][] {
    const table = this.table;
    const status = table.data_synchronization_status;
    const progress = progressOf(table);
    const sync = status?.last_sync;
    const rows: [string, string | undefined][] = [
      ['name', table.name],
      ['source', table.spec?.source_table_full_name],
      ['policy', table.spec?.scheduling_policy],
      ['primary key', table.spec?.primary_key_columns?.join(', ')],
      ['timeseries key', table.spec?.timeseries_key],
      ['instance', table.effective_database_instance_name],
      ['database', table.effective_logical_database_name],
      ['state', shortState(status?.detailed_state)],
      ['message', status?.message],
      ['rows synced', progress.syncedRows === undefined ? undefined : `${progress.syncedRows.toLocaleString('en-US')}${progress.totalRows !== undefined ? ` of ${progress.totalRows.toLocaleString('en-US')} (${percent(progress.syncedRows, progress.totalRows)})` : ''}`],
      ['last synced version', sync?.delta_table_sync_info?.delta_commit_version === undefined ? undefined : `${sync.delta_table_sync_info.delta_commit_version} (committed ${sync.delta_table_sync_info.delta_commit_timestamp ?? '?'}, synced ${sync.sync_end_timestamp ?? '?'})`],
      ['pipeline', status?.pipeline_id],
    ];
    return rows.filter((row): row is [string, string] => row[1] !== undefined && row[1] !== '');
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return new TableOutput(['property', 'value'], this.rows(), '')[JUPYTER_DISPLAY]();
  }

  toString(): string {
    return new TableOutput(['property', 'value'], this.rows(), '').toString();
  }

  toJSON(): SyncedDatabaseTable {
    return this.table;
  }
}

function percent(part: number, whole: number): string {
  return whole === 0 ? '100.0 %' : `${((100 * part) / whole).toFixed(1)} %`;
}

async function clients(services: MagicServices, profile: unknown) {
  const { workspace } = await services.connectors.workspace(typeof profile === 'string' ? profile : undefined);
  return { tables: new SyncedTables(workspace), jobs: new Jobs(workspace) };
}

/** The progress-bar form of the status line, from a table's status. */
function transferOf(table: SyncedDatabaseTable) {
  const progress = progressOf(table);
  return {
    rows: progress.syncedRows ?? 0,
    ...(progress.totalRows !== undefined ? { totalRows: progress.totalRows } : {}),
    state: shortState(progress.state),
  };
}

/** Follows a table with a live status line until it is online (or failed); an interrupt stops only the waiting. */
async function followUntilOnline(context: VerbContext<MagicServices>, tables: SyncedTables, name: string, action: string): Promise<SyncedDatabaseTable> {
  return watch(
    context.host,
    {
      subject: `synced table ${name}`,
      action,
      state: 'PROVISIONING',
      checkWith: `%lakebase synced-table get ${name}`,
      operation: `the ${action === 'create' ? 'creation' : 'sync'}`,
      settledState: (table) => shortState(table.data_synchronization_status?.detailed_state),
      settledNote: (table) => lastSyncNote(table),
    },
    async ({ signal, line }) => {
      let total: number | undefined;
      const table = await tables.waitUntilOnline(name, {
        signal,
        onProgress: ({ value, state, detail }) => {
          const progress = progressOf(value);
          total = progress.totalRows ?? total;
          if (progress.syncedRows !== undefined) line.transfer(transferOf(value));
          else line.waiting({ state, ...(detail ? { detail } : {}) });
        },
      });
      // The snapshot's last progress report may predate its last rows: the line ends complete.
      if (total !== undefined) line.transfer({ rows: total, totalRows: total });
      return table;
    },
  );
}

function lastSyncNote(table: SyncedDatabaseTable): string | undefined {
  const version = table.data_synchronization_status?.last_sync?.delta_table_sync_info?.delta_commit_version;
  return version === undefined ? undefined : `synced Delta version ${version}`;
}

const create: VerbDeclaration<MagicServices> = {
  name: 'synced-table create',
  summary: 'Create a synced table: a Delta table kept in a Lakebase table by a managed pipeline',
  positionals: [{ name: 'TARGET', summary: 'the synced table: catalog.schema.table; in PostgreSQL it is "schema"."table"' }],
  options: [
    { name: 'from', kind: 'text', valueName: 'SOURCE', summary: 'The source Delta table: catalog.schema.table' },
    { name: 'primary-key', kind: 'text', valueName: 'COLUMNS', summary: 'Primary key columns, comma-separated (rows with a NULL in them are skipped)' },
    { name: 'timeseries-key', kind: 'text', valueName: 'COLUMN', summary: 'Of rows with the same key, keep the one with the largest value of this column' },
    {
      name: 'policy', kind: 'choice', choices: ['SNAPSHOT', 'TRIGGERED', 'CONTINUOUS', 'FULL', 'INCREMENTAL'], valueName: 'POLICY',
      summary: 'SNAPSHOT (full copy each refresh; FULL), TRIGGERED (changes since the last refresh; INCREMENTAL) or CONTINUOUS; default TRIGGERED',
    },
    { name: 'instance', kind: 'text', valueName: 'INSTANCE', summary: 'The database instance (needed when TARGET\'s catalog is a standard one)' },
    { name: 'database', kind: 'text', valueName: 'DATABASE', summary: 'The PostgreSQL database (needed when TARGET\'s catalog is a standard one)' },
    { name: 'pipeline', kind: 'text', valueName: 'PIPELINE_ID', summary: 'Join this existing pipeline (same scheduling policy) instead of creating one' },
    { name: 'storage', kind: 'text', valueName: 'CATALOG.SCHEMA', summary: 'Where a new pipeline keeps checkpoints and logs (default: the source\'s catalog and schema)' },
    NO_WAIT,
    PROFILE,
  ],
  conflicts: [['pipeline', 'storage']],
  details: [
    'The target\'s catalog is a database catalog (registered for an instance and database, which are then inferred) or a standard ' +
      'catalog, with --instance and --database. The PostgreSQL database and schema are created when missing.',
    'TRIGGERED and CONTINUOUS need Change Data Feed on the source (ALTER TABLE ... SET TBLPROPERTIES (delta.enableChangeDataFeed = true)). ' +
      'The initial snapshot is followed with a live status line (state, rows synced of the total); interrupting stops the waiting, not the sync.',
  ],
  examples: [
    '%lakebase synced-table create serving.public.users --from main.gold.users --primary-key id',
    '%lakebase synced-table create serving.public.events --from main.gold.events --primary-key id --timeseries-key updated_at --policy CONTINUOUS',
    '%lakebase synced-table create main.gold.users_synced --from main.gold.users --primary-key id --instance local --database app --policy SNAPSHOT',
  ],
  async run(context) {
    const { invocation, services } = context;
    const [name] = invocation.positionals;
    const options = invocation.options;
    const source = options.from as string | undefined;
    const key = typeof options['primary-key'] === 'string' ? options['primary-key'].split(',').map((column) => column.trim()).filter(Boolean) : [];
    if (!source) throw usage('synced-table create needs --from SOURCE (the Delta table: catalog.schema.table).', invocation.source.magicLine);
    if (key.length === 0) throw usage('synced-table create needs --primary-key COLUMNS: a synced table is keyed.', invocation.source.magicLine);
    const policy = POLICY_ALIASES[(options.policy as string | undefined) ?? 'TRIGGERED'];
    const storage = (options.storage as string | undefined) ?? source.split('.').slice(0, 2).join('.');
    const [storageCatalog, storageSchema] = storage.split('.');
    const { tables } = await clients(services, options.profile);
    let table = await tables.create({
      name,
      ...(typeof options.instance === 'string' ? { database_instance_name: options.instance } : {}),
      ...(typeof options.database === 'string' ? { logical_database_name: options.database } : {}),
      spec: {
        source_table_full_name: source,
        primary_key_columns: key,
        ...(typeof options['timeseries-key'] === 'string' ? { timeseries_key: options['timeseries-key'] } : {}),
        scheduling_policy: policy,
        create_database_objects_if_missing: true,
        ...(typeof options.pipeline === 'string'
          ? { existing_pipeline_id: options.pipeline }
          : { new_pipeline_spec: { storage_catalog: storageCatalog, storage_schema: storageSchema } }),
      },
    });
    if (options['no-wait'] !== true) table = await followUntilOnline(context, tables, name, 'create');
    return new SyncedTableView(table);
  },
};

const get: VerbDeclaration<MagicServices> = {
  name: 'synced-table get',
  summary: 'Show a synced table: state, message, rows synced of the total, last synced Delta version',
  positionals: [NAME],
  options: [NO_WAIT, PROFILE],
  details: [
    'While the table is provisioning or an update runs, a live status line follows it (state, rows synced of the total, rate, ETA) until ' +
      'it settles; --no-wait shows it as it is now. Interrupting stops the following, never the sync.',
  ],
  examples: ['%lakebase synced-table get serving.public.users', 'const users = %lakebase synced-table get serving.public.users --no-wait'],
  async run(context) {
    const { invocation, services } = context;
    const [name] = invocation.positionals;
    const { tables } = await clients(services, invocation.options.profile);
    let table = await tables.get(name);
    const state = table.data_synchronization_status?.detailed_state;
    const moving = state !== undefined && /PROVISIONING|TRIGGERED_UPDATE|UPDATING_PIPELINE/.test(state);
    if (moving && invocation.options['no-wait'] !== true) {
      const pipelineId = table.data_synchronization_status?.pipeline_id;
      const running = pipelineId ? await latestUpdate(services, invocation.options.profile, pipelineId) : undefined;
      table = running
        ? await followUpdate(context, tables, name, pipelineId!, running, 'update')
        : await followUntilOnline(context, tables, name, 'sync');
    }
    return new SyncedTableView(table);
  },
};

async function latestUpdate(services: MagicServices, profile: unknown, pipelineId: string): Promise<string | undefined> {
  const { workspace } = await services.connectors.workspace(typeof profile === 'string' ? profile : undefined);
  const pipeline = await workspace.client.pipelines.get({ pipeline_id: pipelineId });
  const latest = pipeline.latest_updates?.[0];
  return latest && !['COMPLETED', 'FAILED', 'CANCELED'].includes(latest.state ?? '') ? latest.update_id : undefined;
}

/** Follows one pipeline update with a live status line (progress bar while rows move). */
function followUpdate(context: VerbContext<MagicServices>, tables: SyncedTables, name: string, pipelineId: string, updateId: string, action: string): Promise<SyncedDatabaseTable> {
  return watch(
    context.host,
    {
      subject: `synced table ${name}`,
      action,
      state: 'QUEUED',
      checkWith: `%lakebase synced-table get ${name}`,
      operation: 'the update',
      settledState: (table) => shortState(table.data_synchronization_status?.detailed_state),
      settledNote: (table) => lastSyncNote(table),
    },
    ({ signal, line }) =>
      tables.waitForUpdate(name, pipelineId, updateId, {
        signal,
        onProgress: ({ value, state, detail }) => {
          if (progressOf(value).syncedRows !== undefined) line.transfer(transferOf(value));
          else line.waiting({ state, ...(detail ? { detail } : {}) });
        },
      }),
  );
}

const list: VerbDeclaration<MagicServices> = {
  name: 'synced-table list',
  summary: 'List the synced tables of an instance',
  positionals: [{ name: 'INSTANCE', summary: 'the database instance' }],
  options: [PROFILE],
  details: ['The service does not implement listing yet (it answers 501, "exposed for Terraform support"); the verb says so and how to look one up.'],
  examples: ['%lakebase synced-table list local'],
  async run({ invocation, services }) {
    const [instance] = invocation.positionals;
    const { tables } = await clients(services, invocation.options.profile);
    const found = await tables.list(instance);
    return new TableOutput(
      ['name', 'source', 'policy', 'state'],
      found.map((table) => [table.name, table.spec?.source_table_full_name ?? '', table.spec?.scheduling_policy ?? '', shortState(table.data_synchronization_status?.detailed_state)]),
      `No synced tables in ${instance}.`,
    );
  },
};

const refresh: VerbDeclaration<MagicServices> = {
  name: 'synced-table refresh',
  summary: 'Sync a synced table now: an update of its pipeline (SNAPSHOT copies all, TRIGGERED applies the changes)',
  positionals: [NAME],
  options: [{ name: 'full', kind: 'flag', summary: 'A full refresh: copy every row again, whatever the policy' }, NO_WAIT, PROFILE],
  examples: ['%lakebase synced-table refresh serving.public.users', '%lakebase synced-table refresh serving.public.users --full'],
  async run(context) {
    const { invocation, services } = context;
    const [name] = invocation.positionals;
    const { tables } = await clients(services, invocation.options.profile);
    const started = await tables.refresh(name, { full: invocation.options.full === true });
    if (invocation.options['no-wait'] === true) {
      return new TextOutput(`Started update ${started.updateId} of the pipeline ${started.pipelineId} of ${name}. Follow it with %lakebase synced-table get ${name}.`);
    }
    return new SyncedTableView(await followUpdate(context, tables, name, started.pipelineId, started.updateId, invocation.options.full === true ? 'full refresh' : 'refresh'));
  },
};

const remove: VerbDeclaration<MagicServices> = {
  name: 'synced-table delete',
  summary: 'Delete a synced table (its pipeline stops); --purge-data drops its PostgreSQL table too',
  positionals: [NAME],
  options: [{ name: 'purge-data', kind: 'flag', summary: 'Also drop the PostgreSQL table and its rows' }, YES_OPTION, PROFILE],
  examples: ['%lakebase synced-table delete serving.public.users', '%lakebase synced-table delete serving.public.users --purge-data --yes'],
  async run(context) {
    const { invocation, services } = context;
    const [name] = invocation.positionals;
    const purge = invocation.options['purge-data'] === true;
    const [, schema, table] = name.split('.');
    const consequences = purge
      ? `Deletes the synced table ${name}, stops its pipeline and drops the PostgreSQL table "${schema}"."${table}" with all its rows. This cannot be undone.`
      : `Deletes the synced table ${name} and stops its pipeline; the PostgreSQL table "${schema}"."${table}" stays with its rows, no longer synced.`;
    const go = await confirm(context, { consequences, question: `Delete the synced table ${name}?`, withYes: `%lakebase synced-table delete ${name}${purge ? ' --purge-data' : ''} --yes` });
    if (!go) return new TextOutput('Nothing was deleted.');
    const { tables } = await clients(services, invocation.options.profile);
    await tables.delete(name, { purgeData: purge });
    return new TextOutput(`Deleted the synced table ${name}${purge ? ` and its PostgreSQL table "${schema}"."${table}"` : ''}.`);
  },
};

const schedule: VerbDeclaration<MagicServices> = {
  name: 'synced-table schedule',
  summary: 'Refresh a synced table on a Quartz cron schedule, or whenever its source changes: a Databricks Job with a pipeline task',
  positionals: [NAME],
  options: [
    { name: 'cron', kind: 'text', valueName: 'QUARTZ', summary: 'A Quartz cron expression: seconds minutes hours day-of-month month day-of-week, e.g. "0 0 * * * ?" (every hour)' },
    { name: 'timezone', kind: 'text', valueName: 'ZONE', summary: 'The time zone of --cron (a Java/IANA id such as Europe/Amsterdam); default UTC' },
    { name: 'on-change', kind: 'flag', summary: 'Refresh after each change of the source table (a table-update trigger)' },
    { name: 'wait-after', kind: 'integer', min: 60, valueName: 'SECONDS', summary: 'With --on-change: wait until the source has been quiet this long (60 or more)' },
    { name: 'min-interval', kind: 'integer', min: 60, valueName: 'SECONDS', summary: 'With --on-change: at least this long between refreshes (60 or more)' },
    { name: 'full', kind: 'flag', summary: 'Each scheduled refresh is a full refresh' },
    PROFILE,
  ],
  conflicts: [['cron', 'on-change'], ['timezone', 'on-change'], ['wait-after', 'cron'], ['min-interval', 'cron']],
  details: [
    'A table keeps one refresh job (named "Refresh synced table NAME"): scheduling again replaces its schedule. CONTINUOUS tables sync all ' +
      'the time and are not scheduled (continuous pipelines are not job tasks).',
  ],
  examples: [
    '%lakebase synced-table schedule serving.public.users --cron "0 0 * * * ?"',
    '%lakebase synced-table schedule serving.public.users --cron "0 30 6 ? * MON-FRI" --timezone Europe/Amsterdam',
    '%lakebase synced-table schedule serving.public.users --on-change',
  ],
  async run({ invocation, services }) {
    const [name] = invocation.positionals;
    const options = invocation.options;
    if (options.cron === undefined && options['on-change'] !== true) {
      throw usage('synced-table schedule needs --cron "QUARTZ" or --on-change.', invocation.source.magicLine);
    }
    const { tables, jobs } = await clients(services, options.profile);
    const table = await tables.get(name);
    const pipelineId = table.data_synchronization_status?.pipeline_id;
    if (!pipelineId) throw new LakebaseError(SYNCED_TABLE_VERB_ERRORS.usage, `The synced table ${name} has no pipeline yet.`, { hint: `Wait until it is provisioned: %lakebase synced-table get ${name}` });
    if (table.spec?.scheduling_policy === 'CONTINUOUS') {
      throw new LakebaseError(SYNCED_TABLE_VERB_ERRORS.usage, `${name} is CONTINUOUS: it syncs each change as it is committed and takes no schedule (continuous pipelines are not job tasks).`);
    }
    const cron = typeof options.cron === 'string' ? { expression: options.cron, timezone: (options.timezone as string | undefined) ?? 'UTC' } : undefined;
    const { jobId, replaced } = await jobs.scheduleRefresh({
      syncedTable: name,
      pipelineId,
      ...(options.full === true ? { fullRefresh: true } : {}),
      ...(cron ? { cron } : {}),
      ...(options['on-change'] === true
        ? {
            onChange: {
              table: table.spec!.source_table_full_name!,
              ...(typeof options['wait-after'] === 'number' ? { waitAfterLastChangeSeconds: options['wait-after'] } : {}),
              ...(typeof options['min-interval'] === 'number' ? { minTimeBetweenTriggersSeconds: options['min-interval'] } : {}),
            },
          }
        : {}),
    });
    const when = cron ? `on the schedule "${cron.expression}" (${cron.timezone})` : `after each change of ${table.spec!.source_table_full_name}`;
    return new TextOutput(`${replaced ? 'Rescheduled' : 'Scheduled'}: job ${jobId} refreshes ${name} ${when}.`);
  },
};

function describeSchedule(job: BaseJob): string {
  const settings = job.settings;
  if (settings?.schedule) return `cron "${settings.schedule.quartz_cron_expression}" ${settings.schedule.timezone_id}${settings.schedule.pause_status === 'PAUSED' ? ' (paused)' : ''}`;
  const update = settings?.trigger?.table_update;
  if (update) return `on change of ${update.table_names.join(', ')}${settings?.trigger?.pause_status === 'PAUSED' ? ' (paused)' : ''}`;
  return 'on demand';
}

const schedules: VerbDeclaration<MagicServices> = {
  name: 'synced-table schedules',
  summary: 'List the refresh jobs of synced tables: schedule, last run',
  positionals: [{ name: 'NAME', summary: 'only this synced table\'s', optional: true }],
  options: [PROFILE],
  examples: ['%lakebase synced-table schedules', '%lakebase synced-table schedules serving.public.users'],
  async run({ invocation, services }) {
    const [name] = invocation.positionals;
    const { jobs } = await clients(services, invocation.options.profile);
    const found = await jobs.schedulesOf(name);
    const rows = await Promise.all(
      found.map(async (job) => {
        const last = await jobs.lastRun(job.job_id!);
        const lastText = last ? `${last.state?.result_state ?? last.state?.life_cycle_state ?? ''} ${last.start_time ? new Date(last.start_time).toISOString() : ''}`.trim() : 'never';
        return [String(job.job_id), job.settings?.name?.slice(refreshJobName('').length) ?? '', describeSchedule(job), lastText];
      }),
    );
    return new TableOutput(['job', 'synced table', 'schedule', 'last run'], rows, name ? `${name} has no refresh schedule.` : 'No synced table has a refresh schedule.');
  },
};

async function refreshJobOf(jobs: Jobs, name: string): Promise<number> {
  const [job] = await jobs.schedulesOf(name);
  if (job?.job_id === undefined) {
    throw new LakebaseError(SYNCED_TABLE_VERB_ERRORS.noSchedule, `${name} has no refresh schedule.`, {
      hint: `Schedule one with %lakebase synced-table schedule ${name} --cron "0 0 * * * ?", or refresh it now with %lakebase synced-table refresh ${name}.`,
    });
  }
  return job.job_id;
}

const runNow: VerbDeclaration<MagicServices> = {
  name: 'synced-table run-now',
  summary: 'Run a synced table\'s refresh job now, and follow the run',
  positionals: [NAME],
  options: [NO_WAIT, PROFILE],
  examples: ['%lakebase synced-table run-now serving.public.users'],
  async run({ invocation, host, services }) {
    const [name] = invocation.positionals;
    const { jobs } = await clients(services, invocation.options.profile);
    const jobId = await refreshJobOf(jobs, name);
    const runId = await jobs.runNow(jobId);
    if (invocation.options['no-wait'] === true) return new TextOutput(`Started run ${runId} of job ${jobId}.`);
    const run = await watch(
      host,
      { subject: `job ${jobId}`, action: 'run-now', state: 'PENDING', checkWith: `%lakebase synced-table schedules ${name}`, operation: 'the run', settledState: () => 'SUCCESS', settledNote: () => `run ${runId} refreshed ${name}` },
      ({ signal, onProgress }) => jobs.waitForRun(runId, { signal, onProgress }),
    );
    return new TextOutput(`Run ${run.run_id} of job ${jobId} succeeded.`);
  },
};

const unschedule: VerbDeclaration<MagicServices> = {
  name: 'synced-table unschedule',
  summary: 'Stop refreshing a synced table on its schedule: delete its refresh job',
  positionals: [NAME],
  options: [YES_OPTION, PROFILE],
  examples: ['%lakebase synced-table unschedule serving.public.users --yes'],
  async run(context) {
    const { invocation, services } = context;
    const [name] = invocation.positionals;
    const { jobs } = await clients(services, invocation.options.profile);
    const jobId = await refreshJobOf(jobs, name);
    const go = await confirm(context, {
      consequences: `Deletes job ${jobId}, which refreshes ${name}; the synced table stays.`,
      question: `Delete the refresh job of ${name}?`,
      withYes: `%lakebase synced-table unschedule ${name} --yes`,
    });
    if (!go) return new TextOutput('Nothing was deleted.');
    await jobs.delete(jobId);
    return new TextOutput(`Deleted job ${jobId}: ${name} is no longer refreshed on a schedule.`);
  },
};

function usage(message: string, magicLine: string): LakebaseError {
  return new LakebaseError(SYNCED_TABLE_VERB_ERRORS.usage, message, { hint: `See %lakebase help ${magicLine.split(/\s+/).slice(1, 3).join(' ')}.` });
}

export const syncedTableFamily: VerbFamily<MagicServices> = {
  name: 'synced-table',
  summary: 'Synced tables (reverse ETL)',
  verbs: [create, get, list, refresh, remove, schedule, schedules, runNow, unschedule],
};
