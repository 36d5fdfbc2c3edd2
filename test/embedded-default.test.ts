// The embedded default with the real background emulator (the daemon `%lakebase connect` starts
// on a machine with no Databricks configuration), in a temporary data directory: the first
// connect starts it and creates the default instance; the next one reuses both; a stopped default
// instance is started again. Nothing printed carries a secret.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { EmulatorOptions } from '../emulator/contracts';
import { ensureEmulatorDaemon, stopEmulatorDaemon } from '../emulator/index';
import { createRefresherRegistry, RefresherRegistry } from '../lakebase/credentials';
import { connectEmbedded, EmbeddedConnection, EMBEDDED_INSTANCE_NAME } from '../lakebase/embedded';
import { openWorkspace } from '../lakebase/workspace';
import { buildEmulator } from './support/build-emulator';

let dataDir: string;
let refreshers: RefresherRegistry;
// A free port and no transition delays, which the default daemon (fixed port, realistic delays) has not.
const ensureEmulator = (options: EmulatorOptions) => ensureEmulatorDaemon({ ...options, port: 0, transitionDelayMs: 0 });

beforeAll(async () => {
  await buildEmulator();
  dataDir = await mkdtemp(join(tmpdir(), 'lakebase-embedded-'));
  refreshers = createRefresherRegistry();
}, 180_000);

afterAll(async () => {
  refreshers?.stopAll();
  if (dataDir) {
    await stopEmulatorDaemon(dataDir);
    await rm(dataDir, { recursive: true, force: true });
  }
}, 120_000);

async function connect(progress: string[]): Promise<EmbeddedConnection> {
  return connectEmbedded({ dataDir, ensureEmulator, refreshers, onProgress: (message) => progress.push(message) });
}

async function currentUser(connection: EmbeddedConnection): Promise<string> {
  const pool = connection.createPool({ max: 1 });
  try {
    return (await pool.query<{ user: string }>('SELECT current_user AS user')).rows[0].user;
  } finally {
    await pool.end();
  }
}

test('the first connect starts the emulator and creates the default instance; the next one reuses both', async () => {
  const firstProgress: string[] = [];
  const first = await connect(firstProgress);
  const endpoint = await ensureEmulator({ dataDir });
  expect(first.instanceName).toBe(EMBEDDED_INSTANCE_NAME);
  expect(first.emulator).toEqual({ host: endpoint.host, dataDir: endpoint.dataDir, caCertPath: endpoint.caCertPath });
  expect(first.sslmode).toBe('verify-full');
  expect(firstProgress).toEqual([`Creating the local instance ${EMBEDDED_INSTANCE_NAME} ...`]);
  expect(await currentUser(first)).toBe(endpoint.user.userName);

  const againProgress: string[] = [];
  const again = await connect(againProgress);
  expect(again.emulator.host).toBe(first.emulator.host);
  expect(again.instance.uid).toBe(first.instance.uid);
  expect(againProgress).toEqual([]);
  expect(await currentUser(again)).toBe(endpoint.user.userName);

  // No secret of the emulator's in anything a notebook could print.
  for (const shown of [inspect(again, { depth: 6 }), JSON.stringify(again.refresher.status()), ...firstProgress]) {
    expect(shown).not.toContain(endpoint.user.token);
    expect(shown).not.toContain(endpoint.servicePrincipal.clientSecret);
  }
}, 180_000);

test('a stopped default instance is started again', async () => {
  const endpoint = await ensureEmulator({ dataDir });
  const workspace = await openWorkspace({ host: endpoint.host, token: endpoint.user.token, authType: 'pat', env: {} });
  await workspace.stopInstance(EMBEDDED_INSTANCE_NAME);
  const progress: string[] = [];
  const connection = await connect(progress);
  expect(progress).toEqual([`Starting the local instance ${EMBEDDED_INSTANCE_NAME} ...`]);
  expect(await currentUser(connection)).toBe(endpoint.user.userName);
}, 120_000);
