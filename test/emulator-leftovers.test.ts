// Issue 12, item 6: each SIGKILL of an emulator leaked a `/tmp/lakebase-*` directory per running
// instance (12 kills left 53): the private socket directory of an instance server whose data path
// is too long for a socket path. The next emulator now removes what an earlier run left, and only
// that: many emulators and test suites run side by side here, and removing a live one's directory
// would be far worse than the leak.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WorkspaceClient } from '@databricks/sdk-experimental';
import { emulatorStatus, ensureEmulatorDaemon, stopEmulatorDaemon } from '../emulator/index';
import { removeAbandonedSocketDirectories } from '../emulator/postgres/socket-directories';
import { buildEmulator } from './support/build-emulator';

let scratch: string;

beforeAll(async () => {
  await buildEmulator();
  scratch = await mkdtemp(join(tmpdir(), 'lakebase-leftovers-'));
  // As root the servers run as the `postgres` OS user, which must be able to enter it.
  await chmod(scratch, 0o755);
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** The socket directory the instance's running server uses: line 5 of its postmaster.pid. */
function socketDirectoryOf(dataDir: string, uid: string): string {
  return readFileSync(join(dataDir, 'instances', uid, 'pgdata', 'postmaster.pid'), 'utf8').split('\n')[4];
}

async function waitUntil(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** Until the instance is AVAILABLE; fails when it settles STOPPED (its start failed). */
async function available(sdk: WorkspaceClient, name: string): Promise<{ uid?: string }> {
  for (;;) {
    const instance = await sdk.database.getDatabaseInstance({ name });
    if (instance.state === 'AVAILABLE') return instance;
    if (instance.state === 'STOPPED') throw new Error(`the instance ${name} did not start (see the emulator log)`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A pid that belonged to a process which has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

test('an emulator killed with SIGKILL leaves no socket directory once the next one has started', { timeout: 180_000 }, async () => {
  // Long enough that an instance's socket path would not fit in its own directory.
  const dataDir = join(scratch, 'a-data-directory-with-a-long-name');
  try {
    const endpoint = await ensureEmulatorDaemon({ dataDir, transitionDelayMs: 0 });
    const sdk = new WorkspaceClient({ host: endpoint.host, token: endpoint.user.token, authType: 'pat' });
    await sdk.database.createDatabaseInstance({ database_instance: { name: 'leaky', capacity: 'CU_1' } });
    const instance = await available(sdk, 'leaky');
    const first = socketDirectoryOf(dataDir, instance.uid!);
    expect(first.startsWith(`${tmpdir()}/lakebase-`)).toBe(true);
    expect(existsSync(first)).toBe(true);

    const { pid } = await emulatorStatus(dataDir);
    process.kill(pid!, 'SIGKILL');
    await waitUntil(() => !alive(pid!));

    const again = await ensureEmulatorDaemon({ dataDir, transitionDelayMs: 0 });
    const sdkAgain = new WorkspaceClient({ host: again.host, token: again.user.token, authType: 'pat' });
    await available(sdkAgain, 'leaky');
    const second = socketDirectoryOf(dataDir, instance.uid!);
    expect(second).not.toBe(first);
    expect(existsSync(second)).toBe(true);
    expect(existsSync(first)).toBe(false);
  } finally {
    await stopEmulatorDaemon(dataDir);
  }
});

describe('removeAbandonedSocketDirectories', () => {
  test('removes only directories whose creator and server are provably gone', async () => {
    const temporary = join(scratch, `tmp-${randomUUID()}`);
    await mkdir(temporary);
    const gone = await deadPid();
    const directory = async (name: string, lockPid?: number, extra?: string) => {
      await mkdir(join(temporary, name));
      if (lockPid !== undefined) await writeFile(join(temporary, name, '.s.PGSQL.5432.lock'), `${lockPid}\n/some/pgdata\n`);
      if (extra !== undefined) await writeFile(join(temporary, name, extra), '');
      return name;
    };
    const removed = [
      await directory(`lakebase-socket-${gone}-aB3dE9`),
      await directory(`lakebase-socket-${gone}-Zz0123`, gone),
      // Left by an emulator before this naming: its server's own lock file says it is gone.
      await directory('lakebase-Q1w2E3', gone),
    ];
    const kept = [
      // Its creator (this process) lives: it may be starting a server in it right now.
      await directory(`lakebase-socket-${process.pid}-aaaaaa`),
      // The creator is gone, but the server it started still runs (an orphan of a killed emulator).
      await directory(`lakebase-socket-${gone}-bbbbbb`, process.pid),
      // Old naming without a lock file: nothing proves it unused.
      await directory('lakebase-Cc4Dd5'),
      // Something else lives in it: not a socket directory of ours.
      await directory(`lakebase-socket-${gone}-cccccc`, undefined, 'notes.txt'),
      // Names that are not ours at all.
      await directory('lakebase-test-emulator-XyZ123'),
      await directory('lakebase-kernel-sql-abcdef'),
    ];
    const notes: string[] = [];
    const result = await removeAbandonedSocketDirectories({ directory: temporary, log: (line) => notes.push(line) });
    expect(result.sort()).toEqual(removed.map((name) => join(temporary, name)).sort());
    expect((await readdir(temporary)).sort()).toEqual([...kept].sort());
    expect(notes.join('\n')).toContain(removed[0]);
  });
});
