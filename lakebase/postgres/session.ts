// One SQL session on PostgreSQL: one backend that runs a user's statements one at a time, in
// order, so that BEGIN in one cell and COMMIT in a later one work. Rows stream through a
// server-side cursor, so a page of a huge result costs a page of memory; an AbortSignal cancels
// the running statement on the server; a connection lost while idle is replaced on the next
// statement, and a transaction lost with it is reported rather than silently dropped.
//
// The parts: `backend.ts` (a connected client, cancel requests), `statement.ts` (running one
// statement, COPY, cancellation), `connect-errors.ts` (why connecting failed).
import type { ClientConfig, FieldDef } from 'pg';
import { TLSSocket } from 'node:tls';
import type { Column, Notice, RunOptions, SqlSession, TransactionStatus } from '../contracts';
import { LakebaseError, SqlError, isDatabaseError } from '../errors';
import { ResultSet } from '../result-set';
import { builtinTypeName } from '../pg-types';
import { SESSION_ERRORS, closedError } from '../session-errors';
import { Backend, connectBackend } from './backend';
import { CONNECTION_ERRORS, connectionFailure } from './connect-errors';
import { CancelTimeouts, DEFAULT_CANCEL_TIMEOUTS, runStatement } from './statement';

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
  /** What opened this session, for `openSibling` (without the first attempt's signal). */
  readonly #openOptions: Omit<OpenSessionOptions, 'signal'>;
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
    const { signal: _firstAttempt, ...openOptions } = options;
    this.#openOptions = openOptions;
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

  /** A new session like this one: same server, database, user and way of logging in. */
  async openSibling(signal?: AbortSignal): Promise<LakebaseSession> {
    if (this.#state === 'closed') throw closedError(this.description);
    return openSession({ ...this.#openOptions, signal });
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
      typeModifier: field.dataTypeModifier,
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

/** FATAL and PANIC end the backend: the error is the connection's end, not the statement's. */
function isFatal(error: Error & Record<string, unknown>): boolean {
  return error.severity === 'FATAL' || error.severity === 'PANIC';
}
