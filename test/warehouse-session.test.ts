// The kernel's warehouse session (lakebase/warehouse/) against the emulator's warehouse: found by
// name through the workspace's SDK client, results as ResultSets with Databricks column types,
// the display limit keeping only a page of a big result, named parameters, errors, cancel, a
// stopped warehouse started on connect, and the Arrow table of a result.
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startEmulator } from '../emulator/index';
import type { RunningEmulator } from '../emulator/contracts';
import { openWorkspace } from '../lakebase/workspace';
import type { Workspace } from '../lakebase/workspace';
import { connectWarehouse, stopWarehouse } from '../lakebase/warehouse/warehouses';
import type { WarehouseResultSet, WarehouseSession } from '../lakebase/warehouse/session';
import { SqlError } from '../lakebase/errors';

let dataDir: string;
let emulator: RunningEmulator;
let workspace: Workspace;
let session: WarehouseSession;
let caCert: Buffer;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lakebase-warehouse-session-'));
  await chmod(dataDir, 0o755);
  emulator = await startEmulator({ dataDir, port: 0, transitionDelayMs: 0 });
  workspace = await openWorkspace({ host: emulator.host, token: emulator.user.token, authType: 'pat', env: {} });
  caCert = await readFile(emulator.caCertPath);
  ({ session } = await connectWarehouse({ workspace, warehouse: 'serverless starter warehouse', caCert, env: {} }));
});

afterAll(async () => {
  await session?.close();
  await emulator?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

test('typed columns and values', async () => {
  const result = (await session.run(
    "SELECT 1 AS i, CAST(2 AS BIGINT) AS b, CAST(1.25 AS DECIMAL(5,2)) AS d, 'x' AS s, DATE'2024-03-01' AS day, TIMESTAMP'2024-03-01 10:00:00' AS ts, array(1, 2) AS a, named_struct('k', 1) AS st",
    { displayLimit: 100 },
  )) as WarehouseResultSet;
  expect(result.columns.map((column) => [column.name, column.databricksType])).toEqual([
    ['i', 'int'],
    ['b', 'bigint'],
    ['d', 'decimal(5,2)'],
    ['s', 'string'],
    ['day', 'date'],
    ['ts', 'timestamp'],
    ['a', 'array<int>'],
    ['st', 'string'],
  ]);
  const [row] = result.values;
  expect(row.slice(0, 4)).toEqual([1, 2n, '1.25', 'x']);
  expect((row[4] as Date).getDate()).toBe(1);
  expect((row[5] as Date).toISOString()).toBe('2024-03-01T10:00:00.000Z');
  expect(row[6]).toEqual([1, 2]);
  expect(result.toArrow().numRows).toBe(1);
});

test('the display limit keeps one page of a big result and counts the rest', async () => {
  const result = (await session.run('SELECT id FROM range(300000)', { displayLimit: 100 })) as WarehouseResultSet;
  expect(result.values).toHaveLength(100);
  expect(result.rowCount).toBe(300000);
  expect(result.toArrow().numRows).toBe(100);
  const all = (await session.run('SELECT id FROM range(300000)', { displayLimit: 100, fetchAll: true })) as WarehouseResultSet;
  expect(all.values).toHaveLength(300000);
  expect(all.toArrow().numRows).toBe(300000);
});

test('named parameters and errors with SQLSTATE', async () => {
  const result = await session.run('SELECT :a + 1 AS n, :s AS s', { displayLimit: 10, namedParams: { a: 41, s: 'hi' } });
  expect(result.values).toEqual([[42, 'hi']]);
  const failure = await session.run('SELECT * FROM nowhere', { displayLimit: 10 }).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(SqlError);
  expect(failure).toMatchObject({ sqlState: '42P01' });
  expect((failure as Error).message).toContain('TABLE_OR_VIEW_NOT_FOUND');
});

test('an abort cancels the statement on the warehouse; the session goes on', async () => {
  const controller = new AbortController();
  const running = session.run('SELECT count(*) FROM range(2000000000)', { displayLimit: 10, signal: controller.signal });
  setTimeout(() => controller.abort(), 300);
  await expect(running).rejects.toMatchObject({ sqlState: '57014' });
  expect((await session.run('SELECT 7 AS seven', { displayLimit: 10 })).values).toEqual([[7]]);
});

test('a stopped warehouse is started on connect', async () => {
  const stopped = await stopWarehouse(workspace, (await connectWarehouse({ workspace, caCert, env: {} })).warehouse.id!);
  expect(stopped.state).toBe('STOPPED');
  const states: string[] = [];
  const { session: second, warehouse } = await connectWarehouse({ workspace, caCert, env: {}, onProgress: (progress) => states.push(progress.state) });
  expect(warehouse.state).toBe('RUNNING');
  expect((await second.run('SELECT 1 AS one', { displayLimit: 10 })).values).toEqual([[1]]);
  await second.close();
  const refused = await stopWarehouse(workspace, warehouse.id!).then(() => connectWarehouse({ workspace, caCert, env: {}, start: false })).catch((error: unknown) => error);
  expect(refused).toMatchObject({ code: 'WAREHOUSE_STOPPED' });
});
