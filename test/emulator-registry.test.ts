// The instance registry's handling of overlapping requests and failures, which real servers make
// too fast or too rare to provoke on purpose: here the hosting seam (`emulator/hosting.ts`) is a
// scripted one whose starts finish when the test says so. Real servers are exercised by
// emulator-api and emulator-credentials.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { ApiError } from '../emulator/api-errors';
import { HostingError } from '../emulator/hosting';
import type { CopyRequest } from '../emulator/hosting';
import type { HostedInstance, InstanceHosting, InstancePlacement, PasswordCheck, ServerHealth } from '../emulator/hosting';
import type { Identity } from '../emulator/identities';
import { InstanceRegistry } from '../emulator/instances';
import { parseCreateInstance } from '../emulator/instance-wire';
import { openStateStore } from '../emulator/store';
import type { StateStore } from '../emulator/store';
import { loadTokenService } from '../emulator/tokens';

const creator: Identity = { kind: 'USER', id: '1', userName: 'ada@example.com', displayName: 'Ada', postgresName: 'ada@example.com' };

/** A hosting whose servers start when `release()` is called, and which records what happened. */
class ScriptedHosting implements InstanceHosting {
  readonly caCertPath = '/nowhere/ca.crt';
  readonly events: string[] = [];
  private pending: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private nextAddress = 1;
  failNextStart: Error | undefined;
  autoStart = false;
  /** What each started server's supervisor would report, by address. */
  readonly health = new Map<string, (health: ServerHealth) => void>();

  async allocateEndpoint(inUse: ReadonlySet<string>) {
    let address: string;
    do address = `127.0.9.${this.nextAddress++}`; while (inUse.has(address));
    return { address, port: 5432 };
  }

  async start(placement: InstancePlacement, _check: PasswordCheck, onHealth?: (health: ServerHealth) => void): Promise<HostedInstance> {
    this.events.push(`start ${placement.address}`);
    if (onHealth) this.health.set(placement.address, onHealth);
    const failure = this.failNextStart;
    this.failNextStart = undefined;
    if (failure) throw failure;
    if (!this.autoStart) await new Promise<void>((resolve, reject) => this.pending.push({ resolve, reject }));
    const events = this.events;
    return {
      createRole: async (name) => void events.push(`role ${name}`),
      updateRole: async () => undefined,
      dropRole: async () => undefined,
      listRoles: async () => [],
      createDatabase: async () => undefined,
      databaseExists: async () => true,
      adminConnection: () => {
        throw new Error('this registry test hosts no PostgreSQL');
      },
      relationExists: async () => true,
      checkNativePassword: async () => false,
      setSecondary: async (secondary) => void events.push(`secondary ${secondary?.address ?? 'none'}`),
      failover: async () => void events.push(`failover ${placement.address}`),
      stop: async () => void events.push(`stop ${placement.address}`),
    };
  }

  async copy(request: CopyRequest) {
    this.events.push(`copy ${request.source.address} → ${request.into.address}`);
    return { lsn: '0/1000000' };
  }

  async earliestRestorable() {
    return { time: new Date(0), lsn: '0/0' };
  }

  async destroy(placement: InstancePlacement) {
    this.events.push(`destroy ${placement.address}`);
  }

  /** Lets every start waiting so far finish. */
  release(): void {
    for (const start of this.pending.splice(0)) start.resolve();
  }
}

let dir: string;
let store: StateStore;
let hosting: ScriptedHosting;
let registry: InstanceRegistry;
const logged: string[] = [];

async function open(): Promise<InstanceRegistry> {
  store = await openStateStore(join(dir, 'state.json'));
  const tokens = await loadTokenService(join(dir, 'key.json'));
  registry = new InstanceRegistry({ store, hosting, tokens, transitionDelayMs: 0, log: (line) => logged.push(line) });
  return registry;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

function busyError(action: () => Promise<unknown>): Promise<ApiError> {
  return action().then(
    () => {
      throw new Error('expected INVALID_STATE');
    },
    (error: unknown) => {
      expect(error).toBeInstanceOf(ApiError);
      return error as ApiError;
    },
  );
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lakebase-registry-'));
  hosting = new ScriptedHosting();
  logged.length = 0;
  await open();
});

afterEach(async () => {
  hosting.release();
  await registry.close();
  await rm(dir, { recursive: true, force: true });
});

test('a deletion requested while the instance starts waits for the start, then removes it', async () => {
  const record = await registry.create(parseCreateInstance({ name: 'quick' }), creator);
  expect(record.state).toBe('STARTING');
  await until(() => hosting.events.length > 0);
  await registry.delete('quick');
  expect(registry.get('quick').state).toBe('DELETING');
  hosting.release();
  await registry.settled();
  expect(() => registry.get('quick')).toThrow(/does not exist/);
  expect(hosting.events).toEqual(['start 127.0.9.1', 'role ada@example.com', 'stop 127.0.9.1', 'destroy 127.0.9.1']);
});

