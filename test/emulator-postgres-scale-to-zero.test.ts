// Autoscaling endpoints scale to zero in the emulator as on the real service: idle for their
// suspend timeout, the server stops (IDLE); the next login wakes it inside the login gateway, so
// the client only sees a slower connect; `no_suspension` keeps it up; `disabled` refuses logins.
// The emulator runs with a 1-second floor on suspend timeouts so the test takes seconds, not minutes.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { completed, connectEndpoint, createProject, getEndpoint } from './support/autoscaling';
import { openWorkspaceUnderTest, realWorkspaceConfigured, waitFor } from './support/workspace-under-test';
import type { WorkspaceUnderTest } from './support/workspace-under-test';

let target: WorkspaceUnderTest;
let me: string;

beforeAll(async () => {
  target = await openWorkspaceUnderTest({ minSuspendTimeoutSeconds: 1 });
  me = (await target.client.currentUser.me()).userName ?? '';
});

afterAll(async () => {
  await target?.stop();
});

test.skipIf(realWorkspaceConfigured())('an idle endpoint stops its server and wakes on the next login, with its data', async () => {
  const id = target.uniqueName('sleepy');
  await createProject(target, id, { initial_endpoint_spec: { suspend_timeout_duration: '2s' } });
  const endpoint = `projects/${id}/branches/production/endpoints/primary`;
  const first = await connectEndpoint(target, endpoint, me);
  await first.query('CREATE TABLE naps (n int)');
  await first.query('INSERT INTO naps VALUES (1)');
  expect((await getEndpoint(target, endpoint)).status.current_state).toBe('ACTIVE');
  // An open session that sends nothing does not keep the compute up ("no queries or
  // connections"); PostgreSQL's shutdown ends it.
  const ended = new Promise<string>((resolve) => first.on('error', (error: Error & { code?: string }) => resolve(error.code ?? error.message)));

  await waitFor(() => getEndpoint(target, endpoint), (e) => e.status.current_state === 'IDLE', 'the endpoint to scale to zero', 30_000);
  expect(await ended).toBe('57P01');
  // Nothing listens on the server's socket any more: the server process is gone, not paused.
  const serverProcesses = await import('node:child_process').then(({ execFileSync }) =>
    execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((line) => line.includes(`lakebase projects/${id}/`)),
  );
  expect(serverProcesses).toEqual([]);

  const woken = await connectEndpoint(target, endpoint, me);
  try {
    expect((await woken.query('SELECT n FROM naps')).rows).toEqual([{ n: 1 }]);
    expect((await getEndpoint(target, endpoint)).status.current_state).toBe('ACTIVE');
  } finally {
    await woken.end();
  }
});

test.skipIf(realWorkspaceConfigured())('a read-only endpoint (a hot standby) scales to zero with its branch and wakes at its next login with the rows written meanwhile', async () => {
  const id = target.uniqueName('reader');
  await createProject(target, id, { initial_endpoint_spec: { suspend_timeout_duration: '2s' } });
  const branch = `projects/${id}/branches/production`;
  const writerEndpoint = `${branch}/endpoints/primary`;
  const readerEndpoint = `${branch}/endpoints/reader`;
  await completed(target, await target.request('POST', `/api/2.0/postgres/${branch}/endpoints?endpoint_id=reader`, { spec: { endpoint_type: 'ENDPOINT_TYPE_READ_ONLY', suspend_timeout_duration: '2s' } }));
  const writer = await connectEndpoint(target, writerEndpoint, me);
  await writer.query('CREATE TABLE notes (n int)');
  await writer.query('INSERT INTO notes VALUES (1)');
  await writer.end();

  // The login that wakes the standby waits until it has caught up with the primary, as a
  // read-only compute of the real service starts at the branch's latest LSN: what was committed
  // before the login is there at once, not after some replay lag.
  const readAfterWake = async (expected: number[]) => {
    const reader = await connectEndpoint(target, readerEndpoint, me);
    try {
      expect((await reader.query<{ ns: number[] }>('SELECT array_agg(n ORDER BY n) AS ns FROM notes')).rows[0].ns).toEqual(expected);
      expect((await reader.query('SELECT pg_is_in_recovery() AS standby')).rows[0].standby).toBe(true);
      expect((await getEndpoint(target, readerEndpoint)).status.current_state).toBe('ACTIVE');
    } finally {
      await reader.end();
    }
  };
  await readAfterWake([1]);

  await waitFor(() => getEndpoint(target, readerEndpoint), (e) => e.status.current_state === 'IDLE', 'the read-only endpoint to scale to zero', 60_000);
  await waitFor(() => getEndpoint(target, writerEndpoint), (e) => e.status.current_state === 'IDLE', 'the read-write endpoint to scale to zero', 60_000);
  const serverProcesses = await import('node:child_process').then(({ execFileSync }) =>
    execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((line) => line.includes(`lakebase projects/${id}/`)),
  );
  expect(serverProcesses).toEqual([]);

  // Written while the standby sleeps; it catches up when it wakes.
  const again = await connectEndpoint(target, writerEndpoint, me);
  await again.query('INSERT INTO notes VALUES (2)');
  await again.end();
  expect((await getEndpoint(target, readerEndpoint)).status.current_state).toBe('IDLE');
  await readAfterWake([1, 2]);
});

