// The Statement Execution API through the official JS SDK: JSON_ARRAY inline, ARROW_STREAM as
// external links the emulator serves, asynchronous execution with status polling, and errors.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkspaceClient } from '@databricks/sdk-experimental';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startEmulator } from '../emulator/index';
import type { RunningEmulator } from '../emulator/contracts';

let dataDir: string;
let emulator: RunningEmulator;
let workspace: WorkspaceClient;
let warehouseId: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lakebase-statements-'));
  await chmod(dataDir, 0o755);
  emulator = await startEmulator({ dataDir, port: 0, transitionDelayMs: 0 });
  workspace = new WorkspaceClient({ host: emulator.host, token: emulator.user.token, authType: 'pat' });
  const warehouses = [];
  for await (const warehouse of workspace.warehouses.list({})) warehouses.push(warehouse);
  warehouseId = warehouses[0].id!;
});

afterAll(async () => {
  await emulator?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

test('JSON_ARRAY inline, with typed parameters', async () => {
  const response = await workspace.statementExecution.executeStatement({
    warehouse_id: warehouseId,
    statement: 'SELECT :n + 1 AS next, :s AS s, CAST(1.50 AS DECIMAL(4,2)) AS d, DATE\'2024-01-02\' AS day, array(1, 2) AS a',
    parameters: [
      { name: 'n', value: '41', type: 'INT' },
      { name: 's', value: "it's" },
    ],
    wait_timeout: '30s',
    format: 'JSON_ARRAY',
    disposition: 'INLINE',
  });
  expect(response.status?.state).toBe('SUCCEEDED');
  expect(response.manifest?.schema?.columns?.map((column) => [column.name, column.type_name])).toEqual([
    ['next', 'INT'],
    ['s', 'STRING'],
    ['d', 'DECIMAL'],
    ['day', 'DATE'],
    ['a', 'ARRAY'],
  ]);
  expect(response.result?.data_array).toEqual([['42', "it's", '1.50', '2024-01-02', '[1,2]']]);
});

test('ARROW_STREAM as external links served by the emulator, in chunks', async () => {
  const response = await workspace.statementExecution.executeStatement({
    warehouse_id: warehouseId,
    statement: 'SELECT id, id % 7 AS r FROM range(250000)',
    wait_timeout: '50s',
    format: 'ARROW_STREAM',
    disposition: 'EXTERNAL_LINKS',
  });
  expect(response.status?.state).toBe('SUCCEEDED');
  expect(response.manifest).toMatchObject({ total_row_count: 250000, total_chunk_count: 3 });
  let rows = 0;
  let sum = 0n;
  for (let index = 0; index < 3; index++) {
    const chunk =
      index === 0 ? response.result! : await workspace.statementExecution.getStatementResultChunkN({ statement_id: response.statement_id!, chunk_index: index });
    const link = chunk.external_links![0];
    // Presigned-style: fetched without the workspace token.
    const table = tableFromIPC(new Uint8Array(await (await fetch(link.external_link!)).arrayBuffer()));
    rows += table.numRows;
    for (const value of table.getChild('id')!) sum += value as bigint;
  }
  expect(rows).toBe(250000);
  expect(sum).toBe(BigInt((249999 * 250000) / 2));
});

test('asynchronous execution is polled to the end; errors carry the class', async () => {
  const started = await workspace.statementExecution.executeStatement({ warehouse_id: warehouseId, statement: 'SELECT count(*) AS n FROM range(3000000)', wait_timeout: '0s' });
  expect(['PENDING', 'RUNNING', 'SUCCEEDED']).toContain(started.status?.state);
  let current = started;
  while (current.status?.state === 'PENDING' || current.status?.state === 'RUNNING') {
    await new Promise((resolve) => setTimeout(resolve, 50));
    current = await workspace.statementExecution.getStatement({ statement_id: started.statement_id! });
  }
  expect(current.result?.data_array).toEqual([['3000000']]);

  const failed = await workspace.statementExecution.executeStatement({ warehouse_id: warehouseId, statement: 'SELECT * FROM nowhere', wait_timeout: '10s' });
  expect(failed.status).toMatchObject({ state: 'FAILED', error: { error_code: 'TABLE_OR_VIEW_NOT_FOUND' } });
});
