// The Statement Execution API, `/api/2.0/sql/statements` (the SDKs' and many tools' way to run SQL
// on a warehouse): execute with `wait_timeout` (0s for asynchronous, 5s to 50s to wait; then
// `on_wait_timeout` CONTINUE or CANCEL), status, result chunks, cancel. Results are `JSON_ARRAY`
// inline (every value a string, or null) or `ARROW_STREAM` as external links that the emulator
// itself serves: unauthenticated, unguessable URLs valid for 15 minutes, like presigned ones.
// Shapes as the JS SDK's `apis/sql` model reads them (StatementResponse, ResultManifest, ...).
import { randomBytes, randomUUID } from 'node:crypto';
import * as arrow from 'apache-arrow';
import { ApiError } from '../api-errors';
import { caller, optionalString } from '../http';
import type { Reply, Route } from '../http';
import type { ResultColumn } from '../lakehouse/arrow';
import { arrowSchema, ipcStream } from '../lakehouse/arrow';
import type { StatementParameter } from '../lakehouse/engine';
import { LakehouseError } from '../lakehouse/errors';
import type { LakehouseHost } from '../lakehouse/host';
import type { WarehouseRegistry } from '../lakehouse/warehouses';
import { typeName, typeText } from '../lakehouse/types';
import type { SqlType } from '../lakehouse/types';

const BASE = '/api/2.0/sql/statements';
/** Where external links point; not under /api, as presigned cloud URLs are not. */
export const RESULTS_PATH = '/lakehouse-emulator/v1/results';
/** Rows per result chunk. */
const CHUNK_ROWS = 100_000;
const LINK_LIFETIME_MS = 15 * 60_000;
/** Finished statements are forgotten after this long (results of real ones expire too). */
const RETENTION_MS = 60 * 60_000;

type State = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELED' | 'CLOSED';

interface StoredStatement {
  id: string;
  owner: string;
  state: State;
  format: 'JSON_ARRAY' | 'ARROW_STREAM';
  disposition: 'INLINE' | 'EXTERNAL_LINKS';
  error: LakehouseError | undefined;
  columns: ResultColumn[];
  /** Record batches per chunk. */
  chunks: arrow.RecordBatch[][];
  rowCount: number;
  linkSecret: string;
  done: Promise<void>;
  cancel: () => Promise<void>;
  finishedAt?: number;
}

export interface StatementServices {
  lakehouse: LakehouseHost;
  warehouses: WarehouseRegistry;
  /** The API's base URL, for external links. */
  host: () => string;
}

/** `10s` → 10 000 ms; the API accepts 0s or 5s to 50s. */
function parseWaitTimeout(text: string | undefined): number {
  if (text === undefined) return 10_000;
  const match = /^(\d+)s$/.exec(text);
  const seconds = match ? Number(match[1]) : Number.NaN;
  if (!match || (seconds !== 0 && (seconds < 5 || seconds > 50))) {
    throw new ApiError('INVALID_PARAMETER_VALUE', `wait_timeout must be 0s or between 5s and 50s, got '${text}'.`);
  }
  return seconds * 1000;
}

function renderColumn(column: ResultColumn, position: number) {
  return {
    name: column.name,
    type_text: typeText(column.type).toUpperCase(),
    type_name: typeName(column.type) === 'TIMESTAMP_NTZ' ? 'TIMESTAMP_NTZ' : typeName(column.type),
    position,
    ...(column.type.kind === 'decimal' ? { type_precision: column.type.precision, type_scale: column.type.scale } : {}),
  };
}

/** A value as the JSON_ARRAY format writes it: text, or null. */
function jsonValue(value: unknown, type: SqlType): string | null {
  if (value === null || value === undefined) return null;
  switch (type.kind) {
    case 'date':
      return new Date(value as number).toISOString().slice(0, 10);
    case 'timestamp':
    case 'timestamp_ntz':
      return new Date(Number(value)).toISOString().replace(/\.000Z$/, 'Z');
    case 'binary':
      return Buffer.from(value as Uint8Array).toString('base64');
    case 'decimal':
      return decimalText(value as Uint32Array, type.scale);
    case 'array':
    case 'map':
    case 'struct':
      return JSON.stringify(plain(value), (_key, inner) => (typeof inner === 'bigint' ? inner.toString() : inner));
    default:
      return String(value);
  }
}

function decimalText(words: Uint32Array, scale: number): string {
  let unscaled = 0n;
  for (let i = words.length - 1; i >= 0; i--) unscaled = (unscaled << 32n) | BigInt(words[i]);
  unscaled = BigInt.asIntN(128, unscaled);
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const whole = scale > 0 ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return negative ? `-${whole}` : whole;
}

function plain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Map) return Object.fromEntries([...value].map(([key, inner]) => [String(key), plain(inner)]));
  if (typeof value === 'object' && 'toJSON' in (value as object)) return plain((value as { toJSON(): unknown }).toJSON());
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof arrow.Vector) return [...value].map(plain);
  return value;
}

