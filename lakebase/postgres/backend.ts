// A backend: one connected node-postgres client, what we know about it (transaction status when
// it was lost, ReadyForQuery count), and the two ways to cancel what it runs. Connecting lives
// here too, with libpq's transport fallback for sslmode prefer and allow.
import pg from 'pg';
import type { ClientConfig } from 'pg';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { Notice } from '../contracts';
import { isTransportRefusal } from './connect-errors';


/** Fields node-postgres sets from BackendKeyData, missing from its type declarations. */
interface CancelKeys {
  processID: number | null;
  secretKey: number | null;
}

/** The parts of node-postgres' `Connection` used for a cancel request (not all are in @types/pg). */
interface CancelConnection {
  readonly stream: { destroy(error?: Error): void };
  on(event: 'connect' | 'sslconnect' | 'end', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  connect(portOrPath: number | string, host?: string): void;
  requestSsl(): void;
  cancel(processID: number, secretKey: number): void;
}
type CancelConnectionClass = new (config: { ssl?: ClientConfig['ssl']; sslNegotiation?: string }) => CancelConnection;

export class Backend {
  onNotice: ((notice: Notice) => void) | undefined;
  onLost: (() => void) | undefined;
  lost = false;
  lossCause: unknown;
  /** Transaction status when the connection was lost (`I`, `T`, `E`). */
  statusAtLoss: string | null = null;
  /** Counts ReadyForQuery messages: after an error, the next one carries the new transaction status. */
  readyCount = 0;
  /** The last error event of a side connection used for `pg_cancel_backend`, for diagnosis. */
  sideConnectionError: unknown;
  readonly #readyWaiters = new Set<() => void>();

  constructor(
    readonly client: pg.Client,
    readonly config: ClientConfig,
    /** `pg_backend_pid()`: the real backend, even behind a proxy that rewrites BackendKeyData. */
    readonly pid: number,
  ) {
    client.on('notice', (message) => {
      this.onNotice?.({
        severity: message.severity ?? 'NOTICE',
        message: message.message ?? '',
        ...(message.detail ? { detail: message.detail } : {}),
        ...(message.hint ? { hint: message.hint } : {}),
      });
    });
    client.connection.on('readyForQuery', () => {
      this.readyCount++;
      this.#wakeWaiters();
    });
    // Without an 'error' listener, a server that ends an idle session would crash the process.
    client.on('error', (error) => this.markLost(error));
    client.on('end', () => this.markLost(new Error('The server closed the connection.')));
  }

  markLost(cause: unknown): void {
    if (this.lost) return;
    this.lost = true;
    this.lossCause = cause;
    this.statusAtLoss = this.client.getTransactionStatus();
    this.#wakeWaiters();
    this.onLost?.();
  }

