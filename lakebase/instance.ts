// Connecting to a Lakebase instance by name: look it up, refuse clearly when it cannot take
// connections, mint the first credential through the identity's refresher, and build the `pg`
// configuration every session or pool of this connection uses (TLS, and a password *function*
// that returns the current token for each new login: lakebase.md, "Connecting to Postgres").
//
// Failures at login are explained in Lakebase terms (stopped instance, TLS required, role
// missing, wrong identity, expired credential), each with a stable code and a next step, using
// what only this layer knows: the instance's state, its roles, and whose token was sent.
import { readFile } from 'node:fs/promises';
import { inspect } from 'node:util';
import pg from 'pg';
import {
  CredentialRefresher,
  RefresherOptions,
  RefresherRegistry,
  sharedRefreshers,
} from './credentials';
import { isDatabaseError, LakebaseError, redactSecrets } from './errors';
import { createHostResolver, HostResolver } from './resolve-host';
import { LakebaseSession, openSession } from './postgres/session';
import {
  COMMANDS,
  DatabaseInstance,
  openWorkspace,
  WaitOptions,
  Workspace,
  WorkspaceOptions,
} from './workspace';

/** The database every instance has (lakebase.md). */
export const DEFAULT_DATABASE = 'databricks_postgres';
export const LAKEBASE_PORT = 5432;
export const APPLICATION_NAME = 'lakebase-kernel';

/**
 * libpq's modes, as far as they make sense for Lakebase (which accepts TLS only):
 * `require` encrypts without checking the certificate, `verify-ca` checks it was signed by a
 * trusted CA, `verify-full` also checks it names the host. `disable` is accepted so that the
 * server's refusal can be explained, not because it can work.
 */
export type SslMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';

export interface InstanceConnectOptions {
  /** The instance's name. */
  instance: string;
  /** Default `databricks_postgres`. */
  database?: string;
  /** The Postgres role; default resolved by `Workspace.postgresUser` (PGUSER, client id, SCIM Me). */
  user?: string;
  /** Connect to the readable secondaries (`read_only_dns`) instead of the primary. */
  readOnly?: boolean;
  /** The workspace to use; default `openWorkspace({ profile, env })`. */
  workspace?: Workspace;
  /** A profile of the Databricks config file, when `workspace` is not given. */
  profile?: string;
  /** Where `PG*` and `DATABRICKS_*` variables are read from; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Default: `verify-full` when a root certificate is known, else `require` (as libpq). */
  sslmode?: SslMode;
  /** PEM file of the CA to trust (`system` for the system's CAs); default `PGSSLROOTCERT`. */
  sslRootCert?: string;
  /** Default 5432. */
  port?: number;
  /** Resolves the host name (with the c-ares fallback); injectable for tests. */
  resolveHost?: HostResolver;
  /** Where the identity's refresher is kept; default the process-wide registry. */
  refreshers?: RefresherRegistry;
  /** Refresh buffer and backoff for a refresher created by this connection. */
  refresh?: Pick<RefresherOptions, 'refreshBufferMs' | 'retry'>;
  /** Wait for a STARTING or UPDATING instance instead of refusing. Default: refuse. */
  waitUntilAvailable?: boolean | WaitOptions;
  /** Log in once before returning, so that a bad role or identity fails here. Default true. */
  verify?: boolean;
  connectTimeoutMs?: number;
}

export interface InstanceConnection {
  readonly instanceName: string;
  /** The instance as looked up when connecting. */
  readonly instance: DatabaseInstance;
  readonly workspace: Workspace;
  /** The DNS name connected to (`read_write_dns`, or `read_only_dns` with `readOnly`). */
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly readOnly: boolean;
  readonly sslmode: SslMode;
  /** `user@host:port/database`, never a password. */
  readonly description: string;
  readonly refresher: CredentialRefresher;
  /**
   * The `pg` configuration for a client or a session: `password` is a function that returns the
   * current token, so every new login gets a valid one while open connections are left alone.
   */
  readonly config: pg.ClientConfig;
  /** A pool on the same configuration, for TypeScript code; login failures are explained. */
  createPool(options?: InstancePoolOptions): pg.Pool;
  /**
   * One server session (`lakebase/session.ts`) on this configuration, whose login failures,
   * also when it reconnects later, are explained by `explain`.
   */
  openSession(options?: { signal?: AbortSignal }): Promise<LakebaseSession>;
  /** Explains an error from a login with this configuration (see `explainConnectError`). */
  explain(error: unknown): Promise<LakebaseError>;
}

