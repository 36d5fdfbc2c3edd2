// A SQL warehouse's Thrift service (TCLIService, HiveServer2 with Databricks' extensions), as
// `@databricks/sql` 2.1 talks to it: every RPC is one HTTPS POST of a TBinaryProtocol message
// (databricks-apis.md §6). The message codec and the processor are the generated TCLIService code
// that ships inside `@databricks/sql` (imported, not copied); this module is the handler.
//
// What a client meets, in the order it meets it (§6.2): OpenSession answers protocol V8;
// ExecuteStatement runs the statement on the session's lakehouse session and, when asked for
// direct results, waits a little and answers the status, the metadata and the first page at once
// (closing the operation when that page is all); GetOperationStatus reports RUNNING until the
// rows can be read, then FINISHED, or ERROR with the Databricks message and SQLSTATE;
// GetResultSetMetadata gives the Thrift schema (TTypeIds, decimal precision and scale) and the
// Arrow schema; FetchResults pages Arrow record batches inline (`ARROW_BASED_SET`, no cloud
// fetch, no LZ4); CancelOperation cancels the statement on the engine; Close* free everything.
import { randomUUID } from 'node:crypto';
import Int64 from 'node-int64';
import ttypes from '@databricks/sql/thrift/TCLIService_types';
import type { ResultColumn } from './arrow';
import { arrowSchema, batchMessage, schemaMessage } from './arrow';
import type { Lakehouse, LakehouseSession, StatementParameter, StatementResult } from './engine';
import { LakehouseError, lakehouseErrors } from './errors';
import { ReadAhead } from './read-ahead';
import type { SqlType } from './types';
import { typeText } from './types';

/**
 * How long ExecuteStatement waits for a statement before answering RUNNING. Real warehouses hold
 * it longer; the emulator answers within half a second, because until ExecuteStatement returns a
 * client has no operation handle to cancel (the kernel promises a cancel within a second).
 */
const DIRECT_RESULTS_WAIT_MS = 500;
const DEFAULT_PAGE_ROWS = 100_000;
/**
 * Encoded rows read ahead of the client per operation: about two of the engine's batches, so the
 * next page is ready when the client asks, and an operation never holds much more.
 */
const READ_AHEAD_BYTES = 24 * 1024 * 1024;

type Guid = Buffer;

interface OperationState {
  id: Guid;
  secret: Guid;
  session: ServiceSession;
  state: number;
  error: LakehouseError | undefined;
  result: StatementResult | undefined;
  /** The result's rows, read ahead of the client. */
  rows: ReadAhead | undefined;
  /** Every row was sent (or the operation closed): nothing left to stop on the engine. */
  exhausted: boolean;
  schemaBytes: Buffer | undefined;
  /** Settles when the statement has run (rows can be read) or failed. */
  ready: Promise<void>;
}

interface ServiceSession {
  id: Guid;
  secret: Guid;
  user: string;
  lakehouse: LakehouseSession;
  operations: Map<string, OperationState>;
}

export interface ThriftServiceOptions {
  lakehouse: () => Promise<Lakehouse>;
  log: (line: string) => void;
}

const S = ttypes;
const success = () => new S.TStatus({ statusCode: S.TStatusCode.SUCCESS_STATUS });

function errorStatus(error: LakehouseError | Error, code: number = S.TStatusCode.ERROR_STATUS) {
  const sqlState = error instanceof LakehouseError ? error.sqlState : 'XX000';
  return new S.TStatus({ statusCode: code, sqlState, errorMessage: error.message, displayMessage: error.message, errorCode: 0 });
}

function key(guid: Buffer | undefined): string {
  return guid === undefined ? '' : Buffer.from(guid).toString('hex');
}

