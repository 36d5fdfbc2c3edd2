// `%lakebase instance ...`: the whole life of a Lakebase Provisioned instance from a cell — create
// (also as a point-in-time child), get, list, start, stop, resize, update, fail over, delete, and
// who may use or manage it. Names follow the Databricks CLI's `databricks database *-database-instance`
// commands. Long operations wait with one live status line (magics/status-line.ts) and take
// `--no-wait`; an interrupt stops the waiting, never the operation, and says so. Destructive verbs
// confirm (magics/confirm.ts). Every verb's value is the instance as the API returns it, typed
// `LakebaseInstance` in TypeScript.
import { instanceObject } from '../../lakebase/permissions';
import {
  Capacity,
  CAPACITIES,
  CopyPoint,
  createInstance,
  deleteInstance,
  failoverInstance,
  Instance,
  InstanceChanges,
  isLsn,
  parsePointInTime,
  updateInstance,
} from '../../lakebase/provisioning';
import type { WaitProgress } from '../../lakebase/waiting';
import { LakebaseError } from '../../lakebase/errors';
import { confirm, YES_OPTION } from '../confirm';
import type { MagicInvocation, VerbContext, VerbDeclaration, VerbFamily } from '../declarations';
import { MAGIC_ERRORS, MagicUsageError } from '../errors';
import { displayAs, FieldsOutput, TableOutput, TextOutput } from '../outputs';
import type { MagicServices } from '../services';
import { watch } from '../status-line';
import { permissionVerbs } from './permission-verbs';
import { booleanOption, NameCache, NO_WAIT_OPTION, optionValue, PROFILE_OPTION, textOption, workspaceOf } from './workspace-verbs';

/** Instance names for completion, per workspace profile. */
export const instanceNames = new NameCache();

const NAME = { name: 'NAME', summary: 'the instance (1-63 letters, digits and hyphens)', completes: 'instances' } as const;

const INSTANCE_TYPES = `
type LakebaseInstanceState = 'STARTING' | 'AVAILABLE' | 'UPDATING' | 'STOPPED' | 'DELETING' | 'FAILING_OVER' | 'UPGRADING';
interface LakebaseInstanceRef { name?: string; uid?: string; branch_time?: string; lsn?: string; effective_lsn?: string }
/** A Lakebase Provisioned instance, as the API returns it (effective_* fields are what applies). */
interface LakebaseInstance {
  name: string;
  uid?: string;
  state?: LakebaseInstanceState;
  capacity?: 'CU_1' | 'CU_2' | 'CU_4' | 'CU_8' | string;
  creator?: string;
  creation_time?: string;
  pg_version?: string;
  read_write_dns?: string;
  read_only_dns?: string;
  effective_capacity?: string;
  effective_stopped?: boolean;
  effective_node_count?: number;
  effective_enable_readable_secondaries?: boolean;
  effective_enable_pg_native_login?: boolean;
  effective_retention_window_in_days?: number;
  effective_custom_tags?: LakebaseCustomTag[];
  custom_tags?: LakebaseCustomTag[];
  parent_instance_ref?: LakebaseInstanceRef;
  child_instance_refs?: LakebaseInstanceRef[];
  usage_policy_id?: string;
  effective_usage_policy_id?: string;
}
interface LakebasePermissionEntry {
  user_name?: string;
  service_principal_name?: string;
  group_name?: string;
  all_permissions?: { permission_level?: string; inherited?: boolean; inherited_from_object?: string[] }[];
}
/** Who may use (CAN_USE) or manage (CAN_MANAGE) an instance. */
interface LakebasePermissions { object_id?: string; object_type?: string; access_control_list?: LakebasePermissionEntry[] }
`;