test.skipIf(realWorkspaceConfigured())('a session inside a transaction keeps the compute up past the timeout', async () => {
  const id = target.uniqueName('busy');
  await createProject(target, id, { initial_endpoint_spec: { suspend_timeout_duration: '1s' } });
  const endpoint = `projects/${id}/branches/production/endpoints/primary`;
  const session = await connectEndpoint(target, endpoint, me);
  try {
    await session.query('BEGIN');
    await session.query('CREATE TABLE held (n int)');
    // Well past the timeout and the API-call grace, while the transaction stays open: an absence
    // (no suspension) can only be observed by waiting; a slower machine only waits longer.
    const backend = (await session.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    expect((await getEndpoint(target, endpoint)).status.current_state).toBe('ACTIVE');
    expect((await session.query('SELECT pg_backend_pid() AS pid')).rows[0].pid).toBe(backend);
    await session.query('COMMIT');
  } finally {
    await session.end();
  }
  await waitFor(() => getEndpoint(target, endpoint), (e) => e.status.current_state === 'IDLE', 'the endpoint to scale to zero after the commit', 30_000);
});

test.skipIf(realWorkspaceConfigured())('no_suspension keeps the server up; a disabled endpoint refuses logins until enabled', async () => {
  const id = target.uniqueName('awake');
  await createProject(target, id, { initial_endpoint_spec: { no_suspension: true } });
  const endpoint = `projects/${id}/branches/production/endpoints/primary`;
  const session = await connectEndpoint(target, endpoint, me);
  await session.end();
  const endpointBody = (await target.request('GET', `/api/2.0/postgres/${endpoint}`)).body as { status: Record<string, unknown> };
  expect(endpointBody.status.no_suspension).toBe(true);

  await completed(target, await target.request('PATCH', `/api/2.0/postgres/${endpoint}?update_mask=spec.disabled`, { spec: { disabled: true } }));
  const refused = await connectEndpoint(target, endpoint, me).then(
    (client) => client.end().then(() => undefined),
    (error: { code?: string; message: string }) => error,
  );
  expect(refused?.code).toBe('57P03');
  expect(refused?.message).toBe(`the endpoint ${endpoint} is disabled`);

  await completed(target, await target.request('PATCH', `/api/2.0/postgres/${endpoint}?update_mask=spec.disabled`, { spec: { disabled: false } }));
  const again = await connectEndpoint(target, endpoint, me);
  expect((await again.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  await again.end();

  const unknownMask = await target.request('PATCH', `/api/2.0/postgres/${endpoint}?update_mask=spec.no_suspension`, { spec: { no_suspension: false } });
  expect(unknownMask.status).toBe(400);
  expect(unknownMask.body.message).toBe("Unknown field path in update_mask: 'spec.no_suspension'");
});
