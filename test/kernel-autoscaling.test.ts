// Issue 7, over ZeroMQ with the real kernel: `%lakebase connect` by each name form of a Lakebase
// Autoscaling endpoint on the embedded default, and an endpoint woken from suspension inside a
// running notebook (the session its server ended reconnects at the next cell, which wakes it).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { WorkspaceClient } from '@databricks/sdk-experimental';
import { ensureEmulatorDaemon, stopEmulatorDaemon } from '../emulator/index';
import type { EmulatorEndpoint } from '../emulator/contracts';
import type { KernelClient } from '../kernel/wire/client';
import { runCell, startBuiltKernel, stopKernel } from './support/jupyter';
import { completed, getEndpoint } from './support/autoscaling';
import type { WorkspaceUnderTest } from './support/workspace-under-test';

let dataDir: string;
let emulator: EmulatorEndpoint;
let kernel: KernelClient;
let api: WorkspaceUnderTest;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lakebase-kernel-autoscaling-'));
  // The kernel's embedded default finds this daemon: suspend timeouts of seconds are allowed there.
  emulator = await ensureEmulatorDaemon({ dataDir, minSuspendTimeoutSeconds: 1, transitionDelayMs: 0 });
  const client = new WorkspaceClient({ host: emulator.host, token: emulator.user.token, authType: 'pat' });
  api = {
    async request(method: string, path: string, body?: unknown) {
      const headers = new Headers({ Accept: 'application/json', 'Content-Type': 'application/json' });
      await client.config.authenticate(headers);
      const response = await fetch(`${emulator.host}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
  } as WorkspaceUnderTest;
  await completed(api, await api.request('POST', '/api/2.0/postgres/projects?project_id=naps', { initial_endpoint_spec: { suspend_timeout_duration: '2s' } }));
  kernel = await startBuiltKernel({ output: 'ignore', env: { ...process.env, LAKEBASE_EMULATOR_DIR: dataDir } });
});

afterAll(async () => {
  if (kernel) await stopKernel(kernel);
  await stopEmulatorDaemon(dataDir);
  await rm(dataDir, { recursive: true, force: true });
});

const text = (reply: Awaited<ReturnType<typeof runCell>>) => String(reply.result?.['text/plain'] ?? '') + reply.stdout + reply.stderr;

test('connect by PROJECT, PROJECT/BRANCH and the full endpoint name; a suspended endpoint wakes at the next cell', async () => {
  const endpoint = 'projects/naps/branches/production/endpoints/primary';
  const byProject = await runCell(kernel, '%lakebase connect naps');
  expect(byProject.status).toBe('ok');
  expect(text(byProject)).toContain(`(endpoint ${endpoint})`);
  const byBranch = await runCell(kernel, '%lakebase connect naps/production --as branch');
  expect(text(byBranch)).toContain(`(endpoint ${endpoint})`);
  const byName = await runCell(kernel, `%lakebase connect ${endpoint} --as full`);
  expect(text(byName)).toContain(`Connected "full"`);
  expect((await runCell(kernel, '%lakebase use naps')).status).toBe('ok');
  const created = await runCell(kernel, '%%lakebase\nCREATE TABLE naps (n int);\nINSERT INTO naps VALUES (1), (2);');
  expect(created.status).toBe('ok');
  const before = await runCell(kernel, '%lakebase sql SELECT pg_backend_pid() AS backend');

  // Nothing runs for the suspend timeout: the endpoint scales to zero under the open sessions.
  await waitForState(endpoint, 'IDLE');

  const after = await runCell(kernel, '%lakebase sql SELECT sum(n)::int AS total FROM naps');
  expect(after.status).toBe('ok');
  expect(String(after.result?.['text/plain'])).toMatch(/\b3\b/);
  expect((await getEndpoint(api, endpoint)).status.current_state).toBe('ACTIVE');
  // A new server answered: the session logged in again, which woke the endpoint.
  const backend = await runCell(kernel, '%lakebase sql SELECT pg_backend_pid() AS backend');
  expect(backend.result?.['text/plain']).not.toEqual(before.result?.['text/plain']);
}, 120_000);

async function waitForState(endpoint: string, state: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await getEndpoint(api, endpoint)).status.current_state !== state) {
    if (Date.now() > deadline) throw new Error(`${endpoint} never became ${state}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
