// `InstanceHosting` on real PostgreSQL servers (`emulator/postgres/`): one CA for the emulator, and
// one server per instance behind its own login gateway at the instance's loopback address on port
// 5432; each gateway checks logins with the password check of its instance.
import { HostingError } from './hosting';
import type { HostedInstance, HostingErrorCode, InstanceHosting, InstancePlacement, PasswordCheck, ServerHealth } from './hosting';
import { INSTANCE_PORT } from './limits';
import type { DataDirLayout } from './paths';
import { allocateInstanceEndpoint, createInstanceServer, InstanceServerError, loadOrCreateAuthority } from './postgres/index';
import type { CertificateAuthority, InstanceServer } from './postgres/index';


const PASSED_THROUGH: readonly HostingErrorCode[] = ['ADDRESS_IN_USE', 'START_FAILED', 'ROLE_EXISTS', 'ROLE_NOT_FOUND', 'ROLE_IN_USE', 'DATABASE_EXISTS', 'INVALID_NAME'];

/** Instance-server failures in the seam's terms; the original stays as `cause`. */
function toHostingError(error: unknown): unknown {
  if (!(error instanceof InstanceServerError)) return error;
  const code = (PASSED_THROUGH as readonly string[]).includes(error.code) ? (error.code as HostingErrorCode) : 'FAILED';
  return new HostingError(code, error.message, { cause: error });
}

export async function translated<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toHostingError(error);
  }
}

function hosted(server: InstanceServer): HostedInstance {
  return {
    createRole: (name, kind, options) =>
      translated(() => server.createRole(name, kind, { superuser: options.superuser, ...(options.attributes ? { attributes: options.attributes } : {}) })),
    dropRole: (name, options) => translated(() => server.dropRole(name, options ?? {})),
    listRoles: () => translated(() => server.listRoles()),
    createDatabase: (name) => translated(() => server.createDatabase(name)),
    databaseExists: (name) => translated(() => server.databaseExists(name)),
    adminConnection: (database) => server.socketConfig(database),
    stop: () => translated(() => server.stop()),
  };
}

export interface PostgresHostingOptions {
  /** Pauses before each restart of a server that died on its own (default: the instance servers'). */
  restartDelaysMs?: readonly number[];
}

export async function createPostgresHosting(layout: DataDirLayout, log: (line: string) => void, options: PostgresHostingOptions = {}): Promise<InstanceHosting> {
  const authority: CertificateAuthority = await loadOrCreateAuthority(layout.authorityDir);

  function serverFor(placement: InstancePlacement, checkPassword: PasswordCheck, onHealth?: (health: ServerHealth) => void): InstanceServer {
    return createInstanceServer({
      ...(options.restartDelaysMs ? { restartDelaysMs: options.restartDelaysMs } : {}),
      ...(onHealth ? { onHealth } : {}),
      dataDir: layout.instanceDir(placement.uid),
      address: placement.address,
      port: placement.port,
      // The name clients verify is the address itself (`read_write_dns`), so it goes in as an IP SAN.
      certificate: authority.issueServerCertificate({ dnsNames: [], ipAddresses: [placement.address] }),
      checkPassword,
      log: (line) => log(`[${placement.address}] ${line}`),
    });
  }

  return {
    caCertPath: authority.certPath,

    allocateEndpoint: (inUse) => translated(() => allocateInstanceEndpoint(inUse, INSTANCE_PORT)),

    async start(placement, checkPassword, onHealth) {
      const server = serverFor(placement, checkPassword, onHealth);
      await translated(() => server.start());
      return hosted(server);
    },

    async destroy(placement) {
      // A server that is only destroyed never starts, so it never asks for a password.
      await translated(() => serverFor(placement, async () => false).destroy());
    },

  };
}
