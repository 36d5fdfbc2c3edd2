// Contract tests of provisioning and governance, asserted on real rows: readable secondaries that
// are PostgreSQL standbys, failover, point-in-time child instances, roles of every identity type,
// and permissions enforced as a workspace does. Against a fresh emulator by default; against a
// real workspace when DATABRICKS_HOST and credentials are set (instances only with
// LAKEBASE_TEST_CREATE_INSTANCES=1; what needs the emulator's second user, admin or timings is
// skipped there).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openWorkspaceUnderTest, realWorkspaceConfigured, waitFor } from './support/workspace-under-test';
import type { RawReply, WorkspaceUnderTest } from './support/workspace-under-test';

const REAL = realWorkspaceConfigured();
const CAN_CREATE = !REAL || process.env.LAKEBASE_TEST_CREATE_INSTANCES === '1';
const SLOW = REAL ? 45 * 60_000 : 120_000;

let target: WorkspaceUnderTest;
let me: string;
const created: string[] = [];
const sessions: pg.Client[] = [];

type Instance = Record<string, unknown> & { name: string; state: string; read_write_dns?: string; read_only_dns?: string };

beforeAll(async () => {
  target = await openWorkspaceUnderTest({ transitionDelayMs: REAL ? undefined : 300 });
  me = (await target.client.currentUser.me()).userName ?? '';
}, SLOW);

afterAll(async () => {
  for (const session of sessions) await session.end().catch(() => undefined);
  if (!target) return;
  for (const name of created.reverse()) {
    const reply = await target.request('DELETE', `/api/2.0/database/instances/${name}?force=true`);
    if (reply.status !== 200 && reply.status !== 404) console.error(`could not delete instance ${name}:`, reply.body);
  }
  await target.stop();
}, SLOW);