  /** Resolves once a ReadyForQuery after `count` arrived, or the connection is gone. */
  readyAfter(count: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.lost || this.readyCount > count) {
          this.#readyWaiters.delete(check);
          resolve();
        }
      };
      this.#readyWaiters.add(check);
      check();
    });
  }

  #wakeWaiters(): void {
    for (const waiter of [...this.#readyWaiters]) waiter();
  }

  /**
   * A PostgreSQL cancel request (protocol "CancelRequest") for whatever this backend runs, sent
   * the way the session itself connected: to the same address, over TLS when the session uses TLS
   * (PostgreSQL 17's libpq does the same; proxies that route by TLS SNI need it). Resolves when
   * the server closed the request's connection, which it does after signalling the backend.
   */
  sendCancelRequest(timeoutMs: number): Promise<void> {
    const keys = this.client as unknown as CancelKeys;
    const { processID, secretKey } = keys;
    if (processID === null || secretKey === null) {
      return Promise.reject(new Error('The server sent no cancel key for this session.'));
    }
    // What node-postgres resolved (config, else PG* variables, else defaults), as the session used.
    const { host, port } = this.client;
    const ssl = this.client.ssl as ClientConfig['ssl'];
    const socket = this.client.connection.stream as unknown as { remoteAddress?: string };
    // The same server as the session's, even when the name resolves to several addresses; the
    // name still goes to TLS, for SNI and the certificate check.
    const address = socket.remoteAddress ?? host;
    let tls: ConnectionOptions | false = false;
    if (ssl) {
      tls = { ...(ssl === true ? {} : ssl) };
      // node-postgres hides a client key as non-enumerable, so the spread above leaves it out.
      if (ssl !== true && 'key' in ssl) Object.defineProperty(tls, 'key', { value: ssl.key, enumerable: false });
      if (isIP(host) === 0 && tls.servername === undefined) tls.servername = host;
    }
    const ConnectionClass = (pg as unknown as { Connection: CancelConnectionClass }).Connection;
    const connection = new ConnectionClass({ ssl: tls, sslNegotiation: this.config.sslnegotiation });
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        connection.stream.destroy();
        reject(new Error(`The cancel request got no answer within ${timeoutMs} ms.`));
      }, timeoutMs);
      const finish = (error?: Error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      connection.on('connect', () => {
        if (!tls) connection.cancel(processID, secretKey);
        else if (this.config.sslnegotiation !== 'direct') connection.requestSsl();
      });
      connection.on('sslconnect', () => connection.cancel(processID, secretKey));
      connection.on('end', () => finish());
      connection.on('error', (error) => finish(error));
      if (host.startsWith('/')) connection.connect(`${host}/.s.PGSQL.${port}`);
      else connection.connect(port, address);
    });
  }

  /** `pg_cancel_backend` from a short-lived second session: for when the cancel request cannot get through. */
  async cancelFromSideConnection(): Promise<void> {
    const side = new pg.Client({ ...this.config, application_name: `${this.config.application_name ?? 'lakebase-kernel'} (cancel)` });
    // Errors of this one-query session reach the caller through connect/query; an 'error' event
    // without a listener would crash the process, so it is kept for the record instead.
    side.on('error', (error) => {
      this.sideConnectionError = error;
    });
    try {
      await side.connect();
      await side.query('SELECT pg_catalog.pg_cancel_backend($1)', [this.pid]);
    } finally {
      await side.end();
    }
  }

  async end(): Promise<void> {
    this.lost = true;
    this.#wakeWaiters();
    await this.client.end();
  }
}

/** Connects, once more with `sslFallback` after a transport refusal; errors are node-postgres' own. */
export async function connectBackend(config: ClientConfig, sslFallback: ClientConfig['ssl'] | undefined, signal: AbortSignal | undefined): Promise<Backend> {
  try {
    return await connectOnce(config, signal);
  } catch (error) {
    if (sslFallback === undefined || signal?.aborted || !isTransportRefusal(error, Boolean(config.ssl))) throw error;
    return await connectOnce({ ...config, ssl: sslFallback }, signal);
  }
}

async function connectOnce(config: ClientConfig, signal: AbortSignal | undefined): Promise<Backend> {
  // `fallback_application_name`: a name the user set (or PGAPPNAME) still wins.
  const client = new pg.Client({ fallback_application_name: 'lakebase-kernel', ...config });
  const connectError: { error?: unknown } = {};
  client.on('error', (error) => {
    // Connection errors reach `connect()`'s rejection; this keeps a late one from crashing the process.
    connectError.error = error;
  });
  const abort = () => client.connection.stream.destroy(new Error('The connection attempt was interrupted.'));
  signal?.addEventListener('abort', abort, { once: true });
  try {
    await client.connect();
    const { rows } = await client.query<[number]>({ text: 'SELECT pg_catalog.pg_backend_pid()', rowMode: 'array' });
    client.removeAllListeners('error');
    return new Backend(client, config, rows[0][0]);
  } catch (error) {
    await client.end().catch((endError: unknown) => {
      // Ending a client whose connection already failed can fail too; the first error is the story.
      connectError.error ??= endError;
    });
    throw error;
  } finally {
    signal?.removeEventListener('abort', abort);
  }
}
