// Aborting a statement's signal cancels it on the server (a PostgreSQL cancel request): the
// statement fails with SQLSTATE 57014 long before it would have finished, and the session goes on.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { LakebaseSession, openSession, QUERY_CANCELED, SESSION_ERRORS } from '../lakebase/session';
import { resolveTarget } from '../lakebase/targets';
import { LakebaseError, SqlError } from '../lakebase/errors';
import { usePostgresSession } from './support/fixtures';
import type { TestPostgres } from './support/postgres';
import { startTcpProxy, TcpProxy } from './support/tcp-proxy';

let server: TestPostgres;
let session: LakebaseSession;
const page = { displayLimit: 100 };

usePostgresSession((fixture) => ({ server, session } = fixture));

/** Aborts once the statement is visibly running on the server, so the cancel hits it mid-flight. */
async function abortWhenRunning(target: LakebaseSession, controller: AbortController): Promise<void> {
  const watcher = await openSession(resolveTarget({ connectionString: server.url, options: { sslmode: 'disable' } }));
  try {
    for (;;) {
      const { values } = await watcher.run("SELECT count(*)::int FROM pg_stat_activity WHERE pid = $1 AND state = 'active'", {
        ...page,
        params: [target.backendPid],
      });
      if (values[0][0] === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    await watcher.close();
  }
  controller.abort();
}

// pg_sleep(30) only ends early if the cancel works; the test's own timeout is well below 30 s.
test('a running statement is cancelled on the server and the session stays usable', { timeout: 20_000 }, async () => {
  const controller = new AbortController();
  const running = session.run('SELECT pg_sleep(30)', { ...page, signal: controller.signal });
  await abortWhenRunning(session, controller);
  const error = await running.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SqlError);
  expect((error as SqlError).sqlState).toBe(QUERY_CANCELED);
  expect(session.transactionStatus).toBe('idle');
  const pidBefore = session.backendPid;
  expect((await session.run('SELECT 42', page)).values).toEqual([[42]]);
  expect(session.backendPid).toBe(pidBefore); // the same backend, not a reconnection
});

test('a cancel inside a transaction leaves the transaction failed, as the server does', { timeout: 20_000 }, async () => {
  await session.run('BEGIN', page);
  const controller = new AbortController();
  const running = session.run('SELECT pg_sleep(30)', { ...page, signal: controller.signal });
  await abortWhenRunning(session, controller);
  expect(((await running.catch((e: unknown) => e)) as SqlError).sqlState).toBe(QUERY_CANCELED);
  expect(session.transactionStatus).toBe('failed');
  await session.run('ROLLBACK', page);
  expect(session.transactionStatus).toBe('idle');
});

test('a signal aborted before the statement starts sends nothing', async () => {
  const controller = new AbortController();
  controller.abort();
  const error = await session.run('CREATE TABLE never_created (a int)', { ...page, signal: controller.signal }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(LakebaseError);
  expect((error as LakebaseError).code).toBe(SESSION_ERRORS.notStarted);
  const { values } = await session.run("SELECT to_regclass('never_created') IS NULL", page);
  expect(values).toEqual([[true]]);
});

test('an abort after the statement finished changes nothing', async () => {
  const controller = new AbortController();
  const result = await session.run('SELECT 7', { ...page, signal: controller.signal });
  controller.abort();
  expect(result.values).toEqual([[7]]);
  expect((await session.run('SELECT 8', { ...page, signal: controller.signal }).catch((e: LakebaseError) => e.code))).toBe(
    SESSION_ERRORS.notStarted,
  );
  expect((await session.run('SELECT 9', page)).values).toEqual([[9]]);
});

test('when the cancel request cannot get through, pg_cancel_backend from a second session stops the statement', { timeout: 20_000 }, async () => {
  const proxy: TcpProxy = await startTcpProxy({ targetHost: server.host, targetPort: server.port, cancelRequests: 'reset' });
  const behindProxy = await openSession(
    resolveTarget({ connectionString: `postgres://${server.user}:${server.password}@${proxy.host}:${proxy.port}/${server.database}`, options: { sslmode: 'disable' } }),
  );
  try {
    const controller = new AbortController();
    const running = behindProxy.run('SELECT pg_sleep(30)', { ...page, signal: controller.signal });
    await abortWhenRunning(behindProxy, controller);
    const error = await running.catch((e: unknown) => e);
    expect((error as SqlError).sqlState).toBe(QUERY_CANCELED);
    expect(proxy.cancelRequests).toBe(1); // the request was tried first, and reset by the "network"
    expect(proxy.sessions).toBe(2); // the session itself, and the short-lived side session
    expect((await behindProxy.run('SELECT 1', page)).values).toEqual([[1]]);
  } finally {
    await behindProxy.close();
    await proxy.stop();
  }
});

test('a cancel request swallowed on the way is followed by pg_cancel_backend', { timeout: 20_000 }, async () => {
  const proxy = await startTcpProxy({ targetHost: server.host, targetPort: server.port, cancelRequests: 'swallow' });
  const behindProxy = await openSession({
    ...resolveTarget({ connectionString: `postgres://${server.user}:${server.password}@${proxy.host}:${proxy.port}/${server.database}`, options: { sslmode: 'disable' } }),
    cancelTimeouts: { sideCancelAfterMs: 200 },
  });
  try {
    const controller = new AbortController();
    const running = behindProxy.run('SELECT pg_sleep(30)', { ...page, signal: controller.signal });
    await abortWhenRunning(behindProxy, controller);
    expect(((await running.catch((e: unknown) => e)) as SqlError).sqlState).toBe(QUERY_CANCELED);
    expect(proxy.cancelRequests).toBe(1);
    expect(proxy.sessions).toBe(2);
  } finally {
    await behindProxy.close();
    await proxy.stop();
  }
});

test('a statement that no cancel reaches is abandoned with its connection; the next statement reconnects', { timeout: 20_000 }, async () => {
  const proxy = await startTcpProxy({ targetHost: server.host, targetPort: server.port, cancelRequests: 'swallow' });
  const behindProxy = await openSession({
    ...resolveTarget({ connectionString: `postgres://${server.user}:${server.password}@${proxy.host}:${proxy.port}/${server.database}`, options: { sslmode: 'disable' } }),
    cancelTimeouts: { sideCancelAfterMs: 100, abandonAfterMs: 400 },
  });
  try {
    const abandonedPid = behindProxy.backendPid;
    const controller = new AbortController();
    const running = behindProxy.run('SELECT pg_sleep(30)', { ...page, signal: controller.signal });
    proxy.acceptSessions = false; // the side session cannot get in either
    await abortWhenRunning(behindProxy, controller);
    const error = await running.catch((e: unknown) => e);
    expect((error as LakebaseError).code).toBe(SESSION_ERRORS.cancelFailed);
    expect(behindProxy.state).toBe('disconnected');

    proxy.acceptSessions = true;
    expect((await behindProxy.run('SELECT 1', page)).values).toEqual([[1]]);
    expect(behindProxy.backendPid).not.toBe(abandonedPid);
  } finally {
    await behindProxy.close();
    await proxy.stop();
  }
});
