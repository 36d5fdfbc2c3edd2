// Database credentials at the PostgreSQL level, against the emulator's real servers: the token from
// `POST /credentials` is the password of the identity that minted it, on the instances it names,
// until its expiry — checked at login only — and it survives an emulator restart.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { decodeJwt } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ApiError, WorkspaceClient } from '@databricks/sdk-experimental';
import type { RunningEmulator } from '../emulator/contracts';
import { startEmulator } from '../emulator/index';
import { freePort } from './support/postgres';
import { waitFor } from './support/workspace-under-test';

const run = promisify(execFile);

let dataDir: string;
let port: number;
let emulator: RunningEmulator;
let user: WorkspaceClient;
let secondUser: WorkspaceClient;
let servicePrincipal: WorkspaceClient;
let ca: Buffer;
const open: pg.Client[] = [];

/** Each instance: name → read_write_dns. */
const hosts = new Map<string, string>();

async function start(tokenTtlSeconds: number) {
  emulator = await startEmulator({ dataDir, port, tokenTtlSeconds, transitionDelayMs: 0 });
  user = new WorkspaceClient({ host: emulator.host, token: emulator.user.token, authType: 'pat' });
  secondUser = new WorkspaceClient({ host: emulator.host, token: emulator.secondUser?.token, authType: 'pat' });
  servicePrincipal = new WorkspaceClient({
    host: emulator.host,
    clientId: emulator.servicePrincipal.applicationId,
    clientSecret: emulator.servicePrincipal.clientSecret,
    authType: 'oauth-m2m',
  });
  ca = readFileSync(emulator.caCertPath);
}

async function createInstance(name: string) {
  const available = await (await user.database.createDatabaseInstance({ database_instance: { name, capacity: 'CU_1' } })).wait();
  hosts.set(name, available.read_write_dns ?? '');
  // Every identity of the workspace may use it (mint credentials); whose role a token opens is
  // what these tests are about.
  await user.permissions.set({
    request_object_type: 'database-instances',
    request_object_id: name,
    access_control_list: [{ group_name: 'users', permission_level: 'CAN_USE' }],
  });
}

async function mint(client: WorkspaceClient, instances: string[]) {
  const credential = await client.database.generateDatabaseCredential({ instance_names: instances, request_id: randomUUID() });
  return { token: credential.token ?? '', expiresAt: Date.parse(credential.expiration_time ?? '') };
}

/** Logs in over TLS, verifying the server's certificate against the emulator's CA. */
async function login(instance: string, role: string, password: string): Promise<pg.Client> {
  const client = new pg.Client({ host: hosts.get(instance), port: 5432, user: role, password, database: 'databricks_postgres', ssl: { ca } });
  // A refused login surfaces as an error event as well as a rejection; the rejection is what we test.
  client.on('error', () => undefined);
  await client.connect();
  open.push(client);
  return client;
}

async function loginFailure(instance: string, role: string, password: string): Promise<{ code?: string; message: string }> {
  const outcome = await login(instance, role, password).then(
    () => undefined,
    (error: unknown) => error as { code?: string; message: string },
  );
  if (!outcome) throw new Error(`login of ${role} on ${instance} succeeded, but should have been refused`);
  return outcome;
}

/** A refused password, in real Lakebase's (and PostgreSQL's) words. */
function expectWrongPassword(failure: { code?: string; message: string }, role: string): void {
  expect(failure.message).toBe(`password authentication failed for user "${role}"`);
  expect(failure.code).toBe('28P01');
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lakebase-credentials-'));
  port = await freePort();
  await start(3600);
  await Promise.all([createInstance('orders'), createInstance('billing')]);
}, 120_000);

