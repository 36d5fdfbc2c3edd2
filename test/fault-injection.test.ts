// Fault injection (issue 12, item 2): the PostgreSQL server of an instance is killed under a
// running query. Before, the instance kept reading AVAILABLE, every login failed with
// ECONNREFUSED and a hint about VPNs and firewalls, and only a manual stop and start brought it
// back. Now the emulator reports the crash (STARTING, with why), restarts the server and reports
// it AVAILABLE again, and the kernel's next cell just works; a server that cannot be restarted
// reads FAILED with the reason, which the kernel names, until a start brings it back.
import { randomUUID } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { WorkspaceClient } from '@databricks/sdk-experimental';
import type { RunningEmulator } from '../emulator/contracts';
import { startEmulator } from '../emulator/index';
import type { KernelClient } from '../kernel/wire/client';
import { runCell, startBuiltKernel, stopKernel } from './support/jupyter';
import { freePort } from './support/postgres';

const INSTANCE = 'faulty';
let dataDir: string;
let emulator: RunningEmulator;
let sdk: WorkspaceClient;
let uid: string;
let kernel: KernelClient;

interface InstanceView {
  state?: string;
  uid?: string;
  emulator_state_message?: string;
}

async function instance(): Promise<InstanceView> {
  return (await sdk.database.getDatabaseInstance({ name: INSTANCE })) as InstanceView;
}

