// The Lakebase Autoscaling API (`/api/2.0/postgres`), as the core library needs it: projects,
// branches, endpoints, roles, databases, long-running operations and endpoint credentials.
//
// The JS SDK 0.17 has no postgres service (databricks-apis.md §0), so these are our own typed
// requests with the SDK's unified auth (`config.authenticate`), as the instance start/stop path
// in `workspace.ts` already does. This module is the only place that speaks this API; the
// Provisioned API (`/api/2.0/database`) stays in `workspace.ts`, and no code path mixes the two
// (lakebase.md): a project's endpoint is never looked up, minted for or explained as an instance.
import { ApiError } from '@databricks/sdk-experimental';
import { parseErrorFromResponse } from '@databricks/sdk-experimental/dist/apierr';
import { inspect } from 'node:util';
import type { MintedCredential } from './credentials';
import { LakebaseError } from './errors';
import { workspaceError } from './workspace';
import type { Workspace } from './workspace';

// ---- the API's resources (the fields this library reads; the service sends more) ----------------

export type EndpointType = 'ENDPOINT_TYPE_READ_WRITE' | 'ENDPOINT_TYPE_READ_ONLY';
export type EndpointState = 'INIT' | 'ACTIVE' | 'IDLE' | 'DEGRADED';
export type BranchState = 'INIT' | 'READY' | 'ARCHIVED' | 'IMPORTING' | 'RESETTING' | 'DELETED';

export interface Project {
  name: string;
  project_id?: string;
  uid?: string;
  create_time?: string;
  delete_time?: string;
  purge_time?: string;
  status?: {
    display_name?: string;
    default_branch?: string;
    pg_version?: number;
    owner?: string;
    history_retention_duration?: string;
    default_endpoint_settings?: ComputeSettings;
  };
}

export interface ComputeSettings {
  autoscaling_limit_min_cu?: number;
  autoscaling_limit_max_cu?: number;
  suspend_timeout_duration?: string;
  no_suspension?: boolean;
}

export interface Branch {
  name: string;
  branch_id?: string;
  uid?: string;
  parent?: string;
  create_time?: string;
  status?: {
    current_state?: BranchState;
    default?: boolean;
    is_protected?: boolean;
    source_branch?: string;
    source_branch_lsn?: string;
    source_branch_time?: string;
    expire_time?: string;
    delete_time?: string;
    logical_size_bytes?: number;
  };
}

export interface Endpoint {
  name: string;
  endpoint_id?: string;
  uid?: string;
  parent?: string;
  status?: ComputeSettings & {
    endpoint_type?: EndpointType;
    current_state?: EndpointState;
    disabled?: boolean;
    last_active_time?: string;
    hosts?: { host?: string; read_only_host?: string; read_write_pooled_host?: string; read_only_pooled_host?: string };
  };
}

export interface Role {
  name: string;
  role_id?: string;
  status?: { postgres_role?: string; identity_type?: string; auth_method?: string; membership_roles?: string[]; attributes?: Record<string, boolean> };
}

export interface Database {
  name: string;
  database_id?: string;
  status?: { postgres_database?: string; role?: string };
}

/** A long-running operation (`google.longrunning.Operation` as the API encodes it). */
export interface Operation<T = unknown> {
  name: string;
  done?: boolean;
  metadata?: Record<string, unknown>;
  response?: T;
  error?: { error_code?: string; message?: string };
}

export type ResourceKind = 'project' | 'branch' | 'endpoint' | 'role' | 'database' | 'operation';

/** Stable codes of the errors this module raises. */
export const AUTOSCALING_ERRORS = {
  notFound: (kind: ResourceKind) => `${kind.toUpperCase()}_NOT_FOUND` as const,
  operationFailed: 'OPERATION_FAILED',
  unreadable: 'AUTOSCALING_RESPONSE_UNREADABLE',
} as const;

/** Commands named in hints: the `%lakebase` verb, then the Databricks CLI's `postgres` group (as `COMMANDS`, workspace.ts). */
export const AUTOSCALING_COMMANDS = {
  listProjects: '`%lakebase project list` (or `databricks postgres list-projects`)',
  listBranches: (project: string) => `\`%lakebase branch list ${project}\` (or \`databricks postgres list-branches ${project}\`)`,
  listEndpoints: (branch: string) => `\`%lakebase endpoint list ${branch}\` (or \`databricks postgres list-endpoints ${branch}\`)`,
} as const;

export interface ListOptions {
  showDeleted?: boolean;
}

