// The catalogue of errors the emulator answers with, as the real service spells them (as Azurite
// keeps a catalogue of the storage service's errors). Wire format: HTTP status plus
// `{"error_code", "message", "details"}`. Every `details` entry carries a `metadata` object: the JS
// SDK (`apierr.js`) turns each entry's `metadata` into a Map and, when one is missing, throws while
// parsing and reports a generic "Response from server" error instead of the real code.

/** Error codes by HTTP status, as listed for the Databricks REST API. */
export const ERROR_STATUS = {
  INVALID_PARAMETER_VALUE: 400,
  INVALID_STATE: 400,
  BAD_REQUEST: 400,
  MALFORMED_REQUEST: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  RESOURCE_DOES_NOT_EXIST: 404,
  ENDPOINT_NOT_FOUND: 404,
  /** The Autoscaling API (`/api/2.0/postgres`) says NOT_FOUND and ALREADY_EXISTS (CLI fake server, postgres.go). */
  NOT_FOUND: 404,
  RESOURCE_ALREADY_EXISTS: 409,
  ALREADY_EXISTS: 409,
  // Unity Catalog's own codes (/api/2.1/unity-catalog): the SDKs map them by HTTP status.
  CATALOG_DOES_NOT_EXIST: 404,
  SCHEMA_DOES_NOT_EXIST: 404,
  TABLE_DOES_NOT_EXIST: 404,
  CATALOG_ALREADY_EXISTS: 409,
  SCHEMA_ALREADY_EXISTS: 409,
  TABLE_ALREADY_EXISTS: 409,
  SCHEMA_NOT_EMPTY: 400,
  RESOURCE_CONFLICT: 409,
  INTERNAL_ERROR: 500,
  NOT_IMPLEMENTED: 501,
  TEMPORARILY_UNAVAILABLE: 503,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

/** One `google.rpc.ErrorInfo` detail; metadata values are strings (a proto `map<string,string>`). */
export interface ErrorInfoDetail {
  '@type': 'type.googleapis.com/google.rpc.ErrorInfo';
  reason: string;
  domain: string;
  metadata: Record<string, string>;
}

export interface ErrorBody {
  error_code: ErrorCode;
  message: string;
  details: ErrorInfoDetail[];
}

const DOMAIN = 'lakebase-emulator';

/** An error the API answers with. Thrown by handlers, rendered once by the HTTP layer. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly metadata: Record<string, string>;
  /** The ErrorInfo `reason`; the code unless the real service says otherwise (e.g. RESOURCE_CONFLICT). */
  readonly reason: string;

  constructor(code: ErrorCode, message: string, metadata: Record<string, string> = {}, options?: { cause?: unknown; reason?: string }) {
    super(message, options);
    this.name = 'ApiError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.metadata = metadata;
    this.reason = options?.reason ?? code;
  }

  toBody(): ErrorBody {
    return {
      error_code: this.code,
      message: this.message,
      details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: this.reason, domain: DOMAIN, metadata: this.metadata }],
    };
  }
}