/** A request as another of the emulator's identities (its PAT). */
async function as(token: string, method: string, path: string, body?: unknown): Promise<RawReply> {
  const response = await fetch(`${target.host}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function get(name: string): Promise<Instance> {
  const reply = await target.request('GET', `/api/2.0/database/instances/${name}`);
  if (reply.status !== 200) throw new Error(`GET ${name}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body as Instance;
}

async function until(name: string, state: string): Promise<Instance> {
  return waitFor(() => get(name), (instance) => instance.state === state, `${name} to be ${state}`, SLOW);
}

async function createInstance(name: string, fields: Record<string, unknown> = {}, wait = 'AVAILABLE'): Promise<Instance> {
  created.push(name);
  const reply = await target.request('POST', '/api/2.0/database/instances', { name, capacity: 'CU_1', ...fields });
  if (reply.status !== 200) throw new Error(`create ${name}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return until(name, wait);
}

async function credential(instance: string, token?: string): Promise<string> {
  const body = { instance_names: [instance], request_id: randomUUID() };
  const reply = token === undefined ? await target.request('POST', '/api/2.0/database/credentials', body) : await as(token, 'POST', '/api/2.0/database/credentials', body);
  if (reply.status !== 200) throw new Error(`credential: ${reply.status} ${JSON.stringify(reply.body)}`);
  return String(reply.body.token);
}

/** A session on the instance (or its secondary) over verified TLS. */
async function connect(instance: Instance, options: { readOnly?: boolean; user?: string; password?: string } = {}): Promise<pg.Client> {
  const host = options.readOnly ? instance.read_only_dns : instance.read_write_dns;
  const port = options.readOnly ? instance.emulator_read_only_port : instance.emulator_read_write_port;
  const client = new pg.Client({
    host,
    port: Number(port ?? 5432),
    user: options.user ?? me,
    password: options.password ?? (await credential(instance.name)),
    database: 'databricks_postgres',
    ssl: target.emulator ? { ca: readFileSync(target.emulator.caCertPath, 'utf8') } : { rejectUnauthorized: true },
  });
  client.on('error', () => undefined);
  await client.connect();
  sessions.push(client);
  return client;
}

async function rows(client: pg.Client, sql = 'SELECT id FROM items ORDER BY id'): Promise<number[]> {
  return (await client.query<{ id: number }>(sql)).rows.map((row) => row.id);
}

async function failure(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  if (!(error instanceof Error)) throw new Error('expected a failure');
  return error as Error & Record<string, unknown>;
}

describe.skipIf(!CAN_CREATE)('readable secondaries and failover', () => {
  let name: string;
  let instance: Instance;

  beforeAll(async () => {
    name = target.uniqueName('ha');
    instance = await createInstance(name, { node_count: 2, enable_readable_secondaries: true });
  }, SLOW);

  test('node_count 2 with readable secondaries gives a read_only_dns and the effective fields', () => {
    expect(instance).toMatchObject({ effective_node_count: 2, effective_enable_readable_secondaries: true });
    expect(typeof instance.read_only_dns).toBe('string');
    expect(instance.read_only_dns).not.toBe(instance.read_write_dns);
  });

  test('rows written on the primary show up on the secondary, which refuses writes with PostgreSQL\'s read-only error', async () => {
    const primary = await connect(instance);
    await primary.query('CREATE TABLE items (id int PRIMARY KEY)');
    await primary.query('INSERT INTO items SELECT generate_series(1, 50)');
    const [{ lsn }] = (await primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows;
    const secondary = await connect(instance, { readOnly: true });
    // Replication is asynchronous: the secondary lags until it has replayed the primary's WAL up to
    // the insert; then, and only then, the rows are there.
    const replayed = async () => (await secondary.query<{ done: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [lsn])).rows[0].done;
    await waitFor(replayed, (done) => done, 'the secondary to replay the insert', SLOW);
    expect(await rows(secondary)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect((await secondary.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery')).rows[0].recovery).toBe(true);
    const refused = await failure(secondary.query('INSERT INTO items VALUES (51)'));
    expect(refused).toMatchObject({ code: '25006', message: 'cannot execute INSERT in a read-only transaction' });
  });

  test.skipIf(REAL)('a primary or a secondary killed under the instance is started again, and the secondary streams the primary\'s writes again', async () => {
    const dir = join(target.emulator!.dataDir, 'instances', String(instance.uid));
    const pidOf = (pgdata: string) => Number(readFileSync(join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]);
    /** kill -9 of a node's postmaster; resolves once a new one runs there. */
    const killAndAwaitRestart = async (pgdata: string) => {
      const old = pidOf(pgdata);
      process.kill(old, 'SIGKILL');
      await waitFor(async () => { try { return pidOf(pgdata); } catch { return old; } }, (pid) => pid !== old, `a new postmaster in ${pgdata}`, SLOW);
    };
    /** Retries the query until the node takes sessions again. */
    const onceUp = <T>(work: () => Promise<T>) => waitFor(() => work().then((value) => ({ value }), () => undefined), (result) => result !== undefined, 'the node to take sessions', SLOW).then((result) => result!.value);

    await killAndAwaitRestart(join(dir, 'pgdata'));
    await until(name, 'AVAILABLE');
    await onceUp(async () => (await connect(await get(name))).query('INSERT INTO items VALUES (60)'));
    const secondary = await onceUp(() => connect(instance, { readOnly: true }));
    await waitFor(() => rows(secondary), (ids) => ids.includes(60), 'row 60 on the secondary after the primary\'s restart', SLOW);

    await killAndAwaitRestart(join(dir, 'secondary', 'pgdata'));
    expect((await get(name)).state).toBe('AVAILABLE');
    await (await connect(instance)).query('INSERT INTO items VALUES (61)');
    const again = await onceUp(() => connect(instance, { readOnly: true }));
    await waitFor(() => rows(again), (ids) => ids.includes(61), 'row 61 on the restarted secondary', SLOW);
  });

  test('failover goes through FAILING_OVER; the primary address then takes writes, with every row, and the new secondary follows', async () => {
    const before = await connect(instance);
    await before.query('INSERT INTO items VALUES (100)');
    const reply = await target.request('POST', `/api/2.0/database/instances/${name}/failover`, {});
    expect(reply.status).toBe(200);
    expect(reply.body.state).toBe('FAILING_OVER');
    await until(name, 'AVAILABLE');
    const primary = await connect(await get(name));
    expect((await primary.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery')).rows[0].recovery).toBe(false);
    expect(await rows(primary)).toContain(100);
    await primary.query('INSERT INTO items VALUES (101)');
    const secondary = await connect(await get(name), { readOnly: true });
    const missingTable = (error: { code?: string }): number[] | Promise<never> => (error.code === '42P01' ? [] : Promise.reject(error));
    await waitFor(() => rows(secondary).catch(missingTable), (ids) => ids.includes(101), 'row 101 on the new secondary', SLOW);
    // The old primary's timeline is left behind: the instance runs on a newer one.
    const [{ timeline }] = (await primary.query<{ timeline: number }>('SELECT timeline_id AS timeline FROM pg_control_checkpoint()')).rows;
    expect(timeline).toBeGreaterThan(1);
  });

  test('turning readable secondaries off removes read_only_dns; node_count 1 cannot fail over', async () => {
    const off = await target.request('PATCH', `/api/2.0/database/instances/${name}?update_mask=enable_readable_secondaries,node_count`, {
      name, enable_readable_secondaries: false, node_count: 1,
    });
    expect(off.status).toBe(200);
    const single = await until(name, 'AVAILABLE');
    expect(single.read_only_dns).toBeUndefined();
    expect(single).toMatchObject({ effective_node_count: 1, effective_enable_readable_secondaries: false });
    const refused = await target.request('POST', `/api/2.0/database/instances/${name}/failover`, {});
    expect(refused.status).toBe(400);
    expect(refused.body.error_code).toBe('INVALID_STATE');
    // The data survived every change.
    expect(await rows(await connect(single))).toContain(101);
  });
});

describe.skipIf(!CAN_CREATE)('point-in-time child instances', () => {
  let parentName: string;
  let beforeDelete: string;

  beforeAll(async () => {
    parentName = target.uniqueName('parent');
    const parent = await createInstance(parentName);
    const session = await connect(parent);
    await session.query('CREATE TABLE items (id int PRIMARY KEY)');
    await session.query('INSERT INTO items SELECT generate_series(1, 20)');
    // A moment a JavaScript Date holds exactly (whole milliseconds) after the INSERT's commit, and
    // the DELETE only once the clock has passed it: a time truncated to the millisecond could
    // fall before a commit of the same millisecond.
    const moment = (await session.query<{ at: Date }>("SELECT date_trunc('milliseconds', clock_timestamp()) + interval '1 millisecond' AS at")).rows[0].at;
    beforeDelete = moment.toISOString();
    await session.query('SELECT pg_sleep_until($1)', [moment]);
    // A destructive mistake after the moment the child will be made as of.
    await session.query('DELETE FROM items WHERE id > 5');
  }, SLOW);

  test('a child as of a time before a DELETE has the deleted rows; its writes never reach the parent', async () => {
    const childName = target.uniqueName('child');
    const child = await createInstance(childName, { parent_instance_ref: { name: parentName, branch_time: beforeDelete } });
    expect(child.parent_instance_ref).toMatchObject({ name: parentName, branch_time: beforeDelete });
    expect(typeof (child.parent_instance_ref as Record<string, unknown>).effective_lsn).toBe('string');
    const session = await connect(child);
    expect(await rows(session)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await session.query('INSERT INTO items VALUES (1000)');
    expect(await rows(await connect(await get(parentName)))).toEqual([1, 2, 3, 4, 5]);
    const parent = await get(parentName);
    expect(parent.child_instance_refs).toEqual(expect.arrayContaining([expect.objectContaining({ name: childName })]));
  });

  test('a child with no time is a copy as of now; one at an LSN stops there', async () => {
    const parent = await get(parentName);
    const session = await connect(parent);
    await session.query('INSERT INTO items VALUES (6)');
    const [{ lsn }] = (await session.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows;
    await session.query('INSERT INTO items VALUES (7)');
    const now = await createInstance(target.uniqueName('now'), { parent_instance_ref: { name: parentName } });
    expect(await rows(await connect(now))).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const atLsn = await createInstance(target.uniqueName('lsn'), { parent_instance_ref: { name: parentName, lsn } });
    expect(await rows(await connect(atLsn))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test.skipIf(REAL)('a time outside the retention window, or in the future, is the real error', async () => {
    const tooOld = await target.request('POST', '/api/2.0/database/instances', {
      name: target.uniqueName('old'), parent_instance_ref: { name: parentName, branch_time: '2020-01-01T00:00:00Z' },
    });
    expect(tooOld.status).toBe(400);
    expect(tooOld.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(String(tooOld.body.message)).toContain('outside the retention window');
    const future = await target.request('POST', '/api/2.0/database/instances', {
      name: target.uniqueName('future'), parent_instance_ref: { name: parentName, branch_time: new Date(Date.now() + 3_600_000).toISOString() },
    });
    expect(future.status).toBe(400);
    expect(String(future.body.message)).toContain('in the future');
  });

  test('deleting a parent with children needs force, which deletes them too', async () => {
    const refused = await target.request('DELETE', `/api/2.0/database/instances/${parentName}`);
    expect(refused.status).toBe(400);
    expect(refused.body.error_code).toBe('INVALID_STATE');
    const children = ((await get(parentName)).child_instance_refs as { name: string }[]).map((child) => child.name);
    expect(children.length).toBeGreaterThan(0);
    expect((await target.request('DELETE', `/api/2.0/database/instances/${parentName}?force=true`)).status).toBe(200);
    for (const name of [parentName, ...children]) {
      await waitFor(() => target.request('GET', `/api/2.0/database/instances/${name}`), (reply) => reply.status === 404, `${name} to be gone`, SLOW);
    }
  });
});

describe.skipIf(!CAN_CREATE)('lifecycle', () => {
  test('an instance created stopped is STOPPED, starts with its creator\'s role, and keeps its data across stop, start and resize', async () => {
    const name = target.uniqueName('stopped');
    const stopped = await createInstance(name, { stopped: true }, 'STOPPED');
    expect(stopped.effective_stopped).toBe(true);
    const start = await target.request('PATCH', `/api/2.0/database/instances/${name}?update_mask=stopped`, { name, stopped: false });
    expect(start.body.state).toBe('STARTING');
    const session = await connect(await until(name, 'AVAILABLE'));
    await session.query('CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items VALUES (1), (2)');
    const resize = await target.request('PATCH', `/api/2.0/database/instances/${name}?update_mask=capacity`, { name, capacity: 'CU_2' });
    expect(resize.body.state).toBe('UPDATING');
    const resized = await until(name, 'AVAILABLE');
    expect(resized.capacity).toBe('CU_2');
    expect(await rows(await connect(resized))).toEqual([1, 2]);
  });
});

describe.skipIf(REAL)('permissions, as a workspace enforces them', () => {
  let name: string;
  let secondToken: string;
  let secondUser: string;
  let adminToken: string;

  beforeAll(async () => {
    name = target.uniqueName('guarded');
    await createInstance(name);
    secondToken = target.emulator!.secondUser!.token;
    secondUser = target.emulator!.secondUser!.userName;
    adminToken = target.emulator!.adminUser!.token;
  }, SLOW);

  test('another identity can neither see, connect to, take a superuser role on, nor delete the instance', async () => {
    for (const [method, path, body] of [
      ['GET', `/api/2.0/database/instances/${name}`, undefined],
      ['POST', '/api/2.0/database/credentials', { instance_names: [name], request_id: randomUUID() }],
      ['POST', `/api/2.0/database/instances/${name}/roles`, { name: secondUser, identity_type: 'USER', membership_role: 'DATABRICKS_SUPERUSER' }],
      ['DELETE', `/api/2.0/database/instances/${name}/roles/${encodeURIComponent(me)}`, undefined],
      ['DELETE', `/api/2.0/database/instances/${name}`, undefined],
      ['PATCH', `/api/2.0/permissions/database-instances/${name}`, { access_control_list: [{ user_name: secondUser, permission_level: 'CAN_MANAGE' }] }],
    ] as const) {
      const reply = await as(secondToken, method, path, body);
      expect(reply.status, `${method} ${path}`).toBe(403);
      expect(reply.body.error_code).toBe('PERMISSION_DENIED');
      expect(String(reply.body.message)).toMatch(new RegExp(`^User ${secondUser} does not have CAN_(USE|MANAGE) permission on database instance '${name}', which is needed to `));
    }
    const listed = await as(secondToken, 'GET', '/api/2.0/database/instances');
    expect(((listed.body.database_instances ?? []) as Instance[]).map((instance) => instance.name)).not.toContain(name);
    expect((await get(name)).state).toBe('AVAILABLE');
  });

  test('the creator\'s list shows itself and the admins; CAN_USE lets another identity connect once it has a role, and nothing more', async () => {
    const list = await target.request('GET', `/api/2.0/permissions/database-instances/${name}`);
    expect(list.body).toMatchObject({ object_id: `/database-instances/${name}`, object_type: 'database-instances' });
    expect(list.body.access_control_list).toEqual([
      { user_name: me, all_permissions: [{ permission_level: 'CAN_MANAGE', inherited: false }] },
      { group_name: 'admins', all_permissions: [{ permission_level: 'CAN_MANAGE', inherited: true, inherited_from_object: ['/database-instances/'] }] },
    ]);
    const levels = await target.request('GET', `/api/2.0/permissions/database-instances/${name}/permissionLevels`);
    expect((levels.body.permission_levels as { permission_level: string }[]).map((level) => level.permission_level)).toEqual(['CAN_USE', 'CAN_MANAGE']);

    expect((await target.request('PATCH', `/api/2.0/permissions/database-instances/${name}`, { access_control_list: [{ user_name: secondUser, permission_level: 'CAN_USE' }] })).status).toBe(200);
    const token = await credential(name, secondToken);
    const instance = await get(name);
    const noRole = await failure(connect(instance, { user: secondUser, password: token }));
    expect(noRole.message).toBe(`role "${secondUser}" does not exist`);
    expect((await target.request('POST', `/api/2.0/database/instances/${name}/roles`, { name: secondUser, identity_type: 'USER' })).status).toBe(200);
    const session = await connect(instance, { user: secondUser, password: token });
    expect((await session.query<{ user: string }>('SELECT current_user AS user')).rows[0].user).toBe(secondUser);
    // Using is not managing.
    expect((await as(secondToken, 'DELETE', `/api/2.0/database/instances/${name}`)).status).toBe(403);
    expect((await as(secondToken, 'POST', `/api/2.0/database/instances/${name}/roles`, { name: 'data-team', identity_type: 'GROUP' })).status).toBe(403);
  });

  test('CAN_MANAGE through a group lets a member manage roles; an admin manages every instance', async () => {
    expect((await target.request('PATCH', `/api/2.0/permissions/database-instances/${name}`, { access_control_list: [{ group_name: 'data-team', permission_level: 'CAN_MANAGE' }] })).status).toBe(200);
    const made = await as(secondToken, 'POST', `/api/2.0/database/instances/${name}/roles`, { name: 'data-team', identity_type: 'GROUP' });
    expect(made.status).toBe(200);
    // An unknown principal is refused by name.
    const unknown = await target.request('PATCH', `/api/2.0/permissions/database-instances/${name}`, { access_control_list: [{ user_name: 'nobody@example.com', permission_level: 'CAN_USE' }] });
    expect(unknown.status).toBe(404);
    // The admin sees it and may delete it, though it never was granted anything.
    expect((await as(adminToken, 'GET', `/api/2.0/database/instances/${name}`)).status).toBe(200);
    expect((await as(adminToken, 'DELETE', `/api/2.0/database/instances/${name}`)).status).toBe(200);
    await waitFor(() => target.request('GET', `/api/2.0/database/instances/${name}`), (reply) => reply.status === 404, `${name} to be gone`, SLOW);
  });
});

describe.skipIf(REAL)('roles of every identity type', () => {
  let name: string;
  let instance: Instance;

  beforeAll(async () => {
    name = target.uniqueName('roles');
    instance = await createInstance(name, { enable_pg_native_login: true });
    await target.request('PATCH', `/api/2.0/permissions/database-instances/${name}`, { access_control_list: [{ group_name: 'users', permission_level: 'CAN_USE' }] });
  }, SLOW);

  test('a GROUP role is logged into by a member with its own token', async () => {
    expect((await target.request('POST', `/api/2.0/database/instances/${name}/roles`, { name: 'data-team', identity_type: 'GROUP' })).status).toBe(200);
    const token = await credential(name, target.emulator!.secondUser!.token);
    const session = await connect(instance, { user: 'data-team', password: token });
    expect((await session.query<{ user: string }>('SELECT current_user AS user')).rows[0].user).toBe('data-team');
    // The admin is not in data-team.
    const outsider = await credential(name, target.emulator!.adminUser!.token);
    expect((await failure(connect(instance, { user: 'data-team', password: outsider }))).message).toBe('password authentication failed for user "data-team"');
  });

  test('a USER role is logged into with its own identity\'s token only', async () => {
    const second = target.emulator!.secondUser!;
    expect((await target.request('POST', `/api/2.0/database/instances/${name}/roles`, { name: second.userName, identity_type: 'USER' })).status).toBe(200);
    // The instance's creator holds a valid token for this instance, and a superuser role: still not the other's.
    const mine = await credential(name);
    expect((await failure(connect(instance, { user: second.userName, password: mine }))).message).toBe(`password authentication failed for user "${second.userName}"`);
    const theirs = await credential(name, second.token);
    const session = await connect(instance, { user: second.userName, password: theirs });
    expect((await session.query<{ user: string }>('SELECT current_user AS user')).rows[0].user).toBe(second.userName);
    // Nor does a token open the creator's role for the other identity.
    expect((await failure(connect(instance, { user: me, password: theirs }))).message).toBe(`password authentication failed for user "${me}"`);
  });

  test('a PG_ONLY role is refused with a token, and logs in with its own password under native login', async () => {
    const role = await target.request('POST', `/api/2.0/database/instances/${name}/roles`, { name: 'reporting', identity_type: 'PG_ONLY' });
    expect(role.body).toMatchObject({ name: 'reporting', identity_type: 'PG_ONLY' });
    const token = await credential(name);
    expect((await failure(connect(instance, { user: 'reporting', password: token }))).message).toBe('password authentication failed for user "reporting"');
    const owner = await connect(instance);
    await owner.query("ALTER ROLE reporting PASSWORD 'a long native password'");
    const session = await connect(instance, { user: 'reporting', password: 'a long native password' });
    expect((await session.query<{ user: string }>('SELECT current_user AS user')).rows[0].user).toBe('reporting');
    expect((await failure(connect(instance, { user: 'reporting', password: 'wrong' }))).message).toBe('password authentication failed for user "reporting"');

    // Native login is an updatable field: off, the password opens nothing; on again, it does.
    const nativeLogin = (on: boolean) =>
      target.request('PATCH', `/api/2.0/database/instances/${name}?update_mask=enable_pg_native_login`, { name, enable_pg_native_login: on });
    expect((await nativeLogin(false)).body).toMatchObject({ effective_enable_pg_native_login: false });
    expect((await failure(connect(instance, { user: 'reporting', password: 'a long native password' }))).message).toBe('password authentication failed for user "reporting"');
    expect((await nativeLogin(true)).body).toMatchObject({ effective_enable_pg_native_login: true });
    await connect(instance, { user: 'reporting', password: 'a long native password' });
  });

  test('usage_policy_id and custom_tags are updated under update_mask, and the state stays AVAILABLE', async () => {
    const updated = await target.request('PATCH', `/api/2.0/database/instances/${name}?update_mask=usage_policy_id,custom_tags`, {
      name, usage_policy_id: 'policy-1', custom_tags: [{ key: 'team', value: 'roles' }],
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ state: 'AVAILABLE', effective_usage_policy_id: 'policy-1', effective_custom_tags: [{ key: 'team', value: 'roles' }] });
    expect(await get(name)).toMatchObject({ effective_usage_policy_id: 'policy-1', effective_custom_tags: [{ key: 'team', value: 'roles' }] });
  });

  test('PATCH changes attributes and the superuser membership, as pg_roles shows', async () => {
    const applicationId = target.servicePrincipal!.clientId;
    await target.request('POST', `/api/2.0/database/instances/${name}/roles`, { name: applicationId, identity_type: 'SERVICE_PRINCIPAL' });
    const updated = await target.request('PATCH', `/api/2.0/database/instances/${name}/roles/${applicationId}`, {
      attributes: { createdb: true, bypassrls: true }, membership_role: 'DATABRICKS_SUPERUSER',
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ membership_role: 'DATABRICKS_SUPERUSER', effective_attributes: { createdb: true, createrole: false, bypassrls: true } });
    const owner = await connect(instance);
    const [row] = (await owner.query(
      `SELECT rolcreatedb, rolbypassrls, pg_has_role(rolname, 'databricks_superuser', 'MEMBER') AS member FROM pg_roles WHERE rolname = $1`,
      [applicationId],
    )).rows;
    expect(row).toEqual({ rolcreatedb: true, rolbypassrls: true, member: true });
    const demoted = await target.request('PATCH', `/api/2.0/database/instances/${name}/roles/${applicationId}`, { membership_role: null });
    expect(demoted.body.membership_role).toBeUndefined();
  });

  test('deleting a role reassigns what it owns; allow_missing makes a missing one fine', async () => {
    const owner = await connect(instance);
    await owner.query('GRANT CREATE ON SCHEMA public TO reporting');
    const reporting = await connect(instance, { user: 'reporting', password: 'a long native password' });
    await reporting.query('CREATE TABLE reports (id int)');
    await reporting.end();
    const refused = await target.request('DELETE', `/api/2.0/database/instances/${name}/roles/reporting`);
    expect(refused.status).toBe(400);
    const reassigned = await target.request('DELETE', `/api/2.0/database/instances/${name}/roles/reporting?reassign_owned_to=${encodeURIComponent(me)}`);
    expect(reassigned.status).toBe(200);
    expect((await owner.query<{ owner: string }>("SELECT tableowner AS owner FROM pg_tables WHERE tablename = 'reports'")).rows[0].owner).toBe(me);
    expect((await target.request('DELETE', `/api/2.0/database/instances/${name}/roles/reporting`)).status).toBe(404);
    expect((await target.request('DELETE', `/api/2.0/database/instances/${name}/roles/reporting?allow_missing=true`)).status).toBe(200);
  });
});

describe.skipIf(!CAN_CREATE)('credentials with claims', () => {
  test('a READ_ONLY credential for a registered table opens read-only sessions', async () => {
    const name = target.uniqueName('claims');
    const instance = await createInstance(name);
    const owner = await connect(instance);
    await owner.query('CREATE TABLE public.prices (id int PRIMARY KEY, amount numeric)');
    await owner.query('INSERT INTO public.prices VALUES (1, 9.5)');
    const catalog = target.uniqueName('cat').replace(/-/g, '_');
    expect((await target.request('POST', '/api/2.0/database/catalogs', { name: catalog, database_instance_name: name, database_name: 'databricks_postgres' })).status).toBe(200);
    expect((await target.request('POST', '/api/2.0/database/tables', { name: `${catalog}.public.prices` })).status).toBe(200);
    const minted = await target.request('POST', '/api/2.0/database/credentials', {
      request_id: randomUUID(),
      claims: [{ permission_set: 'READ_ONLY', resources: [{ table_name: `${catalog}.public.prices` }] }],
    });
    expect(minted.status).toBe(200);
    const session = await connect(instance, { password: String(minted.body.token) });
    expect((await session.query<{ amount: string }>('SELECT amount FROM public.prices')).rows).toEqual([{ amount: '9.5' }]);
    expect(await failure(session.query('INSERT INTO public.prices VALUES (2, 1)'))).toMatchObject({ code: '25006' });
    await target.request('DELETE', `/api/2.0/database/catalogs/${catalog}`);
  });
});
