// The login gateway at the byte level. One real PostgreSQL 18 (the emulator's binaries) is both the
// reference — TLS on 127.0.0.1, pg_hba.conf `hostssl … password` — and the gateway's backend on its
// Unix socket. Every refusal the gateway writes itself must be the bytes that server sends for the
// same packets; everything after a login is the server's own. Then: broken and oversize packets,
// clients that hang up at every step (no crash, no socket left open), the login timeout, cancel
// requests, direct SSL, and real clients (node-postgres, psql, libpq 18 from the embedded binaries,
// psycopg when installed).
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { connect as connectTcp } from 'node:net';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LoginGateway, PasswordCheck, startLoginGateway } from '../emulator/postgres/login-gateway';
import { locatePostgresBinaries } from '../emulator/postgres/postgres-binaries';
import { errorFields, packets, WireClient } from './support/emulator-wire-client';
import { ReferencePostgres, startReferencePostgres } from './support/emulator-reference-postgres';

const run = promisify(execFile);
const USER = 'alice';
const PASSWORD = 'the-token-of-alice';
const RESERVED = 'reserved_admin';

let reference: ReferencePostgres;
let gateway: LoginGateway;
const gatewayLog: string[] = [];
const asked: string[] = [];

/** Accepts alice's token; a slow user for tests that hang up during the check; a failing one. */
const checkPassword: PasswordCheck = async (user, password) => {
  asked.push(user);
  if (user === 'slow') await new Promise((resolve) => setTimeout(resolve, 300));
  if (user === 'broken') throw new Error('the token store is unavailable');
  return user === USER && password === PASSWORD;
};

async function openGateway(options: { loginTimeoutMs?: number } = {}): Promise<LoginGateway> {
  return startLoginGateway({
    host: '127.0.0.1',
    port: 0,
    certificate: reference.authority.issueServerCertificate({ dnsNames: [], ipAddresses: ['127.0.0.1'] }),
    serverSocketPath: reference.socketPath,
    checkPassword,
    reservedRoles: [RESERVED],
    log: (line) => gatewayLog.push(line),
    ...options,
  });
}

beforeAll(async () => {
  reference = await startReferencePostgres({
    hba: ['local all all trust', `hostssl all ${RESERVED} all reject`, 'hostssl all all all password'],
  });
  await reference.admin(`CREATE ROLE ${USER} LOGIN PASSWORD '${PASSWORD}'; CREATE ROLE ${RESERVED} LOGIN PASSWORD '${PASSWORD}'; CREATE ROLE slow LOGIN; CREATE ROLE broken LOGIN`);
  gateway = await openGateway();
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await reference?.stop();
});

type Target = { host: string; port: number };
const TARGET_NAMES = ['PostgreSQL', 'the gateway'] as const;
const target = (name: (typeof TARGET_NAMES)[number]): Target =>
  name === 'PostgreSQL' ? { host: reference.host, port: reference.port } : { host: gateway.host, port: gateway.port };
const tlsOptions = () => ({ ca: reference.authority.certPem, checkServerIdentity: () => undefined });

/** SSLRequest, 'S', handshake. */
async function overTls(target: Target): Promise<WireClient> {
  const client = await WireClient.connect(target.host, target.port);
  client.send(packets.sslRequest());
  expect((await client.read(1)).toString()).toBe('S');
  await client.startTls(tlsOptions());
  return client;
}

/** Up to the password request: startup over TLS, then AuthenticationCleartextPassword. */
async function passwordAsked(target: Target, parameters: Record<string, string> = { user: USER, database: 'postgres' }): Promise<WireClient> {
  const client = await overTls(target);
  client.send(packets.startup(parameters));
  expect([...(await client.read(9))]).toEqual([0x52, 0, 0, 0, 8, 0, 0, 0, 3]);
  return client;
}

/**
 * Scenarios: each sends packets and returns every byte the server sent back until it closed the
 * connection. The gateway must send the same bytes as PostgreSQL 18.4 itself.
 */