/** The Thrift type of a column (`TTypeDesc`), with decimal precision and scale as qualifiers. */
function typeDesc(type: SqlType) {
  const ids: Record<SqlType['kind'], number> = {
    boolean: S.TTypeId.BOOLEAN_TYPE,
    tinyint: S.TTypeId.TINYINT_TYPE,
    smallint: S.TTypeId.SMALLINT_TYPE,
    int: S.TTypeId.INT_TYPE,
    bigint: S.TTypeId.BIGINT_TYPE,
    float: S.TTypeId.FLOAT_TYPE,
    double: S.TTypeId.DOUBLE_TYPE,
    string: S.TTypeId.STRING_TYPE,
    binary: S.TTypeId.BINARY_TYPE,
    date: S.TTypeId.DATE_TYPE,
    timestamp: S.TTypeId.TIMESTAMP_TYPE,
    timestamp_ntz: S.TTypeId.TIMESTAMP_TYPE,
    decimal: S.TTypeId.DECIMAL_TYPE,
    array: S.TTypeId.ARRAY_TYPE,
    map: S.TTypeId.MAP_TYPE,
    struct: S.TTypeId.STRUCT_TYPE,
    void: S.TTypeId.NULL_TYPE,
  };
  const qualifiers =
    type.kind === 'decimal'
      ? new S.TTypeQualifiers({
          qualifiers: { precision: new S.TTypeQualifierValue({ i32Value: type.precision }), scale: new S.TTypeQualifierValue({ i32Value: type.scale }) },
        })
      : undefined;
  return new S.TTypeDesc({ types: [new S.TTypeEntry({ primitiveEntry: new S.TPrimitiveTypeEntry({ type: ids[type.kind], ...(qualifiers ? { typeQualifiers: qualifiers } : {}) }) })] });
}

export function thriftSchema(columns: readonly ResultColumn[]) {
  return new S.TTableSchema({
    columns: columns.map(
      (column, i) => new S.TColumnDesc({ columnName: column.name, typeDesc: typeDesc(column.type), position: i + 1, comment: typeText(column.type) }),
    ),
  });
}

/** The statement's parameters as the engine takes them (TSparkParameter: name or ordinal, type, string value). */
function parametersOf(parameters: readonly { name?: string | null; type?: string | null; value?: { stringValue?: string | null } | null }[] | null | undefined): StatementParameter[] {
  return (parameters ?? []).map((parameter) => ({
    ...(parameter.name ? { name: parameter.name } : {}),
    type: parameter.type ?? 'STRING',
    value: parameter.value?.stringValue ?? null,
  }));
}

/** The TCLIService handler: one object per warehouse endpoint. */
export class ThriftService {
  readonly #sessions = new Map<string, ServiceSession>();

  constructor(private readonly options: ThriftServiceOptions) {}

  /** Called with the caller's identity before each request is processed. */
  user = '';

