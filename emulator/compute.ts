// The compute of Lakebase Autoscaling branches: one real PostgreSQL server per branch (its data
// directory is the branch's data), and per endpoint a login gateway at the endpoint's own
// address (plus one at its pooled host) that stays up while the server sleeps.
//
// Scale to zero, as the real service does it ("when your compute remains idle — receiving no
// queries or connections — for the configured timeout period", docs "Scale to zero"): an endpoint
// through which nothing moved for its `suspend_timeout_duration` lets the server stop (the endpoint
// reads IDLE), and sessions still open end as PostgreSQL's shutdown ends them; a session that is
// running a statement or sits inside a transaction keeps the server up. The next login wakes it
// inside the gateway, after the password was checked and before the session is opened, so the
// client only sees a slower connect. Endpoints with `no_suspension` keep it running. A disabled
// endpoint refuses logins with a FATAL error and does not keep the server up.
//
// A server that dies under its endpoints (killed, crashed) is started again by its supervision
// (`postgres/supervision.ts`); meanwhile, and for good if every restart failed, its endpoints read
// DEGRADED. A login does not wait for the restart policy's next pause: it starts the server at
// once, as it wakes a suspended one, and the endpoints read ACTIVE again.
//
// A branch is one data directory, so its read-write endpoint is its one primary server. A read-only
// endpoint is a compute of its own, as on the real service: a PostgreSQL hot standby streaming
// from the branch's server (`postgres/point-in-time.ts` `prepareStandby`, the machinery of the
// readable secondaries of Provisioned instances), in `readers/<endpoint uid>/` of the branch's
// directory. Writes there fail with PostgreSQL's own read-only error, and rows written on the
// primary show up after the standby replayed them. It is seeded when the endpoint is made, started
// at its first login (the primary too: the standby streams from it) and caught up with the
// primary before that login goes on, and stops with the branch's server when the branch scales to
// zero (fidelity gap `read-only-endpoint`, limits.ts).
import { mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ApiError } from './api-errors';
import type { EndpointRecord, EndpointState } from './autoscaling-records';
import { HostingError } from './hosting';
import { translated } from './postgres-hosting';
import type { DataDirLayout } from './paths';
import { allocateInstanceEndpoint, createInstanceServer, loadOrCreateAuthority, startLoginGateway } from './postgres/index';
import type { CertificateAuthority, InstanceServer, LoginGateway } from './postgres/index';
import { ADMIN_ROLE } from './postgres/instance-server';
import { archivingSettings, BackupCatalog, catchUpStandby, parseLsn, pointInTimeCopy, prepareStandby, refollowStandby, walFileName } from './postgres/point-in-time';
import type { AdminConnection, RecoveryTarget, RestoredCopy } from './postgres/point-in-time';
import { handToServer, resolveServerAccount } from './postgres/server-account';
import { POSTGRES_ERRORS } from './postgres/startup-protocol';
import { INSTANCE_PORT } from './limits';
import type { TokenService } from './tokens';

/**
 * A server woken for an API call (a role, a database, a branch copy) stays up this long after it,
 * so that a burst of calls does not start and stop it each time.
 */
const API_CALL_GRACE_MS = 5_000;
/** When the timeout passed but a session is busy (a long statement), look again this much later. */
const BUSY_RECHECK_MS = 1_000;
/** PostgreSQL's default WAL segment size (the emulator's servers keep it). */
const WAL_SEGMENT_BYTES = 16 * 1024 * 1024;
/** Below this much WAL to replay, a copy never bothers with a new base backup. */
const FRESH_BACKUP_MIN_REPLAY_BYTES = 64 * 1024 * 1024;

export interface ComputeHostingOptions {
  layout: DataDirLayout;
  tokens: TokenService;
  log: (line: string) => void;
  /** Told when a branch's server starts or stops: its endpoints' state (and last activity). */
  onEndpointState: (endpoint: EndpointRecord, state: EndpointState) => void;
  /** Pauses before each restart of a branch server that died on its own (default: supervision.ts's). */
  restartDelaysMs?: readonly number[];
}

/** Where the compute of every branch lives; one per emulator. */
export class ComputeHosting {
  readonly #options: ComputeHostingOptions;
  readonly #authority: CertificateAuthority;
  readonly #branches = new Map<string, BranchCompute>();

  private constructor(options: ComputeHostingOptions, authority: CertificateAuthority) {
    this.#options = options;
    this.#authority = authority;
  }

