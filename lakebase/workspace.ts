// A Databricks workspace, as the rest of the library needs it: who we are there, the Lakebase
// instances, and database credentials.
//
// Everything goes through the official JS SDK (design.md: "Workspace calls go through the official
// JS SDK"), so authentication is the SDK's unified auth, exactly as the Databricks CLI and the other
// SDKs resolve it: explicit options, then `DATABRICKS_*` variables, then a profile of
// `~/.databrickscfg` (`DATABRICKS_CONFIG_FILE`, `DATABRICKS_CONFIG_PROFILE`), then the default chain
// pat → basic → oauth-m2m → databricks-cli → ..., or the one `DATABRICKS_AUTH_TYPE` forces.
// What the SDK throws is turned here into `LakebaseError`s with stable codes and a next step.
import { ApiError, Config, ConfigError, WorkspaceClient } from '@databricks/sdk-experimental';
import type { AuthType } from '@databricks/sdk-experimental';
import type {
  DatabaseInstance,
  DatabaseInstanceRole,
} from '@databricks/sdk-experimental/dist/apis/database';
import { parseErrorFromResponse } from '@databricks/sdk-experimental/dist/apierr';
import { inspect } from 'node:util';
import type { MintedCredential, MintRequest } from './credentials';
import { LakebaseError, redactSecrets } from './errors';
import { PollVerdict, waitFor, WaitProgress } from './waiting';

export type { DatabaseInstance, DatabaseInstanceRole };

export interface WorkspaceOptions {
  /** Workspace URL; default from `DATABRICKS_HOST` or the profile. */
  host?: string;
  /** A personal access token (PAT auth). */
  token?: string;
  /** OAuth machine-to-machine: a service principal's application id and secret. */
  clientId?: string;
  clientSecret?: string;
  /** A profile of the Databricks config file. */
  profile?: string;
  /** The Databricks config file; default `DATABRICKS_CONFIG_FILE`, else `~/.databrickscfg`. */
  configFile?: string;
  /** Force one auth method, as `DATABRICKS_AUTH_TYPE` does. */
  authType?: AuthType;
  /** Where `DATABRICKS_*` and `PGUSER` are read from; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /**
   * How long the SDK keeps retrying a throttled (429) or temporarily unavailable request, in
   * seconds. The SDK's default of 5 minutes would freeze a notebook cell; default here 30.
   */
  retryTimeoutSeconds?: number;
}

export type IdentityKind = 'user' | 'service-principal';

/** Who the workspace credentials belong to; tokens minted with them are for this identity. */
export interface WorkspaceIdentity {
  /** A user's name (an email) or a service principal's application id. */
  name: string;
  kind: IdentityKind;
}

export type InstanceState = NonNullable<DatabaseInstance['state']>;

export interface WaitOptions {
  /** Give up after this long; default 20 minutes (the SDKs' instance waiter waits as long). */
  timeoutMs?: number;
  /** First poll interval; it grows to 5 s. Default 200 ms (the local emulator is quick). */
  intervalMs?: number;
  /** Called after each poll that found the instance still on its way, e.g. to show progress. */
  onProgress?: (progress: WaitProgress<DatabaseInstance>) => void;
  /** Stops the waiting (never the operation): the call rejects with `WaitStoppedError`. */
  signal?: AbortSignal;
}

