// The resolver fallback for instance host names (lakebase.md: macOS resolver trouble with long
// names): a real DNS responder on loopback knows a name that the system resolver cannot resolve.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer, TLSSocket } from 'node:tls';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadOrCreateAuthority } from '../emulator/postgres/authority';
import { LakebaseError } from '../lakebase/errors';
import { createHostResolver } from '../lakebase/resolve-host';
import { DnsResponder, startDnsResponder } from './support/dns-responder';

// `.test` is reserved (RFC 2606): no public DNS, /etc/hosts or search domain will answer it.
const LONG_NAME = 'instance-0f6a3c2e-8b1d-4e7f-9a05-3d2c1b0a9f8e.database.cloud.lakebase.test';
let dns: DnsResponder;

beforeAll(async () => {
  dns = await startDnsResponder({ [LONG_NAME]: '127.0.0.1' });
});
afterAll(async () => {
  await dns?.close();
});

test('falls back to a direct DNS query and keeps the name for TLS when the system resolver fails', async () => {
  const resolve = createHostResolver({ dnsServers: [dns.server] });
  const resolved = await resolve(LONG_NAME);
  expect(resolved).toEqual({ host: '127.0.0.1', servername: LONG_NAME, route: 'c-ares' });
  expect(dns.queries.get(LONG_NAME)).toBeGreaterThan(0);
});

test('keeps the name when the system resolver knows it', async () => {
  const resolve = createHostResolver({ dnsServers: [dns.server] });
  expect(await resolve('localhost')).toEqual({ host: 'localhost', route: 'system' });
  expect(dns.queries.has('localhost')).toBe(false);
});

test('passes IP literals through without asking anyone', async () => {
  const resolve = createHostResolver({ dnsServers: [dns.server] });
  expect(await resolve('127.0.3.7')).toEqual({ host: '127.0.3.7', route: 'ip-literal' });
  expect(await resolve('::1')).toEqual({ host: '::1', route: 'ip-literal' });
});

test('a name neither resolver knows is a HOST_NOT_FOUND error naming both answers', async () => {
  const resolve = createHostResolver({ dnsServers: [dns.server] });
  const error = await resolve('no-such-instance.database.lakebase.test').catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(LakebaseError);
  expect(error).toMatchObject({ code: 'HOST_NOT_FOUND' });
  expect((error as LakebaseError).message).toMatch(/system resolver said ENOTFOUND.*direct DNS query said ENOTFOUND/);
});

test('the kept name is what TLS verifies: a certificate for the name, reached at the fallback address', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lakebase-resolve-tls-'));
  const authority = await loadOrCreateAuthority(dir);
  // A certificate for the long name only (no IP address in it), as a real instance has.
  const { certPem, keyPem } = authority.issueServerCertificate({ dnsNames: [LONG_NAME], ipAddresses: [] });
  const presentedNames: (string | false)[] = [];
  const server = createTlsServer({ cert: certPem, key: keyPem }, (socket) => {
    presentedNames.push((socket as TLSSocket & { servername?: string | false }).servername ?? false);
    socket.end('hello');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    const resolved = await createHostResolver({ dnsServers: [dns.server] })(LONG_NAME);
    const verified = await new Promise<boolean>((resolve, reject) => {
      const socket = tlsConnect({ host: resolved.host, port, servername: resolved.servername, ca: authority.certPem }, () => {
        const authorized = socket.authorized;
        // Read the server's greeting, so its side of the handshake has surely run too.
        socket.once('data', () => resolve(authorized));
      });
      socket.on('error', reject);
    });
    expect(verified).toBe(true);
    expect(presentedNames).toEqual([LONG_NAME]);
    // Without the name, the same certificate does not verify for the bare address.
    const refused = await new Promise<string>((resolve) => {
      const socket = tlsConnect({ host: resolved.host, port, ca: authority.certPem }, () => resolve('connected'));
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    expect(refused).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  } finally {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
});
