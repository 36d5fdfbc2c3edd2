// A connection that breaks while the session is idle is replaced by the next statement, without
// the user doing anything; a transaction that broke with it is reported once, never silently
// continued in autocommit; a connection that breaks under a running statement fails that statement.
import { afterAll, beforeAll, expect, test } from 'vitest';
import pg from 'pg';
import { CONNECTION_ERRORS, LakebaseSession, openSession, SESSION_ERRORS } from '../lakebase/session';
import { resolveTarget } from '../lakebase/targets';
import { LakebaseError } from '../lakebase/errors';
import { startTestPostgres, TestPostgres } from './support/postgres';
import { startTcpProxy, TcpProxy } from './support/tcp-proxy';

let server: TestPostgres;
let admin: pg.Client;
const page = { displayLimit: 100 };

beforeAll(async () => {
  server = await startTestPostgres();
  admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query('CREATE TABLE note (id int)');
});
afterAll(async () => {
  await admin?.end();
  await server?.stop();
});

async function withSession(body: (session: LakebaseSession) => Promise<void>): Promise<void> {
  const session = await openSession(resolveTarget({ connectionString: server.url, options: { sslmode: 'disable' } }));
  try {
    await body(session);
  } finally {
    await session.close();
  }
}

/** Ends the session's backend from another connection, as an administrator or a restart would. */
async function terminate(session: LakebaseSession): Promise<void> {
  const pid = session.backendPid;
  await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  // The server's goodbye reaches the session's socket asynchronously; wait until it was seen.
  while (session.state !== 'disconnected') await new Promise((resolve) => setTimeout(resolve, 5));
}

test('terminated while idle: the next statement reconnects transparently', async () => {
  await withSession(async (session) => {
    const before = session.backendPid;
    await terminate(session);
    expect(session.transactionStatus).toBe('idle');
    expect((await session.run('SELECT 1', page)).values).toEqual([[1]]);
    expect(session.backendPid).not.toBe(before);
    expect(session.state).toBe('ready');
  });
});

test('terminated inside a transaction: the loss is reported once, then the session works again', async () => {
  await withSession(async (session) => {
    await session.run('BEGIN', page);
    await session.run('INSERT INTO note VALUES (1)', page);
    await terminate(session);
    expect(session.transactionStatus).toBe('failed');

    const error = await session.run('INSERT INTO note VALUES (2)', page).catch((e: unknown) => e);
    expect((error as LakebaseError).code).toBe(SESSION_ERRORS.transactionLost);
    expect((error as LakebaseError).message).toMatch(/rolled it back/);
    // The statement was not run outside the transaction the user believed open.
    expect((await admin.query('SELECT count(*)::int AS n FROM note')).rows[0].n).toBe(0);

    expect(session.transactionStatus).toBe('idle');
    expect((await session.run('SELECT count(*)::int FROM note', page)).values).toEqual([[0]]);
  });
});

test('terminated while a statement runs: that statement fails with CONNECTION_LOST, the next one reconnects', async () => {
  await withSession(async (session) => {
    const pid = session.backendPid;
    const running = session.run('SELECT pg_sleep(30)', page);
    while ((await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1 AND state = 'active'", [pid])).rows[0].n === 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    const error = await running.catch((e: unknown) => e);
    expect((error as LakebaseError).code).toBe(SESSION_ERRORS.connectionLost);
    expect((error as LakebaseError).message).toMatch(/may or may not have taken effect/);
    expect(session.state).toBe('disconnected');
    expect((await session.run('SELECT 2', page)).values).toEqual([[2]]);
  });
});

test('a network failure while idle is survived; while the server is unreachable, statements fail and later work again', async () => {
  const proxy: TcpProxy = await startTcpProxy({ targetHost: server.host, targetPort: server.port });
  const session = await openSession(
    resolveTarget({ connectionString: `postgres://${server.user}:${server.password}@${proxy.host}:${proxy.port}/${server.database}`, options: { sslmode: 'disable' } }),
  );
  try {
    proxy.acceptSessions = false;
    proxy.dropAll();
    while (session.state !== 'disconnected') await new Promise((resolve) => setTimeout(resolve, 5));
    const error = await session.run('SELECT 1', page).catch((e: unknown) => e);
    expect(Object.values(CONNECTION_ERRORS)).toContain((error as LakebaseError).code);
    proxy.acceptSessions = true;
    expect((await session.run('SELECT 3', page)).values).toEqual([[3]]);
    expect(proxy.sessions).toBe(3); // the first, the refused one, the new one
  } finally {
    await session.close();
    await proxy.stop();
  }
});

test('run after close is a clear error; close during a statement ends it', async () => {
  const session = await openSession(resolveTarget({ connectionString: server.url, options: { sslmode: 'disable' } }));
  const running = session.run('SELECT pg_sleep(30)', page);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await session.close();
  expect(((await running.catch((e: unknown) => e)) as LakebaseError).code).toBe(SESSION_ERRORS.closed);
  const error = await session.run('SELECT 1', page).catch((e: unknown) => e);
  expect((error as LakebaseError).code).toBe(SESSION_ERRORS.closed);
  expect((error as LakebaseError).hint).toMatch(/Connect again/);
  await session.close(); // closing twice is harmless
});