export interface Workspace {
  /** The workspace URL as resolved, e.g. `https://dbc-123.cloud.databricks.com`. */
  readonly host: string;
  /** The auth method the SDK settled on: `pat`, `oauth-m2m`, `databricks-cli`, ... */
  readonly authType: string;
  /** The SDK client, for calls this interface does not wrap. */
  readonly client: WorkspaceClient;
  /**
   * Adds the workspace's credentials (`Authorization`, refreshed OAuth tokens included) to
   * `headers`, for clients that do not go through the SDK (`@databricks/sql`'s Thrift connection).
   */
  authenticate(headers: Headers): Promise<void>;
  /** Who the credentials belong to (SCIM `Me`, or the client id for OAuth M2M). Cached. */
  identity(): Promise<WorkspaceIdentity>;
  /**
   * The Postgres role to log in as, resolved as Databricks tools do: `explicit`, else `PGUSER`,
   * else the service principal's client id (OAuth M2M), else SCIM `Me` userName.
   */
  postgresUser(explicit?: string): Promise<string>;
  getInstance(name: string): Promise<DatabaseInstance>;
  listInstances(): Promise<DatabaseInstance[]>;
  /** Creates an instance and waits until it is `AVAILABLE`. */
  createInstance(instance: DatabaseInstance, wait?: WaitOptions): Promise<DatabaseInstance>;
  /** Starts a stopped instance and waits until it is `AVAILABLE`. */
  startInstance(name: string, wait?: WaitOptions): Promise<DatabaseInstance>;
  /** Stops an instance and waits until it is `STOPPED`. */
  stopInstance(name: string, wait?: WaitOptions): Promise<DatabaseInstance>;
  /** Polls until the instance reaches `state`; fails when it settles in another one. */
  waitForInstance(name: string, state: InstanceState, wait?: WaitOptions): Promise<DatabaseInstance>;
  /** `POST /api/2.0/database/credentials`: a token to log in to these instances as `identity()`. */
  generateCredential(request: MintRequest): Promise<MintedCredential>;
  /** The instance's Postgres role of that name, or undefined when there is none. */
  findRole(instanceName: string, roleName: string): Promise<DatabaseInstanceRole | undefined>;
  createRole(instanceName: string, role: DatabaseInstanceRole): Promise<DatabaseInstanceRole>;
  /**
   * A REST call with the workspace's authentication and our own `fetch`, for what the SDK 0.17
   * lacks (failover, role updates, Autoscaling) or gets wrong (it sends PATCH without a body).
   * Failures become `LakebaseError`s as every other call's do.
   */
  api<T = Record<string, unknown>>(method: ApiMethod, path: string, options: ApiCallOptions): Promise<T>;
}

export type ApiMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface ApiCallOptions {
  /** What the call does, in words, for error messages: "fail over the instance orders". */
  operation: string;
  body?: unknown;
  query?: Readonly<Record<string, string | undefined>>;
  /** The instance the call is about, so that a 404 says which one is missing. */
  instance?: string;
  /** The role the call is about (a 404 is then the role's, not the instance's). */
  role?: string;
  /** The Autoscaling project the call is about (`projects/p`), so that a refusal says whom to ask. */
  project?: string;
}

/**
 * Commands named in hints, kept together: the `%lakebase` verb, which the terminal front end
 * shows as `lakebase-kernel …` (magics/terminal.ts), then the Databricks CLI's (lakebase.md,
 * "Databricks CLI names"), for a user who works outside this kernel.
 */
export const COMMANDS = {
  listInstances: '`%lakebase instance list` (or `databricks database list-database-instances`)',
  startInstance: (name: string) => `\`%lakebase instance start ${name}\` (or \`databricks database update-database-instance ${name} stopped --stopped=false\`)`,
  createRole: (instance: string, user: string) => {
    // A user's role is its email; a service principal's is its application id.
    const kind = user.includes('@') ? 'USER' : 'SERVICE_PRINCIPAL';
    return (
      `the instance's owner or a workspace admin can create it with \`%lakebase instance-role create ${instance} ${user}\` ` +
      `(or \`databricks database create-database-instance-role ${instance} --json '{"name": "${user}", "identity_type": "${kind}"}'\`), ` +
      `or in SQL: \`CREATE EXTENSION IF NOT EXISTS databricks_auth; SELECT databricks_create_role('${user}', '${kind}');\``
    );
  },
} as const;

/**
 * Opens a workspace: resolves the configuration and authenticates once, so that a missing or
 * wrong configuration fails here with a clear message rather than at the first API call.
 */
export async function openWorkspace(options: WorkspaceOptions = {}): Promise<Workspace> {
  const config = new Config({
    host: options.host,
    token: options.token,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    profile: options.profile,
    configFile: options.configFile,
    authType: options.authType,
    env: options.env ?? process.env,
    retryTimeoutSeconds: options.retryTimeoutSeconds ?? 30,
  });
  const where = options.host ?? options.env?.DATABRICKS_HOST ?? 'the configured workspace';
  try {
    await config.ensureResolved();
    await config.authenticate(new Headers());
  } catch (error) {
    throw workspaceError(error, { host: config.host ?? where, operation: 'authenticate' });
  }
  return new SdkWorkspace(config, options.env ?? process.env);
}

