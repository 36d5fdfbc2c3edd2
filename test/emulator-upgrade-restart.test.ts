// An upgraded Provisioned instance follows its Autoscaling project (its data) across an emulator
// restart: soft-deleted with its project, it reads STOPPED again after the restart and refuses
// logins; undeleting the project brings it back with its data.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { WorkspaceClient } from '@databricks/sdk-experimental';
import type { RunningEmulator } from '../emulator/contracts';
import { startEmulator } from '../emulator/index';
import { loginToInstance, waitFor } from './support/workspace-under-test';

let dataDir: string | undefined;
let emulator: RunningEmulator | undefined;

afterAll(async () => {
  await emulator?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** A REST call as the emulator's default user; fails on anything but 200. */
async function call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${emulator!.host}${path}`, {
    method,
    headers: { Authorization: `Bearer ${emulator!.user.token}`, 'Content-Type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const reply = (await response.json()) as Record<string, unknown>;
  if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(reply)}`);
  return reply;
}

/** Waits for a long-running operation of the postgres API and fails with its error. */
async function finished(started: Record<string, unknown>): Promise<void> {
  const operation = await waitFor(
    () => call('GET', `/api/2.0/postgres/${String(started.name)}`),
    (current) => current.done === true,
    `the operation ${String(started.name)}`,
  );
  if (operation.error !== undefined) throw new Error(`operation failed: ${JSON.stringify(operation.error)}`);
}

test('an upgraded instance soft-deleted with its project stays STOPPED across a restart; undeleted, it answers with its data', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lakebase-upgrade-restart-'));
  await chmod(dataDir, 0o755);
  emulator = await startEmulator({ dataDir, port: 0, transitionDelayMs: 0 });
  const sdk = () => new WorkspaceClient({ host: emulator!.host, token: emulator!.user.token, authType: 'pat' });
  const instance = await (await sdk().database.createDatabaseInstance({ database_instance: { name: 'legacy', capacity: 'CU_1' } })).wait();
  const login = () => loginToInstance(sdk(), { name: 'legacy', readWriteDns: instance.read_write_dns ?? '' }, emulator!.user.userName, emulator!.caCertPath);
  const first = await login();
  await first.query('CREATE TABLE kept (n int)');
  await first.query('INSERT INTO kept VALUES (7)');
  await first.end();

  await call('PATCH', '/api/2.0/database/instances/legacy/upgrade');
  await waitFor(() => sdk().database.getDatabaseInstance({ name: 'legacy' }), (current) => current.state === 'AVAILABLE', 'the upgrade');
  await finished(await call('DELETE', '/api/2.0/postgres/projects/legacy'));
  expect(await sdk().database.getDatabaseInstance({ name: 'legacy' })).toMatchObject({ state: 'STOPPED', effective_stopped: true });

  await emulator.stop();
  emulator = await startEmulator({ dataDir, port: 0, transitionDelayMs: 0 });
  expect(await sdk().database.getDatabaseInstance({ name: 'legacy' })).toMatchObject({ state: 'STOPPED', effective_stopped: true });
  await expect(login()).rejects.toThrow();

  await finished(await call('POST', '/api/2.0/postgres/projects/legacy/undelete', {}));
  expect((await sdk().database.getDatabaseInstance({ name: 'legacy' })).state).toBe('AVAILABLE');
  const back = await login();
  try {
    expect((await back.query('SELECT n FROM kept')).rows).toEqual([{ n: 7 }]);
  } finally {
    await back.end();
  }
});