/** The fields `instance get` shows, in the order people look for them. */
export function instanceFields(instance: Instance): FieldsOutput {
  const nodes = instance.effective_node_count;
  const parent = instance.parent_instance_ref;
  const tags = instance.effective_custom_tags ?? instance.custom_tags ?? [];
  return new FieldsOutput(`instance ${instance.name}`, [
    ['state', instance.state],
    ['capacity', instance.capacity],
    ['nodes', nodes === undefined ? undefined : `${nodes}${nodes > 1 ? (instance.effective_enable_readable_secondaries ? ' (readable secondaries)' : ' (secondaries not readable)') : ''}`],
    ['read_write_dns', instance.read_write_dns],
    ['read_only_dns', instance.read_only_dns],
    ['pg_version', instance.pg_version],
    ['retention', instance.effective_retention_window_in_days === undefined ? undefined : `${instance.effective_retention_window_in_days} days`],
    ['native login', instance.effective_enable_pg_native_login ? 'on' : undefined],
    [
      'parent',
      parent?.name === undefined
        ? undefined
        : `${parent.name}${parent.branch_time ? ` as of ${parent.branch_time}` : ''}${parent.lsn ? ` at LSN ${parent.lsn}` : ''}${parent.effective_lsn ? ` (branched at LSN ${parent.effective_lsn})` : ''}`,
    ],
    ['children', (instance.child_instance_refs ?? []).map((child) => child.name).join(', ')],
    ['tags', tags.map((tag) => (tag.value === undefined ? tag.key : `${tag.key}=${tag.value}`)).join(', ')],
    ['creator', instance.creator],
    ['created', instance.creation_time],
    ['uid', instance.uid],
  ]);
}

function shown(instance: Instance): Instance {
  return displayAs(instance, () => instanceFields(instance));
}

function listed(instances: Instance[]): Instance[] {
  return displayAs(instances.map(shown), () =>
    new TableOutput(
      ['name', 'state', 'capacity', 'nodes', 'read_write_dns', 'read_only_dns', 'parent', 'creator'],
      instances.map((instance) => [
        instance.name,
        instance.state ?? '',
        instance.capacity ?? '',
        String(instance.effective_node_count ?? ''),
        instance.read_write_dns ?? '',
        instance.read_only_dns ?? '',
        instance.parent_instance_ref?.name ?? '',
        instance.creator ?? '',
      ]),
      'No instances (that you may see). Create one with %lakebase instance create NAME.',
    ),
  );
}

/** `key=value,key2=value2` → custom tags. */
function parseTags(text: string, line: number): { key: string; value?: string }[] {
  return text.split(',').map((pair) => {
    const [key, ...rest] = pair.split('=');
    if (key.trim() === '') {
      throw new MagicUsageError(MAGIC_ERRORS.invalidValue, `--tags must be KEY=VALUE pairs separated by commas, not "${text}"`, { line });
    }
    return rest.length === 0 ? { key: key.trim() } : { key: key.trim(), value: rest.join('=').trim() };
  });
}

/** Where `read_write_dns` (and `read_only_dns`) are, for the final status line. */
function addresses(instance: Instance): string | undefined {
  const parts = [
    instance.read_write_dns ? `read_write_dns ${instance.read_write_dns}` : undefined,
    instance.read_only_dns ? `read_only_dns ${instance.read_only_dns}` : undefined,
  ].filter((part): part is string => part !== undefined);
  return parts.length === 0 ? undefined : parts.join(', ');
}

/**
 * Runs an instance operation under a live status line (or returns at once with `--no-wait`).
 * `operation` names it for "the creation goes on".
 */
async function watched(
  context: VerbContext<MagicServices>,
  line: { name: string; action: string; state: string; waitingFor: string; operation: string; note?: (instance: Instance) => string | undefined },
  work: (wait: { noWait?: boolean; onProgress?: (progress: WaitProgress<Instance>) => void; signal?: AbortSignal }) => Promise<Instance>,
): Promise<Instance> {
  if (context.invocation.options['no-wait'] === true) return shown(await work({ noWait: true }));
  const result = await watch(
    context.host,
    {
      subject: `instance ${line.name}`,
      action: line.action,
      state: line.state,
      waitingFor: line.waitingFor,
      checkWith: `%lakebase instance get ${line.name}`,
      operation: line.operation,
      settledState: (instance: Instance) => instance.state ?? 'DONE',
      settledNote: line.note ?? addresses,
    },
    ({ onProgress, signal }) => work({ onProgress: (progress) => onProgress({ state: progress.state, ...(progress.detail ? { detail: progress.detail } : {}) }), signal }),
  );
  return shown(result);
}

/** Names this kernel's connections to the instance (a stop or delete would end them). */
function connectionsTo(services: MagicServices, instance: string): string[] {
  return [...services.connectionInstances.entries()].filter(([, target]) => target === instance).map(([name]) => name);
}