export type InstancePoolOptions = Omit<pg.PoolConfig, keyof pg.ClientConfig | 'Client'> & {
  /**
   * Called when an idle pooled connection dies (server restart, network); the pool drops it and
   * opens a new one when needed. Default: a one-line warning on stderr.
   */
  onIdleError?: (error: LakebaseError) => void;
};

/** Connects to the instance named `options.instance` (see `InstanceConnectOptions`). */
export async function connectInstance(options: InstanceConnectOptions): Promise<InstanceConnection> {
  const env = options.env ?? process.env;
  const workspace = options.workspace ?? (await openWorkspace({ profile: options.profile, env } satisfies WorkspaceOptions));
  const name = options.instance;
  const instance = await availableInstance(workspace, name, options.waitUntilAvailable);
  const dnsName = options.readOnly ? instance.read_only_dns : instance.read_write_dns;
  if (!dnsName) {
    throw options.readOnly
      ? new LakebaseError('READ_ONLY_UNAVAILABLE', `The instance ${name} has no read-only endpoint.`, {
          hint: 'Readable secondaries must be enabled on it (enable_readable_secondaries with node_count of 2 or more).',
        })
      : new LakebaseError('INSTANCE_NO_ENDPOINT', `The workspace reported no read_write_dns for the instance ${name}.`, {
          hint: `Check the instance with ${COMMANDS.listInstances}.`,
        });
  }

  const login = await loginBasics(workspace, options, env);
  const { identity, user, database, port, tls } = login;
  const refresher = (options.refreshers ?? sharedRefreshers).obtain({
    workspaceHost: workspace.host,
    identity,
    mint: (request) => workspace.generateCredential(request),
    ...options.refresh,
  });
  // Mints the first credential (or a new one that also covers this instance).
  await refresher.addInstances([name]);

  const config = await tokenLoginConfig(dnsName, login, refresher, { resolveHost: options.resolveHost, connectTimeoutMs: options.connectTimeoutMs ?? 15_000 });
  const context: LoginContext = { workspace, instanceName: name, user, identity, host: dnsName, port, database, refresher };
  const explain = (error: unknown) => explainConnectError(error, context);
  if (options.verify ?? true) await verifyLogin(config, explain);

  const description = `${user}@${dnsName}:${port}/${database}`;
  const connection: InstanceConnection = {
    instanceName: name,
    instance,
    workspace,
    host: dnsName,
    port,
    database,
    user,
    readOnly: options.readOnly ?? false,
    sslmode: tls.mode,
    description,
    refresher,
    config,
    createPool: (poolOptions) => createInstancePool(config, explain, poolOptions),
    openSession: (sessionOptions = {}) =>
      openSession({ config, description, explainConnectError: explain, signal: sessionOptions.signal }),
    explain,
  };
  // `config.password` is a function, but keep the whole object short and safe in `inspect`.
  Object.defineProperty(connection, inspect.custom, {
    value: () => `InstanceConnection { ${description} (instance ${name}, ${tls.mode}) }`,
  });
  return connection;
}

/** What a login to Lakebase settles before any token is minted: TLS, who logs in, and where. */
export interface LoginBasics {
  tls: TlsChoice;
  /** The workspace identity whose tokens log in. */
  identity: string;
  /** The Postgres role logged in as. */
  user: string;
  database: string;
  port: number;
}

/** The part of the connect options every Lakebase login (instance or endpoint) reads. */
export interface LoginOptions {
  user?: string;
  database?: string;
  port?: number;
  sslmode?: SslMode;
  sslRootCert?: string;
}

/** TLS first (a wrong CA path is the user's to fix before anything else), then the identity. */
export async function loginBasics(workspace: Workspace, options: LoginOptions, env: NodeJS.ProcessEnv): Promise<LoginBasics> {
  const tls = await tlsOptions(options.sslmode, options.sslRootCert ?? env.PGSSLROOTCERT, env.PGSSLMODE);
  const identity = await workspace.identity();
  const user = await workspace.postgresUser(options.user);
  return { tls, identity: identity.name, user, database: options.database ?? DEFAULT_DATABASE, port: options.port ?? LAKEBASE_PORT };
}

