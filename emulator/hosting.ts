// The seam between the REST layer and the servers that host instances. The registry
// (`instances.ts`) asks for servers through this interface only; `postgres-hosting.ts` implements
// it with real PostgreSQL servers (`emulator/postgres/`), and nothing else in the REST layer knows
// how a server is run.

export type RoleKind = 'USER' | 'SERVICE_PRINCIPAL' | 'GROUP';

/** The role attributes the roles API exposes (`DatabaseInstanceRoleAttributes`). */
export interface RoleAttributes {
  createdb: boolean;
  createrole: boolean;
  bypassrls: boolean;
}

export interface InstanceRole {
  name: string;
  kind: RoleKind;
  /** Member of `databricks_superuser`. */
  superuser: boolean;
  attributes: RoleAttributes;
}

/** Where an instance's server listens. */
export interface InstanceEndpoint {
  /** Loopback address of `read_write_dns`. */
  address: string;
  /** 5432, except where the OS has no loopback aliases and instances share 127.0.0.1. */
  port: number;
}

/** Where an instance's server lives; stable across emulator restarts. */
export interface InstancePlacement extends InstanceEndpoint {
  uid: string;
}

/** A started server. Roles and databases can only be managed while it runs. */
export interface HostedInstance {
  /** Unset attributes default as on the real service (all for superusers, none otherwise). */
  createRole(name: string, kind: RoleKind, options: { superuser: boolean; attributes?: Partial<RoleAttributes> }): Promise<void>;
  dropRole(name: string, options?: { reassignOwnedTo?: string }): Promise<void>;
  listRoles(): Promise<InstanceRole[]>;
  createDatabase(name: string): Promise<void>;
  databaseExists(name: string): Promise<boolean>;
  /**
   * node-postgres settings for the emulator's own connection to `database` (as its superuser, on
   * the server's private socket, never through the login gateway): how synced tables write rows.
   */
  adminConnection(database: string): { host: string; port: number; user: string; database: string; application_name: string };
  /** Afterwards, connections are refused; the data stays for the next start. */
  stop(): Promise<void>;
}

/** Decides whether a Postgres login may proceed: `user` is the role, `password` the token. */
export type PasswordCheck = (user: string, password: string) => Promise<boolean>;

/**
 * How a started server is doing after it crashed on its own: being restarted (`attempt` of
 * `attempts`), running again, or down for good because every restart failed. `cause` says how it
 * went down (`stopped unexpectedly (killed by SIGKILL)`), `lastError` why the last restart failed.
 */
export type ServerHealth =
  | { state: 'restarting'; cause: string; attempt: number; attempts: number; lastError?: string }
  | { state: 'recovered'; cause: string; attempts: number }
  | { state: 'failed'; cause: string; attempts: number; lastError: string };

export interface InstanceHosting {
  /** PEM file of the CA that signs every instance's server certificate. */
  readonly caCertPath: string;
  /** A loopback endpoint for a new instance, its address not among `inUse`. */
  allocateEndpoint(inUse: ReadonlySet<string>): Promise<InstanceEndpoint>;
  /**
   * Starts (first time: creates) the instance's server. Rejects with `HostingError` on failure.
   * Once started, the server is supervised: if it dies on its own it is restarted, and `onHealth`
   * hears how that goes.
   */
  start(placement: InstancePlacement, checkPassword: PasswordCheck, onHealth?: (health: ServerHealth) => void): Promise<HostedInstance>;
  /** Deletes a stopped instance's data. */
  destroy(placement: InstancePlacement): Promise<void>;
}

export type HostingErrorCode =
  | 'ADDRESS_IN_USE'
  | 'START_FAILED'
  | 'ROLE_EXISTS'
  | 'ROLE_NOT_FOUND'
  | 'ROLE_IN_USE'
  | 'DATABASE_EXISTS'
  | 'INVALID_NAME'
  | 'FAILED';

/** A server-side failure the registry can act on (e.g. pick another address) or map to the API. */
export class HostingError extends Error {
  override readonly name = 'HostingError';
  constructor(readonly code: HostingErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
