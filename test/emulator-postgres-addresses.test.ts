// Loopback addresses for instances: 127.0.x.y outside 127.0.0.0/24, free on the Lakebase port,
// never one the emulator already gave away.
import { createServer, Server } from 'node:net';
import { afterEach, expect, test, vi } from 'vitest';
import { allocateInstanceEndpoint, allocateLoopbackAddress } from '../emulator/postgres/addresses';

const listeners: Server[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(listeners.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function occupy(host: string, port: number): Promise<number> {
  const server = createServer();
  listeners.push(server);
  await new Promise<void>((resolve) => server.listen({ host, port }, resolve));
  return (server.address() as { port: number }).port;
}

test('gives a 127.0.x.y address outside 127.0.0.0/24', async () => {
  const address = await allocateLoopbackAddress(new Set());
  expect(address).toMatch(/^127\.0\.([1-9]\d*)\.([1-9]\d*)$/);
});

test('steps over addresses in use and addresses whose port is taken', async () => {
  // Math.random() = 0 makes the search start at the first candidate, 127.0.1.1.
  vi.spyOn(Math, 'random').mockReturnValue(0);
  const port = await occupy('127.0.1.2', 0);
  expect(await allocateLoopbackAddress(new Set(['127.0.1.1']), port)).toBe('127.0.1.3');
  expect(await allocateLoopbackAddress(new Set(), port)).toBe('127.0.1.1');
});

test('wraps around the end of the range', async () => {
  vi.spyOn(Math, 'random').mockReturnValue(0.9999999);
  expect(await allocateLoopbackAddress(new Set(['127.0.254.254']))).toBe('127.0.1.1');
});

test('says what is wrong when the port is taken on every address (a server on 0.0.0.0)', async () => {
  const port = await occupy('0.0.0.0', 0);
  await expect(allocateLoopbackAddress(new Set(), port)).rejects.toMatchObject({ code: 'NO_FREE_ADDRESS', message: expect.stringContaining(`0.0.0.0:${port}`) });
});

test('allocateInstanceEndpoint prefers an address of its own on the given port', async () => {
  const endpoint = await allocateInstanceEndpoint(new Set());
  expect(endpoint).toEqual({ address: expect.stringMatching(/^127\.0\.[1-9]/), port: 5432, kind: 'own-address' });
});
