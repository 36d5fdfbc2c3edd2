// Connecting to a Lakebase Autoscaling endpoint: which endpoint a name means, a credential
// refresher for it, and a `pg` configuration whose password is always the current token.
//
// Names, as users write them (issue 7): `PROJECT` (its default branch's read-write endpoint),
// `PROJECT/BRANCH` (that branch's read-write endpoint), or a full resource name
// `projects/p[/branches/b[/endpoints/e]]`. `readOnly` picks the branch's read-only endpoint,
// `pooled` its pooled host. Tokens come from `POST /api/2.0/postgres/credentials {endpoint}`: a
// token opens that endpoint only, so each endpoint has its own refresher (scope
// `autoscaling:<endpoint> (<uid>)`), with the Provisioned refresher's guarantees (minted ahead of
// expiry, open connections never dropped).
import { inspect } from 'node:util';
import pg from 'pg';
import { AUTOSCALING_COMMANDS, autoscalingApi, kindOfName } from './autoscaling';
import type { AutoscalingApi, Endpoint } from './autoscaling';
import { sharedRefreshers } from './credentials';
import type { CredentialRefresher, RefresherOptions, RefresherRegistry } from './credentials';
import { isDatabaseError, LakebaseError, redactSecrets } from './errors';
import { createInstancePool, DEFAULT_DATABASE, loginBasics, TLS_VERIFY_CODES, tokenLoginConfig, UNREACHABLE_CODES, verifyLogin } from './instance';
import type { InstancePoolOptions, SslMode } from './instance';
import type { HostResolver } from './resolve-host';
import { openSession } from './session';
import type { LakebaseSession } from './session';
import { openWorkspace } from './workspace';
import type { Workspace } from './workspace';

/** Project, branch and endpoint ids (postgres.py: lowercase letters, digits, hyphens). */
const ID = '[a-z][a-z0-9-]{0,62}';

/** What a user's words name: a project, a branch or an endpoint (full resource names). */
export type EndpointTarget =
  | { kind: 'project'; project: string }
  | { kind: 'branch'; project: string; branch: string }
  | { kind: 'endpoint'; endpoint: string };

/**
 * Reads `PROJECT`, `PROJECT/BRANCH` or `projects/p[/branches/b[/endpoints/e]]`; undefined when
 * the text is none of these. A bare word may as well be a Provisioned instance: the caller decides.
 */
export function parseEndpointTarget(text: string): EndpointTarget | undefined {
  let match = new RegExp(`^projects/(${ID})/branches/(${ID})/endpoints/(${ID})$`).exec(text);
  if (match) return { kind: 'endpoint', endpoint: text };
  match = new RegExp(`^projects/(${ID})/branches/(${ID})$`).exec(text) ?? new RegExp(`^(${ID})/(${ID})$`).exec(text);
  if (match) return { kind: 'branch', project: `projects/${match[1]}`, branch: `projects/${match[1]}/branches/${match[2]}` };
  match = new RegExp(`^(?:projects/)?(${ID})$`).exec(text);
  if (match) return { kind: 'project', project: `projects/${match[1]}` };
  return undefined;
}

/** The endpoint a target means (see the file comment); errors say what exists instead. */
export async function resolveEndpoint(api: AutoscalingApi, target: EndpointTarget, options: { readOnly?: boolean } = {}): Promise<Endpoint> {
  const wanted = options.readOnly ? 'ENDPOINT_TYPE_READ_ONLY' : 'ENDPOINT_TYPE_READ_WRITE';
  if (target.kind === 'endpoint') {
    const endpoint = await api.getEndpoint(target.endpoint);
    if (options.readOnly && endpoint.status?.endpoint_type !== wanted) {
      throw new LakebaseError('ENDPOINT_NOT_READ_ONLY', `${endpoint.name} is a read-write endpoint, and --read-only asks for a read-only one.`, {
        hint: 'Leave out --read-only, or name the branch (PROJECT/BRANCH) to get its read-only endpoint.',
      });
    }
    return endpoint;
  }
  let branch: string;
  if (target.kind === 'branch') {
    branch = target.branch;
  } else {
    const project = await api.getProject(target.project);
    if (project.delete_time) {
      throw new LakebaseError('PROJECT_DELETED', `The project ${project.name} is deleted (it can be undeleted until ${project.purge_time ?? 'it is purged'}).`, {
        hint: `Undelete it (%lakebase project undelete ${project.name.split('/')[1]}) to connect.`,
      });
    }
    const defaultBranch = project.status?.default_branch;
    if (!defaultBranch) throw new LakebaseError('PROJECT_NO_DEFAULT_BRANCH', `The project ${project.name} has no default branch.`, { hint: `See ${AUTOSCALING_COMMANDS.listBranches(project.name)}.` });
    branch = defaultBranch;
  }
  const endpoints = await api.listEndpoints(branch);
  const endpoint = endpoints.find((candidate) => candidate.status?.endpoint_type === wanted);
  if (!endpoint) {
    throw options.readOnly
      ? new LakebaseError('READ_ONLY_UNAVAILABLE', `The branch ${branch} has no read-only endpoint.`, {
          hint: `Create one (%lakebase endpoint create ${branch}/endpoints/reader --read-only), then connect with --read-only again.`,
        })
      : new LakebaseError('ENDPOINT_NOT_FOUND', `The branch ${branch} has no read-write endpoint.`, { hint: `See ${AUTOSCALING_COMMANDS.listEndpoints(branch)}.` });
  }
  return endpoint;
}

