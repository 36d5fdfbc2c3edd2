// The refresher's state machine and schedule, driven by mint functions in this process (the
// emulator-backed behaviour is in refresher-emulator.test.ts). Waits are for conditions, never
// for wall-clock bounds.
import { inspect } from 'node:util';
import { afterEach, expect, test } from 'vitest';
import {
  CredentialRefresher,
  createRefresher,
  createRefresherRegistry,
  MintCredential,
  MintRequest,
  transition,
} from '../lakebase/credentials';
import { LakebaseError } from '../lakebase/errors';

const started: CredentialRefresher[] = [];
afterEach(() => {
  for (const refresher of started.splice(0)) refresher.stop();
});

function refresher(options: Partial<Parameters<typeof createRefresher>[0]> & { mint: MintCredential }) {
  const created = createRefresher({ workspaceHost: 'http://workspace.test', identity: 'ada@example.com', ...options });
  started.push(created);
  return created;
}

/** A mint that hands out numbered tokens living `ttlMs`, and records what it was asked. */
function countingMint(ttlMs: number) {
  const requests: MintRequest[] = [];
  const issued: { token: string; expiresAt: number }[] = [];
  const mint: MintCredential = async (request) => {
    requests.push(request);
    const token = `secret-token-${issued.length + 1}-${'x'.repeat(20)}`;
    const expiresAt = Date.now() + ttlMs;
    issued.push({ token, expiresAt });
    return { token, expirationTime: new Date(expiresAt) };
  };
  return { mint, requests, issued };
}

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('the transition function knows its pairs and throws on any other', () => {
  expect(transition('idle', 'mint')).toBe('minting');
  expect(transition('minting', 'minted')).toBe('scheduled');
  expect(transition('minting', 'failed')).toBe('backing-off');
  expect(transition('backing-off', 'mint')).toBe('minting');
  expect(transition('scheduled', 'stop')).toBe('stopped');
  expect(transition('stopped', 'minted')).toBe('stopped');
  expect(() => transition('idle', 'minted')).toThrow(/no transition from "idle" on "minted"/);
  expect(() => transition('scheduled', 'failed')).toThrow(/no transition/);
  expect(() => transition('stopped', 'mint')).toThrow(/no transition/);
});

test('concurrent first callers share one mint', async () => {
  const { mint, requests } = countingMint(60_000);
  const subject = refresher({ mint });
  const tokens = await Promise.all(Array.from({ length: 10 }, () => subject.current()));
  expect(new Set(tokens).size).toBe(1);
  expect(requests).toHaveLength(1);
  expect(subject.status()).toMatchObject({ state: 'scheduled', tokensMinted: 1, consecutiveFailures: 0 });
});

