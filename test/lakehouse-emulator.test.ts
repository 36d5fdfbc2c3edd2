// The emulator's lakehouse: started on first use, stopped with the emulator, and its catalogs,
// tables, rows and versions survive an emulator restart.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { startEmulator } from '../emulator/index';
import type { RunningEmulator } from '../emulator/contracts';
import { sql } from './support/lakehouse';

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