/**
 * The `pg` configuration of a login to `dnsName`: `password` is a function returning the
 * refresher's current token, so every new login gets a valid one while open connections are left
 * alone.
 */
export async function tokenLoginConfig(
  dnsName: string,
  login: LoginBasics,
  refresher: CredentialRefresher,
  options: { resolveHost?: HostResolver; connectTimeoutMs: number },
): Promise<pg.ClientConfig> {
  const resolved = await (options.resolveHost ?? createHostResolver())(dnsName);
  const ssl = login.tls.ssl === false ? false : { ...login.tls.ssl, ...(resolved.servername ? { servername: resolved.servername } : {}) };
  return {
    host: resolved.host,
    port: login.port,
    database: login.database,
    user: login.user,
    password: () => refresher.current(),
    ssl,
    application_name: APPLICATION_NAME,
    connectionTimeoutMillis: options.connectTimeoutMs,
    keepAlive: true,
  };
}

/** Logs in once, so that a bad role or identity fails at connect (explained), not at the first statement. */
export async function verifyLogin(config: pg.ClientConfig, explain: (error: unknown) => Promise<LakebaseError>): Promise<void> {
  const client = new pg.Client(config);
  try {
    await client.connect();
  } catch (error) {
    throw await explain(error);
  } finally {
    await client.end().catch(() => undefined /* never connected: nothing to close */);
  }
}

async function availableInstance(
  workspace: Workspace,
  name: string,
  wait: boolean | WaitOptions | undefined,
): Promise<DatabaseInstance> {
  const instance = await workspace.getInstance(name);
  switch (instance.state) {
    case 'AVAILABLE':
      return instance;
    case 'STOPPED':
      throw instanceStopped(name);
    case 'STARTING':
    case 'UPDATING':
    case 'FAILING_OVER':
      if (wait) return workspace.waitForInstance(name, 'AVAILABLE', wait === true ? {} : wait);
      throw new LakebaseError('INSTANCE_NOT_READY', `The instance ${name} is ${instance.state}; it takes connections once it is AVAILABLE.${stateReason(instance)}`, {
        hint: `Wait a minute and connect again; ${COMMANDS.listInstances} shows its state.`,
      });
    case 'DELETING':
      throw new LakebaseError('INSTANCE_DELETING', `The instance ${name} is being deleted.`, {
        hint: `Choose another one: ${COMMANDS.listInstances}.`,
      });
    default:
      throw new LakebaseError('INSTANCE_NOT_READY', `The instance ${name} is in state ${instance.state ?? 'unknown'}, not AVAILABLE.${stateReason(instance)}`, {
        hint: notReadyHint(name, instance.state),
      });
  }
}

/**
 * Why the instance is in its state, as a sentence to append, when the workspace says: the local
 * emulator reports it in `emulator_state_message` (its server died and is being restarted, or
 * could not be); the real service has no such field, and then this is empty.
 */
function stateReason(instance: DatabaseInstance | undefined): string {
  const message = (instance as { emulator_state_message?: unknown } | undefined)?.emulator_state_message;
  return typeof message === 'string' && message !== '' ? ` ${message}` : '';
}

function notReadyHint(name: string, state: string | undefined): string {
  // The local emulator's FAILED: its server could not be restarted; a start tries again.
  if (state === 'FAILED') return `Start it again with ${COMMANDS.startInstance(name)} once the cause is fixed.`;
  return `Wait until it is AVAILABLE (${COMMANDS.listInstances}).`;
}

function instanceStopped(name: string): LakebaseError {
  return new LakebaseError('INSTANCE_STOPPED', `The instance ${name} is stopped, so it refuses connections.`, {
    hint: `Start it with ${COMMANDS.startInstance(name)}, then connect again.`,
  });
}

interface TlsChoice {
  mode: SslMode;
  ssl: false | pg.ClientConfig['ssl'] & object;
}