export interface AutoscalingApi {
  readonly host: string;
  getProject(name: string): Promise<Project>;
  listProjects(options?: ListOptions): Promise<Project[]>;
  createProject(projectId: string, project: Omit<Project, 'name'> & Record<string, unknown>): Promise<Operation<Project>>;
  updateProject(name: string, project: Record<string, unknown>, updateMask: string): Promise<Operation<Project>>;
  deleteProject(name: string, options?: { purge?: boolean }): Promise<Operation>;
  undeleteProject(name: string): Promise<Operation<Project>>;
  getBranch(name: string): Promise<Branch>;
  listBranches(project: string, options?: ListOptions): Promise<Branch[]>;
  createBranch(project: string, branchId: string, branch: Record<string, unknown>): Promise<Operation<Branch>>;
  updateBranch(name: string, branch: Record<string, unknown>, updateMask: string): Promise<Operation<Branch>>;
  deleteBranch(name: string, options?: { purge?: boolean }): Promise<Operation>;
  undeleteBranch(name: string): Promise<Operation<Branch>>;
  getEndpoint(name: string): Promise<Endpoint>;
  listEndpoints(branch: string): Promise<Endpoint[]>;
  createEndpoint(branch: string, endpointId: string, endpoint: Record<string, unknown>): Promise<Operation<Endpoint>>;
  updateEndpoint(name: string, endpoint: Record<string, unknown>, updateMask: string): Promise<Operation<Endpoint>>;
  deleteEndpoint(name: string): Promise<Operation>;
  getRole(name: string): Promise<Role>;
  listRoles(branch: string): Promise<Role[]>;
  createRole(branch: string, role: Record<string, unknown>, roleId?: string): Promise<Operation<Role>>;
  deleteRole(name: string, options?: { reassignOwnedTo?: string }): Promise<Operation>;
  getDatabase(name: string): Promise<Database>;
  listDatabases(branch: string): Promise<Database[]>;
  createDatabase(branch: string, database: Record<string, unknown>, databaseId?: string): Promise<Operation<Database>>;
  deleteDatabase(name: string): Promise<Operation>;
  getOperation<T = unknown>(name: string): Promise<Operation<T>>;
  /** `POST /api/2.0/postgres/credentials {endpoint}` → `{token, expire_time}`. */
  generateCredential(endpoint: string): Promise<MintedCredential>;
}

/** The kind of resource a full name is: `projects/p/branches/b/endpoints/e` → `endpoint`. */
export function kindOfName(name: string): ResourceKind {
  const parts = name.split('/');
  if (parts.length >= 2 && parts[parts.length - 2] === 'operations') return 'operation';
  const plural = parts.length >= 2 ? parts[parts.length - 2] : '';
  return ({ projects: 'project', branches: 'branch', endpoints: 'endpoint', roles: 'role', databases: 'database' } as const)[plural as 'projects'] ?? 'project';
}

export function autoscalingApi(workspace: Workspace): AutoscalingApi {
  return new AutoscalingClient(workspace);
}

type Query = Record<string, string | number | boolean | undefined>;

class AutoscalingClient implements AutoscalingApi {
  readonly host: string;
  readonly #workspace: Workspace;

  constructor(workspace: Workspace) {
    this.#workspace = workspace;
    this.host = workspace.host;
  }

  getProject(name: string) {
    return this.#request<Project>('GET', name, { what: `get the project ${name}`, subject: name });
  }

  listProjects(options: ListOptions = {}) {
    return this.#list<Project>('projects', 'projects', { show_deleted: options.showDeleted }, 'list projects');
  }

  createProject(projectId: string, project: Record<string, unknown>) {
    return this.#request<Operation<Project>>('POST', 'projects', { what: `create the project ${projectId}`, query: { project_id: projectId }, body: project });
  }

  updateProject(name: string, project: Record<string, unknown>, updateMask: string) {
    return this.#request<Operation<Project>>('PATCH', name, { what: `update the project ${name}`, subject: name, query: { update_mask: updateMask }, body: project });
  }

  deleteProject(name: string, options: { purge?: boolean } = {}) {
    return this.#request<Operation>('DELETE', name, { what: `delete the project ${name}`, subject: name, query: { purge: options.purge } });
  }

  undeleteProject(name: string) {
    return this.#request<Operation<Project>>('POST', `${name}/undelete`, { what: `undelete the project ${name}`, subject: name, body: {} });
  }

  getBranch(name: string) {
    return this.#request<Branch>('GET', name, { what: `get the branch ${name}`, subject: name });
  }

  listBranches(project: string, options: ListOptions = {}) {
    return this.#list<Branch>(`${project}/branches`, 'branches', { show_deleted: options.showDeleted }, `list the branches of ${project}`, project);
  }

  createBranch(project: string, branchId: string, branch: Record<string, unknown>) {
    return this.#request<Operation<Branch>>('POST', `${project}/branches`, { what: `create the branch ${branchId}`, subject: project, query: { branch_id: branchId }, body: branch });
  }

