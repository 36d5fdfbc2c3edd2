// Contract tests of the Autoscaling API (`/api/2.0/postgres`): the routes, shapes, errors and
// long-running operations as the Python SDK 0.133 and the CLI's fake server describe them, and
// endpoints that are real PostgreSQL servers. Against a fresh local emulator by default; against
// a real workspace when DATABRICKS_HOST and credentials are set (projects are created there only
// with LAKEBASE_TEST_CREATE_INSTANCES=1; emulator-only assertions are skipped).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { completed, connectEndpoint, createProject, expectStatus, getEndpoint, mintCredential, requestAs, waitForOperation } from './support/autoscaling';
import { loginToInstance, openWorkspaceUnderTest, realWorkspaceConfigured, waitFor } from './support/workspace-under-test';
import type { WorkspaceUnderTest } from './support/workspace-under-test';

const REAL = realWorkspaceConfigured();
const SLOW = REAL ? 30 * 60_000 : 90_000;

let target: WorkspaceUnderTest;
let me: string;
let project: string;
const production = () => `${project}/branches/production`;
const primary = () => `${production()}/endpoints/primary`;
const createdProjects: string[] = [];

async function newProject(prefix: string, body: Record<string, unknown> = {}): Promise<string> {
  const id = target.uniqueName(prefix);
  createdProjects.push(`projects/${id}`);
  await createProject(target, id, body);
  return `projects/${id}`;
}

beforeAll(async () => {
  target = await openWorkspaceUnderTest({ transitionDelayMs: 300 });
  me = (await target.client.currentUser.me()).userName ?? '';
  if (target.mayCreateInstances) project = await newProject('contract');
}, SLOW);

afterAll(async () => {
  if (!target) return;
  for (const name of createdProjects) {
    const reply = await target.request('DELETE', `/api/2.0/postgres/${name}?purge=true`);
    if (reply.status !== 200 && reply.status !== 404) console.error(`could not delete ${name}:`, reply.body);
  }
  await target.stop();
}, SLOW);

describe.skipIf(!(!REAL || process.env.LAKEBASE_TEST_CREATE_INSTANCES === '1'))('projects', () => {
  test('a new project answers with an operation that is not done yet, and gets branch production with endpoint primary', async () => {
    const id = target.uniqueName('fresh');
    createdProjects.push(`projects/${id}`);
    const started = await target.request('POST', `/api/2.0/postgres/projects?project_id=${id}`, { spec: { display_name: 'Fresh one' } });
    const operation = expectStatus(started, 200);
    expect(operation.name).toMatch(new RegExp(`^projects/${id}/operations/`));
    if (!REAL) expect(operation.done).toBe(false);
    expect((operation.metadata as Record<string, unknown>)['@type']).toBe('type.googleapis.com/databricks.postgres.v1.ProjectOperationMetadata');
    const created = await completed(target, started);
    expect(created.name).toBe(`projects/${id}`);
    const status = created.status as Record<string, unknown>;
    expect(status).toMatchObject({ display_name: 'Fresh one', default_branch: `projects/${id}/branches/production`, owner: me });
    expect(status.history_retention_duration).toBe('604800s');
    expect(created.spec).toBeUndefined();

    const branch = expectStatus(await target.request('GET', `/api/2.0/postgres/projects/${id}/branches/production`), 200);
    expect(branch.status).toMatchObject({ current_state: 'READY', default: true, is_protected: false });
    const endpoints = expectStatus(await target.request('GET', `/api/2.0/postgres/projects/${id}/branches/production/endpoints`), 200).endpoints as Record<string, never>[];
    expect(endpoints.map((endpoint) => endpoint.name)).toEqual([`projects/${id}/branches/production/endpoints/primary`]);
    expect(endpoints[0].status).toMatchObject({ endpoint_type: 'ENDPOINT_TYPE_READ_WRITE', disabled: false, suspend_timeout_duration: '86400s' });
  });

  test('a taken project id is 409 ALREADY_EXISTS; a bad or missing id is 400; an unknown one 404 NOT_FOUND', async () => {
    const taken = await target.request('POST', `/api/2.0/postgres/projects?project_id=${project.split('/')[1]}`, {});
    expect(taken.status).toBe(409);
    expect(taken.body.error_code).toBe('ALREADY_EXISTS');
    const bad = await target.request('POST', '/api/2.0/postgres/projects?project_id=Bad_Name', {});
    expect(bad.status).toBe(400);
    expect(bad.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    const missing = await target.request('POST', '/api/2.0/postgres/projects', {});
    expect(missing.status).toBe(400);
    if (!REAL) expect(missing.body.message).toBe(`Field 'project_id' is required, expected non-default value (not "")!`);
    const unknown = await target.request('GET', '/api/2.0/postgres/projects/no-such-project-here');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error_code).toBe('NOT_FOUND');
    expect(String(unknown.body.message)).toMatch(/^project id not found/);
  });

  test('lists are paginated and hide soft-deleted projects unless show_deleted', async () => {
    const doomed = await newProject('doomed');
    const first = expectStatus(await target.request('GET', '/api/2.0/postgres/projects?page_size=1'), 200);
    expect((first.projects as unknown[]).length).toBe(1);
    expect(first.next_page_token).toEqual(expect.any(String));
    await completed(target, await target.request('DELETE', `/api/2.0/postgres/${doomed}`));
    const names = async (query: string) => {
      const all: string[] = [];
      let token: string | undefined;
      do {
        const page = expectStatus(await target.request('GET', `/api/2.0/postgres/projects?page_size=100${query}${token ? `&page_token=${token}` : ''}`), 200);
        all.push(...((page.projects as { name: string }[] | undefined) ?? []).map((p) => p.name));
        token = page.next_page_token as string | undefined;
      } while (token);
      return all;
    };
    expect(await names('')).not.toContain(doomed);
    expect(await names('&show_deleted=true')).toContain(doomed);
    const deleted = expectStatus(await target.request('GET', `/api/2.0/postgres/${doomed}`), 200);
    expect(deleted.delete_time).toEqual(expect.any(String));
  });

  test('an unknown operation is 404 NOT_FOUND', async () => {
    const reply = await target.request('GET', `/api/2.0/postgres/${project}/operations/00000000-0000-0000-0000-000000000000`);
    expect(reply.status).toBe(404);
    expect(reply.body.error_code).toBe('NOT_FOUND');
  });
});