function copyPointOf(context: VerbContext<MagicServices>): CopyPoint {
  const { invocation } = context;
  const at = optionValue(context, 'at');
  const lsn = optionValue(context, 'lsn');
  if (lsn !== undefined) {
    if (!isLsn(lsn)) {
      throw new MagicUsageError(MAGIC_ERRORS.invalidValue, `--lsn must be a PostgreSQL LSN such as 0/16B3740, not "${lsn}"`, { line: invocation.source.line });
    }
    return { kind: 'lsn', lsn: lsn.toUpperCase() };
  }
  if (at !== undefined) return { kind: 'time', time: parsePointInTime(at) };
  return { kind: 'now' };
}

const create: VerbDeclaration<MagicServices> = {
  name: 'instance create',
  summary: 'Create an instance (or a point-in-time child of one) and wait until it is AVAILABLE',
  positionals: [{ name: 'NAME', summary: 'the new instance (1-63 letters, digits and hyphens)' }],
  options: [
    { name: 'capacity', kind: 'choice', choices: CAPACITIES, valueName: 'CU', summary: 'Compute: about 16 GB of memory per capacity unit (default CU_2)' },
    { name: 'node-count', kind: 'integer', min: 1, max: 3, valueName: 'N', summary: 'Nodes: 1 primary and up to 2 secondaries (high availability)' },
    { name: 'readable-secondaries', kind: 'flag', summary: 'Let clients read from the secondaries at read_only_dns (needs --node-count 2 or 3)' },
    { name: 'retention-days', kind: 'integer', min: 2, max: 35, valueName: 'DAYS', summary: 'Days of history kept for point-in-time children (default 7)' },
    { name: 'native-login', kind: 'flag', summary: 'Let PG_ONLY roles log in with their PostgreSQL passwords' },
    { name: 'tags', kind: 'text', valueName: 'KEY=VALUE,...', summary: 'Custom tags' },
    { name: 'stopped', kind: 'flag', summary: 'Create it stopped' },
    { name: 'from', kind: 'text', valueName: 'PARENT', completes: 'instances', summary: 'Make a child: a copy of this instance (as of now, or --at / --lsn)' },
    { name: 'at', kind: 'text', valueName: 'TIME', summary: 'With --from: as of this time (2026-12-03T10:00:00Z, "2026-12-03 10:00" local, -5m, -2h, -1d, or :variable for a TypeScript Date)' },
    { name: 'lsn', kind: 'text', valueName: 'LSN', summary: 'With --from: at this WAL position (e.g. 0/16B3740, or :variable)' },
    NO_WAIT_OPTION,
    PROFILE_OPTION,
  ],
  conflicts: [['at', 'lsn']],
  details: [
    'The instance is created as the API says (STARTING, then AVAILABLE) under one live status line; its creator gets a role in ' +
      'databricks_superuser, so %lakebase connect NAME works at once. With --from it is a child: the parent\'s data as of now, ' +
      'a time (--at) inside its retention window, or an LSN (--lsn), restored with PostgreSQL\'s point-in-time recovery.',
  ],
  examples: [
    '%lakebase instance create orders --capacity CU_1',
    '%lakebase instance create orders-ha --node-count 2 --readable-secondaries',
    '%lakebase instance create orders-before --from orders --at -10m',
    '%lakebase instance create orders-before --from orders --at :beforeDelete',
  ],
  resultType: 'LakebaseInstance',
  async run(context) {
    const { invocation } = context;
    const [name] = invocation.positionals;
    const parent = textOption(invocation, 'from');
    if (parent === undefined && (invocation.options.at !== undefined || invocation.options.lsn !== undefined)) {
      throw new MagicUsageError(MAGIC_ERRORS.missingArgument, 'instance create: --at and --lsn choose the point of a child; name its parent with --from', {
        line: invocation.source.line,
        hint: 'Example: %lakebase instance create orders-before --from orders --at -10m',
      });
    }
    const workspace = await workspaceOf(context);
    const tags = textOption(invocation, 'tags');
    const stopped = invocation.options.stopped === true;
    const instance = await watched(
      context,
      {
        name,
        action: parent === undefined ? 'create' : `create from ${parent}`,
        state: 'STARTING',
        waitingFor: parent === undefined ? 'the server to start' : `the copy of ${parent}`,
        operation: 'the creation',
      },
      (wait) =>
        createInstance(
          workspace,
          {
            name,
            ...(invocation.options.capacity !== undefined ? { capacity: invocation.options.capacity as Capacity } : {}),
            ...(invocation.options['node-count'] !== undefined ? { nodeCount: Number(invocation.options['node-count']) } : {}),
            ...(invocation.options['readable-secondaries'] === true ? { readableSecondaries: true } : {}),
            ...(invocation.options['retention-days'] !== undefined ? { retentionWindowInDays: Number(invocation.options['retention-days']) } : {}),
            ...(invocation.options['native-login'] === true ? { nativeLogin: true } : {}),
            ...(tags !== undefined ? { customTags: parseTags(tags, invocation.source.line) } : {}),
            ...(stopped ? { stopped } : {}),
            ...(parent !== undefined ? { parent: { name: parent, point: copyPointOf(context) } } : {}),
          },
          wait,
        ),
    );
    instanceNames.invalidate();
    return instance;
  },
};

