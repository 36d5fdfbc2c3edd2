// The kernel-side sync engine with a Databricks SQL warehouse as the source: the emulator's
// warehouse (the official driver, Arrow batches) into the emulator's instance (a real PostgreSQL),
// FULL, INCREMENTAL by Change Data Feed (inserts, updates, deletes) and by watermark, compared row
// by row with what the warehouse returns.
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startEmulator } from '../emulator/index';
import type { RunningEmulator } from '../emulator/contracts';
import { createRefresherRegistry } from '../lakebase/credentials';
import type { RefresherRegistry } from '../lakebase/credentials';
import { connectInstance } from '../lakebase/instance';
import type { LakebaseSession } from '../lakebase/session';
import { runSync, SYNC_ERRORS } from '../lakebase/sync/index';
import { connectWarehouse } from '../lakebase/warehouse/warehouses';
import type { WarehouseSession } from '../lakebase/warehouse/session';
import { openWorkspace } from '../lakebase/workspace';

let dataDir: string;
let emulator: RunningEmulator;
let warehouse: WarehouseSession;
let target: LakebaseSession;
let refreshers: RefresherRegistry;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lakebase-sync-warehouse-'));
  await chmod(dataDir, 0o755);
  emulator = await startEmulator({ dataDir, port: 0, transitionDelayMs: 0 });
  const workspace = await openWorkspace({ host: emulator.host, token: emulator.user.token, authType: 'pat', env: {} });
  ({ session: warehouse } = await connectWarehouse({ workspace, warehouse: 'serverless starter warehouse', caCert: await readFile(emulator.caCertPath), env: {} }));
  await workspace.createInstance({ name: 'serving', capacity: 'CU_1' });
  refreshers = createRefresherRegistry();
  const connection = await connectInstance({ instance: 'serving', workspace, env: {}, sslRootCert: emulator.caCertPath, refreshers });
  target = await connection.openSession({});
}, 120_000);

afterAll(async () => {
  await target?.close();
  await warehouse?.close();
  refreshers?.stopAll();
  await emulator?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function delta(sql: string): Promise<void> {
  await warehouse.run(sql, { displayLimit: 0 });
}

/** Rows as JSON text, key order, from either side: the same values print the same. */
async function warehouseRows(sql: string): Promise<string[]> {
  return (await warehouse.fetchArrow(sql)).toArray().map((row) => JSON.stringify(Object.values(row.toJSON()), (_key, value: unknown) => (typeof value === 'bigint' ? Number(value) : value)));
}

async function postgresRows(sql: string): Promise<string[]> {
  return ((await target.run(sql, { displayLimit: Number.MAX_SAFE_INTEGER, fetchAll: true })).values as unknown[][]).map((row) => JSON.stringify(row));
}

describe('a warehouse as the source', () => {
  test('FULL creates the table with mapped types; INCREMENTAL follows the change data feed, deletes included', async () => {
    await delta(`CREATE TABLE main.default.accounts (id BIGINT, owner STRING, balance DECIMAL(12,2), opened DATE, seen TIMESTAMP, active BOOLEAN)
      TBLPROPERTIES (delta.enableChangeDataFeed = true)`);
    await delta(`INSERT INTO main.default.accounts SELECT id, concat('owner ', id), id * 10.5, DATE '2026-01-01', TIMESTAMP '2026-01-01 10:00:00', id % 2 = 0 FROM range(1, 2001)`);

    const full = await runSync({ source: warehouse, from: 'main.default.accounts', target, to: 'accounts', mode: 'FULL', key: ['id'] });
    expect(full).toMatchObject({ created: true, rowsWritten: 2000, sourceVersion: { from: undefined } });
    expect(full.columns.map((column) => [column.name, column.sourceType, column.targetType])).toEqual([
      ['id', 'BIGINT', 'bigint'], ['owner', 'STRING', 'text'], ['balance', 'DECIMAL(12,2)', 'numeric(12,2)'],
      ['opened', 'DATE', 'date'], ['seen', 'TIMESTAMP', 'timestamp with time zone'], ['active', 'BOOLEAN', 'boolean'],
    ]);
    const readBack = "SELECT id::int, owner, balance::text, opened::text, (extract(epoch FROM seen) * 1000)::bigint::int8 AS seen_ms, active FROM accounts ORDER BY id";
    const fromSource = 'SELECT CAST(id AS INT), owner, CAST(balance AS STRING), CAST(opened AS STRING), seen, active FROM main.default.accounts ORDER BY id';
    const same = async () => expect((await postgresRows(readBack)).map((row) => row.replace(/"(\d+)",(true|false)\]$/, '$1,$2]'))).toEqual(await warehouseRows(fromSource));
    await same();

    await delta("UPDATE main.default.accounts SET balance = balance + 1, owner = 'updated' WHERE id % 10 = 0");
    await delta('DELETE FROM main.default.accounts WHERE id > 1990');
    await delta("INSERT INTO main.default.accounts VALUES (5000, 'new', 1.00, DATE '2026-02-01', TIMESTAMP '2026-02-01 00:00:00', true)");
    const incremental = await runSync({ source: warehouse, from: 'main.default.accounts', target, to: 'accounts', mode: 'INCREMENTAL' });
    expect(incremental.sourceVersion).toEqual({ from: full.sourceVersion!.to, to: full.sourceVersion!.to + 3 });
    // 200 updated (one of them deleted later), 10 deleted, 1 inserted.
    expect(incremental.rowsWritten).toBe(210);
    await same();

    const nothing = await runSync({ source: warehouse, from: 'main.default.accounts', target, to: 'accounts', mode: 'INCREMENTAL' });
    expect(nothing).toMatchObject({ rowsRead: 0, rowsWritten: 0 });
    expect(String(nothing)).toMatch(/no Delta version after/);
  });

  test('a query source with a watermark; a table without Change Data Feed needs one', async () => {
    await delta('CREATE TABLE main.default.visits (id INT, page STRING, at BIGINT)');
    await delta("INSERT INTO main.default.visits SELECT id, concat('/page/', id % 7), id * 10 FROM range(1, 301)");
    await expect(runSync({ source: warehouse, from: 'main.default.visits', target, to: 'visits', mode: 'INCREMENTAL', key: ['id'] }))
      .rejects.toMatchObject({ code: SYNC_ERRORS.watermarkRequired });
    const query = "SELECT id, page, at FROM main.default.visits WHERE page <> '/page/0'";
    const first = await runSync({ source: warehouse, from: query, target, to: 'visits', mode: 'INCREMENTAL', key: ['id'], watermark: 'at' });
    expect(first.rowsWritten).toBe(258);
    await delta("INSERT INTO main.default.visits VALUES (1000, '/page/1', 5000), (1001, '/page/0', 5000)");
    const next = await runSync({ source: warehouse, from: query, target, to: 'visits', mode: 'INCREMENTAL' });
    // The new row, and the one at the old watermark (3000, read again by >=).
    expect(next.rowsRead).toBe(2);
    expect(await postgresRows('SELECT id, page FROM visits ORDER BY id')).toEqual(await warehouseRows(`SELECT id, page FROM (${query}) ORDER BY id`));
  });
});
