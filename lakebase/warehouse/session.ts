// A session on a Databricks SQL warehouse, through the official driver `@databricks/sql` (Thrift
// over HTTPS), behind the same `SqlSession` contract as a PostgreSQL session: statements one at a
// time, in order; results as `ResultSet`s that render the same; interrupts cancel the statement on
// the warehouse (`CancelOperation`) and end it at once, without waiting for what the warehouse
// still sends (or never sends: a warehouse or network that hangs must not hold the cell).
//
// Results arrive as Arrow record batches. Only the rows to show (the display limit) are turned
// into JavaScript values; the batches after them are counted by the row counts the warehouse
// sends, without being decoded, so a huge result costs a page of memory. With `fetchAll` (for
// `--into`) every row is kept, and `toArrow()` hands over the Arrow table itself.
//
// The raw batches are read through the driver's own result handler (`getResultHandler()`, its
// "Thrift-only compatibility hook"), whose inner source yields `{ batches: [schema, ...batches],
// rowCount }` for inline Arrow and cloud-fetch results alike; a driver whose shape differs is
// refused with a clear error rather than read wrongly.
import * as arrow from 'apache-arrow';
import { DBSQLClient } from '@databricks/sql';
import type IDBSQLSession from '@databricks/sql/dist/contracts/IDBSQLSession';
import type IOperation from '@databricks/sql/dist/contracts/IOperation';
import type { Column, RunOptions, SqlSession, TransactionStatus } from '../contracts';
import { LakebaseError, SqlError } from '../errors';
import { ResultSet } from '../result-set';
import type { ResultSetInit } from '../result-set';
import { closedError, SESSION_ERRORS } from '../session-errors';
import { batchRows, columnOf } from './types';

/** Codes of the errors a warehouse session raises itself. */
export const WAREHOUSE_SESSION_ERRORS = {
  /** The driver's result handler is not what this module reads (a driver version it does not know). */
  driverUnsupported: 'WAREHOUSE_DRIVER_UNSUPPORTED',
  /** The warehouse answered in a result format without Arrow. */
  resultFormat: 'WAREHOUSE_RESULT_FORMAT',
} as const;

/** Rows asked for per fetch (the driver's own default page). */
const FETCH_ROWS = 100_000;

/** How long an interrupted statement's close is waited for before the cell ends anyway. */
const CLOSE_AFTER_CANCEL_MS = 1_000;

export interface WarehouseConnection {
  /** `odbc_params`: where the Thrift endpoint is. */
  hostname: string;
  port: number;
  path: string;
  /** Adds the workspace's credentials to a request's headers. */
  authenticate(headers: Headers): Promise<void>;
  /** A CA to trust besides the system's (the local emulator's). */
  caCert?: Buffer | string;
  /** Catalog and schema the session starts in. */
  catalog?: string;
  schema?: string;
}

export interface OpenWarehouseSessionOptions extends WarehouseConnection {
  /** What to show the user, e.g. `Starter Warehouse (abc123) on https://host`. */
  description: string;
  signal?: AbortSignal;
}

/** The driver's logger: quiet (its default writes to stdout, which is the notebook's cell output). */
const quietLogger = { log: () => undefined };

export async function openWarehouseSession(options: OpenWarehouseSessionOptions): Promise<WarehouseSession> {
  const client = new DBSQLClient({ logger: quietLogger } as never);
  try {
    await client.connect({
      host: options.hostname,
      port: options.port,
      path: options.path,
      authType: 'custom',
      provider: {
        async authenticate() {
          const headers = new Headers();
          await options.authenticate(headers);
          return Object.fromEntries(headers.entries());
        },
      },
      ...(options.caCert !== undefined ? { customCaCert: options.caCert } : {}),
      telemetryEnabled: false,
    } as never);
    const session = await client.openSession({
      ...(options.catalog !== undefined ? { initialCatalog: options.catalog } : {}),
      ...(options.schema !== undefined ? { initialSchema: options.schema } : {}),
    });
    return new WarehouseSession(client, session, options.description);
  } catch (error) {
    await client.close().catch(() => undefined);
    throw new LakebaseError('WAREHOUSE_CONNECT_FAILED', `Could not open a session on ${options.description}: ${error instanceof Error ? error.message : String(error)}`, {
      hint: 'Check that the warehouse is running (%lakebase warehouse get) and that your credentials may use it (CAN_USE).',
      cause: error,
    });
  }
}

/** A statement's result from a warehouse: a `ResultSet` that also hands over its Arrow table. */
export class WarehouseResultSet extends ResultSet {
  readonly #arrow: arrow.Table;

  constructor(init: ResultSetInit, table: arrow.Table) {
    super(init);
    this.#arrow = table;
  }

