// `/api/2.0/postgres/*`: Lakebase Autoscaling, as the Python SDK 0.133 (`postgres.py`) and the Go
// SDK call it: every by-name call is `{METHOD} /api/2.0/postgres/{name}`, creates take the id as a
// query parameter (`?project_id=`), updates take `?update_mask=`, and every change answers with a
// long-running Operation that `GET /api/2.0/postgres/{operation name}` polls (databricks-apis.md §4).
import { errors } from '../api-errors';
import { postgresErrors } from '../autoscaling-errors';
import { CHILD_ID, CREDENTIAL_TTL_SECONDS, HISTORY_RETENTION_SECONDS, PROJECT_DEFAULTS, RESOURCE_ID, UPDATE_MASK_PATHS } from '../autoscaling-limits';
import type { ComputeSettings, EndpointType, RoleAuthMethod, RoleIdentityType } from '../autoscaling-records';
import {
  masked,
  numberField,
  objectField,
  parseDuration,
  parseTimestamp,
  parseUpdateMask,
  renderDatabase,
  renderEndpoint,
  renderProject,
  renderRole,
  stringMap,
} from '../autoscaling-wire';
import { caller, onlyFields, optionalBoolean, optionalString, queryBoolean, requiredString } from '../http';
import type { Reply, Request, Route } from '../http';
import { paginate, parsePageSize } from '../pagination';
import type { PermissionLevel, PermissionStore } from '../permissions';
import type { Operation, ProjectRegistry } from '../projects';
import type { CustomTag } from '../store';

/** The permissions API's object type of Autoscaling projects; the object id is the project id. */
export const PROJECT_OBJECT_TYPE = 'database-projects';

export interface PostgresServices {
  projects: ProjectRegistry;
  permissions: PermissionStore;
}

type Guard = (request: Request, name: string, needed: PermissionLevel, action: string) => void;

/**
 * Refuses the caller unless it holds `needed` on the project `name` is in (any resource name:
 * `projects/p/branches/b/...`). The project must exist — a missing one is a 404 before any 403, as
 * the real service answers — but what is inside it is looked up only after the check, so that a
 * refused caller learns nothing of its branches and endpoints.
 */
function guardOf({ projects, permissions }: PostgresServices): Guard {
  return (request, name, needed, action) => {
    const projectId = /^projects\/([^/]+)/.exec(name)?.[1];
    if (projectId === undefined) throw postgresErrors.notFound('project', name);
    projects.getProject(`projects/${projectId}`);
    permissions.require(caller(request), { type: PROJECT_OBJECT_TYPE, id: projectId, needed, action });
  };
}

const BASE = '/api/2.0/postgres';
const PROJECT = `${BASE}/projects/{project}`;
const BRANCH = `${PROJECT}/branches/{branch}`;
const ENDPOINT = `${BRANCH}/endpoints/{endpoint}`;
const ROLE = `${BRANCH}/roles/{role}`;
const DATABASE = `${BRANCH}/databases/{database}`;

function ok(body: unknown): Reply {
  return { status: 200, body };
}

/**
 * Who started each operation: the operation that purges a project outlives the project (and its
 * permissions), and the caller that started it may still follow it to `done`.
 */
const STARTERS = new WeakMap<Operation, string>();

function operation(request: Request, op: Operation): Reply {
  STARTERS.set(op, caller(request).postgresName);
  return ok(op);
}

/** The resource name a route's path parameters spell: `projects/p/branches/b/...`. */
function nameOf(request: Request, depth: 'project' | 'branch' | 'endpoint' | 'role' | 'database'): string {
  const { project, branch, endpoint, role, database } = request.params;
  const projectName = `projects/${project}`;
  if (depth === 'project') return projectName;
  const branchName = `${projectName}/branches/${branch}`;
  if (depth === 'branch') return branchName;
  if (depth === 'endpoint') return `${branchName}/endpoints/${endpoint}`;
  if (depth === 'role') return `${branchName}/roles/${role}`;
  return `${branchName}/databases/${database}`;
}

function resourceId(request: Request, field: string, pattern: RegExp = RESOURCE_ID.pattern): string {
  const value = request.url.searchParams.get(field);
  if (value === null || value === '') throw postgresErrors.idRequired(field);
  if (!pattern.test(value)) throw pattern === RESOURCE_ID.pattern ? postgresErrors.invalidId(field, value) : postgresErrors.invalidChildId(field);
  return value;
}

function optionalChildId(request: Request, field: string): string | undefined {
  const value = request.url.searchParams.get(field);
  if (value === null || value === '') return undefined;
  if (!CHILD_ID.pattern.test(value)) throw postgresErrors.invalidChildId(field);
  return value;
}