const get: VerbDeclaration<MagicServices> = {
  name: 'instance get',
  summary: 'Show an instance: state, capacity, nodes, addresses, parent and children',
  positionals: [NAME],
  options: [PROFILE_OPTION],
  examples: ['%lakebase instance get orders', 'const i = %lakebase instance get orders'],
  resultType: 'LakebaseInstance',
  async run(context) {
    const workspace = await workspaceOf(context);
    return shown((await workspace.getInstance(context.invocation.positionals[0])) as Instance);
  },
};

const list: VerbDeclaration<MagicServices> = {
  name: 'instance list',
  summary: 'List the instances you may see, as a table',
  positionals: [],
  options: [PROFILE_OPTION],
  examples: ['%lakebase instance list', 'const all = %lakebase instance list'],
  resultType: 'LakebaseInstance[]',
  async run(context) {
    const workspace = await workspaceOf(context);
    return listed((await workspace.listInstances()) as Instance[]);
  },
};

/** A verb that changes the instance and waits for what the change leads to. */
function changing(
  spec: Pick<VerbDeclaration<MagicServices>, 'name' | 'summary' | 'details' | 'examples'> & {
    options: VerbDeclaration<MagicServices>['options'];
    action: string;
    state: string;
    waitingFor: string;
    operation: string;
    changes(invocation: MagicInvocation): InstanceChanges;
    /** Asks before a change that would end this kernel's sessions; false: the user said no. */
    before?(context: VerbContext<MagicServices>, name: string): Promise<boolean>;
  },
): VerbDeclaration<MagicServices> {
  return {
    name: spec.name,
    summary: spec.summary,
    ...(spec.details ? { details: spec.details } : {}),
    positionals: [NAME],
    options: [...spec.options, NO_WAIT_OPTION, PROFILE_OPTION],
    examples: spec.examples,
    // A change the user declines (`before` says no) is no instance but a sentence.
    resultType: spec.before ? 'LakebaseInstance | LakebaseMessage' : 'LakebaseInstance',
    async run(context) {
      const [name] = context.invocation.positionals;
      const changes = spec.changes(context.invocation);
      if (Object.keys(changes).length === 0) {
        throw new MagicUsageError(MAGIC_ERRORS.missingArgument, `${spec.name} needs at least one setting to change`, {
          line: context.invocation.source.line,
          hint: `Example: ${spec.examples[0]}`,
        });
      }
      if (spec.before && !(await spec.before(context, name))) return new TextOutput(`Nothing was done: the instance ${name} was left as it is.`);
      const workspace = await workspaceOf(context);
      return watched(context, { name, action: spec.action, state: spec.state, waitingFor: spec.waitingFor, operation: spec.operation }, (wait) =>
        updateInstance(workspace, name, changes, wait),
      );
    },
  };
}

const start = changing({
  name: 'instance start',
  summary: 'Start a stopped instance and wait until it is AVAILABLE',
  options: [],
  action: 'start',
  state: 'STARTING',
  waitingFor: 'the server to start',
  operation: 'the start',
  examples: ['%lakebase instance start orders'],
  changes: () => ({ stopped: false }),
});