/**
 * Whether any Databricks configuration is present: `DATABRICKS_HOST` (or a profile that gives a
 * host) in the environment or the config file. Decides the embedded default: without one,
 * `%lakebase connect` uses the local emulator. A configuration that is present but broken counts
 * as present, so that the user sees its error instead of silently getting the emulator.
 */
export async function hasDatabricksConfig(
  options: Pick<WorkspaceOptions, 'env' | 'profile' | 'configFile'> = {},
): Promise<boolean> {
  const config = new Config({
    profile: options.profile,
    configFile: options.configFile,
    env: options.env ?? process.env,
  });
  try {
    await config.ensureResolved();
  } catch (error) {
    if (error instanceof ConfigError) return true;
    throw error;
  }
  return Boolean(config.host);
}

class SdkWorkspace implements Workspace {
  readonly host: string;
  readonly #config: Config;
  readonly #client: WorkspaceClient;
  readonly #env: NodeJS.ProcessEnv;
  #identity: Promise<WorkspaceIdentity> | undefined;

  constructor(config: Config, env: NodeJS.ProcessEnv) {
    this.#config = config;
    this.#client = new WorkspaceClient(config, { product: 'lakebase-kernel', productVersion: '0.1.0' });
    this.#env = env;
    this.host = config.host ?? '';
  }

  get authType(): string {
    return this.#config.authType ?? 'unknown';
  }

  get client(): WorkspaceClient {
    return this.#client;
  }

  async authenticate(headers: Headers): Promise<void> {
    try {
      await this.#config.authenticate(headers);
    } catch (error) {
      throw workspaceError(error, { host: this.host, operation: 'authenticate' });
    }
  }