  /**
   * The rows kept, as an Arrow table (apache-arrow): every row after `--into` or with the display
   * limit `all`, else the displayed page. Columns keep the warehouse's types.
   */
  toArrow(): arrow.Table {
    return this.#arrow;
  }
}

export class WarehouseSession implements SqlSession {
  readonly parameterStyle = 'named' as const;
  readonly dialect = 'databricks' as const;
  readonly encrypted = true;
  readonly transactionStatus: TransactionStatus = 'idle';
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(
    private readonly client: DBSQLClient,
    private readonly session: IDBSQLSession,
    readonly description: string,
  ) {}

  run(sql: string, options: RunOptions): Promise<ResultSet> {
    const turn = this.#queue.then(() => this.#run(sql, options));
    this.#queue = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  /**
   * Every row of a query as one Arrow table, with no JavaScript value made per row: for code that
   * wants columns (and the fastest way to move a whole result). An abort cancels the statement.
   */
  fetchArrow(sql: string, options: { namedParams?: Readonly<Record<string, unknown>>; signal?: AbortSignal } = {}): Promise<arrow.Table> {
    const turn = this.#queue.then(async () => {
      const result = (await this.#run(sql, { displayLimit: 0, arrowOnly: true, ...options } as RunOptions)) as WarehouseResultSet;
      return result.toArrow();
    });
    this.#queue = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  /**
   * A query's rows as Arrow record batches as they arrive, one fetch (up to 100,000 rows) held at
   * a time whatever the result's size: for moving a result elsewhere (the sync engine,
   * `lakebase/sync/`). The session runs nothing else meanwhile. Read it to the end, or stop early
   * (`break`), which closes the statement; an abort cancels it on the warehouse.
   */
  async *streamArrow(sql: string, options: { namedParams?: Readonly<Record<string, unknown>>; signal?: AbortSignal } = {}): AsyncGenerator<arrow.RecordBatch, void> {
    let release!: () => void;
    const finished = new Promise<void>((resolve) => {
      release = resolve;
    });
    const turn = this.#queue;
    this.#queue = turn.then(() => finished);
    await turn;
    try {
      if (this.#closed) throw closedError(this.description);
      if (options.signal?.aborted) throw new LakebaseError(SESSION_ERRORS.notStarted, 'The statement was not run: it was interrupted before it started.');
      const statement = await startStatement(this.session, sql, options);
      try {
        const metadata = await metadataOf(statement);
        if (metadata.arrowSchema === undefined || metadata.arrowSchema === null) {
          throw new LakebaseError(WAREHOUSE_SESSION_ERRORS.resultFormat, 'The warehouse answered without an Arrow schema (a column-based result).');
        }
        const source = await rawArrowSource(statement);
        while (await source.hasMore()) {
          const chunk = await source.fetchNext({ limit: FETCH_ROWS });
          if (chunk.batches.length === 0) continue;
          yield* arrow.RecordBatchReader.from(Buffer.concat(chunk.batches)).readAll();
        }
        statement.throwIfCancelled();
      } catch (error) {
        throw statement.failure(error);
      } finally {
        await statement.finish();
      }
    } finally {
      release();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.session.close().catch(() => undefined);
    await this.client.close().catch(() => undefined);
  }

  async #run(sql: string, options: RunOptions): Promise<ResultSet> {
    if (this.#closed) throw closedError(this.description);
    if (options.signal?.aborted) throw new LakebaseError(SESSION_ERRORS.notStarted, 'The statement was not run: it was interrupted before it started.');
    const started = process.hrtime.bigint();
    const statement = await startStatement(this.session, sql, options);
    try {
      const arrowOnly = (options as RunOptions & { arrowOnly?: boolean }).arrowOnly === true;
      const keep = arrowOnly ? Number.POSITIVE_INFINITY : rowsToKeep(options);
      const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
      const onPage = options.onPage;
      const { columns, values, table, total } = await readResult(statement, keep, arrowOnly, onPage && ((page) => {
        onPage(new ResultSet({ statement: sql, command: commandOf(sql, true), ...page, elapsedMs: elapsed(), displayLimit: options.displayLimit, counting: 'running' }));
      }));
      const elapsedMs = elapsed();
      statement.throwIfCancelled();
      return new WarehouseResultSet(
        { statement: sql, command: commandOf(sql, columns.length > 0), columns, values, rowCount: total, elapsedMs, displayLimit: options.displayLimit },
        table,
      );
    } catch (error) {
      throw statement.failure(error);
    } finally {
      await statement.finish();
    }
  }
}

function rowsToKeep(options: RunOptions): number {
  if (options.fetchAll || options.displayLimit === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  return Number.isFinite(options.displayLimit) && options.displayLimit > 0 ? Math.floor(options.displayLimit) : 0;
}

/** `:name` values for the driver, which types them itself (numbers, bigints, booleans, dates, strings). */
function namedParameters(values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || value === null) result[name] = undefined;
    else if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean' || typeof value === 'string' || value instanceof Date) result[name] = value;
    else {
      throw new LakebaseError('PARAMETER_UNSUPPORTED', `The parameter :${name} cannot be sent to a SQL warehouse: it is ${Array.isArray(value) ? 'an array' : typeof value}.`, {
        hint: 'Pass strings, numbers, bigints, booleans or Dates; build arrays and maps in SQL (array(:a, :b)).',
      });
    }
  }
  return result;
}

/** The statement's first words as the result's command: `SELECT`, `INSERT`, `CREATE TABLE`. */
function commandOf(sql: string, hasRows: boolean): string {
  const words = sql
    .replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, ' ')
    .trim()
    .split(/\s+/)
    .map((word) => word.toUpperCase());
  if (['CREATE', 'DROP', 'ALTER'].includes(words[0])) {
    const object = words.slice(1).find((word) => !['OR', 'REPLACE', 'IF', 'NOT', 'EXISTS'].includes(word));
    return `${words[0]} ${object ?? ''}`.trim();
  }
  return hasRows && ['WITH', 'VALUES', '('].includes(words[0]) ? 'SELECT' : (words[0] ?? 'SELECT');
}

