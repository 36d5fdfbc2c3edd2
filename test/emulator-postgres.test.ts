// Logging in to an emulated Lakebase instance: TLS only, database tokens as passwords (checked by
// the RADIUS password service at login only), the creator's role, and the certificate chain.
import { execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadOrCreateAuthority } from '../emulator/postgres/authority';
import { LOGIN_FAILURE } from '../emulator/postgres/fidelity';
import { startTestInstance, TestInstance } from './support/emulator-instance';

const run = promisify(execFile);
const CREATOR = 'creator@example.com';
const TOKEN_1 = 'token-one-Zb8d2kq1';
const TOKEN_2 = 'token-two-Qw7Lm3x9';

let instance: TestInstance;
const openClients: pg.Client[] = [];

beforeAll(async () => {
  instance = await startTestInstance();
  await instance.server.createRole(CREATOR, 'USER', { superuser: true });
  instance.grant(CREATOR, TOKEN_1);
  instance.grant(CREATOR, TOKEN_2);
});

afterAll(async () => {
  await Promise.allSettled(openClients.map((client) => client.end()));
  await instance?.stop();
});

async function connect(config: pg.ClientConfig): Promise<pg.Client> {
  const client = new pg.Client(config);
  client.on('error', () => {}); // a server stopped under an open client: the test looks at queries
  openClients.push(client);
  await client.connect();
  return client;
}

async function loginError(config: pg.ClientConfig): Promise<{ code?: string; message: string }> {
  const client = new pg.Client(config);
  try {
    await client.connect();
  } catch (error) {
    return error as { code?: string; message: string };
  } finally {
    await client.end().catch(() => {});
  }
  throw new Error('the login was expected to fail');
}

