// Unity Catalog's REST API on the local lakehouse, through the official JS SDK: catalogs, schemas
// and tables made through the API are seen by SQL, and the other way round.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError, WorkspaceClient } from '@databricks/sdk-experimental';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startEmulator } from '../emulator/index';
import type { RunningEmulator } from '../emulator/contracts';
import { sql } from './support/lakehouse';

let dataDir: string;
let emulator: RunningEmulator;
let workspace: WorkspaceClient;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lakebase-uc-api-'));
  await chmod(dataDir, 0o755);
  emulator = await startEmulator({ dataDir, port: 0, transitionDelayMs: 0 });
  workspace = new WorkspaceClient({ host: emulator.host, token: emulator.user.token, authType: 'pat' });
});

afterAll(async () => {
  await emulator?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function all<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

test('main.default exists; catalogs, schemas and tables through the SDK', async () => {
  expect((await all(workspace.catalogs.list({}))).map((catalog) => catalog.name)).toEqual(['main']);
  expect((await all(workspace.schemas.list({ catalog_name: 'main' }))).map((schema) => schema.full_name)).toEqual(['main.default']);

  const created = await workspace.catalogs.create({ name: 'Sales', comment: 'from the API' });
  expect(created).toMatchObject({ name: 'sales', comment: 'from the API', owner: 'default-user@lakebase.local' });
  await workspace.schemas.create({ catalog_name: 'sales', name: 'raw' });
  expect((await all(workspace.schemas.list({ catalog_name: 'sales' }))).map((schema) => schema.name)).toEqual(['default', 'raw']);

  const lakehouse = await emulator.lakehouse.get();
  const session = await lakehouse.openSession({ user: 'default-user@lakebase.local' });
  await sql(session, 'CREATE TABLE sales.raw.orders (id BIGINT NOT NULL, amount DECIMAL(10,2), tags ARRAY<STRING>) TBLPROPERTIES (delta.enableChangeDataFeed = true)');
  await session.close();

  const tables = await all(workspace.tables.list({ catalog_name: 'sales', schema_name: 'raw' }));
  expect(tables.map((table) => table.full_name)).toEqual(['sales.raw.orders']);
  const orders = await workspace.tables.get({ full_name: 'sales.raw.orders' });
  expect(orders).toMatchObject({ table_type: 'MANAGED', data_source_format: 'DELTA', properties: { 'delta.enableChangeDataFeed': 'true' } });
  expect(orders.columns?.map((column) => [column.name, column.type_text, column.type_name, column.nullable])).toEqual([
    ['id', 'bigint', 'BIGINT', false],
    ['amount', 'decimal(10,2)', 'DECIMAL', true],
    ['tags', 'array<string>', 'ARRAY', true],
  ]);

  const missing = await workspace.tables.get({ full_name: 'sales.raw.nope' }).catch((error: unknown) => error);
  expect(missing).toBeInstanceOf(ApiError);
  expect(missing).toMatchObject({ statusCode: 404, errorCode: 'TABLE_DOES_NOT_EXIST' });

  await workspace.tables.delete({ full_name: 'sales.raw.orders' });
  expect(await all(workspace.tables.list({ catalog_name: 'sales', schema_name: 'raw' }))).toEqual([]);
  await workspace.catalogs.delete({ name: 'sales', force: true });
  expect((await all(workspace.catalogs.list({}))).map((catalog) => catalog.name)).toEqual(['main']);
});