/** Polls the instance until `done` says so; returns every state seen on the way, with its message. */
async function watch(done: (view: InstanceView) => boolean): Promise<InstanceView[]> {
  const seen: InstanceView[] = [];
  for (;;) {
    const view = await instance();
    const last = seen[seen.length - 1];
    if (!last || last.state !== view.state || last.emulator_state_message !== view.emulator_state_message) seen.push(view);
    if (done(view)) return seen;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function pgdata(): string {
  return join(dataDir, 'instances', uid, 'pgdata');
}

/** kill -9 of the instance's postmaster, as the OOM killer or an operator would. */
function killPostmaster(): void {
  const pid = Number(readFileSync(join(pgdata(), 'postmaster.pid'), 'utf8').split('\n')[0]);
  process.kill(pid, 'SIGKILL');
}

/** A query as the instance's creator, over TLS with a fresh credential. */
async function query(sql: string): Promise<pg.QueryResult> {
  const view = await sdk.database.getDatabaseInstance({ name: INSTANCE });
  const { token } = await sdk.database.generateDatabaseCredential({ instance_names: [INSTANCE], request_id: randomUUID() });
  const client = new pg.Client({
    host: view.read_write_dns,
    port: 5432,
    user: emulator.user.userName,
    password: token,
    database: 'databricks_postgres',
    ssl: { ca: readFileSync(emulator.caCertPath) },
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** PATCH with a body (the SDK 0.17 drops PATCH bodies; see emulator/README.md). */
async function patch(fields: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${emulator.host}/api/2.0/database/instances/${INSTANCE}?update_mask=${Object.keys(fields).join(',')}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${emulator.user.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: INSTANCE, ...fields }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lakebase-fault-'));
  // As root the servers run as the `postgres` OS user, which must be able to enter it.
  await chmod(dataDir, 0o755);
  // STARTING lasts at least a second, so that watching it is no race; restarts come quickly.
  emulator = await startEmulator({ dataDir, port: await freePort(), transitionDelayMs: 1000, serverRestartDelaysMs: [300, 600, 1200] });
  sdk = new WorkspaceClient({ host: emulator.host, token: emulator.user.token, authType: 'pat' });
  await sdk.database.createDatabaseInstance({ database_instance: { name: INSTANCE, capacity: 'CU_1' } });
  const seen = await watch((view) => view.state !== 'STARTING');
  expect(seen[seen.length - 1].state).toBe('AVAILABLE');
  uid = seen[seen.length - 1].uid!;
  kernel = await startBuiltKernel({
    output: 'ignore',
    env: { ...process.env, DATABRICKS_HOST: emulator.host, DATABRICKS_TOKEN: emulator.user.token, PGSSLROOTCERT: emulator.caCertPath },
  });
  expect((await runCell(kernel, `%lakebase connect ${INSTANCE}`)).status).toBe('ok');
  expect((await runCell(kernel, '%%lakebase\nCREATE TABLE kept (id int);\nINSERT INTO kept VALUES (1), (2);')).status).toBe('ok');
}, 120_000);
afterAll(async () => {
  await stopKernel(kernel);
  await emulator?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

test('a server killed mid-query is reported, restarted and AVAILABLE again, and the next cell succeeds', { timeout: 120_000 }, async () => {
  const running = kernel.execute('%lakebase sql SELECT pg_sleep(60)');
  // The query runs on the server before the server is killed under it.
  while (Number((await query("SELECT count(*) AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'")).rows[0].n) === 0) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  killPostmaster();
  // Watched from the kill on (on a loaded machine the kernel's reply can come after the whole
  // restart, and a watch started then would see AVAILABLE only): first until the emulator notices
  // the crash, then until it is back.
  const watching = (async () => {
    const noticed = (await watch((view) => view.state !== 'AVAILABLE')).slice(-1);
    const back = await watch((view) => view.state === 'AVAILABLE' && view.emulator_state_message === undefined);
    const same = back[0].state === noticed[0].state && back[0].emulator_state_message === noticed[0].emulator_state_message;
    return [...noticed, ...(same ? back.slice(1) : back)];
  })();

  const interrupted = await running;
  expect(interrupted.reply.content.status).toBe('error');
  const seen = await watching;
  const starting = seen.find((view) => view.state === 'STARTING');
  expect(starting?.emulator_state_message).toMatch(/^Its PostgreSQL server stopped unexpectedly \(killed by SIGKILL\) at .*; restarting it \(attempt 1 of 3\)\.$/);
  expect(seen.map((view) => view.state)).toEqual(['STARTING', 'AVAILABLE']);

  // No manual restart: the kernel's session reconnects, and every committed row is there.
  const after = await runCell(kernel, '%lakebase sql SELECT count(*)::int AS n FROM kept');
  expect(after.status, JSON.stringify(after.error)).toBe('ok');
  expect(String(after.result?.['text/plain'])).toMatch(/\b2\b/);
});

test('a server that cannot be restarted reads FAILED with the reason, the kernel names it, and a start recovers it', { timeout: 120_000 }, async () => {
  // A setting PostgreSQL refuses at start: every restart fails until it is removed.
  const autoConf = join(pgdata(), 'postgresql.auto.conf');
  const original = readFileSync(autoConf, 'utf8');
  appendFileSync(autoConf, 'shared_buffers = lots\n');
  killPostmaster();

  const seen = await watch((view) => view.state === 'FAILED');
  expect(seen.some((view) => view.state === 'STARTING' && /restarting it \(attempt [23] of 3; the last attempt failed: /.test(view.emulator_state_message ?? ''))).toBe(true);
  const failed = seen[seen.length - 1];
  expect(failed.emulator_state_message).toMatch(/^Its PostgreSQL server stopped unexpectedly \(killed by SIGKILL\) at .* and could not be started again \(3 attempts; the last one failed: .*shared_buffers.*\)\./);

  // The kernel names the cause instead of blaming the network.
  const refused = await runCell(kernel, '%lakebase sql SELECT 1');
  expect(refused.status).toBe('error');
  const shown = refused.error!.traceback.join('\n');
  expect(shown).toMatch(/The instance faulty is FAILED and does not take connections now\. Its PostgreSQL server stopped unexpectedly \(killed by SIGKILL\)/);
  expect(shown).toMatch(/HINT: +Start it again with `%lakebase instance start faulty` \(or `databricks database update-database-instance faulty stopped --stopped=false`\)/);
  expect(shown).not.toMatch(/VPN|firewall/);

  writeFileSync(autoConf, original);
  await patch({ stopped: false });
  const back = await watch((view) => view.state !== 'STARTING');
  expect(back[back.length - 1]).toMatchObject({ state: 'AVAILABLE' });
  expect(back[back.length - 1].emulator_state_message).toBeUndefined();
  const after = await runCell(kernel, '%lakebase sql SELECT count(*)::int AS n FROM kept');
  expect(after.status, JSON.stringify(after.error)).toBe('ok');
  expect(String(after.result?.['text/plain'])).toMatch(/\b2\b/);
});
