// Issue 7, over ZeroMQ with the real kernel: `%lakebase connect` by each name form of a Lakebase
// Autoscaling endpoint on the embedded default, and an endpoint woken from suspension inside a
// running notebook (the session its server ended reconnects at the next cell, which wakes it);
// and the verbs' values in TypeScript: the API's objects, typed (LakebaseEndpoint, ...).
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

test('an Autoscaling verb\'s value is the API\'s object, typed in TypeScript: get, list, --no-wait and delete', async () => {
  // --no-suspension: the endpoint stays ACTIVE, so its state is known when the cell reads it.
  const made = await runCell(kernel, '%lakebase project create typed --no-suspension');
  expect(made.status, made.error?.evalue).toBe('ok');
  const endpoint = 'projects/typed/branches/production/endpoints/primary';

  const got = await runCell(kernel, "const ep = %lakebase endpoint get typed/production/primary\nconst state: 'INIT' | 'ACTIVE' | 'IDLE' | 'DEGRADED' | undefined = ep.status.current_state;\nstate");
  expect(got.status, got.error?.evalue).toBe('ok');
  expect(String(got.result?.['text/plain'])).toBe("'ACTIVE'");
  expect((await getEndpoint(api, endpoint)).status.current_state).toBe('ACTIVE');
  const host = await runCell(kernel, 'ep.status.hosts.host');
  expect(String(host.result?.['text/plain'])).toBe(`'${(await getEndpoint(api, endpoint)).status.hosts.host}'`);
  // Shown as before: the value alone in a cell is the field table, not the object's dump.
  const shown = await runCell(kernel, 'ep');
  expect(String(shown.result?.['text/plain'])).toMatch(/^ state +\| ACTIVE$/m);
  expect(String(shown.result?.['text/html'])).toContain('<table');

  // The type is the field's, not any: a wrong use and a misspelt field are compile errors that
  // block the whole cell, so the magic before them never runs.
  const noSuchState = await runCell(kernel, "ep.status.current_state === 'RUNNING'");
  expect(noSuchState.status).toBe('error');
  expect(noSuchState.error?.evalue).toMatch(/types 'LakebaseEndpointState' and '"RUNNING"' have no overlap/);
  const misspelt = await runCell(kernel, '%lakebase branch create typed/never\nep.status.curent_state');
  expect(misspelt.status).toBe('error');
  expect(misspelt.error?.evalue).toContain("Property 'curent_state' does not exist");
  expect(((await getBranches('projects/typed')) as { name: string }[]).map((branch) => branch.name)).not.toContain('projects/typed/branches/never');

  // A list verb's value is an array of typed objects.
  const listed = await runCell(kernel, 'const eps = %lakebase endpoint list typed/production\nconst kinds: string[] = eps.map((e) => e.status.endpoint_type);\n[eps.length, ...kinds, eps[0].name].join(\' \')');
  expect(listed.status, listed.error?.evalue).toBe('ok');
  expect(String(listed.result?.['text/plain'])).toBe(`'1 ENDPOINT_TYPE_READ_WRITE ${endpoint}'`);
  const element = await runCell(kernel, 'const host: number = eps[0].status.hosts.host;');
  expect(element.status).toBe('error');
  expect(element.error?.evalue).toContain("Type 'string' is not assignable to type 'number'");

  // --no-wait: the value is the operation, typed as one (it has no status).
  const started = await runCell(kernel, 'const op = %lakebase branch create typed/later --no-wait\nop.name.startsWith("projects/typed/branches/later/operations/")');
  expect(started.status, started.error?.evalue).toBe('ok');
  expect(String(started.result?.['text/plain'])).toBe('true');
  const noStatus = await runCell(kernel, 'op.status');
  expect(noStatus.status).toBe('error');
  expect(noStatus.error?.evalue).toContain("Property 'status' does not exist on type 'LakebaseOperation<LakebaseBranch>'");

  // A delete's value is its sentence (LakebaseMessage), as for the Provisioned verbs.
  const gone = await runCell(kernel, 'const gone = %lakebase project delete typed --purge --yes\nconst said: string = gone.text; said');
  expect(gone.status, gone.error?.evalue).toBe('ok');
  expect(String(gone.result?.['text/plain'])).toBe("'Deleted the project typed for good.'");
}, 120_000);

async function getBranches(project: string): Promise<unknown[]> {
  const reply = await api.request('GET', `/api/2.0/postgres/${project}/branches`);
  return (reply.body.branches as unknown[] | undefined) ?? [];
}
