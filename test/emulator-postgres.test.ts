// Logging in to an emulated Lakebase instance with real clients: TLS only, database tokens as
// passwords (checked by the instance's login gateway, at login only), refusals in PostgreSQL's own
// words, cancel requests, the creator's role, and the certificate chain. The gateway's bytes are
// tested one by one in emulator-postgres-gateway.test.ts.
import { execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { connect as connectTls, TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadOrCreateAuthority } from '../emulator/postgres/authority';
import { INSTANCE_SERVER_FIDELITY_GAPS } from '../emulator/postgres/fidelity';
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

/** The TLS session of a node-postgres client, as the client sees it. */
function tlsOf(client: pg.Client): TLSSocket {
  const stream = client.connection.stream;
  if (!(stream instanceof TLSSocket)) throw new Error('the client is not connected over TLS');
  return stream;
}

const passwordFailed = (role: string) => ({ code: '28P01', message: `password authentication failed for user "${role}"` });

describe('logging in', () => {
  test('a valid token logs in over TLS to databricks_postgres on the instance address', async () => {
    const client = await connect(instance.connection(CREATOR, TOKEN_1));
    const { rows } = await client.query('SELECT current_user AS user, current_database() AS database');
    expect(rows[0]).toEqual({ user: CREATOR, database: 'databricks_postgres' });
    expect(tlsOf(client).getProtocol()).toMatch(/^TLSv1\.[23]$/);
    expect(instance.address).toMatch(/^127\.0\.(?!0\.)\d+\.\d+$/);
    expect(instance.port).toBe(5432);
  });

  test('the check is asked for the role logging in, and never sees the admin role', async () => {
    const client = await connect(instance.connection(CREATOR, TOKEN_1));
    await client.query('SELECT 1');
    expect(instance.logins.at(-1)).toEqual({ user: CREATOR });
  });

  test('PostgreSQL itself listens on no TCP port: its sessions come from the gateway, as the fidelity table says', async () => {
    const client = await connect(instance.connection(CREATOR, TOKEN_1));
    const { rows } = await client.query(
      "SELECT current_setting('listen_addresses') AS listen, ssl, inet_client_addr() AS client FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    );
    expect(rows[0]).toEqual({ listen: '', ssl: false, client: null });
    expect(INSTANCE_SERVER_FIDELITY_GAPS.map((gap) => gap.id)).toContain('tls-termination');
  });

  test('several tokens of one identity are valid at the same time', async () => {
    const [first, second] = await Promise.all([connect(instance.connection(CREATOR, TOKEN_1)), connect(instance.connection(CREATOR, TOKEN_2))]);
    const [a, b] = await Promise.all([first.query('SELECT pg_backend_pid() AS pid'), second.query('SELECT pg_backend_pid() AS pid')]);
    expect(a.rows[0].pid).not.toBe(b.rows[0].pid);
  });

  test('a wrong token is refused as real Lakebase refuses it: 28P01 password authentication failed', async () => {
    expect(await loginError(instance.connection(CREATOR, 'not-a-token'))).toMatchObject(passwordFailed(CREATOR));
  });

  test('a token of another identity is refused the same way, also for a role that does not exist', async () => {
    instance.grant('someone-else@example.com', 'token-of-someone-else');
    expect(await loginError(instance.connection(CREATOR, 'token-of-someone-else'))).toMatchObject(passwordFailed(CREATOR));
    expect(await loginError(instance.connection('nobody@example.com', 'not-a-token'))).toMatchObject(passwordFailed('nobody@example.com'));
  });

  test('a token of any length is a password: no 128-character limit', async () => {
    const long = `eyJ${'x'.repeat(4000)}`;
    instance.grant(CREATOR, long);
    const client = await connect(instance.connection(CREATOR, long));
    expect((await client.query('SELECT current_user AS user')).rows[0].user).toBe(CREATOR);
  });

  test('a token is checked at login only: a revoked one keeps its open connection and cannot open another', async () => {
    const user = 'expiring@example.com';
    await instance.server.createRole(user, 'USER');
    instance.grant(user, 'short-lived-token');
    const open = await connect(instance.connection(user, 'short-lived-token'));
    instance.revoke(user, 'short-lived-token');
    expect((await open.query('SELECT current_user AS user')).rows[0].user).toBe(user);
    expect(await loginError(instance.connection(user, 'short-lived-token'))).toMatchObject(passwordFailed(user));
  });

  test('plain-text connections are refused as by a server with hostssl lines only', async () => {
    const error = await loginError({ ...instance.connection(CREATOR, TOKEN_1), ssl: false });
    expect(error).toMatchObject({
      code: '28000',
      message: `no pg_hba.conf entry for host "127.0.0.1", user "${CREATOR}", database "databricks_postgres", no encryption`,
    });
  });

  test("the emulator's admin role cannot log in over TCP, even with a token the check would accept", async () => {
    instance.grant('lakebase_emulator', TOKEN_1);
    const error = await loginError(instance.connection('lakebase_emulator', TOKEN_1));
    expect(error).toMatchObject({ code: '28000', message: expect.stringMatching(/^pg_hba\.conf rejects connection for host .*, SSL encryption$/) });
    expect(instance.logins.some((login) => login.user === 'lakebase_emulator')).toBe(false);
  });

  test('a database that does not exist is refused by PostgreSQL in its own words, after the password', async () => {
    const error = await loginError(instance.connection(CREATOR, TOKEN_1, 'no_such_database'));
    expect(error).toMatchObject({ code: '3D000', message: 'database "no_such_database" does not exist' });
  });

  test('psql logs in with sslmode=require, user and token in the connection string, over TLS', async () => {
    const conninfo = `host=${instance.address} port=${instance.port} sslmode=require user=${CREATOR} password=${TOKEN_2} dbname=databricks_postgres`;
    const { stdout } = await run('psql', [conninfo, '-tA', '-c', 'SELECT current_user', '-c', '\\conninfo'], { env: { ...process.env, PGSSLROOTCERT: '' } });
    expect(stdout.split('\n')[0]).toBe(CREATOR);
    expect(stdout).toMatch(/^SSL connection \(protocol: TLSv1\.3, cipher: /m);
  });

  test('psql with a wrong token prints PostgreSQL\'s words', async () => {
    const conninfo = `host=${instance.address} port=${instance.port} sslmode=require user=${CREATOR} password=wrong dbname=databricks_postgres`;
    await expect(run('psql', [conninfo, '-tAc', 'SELECT 1'])).rejects.toMatchObject({
      stderr: expect.stringContaining(`FATAL:  password authentication failed for user "${CREATOR}"`),
    });
  });
});

async function activeStatements(watcher: pg.Client, applicationName: string): Promise<number> {
  const { rows } = await watcher.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'", [applicationName]);
  return rows[0].n;
}

describe('cancelling', () => {
  test('psql interrupted with Ctrl-C cancels its running statement: PostgreSQL answers the cancel request itself', async () => {
    const conninfo = `host=${instance.address} port=${instance.port} sslmode=require user=${CREATOR} password=${TOKEN_1} dbname=databricks_postgres application_name=to-cancel`;
    const psql = spawn('psql', [conninfo, '-c', 'SELECT pg_sleep(60)'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    psql.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => psql.once('close', resolve));
    const watcher = await connect(instance.connection(CREATOR, TOKEN_1));
    await expect.poll(() => activeStatements(watcher, 'to-cancel'), { timeout: 10_000 }).toBe(1);
    psql.kill('SIGINT');
    expect(await exited).toBe(1);
    expect(stderr).toContain('canceling statement due to user request');
  });

  test("node-postgres' cancel (a plain-text CancelRequest on a connection of its own) cancels the statement", async () => {
    const session = await connect({ ...instance.connection(CREATOR, TOKEN_1), application_name: 'pg-cancel' });
    const watcher = await connect(instance.connection(CREATOR, TOKEN_1));
    const running = session.query('SELECT pg_sleep(60)').then(
      () => undefined,
      (error: { code?: string }) => error.code,
    );
    await expect.poll(() => activeStatements(watcher, 'pg-cancel'), { timeout: 10_000 }).toBe(1);
    // What pg-pool users and the pg docs use: a second client sends the keys the first one got.
    const canceller = new pg.Client(instance.connection(CREATOR, TOKEN_1));
    (canceller as unknown as { cancel(target: pg.Client, query: unknown): void }).cancel(session, (session as unknown as { activeQuery: unknown }).activeQuery);
    expect(await running).toBe('57014');
    expect((await session.query('SELECT 1 AS alive')).rows[0].alive).toBe(1);
  });

  test('a CancelRequest over TLS, with the keys of BackendKeyData, cancels the statement', async () => {
    const session = await connect({ ...instance.connection(CREATOR, TOKEN_1), application_name: 'tls-cancel' });
    const watcher = await connect(instance.connection(CREATOR, TOKEN_1));
    const running = session.query('SELECT pg_sleep(60)').then(
      () => undefined,
      (error: { code?: string }) => error.code,
    );
    await expect.poll(() => activeStatements(watcher, 'tls-cancel'), { timeout: 10_000 }).toBe(1);
    const { processID, secretKey } = session as unknown as { processID: number; secretKey: number };
    expect((await watcher.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', ['tls-cancel'])).rows[0].pid).toBe(processID);
    await sendCancelOverTls(processID, secretKey);
    expect(await running).toBe('57014');
  });
});

/** SSLRequest, TLS, then CancelRequest (protocol docs, "Canceling Requests in Progress"); resolves when the server closes. */
async function sendCancelOverTls(processId: number, secretKey: number): Promise<void> {
  const { connect: connectTcp } = await import('node:net');
  const socket = connectTcp(instance.port, instance.address);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const sslRequest = Buffer.alloc(8);
  sslRequest.writeInt32BE(8, 0);
  sslRequest.writeInt32BE(80877103, 4);
  socket.write(sslRequest);
  const answer = await new Promise<Buffer>((resolve) => socket.once('data', resolve));
  expect(answer.toString()).toBe('S');
  const tls = connectTls({ socket, ca: instance.authority.certPem, servername: '', checkServerIdentity: () => undefined });
  await new Promise<void>((resolve, reject) => tls.once('secureConnect', resolve).once('error', reject));
  const cancel = Buffer.alloc(16);
  cancel.writeInt32BE(16, 0);
  cancel.writeInt32BE(80877102, 4);
  cancel.writeInt32BE(processId, 8);
  cancel.writeInt32BE(secretKey, 12);
  tls.write(cancel);
  await new Promise<void>((resolve) => tls.once('close', () => resolve()).resume());
}

describe('the server certificate', () => {
  test('verifies against the CA for the instance address (verify-full), with node-postgres', async () => {
    const client = await connect(instance.connection(CREATOR, TOKEN_1));
    expect(tlsOf(client).authorized).toBe(true);
    expect(tlsOf(client).getPeerCertificate().subjectaltname).toBe(`IP Address:${instance.address}`);
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
