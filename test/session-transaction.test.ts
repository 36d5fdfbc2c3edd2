// A transaction spans statements run one by one (BEGIN in one cell, COMMIT in a later one), on the
// same server session, and the session reports its transaction status as the server does.
import { afterAll, beforeAll, expect, test } from 'vitest';
import pg from 'pg';
import { LakebaseSession, openSession } from '../lakebase/session';
import { resolveTarget } from '../lakebase/targets';
import { SqlError } from '../lakebase/errors';
import { startTestPostgres, TestPostgres } from './support/postgres';

let server: TestPostgres;
let session: LakebaseSession;
let observer: pg.Client;
const page = { displayLimit: 100 };

beforeAll(async () => {
  server = await startTestPostgres();
  session = await openSession(resolveTarget({ connectionString: server.url, options: { sslmode: 'disable' } }));
  observer = new pg.Client({ connectionString: server.url });
  await observer.connect();
  await observer.query('CREATE TABLE ledger (id int PRIMARY KEY, amount int)');
});
afterAll(async () => {
  await session?.close();
  await observer?.end();
  await server?.stop();
});

const visibleToOthers = async () => (await observer.query('SELECT count(*)::int AS n FROM ledger')).rows[0].n as number;

test('BEGIN, then statements, then COMMIT in separate runs form one transaction', async () => {
  expect(session.transactionStatus).toBe('idle');
  await session.run('BEGIN', page);
  expect(session.transactionStatus).toBe('in-transaction');
  await session.run('INSERT INTO ledger VALUES (1, 10)', page);
  await session.run('INSERT INTO ledger VALUES (2, 20)', page);
  // Same backend: the session sees its own uncommitted rows; nobody else does yet.
  expect((await session.run('SELECT sum(amount)::int FROM ledger', page)).values).toEqual([[30]]);
  expect(await visibleToOthers()).toBe(0);
  const commit = await session.run('COMMIT', page);
  expect(commit.command).toBe('COMMIT');
  expect(session.transactionStatus).toBe('idle');
  expect(await visibleToOthers()).toBe(2);
});

test('an error inside a transaction leaves it failed until ROLLBACK', async () => {
  await session.run('BEGIN', page);
  await session.run('INSERT INTO ledger VALUES (3, 30)', page);
  const error = await session.run('INSERT INTO ledger VALUES (1, 99)', page).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SqlError);
  expect((error as SqlError).sqlState).toBe('23505');
  // Reported as soon as the failing statement returns, not one statement later.
  expect(session.transactionStatus).toBe('failed');

  const ignored = await session.run('SELECT 1', page).catch((e: unknown) => e);
  expect((ignored as SqlError).sqlState).toBe('25P02'); // in_failed_sql_transaction
  expect(session.transactionStatus).toBe('failed');

  const rollback = await session.run('ROLLBACK', page);
  expect(rollback.command).toBe('ROLLBACK');
  expect(session.transactionStatus).toBe('idle');
  expect(await visibleToOthers()).toBe(2);
});

test('COMMIT of a failed transaction rolls back, as the server says', async () => {
  await session.run('BEGIN', page);
  await session.run('SELECT 1/0', page).catch((e: unknown) => e);
  const commit = await session.run('COMMIT', page);
  expect(commit.command).toBe('ROLLBACK');
  expect(session.transactionStatus).toBe('idle');
});

test('statements run at once from several callers still run one at a time, in order', async () => {
  const runs = [
    session.run('BEGIN', page),
    session.run('INSERT INTO ledger VALUES (4, 40)', page),
    session.run('SELECT count(*)::int FROM ledger', page),
    session.run('ROLLBACK', page),
  ];
  const [, , count] = await Promise.all(runs);
  expect(count.values).toEqual([[3]]);
  expect(session.transactionStatus).toBe('idle');
  expect(await visibleToOthers()).toBe(2);
});
