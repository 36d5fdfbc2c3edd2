// One emulated Lakebase instance for a test file: a real PostgreSQL server behind its login gateway,
// with TLS from the emulator's CA, on its own loopback address, whose logins are checked against
// tokens the test grants and revokes. Everything lives in a temporary directory that `stop()` deletes.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateAuthority, loadOrCreateAuthority } from '../../emulator/postgres/authority';
import { allocateInstanceEndpoint } from '../../emulator/postgres/addresses';
import { createInstanceServer, InstanceServer, InstanceServerOptions } from '../../emulator/postgres/instance-server';
import type { PasswordCheck } from '../../emulator/postgres/login-gateway';

export interface TestInstance {
  root: string;
  address: string;
  port: number;
  authority: CertificateAuthority;
  server: InstanceServer;
  /** The check the gateway asks: the tokens granted below. Also for other servers of the test. */
  checkPassword: PasswordCheck;
  /** Every login the gateway asked the check about, in order (passwords left out). */
  logins: { user: string }[];
  /** Server and gateway log lines, for failure diagnosis and for tests of what is logged. */
  log: string[];
  /** Makes `token` a valid password for `user` (several per user may be valid at once). */
  grant(user: string, token: string): void;
  revoke(user: string, token: string): void;
  /** node-postgres connection settings for `user` with `password`, verifying the server certificate. */
  connection(user: string, password: string, database?: string): import('pg').ClientConfig;
  stop(): Promise<void>;
}

export async function startTestInstance(options: Pick<InstanceServerOptions, 'loginTimeoutMs'> = {}): Promise<TestInstance> {
  const root = await mkdtemp(join(tmpdir(), 'lakebase-test-instance-'));
  // As root the server runs as the `postgres` OS user, which must be able to enter this directory.
  await chmod(root, 0o755);
  const tokens = new Map<string, Set<string>>();
  const logins: TestInstance['logins'] = [];
  const log: string[] = [];
  const authority = await loadOrCreateAuthority(join(root, 'ca'));
  const checkPassword: PasswordCheck = (user, password) => {
    logins.push({ user });
    return tokens.get(user)?.has(password) ?? false;
  };
  const { address, port } = await allocateInstanceEndpoint(new Set());
  const server = createInstanceServer({
    dataDir: join(root, 'instance'),
    address,
    port,
    certificate: authority.issueServerCertificate({ dnsNames: [], ipAddresses: [address] }),
    checkPassword,
    ...options,
    log: (line) => log.push(line),
  });
  try {
    await server.start();
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
  return {
    root,
    address,
    port,
    authority,
    server,
    checkPassword,
    logins,
    log,
    grant: (user, token) => void tokens.set(user, (tokens.get(user) ?? new Set()).add(token)),
    revoke: (user, token) => void tokens.get(user)?.delete(token),
    connection: (user, password, database = 'databricks_postgres') => ({
      host: address,
      port,
      user,
      password,
      database,
      ssl: { ca: authority.certPem, rejectUnauthorized: true },
    }),
    async stop() {
      try {
        await server.destroy();
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    },
  };
}
