// The registry of database instances: their records (persisted), their servers (through
// `InstanceHosting`), and every change of state through the one transition function of
// `instance-state.ts`. Requests change the state at once (STARTING, UPDATING, DELETING) and the
// work that ends the state runs in the background, one operation at a time per instance, lasting
// at least `transitionDelayMs` so that clients really have to wait as they do on the real service.
import { randomUUID } from 'node:crypto';
import { ApiError, errors } from './api-errors';
import { HostingError } from './hosting';
import type { CopyPoint, HostedInstance, InstanceEndpoint, InstanceHosting, InstancePlacement, LoginVerdict, SecondaryPlacement, ServerHealth } from './hosting';
import type { Identity, IdentityDirectory } from './identities';
import { decodeJwt } from 'jose';
import { quoteForLog } from './log-text';
import { parseLsn } from './postgres/point-in-time';
import { checkSecondaries } from './instance-wire';
import type { InstanceSettings, CreateInstanceRequest } from './instance-wire';
import { stateAfterRestart, transition } from './instance-state';
import type { InstanceEvent, InstanceState } from './instance-state';
import type { InstanceRecord, StateStore } from './store';
import { readOnlyCredential } from './tokens';
import type { TokenService } from './tokens';

export interface InstanceRegistryDependencies {
  store: StateStore;
  hosting: InstanceHosting;
  tokens: TokenService;
  transitionDelayMs: number;
  log: (line: string) => void;
  /** Addresses taken by something else (Autoscaling endpoints), never given to an instance. */
  reservedAddresses?: () => Iterable<string>;
  /** Group membership, for logins as a GROUP role with a member's token. */
  identities?: Pick<IdentityDirectory, 'isGroup' | 'groupsOf' | 'byPostgresName'>;
  /** Called once an instance is really gone (after DELETING), e.g. to drop its permissions. */
  onRemoved?: (record: InstanceRecord) => Promise<void>;
  /**
   * Called when an instance's removal begins, before its servers stop: what writes into it (the
   * pipelines of its synced tables) stops and goes first, so that nothing is left pointing at an
   * instance that no longer exists.
   */
  onRemoving?: (record: InstanceRecord) => Promise<void>;
}

/** Events after which an instance's `stateMessage` (why it is STARTING or FAILED) is stale. */
const CLEARS_STATE_MESSAGE: ReadonlySet<InstanceEvent> = new Set<InstanceEvent>(['server-started', 'start-requested', 'stop-requested', 'delete-requested']);

function placement(record: InstanceRecord): InstancePlacement {
  return { uid: record.uid, address: record.address, port: record.port };
}

/** The secondary of an instance with two or more nodes, once it has an address. */
function secondaryPlacement(record: InstanceRecord): SecondaryPlacement | undefined {
  if (record.nodeCount < 2 || record.secondaryAddress === undefined) return undefined;
  return { address: record.secondaryAddress, port: record.secondaryPort ?? record.port, readable: record.readableSecondaries === true };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Takes an instance's data over as a Lakebase Autoscaling project (the instance's own server is
 * stopped first) and returns the project's name. Set by the emulator once both registries exist.
 */
export type InstanceUpgrader = (record: InstanceRecord) => Promise<string>;

export class InstanceRegistry {
  private readonly hosted = new Map<string, HostedInstance>();
  /** Instances (by uid) whose server died on its own and is being restarted: when, and how it went down. */
  private readonly crashes = new Map<string, { at: number; cause: string }>();
  private upgrader: InstanceUpgrader | undefined;
  /** The last background operation of each instance (by uid); the next one chains after it. */
  private readonly operations = new Map<string, Promise<void>>();
  /** Serializes address allocation, so two creations never get the same address. */
  private allocation: Promise<unknown> = Promise.resolve();
  private readonly closing = new AbortController();

  constructor(private readonly deps: InstanceRegistryDependencies) {}

  private get records(): Record<string, InstanceRecord> {
    return this.deps.store.state.instances;
  }

