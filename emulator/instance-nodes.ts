// The servers of one Provisioned instance: its primary, and with `node_count` ≥ 2 a secondary that
// is a real PostgreSQL standby streaming from the primary (physical replication), reachable at
// `read_only_dns` when readable secondaries are on. The primary archives its WAL and keeps base
// backups (`postgres/point-in-time.ts`), which make point-in-time child instances and seed the
// secondary; `failover` promotes the secondary and makes the old primary follow it.
//
// On disk, in the instance's directory:
//   pgdata/, socket/      the primary (an InstanceServer whose data directory is the instance's)
//   secondary/            the secondary's InstanceServer directory (pgdata/, socket/)
//   archive/              the WAL archive (archive_command copies segments here)
//   backups/<id>/         base backups (pgdata/ + backup.json), pruned to the retention window
//
// Where the real service runs HA nodes on separate machines, these are two servers on one; what
// clients see — a second address that refuses writes with PostgreSQL's own read-only error and
// shows the primary's rows after a moment, a failover after which the primary's address accepts
// writes again — is PostgreSQL's own behaviour.
import { createHash, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { HostingError } from './hosting';
import type { HostedInstance, InstanceEndpoint, InstanceRole, RoleAttributes, RoleKind, SecondaryPlacement, ServerHealth } from './hosting';
import {
  archivingSettings,
  BackupCatalog,
  clearStandbySettings,
  prepareStandby,
  refollowStandby,
  reseedStandby,
} from './postgres/point-in-time';
import type { InstanceServer } from './postgres/index';
import { handToServer, resolveServerAccount } from './postgres/server-account';

/** A new base backup is taken when the newest is older than this (and at the first start)... */
export const BACKUP_INTERVAL_MS = 24 * 3_600_000;
/** ...or when more WAL than this was written since: a point-in-time restore replays at most about this much. */
export const BACKUP_WAL_BYTES = 512 * 1024 * 1024;
/** How often the need for a new backup is checked while the instance runs. */
const BACKUP_CHECK_MS = 5 * 60_000;
/** How long a failover waits for the secondary to replay what the primary has written. */
const CATCH_UP_TIMEOUT_MS = 60_000;

/** The directories of an instance (see the header). */
export function instanceLayout(instanceDir: string) {
  return {
    instanceDir,
    secondaryDir: join(instanceDir, 'secondary'),
    archiveDir: join(instanceDir, 'archive'),
    backupsDir: join(instanceDir, 'backups'),
  };
}

export interface InstanceNodesOptions {
  instanceDir: string;
  /**
   * Makes the server of one node: its data directory, where it listens, its extra settings, and
   * who hears how it does after it died on its own (the primary's only: the instance's health).
   */
  serverFor(dataDir: string, endpoint: InstanceEndpoint, settings: Record<string, string>, onHealth?: (health: ServerHealth) => void): InstanceServer;
  /** Told how the primary does after it died on its own and is started again (hosting.ts). */
  onHealth?: (health: ServerHealth) => void;
  retentionDays: number;
  log: (line: string) => void;
}

/** Runs `work` on an admin connection to a running server's `database`. */
async function withAdmin<T>(server: InstanceServer, database: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const admin = server.admin;
  if (!admin) throw new HostingError('FAILED', 'The instance server is not running.');
  const client = new pg.Client({ ...admin, database, application_name: 'lakebase-emulator' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export class InstanceNodes implements HostedInstance {
  readonly catalog: BackupCatalog;
  private readonly layout: ReturnType<typeof instanceLayout>;
  private secondary: { server: InstanceServer; placement: SecondaryPlacement } | undefined;
  private backupTimer: NodeJS.Timeout | undefined;
  private backingUp: Promise<void> | undefined;

  private constructor(
    private readonly options: InstanceNodesOptions,
    readonly primary: InstanceServer,
  ) {
    this.layout = instanceLayout(options.instanceDir);
    this.catalog = new BackupCatalog(this.layout.backupsDir, this.layout.archiveDir);
  }

  /** The settings every node runs with: WAL archiving into the instance's archive. */
  static settings(instanceDir: string): Record<string, string> {
    return archivingSettings(instanceLayout(instanceDir).archiveDir);
  }

  /** Prepares the archive, starts the primary, takes a first backup, starts the secondary if placed. */
  static async start(options: InstanceNodesOptions, primaryEndpoint: InstanceEndpoint, secondary: SecondaryPlacement | undefined): Promise<InstanceNodes> {
    const layout = instanceLayout(options.instanceDir);
    const account = await resolveServerAccount();
    await mkdir(options.instanceDir, { recursive: true });
    await handToServer(options.instanceDir, 0o700, account);
    await mkdir(layout.archiveDir, { recursive: true });
    await handToServer(layout.archiveDir, 0o700, account);
    let nodes: InstanceNodes | undefined;
    const primary = options.serverFor(options.instanceDir, primaryEndpoint, InstanceNodes.settings(options.instanceDir), (health) => {
      if (health.state === 'recovered' && nodes) {
        // Started again, perhaps on a new private socket directory: the secondary is pointed at it
        // before the instance reads AVAILABLE again.
        nodes.refollow().then(
          () => options.onHealth?.(health),
          (error: unknown) => {
            options.log(`the secondary could not follow the restarted primary: ${(error as Error).message}`);
            options.onHealth?.(health);
          },
        );
        return;
      }
      options.onHealth?.(health);
    });
    await primary.start();
    nodes = new InstanceNodes(options, primary);
    try {
      // The first backup is taken before anyone can write: a new instance's history (what a
      // child may be made as of) starts at its creation. Later ones are taken in the background,
      // daily and when much WAL was written since the last.
      if ((await nodes.catalog.list()).length === 0) await nodes.backUp();
      else nodes.backUpIfStale();
      if (secondary) await nodes.setSecondary(secondary);
    } catch (error) {
      await nodes.stop().catch((stopError: unknown) => options.log(`stopping after a failed start: ${(stopError as Error).message}`));
      throw error;
    }
    nodes.backupTimer = setInterval(() => nodes.backUpIfStale(), BACKUP_CHECK_MS);
    nodes.backupTimer.unref();
    return nodes;
  }

  /** A base backup now, then the history outside the retention window is pruned. */
  async backUp(): Promise<void> {
    const admin = this.primary.admin;
    if (!admin) return;
    await this.catalog.take(admin, this.primary.pgdata);
    const pruned = await this.catalog.prune(new Date(Date.now() - this.options.retentionDays * 86_400_000));
    if (pruned.backups + pruned.segments > 0) this.options.log(`pruned ${pruned.backups} backups and ${pruned.segments} WAL segments outside the retention window`);
  }

  private backUpIfStale(): void {
    if (this.backingUp) return;
    this.backingUp = (async () => {
      const newest = (await this.catalog.list()).at(-1);
      if (newest === undefined || Date.now() - Date.parse(newest.stopTime) > BACKUP_INTERVAL_MS || (await this.walSince(newest.stopLsn)) > BACKUP_WAL_BYTES) {
        await this.backUp();
      }
    })()
      .catch((error: unknown) => this.options.log(`background base backup failed: ${(error as Error).message}`))
      .finally(() => (this.backingUp = undefined));
  }

  /** Bytes of WAL the primary wrote since `lsn`: how much a restore from there would replay. */
  private async walSince(lsn: string): Promise<number> {
    if (!this.primary.admin) return 0;
    return withAdmin(this.primary, 'postgres', async (client) =>
      Number((await client.query<{ bytes: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint AS bytes', [lsn])).rows[0].bytes),
    ).catch(() => 0);
  }

  // ---- roles and databases: the primary's ----------------------------------------------------

  createRole(name: string, kind: RoleKind, options: { superuser: boolean; attributes?: Partial<RoleAttributes> }): Promise<void> {
    return translated(() => this.primary.createRole(name, kind, { superuser: options.superuser, ...(options.attributes ? { attributes: options.attributes } : {}) }));
  }

  updateRole(name: string, changes: { superuser?: boolean; attributes?: Partial<RoleAttributes> }): Promise<void> {
    return translated(() => this.primary.updateRole(name, changes));
  }

  dropRole(name: string, options?: { reassignOwnedTo?: string }): Promise<void> {
    return translated(() => this.primary.dropRole(name, options ?? {}));
  }

  listRoles(): Promise<InstanceRole[]> {
    return translated(() => this.primary.listRoles());
  }

  createDatabase(name: string): Promise<void> {
    return translated(() => this.primary.createDatabase(name));
  }

  databaseExists(name: string): Promise<boolean> {
    return translated(() => this.primary.databaseExists(name));
  }

  adminConnection(database: string): ReturnType<HostedInstance['adminConnection']> {
    return this.primary.socketConfig(database);
  }

  relationExists(database: string, schema: string, table: string): Promise<boolean> {
    return withAdmin(this.primary, database, async (client) => {
      const { rows } = await client.query<{ found: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')) AS found`,
        [schema, table],
      );
      return rows[0].found;
    });
  }

  async checkNativePassword(user: string, password: string): Promise<boolean> {
    const secret = await withAdmin(this.primary, 'postgres', async (client) => {
      const { rows } = await client.query<{ secret: string | null }>('SELECT rolpassword AS secret FROM pg_authid WHERE rolname = $1 AND rolcanlogin', [user]);
      return rows[0]?.secret ?? null;
    });
    return secret !== null && passwordMatches(secret, user, password);
  }

  // ---- the secondary ----------------------------------------------------------------------------

  async setSecondary(placement: SecondaryPlacement | undefined): Promise<void> {
    const current = this.secondary;
    if (current && placement && current.placement.address === placement.address && current.placement.port === placement.port && current.placement.readable === placement.readable) return;
    if (current) {
      this.secondary = undefined;
      await current.server.stop();
    }
    if (!placement) {
      await rm(this.layout.secondaryDir, { recursive: true, force: true });
      return;
    }
    const pgdata = join(this.layout.secondaryDir, 'pgdata');
    const primaryAdmin = this.primary.admin;
    if (!primaryAdmin) throw new HostingError('FAILED', 'The primary is not running; the secondary cannot follow it.');
    const account = await resolveServerAccount();
    await mkdir(this.layout.secondaryDir, { recursive: true });
    await handToServer(this.layout.secondaryDir, 0o700, account);
    await prepareStandby({ pgdata, catalog: this.catalog, primary: primaryAdmin, primaryPgdata: this.primary.pgdata });
    const server = this.options.serverFor(this.layout.secondaryDir, placement, InstanceNodes.settings(this.options.instanceDir));
    await server.start();
    this.secondary = { server, placement };
    this.options.log(`secondary at ${placement.address}:${placement.port} streams from the primary`);
  }

  /**
   * Points the running secondary at the primary's current socket (a primary started again after
   * a crash may have a new one) and has it reload: the WAL receiver reconnects there.
   */
  async refollow(): Promise<void> {
    const admin = this.primary.admin;
    const standby = this.secondary?.server.admin;
    if (!admin || !standby) return;
    await refollowStandby(join(this.layout.secondaryDir, 'pgdata'), admin, standby);
  }

  async failover(): Promise<void> {
    const secondary = this.secondary;
    if (!secondary) throw new HostingError('NO_SECONDARY', 'The instance has no secondary to fail over to (node_count is 1).');
    // Nothing committed on the primary may be lost: wait until the secondary has replayed it all.
    const target = await withAdmin(this.primary, 'postgres', async (client) => (await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn);
    const deadline = Date.now() + CATCH_UP_TIMEOUT_MS;
    for (;;) {
      const caughtUp = await withAdmin(secondary.server, 'postgres', async (client) =>
        (await client.query<{ ok: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [target])).rows[0].ok,
      );
      if (caughtUp) break;
      if (Date.now() > deadline) throw new HostingError('FAILED', `The secondary did not catch up with the primary (LSN ${target}) in ${CATCH_UP_TIMEOUT_MS / 1000} s.`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await this.primary.stop();
    await withAdmin(secondary.server, 'postgres', (client) => client.query('SELECT pg_promote(true, 60)'));
    await secondary.server.stop();
    this.secondary = undefined;
    // The promoted data becomes the primary's, at the primary's address; the old primary's data
    // is discarded and the secondary seeded again from the new primary.
    const primaryPgdata = this.primary.pgdata;
    const secondaryPgdata = join(this.layout.secondaryDir, 'pgdata');
    const discarded = `${primaryPgdata}.before-failover`;
    await rm(discarded, { recursive: true, force: true });
    await rename(primaryPgdata, discarded);
    await rename(secondaryPgdata, primaryPgdata);
    await clearStandbySettings(primaryPgdata);
    await this.primary.start();
    await rm(discarded, { recursive: true, force: true });
    const admin = this.primary.admin!;
    const backup = await this.catalog.take(admin, this.primary.pgdata);
    await reseedStandby({ backup, archiveDir: this.layout.archiveDir, primary: { socketDir: admin.host, port: admin.port, user: admin.user }, pgdata: secondaryPgdata });
    const server = this.options.serverFor(this.layout.secondaryDir, secondary.placement, InstanceNodes.settings(this.options.instanceDir));
    await server.start();
    this.secondary = { server, placement: secondary.placement };
    this.options.log('failed over: the secondary is the primary, and a new secondary follows it');
  }

  async stop(): Promise<void> {
    if (this.backupTimer) clearInterval(this.backupTimer);
    await this.backingUp;
    const secondary = this.secondary;
    this.secondary = undefined;
    await secondary?.server.stop();
    await this.primary.stop();
  }
}

/** Instance-server failures in the seam's terms (as postgres-hosting.ts does). */
async function translated<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const passed = ['ROLE_EXISTS', 'ROLE_NOT_FOUND', 'ROLE_IN_USE', 'DATABASE_EXISTS', 'INVALID_NAME'];
    if (error instanceof Error && error.name === 'InstanceServerError' && typeof code === 'string') {
      throw new HostingError(passed.includes(code) ? (code as 'ROLE_EXISTS') : 'FAILED', error.message, { cause: error });
    }
    throw error;
  }
}

/**
 * Whether `password` matches a role's stored secret: SCRAM-SHA-256 (RFC 5802/7677, as
 * PostgreSQL stores it: `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`) or the older
 * `md5` + md5(password + user).
 */
export function passwordMatches(secret: string, user: string, password: string): boolean {
  const scram = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(secret);
  if (scram) {
    const [, iterations, salt, storedKey] = scram;
    const salted = pbkdf2Sync(password.normalize('NFKC'), Buffer.from(salt, 'base64'), Number(iterations), 32, 'sha256');
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    const computed = createHash('sha256').update(clientKey).digest();
    const expected = Buffer.from(storedKey, 'base64');
    return computed.length === expected.length && timingSafeEqual(computed, expected);
  }
  if (secret.startsWith('md5')) {
    const computed = Buffer.from(`md5${createHash('md5').update(password + user).digest('hex')}`);
    const expected = Buffer.from(secret);
    return computed.length === expected.length && timingSafeEqual(computed, expected);
  }
  return false;
}
