// Connection files: written private with distinct free ports, read back, refused with a clear code.
import { afterAll, describe, expect, test } from 'vitest';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { endpointOf, parseConnectionInfo, readConnectionFile, writeConnectionFile } from '../kernel/wire/connection-file';
import { WireError } from '../kernel/wire/errors';

const directories: string[] = [];
async function directory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wire-connection-test-'));
  directories.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(directories.map((dir) => rm(dir, { recursive: true, force: true })));
});

const valid = {
  transport: 'tcp',
  ip: '127.0.0.1',
  shell_port: 50001,
  control_port: 50002,
  stdin_port: 50003,
  iopub_port: 50004,
  hb_port: 50005,
  key: 'the-secret-key',
  signature_scheme: 'hmac-sha256',
  kernel_name: 'lakebase',
};

function codeOf(call: () => unknown): string | undefined {
  try {
    call();
  } catch (error) {
    return (error as WireError).code;
  }
  return undefined;
}

describe('writeConnectionFile', () => {
  test('writes five distinct ports and a random key, readable by its owner only, and reads back', async () => {
    const dir = await directory();
    const { path, connection } = await writeConnectionFile({ directory: dir, kernelName: 'lakebase' });
    const ports = [connection.shell_port, connection.control_port, connection.stdin_port, connection.iopub_port, connection.hb_port];
    expect(new Set(ports).size).toBe(5);
    expect(ports.every((port) => port > 0)).toBe(true);
    expect(connection.key).toMatch(/^[0-9a-f]{64}$/);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readConnectionFile(path)).toEqual(connection);
  });

  test('ipc: ports are socket file suffixes under the directory', async () => {
    const dir = await directory();
    const { connection } = await writeConnectionFile({ directory: dir, transport: 'ipc' });
    expect(connection.ip.startsWith(dir)).toBe(true);
    expect(endpointOf(connection, 'shell', 'connect')).toBe(`ipc://${connection.ip}-${connection.shell_port}`);
  });
});

describe('reading', () => {
  test('a missing signature scheme and transport take the jupyter_client defaults', () => {
    const { signature_scheme: _s, transport: _t, ...rest } = valid;
    expect(parseConnectionInfo(rest)).toMatchObject({ transport: 'tcp', signature_scheme: 'hmac-sha256' });
  });

  test('only hmac-sha256 is supported', () => {
    expect(codeOf(() => parseConnectionInfo({ ...valid, signature_scheme: 'hmac-md5' }))).toBe('SIGNATURE_SCHEME_UNSUPPORTED');
  });

  test('only tcp and ipc are supported', () => {
    expect(codeOf(() => parseConnectionInfo({ ...valid, transport: 'udp' }))).toBe('TRANSPORT_UNSUPPORTED');
  });

  test.each([
    ['a port out of range', { ...valid, hb_port: 70000 }],
    ['a port as text', { ...valid, shell_port: '50001' }],
    ['no ip', { ...valid, ip: '' }],
    ['a key that is not text', { ...valid, key: 42 }],
    ['not an object', [valid]],
  ])('%s is CONNECTION_FILE_INVALID', (_name, json) => {
    expect(codeOf(() => parseConnectionInfo(json))).toBe('CONNECTION_FILE_INVALID');
  });

  test('an unreadable or non-JSON file is CONNECTION_FILE_UNREADABLE and the message never quotes the key', async () => {
    const dir = await directory();
    const path = join(dir, 'broken.json');
    await writeFile(path, `{"key": "the-secret-key", `);
    const error = await readConnectionFile(path).catch((e: WireError) => e);
    expect(error).toMatchObject({ code: 'CONNECTION_FILE_UNREADABLE' });
    expect(String(error)).toContain(path);
    expect(String(error)).not.toContain('the-secret-key');
    await expect(readConnectionFile(join(dir, 'absent.json'))).rejects.toMatchObject({ code: 'CONNECTION_FILE_UNREADABLE' });
  });
});

describe('endpoints', () => {
  const connection = parseConnectionInfo(valid);
  test('tcp endpoints; port 0 binds any port', () => {
    expect(endpointOf(connection, 'iopub', 'connect')).toBe('tcp://127.0.0.1:50004');
    expect(endpointOf({ ...connection, hb_port: 0 }, 'hb', 'bind')).toBe('tcp://127.0.0.1:*');
  });
  test('IPv6 addresses are bracketed', () => {
    expect(endpointOf({ ...connection, ip: '::1' }, 'shell', 'connect')).toBe('tcp://[::1]:50001');
  });
});
