// The kernel-side sync engine, INCREMENTAL by a watermark column, on a real PostgreSQL: only
// changed rows are read, upserted by key, and the watermark is stored with them in one transaction.
import { beforeEach, describe, expect, test } from 'vitest';
import type { LakebaseSession } from '../lakebase/session';
import { runSync, STATE_SCHEMA, STATE_TABLE, SYNC_ERRORS } from '../lakebase/sync/index';
import { rowsAsText, sql, until, useSyncDatabases } from './support/sync-databases';

let source: LakebaseSession;
let target: LakebaseSession;
let sessionOn: (database: string) => Promise<LakebaseSession>;
useSyncDatabases((databases) => {
  ({ source, target, sessionOn } = databases);
});

const STATE = `${STATE_SCHEMA}.${STATE_TABLE}`;

beforeEach(async () => {
  await sql(source, 'DROP TABLE IF EXISTS items');
  await sql(source, `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2), updated_at timestamptz NOT NULL)`);
  await sql(source, 'CREATE INDEX ON items (updated_at)');
  await sql(source, `INSERT INTO items SELECT g, 'item ' || g, g * 0.5, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second'
    FROM generate_series(1, 2000) g`);
  await sql(target, 'DROP TABLE IF EXISTS items_copy');
  await sql(target, `DROP SCHEMA IF EXISTS ${STATE_SCHEMA} CASCADE`);
});

/** Changes some rows the way an application does: newer updated_at on every change. */
async function changeSource(): Promise<void> {
  await sql(source, "UPDATE items SET price = price + 1, updated_at = timestamptz '2026-02-01 00:00:00+00' + id * interval '1 ms' WHERE id % 100 = 0");
  await sql(source, "INSERT INTO items SELECT g, 'new ' || g, 1, timestamptz '2026-02-02 00:00:00+00' FROM generate_series(2001, 2010) g");
}

