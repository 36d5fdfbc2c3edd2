// The emulator's lakehouse: started on first use, stopped with the emulator, and its catalogs,
// tables, rows and versions survive an emulator restart; a failed start leaves no server behind.
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { startEmulator } from '../emulator/index';
import type { RunningEmulator } from '../emulator/contracts';
import pg from 'pg';
import { ADMIN_ROLE } from '../emulator/postgres/instance-server';
import { sql, startTestLakehouse } from './support/lakehouse';

let dataDir: string | undefined;
let emulator: RunningEmulator | undefined;

afterAll(async () => {
  await emulator?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('state survives an emulator restart', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lakebase-lakehouse-restart-'));
  await chmod(dataDir, 0o755);
  emulator = await startEmulator({ dataDir, port: 0, transitionDelayMs: 0 });
  expect(emulator.lakehouse.started).toBe(false);
  let lakehouse = await emulator.lakehouse.get();
  await lakehouse.createCatalog('sales', 'someone@example.com');
  let session = await lakehouse.openSession({ user: 'someone@example.com', catalog: 'sales' });
  await sql(session, 'CREATE TABLE orders (id BIGINT, amount DECIMAL(10,2)) TBLPROPERTIES (delta.enableChangeDataFeed = true)');
  await sql(session, 'INSERT INTO orders VALUES (1, 9.99), (2, 20.00)');
  await sql(session, 'UPDATE orders SET amount = 10.50 WHERE id = 1');
  await session.close();
  await emulator.stop();

  emulator = await startEmulator({ dataDir, port: 0, transitionDelayMs: 0 });
  lakehouse = await emulator.lakehouse.get();
  session = await lakehouse.openSession({ user: 'someone@example.com' });
  expect((await sql(session, 'SHOW CATALOGS')).map((row) => row.catalog)).toEqual(['main', 'sales']);
  expect(await sql(session, 'SELECT id, CAST(amount AS STRING) AS amount FROM sales.default.orders ORDER BY id')).toEqual([
    { id: 1n, amount: '10.50' },
    { id: 2n, amount: '20.00' },
  ]);
  expect(await sql(session, 'SELECT count(*) AS n FROM sales.default.orders VERSION AS OF 1')).toEqual([{ n: 2n }]);
  const feed = await sql(session, "SELECT _change_type, _commit_version FROM table_changes('sales.default.orders', 2) ORDER BY _change_type");
  expect(feed).toEqual([
    { _change_type: 'update_postimage', _commit_version: 2n },
    { _change_type: 'update_preimage', _commit_version: 2n },
  ]);
  await session.close();
});

test('a lakehouse whose setup fails after its server started stops that server', async () => {
  const root = await mkdtemp(join(tmpdir(), 'lakebase-lakehouse-failed-start-'));
  try {
    const lake = await startTestLakehouse(root);
    // A composite type the catalog cannot read back makes the next start fail after the server is up.
    const client = new pg.Client({ host: join(root, 'lakehouse', 'socket'), port: 5432, user: ADMIN_ROLE, database: 'lakehouse' });
    await client.connect();
    await client.query('CREATE TYPE _lakehouse_types.struct_broken AS (a int)');
    await client.query("INSERT INTO _lakehouse.composite_types VALUES ('struct_broken', 'not a type')");
    await client.end();
    await lake.stop();
    await expect(startTestLakehouse(root)).rejects.toMatchObject({ errorClass: 'UNSUPPORTED_DATATYPE' });
    expect(existsSync(join(root, 'lakehouse', 'pgdata', 'postmaster.pid'))).toBe(false);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