afterAll(async () => {
  await Promise.allSettled(open.map((client) => client.end()));
  await emulator?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('a credential is a JWT of its identity and the password of that identity, over TLS only', async () => {
  const { token } = await mint(user, ['orders']);
  expect(decodeJwt(token)).toMatchObject({ sub: emulator.user.userName, instance_uids: [expect.any(String)] });
  const session = await login('orders', emulator.user.userName, token);
  const { rows } = await session.query<{ user: string }>('SELECT current_user AS user');
  expect(rows[0]).toEqual({ user: emulator.user.userName });
  expect(session.connection.stream).toBeInstanceOf(TLSSocket);
  const plain = new pg.Client({ host: hosts.get('orders'), port: 5432, user: emulator.user.userName, password: token, database: 'databricks_postgres', ssl: false });
  plain.on('error', () => undefined);
  await expect(plain.connect()).rejects.toThrow(/no encryption/);
});

// Issue 12, item 7: the startup user is the client's to choose, before any password is checked.
test('a login with a forged user name cannot write a line of its own into the emulator log', async () => {
  const forged = 'x\n2026-01-01T00:00:00.000Z FAKE LOG LINE\u2028and\rmore';
  const failure = await loginFailure('orders', forged, 'not-a-token');
  expect(failure.code).toBe('28P01');
  const log = await waitForLog((text) => text.includes('FAKE LOG LINE'));
  // Every line the emulator writes starts with its own timestamp; the forged text stays inside one.
  for (const line of log.split('\n').filter((line) => line !== '')) {
    expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /);
    expect(line).not.toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z FAKE LOG LINE/);
    expect(line).not.toMatch(/[\r\u2028\u2029]/);
  }
  // The value is shown quoted, with its escapes, where it is logged.
  expect(log).toContain(JSON.stringify(forged).replace(/\u2028/g, '\\u2028'));
});

/** The emulator's log once `ready` says it holds what the test waits for (lines are written asynchronously). */
async function waitForLog(ready: (text: string) => boolean): Promise<string> {
  const path = join(dataDir, 'emulator.log');
  for (;;) {
    const text = readFileSync(path, 'utf8');
    if (ready(text)) return text;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('a second emulator on the same data directory is refused', async () => {
  await expect(startEmulator({ dataDir, port: 0 })).rejects.toMatchObject({ code: 'EMULATOR_ALREADY_RUNNING' });
  // The refusal took nothing from the running one.
  expect((await user.database.getDatabaseInstance({ name: 'orders' })).state).toBe('AVAILABLE');
});

test('two credentials of one identity are valid at the same time', async () => {
  const first = await mint(user, ['orders']);
  const second = await mint(user, ['orders']);
  expect(second.token).not.toBe(first.token);
  await login('orders', emulator.user.userName, second.token);
  await login('orders', emulator.user.userName, first.token);
});

test("another identity's credential is refused as a wrong password", async () => {
  const secondUsers = await mint(secondUser, ['orders']);
  const me = emulator.user.userName;
  expectWrongPassword(await loginFailure('orders', me, secondUsers.token), me);
  const principals = await mint(servicePrincipal, ['orders']);
  expectWrongPassword(await loginFailure('orders', me, principals.token), me);
  expectWrongPassword(await loginFailure('orders', me, 'not-a-token'), me);
});

test('a service principal logs in with its own credential once it has a role', async () => {
  const applicationId = emulator.servicePrincipal.applicationId;
  const { token } = await mint(servicePrincipal, ['orders']);
  // Without a role PostgreSQL refuses it after the password check (see emulator/postgres/fidelity.ts).
  const missingRole = await loginFailure('orders', applicationId, token);
  expect(missingRole.message).toMatch(/role .* does not exist/);
  await user.database.createDatabaseInstanceRole({ instance_name: 'orders', database_instance_role: { name: applicationId, identity_type: 'SERVICE_PRINCIPAL' } });
  const session = await login('orders', applicationId, token);
  expect((await session.query<{ user: string }>('SELECT current_user AS user')).rows[0].user).toBe(applicationId);
});

test('a credential opens only the instances it was minted for, one or many', async () => {
  const ordersOnly = await mint(user, ['orders']);
  expectWrongPassword(await loginFailure('billing', emulator.user.userName, ordersOnly.token), emulator.user.userName);
  const both = await mint(user, ['orders', 'billing']);
  expect((decodeJwt(both.token).instance_uids as string[]).length).toBe(2);
  await login('orders', emulator.user.userName, both.token);
  await login('billing', emulator.user.userName, both.token);
});

test('registering a catalog with create_database_if_not_exists creates a database one can log in to', async () => {
  await user.database.createDatabaseCatalog({
    catalog: { name: 'orders_catalog', database_instance_name: 'orders', database_name: 'orders_db', create_database_if_not_exists: true },
  });
  const { token } = await mint(user, ['orders']);
  const client = new pg.Client({ host: hosts.get('orders'), port: 5432, user: emulator.user.userName, password: token, database: 'orders_db', ssl: { ca } });
  await client.connect();
  open.push(client);
  expect((await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0].db).toBe('orders_db');
});

test('psql connects with the documented connection string, and verifies the server with the CA', async () => {
  const { token } = await mint(user, ['orders']);
  const conninfo = `host=${hosts.get('orders')} port=5432 sslmode=require dbname=databricks_postgres user=${emulator.user.userName} password=${token}`;
  const required = await run('psql', [conninfo, '-tAc', 'SELECT current_user'], { env: { ...process.env, PGSSLROOTCERT: '' } });
  expect(required.stdout.trim()).toBe(emulator.user.userName);
  const verified = await run('psql', [conninfo.replace('sslmode=require', 'sslmode=verify-full'), '-tAc', 'SELECT 42'], {
    env: { ...process.env, PGSSLROOTCERT: emulator.caCertPath },
  });
  expect(verified.stdout.trim()).toBe('42');
});

test('a stopped instance refuses connections and keeps its data for the next start', async () => {
  const { token } = await mint(user, ['billing']);
  const session = await login('billing', emulator.user.userName, token);
  await session.query('CREATE TABLE invoices (id int PRIMARY KEY, total numeric)');
  await session.query('INSERT INTO invoices VALUES (1, 99.50)');
  await session.end();

  const patch = (stopped: boolean) =>
    fetch(`${emulator.host}/api/2.0/database/instances/billing?update_mask=stopped`, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${emulator.user.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'billing', stopped }),
    });
  expect((await patch(true)).status).toBe(200);
  await waitFor(() => user.database.getDatabaseInstance({ name: 'billing' }), (current) => current.state === 'STOPPED', 'the stop');
  expect((await loginFailure('billing', emulator.user.userName, token)).code).toBe('ECONNREFUSED');

  expect((await patch(false)).status).toBe(200);
  await waitFor(() => user.database.getDatabaseInstance({ name: 'billing' }), (current) => current.state === 'AVAILABLE', 'the start');
  const again = await login('billing', emulator.user.userName, token);
  expect((await again.query<{ total: string }>('SELECT total FROM invoices WHERE id = 1')).rows[0].total).toBe('99.50');
});

