// `lakebase-kernel emulator start|stop|status|env` and the background daemon behind it: a real
// detached process per data directory, found again by every caller, stopped with its servers.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { WorkspaceClient } from '@databricks/sdk-experimental';
import { emulatorStatus, ensureEmulatorDaemon, runEmulatorCli, stopEmulatorDaemon } from '../emulator/index';
// Zombie-aware: a daemon that has exited but is not reaped yet by this process counts as gone.
import { processAlive } from '../emulator/endpoint';
import { buildEmulator } from './support/build-emulator';

const dataDirs: string[] = [];

async function newDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lakebase-cli-'));
  dataDirs.push(dir);
  return dir;
}

async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runEmulatorCli(argv, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) });
  return { code, stdout, stderr };
}

function exports(text: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const match of text.matchAll(/^(#\s*)?export (\w+)='([^']*)'$/gm)) found[(match[1] ? '#' : '') + match[2]] = match[3];
  return found;
}

/** PostgreSQL processes whose command line names this data directory. */
function serversOf(dataDir: string): string[] {
  return execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(dataDir) && line.includes('postgres'));
}

beforeAll(async () => {
  await buildEmulator();
}, 120_000);

afterAll(async () => {
  // No daemon may outlive the tests, whatever failed above.
  for (const dir of dataDirs) {
    await stopEmulatorDaemon(dir).catch((error: unknown) => console.error(`stopping the emulator of ${dir}:`, error));
    await rm(dir, { recursive: true, force: true });
  }
}, 120_000);

test('start, status, env and stop round trip; state survives a restart on the same port', async () => {
  const dataDir = await newDataDir();
  const started = await cli('start', '--data-dir', dataDir, '--port', '0', '--transition-delay', '0', '--token-ttl', '600');
  expect(started.stderr).toBe('');
  expect(started.code).toBe(0);
  const host = /running at (http:\/\/127\.0\.0\.1:\d+)/.exec(started.stdout)?.[1];
  expect(host).toBeDefined();

  const status = await cli('status', '--data-dir', dataDir, '--json');
  expect(status.code).toBe(0);
  const running = JSON.parse(status.stdout);
  expect(running).toMatchObject({ running: true, daemon: true, host, tokenTtlSeconds: 600, transitionDelayMs: 0, instances: [] });
  expect(running.pid).not.toBe(process.pid);

  const env = await cli('env', '--data-dir', dataDir);
  expect(env.code).toBe(0);
  const vars = exports(env.stdout);
  expect(vars.DATABRICKS_HOST).toBe(host);
  expect(vars.DATABRICKS_TOKEN).toMatch(/^dapi[0-9a-f]{32}$/);
  expect(existsSync(vars.PGSSLROOTCERT)).toBe(true);
  // The service principal is the commented-out alternative.
  expect(vars['#DATABRICKS_CLIENT_ID']).toMatch(/^[0-9a-f-]{36}$/);
  expect(vars['#DATABRICKS_CLIENT_SECRET']).toMatch(/^dose[0-9a-f]{32}$/);
  expect(vars.DATABRICKS_CLIENT_ID).toBeUndefined();
  // Only `env` prints secrets.
  expect(started.stdout + status.stdout).not.toContain(vars.DATABRICKS_TOKEN);

  const sdk = new WorkspaceClient({ host: vars.DATABRICKS_HOST, token: vars.DATABRICKS_TOKEN, authType: 'pat' });
  await (await sdk.database.createDatabaseInstance({ database_instance: { name: 'from-cli', capacity: 'CU_1' } })).wait();
  expect((await cli('status', '--data-dir', dataDir)).stdout).toMatch(/from-cli\s+AVAILABLE\s+127\.0\.\d+\.\d+:5432/);

  const again = await cli('start', '--data-dir', dataDir, '--token-ttl', '60');
  expect(again.code).toBe(0);
  expect(again.stdout).toContain('already running');
  expect(again.stderr).toContain('keeps the settings');

  const stopped = await cli('stop', '--data-dir', dataDir);
  expect(stopped.code).toBe(0);
  expect(stopped.stdout).toContain(`Stopped the Lakebase emulator (pid ${running.pid})`);
  expect(processAlive(running.pid)).toBe(false);
  expect(serversOf(dataDir)).toEqual([]);
  const down = await cli('status', '--data-dir', dataDir);
  expect(down.code).toBe(3);
  expect(down.stdout).toContain('not running');
  expect(down.stdout).toContain('from-cli');
  expect((await cli('env', '--data-dir', dataDir)).code).toBe(3);

  // No --port: the port of the last run, so DATABRICKS_HOST stays valid.
  const restarted = await cli('start', '--data-dir', dataDir);
  expect(restarted.code).toBe(0);
  expect(restarted.stdout).toContain(`running at ${host}`);
  const instance = await sdk.database.getDatabaseInstance({ name: 'from-cli' });
  expect(instance.state).toBe('AVAILABLE');
  expect((await cli('stop', '--data-dir', dataDir)).code).toBe(0);
  expect((await cli('stop', '--data-dir', dataDir)).stdout).toContain('not running');
}, 120_000);

test('two callers at once get one daemon', async () => {
  const dataDir = await newDataDir();
  const [first, second] = await Promise.all([
    ensureEmulatorDaemon({ dataDir, port: 0, transitionDelayMs: 0 }),
    ensureEmulatorDaemon({ dataDir, port: 0, transitionDelayMs: 0 }),
  ]);
  expect(second.host).toBe(first.host);
  const status = await emulatorStatus(dataDir);
  expect(status.running).toBe(true);
  expect(JSON.stringify(first)).not.toContain(first.user.token);
  const result = await stopEmulatorDaemon(dataDir);
  expect(result).toEqual({ stopped: true, pid: status.pid });
  expect(processAlive(status.pid ?? 0)).toBe(false);
}, 120_000);

test('a daemon killed hard is recovered by the next start, servers included', async () => {
  const dataDir = await newDataDir();
  const endpoint = await ensureEmulatorDaemon({ dataDir, port: 0, transitionDelayMs: 0 });
  const sdk = new WorkspaceClient({ host: endpoint.host, token: endpoint.user.token, authType: 'pat' });
  await (await sdk.database.createDatabaseInstance({ database_instance: { name: 'survivor', capacity: 'CU_1' } })).wait();
  const { pid } = await emulatorStatus(dataDir);
  process.kill(pid ?? 0, 'SIGKILL');
  while (processAlive(pid ?? 0)) await new Promise((resolve) => setTimeout(resolve, 50));

  const recovered = await ensureEmulatorDaemon({ dataDir, transitionDelayMs: 0 });
  expect(recovered.host).toBe(endpoint.host);
  expect((await sdk.database.getDatabaseInstance({ name: 'survivor' })).state).toBe('AVAILABLE');
  await stopEmulatorDaemon(dataDir);
  expect(serversOf(dataDir)).toEqual([]);
}, 120_000);

test('a start that fails says why, from the daemon\'s log, and exits 1', async () => {
  const dataDir = await newDataDir();
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  try {
    const port = (taken.address() as AddressInfo).port;
    const failed = await cli('start', '--data-dir', dataDir, '--port', String(port));
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`Port ${port} on 127.0.0.1 is in use by another program`);
    expect((await emulatorStatus(dataDir)).running).toBe(false);
  } finally {
    await new Promise((resolve) => taken.close(resolve));
  }
}, 120_000);

test('usage errors exit 2 with the help; help exits 0', async () => {
  expect((await cli('start', '--bogus')).code).toBe(2);
  expect((await cli('start', '--port', 'eighty')).code).toBe(2);
  const unknown = await cli('frobnicate');
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain("Unknown emulator command 'frobnicate'");
  expect((await cli()).code).toBe(2);
  const help = await cli('help');
  expect(help.code).toBe(0);
  for (const command of ['start', 'stop', 'status', 'env']) expect(help.stdout).toContain(`  ${command} `);
  expect(help.stdout).toContain('--token-ttl SECONDS');
});