// The named errors. Messages say what is wrong and, where the user can act, what to do.
export const errors = {
  // 401: the texts of the real workspace for a missing and for a bad bearer.
  credentialMissing: () =>
    new ApiError('UNAUTHENTICATED', 'Credential was not sent or was of an unsupported type for this API.'),
  invalidAccessToken: () => new ApiError('UNAUTHENTICATED', 'Invalid access token.'),

  endpointNotFound: (method: string, path: string) =>
    new ApiError('ENDPOINT_NOT_FOUND', `No API found for '${method} ${path}'`, { method, path }),
  notImplemented: (what: string, metadata: Record<string, string> = {}) =>
    new ApiError('NOT_IMPLEMENTED', `${what} is not supported by the Lakebase emulator yet.`, metadata),
  syncedTablesNotSupported: () =>
    new ApiError(
      'NOT_IMPLEMENTED',
      'Synced tables are not supported by the Lakebase emulator yet: they need a Delta source and a pipeline, which the emulator does not run.',
      { feature: 'synced_tables' },
    ),
  unimplementedOnRealService: (what: string) =>
    new ApiError('NOT_IMPLEMENTED', `${what} is currently unimplemented (as on the real service).`),

  malformedBody: (reason: string) =>
    new ApiError('MALFORMED_REQUEST', `Invalid JSON given in the body of the request - ${reason}`),
  unknownField: (field: string, where: string) =>
    new ApiError('INVALID_PARAMETER_VALUE', `Unknown field '${field}' in ${where} (the emulator refuses fields it does not know rather than ignoring them).`, { field }),
  invalidParameter: (field: string, message: string) =>
    new ApiError('INVALID_PARAMETER_VALUE', message, { field }),
  missingParameter: (field: string) =>
    new ApiError('INVALID_PARAMETER_VALUE', `Missing required field: ${field}`, { field }),

  instanceNotFound: (name: string) =>
    new ApiError('RESOURCE_DOES_NOT_EXIST', `Database instance '${name}' does not exist.`, { instance_name: name }),
  instanceUidNotFound: (uid: string) =>
    new ApiError('RESOURCE_DOES_NOT_EXIST', `No database instance with uid '${uid}' exists.`, { uid }),
  instanceExists: (name: string) =>
    new ApiError('RESOURCE_ALREADY_EXISTS', `Database instance with name '${name}' already exists.`, { instance_name: name }),
  instanceNotAvailable: (name: string, state: string, action: string) =>
    new ApiError(
      'INVALID_STATE',
      `Database instance '${name}' is in state ${state}; ${action} needs it to be AVAILABLE.` +
        (state === 'STOPPED' ? ` Start it with PATCH /api/2.0/database/instances/${name}?update_mask=stopped and {"stopped": false}.` : ''),
      { instance_name: name, state },
    ),
  instanceBusy: (name: string, state: string) =>
    new ApiError('INVALID_STATE', `Database instance '${name}' is in state ${state} and cannot be updated now; wait until it is AVAILABLE or STOPPED.`, { instance_name: name, state }),
  instanceDeleting: (name: string) =>
    new ApiError('INVALID_STATE', `Database instance '${name}' is being deleted.`, { instance_name: name, state: 'DELETING' }),

  instanceHasChildren: (name: string, children: readonly string[]) =>
    new ApiError(
      'INVALID_STATE',
      `Database instance '${name}' has child instances (${children.join(', ')}); delete them first, or delete with force=true to delete them too.`,
      { instance_name: name },
    ),
  noSecondary: (name: string) =>
    new ApiError(
      'INVALID_STATE',
      `Database instance '${name}' has no secondary to fail over to: its node_count is 1. Set node_count to 2 or 3 first.`,
      { instance_name: name },
    ),
  outsideRetentionWindow: (parent: string, point: string, days: number, earliest: string) =>
    new ApiError(
      'INVALID_PARAMETER_VALUE',
      `The requested point ${point} is outside the retention window of database instance '${parent}' (${days} days): the earliest restorable point is ${earliest}.`,
      { instance_name: parent, field: 'parent_instance_ref' },
    ),
  branchTimeInFuture: (parent: string, time: Date) =>
    new ApiError(
      'INVALID_PARAMETER_VALUE',
      `branch_time ${time.toISOString()} is in the future; a child of database instance '${parent}' can only be made as of a past time.`,
      { instance_name: parent, field: 'parent_instance_ref.branch_time' },
    ),

  catalogNotFound: (name: string) =>
    new ApiError('RESOURCE_DOES_NOT_EXIST', `Catalog '${name}' does not exist.`, { catalog_name: name }),
  catalogExists: (name: string) =>
    new ApiError('RESOURCE_ALREADY_EXISTS', `Catalog '${name}' already exists.`, { catalog_name: name }),
  databaseNotFound: (database: string, instance: string) =>
    new ApiError(
      'INVALID_PARAMETER_VALUE',
      `Database '${database}' does not exist in database instance '${instance}'. Set create_database_if_not_exists to create it.`,
      { database_name: database, instance_name: instance },
    ),
  tableNotFound: (name: string) =>
    new ApiError('RESOURCE_DOES_NOT_EXIST', `Table '${name}' does not exist.`, { table_name: name }),
  postgresTableNotFound: (table: string, database: string, instance: string) =>
    new ApiError(
      'RESOURCE_DOES_NOT_EXIST',
      `Table ${table} does not exist in database '${database}' of database instance '${instance}'. Create it in Postgres first; registering a table does not create it.`,
      { table_name: table, database_name: database, instance_name: instance },
    ),
  tableExists: (name: string) =>
    new ApiError('RESOURCE_ALREADY_EXISTS', `Table '${name}' already exists.`, { table_name: name }),

  roleNotFound: (role: string, instance: string) =>
    new ApiError('RESOURCE_DOES_NOT_EXIST', `Role '${role}' does not exist in database instance '${instance}'.`, { role_name: role, instance_name: instance }),
  roleExists: (role: string, instance: string) =>
    new ApiError('RESOURCE_ALREADY_EXISTS', `Role '${role}' already exists in database instance '${instance}'.`, { role_name: role, instance_name: instance }),
  identityNotFound: (name: string, kind: string) =>
    new ApiError('RESOURCE_DOES_NOT_EXIST', `No ${kind} named '${name}' exists in this workspace.`, { identity: name, identity_type: kind }),

  internal: (cause: unknown) =>
    new ApiError('INTERNAL_ERROR', 'The emulator failed to handle the request; see its log for details.', {}, { cause }),
} as const;

/** Errors of the OAuth token endpoint use the OAuth 2.0 format (RFC 6749 §5.2), not the above. */
export interface OAuthErrorBody {
  error: 'invalid_request' | 'invalid_client' | 'unsupported_grant_type' | 'invalid_scope';
  error_description: string;
}
