// The resolver fallback for instance host names (lakebase.md: macOS resolver trouble with long
// names): a real DNS responder on loopback knows a name that the system resolver cannot resolve.
import { afterAll, beforeAll, expect, test } from 'vitest';
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