  identity(): Promise<WorkspaceIdentity> {
    this.#identity ??= this.#resolveIdentity();
    // A failed lookup is not cached: the next call asks again.
    this.#identity.catch(() => {
      this.#identity = undefined;
    });
    return this.#identity;
  }

  async #resolveIdentity(): Promise<WorkspaceIdentity> {
    // A service principal's Postgres identity is its application (client) id (lakebase.md).
    if (this.authType === 'oauth-m2m' && this.#config.clientId) {
      return { name: this.#config.clientId, kind: 'service-principal' };
    }
    const me = await this.#call({ operation: 'look up the current user (SCIM Me)' }, () =>
      this.#client.currentUser.me(),
    );
    if (!me.userName) {
      throw new LakebaseError('IDENTITY_UNKNOWN', `The workspace ${this.host} did not say who the current user is.`, {
        hint: 'Pass the Postgres user explicitly (`--user`).',
      });
    }
    return { name: me.userName, kind: me.userName.includes('@') ? 'user' : 'service-principal' };
  }

  async postgresUser(explicit?: string): Promise<string> {
    if (explicit) return explicit;
    if (this.#env.PGUSER) return this.#env.PGUSER;
    return (await this.identity()).name;
  }

  getInstance(name: string): Promise<DatabaseInstance> {
    return this.#call({ operation: `get the instance ${name}`, instance: name }, () =>
      this.#client.database.getDatabaseInstance({ name }),
    );
  }

  listInstances(): Promise<DatabaseInstance[]> {
    return this.#call({ operation: 'list instances' }, async () => {
      const instances: DatabaseInstance[] = [];
      for await (const instance of this.#client.database.listDatabaseInstances({})) instances.push(instance);
      return instances;
    });
  }

  async createInstance(instance: DatabaseInstance, wait?: WaitOptions): Promise<DatabaseInstance> {
    await this.#call({ operation: `create the instance ${instance.name}`, instance: instance.name }, () =>
      // The SDK's own waiter polls at 1 s, 2 s, 3 s, ...; ours starts faster (see waitForInstance).
      this.#client.database.createDatabaseInstance({ database_instance: instance }),
    );
    return this.waitForInstance(instance.name, 'AVAILABLE', wait);
  }

  async startInstance(name: string, wait?: WaitOptions): Promise<DatabaseInstance> {
    await this.#patchInstance(name, { name, stopped: false }, 'stopped');
    return this.waitForInstance(name, 'AVAILABLE', wait);
  }

  async stopInstance(name: string, wait?: WaitOptions): Promise<DatabaseInstance> {
    await this.#patchInstance(name, { name, stopped: true }, 'stopped');
    return this.waitForInstance(name, 'STOPPED', wait);
  }

  waitForInstance(name: string, state: InstanceState, wait: WaitOptions = {}): Promise<DatabaseInstance> {
    return waitFor<DatabaseInstance, DatabaseInstance>({
      description: `the instance ${name} to be ${state}`,
      poll: () => this.getInstance(name),
      check: (instance) => instanceVerdict(name, instance, state),
      timeoutMs: wait.timeoutMs ?? 20 * 60_000,
      initialDelayMs: wait.intervalMs ?? 200,
      ...(wait.onProgress ? { onProgress: wait.onProgress } : {}),
      ...(wait.signal ? { signal: wait.signal } : {}),
    });
  }

  async generateCredential(request: MintRequest): Promise<MintedCredential> {
    const credential = await this.#call(
      { operation: 'generate a database credential', instance: request.instanceNames.join(', ') || undefined },
      () =>
        this.#client.database.generateDatabaseCredential({
          instance_names: [...request.instanceNames],
          request_id: request.requestId,
        }),
    );
    const expirationTime = credential.expiration_time ? new Date(credential.expiration_time) : undefined;
    if (!credential.token || !expirationTime || Number.isNaN(expirationTime.getTime())) {
      throw new LakebaseError(
        'CREDENTIAL_UNREADABLE',
        `The workspace ${this.host} answered the credential request without a token and a valid expiration_time.`,
        { hint: 'This is a workspace problem; try again, and report it if it persists.' },
      );
    }
    return { token: credential.token, expirationTime };
  }

  async findRole(instanceName: string, roleName: string): Promise<DatabaseInstanceRole | undefined> {
    try {
      return await this.#client.database.getDatabaseInstanceRole({ instance_name: instanceName, name: roleName });
    } catch (error) {
      if (error instanceof ApiError && error.statusCode === 404) return undefined;
      throw workspaceError(error, { host: this.host, operation: `look up the role ${roleName}`, instance: instanceName });
    }
  }

  createRole(instanceName: string, role: DatabaseInstanceRole): Promise<DatabaseInstanceRole> {
    return this.#call({ operation: `create the role ${role.name}`, instance: instanceName, role: role.name }, () =>
      this.#client.database.createDatabaseInstanceRole({ instance_name: instanceName, database_instance_role: role }),
    );
  }

  /**
   * `PATCH /api/2.0/database/instances/{name}?update_mask=...` with the SDK's auth but not its
   * request method: SDK 0.17 sends a body only for POST and PUT (`api-client.js`), so its
   * `updateDatabaseInstance` drops `{"stopped": false}` and the update would do nothing.
   */
  #patchInstance(name: string, fields: DatabaseInstance, updateMask: string): Promise<DatabaseInstance> {
    return this.api<DatabaseInstance>('PATCH', `/api/2.0/database/instances/${encodeURIComponent(name)}`, {
      operation: `update the instance ${name}`,
      instance: name,
      query: { update_mask: updateMask },
      body: fields,
    });
  }

  api<T = Record<string, unknown>>(method: ApiMethod, path: string, options: ApiCallOptions): Promise<T> {
    const context = {
      operation: options.operation,
      ...(options.instance ? { instance: options.instance } : {}),
      ...(options.role ? { role: options.role } : {}),
      ...(options.project ? { project: options.project } : {}),
    };
    return this.#call(context, async () => {
      const headers = new Headers({ Accept: 'application/json' });
      if (options.body !== undefined) headers.set('Content-Type', 'application/json');
      await this.#config.authenticate(headers);
      const url = new URL(path, this.host);
      for (const [name, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(name, value);
      const response = await fetch(url, { method, headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) });
      const text = await response.text();
      if (!response.ok) throw parseErrorFromResponse(response.status, response.statusText, text);
      return (text === '' ? {} : JSON.parse(text)) as T;
    });
  }

  async #call<T>(context: Omit<ErrorContext, 'host'>, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw workspaceError(error, { ...context, host: this.host });
    }
  }

  // The SDK's config holds the token and the client secret: keep them out of `inspect`.
  [inspect.custom](): string {
    return `Workspace { host: ${this.host}, authType: ${this.authType} }`;
  }
}

/**
 * States an instance passes through on its way somewhere, and what it is doing meanwhile. DELETING
 * is not among them: an instance being deleted goes nowhere but away, which a wait for deletion
 * (polling until 404) handles itself.
 */
