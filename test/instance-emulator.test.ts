// Connecting to instances by name against the real local emulator: the SDK, real PostgreSQL
// servers with TLS, tokens that are checked at login. Each failure a user can hit is provoked for
// real and must come back with its stable code and a next step.
import { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createRefresherRegistry, RefresherRegistry } from '../lakebase/credentials';
import { LakebaseError } from '../lakebase/errors';
import { connectInstance, InstanceConnectOptions } from '../lakebase/instance';
import { grantInstancePermission } from '../lakebase/permissions';
import type { Workspace } from '../lakebase/workspace';
import { startTestEmulator, TestEmulator } from './support/emulator-workspace';

let emulator: TestEmulator;
let user: Workspace;
let refreshers: RefresherRegistry;

beforeAll(async () => {
  emulator = await startTestEmulator();
  user = await emulator.userWorkspace();
  refreshers = createRefresherRegistry();
  await user.createInstance({ name: 'orders', capacity: 'CU_1' });
});
afterAll(async () => {
  refreshers?.stopAll();
  await emulator?.stop();
});

function connect(options: Partial<InstanceConnectOptions> = {}) {
  return connectInstance({
    instance: 'orders',
    workspace: user,
    env: {},
    sslRootCert: emulator.current.caCertPath,
    refreshers,
    ...options,
  });
}

async function failure(promise: Promise<unknown>): Promise<LakebaseError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(LakebaseError);
  return error as LakebaseError;
}

test('connects over verified TLS as the workspace user and runs queries on a pool', async () => {
  const connection = await connect();
  expect(connection.sslmode).toBe('verify-full');
  expect(connection.user).toBe(emulator.current.user.userName);
  expect(connection.database).toBe('databricks_postgres');
  expect(connection.description).toBe(`${emulator.current.user.userName}@${connection.host}:5432/databricks_postgres`);
  const pool = connection.createPool({ max: 2 });
  try {
    const client = await pool.connect();
    try {
      const { rows } = await client.query<{ user: string; db: string }>('SELECT current_user AS user, current_database() AS db');
      expect(rows).toEqual([{ user: emulator.current.user.userName, db: 'databricks_postgres' }]);
      // TLS as the client sees it: the instance's login gateway ends TLS, so pg_stat_ssl cannot tell.
      expect((client as unknown as { connection: { stream: unknown } }).connection.stream).toBeInstanceOf(TLSSocket);
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
  }
  expect(connection.refresher.status()).toMatchObject({
    identity: emulator.current.user.userName,
    instanceNames: ['orders'],
    tokensMinted: 1,
    consecutiveFailures: 0,
  });
});

test('connections of one identity share one refresher, whose tokens cover every instance', async () => {
  await user.createInstance({ name: 'reports', capacity: 'CU_1' });
  const orders = await connect();
  const reports = await connect({ instance: 'reports' });
  expect(reports.refresher).toBe(orders.refresher);
  expect(reports.refresher.status().instanceNames).toEqual(['orders', 'reports']);
  // The token minted for both still logs in to the first one.
  const pool = orders.createPool({ max: 1 });
  try {
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  } finally {
    await pool.end();
  }
});

test('a stopped instance is refused before any login, with how to start it', async () => {
  await user.createInstance({ name: 'archive', capacity: 'CU_1' });
  await user.stopInstance('archive');
  const error = await failure(connect({ instance: 'archive' }));
  expect(error.code).toBe('INSTANCE_STOPPED');
  expect(error.hint).toContain('`%lakebase instance start archive` (or `databricks database update-database-instance archive stopped --stopped=false`)');
  // ... and after starting it, the same call works.
  await user.startInstance('archive');
  const connection = await connect({ instance: 'archive' });
  expect(connection.instance.state).toBe('AVAILABLE');
});

test('an instance that does not exist is INSTANCE_NOT_FOUND with how to list them', async () => {
  const error = await failure(connect({ instance: 'no-such-instance' }));
  expect(error.code).toBe('INSTANCE_NOT_FOUND');
  expect(error.message).toContain('no-such-instance');
  expect(error.hint).toContain('`%lakebase instance list` (or `databricks database list-database-instances`)');
});

test('a second identity without a role gets ROLE_MISSING, and connects once the role exists', async () => {
  const principal = await emulator.servicePrincipalWorkspace();
  const applicationId = emulator.current.servicePrincipal.applicationId;
  expect(await principal.identity()).toEqual({ name: applicationId, kind: 'service-principal' });
  // Without permission on the instance it cannot even look it up.
  expect((await failure(connect({ workspace: principal }))).code).toBe('WORKSPACE_PERMISSION_DENIED');
  await grantInstancePermission(user, 'orders', { service_principal_name: applicationId }, 'CAN_USE');
  const error = await failure(connect({ workspace: principal }));
  expect(error.code).toBe('ROLE_MISSING');
  expect(error.message).toContain(applicationId);
  expect(error.hint).toContain(`"name": "${applicationId}", "identity_type": "SERVICE_PRINCIPAL"`);

  await user.createRole('orders', { name: applicationId, identity_type: 'SERVICE_PRINCIPAL' });
  const connection = await connect({ workspace: principal });
  const pool = connection.createPool({ max: 1 });
  try {
    expect((await pool.query('SELECT current_user AS user')).rows).toEqual([{ user: applicationId }]);
  } finally {
    await pool.end();
  }
});

test("logging in as another identity than the token's is WRONG_IDENTITY", async () => {
  const error = await failure(connect({ user: emulator.current.servicePrincipal.applicationId }));
  expect(error.code).toBe('WRONG_IDENTITY');
  expect(error.message).toContain(`belongs to ${emulator.current.user.userName}`);
});

test('plain-text connections are refused as TLS_REQUIRED', async () => {
  const error = await failure(connect({ sslmode: 'disable' }));
  expect(error.code).toBe('TLS_REQUIRED');
});

test('a certificate that the trusted CAs did not sign is TLS_VERIFY_FAILED; an unreadable CA file says so', async () => {
  const untrusted = await failure(connect({ sslRootCert: 'system', sslmode: 'verify-full' }));
  expect(untrusted.code).toBe('TLS_VERIFY_FAILED');
  expect(untrusted.hint).toContain('PGSSLROOTCERT');
  const unreadable = await failure(connect({ sslRootCert: '/nonexistent/ca.pem' }));
  expect(unreadable.code).toBe('TLS_ROOT_CERT_UNREADABLE');
});

test('a database that does not exist is DATABASE_MISSING', async () => {
  const error = await failure(connect({ database: 'no_such_database' }));
  expect(error.code).toBe('DATABASE_MISSING');
});

test('a pool reports login failures in the same words', async () => {
  const connection = await connect({ verify: false, user: emulator.current.servicePrincipal.applicationId });
  const pool = connection.createPool({ max: 1 });
  try {
    const error = await failure(pool.query('SELECT 1'));
    expect(error.code).toBe('WRONG_IDENTITY');
  } finally {
    await pool.end();
  }
});
