// The connection file: how a Jupyter client tells a kernel where to listen and how to sign.
// https://jupyter-client.readthedocs.io/en/stable/kernels.html#connection-files
//
// The file holds the HMAC key, so it is written readable by its owner only, and its contents never
// go into an error message or a log line (a `ConnectionInfo` logged as a field prints the key as
// `[redacted]`, see kernel/log.ts).
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WireError } from './errors';

export type Transport = 'tcp' | 'ipc';
/** The only scheme implemented: `hmac-md5` and others are refused, not silently accepted. */
export type SignatureScheme = 'hmac-sha256';
/** The five sockets of a kernel. */
export type SocketChannel = 'shell' | 'control' | 'stdin' | 'iopub' | 'hb';

export const SOCKET_CHANNELS: readonly SocketChannel[] = ['shell', 'control', 'stdin', 'iopub', 'hb'];

export interface ConnectionInfo {
  transport: Transport;
  /** tcp: the address to bind or connect to. ipc: the path prefix of the socket files. */
  ip: string;
  shell_port: number;
  control_port: number;
  stdin_port: number;
  iopub_port: number;
  hb_port: number;
  /** The HMAC key. Empty means messages are not signed (and not checked). */
  key: string;
  signature_scheme: SignatureScheme;
  kernel_name?: string;
}

const PORT_FIELDS = ['shell_port', 'control_port', 'stdin_port', 'iopub_port', 'hb_port'] as const;

/**
 * Validates parsed connection-file JSON. Ports may be 0 ("any free port": the wire binds one and
 * reports it); a file written by Jupyter always names real ports.
 * @param source where the JSON came from, for messages (a path; never the contents).
 */
export function parseConnectionInfo(json: unknown, source = 'the connection file'): ConnectionInfo {
  const invalid = (what: string) =>
    new WireError('CONNECTION_FILE_INVALID', `${source}: ${what}; it must be a Jupyter connection file`);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('not a JSON object');
  const file = json as Record<string, unknown>;

  const transport = file.transport ?? 'tcp';
  if (transport !== 'tcp' && transport !== 'ipc') {
    throw new WireError(
      'TRANSPORT_UNSUPPORTED',
      `${source}: transport ${JSON.stringify(transport)} is not supported; use "tcp" or "ipc"`,
    );
  }
  if (typeof file.ip !== 'string' || file.ip === '') throw invalid('"ip" must be a non-empty string');
  const ports = {} as Record<(typeof PORT_FIELDS)[number], number>;
  for (const field of PORT_FIELDS) {
    const port = file[field];
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
      throw invalid(`"${field}" must be a port number (0 to 65535)`);
    }
    ports[field] = port;
  }
  const key = file.key ?? '';
  if (typeof key !== 'string') throw invalid('"key" must be a string');
  // jupyter_client defaults the scheme to hmac-sha256 when the file names none.
  const scheme = file.signature_scheme ?? 'hmac-sha256';
  if (scheme !== 'hmac-sha256') {
    throw new WireError(
      'SIGNATURE_SCHEME_UNSUPPORTED',
      `${source}: signature_scheme ${JSON.stringify(scheme)} is not supported; this kernel signs with "hmac-sha256" only`,
    );
  }
  if (file.kernel_name !== undefined && typeof file.kernel_name !== 'string') {
    throw invalid('"kernel_name" must be a string');
  }
  return {
    transport,
    ip: file.ip,
    ...ports,
    key,
    signature_scheme: scheme,
    ...(file.kernel_name !== undefined ? { kernel_name: file.kernel_name as string } : {}),
  };
}

export async function readConnectionFile(path: string): Promise<ConnectionInfo> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new WireError('CONNECTION_FILE_UNREADABLE', `cannot read the connection file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // The parser's message may quote the file's text, which holds the key: say only where.
    throw new WireError('CONNECTION_FILE_UNREADABLE', `the connection file ${path} is not valid JSON`);
  }
  return parseConnectionInfo(json, `the connection file ${path}`);
}

export function portOf(connection: ConnectionInfo, channel: SocketChannel): number {
  return connection[`${channel}_port`];
}

/**
 * The ZeroMQ endpoint of one channel. For binding, port 0 becomes `*` (ZeroMQ picks a free port).
 * ipc endpoints are `ipc://<ip>-<port>`, as jupyter_client names them.
 */
export function endpointOf(connection: ConnectionInfo, channel: SocketChannel, mode: 'bind' | 'connect'): string {
  const port = portOf(connection, channel);
  if (connection.transport === 'ipc') return `ipc://${connection.ip}-${port}`;
  const host = connection.ip.includes(':') ? `[${connection.ip}]` : connection.ip;
  return `tcp://${host}:${mode === 'bind' && port === 0 ? '*' : port}`;
}

/** The port a bound endpoint ended up on (`tcp://127.0.0.1:41234` → 41234, `ipc://x-3` → 3). */
export function portOfEndpoint(endpoint: string): number {
  const match = /[:-](\d+)$/.exec(endpoint);
  if (!match) throw new WireError('SOCKET_FAILED', `cannot tell the port of the endpoint ${endpoint}`);
  return Number(match[1]);
}

export interface WriteConnectionFileOptions {
  /** Default: a new private temporary directory. */
  directory?: string;
  transport?: Transport;
  /** Default `127.0.0.1`; for ipc, default is a path prefix inside `directory`. */
  ip?: string;
  /** Default: 32 random bytes, hex. Pass `''` for an unsigned session. */
  key?: string;
  kernelName?: string;
}

/**
 * Writes a connection file for a kernel this process is about to start, with five free ports.
 * The ports are found by binding port 0 and releasing it, as jupyter_client does: another process
 * could take one in between, which a kernel reports as a bind failure.
 */
export async function writeConnectionFile(
  options: WriteConnectionFileOptions = {},
): Promise<{ path: string; connection: ConnectionInfo }> {
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'lakebase-kernel-')));
  const transport = options.transport ?? 'tcp';
  const ip = options.ip ?? (transport === 'tcp' ? '127.0.0.1' : join(directory, 'kernel-ipc'));
  const ports = transport === 'tcp' ? await freeTcpPorts(ip, PORT_FIELDS.length) : freeIpcPorts(ip, PORT_FIELDS.length);
  const connection: ConnectionInfo = {
    transport,
    ip,
    shell_port: ports[0],
    control_port: ports[1],
    stdin_port: ports[2],
    iopub_port: ports[3],
    hb_port: ports[4],
    key: options.key ?? randomBytes(32).toString('hex'),
    signature_scheme: 'hmac-sha256',
    ...(options.kernelName !== undefined ? { kernel_name: options.kernelName } : {}),
  };
  const path = join(directory, `kernel-${randomUUID()}.json`);
  await writeFile(path, `${JSON.stringify(connection, null, 2)}\n`, { mode: 0o600 });
  return { path, connection };
}

/** Holds all listeners open until each has a port, so that the ports are distinct. */
async function freeTcpPorts(ip: string, count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          server.once('error', reject);
          server.listen(0, ip, () => {
            const address = server.address();
            resolve(typeof address === 'object' && address ? address.port : 0);
          });
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

/** ipc "ports" are suffixes of socket file names: take the first ones with no file yet. */
function freeIpcPorts(ip: string, count: number): number[] {
  const ports: number[] = [];
  for (let port = 1; ports.length < count; port++) {
    if (!existsSync(`${ip}-${port}`)) ports.push(port);
  }
  return ports;
}
