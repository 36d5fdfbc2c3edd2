// Lakebase Autoscaling projects in the emulator: projects, branches, endpoints, roles and
// databases (persisted in `state.json`), their compute (`compute.ts`), and the long-running
// operations every change answers with.
//
// A request is checked at once (404, 409 and 400 come back as HTTP errors, as on the real
// service); what it changes happens in the background as an operation, which clients poll with
// `GET /api/2.0/postgres/{operation}` until `done`. Operations of one project run one after
// another and last at least `transitionDelayMs`, so clients really have to wait; a failure ends
// the operation with `error` (the real `{error_code, message}`) instead of `response`.
import { randomBytes, randomUUID } from 'node:crypto';
import { ApiError, errors } from './api-errors';
import { postgresErrors } from './autoscaling-errors';
import type { ResourceKind } from './autoscaling-errors';
import { COMPUTE_UNITS, EMPTY_RESPONSE, OPERATION_METADATA_TYPE, PROJECT_DEFAULTS, RESOURCE_ID, SOFT_DELETE_RETENTION_SECONDS, SUSPEND_TIMEOUT_SECONDS } from './autoscaling-limits';
import { childrenOf, emptyAutoscalingState, parentOf } from './autoscaling-records';
import type {
  AutoscalingState,
  BranchRecord,
  ComputeSettings,
  EndpointRecord,
  EndpointState,
  EndpointType,
  PostgresDatabaseRecord,
  PostgresRoleRecord,
  ProjectRecord,
  RoleAuthMethod,
  RoleIdentityType,
} from './autoscaling-records';
import { renderBranch, renderDatabase, renderEndpoint, renderProject, renderRole } from './autoscaling-wire';
import type { BranchCompute, ComputeHosting } from './compute';
import { HostingError } from './hosting';
import { PointInTimeError } from './postgres/point-in-time';
import type { RecoveryTarget, RestoredCopy } from './postgres/point-in-time';
import type { Identity, IdentityDirectory } from './identities';
import { apiErrorFromHosting } from './roles';
import type { CustomTag, InstanceRecord, StateStore } from './store';
import type { TokenService } from './tokens';

export interface ProjectRegistryDependencies {
  store: StateStore;
  compute: ComputeHosting;
  tokens: TokenService;
  identities: IdentityDirectory;
  transitionDelayMs: number;
  tokenTtlSeconds: number;
  /** The lowest `suspend_timeout_duration` accepted (60 s on the real service; lower in tests). */
  minSuspendTimeoutSeconds: number;
  /** Addresses of Provisioned instances, so endpoints never take one. */
  reservedAddresses: () => Iterable<string>;
  /**
   * Told when a project is deleted (soft), undeleted, or really gone (purged): its permissions go,
   * and an instance it was upgraded from follows it (instances.ts `projectChanged`).
   */
  onProjectChanged?: (project: ProjectRecord, change: 'deleted' | 'undeleted' | 'purged') => Promise<void>;
  log: (line: string) => void;
}

export type OperationKind = 'Project' | 'Branch' | 'Endpoint' | 'Role' | 'Database';

/** The API's `Operation`. */
export interface Operation {
  name: string;
  done: boolean;
  metadata: { '@type': string };
  response?: unknown;
  error?: { error_code: string; message: string; details: unknown[] };
}

export interface ProjectRequest {
  projectId: string;
  displayName?: string;
  pgVersion?: number;
  historyRetentionSeconds?: number;
  defaultEndpointSettings: Partial<ComputeSettings>;
  customTags: CustomTag[];
  budgetPolicyId?: string;
  /** `initial_endpoint_spec`: the first endpoint's settings, over the defaults. */
  initialEndpoint: Partial<ComputeSettings>;
  initialBranchProtected: boolean;
  initialDatabase?: string;
}

export interface ProjectChanges {
  displayName?: string;
  historyRetentionSeconds?: number;
  defaultEndpointSettings?: Partial<ComputeSettings>;
  defaultBranch?: string;
  customTags?: CustomTag[];
  budgetPolicyId?: string;
}

export interface BranchRequest {
  branchId: string;
  sourceBranch?: string;
  sourceBranchLsn?: string;
  sourceBranchTime?: string;
  isProtected: boolean;
  /** Absolute expiry (from `ttl` or `expire_time`); undefined = `no_expiry`. */
  expireTime?: string;
}

export interface BranchChanges {
  isProtected?: boolean;
  /** `null` clears the expiry (`no_expiry`). */
  expireTime?: string | null;
}

export interface EndpointRequest {
  endpointId: string;
  type: EndpointType;
  settings: Partial<ComputeSettings>;
  disabled: boolean;
}

export interface EndpointChanges {
  settings?: Partial<ComputeSettings>;
  disabled?: boolean;
}

export interface RoleRequest {
  roleId?: string;
  postgresRole: string;
  identityType?: RoleIdentityType;
  authMethod?: RoleAuthMethod;
  superuser: boolean;
  attributes: Partial<PostgresRoleRecord['attributes']>;
}

export interface DatabaseRequest {
  databaseId?: string;
  postgresDatabase?: string;
  /** Full name of the owning role. */
  role: string;
}

/** What a Postgres login on an endpoint is: the token and its expiry. */
export interface EndpointCredential {
  token: string;
  expireTime: Date;
}

const now = () => new Date().toISOString();

