// `@databricks/sql` 2.1 itself, unchanged, against the emulator's warehouse: found through the
// warehouses API's odbc_params, over HTTPS verified against the emulator's CA.
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DBSQLClient } from '@databricks/sql';
import type IDBSQLSession from '@databricks/sql/dist/contracts/IDBSQLSession';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startEmulator } from '../emulator/index';
import type { RunningEmulator } from '../emulator/contracts';

let dataDir: string;
let emulator: RunningEmulator;
let client: DBSQLClient;
let session: IDBSQLSession;
let odbc: { hostname: string; port: number; path: string; protocol: string };

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lakebase-warehouse-thrift-'));
  await chmod(dataDir, 0o755);
  emulator = await startEmulator({ dataDir, port: 0, transitionDelayMs: 0 });
  const listed = await fetch(`${emulator.host}/api/2.0/sql/warehouses`, { headers: { Authorization: `Bearer ${emulator.user.token}` } });
  const { warehouses } = (await listed.json()) as { warehouses: { name: string; state: string; odbc_params: typeof odbc }[] };
  expect(warehouses.map((warehouse) => [warehouse.name, warehouse.state])).toEqual([['Serverless Starter Warehouse', 'RUNNING']]);
  odbc = warehouses[0].odbc_params;
  client = new DBSQLClient();
  await client.connect({
    host: odbc.hostname,
    port: odbc.port,
    path: odbc.path,
    token: emulator.user.token,
    customCaCert: await readFile(emulator.caCertPath),
    telemetryEnabled: false,
  } as Parameters<DBSQLClient['connect']>[0]);
  session = await client.openSession();
});

