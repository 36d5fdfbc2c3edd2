// A plain PostgreSQL 18 (the emulator's own binaries) with TLS on 127.0.0.1 and the pg_hba.conf a
// test asks for: what the login gateway must be indistinguishable from. Tests compare the
// gateway's bytes with this server's, use its Unix socket as the gateway's backend, and measure
// its own TLS against the gateway's (bench: `emulator-gateway-latency.ts`). Everything lives in a
// temporary directory that `stop()` deletes.
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { CertificateAuthority, loadOrCreateAuthority } from '../../emulator/postgres/authority';
import { locatePostgresBinaries } from '../../emulator/postgres/postgres-binaries';
import { handToServer, resolveServerAccount } from '../../emulator/postgres/server-account';
import { freePort } from './postgres';

const run = promisify(execFile);
const ADMIN = 'reference_admin';

export interface ReferencePostgres {
  host: string;
  port: number;
  /** PostgreSQL's Unix socket file, where `local` lines of pg_hba.conf apply. */
  socketPath: string;
  /** The CA that signed the server's certificate (for 127.0.0.1), to verify it or to issue more. */
  authority: CertificateAuthority;
  /** Runs SQL as the bootstrap superuser over the socket (roles, passwords). */
  admin(sql: string): Promise<void>;
  stop(): Promise<void>;
}

/** `hba`: the lines of pg_hba.conf; a `local all <admin> trust` line is put first for `admin()`. */
export async function startReferencePostgres(options: { hba: string[]; settings?: Record<string, string> }): Promise<ReferencePostgres> {
  const root = await mkdtemp(join(tmpdir(), 'lakebase-reference-pg-'));
  await chmod(root, 0o755);
  const [binaries, account] = await Promise.all([locatePostgresBinaries(), resolveServerAccount()]);
  const pgdata = join(root, 'pgdata');
  const socketDir = join(root, 'socket');
  await mkdir(pgdata);
  await mkdir(socketDir);
  await handToServer(pgdata, 0o700, account);
  await handToServer(socketDir, 0o700, account);
  const asServer = account ? { uid: account.uid, gid: account.gid } : {};
  await run(binaries.initdb, [`--pgdata=${pgdata}`, `--username=${ADMIN}`, '--auth-local=trust', '--auth-host=reject', '--no-sync', '--encoding=UTF8', '--locale=C'], asServer);

  const authority = await loadOrCreateAuthority(join(root, 'ca'));
  const { certPem, keyPem } = authority.issueServerCertificate({ dnsNames: [], ipAddresses: ['127.0.0.1'] });
  for (const [name, contents] of [['server.crt', certPem], ['server.key', keyPem], ['pg_hba.conf', [`local all ${ADMIN} trust`, ...options.hba, ''].join('\n')]]) {
    await writeFile(join(pgdata, name), contents, { mode: 0o600 });
    await handToServer(join(pgdata, name), 0o600, account);
  }

  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: socketDir,
    ssl: 'on',
    ssl_cert_file: 'server.crt',
    ssl_key_file: 'server.key',
    lc_messages: 'C',
    ...options.settings,
  };
  const child: ChildProcess = spawn(binaries.postgres, ['-D', pgdata, ...Object.entries(settings).flatMap(([key, value]) => ['-c', `${key}=${value}`])], {
    ...asServer,
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      await exited;
    }
    await rm(root, { recursive: true, force: true });
  };
  try {
    // Ready once postmaster.pid says so (line 8), as pg_ctl waits.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const status = await readFile(join(pgdata, 'postmaster.pid'), 'utf8').then((text) => text.split('\n'), () => []);
      if (status[7]?.trim() === 'ready') break;
      if (child.exitCode !== null || Date.now() > deadline) throw new Error('the reference PostgreSQL did not start');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    host: '127.0.0.1',
    port,
    socketPath: join(socketDir, `.s.PGSQL.${port}`),
    authority,
    async admin(sql) {
      const client = new pg.Client({ host: socketDir, port, user: ADMIN, database: 'postgres' });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    },
    stop,
  };
}
