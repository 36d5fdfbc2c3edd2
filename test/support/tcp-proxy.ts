// A TCP proxy in front of a PostgreSQL server (or any TCP server: a warehouse's HTTPS endpoint),
// for faults that a server alone does not produce: a network that drops every connection at once,
// one that stops carrying anything without closing a connection, and a middlebox that swallows
// cancel requests (the PostgreSQL protocol's CancelRequest goes over a connection of its own).
// Real sockets.
import { createServer, Server, Socket, connect } from 'node:net';

/** Startup-packet codes (PostgreSQL protocol, "CancelRequest" and "SSLRequest"). */
const CANCEL_REQUEST_CODE = 80877102;
const SSL_REQUEST_CODE = 80877103;

export interface TcpProxyOptions {
  targetHost: string;
  targetPort: number;
  /**
   * What to do with a cancel request: pass it on (default); reset its connection (the client sees
   * an error); or swallow it (close the connection as a server does after a cancel, without
   * passing it on: the client cannot tell).
   */
  cancelRequests?: 'forward' | 'reset' | 'swallow';
}

export interface TcpProxy {
  readonly host: string;
  readonly port: number;
  /** Connections that were not plain-text cancel requests (sessions, side sessions, anything over TLS). */
  readonly sessions: number;
  /** Plain-text cancel requests (one over TLS cannot be told from a session, and counts in `tlsConnections`). */
  readonly cancelRequests: number;
  /** Connections that began with an SSLRequest. */
  readonly tlsConnections: number;
  /** When false, new session connections are reset (an unreachable server); default true. */
  acceptSessions: boolean;
  /**
   * While true, nothing passes either way, on open connections and new ones, and nothing is
   * closed: a server or network that stops answering. Set back to false, what was held goes on.
   */
  stalled: boolean;
  /** Destroys every open connection, as a network failure would. */
  dropAll(): void;
  stop(): Promise<void>;
}

export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const open = new Set<Socket>();
  const counts = { sessions: 0, cancelRequests: 0, tlsConnections: 0 };
  const track = (socket: Socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    // A reset peer is part of what this proxy is for; it must not crash the test process.
    socket.on('error', () => socket.destroy());
  };
  // Chunks held while stalled, in the order they came, to be passed on when it ends.
  let stalled = false;
  const held: (() => void)[] = [];
  const relay = (chunk: Buffer, to: Socket) => {
    if (stalled) held.push(() => to.write(chunk));
    else to.write(chunk);
  };
  const server: Server = createServer((client) => {
    track(client);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (head.length < 8) return;
      client.off('data', onData);
      client.pause();
      const isCancel = head.readInt32BE(0) === 16 && head.readInt32BE(4) === CANCEL_REQUEST_CODE;
      if (isCancel) counts.cancelRequests++;
      else counts.sessions++;
      if (head.readInt32BE(0) === 8 && head.readInt32BE(4) === SSL_REQUEST_CODE) counts.tlsConnections++;
      if ((isCancel && options.cancelRequests === 'reset') || (!isCancel && !proxy.acceptSessions)) {
        client.resetAndDestroy();
        return;
      }
      if (isCancel && options.cancelRequests === 'swallow') {
        client.end();
        return;
      }
      const upstream = connect(options.targetPort, options.targetHost);
      track(upstream);
      relay(head, upstream);
      client.on('data', (chunk: Buffer) => relay(chunk, upstream));
      upstream.on('data', (chunk: Buffer) => relay(chunk, client));
      client.resume();
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('The proxy has no TCP address.');
  const proxy: TcpProxy = {
    acceptSessions: true,
    get stalled() {
      return stalled;
    },
    set stalled(value: boolean) {
      stalled = value;
      if (!value) for (const pass of held.splice(0)) pass();
    },
    host: '127.0.0.1',
    port: address.port,
    get sessions() {
      return counts.sessions;
    },
    get cancelRequests() {
      return counts.cancelRequests;
    },
    get tlsConnections() {
      return counts.tlsConnections;
    },
    dropAll() {
      for (const socket of open) socket.destroy();
    },
    async stop() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