describe('INCREMENTAL sync by watermark', () => {
  test('the first run copies everything, later runs only what changed, and the target equals the source', async () => {
    const first = await runSync({ source, from: 'items', target, to: 'items_copy', mode: 'INCREMENTAL', watermark: 'updated_at' });
    expect(first).toMatchObject({ created: true, rowsRead: 2000, rowsWritten: 2000, key: ['id'] });
    expect(first.watermark).toEqual({ column: 'updated_at', from: undefined, to: '2026-01-01 00:33:20+00' });
    expect(await rowsAsText(target, 'items_copy')).toEqual(await rowsAsText(source, 'items'));

    await changeSource();
    // The watermark is remembered: the second run names neither it nor the key.
    const second = await runSync({ source, from: 'items', target, to: 'items_copy', mode: 'INCREMENTAL' });
    // 20 updated and 10 inserted (the row at the old watermark, id 2000, is among the updated).
    expect(second).toMatchObject({ created: false, rowsRead: 30, rowsWritten: 30 });
    expect(second.watermark).toEqual({ column: 'updated_at', from: '2026-01-01 00:33:20+00', to: '2026-02-02 00:00:00+00' });
    expect(await rowsAsText(target, 'items_copy')).toEqual(await rowsAsText(source, 'items'));

    // Nothing changed: only the rows at the watermark are read again (>= re-reads the boundary,
    // so a row committed later with the same value is not missed), and upserting them is harmless.
    const third = await runSync({ source, from: 'items', target, to: 'items_copy', mode: 'INCREMENTAL' });
    expect(third.rowsRead).toBe(10);
    expect(await rowsAsText(target, 'items_copy')).toEqual(await rowsAsText(source, 'items'));
    expect(await sql(target, `SELECT source, mode, key_columns, watermark_column, watermark, rows_last_run::int FROM ${STATE}`)).toEqual([
      ['public.items', 'INCREMENTAL', ['id'], 'updated_at', '2026-02-02 00:00:00+00', 10],
    ]);
  });

  test('a FULL sync with a watermark into a new database starts the state; INCREMENTAL continues from it', async () => {
    const full = await runSync({ source, from: 'items', target, to: 'items_copy', mode: 'FULL', watermark: 'updated_at' });
    expect(full.watermark).toEqual({ column: 'updated_at', from: undefined, to: '2026-01-01 00:33:20+00' });
    await changeSource();
    const next = await runSync({ source, from: 'items', target, to: 'items_copy', mode: 'INCREMENTAL' });
    expect(next).toMatchObject({ rowsRead: 30, rowsWritten: 30 });
    expect(await rowsAsText(target, 'items_copy')).toEqual(await rowsAsText(source, 'items'));
  });

  test('a target dropped since its last sync starts afresh: its old state is not used', async () => {
    await runSync({ source, from: 'items', target, to: 'items_copy', mode: 'INCREMENTAL', watermark: 'updated_at' });
    await sql(target, 'DROP TABLE items_copy');
    const again = await runSync({ source, from: 'items', target, to: 'items_copy', mode: 'INCREMENTAL', watermark: 'updated_at' });
    expect(again).toMatchObject({ created: true, rowsRead: 2000, rowsWritten: 2000 });
    expect(await rowsAsText(target, 'items_copy')).toEqual(await rowsAsText(source, 'items'));
  });

  test('rows sharing a key in one run keep the newest by the watermark', async () => {
    await sql(source, 'CREATE TABLE IF NOT EXISTS events (event_id serial PRIMARY KEY, item_id int, status text, at timestamptz)');
    await sql(source, 'TRUNCATE events');
    await sql(source, `INSERT INTO events (item_id, status, at) VALUES
      (1, 'placed', '2026-01-01 10:00+00'), (1, 'paid', '2026-01-01 11:00+00'), (2, 'placed', '2026-01-01 10:30+00'), (1, 'shipped', '2026-01-01 12:00+00')`);
    const result = await runSync({ source, from: 'SELECT item_id, status, at FROM events', target, to: 'items_copy', mode: 'INCREMENTAL', key: ['item_id'], watermark: 'at' });
    expect(result).toMatchObject({ rowsRead: 4, rowsWritten: 2 });
    expect(await sql(target, 'SELECT item_id, status FROM items_copy ORDER BY 1')).toEqual([[1, 'shipped'], [2, 'placed']]);
    await sql(source, 'DROP TABLE events');
  });

  test('an interrupted run commits neither rows nor watermark; the rerun converges without duplicates or gaps', async () => {
    // The view stops at id 1200 while the test holds the gate, with rows read before it streaming.
    await sql(source, 'DROP VIEW IF EXISTS gated_items');
    await sql(source, "CREATE VIEW gated_items AS SELECT * FROM items WHERE id <> 1200 OR pg_advisory_xact_lock_shared(4301)::text = ''");
    await runSync({ source, from: 'gated_items', target, to: 'items_copy', mode: 'INCREMENTAL', key: ['id'], watermark: 'updated_at' });
    const before = await rowsAsText(target, 'items_copy');
    const stateBefore = await sql(target, `SELECT watermark, rows_last_run::int FROM ${STATE}`);
    await sql(source, "UPDATE items SET name = 'changed', updated_at = updated_at + interval '60 days' WHERE id <= 1500");

    const gate = await sessionOn('app');
    await sql(gate, 'SELECT pg_advisory_lock(4301)');
    const controller = new AbortController();
    let rowsSeen = 0;
    const stopped = runSync({
      source, from: 'gated_items', target, to: 'items_copy', mode: 'INCREMENTAL', signal: controller.signal,
      onProgress: (p) => { rowsSeen = p.rows; },
    });
    try {
      await until(() => rowsSeen >= 500);
      controller.abort();
      await expect(stopped).rejects.toMatchObject({ code: SYNC_ERRORS.interrupted });
    } finally {
      await sql(gate, 'SELECT pg_advisory_unlock(4301)');
      await gate.close();
    }
    expect(await rowsAsText(target, 'items_copy')).toEqual(before);
    expect(await sql(target, `SELECT watermark, rows_last_run::int FROM ${STATE}`)).toEqual(stateBefore);

    // 1500 changed rows and the one at the old watermark (id 2000), each written once.
    const rerun = await runSync({ source, from: 'gated_items', target, to: 'items_copy', mode: 'INCREMENTAL' });
    expect(rerun).toMatchObject({ rowsRead: 1501, rowsWritten: 1501 });
    expect(await rowsAsText(target, 'items_copy')).toEqual(await rowsAsText(source, 'items'));
    await sql(source, 'DROP VIEW gated_items');
  });

  test('what INCREMENTAL needs is asked for by name: key, watermark, a unique key on the target, the same setup', async () => {
    await expect(runSync({ source, from: 'SELECT * FROM items', target, to: 'items_copy', mode: 'INCREMENTAL', watermark: 'updated_at' }))
      .rejects.toMatchObject({ code: SYNC_ERRORS.keyRequired });
    await expect(runSync({ source, from: 'items', target, to: 'items_copy', mode: 'INCREMENTAL' }))
      .rejects.toMatchObject({ code: SYNC_ERRORS.watermarkRequired });
    await expect(runSync({ source, from: 'items', target, to: 'items_copy', mode: 'INCREMENTAL', watermark: 'changed_at' }))
      .rejects.toMatchObject({ code: SYNC_ERRORS.columnNotFound });
    await sql(target, 'CREATE TABLE items_copy (id int, name text, price numeric, updated_at timestamptz)');
    await expect(runSync({ source, from: 'items', target, to: 'items_copy', mode: 'INCREMENTAL', watermark: 'updated_at' }))
      .rejects.toMatchObject({ code: SYNC_ERRORS.targetMismatch, hint: expect.stringContaining('ADD PRIMARY KEY (id)') });
    await sql(target, 'ALTER TABLE items_copy ADD PRIMARY KEY (id)');
    await runSync({ source, from: 'items', target, to: 'items_copy', mode: 'INCREMENTAL', watermark: 'updated_at' });
    await expect(runSync({ source, from: 'items', target, to: 'items_copy', mode: 'INCREMENTAL', watermark: 'price' }))
      .rejects.toMatchObject({ code: SYNC_ERRORS.stateMismatch });
    // A FULL sync with the new watermark starts over; INCREMENTAL continues from it.
    await runSync({ source, from: 'items', target, to: 'items_copy', mode: 'FULL', watermark: 'price' });
    const next = await runSync({ source, from: 'items', target, to: 'items_copy', mode: 'INCREMENTAL' });
    expect(next.watermark).toMatchObject({ column: 'price', from: '1000.00' });
  });
});
