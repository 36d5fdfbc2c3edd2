// The seam between the REST layer and the servers that host instances. The registry
// (`instances.ts`) asks for servers through this interface only; `postgres-hosting.ts` implements
// it with real PostgreSQL servers (`emulator/postgres/`), and nothing else in the REST layer knows
// how a server is run.

/** Whose role it is: a Databricks identity's, or PG_ONLY (no identity; no token opens it). */
export type RoleKind = 'USER' | 'SERVICE_PRINCIPAL' | 'GROUP' | 'PG_ONLY';

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

/** The readable secondary of an instance with `node_count` ≥ 2: where it listens. */
export interface SecondaryPlacement extends InstanceEndpoint {
  /** Whether clients may log in there (`enable_readable_secondaries`, which gives `read_only_dns`). */
  readable: boolean;
}

/** Where a copy of an instance stops: now, a time or an LSN (`parent_instance_ref`). */
export type CopyPoint = { kind: 'latest' } | { kind: 'time'; time: Date } | { kind: 'lsn'; lsn: string };

/** A started server (and its secondary). Roles and databases can only be managed while it runs. */
export interface HostedInstance {
  /** Unset attributes default as on the real service (all for superusers, none otherwise). */
  createRole(name: string, kind: RoleKind, options: { superuser: boolean; attributes?: Partial<RoleAttributes> }): Promise<void>;
  /** Changes attributes and the databricks_superuser membership. */
  updateRole(name: string, changes: { superuser?: boolean; attributes?: Partial<RoleAttributes> }): Promise<void>;
  dropRole(name: string, options?: { reassignOwnedTo?: string }): Promise<void>;
  listRoles(): Promise<InstanceRole[]>;
  createDatabase(name: string): Promise<void>;
  databaseExists(name: string): Promise<boolean>;
  /**
   * node-postgres settings for the emulator's own connection to `database` (as its superuser, on
   * the server's private socket, never through the login gateway): how synced tables write rows.
   */
  adminConnection(database: string): { host: string; port: number; user: string; database: string; application_name: string };
  /** Whether `schema.table` (a table, view or materialized view) exists in `database`. */
  relationExists(database: string, schema: string, table: string): Promise<boolean>;
  /**
   * Whether `password` is the role's own PostgreSQL password (native login, for PG_ONLY roles
   * with `enable_pg_native_login`), checked against the SCRAM secret the server keeps.
   */
  checkNativePassword(user: string, password: string): Promise<boolean>;
  /** Starts the secondary (a streaming standby) at `placement`, or stops and removes it. */
  setSecondary(placement: SecondaryPlacement | undefined): Promise<void>;
  /** Promotes the secondary: the primary's address then leads to it, and the old primary follows it. */
  failover(): Promise<void>;
  /** Afterwards, connections are refused; the data stays for the next start. */
  stop(): Promise<void>;
}

/** What a new instance copies (`parent_instance_ref`): its parent, where it lives, and when. */
export interface CopyRequest {
  source: InstancePlacement;
  /** The source's servers while it runs (its latest writes are flushed first); undefined when it is stopped. */
  running: HostedInstance | undefined;
  point: CopyPoint;
  /** How many days back the source keeps history (`retention_window_in_days`). */
  retentionDays: number;
  /** The new instance: its data directory is made here, and `start` then starts it. */
  into: InstancePlacement;
}

/**
 * Decides whether a Postgres login may proceed: `user` is the role, `password` the token. An
 * accepted login may force startup parameters on its session (`PasswordVerdict`).
 */
export type PasswordCheck = (user: string, password: string) => Promise<LoginVerdict>;

/** Refused, accepted, or accepted with parameters forced on the session (a read-only credential's). */
export type LoginVerdict = boolean | { accepted: true; parameters?: Readonly<Record<string, string>> };

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
   * Starts (first time: creates) the instance's server, and its secondary when one is placed.
   * `retentionDays` bounds the history kept for point-in-time copies. Rejects with `HostingError`
   * on failure. Once started, the servers are supervised: if one dies on its own it is restarted,
   * and `onHealth` hears how that goes for the primary.
   */
  start(
    placement: InstancePlacement,
    checkPassword: PasswordCheck,
    onHealth?: (health: ServerHealth) => void,
    options?: { secondary?: SecondaryPlacement; retentionDays?: number },
  ): Promise<HostedInstance>;
  /**
   * Makes the data of a new instance: the source's state at `point`, restored with PostgreSQL's
   * point-in-time recovery. `TARGET_OUTSIDE_RETENTION` / `TARGET_IN_FUTURE` when it cannot be.
   * Returns the LSN the copy branched at.
   */
  copy(request: CopyRequest): Promise<{ lsn: string }>;
  /** The earliest point an instance's history can be copied from (its oldest base backup), if any. */
  earliestRestorable(placement: InstancePlacement): Promise<{ time?: Date; lsn?: string }>;
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
  /** A point-in-time copy was asked for a time or LSN the source's history no longer (or not yet) holds. */
  | 'TARGET_OUTSIDE_RETENTION'
  | 'TARGET_IN_FUTURE'
  /** A failover was asked of an instance without a secondary. */
  | 'NO_SECONDARY'
  | 'FAILED';

/** A server-side failure the registry can act on (e.g. pick another address) or map to the API. */
export class HostingError extends Error {
  override readonly name = 'HostingError';
  constructor(readonly code: HostingErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