describe('logging in', () => {
  test('a valid token logs in over TLS to databricks_postgres on the instance address', async () => {
    const client = await connect(instance.connection(CREATOR, TOKEN_1));
    const { rows } = await client.query('SELECT current_user AS user, current_database() AS database, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    expect(rows[0]).toEqual({ user: CREATOR, database: 'databricks_postgres', ssl: true });
    expect(instance.address).toMatch(/^127\.0\.(?!0\.)\d+\.\d+$/);
    expect(instance.port).toBe(5432);
  });

  test('the password service is told which instance asks', async () => {
    const client = await connect(instance.connection(CREATOR, TOKEN_1));
    await client.query('SELECT 1');
    expect(instance.logins.at(-1)).toEqual({ user: CREATOR, context: { instanceAddress: instance.address } });
  });

  test('several tokens of one identity are valid at the same time', async () => {
    const [first, second] = await Promise.all([connect(instance.connection(CREATOR, TOKEN_1)), connect(instance.connection(CREATOR, TOKEN_2))]);
    const [a, b] = await Promise.all([first.query('SELECT pg_backend_pid() AS pid'), second.query('SELECT pg_backend_pid() AS pid')]);
    expect(a.rows[0].pid).not.toBe(b.rows[0].pid);
  });

  test('a wrong token is refused as the fidelity table says (real Lakebase: 28P01 password authentication failed)', async () => {
    const error = await loginError(instance.connection(CREATOR, 'not-a-token'));
    expect(error.code).toBe(LOGIN_FAILURE.emulator.sqlState);
    expect(error.message).toBe(LOGIN_FAILURE.emulator.message(CREATOR));
  });

  test('a token is checked at login only: a revoked one keeps its open connection and cannot open another', async () => {
    const user = 'expiring@example.com';
    await instance.server.createRole(user, 'USER');
    instance.grant(user, 'short-lived-token');
    const open = await connect(instance.connection(user, 'short-lived-token'));
    instance.revoke(user, 'short-lived-token');
    expect((await open.query('SELECT current_user AS user')).rows[0].user).toBe(user);
    expect((await loginError(instance.connection(user, 'short-lived-token'))).message).toBe(LOGIN_FAILURE.emulator.message(user));
  });

  test('plain-text connections are refused', async () => {
    const error = await loginError({ ...instance.connection(CREATOR, TOKEN_1), ssl: false });
    expect(error.code).toBe('28000');
    expect(error.message).toContain('no encryption');
  });

  test("the emulator's admin role cannot log in over TCP, even with a token the check would accept", async () => {
    instance.grant('lakebase_emulator', TOKEN_1);
    const error = await loginError(instance.connection('lakebase_emulator', TOKEN_1));
    expect(error.code).toBe('28000');
    expect(instance.logins.some((login) => login.user === 'lakebase_emulator')).toBe(false);
  });

  test('psql logs in with sslmode=require, user and token in the connection string', async () => {
    const conninfo = `host=${instance.address} port=${instance.port} sslmode=require user=${CREATOR} password=${TOKEN_2} dbname=databricks_postgres`;
    const { stdout } = await run('psql', [conninfo, '-tAc', 'SELECT current_user'], { env: { ...process.env, PGSSLROOTCERT: '' } });
    expect(stdout.trim()).toBe(CREATOR);
  });
});

describe('cancelling', () => {
  test('psql interrupted with Ctrl-C cancels its running statement: PostgreSQL answers the cancel request itself', async () => {
    const conninfo = `host=${instance.address} port=${instance.port} sslmode=require user=${CREATOR} password=${TOKEN_1} dbname=databricks_postgres application_name=to-cancel`;
    const psql = spawn('psql', [conninfo, '-c', 'SELECT pg_sleep(60)'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    psql.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => psql.once('close', resolve));
    const watcher = await connect(instance.connection(CREATOR, TOKEN_1));
    await expect
      .poll(async () => (await watcher.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'to-cancel' AND state = 'active'")).rows[0].n, { timeout: 10_000 })
      .toBe(1);
    psql.kill('SIGINT');
    expect(await exited).toBe(1);
    expect(stderr).toContain('canceling statement due to user request');
  });
});

describe('the server certificate', () => {
  test('verifies against the CA for the instance address (verify-full), with node-postgres', async () => {
    const client = await connect(instance.connection(CREATOR, TOKEN_1));
    const { rows } = await client.query('SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    expect(rows[0].version).toMatch(/^TLSv1\.[23]$/);
  });

  test('verifies with psql sslmode=verify-full and the CA file', async () => {
    const conninfo = `host=${instance.address} port=${instance.port} sslmode=verify-full sslrootcert=${instance.authority.certPath} user=${CREATOR} password=${TOKEN_1} dbname=databricks_postgres`;
    const { stdout } = await run('psql', [conninfo, '-tAc', 'SELECT 42']);
    expect(stdout.trim()).toBe('42');
  });

  test('does not verify against another CA', async () => {
    const stranger = await loadOrCreateAuthority(join(instance.root, 'another-ca'));
    const error = await loginError({ ...instance.connection(CREATOR, TOKEN_1), ssl: { ca: stranger.certPem, rejectUnauthorized: true } });
    expect(error.message).toMatch(/certificate/i);
  });

  test('does not verify for another name', async () => {
    const strangerCa = join(instance.root, 'ca-copy.crt');
    await writeFile(strangerCa, instance.authority.certPem);
    const conninfo = `hostaddr=${instance.address} host=db.example.com port=${instance.port} sslmode=verify-full sslrootcert=${strangerCa} user=${CREATOR} password=${TOKEN_1} dbname=databricks_postgres`;
    await expect(run('psql', [conninfo, '-tAc', 'SELECT 1'])).rejects.toMatchObject({ stderr: expect.stringMatching(/does not match host name "db\.example\.com"/) });
  });
});

describe('the instance creator', () => {
  test('is a member of databricks_superuser with CREATEDB, CREATEROLE and BYPASSRLS', async () => {
    const client = await connect(instance.connection(CREATOR, TOKEN_1));
    const { rows } = await client.query(
      `SELECT pg_has_role(current_user, 'databricks_superuser', 'MEMBER') AS member, rolcreatedb, rolcreaterole, rolbypassrls, rolsuper
         FROM pg_roles WHERE rolname = current_user`,
    );
    expect(rows[0]).toEqual({ member: true, rolcreatedb: true, rolcreaterole: true, rolbypassrls: true, rolsuper: false });
  });

  test('creates tables in public and schemas of its own in databricks_postgres, and reads all data', async () => {
    const client = await connect(instance.connection(CREATOR, TOKEN_1));
    await client.query('CREATE TABLE public.creator_table (id int)');
    await client.query('CREATE SCHEMA creator_schema');
    await client.query('CREATE TABLE creator_schema.t AS SELECT 7 AS v');
    expect((await client.query('SELECT v FROM creator_schema.t')).rows).toEqual([{ v: 7 }]);
    expect((await client.query("SELECT pg_has_role('databricks_superuser', 'pg_read_all_data', 'USAGE') AS reads")).rows[0].reads).toBe(true);
  });

  test('gives another identity a role with databricks_auth, and that identity logs in with its token', async () => {
    const principal = '4a2f0c1e-9b7d-4c55-8e21-0d3f6a9b1c77';
    const client = await connect(instance.connection(CREATOR, TOKEN_1));
    await client.query('CREATE EXTENSION IF NOT EXISTS databricks_auth');
    const created = await client.query("SELECT databricks_create_role($1, 'SERVICE_PRINCIPAL') AS role", [principal]);
    expect(created.rows[0].role).toBe(principal);
    const listed = await client.query('SELECT identity_type FROM databricks_list_roles WHERE role_name = $1', [principal]);
    expect(listed.rows).toEqual([{ identity_type: 'SERVICE_PRINCIPAL' }]);
    expect(await instance.server.listRoles()).toContainEqual({
      name: principal,
      kind: 'SERVICE_PRINCIPAL',
      superuser: false,
      attributes: { createdb: false, createrole: false, bypassrls: false },
    });
    instance.grant(principal, 'principal-token');
    const asPrincipal = await connect(instance.connection(principal, 'principal-token'));
    expect((await asPrincipal.query('SELECT current_user AS user')).rows[0].user).toBe(principal);
  });

  test('databricks_create_role refuses an unknown identity type', async () => {
    const client = await connect(instance.connection(CREATOR, TOKEN_1));
    await client.query('CREATE EXTENSION IF NOT EXISTS databricks_auth');
    await expect(client.query("SELECT databricks_create_role('someone@example.com', 'ROBOT')")).rejects.toMatchObject({ code: '22023' });
  });
});