  list(): InstanceRecord[] {
    return Object.values(this.records).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get(name: string): InstanceRecord {
    const record = Object.prototype.hasOwnProperty.call(this.records, name) ? this.records[name] : undefined;
    if (!record) throw errors.instanceNotFound(name);
    return record;
  }

  findByUid(uid: string): InstanceRecord {
    const record = Object.values(this.records).find((candidate) => candidate.uid === uid);
    if (!record) throw errors.instanceUidNotFound(uid);
    return record;
  }

  setUpgrader(upgrader: InstanceUpgrader): void {
    this.upgrader = upgrader;
  }

  /** The running server of an AVAILABLE instance, for roles and databases. */
  requireAvailable(name: string, action: string): { record: InstanceRecord; server: HostedInstance } {
    const record = this.get(name);
    this.refuseWhenUpgraded(record, action);
    if (record.state !== 'AVAILABLE') throw errors.instanceNotAvailable(name, record.state, action);
    const server = this.hosted.get(record.uid);
    if (!server) throw new Error(`Instance '${name}' is AVAILABLE but has no server (a bug in the emulator).`);
    return { record, server };
  }

  /** The children of an instance (`child_instance_refs`), by name. */
  childrenOf(record: InstanceRecord): InstanceRecord[] {
    return this.list().filter((candidate) => candidate.parent?.uid === record.uid);
  }

  /** An address for a new instance or a secondary, never one in use (nor one of `taken`, not yet recorded). */
  private async allocate(forName: string, taken: readonly string[] = []): Promise<InstanceEndpoint> {
    const allocated = this.allocation.then(() => this.deps.hosting.allocateEndpoint(new Set([...this.addressesInUse(), ...taken])));
    // The chain continues after a failure; the failure itself reaches this request's caller.
    this.allocation = allocated.catch((error: unknown) => this.deps.log(`address allocation failed: ${describe(error)}`));
    try {
      return await allocated;
    } catch (error) {
      // No address to give (a machine full of servers, or no loopback aliases): the message says what to do.
      throw new ApiError('TEMPORARILY_UNAVAILABLE', `The emulator cannot place a new instance: ${describe(error)}`, { instance_name: forName }, { cause: error });
    }
  }

  /**
   * Checks a child's `parent_instance_ref` before anything is made: the parent exists, and the
   * point is inside its retention window (no earlier than its oldest backup, no later than now).
   */
  private async checkParent(request: CreateInstanceRequest): Promise<{ parent: InstanceRecord; point: CopyPoint } | undefined> {
    if (request.parent === undefined) return undefined;
    const parent = this.get(request.parent.name);
    if (parent.state === 'DELETING') throw errors.instanceDeleting(parent.name);
    const { branchTime, lsn } = request.parent;
    // "If both are specified, lsn wins" (DatabaseInstanceRef, databricks-apis.md §3).
    const point: CopyPoint = lsn !== undefined ? { kind: 'lsn', lsn } : branchTime !== undefined ? { kind: 'time', time: branchTime } : { kind: 'latest' };
    const earliest = await this.deps.hosting.earliestRestorable(placement(parent));
    const windowStart = new Date(Date.now() - parent.retentionWindowInDays * 86_400_000);
    if (point.kind === 'time') {
      if (point.time.getTime() > Date.now()) throw errors.branchTimeInFuture(parent.name, point.time);
      const from = earliest.time !== undefined && earliest.time > windowStart ? earliest.time : windowStart;
      if (earliest.time === undefined || point.time < from) {
        throw errors.outsideRetentionWindow(parent.name, point.time.toISOString(), parent.retentionWindowInDays, earliest.time === undefined ? 'none yet' : from.toISOString());
      }
    }
    if (point.kind === 'lsn' && (earliest.lsn === undefined || compareLsn(point.lsn, earliest.lsn) < 0)) {
      throw errors.outsideRetentionWindow(parent.name, `LSN ${point.lsn}`, parent.retentionWindowInDays, earliest.lsn === undefined ? 'none yet' : `LSN ${earliest.lsn}`);
    }
    return { parent, point };
  }

  async create(request: CreateInstanceRequest, creator: Identity): Promise<InstanceRecord> {
    if (Object.prototype.hasOwnProperty.call(this.records, request.name)) throw errors.instanceExists(request.name);
    const copy = await this.checkParent(request);
    const endpoint = await this.allocate(request.name);
    const secondary = request.settings.nodeCount >= 2 ? await this.allocate(request.name, [endpoint.address]) : undefined;
    // Checked again: another creation of the same name may have finished while we waited.
    if (Object.prototype.hasOwnProperty.call(this.records, request.name)) throw errors.instanceExists(request.name);
    const record: InstanceRecord = {
      name: request.name,
      uid: randomUUID(),
      state: 'STARTING',
      stopped: request.settings.stopped,
      capacity: request.settings.capacity,
      creator: creator.postgresName,
      creatorKind: creator.kind,
      creationTime: new Date().toISOString(),
      address: endpoint.address,
      port: endpoint.port,
      retentionWindowInDays: request.settings.retentionWindowInDays,
      nodeCount: request.settings.nodeCount,
      readableSecondaries: request.settings.enableReadableSecondaries,
      pgNativeLogin: request.settings.enablePgNativeLogin,
      customTags: request.settings.customTags,
      bootstrapped: false,
      ...(secondary ? { secondaryAddress: secondary.address, secondaryPort: secondary.port } : {}),
      ...(request.settings.requestedPgVersion !== undefined ? { requestedPgVersion: request.settings.requestedPgVersion } : {}),
      ...(request.settings.usagePolicyId !== undefined ? { usagePolicyId: request.settings.usagePolicyId } : {}),
      ...(copy
        ? {
            parent: {
              name: copy.parent.name,
              uid: copy.parent.uid,
              ...(copy.point.kind === 'time' ? { branchTime: copy.point.time.toISOString() } : {}),
              ...(copy.point.kind === 'lsn' ? { lsn: copy.point.lsn } : {}),
            },
          }
        : {}),
    };
    this.records[record.name] = record;
    await this.deps.store.save();
    this.deps.log(`instance ${record.name}: created at ${record.address} by ${record.creator}${copy ? ` as a copy of ${copy.parent.name}` : ''}`);
    // A copy is made after the parent's queued operations (a start, a resize) have finished.
    const parentBusy = copy ? (this.operations.get(copy.parent.uid) ?? Promise.resolve()) : Promise.resolve();
    this.enqueue(record, async () => {
      await parentBusy;
      await this.bringUp(record, { pause: true, ...(copy ? { copyOf: copy } : {}) });
    });
    return record;
  }

  /** Applies validated changes; a start, stop or resize continues in the background. */
  async update(name: string, changes: Partial<InstanceSettings>): Promise<InstanceRecord> {
    const record = this.get(name);
    this.refuseWhenUpgraded(record, 'updating it');
    if (record.state === 'DELETING') throw errors.instanceDeleting(name);
    // While a start, stop, resize or failover is under way, only changes that leave it alone are accepted.
    const busy = record.state === 'STARTING' || record.state === 'UPDATING' || record.state === 'FAILING_OVER';
    const changesStopped = changes.stopped !== undefined && changes.stopped !== record.stopped;
    const changesCapacity = changes.capacity !== undefined && changes.capacity !== record.capacity;
    const nodeCount = changes.nodeCount ?? record.nodeCount;
    const readable = changes.enableReadableSecondaries ?? record.readableSecondaries === true;
    const changesNodes = nodeCount !== record.nodeCount || readable !== (record.readableSecondaries === true);
    if (busy && (changesStopped || changesCapacity || changesNodes)) throw errors.instanceBusy(name, record.state);
    checkSecondaries(nodeCount, readable);
    // A FAILED instance (its server could not be restarted) is started or stopped like a stopped or running one.
    const wantsStop = changes.stopped === true && (record.state === 'AVAILABLE' || record.state === 'FAILED');
    const wantsStart = changes.stopped === false && (record.state === 'STOPPED' || record.state === 'FAILED');
    const wantsResize = (changesCapacity || changesNodes) && record.state === 'AVAILABLE';
    // A second node needs an address of its own, kept from now on (as read_write_dns is).
    if (nodeCount >= 2 && record.secondaryAddress === undefined) {
      const endpoint = await this.allocate(name);
      record.secondaryAddress = endpoint.address;
      record.secondaryPort = endpoint.port;
    }

    if (changes.capacity !== undefined) record.capacity = changes.capacity;
    if (changes.stopped !== undefined) record.stopped = changes.stopped;
    if (changes.retentionWindowInDays !== undefined) record.retentionWindowInDays = changes.retentionWindowInDays;
    if (changes.customTags !== undefined) record.customTags = changes.customTags;
    if (changes.usagePolicyId !== undefined) record.usagePolicyId = changes.usagePolicyId;
    if (changes.enablePgNativeLogin !== undefined) record.pgNativeLogin = changes.enablePgNativeLogin;
    record.nodeCount = nodeCount;
    record.readableSecondaries = readable;

    if (wantsStop) {
      await this.apply(record, 'stop-requested');
      this.enqueue(record, () => this.bringDown(record));
    } else if (wantsStart) {
      await this.apply(record, 'start-requested');
      this.enqueue(record, () => this.bringUp(record, { pause: true }));
    } else if (wantsResize) {
      await this.apply(record, 'resize-requested');
      this.enqueue(record, () => this.resize(record));
    } else {
      await this.deps.store.save();
    }
    return record;
  }

  /**
   * Deletes the instance. One with children needs `force`, which deletes its descendants too
   * (DeleteDatabaseInstanceRequest.force); each goes through DELETING. Returns what is deleted.
   */
  async delete(name: string, options: { force?: boolean } = {}): Promise<string[]> {
    const record = this.get(name);
    this.refuseWhenUpgraded(record, 'deleting it');
    if (record.state === 'DELETING') throw errors.instanceDeleting(name);
    const descendants = this.descendantsOf(record);
    if (descendants.length > 0 && options.force !== true) throw errors.instanceHasChildren(name, this.childrenOf(record).map((child) => child.name));
    // Children first, so that no copy is ever left without its parent's history mid-way.
    const doomed = [...descendants.reverse(), record].filter((candidate) => candidate.state !== 'DELETING');
    const removals: Promise<void>[] = [];
    for (const candidate of doomed) {
      await this.apply(candidate, 'delete-requested');
      const before = Promise.all(removals);
      removals.push(this.enqueue(candidate, async () => {
        await before;
        await this.remove(candidate, { pause: candidate === record });
      }));
    }
    return doomed.map((candidate) => candidate.name);
  }

  /** Children, grandchildren, ... in breadth-first order. */
  private descendantsOf(record: InstanceRecord): InstanceRecord[] {
    const found: InstanceRecord[] = [];
    for (let queue = this.childrenOf(record); queue.length > 0; ) {
      const next = queue.shift()!;
      found.push(next);
      queue.push(...this.childrenOf(next));
    }
    return found;
  }

  /**
   * `POST /instances/{name}/failover`: the secondary becomes the primary, reached at the same
   * `read_write_dns` (FAILING_OVER meanwhile); a new secondary then follows it.
   */
  async failover(name: string, target?: string): Promise<InstanceRecord> {
    const record = this.get(name);
    if (target !== undefined && target !== name) {
      throw errors.notImplemented(`Failing over to another instance (failover_target_database_instance_name '${target}')`, { field: 'failover_target_database_instance_name' });
    }
    if (record.state !== 'AVAILABLE') throw errors.instanceNotAvailable(name, record.state, 'a failover');
    if (record.nodeCount < 2) throw errors.noSecondary(name);
    await this.apply(record, 'failover-requested');
    this.enqueue(record, async () => {
      const since = Date.now();
      const server = this.hosted.get(record.uid);
      try {
        if (!server) throw new Error('no servers');
        await server.failover();
      } catch (error) {
        this.deps.log(`instance ${record.name}: failover failed, the primary stays: ${describe(error)}`);
      }
      await this.pause(this.deps.transitionDelayMs, since);
      await this.complete(record, 'FAILING_OVER', 'failover-done');
    });
    return record;
  }

  /**
   * `PATCH …/upgrade`: the instance becomes a Lakebase Autoscaling project with the same data
   * (UPGRADING, then AVAILABLE again). Afterwards its server is the project's production branch,
   * still reached at `read_write_dns` with the instance's credentials; lifecycle calls go to the
   * project (docs "Upgrade to Autoscaling": the upgrade is in place, the data is not moved).
   */
  async upgrade(name: string): Promise<InstanceRecord> {
    const record = this.get(name);
    this.refuseWhenUpgraded(record, 'upgrading it again');
    if (record.state !== 'AVAILABLE') throw errors.instanceNotAvailable(name, record.state, 'upgrading to Autoscaling');
    const upgrader = this.upgrader;
    if (!upgrader) throw new Error('No upgrader is set (a bug in the emulator start-up).');
    await this.apply(record, 'upgrade-requested');
    this.enqueue(record, async () => {
      const since = Date.now();
      await this.stopServer(record);
      try {
        record.upgradedToProject = await upgrader(record);
      } catch (error) {
        this.deps.log(`instance ${record.name}: upgrade failed, running its own server again: ${describe(error)}`);
        this.hosted.set(record.uid, await this.startServer(record));
        await this.complete(record, 'UPGRADING', 'upgrade-failed');
        return;
      }
      await this.pause(this.deps.transitionDelayMs, since);
      await this.complete(record, 'UPGRADING', 'upgraded');
      this.deps.log(`instance ${record.name}: upgraded to ${record.upgradedToProject}`);
    });
    return record;
  }

  /**
   * The project an upgraded instance became changed under it. The instance is that project's
   * data, so it follows: the project soft-deleted, the instance reads STOPPED (its address refuses
   * logins, as the project's endpoints do); undeleted, AVAILABLE again; purged, the instance is
   * deleted with it (DELETING, then gone: GET is 404, its permissions, catalogs and tables go), since
   * its data no longer exists anywhere. Instances that were not upgraded are not touched.
   */
  async projectChanged(name: string, change: 'deleted' | 'undeleted' | 'purged'): Promise<void> {
    const record = Object.prototype.hasOwnProperty.call(this.records, name) ? this.records[name] : undefined;
    if (!record || record.upgradedToProject === undefined) return;
    if (change === 'deleted' && record.state === 'AVAILABLE') await this.apply(record, 'project-deleted');
    else if (change === 'undeleted' && record.state === 'STOPPED') await this.apply(record, 'project-undeleted');
    else if (change === 'purged' && record.state !== 'DELETING') {
      await this.apply(record, 'delete-requested');
      await this.enqueue(record, () => this.remove(record, { pause: false }));
    }
  }

  private refuseWhenUpgraded(record: InstanceRecord, action: string): void {
    if (record.upgradedToProject === undefined) return;
    throw new ApiError(
      'INVALID_STATE',
      `Database instance '${record.name}' was upgraded to Lakebase Autoscaling (${record.upgradedToProject}); ${action} goes through the project now (/api/2.0/postgres/${record.upgradedToProject}).`,
      { instance_name: record.name, project: record.upgradedToProject },
    );
  }

  /** At emulator start: servers that should run start again, deletions in progress finish. */
  async restore(): Promise<void> {
    const records = this.list();
    for (const record of records) {
      // An upgraded instance's server belongs to its project, which brings it back (or not, while
      // the project is deleted: STOPPED stays; an interrupted purge finishes as a deletion).
      record.state =
        record.upgradedToProject !== undefined && record.state !== 'DELETING'
          ? record.state === 'STOPPED' ? 'STOPPED' : 'AVAILABLE'
          : stateAfterRestart(record.state, record.stopped);
    }
    await this.deps.store.save();
    await Promise.all(
      records.map((record) => {
        if (record.state === 'STARTING') return this.enqueue(record, () => this.bringUp(record, { pause: false }));
        if (record.state === 'DELETING') return this.enqueue(record, () => this.remove(record, { pause: false }));
        return undefined;
      }),
    );
  }

  /** Waits for every background operation (tests and shutdown). */
  async settled(): Promise<void> {
    while (true) {
      const pending = [...this.operations.values()];
      if (pending.length === 0) return;
      await Promise.allSettled(pending);
    }
  }

  /** Stops every server; records keep their states so the next start restores them. */
  async close(): Promise<void> {
    this.closing.abort();
    await this.settled();
    const servers = [...this.hosted.entries()];
    this.hosted.clear();
    const results = await Promise.allSettled(servers.map(([, server]) => server.stop()));
    results.forEach((result, index) => {
      if (result.status === 'rejected') this.deps.log(`stopping the server of instance ${servers[index][0]} failed: ${describe(result.reason)}`);
    });
  }

  /** Every address an instance listens on: primaries and secondaries. */
  addresses(): string[] {
    return Object.values(this.records).flatMap((record) => (record.secondaryAddress === undefined ? [record.address] : [record.address, record.secondaryAddress]));
  }

  private addressesInUse(): Set<string> {
    return new Set([...this.addresses(), ...(this.deps.reservedAddresses?.() ?? [])]);
  }

  private async apply(record: InstanceRecord, event: InstanceEvent): Promise<void> {
    const next = transition(record.state, event);
    this.deps.log(`instance ${record.name}: ${record.state} --${event}--> ${next ?? '(gone)'}`);
    if (next === null) delete this.records[record.name];
    else record.state = next;
    // A message about a crash is stale once the instance is up again or a user acted on it.
    if (CLEARS_STATE_MESSAGE.has(event)) delete record.stateMessage;
    await this.deps.store.save();
  }

  /**
   * What the supervisor of a started server reports after the server died on its own (hosting.ts
   * `ServerHealth`): the instance reads STARTING while the server is restarted, AVAILABLE once it
   * is back (no sooner than `transitionDelayMs` after the crash, as every transition here), and
   * FAILED when every restart failed; `emulator_state_message` says why meanwhile.
   */
  private serverHealth(record: InstanceRecord, health: ServerHealth): void {
    const { uid } = record;
    switch (health.state) {
      case 'restarting': {
        if (health.attempt === 1) this.crashes.set(uid, { at: Date.now(), cause: health.cause });
        const crash = this.crashes.get(uid)!;
        record.stateMessage =
          `Its PostgreSQL server ${crash.cause} at ${new Date(crash.at).toISOString()}; restarting it (attempt ${health.attempt} of ${health.attempts}` +
          `${health.lastError ? `; the last attempt failed: ${health.lastError}` : ''}).`;
        const event = record.state === 'AVAILABLE' ? this.apply(record, 'server-crashed') : this.deps.store.save();
        event.catch((error: unknown) => this.deps.log(`instance ${record.name}: recording the crash failed: ${describe(error)}`));
        return;
      }
      case 'recovered':
        this.enqueue(record, async () => {
          const crash = this.crashes.get(uid);
          this.crashes.delete(uid);
          await this.pause(this.deps.transitionDelayMs, crash?.at);
          await this.complete(record, 'STARTING', 'server-started');
        });
        return;
      case 'failed': {
        const crash = this.crashes.get(uid);
        this.crashes.delete(uid);
        record.stateMessage =
          `Its PostgreSQL server ${health.cause}${crash ? ` at ${new Date(crash.at).toISOString()}` : ''} and could not be started again ` +
          `(${health.attempts} attempts; the last one failed: ${health.lastError}). Start the instance again (stopped: false) once the cause is fixed.`;
        // A start makes a new server; this one is dropped.
        const server = this.hosted.get(uid);
        this.hosted.delete(uid);
        this.enqueue(record, async () => {
          await server?.stop();
          await this.complete(record, 'STARTING', 'recovery-failed');
        });
        return;
      }
      default: {
        const unknownHealth: never = health;
        throw new Error(`unknown server health ${JSON.stringify(unknownHealth)}`);
      }
    }
  }

  /**
   * Ends a state, unless a deletion was requested meanwhile (DELETING then takes over, and the
   * deletion, queued after this operation, stops the server).
   */
  private async complete(record: InstanceRecord, expected: InstanceState, event: InstanceEvent): Promise<void> {
    if (record.state === expected) await this.apply(record, event);
  }

  private enqueue(record: InstanceRecord, work: () => Promise<void>): Promise<void> {
    const previous = this.operations.get(record.uid) ?? Promise.resolve();
    const next = previous.then(work).catch((error: unknown) => {
      // One instance's failure must not stop the emulator: log it with its context and carry on.
      this.deps.log(`instance ${record.name}: background operation failed: ${error instanceof Error ? error.stack : String(error)}`);
    });
    this.operations.set(record.uid, next);
    void next.then(() => {
      if (this.operations.get(record.uid) === next) this.operations.delete(record.uid);
    });
    return next;
  }

  /** Resolves after `ms`, or at once when the emulator is closing. */
  private pause(ms: number, since = Date.now()): Promise<void> {
    const remaining = ms - (Date.now() - since);
    if (remaining <= 0 || this.closing.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, remaining);
      const signal = this.closing.signal;
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done);
    });
  }

  /**
   * Decides a login on the instance (or its secondary): a database credential of the identity the
   * role belongs to; for a GROUP role, of one of the group's members; and with native login on, a
   * role's own PostgreSQL password (PG_ONLY roles have no identity, so no token opens them).
   */
  private passwordCheck(record: InstanceRecord) {
    const { uid, name } = record;
    return async (user: string, password: string): Promise<LoginVerdict> => {
      let verdict = await this.deps.tokens.verifyDatabaseCredential(password, { user, instanceUid: uid });
      const identities = this.deps.identities;
      if (verdict === 'other-identity' && identities?.isGroup(user)) {
        // A member logs in as the group's role with a token of its own.
        const subject = subjectOf(password);
        const member = subject === undefined ? undefined : identities.byPostgresName(subject);
        if (member && identities.groupsOf(member).includes(user)) {
          verdict = await this.deps.tokens.verifyDatabaseCredential(password, { user: member.postgresName, instanceUid: uid });
        }
      }
      // A credential minted with READ_ONLY claims opens read-only sessions.
      if (verdict === 'accepted') return readOnlyCredential(password) ? { accepted: true, parameters: { default_transaction_read_only: 'on' } } : true;
      if (record.pgNativeLogin === true && verdict === 'malformed') {
        const server = this.hosted.get(uid);
        if (server && (await server.checkNativePassword(user, password).catch(() => false))) return true;
      }
      this.deps.log(`instance ${name}: login of ${quoteForLog(user)} refused: ${verdict}`);
      return false;
    };
  }

  private startOptions(record: InstanceRecord) {
    const secondary = secondaryPlacement(record);
    return { retentionDays: record.retentionWindowInDays, ...(secondary ? { secondary } : {}) };
  }

  private async startServer(record: InstanceRecord): Promise<HostedInstance> {
    try {
      return await this.deps.hosting.start(placement(record), this.passwordCheck(record), (health) => this.serverHealth(record, health), this.startOptions(record));
    } catch (error) {
      if (!(error instanceof HostingError && error.code === 'ADDRESS_IN_USE')) throw error;
      // Another program (or another emulator) took the address while this instance was stopped.
      // A new address changes read_write_dns; clients that look the instance up again follow it.
      const previous = record.address;
      const endpoint = await this.deps.hosting.allocateEndpoint(this.addressesInUse());
      record.address = endpoint.address;
      record.port = endpoint.port;
      await this.deps.store.save();
      this.deps.log(`instance ${record.name}: ${previous} is taken, moved to ${record.address}`);
      return await this.deps.hosting.start(placement(record), this.passwordCheck(record), (health) => this.serverHealth(record, health), this.startOptions(record));
    }
  }

  private async bringUp(record: InstanceRecord, options: { pause: boolean; copyOf?: { parent: InstanceRecord; point: CopyPoint } }): Promise<void> {
    const since = Date.now();
    let server: HostedInstance | undefined;
    try {
      // A child's data is its parent's at the requested point, made before its first start (and
      // again after an emulator restart that interrupted the copy).
      if (record.parent !== undefined && record.parent.effectiveLsn === undefined) {
        const copyOf = options.copyOf ?? this.copyPointOf(record);
        const copied = await this.deps.hosting.copy({
          source: placement(copyOf.parent),
          running: this.hosted.get(copyOf.parent.uid),
          point: copyOf.point,
          retentionDays: copyOf.parent.retentionWindowInDays,
          into: placement(record),
        });
        record.parent.effectiveLsn = copied.lsn;
        await this.deps.store.save();
      }
      server = await this.startServer(record);
      if (!record.bootstrapped) {
        // The creator owns the instance: a role in databricks_superuser, made on the first start
        // (a child already has its parent's roles, and maybe this one).
        await server.createRole(record.creator, record.creatorKind, { superuser: true }).catch(async (error: unknown) => {
          if (!(error instanceof HostingError && error.code === 'ROLE_EXISTS')) throw error;
          await server!.updateRole(record.creator, { superuser: true });
        });
        record.bootstrapped = true;
        await this.deps.store.save();
      }
    } catch (error) {
      this.deps.log(`instance ${record.name}: could not start: ${describe(error)}`);
      if (server) await server.stop().catch((stopError: unknown) => this.deps.log(`instance ${record.name}: stop after failed start: ${describe(stopError)}`));
      if (record.parent !== undefined && record.parent.effectiveLsn === undefined) {
        // A child that could not be copied has no data to start on: it is removed, as a failed
        // creation is (the log says why).
        await this.apply(record, 'delete-requested');
        await this.remove(record, { pause: false });
        return;
      }
      await this.complete(record, 'STARTING', 'start-failed');
      return;
    }
    this.hosted.set(record.uid, server);
    if (options.pause) await this.pause(this.deps.transitionDelayMs, since);
    // A server that died during the pause is being restarted: its recovery ends STARTING.
    if (this.crashes.has(record.uid)) return;
    if (record.stopped && record.state === 'STARTING') {
      // Created with `stopped: true`: made, then stopped, without passing through AVAILABLE.
      await this.stopServer(record);
      await this.complete(record, 'STARTING', 'created-stopped');
      return;
    }
    await this.complete(record, 'STARTING', 'server-started');
  }

  /** Where a child's interrupted copy resumes from: its recorded parent and point. */
  private copyPointOf(record: InstanceRecord): { parent: InstanceRecord; point: CopyPoint } {
    const ref = record.parent!;
    const parent = this.list().find((candidate) => candidate.uid === ref.uid);
    if (!parent) throw new Error(`the parent ${ref.name} of ${record.name} is gone`);
    const point: CopyPoint = ref.lsn !== undefined ? { kind: 'lsn', lsn: ref.lsn } : ref.branchTime !== undefined ? { kind: 'time', time: new Date(ref.branchTime) } : { kind: 'latest' };
    return { parent, point };
  }

  private async bringDown(record: InstanceRecord): Promise<void> {
    const since = Date.now();
    await this.stopServer(record);
    await this.pause(this.deps.transitionDelayMs, since);
    await this.complete(record, 'UPDATING', 'server-stopped');
  }

  private async resize(record: InstanceRecord): Promise<void> {
    // The emulator does not size servers; the state still passes through UPDATING as it would.
    // The nodes do change: a secondary starts (or stops) as node_count and readable secondaries say.
    const since = Date.now();
    const server = this.hosted.get(record.uid);
    try {
      await server?.setSecondary(secondaryPlacement(record));
    } catch (error) {
      this.deps.log(`instance ${record.name}: changing the secondary failed: ${describe(error)}`);
    }
    await this.pause(this.deps.transitionDelayMs, since);
    await this.complete(record, 'UPDATING', 'resize-applied');
  }

  private async stopServer(record: InstanceRecord): Promise<void> {
    const server = this.hosted.get(record.uid);
    if (!server) return;
    this.hosted.delete(record.uid);
    await server.stop();
  }

  private async remove(record: InstanceRecord, options: { pause: boolean }): Promise<void> {
    const since = Date.now();
    try {
      await this.deps.onRemoving?.(record);
    } catch (error) {
      // The instance goes anyway: what depends on it is logged, never a reason to keep it.
      this.deps.log(`instance ${record.name}: removing what depends on it failed: ${describe(error)}`);
    }
    await this.stopServer(record);
    await this.deps.hosting.destroy(placement(record));
    if (options.pause) await this.pause(this.deps.transitionDelayMs, since);
    // Unity Catalog entries bound to the instance go with it.
    const { catalogs, tables } = this.deps.store.state;
    for (const [name, catalog] of Object.entries(catalogs)) if (catalog.instanceName === record.name) delete catalogs[name];
    for (const [name, table] of Object.entries(tables)) if (table.instanceName === record.name) delete tables[name];
    await this.apply(record, 'deleted');
    await this.deps.onRemoved?.(record);
    this.deps.log(`instance ${record.name}: deleted`);
  }
}

/** The subject of a database credential, read without checking it (the check comes after). */
function subjectOf(token: string): string | undefined {
  try {
    const subject = decodeJwt(token).sub;
    return typeof subject === 'string' ? subject : undefined;
  } catch {
    // Not a JWT at all: no subject, and the token check refuses it anyway.
    return undefined;
  }
}

/** Orders two LSNs (`16/B374D848`). */
function compareLsn(a: string, b: string): number {
  const [x, y] = [parseLsn(a), parseLsn(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}
