// Contract tests of the workspace REST API, driven through the official JS SDK as every client of
// the emulator drives it. By default against a fresh local emulator; against a real workspace when
// DATABRICKS_HOST and credentials are set (instances are created there only with
// LAKEBASE_TEST_CREATE_INSTANCES=1; emulator-only assertions are skipped).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ApiError, WorkspaceClient } from '@databricks/sdk-experimental';
// The package's index does not re-export the database namespace; its model is the ground truth.
import type * as database from '@databricks/sdk-experimental/dist/apis/database/model';
import { openWorkspaceUnderTest, realWorkspaceConfigured, waitFor } from './support/workspace-under-test';
import type { WorkspaceUnderTest } from './support/workspace-under-test';

const REAL = realWorkspaceConfigured();
const CAN_CREATE = !REAL || process.env.LAKEBASE_TEST_CREATE_INSTANCES === '1';
/** Instance operations take seconds here and minutes on the real service. */
const SLOW = REAL ? 45 * 60_000 : 60_000;
/** Long enough to see STARTING, UPDATING and DELETING between two requests on a busy machine. */
const TRANSITION_DELAY_MS = 1500;

let target: WorkspaceUnderTest;
let sdk: WorkspaceClient;
let me: string;
let instance: string;
let createdResponse: database.DatabaseInstance;
let available: database.DatabaseInstance;
const createdInstances: string[] = [];

async function apiFailure(promise: Promise<unknown>): Promise<ApiError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (outcome instanceof ApiError) return outcome;
  throw new Error(`expected an ApiError, got ${outcome === undefined ? 'success' : String(outcome)}`);
}

async function createInstance(name: string, fields: Partial<database.DatabaseInstance> = {}) {
  createdInstances.push(name);
  return sdk.database.createDatabaseInstance({ database_instance: { name, capacity: 'CU_1', ...fields } });
}

function patch(name: string, mask: string, fields: Record<string, unknown>) {
  return target.request('PATCH', `/api/2.0/database/instances/${name}?update_mask=${encodeURIComponent(mask)}`, { name, ...fields });
}

function getInstance(name: string) {
  return sdk.database.getDatabaseInstance({ name });
}

/** Runs SQL on an instance's database as the main identity, over TLS, as any client would. */
async function runSql(name: string, database: string, sql: string): Promise<void> {
  const found = await getInstance(name);
  const { token } = await sdk.database.generateDatabaseCredential({ request_id: randomUUID(), instance_names: [name] });
  const client = new pg.Client({
    host: found.read_write_dns,
    port: Number((found as unknown as Record<string, unknown>).emulator_read_write_port ?? 5432),
    user: me,
    password: token,
    database,
    ssl: target.emulator ? { ca: readFileSync(target.emulator.caCertPath, 'utf8') } : { rejectUnauthorized: true },
  });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  target = await openWorkspaceUnderTest({ transitionDelayMs: TRANSITION_DELAY_MS });
  sdk = target.client;
  me = (await sdk.currentUser.me()).userName ?? '';
  if (CAN_CREATE) {
    instance = target.uniqueName('contract');
    const waiter = await createInstance(instance);
    createdResponse = { ...waiter } as database.DatabaseInstance;
    available = await waiter.wait();
  }
}, SLOW);

afterAll(async () => {
  if (!target) return;
  for (const name of createdInstances) {
    // Instances left behind on a real workspace cost money: delete every one, report failures.
    await sdk.database.deleteDatabaseInstance({ name }).catch((error: unknown) => {
      if (!(error instanceof ApiError && error.errorCode === 'RESOURCE_DOES_NOT_EXIST')) console.error(`could not delete instance ${name}:`, error);
    });
  }
  await target.stop();
}, SLOW);

