// `InstanceHosting` on real PostgreSQL servers (`emulator/postgres/`): one CA for the emulator, and
// per instance a primary server (and a secondary, see `instance-nodes.ts`), each behind its own
// login gateway at its loopback address on port 5432; each gateway checks logins with the
// password check of its instance. Child instances are point-in-time copies of their parent.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HostingError } from './hosting';
import type { HostingErrorCode, InstanceEndpoint, InstanceHosting, InstancePlacement, PasswordCheck, ServerHealth } from './hosting';
import { InstanceNodes, instanceLayout } from './instance-nodes';
import { INSTANCE_PORT, RETENTION_WINDOW_DAYS } from './limits';
import type { DataDirLayout } from './paths';
import { allocateInstanceEndpoint, createInstanceServer, InstanceServerError, loadOrCreateAuthority } from './postgres/index';
import type { CertificateAuthority, InstanceServer } from './postgres/index';
import { ADMIN_ROLE } from './postgres/instance-server';
import { BackupCatalog, pointInTimeCopy, PointInTimeError } from './postgres/point-in-time';


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

export interface PostgresHostingOptions {
  /** Pauses before each restart of a server that died on its own (default: the instance servers'). */
  restartDelaysMs?: readonly number[];
}

export async function createPostgresHosting(layout: DataDirLayout, log: (line: string) => void, options: PostgresHostingOptions = {}): Promise<InstanceHosting> {
  const authority: CertificateAuthority = await loadOrCreateAuthority(layout.authorityDir);

  function serverFor(
    dataDir: string,
    endpoint: InstanceEndpoint,
    checkPassword: PasswordCheck,
    settings: Record<string, string> = {},
    onHealth?: (health: ServerHealth) => void,
  ): InstanceServer {
    return createInstanceServer({
      ...(options.restartDelaysMs ? { restartDelaysMs: options.restartDelaysMs } : {}),
      ...(onHealth ? { onHealth } : {}),
      dataDir,
      address: endpoint.address,
      port: endpoint.port,
      // The name clients verify is the address itself (`read_write_dns`), so it goes in as an IP SAN.
      certificate: authority.issueServerCertificate({ dnsNames: [], ipAddresses: [endpoint.address] }),
      checkPassword,
      settings,
      log: (line) => log(`[${endpoint.address}] ${line}`),
    });
  }

  function nodesOptions(placement: InstancePlacement, checkPassword: PasswordCheck, retentionDays: number, onHealth: ((health: ServerHealth) => void) | undefined) {
    return {
      instanceDir: layout.instanceDir(placement.uid),
      // Every node is supervised (restarted when it dies on its own); the instance's health is
      // its primary's, which InstanceNodes reports to `onHealth`.
      serverFor: (dataDir: string, endpoint: InstanceEndpoint, settings: Record<string, string>, nodeHealth?: (health: ServerHealth) => void) =>
        serverFor(dataDir, endpoint, checkPassword, settings, nodeHealth),
      ...(onHealth ? { onHealth } : {}),
      retentionDays,
      log: (line: string) => log(`[${placement.address}] ${line}`),
    };
  }

  return {
    caCertPath: authority.certPath,

    allocateEndpoint: (inUse) => translated(() => allocateInstanceEndpoint(inUse, INSTANCE_PORT)),

    start(placement, checkPassword, onHealth, options = {}) {
      return translated(() =>
        InstanceNodes.start(nodesOptions(placement, checkPassword, options.retentionDays ?? RETENTION_WINDOW_DAYS.default, onHealth), placement, options.secondary),
      );
    },

    async copy(request) {
      const source = instanceLayout(layout.instanceDir(request.source.uid));
      const running = request.running instanceof InstanceNodes ? request.running : undefined;
      const into = layout.instanceDir(request.into.uid);
      await mkdir(into, { recursive: true });
      try {
        const copy = await pointInTimeCopy({
          catalog: running?.catalog ?? new BackupCatalog(source.backupsDir, source.archiveDir),
          ...(running?.primary.admin ? { admin: running.primary.admin } : {}),
          sourcePgdata: join(source.instanceDir, 'pgdata'),
          target: request.point,
          pgdata: join(into, 'pgdata'),
          superuser: ADMIN_ROLE,
          log: (line) => log(`[copy ${request.source.address} → ${request.into.address}] ${line}`),
        });
        return { lsn: copy.lsn };
      } catch (error) {
        await rm(into, { recursive: true, force: true });
        if (error instanceof PointInTimeError && (error.code === 'TARGET_OUTSIDE_RETENTION' || error.code === 'TARGET_IN_FUTURE')) {
          throw new HostingError(error.code, error.message, { cause: error });
        }
        throw toHostingError(error);
      }
    },

    async earliestRestorable(placement) {
      const source = instanceLayout(layout.instanceDir(placement.uid));
      const [oldest] = await new BackupCatalog(source.backupsDir, source.archiveDir).list();
      return oldest === undefined ? {} : { time: new Date(oldest.stopTime), lsn: oldest.stopLsn };
    },

    async destroy(placement) {
      // A server that is only destroyed never starts, so it never asks for a password. The
      // instance's directory holds its secondary, archive and backups too: all of it goes.
      await translated(() => serverFor(layout.instanceDir(placement.uid), placement, async () => false).destroy());
      await rm(layout.instanceDir(placement.uid), { recursive: true, force: true });
    },

  };
}