describe.skipIf(!(!REAL || process.env.LAKEBASE_TEST_CREATE_INSTANCES === '1'))('endpoints are real PostgreSQL servers', () => {
  test('a credential for the endpoint logs in as its identity, over TLS, on the host and the pooled host', async () => {
    const credential = await mintCredential(target, primary());
    expect(credential.token).toEqual(expect.any(String));
    expect(Date.parse(credential.expire_time)).toBeGreaterThan(Date.now());
    const client = await connectEndpoint(target, primary(), me, { password: credential.token });
    try {
      expect((await client.query('SELECT current_user AS who, current_database() AS db')).rows[0]).toEqual({ who: me, db: 'databricks_postgres' });
      await client.query('CREATE TABLE visits (id int PRIMARY KEY, note text)');
      await client.query("INSERT INTO visits VALUES (1, 'first')");
    } finally {
      await client.end();
    }
    const pooled = await connectEndpoint(target, primary(), me, { pooled: true });
    try {
      expect((await pooled.query('SELECT note FROM visits')).rows).toEqual([{ note: 'first' }]);
    } finally {
      await pooled.end();
    }
  });

  test('a credential of the endpoint does not open another project', async () => {
    const other = await newProject('other');
    const { token } = await mintCredential(target, primary());
    const refused = await connectEndpoint(target, `${other}/branches/production/endpoints/primary`, me, { password: token }).then(
      (client) => client.end().then(() => undefined),
      (error: { code?: string }) => error,
    );
    expect(refused?.code).toBe('28P01');
  });

  test('a branch has one read-write endpoint; compute units and suspend timeouts have limits', async () => {
    const second = await target.request('POST', `/api/2.0/postgres/${production()}/endpoints?endpoint_id=writer2`, { spec: { endpoint_type: 'ENDPOINT_TYPE_READ_WRITE' } });
    expect(second.status).toBe(400);
    expect(String(second.body.message)).toMatch(/only have one READ_WRITE endpoint/);
    const tooBig = await target.request('POST', `/api/2.0/postgres/${production()}/endpoints?endpoint_id=big`, {
      spec: { endpoint_type: 'ENDPOINT_TYPE_READ_ONLY', autoscaling_limit_min_cu: 1, autoscaling_limit_max_cu: 32 },
    });
    expect(tooBig.status).toBe(400);
    expect(tooBig.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    const tooShort = await target.request('POST', `/api/2.0/postgres/${production()}/endpoints?endpoint_id=short`, {
      spec: { endpoint_type: 'ENDPOINT_TYPE_READ_ONLY', suspend_timeout_duration: '10s' },
    });
    expect(tooShort.status).toBe(400);
    const noType = await target.request('POST', `/api/2.0/postgres/${production()}/endpoints?endpoint_id=notype`, { spec: {} });
    expect(noType.status).toBe(400);
  });

  test('a read-only endpoint reads the branch and refuses writes with PostgreSQL\'s read-only error', async () => {
    const name = `${production()}/endpoints/reader`;
    const created = await completed(target, await target.request('POST', `/api/2.0/postgres/${production()}/endpoints?endpoint_id=reader`, { spec: { endpoint_type: 'ENDPOINT_TYPE_READ_ONLY' } }));
    expect((created.status as Record<string, unknown>).endpoint_type).toBe('ENDPOINT_TYPE_READ_ONLY');
    const { status } = await getEndpoint(target, name);
    expect(status.hosts).toMatchObject({ read_only_host: status.hosts.host });
    const client = await connectEndpoint(target, name, me);
    try {
      expect((await client.query('SELECT count(*)::int AS n FROM visits')).rows[0].n).toBeGreaterThanOrEqual(1);
      const refused = await client.query("INSERT INTO visits VALUES (99, 'no')").then(() => undefined, (error: { code?: string }) => error);
      expect(refused?.code).toBe('25006');
      if (!REAL) {
        // A compute of its own: a standby in recovery, not a session told to be read-only, so
        // turning the setting off changes nothing.
        expect((await client.query('SELECT pg_is_in_recovery() AS standby')).rows[0].standby).toBe(true);
        await client.query('SET default_transaction_read_only = off');
        const still = await client.query("INSERT INTO visits VALUES (99, 'no')").then(() => undefined, (error: { code?: string; message: string }) => error);
        expect(still?.code).toBe('25006');
        expect(still?.message).toBe('cannot execute INSERT in a read-only transaction');
      }
      // Rows written on the read-write endpoint show up once the standby has replayed them.
      const writer = await connectEndpoint(target, primary(), me);
      let lsn: string;
      try {
        await writer.query("INSERT INTO visits VALUES (100, 'streamed')");
        lsn = (await writer.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;
      } finally {
        await writer.end();
      }
      if (!REAL) {
        await waitFor(
          async () => (await client.query<{ done: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [lsn])).rows[0].done,
          (done) => done,
          'the read-only endpoint to replay the insert',
          SLOW,
        );
      }
      const streamed = await waitFor(() => client.query("SELECT note FROM visits WHERE id = 100"), (result) => result.rows.length === 1, 'row 100 on the read-only endpoint', SLOW);
      expect(streamed.rows).toEqual([{ note: 'streamed' }]);
    } finally {
      await client.end();
    }
    await completed(target, await target.request('DELETE', `/api/2.0/postgres/${name}`));
    expect((await target.request('GET', `/api/2.0/postgres/${name}`)).status).toBe(404);
  });

  test('the read-write endpoint and the root branch are managed by their parents and refuse deletion', async () => {
    const endpoint = await target.request('DELETE', `/api/2.0/postgres/${primary()}`);
    expect(endpoint.status).toBe(400);
    expect(endpoint.body.error_code).toBe('BAD_REQUEST');
    const details = endpoint.body.details as { reason: string; metadata: Record<string, string> }[];
    expect(details.some((detail) => detail.metadata.declarative_context === 'MANAGED_BY_PARENT')).toBe(true);
    const branch = await target.request('DELETE', `/api/2.0/postgres/${production()}`);
    expect(branch.status).toBe(400);
  });
});

describe.skipIf(!(!REAL || process.env.LAKEBASE_TEST_CREATE_INSTANCES === '1'))('roles and databases of a branch', () => {
  test('a role for another identity lets its tokens log in; a database is owned by the role it names', async () => {
    const second = target.emulator?.secondUser;
    if (!second) return;
    const role = await completed(
      target,
      await target.request('POST', `/api/2.0/postgres/${production()}/roles?role_id=second-user`, { spec: { postgres_role: second.userName, identity_type: 'USER' } }),
    );
    expect(role).toMatchObject({ name: `${production()}/roles/second-user`, status: { postgres_role: second.userName, identity_type: 'USER', auth_method: 'LAKEBASE_OAUTH_V1' } });
    const duplicate = await target.request('POST', `/api/2.0/postgres/${production()}/roles?role_id=second-user`, { spec: { postgres_role: second.userName, identity_type: 'USER' } });
    expect(duplicate.status).toBe(400);
    expect(duplicate.body.error_code).toBe('BAD_REQUEST');

    const database = await completed(
      target,
      await target.request('POST', `/api/2.0/postgres/${production()}/databases?database_id=shop-db`, { spec: { postgres_database: 'shop', role: `${production()}/roles/second-user` } }),
    );
    expect(database).toMatchObject({ status: { postgres_database: 'shop', role: `${production()}/roles/second-user` } });

    // The second user's own credential, minted with the second user's PAT: that takes CAN_USE on the project.
    expectStatus(await target.request('PATCH', `/api/2.0/permissions/database-projects/${project.split('/')[1]}`, { access_control_list: [{ user_name: second.userName, permission_level: 'CAN_USE' }] }), 200);
    const { WorkspaceClient } = await import('@databricks/sdk-experimental');
    const secondClient = new WorkspaceClient({ host: target.host, token: second.token, authType: 'pat' });
    const headers = new Headers({ 'Content-Type': 'application/json' });
    await secondClient.config.authenticate(headers);
    const minted = (await (await fetch(`${target.host}/api/2.0/postgres/credentials`, { method: 'POST', headers, body: JSON.stringify({ endpoint: primary() }) })).json()) as { token: string };
    const client = await connectEndpoint(target, primary(), second.userName, { database: 'shop', password: minted.token });
    try {
      const owner = await client.query("SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = 'shop'");
      expect(owner.rows[0].owner).toBe(second.userName);
    } finally {
      await client.end();
    }
    const listed = expectStatus(await target.request('GET', `/api/2.0/postgres/${production()}/roles`), 200).roles as { status: { postgres_role: string } }[];
    expect(listed.map((r) => r.status.postgres_role)).toEqual(expect.arrayContaining([me, second.userName]));

    await completed(target, await target.request('DELETE', `/api/2.0/postgres/${production()}/databases/shop-db`));
    await completed(target, await target.request('DELETE', `/api/2.0/postgres/${production()}/roles/second-user`));
    expect((await target.request('GET', `/api/2.0/postgres/${production()}/roles/second-user`)).status).toBe(404);
  });
});

describe.skipIf(REAL)('permissions on projects (database-projects), as a workspace enforces them', () => {
  let guarded: string;
  let id: string;
  const second = () => target.emulator!.secondUser!;
  const grant = async (entry: Record<string, string>) =>
    expectStatus(await target.request('PATCH', `/api/2.0/permissions/database-projects/${id}`, { access_control_list: [entry] }), 200);

  beforeAll(async () => {
    guarded = await newProject('guarded');
    id = guarded.split('/')[1];
  }, SLOW);

  test('another identity can neither see, connect to, branch, change nor delete a project it was not granted', async () => {
    const branch = `${guarded}/branches/production`;
    const requests: [string, string, unknown, string][] = [
      ['GET', `/api/2.0/postgres/${guarded}`, undefined, 'CAN_USE'],
      ['GET', `/api/2.0/postgres/${branch}/endpoints`, undefined, 'CAN_USE'],
      ['POST', '/api/2.0/postgres/credentials', { endpoint: `${branch}/endpoints/primary` }, 'CAN_USE'],
      ['POST', `/api/2.0/postgres/${guarded}/branches?branch_id=mine`, { spec: {} }, 'CAN_MANAGE'],
      ['POST', `/api/2.0/postgres/${branch}/roles?role_id=me-too`, { spec: { postgres_role: second().userName, identity_type: 'USER', membership_roles: ['DATABRICKS_SUPERUSER'] } }, 'CAN_MANAGE'],
      ['POST', `/api/2.0/postgres/${branch}/databases?database_id=mine`, { spec: { role: `${branch}/roles/owner` } }, 'CAN_MANAGE'],
      ['PATCH', `/api/2.0/postgres/${branch}/endpoints/primary?update_mask=spec.disabled`, { spec: { disabled: true } }, 'CAN_MANAGE'],
      ['DELETE', `/api/2.0/postgres/${branch}/roles/owner`, undefined, 'CAN_MANAGE'],
      ['DELETE', `/api/2.0/postgres/${guarded}`, undefined, 'CAN_MANAGE'],
      ['PATCH', `/api/2.0/permissions/database-projects/${id}`, { access_control_list: [{ user_name: second().userName, permission_level: 'CAN_MANAGE' }] }, 'CAN_MANAGE'],
    ];
    for (const [method, path, body, level] of requests) {
      const reply = await requestAs(target, second().token, method, path, body);
      expect(reply.status, `${method} ${path}`).toBe(403);
      expect(reply.body.error_code).toBe('PERMISSION_DENIED');
      expect(String(reply.body.message)).toMatch(new RegExp(`^User ${second().userName} does not have ${level} permission on database project '${id}', which is needed to `));
    }
    // A project that does not exist is a 404 before any 403.
    expect((await requestAs(target, second().token, 'GET', '/api/2.0/postgres/projects/no-such-project-here')).status).toBe(404);
    const listed = expectStatus(await requestAs(target, second().token, 'GET', '/api/2.0/postgres/projects'), 200);
    expect(((listed.projects ?? []) as { name: string }[]).map((p) => p.name)).not.toContain(guarded);
    // Nothing was changed by the refused calls.
    expect((await getEndpoint(target, `${branch}/endpoints/primary`)).status).toMatchObject({ disabled: false });
    expect((await target.request('GET', `/api/2.0/postgres/${guarded}/branches/mine`)).status).toBe(404);
    expect((await target.request('GET', `/api/2.0/postgres/${branch}/roles/owner`)).status).toBe(200);
  });

  test('CAN_USE lets another identity connect (with a role of its own) and nothing more; CAN_MANAGE through a group lets it branch; an admin manages every project', async () => {
    const view = expectStatus(await target.request('GET', `/api/2.0/permissions/database-projects/${id}`), 200);
    expect(view).toMatchObject({ object_id: `/database-projects/${id}`, object_type: 'database-projects' });
    expect(view.access_control_list).toEqual([
      { user_name: me, all_permissions: [{ permission_level: 'CAN_MANAGE', inherited: false }] },
      { group_name: 'admins', all_permissions: [{ permission_level: 'CAN_MANAGE', inherited: true, inherited_from_object: ['/database-projects/'] }] },
    ]);

    await grant({ user_name: second().userName, permission_level: 'CAN_USE' });
    const endpoint = `${guarded}/branches/production/endpoints/primary`;
    expect(expectStatus(await requestAs(target, second().token, 'GET', `/api/2.0/postgres/${guarded}`), 200).name).toBe(guarded);
    const listed = expectStatus(await requestAs(target, second().token, 'GET', '/api/2.0/postgres/projects'), 200);
    expect(((listed.projects ?? []) as { name: string }[]).map((p) => p.name)).toContain(guarded);
    const minted = expectStatus(await requestAs(target, second().token, 'POST', '/api/2.0/postgres/credentials', { endpoint }), 200) as { token: string };
    await completed(target, await target.request('POST', `/api/2.0/postgres/${guarded}/branches/production/roles?role_id=second`, { spec: { postgres_role: second().userName, identity_type: 'USER' } }));
    const session = await connectEndpoint(target, endpoint, second().userName, { password: minted.token });
    try {
      expect((await session.query('SELECT current_user AS who')).rows).toEqual([{ who: second().userName }]);
    } finally {
      await session.end();
    }
    // Using is not managing.
    const branching = await requestAs(target, second().token, 'POST', `/api/2.0/postgres/${guarded}/branches?branch_id=by-second`, { spec: {} });
    expect(branching.status).toBe(403);
    expect(String(branching.body.message)).toContain('CAN_MANAGE permission');

    // data-team holds both ordinary users: managing through it lets the second user branch and delete.
    await grant({ group_name: 'data-team', permission_level: 'CAN_MANAGE' });
    const made = await requestAs(target, second().token, 'POST', `/api/2.0/postgres/${guarded}/branches?branch_id=by-second`, { spec: {} });
    expect((await completed(target, made)).name).toBe(`${guarded}/branches/by-second`);
    await completed(target, await requestAs(target, second().token, 'DELETE', `/api/2.0/postgres/${guarded}/branches/by-second`));

    // The admin sees the project and may change it, though it never was granted anything.
    const admin = target.emulator!.adminUser!;
    expect((await requestAs(target, admin.token, 'GET', `/api/2.0/postgres/${guarded}`)).status).toBe(200);
    const renamed = await requestAs(target, admin.token, 'PATCH', `/api/2.0/postgres/${guarded}?update_mask=spec.display_name`, { spec: { display_name: 'Renamed by the admin' } });
    expect(((await completed(target, renamed)).status as Record<string, unknown>).display_name).toBe('Renamed by the admin');
  });

  test('a purged project\'s list goes with it: a new project of the same id starts with its own creator only', async () => {
    await completed(target, await target.request('DELETE', `/api/2.0/postgres/${guarded}?purge=true`));
    expect((await target.request('GET', `/api/2.0/permissions/database-projects/${id}`)).status).toBe(404);
    await createProject(target, id);
    const view = expectStatus(await target.request('GET', `/api/2.0/permissions/database-projects/${id}`), 200);
    expect((view.access_control_list as { user_name?: string; group_name?: string }[]).map((entry) => entry.user_name ?? entry.group_name)).toEqual([me, 'admins']);
    expect((await requestAs(target, second().token, 'GET', `/api/2.0/postgres/${guarded}`)).status).toBe(403);
  });
});

describe.skipIf(REAL)('soft delete and undelete keep the data', () => {
  test('a deleted project refuses logins; undeleted, it has its data back; purged, it is gone', async () => {
    const kept = await newProject('kept');
    const endpoint = `${kept}/branches/production/endpoints/primary`;
    const writer = await connectEndpoint(target, endpoint, me);
    await writer.query('CREATE TABLE kept (n int)');
    await writer.query('INSERT INTO kept VALUES (42)');
    await writer.end();

    await completed(target, await target.request('DELETE', `/api/2.0/postgres/${kept}`));
    const credential = await target.request('POST', '/api/2.0/postgres/credentials', { endpoint });
    expect(credential.status).toBe(400);
    const undeleteAgain = await target.request('DELETE', `/api/2.0/postgres/${kept}`);
    expect(undeleteAgain.status).toBe(400);

    await completed(target, await target.request('POST', `/api/2.0/postgres/${kept}/undelete`, {}));
    const reader = await connectEndpoint(target, endpoint, me);
    try {
      expect((await reader.query('SELECT n FROM kept')).rows).toEqual([{ n: 42 }]);
    } finally {
      await reader.end();
    }
    const operation = await waitForOperation(target, await target.request('DELETE', `/api/2.0/postgres/${kept}?purge=true`));
    expect(operation.response).toEqual({ '@type': 'type.googleapis.com/google.protobuf.Empty' });
    expect((await target.request('GET', `/api/2.0/postgres/${kept}`)).status).toBe(404);
  });
});

describe.skipIf(REAL)('upgrading a Provisioned instance to Autoscaling', () => {
  test('PATCH …/upgrade: UPGRADING, then a project with the same data; the instance keeps answering', async () => {
    const name = target.uniqueName('legacy');
    const sdk = target.client;
    const instance = await (await sdk.database.createDatabaseInstance({ database_instance: { name, capacity: 'CU_1' } })).wait();
    createdProjects.push(`projects/${name}`);
    const instanceLogin = () => loginToInstance(sdk, { name, readWriteDns: instance.read_write_dns ?? '' }, me, target.emulator!.caCertPath);
    const before = await instanceLogin();
    await before.query('CREATE TABLE kept (n int)');
    await before.query('INSERT INTO kept VALUES (7)');
    await before.end();

    // Who could use the instance can use its project, and nothing more.
    const second = target.emulator!.secondUser!;
    expectStatus(await target.request('PATCH', `/api/2.0/permissions/database-instances/${name}`, { access_control_list: [{ user_name: second.userName, permission_level: 'CAN_USE' }] }), 200);

    const upgrading = await target.request('PATCH', `/api/2.0/database/instances/${name}/upgrade`);
    expect(expectStatus(upgrading, 200).state).toBe('UPGRADING');
    await waitFor(() => sdk.database.getDatabaseInstance({ name }), (current) => current.state === 'AVAILABLE', 'the instance to be AVAILABLE again');

    const project = expectStatus(await target.request('GET', `/api/2.0/postgres/projects/${name}`), 200);
    expect((project.status as Record<string, unknown>).owner).toBe(me);
    expect((await requestAs(target, second.token, 'GET', `/api/2.0/postgres/projects/${name}`)).status).toBe(200);
    expect((await requestAs(target, second.token, 'DELETE', `/api/2.0/postgres/projects/${name}`)).status).toBe(403);
    const viaProject = await connectEndpoint(target, `projects/${name}/branches/production/endpoints/primary`, me);
    try {
      expect((await viaProject.query('SELECT n FROM kept')).rows).toEqual([{ n: 7 }]);
      await viaProject.query('INSERT INTO kept VALUES (8)');
    } finally {
      await viaProject.end();
    }
    // The instance's address and credentials still work, on the same data.
    const after = await instanceLogin();
    try {
      expect((await after.query('SELECT array_agg(n ORDER BY n) AS ns FROM kept')).rows[0].ns).toEqual([7, 8]);
    } finally {
      await after.end();
    }
    const stop = await target.request('PATCH', `/api/2.0/database/instances/${name}?update_mask=stopped`, { name, stopped: true });
    expect(stop.status).toBe(400);
    expect(String(stop.body.message)).toContain(`projects/${name}`);
    const again = await target.request('PATCH', `/api/2.0/database/instances/${name}/upgrade`);
    expect(again.status).toBe(400);

    // The instance is the project's data: it follows the project's deletion. Soft-deleted, it
    // reads STOPPED and its address refuses logins; undeleted, it answers again with its data.
    await completed(target, await target.request('DELETE', `/api/2.0/postgres/projects/${name}`));
    expect(await sdk.database.getDatabaseInstance({ name })).toMatchObject({ state: 'STOPPED', effective_stopped: true });
    await expect(instanceLogin()).rejects.toThrow();
    await completed(target, await target.request('POST', `/api/2.0/postgres/projects/${name}/undelete`, {}));
    expect((await sdk.database.getDatabaseInstance({ name })).state).toBe('AVAILABLE');
    const back = await instanceLogin();
    try {
      expect((await back.query('SELECT array_agg(n ORDER BY n) AS ns FROM kept')).rows[0].ns).toEqual([7, 8]);
    } finally {
      await back.end();
    }
    // Purged, the data is gone everywhere: the instance is deleted with it.
    await completed(target, await target.request('DELETE', `/api/2.0/postgres/projects/${name}?purge=true`));
    const gone = await target.request('GET', `/api/2.0/database/instances/${name}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    const instances = expectStatus(await target.request('GET', '/api/2.0/database/instances'), 200).database_instances as { name: string }[] | undefined;
    expect((instances ?? []).map((instance) => instance.name)).not.toContain(name);
    expect((await target.request('GET', `/api/2.0/permissions/database-instances/${name}`)).status).toBe(404);
  });
});

describe.skipIf(!(!REAL || process.env.LAKEBASE_TEST_CREATE_INSTANCES === '1'))('branches are real copies', () => {
  test('a branch as of a time before a destructive DELETE has the rows; writes on it never reach its parent', async () => {
    const source = await newProject('branchy');
    const sourceEndpoint = `${source}/branches/production/endpoints/primary`;
    const writer = await connectEndpoint(target, sourceEndpoint, me);
    let before: string;
    try {
      await writer.query('CREATE TABLE orders (id int PRIMARY KEY)');
      await writer.query('INSERT INTO orders SELECT generate_series(1, 50)');
      // As text with PostgreSQL's microseconds: a JS Date would round down to the millisecond, to
      // a moment that may be before the INSERT's commit.
      before = (await writer.query(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS t`)).rows[0].t as string;
      await writer.query('DELETE FROM orders WHERE id > 10');
    } finally {
      await writer.end();
    }
    const started = await target.request('POST', `/api/2.0/postgres/${source}/branches?branch_id=before-delete`, { spec: { source_branch_time: before } });
    const branch = await completed(target, started);
    expect(branch).toMatchObject({ name: `${source}/branches/before-delete`, status: { current_state: 'READY', default: false, source_branch: `${source}/branches/production` } });
    // Milliseconds on the wire, rounded up from the microseconds asked for.
    expect(Date.parse((branch.status as Record<string, string>).source_branch_time) - Date.parse(before)).toBeGreaterThanOrEqual(0);
    expect(Date.parse((branch.status as Record<string, string>).source_branch_time) - Date.parse(before)).toBeLessThanOrEqual(1);
    expect((branch.status as Record<string, string>).source_branch_lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);

    const branchEndpoint = `${source}/branches/before-delete/endpoints/primary`;
    const onBranch = await connectEndpoint(target, branchEndpoint, me);
    try {
      expect((await onBranch.query('SELECT count(*)::int AS n FROM orders')).rows[0].n).toBe(50);
      await onBranch.query('DROP TABLE orders');
    } finally {
      await onBranch.end();
    }
    const onParent = await connectEndpoint(target, sourceEndpoint, me);
    try {
      expect((await onParent.query('SELECT count(*)::int AS n FROM orders')).rows[0].n).toBe(10);
    } finally {
      await onParent.end();
    }

    // As of now (no time): the parent's state at creation; a branch of a branch works too.
    await completed(target, await target.request('POST', `/api/2.0/postgres/${source}/branches?branch_id=now`, {}));
    const now = await connectEndpoint(target, `${source}/branches/now/endpoints/primary`, me);
    try {
      expect((await now.query('SELECT count(*)::int AS n FROM orders')).rows[0].n).toBe(10);
    } finally {
      await now.end();
    }
    await completed(target, await target.request('POST', `/api/2.0/postgres/${source}/branches?branch_id=grandchild`, { spec: { source_branch: `${source}/branches/before-delete` } }));
    const grandchild = await connectEndpoint(target, `${source}/branches/grandchild/endpoints/primary`, me);
    try {
      expect((await grandchild.query("SELECT to_regclass('orders') AS t")).rows[0].t).toBeNull();
    } finally {
      await grandchild.end();
    }

    const listed = expectStatus(await target.request('GET', `/api/2.0/postgres/${source}/branches`), 200).branches as { name: string }[];
    expect(listed.map((b) => b.name).sort()).toEqual([`${source}/branches/before-delete`, `${source}/branches/grandchild`, `${source}/branches/now`, `${source}/branches/production`]);
    // A branch that others were made from is deleted after them.
    const refused = await target.request('DELETE', `/api/2.0/postgres/${source}/branches/before-delete`);
    expect(refused.status).toBe(400);
    await completed(target, await target.request('DELETE', `/api/2.0/postgres/${source}/branches/grandchild?purge=true`));
    await waitForOperation(target, await target.request('DELETE', `/api/2.0/postgres/${source}/branches/before-delete`));
    const deleted = expectStatus(await target.request('GET', `/api/2.0/postgres/${source}/branches/before-delete`), 200);
    expect((deleted.status as Record<string, unknown>).current_state).toBe('DELETED');
  });

  test('a branch at an LSN (source_branch_lsn) has every row committed up to it and none after', async () => {
    const source = await newProject('lsn');
    const sourceEndpoint = `${source}/branches/production/endpoints/primary`;
    const writer = await connectEndpoint(target, sourceEndpoint, me);
    let lsn: string;
    try {
      await writer.query('CREATE TABLE events (id int PRIMARY KEY)');
      await writer.query('INSERT INTO events SELECT generate_series(1, 20)');
      // The end of the WAL right after the commit: a recovery to it replays that commit (inclusive).
      lsn = (await writer.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;
      await writer.query('INSERT INTO events SELECT generate_series(21, 30)');
      await writer.query('DELETE FROM events WHERE id <= 5');
    } finally {
      await writer.end();
    }
    const branch = await completed(target, await target.request('POST', `/api/2.0/postgres/${source}/branches?branch_id=at-lsn`, { spec: { source_branch_lsn: lsn } }));
    expect(branch).toMatchObject({ name: `${source}/branches/at-lsn`, status: { current_state: 'READY', source_branch: `${source}/branches/production`, source_branch_lsn: lsn } });
    const onBranch = await connectEndpoint(target, `${source}/branches/at-lsn/endpoints/primary`, me);
    try {
      const ids = (await onBranch.query<{ ids: number[] }>('SELECT array_agg(id ORDER BY id) AS ids FROM events')).rows[0].ids;
      expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    } finally {
      await onBranch.end();
    }
    const onParent = await connectEndpoint(target, sourceEndpoint, me);
    try {
      expect((await onParent.query('SELECT min(id)::int AS lo, max(id)::int AS hi FROM events')).rows[0]).toEqual({ lo: 6, hi: 30 });
    } finally {
      await onParent.end();
    }
    // An LSN the source has not reached yet is refused, as is one that is not an LSN.
    const ahead = await target.request('POST', `/api/2.0/postgres/${source}/branches?branch_id=ahead`, { spec: { source_branch_lsn: 'FF/0' } });
    const aheadOutcome = ahead.status === 200 ? await waitForOperation(target, ahead) : { error: { error_code: String(ahead.body.error_code) } };
    expect(aheadOutcome.error?.error_code).toBe('INVALID_PARAMETER_VALUE');
    const bad = await target.request('POST', `/api/2.0/postgres/${source}/branches?branch_id=bad`, { spec: { source_branch_lsn: 'yesterday' } });
    expect(bad.status).toBe(400);
  });

  test('a branch with a ttl deletes itself when it expires', async () => {
    await completed(target, await target.request('POST', `/api/2.0/postgres/${project}/branches?branch_id=short-lived`, { spec: { ttl: '2s' } }));
    await waitFor(
      () => target.request('GET', `/api/2.0/postgres/${project}/branches/short-lived`),
      (reply) => reply.status === 404,
      'the expired branch to be gone',
      60_000,
    );
  });

  test('a branch point before the source\'s history is refused', async () => {
    const long = new Date(Date.now() - 3 * 86_400_000).toISOString();
    const reply = await target.request('POST', `/api/2.0/postgres/${project}/branches?branch_id=too-old`, { spec: { source_branch_time: long } });
    expect(reply.status).toBe(400);
    expect(reply.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    const future = await target.request('POST', `/api/2.0/postgres/${project}/branches?branch_id=future`, { spec: { source_branch_time: new Date(Date.now() + 3_600_000).toISOString() } });
    expect(future.status).toBe(400);
  });
});

describe.skipIf(!(!REAL || process.env.LAKEBASE_TEST_CREATE_INSTANCES === '1'))('updates', () => {
  test('PATCH a project (display name, default endpoint settings) and a branch (protection, expiry); a protected branch refuses deletion', async () => {
    const updated = await completed(
      target,
      await target.request('PATCH', `/api/2.0/postgres/${project}?update_mask=spec.display_name,spec.default_endpoint_settings`, {
        spec: { display_name: 'Renamed', default_endpoint_settings: { autoscaling_limit_min_cu: 1, autoscaling_limit_max_cu: 4, suspend_timeout_duration: '600s' } },
      }),
    );
    expect(updated.status).toMatchObject({ display_name: 'Renamed', default_endpoint_settings: { autoscaling_limit_max_cu: 4, suspend_timeout_duration: '600s' } });
    const missing = await target.request('PATCH', `/api/2.0/postgres/${project}?update_mask=spec.display_name`, { spec: { pg_version: 17 } });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toBe("Field 'spec.display_name' is in update_mask but not provided in request");

    await completed(target, await target.request('POST', `/api/2.0/postgres/${project}/branches?branch_id=guarded`, {}));
    const guarded = `${project}/branches/guarded`;
    const protectedBranch = await completed(target, await target.request('PATCH', `/api/2.0/postgres/${guarded}?update_mask=spec.is_protected`, { spec: { is_protected: true } }));
    expect((protectedBranch.status as Record<string, unknown>).is_protected).toBe(true);
    const refused = await target.request('DELETE', `/api/2.0/postgres/${guarded}`);
    expect(refused.status).toBe(400);
    expect(refused.body.message).toBe('cannot delete protected branch');
    const expiring = await completed(target, await target.request('PATCH', `/api/2.0/postgres/${guarded}?update_mask=spec.is_protected,spec.expiration`, { spec: { is_protected: false, ttl: '7200s' } }));
    expect(Date.parse((expiring.status as Record<string, string>).expire_time)).toBeGreaterThan(Date.now() + 7_000_000);
    const byName = await target.request('PATCH', `/api/2.0/postgres/${guarded}?update_mask=spec.ttl`, { spec: { ttl: '60s' } });
    expect(byName.status).toBe(400);
    expect(byName.body.message).toBe("Unknown field path in update_mask: 'spec.ttl'");

    // Soft delete, then undelete: the branch is READY again.
    await completed(target, await target.request('DELETE', `/api/2.0/postgres/${guarded}`));
    const back = await completed(target, await target.request('POST', `/api/2.0/postgres/${guarded}/undelete`, {}));
    expect((back.status as Record<string, unknown>).current_state).toBe('READY');
    await completed(target, await target.request('DELETE', `/api/2.0/postgres/${guarded}?purge=true`));
    const missingOk = await waitForOperation(target, await target.request('DELETE', `/api/2.0/postgres/${guarded}?allow_missing=true`));
    expect(missingOk.done).toBe(true);
  });
});