const refusals: [string, (to: Target) => Promise<Buffer>][] = [
  ['a plain-text login (hostssl only)', async (to) => {
    const client = await WireClient.connect(to.host, to.port);
    client.send(packets.startup({ user: USER, database: 'postgres', application_name: 'plain' }));
    return client.readToEnd();
  }],
  ['a plain-text login without a database (it defaults to the user name)', async (to) => {
    const client = await WireClient.connect(to.host, to.port);
    client.send(packets.startup({ user: USER }));
    return client.readToEnd();
  }],
  ['a plain-text login as a 70-byte name, cut at byte 63 in the middle of a character', async (to) => {
    const client = await WireClient.connect(to.host, to.port);
    client.send(packets.startup({ user: 'é'.repeat(35), database: 'databricks_postgres' }));
    return client.readToEnd();
  }],
  ['a startup packet without a user', async (to) => {
    const client = await WireClient.connect(to.host, to.port);
    client.send(packets.startup({ database: 'postgres' }));
    return client.readToEnd();
  }],
  ['protocol 4.0', async (to) => {
    const client = await WireClient.connect(to.host, to.port);
    client.send(packets.startup({ user: USER }, { major: 4, minor: 0 }));
    return client.readToEnd();
  }],
  ['protocol 2.0 (answered in the old format)', async (to) => {
    const client = await WireClient.connect(to.host, to.port);
    client.send(packets.startup({ user: USER }, { major: 2, minor: 0 }));
    return client.readToEnd();
  }],
  ['a parameter name without a value', async (to) => {
    const client = await WireClient.connect(to.host, to.port);
    client.send(packets.raw(0x00030000, Buffer.from('user\0alice\0database\0')));
    return client.readToEnd();
  }],
  ['a startup packet without its terminator', async (to) => {
    const client = await WireClient.connect(to.host, to.port);
    client.send(packets.raw(0x00030000, Buffer.from('user\0alice\0')));
    return client.readToEnd();
  }],
  ['protocol 3.9 with a _pq_ option: NegotiateProtocolVersion, then the plain-text refusal', async (to) => {
    const client = await WireClient.connect(to.host, to.port);
    client.send(packets.startup({ user: USER, '_pq_.compression': 'on' }, { major: 3, minor: 9 }));
    return client.readToEnd();
  }],
  ['a role that pg_hba.conf rejects', async (to) => {
    const client = await overTls(to);
    client.send(packets.startup({ user: RESERVED, database: 'postgres' }));
    return client.readToEnd();
  }],
  ['a wrong password', async (to) => {
    const client = await passwordAsked(to);
    client.send(packets.password('not-the-token'));
    return client.readToEnd();
  }],
  ['a role that does not exist (asked for a password all the same)', async (to) => {
    const client = await passwordAsked(to, { user: 'nobody', database: 'postgres' });
    client.send(packets.password(PASSWORD));
    return client.readToEnd();
  }],
  ['a wrong password for a name that is not ASCII', async (to) => {
    const client = await passwordAsked(to, { user: 'jörg@example.com', database: 'postgres' });
    client.send(packets.password('not-the-token'));
    return client.readToEnd();
  }],
  ['an empty password', async (to) => {
    const client = await passwordAsked(to);
    client.send(packets.password(''));
    return client.readToEnd();
  }],
  ['a query instead of a password', async (to) => {
    const client = await passwordAsked(to);
    client.send(packets.message('Q', Buffer.from('SELECT 1\0')));
    return client.readToEnd();
  }],
  ['a password message with bytes after the password', async (to) => {
    const client = await passwordAsked(to);
    client.send(packets.message('p', Buffer.from(`${PASSWORD}\0extra\0`)));
    return client.readToEnd();
  }],
  ['an oversize password message (closed without a word)', async (to) => {
    const client = await passwordAsked(to);
    client.send(packets.message('p', Buffer.alloc(0), 70_000));
    return client.readToEnd();
  }],
  ['a physical replication connection', async (to) => {
    const client = await overTls(to);
    client.send(packets.startup({ user: USER, database: 'postgres', replication: 'yes' }));
    return client.readToEnd();
  }],
  ['an invalid replication value', async (to) => {
    const client = await overTls(to);
    client.send(packets.startup({ user: USER, database: 'postgres', replication: 'maybe' }));
    return client.readToEnd();
  }],
  ['GSSENCRequest (N), SSLRequest (S), then GSSENCRequest again inside TLS', async (to) => {
    const client = await WireClient.connect(to.host, to.port);
    client.send(packets.gssRequest());
    const gss = await client.read(1);
    client.send(packets.sslRequest());
    const ssl = await client.read(1);
    await client.startTls(tlsOptions());
    client.send(packets.gssRequest());
    return Buffer.concat([gss, ssl, await client.readToEnd()]);
  }],
  ['an SSLRequest inside TLS', async (to) => {
    const client = await overTls(to);
    client.send(packets.sslRequest());
    return client.readToEnd();
  }],
  ['an oversize startup packet (closed without a word)', async (to) => {
    const client = await WireClient.connect(to.host, to.port);
    client.send(packets.raw(0x00030000, Buffer.alloc(16), 10_005));
    return client.readToEnd();
  }],
  ['a startup packet shorter than its header (closed without a word)', async (to) => {
    const client = await WireClient.connect(to.host, to.port);
    client.send(Buffer.from([0, 0, 0, 4]));
    return client.readToEnd();
  }],
  ['a cancel request without a key (closed without a word)', async (to) => {
    const client = await WireClient.connect(to.host, to.port);
    client.send(packets.raw(80877102, Buffer.from([0, 0, 0, 1])));
    return client.readToEnd();
  }],
];

