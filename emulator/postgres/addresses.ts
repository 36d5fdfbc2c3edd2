// Where each emulated instance listens. Real Lakebase gives every instance its own host name on
// port 5432, and code written for it hard-codes 5432; so each emulated instance gets its own
// loopback address and keeps port 5432. On Linux the whole 127.0.0.0/8 block is loopback with no
// set-up; on macOS only 127.0.0.1 exists unless aliases are added (`ifconfig lo0 alias …`), so the
// fallback there is 127.0.0.1 with a port per instance (`allocateInstanceEndpoint`).
import { createServer } from 'node:net';
import { InstanceServerError } from './errors';

export const LAKEBASE_POSTGRES_PORT = 5432;

/** How many taken addresses to step over before giving up: a machine full of servers, not bad luck. */
const MAX_PROBES = 256;
/** 127.0.1.1 … 127.0.254.254: never 127.0.0.x (127.0.0.1 is everybody's localhost). */
const THIRD_OCTETS = 254;
const FOURTH_OCTETS = 254;

/**
 * A loopback address 127.0.x.y (never in 127.0.0.0/24) on which `port` is free, skipping `inUse`.
 * The search starts at a random place so that emulators running side by side (parallel test
 * workers) rarely probe the same address at the same moment; the caller should still treat
 * ADDRESS_IN_USE from `InstanceServer.start` as "allocate again".
 * Throws LOOPBACK_ALIASES_UNAVAILABLE where the OS has no such addresses (see the file comment).
 */
export async function allocateLoopbackAddress(inUse: ReadonlySet<string>, port: number = LAKEBASE_POSTGRES_PORT): Promise<string> {
  const total = THIRD_OCTETS * FOURTH_OCTETS;
  const start = Math.floor(Math.random() * total);
  let probes = 0;
  for (let step = 0; step < total && probes < MAX_PROBES; step++) {
    const index = (start + step) % total;
    const address = `127.0.${1 + Math.floor(index / FOURTH_OCTETS)}.${1 + (index % FOURTH_OCTETS)}`;
    if (inUse.has(address)) continue;
    probes++;
    const outcome = await probe(address, port);
    if (outcome === 'free') return address;
    if (outcome === 'unavailable') {
      throw new InstanceServerError(
        'LOOPBACK_ALIASES_UNAVAILABLE',
        `This machine cannot bind ${address}: only 127.0.0.1 is a loopback address here. ` +
          'Use allocateInstanceEndpoint, which falls back to 127.0.0.1 with a port per instance.',
      );
    }
  }
  throw new InstanceServerError(
    'NO_FREE_ADDRESS',
    `Port ${port} is taken on ${probes} loopback addresses in a row. Is another PostgreSQL listening on all addresses (0.0.0.0:${port})? ` +
      'Stop it or make it listen on 127.0.0.1 only.',
  );
}

export interface InstanceEndpoint {
  address: string;
  port: number;
  /** `own-address`: its own 127.x.y.z on port 5432, as on real Lakebase; `shared-address`: 127.0.0.1, a port of its own. */
  kind: 'own-address' | 'shared-address';
}

/**
 * Like `allocateLoopbackAddress`, but where loopback aliases do not exist (macOS) falls back to
 * 127.0.0.1 with a free port. Code that hard-codes port 5432 then fails against the emulator,
 * which is why the address form is preferred wherever it works.
 */
export async function allocateInstanceEndpoint(inUse: ReadonlySet<string>, port: number = LAKEBASE_POSTGRES_PORT): Promise<InstanceEndpoint> {
  try {
    return { address: await allocateLoopbackAddress(inUse, port), port, kind: 'own-address' };
  } catch (error) {
    if (!(error instanceof InstanceServerError) || error.code !== 'LOOPBACK_ALIASES_UNAVAILABLE') throw error;
    return { address: '127.0.0.1', port: await freePort('127.0.0.1'), kind: 'shared-address' };
  }
}

type ProbeOutcome = 'free' | 'taken' | 'unavailable';

async function probe(address: string, port: number): Promise<ProbeOutcome> {
  return new Promise<ProbeOutcome>((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve('taken');
      else if (error.code === 'EADDRNOTAVAIL') resolve('unavailable');
      else reject(new InstanceServerError('ADDRESS_UNAVAILABLE', `Cannot probe ${address}:${port}: ${error.message}`, { cause: error }));
    });
    server.listen({ host: address, port, exclusive: true }, () => server.close(() => resolve('free')));
  });
}

async function freePort(address: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: address, port: 0, exclusive: true }, () => {
      const bound = server.address();
      server.close(() => (bound && typeof bound === 'object' ? resolve(bound.port) : reject(new Error('no port was bound'))));
    });
  });
}