  static async open(options: ComputeHostingOptions): Promise<ComputeHosting> {
    return new ComputeHosting(options, await loadOrCreateAuthority(options.layout.authorityDir));
  }

  get caCertPath(): string {
    return this.#authority.certPath;
  }

  /** Two loopback addresses (host and pooled host) not among `inUse`, on the PostgreSQL port. */
  async allocateAddresses(inUse: ReadonlySet<string>): Promise<{ address: string; pooledAddress: string; port: number }> {
    const first = await translated(() => allocateInstanceEndpoint(inUse, INSTANCE_PORT));
    const second = await translated(() => allocateInstanceEndpoint(new Set([...inUse, first.address]), INSTANCE_PORT));
    if (first.port !== INSTANCE_PORT || second.port !== INSTANCE_PORT) {
      // Only 127.0.0.1 (macOS without aliases): every endpoint on its own port there.
      throw new HostingError('FAILED', 'Autoscaling endpoints need loopback aliases (127.0.x.y); this machine has only 127.0.0.1.');
    }
    return { address: first.address, pooledAddress: second.address, port: INSTANCE_PORT };
  }

  /** The compute of a branch whose data is `instances/<dataUid>`; made on first use. */
  branch(dataUid: string, label: string): BranchCompute {
    let compute = this.#branches.get(dataUid);
    if (!compute) {
      compute = new BranchCompute(dataUid, label, this.#options, this.#authority);
      this.#branches.set(dataUid, compute);
    }
    return compute;
  }

  /** Stops every gateway and server (emulator shutdown); the data stays. */
  async close(): Promise<void> {
    const all = [...this.#branches.values()];
    this.#branches.clear();
    const results = await Promise.allSettled(all.map((compute) => compute.close()));
    results.forEach((result, index) => {
      if (result.status === 'rejected') this.#options.log(`compute of ${all[index].label}: stopping failed: ${(result.reason as Error).message}`);
    });
  }

  /** Stops the branch's compute and deletes its data. */
  async destroy(dataUid: string, label: string): Promise<void> {
    const compute = this.branch(dataUid, label);
    this.#branches.delete(dataUid);
    await compute.destroy();
  }
}

/** The hot standby of a read-only endpoint. */
interface Reader {
  /** Its directory is `<branch dir>/readers/<endpoint uid>` (pgdata/, socket/). */
  server: InstanceServer;
  /** It died on its own and has not run since. */
  degraded: boolean;
}

interface AttachedEndpoint {
  record: EndpointRecord;
  gateways: LoginGateway[];
  /** Client connections open on its gateways now. */
  connections: number;
  /** When a connection last opened or closed or moved bytes (or the endpoint was attached). */
  lastActivity: number;
}

/**
 * One branch's server and its endpoints' gateways. The server archives its WAL into
 * `<data>/archive` and keeps base backups in `<data>/backups` (point-in-time.ts), so that branches
 * can be made from it as of any moment since its first backup.
 */
export class BranchCompute {
  readonly label: string;
  /** The branch's directory: `pgdata/`, `archive/`, `backups/`, the socket. */
  readonly dataDir: string;
  readonly #catalog: BackupCatalog;
  readonly #server: InstanceServer;
  readonly #options: ComputeHostingOptions;
  readonly #authority: CertificateAuthority;
  readonly #endpoints = new Map<string, AttachedEndpoint>();
  /** wake / suspend / close run one after another. */
  #lifecycle: Promise<unknown> = Promise.resolve();
  /** API calls using the server now; it never sleeps under them. */
  #adminInFlight = 0;
  #lastAdminAt = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Not before this: a session was busy at the last look. */
  #notBefore = 0;
  #closed = false;
  /** The server died on its own and has not run since (restarting, or every restart failed). */
  #degraded = false;
  /** The standbys of the read-only endpoints, by endpoint uid (made on first use). */
  readonly #readers = new Map<string, Reader>();

  constructor(dataUid: string, label: string, options: ComputeHostingOptions, authority: CertificateAuthority) {
    this.label = label;
    this.#options = options;
    this.#authority = authority;
    this.dataDir = options.layout.instanceDir(dataUid);
    this.#catalog = new BackupCatalog(join(this.dataDir, 'backups'), join(this.dataDir, 'archive'));
    this.#server = createInstanceServer({
      dataDir: this.dataDir,
      settings: archivingSettings(this.#catalog.archiveDir),
      // Names the server in logs and `ps` (cluster_name); it listens on no address of its own.
      address: label,
      port: INSTANCE_PORT,
      gateway: false,
      checkPassword: async () => false,
      log: (line) => options.log(`[${label}] ${line}`),
      ...(options.restartDelaysMs !== undefined ? { restartDelaysMs: options.restartDelaysMs } : {}),
      onHealth: (health) => {
        this.#degraded = health.state !== 'recovered';
        if (health.state !== 'restarting') options.log(`compute of ${label}: ${health.state === 'recovered' ? 'running again' : 'down'} after it ${health.cause}`);
        this.#reportAll();
        // Running again, perhaps on a new socket: the standbys follow it there; and it may sleep
        // again when its endpoints are quiet.
        if (health.state === 'recovered') void this.#refollowReaders();
        this.#scheduleCheck();
      },
    });
  }

  get running(): boolean {
    return this.#server.running;
  }

  /**
   * Opens the endpoint's gateways (host and pooled host, or the `addresses` given). The server
   * stays as it is. Logins need a credential minted for `record.uid`.
   */
  async attach(record: EndpointRecord, addresses: readonly string[] = [record.address, record.pooledAddress]): Promise<void> {
    if (this.#endpoints.has(record.uid)) return;
    const attached: AttachedEndpoint = { record, gateways: [], connections: 0, lastActivity: Date.now() };
    // `localhost` too: node-postgres 8.18, which @databricks/lakebase 0.6 pins, checks the
    // certificate of a server it reaches by IP address against "localhost" (fidelity gap
    // endpoint-certificate-localhost); real endpoints have DNS names and never meet this.
    const certificate = this.#authority.issueServerCertificate({ dnsNames: ['localhost'], ipAddresses: [...addresses] });
    // Connections open on each of its gateways.
    const counts = addresses.map(() => 0);
    // A read-only endpoint's sessions are on its standby, which refuses writes by itself.
    const readOnly = record.type === 'ENDPOINT_TYPE_READ_ONLY';
    try {
      for (const [index, address] of addresses.entries()) {
        const gateway = await translated(() =>
          startLoginGateway({
            host: address,
            port: record.port,
            certificate,
            serverSocketPath: () => (readOnly ? this.#wakeReaderForLogin(record) : this.#wakeForLogin()),
            runningServerSocketPath: () => (readOnly ? this.#readers.get(record.uid)?.server.socketPath : this.#server.socketPath),
            checkPassword: async (user, password) => {
              const verdict = await this.#options.tokens.verifyDatabaseCredential(password, { user, instanceUid: record.uid });
              if (verdict !== 'accepted') this.#options.log(`endpoint ${record.name}: login of ${user} refused: ${verdict}`);
              return verdict === 'accepted';
            },
            admit: () => (attached.record.disabled ? POSTGRES_ERRORS.endpointDisabled(attached.record.name) : undefined),
            reservedRoles: ['lakebase_emulator'],
            onConnectionCountChange: (count) => {
              counts[index] = count;
              this.#connectionsChanged(attached, counts.reduce((sum, n) => sum + n, 0));
            },
            onActivity: () => {
              attached.lastActivity = Date.now();
            },
            log: (line) => this.#options.log(line),
          }),
        );
        attached.gateways.push(gateway);
      }
    } catch (error) {
      await Promise.allSettled(attached.gateways.map((gateway) => gateway.close()));
      throw error;
    }
    this.#endpoints.set(record.uid, attached);
    this.#reportState(attached);
    this.#scheduleCheck();
  }

  /**
   * Closes the endpoint's gateways (its sessions end) and stops its standby, if it has one (with
   * `removeData`, the standby's data goes too: the endpoint was deleted); the server sleeps when
   * nothing needs it.
   */
  async detach(uid: string, options: { removeData?: boolean } = {}): Promise<void> {
    const attached = this.#endpoints.get(uid);
    if (attached) {
      this.#endpoints.delete(uid);
      await Promise.allSettled(attached.gateways.map((gateway) => gateway.close()));
    }
    const reader = this.#readers.get(uid);
    if (reader) await this.#enqueue(() => translated(() => reader.server.stop()));
    if (options.removeData) {
      this.#readers.delete(uid);
      if (reader) await this.#enqueue(() => translated(() => reader.server.destroy()));
      await rm(this.#readerDir(uid), { recursive: true, force: true });
    }
    this.#scheduleCheck();
  }

  /**
   * Seeds the standby of a new read-only endpoint from a fresh base backup of the branch's server
   * (waking it), so that its first login only has to start it and replay what came since.
   */
  async prepareReader(record: EndpointRecord): Promise<void> {
    await this.withServer(() => this.#prepareReaderData(record.uid));
  }

  #readerDir(uid: string): string {
    return join(this.dataDir, 'readers', uid);
  }

  /** The standby's data, seeded or pointed at the running primary's current socket. */
  async #prepareReaderData(uid: string): Promise<void> {
    const primary = this.#server.admin;
    if (primary === undefined) throw new Error(`the server of ${this.label} is not running; a standby cannot follow it`);
    const dir = this.#readerDir(uid);
    const account = await resolveServerAccount();
    await mkdir(dir, { recursive: true });
    await handToServer(join(this.dataDir, 'readers'), 0o700, account);
    await handToServer(dir, 0o700, account);
    await prepareStandby({ pgdata: join(dir, 'pgdata'), catalog: this.#catalog, primary, primaryPgdata: join(this.dataDir, 'pgdata') });
  }

  #readerOf(record: EndpointRecord): Reader {
    let reader = this.#readers.get(record.uid);
    if (reader) return reader;
    const dir = this.#readerDir(record.uid);
    const label = `${this.label} (read-only ${record.endpointId})`;
    const created: Reader = {
      degraded: false,
      server: createInstanceServer({
        dataDir: dir,
        // As the primary's (a standby does not archive with archive_mode=on); settings must match
        // for a hot standby anyway.
        settings: archivingSettings(this.#catalog.archiveDir),
        address: label,
        port: INSTANCE_PORT,
        gateway: false,
        // Never a fresh, empty cluster: its data is always seeded from the primary first.
        templateDir: false,
        checkPassword: async () => false,
        log: (line) => this.#options.log(`[${label}] ${line}`),
        ...(this.#options.restartDelaysMs !== undefined ? { restartDelaysMs: this.#options.restartDelaysMs } : {}),
        onHealth: (health) => {
          created.degraded = health.state !== 'recovered';
          this.#reportAll();
        },
      }),
    };
    reader = created;
    this.#readers.set(record.uid, reader);
    return reader;
  }

  /**
   * A login on a read-only endpoint: the primary runs (the standby streams from it), then the
   * endpoint's standby, seeded if it has no data yet, pointed at the primary's current socket.
   */
  async #wakeReaderForLogin(record: EndpointRecord): Promise<string> {
    await this.#wake();
    const reader = this.#readerOf(record);
    await this.#enqueue(async () => {
      if (reader.server.running) return;
      if (!this.#server.running) throw new Error(`the server of ${this.label} stopped while a login on ${record.name} was waiting for it`);
      const started = Date.now();
      if (reader.degraded) await translated(() => reader.server.stop());
      await this.#prepareReaderData(record.uid);
      await translated(() => reader.server.start());
      reader.degraded = false;
      // As a read-only compute of the real service starts at the branch's latest LSN: the session
      // that woke it sees every commit made before its login, not only what replay reached so far.
      const primary = this.#server.admin;
      const standby = reader.server.admin;
      const caughtUp = primary !== undefined && standby !== undefined && (await catchUpStandby(primary, standby));
      if (!caughtUp) this.#options.log(`compute of ${this.label}: the standby of ${record.name} had not caught up with the primary when its login went on`);
      this.#options.log(`compute of ${this.label}: the standby of ${record.name} woke up in ${Date.now() - started} ms`);
      this.#reportAll();
    });
    const path = reader.server.socketPath;
    if (path === undefined) throw new Error(`the standby of ${record.name} stopped while a login was waiting for it`);
    return path;
  }

  /** The primary was started again on its own (after a crash): running standbys follow its new socket. */
  async #refollowReaders(): Promise<void> {
    const primary = this.#server.admin;
    if (primary === undefined) return;
    for (const [uid, reader] of this.#readers) {
      const admin = reader.server.admin;
      if (admin === undefined) continue;
      try {
        await refollowStandby(join(this.#readerDir(uid), 'pgdata'), primary, admin);
      } catch (error) {
        this.#options.log(`compute of ${this.label}: a standby could not follow the restarted server: ${(error as Error).message}`);
      }
    }
  }

  /** Stops every standby (the primary is about to stop, or the compute closes). */
  async #stopReaders(): Promise<void> {
    await Promise.all([...this.#readers.values()].map((reader) => translated(() => reader.server.stop())));
  }

  /** Runs an API call on the running server (waking it), e.g. creating a role. */
  async withServer<T>(work: (server: InstanceServer) => Promise<T>): Promise<T> {
    this.#adminInFlight++;
    try {
      await this.#wake();
      return await work(this.#server);
    } finally {
      this.#adminInFlight--;
      this.#lastAdminAt = Date.now();
      this.#scheduleCheck();
    }
  }

  /** Takes a base backup now: copies as of any later moment can be made from it. */
  async takeBackup(): Promise<void> {
    await this.withServer(() => this.#catalog.take(this.#admin(), join(this.dataDir, 'pgdata')));
  }

  /**
   * Makes `target`'s data a copy of this branch as of `at` (PostgreSQL's own recovery, not SQL),
   * waking this branch's server for the latest writes. `target` must have no data yet.
   */
  async copyInto(target: BranchCompute, at: RecoveryTarget): Promise<RestoredCopy> {
    return this.withServer(async () => {
      if (at.kind === 'latest') await this.#freshenBackup();
      await mkdir(target.dataDir, { recursive: true });
      await handToServer(target.dataDir, 0o700, await resolveServerAccount());
      return pointInTimeCopy({
        catalog: this.#catalog,
        admin: this.#admin(),
        sourcePgdata: join(this.dataDir, 'pgdata'),
        target: at,
        pgdata: join(target.dataDir, 'pgdata'),
        superuser: ADMIN_ROLE,
        log: (line) => this.#options.log(`[${this.label} → ${target.label}] ${line}`),
      });
    });
  }

  /**
   * A copy "as of now" replays all WAL archived since the newest base backup. Once that is more
   * than the backup itself (a branch loaded with data after its history began), a new base backup
   * (one file copy) is cheaper than replaying it, for this copy and every later one.
   */
  async #freshenBackup(): Promise<void> {
    const newest = (await this.#catalog.list()).at(-1);
    if (newest === undefined) return;
    const startSegment = walFileName(newest.timeline, parseLsn(newest.startLsn)).slice(8);
    const since = (await readdir(this.#catalog.archiveDir)).filter((file) => /^[0-9A-F]{24}$/.test(file) && file.slice(8) >= startSegment).length;
    const replayBytes = since * WAL_SEGMENT_BYTES;
    if (replayBytes > FRESH_BACKUP_MIN_REPLAY_BYTES && replayBytes > newest.size) await this.#catalog.take(this.#admin(), join(this.dataDir, 'pgdata'));
  }

  /** The emulator's superuser on the running server's private socket. */
  #admin(): AdminConnection {
    const socket = this.#server.socketPath;
    if (socket === undefined) throw new Error(`the server of ${this.label} is not running`);
    return { host: dirname(socket), port: INSTANCE_PORT, user: ADMIN_ROLE, database: 'postgres' };
  }

  /** Re-reads the endpoints' settings (suspend timeout, disabled) after an update. */
  settingsChanged(): void {
    this.#scheduleCheck();
  }

  /** Stops the server now (its endpoints detached first, e.g. a soft-deleted branch); it can wake again later. */
  async stopServer(): Promise<void> {
    this.#clearTimer();
    await this.#enqueue(async () => {
      await this.#stopReaders();
      await translated(() => this.#server.stop());
    });
  }

  /** Stops gateways and server for good (emulator shutdown); the data stays. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#clearTimer();
    const endpoints = [...this.#endpoints.values()];
    this.#endpoints.clear();
    await Promise.allSettled(endpoints.flatMap((attached) => attached.gateways.map((gateway) => gateway.close())));
    await this.#enqueue(async () => {
      await this.#stopReaders();
      await translated(() => this.#server.stop());
    });
  }

  async destroy(): Promise<void> {
    await this.close();
    await this.#enqueue(async () => {
      for (const reader of this.#readers.values()) await translated(() => reader.server.destroy());
      this.#readers.clear();
      await rm(join(this.dataDir, 'readers'), { recursive: true, force: true });
      await translated(() => this.#server.destroy());
    });
  }

  #enqueue<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#lifecycle.then(work);
    this.#lifecycle = next.catch(() => undefined);
    return next;
  }

  async #wake(): Promise<void> {
    if (this.#closed) throw new ApiError('TEMPORARILY_UNAVAILABLE', `The compute of ${this.label} is shutting down.`);
    if (this.#server.running) return;
    await this.#enqueue(async () => {
      if (this.#server.running) return;
      const started = Date.now();
      // Down after a crash: the restarts of its supervision are called off (a stop ends them and
      // leaves it stopped), and it is started now, for the one who is waiting.
      if (this.#degraded) await translated(() => this.#server.stop());
      // The archive exists before the server's first WAL segment is done (archive_command copies into it).
      await mkdir(this.#catalog.archiveDir, { recursive: true });
      await handToServer(this.#catalog.archiveDir, 0o700, await resolveServerAccount());
      await translated(() => this.#server.start());
      this.#degraded = false;
      this.#options.log(`compute of ${this.label}: woke up in ${Date.now() - started} ms`);
      this.#reportAll();
    });
  }

  async #wakeForLogin(): Promise<string> {
    await this.#wake();
    const path = this.#server.socketPath;
    if (path === undefined) throw new Error(`the server of ${this.label} stopped while a login was waiting for it`);
    return path;
  }

  #connectionsChanged(attached: AttachedEndpoint, count: number): void {
    attached.connections = count;
    attached.lastActivity = Date.now();
    attached.record.lastActiveTime = new Date().toISOString();
    this.#scheduleCheck();
  }

  /**
   * When the server may sleep: never during an API call or for an endpoint without suspension,
   * else once every endpoint has been quiet for its suspend timeout (activity moves it later,
   * which the check at the deadline notices).
   */
  #sleepDeadline(): number | undefined {
    if (!this.#server.running || this.#adminInFlight > 0) return undefined;
    let deadline = Math.max(this.#lastAdminAt + API_CALL_GRACE_MS, this.#notBefore);
    for (const attached of this.#endpoints.values()) {
      const { record } = attached;
      // A disabled endpoint takes no sessions, so it never keeps the server awake.
      if (record.disabled) continue;
      const timeout = record.settings.suspendTimeoutSeconds;
      if (timeout === null) return undefined;
      deadline = Math.max(deadline, attached.lastActivity + timeout * 1000);
    }
    return deadline;
  }

  #scheduleCheck(): void {
    this.#clearTimer();
    if (this.#closed) return;
    const deadline = this.#sleepDeadline();
    if (deadline === undefined) return;
    this.#timer = setTimeout(() => void this.#maybeSleep(), Math.max(0, deadline - Date.now()));
    this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #maybeSleep(): Promise<void> {
    this.#timer = undefined;
    try {
      await this.#enqueue(async () => {
        const deadline = this.#sleepDeadline();
        // Someone logged in, queried or called meanwhile: not yet.
        if (deadline === undefined || deadline > Date.now() || this.#closed) return;
        // Quiet sessions end with the server; one running a statement or inside a transaction
        // keeps it up (no bytes move while a long statement runs).
        const running = [this.#server, ...[...this.#readers.values()].map((reader) => reader.server)].filter((server) => server.running);
        const busy = await Promise.all(running.map((server) => translated(() => server.busySessions())));
        if (busy.some((count) => count > 0)) {
          this.#notBefore = Date.now() + BUSY_RECHECK_MS;
          return;
        }
        // The standbys first: they stream from the primary.
        await this.#stopReaders();
        await translated(() => this.#server.stop());
        this.#options.log(`compute of ${this.label}: idle, scaled to zero`);
        this.#reportAll();
      });
    } catch (error) {
      // A failed stop leaves the server as it was; the next check tries again.
      this.#options.log(`compute of ${this.label}: could not scale to zero: ${(error as Error).message}`);
    }
    this.#scheduleCheck();
  }

  #reportState(attached: AttachedEndpoint): void {
    this.#options.onEndpointState(attached.record, this.#stateOf(attached.record));
  }

  /** A read-only endpoint is as its standby is; any other as the branch's server is. */
  #stateOf(record: EndpointRecord): EndpointState {
    if (record.type === 'ENDPOINT_TYPE_READ_ONLY') {
      const reader = this.#readers.get(record.uid);
      return reader?.server.running ? 'ACTIVE' : reader?.degraded ? 'DEGRADED' : 'IDLE';
    }
    return this.#server.running ? 'ACTIVE' : this.#degraded ? 'DEGRADED' : 'IDLE';
  }

  #reportAll(): void {
    for (const attached of this.#endpoints.values()) this.#reportState(attached);
  }
}