const stop = changing({
  name: 'instance stop',
  summary: 'Stop an instance (connections are refused until it starts) and wait until it is STOPPED',
  options: [YES_OPTION],
  action: 'stop',
  state: 'UPDATING',
  waitingFor: 'the server to stop',
  operation: 'the stop',
  details: ['Stopping an instance this kernel has connections to ends them; that asks for confirmation first (or --yes).'],
  examples: ['%lakebase instance stop orders', '%lakebase instance stop orders --yes'],
  changes: () => ({ stopped: true }),
  async before(context, name) {
    const open = connectionsTo(context.services, name);
    if (open.length === 0) return true;
    return confirm(context, {
      consequences: `Stops the instance ${name}: this kernel's connection${open.length > 1 ? 's' : ''} ${open.map((connection) => `"${connection}"`).join(', ')} to it will end.`,
      question: `Stop the instance ${name}?`,
      withYes: `%lakebase instance stop ${name} --yes`,
    });
  },
});

const resize = changing({
  name: 'instance resize',
  summary: 'Change an instance\'s capacity or node count; it passes through UPDATING, its data stays',
  options: [
    { name: 'capacity', kind: 'choice', choices: CAPACITIES, valueName: 'CU', summary: 'The new capacity' },
    { name: 'node-count', kind: 'integer', min: 1, max: 3, valueName: 'N', summary: 'The new number of nodes (1 primary and up to 2 secondaries)' },
  ],
  action: 'resize',
  state: 'UPDATING',
  waitingFor: 'the change to be applied',
  operation: 'the resize',
  examples: ['%lakebase instance resize orders --capacity CU_4', '%lakebase instance resize orders --node-count 2'],
  changes: (invocation) => ({
    ...(invocation.options.capacity !== undefined ? { capacity: invocation.options.capacity as Capacity } : {}),
    ...(invocation.options['node-count'] !== undefined ? { nodeCount: Number(invocation.options['node-count']) } : {}),
  }),
});

const update = changing({
  name: 'instance update',
  summary: 'Change an instance\'s readable secondaries, retention window, native login or tags',
  options: [
    { name: 'readable-secondaries', kind: 'choice', choices: ['true', 'false'], valueName: 'true|false', summary: 'Let clients read from the secondaries at read_only_dns' },
    { name: 'retention-days', kind: 'integer', min: 2, max: 35, valueName: 'DAYS', summary: 'Days of history kept for point-in-time children' },
    { name: 'native-login', kind: 'choice', choices: ['true', 'false'], valueName: 'true|false', summary: 'Let PG_ONLY roles log in with their PostgreSQL passwords' },
    { name: 'tags', kind: 'text', valueName: 'KEY=VALUE,...', summary: 'Replace the custom tags ("" clears them)' },
  ],
  action: 'update',
  state: 'UPDATING',
  waitingFor: 'the change to be applied',
  operation: 'the update',
  examples: ['%lakebase instance update orders --readable-secondaries true', '%lakebase instance update orders --retention-days 14 --tags team=shop'],
  changes: (invocation) => {
    const tags = textOption(invocation, 'tags');
    const readable = booleanOption(invocation, 'readable-secondaries');
    const native = booleanOption(invocation, 'native-login');
    return {
      ...(readable !== undefined ? { readableSecondaries: readable } : {}),
      ...(invocation.options['retention-days'] !== undefined ? { retentionWindowInDays: Number(invocation.options['retention-days']) } : {}),
      ...(native !== undefined ? { nativeLogin: native } : {}),
      ...(tags !== undefined ? { customTags: parseTags(tags, invocation.source.line) } : {}),
    };
  },
});

const failover: VerbDeclaration<MagicServices> = {
  name: 'instance failover',
  summary: 'Make the secondary the primary (FAILING_OVER, then AVAILABLE); read_write_dns then leads to it',
  positionals: [NAME],
  options: [NO_WAIT_OPTION, PROFILE_OPTION],
  details: ['Needs --node-count 2 or more. Sessions on the old primary end; new connections to read_write_dns reach the promoted one.'],
  examples: ['%lakebase instance failover orders-ha'],
  resultType: 'LakebaseInstance',
  async run(context) {
    const [name] = context.invocation.positionals;
    const workspace = await workspaceOf(context);
    return watched(context, { name, action: 'failover', state: 'FAILING_OVER', waitingFor: 'the secondary to take over', operation: 'the failover' }, (wait) =>
      failoverInstance(workspace, name, wait),
    );
  },
};