function list<T>(request: Request, items: readonly T[], field: string, render: (item: T) => unknown, keyOf: (item: T) => string): Reply {
  const page = paginate(items, keyOf, parsePageSize(request.url.searchParams.get('page_size')), request.url.searchParams.get('page_token'));
  return ok({ [field]: page.items.map(render), ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}) });
}

/** `replace_existing=true` (bring an implicit resource under management) is not emulated. */
function refuseReplaceExisting(request: Request): void {
  if (queryBoolean(request.url, 'replace_existing') === true) {
    throw errors.notImplemented('replace_existing=true (updating an existing resource through create)', { field: 'replace_existing' });
  }
}

// ---- parsing specs -----------------------------------------------------------------------------

/** Output fields a client may echo back (the SDKs send what they read); they are ignored. */
const OUTPUT_FIELDS = ['name', 'uid', 'create_time', 'update_time', 'delete_time', 'purge_time', 'status', 'parent'];

/** Compute settings from a spec (endpoint spec, default_endpoint_settings, initial_endpoint_spec). */
function parseSettings(spec: Record<string, unknown>, where: string): Partial<ComputeSettings> {
  const settings: Partial<ComputeSettings> = {};
  const minCu = numberField(spec, 'autoscaling_limit_min_cu', where);
  const maxCu = numberField(spec, 'autoscaling_limit_max_cu', where);
  if (minCu !== undefined) settings.minCu = minCu;
  if (maxCu !== undefined) settings.maxCu = maxCu;
  const noSuspension = optionalBoolean(spec, 'no_suspension');
  if (spec.suspend_timeout_duration !== undefined && spec.suspend_timeout_duration !== null) {
    if (noSuspension === true) throw errors.invalidParameter(`${where}.no_suspension`, 'Set either no_suspension or suspend_timeout_duration, not both.');
    settings.suspendTimeoutSeconds = parseDuration(`${where}.suspend_timeout_duration`, spec.suspend_timeout_duration);
  } else if (noSuspension === true) {
    settings.suspendTimeoutSeconds = null;
  }
  const pgSettings = stringMap(spec, 'pg_settings', where) ?? stringMap(objectField(spec, 'settings', where) ?? {}, 'pg_settings', `${where}.settings`);
  if (pgSettings !== undefined) settings.pgSettings = pgSettings;
  if (spec.group !== undefined && spec.group !== null) {
    const group = objectField(spec, 'group', where) ?? {};
    if ((group.min ?? 1) !== 1 || (group.max ?? 1) !== 1 || group.enable_readable_secondaries === true) {
      throw errors.notImplemented('Endpoint groups of more than one compute (readable secondaries)', { field: `${where}.group` });
    }
  }
  return settings;
}

function parseCustomTags(value: unknown): CustomTag[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw errors.invalidParameter('spec.custom_tags', 'custom_tags must be a list of {key, value}.');
  return value.map((tag: Record<string, unknown>) => {
    onlyFields(tag ?? {}, ['key', 'value'], 'ProjectCustomTag');
    const value = optionalString(tag, 'value');
    return { key: requiredString(tag, 'key'), ...(value !== undefined ? { value } : {}) };
  });
}

function parseHistoryRetention(spec: Record<string, unknown>): number | undefined {
  if (spec.history_retention_duration === undefined || spec.history_retention_duration === null) return undefined;
  const seconds = parseDuration('spec.history_retention_duration', spec.history_retention_duration);
  if (seconds < HISTORY_RETENTION_SECONDS.min || seconds > HISTORY_RETENTION_SECONDS.max) {
    throw postgresErrors.durationOutOfRange('spec.history_retention_duration', seconds, HISTORY_RETENTION_SECONDS.min, HISTORY_RETENTION_SECONDS.max);
  }
  return seconds;
}

/** `ttl` (from now), `expire_time` or `no_expiry`: the branch's expiry, or undefined. */
function parseExpiration(spec: Record<string, unknown>): string | null | undefined {
  const given = ['ttl', 'expire_time', 'no_expiry'].filter((field) => spec[field] !== undefined && spec[field] !== null);
  if (given.length > 1) throw errors.invalidParameter('spec.expiration', `Set one of ttl, expire_time and no_expiry, not ${given.join(' and ')}.`);
  if (spec.ttl !== undefined && spec.ttl !== null) {
    const seconds = parseDuration('spec.ttl', spec.ttl);
    if (seconds <= 0) throw errors.invalidParameter('spec.ttl', 'ttl must be positive.');
    return new Date(Date.now() + seconds * 1000).toISOString();
  }
  if (spec.expire_time !== undefined && spec.expire_time !== null) {
    const time = parseTimestamp('spec.expire_time', spec.expire_time);
    if (Date.parse(time) <= Date.now()) throw errors.invalidParameter('spec.expire_time', 'expire_time must be in the future.');
    return time;
  }
  if (spec.no_expiry === true) return null;
  return undefined;
}

