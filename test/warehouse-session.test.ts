// The kernel's warehouse session (lakebase/warehouse/) against the emulator's warehouse: found by
// name through the workspace's SDK client, results as ResultSets with Databricks column types,
// the display limit keeping only a page of a big result, named parameters, errors, cancel, a
// stopped warehouse started on connect, and the Arrow table of a result; the sql verb's preview of
// a big page on such a session.
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startEmulator } from '../emulator/index';
import type { RunningEmulator } from '../emulator/contracts';
import { openWorkspace } from '../lakebase/workspace';
import type { Workspace } from '../lakebase/workspace';
import { connectWarehouse, stopWarehouse } from '../lakebase/warehouse/warehouses';
import { openWarehouseSession } from '../lakebase/warehouse/session';
import type { WarehouseResultSet, WarehouseSession } from '../lakebase/warehouse/session';
import { SqlError } from '../lakebase/errors';
import type { ResultSet } from '../lakebase/result-set';
import { createMagics } from '../magics';
import { createConnectors } from '../magics/connectors';
import { recordingHost, runMagicCell } from './support/magic-host';
import { startTcpProxy } from './support/tcp-proxy';

let dataDir: string;
let emulator: RunningEmulator;
let workspace: Workspace;
let session: WarehouseSession;
let warehouse: Awaited<ReturnType<typeof connectWarehouse>>['warehouse'];
let caCert: Buffer;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lakebase-warehouse-session-'));
  await chmod(dataDir, 0o755);
  emulator = await startEmulator({ dataDir, port: 0, transitionDelayMs: 0 });
  workspace = await openWorkspace({ host: emulator.host, token: emulator.user.token, authType: 'pat', env: {} });
  caCert = await readFile(emulator.caCertPath);
  ({ session, warehouse } = await connectWarehouse({ workspace, warehouse: 'serverless starter warehouse', caCert, env: {} }));
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

test('a big result shows its page before the count ends; an abort while counting fails the statement, never a partial count', async () => {
  // A cross join streams its rows at once (a single range() is computed whole before its first row).
  const huge = 'SELECT a.id * 100000 + b.id AS id FROM range(100000) AS a, range(100000) AS b';
  const controller = new AbortController();
  const pages: { values: unknown[][]; counting: string | undefined }[] = [];
  const running = session.run(huge, {
    displayLimit: 5,
    signal: controller.signal,
    onPage: (page) => {
      pages.push({ values: page.values as unknown[][], counting: page.counting });
      controller.abort();
    },
  });
  await expect(running).rejects.toMatchObject({ sqlState: '57014' });
  expect(pages).toEqual([{ values: [[0n], [1n], [2n], [3n], [4n]], counting: 'running' }]);
  expect((await session.run('SELECT 8 AS eight', { displayLimit: 10 })).values).toEqual([[8]]);
  // A result that fits its page is never shown early.
  const small = await session.run('SELECT id FROM range(3)', { displayLimit: 5, onPage: () => pages.push({ values: [], counting: 'unexpected' }) });
  expect(small.rowCount).toBe(3);
  expect(pages).toHaveLength(1);
});

test('an interrupt ends the statement at once even when the warehouse has stopped answering; the session goes on once it answers', async () => {
  // The warehouse behind a proxy that, once the page is in, carries nothing more either way: the
  // next fetch and the cancel itself go unanswered, as from a warehouse or network that hangs.
  const odbc = warehouse.odbc_params!;
  const proxy = await startTcpProxy({ targetHost: odbc.hostname!, targetPort: odbc.port! });
  const behind = await openWarehouseSession({
    hostname: odbc.hostname!,
    port: proxy.port,
    path: odbc.path!,
    authenticate: (headers) => workspace.authenticate(headers),
    description: 'the warehouse behind a proxy',
    caCert,
  });
  try {
    const controller = new AbortController();
    const running = behind.run('SELECT a.id * 100000 + b.id AS id FROM range(100000) AS a, range(100000) AS b', {
      displayLimit: 5,
      signal: controller.signal,
      onPage: () => {
        proxy.stalled = true;
        // While the next fetch is on its way.
        setTimeout(() => controller.abort(), 100);
      },
    });
    await expect(running).rejects.toMatchObject({ sqlState: '57014' });
    expect(proxy.stalled).toBe(true);
    proxy.stalled = false;
    expect((await behind.run('SELECT 9 AS nine', { displayLimit: 10 })).values).toEqual([[9]]);
  } finally {
    proxy.stalled = false;
    await behind.close();
    await proxy.stop();
  }
});

test('the sql verb previews a big page only where displays can be replaced; elsewhere it shows the counted table once', async () => {
  // The magics over a real warehouse session: the connector opens it with the emulator's CA.
  const magics = createMagics({
    connectors: {
      ...createConnectors({ env: {} }),
      warehouse: async () => ({ session: (await connectWarehouse({ workspace, caCert, env: {} })).session, kind: 'warehouse', defaultName: 'wh' }),
    },
  });
  try {
    await runMagicCell(magics, '%lakebase connect --warehouse wh --as wh', recordingHost());
    const cell = '%lakebase sql --on wh SELECT id FROM range(300000)';
    // A host that cannot update a display (a terminal, any host that does not say it can).
    const plain = recordingHost();
    const value = (await runMagicCell(magics, cell, plain)) as ResultSet;
    expect(plain.displays).toEqual([]);
    expect(value.counting).toBeUndefined();
    expect(value.rowCount).toBe(300000);
    // A Jupyter host: the page under a display id, then the counted table in its place.
    const jupyter = Object.assign(recordingHost(), { updatesDisplays: true });
    expect(await runMagicCell(magics, cell, jupyter)).toBeUndefined();
    expect(jupyter.displays.map(({ value: shown, options }) => [(shown as ResultSet).counting, (shown as ResultSet).rowCount === 300000, options?.update === true])).toEqual([
      ['running', false, false],
      [undefined, true, true],
    ]);
    expect(jupyter.displays[1]!.options?.displayId).toBe(jupyter.displays[0]!.options?.displayId);
  } finally {
    await magics.close();
  }
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