export interface EndpointConnectOptions {
  /** What to connect to (parsed with `parseEndpointTarget`), or the endpoint itself. */
  target: EndpointTarget;
  database?: string;
  /** Default: PGUSER, the service principal's client id, or SCIM Me (`Workspace.postgresUser`). */
  user?: string;
  readOnly?: boolean;
  /** The pooled host (`read_write_pooled_host` / `read_only_pooled_host`). */
  pooled?: boolean;
  workspace?: Workspace;
  profile?: string;
  env?: NodeJS.ProcessEnv;
  sslmode?: SslMode;
  sslRootCert?: string;
  /** The Postgres port; default 5432 (`PGPORT` inside an app). */
  port?: number;
  resolveHost?: HostResolver;
  refreshers?: RefresherRegistry;
  refresh?: Pick<RefresherOptions, 'refreshBufferMs' | 'retry'>;
  /** Log in once before returning, so that a bad role or identity fails here. Default true. */
  verify?: boolean;
  connectTimeoutMs?: number;
}

export interface EndpointConnection {
  /** `projects/p/branches/b/endpoints/e`. */
  readonly endpointName: string;
  readonly branchName: string;
  readonly projectName: string;
  readonly endpoint: Endpoint;
  readonly workspace: Workspace;
  readonly api: AutoscalingApi;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly readOnly: boolean;
  readonly pooled: boolean;
  readonly sslmode: SslMode;
  /** `user@host:port/database`, never a password. */
  readonly description: string;
  readonly refresher: CredentialRefresher;
  /** `password` is a function returning the current token (a new login gets a valid one). */
  readonly config: pg.ClientConfig;
  createPool(options?: InstancePoolOptions): pg.Pool;
  openSession(options?: { signal?: AbortSignal }): Promise<LakebaseSession>;
  explain(error: unknown): Promise<LakebaseError>;
}

export async function connectEndpoint(options: EndpointConnectOptions): Promise<EndpointConnection> {
  const env = options.env ?? process.env;
  const workspace = options.workspace ?? (await openWorkspace({ profile: options.profile, env }));
  const api = autoscalingApi(workspace);
  const endpoint = await resolveEndpoint(api, options.target, { readOnly: options.readOnly });
  const hosts = endpoint.status?.hosts ?? {};
  const readOnly = endpoint.status?.endpoint_type === 'ENDPOINT_TYPE_READ_ONLY';
  const dnsName = options.pooled ? (readOnly ? hosts.read_only_pooled_host : hosts.read_write_pooled_host) : hosts.host;
  if (!dnsName) {
    throw new LakebaseError(options.pooled ? 'POOLED_HOST_UNAVAILABLE' : 'ENDPOINT_NO_HOST', `The endpoint ${endpoint.name} reports no ${options.pooled ? 'pooled ' : ''}host.`, {
      hint: options.pooled ? 'Connect without --pooled.' : `Check the endpoint with ${AUTOSCALING_COMMANDS.listEndpoints(endpoint.name.split('/endpoints/')[0])}.`,
    });
  }
  const login = await loginBasics(workspace, options, env);
  const { identity, user, database, port, tls } = login;
  const refresher = (options.refreshers ?? sharedRefreshers).obtain({
    workspaceHost: workspace.host,
    identity,
    // With the uid: an endpoint made again under the same name (a reset branch) is another one,
    // whose logins the old endpoint's tokens do not open.
    scope: `autoscaling:${endpoint.name}${endpoint.uid ? ` (${endpoint.uid})` : ''}`,
    // The endpoint's credential, whatever instance names the refresher keeps (only this endpoint).
    mint: () => api.generateCredential(endpoint.name),
    ...options.refresh,
  });
  await refresher.addInstances([endpoint.name]);

  // A suspended endpoint takes a few seconds to wake at the first login; leave room for it.
  const config = await tokenLoginConfig(dnsName, login, refresher, { resolveHost: options.resolveHost, connectTimeoutMs: options.connectTimeoutMs ?? 30_000 });
  const branchName = endpoint.name.split('/endpoints/')[0];
  const context: EndpointLoginContext = { api, endpoint: endpoint.name, branch: branchName, user, identity, host: dnsName, port, database, refresher };
  const explain = (error: unknown) => explainEndpointError(error, context);
  if (options.verify ?? true) await verifyLogin(config, explain);

  const description = `${user}@${dnsName}:${port}/${database}`;
  const connection: EndpointConnection = {
    endpointName: endpoint.name,
    branchName,
    projectName: branchName.split('/branches/')[0],
    endpoint,
    workspace,
    api,
    host: dnsName,
    port,
    database,
    user,
    readOnly,
    pooled: options.pooled === true,
    sslmode: tls.mode,
    description,
    refresher,
    config,
    createPool: (poolOptions) => createInstancePool(config, explain, poolOptions),
    openSession: (sessionOptions = {}) => openSession({ config, description, explainConnectError: explain, signal: sessionOptions.signal }),
    explain,
  };
  Object.defineProperty(connection, inspect.custom, {
    value: () => `EndpointConnection { ${description} (endpoint ${endpoint.name}, ${tls.mode}) }`,
  });
  return connection;
}