test('identities, credentials, instances and roles survive an emulator restart', async () => {
  const before = await mint(user, ['orders']);
  const pat = emulator.user.token;
  const applicationId = emulator.servicePrincipal.applicationId;
  await Promise.allSettled(open.splice(0).map((client) => client.end()));
  await emulator.stop();
  await start(3600);

  expect(emulator.user.token).toBe(pat);
  const orders = await user.database.getDatabaseInstance({ name: 'orders' });
  expect(orders.state).toBe('AVAILABLE');
  expect(orders.read_write_dns).toBe(hosts.get('orders'));
  // Signed with the key kept in the data directory, a credential outlives the process that minted it.
  await login('orders', emulator.user.userName, before.token);
  const roles = [];
  for await (const role of user.database.listDatabaseInstanceRoles({ instance_name: 'orders' })) roles.push(role.name);
  expect(roles).toContain(applicationId);
});

test('an expired credential is refused at login, while a session opened with it keeps working', async () => {
  await Promise.allSettled(open.splice(0).map((client) => client.end()));
  await emulator.stop();
  await start(2);
  const { token, expiresAt } = await mint(user, ['orders']);
  expect(expiresAt - Date.now()).toBeLessThanOrEqual(3000);
  const session = await login('orders', emulator.user.userName, token);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 100));
  expectWrongPassword(await loginFailure('orders', emulator.user.userName, token), emulator.user.userName);
  expect((await session.query<{ alive: number }>('SELECT 1 AS alive')).rows[0].alive).toBe(1);
  // A fresh credential logs in again.
  await login('orders', emulator.user.userName, (await mint(user, ['orders'])).token);
});

test('credentials are refused for a stopped instance with INVALID_STATE', async () => {
  const response = await fetch(`${emulator.host}/api/2.0/database/instances/orders?update_mask=stopped`, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${emulator.user.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'orders', stopped: true }),
  });
  expect(response.status).toBe(200);
  await waitFor(() => user.database.getDatabaseInstance({ name: 'orders' }), (current) => current.state === 'STOPPED', 'the stop');
  const error = await mint(user, ['orders']).then(() => undefined, (failure: unknown) => failure);
  expect(error).toBeInstanceOf(ApiError);
  expect((error as ApiError).errorCode).toBe('INVALID_STATE');
});