export function statementRoutes({ lakehouse, warehouses, host }: StatementServices): Route[] {
  const statements = new Map<string, StoredStatement>();

  const forgetOld = () => {
    const now = Date.now();
    for (const [id, statement] of statements) if (statement.finishedAt !== undefined && now - statement.finishedAt > RETENTION_MS) statements.delete(id);
  };

  const find = (id: string, requester: string): StoredStatement => {
    const statement = statements.get(id);
    if (statement === undefined || statement.owner !== requester) throw new ApiError('RESOURCE_DOES_NOT_EXIST', `Statement ${id} does not exist (or has expired).`);
    return statement;
  };

  const chunkResult = (statement: StoredStatement, index: number) => {
    const rowOffset = statement.chunks.slice(0, index).reduce((sum, chunk) => sum + chunk.reduce((rows, batch) => rows + batch.numRows, 0), 0);
    const batches = statement.chunks[index] ?? [];
    const rowCount = batches.reduce((rows, batch) => rows + batch.numRows, 0);
    const next = index + 1 < statement.chunks.length ? { next_chunk_index: index + 1, next_chunk_internal_link: `${BASE}/${statement.id}/result/chunks/${index + 1}` } : {};
    if (statement.disposition === 'EXTERNAL_LINKS') {
      const bytes = ipcStream(arrowSchema(statement.columns), batches).length;
      return {
        external_links: [
          {
            chunk_index: index,
            row_offset: rowOffset,
            row_count: rowCount,
            byte_count: bytes,
            external_link: `${host()}${RESULTS_PATH}/${statement.id}/${index}?sig=${statement.linkSecret}`,
            expiration: new Date(Date.now() + LINK_LIFETIME_MS).toISOString(),
            ...next,
          },
        ],
      };
    }
    const data: (string | null)[][] = [];
    for (const batch of batches) {
      for (let row = 0; row < batch.numRows; row++) {
        data.push(statement.columns.map((column, i) => jsonValue(batch.getChildAt(i)?.get(row), column.type)));
      }
    }
    return { chunk_index: index, row_offset: rowOffset, row_count: rowCount, data_array: data, ...next };
  };

  const render = (statement: StoredStatement) => {
    const status = { state: statement.state, ...(statement.error ? { error: { error_code: statement.error.errorClass, message: statement.error.message } } : {}) };
    if (statement.state !== 'SUCCEEDED') return { statement_id: statement.id, status };
    const chunkRows = statement.chunks.map((chunk) => chunk.reduce((rows, batch) => rows + batch.numRows, 0));
    let offset = 0;
    return {
      statement_id: statement.id,
      status,
      manifest: {
        format: statement.format,
        schema: { column_count: statement.columns.length, columns: statement.columns.map(renderColumn) },
        total_chunk_count: statement.chunks.length,
        chunks: chunkRows.map((rows, index) => {
          const chunk = { chunk_index: index, row_offset: offset, row_count: rows };
          offset += rows;
          return chunk;
        }),
        total_row_count: statement.rowCount,
        truncated: false,
      },
      ...(statement.chunks.length > 0 ? { result: chunkResult(statement, 0) } : {}),
    };
  };

  const ok = (body: unknown): Reply => ({ status: 200, body });

  return [
    {
      method: 'POST',
      path: BASE,
      authenticated: true,
      async handle(request) {
        forgetOld();
        const identity = caller(request);
        const owner = identity.postgresName;
        const body = request.body;
        const text = optionalString(body, 'statement');
        if (!text) throw new ApiError('INVALID_PARAMETER_VALUE', 'statement is required.');
        const warehouseId = optionalString(body, 'warehouse_id');
        if (!warehouseId) throw new ApiError('INVALID_PARAMETER_VALUE', 'warehouse_id is required.');
        const warehouse = warehouses.get(warehouseId);
        if (warehouse.state !== 'RUNNING') throw new ApiError('INVALID_STATE', `Warehouse ${warehouseId} is ${warehouse.state}; start it first.`);
        const format = (optionalString(body, 'format') ?? 'JSON_ARRAY') as StoredStatement['format'];
        const disposition = (optionalString(body, 'disposition') ?? 'INLINE') as StoredStatement['disposition'];
        if (!['JSON_ARRAY', 'ARROW_STREAM'].includes(format)) throw new ApiError('INVALID_PARAMETER_VALUE', `format ${format} is not supported by the emulator (JSON_ARRAY, ARROW_STREAM).`);
        if (!['INLINE', 'EXTERNAL_LINKS'].includes(disposition)) throw new ApiError('INVALID_PARAMETER_VALUE', `disposition must be INLINE or EXTERNAL_LINKS, got ${disposition}.`);
        if (format === 'ARROW_STREAM' && disposition === 'INLINE') {
          throw new ApiError('INVALID_PARAMETER_VALUE', 'ARROW_STREAM results are returned as EXTERNAL_LINKS; set disposition to EXTERNAL_LINKS.');
        }
        const wait = parseWaitTimeout(optionalString(body, 'wait_timeout'));
        const onTimeout = optionalString(body, 'on_wait_timeout') ?? 'CONTINUE';
        const parameters: StatementParameter[] = Array.isArray(body.parameters)
          ? (body.parameters as Record<string, unknown>[]).map((parameter) => ({
              name: String(parameter.name),
              type: typeof parameter.type === 'string' ? parameter.type : 'STRING',
              value: parameter.value === undefined || parameter.value === null ? null : String(parameter.value),
            }))
          : [];
        const engine = await lakehouse.get();
        const session = await engine.openSession({
          user: owner,
          ...(optionalString(body, 'catalog') ? { catalog: optionalString(body, 'catalog')!.toLowerCase() } : {}),
          ...(optionalString(body, 'schema') ? { schema: optionalString(body, 'schema')!.toLowerCase() } : {}),
        }).catch((error: unknown) => {
          throw error instanceof LakehouseError ? new ApiError('INVALID_PARAMETER_VALUE', error.message) : error;
        });
        const statement: StoredStatement = {
          id: randomUUID(),
          owner,
          state: 'RUNNING',
          format,
          disposition,
          error: undefined,
          columns: [],
          chunks: [],
          rowCount: 0,
          linkSecret: randomBytes(24).toString('base64url'),
          done: Promise.resolve(),
          cancel: async () => {
            if (statement.state !== 'RUNNING' && statement.state !== 'PENDING') return;
            statement.state = 'CANCELED';
            await session.cancel().catch(() => undefined);
          },
        };
        statement.done = (async () => {
          try {
            const result = await session.execute(text, { parameters });
            statement.columns = result.columns;
            let chunk: arrow.RecordBatch[] = [];
            let chunkRows = 0;
            for await (const batch of result.batches) {
              chunk.push(batch);
              chunkRows += batch.numRows;
              statement.rowCount += batch.numRows;
              if (chunkRows >= CHUNK_ROWS) {
                statement.chunks.push(chunk);
                chunk = [];
                chunkRows = 0;
              }
            }
            if (chunk.length > 0) statement.chunks.push(chunk);
            if (statement.state === 'RUNNING') statement.state = 'SUCCEEDED';
          } catch (error) {
            if (statement.state === 'RUNNING') {
              const failure = error instanceof LakehouseError ? error : new LakehouseError('INTERNAL_ERROR', (error as Error).message);
              statement.state = failure.errorClass === 'OPERATION_CANCELED' ? 'CANCELED' : 'FAILED';
              statement.error = failure;
            }
          } finally {
            statement.finishedAt = Date.now();
            await session.close();
          }
        })();
        statements.set(statement.id, statement);
        if (wait > 0) {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([statement.done, new Promise((resolve) => (timer = setTimeout(resolve, wait)))]);
          clearTimeout(timer);
          if (statement.state === 'RUNNING' && onTimeout === 'CANCEL') {
            await statement.cancel();
            await statement.done;
          }
        }
        return ok(render(statement));
      },
    },
    {
      method: 'GET',
      path: `${BASE}/{id}`,
      authenticated: true,
      handle: (request) => ok(render(find(request.params.id, caller(request).postgresName))),
    },
    {
      method: 'GET',
      path: `${BASE}/{id}/result/chunks/{chunk}`,
      authenticated: true,
      handle(request) {
        const statement = find(request.params.id, caller(request).postgresName);
        const index = Number(request.params.chunk);
        if (statement.state !== 'SUCCEEDED') throw new ApiError('INVALID_STATE', `Statement ${statement.id} is ${statement.state}; it has no result.`);
        if (!Number.isInteger(index) || index < 0 || index >= statement.chunks.length) {
          throw new ApiError('INVALID_PARAMETER_VALUE', `chunk_index ${request.params.chunk} is out of range (0 to ${statement.chunks.length - 1}).`);
        }
        return ok(chunkResult(statement, index));
      },
    },
    {
      method: 'POST',
      path: `${BASE}/{id}/cancel`,
      authenticated: true,
      async handle(request) {
        const statement = find(request.params.id, caller(request).postgresName);
        await statement.cancel();
        return ok({});
      },
    },
    {
      // An external link: no bearer (as with presigned cloud storage URLs), an unguessable signature instead.
      method: 'GET',
      path: `${RESULTS_PATH}/{id}/{chunk}`,
      authenticated: false,
      handle(request) {
        const statement = statements.get(request.params.id);
        const index = Number(request.params.chunk);
        if (statement === undefined || request.url.searchParams.get('sig') !== statement.linkSecret || statement.chunks[index] === undefined) {
          throw new ApiError('PERMISSION_DENIED', 'The link is invalid or has expired; fetch the chunk again for a new link.');
        }
        return { status: 200, body: ipcStream(arrowSchema(statement.columns), statement.chunks[index]), contentType: 'application/vnd.apache.arrow.stream' };
      },
    },
  ];
}