interface RawArrowSource {
  hasMore(): Promise<boolean>;
  fetchNext(options: { limit: number }): Promise<{ batches: Buffer[]; rowCount: number }>;
}

/** A statement sent to the warehouse, which an abort of its signal cancels there at once. */
interface RunningStatement {
  readonly operation: IOperation;
  /**
   * Waits for a reply of the warehouse about this statement (its metadata, its next rows), or
   * until the statement is cancelled, whichever comes first: once interrupted, what is still on
   * its way is not the result, and a warehouse that is slow to answer must not hold the cell.
   */
  read<T>(reply: Promise<T>): Promise<T>;
  /**
   * Throws when the statement was cancelled while its rows were read: a warehouse may end a
   * cancelled result as though it had no more rows, and what was read is then not the result.
   */
  throwIfCancelled(): void;
  /** The error to report for `error`: the cancel, when there was one, else the statement's error. */
  failure(error: unknown): unknown;
  /** Stops listening for the abort and closes the operation (after a cancel, waiting a moment at most). */
  finish(): Promise<void>;
}

async function startStatement(
  session: IDBSQLSession,
  sql: string,
  options: { namedParams?: Readonly<Record<string, unknown>>; signal?: AbortSignal },
): Promise<RunningStatement> {
  let operation: IOperation;
  try {
    operation = await session.executeStatement(sql, {
      runAsync: true,
      ...(options.namedParams !== undefined && Object.keys(options.namedParams).length > 0 ? { namedParameters: namedParameters(options.namedParams) } : {}),
    } as never);
  } catch (error) {
    throw statementError(error, sql);
  }
  let cancelled = false;
  let stopWaiting!: (error: Error) => void;
  const cancellation = new Promise<never>((_, reject) => (stopWaiting = reject));
  cancellation.catch(() => undefined);
  const onAbort = () => {
    cancelled = true;
    stopWaiting(new Error('cancelled while the warehouse was answering'));
    void operation.cancel().catch(() => undefined);
  };
  // An interrupt that came while the statement was being sent (the warehouse holds
  // ExecuteStatement while it waits for direct results) cancels it now.
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  return {
    operation,
    read(reply) {
      // Left behind by a cancel, its answer or error goes nowhere.
      reply.catch(() => undefined);
      return Promise.race([reply, cancellation]);
    },
    throwIfCancelled() {
      if (cancelled) throw new Error('cancelled while its rows were read');
    },
    failure(error) {
      if (cancelled) return new SqlError({ sqlState: '57014', severity: 'ERROR', message: 'The statement was cancelled on the warehouse.' }, { statement: sql, cause: error });
      return statementError(error, sql);
    },
    async finish() {
      options.signal?.removeEventListener('abort', onAbort);
      const closed = operation.close().then(
        () => undefined,
        () => undefined,
      );
      if (!cancelled) return closed;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_AFTER_CANCEL_MS)))]);
      clearTimeout(timer);
    },
  };
}

/**
 * The driver's raw Arrow source under its result handler (see the header), whose replies are
 * waited for only until the statement is cancelled.
 */