function specOf(body: Record<string, unknown>, allowed: readonly string[], where: string): Record<string, unknown> {
  onlyFields(body, [...allowed, 'spec', ...OUTPUT_FIELDS], where);
  return objectField(body, 'spec', where) ?? {};
}

// ---- routes ------------------------------------------------------------------------------------

function projectRoutes(services: PostgresServices): Route[] {
  const { projects, permissions } = services;
  const guard = guardOf(services);
  return [
    {
      method: 'POST', path: `${BASE}/projects`, authenticated: true,
      async handle(request) {
        const projectId = resourceId(request, 'project_id');
        const body = request.body;
        const spec = specOf(body, ['project_id', 'initial_branch_spec', 'initial_database_spec', 'initial_endpoint_spec', 'initial_role_spec'], 'Project');
        onlyFields(spec, ['display_name', 'pg_version', 'history_retention_duration', 'default_endpoint_settings', 'enable_pg_native_login', 'custom_tags', 'budget_policy_id', 'default_branch', 'compute_provisioner'], 'ProjectSpec');
        if (optionalBoolean(spec, 'enable_pg_native_login') === true) {
          throw errors.notImplemented('Native Postgres password login (enable_pg_native_login)', { field: 'spec.enable_pg_native_login' });
        }
        if (body.initial_role_spec !== undefined) throw errors.notImplemented('initial_role_spec (password roles)', { field: 'initial_role_spec' });
        const pgVersion = numberField(spec, 'pg_version', 'spec');
        if (pgVersion !== undefined && !(PROJECT_DEFAULTS.acceptedPgVersions as readonly number[]).includes(pgVersion)) {
          throw errors.invalidParameter('spec.pg_version', `pg_version ${pgVersion} is not offered; use one of ${PROJECT_DEFAULTS.acceptedPgVersions.join(', ')}.`);
        }
        const displayName = optionalString(spec, 'display_name');
        if (displayName !== undefined && (displayName.length < 1 || displayName.length > 256)) {
          throw errors.invalidParameter('spec.display_name', 'display_name must be 1-256 characters.');
        }
        const initialBranch = objectField(body, 'initial_branch_spec', 'Project') ?? {};
        const initialDatabase = objectField(body, 'initial_database_spec', 'Project') ?? {};
        const initialEndpoint = objectField(body, 'initial_endpoint_spec', 'Project') ?? {};
        const database = optionalString(initialDatabase, 'postgres_database');
        const historyRetentionSeconds = parseHistoryRetention(spec);
        const budgetPolicyId = optionalString(spec, 'budget_policy_id');
        const op = await projects.createProject(
          {
            projectId,
            ...(displayName !== undefined ? { displayName } : {}),
            ...(pgVersion !== undefined ? { pgVersion } : {}),
            ...(historyRetentionSeconds !== undefined ? { historyRetentionSeconds } : {}),
            defaultEndpointSettings: parseSettings(objectField(spec, 'default_endpoint_settings', 'spec') ?? {}, 'spec.default_endpoint_settings'),
            customTags: parseCustomTags(spec.custom_tags),
            ...(budgetPolicyId !== undefined ? { budgetPolicyId } : {}),
            initialEndpoint: parseSettings(initialEndpoint, 'initial_endpoint_spec'),
            initialBranchProtected: optionalBoolean(initialBranch, 'is_protected') ?? false,
            ...(database !== undefined ? { initialDatabase: database } : {}),
          },
          caller(request),
        );
        // Its creator manages it (the record exists once createProject returned).
        await permissions.created(PROJECT_OBJECT_TYPE, projectId, caller(request));
        return operation(request, op);
      },
    },
    {
      method: 'GET', path: `${BASE}/projects`, authenticated: true,
      handle(request) {
        // Only the projects the caller may see: any permission on them (admins see all).
        const visible = projects
          .listProjects(queryBoolean(request.url, 'show_deleted') ?? false)
          .filter((project) => permissions.level(PROJECT_OBJECT_TYPE, project.projectId, caller(request)) !== undefined);
        return list(request, visible, 'projects', renderProject, (project) => project.name);
      },
    },
    {
      method: 'GET', path: PROJECT, authenticated: true,
      handle(request) {
        guard(request, nameOf(request, 'project'), 'CAN_USE', 'look it up');
        return ok(renderProject(projects.getProject(nameOf(request, 'project'))));
      },
    },
    {
      method: 'PATCH', path: PROJECT, authenticated: true,
      async handle(request) {
        const name = nameOf(request, 'project');
        guard(request, name, 'CAN_MANAGE', 'change it');
        const paths = parseUpdateMask(request.url.searchParams.get('update_mask'), UPDATE_MASK_PATHS.project, request.body);
        const spec = specOf(request.body, ['project_id', 'initial_branch_spec', 'initial_endpoint_spec', 'initial_database_spec'], 'Project');
        const changes: Parameters<ProjectRegistry['updateProject']>[1] = {};
        if (masked(paths, 'spec.display_name')) {
          const displayName = optionalString(spec, 'display_name');
          if (displayName !== undefined) changes.displayName = displayName;
        }
        if (masked(paths, 'spec.history_retention_duration')) {
          const seconds = parseHistoryRetention(spec);
          if (seconds !== undefined) changes.historyRetentionSeconds = seconds;
        }
        if (paths.some((path) => masked([path], 'spec.default_endpoint_settings') || path.startsWith('spec.default_endpoint_settings'))) {
          const settings = objectField(spec, 'default_endpoint_settings', 'spec');
          if (settings) changes.defaultEndpointSettings = parseSettings(settings, 'spec.default_endpoint_settings');
        }
        if (masked(paths, 'spec.default_branch')) {
          const branch = optionalString(spec, 'default_branch');
          if (branch !== undefined) changes.defaultBranch = branch;
        }
        if (masked(paths, 'spec.custom_tags') && spec.custom_tags !== undefined) changes.customTags = parseCustomTags(spec.custom_tags);
        if (masked(paths, 'spec.budget_policy_id')) {
          const policy = optionalString(spec, 'budget_policy_id');
          if (policy !== undefined) changes.budgetPolicyId = policy;
        }
        if (masked(paths, 'spec.enable_pg_native_login') && optionalBoolean(spec, 'enable_pg_native_login') === true) {
          throw errors.notImplemented('Native Postgres password login (enable_pg_native_login)', { field: 'spec.enable_pg_native_login' });
        }
        return operation(request, await projects.updateProject(name, changes));
      },
    },
    {
      method: 'DELETE', path: PROJECT, authenticated: true,
      async handle(request) {
        guard(request, nameOf(request, 'project'), 'CAN_MANAGE', 'delete it');
        return operation(request, await projects.deleteProject(nameOf(request, 'project'), queryBoolean(request.url, 'purge') ?? false));
      },
    },
    {
      method: 'POST', path: `${PROJECT}/undelete`, authenticated: true,
      async handle(request) {
        guard(request, nameOf(request, 'project'), 'CAN_MANAGE', 'undelete it');
        return operation(request, await projects.undeleteProject(nameOf(request, 'project')));
      },
    },
  ];
}

