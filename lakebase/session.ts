// One SQL session: one PostgreSQL backend that runs a user's statements one at a time, in order,
// so that BEGIN in one cell and COMMIT in a later one work. Rows stream through a server-side
// cursor, so a page of a huge result costs a page of memory; an AbortSignal cancels the running
// statement on the server; a connection lost while idle is replaced on the next statement, and a
// transaction lost with it is reported rather than silently dropped.
import pg from 'pg';
import type { ClientConfig, FieldDef, QueryResult } from 'pg';
import Cursor from 'pg-cursor';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TLSSocket } from 'node:tls';
import type { ConnectionOptions } from 'node:tls';
import { isIP } from 'node:net';
import type { Column, CopySource, Notice, RunOptions, SqlSession, TransactionStatus } from './contracts';
import { copyDirectionOf } from './sql/copy';
import { LakebaseError, SQL_TEXT_ERRORS, SqlError, isDatabaseError, redactSecrets } from './errors';
import { ResultSet } from './result-set';
import { builtinTypeName } from './pg-types';

// ---------------------------------------------------------------------------------------------
// Error codes

/** Codes of the errors raised while connecting; stable, so callers (and docs) can match on them. */
export const CONNECTION_ERRORS = {
  /** Nothing listens at host:port (a stopped server or Lakebase instance). */
  refused: 'CONNECTION_REFUSED',
  /** The host name does not resolve. */
  hostNotFound: 'HOST_NOT_FOUND',
  /** The network has no route to the host. */
  unreachable: 'HOST_UNREACHABLE',
  /** No answer within the connect timeout. */
  timeout: 'CONNECTION_TIMEOUT',
  /** The server accepts TLS connections only (Lakebase does) and plain text was tried. */
  tlsRequired: 'TLS_REQUIRED',
  /** TLS was required and the server does not offer it. */
  tlsUnavailable: 'TLS_UNAVAILABLE',
  /** The server's certificate is not trusted (unknown CA, wrong host name, expired). */
  tlsCertificate: 'TLS_CERTIFICATE_REJECTED',
  /** The password (or Lakebase token) was refused. */
  authenticationFailed: 'AUTHENTICATION_FAILED',
  /** The server wants a password and none was given. */
  passwordRequired: 'PASSWORD_REQUIRED',
  /** The role (user) does not exist on the server. */
  roleNotFound: 'ROLE_NOT_FOUND',
  /** The database does not exist. */
  databaseNotFound: 'DATABASE_NOT_FOUND',
  /** pg_hba.conf has no line that lets this host/user/database in. */
  notAllowed: 'CONNECTION_NOT_ALLOWED',
  /** The server has no free connection slot. */
  tooManyConnections: 'TOO_MANY_CONNECTIONS',
  /** The server is starting up, shutting down or in recovery. */
  serverNotReady: 'SERVER_NOT_READY',
  /** The user interrupted while connecting. */
  cancelled: 'CONNECT_CANCELLED',
  /** Anything else; the cause says what. */
  failed: 'CONNECTION_FAILED',
} as const;

/** Codes of the errors a session raises after it connected. */
export const SESSION_ERRORS = {
  /** `run` after `close`. */
  closed: 'SESSION_CLOSED',
  /** The connection broke while a statement ran; the statement may or may not have taken effect. */
  connectionLost: 'CONNECTION_LOST',
  /** The connection broke while a transaction was open; the server rolled the transaction back. */
  transactionLost: 'TRANSACTION_LOST',
  /** The signal was already aborted when the statement's turn came: it was not sent. */
  notStarted: 'STATEMENT_NOT_STARTED',
  /** The statement ignored every cancel; the connection was given up to stop waiting for it. */
  cancelFailed: 'CANCEL_FAILED',
  /** `COPY ... FROM STDIN` / `TO STDOUT` ran without `copyIn` / `copyOut` to stream its data. */
  copyUnsupported: 'COPY_UNSUPPORTED',
  /** `copyIn` / `copyOut` given for a statement that is not that COPY, or COPY data that is not text or bytes. */
  copyMismatch: 'COPY_MISMATCH',
  /** The source of a COPY's data threw; the COPY was rolled back. */
  copySourceFailed: 'COPY_SOURCE_FAILED',
} as const;

/** SQLSTATE `query_canceled`: what a cancelled statement fails with. */
export const QUERY_CANCELED = '57014';

// ---------------------------------------------------------------------------------------------
// Tuning

/** Rows fetched per round trip are bounded by this many bytes (estimated)... */
const BATCH_BYTES = 8 * 1024 * 1024;
/** ...and by these counts: about what the measured sweet spot for pg-cursor is (design.md). */
const MIN_BATCH_ROWS = 100;
const MAX_BATCH_ROWS = 10_000;
/** First batch when every row is kept (`fetchAll`): rows of unknown width, start moderately. */
const FETCH_ALL_FIRST_BATCH_ROWS = 1_000;