describe('refusals are PostgreSQL\'s own bytes', () => {
  test.each(refusals)('%s', async (_name, scenario) => {
    const [fromPostgres, fromGateway] = [await scenario(target('PostgreSQL')), await scenario(target('the gateway'))];
    expect(fromGateway.toString('latin1')).toBe(fromPostgres.toString('latin1'));
  });

  test('the one users meet most: 28P01, password authentication failed', async () => {
    const client = await passwordAsked({ host: gateway.host, port: gateway.port });
    client.send(packets.password('not-the-token'));
    const reply = await client.readToEnd();
    expect(reply[0]).toBe(0x45);
    expect(errorFields(reply.subarray(5))).toMatchObject({ S: 'FATAL', V: 'FATAL', C: '28P01', M: `password authentication failed for user "${USER}"` });
  });
});

describe('after a login, everything is the server\'s', () => {
  /** The start-up messages after the password, without the secret key's bytes. */
  async function startUp(target: Target, version?: { major: number; minor: number }) {
    const client = await overTls(target);
    client.send(packets.startup({ user: USER, database: 'postgres', application_name: 'compare' }, version));
    expect((await client.read(1)).toString()).toBe('R');
    await client.read(8);
    client.send(packets.password(PASSWORD));
    const messages = await client.readMessagesUntil('Z');
    client.send(packets.message('X', Buffer.alloc(0)));
    await client.readToEnd();
    return messages.map(({ type, body }) => (type === 'K' ? `K key of ${body.length - 4} bytes` : `${type} ${body.toString('latin1')}`));
  }

  test.each([
    ['protocol 3.0', { major: 3, minor: 0 }],
    ['protocol 3.2 (32-byte cancel keys)', { major: 3, minor: 2 }],
  ])('%s: AuthenticationOk, the parameters, BackendKeyData and ReadyForQuery as PostgreSQL sends them', async (_name, version) => {
    const fromPostgres = await startUp(target('PostgreSQL'), version);
    const fromGateway = await startUp(target('the gateway'), version);
    expect(fromGateway).toEqual(fromPostgres);
    expect(fromGateway[0]).toBe('R \0\0\0\0');
    expect(fromGateway).toContain(`K key of ${version.minor === 2 ? 32 : 4} bytes`);
  });

  test('a newer protocol is negotiated down before the password, and PostgreSQL is not asked again', async () => {
    const client = await overTls({ host: gateway.host, port: gateway.port });
    client.send(packets.startup({ user: USER, database: 'postgres', '_pq_.future': 'on' }, { major: 3, minor: 7 }));
    const [negotiation, request] = [await client.readMessagesUntil('v'), await client.read(9)];
    expect(negotiation[0].body.readUInt32BE(0)).toBe((3 << 16) | 2);
    expect(negotiation[0].body.subarray(8).toString()).toBe('_pq_.future\0');
    expect(request[0]).toBe(0x52);
    client.send(packets.password(PASSWORD));
    const messages = await client.readMessagesUntil('Z');
    expect(messages.map((message) => message.type)).not.toContain('v');
    expect(messages.find((message) => message.type === 'K')?.body.length).toBe(4 + 32);
    client.destroy();
  });

  test('the gateway asks the check once per login, with the role, and never logs the password', async () => {
    asked.length = 0;
    const client = await passwordAsked({ host: gateway.host, port: gateway.port });
    client.send(packets.password('a-secret-that-must-not-show'));
    await client.readToEnd();
    expect(asked).toEqual([USER]);
    expect(gatewayLog.join('\n')).not.toContain('a-secret-that-must-not-show');
  });

  test('a check that throws refuses the login like a wrong password, and is logged', async () => {
    const client = await passwordAsked({ host: gateway.host, port: gateway.port }, { user: 'broken', database: 'postgres' });
    client.send(packets.password(PASSWORD));
    expect(errorFields((await client.readToEnd()).subarray(5))).toMatchObject({ C: '28P01', M: 'password authentication failed for user "broken"' });
    expect(gatewayLog.some((line) => line.includes('the token store is unavailable'))).toBe(true);
    expect(gatewayLog.join('\n')).not.toContain(PASSWORD);
  });

  test('a database that does not exist is refused by PostgreSQL, relayed unchanged', async () => {
    const client = await overTls({ host: gateway.host, port: gateway.port });
    client.send(packets.startup({ user: USER, database: 'no_such_database' }));
    await client.read(9);
    client.send(packets.password(PASSWORD));
    const reply = await client.readToEnd();
    expect(reply.subarray(0, 9)).toEqual(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0]));
    expect(errorFields(reply.subarray(14))).toMatchObject({ C: '3D000', M: 'database "no_such_database" does not exist', F: 'postinit.c' });
  });
});

