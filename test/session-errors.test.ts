// A failing statement becomes a SqlError with every server field (SQLSTATE, position, ...) and the
// statement, so the caret can be drawn; a failing connection becomes a LakebaseError with a stable
// code and a next step, and never shows the password.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CONNECTION_ERRORS, LakebaseSession, openSession } from '../lakebase/session';
import { resolveTarget, TargetEnvironment, TargetInput } from '../lakebase/targets';
import { describeError, formatSqlError, LakebaseError, SqlError } from '../lakebase/errors';
import { freePort, startTestPostgres, TestPostgres } from './support/postgres';

let server: TestPostgres;
let session: LakebaseSession;
let emptyHome: string;
const page = { displayLimit: 100 };

beforeAll(async () => {
  server = await startTestPostgres();
  emptyHome = await mkdtemp(join(tmpdir(), 'lakebase-test-home-'));
  session = await openSession(resolveTarget({ connectionString: server.url, options: { sslmode: 'disable' } }));
});
afterAll(async () => {
  await session?.close();
  await server?.stop();
  await rm(emptyHome, { recursive: true, force: true });
});

test('a server error keeps its SQLSTATE, position and statement, and the session goes on', async () => {
  await session.run('CREATE TABLE person (id int, name text)', page);
  const statement = 'SELECT id,\n       nme\nFROM person';
  const error = await session.run(statement, page).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SqlError);
  const sqlError = error as SqlError;
  expect(sqlError).toMatchObject({ sqlState: '42703', severity: 'ERROR', position: 19, statement });
  expect(sqlError.message).toBe('column "nme" does not exist');
  expect(formatSqlError(sqlError).slice(0, 3)).toEqual(['ERROR:  column "nme" does not exist', 'LINE 2:        nme', '               ^']);
  expect(session.transactionStatus).toBe('idle');
  expect((await session.run('SELECT count(*)::int FROM person', page)).values).toEqual([[0]]);
});

test('constraint violations name the constraint and table', async () => {
  await session.run('CREATE TABLE account (id int PRIMARY KEY)', page);
  await session.run('INSERT INTO account VALUES (1)', page);
  const error = (await session.run('INSERT INTO account VALUES (1)', page).catch((e: unknown) => e)) as SqlError;
  expect(error).toMatchObject({ sqlState: '23505', constraint: 'account_pkey', table: 'account', detail: 'Key (id)=(1) already exists.' });
});

