// Named sessions, one current: open, use, list, close, and the errors that say what to do.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CONNECTION_NAME_RULE, CONNECTION_REGISTRY_ERRORS, ConnectionRegistry } from '../lakebase/connections';
import { LakebaseSession, openSession, SESSION_ERRORS } from '../lakebase/session';
import { resolveTarget } from '../lakebase/targets';
import { LakebaseError } from '../lakebase/errors';
import { startTestPostgres, TestPostgres } from './support/postgres';

let server: TestPostgres;

beforeAll(async () => {
  server = await startTestPostgres();
});
afterAll(async () => {
  await server?.stop();
});

const connect = (database = server.database): Promise<LakebaseSession> =>
  openSession(resolveTarget({ connectionString: server.url, options: { sslmode: 'disable', database } }));

const errorOf = async (run: () => unknown): Promise<LakebaseError> => {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(LakebaseError);
    return error as LakebaseError;
  }
  throw new Error('expected an error');
};
const codeOf = async (run: () => unknown): Promise<string> => (await errorOf(run)).code;

test('the connection opened last is current; use switches; list shows every one in opening order', async () => {
  const registry = new ConnectionRegistry();
  const first = await connect();
  const second = await connect('template1');
  try {
    await registry.open('main', first);
    await registry.open('other', second);
    expect(registry.current().name).toBe('other');
    registry.use('main');
    expect(registry.current().session).toBe(first);
    await first.run('BEGIN', { displayLimit: 1 });
    expect(registry.list()).toEqual([
      { name: 'main', description: `postgres@127.0.0.1:${server.port}/postgres`, current: true, transactionStatus: 'in-transaction', encrypted: false },
      { name: 'other', description: `postgres@127.0.0.1:${server.port}/template1`, current: false, transactionStatus: 'idle', encrypted: false },
    ]);
    expect(registry.get('other').session).toBe(second);
  } finally {
    await registry.closeAll();
  }
  expect(registry.size).toBe(0);
  expect(first.state).toBe('closed');
  expect(second.state).toBe('closed');
});

test('closing the current connection leaves none current, and the error says how to pick one', async () => {
  const registry = new ConnectionRegistry({ howToConnect: 'Run %lakebase connect.', howToUse: 'Run %lakebase use {name}.' });
  try {
    await registry.open('a', await connect());
    const b = await connect();
    await registry.open('b', b);
    await registry.close('b');
    expect(b.state).toBe('closed');
    expect(registry.currentName).toBeUndefined();
    const error = await errorOf(() => registry.current());
    expect(error.code).toBe(CONNECTION_REGISTRY_ERRORS.noCurrent);
    expect(error.message).toBe('No connection is current (open: a).');
    expect(error.hint).toBe('Run %lakebase use a.');
    expect(registry.list().map((info) => info.name)).toEqual(['a']);
  } finally {
    await registry.closeAll();
  }
});

test('with nothing open, the error says how to connect', async () => {
  const registry = new ConnectionRegistry({ howToConnect: 'Run %lakebase connect.' });
  const error = await errorOf(() => registry.current());
  expect(error.code).toBe(CONNECTION_REGISTRY_ERRORS.noCurrent);
  expect(error.message).toBe('There is no open connection.');
  expect(error.hint).toBe('Run %lakebase connect.');
});

test('unknown names are refused with the open ones listed', async () => {
  const registry = new ConnectionRegistry();
  try {
    await registry.open('main', await connect());
    expect(await codeOf(() => registry.use('mian'))).toBe(CONNECTION_REGISTRY_ERRORS.notFound);
    expect(await codeOf(() => registry.get('mian'))).toBe(CONNECTION_REGISTRY_ERRORS.notFound);
    expect(await codeOf(() => registry.close('mian'))).toBe(CONNECTION_REGISTRY_ERRORS.notFound);
    expect((await errorOf(() => registry.get('mian'))).hint).toBe('Open: main.');
    expect(registry.current().name).toBe('main');
  } finally {
    await registry.closeAll();
  }
});

test('a name in use is refused, or replaced (closing the old session) when asked', async () => {
  const registry = new ConnectionRegistry();
  const old = await connect();
  const replacement = await connect();
  try {
    await registry.open('main', old);
    expect(await codeOf(() => registry.open('main', replacement))).toBe(CONNECTION_REGISTRY_ERRORS.nameTaken);
    expect(registry.get('main').session).toBe(old);
    await registry.open('main', replacement, { replace: true });
    expect(registry.get('main').session).toBe(replacement);
    expect(old.state).toBe('closed');
    expect(await codeOf(() => old.run('SELECT 1', { displayLimit: 1 }))).toBe(SESSION_ERRORS.closed);
  } finally {
    await registry.closeAll();
  }
});

test.each(['main', 'prod-ro', '_x', 'a'.repeat(63), 'Analytics_2'])('"%s" is a valid name', (name) => {
  expect(CONNECTION_NAME_RULE.test(name)).toBe(true);
});

test.each(['', '2nd', 'has space', 'semi;colon', 'a'.repeat(64), 'dot.ted'])('"%s" is refused as a name', async (name) => {
  const registry = new ConnectionRegistry();
  const session = await connect();
  try {
    expect(await codeOf(() => registry.open(name, session))).toBe(CONNECTION_REGISTRY_ERRORS.invalidName);
    expect(registry.size).toBe(0);
  } finally {
    await session.close();
  }
});

test('uniqueName makes a free, valid name from any text', async () => {
  const registry = new ConnectionRegistry();
  try {
    expect(registry.uniqueName('databricks_postgres')).toBe('databricks_postgres');
    await registry.open('databricks_postgres', await connect());
    expect(registry.uniqueName('databricks_postgres')).toBe('databricks_postgres_2');
    expect(registry.uniqueName('my instance.prod')).toBe('my_instance_prod');
    expect(registry.uniqueName('2024-sales')).toBe('_2024-sales');
    for (const base of ['', 'x'.repeat(100), 'ünïcödé']) expect(CONNECTION_NAME_RULE.test(registry.uniqueName(base))).toBe(true);
  } finally {
    await registry.closeAll();
  }
});
