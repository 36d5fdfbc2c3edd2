// Lakebase Autoscaling from a cell: `project`, `branch`, `endpoint`, `role` and `database` verbs
// (issue 7), declared as data like `sql.ts`, on the one client of `/api/2.0/postgres`
// (`lakebase/autoscaling.ts`). Long operations wait under a live status line (`watch`), polled
// until `done`; `--no-wait` returns the operation instead; an interrupt stops the waiting only.
// Destructive verbs confirm (`confirm.ts`, `--yes`).
//
// The branch workflow: `%lakebase branch create try-migration --connect` makes a branch of the
// current connection's branch as of now and moves that connection to it (same name, database
// and user); `%lakebase branch delete try-migration` deletes it and moves every connection that
// was on it back to where it came from.
//
// Names: a project is `PROJECT` or `projects/PROJECT`; a branch `PROJECT/BRANCH`, its full name, or
// just `BRANCH` on the current connection's project; an endpoint its full name or
// `PROJECT/BRANCH/ENDPOINT`.
import { waitForOperation } from '../../lakebase/autoscaling';
import type { AutoscalingApi, Branch, Database, Endpoint, Operation, Project, Role } from '../../lakebase/autoscaling';
import { LakebaseError } from '../../lakebase/errors';
import { projectObject } from '../../lakebase/permissions';
import { isLsn } from '../../lakebase/provisioning';
import { confirm, YES_OPTION } from '../confirm';
import type { AutoscalingPlacement } from '../connectors';
import type { MagicInvocation, OptionDeclaration, VerbContext, VerbDeclaration, VerbFamily } from '../declarations';
import { MAGIC_ERRORS, MagicUsageError } from '../errors';
import { displayAs, TableOutput, TextOutput } from '../outputs';
import type { MagicServices } from '../services';
import { watch } from '../status-line';
import { permissionVerbs } from './permission-verbs';

/** Stable codes of the errors these verbs raise themselves (API errors keep the client's codes). */
export const PROJECT_VERB_ERRORS = {
  /** A bare branch name and no Autoscaling connection to take the project from. */
  projectUnknown: 'PROJECT_UNKNOWN',
  /** A name that is not PROJECT/BRANCH or a full resource name. */
  badName: 'RESOURCE_NAME_INVALID',
  /** `--connect` or a branch move with no way to connect. */
  noConnection: 'NO_AUTOSCALING_CONNECTION',
} as const;

const ID = '[a-z][a-z0-9-]{0,62}';

type Context = VerbContext<MagicServices>;

// ---- names -------------------------------------------------------------------------------------

function projectName(text: string): string {
  const match = new RegExp(`^(?:projects/)?(${ID})$`).exec(text);
  if (!match) throw badName(text, 'a project (PROJECT or projects/PROJECT)');
  return `projects/${match[1]}`;
}

/** The Autoscaling placement of the current connection, if it has one. */
function currentPlacement(services: MagicServices): { name: string; placement: AutoscalingPlacement } | undefined {
  const name = services.connections.currentName;
  const placement = name === undefined ? undefined : services.connectionPlacements.get(name);
  return name !== undefined && placement !== undefined ? { name, placement } : undefined;
}

function branchName(text: string, services: MagicServices): string {
  let match = new RegExp(`^projects/(${ID})/branches/(${ID})$`).exec(text) ?? new RegExp(`^(${ID})/(${ID})$`).exec(text);
  if (match) return `projects/${match[1]}/branches/${match[2]}`;
  match = new RegExp(`^(${ID})$`).exec(text);
  if (!match) throw badName(text, 'a branch (PROJECT/BRANCH, projects/P/branches/B, or BRANCH on the current connection\'s project)');
  const current = currentPlacement(services);
  if (!current) {
    throw new LakebaseError(PROJECT_VERB_ERRORS.projectUnknown, `"${text}" names a branch, but the current connection is not on a Lakebase Autoscaling project.`, {
      hint: `Write PROJECT/${text}, or connect to the project first (%lakebase connect PROJECT).`,
    });
  }
  return `${current.placement.project}/branches/${match[1]}`;
}

function endpointName(text: string, services: MagicServices): string {
  const full = new RegExp(`^projects/(${ID})/branches/(${ID})/endpoints/(${ID})$`).exec(text);
  if (full) return text;
  const short = new RegExp(`^(${ID})/(${ID})/(${ID})$`).exec(text) ?? new RegExp(`^(${ID})/(${ID})$`).exec(text);
  if (short && short.length === 4) return `projects/${short[1]}/branches/${short[2]}/endpoints/${short[3]}`;
  if (short) return `${branchName(short[1], services)}/endpoints/${short[2]}`;
  throw badName(text, 'an endpoint (PROJECT/BRANCH/ENDPOINT or projects/P/branches/B/endpoints/E)');
}

function childName(text: string, kind: 'roles' | 'databases', services: MagicServices): string {
  if (new RegExp(`^projects/${ID}/branches/${ID}/${kind}/[a-z][a-z0-9-]{3,62}$`).test(text)) return text;
  const slash = text.lastIndexOf('/');
  if (slash < 0) throw badName(text, `a ${kind === 'roles' ? 'role' : 'database'} (BRANCH/ID or its full name)`);
  return `${branchName(text.slice(0, slash), services)}/${kind}/${text.slice(slash + 1)}`;
}

function badName(text: string, what: string): LakebaseError {
  return new LakebaseError(PROJECT_VERB_ERRORS.badName, `"${text}" is not ${what}.`, {
    hint: 'Ids are lowercase letters, digits and hyphens, starting with a letter.',
  });
}

/** The last segment of a resource name. */
const idOf = (name: string) => name.split('/').pop() as string;

// ---- values ------------------------------------------------------------------------------------

/** `90s`, `5m`, `2h`, `7d` or plain seconds → the API's `"Ns"`. */
export function durationToApi(text: string, option: string, line: number): string {
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/.exec(text.trim());
  if (!match) {
    throw new MagicUsageError(MAGIC_ERRORS.invalidValue, `--${option} "${text}" is not a duration`, { line, hint: 'Write e.g. 90s, 5m, 2h or 7d.' });
  }
  const seconds = Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[(match[2] ?? 's') as 's'];
  return `${Math.round(seconds)}s`;
}