  updateBranch(name: string, branch: Record<string, unknown>, updateMask: string) {
    return this.#request<Operation<Branch>>('PATCH', name, { what: `update the branch ${name}`, subject: name, query: { update_mask: updateMask }, body: branch });
  }

  deleteBranch(name: string, options: { purge?: boolean } = {}) {
    return this.#request<Operation>('DELETE', name, { what: `delete the branch ${name}`, subject: name, query: { purge: options.purge } });
  }

  undeleteBranch(name: string) {
    return this.#request<Operation<Branch>>('POST', `${name}/undelete`, { what: `undelete the branch ${name}`, subject: name, body: {} });
  }

  getEndpoint(name: string) {
    return this.#request<Endpoint>('GET', name, { what: `get the endpoint ${name}`, subject: name });
  }

  listEndpoints(branch: string) {
    return this.#list<Endpoint>(`${branch}/endpoints`, 'endpoints', {}, `list the endpoints of ${branch}`, branch);
  }

  createEndpoint(branch: string, endpointId: string, endpoint: Record<string, unknown>) {
    return this.#request<Operation<Endpoint>>('POST', `${branch}/endpoints`, { what: `create the endpoint ${endpointId}`, subject: branch, query: { endpoint_id: endpointId }, body: endpoint });
  }

  updateEndpoint(name: string, endpoint: Record<string, unknown>, updateMask: string) {
    return this.#request<Operation<Endpoint>>('PATCH', name, { what: `update the endpoint ${name}`, subject: name, query: { update_mask: updateMask }, body: endpoint });
  }

  deleteEndpoint(name: string) {
    return this.#request<Operation>('DELETE', name, { what: `delete the endpoint ${name}`, subject: name });
  }

  getRole(name: string) {
    return this.#request<Role>('GET', name, { what: `get the role ${name}`, subject: name });
  }

  listRoles(branch: string) {
    return this.#list<Role>(`${branch}/roles`, 'roles', {}, `list the roles of ${branch}`, branch);
  }

  createRole(branch: string, role: Record<string, unknown>, roleId?: string) {
    return this.#request<Operation<Role>>('POST', `${branch}/roles`, { what: `create a role on ${branch}`, subject: branch, query: { role_id: roleId }, body: role });
  }

  deleteRole(name: string, options: { reassignOwnedTo?: string } = {}) {
    return this.#request<Operation>('DELETE', name, { what: `delete the role ${name}`, subject: name, query: { reassign_owned_to: options.reassignOwnedTo } });
  }

  getDatabase(name: string) {
    return this.#request<Database>('GET', name, { what: `get the database ${name}`, subject: name });
  }

  listDatabases(branch: string) {
    return this.#list<Database>(`${branch}/databases`, 'databases', {}, `list the databases of ${branch}`, branch);
  }

  createDatabase(branch: string, database: Record<string, unknown>, databaseId?: string) {
    return this.#request<Operation<Database>>('POST', `${branch}/databases`, { what: `create a database on ${branch}`, subject: branch, query: { database_id: databaseId }, body: database });
  }

  deleteDatabase(name: string) {
    return this.#request<Operation>('DELETE', name, { what: `delete the database ${name}`, subject: name });
  }

  getOperation<T>(name: string) {
    return this.#request<Operation<T>>('GET', name, { what: `look up the operation ${name}`, subject: name });
  }

  async generateCredential(endpoint: string): Promise<MintedCredential> {
    // Only `{endpoint}`, as @databricks/lakebase sends it: the token's lifetime is the service's.
    const reply = await this.#request<{ token?: unknown; expire_time?: unknown }>('POST', 'credentials', {
      what: 'generate a database credential',
      subject: endpoint,
      body: { endpoint },
    });
    const expirationTime = typeof reply.expire_time === 'string' ? new Date(reply.expire_time) : undefined;
    if (typeof reply.token !== 'string' || reply.token === '' || !expirationTime || Number.isNaN(expirationTime.getTime())) {
      throw new LakebaseError('CREDENTIAL_UNREADABLE', `The workspace ${this.host} answered the credential request for ${endpoint} without a token and a valid expire_time.`, {
        hint: 'This is a workspace problem; try again, and report it if it persists.',
      });
    }
    return { token: reply.token, expirationTime };
  }

  async #list<T>(path: string, field: string, query: Query, what: string, subject?: string): Promise<T[]> {
    const items: T[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.#request<Record<string, unknown>>('GET', path, { what, subject, query: { ...query, page_size: 100, page_token: pageToken } });
      items.push(...((page[field] as T[] | undefined) ?? []));
      pageToken = typeof page.next_page_token === 'string' && page.next_page_token !== '' ? page.next_page_token : undefined;
    } while (pageToken);
    return items;
  }

  async #request<T>(method: string, path: string, options: { what: string; subject?: string; query?: Query; body?: unknown }): Promise<T> {
    try {
      const headers = new Headers({ Accept: 'application/json' });
      if (options.body !== undefined) headers.set('Content-Type', 'application/json');
      await this.#workspace.client.config.authenticate(headers);
      // Names are paths (`projects/p/branches/b`): each segment is encoded, the slashes stay.
      const url = new URL(`/api/2.0/postgres/${path.split('/').map(encodeURIComponent).join('/')}`, this.host);
      for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
      const response = await fetch(url, { method, headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) });
      const text = await response.text();
      if (!response.ok) throw parseErrorFromResponse(response.status, response.statusText, text);
      try {
        return (text === '' ? {} : JSON.parse(text)) as T;
      } catch (error) {
        throw new LakebaseError(AUTOSCALING_ERRORS.unreadable, `The workspace ${this.host} answered ${method} ${url.pathname} with something that is not JSON.`, { cause: error });
      }
    } catch (error) {
      throw autoscalingError(error, this.host, options.what, options.subject);
    }
  }

  [inspect.custom](): string {
    return `AutoscalingApi { host: ${this.host} }`;
  }
}