const remove: VerbDeclaration<MagicServices> = {
  name: 'instance delete',
  summary: 'Delete an instance and its data (--force: with its child instances)',
  positionals: [NAME],
  options: [
    { name: 'force', kind: 'flag', summary: 'Also delete its child instances (otherwise an instance with children is refused)' },
    { name: 'allow-missing', kind: 'flag', summary: 'An instance that does not exist is no error (a notebook that cleans up before it starts)' },
    YES_OPTION,
    NO_WAIT_OPTION,
    PROFILE_OPTION,
  ],
  details: ['Asks for confirmation first, saying what will go (or needs --yes where nothing can be asked).'],
  examples: ['%lakebase instance delete orders', '%lakebase instance delete orders --force --yes', '%lakebase instance delete scratch --allow-missing --yes'],
  resultType: 'LakebaseMessage',
  async run(context) {
    const { invocation, services } = context;
    const [name] = invocation.positionals;
    const force = invocation.options.force === true;
    const workspace = await workspaceOf(context);
    // Looked up first: the confirmation says what really goes, and a missing instance fails here.
    let instance: Instance;
    try {
      instance = (await workspace.getInstance(name)) as Instance;
    } catch (error) {
      if (invocation.options['allow-missing'] === true && error instanceof LakebaseError && error.code === 'INSTANCE_NOT_FOUND') {
        return new TextOutput(`There is no instance ${name}: nothing to delete.`);
      }
      throw error;
    }
    const children = (instance.child_instance_refs ?? []).map((child) => child.name ?? '').filter((child) => child !== '');
    const open = connectionsTo(services, name);
    const go = await confirm(context, {
      consequences:
        `Deletes the instance ${name} with all its data and roles` +
        (children.length > 0 ? (force ? `, and its child instances ${children.join(', ')}` : '') : '') +
        (open.length > 0 ? `; this kernel's connection${open.length > 1 ? 's' : ''} ${open.map((connection) => `"${connection}"`).join(', ')} to it will end` : '') +
        '. This cannot be undone.',
      question: `Delete the instance ${name}?`,
      withYes: `%lakebase instance delete ${name}${force ? ' --force' : ''} --yes`,
    });
    if (!go) return new TextOutput(`Nothing was deleted: the instance ${name} is still there.`);
    if (invocation.options['no-wait'] === true) {
      await deleteInstance(workspace, name, { force, noWait: true });
    } else {
      await watch(
        context.host,
        {
          subject: `instance ${name}`,
          action: 'delete',
          state: 'DELETING',
          waitingFor: 'the deletion to finish',
          checkWith: `%lakebase instance get ${name}`,
          operation: 'the deletion',
          settledState: () => 'DELETED',
        },
        ({ onProgress, signal }) =>
          deleteInstance(workspace, name, { force, signal, onProgress: (progress) => onProgress({ state: progress.state, ...(progress.detail ? { detail: progress.detail } : {}) }) }),
      );
    }
    instanceNames.invalidate();
    const also = force && children.length > 0 ? ` with its child instances ${children.join(', ')}` : '';
    return new TextOutput(`${invocation.options['no-wait'] === true ? 'Deleting' : 'Deleted'} the instance ${name}${also}.`);
  },
};

const [permissions, grant, revoke] = permissionVerbs({
  group: 'instance',
  noun: 'an instance',
  object: NAME,
  objectOf: instanceObject,
  manages: 'change and delete it',
  grantDetails: ['A principal with CAN_USE still needs a Postgres role to log in: %lakebase instance-role create INSTANCE PRINCIPAL.'],
  example: 'orders',
});

export const instanceFamily: VerbFamily<MagicServices> = {
  name: 'instance',
  summary: 'Lakebase Provisioned instances',
  verbs: [create, get, list, start, stop, resize, update, failover, remove, permissions, grant, revoke],
  typeDeclarations: INSTANCE_TYPES,
  completionSources: {
    async instances(services) {
      const choice = await services.connectors.workspace();
      return instanceNames.get(choice.workspace.host, async () => (await choice.workspace.listInstances()).map((instance) => instance.name));
    },
  },
};
