// The emulator's CA: created once, kept on disk, reused; it issues server certificates that Node's
// X.509 and TLS checks accept for the instance address and reject for anything else.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { loadOrCreateAuthority } from '../emulator/postgres/authority';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'lakebase-test-ca-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

test('is created on first use and reused afterwards, the key readable by its owner only', async () => {
  const dir = join(root, 'ca');
  const first = await loadOrCreateAuthority(dir);
  const second = await loadOrCreateAuthority(dir);
  expect(second.certPem).toBe(first.certPem);
  expect(first.certPath).toBe(join(dir, 'ca.crt'));
  expect(await readFile(first.certPath, 'utf8')).toBe(first.certPem);
  expect((await stat(join(dir, 'ca.key'))).mode & 0o777).toBe(0o600);
  const ca = new X509Certificate(first.certPem);
  expect(ca.ca).toBe(true);
  expect(ca.subject).toContain('CN=Lakebase Emulator Local CA');
  expect(ca.verify(ca.publicKey)).toBe(true);
});

test('two processes creating it at once end up with one CA', async () => {
  const dir = join(root, 'ca');
  const authorities = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateAuthority(dir)));
  expect(new Set(authorities.map((authority) => authority.certPem)).size).toBe(1);
});

test('issues server certificates that chain to it and name the instance address', async () => {
  const authority = await loadOrCreateAuthority(join(root, 'ca'));
  const { certPem, keyPem } = authority.issueServerCertificate({ dnsNames: ['instance-1.lakebase.local'], ipAddresses: ['127.0.3.7'] });
  const ca = new X509Certificate(authority.certPem);
  const server = new X509Certificate(certPem);
  expect(server.verify(ca.publicKey)).toBe(true);
  expect(server.checkIssued(ca)).toBe(true);
  expect(server.ca).toBe(false);
  expect(server.checkIP('127.0.3.7')).toBe('127.0.3.7');
  expect(server.checkIP('127.0.3.8')).toBeUndefined();
  expect(server.checkHost('instance-1.lakebase.local')).toBe('instance-1.lakebase.local');
  expect(server.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
  expect(server.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // serverAuth
  expect(Date.parse(server.validFrom)).toBeLessThanOrEqual(Date.now());
});

test('each certificate has its own key and serial number', async () => {
  const authority = await loadOrCreateAuthority(join(root, 'ca'));
  const a = authority.issueServerCertificate({ dnsNames: [], ipAddresses: ['127.0.1.1'] });
  const b = authority.issueServerCertificate({ dnsNames: [], ipAddresses: ['127.0.1.1'] });
  expect(a.keyPem).not.toBe(b.keyPem);
  expect(new X509Certificate(a.certPem).serialNumber).not.toBe(new X509Certificate(b.certPem).serialNumber);
});

test('refuses names that are not IP addresses in ipAddresses, and an empty request', async () => {
  const authority = await loadOrCreateAuthority(join(root, 'ca'));
  expect(() => authority.issueServerCertificate({ dnsNames: [], ipAddresses: ['localhost'] })).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }));
  expect(() => authority.issueServerCertificate({ dnsNames: [], ipAddresses: [] })).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }));
});

test('keeps its private key out of inspect and JSON', async () => {
  const dir = join(root, 'ca');
  const authority = await loadOrCreateAuthority(dir);
  const keyBody = (await readFile(join(dir, 'ca.key'), 'utf8')).split('\n')[1];
  expect(inspect(authority, { showHidden: true, depth: 5 })).not.toContain(keyBody);
  expect(JSON.stringify(authority)).not.toContain(keyBody);
});

test('a CA directory with a missing or foreign key is AUTHORITY_UNREADABLE, naming the fix', async () => {
  const dir = join(root, 'ca');
  await loadOrCreateAuthority(dir);
  const other = await loadOrCreateAuthority(join(root, 'other'));
  await writeFile(join(dir, 'ca.key'), await readFile(join(root, 'other', 'ca.key')));
  expect(other.certPem).not.toBe(await readFile(join(dir, 'ca.crt'), 'utf8'));
  await expect(loadOrCreateAuthority(dir)).rejects.toMatchObject({ code: 'AUTHORITY_UNREADABLE', message: expect.stringContaining(`Delete the directory ${dir}`) });
  await rm(join(dir, 'ca.key'));
  await expect(loadOrCreateAuthority(dir)).rejects.toMatchObject({ code: 'AUTHORITY_UNREADABLE', message: expect.stringContaining('ca.key is missing') });
});