/** A 404 names what is missing, in the API's own kinds; everything else as `workspaceError`. */
function autoscalingError(error: unknown, host: string, what: string, subject: string | undefined): LakebaseError {
  if (error instanceof ApiError && error.statusCode === 404 && subject !== undefined) {
    // The service says which level is missing ("branch id not found"); fall back to the subject's kind.
    const said = /^(\w+) id not found/.exec(error.message)?.[1] as ResourceKind | undefined;
    const kind = said && ['project', 'branch', 'endpoint', 'role', 'database', 'operation'].includes(said) ? said : kindOfName(subject);
    const hint =
      kind === 'project'
        ? `List the projects with ${AUTOSCALING_COMMANDS.listProjects}.`
        : kind === 'branch'
          ? `List the branches with ${AUTOSCALING_COMMANDS.listBranches(subject.split('/').slice(0, 2).join('/'))}.`
          : undefined;
    return new LakebaseError(AUTOSCALING_ERRORS.notFound(kind), `There is no ${kind} ${nameForKind(subject, kind)} in ${host}.`, { hint, cause: error });
  }
  // Anything else, a refusal (403) above all, is about the project the subject is in.
  const project = subject !== undefined && subject.startsWith('projects/') ? subject.split('/').slice(0, 2).join('/') : undefined;
  return workspaceError(error, { host, operation: what, ...(project !== undefined ? { project } : {}) });
}

/** The part of `subject` that names a resource of `kind` (the missing level of a deeper name). */
function nameForKind(subject: string, kind: ResourceKind): string {
  const plural = { project: 'projects', branch: 'branches', endpoint: 'endpoints', role: 'roles', database: 'databases', operation: 'operations' }[kind];
  const parts = subject.split('/');
  const index = parts.lastIndexOf(plural);
  return index >= 0 ? parts.slice(0, index + 2).join('/') : subject;
}

/** The resource an operation produced; fails with the operation's error as one line. */
export function operationResult<T>(operation: Operation<T>): T {
  if (operation.error) {
    const code = operation.error.error_code ? `[${operation.error.error_code}] ` : '';
    throw new LakebaseError(AUTOSCALING_ERRORS.operationFailed, `The operation ${operation.name} failed: ${code}${operation.error.message ?? 'unknown error'}`);
  }
  return operation.response as T;
}

export interface OperationWaitOptions {
  /** What is awaited, for messages: "the project shop to be created". */
  description: string;
  /** Stops the waiting (an interrupt), never the operation. */
  signal?: AbortSignal;
  onProgress?: (progress: { state: string; detail?: string }) => void;
  timeoutMs?: number;
}

/**
 * Polls the operation (`GET /api/2.0/postgres/{operation}`) until `done`, as the SDKs' waiters do,
 * on the shared waiting loop (`waiting.ts`): the result is the operation's `response`; its `error`
 * ends the wait as one line (`[ERROR_CODE] message`); an interrupt stops the waiting only.
 */
export async function waitForOperation<T>(api: AutoscalingApi, operation: Operation<T>, options: OperationWaitOptions): Promise<T> {
  if (operation.done) return operationResult(operation);
  const { waitFor } = await import('./waiting.js');
  return waitFor<Operation<T>, T>({
    description: options.description,
    poll: () => api.getOperation<T>(operation.name),
    check: (current) => (current.done ? { done: true, result: operationResult(current) } : { done: false, state: 'RUNNING', detail: 'the operation to finish' }),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: (progress) => options.onProgress?.({ state: progress.state, ...(progress.detail ? { detail: progress.detail } : {}) }) } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
}
