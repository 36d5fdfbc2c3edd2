// The refresher against the real emulator: tokens of a few seconds rotate before they expire and
// each one logs in; while the workspace is down, refreshes fail and back off, the current token
// keeps serving, and the refresher catches up once the workspace is back. Never the token in
// `status()`.
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createRefresherRegistry, RefresherRegistry } from '../lakebase/credentials';
import { connectInstance, InstanceConnection } from '../lakebase/instance';
import { startTestEmulator, TestEmulator } from './support/emulator-workspace';

let emulator: TestEmulator;
let refreshers: RefresherRegistry;
let connection: InstanceConnection;

beforeAll(async () => {
  // Eight seconds: short enough to see several rotations, long enough that on a loaded machine a
  // token still has time left after three backed-off retries (the backoff is capped at half the
  // token's remaining life, which would otherwise make the delays shrink).
  emulator = await startTestEmulator({ tokenTtlSeconds: 8 });
  const workspace = await emulator.userWorkspace();
  await workspace.createInstance({ name: 'rotating', capacity: 'CU_1' });
  refreshers = createRefresherRegistry();
  connection = await connectInstance({
    instance: 'rotating',
    workspace,
    env: {},
    sslRootCert: emulator.current.caCertPath,
    refreshers,
    refresh: { retry: { initialDelayMs: 200, maxDelayMs: 2_000 } },
  });
}, 120_000);

afterAll(async () => {
  refreshers?.stopAll();
  await emulator?.stop();
});

async function until(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function login(): Promise<string> {
  const client = new pg.Client(connection.config);
  await client.connect();
  try {
    return (await client.query<{ user: string }>('SELECT current_user AS user')).rows[0].user;
  } finally {
    await client.end();
  }
}

test('tokens rotate before they expire, and each one logs in', async () => {
  const refresher = connection.refresher;
  const seen = new Set<string>();
  const startCount = refresher.status().tokensMinted;
  while (refresher.status().tokensMinted < startCount + 3) {
    const token = await refresher.current();
    const status = refresher.status();
    // The token served is valid, and (unless a mint is in flight right now) its successor is due
    // before it expires.
    expect(status.expiresAt!.getTime()).toBeGreaterThan(Date.now());
    if (status.state === 'scheduled') expect(status.nextRefreshAt!.getTime()).toBeLessThan(status.expiresAt!.getTime());
    if (!seen.has(token)) {
      seen.add(token);
      expect(await login()).toBe(emulator.current.user.userName);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(seen.size).toBeGreaterThanOrEqual(3);
  expect(refresher.status().consecutiveFailures).toBe(0);
}, 60_000);

test('while the workspace is down, refreshes back off and the current token keeps serving', async () => {
  const refresher = connection.refresher;
  await emulator.pause();
  // Taken once the workspace is down: a refresh may have landed while it was stopping.
  const token = await refresher.current();
  try {
    // The refresh falls due within half the token's lifetime, then fails and retries.
    await until(() => refresher.status().consecutiveFailures >= 3, 'three failed refreshes');
    const status = refresher.status();
    expect(status.state).toBe('backing-off');
    expect(status.lastError).toMatch(/Cannot reach the workspace .* \(ECONNREFUSED\)/);
    expect(status.expiresAt!.getTime()).toBeGreaterThan(Date.now());
    // Compared as booleans, so that a failure does not print a token.
    expect((await refresher.current()) === token).toBe(true);
    expect(JSON.stringify(status).includes(token)).toBe(false);
  } finally {
    await emulator.resume();
  }
  await until(() => refresher.status().consecutiveFailures === 0, 'recovery after the workspace is back');
  expect(refresher.status()).toMatchObject({ state: 'scheduled', lastError: null });
  expect(await login()).toBe(emulator.current.user.userName);
}, 90_000);

test('the backoff between failed refreshes grows', async () => {
  const refresher = connection.refresher;
  await refresher.current();
  const delays: number[] = [];
  let failures = refresher.status().consecutiveFailures;
  await emulator.pause();
  try {
    while (delays.length < 3) {
      await until(() => refresher.status().consecutiveFailures > failures, 'the next failure');
      const status = refresher.status();
      failures = status.consecutiveFailures;
      delays.push(status.nextRefreshAt!.getTime() - status.lastErrorAt!.getTime());
    }
  } finally {
    await emulator.resume();
  }
  // Equal jitter keeps each delay within [d/2, d] of a doubling d, so they never shrink while
  // the token has time left (the cap at half its remaining life is far above 200-800 ms here).
  expect(delays[1]).toBeGreaterThanOrEqual(delays[0]);
  expect(delays[2]).toBeGreaterThanOrEqual(delays[1]);
  expect(delays[2]).toBeGreaterThan(delays[0]);
}, 90_000);