export interface EndpointLoginContext {
  api: AutoscalingApi;
  endpoint: string;
  branch: string;
  user: string;
  identity: string;
  host: string;
  port: number;
  database: string;
  refresher: CredentialRefresher;
}

/**
 * Turns a login failure on an endpoint into a `LakebaseError` that says what to do: disabled
 * endpoint, TLS required, wrong identity, missing role, expired credential, missing database,
 * unreachable (deleted project or branch).
 */
export async function explainEndpointError(error: unknown, context: EndpointLoginContext): Promise<LakebaseError> {
  if (error instanceof LakebaseError) return error;
  const { endpoint, user, identity, host, port } = context;
  const message = error instanceof Error ? redactSecrets(error.message) : String(error);
  const code = (error as { code?: unknown } | undefined)?.code;
  if (isDatabaseError(error)) {
    if (code === '57P03' && /disabled/.test(message)) {
      return new LakebaseError('ENDPOINT_DISABLED', `The endpoint ${endpoint} is disabled, so it refuses logins.`, {
        hint: `Enable it: %lakebase endpoint update ${endpoint} --enable (or update spec.disabled to false).`,
        cause: error,
      });
    }
    if (code === '28000' && /no encryption/.test(message)) {
      return new LakebaseError('TLS_REQUIRED', `The endpoint ${endpoint} accepts encrypted (TLS) connections only.`, {
        hint: 'Use sslmode=require or stricter (the default); do not set sslmode=disable.',
        cause: error,
      });
    }
    if (code === '28P01' || (code === '28000' && /does not exist/.test(message))) {
      if (user !== identity) {
        return new LakebaseError('WRONG_IDENTITY', `Login as ${user} was refused: the database credential belongs to ${identity}, and a token only logs in as its own identity.`, {
          hint: `Connect as ${identity} (leave out --user and PGUSER), or use the workspace credentials of ${user}.`,
          cause: error,
        });
      }
      const roles = await context.api.listRoles(context.branch).catch(() => undefined);
      if (roles !== undefined && !roles.some((role) => role.status?.postgres_role === user)) {
        return new LakebaseError('ROLE_MISSING', `The branch ${context.branch} has no Postgres role for ${user}.`, {
          hint: `The project's owner can create it: %lakebase role create ${context.branch} ${user}, or in SQL: CREATE EXTENSION IF NOT EXISTS databricks_auth; SELECT databricks_create_role('${user}', '${user.includes('@') ? 'USER' : 'SERVICE_PRINCIPAL'}');`,
          cause: error,
        });
      }
      return new LakebaseError('CREDENTIAL_REJECTED', `The endpoint ${endpoint} refused the database credential of ${user}.`, {
        hint: 'It may have expired: the refresher status (`%lakebase token` in a notebook) says more; connecting again mints a new one.',
        cause: error,
      });
    }
    if (code === '3D000') {
      return new LakebaseError('DATABASE_MISSING', `The database ${context.database} does not exist on the branch ${context.branch}.`, {
        hint: `Connect to ${DEFAULT_DATABASE} (the default), or create it: %lakebase database create ${context.branch} ${context.database}.`,
        cause: error,
      });
    }
    return new LakebaseError('ENDPOINT_LOGIN_FAILED', `Login to the endpoint ${endpoint} failed: ${message}`, { cause: error });
  }
  if (typeof code === 'string' && TLS_VERIFY_CODES.has(code)) {
    return new LakebaseError('TLS_VERIFY_FAILED', `The certificate of ${host} could not be verified (${code}).`, {
      hint: 'Set PGSSLROOTCERT to the CA that signs it (for the local emulator: the path `lakebase-kernel emulator env` prints), or use sslmode=require to encrypt without verifying.',
      cause: error,
    });
  }
  if ((typeof code === 'string' && UNREACHABLE_CODES.has(code)) || /timeout|terminated unexpectedly/i.test(message)) {
    const current = await context.api.getEndpoint(endpoint).then(
      () => undefined,
      (lookup: unknown) => lookup,
    );
    if (current instanceof LakebaseError) return Object.assign(current, { cause: error });
    return new LakebaseError('ENDPOINT_UNREACHABLE', `Cannot reach the endpoint ${endpoint} at ${host}:${port} (${typeof code === 'string' ? code : message}).`, {
      hint: 'Check the network path to the workspace (VPN, firewall); the endpoint exists, and a suspended one wakes at the next login.',
      cause: error,
    });
  }
  return new LakebaseError('ENDPOINT_CONNECT_FAILED', `Cannot connect to the endpoint ${endpoint}: ${message}`, { cause: error });
}