export interface CancelTimeouts {
  /** After a cancel request, cancel again with `pg_cancel_backend` over a new connection. */
  sideCancelAfterMs: number;
  /** After that, give up the connection so the cell stops waiting (the server then ends the backend). */
  abandonAfterMs: number;
  /** How long a cancel request may take to be delivered. */
  requestTimeoutMs: number;
}

export const DEFAULT_CANCEL_TIMEOUTS: CancelTimeouts = {
  // A cancel request that reached PostgreSQL stops a statement in milliseconds; one that a proxy
  // swallowed without a word (nothing on the wire says so) needs the second path.
  sideCancelAfterMs: 1_000,
  abandonAfterMs: 10_000,
  requestTimeoutMs: 5_000,
};

// ---------------------------------------------------------------------------------------------
// Opening

export interface OpenSessionOptions {
  /**
   * How to connect. `password` may be an async function (called for every new connection, e.g. a
   * Lakebase token); `ssl` is passed to node's `tls.connect` unchanged.
   */
  config: ClientConfig;
  /** What to show the user: `user@host:port/database`. */
  description: string;
  /**
   * libpq's sslmode `prefer`/`allow`: the `ssl` setting to try once more with when the first
   * attempt fails at the transport level (the server offers no TLS, or accepts only TLS).
   */
  sslFallback?: ClientConfig['ssl'];
  /** Aborting stops the first connection attempt. */
  signal?: AbortSignal;
  /**
   * Explains a failed connection attempt (the raw error from node-postgres) to the user. Default
   * `connectionFailure`; a Lakebase instance connection passes its own, which knows the instance's
   * state, its roles and whose token was sent.
   */
  explainConnectError?: (error: unknown) => LakebaseError | Promise<LakebaseError>;
  cancelTimeouts?: Partial<CancelTimeouts>;
}

/** Connects (so a bad target fails now, with an actionable error) and returns the session. */
export async function openSession(options: OpenSessionOptions): Promise<LakebaseSession> {
  const session = new LakebaseSession(options);
  await session.connect(options.signal);
  return session;
}

// ---------------------------------------------------------------------------------------------
// The session

/**
 * - `disconnected`: no backend; the next statement connects (after reporting a lost transaction).
 * - `connecting`: a backend is being connected.
 * - `ready`: connected, nothing running.
 * - `running`: a statement is on the server.
 * - `closed`: final.
 */
export type SessionState = 'disconnected' | 'connecting' | 'ready' | 'running' | 'closed';

const TRANSITIONS: Readonly<Record<SessionState, readonly SessionState[]>> = {
  disconnected: ['connecting', 'closed'],
  connecting: ['ready', 'disconnected', 'closed'],
  ready: ['running', 'disconnected', 'closed'],
  running: ['ready', 'disconnected', 'closed'],
  closed: [],
};

export class LakebaseSession implements SqlSession {
  readonly description: string;
  readonly #config: ClientConfig;
  readonly #sslFallback: ClientConfig['ssl'] | undefined;
  readonly #cancelTimeouts: CancelTimeouts;
  readonly #explainConnectError: (error: unknown) => LakebaseError | Promise<LakebaseError>;
  #connecting: Promise<void> | undefined;
  #state: SessionState = 'disconnected';
  #backend: Backend | undefined;
  /** Set when the connection broke between statements while a transaction was open. */
  #lostTransaction: LakebaseError | undefined;
  /** Statements wait here for their turn, so concurrent callers still run one at a time, in order. */
  #queue: Promise<unknown> = Promise.resolve();
  #noticeSink: ((notice: Notice) => void) | undefined;
  /** Names of non-builtin types (enums, extensions), looked up once per session. */
  readonly #typeNames = new Map<number, string>();

  constructor(options: OpenSessionOptions) {
    this.description = options.description;
    this.#config = options.config;
    this.#sslFallback = options.sslFallback;
    this.#cancelTimeouts = { ...DEFAULT_CANCEL_TIMEOUTS, ...options.cancelTimeouts };
    this.#explainConnectError = options.explainConnectError ?? ((error) => connectionFailure(error, this.description));
  }

  get state(): SessionState {
    return this.#state;
  }

  /** The server process serving this session (`pg_backend_pid()`), while connected. */
  get backendPid(): number | undefined {
    return this.#backend?.pid;
  }

  /**
   * Whether this client's connection is TLS, as the client sees it (a server behind a TLS proxy,
   * as Lakebase instances are, cannot tell from `pg_stat_ssl`); undefined while not connected.
   */
  get encrypted(): boolean | undefined {
    const backend = this.#backend;
    if (backend === undefined) return undefined;
    return (backend.client as unknown as { connection: { stream: unknown } }).connection.stream instanceof TLSSocket;
  }

