// An Autoscaling endpoint whose PostgreSQL server dies under it (kill -9 of the postmaster) reads
// DEGRADED, as databricks-apis.md §4's EndpointState has it, until its server runs again; the next
// login does not wait for the restart policy's pause but starts the server at once, with its data,
// and the endpoint reads ACTIVE again. The emulator here pauses a minute before each restart, so
// that the DEGRADED state lasts until the login and nothing depends on how fast the machine is.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { completed, connectEndpoint, createProject, getEndpoint } from './support/autoscaling';
import { openWorkspaceUnderTest, realWorkspaceConfigured, waitFor } from './support/workspace-under-test';
import type { WorkspaceUnderTest } from './support/workspace-under-test';

let target: WorkspaceUnderTest;
let me: string;

beforeAll(async () => {
  if (realWorkspaceConfigured()) return;
  target = await openWorkspaceUnderTest({ serverRestartDelaysMs: [60_000, 60_000] });
  me = (await target.client.currentUser.me()).userName ?? '';
});

afterAll(async () => {
  await target?.stop();
});

/** The postmaster of a branch's server, from its data directory (the emulator's state names it). */
function postmasterOf(workspace: WorkspaceUnderTest, branch: string): { pid: number; pgdata: string } {
  const dataDir = workspace.emulator!.dataDir;
  const state = JSON.parse(readFileSync(join(dataDir, 'state.json'), 'utf8')) as { autoscaling: { branches: Record<string, { dataUid: string }> } };
  const pgdata = join(dataDir, 'instances', state.autoscaling.branches[branch].dataUid, 'pgdata');
  return { pid: Number(readFileSync(join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]), pgdata };
}

test.skipIf(realWorkspaceConfigured())('a killed endpoint server reads DEGRADED until the next login starts it again, with its data', async () => {
  const id = target.uniqueName('crashy');
  await createProject(target, id);
  const branch = `projects/${id}/branches/production`;
  const endpoint = `${branch}/endpoints/primary`;
  const writer = await connectEndpoint(target, endpoint, me);
  await writer.query('CREATE TABLE kept (n int)');
  await writer.query('INSERT INTO kept VALUES (1), (2)');
  expect((await getEndpoint(target, endpoint)).status.current_state).toBe('ACTIVE');
  const ended = new Promise<void>((resolve) => writer.on('error', () => resolve()));

  const killed = postmasterOf(target, branch);
  process.kill(killed.pid, 'SIGKILL');
  await ended;
  await waitFor(() => getEndpoint(target, endpoint), (e) => e.status.current_state === 'DEGRADED', 'the endpoint to read DEGRADED', 30_000);
  // Still down: the restart policy waits a minute, and nothing else starts it.
  expect((await getEndpoint(target, endpoint)).status.current_state).toBe('DEGRADED');

  const again = await connectEndpoint(target, endpoint, me);
  try {
    expect((await again.query('SELECT array_agg(n ORDER BY n) AS ns FROM kept')).rows[0].ns).toEqual([1, 2]);
    expect(postmasterOf(target, branch).pid).not.toBe(killed.pid);
    expect((await getEndpoint(target, endpoint)).status.current_state).toBe('ACTIVE');
  } finally {
    await again.end();
  }
});

test.skipIf(realWorkspaceConfigured())('with the default restart policy the server comes back by itself, the endpoint reads ACTIVE again, and a read-only endpoint streams from it again', async () => {
  const quick = await openWorkspaceUnderTest();
  try {
    const id = quick.uniqueName('bouncy');
    await createProject(quick, id);
    const branch = `projects/${id}/branches/production`;
    const endpoint = `${branch}/endpoints/primary`;
    const first = await connectEndpoint(quick, endpoint, me);
    await first.query('CREATE TABLE kept (n int); INSERT INTO kept VALUES (3)');
    first.on('error', () => undefined);
    // A read-only endpoint's standby, running and streaming from the server about to be killed.
    await completed(quick, await quick.request('POST', `/api/2.0/postgres/${branch}/endpoints?endpoint_id=reader`, { spec: { endpoint_type: 'ENDPOINT_TYPE_READ_ONLY' } }));
    const reader = await connectEndpoint(quick, `${branch}/endpoints/reader`, me);
    const killed = postmasterOf(quick, branch);
    process.kill(killed.pid, 'SIGKILL');
    // A new postmaster, started by the supervision, not by a login.
    await waitFor(
      async () => {
        try {
          return postmasterOf(quick, branch).pid;
        } catch {
          return killed.pid;
        }
      },
      (pid) => pid !== killed.pid,
      'a new postmaster',
      60_000,
    );
    await waitFor(() => getEndpoint(quick, endpoint), (e) => e.status.current_state === 'ACTIVE', 'the endpoint to read ACTIVE again', 60_000);
    const log = readFileSync(join(quick.emulator!.dataDir, 'emulator.log'), 'utf8');
    expect(log).toMatch(new RegExp(`compute of ${branch}: running again after it stopped unexpectedly \\(killed by SIGKILL\\)`));
    const again = await connectEndpoint(quick, endpoint, me);
    try {
      expect((await again.query('SELECT n FROM kept')).rows).toEqual([{ n: 3 }]);
      await again.query('INSERT INTO kept VALUES (4)');
    } finally {
      await again.end();
    }
    // The standby follows the restarted server (a new socket) and replays what it writes.
    try {
      const seen = await waitFor(
        async () => (await reader.query<{ ns: number[] }>('SELECT array_agg(n ORDER BY n) AS ns FROM kept')).rows[0].ns,
        (ns) => ns.length === 2,
        'row 4 on the read-only endpoint',
        60_000,
      );
      expect(seen).toEqual([3, 4]);
    } finally {
      await reader.end();
    }
  } finally {
    await quick.stop();
  }
});