  async closeAll(): Promise<void> {
    for (const session of this.#sessions.values()) await session.lakehouse.close().catch(() => undefined);
    this.#sessions.clear();
  }

  // The generated processor calls these by their RPC names, with one argument (the request), and
  // expects a promise of the response.

  async OpenSession(request: { initialNamespace?: { catalogName?: string; schemaName?: string } | null }) {
    // Read before any await: the endpoint sets `user` for the request it is about to process.
    const user = this.user;
    const lakehouse = await this.options.lakehouse();
    const namespace = request.initialNamespace ?? undefined;
    let session: LakehouseSession;
    try {
      session = await lakehouse.openSession({
        user,
        ...(namespace?.catalogName ? { catalog: namespace.catalogName.toLowerCase() } : {}),
        ...(namespace?.schemaName ? { schema: namespace.schemaName.toLowerCase() } : {}),
      });
    } catch (error) {
      return new S.TOpenSessionResp({ status: errorStatus(error as Error), serverProtocolVersion: S.TProtocolVersion.SPARK_CLI_SERVICE_PROTOCOL_V8 });
    }
    const id = newGuid();
    const secret = newGuid();
    this.#sessions.set(key(id), { id, secret, user, lakehouse: session, operations: new Map() });
    return new S.TOpenSessionResp({
      status: success(),
      serverProtocolVersion: S.TProtocolVersion.SPARK_CLI_SERVICE_PROTOCOL_V8,
      sessionHandle: new S.TSessionHandle({ sessionId: new S.THandleIdentifier({ guid: id, secret }) }),
      configuration: {},
      canUseMultipleCatalogs: true,
      initialNamespace: new S.TNamespace({ catalogName: session.catalog, schemaName: session.schema }),
    });
  }

  async CloseSession(request: { sessionHandle: { sessionId: { guid: Buffer } } }) {
    const session = this.#sessions.get(key(request.sessionHandle?.sessionId?.guid));
    if (session === undefined) return new S.TCloseSessionResp({ status: invalidHandle('session') });
    this.#sessions.delete(key(session.id));
    for (const operation of session.operations.values()) await this.#close(operation);
    await session.lakehouse.close();
    return new S.TCloseSessionResp({ status: success() });
  }

  async ExecuteStatement(request: {
    sessionHandle: { sessionId: { guid: Buffer } };
    statement: string;
    runAsync?: boolean | null;
    getDirectResults?: { maxRows?: Int64 | number | null } | null;
    parameters?: { name?: string | null; type?: string | null; value?: { stringValue?: string | null } | null }[] | null;
  }) {
    const session = this.#sessions.get(key(request.sessionHandle?.sessionId?.guid));
    if (session === undefined) return new S.TExecuteStatementResp({ status: invalidHandle('session') });
    const id = newGuid();
    const operation: OperationState = {
      id,
      secret: newGuid(),
      session,
      state: S.TOperationState.RUNNING_STATE,
      error: undefined,
      result: undefined,
      rows: undefined,
      exhausted: false,
      schemaBytes: undefined,
      ready: Promise.resolve(),
    };
    operation.ready = (async () => {
      try {
        const result = await session.lakehouse.execute(request.statement, { parameters: parametersOf(request.parameters) });
        operation.result = result;
        const schemaLength = this.#schemaBytes(operation).length;
        operation.rows = new ReadAhead(result.batches[Symbol.asyncIterator](), (batch) => batchMessage(batch, schemaLength), READ_AHEAD_BYTES);
        // FINISHED means the rows can be read: a query is RUNNING until its first batch is here
        // (or it ended), so that a cancel meanwhile reaches the engine.
        if (operation.state === S.TOperationState.RUNNING_STATE) await operation.rows.started();
        if (operation.state === S.TOperationState.RUNNING_STATE) operation.state = S.TOperationState.FINISHED_STATE;
      } catch (error) {
        const failure = error instanceof LakehouseError ? error : new LakehouseError('INTERNAL_ERROR', (error as Error).message, { cause: error });
        if (operation.state === S.TOperationState.RUNNING_STATE) {
          operation.state = failure.errorClass === 'OPERATION_CANCELED' ? S.TOperationState.CANCELED_STATE : S.TOperationState.ERROR_STATE;
          operation.error = failure;
        }
        if (failure.errorClass === 'INTERNAL_ERROR') this.options.log(`warehouse statement failed: ${failure.message}`);
      }
    })();
    session.operations.set(key(id), operation);
    const handle = new S.TOperationHandle({
      operationId: new S.THandleIdentifier({ guid: id, secret: operation.secret }),
      operationType: S.TOperationType.EXECUTE_STATEMENT,
      hasResultSet: true,
    });
    const wantsDirect = request.getDirectResults !== undefined && request.getDirectResults !== null;
    if (request.runAsync === false || wantsDirect) {
      await waitAtMost(operation.ready, request.runAsync === false ? Number.POSITIVE_INFINITY : DIRECT_RESULTS_WAIT_MS);
    }
    if (!wantsDirect) return new S.TExecuteStatementResp({ status: success(), operationHandle: handle });
    const status = this.#status(operation);
    const direct: Record<string, unknown> = { operationStatus: status };
    if (operation.state === S.TOperationState.FINISHED_STATE) {
      const maxRows = toNumber(request.getDirectResults?.maxRows) || DEFAULT_PAGE_ROWS;
      direct.resultSetMetadata = this.#metadata(operation);
      const page = await this.#fetch(operation, maxRows);
      direct.resultSet = page;
      if (!page.hasMoreRows) {
        direct.closeOperation = new S.TCloseOperationResp({ status: success() });
        await this.#close(operation);
      }
    } else if (operation.state !== S.TOperationState.RUNNING_STATE) {
      direct.closeOperation = new S.TCloseOperationResp({ status: success() });
      await this.#close(operation);
    }
    return new S.TExecuteStatementResp({ status: success(), operationHandle: handle, directResults: new S.TSparkDirectResults(direct) });
  }

  async GetOperationStatus(request: { operationHandle: { operationId: { guid: Buffer } } }) {
    const operation = this.#operation(request.operationHandle);
    if (operation === undefined) return new S.TGetOperationStatusResp({ status: invalidHandle('operation') });
    // Answer promptly, but not before a short statement has had its chance: fewer polls.
    await waitAtMost(operation.ready, 100);
    return this.#status(operation);
  }

  async GetResultSetMetadata(request: { operationHandle: { operationId: { guid: Buffer } } }) {
    const operation = this.#operation(request.operationHandle);
    if (operation === undefined) return new S.TGetResultSetMetadataResp({ status: invalidHandle('operation') });
    await operation.ready;
    if (operation.error) return new S.TGetResultSetMetadataResp({ status: errorStatus(operation.error) });
    return this.#metadata(operation);
  }

  async FetchResults(request: { operationHandle: { operationId: { guid: Buffer } }; maxRows?: Int64 | number | null }) {
    const operation = this.#operation(request.operationHandle);
    if (operation === undefined) return new S.TFetchResultsResp({ status: invalidHandle('operation') });
    await operation.ready;
    if (operation.error) return new S.TFetchResultsResp({ status: errorStatus(operation.error) });
    try {
      return await this.#fetch(operation, toNumber(request.maxRows) || DEFAULT_PAGE_ROWS);
    } catch (error) {
      // The engine failed after the first rows were sent (a division by zero at row 500,000): the
      // client gets the error with its SQLSTATE, as from a statement that failed at once.
      const failure = error instanceof LakehouseError ? error : new LakehouseError('INTERNAL_ERROR', (error as Error).message, { cause: error });
      operation.state = S.TOperationState.ERROR_STATE;
      operation.error = failure;
      return new S.TFetchResultsResp({ status: errorStatus(failure) });
    }
  }

  async CancelOperation(request: { operationHandle: { operationId: { guid: Buffer } } }) {
    const operation = this.#operation(request.operationHandle);
    if (operation === undefined) return new S.TCancelOperationResp({ status: invalidHandle('operation') });
    if (operation.state === S.TOperationState.RUNNING_STATE) {
      operation.state = S.TOperationState.CANCELED_STATE;
      await operation.session.lakehouse.cancel();
    } else if (operation.state === S.TOperationState.FINISHED_STATE && !operation.exhausted) {
      // Cancelled while its rows were being fetched: the rest is not sent, and the next fetch
      // says so, rather than ending the result early as though it had no more rows.
      operation.state = S.TOperationState.CANCELED_STATE;
      operation.error = lakehouseErrors.canceled();
    }
    await this.#close(operation, false);
    return new S.TCancelOperationResp({ status: success() });
  }

  async CloseOperation(request: { operationHandle: { operationId: { guid: Buffer } } }) {
    const operation = this.#operation(request.operationHandle);
    if (operation === undefined) return new S.TCloseOperationResp({ status: invalidHandle('operation') });
    await this.#close(operation);
    operation.session.operations.delete(key(operation.id));
    return new S.TCloseOperationResp({ status: success() });
  }

  async GetInfo(request: { infoType: number }) {
    const values: Record<number, string> = { [S.TGetInfoType.CLI_SERVER_NAME]: 'Databricks SQL (lakebase-kernel emulator)', [S.TGetInfoType.CLI_DBMS_NAME]: 'Spark SQL', [S.TGetInfoType.CLI_DBMS_VER]: '3.5.0' };
    return new S.TGetInfoResp({ status: success(), infoValue: new S.TGetInfoValue({ stringValue: values[request.infoType] ?? '' }) });
  }

  #operation(handle: { operationId: { guid: Buffer } } | undefined): OperationState | undefined {
    const guid = key(handle?.operationId?.guid);
    for (const session of this.#sessions.values()) {
      const operation = session.operations.get(guid);
      if (operation) return operation;
    }
    return undefined;
  }

