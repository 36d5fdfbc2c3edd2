// Sessions over TLS against a TLS-only server (an emulated Lakebase instance: real PostgreSQL,
// certificate from the emulator's CA, tokens as passwords): libpq's sslmodes behave as in psql,
// TLS failures are explained, and a cancel request travels over TLS like the session it cancels.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CONNECTION_ERRORS, LakebaseSession, openSession, QUERY_CANCELED } from '../lakebase/session';
import { resolveTarget, TargetOptions } from '../lakebase/targets';
import { LakebaseError, SqlError } from '../lakebase/errors';
import { startTestInstance, TestInstance } from './support/emulator-instance';
import { startTcpProxy, TcpProxy } from './support/tcp-proxy';

const USER = 'ada@example.com';
const TOKEN = 'token-of-ada-0123456789';
let instance: TestInstance;
let proxy: TcpProxy;
const page = { displayLimit: 100 };

beforeAll(async () => {
  instance = await startTestInstance();
  await instance.server.createRole(USER, 'USER', { superuser: true });
  instance.grant(USER, TOKEN);
  // The instance's certificate names its own address; through this proxy (127.0.0.1) it does not.
  proxy = await startTcpProxy({ targetHost: instance.address, targetPort: instance.port });
});
afterAll(async () => {
  await proxy?.stop();
  await instance?.stop();
});

const options = (more: TargetOptions): TargetOptions => ({
  host: instance.address,
  port: instance.port,
  user: USER,
  password: TOKEN,
  database: 'databricks_postgres',
  ...more,
});

/** TLS as the client sees it: the instance's login gateway ends TLS, so pg_stat_ssl cannot tell. */
async function encrypted(session: LakebaseSession): Promise<boolean | undefined> {
  await session.run('SELECT 1', page);
  return session.encrypted;
}

async function connectError(more: TargetOptions): Promise<LakebaseError> {
  const error = await openSession(resolveTarget({ options: options(more) })).then(
    async (session) => {
      await session.close();
      return new Error('connected, but should not have');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LakebaseError);
  return error as LakebaseError;
}

test.each([
  ['verify-full', { sslrootcert: 'CA' }],
  ['verify-ca', { sslrootcert: 'CA' }],
  ['require', {}],
  ['prefer', {}],
  ['allow', {}], // plain text refused by the server, then TLS
])('sslmode=%s connects encrypted', async (sslmode, more) => {
  const rootCert = 'sslrootcert' in more ? { sslrootcert: instance.authority.certPath } : {};
  const session = await openSession(resolveTarget({ options: options({ sslmode, ...rootCert }) }));
  try {
    expect(await encrypted(session)).toBe(true);
  } finally {
    await session.close();
  }
});

test('sslmode=disable against a TLS-only server: TLS_REQUIRED', async () => {
  const error = await connectError({ sslmode: 'disable' });
  expect(error.code).toBe(CONNECTION_ERRORS.tlsRequired);
  expect(error.hint).toMatch(/sslmode=require/);
});

test('verify-full without the CA: TLS_CERTIFICATE_REJECTED, saying which file to trust', async () => {
  const error = await connectError({ sslmode: 'verify-full' });
  expect(error.code).toBe(CONNECTION_ERRORS.tlsCertificate);
  expect(error.hint).toMatch(/sslrootcert/);
});

test('verify-full checks the host name; verify-ca does not', async () => {
  const viaProxy = { host: proxy.host, port: proxy.port, sslrootcert: instance.authority.certPath };
  const error = await connectError({ ...viaProxy, sslmode: 'verify-full' });
  expect(error.code).toBe(CONNECTION_ERRORS.tlsCertificate);
  const session = await openSession(resolveTarget({ options: options({ ...viaProxy, sslmode: 'verify-ca' }) }));
  try {
    expect(await encrypted(session)).toBe(true);
  } finally {
    await session.close();
  }
});

test('a token that is not valid: AUTHENTICATION_FAILED; a login without a role: ROLE_NOT_FOUND', async () => {
  expect((await connectError({ sslmode: 'require', password: 'not-a-valid-token' })).code).toBe(CONNECTION_ERRORS.authenticationFailed);
  instance.grant('nobody@example.com', TOKEN);
  const error = await connectError({ sslmode: 'require', user: 'nobody@example.com' });
  expect(error.code).toBe(CONNECTION_ERRORS.roleNotFound);
  expect(error.message).toContain('nobody@example.com');
});

test('a cancel request goes over TLS, like the session, and cancels the statement', { timeout: 20_000 }, async () => {
  const session = await openSession(
    resolveTarget({ options: options({ host: proxy.host, port: proxy.port, sslmode: 'verify-ca', sslrootcert: instance.authority.certPath }) }),
  );
  try {
    const tlsBefore = proxy.tlsConnections;
    const controller = new AbortController();
    const running = session.run('SELECT pg_sleep(30)', { ...page, signal: controller.signal });
    // The session's backend shows as active once the statement runs.
    const watcher = await openSession(resolveTarget({ options: options({ sslmode: 'require' }) }));
    try {
      while ((await watcher.run("SELECT count(*)::int FROM pg_stat_activity WHERE pid = $1 AND state = 'active'", { ...page, params: [session.backendPid] })).values[0][0] === 0) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      await watcher.close();
    }
    controller.abort();
    expect(((await running.catch((e: unknown) => e)) as SqlError).sqlState).toBe(QUERY_CANCELED);
    // The cancel request, encrypted; on a loaded machine the session may also have cancelled
    // again with pg_cancel_backend over one more (TLS) connection, when the first was slow.
    expect(proxy.tlsConnections).toBeGreaterThanOrEqual(tlsBefore + 1);
    expect(proxy.cancelRequests).toBe(0); // never in plain text
    expect((await session.run('SELECT 1', page)).values).toEqual([[1]]);
  } finally {
    await session.close();
  }
});