function branchRoutes(services: PostgresServices): Route[] {
  const { projects } = services;
  const guard = guardOf(services);
  return [
    {
      method: 'POST', path: `${PROJECT}/branches`, authenticated: true,
      async handle(request) {
        guard(request, nameOf(request, 'project'), 'CAN_MANAGE', 'create a branch in it');
        refuseReplaceExisting(request);
        const branchId = resourceId(request, 'branch_id');
        const spec = specOf(request.body, ['branch_id'], 'Branch');
        onlyFields(spec, ['source_branch', 'source_branch_lsn', 'source_branch_time', 'source_snapshot', 'is_protected', 'ttl', 'expire_time', 'no_expiry'], 'BranchSpec');
        if (spec.source_snapshot !== undefined) throw errors.notImplemented('Branches from snapshots (source_snapshot)', { field: 'spec.source_snapshot' });
        const sourceBranch = optionalString(spec, 'source_branch');
        const lsn = optionalString(spec, 'source_branch_lsn');
        const time = spec.source_branch_time === undefined || spec.source_branch_time === null ? undefined : parseTimestamp('spec.source_branch_time', spec.source_branch_time);
        const expireTime = parseExpiration(spec);
        return operation(request, 
          await projects.createBranch(nameOf(request, 'project'), {
            branchId,
            ...(sourceBranch !== undefined ? { sourceBranch } : {}),
            ...(lsn !== undefined ? { sourceBranchLsn: lsn } : {}),
            ...(time !== undefined ? { sourceBranchTime: time } : {}),
            isProtected: optionalBoolean(spec, 'is_protected') ?? false,
            ...(expireTime ? { expireTime } : {}),
          }),
        );
      },
    },
    {
      method: 'GET', path: `${PROJECT}/branches`, authenticated: true,
      handle(request) {
        guard(request, nameOf(request, 'project'), 'CAN_USE', 'list its branches');
        return list(request, projects.listBranches(nameOf(request, 'project'), queryBoolean(request.url, 'show_deleted') ?? false), 'branches', (branch) => projects.renderBranch(branch), (branch) => branch.name);
      },
    },
    {
      method: 'GET', path: BRANCH, authenticated: true,
      handle(request) {
        guard(request, nameOf(request, 'branch'), 'CAN_USE', 'look at its branches');
        return ok(projects.renderBranch(projects.getBranch(nameOf(request, 'branch'))));
      },
    },
    {
      method: 'PATCH', path: BRANCH, authenticated: true,
      async handle(request) {
        const name = nameOf(request, 'branch');
        guard(request, name, 'CAN_MANAGE', 'change its branches');
        projects.getBranch(name);
        const paths = parseUpdateMask(request.url.searchParams.get('update_mask'), UPDATE_MASK_PATHS.branch, request.body);
        const spec = specOf(request.body, ['branch_id'], 'Branch');
        const changes: Parameters<ProjectRegistry['updateBranch']>[1] = {};
        if (masked(paths, 'spec.is_protected')) {
          const isProtected = optionalBoolean(spec, 'is_protected');
          if (isProtected !== undefined) changes.isProtected = isProtected;
        }
        if (masked(paths, 'spec.expiration')) {
          const expiry = parseExpiration(spec);
          if (expiry !== undefined) changes.expireTime = expiry;
        }
        return operation(request, await projects.updateBranch(name, changes));
      },
    },
    {
      method: 'DELETE', path: BRANCH, authenticated: true,
      async handle(request) {
        const name = nameOf(request, 'branch');
        guard(request, name, 'CAN_MANAGE', 'delete its branches');
        const op = await projects.deleteBranch(name, { purge: queryBoolean(request.url, 'purge') ?? false, allowMissing: queryBoolean(request.url, 'allow_missing') ?? false });
        // allow_missing on a branch that is not there: nothing to do, an operation done at once.
        return operation(request, op ?? { name: `${name}/operations/none`, done: true, metadata: { '@type': 'type.googleapis.com/databricks.postgres.v1.BranchOperationMetadata' }, response: { '@type': 'type.googleapis.com/google.protobuf.Empty' } });
      },
    },
    {
      method: 'POST', path: `${BRANCH}/undelete`, authenticated: true,
      async handle(request) {
        guard(request, nameOf(request, 'branch'), 'CAN_MANAGE', 'undelete its branches');
        return operation(request, await projects.undeleteBranch(nameOf(request, 'branch')));
      },
    },
  ];
}