async function rawArrowSource(statement: RunningStatement): Promise<RawArrowSource> {
  const handler = (statement.operation as unknown as { getResultHandler(): Promise<unknown> }).getResultHandler();
  const slicer = (await statement.read(handler)) as { source?: { source?: unknown } };
  const source = slicer?.source?.source as Partial<RawArrowSource> | undefined;
  if (typeof source?.fetchNext !== 'function' || typeof source.hasMore !== 'function') {
    throw new LakebaseError(WAREHOUSE_SESSION_ERRORS.driverUnsupported, 'This version of @databricks/sql does not hand over Arrow batches the way this kernel reads them.', {
      hint: 'Install the @databricks/sql version in the kernel\'s package.json (2.1).',
    });
  }
  const driver = source as RawArrowSource;
  return {
    hasMore: () => statement.read(driver.hasMore()),
    fetchNext: (options) => statement.read(driver.fetchNext(options)),
  };
}

/** The statement's result metadata, which says whether it has rows and carries their Arrow schema. */
function metadataOf(statement: RunningStatement): Promise<{ arrowSchema?: Buffer; schema?: { columns?: unknown[] } }> {
  return statement.read((statement.operation as unknown as { getMetadata(): Promise<{ arrowSchema?: Buffer; schema?: { columns?: unknown[] } }> }).getMetadata());
}

/**
 * Reads a statement's result: the first `keep` rows as values, the rest counted from the batch
 * headers. `onPage` gets the kept rows as soon as they are in, while more remain to be counted.
 */
async function readResult(
  statement: RunningStatement,
  keep: number,
  arrowOnly: boolean,
  onPage?: (page: { columns: Column[]; values: unknown[][]; rowCount: number }) => void,
): Promise<{ columns: Column[]; values: unknown[][]; table: arrow.Table; total: number }> {
  const metadata = await metadataOf(statement);
  const hasColumns = (metadata.schema?.columns?.length ?? 0) > 0;
  if (!hasColumns) return { columns: [], values: [], table: new arrow.Table(), total: 0 };
  if (metadata.arrowSchema === undefined || metadata.arrowSchema === null) {
    throw new LakebaseError(WAREHOUSE_SESSION_ERRORS.resultFormat, 'The warehouse answered without an Arrow schema (a column-based result).', {
      hint: 'SQL warehouses answer in Arrow; this may be a cluster or an older runtime, which this kernel does not read.',
    });
  }
  const schema = arrow.RecordBatchReader.from(metadata.arrowSchema).open().schema;
  const columns = schema.fields.map((field) => columnOf(field));
  const source = await rawArrowSource(statement);
  const kept: arrow.RecordBatch[] = [];
  const values: unknown[][] = [];
  let total = 0;
  let pageShown = onPage === undefined || arrowOnly || !(keep > 0 && Number.isFinite(keep));
  while (await source.hasMore()) {
    if (!pageShown && values.length >= keep) {
      // The page is in and more rows follow: they are only counted, which for a big result takes
      // a while (every page still crosses the wire); the page need not wait for it.
      pageShown = true;
      onPage!({ columns, values: [...values], rowCount: total });
    }
    const chunk = await source.fetchNext({ limit: FETCH_ROWS });
    if (chunk.batches.length === 0) continue;
    const room = keep - values.length;
    if (room <= 0) {
      // Past the rows to keep: counted from the batch headers' row counts, never decoded.
      total += chunk.rowCount;
      continue;
    }
    for (const batch of arrow.RecordBatchReader.from(Buffer.concat(chunk.batches)).readAll()) {
      total += batch.numRows;
      if (arrowOnly) {
        kept.push(batch);
        continue;
      }
      const space = keep - values.length;
      if (space <= 0) continue;
      const part = batch.numRows > space ? batch.slice(0, space) : batch;
      kept.push(part);
      for (const row of batchRows(part)) values.push(row);
    }
  }
  const table = kept.length > 0 ? new arrow.Table(kept) : new arrow.Table(schema);
  return { columns, values, table, total };
}

/** What the driver threw, as the `SqlError` the notebook shows (message and SQLSTATE). */
function statementError(error: unknown, statement: string): unknown {
  if (error instanceof LakebaseError) return error;
  const response = (error as { response?: { sqlState?: string; displayMessage?: string; errorMessage?: string } }).response;
  const sqlState = response?.sqlState ?? (error as { sqlState?: string }).sqlState;
  const message = response?.displayMessage ?? response?.errorMessage ?? (error instanceof Error ? error.message : String(error));
  if (sqlState) return new SqlError({ sqlState, severity: 'ERROR', message }, { statement, cause: error });
  return new LakebaseError(SESSION_ERRORS.connectionLost, `The warehouse did not run the statement: ${message}`, { cause: error });
}
