// Lakebase Autoscaling (`/api/2.0/postgres`): the real service's name rules, limits and defaults,
// as data (as `limits.ts` keeps the Provisioned ones). Sources: the Python SDK 0.133
// `databricks/sdk/service/postgres.py` (field docs), the Databricks CLI's fake workspace
// `libs/testserver/postgres.go` (defaults "the real API materializes on create", verified errors)
// and docs.databricks.com/oltp/projects (databricks-apis.md §4).

/**
 * Project, branch and endpoint ids: "1-63 characters long, start with a lowercase letter, and
 * contain only lowercase letters, numbers, and hyphens" (postgres.py, create_project).
 */
export const RESOURCE_ID = {
  pattern: /^[a-z][a-z0-9-]{0,62}$/,
  rule: '1-63 characters: lowercase letters, digits and hyphens, starting with a letter',
} as const;

/** Role and database ids: "4-63 characters ... RFC 1123" (postgres.py; fake server's roleIDPattern). */
export const CHILD_ID = {
  pattern: /^[a-z][a-z0-9-]{3,62}$/,
  rule: '4-63 characters, start with a lowercase letter, and contain only lowercase letters, numbers and hyphens (RFC 1123)',
} as const;

/** What a new project gets without being asked (fake server: "Backend defaults"). */
export const PROJECT_DEFAULTS = {
  /** 7 days. */
  historyRetentionSeconds: 604_800,
  /** 1 day. */
  suspendTimeoutSeconds: 86_400,
  minCu: 1,
  maxCu: 1,
  /** 8 TiB. */
  branchLogicalSizeLimitBytes: 8_796_093_022_208,
  /** The first branch and its read-write endpoint. */
  branchId: 'production',
  endpointId: 'primary',
  /** `initial_database_spec.postgres_database` default. */
  database: 'databricks_postgres',
  /** The emulator runs PostgreSQL 18; the real service offers 16 and 17 (`pg_version` is an int). */
  acceptedPgVersions: [16, 17, 18],
} as const;

/** `history_retention_duration`: 2 to 35 days (databricks-apis.md §4.2). */
export const HISTORY_RETENTION_SECONDS = { min: 172_800, max: 3_024_000 } as const;

/**
 * Compute units of an endpoint: at least 0.5, at most 64, and the autoscaling range (max - min)
 * at most 16 (databricks-apis.md §4.2, docs "Autoscaling").
 */
export const COMPUTE_UNITS = { min: 0.5, max: 64, maxSpread: 16 } as const;

/**
 * `suspend_timeout_duration`: 60 s to 7 days. The emulator can be started with a lower floor
 * (`minSuspendTimeoutSeconds`) so tests and demos see an endpoint scale to zero in seconds.
 */
export const SUSPEND_TIMEOUT_SECONDS = { min: 60, max: 604_800 } as const;

/** Credentials: `ttl` 300 s to 3600 s (postgres.py, generate_database_credential). */
export const CREDENTIAL_TTL_SECONDS = { min: 300, max: 3600 } as const;

/** Soft-deleted projects and branches can be undeleted for this long (then purged). */
export const SOFT_DELETE_RETENTION_SECONDS = 7 * 86_400;

/**
 * `update_mask` paths each update accepts, as the fake server lists them "as probed against the
 * real API": the members of a oneof are masked together under its group name (`spec.suspension`,
 * `spec.expiration`) and their own names are refused.
 */
export const UPDATE_MASK_PATHS = {
  project: [
    'spec',
    'spec.display_name',
    'spec.history_retention_duration',
    'spec.default_endpoint_settings',
    'spec.default_endpoint_settings.autoscaling_limit_min_cu',
    'spec.default_endpoint_settings.autoscaling_limit_max_cu',
    'spec.default_endpoint_settings.suspension',
    'spec.default_endpoint_settings.pg_settings',
    'spec.default_branch',
    'spec.custom_tags',
    'spec.budget_policy_id',
    'spec.enable_pg_native_login',
  ],
  branch: ['spec', 'spec.is_protected', 'spec.expiration'],
  endpoint: [
    'spec',
    'spec.autoscaling_limit_min_cu',
    'spec.autoscaling_limit_max_cu',
    'spec.disabled',
    'spec.suspension',
    'spec.settings.pg_settings',
    'spec.group.min',
    'spec.group.max',
    'spec.group.enable_readable_secondaries',
  ],
  role: ['spec', 'spec.attributes', 'spec.membership_roles', 'spec.auth_method', 'spec.identity_type', 'spec.postgres_role'],
  database: ['spec', 'spec.postgres_database', 'spec.role'],
} as const;

/** Long-running operations' metadata `@type`s, by resource kind (fake server, createOperationLocked). */
export const OPERATION_METADATA_TYPE = (kind: 'Project' | 'Branch' | 'Endpoint' | 'Role' | 'Database') =>
  `type.googleapis.com/databricks.postgres.v1.${kind}OperationMetadata`;
/** The `response` of a finished delete: protobuf's Empty (the Python SDK's waiter needs a response). */
export const EMPTY_RESPONSE = { '@type': 'type.googleapis.com/google.protobuf.Empty' } as const;