function sortByName<T extends { name: string }>(records: Iterable<T>): T[] {
  return [...records].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class ProjectRegistry {
  readonly #deps: ProjectRegistryDependencies;
  readonly #operations = new Map<string, Operation>();
  /** The last operation of each project; the next one runs after it. */
  readonly #queues = new Map<string, Promise<void>>();
  readonly #expiryTimers = new Map<string, NodeJS.Timeout>();
  /** Base backups taken after an operation finished; the emulator's stop waits for them. */
  readonly #backgroundWork = new Set<Promise<void>>();
  /** The first base backup of a copied branch, while it is being taken, by branch name. */
  readonly #historyStarts = new Map<string, Promise<void>>();
  readonly #closing = new AbortController();
  /** Serializes address allocation, so two endpoints never get the same address. */
  #allocation: Promise<unknown> = Promise.resolve();

  constructor(deps: ProjectRegistryDependencies) {
    this.#deps = deps;
    deps.store.state.autoscaling ??= emptyAutoscalingState();
  }

  get #state(): AutoscalingState {
    return this.#deps.store.state.autoscaling as AutoscalingState;
  }

  // ---- look-ups ----------------------------------------------------------------------------------

  #find<T>(records: Record<string, T>, kind: ResourceKind, name: string): T {
    const record = Object.prototype.hasOwnProperty.call(records, name) ? records[name] : undefined;
    if (!record) throw postgresErrors.notFound(kind, name);
    return record;
  }

  getProject(name: string): ProjectRecord {
    return this.#find(this.#state.projects, 'project', name);
  }

  getBranch(name: string): BranchRecord {
    this.getProject(parentOf(name));
    return this.#find(this.#state.branches, 'branch', name);
  }

  getEndpoint(name: string): EndpointRecord {
    this.getBranch(parentOf(name));
    return this.#find(this.#state.endpoints, 'endpoint', name);
  }

  getRole(name: string): PostgresRoleRecord {
    this.getBranch(parentOf(name));
    return this.#find(this.#state.roles, 'role', name);
  }

  getDatabase(name: string): PostgresDatabaseRecord {
    this.getBranch(parentOf(name));
    return this.#find(this.#state.databases, 'database', name);
  }

  getOperation(name: string): Operation {
    const operation = this.#operations.get(name);
    if (!operation) throw postgresErrors.notFound('operation', name);
    return operation;
  }

  /** Whether the project exists (deleted or not; purged ones do not). */
  hasProject(name: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.#state.projects, name);
  }

  /** The operation of this name, if there is one (whether or not its resource still exists). */
  findOperation(name: string): Operation | undefined {
    return this.#operations.get(name);
  }

  listProjects(showDeleted: boolean): ProjectRecord[] {
    return sortByName(Object.values(this.#state.projects).filter((project) => showDeleted || !project.deleteTime));
  }

  listBranches(project: string, showDeleted: boolean): BranchRecord[] {
    this.getProject(project);
    return childrenOf(this.#state.branches, project).filter((branch) => showDeleted || !branch.deleteTime);
  }

  listEndpoints(branch: string): EndpointRecord[] {
    this.getBranch(branch);
    return childrenOf(this.#state.endpoints, branch);
  }

  listRoles(branch: string): PostgresRoleRecord[] {
    this.getBranch(branch);
    return childrenOf(this.#state.roles, branch);
  }

  listDatabases(branch: string): PostgresDatabaseRecord[] {
    this.getBranch(branch);
    return childrenOf(this.#state.databases, branch);
  }

  renderBranch(record: BranchRecord) {
    return renderBranch(record, this.#state.projects[record.project]?.defaultBranch === record.name);
  }

  /** The endpoint whose host (or pooled host) is this address, for Databricks Apps. */
  findEndpointByHost(host: string): EndpointRecord | undefined {
    return Object.values(this.#state.endpoints).find((endpoint) => endpoint.address === host || endpoint.pooledAddress === host);
  }

  // ---- projects ----------------------------------------------------------------------------------

  async createProject(request: ProjectRequest, caller: Identity): Promise<Operation> {
    const name = `projects/${request.projectId}`;
    if (this.#state.projects[name]) throw postgresErrors.projectExists(name);
    const defaults = this.#settings({ ...PROJECT_DEFAULTS_SETTINGS, ...request.defaultEndpointSettings });
    const endpointSettings = this.#settings({ ...defaults, ...request.initialEndpoint });
    const database = request.initialDatabase ?? PROJECT_DEFAULTS.database;
    const addresses = await this.#allocate();
    if (this.#state.projects[name]) throw postgresErrors.projectExists(name);
    const time = now();
    const branchName = `${name}/branches/${PROJECT_DEFAULTS.branchId}`;
    const project: ProjectRecord = {
      name,
      projectId: request.projectId,
      uid: randomUUID(),
      createTime: time,
      updateTime: time,
      displayName: request.displayName ?? request.projectId,
      pgVersion: request.pgVersion ?? 18,
      historyRetentionSeconds: request.historyRetentionSeconds ?? PROJECT_DEFAULTS.historyRetentionSeconds,
      defaultEndpointSettings: defaults,
      enablePgNativeLogin: false,
      customTags: request.customTags,
      ...(request.budgetPolicyId ? { budgetPolicyId: request.budgetPolicyId } : {}),
      defaultBranch: branchName,
      owner: caller.postgresName,
      ownerKind: caller.kind,
    };
    const branch = this.#newBranch(branchName, project.name, { isProtected: request.initialBranchProtected }, randomUUID());
    const endpoint = this.#newEndpoint(`${branchName}/endpoints/${PROJECT_DEFAULTS.endpointId}`, 'ENDPOINT_TYPE_READ_WRITE', endpointSettings, false, addresses, true);
    this.#state.projects[name] = project;
    this.#state.branches[branch.name] = branch;
    this.#state.endpoints[endpoint.name] = endpoint;
    await this.#save();
    this.#deps.log(`project ${name}: created by ${project.owner}`);
    return this.#run(name, name, 'Project', async () => {
      await this.#bringUpRoot(project, branch, database);
      await this.#attach(endpoint);
      this.#setBranchState(branch, 'READY');
      await this.#save();
      return renderProject(project);
    });
  }

  async updateProject(name: string, changes: ProjectChanges): Promise<Operation> {
    const project = this.#live(this.getProject(name), 'project');
    if (changes.defaultBranch !== undefined) {
      const branch = this.getBranch(changes.defaultBranch);
      if (branch.project !== name) throw errors.invalidParameter('spec.default_branch', `${changes.defaultBranch} is not a branch of ${name}.`);
      this.#live(branch, 'branch');
    }
    const settings = changes.defaultEndpointSettings ? this.#settings({ ...project.defaultEndpointSettings, ...changes.defaultEndpointSettings }) : undefined;
    return this.#run(name, name, 'Project', async () => {
      if (changes.displayName !== undefined) project.displayName = changes.displayName;
      if (changes.historyRetentionSeconds !== undefined) project.historyRetentionSeconds = changes.historyRetentionSeconds;
      if (settings) project.defaultEndpointSettings = settings;
      if (changes.defaultBranch !== undefined) project.defaultBranch = changes.defaultBranch;
      if (changes.customTags !== undefined) project.customTags = changes.customTags;
      if (changes.budgetPolicyId !== undefined) project.budgetPolicyId = changes.budgetPolicyId;
      project.updateTime = now();
      await this.#save();
      return renderProject(project);
    });
  }

  async deleteProject(name: string, purge: boolean): Promise<Operation> {
    const project = this.getProject(name);
    if (project.deleteTime && !purge) throw postgresErrors.deleted('project', name);
    return this.#run(name, name, 'Project', async () => {
      const branches = childrenOf(this.#state.branches, name);
      if (purge) {
        for (const branch of branches) await this.#purgeBranch(branch);
        delete this.#state.projects[name];
        await this.#deps.onProjectChanged?.(project, 'purged');
        this.#deps.log(`project ${name}: purged`);
      } else {
        // The address of the instance it was upgraded from stops taking logins too.
        const instance = project.upgradedFromInstance === undefined ? undefined : this.#deps.store.state.instances[project.upgradedFromInstance];
        const production = this.#state.branches[project.defaultBranch];
        if (instance && production) await this.#compute(production).detach(instance.uid);
        for (const branch of branches) await this.#sleepBranch(branch);
        this.#markDeleted(project);
        await this.#deps.onProjectChanged?.(project, 'deleted');
        this.#deps.log(`project ${name}: deleted (can be undeleted until ${project.purgeTime})`);
      }
      await this.#save();
      return EMPTY_RESPONSE;
    });
  }

  async undeleteProject(name: string): Promise<Operation> {
    const project = this.getProject(name);
    if (!project.deleteTime) throw postgresErrors.notDeleted('project', name);
    return this.#run(name, name, 'Project', async () => {
      delete project.deleteTime;
      delete project.purgeTime;
      project.updateTime = now();
      for (const branch of childrenOf(this.#state.branches, name)) if (!branch.deleteTime) await this.#wakeBranch(branch);
      const instance = project.upgradedFromInstance === undefined ? undefined : this.#deps.store.state.instances[project.upgradedFromInstance];
      if (instance) await this.#attachInstanceAddress(project, instance);
      await this.#deps.onProjectChanged?.(project, 'undeleted');
      await this.#save();
      return renderProject(project);
    });
  }

  // ---- branches ----------------------------------------------------------------------------------

  async createBranch(projectName: string, request: BranchRequest): Promise<Operation> {
    const project = this.#live(this.getProject(projectName), 'project');
    const name = `${projectName}/branches/${request.branchId}`;
    if (this.#state.branches[name]) throw postgresErrors.branchExists(name);
    const sourceName = request.sourceBranch ?? project.defaultBranch;
    const source = this.#live(this.getBranch(sourceName), 'branch');
    if (source.project !== projectName) throw errors.invalidParameter('spec.source_branch', `${sourceName} is not a branch of ${projectName}.`);
    if (source.state !== 'READY') throw postgresErrors.busy(sourceName, source.state);
    const at = this.#branchPoint(project, source, request);
    const addresses = await this.#allocate();
    if (this.#state.branches[name]) throw postgresErrors.branchExists(name);
    const branch = this.#newBranch(name, projectName, request, randomUUID());
    branch.sourceBranch = source.name;
    if (at.lsn) branch.sourceBranchLsn = at.lsn;
    branch.sourceBranchTime = at.time ?? branch.createTime;
    // Every branch gets its read-write endpoint with the project's default settings (fake server:
    // "Each branch implicitly provisions a primary read-write endpoint").
    const endpoint = this.#newEndpoint(`${name}/endpoints/${PROJECT_DEFAULTS.endpointId}`, 'ENDPOINT_TYPE_READ_WRITE', project.defaultEndpointSettings, false, addresses, true);
    this.#state.branches[name] = branch;
    this.#state.endpoints[endpoint.name] = endpoint;
    await this.#save();
    return this.#run(projectName, name, 'Branch', async () => {
      try {
        const copy = await this.#copyBranchData(source, branch, at);
        // The branch point in the source's history: the LSN asked for, else where the copy's
        // recovery of the source's WAL ended (a time, or now).
        branch.sourceBranchLsn = at.lsn ?? copy.lsn;
      } catch (error) {
        // Nothing of a branch that could not be made stays behind.
        delete this.#state.endpoints[endpoint.name];
        delete this.#state.branches[name];
        await this.#save();
        throw error;
      }
      for (const role of childrenOf(this.#state.roles, source.name)) {
        const copy = { ...role, name: `${name}/roles/${role.roleId}`, branch: name, attributes: { ...role.attributes } };
        this.#state.roles[copy.name] = copy;
      }
      for (const database of childrenOf(this.#state.databases, source.name)) {
        const copy = { ...database, name: `${name}/databases/${database.databaseId}`, branch: name, role: database.role.replace(`${source.name}/`, `${name}/`) };
        this.#state.databases[copy.name] = copy;
      }
      branch.bootstrapped = true;
      await this.#attach(endpoint);
      this.#setBranchState(branch, 'READY');
      this.#armExpiry(branch);
      await this.#save();
      return this.renderBranch(branch);
    });
  }

  async updateBranch(name: string, changes: BranchChanges): Promise<Operation> {
    const branch = this.#live(this.getBranch(name), 'branch');
    return this.#run(branch.project, name, 'Branch', async () => {
      if (changes.isProtected !== undefined) branch.isProtected = changes.isProtected;
      if (changes.expireTime === null) delete branch.expireTime;
      else if (changes.expireTime !== undefined) branch.expireTime = changes.expireTime;
      branch.updateTime = now();
      this.#armExpiry(branch);
      await this.#save();
      return this.renderBranch(branch);
    });
  }

  async deleteBranch(name: string, options: { purge: boolean; allowMissing: boolean }): Promise<Operation | undefined> {
    let branch: BranchRecord;
    try {
      branch = this.getBranch(name);
    } catch (error) {
      if (options.allowMissing && error instanceof ApiError && error.code === 'NOT_FOUND') return undefined;
      throw error;
    }
    const project = this.getProject(branch.project);
    if (branch.deleteTime && !options.purge) throw postgresErrors.deleted('branch', name);
    if (project.defaultBranch === name) {
      throw project.defaultBranch.endsWith(`/branches/${PROJECT_DEFAULTS.branchId}`) && !branch.sourceBranch
        ? postgresErrors.managedByParent(`Cannot delete root branch '${name}'. Root branches cannot be deleted independently.`)
        : postgresErrors.defaultBranch(name);
    }
    if (branch.isProtected) throw postgresErrors.protectedBranch(name);
    const children = Object.values(this.#state.branches).filter((candidate) => candidate.sourceBranch === name && !candidate.deleteTime);
    if (children.length > 0) throw postgresErrors.branchHasChildren(name, children.map((child) => child.name));
    return this.#run(branch.project, name, 'Branch', async () => {
      this.#clearExpiry(name);
      if (options.purge) await this.#purgeBranch(branch);
      else {
        await this.#sleepBranch(branch);
        this.#markDeleted(branch);
      }
      await this.#save();
      this.#deps.log(`branch ${name}: ${options.purge ? 'purged' : 'deleted'}`);
      return EMPTY_RESPONSE;
    });
  }

  async undeleteBranch(name: string): Promise<Operation> {
    const branch = this.getBranch(name);
    this.#live(this.getProject(branch.project), 'project');
    if (!branch.deleteTime) throw postgresErrors.notDeleted('branch', name);
    return this.#run(branch.project, name, 'Branch', async () => {
      delete branch.deleteTime;
      delete branch.purgeTime;
      branch.updateTime = now();
      await this.#wakeBranch(branch);
      this.#armExpiry(branch);
      await this.#save();
      return this.renderBranch(branch);
    });
  }

  // ---- endpoints ---------------------------------------------------------------------------------

  async createEndpoint(branchName: string, request: EndpointRequest): Promise<Operation> {
    const branch = this.#live(this.getBranch(branchName), 'branch');
    const project = this.#live(this.getProject(branch.project), 'project');
    const name = `${branchName}/endpoints/${request.endpointId}`;
    if (this.#state.endpoints[name]) throw postgresErrors.endpointExists(name);
    if (request.type === 'ENDPOINT_TYPE_READ_WRITE') {
      const existing = childrenOf(this.#state.endpoints, branchName).find((endpoint) => endpoint.type === 'ENDPOINT_TYPE_READ_WRITE');
      if (existing) throw postgresErrors.oneReadWriteEndpoint(branchName, existing.name);
    }
    const settings = this.#settings({ ...project.defaultEndpointSettings, ...request.settings });
    const addresses = await this.#allocate();
    if (this.#state.endpoints[name]) throw postgresErrors.endpointExists(name);
    const endpoint = this.#newEndpoint(name, request.type, settings, request.disabled, addresses, false);
    this.#state.endpoints[name] = endpoint;
    await this.#save();
    return this.#run(branch.project, name, 'Endpoint', async () => {
      try {
        await this.#attach(endpoint);
        // A read-only endpoint is a hot standby of the branch's server: seeded now, started at its first login.
        if (endpoint.type === 'ENDPOINT_TYPE_READ_ONLY') await this.#compute(branch).prepareReader(endpoint);
      } catch (error) {
        await this.#compute(branch).detach(endpoint.uid, { removeData: true }).catch((cleanup: unknown) => this.#deps.log(`endpoint ${name}: cleaning up: ${describe(cleanup)}`));
        delete this.#state.endpoints[name];
        await this.#save();
        throw error;
      }
      await this.#save();
      return renderEndpoint(endpoint);
    });
  }

  async updateEndpoint(name: string, changes: EndpointChanges): Promise<Operation> {
    const endpoint = this.getEndpoint(name);
    const branch = this.#live(this.getBranch(endpoint.branch), 'branch');
    const settings = changes.settings ? this.#settings({ ...endpoint.settings, ...changes.settings }) : undefined;
    return this.#run(branch.project, name, 'Endpoint', async () => {
      if (settings) endpoint.settings = settings;
      if (changes.disabled !== undefined) endpoint.disabled = changes.disabled;
      endpoint.updateTime = now();
      this.#compute(branch).settingsChanged();
      await this.#save();
      return renderEndpoint(endpoint);
    });
  }

  async deleteEndpoint(name: string): Promise<Operation> {
    const endpoint = this.getEndpoint(name);
    const branch = this.getBranch(endpoint.branch);
    if (endpoint.implicit) {
      throw postgresErrors.managedByParent(`Cannot delete read-write endpoint '${name}'. Read-write endpoints cannot be deleted.`);
    }
    return this.#run(branch.project, name, 'Endpoint', async () => {
      await this.#compute(branch).detach(endpoint.uid, { removeData: true });
      delete this.#state.endpoints[name];
      await this.#save();
      return EMPTY_RESPONSE;
    });
  }

  // ---- roles and databases -----------------------------------------------------------------------

  async createRole(branchName: string, request: RoleRequest): Promise<Operation> {
    const branch = this.#live(this.getBranch(branchName), 'branch');
    const roleId = request.roleId ?? `role-${randomBytes(4).toString('hex')}`;
    const name = `${branchName}/roles/${roleId}`;
    const taken = childrenOf(this.#state.roles, branchName).find((role) => role.name === name || role.postgresRole === request.postgresRole);
    if (taken) throw postgresErrors.roleExists(name);
    const kind = this.#roleKind(request);
    const time = now();
    const role: PostgresRoleRecord = {
      name,
      roleId,
      branch: branchName,
      createTime: time,
      updateTime: time,
      postgresRole: request.postgresRole,
      identityType: kind,
      authMethod: 'LAKEBASE_OAUTH_V1',
      superuser: request.superuser,
      attributes: {
        bypassrls: request.attributes.bypassrls ?? false,
        createdb: request.attributes.createdb ?? false,
        createrole: request.attributes.createrole ?? false,
      },
    };
    this.#state.roles[name] = role;
    await this.#save();
    return this.#run(branch.project, name, 'Role', async () => {
      try {
        await this.#compute(branch).withServer((server) => server.createRole(role.postgresRole, kind, { superuser: role.superuser, attributes: role.attributes }));
      } catch (error) {
        delete this.#state.roles[name];
        await this.#save();
        throw apiErrorFromHosting(error, { instance: branchName, role: role.postgresRole });
      }
      return renderRole(role);
    });
  }

  async deleteRole(name: string, reassignOwnedTo: string | undefined): Promise<Operation> {
    const role = this.getRole(name);
    const branch = this.#live(this.getBranch(role.branch), 'branch');
    const project = this.getProject(branch.project);
    if (role.postgresRole === project.owner) throw postgresErrors.managedByParent(`Cannot delete role '${name}': it is the project owner's role.`);
    const target = reassignOwnedTo?.startsWith('projects/') ? this.getRole(reassignOwnedTo).postgresRole : reassignOwnedTo;
    const owned = childrenOf(this.#state.databases, role.branch).filter((database) => database.role === name);
    if (owned.length > 0 && target === undefined) {
      throw new ApiError('BAD_REQUEST', `Role '${name}' owns the databases ${owned.map((database) => database.postgresDatabase).join(', ')}; set reassign_owned_to or delete them first.`, { resource_name: name });
    }
    return this.#run(branch.project, name, 'Role', async () => {
      await this.#compute(branch)
        .withServer((server) => server.dropRole(role.postgresRole, target === undefined ? {} : { reassignOwnedTo: target }))
        .catch((error: unknown) => {
          throw apiErrorFromHosting(error, { instance: role.branch, role: role.postgresRole });
        });
      if (target !== undefined) {
        const targetRole = childrenOf(this.#state.roles, role.branch).find((candidate) => candidate.postgresRole === target);
        for (const database of owned) if (targetRole) database.role = targetRole.name;
      }
      delete this.#state.roles[name];
      await this.#save();
      return EMPTY_RESPONSE;
    });
  }

  async createDatabase(branchName: string, request: DatabaseRequest): Promise<Operation> {
    const branch = this.#live(this.getBranch(branchName), 'branch');
    const owner = this.getRole(request.role);
    if (owner.branch !== branchName) throw errors.invalidParameter('spec.role', `${request.role} is not a role of ${branchName}.`);
    const databaseId = request.databaseId ?? `db-${randomBytes(4).toString('hex')}`;
    const postgresDatabase = request.postgresDatabase ?? databaseId;
    const name = `${branchName}/databases/${databaseId}`;
    const taken = childrenOf(this.#state.databases, branchName).find((database) => database.name === name || database.postgresDatabase === postgresDatabase);
    if (taken) throw postgresErrors.databaseExists(name);
    const time = now();
    const database: PostgresDatabaseRecord = { name, databaseId, branch: branchName, createTime: time, updateTime: time, postgresDatabase, role: owner.name };
    this.#state.databases[name] = database;
    await this.#save();
    return this.#run(branch.project, name, 'Database', async () => {
      try {
        await this.#compute(branch).withServer((server) => server.createDatabase(postgresDatabase, { owner: owner.postgresRole }));
      } catch (error) {
        delete this.#state.databases[name];
        await this.#save();
        throw apiErrorFromHosting(error, { instance: branchName, database: postgresDatabase });
      }
      return renderDatabase(database);
    });
  }

  async deleteDatabase(name: string): Promise<Operation> {
    const database = this.getDatabase(name);
    const branch = this.#live(this.getBranch(database.branch), 'branch');
    if (database.postgresDatabase === PROJECT_DEFAULTS.database) {
      throw postgresErrors.managedByParent(`Cannot delete database '${name}': every branch keeps ${PROJECT_DEFAULTS.database}.`);
    }
    return this.#run(branch.project, name, 'Database', async () => {
      await this.#compute(branch).withServer((server) => server.dropDatabase(database.postgresDatabase));
      delete this.#state.databases[name];
      await this.#save();
      return EMPTY_RESPONSE;
    });
  }

  // ---- upgrades from Provisioned ----------------------------------------------------------------

  /** The project an instance of this name would become; refuses names that cannot be project ids. */
  projectForInstance(instanceName: string): string {
    const projectId = instanceName.toLowerCase();
    if (!RESOURCE_ID.pattern.test(projectId)) {
      throw errors.invalidParameter('name', `The instance name '${instanceName}' cannot become a project id (${RESOURCE_ID.rule}).`);
    }
    const name = `projects/${projectId}`;
    if (this.#state.projects[name]) throw postgresErrors.projectExists(name);
    return name;
  }

  /**
   * Takes a Provisioned instance's data over (its server is stopped): a project of the same name
   * whose production branch is the instance's data directory, with endpoint primary, and the
   * instance's own address kept as a second way in for the instance's credentials.
   */
  async adoptInstance(instance: InstanceRecord): Promise<string> {
    const name = this.projectForInstance(instance.name);
    const addresses = await this.#allocate();
    const time = now();
    const branchName = `${name}/branches/${PROJECT_DEFAULTS.branchId}`;
    const settings = this.#settings({ ...PROJECT_DEFAULTS_SETTINGS });
    const project: ProjectRecord = {
      name,
      projectId: name.split('/')[1],
      uid: randomUUID(),
      createTime: time,
      updateTime: time,
      displayName: instance.name,
      pgVersion: 18,
      historyRetentionSeconds: instance.retentionWindowInDays * 86_400,
      defaultEndpointSettings: settings,
      enablePgNativeLogin: false,
      customTags: instance.customTags.map((tag) => ({ ...tag })),
      defaultBranch: branchName,
      owner: instance.creator,
      ownerKind: instance.creatorKind,
      upgradedFromInstance: instance.name,
    };
    const branch = this.#newBranch(branchName, name, { isProtected: false }, instance.uid);
    branch.bootstrapped = true;
    const endpoint = this.#newEndpoint(`${branchName}/endpoints/${PROJECT_DEFAULTS.endpointId}`, 'ENDPOINT_TYPE_READ_WRITE', settings, false, addresses, true);
    this.#state.projects[name] = project;
    this.#state.branches[branchName] = branch;
    this.#state.endpoints[endpoint.name] = endpoint;
    try {
      // The instance's roles become the branch's role records (its server is their truth).
      const roles = await this.#compute(branch).withServer((server) => server.listRoles());
      const roleTime = now();
      for (const role of roles) {
        const roleId = role.name === instance.creator ? 'owner' : `role-${randomBytes(4).toString('hex')}`;
        this.#state.roles[`${branchName}/roles/${roleId}`] = {
          name: `${branchName}/roles/${roleId}`,
          roleId,
          branch: branchName,
          createTime: roleTime,
          updateTime: roleTime,
          postgresRole: role.name,
          // A PG_ONLY role of the instance has no identity and logs in with its own password.
          ...(role.kind === 'PG_ONLY' ? {} : { identityType: role.kind }),
          authMethod: role.kind === 'PG_ONLY' ? 'PG_PASSWORD_SCRAM_SHA_256' : role.kind === 'GROUP' ? 'NO_LOGIN' : 'LAKEBASE_OAUTH_V1',
          superuser: role.superuser,
          attributes: { ...role.attributes },
        };
      }
      const owner = `${branchName}/roles/owner`;
      this.#state.databases[`${branchName}/databases/databricks-postgres`] = {
        name: `${branchName}/databases/databricks-postgres`,
        databaseId: 'databricks-postgres',
        branch: branchName,
        createTime: roleTime,
        updateTime: roleTime,
        postgresDatabase: PROJECT_DEFAULTS.database,
        role: owner,
      };
      await this.#attach(endpoint);
      await this.#attachInstanceAddress(project, instance);
    } catch (error) {
      // The instance takes its data back: nothing of the project stays.
      await this.#compute(branch).close().catch((closeError: unknown) => this.#deps.log(`project ${name}: ${describe(closeError)}`));
      for (const records of [this.#state.endpoints, this.#state.roles, this.#state.databases] as Record<string, { branch: string }>[]) {
        for (const [key, record] of Object.entries(records)) if (record.branch === branchName) delete records[key];
      }
      delete this.#state.branches[branchName];
      delete this.#state.projects[name];
      await this.#save();
      throw error;
    }
    await this.#compute(branch).takeBackup();
    this.#setBranchState(branch, 'READY');
    await this.#save();
    this.#deps.log(`project ${name}: made from the instance ${instance.name}`);
    return name;
  }

  /** The upgraded instance's `read_write_dns` stays a way in, for the instance's credentials. */
  async #attachInstanceAddress(project: ProjectRecord, instance: InstanceRecord): Promise<void> {
    const primary = this.#state.endpoints[`${project.defaultBranch}/endpoints/${PROJECT_DEFAULTS.endpointId}`];
    const branch = this.#state.branches[project.defaultBranch];
    if (!primary || !branch) return;
    // Not persisted: made again at every start from the instance's record.
    const legacy: EndpointRecord = { ...primary, name: `${primary.name} (as instance ${instance.name})`, uid: instance.uid, address: instance.address, pooledAddress: instance.address };
    await this.#compute(branch).attach(legacy, [instance.address]);
  }

  // ---- credentials -------------------------------------------------------------------------------

  async generateCredential(endpointName: string, caller: Identity, ttlSeconds?: number): Promise<EndpointCredential> {
    const endpoint = this.getEndpoint(endpointName);
    const branch = this.#live(this.getBranch(endpoint.branch), 'branch');
    this.#live(this.getProject(branch.project), 'project');
    const minted = await this.#deps.tokens.mintDatabaseCredential(caller.postgresName, [endpoint.uid], ttlSeconds ?? this.#deps.tokenTtlSeconds);
    return { token: minted.token, expireTime: minted.expiresAt };
  }

  // ---- life of the registry ----------------------------------------------------------------------

  /** At emulator start: every live endpoint listens again, its branch asleep until a login. */
  async restore(): Promise<void> {
    for (const branch of Object.values(this.#state.branches)) {
      const project = this.#state.projects[branch.project];
      if (!project || project.deleteTime || branch.deleteTime) continue;
      if (branch.state !== 'READY') {
        // Its creation was cut off by the emulator's stop; a root branch is brought up again.
        if (!branch.sourceBranch) {
          await this.#bringUpRoot(project, branch, PROJECT_DEFAULTS.database).catch((error: unknown) => this.#deps.log(`branch ${branch.name}: could not be brought up: ${describe(error)}`));
          this.#setBranchState(branch, 'READY');
        } else {
          this.#deps.log(`branch ${branch.name}: its copy was interrupted by a stop; removing it`);
          for (const endpoint of childrenOf(this.#state.endpoints, branch.name)) delete this.#state.endpoints[endpoint.name];
          delete this.#state.branches[branch.name];
          continue;
        }
      }
      for (const endpoint of childrenOf(this.#state.endpoints, branch.name)) {
        await this.#attach(endpoint).catch((error: unknown) => this.#deps.log(`endpoint ${endpoint.name}: could not listen again: ${describe(error)}`));
      }
      const instance = project.upgradedFromInstance === undefined ? undefined : this.#deps.store.state.instances[project.upgradedFromInstance];
      if (instance && project.defaultBranch === branch.name) {
        await this.#attachInstanceAddress(project, instance).catch((error: unknown) => this.#deps.log(`instance ${instance.name}: its address does not listen again: ${describe(error)}`));
      }
      this.#armExpiry(branch);
    }
    await this.#save();
  }

  async settled(): Promise<void> {
    while (this.#queues.size > 0 || this.#backgroundWork.size > 0) await Promise.allSettled([...this.#queues.values(), ...this.#backgroundWork]);
  }

  async close(): Promise<void> {
    this.#closing.abort();
    for (const timer of this.#expiryTimers.values()) clearTimeout(timer);
    this.#expiryTimers.clear();
    await this.settled();
    await this.#deps.compute.close();
  }

  /** Every endpoint's addresses (host and pooled host), live or soft-deleted. */
  addresses(): string[] {
    return Object.values(this.#state.endpoints).flatMap((endpoint) => [endpoint.address, endpoint.pooledAddress]);
  }

  /** Endpoint states for `emulator status`. */
  summary(): { name: string; state: EndpointState; host: string }[] {
    return sortByName(Object.values(this.#state.endpoints)).map((endpoint) => ({ name: endpoint.name, state: endpoint.state, host: endpoint.address }));
  }

  /** Told by the compute when a branch's server starts or stops. */
  onEndpointState(endpoint: EndpointRecord, state: EndpointState): void {
    if (endpoint.state === state) return;
    endpoint.state = state;
    if (state === 'IDLE') endpoint.lastActiveTime = now();
    void this.#save().catch((error: unknown) => this.#deps.log(`saving the state failed: ${describe(error)}`));
  }

  // ---- internals ---------------------------------------------------------------------------------

  #save(): Promise<void> {
    return this.#deps.store.save();
  }

  #live<T extends { deleteTime?: string; name: string }>(record: T, kind: ResourceKind): T {
    if (record.deleteTime) throw postgresErrors.deleted(kind, record.name);
    return record;
  }

  #compute(branch: BranchRecord): BranchCompute {
    return this.#deps.compute.branch(branch.dataUid, branch.name);
  }

  #markDeleted(record: { deleteTime?: string; purgeTime?: string; updateTime: string }): void {
    const time = Date.now();
    record.deleteTime = new Date(time).toISOString();
    record.purgeTime = new Date(time + SOFT_DELETE_RETENTION_SECONDS * 1000).toISOString();
    record.updateTime = record.deleteTime;
  }

  #setBranchState(branch: BranchRecord, state: BranchRecord['state']): void {
    branch.state = state;
    branch.stateChangeTime = now();
  }

  #newBranch(name: string, project: string, request: Pick<BranchRequest, 'isProtected' | 'expireTime'>, dataUid: string): BranchRecord {
    const time = now();
    return {
      name,
      branchId: name.split('/').pop() as string,
      project,
      uid: `br-${randomBytes(10).toString('hex')}`,
      createTime: time,
      updateTime: time,
      state: 'INIT',
      stateChangeTime: time,
      isProtected: request.isProtected,
      ...(request.expireTime ? { expireTime: request.expireTime } : {}),
      dataUid,
      bootstrapped: false,
    };
  }

  #newEndpoint(
    name: string,
    type: EndpointType,
    settings: ComputeSettings,
    disabled: boolean,
    addresses: { address: string; pooledAddress: string; port: number },
    implicit: boolean,
  ): EndpointRecord {
    const time = now();
    return {
      name,
      endpointId: name.split('/').pop() as string,
      branch: parentOf(name),
      uid: `ep-${randomBytes(10).toString('hex')}`,
      createTime: time,
      updateTime: time,
      type,
      settings: { ...settings, pgSettings: { ...settings.pgSettings } },
      disabled,
      state: 'INIT',
      ...addresses,
      implicit,
    };
  }

  /** Complete, checked compute settings (CU limits, suspend timeout range). */
  #settings(settings: Partial<ComputeSettings>): ComputeSettings {
    const minCu = settings.minCu ?? PROJECT_DEFAULTS.minCu;
    const maxCu = settings.maxCu ?? Math.max(minCu, PROJECT_DEFAULTS.maxCu);
    if (minCu < COMPUTE_UNITS.min) throw postgresErrors.computeUnits(`autoscaling_limit_min_cu is ${minCu}.`);
    if (maxCu > COMPUTE_UNITS.max) throw postgresErrors.computeUnits(`autoscaling_limit_max_cu is ${maxCu}.`);
    if (maxCu < minCu) throw postgresErrors.computeUnits(`autoscaling_limit_max_cu (${maxCu}) is below autoscaling_limit_min_cu (${minCu}).`);
    if (maxCu - minCu > COMPUTE_UNITS.maxSpread) throw postgresErrors.computeUnits(`The range ${minCu}-${maxCu} is wider than ${COMPUTE_UNITS.maxSpread} CU.`);
    const timeout = settings.suspendTimeoutSeconds === undefined ? PROJECT_DEFAULTS.suspendTimeoutSeconds : settings.suspendTimeoutSeconds;
    if (timeout !== null && (timeout < this.#deps.minSuspendTimeoutSeconds || timeout > SUSPEND_TIMEOUT_SECONDS.max)) {
      throw postgresErrors.durationOutOfRange('suspend_timeout_duration', timeout, this.#deps.minSuspendTimeoutSeconds, SUSPEND_TIMEOUT_SECONDS.max);
    }
    return { minCu, maxCu, suspendTimeoutSeconds: timeout, pgSettings: { ...(settings.pgSettings ?? {}) } };
  }

  #roleKind(request: RoleRequest): RoleIdentityType {
    if (request.identityType === undefined || request.authMethod === 'PG_PASSWORD_SCRAM_SHA_256') {
      throw errors.notImplemented('Postgres roles without a Databricks identity (password login)', { field: 'spec.identity_type' });
    }
    if (request.identityType === 'GROUP' || request.authMethod === 'NO_LOGIN') {
      throw errors.notImplemented('Roles for workspace groups (the emulator has no groups)', { field: 'spec.identity_type' });
    }
    const identity = this.#deps.identities.byPostgresName(request.postgresRole);
    if (!identity || identity.kind !== request.identityType) {
      throw new ApiError('NOT_FOUND', `No ${request.identityType === 'USER' ? 'user' : 'service principal (by application id)'} named '${request.postgresRole}' exists in this workspace.`, {
        identity: request.postgresRole,
      });
    }
    return identity.kind;
  }

  /** Where a new branch starts in its source's history: a time or an LSN (the LSN wins). */
  #branchPoint(project: ProjectRecord, source: BranchRecord, request: BranchRequest): { time?: string; lsn?: string } {
    if (request.sourceBranchLsn !== undefined) {
      if (!/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(request.sourceBranchLsn)) {
        throw errors.invalidParameter('spec.source_branch_lsn', `source_branch_lsn must be an LSN such as 0/16B3748, got '${request.sourceBranchLsn}'.`);
      }
      return { lsn: request.sourceBranchLsn.toUpperCase() };
    }
    if (request.sourceBranchTime !== undefined) {
      const time = Date.parse(request.sourceBranchTime);
      if (time > Date.now()) throw postgresErrors.sourceInFuture('spec.source_branch_time');
      const oldest = Math.max(Date.parse(source.createTime), Date.now() - project.historyRetentionSeconds * 1000);
      if (time < oldest) throw postgresErrors.sourceTooOld('spec.source_branch_time', `${request.sourceBranchTime} is before ${new Date(oldest).toISOString()}.`);
      return { time: request.sourceBranchTime };
    }
    return {};
  }

  /**
   * A branch is a real copy of its source as of the branch point, made by PostgreSQL's own
   * recovery (base backup + archived WAL + recovery target, `emulator/postgres/point-in-time.ts`,
   * shared with child instances), not by replaying SQL: writes on the branch never reach the
   * source. Returns where the copy left the source's history.
   */
  async #copyBranchData(source: BranchRecord, branch: BranchRecord, at: { time?: string; lsn?: string }): Promise<{ lsn: string }> {
    const target: RecoveryTarget = at.lsn !== undefined ? { kind: 'lsn', lsn: at.lsn } : at.time !== undefined ? { kind: 'time', time: new Date(at.time) } : { kind: 'latest' };
    let copy: RestoredCopy;
    try {
      copy = await this.#compute(source).copyInto(this.#compute(branch), target);
    } catch (error) {
      await this.#deps.compute.destroy(branch.dataUid, branch.name).catch((cleanup: unknown) => this.#deps.log(`branch ${branch.name}: cleaning up a failed copy: ${describe(cleanup)}`));
      if (error instanceof PointInTimeError) {
        const field = at.lsn !== undefined ? 'spec.source_branch_lsn' : 'spec.source_branch_time';
        if (error.code === 'TARGET_OUTSIDE_RETENTION') throw postgresErrors.sourceTooOld(field, error.message);
        if (error.code === 'TARGET_IN_FUTURE') throw postgresErrors.sourceInFuture(field);
      }
      throw error;
    }
    this.#startHistory(branch);
    return { lsn: copy.lsn };
  }

  async #bringUpRoot(project: ProjectRecord, branch: BranchRecord, database: string): Promise<void> {
    if (branch.bootstrapped) return;
    const compute = this.#compute(branch);
    await compute.withServer(async (server) => {
      // The owner's role in databricks_superuser, as an instance's creator gets one.
      await server.createRole(project.owner, project.ownerKind, { superuser: true }).catch((error: unknown) => {
        if (!(error instanceof HostingError && error.code === 'ROLE_EXISTS')) throw error;
      });
      if (database !== PROJECT_DEFAULTS.database && !(await server.databaseExists(database))) await server.createDatabase(database);
    });
    // A project's history starts at once: branches as of any moment since its creation work.
    await compute.takeBackup();
    const time = now();
    const ownerRole: PostgresRoleRecord = {
      name: `${branch.name}/roles/owner`,
      roleId: 'owner',
      branch: branch.name,
      createTime: time,
      updateTime: time,
      postgresRole: project.owner,
      identityType: project.ownerKind,
      authMethod: 'LAKEBASE_OAUTH_V1',
      superuser: true,
      attributes: { bypassrls: true, createdb: true, createrole: true },
    };
    this.#state.roles[ownerRole.name] = ownerRole;
    for (const postgresDatabase of new Set([PROJECT_DEFAULTS.database, database])) {
      const databaseId = postgresDatabase.replace(/_/g, '-').toLowerCase();
      const record: PostgresDatabaseRecord = {
        name: `${branch.name}/databases/${databaseId}`,
        databaseId,
        branch: branch.name,
        createTime: time,
        updateTime: time,
        postgresDatabase,
        role: ownerRole.name,
      };
      this.#state.databases[record.name] = record;
    }
    branch.bootstrapped = true;
    await this.#save();
  }

  /**
   * A copied branch's history starts with a base backup: branches can then be made from it as of
   * any later moment. Taken in the background (PostgreSQL's backup waits seconds for its WAL to be
   * archived), so that making the branch does not wait for it; a copy "as of now" asked for before
   * it is done takes one of its own (point-in-time.ts), one as of a time before it is refused
   * (fidelity gap branch-history-start). A project's first branch waits for it instead.
   */
  #startHistory(branch: BranchRecord): void {
    const compute = this.#compute(branch);
    const started = compute.takeBackup().catch((error: unknown) => this.#deps.log(`branch ${branch.name}: the base backup that starts its history failed: ${describe(error)}`));
    this.#backgroundWork.add(started);
    this.#historyStarts.set(branch.name, started);
    void started.finally(() => {
      this.#backgroundWork.delete(started);
      if (this.#historyStarts.get(branch.name) === started) this.#historyStarts.delete(branch.name);
    });
  }

  /** A branch about to be stopped or removed: its first base backup finishes (or fails) first. */
  async #historyStarted(branch: BranchRecord): Promise<void> {
    await this.#historyStarts.get(branch.name);
  }

  async #attach(endpoint: EndpointRecord): Promise<void> {
    const branch = this.#state.branches[endpoint.branch];
    await this.#compute(branch).attach(endpoint);
  }

  /** Soft delete: its endpoints stop listening and its server stops; the data stays. */
  async #sleepBranch(branch: BranchRecord): Promise<void> {
    await this.#historyStarted(branch);
    const compute = this.#compute(branch);
    for (const endpoint of childrenOf(this.#state.endpoints, branch.name)) {
      await compute.detach(endpoint.uid);
      endpoint.state = 'IDLE';
    }
    await compute.stopServer();
  }

  async #wakeBranch(branch: BranchRecord): Promise<void> {
    for (const endpoint of childrenOf(this.#state.endpoints, branch.name)) await this.#attach(endpoint);
  }

  async #purgeBranch(branch: BranchRecord): Promise<void> {
    this.#clearExpiry(branch.name);
    // Its data directory goes away: nothing may still be copying into it.
    await this.#historyStarted(branch);
    await this.#deps.compute.destroy(branch.dataUid, branch.name);
    for (const records of [this.#state.endpoints, this.#state.roles, this.#state.databases] as Record<string, { branch: string }>[]) {
      for (const [name, record] of Object.entries(records)) if (record.branch === branch.name) delete records[name];
    }
    delete this.#state.branches[branch.name];
  }

  #armExpiry(branch: BranchRecord): void {
    this.#clearExpiry(branch.name);
    if (!branch.expireTime || branch.deleteTime || this.#closing.signal.aborted) return;
    // setTimeout holds at most ~24.8 days; a later expiry is re-armed when that first timer fires.
    const delay = Math.min(Math.max(0, Date.parse(branch.expireTime) - Date.now()), 2 ** 31 - 1);
    const timer = setTimeout(() => {
      this.#expiryTimers.delete(branch.name);
      if (Date.parse(branch.expireTime ?? '') > Date.now()) return this.#armExpiry(branch);
      this.#deps.log(`branch ${branch.name}: expired at ${branch.expireTime}; deleting it`);
      this.deleteBranch(branch.name, { purge: true, allowMissing: true }).catch((error: unknown) =>
        this.#deps.log(`branch ${branch.name}: could not delete it at expiry: ${describe(error)}`),
      );
    }, delay);
    timer.unref();
    this.#expiryTimers.set(branch.name, timer);
  }

  #clearExpiry(name: string): void {
    const timer = this.#expiryTimers.get(name);
    if (timer) clearTimeout(timer);
    this.#expiryTimers.delete(name);
  }

  async #allocate(): Promise<{ address: string; pooledAddress: string; port: number }> {
    const inUse = new Set<string>(this.#deps.reservedAddresses());
    for (const endpoint of Object.values(this.#state.endpoints)) inUse.add(endpoint.address).add(endpoint.pooledAddress);
    const allocated = this.#allocation.then(() => this.#deps.compute.allocateAddresses(inUse));
    this.#allocation = allocated.catch(() => undefined);
    try {
      return await allocated;
    } catch (error) {
      throw new ApiError('TEMPORARILY_UNAVAILABLE', `The emulator cannot place a new endpoint: ${describe(error)}`, {}, { cause: error });
    }
  }

  /**
   * Starts an operation on `resource` (queued behind the project's earlier ones) and returns it
   * not done; `work` returns the operation's `response`, or throws its `error`.
   */
  #run(project: string, resource: string, kind: OperationKind, work: () => Promise<unknown>): Operation {
    const operation: Operation = {
      name: `${resource}/operations/${randomUUID()}`,
      done: false,
      metadata: { '@type': OPERATION_METADATA_TYPE(kind) },
    };
    this.#operations.set(operation.name, operation);
    const started = Date.now();
    const previous = this.#queues.get(project) ?? Promise.resolve();
    const next = previous.then(async () => {
      let response: unknown;
      let failure: unknown;
      try {
        response = await work();
      } catch (error) {
        failure = error;
      }
      await this.#pause(this.#deps.transitionDelayMs - (Date.now() - started));
      if (failure === undefined) {
        operation.response = response;
      } else {
        const apiError = failure instanceof ApiError ? failure : errors.internal(failure);
        if (!(failure instanceof ApiError)) this.#deps.log(`operation ${operation.name} failed: ${failure instanceof Error ? failure.stack : String(failure)}`);
        const body = apiError.toBody();
        operation.error = { error_code: body.error_code, message: body.message, details: body.details };
      }
      operation.done = true;
    });
    this.#queues.set(project, next);
    void next.finally(() => {
      if (this.#queues.get(project) === next) this.#queues.delete(project);
    });
    return operation;
  }

  #pause(ms: number): Promise<void> {
    if (ms <= 0 || this.#closing.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const signal = this.#closing.signal;
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done);
    });
  }
}

const PROJECT_DEFAULTS_SETTINGS: ComputeSettings = {
  minCu: PROJECT_DEFAULTS.minCu,
  maxCu: PROJECT_DEFAULTS.maxCu,
  suspendTimeoutSeconds: PROJECT_DEFAULTS.suspendTimeoutSeconds,
  pgSettings: {},
};

