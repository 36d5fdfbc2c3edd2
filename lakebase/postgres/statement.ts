// Running one statement on a backend: rows streamed through a server-side cursor (only the rows
// to keep are parsed), COPY in either direction through pg-copy-streams, and cancellation that
// escalates until the statement stops.
import type { FieldDef, QueryResult } from 'pg';
import Cursor from 'pg-cursor';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CopySource, RunOptions } from '../contracts';
import { copyDirectionOf } from '../sql/copy';
import { LakebaseError, SQL_TEXT_ERRORS, SqlError } from '../errors';
import type { ResultSet } from '../result-set';
import { SESSION_ERRORS } from '../session-errors';
import type { Backend } from './backend';

/** SQLSTATE `query_canceled`: what a cancelled statement fails with. */
export const QUERY_CANCELED = '57014';

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


export interface StatementOutcome {
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

export async function runStatement(backend: Backend, sql: string, options: RunOptions, timeouts: CancelTimeouts): Promise<StatementOutcome> {
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
      for await (const chunk of source) {
        const received = options.copyOut!(chunk as Buffer);
        if (received instanceof Promise) await received;
      }
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