/** Connects with `input` in an environment with no PG* variables and no ~/.pgpass. */
async function connectError(input: TargetInput, tweak: Partial<Parameters<typeof openSession>[0]> = {}): Promise<LakebaseError> {
  const environment: TargetEnvironment = {
    env: {},
    readFile: (path) => readFileSync(path),
    homeDir: () => emptyHome,
    osUser: () => 'nobody',
  };
  const error = await openSession({ ...resolveTarget(input, environment), ...tweak }).then(
    async (opened) => {
      await opened.close();
      return new Error('connected, but should not have');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LakebaseError);
  return error as LakebaseError;
}

const at = (port: number, extra = '') => `postgres://${server.user}:${server.password}@127.0.0.1:${port}/${server.database}?sslmode=disable${extra}`;

test('nothing listening: CONNECTION_REFUSED', async () => {
  const error = await connectError({ connectionString: at(await freePort()) });
  expect(error.code).toBe(CONNECTION_ERRORS.refused);
  expect(error.message).toMatch(/^Could not connect to postgres@127\.0\.0\.1:\d+\/postgres: connection refused\.$/);
  expect(error.hint).toMatch(/Is the server running/);
});

test('a wrong password: AUTHENTICATION_FAILED, and the password appears nowhere', async () => {
  const wrong = 'not-the-password-Zq81';
  const error = await connectError({ connectionString: `postgres://postgres:${wrong}@127.0.0.1:${server.port}/postgres?sslmode=disable` });
  expect(error.code).toBe(CONNECTION_ERRORS.authenticationFailed);
  expect(error.message).toContain('password authentication failed for user "postgres"');
  const shown = [error.message, error.hint, inspect(error, { depth: 5 }), describeError(error).lines.join('\n'), JSON.stringify(error)].join('\n');
  expect(shown).not.toContain(wrong);
});

test('no password anywhere: PASSWORD_REQUIRED says where to put one', async () => {
  const error = await connectError({ options: { host: '127.0.0.1', port: server.port, user: 'postgres', database: 'postgres', sslmode: 'disable' } });
  expect(error.code).toBe(CONNECTION_ERRORS.passwordRequired);
  expect(error.hint).toMatch(/PGPASSWORD.*pgpass/);
});

test('a password asked for when none is configured', async () => {
  const asked: string[] = [];
  const environment: TargetEnvironment = { env: {}, readFile: () => Buffer.alloc(0), homeDir: () => emptyHome, osUser: () => 'nobody' };
  const target = resolveTarget(
    {
      options: { host: '127.0.0.1', port: server.port, user: 'postgres', database: 'postgres', sslmode: 'disable' },
      askPassword: async (prompt) => {
        asked.push(prompt);
        return server.password;
      },
    },
    environment,
  );
  const opened = await openSession(target);
  try {
    expect(asked).toEqual([`Password for postgres@127.0.0.1:${server.port}/postgres: `]);
    expect((await opened.run('SELECT 1', page)).values).toEqual([[1]]);
  } finally {
    await opened.close();
  }
});

test('a database that does not exist: DATABASE_NOT_FOUND', async () => {
  const error = await connectError({ connectionString: at(server.port).replace('/postgres?', '/no_such_db?') });
  expect(error.code).toBe(CONNECTION_ERRORS.databaseNotFound);
  expect(error.message).toContain('database "no_such_db" does not exist');
});

test('TLS required of a server without TLS: TLS_UNAVAILABLE', async () => {
  const error = await connectError({ connectionString: at(server.port).replace('sslmode=disable', 'sslmode=require') });
  expect(error.code).toBe(CONNECTION_ERRORS.tlsUnavailable);
});

test('sslmode=prefer (the default) falls back to plain text on a server without TLS', async () => {
  const opened = await openSession(resolveTarget({ connectionString: at(server.port).replace('?sslmode=disable', '') }));
  try {
    expect((await opened.run('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()', page)).values).toEqual([[false]]);
  } finally {
    await opened.close();
  }
});

test('a host name that does not resolve: HOST_NOT_FOUND', async () => {
  const error = await connectError({ connectionString: 'postgres://u@nothing-here.invalid:5432/db?sslmode=disable' });
  expect(error.code).toBe(CONNECTION_ERRORS.hostNotFound);
});

/** A TCP server that accepts connections and never says a word (a black-holed PostgreSQL). */
async function startSilentServer(): Promise<{ port: number; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const silent: Server = createServer((socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  return {
    port: (silent.address() as { port: number }).port,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    },
  };
}

test('a server that never answers: CONNECTION_TIMEOUT', async () => {
  const silent = await startSilentServer();
  try {
    const input = { connectionString: `postgres://u:p@127.0.0.1:${silent.port}/db?sslmode=disable` };
    const target = resolveTarget(input);
    const error = await connectError(input, { config: { ...target.config, connectionTimeoutMillis: 300 } });
    expect(error.code).toBe(CONNECTION_ERRORS.timeout);
    expect(error.hint).toMatch(/connect_timeout/);
  } finally {
    await silent.stop();
  }
});

test('an interrupted connection attempt: CONNECT_CANCELLED', async () => {
  const silent = await startSilentServer();
  try {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const error = await connectError({ connectionString: `postgres://u:p@127.0.0.1:${silent.port}/db?sslmode=disable` }, { signal: controller.signal });
    expect(error.code).toBe(CONNECTION_ERRORS.cancelled);
  } finally {
    await silent.stop();
  }
});
