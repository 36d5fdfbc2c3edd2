// Inside a Databricks App: only the variables an app's database resource sets (PGHOST, PGUSER,
// PGDATABASE, DATABRICKS_HOST, DATABRICKS_CLIENT_ID/SECRET; no PGPASSWORD). The instance is found
// by its host and the app logs in as its service principal with M2M-minted tokens.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { connectFromAppEnvironment, isDatabricksAppEnvironment } from '../lakebase/apps';
import { createRefresherRegistry, RefresherRegistry } from '../lakebase/credentials';
import { grantInstancePermission } from '../lakebase/permissions';
import type { DatabaseInstance } from '../lakebase/workspace';
import { startTestEmulator, TestEmulator } from './support/emulator-workspace';

let emulator: TestEmulator;
let refreshers: RefresherRegistry;
let instance: DatabaseInstance;

beforeAll(async () => {
  emulator = await startTestEmulator();
  const user = await emulator.userWorkspace();
  instance = await user.createInstance({ name: 'app-db', capacity: 'CU_1' });
  // What granting the app's resource CAN_CONNECT_AND_CREATE does: permission to use the instance
  // and a role for its principal.
  await grantInstancePermission(user, 'app-db', { service_principal_name: emulator.current.servicePrincipal.applicationId }, 'CAN_USE');
  await user.createRole('app-db', { name: emulator.current.servicePrincipal.applicationId, identity_type: 'SERVICE_PRINCIPAL' });
  refreshers = createRefresherRegistry();
});
afterAll(async () => {
  refreshers?.stopAll();
  await emulator?.stop();
});

function appEnvironment(): NodeJS.ProcessEnv {
  return {
    PGHOST: instance.read_write_dns,
    PGPORT: '5432',
    PGDATABASE: 'databricks_postgres',
    PGUSER: emulator.current.servicePrincipal.applicationId,
    PGSSLMODE: 'require',
    PGAPPNAME: 'my-app',
    DATABRICKS_HOST: emulator.current.host,
    DATABRICKS_CLIENT_ID: emulator.current.servicePrincipal.applicationId,
    DATABRICKS_CLIENT_SECRET: emulator.current.servicePrincipal.clientSecret,
    // Not set by Apps; trusting the emulator's CA turns `require` into a verified connection.
    PGSSLROOTCERT: emulator.current.caCertPath,
  };
}

test('an app environment is recognized by its variables, and not when PGPASSWORD is set', () => {
  expect(isDatabricksAppEnvironment(appEnvironment())).toBe(true);
  expect(isDatabricksAppEnvironment({ ...appEnvironment(), PGPASSWORD: 'x' })).toBe(false);
  expect(isDatabricksAppEnvironment({ PGHOST: 'localhost', PGUSER: 'me' })).toBe(false);
});

test('connects with no arguments to the instance whose host is PGHOST, as the service principal', async () => {
  const connection = await connectFromAppEnvironment({ env: appEnvironment(), refreshers });
  expect(connection.instanceName).toBe('app-db');
  expect(connection.refresher.identity).toBe(emulator.current.servicePrincipal.applicationId);
  const pool = connection.createPool({ max: 1 });
  try {
    const { rows } = await pool.query('SELECT current_user AS user, current_database() AS db');
    expect(rows).toEqual([{ user: emulator.current.servicePrincipal.applicationId, db: 'databricks_postgres' }]);
  } finally {
    await pool.end();
  }
});

test('a PGHOST that no instance has is APP_INSTANCE_NOT_FOUND', async () => {
  const env = { ...appEnvironment(), PGHOST: 'instance-unknown.database.example.test' };
  await expect(connectFromAppEnvironment({ env, refreshers })).rejects.toMatchObject({ code: 'APP_INSTANCE_NOT_FOUND' });
});