test('short-lived tokens are replaced before they expire, so current() always serves a valid one', async () => {
  const { mint, issued } = countingMint(600);
  const subject = refresher({ mint });
  await subject.current();
  await until(() => issued.length >= 5, 'five tokens');
  // Every token handed out was valid when it was handed out.
  for (let i = 0; i < 20; i++) {
    const token = await subject.current();
    const entry = issued.find((candidate) => candidate.token === token);
    expect(entry).toBeDefined();
    expect(entry!.expiresAt).toBeGreaterThan(Date.now());
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const status = subject.status();
  // The next refresh is due before the current token expires (half its lifetime ahead).
  expect(status.nextRefreshAt!.getTime()).toBeLessThan(status.expiresAt!.getTime());
});

test('a failing refresh is retried while the current token keeps serving; failures are recorded without secrets', async () => {
  let failing = false;
  const good = countingMint(1_500);
  const mint: MintCredential = async (request) => {
    if (failing) {
      // A message that quotes secrets, as a careless server or proxy might.
      throw new Error(`upstream said: Authorization: Bearer dapi0123456789abcdef0123456789abcdef, token ${good.issued[0].token}`);
    }
    return good.mint(request);
  };
  const subject = refresher({ mint, retry: { initialDelayMs: 40, maxDelayMs: 200 } });
  const first = await subject.current();
  failing = true;
  await until(() => subject.status().consecutiveFailures >= 2, 'two failed refreshes');
  expect(await subject.current()).toBe(first);
  const status = subject.status();
  expect(status.state).toBe('backing-off');
  expect(status.lastError).toMatch(/Minting a database credential for ada@example.com failed/);
  expect(JSON.stringify(status)).not.toContain('dapi0123456789abcdef');
  expect(JSON.stringify(status)).not.toContain(first);
  failing = false;
  await until(() => subject.status().consecutiveFailures === 0, 'recovery');
  expect(subject.status()).toMatchObject({ state: 'scheduled', lastError: null });
  expect(await subject.current()).not.toBe(first);
});

test('with no valid token and a failing workspace, current() rejects with CREDENTIAL_UNAVAILABLE', async () => {
  const subject = refresher({
    mint: async () => {
      throw new LakebaseError('WORKSPACE_UNREACHABLE', 'Cannot reach the workspace http://workspace.test (ECONNREFUSED).', {
        hint: 'Check DATABRICKS_HOST.',
      });
    },
    retry: { initialDelayMs: 60_000 },
  });
  const error = await subject.current().catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(LakebaseError);
  expect(error).toMatchObject({ code: 'CREDENTIAL_UNAVAILABLE', hint: 'Check DATABRICKS_HOST.' });
  expect((error as Error).message).toMatch(/No valid database credential for ada@example.com.*ECONNREFUSED/);
  // The caller asking again is an immediate new attempt, not a wait for the backoff timer.
  await subject.current().catch(() => undefined);
  expect(subject.status().consecutiveFailures).toBe(2);
});

test('backoff grows exponentially with jitter, is capped, and never outlasts a still-valid token', async () => {
  let now = 1_000_000;
  let random = 0;
  let succeed = false;
  const subject = refresher({
    now: () => now,
    random: () => random,
    retry: { initialDelayMs: 10_000, maxDelayMs: 40_000 },
    mint: async () => {
      if (succeed) return { token: 'a-valid-token-value', expirationTime: new Date(now + 3_600_000) };
      throw new Error('503 TEMPORARILY_UNAVAILABLE');
    },
  });
  const delays: number[] = [];
  for (const jitter of [0, 0, 1, 1, 1]) {
    random = jitter;
    await subject.current().catch(() => undefined);
    const status = subject.status();
    delays.push(status.nextRefreshAt!.getTime() - status.lastErrorAt!.getTime());
  }
  // Half fixed, half random: [5 s, 10 s] for the first, doubling, capped at 40 s.
  expect(delays).toEqual([5_000, 10_000, 40_000, 40_000, 40_000]);

  succeed = true;
  await subject.current();
  const minted = subject.status();
  // A one-hour token is refreshed 5 minutes (the default buffer) before it expires.
  expect(minted.expiresAt!.getTime() - minted.nextRefreshAt!.getTime()).toBe(5 * 60_000);
});

test('adding an instance mints a token that covers it, at once', async () => {
  const { mint, requests } = countingMint(60_000);
  const subject = refresher({ mint });
  await subject.addInstances(['alpha']);
  const before = await subject.current();
  await subject.addInstances(['alpha']);
  expect(requests).toHaveLength(1);
  await subject.addInstances(['beta']);
  expect(requests.map((request) => request.instanceNames)).toEqual([['alpha'], ['alpha', 'beta']]);
  expect(await subject.current()).not.toBe(before);
  expect(subject.status().instanceNames).toEqual(['alpha', 'beta']);
  expect(new Set(requests.map((request) => request.requestId)).size).toBe(2);
});

test('stop clears the schedule and refuses later calls', async () => {
  const { mint, requests } = countingMint(200);
  const subject = refresher({ mint });
  await subject.current();
  subject.stop();
  expect(subject.status()).toMatchObject({ state: 'stopped', nextRefreshAt: null });
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(requests).toHaveLength(1);
  await expect(subject.current()).rejects.toMatchObject({ code: 'REFRESHER_STOPPED' });
});

test('the token never shows in inspect, JSON or status', async () => {
  const { mint, issued } = countingMint(60_000);
  const subject = refresher({ mint });
  await subject.current();
  const token = issued[0].token;
  expect(inspect(subject, { depth: 5, showHidden: true })).not.toContain(token);
  expect(JSON.stringify(subject)).not.toContain(token);
  expect(JSON.stringify(subject.status())).not.toContain(token);
  expect(String(subject)).not.toContain(token);
});

test('the registry hands out one refresher per workspace and identity, and stops them all', async () => {
  const registry = createRefresherRegistry();
  const { mint } = countingMint(60_000);
  const a = registry.obtain({ workspaceHost: 'https://ws.example/', identity: 'ada@example.com', mint });
  const same = registry.obtain({ workspaceHost: 'HTTPS://WS.EXAMPLE', identity: 'ada@example.com', mint });
  const other = registry.obtain({ workspaceHost: 'https://ws.example', identity: 'sp-1234', mint });
  expect(same).toBe(a);
  expect(other).not.toBe(a);
  expect(registry.list()).toHaveLength(2);
  await a.current();
  registry.stopAll();
  expect(a.status().state).toBe('stopped');
  expect(registry.list()).toHaveLength(0);
  const fresh = registry.obtain({ workspaceHost: 'https://ws.example', identity: 'ada@example.com', mint });
  expect(fresh).not.toBe(a);
  fresh.stop();
});

test('refresh() mints the next token now; a failure keeps the current token serving', async () => {
  const counting = countingMint(60 * 60_000);
  let failNext = false;
  const mint: MintCredential = async (request) => {
    if (failNext) throw new LakebaseError('WORKSPACE_UNAVAILABLE', 'the workspace did not answer');
    return counting.mint(request);
  };
  const tokens = refresher({ mint });
  const first = await tokens.current();
  await tokens.refresh();
  const second = await tokens.current();
  expect(second).not.toBe(first);
  expect(tokens.status()).toMatchObject({ state: 'scheduled', tokensMinted: 2 });

  failNext = true;
  await expect(tokens.refresh()).rejects.toMatchObject({ code: 'WORKSPACE_UNAVAILABLE' });
  expect(await tokens.current()).toBe(second);
  expect(tokens.status()).toMatchObject({ state: 'backing-off', consecutiveFailures: 1 });
});