describe('clients that go away', () => {
  const hangUps: [string, (client: WireClient) => Promise<void>][] = [
    ['right after connecting', async () => undefined],
    ['in the middle of the length word', async (client) => client.send(Buffer.from([0, 0]))],
    ['in the middle of a startup packet', async (client) => client.send(packets.startup({ user: USER }).subarray(0, 12))],
    ['after the SSL answer, before the handshake', async (client) => {
      client.send(packets.sslRequest());
      await client.read(1);
    }],
    ['in the middle of the TLS handshake', async (client) => {
      client.send(packets.sslRequest());
      await client.read(1);
      client.send(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40, 0x01]));
    }],
    ['after TLS, before the startup packet', async (client) => {
      client.send(packets.sslRequest());
      await client.read(1);
      await client.startTls(tlsOptions());
    }],
    ['when asked for the password', async (client) => {
      client.send(packets.sslRequest());
      await client.read(1);
      await client.startTls(tlsOptions());
      client.send(packets.startup({ user: USER }));
      await client.read(9);
    }],
    ['in the middle of the password message', async (client) => {
      client.send(packets.sslRequest());
      await client.read(1);
      await client.startTls(tlsOptions());
      client.send(packets.startup({ user: USER }));
      await client.read(9);
      client.send(packets.password(PASSWORD).subarray(0, 8));
    }],
    ['while the token is being checked', async (client) => {
      client.send(packets.sslRequest());
      await client.read(1);
      await client.startTls(tlsOptions());
      client.send(packets.startup({ user: 'slow' }));
      await client.read(9);
      client.send(packets.password(PASSWORD));
    }],
  ];

  test.each(hangUps)('%s: the connection is released and the gateway serves on', async (_name, steps) => {
    const client = await WireClient.connect(gateway.host, gateway.port);
    await steps(client);
    client.destroy();
    await expect.poll(() => gateway.openConnections).toBe(0);
    const session = new pg.Client({ host: gateway.host, port: gateway.port, user: USER, password: PASSWORD, database: 'postgres', ssl: tlsOptions() });
    await session.connect();
    expect((await session.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await session.end();
    await expect.poll(() => gateway.openConnections).toBe(0);
  });

  test('a client killed in the middle of a session takes its PostgreSQL session with it', async () => {
    const session = new pg.Client({ host: gateway.host, port: gateway.port, user: USER, password: PASSWORD, database: 'postgres', ssl: tlsOptions(), application_name: 'killed' });
    session.on('error', () => undefined);
    await session.connect();
    void session.query('SELECT pg_sleep(60)').catch(() => undefined);
    const watcher = new pg.Client({ host: gateway.host, port: gateway.port, user: USER, password: PASSWORD, database: 'postgres', ssl: tlsOptions() });
    await watcher.connect();
    const sessions = async () => (await watcher.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'killed'")).rows[0].n;
    await expect.poll(sessions).toBe(1);
    session.connection.stream.destroy();
    // PostgreSQL notices a vanished client when it next reads or writes: cancel the sleep to make it look.
    await reference.admin("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'killed'");
    await expect.poll(sessions).toBe(0);
    await watcher.end();
    await expect.poll(() => gateway.openConnections).toBe(0);
  });

  test('a client that never finishes logging in is dropped after the login timeout', async () => {
    const impatient = await openGateway({ loginTimeoutMs: 200 });
    try {
      const client = await WireClient.connect(impatient.host, impatient.port);
      client.send(packets.sslRequest());
      await client.read(1);
      await expect(client.readToEnd(5000)).resolves.toEqual(Buffer.alloc(0));
      await expect.poll(() => impatient.openConnections).toBe(0);
      expect(gatewayLog.some((line) => line.includes('did not finish logging in within 0.2 s'))).toBe(true);
    } finally {
      await impatient.close();
    }
  });
});

describe('cancel requests', () => {
  async function sleepingSession(name: string): Promise<{ session: pg.Client; outcome: Promise<string | undefined>; pid: number; key: Buffer }> {
    const session = new pg.Client({ host: gateway.host, port: gateway.port, user: USER, password: PASSWORD, database: 'postgres', ssl: tlsOptions(), application_name: name });
    await session.connect();
    const outcome = session.query('SELECT pg_sleep(60)').then(
      () => undefined,
      (error: { code?: string }) => error.code,
    );
    const { processID, secretKey } = session as unknown as { processID: number; secretKey: number };
    const key = Buffer.alloc(4);
    key.writeInt32BE(secretKey);
    const watcher = new pg.Client({ host: reference.host, port: reference.port, user: USER, password: PASSWORD, database: 'postgres', ssl: tlsOptions() });
    await watcher.connect();
    await expect.poll(async () => (await watcher.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'", [name])).rows[0].n).toBe(1);
    await watcher.end();
    return { session, outcome, pid: processID, key };
  }

  test.each([['in plain text'], ['over TLS']])('%s, with the keys the server sent, cancel the statement', async (how) => {
    const { session, outcome, pid, key } = await sleepingSession(`cancel ${how}`);
    const client = how === 'over TLS' ? await overTls({ host: gateway.host, port: gateway.port }) : await WireClient.connect(gateway.host, gateway.port);
    client.send(packets.cancelRequest(pid, key));
    // PostgreSQL answers a cancel request by closing the connection; so does the gateway.
    expect(await client.readToEnd()).toEqual(Buffer.alloc(0));
    expect(await outcome).toBe('57014');
    await session.end();
  });

  test('a wrong key cancels nothing', async () => {
    const { session, outcome, pid } = await sleepingSession('wrong key');
    const client = await WireClient.connect(gateway.host, gateway.port);
    client.send(packets.cancelRequest(pid, Buffer.from([1, 2, 3, 4])));
    await client.readToEnd();
    const settled = await Promise.race([outcome.then(() => 'settled'), new Promise((resolve) => setTimeout(() => resolve('still running'), 300))]);
    expect(settled).toBe('still running');
    const cancel = await WireClient.connect(gateway.host, gateway.port);
    const key = Buffer.alloc(4);
    key.writeInt32BE((session as unknown as { secretKey: number }).secretKey);
    cancel.send(packets.cancelRequest(pid, key));
    await cancel.readToEnd();
    expect(await outcome).toBe('57014');
    await session.end();
  });
});

describe('TLS', () => {
  test('direct SSL (TLS first, ALPN "postgresql") logs in', async () => {
    const client = await WireClient.connectDirectTls(gateway.host, gateway.port, { ...tlsOptions(), ALPNProtocols: ['postgresql'] });
    client.send(packets.startup({ user: USER, database: 'postgres' }));
    expect((await client.read(9))[8]).toBe(3);
    client.send(packets.password(PASSWORD));
    expect((await client.readMessagesUntil('Z')).at(-1)?.type).toBe('Z');
    client.destroy();
  });

  test.each(TARGET_NAMES)('direct SSL without ALPN is closed without a word by %s', async (name) => {
    const { host, port } = target(name);
    const client = await WireClient.connectDirectTls(host, port, tlsOptions());
    client.send(packets.startup({ user: USER, database: 'postgres' }));
    expect(await client.readToEnd()).toEqual(Buffer.alloc(0));
  });

  test.each(TARGET_NAMES)('a client offering only other ALPN protocols fails the handshake with %s', async (name) => {
    const { host, port } = target(name);
    const client = await WireClient.connect(host, port);
    client.send(packets.sslRequest());
    await client.read(1);
    await expect(client.startTls({ ...tlsOptions(), ALPNProtocols: ['http/1.1'] })).rejects.toMatchObject({ code: 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL' });
    client.destroy();
  });

  test.each(TARGET_NAMES)('plain text sent right behind an SSLRequest is taken for TLS and fails the handshake, by %s', async (name) => {
    const { host, port } = target(name);
    const client = await WireClient.connect(host, port);
    client.send(Buffer.concat([packets.sslRequest(), packets.startup({ user: USER, database: 'postgres' })]));
    const reply = await client.readToEnd();
    expect(reply.subarray(0, 1).toString()).toBe('S');
    // What may follow is a TLS alert record (type 21), never a PostgreSQL message or a login.
    expect(reply.length === 1 || reply[1] === 21).toBe(true);
  });
});

describe('real clients', () => {
  const conninfo = (extra = '') => `host=${gateway.host} port=${gateway.port} user=${USER} password=${PASSWORD} dbname=postgres sslmode=require ${extra}`;

  test('psql (libpq 15) logs in, and a wrong token reads as PostgreSQL says it', async () => {
    const { stdout } = await run('psql', [conninfo(), '-tAc', 'SELECT current_user']);
    expect(stdout.trim()).toBe(USER);
    await expect(run('psql', [conninfo().replace(PASSWORD, 'wrong'), '-tAc', 'SELECT 1'])).rejects.toMatchObject({
      stderr: expect.stringContaining(`FATAL:  password authentication failed for user "${USER}"`),
    });
  });

  // The embedded binaries ship libpq 18: Debian's psql runs with it given LD_LIBRARY_PATH.
  const libpq18 = async () => ({ ...process.env, LD_LIBRARY_PATH: join(dirname(dirname((await locatePostgresBinaries()).postgres)), 'lib') });

  test.skipIf(process.platform !== 'linux')('libpq 18: direct SSL with protocol 3.2, and Ctrl-C cancels with its 32-byte key', async () => {
    const env = await libpq18();
    const direct = conninfo('sslnegotiation=direct max_protocol_version=3.2 application_name=libpq18');
    const { stdout } = await run('psql', [direct, '-tAc', 'SELECT current_user'], { env });
    expect(stdout.trim()).toBe(USER);
    const psql = spawn('psql', [direct, '-c', 'SELECT pg_sleep(60)'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    psql.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => psql.once('close', resolve));
    const watcher = new pg.Client({ host: gateway.host, port: gateway.port, user: USER, password: PASSWORD, database: 'postgres', ssl: tlsOptions() });
    await watcher.connect();
    await expect.poll(async () => (await watcher.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'libpq18' AND state = 'active'")).rows[0].n, { timeout: 10_000 }).toBe(1);
    await watcher.end();
    psql.kill('SIGINT');
    expect(await exited).toBe(1);
    expect(stderr).toContain('canceling statement due to user request');
  });

  test.skipIf(process.platform !== 'linux')('libpq 18 with verify-full and the CA', async () => {
    const verified = conninfo(`sslrootcert=${reference.authority.certPath}`).replace('sslmode=require', 'sslmode=verify-full');
    const { stdout } = await run('psql', [verified, '-tAc', 'SELECT 42'], { env: await libpq18() });
    expect(stdout.trim()).toBe('42');
  });

  test('psycopg (Python, libpq) logs in and is refused like psql, when installed', async (context) => {
    // Debian's python3-psycopg lives beside Debian's Python, which a pyenv `python3` may hide.
    const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
    const probe = await run(python, ['-c', 'import psycopg']).then(() => true, () => false);
    if (!probe) context.skip();
    const script = [
      'import sys, psycopg',
      'with psycopg.connect(sys.argv[1]) as connection:',
      '    print(connection.execute("SELECT current_user").fetchone()[0])',
      'try:',
      '    psycopg.connect(sys.argv[2])',
      'except psycopg.OperationalError as error:',
      '    print(error.sqlstate if hasattr(error, "sqlstate") else "", str(error).strip().splitlines()[-1])',
    ].join('\n');
    const { stdout } = await run(python, ['-c', script, conninfo(), conninfo().replace(PASSWORD, 'wrong')]);
    const [user, refusal] = stdout.trim().split('\n');
    expect(user).toBe(USER);
    expect(refusal).toContain(`password authentication failed for user "${USER}"`);
  });
});

describe('closing', () => {
  test('a closed gateway refuses connections and drops the sessions it relayed', async () => {
    const closing = await openGateway();
    const session = new pg.Client({ host: closing.host, port: closing.port, user: USER, password: PASSWORD, database: 'postgres', ssl: tlsOptions() });
    const ended = new Promise<void>((resolve) => session.once('end', () => resolve()));
    session.on('error', () => undefined);
    await session.connect();
    await closing.close();
    await ended;
    expect(closing.openConnections).toBe(0);
    const refused = await new Promise<string | undefined>((resolve) => {
      const socket = connectTcp(closing.port, closing.host);
      socket.once('connect', () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code));
    });
    expect(refused).toBe('ECONNREFUSED');
  });
});