/** TLS settings for a Lakebase login (instances and Autoscaling endpoints alike). */
export async function tlsOptions(explicit: SslMode | undefined, rootCert: string | undefined, envMode: string | undefined): Promise<TlsChoice> {
  const fromEnv = envMode === 'require' || envMode === 'verify-ca' || envMode === 'verify-full' || envMode === 'disable' ? envMode : undefined;
  const mode: SslMode = explicit ?? fromEnv ?? (rootCert ? 'verify-full' : 'require');
  if (mode === 'disable') return { mode, ssl: false };
  if (mode === 'require' && !rootCert) return { mode, ssl: { rejectUnauthorized: false } };
  // As libpq: with a root certificate, `require` checks the chain like `verify-ca`.
  let ca: string | undefined;
  if (rootCert && rootCert !== 'system') {
    try {
      ca = await readFile(rootCert, 'utf8');
    } catch (error) {
      throw new LakebaseError('TLS_ROOT_CERT_UNREADABLE', `Cannot read the root certificate ${rootCert} (${(error as NodeJS.ErrnoException).code ?? error}).`, {
        hint: 'Point PGSSLROOTCERT (or --sslrootcert) at a readable PEM file, or use `system` for the system CAs.',
        cause: error,
      });
    }
  }
  const checkHost = mode === 'verify-full';
  return {
    mode,
    ssl: {
      rejectUnauthorized: true,
      ...(ca ? { ca } : {}),
      // verify-ca: the chain is checked, the name is not.
      ...(checkHost ? {} : { checkServerIdentity: () => undefined }),
    },
  };
}

/** A pg pool whose clients' login failures are explained (instances and Autoscaling endpoints alike). */
export function createInstancePool(
  config: pg.ClientConfig,
  explain: (error: unknown) => Promise<LakebaseError>,
  options: InstancePoolOptions = {},
): pg.Pool {
  const { onIdleError, ...poolOptions } = options;
  class InstanceClient extends pg.Client {
    override connect(): Promise<pg.Client>;
    override connect(callback: ((error: Error) => void) | ((error: null, client: pg.Client) => void)): void;
    override connect(
      callback?: ((error: Error) => void) | ((error: null, client: pg.Client) => void),
    ): Promise<pg.Client> | void {
      const attempt = super.connect().catch(async (error: unknown) => {
        throw await explain(error);
      });
      if (callback === undefined) return attempt;
      // pg-pool uses the callback form: one function for both outcomes.
      const done = callback as (error: Error | null, client?: pg.Client) => void;
      attempt.then(
        (client) => done(null, client),
        (error: Error) => done(error),
      );
    }
  }
  const pool = new pg.Pool({ ...config, ...poolOptions, Client: InstanceClient as unknown as new () => pg.ClientBase });
  const report =
    onIdleError ??
    ((error: LakebaseError) => console.warn(`lakebase: an idle pooled connection closed (${error.message}); the next query opens a new one.`));
  // Without a listener, an idle client's error (e.g. the server restarting) would crash the process.
  pool.on('error', (error) => {
    report(new LakebaseError('CONNECTION_LOST', redactSecrets(error.message), { cause: error }));
  });
  return pool;
}

/** What `explainConnectError` needs to know about the login that failed. */
export interface LoginContext {
  workspace: Workspace;
  instanceName: string;
  user: string;
  /** The identity the tokens are minted for. */
  identity: string;
  host: string;
  port: number;
  database: string;
  refresher: CredentialRefresher;
}

export const TLS_VERIFY_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
export const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/**
 * Turns a login failure into a `LakebaseError` that says what to do (the troubleshooting rows
 * of lakebase.md). Asks the workspace for the instance's state or the role when that decides
 * between explanations; when that lookup fails too, the less specific explanation stands.
 */
