// One emulated Lakebase instance for a test file: a real PostgreSQL server with TLS from the
// emulator's CA, on its own loopback address, whose logins are checked by a real RADIUS password
// service against tokens the test grants and revokes. Everything lives in a temporary directory
// that `stop()` deletes.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateAuthority, loadOrCreateAuthority } from '../../emulator/postgres/authority';
import { allocateInstanceEndpoint } from '../../emulator/postgres/addresses';
import { createInstanceServer, InstanceServer } from '../../emulator/postgres/instance-server';
import { PasswordCheckContext, PasswordService, startPasswordService } from '../../emulator/postgres/password-service';

export interface TestInstance {
  root: string;
  address: string;
  port: number;
  authority: CertificateAuthority;
  passwordService: PasswordService;
  server: InstanceServer;
  /** Every login the password service was asked about, in order (passwords left out). */
  logins: { user: string; context: PasswordCheckContext }[];
  /** Server log lines, for failure diagnosis. */
  log: string[];
  /** Makes `token` a valid password for `user` (several per user may be valid at once). */
  grant(user: string, token: string): void;
  revoke(user: string, token: string): void;
  /** node-postgres connection settings for `user` with `password`, verifying the server certificate. */
  connection(user: string, password: string, database?: string): import('pg').ClientConfig;
  stop(): Promise<void>;
}

export async function startTestInstance(): Promise<TestInstance> {
  const root = await mkdtemp(join(tmpdir(), 'lakebase-test-instance-'));
  // As root the server runs as the `postgres` OS user, which must be able to enter this directory.
  await chmod(root, 0o755);
  const tokens = new Map<string, Set<string>>();
  const logins: TestInstance['logins'] = [];
  const log: string[] = [];
  const authority = await loadOrCreateAuthority(join(root, 'ca'));
  const passwordService = await startPasswordService((user, password, context) => {
    logins.push({ user, context });
    return tokens.get(user)?.has(password) ?? false;
  }, { log: (line) => log.push(line) });
  const { address, port } = await allocateInstanceEndpoint(new Set());
  const server = createInstanceServer({
    dataDir: join(root, 'instance'),
    address,
    port,
    certificate: authority.issueServerCertificate({ dnsNames: [], ipAddresses: [address] }),
    passwordService,
    log: (line) => log.push(line),
  });
  try {
    await server.start();
  } catch (error) {
    await passwordService.close();
    await rm(root, { recursive: true, force: true });
    throw error;
  }
  return {
    root,
    address,
    port,
    authority,
    passwordService,
    server,
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
        await passwordService.close();
        await rm(root, { recursive: true, force: true });
      }
    },
  };
}