export const PASSING_INSTANCE_STATES: Readonly<Record<string, string>> = {
  STARTING: 'the server to start',
  UPDATING: 'the change to be applied',
  FAILING_OVER: 'the secondary to take over',
  // Newer than SDK 0.17's enum (databricks-apis.md §3): an upgrade to Autoscaling in progress.
  UPGRADING: 'the upgrade to Autoscaling',
};

/**
 * Whether a polled instance has reached `wanted`, is still on its way (a passing state), or
 * settled somewhere else, which ends the wait with `INSTANCE_WAIT_FAILED`.
 */
export function instanceVerdict(name: string, instance: DatabaseInstance, wanted: InstanceState): PollVerdict<DatabaseInstance> {
  const state = instance.state;
  if (state === wanted) return { done: true, result: instance };
  const detail = state === undefined ? undefined : PASSING_INSTANCE_STATES[state];
  // STOPPED is reached through AVAILABLE → (stopping, reported as AVAILABLE or UPDATING).
  const onTheWay = detail !== undefined || (wanted === 'STOPPED' && state === 'AVAILABLE');
  if (onTheWay) return { done: false, state: state ?? 'UNKNOWN', detail: detail ?? 'the server to stop' };
  throw new LakebaseError('INSTANCE_WAIT_FAILED', `The instance ${name} is ${state ?? 'in an unknown state'}, not ${wanted}.`, {
    hint: `Check it with ${COMMANDS.listInstances}.`,
  });
}