  #status(operation: OperationState) {
    const error = operation.error;
    return new S.TGetOperationStatusResp({
      status: success(),
      operationState: operation.state,
      ...(error ? { sqlState: error.sqlState, errorMessage: error.message, displayMessage: error.message, errorCode: 0 } : {}),
      hasResultSet: true,
      ...(operation.result?.modifiedRows !== undefined ? { numModifiedRows: new Int64(operation.result.modifiedRows) } : {}),
    });
  }

  #schemaBytes(operation: OperationState): Buffer {
    return (operation.schemaBytes ??= schemaMessage(arrowSchema(operation.result?.columns ?? [])));
  }

  #metadata(operation: OperationState) {
    return new S.TGetResultSetMetadataResp({
      status: success(),
      schema: thriftSchema(operation.result?.columns ?? []),
      resultFormat: S.TSparkRowSetType.ARROW_BASED_SET,
      lz4Compressed: false,
      arrowSchema: this.#schemaBytes(operation),
      isStagingOperation: false,
    });
  }

  /** The next page: up to `maxRows` rows as inline Arrow batches, and whether more follow. */
  async #fetch(operation: OperationState, maxRows: number) {
    const schemaLength = this.#schemaBytes(operation).length;
    const batches: { batch: Buffer; rowCount: Int64 }[] = [];
    let rows = 0;
    const source = operation.exhausted ? undefined : operation.rows;
    while (source !== undefined && rows < maxRows) {
      const next = await source.next();
      if (next === undefined) break;
      const take = Math.min(next.batch.numRows, maxRows - rows);
      if (take === next.batch.numRows) batches.push({ batch: next.message, rowCount: new Int64(take) });
      else {
        // A page smaller than the engine's batches: split it, and keep the rest for the next page.
        const rest = next.batch.slice(take);
        source.putBack({ batch: rest, message: batchMessage(rest, schemaLength) });
        batches.push({ batch: batchMessage(next.batch.slice(0, take), schemaLength), rowCount: new Int64(take) });
      }
      rows += take;
    }
    const hasMoreRows = source !== undefined && (await source.hasMore());
    if (source !== undefined && !hasMoreRows) operation.exhausted = true;
    const results = new S.TRowSet({ startRowOffset: new Int64(0), rows: [], arrowBatches: batches.map((entry) => new S.TSparkArrowBatch(entry)) });
    return new S.TFetchResultsResp({ status: success(), hasMoreRows, results });
  }

  async #close(operation: OperationState, forget = true): Promise<void> {
    if (operation.state !== S.TOperationState.CANCELED_STATE && operation.state !== S.TOperationState.ERROR_STATE) operation.state = S.TOperationState.CLOSED_STATE;
    if (!operation.exhausted) {
      operation.exhausted = true;
      operation.rows?.stop();
      // Stops the engine's query so the session can run the next one.
      await operation.result?.close?.().catch(() => undefined);
    }
    if (forget) operation.session.operations.delete(key(operation.id));
  }
}

/** Handle identifiers are UUIDs (the driver prints them with `uuid.stringify`, which checks the version bits). */
function newGuid(): Buffer {
  return Buffer.from(randomUUID().replace(/-/g, ''), 'hex');
}

function invalidHandle(what: string) {
  return new S.TStatus({ statusCode: S.TStatusCode.INVALID_HANDLE_STATUS, errorMessage: `Invalid ${what} handle: it is closed or was never opened.`, sqlState: 'HY000' });
}

function toNumber(value: Int64 | number | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber(true);
}

async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<void> {
  if (ms === Number.POSITIVE_INFINITY) {
    await promise.catch(() => undefined);
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