/** True when `name` is a full Autoscaling resource name (`projects/...`). */
export function isAutoscalingName(name: string): boolean {
  return name.startsWith('projects/') && kindOfName(name) !== 'operation';
}

/**
 * The endpoint whose host (or pooled host) is `host`, searching every project the identity sees:
 * inside a Databricks App the `postgres` resource sets `PGHOST`, not the endpoint's name.
 */
export async function findEndpointByHost(api: AutoscalingApi, host: string): Promise<{ endpoint: Endpoint; pooled: boolean } | undefined> {
  const wanted = host.toLowerCase();
  for (const project of await api.listProjects()) {
    for (const branch of await api.listBranches(project.name)) {
      for (const endpoint of await api.listEndpoints(branch.name)) {
        const hosts = endpoint.status?.hosts ?? {};
        if (hosts.host?.toLowerCase() === wanted || hosts.read_only_host?.toLowerCase() === wanted) return { endpoint, pooled: false };
        if (hosts.read_write_pooled_host?.toLowerCase() === wanted || hosts.read_only_pooled_host?.toLowerCase() === wanted) return { endpoint, pooled: true };
      }
    }
  }
  return undefined;
}

export type AppEndpointConnectOptions = Omit<EndpointConnectOptions, 'target' | 'user' | 'database' | 'port' | 'pooled' | 'readOnly'>;

/**
 * Inside a Databricks App with a `postgres` resource (`PGHOST`, `PGUSER` = the app's service
 * principal, `PGDATABASE`, no `PGPASSWORD`), or wherever `LAKEBASE_ENDPOINT` names the endpoint as
 * `@databricks/lakebase` reads it: connects as the app to that endpoint. Undefined when the
 * environment names no endpoint and no endpoint has the host `PGHOST`.
 */
export async function connectAppEndpoint(options: AppEndpointConnectOptions = {}): Promise<EndpointConnection | undefined> {
  const env = options.env ?? process.env;
  const workspace = options.workspace ?? (await openWorkspace({ profile: options.profile, env }));
  const api = autoscalingApi(workspace);
  let target: EndpointTarget | undefined;
  let pooled = false;
  if (env.LAKEBASE_ENDPOINT) {
    target = parseEndpointTarget(env.LAKEBASE_ENDPOINT);
    if (target?.kind !== 'endpoint') {
      throw new LakebaseError('LAKEBASE_ENDPOINT_INVALID', `LAKEBASE_ENDPOINT is "${env.LAKEBASE_ENDPOINT}", not an endpoint name.`, {
        hint: 'Set it to projects/PROJECT/branches/BRANCH/endpoints/ENDPOINT, as @databricks/lakebase expects.',
      });
    }
  } else if (env.PGHOST) {
    const found = await findEndpointByHost(api, env.PGHOST);
    if (!found) return undefined;
    target = { kind: 'endpoint', endpoint: found.endpoint.name };
    pooled = found.pooled;
  } else {
    return undefined;
  }
  return connectEndpoint({
    ...options,
    env,
    workspace,
    target,
    pooled,
    ...(env.PGUSER ? { user: env.PGUSER } : {}),
    ...(env.PGDATABASE ? { database: env.PGDATABASE } : {}),
    ...(env.PGPORT ? { port: Number(env.PGPORT) } : {}),
  });
}
