// Issue 3: "an emulator restart mid-session is survived (the next cell succeeds)". A kernel
// connected to the embedded default (its own emulator, in its own data directory) keeps working
// after the emulator, and with it the instance's PostgreSQL server, is stopped and started again.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ensureEmulatorDaemon, stopEmulatorDaemon } from '../emulator/index';
import type { KernelClient } from '../kernel/wire/client';
import { runCell, startBuiltKernel, stopKernel } from './support/jupyter';

let dataDir: string;
let kernel: KernelClient;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lakebase-restart-emulator-'));
  kernel = await startBuiltKernel({ output: 'ignore', env: { ...process.env, LAKEBASE_EMULATOR_DIR: dataDir } });
});
afterAll(async () => {
  await stopKernel(kernel);
  await stopEmulatorDaemon(dataDir);
  await rm(dataDir, { recursive: true, force: true });
});

test('the next cell succeeds after the emulator restarts under an open connection', async () => {
  const connected = await runCell(kernel, '%lakebase connect');
  expect(connected.status).toBe('ok');
  const before = await runCell(kernel, '%lakebase sql SELECT pg_backend_pid() AS backend');
  expect(before.status).toBe('ok');

  const { stopped } = await stopEmulatorDaemon(dataDir);
  expect(stopped).toBe(true);
  await ensureEmulatorDaemon({ dataDir });

  const after = await runCell(kernel, '%lakebase sql SELECT 42 AS answer');
  expect(after.status).toBe('ok');
  expect(String(after.result?.['text/plain'])).toMatch(/\b42\b/);
  // A new server process answered: the connection was re-established, not kept.
  const backend = await runCell(kernel, '%lakebase sql SELECT pg_backend_pid() AS backend');
  expect(backend.result?.['text/plain']).not.toEqual(before.result?.['text/plain']);
});