interface ErrorContext {
  host: string;
  /** What we were doing, in words: "get the instance foo". */
  operation: string;
  instance?: string;
  role?: string;
  /** An Autoscaling project (`projects/p`): a refusal names it as the thing to ask for. */
  project?: string;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Maps what the SDK throws to a `LakebaseError` with a stable code and a next step. */
export function workspaceError(raw: unknown, context: ErrorContext): LakebaseError {
  if (raw instanceof LakebaseError) return raw;
  const { host, operation } = context;
  const error = raw;
  const cause = sanitizedCause(raw);
  if (error instanceof ApiError) {
    const said = `${error.statusCode} ${error.errorCode}: ${error.message}`;
    switch (error.statusCode) {
      case 401:
        return new LakebaseError(
          'WORKSPACE_UNAUTHENTICATED',
          `The workspace ${host} rejected the credentials while trying to ${operation} (${said}).`,
          {
            hint:
              'Check DATABRICKS_TOKEN (or DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET, or the profile in ' +
              `~/.databrickscfg); for a Databricks CLI login run \`databricks auth login --host ${host}\`.`,
            cause,
          },
        );
      case 403:
        // The service's message names the permission and what it was needed for: one line says it all.
        return new LakebaseError('WORKSPACE_PERMISSION_DENIED', `Not allowed to ${operation}: ${error.message}`, {
          hint:
            context.instance ?? context.project
              ? `Ask the owner of ${context.instance ?? context.project} or a workspace admin for permission on it (CAN_USE to connect, CAN_MANAGE to change it).`
              : 'Ask a workspace admin for permission (CAN_USE to connect to an instance, CAN_MANAGE to change it).',
          cause,
        });
      case 404:
        if (context.role !== undefined) {
          return new LakebaseError('ROLE_NOT_FOUND', `Cannot ${operation}: ${error.message}`, {
            hint: context.instance ? `List the roles of ${context.instance} to see which exist.` : undefined,
            cause,
          });
        }
        if (context.instance === undefined) {
          return new LakebaseError('NOT_FOUND', `Cannot ${operation}: ${error.message}`, { cause });
        }
        return new LakebaseError('INSTANCE_NOT_FOUND', `There is no database instance named ${context.instance} in ${host}.`, {
          hint: `List the instances with ${COMMANDS.listInstances}.`,
          cause,
        });
      case 409:
        return new LakebaseError('ALREADY_EXISTS', `Cannot ${operation}: ${error.message}`, { cause });
      case 501:
        return new LakebaseError('NOT_IMPLEMENTED', `Cannot ${operation}: ${error.message}`, { cause });
      case 429:
      case 503:
        return new LakebaseError('WORKSPACE_UNAVAILABLE', `The workspace ${host} is busy or unavailable (${said}).`, {
          hint: 'Try again in a minute.',
          cause,
        });
      case 400:
        if (error.errorCode === 'INVALID_STATE') {
          return new LakebaseError('INSTANCE_INVALID_STATE', `Cannot ${operation} now: ${error.message}`, {
            hint: context.instance ? `Check its state with ${COMMANDS.listInstances}.` : undefined,
            cause,
          });
        }
        return new LakebaseError('INVALID_REQUEST', `Cannot ${operation}: ${error.message}`, { cause });
    }
    return new LakebaseError('WORKSPACE_API_ERROR', `Could not ${operation} in ${host} (${said}).`, { cause });
  }
  // Before ConfigError: the SDK wraps an unreachable OAuth endpoint in one.
  const code = networkCode(error);
  if (code !== undefined) {
    return new LakebaseError('WORKSPACE_UNREACHABLE', `Cannot reach the workspace ${host} to ${operation} (${code}).`, {
      hint: 'Check DATABRICKS_HOST and the network; for the local emulator, `npx lakebase-kernel emulator status`.',
      cause,
    });
  }
  // The SDK's OAuth client throws a plain Error when the token endpoint refuses the client.
  if (error instanceof Error && /^Failed to retrieve token/.test(error.message)) {
    return new LakebaseError('WORKSPACE_AUTH_FAILED', `The workspace ${host} refused the OAuth client credentials.`, {
      hint: 'Check DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET (or client_id/client_secret of the profile): the secret may be wrong or expired.',
      cause,
    });
  }
  if (error instanceof ConfigError) {
    const hint =
      'Set DATABRICKS_HOST with DATABRICKS_TOKEN, or DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET, or choose a ' +
      'profile of ~/.databrickscfg (DATABRICKS_CONFIG_PROFILE); see ' +
      'https://docs.databricks.com/en/dev-tools/auth.html#databricks-client-unified-authentication';
    if (!error.config.host && !error.config.profile) {
      return new LakebaseError('WORKSPACE_NOT_CONFIGURED', 'No Databricks workspace is configured.', { hint, cause });
    }
    return new LakebaseError('WORKSPACE_AUTH_FAILED', `Databricks authentication for ${host} is not usable: ${configErrorText(error)}.`, {
      hint,
      cause,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new LakebaseError('WORKSPACE_ERROR', `Could not ${operation} in ${host}: ${message}`, { cause });
}

/**
 * What the SDK throws can carry its whole `Config` (a `ConfigError` keeps `config`, with the
 * token and client secret in it): keep only the name, the redacted message and the codes.
 */
function sanitizedCause(error: unknown): Error {
  const source = error instanceof Error ? error : new Error(String(error));
  const cause = new Error(redactSecrets(source instanceof ConfigError ? configErrorText(source) : source.message));
  cause.name = source.name;
  for (const key of ['code', 'statusCode', 'errorCode'] as const) {
    const value = (source as unknown as Record<string, unknown>)[key];
    if (typeof value === 'string' || typeof value === 'number') Object.assign(cause, { [key]: value });
  }
  const inner = (source as { cause?: unknown }).cause;
  if (inner !== undefined && inner !== source) Object.assign(cause, { cause: sanitizedCause(inner) });
  return cause;
}

/**
 * What a `ConfigError` says, in the user's terms: the SDK's message without its stage prefix
 * (`default auth:`, `resolve:`), without the docs link (our hint has it), and without its dump of
 * every config attribute (`Config: ..., retry_timeout_seconds=30`, SDK defaults the user never
 * set; issue 11); the environment variables it read are kept, since the user did set those.
 * `/root/.databrickscfg has no prod profile configured (read DATABRICKS_CONFIG_FILE)`.
 */
function configErrorText(error: ConfigError): string {
  const base = (error.baseMessage ?? error.message)
    .replace(/^[a-z][a-z ]*: /, '')
    .replace(/,? please check \S+ to configure credentials for your preferred authentication method/, '')
    .replace(/\.$/, '');
  const env = /\. Env: ([A-Z0-9_, ]+)$/.exec(error.message)?.[1];
  return env === undefined ? base : `${base} (read ${env})`;
}

/** A socket-level error code, also when wrapped (fetch puts it in `cause`, the SDK in a message). */
function networkCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    if (current instanceof Error) {
      const named = [...NETWORK_CODES].find((candidate) => current instanceof Error && current.message.includes(candidate));
      if (named) return named;
      if (/Can't connect to/.test(current.message)) return 'ENOTFOUND';
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
