// The Autoscaling verbs from a terminal, through the real CLI binary on the embedded default (a
// background emulator of a throwaway data directory): text and --json on stdout, the status line
// on stderr, confirmation needing --yes without a TTY, and the exit codes.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ensureEmulatorDaemon, stopEmulatorDaemon } from '../emulator/index';
import { BUILT_KERNEL_CLI } from './support/jupyter';

let dataDir: string;
let home: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lakebase-terminal-projects-'));
  home = await mkdtemp(join(tmpdir(), 'lakebase-terminal-home-'));
  await ensureEmulatorDaemon({ dataDir, transitionDelayMs: 0 });
});

afterAll(async () => {
  await stopEmulatorDaemon(dataDir);
  await rm(dataDir, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
});

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BUILT_KERNEL_CLI, ...args],
      // No Databricks configuration: the verbs go to the embedded default, this test's emulator.
      { env: { PATH: process.env.PATH ?? '', HOME: home, LAKEBASE_EMULATOR_DIR: dataDir, DATABRICKS_CONFIG_FILE: join(home, 'none.cfg') }, timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('project create, branch list --json, and project delete that needs --yes without a TTY', async () => {
  const created = await cli('project', 'create', 'cli-demo');
  expect(created.code).toBe(0);
  expect(created.stdout).toMatch(/ name +\| projects\/cli-demo/);
  expect(created.stderr).toMatch(/project cli-demo · create · DONE/);

  const listed = await cli('branch', 'list', 'cli-demo', '--json');
  expect(listed.code).toBe(0);
  // --json prints the value itself: the API's branches, as `databricks postgres list-branches` would.
  expect(JSON.parse(listed.stdout)).toEqual([
    expect.objectContaining({ name: 'projects/cli-demo/branches/production', status: expect.objectContaining({ current_state: 'READY', default: true }) }),
  ]);
  const table = await cli('branch', 'list', 'cli-demo');
  expect(table.stdout).toMatch(/\n production +\| +\| READY +\| yes +\| /);

  const refused = await cli('project', 'delete', 'cli-demo');
  expect(refused.code).toBe(2); // usage: --yes needed
  expect(refused.stderr).toContain('project delete cli-demo --yes');

  const deleted = await cli('project', 'delete', 'cli-demo', '--purge', '--yes');
  expect(deleted.code).toBe(0);
  expect(deleted.stdout).toContain('Deleted the project cli-demo for good.');
  const gone = await cli('project', 'get', 'cli-demo');
  expect(gone.code).toBe(1);
  expect(gone.stderr).toMatch(/There is no project projects\/cli-demo/);
});