/** An RFC 3339 time, or a duration back from now (`10m` = ten minutes ago). */
export function pointInTime(text: string, line: number): string {
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const time = new Date(text);
    if (!Number.isNaN(time.getTime())) return time.toISOString();
  }
  const ago = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)(?:\s+ago)?$/.exec(text.trim());
  if (ago) return new Date(Date.now() - Number(ago[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[ago[2] as 's'] * 1000).toISOString();
  throw new MagicUsageError(MAGIC_ERRORS.invalidValue, `--at "${text}" is not a point in time`, {
    line,
    hint: 'Write an RFC 3339 time (2026-12-03T10:15:00Z) or how long ago (10m, 2h).',
  });
}

/**
 * `--at :name` reads the TypeScript variable `name` (a Date, or a string), as `:name` binds a
 * variable in SQL; anything else is the text as typed.
 */
function timeOption(context: Context, value: string | undefined): string | undefined {
  if (value === undefined || !/^:[A-Za-z_$][\w$]*$/.test(value)) return value;
  const name = value.slice(1);
  const found = Object.prototype.hasOwnProperty.call(context.variables, name)
    ? { found: true as const, value: context.variables[name] }
    : context.host.lookupVariable(name);
  if (!found.found) {
    throw new MagicUsageError(MAGIC_ERRORS.invalidValue, `--at ${value}: there is no TypeScript variable ${name}`, { line: context.invocation.source.line, hint: 'Define it in an earlier cell, e.g. const t = new Date().' });
  }
  const time = found.value;
  if (time instanceof Date) return time.toISOString();
  if (typeof time === 'string') return time;
  throw new MagicUsageError(MAGIC_ERRORS.invalidValue, `--at ${value}: ${name} is neither a Date nor a string`, { line: context.invocation.source.line });
}

// Every verb's value is the API's own object (a project, a branch, ... an operation with
// `--no-wait`; an array of them for `list`), so `const ep = %lakebase endpoint get ...` gives
// `ep.status.current_state`, typed by the declarations below. How it shows in a notebook is
// attached without changing its data (`displayAs`): a field/value table for one resource, a table
// for a list, a sentence for an operation.

/**
 * The TypeScript types of these verbs' values, written from the API's fields
 * (databricks-apis.md §4.2; `status` holds what applies). `LakebaseMessage` (a delete's sentence)
 * and `LakebaseCustomTag` are shared (`SHARED_RESULT_TYPES`, workspace-verbs.ts).
 */
const PROJECT_TYPES = `
type LakebaseBranchState = 'INIT' | 'READY' | 'ARCHIVED' | 'IMPORTING' | 'RESETTING' | 'DELETED';
type LakebaseEndpointState = 'INIT' | 'ACTIVE' | 'IDLE' | 'DEGRADED';
type LakebaseEndpointType = 'ENDPOINT_TYPE_READ_WRITE' | 'ENDPOINT_TYPE_READ_ONLY';
/** An endpoint's size in compute units (CU, 0.5 to 64) and when it scales to zero ("300s"). */
interface LakebaseComputeSettings {
  autoscaling_limit_min_cu?: number;
  autoscaling_limit_max_cu?: number;
  suspend_timeout_duration?: string;
  no_suspension?: boolean;
}
/** A Lakebase Autoscaling project, as the API returns it. */
interface LakebaseProject {
  /** projects/PROJECT */
  name: string;
  project_id?: string;
  uid?: string;
  create_time?: string;
  update_time?: string;
  /** Set on a deleted project: it can be undeleted until purge_time. */
  delete_time?: string;
  purge_time?: string;
  status?: {
    display_name?: string;
    /** projects/PROJECT/branches/BRANCH */
    default_branch?: string;
    pg_version?: number;
    owner?: string;
    history_retention_duration?: string;
    default_endpoint_settings?: LakebaseComputeSettings & { pg_settings?: Record<string, string> };
    enable_pg_native_login?: boolean;
    custom_tags?: LakebaseCustomTag[];
    budget_policy_id?: string;
    branch_logical_size_limit_bytes?: number;
    synthetic_storage_size_bytes?: number;
    compute_last_active_time?: string;
  };
}
/** A branch of a project: a copy of its source branch as of a time or LSN. */
interface LakebaseBranch {
  /** projects/PROJECT/branches/BRANCH */
  name: string;
  branch_id?: string;
  uid?: string;
  /** projects/PROJECT */
  parent?: string;
  create_time?: string;
  update_time?: string;
  status?: {
    current_state?: LakebaseBranchState;
    pending_state?: LakebaseBranchState;
    state_change_time?: string;
    default?: boolean;
    is_protected?: boolean;
    logical_size_bytes?: number;
    source_branch?: string;
    source_branch_lsn?: string;
    source_branch_time?: string;
    /** When the branch deletes itself (--ttl); absent: never. */
    expire_time?: string;
    delete_time?: string;
    purge_time?: string;
  };
}
/** An endpoint (compute) of a branch: a PostgreSQL server at status.hosts.host that scales to zero (IDLE). */
interface LakebaseEndpoint {
  /** projects/PROJECT/branches/BRANCH/endpoints/ENDPOINT */
  name: string;
  endpoint_id?: string;
  uid?: string;
  /** projects/PROJECT/branches/BRANCH */
  parent?: string;
  create_time?: string;
  update_time?: string;
  status?: LakebaseComputeSettings & {
    endpoint_type?: LakebaseEndpointType;
    current_state?: LakebaseEndpointState;
    pending_state?: LakebaseEndpointState;
    disabled?: boolean;
    hosts?: { host?: string; read_only_host?: string; read_write_pooled_host?: string; read_only_pooled_host?: string };
    last_active_time?: string;
    group?: { min?: number; max?: number; enable_readable_secondaries?: boolean };
    settings?: { pg_settings?: Record<string, string> };
  };
}
/** A Postgres role on a branch, for a workspace identity (or a plain Postgres role). */
interface LakebaseBranchRole {
  /** projects/PROJECT/branches/BRANCH/roles/ROLE_ID */
  name: string;
  role_id?: string;
  parent?: string;
  create_time?: string;
  update_time?: string;
  status?: {
    /** The role's name in PostgreSQL: the user's email or the service principal's application id. */
    postgres_role?: string;
    identity_type?: 'USER' | 'SERVICE_PRINCIPAL' | 'GROUP' | string;
    auth_method?: 'LAKEBASE_OAUTH_V1' | 'PG_PASSWORD_SCRAM_SHA_256' | 'NO_LOGIN' | string;
    membership_roles?: ('DATABRICKS_SUPERUSER' | string)[];
    attributes?: { bypassrls?: boolean; createdb?: boolean; createrole?: boolean };
  };
}
/** A Postgres database on a branch, owned by one of its roles. */
interface LakebaseBranchDatabase {
  /** projects/PROJECT/branches/BRANCH/databases/DATABASE_ID */
  name: string;
  database_id?: string;
  parent?: string;
  create_time?: string;
  update_time?: string;
  /** role: the owner's full name (projects/.../roles/ROLE_ID). */
  status?: { postgres_database?: string; role?: string };
}
/** A long-running operation (--no-wait): poll GET /api/2.0/postgres/{name} until done; response is the resource. */
interface LakebaseOperation<T = unknown> {
  name: string;
  done?: boolean;
  metadata?: Record<string, unknown>;
  response?: T;
  error?: { error_code?: string; message?: string };
}
`;

/** The value's type of a verb that waits for an operation: `type`, or the operation with `--no-wait`. */
function waitedType(type: string): (invocation: MagicInvocation) => string {
  return (invocation) => (invocation.options['no-wait'] === true ? `LakebaseOperation<${type}>` : type);
}

/** A delete's value: its sentence (also when declined), or with `--no-wait` the operation (or, unless --yes, the sentence of a no). */
function deletingType(invocation: MagicInvocation): string {
  if (invocation.options['no-wait'] !== true) return 'LakebaseMessage';
  return invocation.options.yes === true ? 'LakebaseOperation' : 'LakebaseOperation | LakebaseMessage';
}

/** A resource shown as a two-column table of the fields people look for. */
function fieldTable(rows: readonly (readonly [string, string])[]): TableOutput {
  return new TableOutput(['field', 'value'], rows, '');
}

function shownProject(project: Project): Project {
  return displayAs(project, () => {
    const status = project.status ?? {};
    return fieldTable([
      ['name', project.name],
      ['display name', status.display_name ?? ''],
      ['default branch', status.default_branch ?? ''],
      ['owner', status.owner ?? ''],
      ['postgres', status.pg_version === undefined ? '' : String(status.pg_version)],
      ['history retention', status.history_retention_duration ?? ''],
      ['created', project.create_time ?? ''],
      ...(project.delete_time ? ([['deleted', `${project.delete_time} (undelete until ${project.purge_time ?? '?'})`]] as [string, string][]) : []),
    ]);
  });
}

function shownBranch(branch: Branch): Branch {
  return displayAs(branch, () => {
    const status = branch.status ?? {};
    return fieldTable([
      ['name', branch.name],
      ['state', status.current_state ?? ''],
      ['default', status.default ? 'yes' : 'no'],
      ['protected', status.is_protected ? 'yes' : 'no'],
      ['source', status.source_branch ? `${status.source_branch} at ${status.source_branch_time ?? '?'}${status.source_branch_lsn ? ` (LSN ${status.source_branch_lsn})` : ''}` : ''],
      ['expires', status.expire_time ?? 'never'],
      ['created', branch.create_time ?? ''],
    ]);
  });
}

function shownEndpoint(endpoint: Endpoint): Endpoint {
  return displayAs(endpoint, () => {
    const status = endpoint.status ?? {};
    return fieldTable([
      ['name', endpoint.name],
      ['type', status.endpoint_type === 'ENDPOINT_TYPE_READ_ONLY' ? 'read-only' : 'read-write'],
      ['state', status.current_state ?? ''],
      ['disabled', status.disabled ? 'yes' : 'no'],
      ['host', status.hosts?.host ?? ''],
      ['pooled host', status.hosts?.read_write_pooled_host ?? status.hosts?.read_only_pooled_host ?? ''],
      ['compute units', `${status.autoscaling_limit_min_cu ?? '?'}-${status.autoscaling_limit_max_cu ?? '?'}`],
      ['suspend timeout', status.no_suspension ? 'never (no suspension)' : (status.suspend_timeout_duration ?? '')],
      ['last active', status.last_active_time ?? ''],
    ]);
  });
}

function shownRole(role: Role): Role {
  return displayAs(role, () => {
    const status = role.status ?? {};
    return fieldTable([
      ['name', role.name],
      ['postgres role', status.postgres_role ?? ''],
      ['identity type', status.identity_type ?? ''],
      ['superuser', status.membership_roles?.includes('DATABRICKS_SUPERUSER') ? 'yes' : 'no'],
      ['attributes', Object.entries(status.attributes ?? {}).filter(([, on]) => on).map(([name]) => name).join(', ')],
    ]);
  });
}

function shownDatabase(database: Database): Database {
  return displayAs(database, () =>
    fieldTable([
      ['name', database.name],
      ['postgres database', database.status?.postgres_database ?? ''],
      ['owner', database.status?.role ?? ''],
    ]),
  );
}

/** A list's value: the array of the API's objects, each shown as `one` shows it, the whole as `table`. */
function shownList<T extends object>(items: T[], one: (item: T) => T, table: () => TableOutput): T[] {
  return displayAs(items.map(one), table);
}

/** An operation that was started and not waited for (`--no-wait`). */
function shownOperation<T>(operation: Operation<T>): Operation<T> {
  return displayAs(operation, () => new TextOutput(`Started ${operation.name}${operation.done ? ' (already done)' : ''}; it goes on without waiting.`));
}

// ---- shared steps ------------------------------------------------------------------------------

const PROFILE: OptionDeclaration = { name: 'profile', kind: 'text', valueName: 'PROFILE', summary: 'Databricks config profile of the workspace (default: the configured one, else the local emulator)' };
const NO_WAIT: OptionDeclaration = { name: 'no-wait', kind: 'flag', summary: 'Return the operation at once instead of waiting for it' };

async function apiFor(context: Context): Promise<AutoscalingApi> {
  return (await context.services.connectors.autoscaling(context.invocation.options.profile as string | undefined)).api;
}

/** `--no-wait`: the verb returns the operation it started instead of waiting for it. */
const noWait = (context: Context) => context.invocation.options['no-wait'] === true;

/**
 * Waits for an operation under a live status line and returns what it made. An interrupt ends the
 * line with "stopped waiting; ... goes on" and the verb with the wait's error.
 */
async function waitFor<T>(
  context: Context,
  api: AutoscalingApi,
  started: Operation<T>,
  line: { subject: string; action: string; checkWith: string; settled?: (result: T) => string },
): Promise<T> {
  return watch(
    context.host,
    {
      subject: line.subject,
      action: line.action,
      state: 'RUNNING',
      waitingFor: 'the operation to finish',
      checkWith: line.checkWith,
      operation: `the ${line.action}`,
      settledState: () => 'DONE',
      ...(line.settled ? { settledNote: line.settled } : {}),
    },
    (watcher) => waitForOperation(api, started, { description: `${line.subject} (${line.action})`, signal: watcher.signal, onProgress: watcher.onProgress }),
  );
}

function text(context: Context, name: string): string | undefined {
  return context.invocation.options[name] as string | undefined;
}

function computeSpec(context: Context): Record<string, unknown> {
  const line = context.invocation.source.line;
  const spec: Record<string, unknown> = {};
  const min = context.invocation.options['min-cu'];
  const max = context.invocation.options['max-cu'];
  if (min !== undefined) spec.autoscaling_limit_min_cu = Number(min);
  if (max !== undefined) spec.autoscaling_limit_max_cu = Number(max);
  const timeout = text(context, 'suspend-timeout');
  if (timeout !== undefined) spec.suspend_timeout_duration = durationToApi(timeout, 'suspend-timeout', line);
  if (context.invocation.options['no-suspension'] === true) spec.no_suspension = true;
  return spec;
}

const COMPUTE_OPTIONS: OptionDeclaration[] = [
  { name: 'min-cu', kind: 'text', valueName: 'CU', summary: 'Smallest size in compute units (0.5 to 64)' },
  { name: 'max-cu', kind: 'text', valueName: 'CU', summary: 'Largest size in compute units (at most min + 16)' },
  { name: 'suspend-timeout', kind: 'text', valueName: 'DURATION', summary: 'Scale to zero after this long without queries (e.g. 5m; 60s to 7d)' },
  { name: 'no-suspension', kind: 'flag', summary: 'Never scale to zero' },
];

/** Opens a session on `branch`'s endpoint for the connection `name`, replacing its session. */
async function moveConnection(context: Context, name: string, placement: AutoscalingPlacement, branch: string, returnTo: AutoscalingPlacement | undefined): Promise<string> {
  const { services } = context;
  const opened = await services.connectors.project({
    target: branch,
    database: placement.database,
    user: placement.user,
    ...(placement.profile !== undefined ? { profile: placement.profile } : {}),
    readOnly: placement.readOnly,
    pooled: placement.pooled,
    signal: context.host.signal,
  });
  if (services.connections.list().find((connection) => connection.name === name)?.transactionStatus !== 'idle' && services.connections.has(name)) {
    context.host.stderr(`lakebase: "${name}" was inside a transaction; moving it rolls the transaction back\n`);
  }
  await services.connections.open(name, opened.session, { replace: true });
  services.connectionKinds.set(name, opened.kind);
  services.connectionPlacements.set(name, { ...(opened.autoscaling as AutoscalingPlacement), ...(returnTo ? { returnTo } : {}) });
  return opened.session.description;
}

// ---- verbs -------------------------------------------------------------------------------------

const projectVerbs: VerbDeclaration<MagicServices>[] = [
  {
    name: 'project create',
    summary: 'Create a Lakebase Autoscaling project: branch production with its read-write endpoint primary',
    positionals: [{ name: 'PROJECT', summary: 'the project id: lowercase letters, digits and hyphens' }],
    options: [
      { name: 'display-name', kind: 'text', valueName: 'TEXT', summary: 'A name to show (default: the id)' },
      ...COMPUTE_OPTIONS,
      { name: 'connect', kind: 'flag', summary: 'Connect to it once created (as %lakebase connect PROJECT)' },
      NO_WAIT,
      PROFILE,
    ],
    conflicts: [['suspend-timeout', 'no-suspension'], ['connect', 'no-wait']],
    details: ['Without any Databricks configuration, projects are made on the local emulator, where every endpoint is a real PostgreSQL server.'],
    examples: ['%lakebase project create shop', '%lakebase project create shop --suspend-timeout 5m --connect'],
    resultType: waitedType('LakebaseProject'),
    async run(context) {
      const name = projectName(context.invocation.positionals[0]);
      const api = await apiFor(context);
      const displayName = text(context, 'display-name');
      const compute = computeSpec(context);
      const body: Record<string, unknown> = {
        spec: { ...(displayName !== undefined ? { display_name: displayName } : {}), ...(Object.keys(compute).length > 0 ? { default_endpoint_settings: compute } : {}) },
      };
      const started = await api.createProject(idOf(name), body);
      if (noWait(context)) return shownOperation(started);
      const project = await waitFor(context, api, started, { subject: `project ${idOf(name)}`, action: 'create', checkWith: `%lakebase project get ${idOf(name)}`, settled: (made) => `default branch ${made.status?.default_branch ?? ''}` });
      if (context.invocation.options.connect === true) {
        const opened = await context.services.connectors.project({ target: idOf(name), signal: context.host.signal, ...(text(context, 'profile') ? { profile: text(context, 'profile') } : {}) });
        const connection = context.services.connections.uniqueName(opened.defaultName);
        await context.services.connections.open(connection, opened.session);
        context.services.connectionKinds.set(connection, opened.kind);
        if (opened.autoscaling) context.services.connectionPlacements.set(connection, opened.autoscaling);
        context.host.stdout(`Connected "${connection}" to ${opened.session.description}; it is the current connection.\n`);
      }
      return shownProject(project);
    },
  },
  {
    name: 'project get',
    summary: 'Show a project',
    positionals: [{ name: 'PROJECT', summary: 'the project', completes: 'projects' }],
    options: [PROFILE],
    examples: ['%lakebase project get shop', 'const shop = %lakebase project get shop'],
    resultType: 'LakebaseProject',
    run: async (context) => shownProject(await (await apiFor(context)).getProject(projectName(context.invocation.positionals[0]))),
  },
  {
    name: 'project list',
    summary: 'List the projects: name, default branch, owner, created',
    positionals: [],
    options: [{ name: 'deleted', kind: 'flag', summary: 'Also the deleted ones that can still be undeleted' }, PROFILE],
    examples: ['%lakebase project list', '%lakebase project list --deleted'],
    resultType: 'LakebaseProject[]',
    async run(context) {
      const projects = await (await apiFor(context)).listProjects({ showDeleted: context.invocation.options.deleted === true });
      return shownList(projects, shownProject, () =>
        new TableOutput(
          ['project', 'display name', 'default branch', 'owner', 'created', 'deleted'],
          projects.map((project) => [idOf(project.name), project.status?.display_name ?? '', idOf(project.status?.default_branch ?? ''), project.status?.owner ?? '', project.create_time ?? '', project.delete_time ?? '']),
          'No projects. Create one with %lakebase project create NAME.',
        ),
      );
    },
  },
  {
    name: 'project delete',
    summary: 'Delete a project (it can be undeleted for 7 days; --purge deletes it for good)',
    positionals: [{ name: 'PROJECT', summary: 'the project', completes: 'projects' }],
    options: [{ name: 'purge', kind: 'flag', summary: 'Delete it and its data for good, now' }, YES_OPTION, NO_WAIT, PROFILE],
    examples: ['%lakebase project delete shop', '%lakebase project delete shop --purge --yes'],
    resultType: deletingType,
    async run(context) {
      const name = projectName(context.invocation.positionals[0]);
      const purge = context.invocation.options.purge === true;
      const go = await confirm(context, {
        consequences: purge
          ? `Deletes the project ${idOf(name)} with all its branches, endpoints and data, for good. This cannot be undone.`
          : `Deletes the project ${idOf(name)}: its endpoints stop taking connections. It can be undeleted for 7 days (%lakebase project undelete ${idOf(name)}).`,
        question: `Delete the project ${idOf(name)}?`,
        withYes: `%lakebase project delete ${idOf(name)}${purge ? ' --purge' : ''} --yes`,
      });
      if (!go) return new TextOutput(`Kept the project ${idOf(name)}.`);
      const api = await apiFor(context);
      const started = await api.deleteProject(name, { purge });
      if (noWait(context)) return shownOperation(started);
      await waitFor(context, api, started, { subject: `project ${idOf(name)}`, action: 'delete', checkWith: `%lakebase project list --deleted` });
      return new TextOutput(purge ? `Deleted the project ${idOf(name)} for good.` : `Deleted the project ${idOf(name)}; undelete it within 7 days with %lakebase project undelete ${idOf(name)}.`);
    },
  },
  {
    name: 'project undelete',
    summary: 'Bring back a deleted project with its data',
    positionals: [{ name: 'PROJECT', summary: 'the deleted project' }],
    options: [NO_WAIT, PROFILE],
    examples: ['%lakebase project undelete shop'],
    resultType: waitedType('LakebaseProject'),
    async run(context) {
      const name = projectName(context.invocation.positionals[0]);
      const api = await apiFor(context);
      const started = await api.undeleteProject(name);
      if (noWait(context)) return shownOperation(started);
      return shownProject(await waitFor(context, api, started, { subject: `project ${idOf(name)}`, action: 'undelete', checkWith: `%lakebase project get ${idOf(name)}` }));
    },
  },
];

/** Who may use or manage a project (`database-projects` in the permissions API). */
const projectPermissionVerbs = permissionVerbs({
  group: 'project',
  noun: 'a project',
  object: { name: 'PROJECT', summary: 'the project', completes: 'projects' },
  objectOf: projectObject,
  manages: 'create and delete its branches, endpoints, roles and databases, and delete it',
  grantDetails: ['A principal with CAN_USE still needs a Postgres role on the branch to log in: %lakebase role create PROJECT/BRANCH PRINCIPAL.'],
  example: 'shop',
});

const branchVerbs: VerbDeclaration<MagicServices>[] = [
  {
    name: 'branch create',
    summary: 'Make a branch: a real copy of another branch as of now, a time or an LSN',
    positionals: [{ name: 'BRANCH', summary: 'the new branch: NAME on the current connection\'s project, or PROJECT/NAME' }],
    options: [
      { name: 'from', kind: 'text', valueName: 'BRANCH', summary: 'The branch to copy (default: the current connection\'s branch, else the project\'s default)', completes: 'branches' },
      { name: 'at', kind: 'text', valueName: 'TIME', summary: 'Copy the source as it was then: an RFC 3339 time, how long ago (10m), or :variable (a Date or string)' },
      { name: 'lsn', kind: 'text', valueName: 'LSN', summary: 'Copy the source as it was at this WAL position (e.g. 0/16B3748)' },
      { name: 'ttl', kind: 'text', valueName: 'DURATION', summary: 'Delete the branch by itself after this long (e.g. 2h, 7d)' },
      { name: 'connect', kind: 'flag', summary: 'Move the current connection to the new branch (branch delete moves it back)' },
      NO_WAIT,
      PROFILE,
    ],
    conflicts: [['at', 'lsn'], ['connect', 'no-wait']],
    details: [
      'The copy is the source\'s data as of the branch point, made with PostgreSQL\'s own recovery: writes on the branch never reach its source.',
      'With --connect the current connection (same name, database and user) moves to the new branch\'s read-write endpoint; deleting the branch moves it back.',
    ],
    examples: ['%lakebase branch create try-migration --connect', '%lakebase branch create shop/before-import --at 2026-12-03T09:00:00Z', '%lakebase branch create shop/scratch --ttl 2h'],
    resultType: waitedType('LakebaseBranch'),
    async run(context) {
      const { services, invocation } = context;
      const line = invocation.source.line;
      const name = branchName(invocation.positionals[0], services);
      const project = name.split('/branches/')[0];
      const current = currentPlacement(services);
      const from = text(context, 'from');
      const source = from !== undefined ? branchName(from.includes('/') ? from : `${idOf(project)}/${from}`, services) : current?.placement.project === project ? current.placement.branch : undefined;
      const at = timeOption(context, text(context, 'at'));
      const lsn = text(context, 'lsn');
      if (lsn !== undefined && !isLsn(lsn)) {
        throw new MagicUsageError(MAGIC_ERRORS.invalidValue, `--lsn "${lsn}" is not a WAL position`, { line, hint: 'Write an LSN as PostgreSQL shows it, e.g. 0/16B3748 (SELECT pg_current_wal_lsn()).' });
      }
      const ttl = text(context, 'ttl');
      const spec: Record<string, unknown> = {
        ...(source !== undefined ? { source_branch: source } : {}),
        ...(at !== undefined ? { source_branch_time: pointInTime(at, line) } : {}),
        ...(lsn !== undefined ? { source_branch_lsn: lsn } : {}),
        ...(ttl !== undefined ? { ttl: durationToApi(ttl, 'ttl', line) } : {}),
      };
      if (invocation.options.connect === true && !current) {
        throw new LakebaseError(PROJECT_VERB_ERRORS.noConnection, '--connect moves the current connection, and it is not on a Lakebase Autoscaling project.', {
          hint: `Connect first (%lakebase connect ${idOf(project)}), or leave out --connect and connect to ${idOf(project)}/${idOf(name)} yourself.`,
        });
      }
      const api = await apiFor(context);
      const started = await api.createBranch(project, idOf(name), { spec });
      if (noWait(context)) return shownOperation(started);
      const branch = await waitFor(context, api, started, {
        subject: `branch ${idOf(project)}/${idOf(name)}`,
        action: 'create',
        checkWith: `%lakebase branch get ${idOf(project)}/${idOf(name)}`,
        settled: (made) => `copy of ${idOf(made.status?.source_branch ?? '')}${made.status?.source_branch_lsn ? ` at LSN ${made.status.source_branch_lsn}` : ''}`,
      });
      if (invocation.options.connect === true && current) {
        const where = await moveConnection(context, current.name, current.placement, name, current.placement);
        context.host.stdout(`"${current.name}" is on the branch ${idOf(name)} now (${where}); %lakebase branch delete ${idOf(name)} moves it back to ${idOf(current.placement.branch)}.\n`);
      }
      return shownBranch(branch);
    },
  },
  {
    name: 'branch get',
    summary: 'Show a branch',
    positionals: [{ name: 'BRANCH', summary: 'the branch', completes: 'branches' }],
    options: [PROFILE],
    examples: ['%lakebase branch get try-migration', '%lakebase branch get shop/production'],
    resultType: 'LakebaseBranch',
    run: async (context) => shownBranch(await (await apiFor(context)).getBranch(branchName(context.invocation.positionals[0], context.services))),
  },
  {
    name: 'branch list',
    summary: 'List the branches of a project: state, source, expiry',
    positionals: [{ name: 'PROJECT', summary: 'the project (default: the current connection\'s)', optional: true, completes: 'projects' }],
    options: [{ name: 'deleted', kind: 'flag', summary: 'Also the deleted ones that can still be undeleted' }, PROFILE],
    examples: ['%lakebase branch list', '%lakebase branch list shop', 'const branches = %lakebase branch list shop'],
    resultType: 'LakebaseBranch[]',
    async run(context) {
      const given = context.invocation.positionals[0];
      const current = currentPlacement(context.services);
      if (given === undefined && !current) {
        throw new LakebaseError(PROJECT_VERB_ERRORS.projectUnknown, 'Which project? The current connection is not on a Lakebase Autoscaling project.', { hint: 'Write %lakebase branch list PROJECT.' });
      }
      const project = given !== undefined ? projectName(given) : (current as { placement: AutoscalingPlacement }).placement.project;
      const branches = await (await apiFor(context)).listBranches(project, { showDeleted: context.invocation.options.deleted === true });
      // Which branch was current is part of the table, fixed when the verb ran.
      const here = current?.placement.branch;
      return shownList(branches, shownBranch, () =>
        new TableOutput(
          ['branch', 'current', 'state', 'default', 'source', 'expires', 'created'],
          branches.map((branch) => [
            idOf(branch.name),
            branch.name === here ? '*' : '',
            branch.status?.current_state ?? '',
            branch.status?.default ? 'yes' : '',
            branch.status?.source_branch ? `${idOf(branch.status.source_branch)} at ${branch.status.source_branch_time ?? '?'}` : '',
            branch.status?.expire_time ?? '',
            branch.create_time ?? '',
          ]),
          `No branches in ${project}.`,
        ),
      );
    },
  },
  {
    name: 'branch delete',
    summary: 'Delete a branch; connections on it move back to the branch they came from',
    positionals: [{ name: 'BRANCH', summary: 'the branch', completes: 'branches' }],
    options: [{ name: 'purge', kind: 'flag', summary: 'Delete its data for good now (default: it can be undeleted for 7 days)' }, YES_OPTION, NO_WAIT, PROFILE],
    examples: ['%lakebase branch delete try-migration', '%lakebase branch delete shop/scratch --yes'],
    resultType: deletingType,
    async run(context) {
      const { services } = context;
      const name = branchName(context.invocation.positionals[0], services);
      const on = [...services.connectionPlacements.entries()].filter(([, placement]) => placement.branch === name);
      const movers = on.map(([connection, placement]) => `"${connection}"${placement.returnTo ? ` back to ${idOf(placement.returnTo.branch)}` : ' (closed)'}`);
      const go = await confirm(context, {
        consequences: `Deletes the branch ${idOf(name)} of ${idOf(name.split('/branches/')[0])} with its data; its endpoints stop.${movers.length > 0 ? ` Connections on it move: ${movers.join(', ')}.` : ''}`,
        question: `Delete the branch ${idOf(name)}?`,
        withYes: `%lakebase branch delete ${context.invocation.positionals[0]} --yes`,
      });
      if (!go) return new TextOutput(`Kept the branch ${idOf(name)}.`);
      const api = await apiFor(context);
      const purge = context.invocation.options.purge === true;
      const started = await api.deleteBranch(name, { purge });
      if (!noWait(context)) await waitFor(context, api, started, { subject: `branch ${idOf(name)}`, action: 'delete', checkWith: `%lakebase branch list ${idOf(name.split('/branches/')[0])} --deleted` });
      const notes = await moveConnectionsOff(context, on);
      if (noWait(context)) return shownOperation(started);
      retireRefreshers(services, name);
      return new TextOutput([`Deleted the branch ${idOf(name)}${purge ? ' for good' : ''}.`, ...notes].join(' '));
    },
  },
  {
    name: 'branch reset',
    summary: 'Make a branch a fresh copy of its source as of now (its own changes are lost)',
    positionals: [{ name: 'BRANCH', summary: 'the branch', completes: 'branches' }],
    options: [YES_OPTION, PROFILE],
    details: ['Done as the API allows it: the branch is deleted for good and made again from its source with the same name; connections on it reconnect to the new copy.'],
    examples: ['%lakebase branch reset try-migration'],
    // Declined (possible unless --yes), the value is the sentence that says so.
    resultType: (invocation) => (invocation.options.yes === true ? 'LakebaseBranch' : 'LakebaseBranch | LakebaseMessage'),
    async run(context) {
      const { services } = context;
      const name = branchName(context.invocation.positionals[0], services);
      const api = await apiFor(context);
      const branch = await api.getBranch(name);
      const source = branch.status?.source_branch;
      if (!source) throw new LakebaseError('BRANCH_HAS_NO_SOURCE', `The branch ${idOf(name)} was not made from another branch, so there is nothing to reset it to.`);
      const go = await confirm(context, {
        consequences: `Replaces the branch ${idOf(name)} with a copy of ${idOf(source)} as of now: everything written on ${idOf(name)} is lost.`,
        question: `Reset the branch ${idOf(name)}?`,
        withYes: `%lakebase branch reset ${context.invocation.positionals[0]} --yes`,
      });
      if (!go) return new TextOutput(`Kept the branch ${idOf(name)} as it is.`);
      const on = [...services.connectionPlacements.entries()].filter(([, placement]) => placement.branch === name);
      const subject = `branch ${idOf(name)}`;
      await waitFor(context, api, await api.deleteBranch(name, { purge: true }), { subject, action: 'reset (delete)', checkWith: `%lakebase branch get ${context.invocation.positionals[0]}` });
      retireRefreshers(services, name);
      const spec: Record<string, unknown> = { source_branch: source, ...(branch.status?.expire_time ? { expire_time: branch.status.expire_time } : {}) };
      const fresh = await waitFor(context, api, await api.createBranch(name.split('/branches/')[0], idOf(name), { spec }), { subject, action: 'reset (copy)', checkWith: `%lakebase branch get ${context.invocation.positionals[0]}` });
      for (const [connection, placement] of on) await moveConnection(context, connection, placement, name, placement.returnTo);
      return shownBranch(fresh);
    },
  },
];

/** The refreshers of a branch's endpoints: their tokens open nothing once the branch is gone. */
function retireRefreshers(services: MagicServices, branch: string): void {
  for (const refresher of services.refreshers.list()) {
    if (refresher.status().scope?.startsWith(`autoscaling:${branch}/endpoints/`)) refresher.stop();
  }
}

/** After a branch is gone: connections on it move back where they came from, or close. */
async function moveConnectionsOff(context: Context, on: [string, AutoscalingPlacement][]): Promise<string[]> {
  const notes: string[] = [];
  for (const [connection, placement] of on) {
    if (placement.returnTo) {
      try {
        const where = await moveConnection(context, connection, placement, placement.returnTo.branch, placement.returnTo.returnTo);
        notes.push(`"${connection}" is back on ${idOf(placement.returnTo.branch)} (${where}).`);
        continue;
      } catch (error) {
        notes.push(`"${connection}" could not move back to ${idOf(placement.returnTo.branch)} (${(error as Error).message}), so it was closed.`);
      }
    } else {
      notes.push(`"${connection}" was on it and is closed.`);
    }
    if (context.services.connections.has(connection)) await context.services.connections.close(connection);
    context.services.connectionKinds.delete(connection);
    context.services.connectionPlacements.delete(connection);
  }
  return notes;
}

const endpointVerbs: VerbDeclaration<MagicServices>[] = [
  {
    name: 'endpoint create',
    summary: 'Add an endpoint (compute) to a branch: read-only ones scale reads; a branch has one read-write endpoint',
    positionals: [{ name: 'ENDPOINT', summary: 'PROJECT/BRANCH/ENDPOINT or its full name' }],
    options: [{ name: 'read-only', kind: 'flag', summary: 'A read-only endpoint (default: read-write)' }, ...COMPUTE_OPTIONS, { name: 'disabled', kind: 'flag', summary: 'Create it disabled (it refuses logins)' }, NO_WAIT, PROFILE],
    conflicts: [['suspend-timeout', 'no-suspension']],
    examples: ['%lakebase endpoint create shop/production/reader --read-only', '%lakebase endpoint create shop/dev/writer --no-suspension'],
    resultType: waitedType('LakebaseEndpoint'),
    async run(context) {
      const name = endpointName(context.invocation.positionals[0], context.services);
      const api = await apiFor(context);
      const spec = {
        endpoint_type: context.invocation.options['read-only'] === true ? 'ENDPOINT_TYPE_READ_ONLY' : 'ENDPOINT_TYPE_READ_WRITE',
        ...computeSpec(context),
        ...(context.invocation.options.disabled === true ? { disabled: true } : {}),
      };
      const started = await api.createEndpoint(name.split('/endpoints/')[0], idOf(name), { spec });
      if (noWait(context)) return shownOperation(started);
      const endpoint = await waitFor(context, api, started, {
        subject: `endpoint ${idOf(name)}`,
        action: 'create',
        checkWith: `%lakebase endpoint get ${name}`,
        settled: (made) => `host ${made.status?.hosts?.host ?? '?'}`,
      });
      return shownEndpoint(endpoint);
    },
  },
  {
    name: 'endpoint get',
    summary: 'Show an endpoint: type, state (ACTIVE, or IDLE when scaled to zero), hosts, size, suspend timeout',
    positionals: [{ name: 'ENDPOINT', summary: 'the endpoint' }],
    options: [PROFILE],
    examples: ['%lakebase endpoint get shop/production/primary', 'const ep = %lakebase endpoint get shop/production/primary'],
    resultType: 'LakebaseEndpoint',
    run: async (context) => shownEndpoint(await (await apiFor(context)).getEndpoint(endpointName(context.invocation.positionals[0], context.services))),
  },
  {
    name: 'endpoint list',
    summary: 'List the endpoints of a branch',
    positionals: [{ name: 'BRANCH', summary: 'the branch (default: the current connection\'s)', optional: true, completes: 'branches' }],
    options: [PROFILE],
    examples: ['%lakebase endpoint list', '%lakebase endpoint list shop/production'],
    resultType: 'LakebaseEndpoint[]',
    async run(context) {
      const given = context.invocation.positionals[0];
      const current = currentPlacement(context.services);
      if (given === undefined && !current) {
        throw new LakebaseError(PROJECT_VERB_ERRORS.projectUnknown, 'Which branch? The current connection is not on a Lakebase Autoscaling project.', { hint: 'Write %lakebase endpoint list PROJECT/BRANCH.' });
      }
      const branch = given !== undefined ? branchName(given, context.services) : (current as { placement: AutoscalingPlacement }).placement.branch;
      const endpoints = await (await apiFor(context)).listEndpoints(branch);
      return shownList(endpoints, shownEndpoint, () =>
        new TableOutput(
          ['endpoint', 'type', 'state', 'disabled', 'host', 'compute units', 'suspend timeout'],
          endpoints.map((endpoint) => {
            const status = endpoint.status ?? {};
            return [
              idOf(endpoint.name),
              status.endpoint_type === 'ENDPOINT_TYPE_READ_ONLY' ? 'read-only' : 'read-write',
              status.current_state ?? '',
              status.disabled ? 'yes' : '',
              status.hosts?.host ?? '',
              `${status.autoscaling_limit_min_cu ?? '?'}-${status.autoscaling_limit_max_cu ?? '?'}`,
              status.no_suspension ? 'never' : (status.suspend_timeout_duration ?? ''),
            ];
          }),
          `No endpoints on ${branch}.`,
        ),
      );
    },
  },
  {
    name: 'endpoint update',
    summary: 'Change an endpoint: size, suspend timeout, or disable and enable it',
    positionals: [{ name: 'ENDPOINT', summary: 'the endpoint' }],
    options: [...COMPUTE_OPTIONS, { name: 'disable', kind: 'flag', summary: 'Refuse logins from now on' }, { name: 'enable', kind: 'flag', summary: 'Take logins again' }, NO_WAIT, PROFILE],
    conflicts: [['suspend-timeout', 'no-suspension'], ['disable', 'enable']],
    examples: ['%lakebase endpoint update shop/production/primary --suspend-timeout 10m', '%lakebase endpoint update shop/production/primary --disable'],
    resultType: waitedType('LakebaseEndpoint'),
    async run(context) {
      const name = endpointName(context.invocation.positionals[0], context.services);
      const { options, source } = context.invocation;
      const spec = computeSpec(context);
      const mask: string[] = [];
      if (spec.autoscaling_limit_min_cu !== undefined) mask.push('spec.autoscaling_limit_min_cu');
      if (spec.autoscaling_limit_max_cu !== undefined) mask.push('spec.autoscaling_limit_max_cu');
      if (spec.suspend_timeout_duration !== undefined || spec.no_suspension !== undefined) mask.push('spec.suspension');
      if (options.disable === true || options.enable === true) {
        spec.disabled = options.disable === true;
        mask.push('spec.disabled');
      }
      if (mask.length === 0) {
        throw new MagicUsageError(MAGIC_ERRORS.missingArgument, 'endpoint update: say what to change', { line: source.line, hint: 'Give --min-cu, --max-cu, --suspend-timeout, --no-suspension, --disable or --enable.' });
      }
      const api = await apiFor(context);
      const started = await api.updateEndpoint(name, { spec }, mask.join(','));
      if (noWait(context)) return shownOperation(started);
      return shownEndpoint(await waitFor(context, api, started, { subject: `endpoint ${idOf(name)}`, action: 'update', checkWith: `%lakebase endpoint get ${name}` }));
    },
  },
  {
    name: 'endpoint delete',
    summary: 'Delete an endpoint (a branch\'s read-write endpoint goes only with its branch)',
    positionals: [{ name: 'ENDPOINT', summary: 'the endpoint' }],
    options: [YES_OPTION, NO_WAIT, PROFILE],
    examples: ['%lakebase endpoint delete shop/production/reader'],
    resultType: deletingType,
    async run(context) {
      const name = endpointName(context.invocation.positionals[0], context.services);
      const go = await confirm(context, {
        consequences: `Deletes the endpoint ${name}: its sessions end and its hosts stop answering. The branch's data stays.`,
        question: `Delete the endpoint ${idOf(name)}?`,
        withYes: `%lakebase endpoint delete ${context.invocation.positionals[0]} --yes`,
      });
      if (!go) return new TextOutput(`Kept the endpoint ${idOf(name)}.`);
      const api = await apiFor(context);
      const started = await api.deleteEndpoint(name);
      if (noWait(context)) return shownOperation(started);
      await waitFor(context, api, started, { subject: `endpoint ${idOf(name)}`, action: 'delete', checkWith: `%lakebase endpoint list ${name.split('/endpoints/')[0]}` });
      return new TextOutput(`Deleted the endpoint ${name}.`);
    },
  },
];

const roleVerbs: VerbDeclaration<MagicServices>[] = [
  {
    name: 'role create',
    summary: 'Give a workspace identity a Postgres role on a branch, so its tokens log in',
    positionals: [
      { name: 'BRANCH', summary: 'the branch', completes: 'branches' },
      { name: 'IDENTITY', summary: 'a user\'s email or a service principal\'s application id' },
    ],
    options: [
      { name: 'id', kind: 'text', valueName: 'ROLE_ID', summary: 'The role\'s resource id (4-63 lowercase letters, digits, hyphens; default generated)' },
      { name: 'superuser', kind: 'flag', summary: 'Member of databricks_superuser' },
      { name: 'createdb', kind: 'flag', summary: 'May create databases' },
      { name: 'createrole', kind: 'flag', summary: 'May create roles' },
      { name: 'bypassrls', kind: 'flag', summary: 'Bypasses row-level security' },
      NO_WAIT,
      PROFILE,
    ],
    examples: ['%lakebase role create shop/production analyst@example.com', '%lakebase role create try-migration 4a1c0f3e-9b2d-4c6e-8f10-2a3b4c5d6e7f --superuser'],
    resultType: waitedType('LakebaseBranchRole'),
    async run(context) {
      const { positionals, options } = context.invocation;
      const branch = branchName(positionals[0], context.services);
      const identity = positionals[1];
      const attributes = Object.fromEntries(['createdb', 'createrole', 'bypassrls'].filter((name) => options[name] === true).map((name) => [name, true]));
      const spec = {
        postgres_role: identity,
        identity_type: identity.includes('@') ? 'USER' : 'SERVICE_PRINCIPAL',
        ...(options.superuser === true ? { membership_roles: ['DATABRICKS_SUPERUSER'] } : {}),
        ...(Object.keys(attributes).length > 0 ? { attributes } : {}),
      };
      const api = await apiFor(context);
      const started = await api.createRole(branch, { spec }, text(context, 'id'));
      if (noWait(context)) return shownOperation(started);
      return shownRole(await waitFor(context, api, started, { subject: `role ${identity}`, action: 'create', checkWith: `%lakebase role list ${positionals[0]}` }));
    },
  },
  {
    name: 'role list',
    summary: 'List the Postgres roles of a branch',
    positionals: [{ name: 'BRANCH', summary: 'the branch', completes: 'branches' }],
    options: [PROFILE],
    examples: ['%lakebase role list shop/production'],
    resultType: 'LakebaseBranchRole[]',
    async run(context) {
      const roles = await (await apiFor(context)).listRoles(branchName(context.invocation.positionals[0], context.services));
      return shownList(roles, shownRole, () =>
        new TableOutput(
          ['role', 'postgres role', 'identity type', 'superuser'],
          roles.map((role) => [idOf(role.name), role.status?.postgres_role ?? '', role.status?.identity_type ?? '', role.status?.membership_roles?.includes('DATABRICKS_SUPERUSER') ? 'yes' : '']),
          'No roles.',
        ),
      );
    },
  },
  {
    name: 'role get',
    summary: 'Show a role of a branch',
    positionals: [{ name: 'ROLE', summary: 'BRANCH/ROLE_ID or the role\'s full name' }],
    options: [PROFILE],
    examples: ['%lakebase role get shop/production/owner'],
    resultType: 'LakebaseBranchRole',
    run: async (context) => shownRole(await (await apiFor(context)).getRole(childName(context.invocation.positionals[0], 'roles', context.services))),
  },
  {
    name: 'role delete',
    summary: 'Drop a role of a branch',
    positionals: [{ name: 'ROLE', summary: 'BRANCH/ROLE_ID or the role\'s full name' }],
    options: [{ name: 'reassign-owned-to', kind: 'text', valueName: 'ROLE', summary: 'Give what the role owns to this Postgres role first' }, YES_OPTION, NO_WAIT, PROFILE],
    examples: ['%lakebase role delete shop/production/role-1a2b3c4d --reassign-owned-to analyst@example.com'],
    resultType: deletingType,
    async run(context) {
      const name = childName(context.invocation.positionals[0], 'roles', context.services);
      const go = await confirm(context, {
        consequences: `Drops the role ${name}: its identity can no longer log in to the branch.`,
        question: `Drop the role ${idOf(name)}?`,
        withYes: `%lakebase role delete ${context.invocation.positionals[0]} --yes`,
      });
      if (!go) return new TextOutput(`Kept the role ${idOf(name)}.`);
      const api = await apiFor(context);
      const reassign = text(context, 'reassign-owned-to');
      const started = await api.deleteRole(name, reassign !== undefined ? { reassignOwnedTo: reassign } : {});
      if (noWait(context)) return shownOperation(started);
      await waitFor(context, api, started, { subject: `role ${idOf(name)}`, action: 'delete', checkWith: `%lakebase role list ${name.split('/roles/')[0]}` });
      return new TextOutput(`Dropped the role ${name}.`);
    },
  },
];

const databaseVerbs: VerbDeclaration<MagicServices>[] = [
  {
    name: 'database create',
    summary: 'Create a Postgres database on a branch, owned by one of its roles',
    positionals: [
      { name: 'BRANCH', summary: 'the branch', completes: 'branches' },
      { name: 'NAME', summary: 'the Postgres database name' },
    ],
    options: [
      { name: 'owner', kind: 'text', valueName: 'ROLE_ID', summary: 'The owning role\'s id on the branch (default: owner, the project owner\'s role)' },
      { name: 'id', kind: 'text', valueName: 'DATABASE_ID', summary: 'The database\'s resource id (default: the name with - for _)' },
      NO_WAIT,
      PROFILE,
    ],
    examples: ['%lakebase database create shop/production analytics', '%lakebase database create try-migration scratch --owner role-1a2b3c4d'],
    resultType: waitedType('LakebaseBranchDatabase'),
    async run(context) {
      const { positionals } = context.invocation;
      const branch = branchName(positionals[0], context.services);
      const postgresDatabase = positionals[1];
      const owner = text(context, 'owner') ?? 'owner';
      const databaseId = text(context, 'id') ?? postgresDatabase.toLowerCase().replace(/_/g, '-');
      const api = await apiFor(context);
      const started = await api.createDatabase(branch, { spec: { postgres_database: postgresDatabase, role: owner.startsWith('projects/') ? owner : `${branch}/roles/${owner}` } }, databaseId);
      if (noWait(context)) return shownOperation(started);
      return shownDatabase(await waitFor(context, api, started, { subject: `database ${postgresDatabase}`, action: 'create', checkWith: `%lakebase database list ${positionals[0]}` }));
    },
  },
  {
    name: 'database list',
    summary: 'List the databases of a branch',
    positionals: [{ name: 'BRANCH', summary: 'the branch', completes: 'branches' }],
    options: [PROFILE],
    examples: ['%lakebase database list shop/production'],
    resultType: 'LakebaseBranchDatabase[]',
    async run(context) {
      const databases = await (await apiFor(context)).listDatabases(branchName(context.invocation.positionals[0], context.services));
      return shownList(databases, shownDatabase, () =>
        new TableOutput(
          ['database', 'postgres database', 'owner'],
          databases.map((database) => [idOf(database.name), database.status?.postgres_database ?? '', idOf(database.status?.role ?? '')]),
          'No databases.',
        ),
      );
    },
  },
  {
    name: 'database get',
    summary: 'Show a database of a branch',
    positionals: [{ name: 'DATABASE', summary: 'BRANCH/DATABASE_ID or its full name' }],
    options: [PROFILE],
    examples: ['%lakebase database get shop/production/analytics'],
    resultType: 'LakebaseBranchDatabase',
    run: async (context) => shownDatabase(await (await apiFor(context)).getDatabase(childName(context.invocation.positionals[0], 'databases', context.services))),
  },
  {
    name: 'database delete',
    summary: 'Drop a database of a branch, with its data',
    positionals: [{ name: 'DATABASE', summary: 'BRANCH/DATABASE_ID or its full name' }],
    options: [YES_OPTION, NO_WAIT, PROFILE],
    examples: ['%lakebase database delete shop/production/analytics'],
    resultType: deletingType,
    async run(context) {
      const name = childName(context.invocation.positionals[0], 'databases', context.services);
      const go = await confirm(context, {
        consequences: `Drops the database ${name} with all its data; sessions on it end. This cannot be undone.`,
        question: `Drop the database ${idOf(name)}?`,
        withYes: `%lakebase database delete ${context.invocation.positionals[0]} --yes`,
      });
      if (!go) return new TextOutput(`Kept the database ${idOf(name)}.`);
      const api = await apiFor(context);
      const started = await api.deleteDatabase(name);
      if (noWait(context)) return shownOperation(started);
      await waitFor(context, api, started, { subject: `database ${idOf(name)}`, action: 'delete', checkWith: `%lakebase database list ${name.split('/databases/')[0]}` });
      return new TextOutput(`Dropped the database ${name}.`);
    },
  },
];

/** Project and branch names for Tab, kept briefly (names change while the user works). */
const CACHE_MS = 10_000;
const cache = new Map<string, { at: number; names: readonly string[] }>();

async function cached(key: string, load: () => Promise<readonly string[]>): Promise<readonly string[]> {
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.names;
  const names = await load();
  cache.set(key, { at: Date.now(), names });
  return names;
}

export const projectsFamily: VerbFamily<MagicServices> = {
  name: 'projects',
  summary: 'Lakebase Autoscaling: projects, branches, endpoints, roles and databases',
  verbs: [...projectVerbs, ...projectPermissionVerbs, ...branchVerbs, ...endpointVerbs, ...roleVerbs, ...databaseVerbs],
  typeDeclarations: PROJECT_TYPES,
  completionSources: {
    projects: (services) =>
      cached('projects', async () => (await (await services.connectors.autoscaling()).api.listProjects()).map((project) => idOf(project.name))),
    branches: (services) => {
      const current = currentPlacement(services);
      if (!current) return [];
      return cached(`branches ${current.placement.project}`, async () =>
        (await (await services.connectors.autoscaling(current.placement.profile)).api.listBranches(current.placement.project)).map((branch) => idOf(branch.name)),
      );
    },
  },
};