  get transactionStatus(): TransactionStatus {
    if (this.#lostTransaction !== undefined) return 'failed';
    const backend = this.#backend;
    if (backend === undefined || backend.lost) return 'idle';
    switch (backend.client.getTransactionStatus()) {
      case 'T':
        return 'in-transaction';
      case 'E':
        return 'failed';
      default:
        return 'idle';
    }
  }

  /** Connects now if not connected (`openSession` does this; `run` does it when needed). */
  connect(signal?: AbortSignal): Promise<void> {
    if (this.#state === 'ready' || this.#state === 'running') return Promise.resolve();
    if (this.#state === 'closed') return Promise.reject(closedError(this.description));
    this.#connecting ??= this.#connectNow(signal).finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #connectNow(signal: AbortSignal | undefined): Promise<void> {
    this.#moveTo('connecting');
    let backend: Backend;
    try {
      backend = await connectBackend(this.#config, this.#sslFallback, signal);
    } catch (error) {
      if (this.#state === 'connecting') this.#moveTo('disconnected');
      if (signal?.aborted) {
        throw new LakebaseError(CONNECTION_ERRORS.cancelled, `Connecting to ${this.description} was interrupted.`, { cause: error });
      }
      throw await this.#explainConnectError(error);
    }
    if (this.#state !== 'connecting') {
      // Closed while connecting: do not keep a backend nobody will close.
      await backend.end();
      throw closedError(this.description);
    }
    backend.onNotice = (notice) => this.#noticeSink?.(notice);
    backend.onLost = () => this.#backendLost(backend);
    this.#backend = backend;
    this.#moveTo('ready');
  }

  run(sql: string, options: RunOptions): Promise<ResultSet> {
    const turn = this.#queue.then(() => this.#runNow(sql, options));
    // The queue only orders statements; each caller gets its own outcome through `turn`.
    this.#queue = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    const backend = this.#backend;
    this.#moveTo('closed');
    this.#backend = undefined;
    this.#lostTransaction = undefined;
    // A running statement is interrupted: node-postgres destroys the socket when a query is active.
    await backend?.end();
  }

  async #runNow(sql: string, options: RunOptions): Promise<ResultSet> {
    if (this.#state === 'closed') throw closedError(this.description);
    if (options.signal?.aborted) {
      throw new LakebaseError(SESSION_ERRORS.notStarted, 'The statement was not run: it was interrupted before it started.');
    }
    const lost = this.#lostTransaction;
    if (lost !== undefined) {
      this.#lostTransaction = undefined;
      throw lost;
    }
    if (this.#state === 'disconnected') await this.connect(options.signal);
    const backend = this.#backend;
    if (backend === undefined || this.#state !== 'ready') throw closedError(this.description);

    this.#moveTo('running');
    this.#noticeSink = options.onNotice;
    const statusBefore = this.transactionStatus;
    let failed = false;
    try {
      const outcome = await runStatement(backend, sql, options, this.#cancelTimeouts);
      const columns = await this.#columnsOf(backend, outcome.fields);
      return new ResultSet({ ...outcome.result, columns });
    } catch (error) {
      failed = true;
      throw this.#statementFailed(backend, error, sql, statusBefore);
    } finally {
      this.#noticeSink = undefined;
      // `state`, not `#state`: TypeScript would keep the narrowing from before the awaits.
      if (this.state === 'running') {
        if (backend.lost) this.#dropBackend(backend, failed);
        else this.#moveTo('ready');
      }
    }
  }

  /**
   * The backend's connection is gone. Unless the failure of a statement already told the user,
   * a transaction that was open is reported by the next statement, which then reconnects.
   */
  #dropBackend(backend: Backend, alreadyReported: boolean): void {
    this.#backend = undefined;
    this.#moveTo('disconnected');
    const status = backend.statusAtLoss;
    if (!alreadyReported && (status === 'T' || status === 'E')) {
      this.#lostTransaction = new LakebaseError(
        SESSION_ERRORS.transactionLost,
        `The connection to ${this.description} was lost while a transaction was open: the server rolled it back, and nothing since BEGIN was committed.`,
        { hint: 'Run the transaction again from BEGIN; the next statement reconnects.', cause: backend.lossCause },
      );
    }
  }

  /** Turns what a statement threw into the error the user sees, and drops a broken backend. */
  #statementFailed(backend: Backend, error: unknown, sql: string, statusBefore: TransactionStatus): unknown {
    if (this.#state === 'closed') {
      return new LakebaseError(SESSION_ERRORS.closed, `The session ${this.description} was closed while the statement ran.`, {
        cause: error,
      });
    }
    if (isDatabaseError(error) && !isFatal(error)) return SqlError.fromDatabaseError(error, sql);
    if (error instanceof LakebaseError && !backend.lost) return error;
    // Anything else means the connection is gone, or in a state we cannot trust: drop it.
    backend.markLost(error);
    void backend.end();
    if (error instanceof LakebaseError) return error;
    const transaction =
      statusBefore === 'idle'
        ? 'It may or may not have taken effect.'
        : 'The open transaction was rolled back by the server; nothing since BEGIN was committed.';
    return new LakebaseError(
      SESSION_ERRORS.connectionLost,
      `The connection to ${this.description} was lost while the statement ran. ${transaction}`,
      { hint: 'The next statement reconnects.', cause: error },
    );
  }

  #backendLost(backend: Backend): void {
    // While a statement runs, its own outcome reports the loss (see `#runNow`).
    if (this.#backend === backend && this.#state === 'ready') this.#dropBackend(backend, false);
  }

  async #columnsOf(backend: Backend, fields: readonly FieldDef[]): Promise<Column[]> {
    const unknown = fields.map((field) => field.dataTypeID).filter((oid) => builtinTypeName(oid) === undefined && !this.#typeNames.has(oid));
    if (unknown.length > 0) await this.#lookUpTypeNames(backend, [...new Set(unknown)]);
    return fields.map((field) => ({
      name: field.name,
      typeOid: field.dataTypeID,
      typeName: builtinTypeName(field.dataTypeID) ?? this.#typeNames.get(field.dataTypeID) ?? 'unknown',
      tableOid: field.tableID,
      columnNumber: field.columnID,
    }));
  }

  /**
   * Names of types that are not builtin (enums, domains, extension types such as `vector`), from
   * the catalog. Skipped inside a failed transaction, where any query fails (and would not help).
   */
  async #lookUpTypeNames(backend: Backend, oids: number[]): Promise<void> {
    if (backend.lost || backend.client.getTransactionStatus() === 'E') return;
    const { rows } = await backend.client.query<[number, string]>({
      text: 'SELECT oid, typname FROM pg_catalog.pg_type WHERE oid = ANY($1::oid[])',
      values: [oids],
      rowMode: 'array',
    });
    for (const [oid, name] of rows) this.#typeNames.set(oid, name);
  }

  #moveTo(next: SessionState): void {
    if (!TRANSITIONS[this.#state].includes(next)) {
      throw new Error(`Bug: a session cannot go from "${this.#state}" to "${next}".`);
    }
    this.#state = next;
  }
}

function closedError(description: string): LakebaseError {
  return new LakebaseError(SESSION_ERRORS.closed, `The session ${description} is closed.`, {
    hint: 'Connect again to run more statements.',
  });
}

/** FATAL and PANIC end the backend: the error is the connection's end, not the statement's. */
function isFatal(error: Error & Record<string, unknown>): boolean {
  return error.severity === 'FATAL' || error.severity === 'PANIC';
}

// ---------------------------------------------------------------------------------------------
// A backend: one connected pg.Client and what we know about it

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

class Backend {
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
async function connectBackend(config: ClientConfig, sslFallback: ClientConfig['ssl'] | undefined, signal: AbortSignal | undefined): Promise<Backend> {
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

/**
 * Whether a failed attempt should be retried with the other transport (libpq's sslmode prefer and
 * allow): over TLS, the server offers no TLS or the handshake broke; over plain text, pg_hba.conf
 * accepts only encrypted connections ("... no encryption", SQLSTATE 28000).
 */
function isTransportRefusal(error: unknown, usedTls: boolean): boolean {
  if (usedTls) {
    if (isDatabaseError(error)) return false;
    const message = error instanceof Error ? error.message : '';
    const code = errorCode(error);
    return /does not support SSL|error establishing an SSL connection/i.test(message) || code === 'EPROTO' || code.startsWith('ERR_SSL');
  }
  return isDatabaseError(error) && error.code === '28000' && /pg_hba\.conf/.test(error.message);
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

const CERTIFICATE_ERROR_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * What a failed connection attempt means for the user, with a stable code and what to do next.
 * Errors that are already ours (e.g. from a password function minting a Lakebase token) pass through.
 * Exported so that instance connections can add their own context on top.
 */
export function connectionFailure(error: unknown, description: string): LakebaseError {
  if (error instanceof LakebaseError) return error;
  const fail = (code: string, message: string, hint?: string) =>
    new LakebaseError(code, `Could not connect to ${description}: ${message}`, { hint, cause: error });
  const message = error instanceof Error ? error.message : String(error);
  if (isDatabaseError(error)) {
    switch (error.code) {
      case '28P01':
        return fail(
          CONNECTION_ERRORS.authenticationFailed,
          redactSecrets(message),
          'Check the password. For Lakebase, the token must be minted for this same identity, and be unexpired at login.',
        );
      case '28000':
        if (/no encryption/i.test(message)) {
          return fail(CONNECTION_ERRORS.tlsRequired, 'the server accepts only TLS connections.', 'Connect with sslmode=require (or verify-full).');
        }
        if (/role .* does not exist/i.test(message)) {
          return fail(
            CONNECTION_ERRORS.roleNotFound,
            message,
            'Check the user name. On Lakebase, a role must be created for this identity first (the roles API, or databricks_create_role).',
          );
        }
        if (/authentication failed/i.test(message)) {
          return fail(CONNECTION_ERRORS.authenticationFailed, message, 'Check the password (for Lakebase: a token of this identity).');
        }
        return fail(CONNECTION_ERRORS.notAllowed, message, "The server's pg_hba.conf does not let this host, user and database in.");
      case '3D000':
        return fail(CONNECTION_ERRORS.databaseNotFound, message, 'Check the database name (Lakebase: databricks_postgres), or create it.');
      case '53300':
        return fail(CONNECTION_ERRORS.tooManyConnections, message, 'Close unused sessions, or wait for connections to be released.');
      case '57P03':
        return fail(CONNECTION_ERRORS.serverNotReady, message, 'The server is starting or stopping; try again in a moment.');
      default:
        return fail(CONNECTION_ERRORS.failed, `${message} (SQLSTATE ${error.code}).`);
    }
  }
  const code = errorCode(error);
  if (code === 'ECONNREFUSED') {
    return fail(
      CONNECTION_ERRORS.refused,
      'connection refused.',
      'Is the server running and listening there? A stopped Lakebase instance refuses connections: start it first.',
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') {
    return fail(CONNECTION_ERRORS.hostNotFound, 'the host name does not resolve.', 'Check the host name (for Lakebase, the instance\'s read_write_dns).');
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return fail(CONNECTION_ERRORS.unreachable, 'no route to the host.', 'Check the network (VPN, firewall) between here and the server.');
  }
  if (code === 'ETIMEDOUT' || /timeout expired|connection timeout/i.test(message)) {
    return fail(
      CONNECTION_ERRORS.timeout,
      'no answer within the connect timeout.',
      'Check the host and port, and any firewall; raise connect_timeout (PGCONNECT_TIMEOUT) for slow networks.',
    );
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || /terminated unexpectedly/i.test(message)) {
    return fail(
      CONNECTION_ERRORS.failed,
      'the connection was closed while logging in.',
      'Is the server up? A proxy or firewall in between may be dropping the connection.',
    );
  }
  if (/does not support SSL/i.test(message)) {
    return fail(CONNECTION_ERRORS.tlsUnavailable, 'the server does not offer TLS.', 'Use sslmode=prefer or disable for this server (Lakebase always offers TLS).');
  }
  if (CERTIFICATE_ERROR_CODES.has(code)) {
    return fail(
      CONNECTION_ERRORS.tlsCertificate,
      `the server's certificate is not trusted (${message}).`,
      'Point sslrootcert (PGSSLROOTCERT) at the CA certificate that signed it, or use sslmode=require to encrypt without verifying.',
    );
  }
  if (/password must be a string/i.test(message)) {
    return fail(
      CONNECTION_ERRORS.passwordRequired,
      'the server asks for a password and none was given.',
      'Set PGPASSWORD or a ~/.pgpass line; avoid typing passwords into a notebook, which saves them.',
    );
  }
  return fail(CONNECTION_ERRORS.failed, `${redactSecrets(message)}.`);
}

// ---------------------------------------------------------------------------------------------
// Running one statement

interface StatementOutcome {
  result: Omit<ConstructorParameters<typeof ResultSet>[0], 'columns'>;
  fields: FieldDef[];
}

type CursorRows = unknown[][];

/**
 * pg-cursor with three changes:
 * - rows past the ones to keep are counted, not parsed: a million-row result shown as one page
 *   then costs no values, Dates or arrays, only the protocol messages (issue 2: the kernel's
 *   memory must not grow with the result size);
 * - the whole command tag is kept (`CREATE TABLE`; node-postgres keeps only its first word);
 * - the two COPY sub-protocols are refused: node-postgres hands CopyInResponse and CopyData to the
 *   active query, and pg-cursor has no handler, which would throw inside the socket's data
 *   callback and take the process down.
 */
class StatementCursor extends Cursor<unknown[]> {
  copyRefused = false;
  /** Rows still to be parsed and handed over; later rows are only counted. */
  keepRemaining = Number.POSITIVE_INFINITY;
  countedRows = 0;
  /** Raw text of a few counted rows of the current batch, to size the next batch. */
  countedSample: unknown[][] = [];
  commandTag = '';

  handleDataRow(message: { fields: unknown[] }): void {
    if (this.keepRemaining > 0) {
      this.keepRemaining -= 1;
      cursorHandlers.handleDataRow.call(this, message);
      return;
    }
    this.countedRows += 1;
    if (this.countedSample.length < SIZE_SAMPLE_ROWS) this.countedSample.push(message.fields);
  }

  handleCommandComplete(message: { text: string }): void {
    this.commandTag = message.text;
    cursorHandlers.handleCommandComplete.call(this, message);
  }

  handleCopyInResponse(connection: { sendCopyFail(message: string): void }): void {
    this.copyRefused = true;
    connection.sendCopyFail('COPY FROM STDIN is not supported by this client');
  }

  handleCopyData(): void {
    // COPY TO STDOUT: the rows are read and dropped; the statement then fails with COPY_UNSUPPORTED.
    this.copyRefused = true;
  }
}

/** pg-cursor's protocol handlers, which its type declarations leave out. */
const cursorHandlers = Cursor.prototype as unknown as {
  handleDataRow(this: Cursor<unknown[]>, message: { fields: unknown[] }): void;
  handleCommandComplete(this: Cursor<unknown[]>, message: { text: string }): void;
};

/** Rows looked at to judge how wide the rows of a result are. */
const SIZE_SAMPLE_ROWS = 20;

/** `INSERT 0 3` → `INSERT`, `CREATE TABLE` → `CREATE TABLE`: the tag's words without its counts. */
function commandOf(tag: string): string {
  return tag.replace(/(?: \d+)+$/, '');
}

function copyUnsupported(cause?: unknown): LakebaseError {
  return new LakebaseError(SESSION_ERRORS.copyUnsupported, 'COPY ... FROM STDIN and COPY ... TO STDOUT need a data stream on the client, and none was given.', {
    hint: 'Run it with the data to send (copyIn) or a receiver for the rows (copyOut).',
    cause,
  });
}

function readBatch(cursor: StatementCursor, rows: number): Promise<{ rows: CursorRows; result: QueryResult }> {
  return new Promise((resolve, reject) => {
    cursor.read(rows, (error, batch, result) => (error ? reject(error) : resolve({ rows: batch, result })));
  });
}

/** How many rows to keep: all with `fetchAll` (or an infinite limit), else the display limit (0 if not a number). */
function rowsToKeep(options: RunOptions): number {
  if (options.fetchAll || options.displayLimit === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  return Number.isFinite(options.displayLimit) && options.displayLimit > 0 ? Math.floor(options.displayLimit) : 0;
}

async function runStatement(backend: Backend, sql: string, options: RunOptions, timeouts: CancelTimeouts): Promise<StatementOutcome> {
  if (options.copyIn !== undefined || options.copyOut !== undefined) return runCopy(backend, sql, options, timeouts);
  const keep = rowsToKeep(options);
  let cursor: StatementCursor;
  try {
    cursor = new StatementCursor(sql, options.params as unknown[] | undefined, { rowMode: 'array' });
    cursor.keepRemaining = keep;
  } catch (error) {
    // node-postgres serialises parameters in the constructor (e.g. JSON.stringify of an object).
    throw new LakebaseError(SQL_TEXT_ERRORS.parameterUnsupported, `A parameter value cannot be sent to PostgreSQL: ${error instanceof Error ? error.message : String(error)}`, {
      hint: 'Pass strings, numbers, booleans, dates, Buffers, arrays or JSON-serialisable objects.',
      cause: error,
    });
  }

  const readyBefore = backend.readyCount;
  const cancellation = new Cancellation(backend, timeouts);
  const onAbort = () => cancellation.request();
  const started = process.hrtime.bigint();
  const values: unknown[][] = [];
  let total = 0;
  let fields: FieldDef[] = [];
  let command = '';
  let tagCount: number | null = null;
  try {
    backend.client.query(cursor);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    // Asking for the first batch right away sends Execute together with Parse/Bind/Describe: one
    // round trip fewer for every statement, which is most of the cost of a small one.
    let batchSize = keep === Number.POSITIVE_INFINITY ? FETCH_ALL_FIRST_BATCH_ROWS : clamp(keep, MIN_BATCH_ROWS, MAX_BATCH_ROWS);
    for (;;) {
      cancellation.statementRunning = true;
      const countedBefore = cursor.countedRows;
      cursor.countedSample = [];
      const batch = await readBatch(cursor, batchSize);
      cancellation.statementRunning = false;
      fields = batch.result.fields;
      const received = batch.rows.length + cursor.countedRows - countedBefore;
      total += received;
      for (const row of batch.rows) values.push(row);
      if (received < batchSize) {
        command = commandOf(cursor.commandTag) || (batch.result.command ?? '');
        tagCount = batch.result.rowCount;
        break;
      }
      if (cancellation.requested) {
        // Interrupted between two batches: nothing runs on the server, so close the cursor here.
        await cancellation.settled();
        await cursor.close();
        throw canceledByUser(sql);
      }
      batchSize = nextBatchSize(batch.rows.length > 0 ? batch.rows : cursor.countedSample);
    }
    if (cursor.copyRefused) throw copyUnsupported();
  } catch (error) {
    const failure = await afterFailedStatement(backend, readyBefore, cancellation, error);
    throw cursor.copyRefused && failure === error ? copyUnsupported(error) : failure;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    cancellation.finish();
  }
  // A cancel that arrived as the statement finished must be delivered before the next statement
  // starts, or it could cancel that one instead.
  await cancellation.settled();
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  // Rows are counted here: a cursor's final tag counts only its last batch ("SELECT 50").
  const rowCount = fields.length > 0 ? total : tagCount;
  return {
    result: { statement: sql, command, values, rowCount, elapsedMs, displayLimit: options.displayLimit },
    fields,
  };
}

/**
 * `COPY ... FROM STDIN` and `COPY ... TO STDOUT`, through pg-copy-streams: the data is streamed
 * with back-pressure in either direction, so its size does not matter. A COPY that fails or is
 * cancelled midway writes nothing (it is one statement), and the session goes on.
 */
async function runCopy(backend: Backend, sql: string, options: RunOptions, timeouts: CancelTimeouts): Promise<StatementOutcome> {
  const direction = copyDirectionOf(sql);
  const expected = options.copyIn !== undefined ? 'from-stdin' : 'to-stdout';
  if (direction !== expected) {
    throw new LakebaseError(
      SESSION_ERRORS.copyMismatch,
      expected === 'from-stdin' ? 'Data for COPY was given, but the statement is not a COPY ... FROM STDIN.' : 'A COPY output was given, but the statement is not a COPY ... TO STDOUT.',
    );
  }
  const readyBefore = backend.readyCount;
  const cancellation = new Cancellation(backend, timeouts);
  let onAbort = () => cancellation.request();
  const started = process.hrtime.bigint();
  let rowCount: number;
  try {
    if (options.copyIn !== undefined) {
      const sink = backend.client.query(copyFrom(sql));
      // While it waits for data, a server does not act on a cancel request: the client ends a
      // COPY FROM STDIN with CopyFail, which destroying the sink sends. A source that fails does
      // the same through pipeline. Either way the server writes nothing.
      onAbort = () => sink.destroy(canceledByUser(sql));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      await pipeline(copyChunks(options.copyIn), sink);
      rowCount = sink.rowCount;
    } else {
      const source = backend.client.query(copyTo(sql));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      cancellation.statementRunning = true;
      for await (const chunk of source) options.copyOut!(chunk as Buffer);
      cancellation.statementRunning = false;
      rowCount = source.rowCount;
    }
  } catch (error) {
    throw await afterFailedStatement(backend, readyBefore, cancellation, error);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    cancellation.finish();
  }
  await cancellation.settled();
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  return { result: { statement: sql, command: 'COPY', values: [], rowCount, elapsedMs, displayLimit: options.displayLimit }, fields: [] };
}

/**
 * The chunks of a COPY source as Buffers. A chunk that is neither text nor bytes is refused with
 * what to pass instead; a source that throws is reported as such (the connection is fine).
 */
async function* copyChunks(source: CopySource): AsyncGenerator<Buffer> {
  const chunks: Iterable<unknown> | AsyncIterable<unknown> = typeof source === 'string' || source instanceof Uint8Array ? [source] : source;
  // A file stream can be read once: running the same cell again would copy nothing, silently.
  if (source instanceof Readable && (source.readableEnded || source.destroyed)) {
    throw new LakebaseError(SESSION_ERRORS.copyMismatch, 'The stream given for COPY has already been read to its end (or closed).', {
      hint: 'Create a new stream for each COPY, e.g. in the same cell: createReadStream(path).',
    });
  }
  try {
    for await (const chunk of chunks) {
      if (typeof chunk === 'string') yield Buffer.from(chunk, 'utf8');
      else if (chunk instanceof Uint8Array) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      else {
        throw new LakebaseError(SESSION_ERRORS.copyMismatch, `COPY data must be text or bytes; a chunk was ${chunk === null ? 'null' : typeof chunk}.`, {
          hint: 'Pass a string, a Buffer, an array or (async) iterable of them, or a readable stream such as fs.createReadStream(path).',
        });
      }
    }
  } catch (error) {
    if (error instanceof LakebaseError) throw error;
    throw new LakebaseError(SESSION_ERRORS.copySourceFailed, `Reading the data for COPY failed: ${error instanceof Error ? error.message : String(error)}`, {
      hint: 'The COPY was rolled back: nothing of it was written.',
      cause: error,
    });
  }
}

/** What a statement cancelled by its caller fails with, as the server would say it. */
function canceledByUser(statement: string): SqlError {
  return new SqlError({ sqlState: QUERY_CANCELED, severity: 'ERROR', message: 'canceling statement due to user request' }, { statement });
}

/**
 * What a failed statement throws, once its aftermath is settled: the ReadyForQuery that follows
 * an error has arrived (so `transactionStatus` already says "failed"), and every cancel sent has
 * been delivered. A statement that ignored its cancel has cost the connection.
 */
async function afterFailedStatement(backend: Backend, readyBefore: number, cancellation: Cancellation, error: unknown): Promise<unknown> {
  cancellation.statementRunning = false;
  await backend.readyAfter(readyBefore);
  await cancellation.settled();
  if (cancellation.abandoned) {
    return new LakebaseError(
      SESSION_ERRORS.cancelFailed,
      'The statement did not stop after being cancelled, so the connection was closed to stop waiting for it.',
      {
        hint: 'The server ends the statement when it notices; the next statement reconnects.',
        cause: cancellation.failure ?? backend.sideConnectionError ?? error,
      },
    );
  }
  return error;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

/** Rows for the next round trip: as many as fit in `BATCH_BYTES`, judged by the last batch. */
function nextBatchSize(rows: CursorRows): number {
  const sample = rows.slice(0, 20);
  const bytes = sample.reduce((sum, row) => sum + estimateRowBytes(row), 0) / Math.max(1, sample.length);
  return clamp(Math.floor(BATCH_BYTES / Math.max(1, bytes)), MIN_BATCH_ROWS, MAX_BATCH_ROWS);
}

function estimateRowBytes(row: unknown[]): number {
  let bytes = 16;
  for (const value of row) {
    bytes += 16;
    if (typeof value === 'string') bytes += value.length * 2;
    else if (Buffer.isBuffer(value)) bytes += value.length;
    else if (value !== null && typeof value === 'object' && !(value instanceof Date)) bytes += JSON.stringify(value)?.length ?? 0;
    else bytes += 8;
  }
  return bytes;
}

/**
 * Cancelling the running statement, escalating until it stops:
 * 1. a cancel request (the protocol's way, over a new connection to the same server);
 * 2. `pg_cancel_backend` from a second session, at once if the request could not be delivered,
 *    else after `sideCancelAfterMs` (a proxy may have dropped it without a word);
 * 3. after `abandonAfterMs`, the connection is given up so the cell stops waiting.
 */
class Cancellation {
  requested = false;
  /** True while a Parse/Execute is on the server (false between batches, when nothing runs). */
  statementRunning = false;
  abandoned = false;
  failure: unknown;
  #delivered: Promise<void> | undefined;
  readonly #timers: NodeJS.Timeout[] = [];
  #finished = false;

  constructor(
    private readonly backend: Backend,
    private readonly timeouts: CancelTimeouts,
  ) {}

  request(): void {
    if (this.requested || this.#finished) return;
    this.requested = true;
    if (!this.statementRunning) return; // between batches: the read loop stops by itself
    this.#delivered = this.backend.sendCancelRequest(this.timeouts.requestTimeoutMs).catch((error: unknown) => {
      this.failure = error;
      return this.#cancelFromSide();
    });
    this.#timers.push(
      setTimeout(() => void this.#cancelFromSide(), this.timeouts.sideCancelAfterMs),
      setTimeout(() => this.#abandon(), this.timeouts.abandonAfterMs),
    );
  }

  /** Resolves once every cancel sent has been delivered (or failed). */
  async settled(): Promise<void> {
    await this.#delivered;
  }

  /** The statement ended: no more escalation. */
  finish(): void {
    this.#finished = true;
    for (const timer of this.#timers) clearTimeout(timer);
  }

  #sideCancel: Promise<void> | undefined;

  #cancelFromSide(): Promise<void> {
    if (this.#finished) return Promise.resolve();
    this.#sideCancel ??= this.backend.cancelFromSideConnection().catch((error: unknown) => {
      this.failure = error;
    });
    return this.#sideCancel;
  }

  #abandon(): void {
    if (this.#finished) return;
    this.abandoned = true;
    this.backend.markLost(this.failure ?? new Error('The statement did not stop after being cancelled.'));
    this.backend.client.connection.stream.destroy();
  }
}