afterAll(async () => {
  await session?.close().catch(() => undefined);
  await client?.close().catch(() => undefined);
  await emulator?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('the official driver against the local warehouse', () => {
  test('a query returns typed rows', async () => {
    const operation = await session.executeStatement("SELECT 1 AS one, 'two' AS two, CAST(3.25 AS DECIMAL(5,2)) AS three");
    expect(await operation.fetchAll()).toEqual([{ one: 1, two: 'two', three: 3.25 }]);
    await operation.close();
  });

  test('Arrow types round-trip through a Delta table', async () => {
    await (await session.executeStatement(
      'CREATE TABLE typed (b BOOLEAN, t TINYINT, i INT, l BIGINT, d DOUBLE, dec DECIMAL(10,2), s STRING, bin BINARY, dt DATE, ts TIMESTAMP, ntz TIMESTAMP_NTZ, arr ARRAY<INT>, m MAP<STRING,INT>, st STRUCT<x: INT, y: STRING>)',
    )).close();
    await (await session.executeStatement(
      "INSERT INTO typed VALUES (true, 7, 42, 9007199254740991, 1.5, 12345.67, 'héllo', X'00ff', DATE'2024-02-29', TIMESTAMP'2024-02-29 12:34:56.789', TIMESTAMP_NTZ'2024-02-29 12:34:56', array(1, 2, 3), map('a', 1, 'b', 2), named_struct('x', 5, 'y', 'z')), (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    )).close();
    const operation = await session.executeStatement('SELECT * FROM typed ORDER BY i NULLS LAST');
    const schema = await operation.getSchema();
    expect(schema?.columns.map((column) => column.columnName)).toEqual(['b', 't', 'i', 'l', 'd', 'dec', 's', 'bin', 'dt', 'ts', 'ntz', 'arr', 'm', 'st']);
    const [row, nulls] = (await operation.fetchAll()) as Record<string, unknown>[];
    await operation.close();
    expect(row.b).toBe(true);
    expect(row.t).toBe(7);
    expect(row.i).toBe(42);
    expect(row.l).toBe(Number.MAX_SAFE_INTEGER); // the driver reads BIGINT as a JS number
    expect(row.d).toBe(1.5);
    expect(row.dec).toBe(12345.67);
    expect(row.s).toBe('héllo');
    expect(Buffer.from(row.bin as Uint8Array).toString('hex')).toBe('00ff');
    expect(new Date(row.dt as Date).toISOString().slice(0, 10)).toBe('2024-02-29');
    expect(new Date(row.ts as Date).toISOString()).toBe('2024-02-29T12:34:56.789Z');
    expect(row.arr).toEqual([1, 2, 3]);
    expect(row.m).toEqual({ a: 1, b: 2 });
    expect(row.st).toEqual({ x: 5, y: 'z' });
    expect(Object.values(nulls).every((value) => value === null)).toBe(true);
  });

  test('named parameters are bound by the driver, not pasted', async () => {
    const operation = await session.executeStatement('SELECT :name AS name, :n + 1 AS next', { namedParameters: { name: "it's", n: 41 } });
    expect(await operation.fetchAll()).toEqual([{ name: "it's", next: 42 }]);
    await operation.close();
  });

  test('errors carry the Databricks error class and SQLSTATE', async () => {
    const failure = await session
      .executeStatement('SELECT * FROM main.default.no_such_table')
      .then((operation) => operation.fetchAll())
      .catch((error: unknown) => error);
    // The driver's OperationStateError keeps the server's status response.
    expect(failure).toMatchObject({ response: { sqlState: '42P01' } });
    expect(String((failure as Error).message)).toContain('[TABLE_OR_VIEW_NOT_FOUND]');
  });

  test('a 1,000,000-row result is fetched in chunks', async () => {
    const operation = await session.executeStatement('SELECT id, id * 2 AS twice, CAST(id AS STRING) AS text FROM range(1000000)', { maxRows: 100000 } as never);
    let rows = 0;
    let chunks = 0;
    let last: Record<string, unknown> | undefined;
    do {
      const chunk = (await operation.fetchChunk({ maxRows: 100000 })) as Record<string, unknown>[];
      rows += chunk.length;
      if (chunk.length > 0) chunks++;
      last = chunk[chunk.length - 1] ?? last;
    } while (await operation.hasMoreRows());
    await operation.close();
    expect(rows).toBe(1_000_000);
    expect(chunks).toBeGreaterThanOrEqual(10);
    expect(last).toEqual({ id: 999_999, twice: 1_999_998, text: '999999' });
  });

  test('pages smaller than the engine batches, and a result closed after its first pages', async () => {
    // Far more rows than the warehouse reads ahead: closing leaves the engine mid-stream.
    const operation = await session.executeStatement('SELECT id FROM range(20000000)', { maxRows: 30000 } as never);
    const pages: number[] = [];
    for (let page = 0; page < 5; page++) pages.push(((await operation.fetchChunk({ maxRows: 30000 })) as { id: number }[]).map((row) => row.id)[0]);
    expect(pages).toEqual([0, 30000, 60000, 90000, 120000]);
    // Closed while the warehouse reads ahead: the engine's query stops, and the session goes on.
    await operation.close();
    const next = await session.executeStatement('SELECT 2 AS two');
    expect(await next.fetchAll()).toEqual([{ two: 2 }]);
    await next.close();
  });

  test('an error after the first pages reaches the client with its SQLSTATE', async () => {
    const operation = await session.executeStatement('SELECT id, 1 / (id - 250000) AS x FROM range(1000000)', { maxRows: 100000 } as never);
    let rows = 0;
    const failure = await (async () => {
      do rows += ((await operation.fetchChunk({ maxRows: 100000 })) as unknown[]).length;
      while (await operation.hasMoreRows());
    })().catch((error: unknown) => error);
    await operation.close().catch(() => undefined);
    expect(rows).toBeGreaterThan(0);
    expect(rows).toBeLessThanOrEqual(250000);
    // The driver's StatusError keeps only the message, which ends with the SQLSTATE, as Databricks' do.
    expect(String((failure as Error).message)).toMatch(/^\[DIVIDE_BY_ZERO\] .*SQLSTATE: 22012$/);
    const next = await session.executeStatement('SELECT 3 AS three');
    expect(await next.fetchAll()).toEqual([{ three: 3 }]);
    await next.close();
  });

  test('cancel stops a running statement on the warehouse', async () => {
    const operation = await session.executeStatement('SELECT count(*) FROM range(1000000000) a', { runAsync: true } as never);
    await operation.cancel();
    const outcome = await operation.fetchAll().then(
      () => 'finished',
      (error: unknown) => String((error as Error).message),
    );
    expect(outcome).not.toBe('finished');
    // The session goes on.
    const next = await session.executeStatement('SELECT 2 AS two');
    expect(await next.fetchAll()).toEqual([{ two: 2 }]);
    await next.close();
  });
});