function parseEndpointType(value: unknown): EndpointType {
  if (value === undefined || value === null || value === '') throw postgresErrors.endpointTypeRequired();
  if (value !== 'ENDPOINT_TYPE_READ_WRITE' && value !== 'ENDPOINT_TYPE_READ_ONLY') {
    throw errors.invalidParameter('spec.endpoint_type', `Invalid endpoint_type '${String(value)}'. Valid values are ENDPOINT_TYPE_READ_WRITE, ENDPOINT_TYPE_READ_ONLY.`);
  }
  return value;
}

const ENDPOINT_SPEC_FIELDS = ['endpoint_type', 'autoscaling_limit_min_cu', 'autoscaling_limit_max_cu', 'disabled', 'group', 'no_suspension', 'settings', 'suspend_timeout_duration'];

function endpointRoutes(services: PostgresServices): Route[] {
  const { projects } = services;
  const guard = guardOf(services);
  return [
    {
      method: 'POST', path: `${BRANCH}/endpoints`, authenticated: true,
      async handle(request) {
        guard(request, nameOf(request, 'branch'), 'CAN_MANAGE', 'create endpoints in it');
        refuseReplaceExisting(request);
        const endpointId = resourceId(request, 'endpoint_id');
        const spec = specOf(request.body, ['endpoint_id'], 'Endpoint');
        onlyFields(spec, ENDPOINT_SPEC_FIELDS, 'EndpointSpec');
        return operation(request, 
          await projects.createEndpoint(nameOf(request, 'branch'), {
            endpointId,
            type: parseEndpointType(spec.endpoint_type),
            settings: parseSettings(spec, 'spec'),
            disabled: optionalBoolean(spec, 'disabled') ?? false,
          }),
        );
      },
    },
    {
      method: 'GET', path: `${BRANCH}/endpoints`, authenticated: true,
      handle(request) {
        guard(request, nameOf(request, 'branch'), 'CAN_USE', 'list its endpoints');
        return list(request, projects.listEndpoints(nameOf(request, 'branch')), 'endpoints', renderEndpoint, (endpoint) => endpoint.name);
      },
    },
    {
      method: 'GET', path: ENDPOINT, authenticated: true,
      handle(request) {
        guard(request, nameOf(request, 'endpoint'), 'CAN_USE', 'look at its endpoints');
        return ok(renderEndpoint(projects.getEndpoint(nameOf(request, 'endpoint'))));
      },
    },
    {
      method: 'PATCH', path: ENDPOINT, authenticated: true,
      async handle(request) {
        const name = nameOf(request, 'endpoint');
        guard(request, name, 'CAN_MANAGE', 'change its endpoints');
        const endpoint = projects.getEndpoint(name);
        const paths = parseUpdateMask(request.url.searchParams.get('update_mask'), UPDATE_MASK_PATHS.endpoint, request.body);
        const spec = specOf(request.body, ['endpoint_id'], 'Endpoint');
        onlyFields(spec, ENDPOINT_SPEC_FIELDS, 'EndpointSpec');
        if (spec.endpoint_type !== undefined && spec.endpoint_type !== endpoint.type) {
          throw errors.invalidParameter('spec.endpoint_type', 'endpoint_type cannot be changed; create another endpoint.');
        }
        const parsed = parseSettings(spec, 'spec');
        const settings: Partial<ComputeSettings> = {};
        if (masked(paths, 'spec.autoscaling_limit_min_cu') && parsed.minCu !== undefined) settings.minCu = parsed.minCu;
        if (masked(paths, 'spec.autoscaling_limit_max_cu') && parsed.maxCu !== undefined) settings.maxCu = parsed.maxCu;
        if (masked(paths, 'spec.suspension') && parsed.suspendTimeoutSeconds !== undefined) settings.suspendTimeoutSeconds = parsed.suspendTimeoutSeconds;
        if (masked(paths, 'spec.settings.pg_settings') && parsed.pgSettings !== undefined) settings.pgSettings = parsed.pgSettings;
        const disabled = masked(paths, 'spec.disabled') ? optionalBoolean(spec, 'disabled') ?? false : undefined;
        return operation(request, await projects.updateEndpoint(name, { settings, ...(disabled !== undefined ? { disabled } : {}) }));
      },
    },
    {
      method: 'DELETE', path: ENDPOINT, authenticated: true,
      async handle(request) {
        guard(request, nameOf(request, 'endpoint'), 'CAN_MANAGE', 'delete its endpoints');
        return operation(request, await projects.deleteEndpoint(nameOf(request, 'endpoint')));
      },
    },
    {
      method: 'GET', path: `${ENDPOINT}/compute-instances`, authenticated: true,
      handle() { throw errors.notImplemented('Compute instances of an endpoint'); },
    },
  ];
}