test('a start, stop or resize is refused while another is under way; other changes are not', async () => {
  await registry.create(parseCreateInstance({ name: 'busy' }), creator);
  expect((await busyError(() => registry.update('busy', { stopped: true }))).code).toBe('INVALID_STATE');
  expect((await busyError(() => registry.update('busy', { capacity: 'CU_4' }))).code).toBe('INVALID_STATE');
  expect((await registry.update('busy', { retentionWindowInDays: 9 })).retentionWindowInDays).toBe(9);
  hosting.release();
  await registry.settled();
  expect(registry.get('busy').state).toBe('AVAILABLE');
  hosting.autoStart = true;
  expect((await registry.update('busy', { stopped: true })).state).toBe('UPDATING');
  // Asking to start while the stop is under way would be silently lost: refused instead.
  expect((await busyError(() => registry.update('busy', { stopped: false }))).code).toBe('INVALID_STATE');
  await registry.settled();
  expect(registry.get('busy').state).toBe('STOPPED');
});

test('a failed start leaves the instance STOPPED; the next start succeeds and the creator role is made once', async () => {
  hosting.failNextStart = new HostingError('START_FAILED', 'initdb failed');
  await registry.create(parseCreateInstance({ name: 'flaky' }), creator);
  await registry.settled();
  expect(registry.get('flaky').state).toBe('STOPPED');
  expect(logged.join('\n')).toContain('instance flaky: could not start: initdb failed');
  hosting.autoStart = true;
  expect((await registry.update('flaky', { stopped: false })).state).toBe('STARTING');
  await registry.settled();
  expect(registry.get('flaky').state).toBe('AVAILABLE');
  await registry.update('flaky', { stopped: true });
  await registry.settled();
  await registry.update('flaky', { stopped: false });
  await registry.settled();
  expect(hosting.events.filter((event) => event.startsWith('role'))).toEqual(['role ada@example.com']);
});

test('an address taken while the emulator was away is replaced by another', async () => {
  hosting.autoStart = true;
  await registry.create(parseCreateInstance({ name: 'moved' }), creator);
  await registry.settled();
  await registry.close();
  hosting.failNextStart = new HostingError('ADDRESS_IN_USE', 'taken');
  await open();
  await registry.restore();
  expect(registry.get('moved')).toMatchObject({ state: 'AVAILABLE', address: '127.0.9.2' });
});

test('after a restart, running instances start again, stopped ones stay stopped, deletions finish', async () => {
  hosting.autoStart = true;
  for (const name of ['running', 'resting', 'leaving']) await registry.create(parseCreateInstance({ name }), creator);
  await registry.settled();
  await registry.update('resting', { stopped: true });
  await registry.settled();
  // A deletion interrupted by the emulator stopping (the record still says DELETING).
  store.state.instances.leaving.state = 'DELETING';
  await store.save();
  await registry.close();
  expect(hosting.events.filter((event) => event.startsWith('stop'))).toHaveLength(3);

  await open();
  await registry.restore();
  expect(registry.list().map((record) => [record.name, record.state])).toEqual([
    ['resting', 'STOPPED'],
    ['running', 'AVAILABLE'],
  ]);
});

// Issue 12, item 2: what a supervised server reports becomes the instance's state and message.
test('a server that dies reads STARTING with why, AVAILABLE once restarted, FAILED when it cannot be, and starts again', async () => {
  hosting.autoStart = true;
  await registry.create(parseCreateInstance({ name: 'crashy' }), creator);
  await registry.settled();
  const report = hosting.health.get(registry.get('crashy').address)!;
  const cause = 'stopped unexpectedly (killed by SIGKILL)';

  report({ state: 'restarting', cause, attempt: 1, attempts: 2 });
  expect(registry.get('crashy')).toMatchObject({ state: 'STARTING', stateMessage: expect.stringMatching(/^Its PostgreSQL server stopped unexpectedly \(killed by SIGKILL\) at .*; restarting it \(attempt 1 of 2\)\.$/) });
  // The roles API answers what state the instance is in, instead of failing.
  expect(() => registry.requireAvailable('crashy', 'listing roles')).toThrow(ApiError);
  report({ state: 'recovered', cause, attempts: 1 });
  await registry.settled();
  expect(registry.get('crashy').state).toBe('AVAILABLE');
  expect(registry.get('crashy').stateMessage).toBeUndefined();

  report({ state: 'restarting', cause, attempt: 1, attempts: 2 });
  report({ state: 'restarting', cause, attempt: 2, attempts: 2, lastError: 'no space left on device' });
  expect(registry.get('crashy').stateMessage).toMatch(/attempt 2 of 2; the last attempt failed: no space left on device\)\.$/);
  report({ state: 'failed', cause, attempts: 2, lastError: 'no space left on device' });
  await registry.settled();
  expect(registry.get('crashy')).toMatchObject({ state: 'FAILED', stateMessage: expect.stringMatching(/could not be started again \(2 attempts; the last one failed: no space left on device\)/) });
  // The failed server object is given up; a start makes a new one.
  expect(hosting.events.slice(-1)).toEqual([`stop ${registry.get('crashy').address}`]);
  expect((await registry.update('crashy', { stopped: false })).state).toBe('STARTING');
  await registry.settled();
  expect(registry.get('crashy').state).toBe('AVAILABLE');
  expect(registry.get('crashy').stateMessage).toBeUndefined();
});