describe('authentication', () => {
  test('a request without a bearer is refused with 401', async () => {
    const response = await fetch(`${target.host}/api/2.0/database/instances`);
    expect(response.status).toBe(401);
    const body = (await response.json()) as Record<string, unknown>;
    if (!REAL) {
      expect(body.error_code).toBe('UNAUTHENTICATED');
      expect(body.message).toBe('Credential was not sent or was of an unsupported type for this API.');
    }
  });

  test('a token that is not one of the workspace is refused as an ApiError', async () => {
    const stranger = new WorkspaceClient({ host: target.host, token: 'dapi' + '0'.repeat(32), authType: 'pat' });
    const error = await apiFailure(stranger.database.getDatabaseInstance({ name: 'anything' }));
    expect([401, 403]).toContain(error.statusCode);
    if (!REAL) {
      expect(error.statusCode).toBe(401);
      expect(error.errorCode).toBe('UNAUTHENTICATED');
      expect(error.message).toBe('Invalid access token.');
    }
  });

  test('SCIM Me names the user behind the token', async () => {
    expect(me).not.toBe('');
    if (target.emulator) expect(me).toBe(target.emulator.user.userName);
  });

  test('OAuth M2M through the SDK: the service principal is known by its application id', async () => {
    if (!target.servicePrincipal) return;
    const { clientId, clientSecret } = target.servicePrincipal;
    const m2m = new WorkspaceClient({ host: target.host, clientId, clientSecret, authType: 'oauth-m2m' });
    const principal = await m2m.currentUser.me();
    expect(principal.userName).toBe(clientId);
    const names: string[] = [];
    if (CAN_CREATE) {
      // Another identity sees an instance once it holds a permission on it.
      const granted = await target.request('PATCH', `/api/2.0/permissions/database-instances/${instance}`, {
        access_control_list: [{ service_principal_name: clientId, permission_level: 'CAN_USE' }],
      });
      expect(granted.status).toBe(200);
    }
    for await (const listed of m2m.database.listDatabaseInstances({})) names.push(listed.name);
    if (CAN_CREATE) expect(names).toContain(instance);
  });

  test('OAuth discovery names the token endpoint, which issues bearers for client credentials', async () => {
    const discovery = (await (await fetch(`${target.host}/oidc/.well-known/oauth-authorization-server`)).json()) as Record<string, string>;
    expect(discovery.token_endpoint).toBe(`${target.host}/oidc/v1/token`);
    expect(typeof discovery.authorization_endpoint).toBe('string');
    if (!target.servicePrincipal) return;
    const { clientId, clientSecret } = target.servicePrincipal;
    // client_secret_post: credentials in the form instead of HTTP Basic.
    const form = new URLSearchParams({ grant_type: 'client_credentials', scope: 'all-apis', client_id: clientId, client_secret: clientSecret });
    const granted = await fetch(discovery.token_endpoint, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form });
    expect(granted.status).toBe(200);
    const token = (await granted.json()) as Record<string, unknown>;
    expect(token.token_type).toBe('Bearer');
    expect(token.expires_in).toBeGreaterThan(0);
    const meResponse = await fetch(`${target.host}/api/2.0/preview/scim/v2/Me`, { headers: { Authorization: `Bearer ${String(token.access_token)}` } });
    expect(((await meResponse.json()) as Record<string, unknown>).userName).toBe(clientId);

    const wrongSecret = new URLSearchParams({ grant_type: 'client_credentials', scope: 'all-apis', client_id: clientId, client_secret: 'dose' + '0'.repeat(32) });
    const refused = await fetch(discovery.token_endpoint, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: wrongSecret });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as Record<string, unknown>).error).toBe('invalid_client');
  });

  test.skipIf(REAL)('the token endpoint refuses grants other than client_credentials', async () => {
    const response = await fetch(`${target.host}/oidc/v1/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', username: 'someone', password: 'something' }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as Record<string, unknown>).error).toBe('unsupported_grant_type');
  });
});

describe.skipIf(!CAN_CREATE)('instances', () => {
  test('create answers STARTING with the new instance; the waiter ends at AVAILABLE', () => {
    expect(createdResponse.name).toBe(instance);
    expect(createdResponse.state).toBe('STARTING');
    expect(createdResponse.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(createdResponse.creator).toBe(me);
    expect(Number.isNaN(Date.parse(createdResponse.creation_time ?? ''))).toBe(false);
    expect(available.state).toBe('AVAILABLE');
    expect(available.uid).toBe(createdResponse.uid);
    expect(available.effective_stopped).toBe(false);
    expect(available.effective_capacity).toBe('CU_1');
    expect(available.effective_retention_window_in_days).toBe(7);
    expect(available.read_write_dns).toBeTruthy();
    if (!REAL) {
      // A loopback address of its own, reachable on port 5432 (see emulator/postgres/addresses.ts).
      expect(available.read_write_dns).toMatch(/^127\.0\.\d+\.\d+$/);
      expect(available.pg_version).toBe('PG_VERSION_18');
    }
  });

  test('get and findByUid return the same instance', async () => {
    const byName = await getInstance(instance);
    const byUid = await sdk.database.findDatabaseInstanceByUid({ uid: available.uid });
    expect(byName.uid).toBe(available.uid);
    expect(byUid.name).toBe(instance);
    expect(byUid.read_write_dns).toBe(available.read_write_dns);
  });

  test('a missing instance is RESOURCE_DOES_NOT_EXIST (404), by name and by uid', async () => {
    const byName = await apiFailure(getInstance(target.uniqueName('missing')));
    expect(byName.statusCode).toBe(404);
    expect(byName.errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
    const byUid = await apiFailure(sdk.database.findDatabaseInstanceByUid({ uid: randomUUID() }));
    expect(byUid.errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  test('a second instance of the same name is RESOURCE_ALREADY_EXISTS (409)', async () => {
    const error = await apiFailure(sdk.database.createDatabaseInstance({ database_instance: { name: instance, capacity: 'CU_1' } }));
    expect(error.statusCode).toBe(409);
    expect(error.errorCode).toBe('RESOURCE_ALREADY_EXISTS');
  });

  test.each([
    ['a name with an underscore', { name: 'bad_name' }],
    ['a name of 64 characters', { name: 'a'.repeat(64) }],
    ['an unknown capacity', { capacity: 'CU_3' }],
    ['a retention window of 1 day', { retention_window_in_days: 1 }],
    ['a retention window of 36 days', { retention_window_in_days: 36 }],
  ])('%s is INVALID_PARAMETER_VALUE (400)', async (_, fields) => {
    const error = await apiFailure(
      sdk.database.createDatabaseInstance({ database_instance: { name: target.uniqueName('invalid'), capacity: 'CU_1', ...fields } as database.DatabaseInstance }),
    );
    expect(error.statusCode).toBe(400);
    expect(error.errorCode).toBe('INVALID_PARAMETER_VALUE');
  });

  test.skipIf(REAL)('fields the emulator does not know, or features it lacks, fail loudly by name', async () => {
    const unknown = await apiFailure(
      sdk.database.createDatabaseInstance({ database_instance: { name: 'unknown-field', capacity: 'CU_1', colour: 'blue' } as unknown as database.DatabaseInstance }),
    );
    expect(unknown.errorCode).toBe('INVALID_PARAMETER_VALUE');
    expect(unknown.message).toContain("'colour'");
    const secondaries = await apiFailure(
      sdk.database.createDatabaseInstance({ database_instance: { name: 'with-secondaries', capacity: 'CU_1', enable_readable_secondaries: true } }),
    );
    expect(secondaries.statusCode).toBe(400);
    expect(secondaries.errorCode).toBe('INVALID_PARAMETER_VALUE');
    expect(secondaries.message).toContain('node_count');
    const elsewhere = await target.request('POST', `/api/2.0/database/instances/${instance}/failover`, { failover_target_database_instance_name: 'another-instance' });
    expect(elsewhere.status).toBe(501);
    expect(elsewhere.body.error_code).toBe('NOT_IMPLEMENTED');
  });

  test('listing pages through every instance, page_size at a time', async () => {
    if (!REAL) {
      // Two more, so that pages of one have somewhere to go.
      const waiters = await Promise.all([createInstance(target.uniqueName('page')), createInstance(target.uniqueName('page'))]);
      await Promise.all(waiters.map((waiter) => waiter.wait()));
    }
    const viaSdk: string[] = [];
    for await (const listed of sdk.database.listDatabaseInstances({ page_size: 1 })) viaSdk.push(listed.name);
    for (const name of createdInstances.slice(0, REAL ? 1 : 3)) expect(viaSdk).toContain(name);

    const first = await target.request('GET', '/api/2.0/database/instances?page_size=1');
    expect(first.status).toBe(200);
    expect(first.body.database_instances).toHaveLength(1);
    expect(typeof first.body.next_page_token).toBe('string');
    const second = await target.request('GET', `/api/2.0/database/instances?page_size=1&page_token=${encodeURIComponent(String(first.body.next_page_token))}`);
    const [firstName, secondName] = [first.body, second.body].map((page) => (page.database_instances as { name: string }[])[0].name);
    expect(secondName).not.toBe(firstName);
    if (!REAL) {
      const bogus = await target.request('GET', '/api/2.0/database/instances?page_token=not-a-token');
      expect(bogus.status).toBe(400);
      expect(bogus.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    }
  }, SLOW);

  test.skipIf(REAL)("the SDK's update reaches the service without its body, and is refused by name", async () => {
    // @databricks/sdk-experimental 0.17 attaches bodies to POST and PUT only; a PATCH arrives
    // empty. Silently applying an empty `stopped` would start an instance meant to be stopped.
    const error = await apiFailure(
      sdk.database.updateDatabaseInstance({ name: instance, update_mask: 'capacity', database_instance: { name: instance, capacity: 'CU_2' } }),
    );
    expect(error.errorCode).toBe('INVALID_PARAMETER_VALUE');
    expect(error.message).toContain('sdk-experimental 0.17');
    expect((await getInstance(instance)).capacity).toBe('CU_1');
  });

  test('update_mask names only updatable fields with valid values', async () => {
    const immutable = await patch(instance, 'name', {});
    expect(immutable.status).toBe(400);
    const unknown = await patch(instance, 'colour', {});
    expect(unknown.status).toBe(400);
    const outOfRange = await patch(instance, 'retention_window_in_days', { retention_window_in_days: 40 });
    expect(outOfRange.status).toBe(400);
    expect(outOfRange.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    const retention = await patch(instance, 'retention_window_in_days', { retention_window_in_days: 14 });
    expect(retention.status).toBe(200);
    expect((await getInstance(instance)).effective_retention_window_in_days).toBe(14);
  });

  test('resizing passes through UPDATING back to AVAILABLE with the new capacity', async () => {
    const resized = await patch(instance, 'capacity', { capacity: 'CU_2' });
    expect(resized.status).toBe(200);
    expect(resized.body.state).toBe('UPDATING');
    if (!REAL) {
      const busy = await patch(instance, 'stopped', { stopped: true });
      expect(busy.status).toBe(400);
      expect(busy.body.error_code).toBe('INVALID_STATE');
    }
    const done = await waitFor(() => getInstance(instance), (current) => current.state === 'AVAILABLE', 'the resize');
    expect(done.effective_capacity).toBe('CU_2');
  }, SLOW);

  test('stopping ends in STOPPED, where credentials are refused; starting ends in AVAILABLE', async () => {
    const stopping = await patch(instance, 'stopped', { stopped: true });
    expect(stopping.status).toBe(200);
    const stopped = await waitFor(() => getInstance(instance), (current) => current.state === 'STOPPED', 'the stop');
    expect(stopped.effective_stopped).toBe(true);
    const credential = await apiFailure(sdk.database.generateDatabaseCredential({ instance_names: [instance], request_id: randomUUID() }));
    expect(credential.statusCode).toBe(400);
    expect(credential.errorCode).toBe('INVALID_STATE');
    if (!REAL) {
      const roles = await apiFailure(sdk.database.createDatabaseInstanceRole({ instance_name: instance, database_instance_role: { name: me, identity_type: 'USER' } }));
      expect(roles.errorCode).toBe('INVALID_STATE');
    }
    const starting = await patch(instance, 'stopped', { stopped: false });
    expect(starting.status).toBe(200);
    expect(starting.body.state).toBe('STARTING');
    const started = await waitFor(() => getInstance(instance), (current) => current.state === 'AVAILABLE', 'the start');
    expect(started.effective_stopped).toBe(false);
    expect(started.read_write_dns).toBe(available.read_write_dns);
  }, SLOW);

  test('deleting passes through DELETING, refuses updates meanwhile, then the instance is gone', async () => {
    const name = target.uniqueName('deleted');
    await (await createInstance(name)).wait();
    const purgeFalse = await apiFailure(sdk.database.deleteDatabaseInstance({ name, purge: false }));
    expect(purgeFalse.statusCode).toBe(400);
    await sdk.database.deleteDatabaseInstance({ name });
    const deleting = await getInstance(name).then(
      (current) => current.state,
      (error: unknown) => (error instanceof ApiError ? error.errorCode : String(error)),
    );
    if (REAL) {
      expect(['DELETING', 'RESOURCE_DOES_NOT_EXIST']).toContain(deleting);
    } else {
      expect(deleting).toBe('DELETING');
      const update = await patch(name, 'capacity', { capacity: 'CU_2' });
      expect(update.body.error_code).toBe('INVALID_STATE');
    }
    const gone = await waitFor(
      () => getInstance(name).then(() => undefined, (error: unknown) => error),
      (error) => error instanceof ApiError,
      'the deletion',
    );
    expect((gone as ApiError).errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
  }, SLOW);
});

describe.skipIf(!CAN_CREATE)('credentials', () => {
  test('a credential is a token with its expiry', async () => {
    const before = Date.now();
    const credential = await sdk.database.generateDatabaseCredential({ instance_names: [instance], request_id: randomUUID() });
    expect(typeof credential.token).toBe('string');
    expect(credential.token?.length).toBeGreaterThan(20);
    const expiry = Date.parse(credential.expiration_time ?? '');
    expect(expiry).toBeGreaterThan(before);
    if (!REAL) {
      // The default lifetime: one hour, rounded up to a whole second.
      expect(expiry - before).toBeGreaterThanOrEqual(3600_000);
      expect(expiry - before).toBeLessThanOrEqual(3602_000);
    }
  });

  test('a credential for a missing instance is RESOURCE_DOES_NOT_EXIST; for no instance, INVALID_PARAMETER_VALUE', async () => {
    const missing = await apiFailure(sdk.database.generateDatabaseCredential({ instance_names: [target.uniqueName('missing')], request_id: randomUUID() }));
    expect(missing.errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
    if (!REAL) {
      const none = await apiFailure(sdk.database.generateDatabaseCredential({ instance_names: [], request_id: randomUUID() }));
      expect(none.errorCode).toBe('INVALID_PARAMETER_VALUE');
    }
  });
});

describe.skipIf(!CAN_CREATE)('Unity Catalog: database catalogs and tables', () => {
  let catalog: string;

  beforeAll(async () => {
    await waitFor(() => getInstance(instance), (current) => current.state === 'AVAILABLE', 'the instance');
    catalog = target.uniqueName('cat').replace(/-/g, '_');
  }, SLOW);

  test('registering a catalog can create its database; it is found by name; twice is a conflict', async () => {
    const created = await sdk.database.createDatabaseCatalog({
      catalog: { name: catalog, database_instance_name: instance, database_name: 'shop', create_database_if_not_exists: true },
    });
    expect(created).toMatchObject({ name: catalog, database_instance_name: instance, database_name: 'shop' });
    expect(created.uid).toBeTruthy();
    expect(await sdk.database.getDatabaseCatalog({ name: catalog })).toMatchObject({ database_name: 'shop' });
    const again = await apiFailure(
      sdk.database.createDatabaseCatalog({ catalog: { name: catalog, database_instance_name: instance, database_name: 'shop' } }),
    );
    expect(again.errorCode).toBe('RESOURCE_ALREADY_EXISTS');
  });

  test('a catalog for a database that does not exist needs create_database_if_not_exists', async () => {
    const error = await apiFailure(
      sdk.database.createDatabaseCatalog({ catalog: { name: `${catalog}_nodb`, database_instance_name: instance, database_name: 'no_such_database' } }),
    );
    expect(error.statusCode).toBe(400);
  });

  test('a table registered in the catalog takes its instance and database from it; it must exist in Postgres', async () => {
    const name = `${catalog}.public.orders`;
    const missing = await apiFailure(sdk.database.createDatabaseTable({ table: { name } }));
    expect(missing.errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
    await runSql(instance, 'shop', 'CREATE TABLE public.orders (id int PRIMARY KEY)');
    const table = await sdk.database.createDatabaseTable({ table: { name } });
    expect(table).toMatchObject({ name, database_instance_name: instance, logical_database_name: 'shop' });
    expect(await sdk.database.getDatabaseTable({ name })).toMatchObject({ logical_database_name: 'shop' });
    const mismatch = await apiFailure(sdk.database.createDatabaseTable({ table: { name: `${catalog}.public.other`, logical_database_name: 'elsewhere' } }));
    expect(mismatch.errorCode).toBe('INVALID_PARAMETER_VALUE');
    // A credential may be scoped by the tables it is for (claims).
    const credential = await sdk.database.generateDatabaseCredential({ request_id: randomUUID(), claims: [{ resources: [{ table_name: name }] }] });
    expect(credential.token).toBeTruthy();
    await sdk.database.deleteDatabaseTable({ name });
    expect((await apiFailure(sdk.database.getDatabaseTable({ name }))).errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  test('deleting the catalog removes it', async () => {
    await sdk.database.deleteDatabaseCatalog({ name: catalog });
    expect((await apiFailure(sdk.database.getDatabaseCatalog({ name: catalog }))).errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
  });
});

describe.skipIf(!CAN_CREATE)('roles', () => {
  beforeAll(async () => {
    await waitFor(() => getInstance(instance), (current) => current.state === 'AVAILABLE', 'the instance');
  }, SLOW);

  test('the creator has a role in databricks_superuser', async () => {
    const roles: database.DatabaseInstanceRole[] = [];
    for await (const role of sdk.database.listDatabaseInstanceRoles({ instance_name: instance })) roles.push(role);
    expect(roles.find((role) => role.name === me)).toMatchObject({ identity_type: 'USER', membership_role: 'DATABRICKS_SUPERUSER' });
  });

  test('a role for the service principal is created, found, listed, and deleted', async () => {
    if (!target.servicePrincipal) return;
    const applicationId = target.servicePrincipal.clientId;
    const created = await sdk.database.createDatabaseInstanceRole({
      instance_name: instance,
      database_instance_role: { name: applicationId, identity_type: 'SERVICE_PRINCIPAL' },
    });
    expect(created).toMatchObject({ name: applicationId, identity_type: 'SERVICE_PRINCIPAL' });
    expect(created.membership_role).toBeUndefined();
    expect(await sdk.database.getDatabaseInstanceRole({ instance_name: instance, name: applicationId })).toMatchObject({ name: applicationId });
    const twice = await apiFailure(
      sdk.database.createDatabaseInstanceRole({ instance_name: instance, database_instance_role: { name: applicationId, identity_type: 'SERVICE_PRINCIPAL' } }),
    );
    expect(twice.errorCode).toBe('RESOURCE_ALREADY_EXISTS');
    const names: string[] = [];
    for await (const role of sdk.database.listDatabaseInstanceRoles({ instance_name: instance, page_size: 1 })) names.push(role.name);
    expect(names).toEqual(expect.arrayContaining([me, applicationId]));
    await sdk.database.deleteDatabaseInstanceRole({ instance_name: instance, name: applicationId });
    expect((await apiFailure(sdk.database.getDatabaseInstanceRole({ instance_name: instance, name: applicationId }))).errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
    await sdk.database.deleteDatabaseInstanceRole({ instance_name: instance, name: applicationId, allow_missing: true });
  });

  test.skipIf(REAL)('a role must belong to an identity of the workspace', async () => {
    const error = await apiFailure(
      sdk.database.createDatabaseInstanceRole({ instance_name: instance, database_instance_role: { name: 'stranger@example.com', identity_type: 'USER' } }),
    );
    expect(error.errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
  });
});

describe('what the emulator does not serve fails loudly', () => {
  test('updating a synced table answers 501, as the real service does ("not yet implemented")', async () => {
    const error = await apiFailure(
      sdk.database.updateSyncedDatabaseTable({ name: 'c.s.t', synced_table: { name: 'c.s.t' }, update_mask: 'spec' }),
    );
    expect(error.statusCode).toBe(501);
    expect(error.errorCode).toBe('NOT_IMPLEMENTED');
    if (!REAL) expect(error.message).toBe('Update Synced Database Table is not yet implemented.');
  });

  test('an unknown route is ENDPOINT_NOT_FOUND, in the error body every SDK parses', async () => {
    const reply = await target.request('GET', '/api/2.0/database/no-such-thing');
    expect(reply.status).toBe(404);
    if (!REAL) {
      expect(reply.body.error_code).toBe('ENDPOINT_NOT_FOUND');
      expect(reply.body.message).toBe("No API found for 'GET /api/2.0/database/no-such-thing'");
      // Without `metadata` in every detail, the JS SDK would discard the whole error body.
      const details = reply.body.details as { metadata: unknown }[];
      expect(details.length).toBeGreaterThan(0);
      for (const detail of details) expect(typeof detail.metadata).toBe('object');
    }
  });
});