export async function explainConnectError(error: unknown, context: LoginContext): Promise<LakebaseError> {
  if (error instanceof LakebaseError) return error;
  const { instanceName: name, user, identity, host, port } = context;
  const message = error instanceof Error ? redactSecrets(error.message) : String(error);
  const code = (error as { code?: unknown } | undefined)?.code;

  if (isDatabaseError(error)) {
    // `no pg_hba.conf entry ..., no encryption`, or `pg_hba.conf rejects connection ..., no encryption`.
    if (code === '28000' && /pg_hba\.conf/.test(message) && /no encryption/.test(message)) {
      return new LakebaseError('TLS_REQUIRED', `The instance ${name} accepts encrypted (TLS) connections only.`, {
        hint: 'Use sslmode=require or stricter (the default); do not set sslmode=disable.',
        cause: error,
      });
    }
    if (code === '28000' && /role ".*" does not exist/.test(message)) {
      return roleMissing(context, error);
    }
    // Lakebase (and the local emulator's login gateway) say `password authentication failed`
    // (28P01); PostgreSQL words failures of its external methods (RADIUS, LDAP, PAM) as
    // `... authentication failed` with 28000, which a server behind such a method would send.
    if (code === '28P01' || (code === '28000' && /authentication failed/.test(message))) {
      if (user !== identity) {
        return new LakebaseError(
          'WRONG_IDENTITY',
          `Login as ${user} was refused: the database credential belongs to ${identity}, and a token only logs in as its own identity.`,
          {
            hint: `Connect as ${identity} (leave out --user and PGUSER), or use the workspace credentials of ${user} (another profile or token).`,
            cause: error,
          },
        );
      }
      const role = await context.workspace.findRole(name, user).catch(() => 'unknown' as const);
      if (role === undefined) return roleMissing(context, error);
      const status = context.refresher.status();
      return new LakebaseError('CREDENTIAL_REJECTED', `The instance ${name} refused the database credential of ${user}.`, {
        hint:
          (status.expiresAt && status.expiresAt.getTime() <= Date.now()
            ? `The credential expired at ${status.expiresAt.toISOString()} and could not be renewed: `
            : 'It may have expired or been minted for other instances: ') +
          'the refresher status (`%lakebase token` in a notebook) says more; connecting again mints a new one.',
        cause: error,
      });
    }
    if (code === '3D000') {
      return new LakebaseError('DATABASE_MISSING', `The database ${context.database} does not exist on the instance ${name}.`, {
        hint: `Connect to ${DEFAULT_DATABASE} (the default) and run CREATE DATABASE, or register one with a catalog.`,
        cause: error,
      });
    }
    return new LakebaseError('INSTANCE_LOGIN_FAILED', `Login to the instance ${name} failed: ${message}`, { cause: error });
  }

  if (typeof code === 'string' && TLS_VERIFY_CODES.has(code)) {
    return new LakebaseError('TLS_VERIFY_FAILED', `The certificate of ${host} could not be verified (${code}).`, {
      hint: 'Set PGSSLROOTCERT to the CA that signs it (for the local emulator: the path `lakebase-kernel emulator env` prints), or use sslmode=require to encrypt without verifying.',
      cause: error,
    });
  }
  if (/does not support SSL/i.test(message)) {
    return new LakebaseError('TLS_NOT_SUPPORTED', `${host}:${port} does not speak TLS, so it is not a Lakebase endpoint.`, {
      hint: 'Check the host and port.',
      cause: error,
    });
  }
  if ((typeof code === 'string' && UNREACHABLE_CODES.has(code)) || /timeout|terminated unexpectedly/i.test(message)) {
    const instance = await context.workspace.getInstance(name).catch(() => undefined);
    const state = instance?.state;
    if (state === 'STOPPED') return Object.assign(instanceStopped(name), { cause: error });
    if (state !== undefined && state !== 'AVAILABLE') {
      // Issue 12: a server that died under the instance is named as the cause, not the network.
      return new LakebaseError('INSTANCE_NOT_READY', `The instance ${name} is ${state} and does not take connections now.${stateReason(instance)}`, {
        hint: notReadyHint(name, state),
        cause: error,
      });
    }
    return new LakebaseError('INSTANCE_UNREACHABLE', `Cannot reach the instance ${name} at ${host}:${port} (${typeof code === 'string' ? code : message}).`, {
      hint: 'Check the network path to the workspace (VPN, firewall, private link); the instance reports AVAILABLE.',
      cause: error,
    });
  }
  return new LakebaseError('INSTANCE_CONNECT_FAILED', `Cannot connect to the instance ${name}: ${message}`, { cause: error });
}

function roleMissing(context: LoginContext, cause: unknown): LakebaseError {
  return new LakebaseError('ROLE_MISSING', `The instance ${context.instanceName} has no Postgres role for ${context.user}.`, {
    hint: `Only the instance's creator has one from the start; ${COMMANDS.createRole(context.instanceName, context.user)}.`,
    cause,
  });
}