const IDENTITY_TYPES: readonly RoleIdentityType[] = ['USER', 'SERVICE_PRINCIPAL', 'GROUP'];
const AUTH_METHODS: readonly RoleAuthMethod[] = ['LAKEBASE_OAUTH_V1', 'PG_PASSWORD_SCRAM_SHA_256', 'NO_LOGIN'];

function roleRoutes(services: PostgresServices): Route[] {
  const { projects } = services;
  const guard = guardOf(services);
  return [
    {
      method: 'POST', path: `${BRANCH}/roles`, authenticated: true,
      async handle(request) {
        guard(request, nameOf(request, 'branch'), 'CAN_MANAGE', 'manage its roles');
        refuseReplaceExisting(request);
        const roleId = optionalChildId(request, 'role_id');
        const spec = specOf(request.body, ['role_id'], 'Role');
        onlyFields(spec, ['postgres_role', 'identity_type', 'auth_method', 'membership_roles', 'attributes'], 'RoleRoleSpec');
        const identityType = optionalString(spec, 'identity_type');
        if (identityType !== undefined && !IDENTITY_TYPES.includes(identityType as RoleIdentityType)) {
          throw errors.invalidParameter('spec.identity_type', `Invalid identity_type '${identityType}'. Valid values are ${IDENTITY_TYPES.join(', ')}.`);
        }
        const authMethod = optionalString(spec, 'auth_method');
        if (authMethod !== undefined && !AUTH_METHODS.includes(authMethod as RoleAuthMethod)) {
          throw errors.invalidParameter('spec.auth_method', `Invalid auth_method '${authMethod}'. Valid values are ${AUTH_METHODS.join(', ')}.`);
        }
        const membership = spec.membership_roles ?? [];
        if (!Array.isArray(membership) || membership.some((role) => role !== 'DATABRICKS_SUPERUSER')) {
          throw errors.invalidParameter('spec.membership_roles', 'membership_roles may only hold DATABRICKS_SUPERUSER.');
        }
        const attributes = objectField(spec, 'attributes', 'spec') ?? {};
        onlyFields(attributes, ['bypassrls', 'createdb', 'createrole'], 'RoleAttributes');
        const parsedAttributes: Record<string, boolean> = {};
        for (const name of ['bypassrls', 'createdb', 'createrole'] as const) {
          const flag = optionalBoolean(attributes, name);
          if (flag !== undefined) parsedAttributes[name] = flag;
        }
        return operation(request, 
          await projects.createRole(nameOf(request, 'branch'), {
            ...(roleId !== undefined ? { roleId } : {}),
            postgresRole: requiredString(spec, 'postgres_role'),
            ...(identityType !== undefined ? { identityType: identityType as RoleIdentityType } : {}),
            ...(authMethod !== undefined ? { authMethod: authMethod as RoleAuthMethod } : {}),
            superuser: membership.length > 0,
            attributes: parsedAttributes,
          }),
        );
      },
    },
    {
      method: 'GET', path: `${BRANCH}/roles`, authenticated: true,
      handle(request) {
        guard(request, nameOf(request, 'branch'), 'CAN_USE', 'list its roles');
        return list(request, projects.listRoles(nameOf(request, 'branch')), 'roles', renderRole, (role) => role.name);
      },
    },
    {
      method: 'GET', path: ROLE, authenticated: true,
      handle(request) {
        guard(request, nameOf(request, 'role'), 'CAN_USE', 'look at its roles');
        return ok(renderRole(projects.getRole(nameOf(request, 'role'))));
      },
    },
    {
      method: 'PATCH', path: ROLE, authenticated: true,
      handle(request) {
        guard(request, nameOf(request, 'role'), 'CAN_MANAGE', 'manage its roles');
        throw errors.notImplemented('Updating a role (delete it and create it again)');
      },
    },
    {
      method: 'DELETE', path: ROLE, authenticated: true,
      async handle(request) {
        guard(request, nameOf(request, 'role'), 'CAN_MANAGE', 'manage its roles');
        return operation(request, await projects.deleteRole(nameOf(request, 'role'), request.url.searchParams.get('reassign_owned_to') ?? undefined));
      },
    },
  ];
}

