// `InstanceHosting` on real PostgreSQL servers (`emulator/postgres/`): one CA for the emulator, one
// RADIUS password service for all its instances (each server names itself in the RADIUS request's
// NAS-Identifier, so the service knows which instance a login is for), and one server per instance
// at its own loopback address on port 5432.
import { HostingError } from './hosting';
import type { HostedInstance, HostingErrorCode, InstanceHosting, InstancePlacement, PasswordCheck } from './hosting';
import { INSTANCE_PORT } from './limits';
import type { DataDirLayout } from './paths';
import {
  allocateInstanceEndpoint,
  createInstanceServer,
  InstanceServerError,
  loadOrCreateAuthority,
  startPasswordService,
} from './postgres/index';
import type { CertificateAuthority, InstanceServer, PasswordService } from './postgres/index';

export interface PostgresHosting extends InstanceHosting {
  /** Stops the password service; every server must be stopped first. */
  close(): Promise<void>;
}

const PASSED_THROUGH: readonly HostingErrorCode[] = ['ADDRESS_IN_USE', 'START_FAILED', 'ROLE_EXISTS', 'ROLE_NOT_FOUND', 'ROLE_IN_USE', 'DATABASE_EXISTS', 'INVALID_NAME'];

/** Instance-server failures in the seam's terms; the original stays as `cause`. */
function toHostingError(error: unknown): unknown {
  if (!(error instanceof InstanceServerError)) return error;
  const code = (PASSED_THROUGH as readonly string[]).includes(error.code) ? (error.code as HostingErrorCode) : 'FAILED';
  return new HostingError(code, error.message, { cause: error });
}

async function translated<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toHostingError(error);
  }
}

function hosted(server: InstanceServer, onStopped: () => void): HostedInstance {
  return {
    createRole: (name, kind, options) =>
      translated(() => server.createRole(name, kind, { superuser: options.superuser, ...(options.attributes ? { attributes: options.attributes } : {}) })),
    dropRole: (name, options) => translated(() => server.dropRole(name, options ?? {})),
    listRoles: () => translated(() => server.listRoles()),
    createDatabase: (name) => translated(() => server.createDatabase(name)),
    databaseExists: (name) => translated(() => server.databaseExists(name)),
    async stop() {
      await translated(() => server.stop());
      onStopped();
    },
  };
}

export async function createPostgresHosting(layout: DataDirLayout, log: (line: string) => void): Promise<PostgresHosting> {
  const authority: CertificateAuthority = await loadOrCreateAuthority(layout.authorityDir);
  /** The password check of each running instance, by the address its server names itself with. */
  const checks = new Map<string, PasswordCheck>();
  const passwordService: PasswordService = await startPasswordService(
    async (user, password, context) => {
      const check = checks.get(context.instanceAddress);
      if (!check) {
        log(`password service: login of ${user} for unknown instance address '${context.instanceAddress}' refused`);
        return false;
      }
      return check(user, password);
    },
    { log },
  );

  function serverFor(placement: InstancePlacement): InstanceServer {
    return createInstanceServer({
      dataDir: layout.instanceDir(placement.uid),
      address: placement.address,
      port: placement.port,
      // The name clients verify is the address itself (`read_write_dns`), so it goes in as an IP SAN.
      certificate: authority.issueServerCertificate({ dnsNames: [], ipAddresses: [placement.address] }),
      passwordService,
      log: (line) => log(`[${placement.address}] ${line}`),
    });
  }

  return {
    caCertPath: authority.certPath,

    allocateEndpoint: (inUse) => translated(() => allocateInstanceEndpoint(inUse, INSTANCE_PORT)),

    async start(placement, checkPassword) {
      const server = serverFor(placement);
      checks.set(placement.address, checkPassword);
      try {
        await translated(() => server.start());
      } catch (error) {
        checks.delete(placement.address);
        throw error;
      }
      return hosted(server, () => checks.delete(placement.address));
    },

    async destroy(placement) {
      await translated(() => serverFor(placement).destroy());
    },

    close: () => passwordService.close(),
  };
}