function databaseRoutes(services: PostgresServices): Route[] {
  const { projects } = services;
  const guard = guardOf(services);
  return [
    {
      method: 'POST', path: `${BRANCH}/databases`, authenticated: true,
      async handle(request) {
        guard(request, nameOf(request, 'branch'), 'CAN_MANAGE', 'manage its databases');
        refuseReplaceExisting(request);
        const databaseId = optionalChildId(request, 'database_id');
        const spec = specOf(request.body, ['database_id'], 'Database');
        onlyFields(spec, ['postgres_database', 'role'], 'DatabaseDatabaseSpec');
        const role = optionalString(spec, 'role');
        if (!role) throw postgresErrors.idRequired('database.spec.role');
        const postgresDatabase = optionalString(spec, 'postgres_database');
        return operation(request, 
          await projects.createDatabase(nameOf(request, 'branch'), {
            ...(databaseId !== undefined ? { databaseId } : {}),
            ...(postgresDatabase !== undefined ? { postgresDatabase } : {}),
            role,
          }),
        );
      },
    },
    {
      method: 'GET', path: `${BRANCH}/databases`, authenticated: true,
      handle(request) {
        guard(request, nameOf(request, 'branch'), 'CAN_USE', 'list its databases');
        return list(request, projects.listDatabases(nameOf(request, 'branch')), 'databases', renderDatabase, (database) => database.name);
      },
    },
    {
      method: 'GET', path: DATABASE, authenticated: true,
      handle(request) {
        guard(request, nameOf(request, 'database'), 'CAN_USE', 'look at its databases');
        return ok(renderDatabase(projects.getDatabase(nameOf(request, 'database'))));
      },
    },
    {
      method: 'PATCH', path: DATABASE, authenticated: true,
      handle(request) {
        guard(request, nameOf(request, 'database'), 'CAN_MANAGE', 'manage its databases');
        throw errors.notImplemented('Updating a database (rename or new owner)');
      },
    },
    {
      method: 'DELETE', path: DATABASE, authenticated: true,
      async handle(request) {
        guard(request, nameOf(request, 'database'), 'CAN_MANAGE', 'manage its databases');
        return operation(request, await projects.deleteDatabase(nameOf(request, 'database')));
      },
    },
  ];
}

function operationRoutes(services: PostgresServices): Route[] {
  const { projects } = services;
  const guard = guardOf(services);
  const get = (depth: 'project' | 'branch' | 'endpoint' | 'role' | 'database'): Route => ({
    method: 'GET',
    path: `${{ project: PROJECT, branch: BRANCH, endpoint: ENDPOINT, role: ROLE, database: DATABASE }[depth]}/operations/{operation}`,
    authenticated: true,
    handle(request) {
      const name = `${nameOf(request, depth)}/operations/${request.params.operation}`;
      const project = nameOf(request, 'project');
      if (!projects.hasProject(project)) {
        // Purged meanwhile: only its own purge operation is left to follow, by whoever started it.
        const purge = projects.findOperation(name);
        if (purge === undefined || STARTERS.get(purge) !== caller(request).postgresName) projects.getProject(project);
        return ok(purge);
      }
      guard(request, nameOf(request, depth), 'CAN_USE', 'follow its operations');
      return ok(projects.getOperation(name));
    },
  });
  return [get('project'), get('branch'), get('endpoint'), get('role'), get('database')];
}

function credentialRoutes(services: PostgresServices): Route[] {
  const { projects } = services;
  const guard = guardOf(services);
  return [
    {
      method: 'POST', path: `${BASE}/credentials`, authenticated: true,
      async handle(request) {
        const body = request.body;
        onlyFields(body, ['endpoint', 'claims', 'ttl', 'expire_time', 'group_name'], 'GenerateDatabaseCredentialRequest');
        const endpoint = requiredString(body, 'endpoint');
        // Connecting takes CAN_USE on the endpoint's project.
        guard(request, endpoint, 'CAN_USE', 'generate credentials for it');
        if (body.claims !== undefined) throw errors.notImplemented('Credentials scoped by claims', { field: 'claims' });
        if (body.group_name !== undefined) throw errors.notImplemented('Credentials for a workspace group (the emulator has no groups)', { field: 'group_name' });
        let ttl: number | undefined;
        if (body.ttl !== undefined && body.ttl !== null) ttl = parseDuration('ttl', body.ttl);
        if (body.expire_time !== undefined && body.expire_time !== null) {
          if (ttl !== undefined) throw errors.invalidParameter('ttl', 'Set ttl or expire_time, not both.');
          ttl = Math.round((Date.parse(parseTimestamp('expire_time', body.expire_time)) - Date.now()) / 1000);
        }
        if (ttl !== undefined && (ttl < CREDENTIAL_TTL_SECONDS.min || ttl > CREDENTIAL_TTL_SECONDS.max)) {
          throw postgresErrors.durationOutOfRange('ttl', ttl, CREDENTIAL_TTL_SECONDS.min, CREDENTIAL_TTL_SECONDS.max);
        }
        const credential = await projects.generateCredential(endpoint, caller(request), ttl);
        return ok({ token: credential.token, expire_time: credential.expireTime.toISOString() });
      },
    },
  ];
}

/** Autoscaling families the emulator does not serve: they fail by name. */
function unsupportedRoutes(): Route[] {
  const refuse = (what: string): Route['handle'] => () => { throw errors.notImplemented(what); };
  return [
    { method: '*', path: `${BASE}/catalogs`, authenticated: true, handle: refuse('Autoscaling Unity Catalog catalogs') },
    { method: '*', path: `${BASE}/catalogs/{catalog}`, authenticated: true, handle: refuse('Autoscaling Unity Catalog catalogs') },
    { method: '*', path: `${BASE}/synced_tables`, authenticated: true, handle: refuse('Autoscaling synced tables') },
    { method: '*', path: `${BASE}/synced_tables/{table}`, authenticated: true, handle: refuse('Autoscaling synced tables') },
    { method: '*', path: `${PROJECT}/snapshots`, authenticated: true, handle: refuse('Snapshots') },
    { method: '*', path: `${BRANCH}/snapshot-schedule`, authenticated: true, handle: refuse('Snapshot schedules') },
  ];
}

/**
 * Every route but `POST /projects` and the project list checks the caller's permission on the
 * project (`database-projects`, permissions.ts): CAN_USE to read and to mint credentials,
 * CAN_MANAGE to change anything. The list shows only the projects the caller holds some level on.
 */
export function postgresRoutes(services: PostgresServices): Route[] {
  return [
    ...projectRoutes(services),
    ...branchRoutes(services),
    ...endpointRoutes(services),
    ...roleRoutes(services),
    ...databaseRoutes(services),
    ...operationRoutes(services),
    ...credentialRoutes(services),
    ...unsupportedRoutes(),
  ];
}
