// The kernel-side sync engine, FULL mode, on a real PostgreSQL: a source database and a target
// database on one server, each reached through its own session, compared row by row.
import { beforeEach, describe, expect, test } from 'vitest';
import type { LakebaseSession } from '../lakebase/session';
import { runSync, SYNC_ERRORS } from '../lakebase/sync/index';
import type { SyncProgress } from '../lakebase/sync/index';
import { rowsAsText, sql, until, useSyncDatabases } from './support/sync-databases';

let source: LakebaseSession;
let target: LakebaseSession;
let sessionOn: (database: string) => Promise<LakebaseSession>;
useSyncDatabases((databases) => {
  ({ source, target, sessionOn } = databases);
});

beforeEach(async () => {
  await sql(source, 'DROP TABLE IF EXISTS orders');
  await sql(source, `CREATE TABLE orders (
    id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2), placed timestamptz, note text, tags text[], payload jsonb, data bytea)`);
  await sql(source, `INSERT INTO orders
    SELECT g, 'customer ' || (g % 97), (g * 1.25)::numeric(12,2), timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute',
           CASE WHEN g % 10 = 0 THEN NULL ELSE E'line\\tone\\nline "two" \\\\ back' END, ARRAY['a', 'b c'], jsonb_build_object('n', g), '\\x00ff'::bytea
      FROM generate_series(1, 5000) g`);
  await sql(target, 'DROP TABLE IF EXISTS orders_copy');
  await sql(target, 'DROP SCHEMA IF EXISTS lakebase_sync CASCADE');
});

describe('FULL sync', () => {
  test('creates the target with mapped types and the primary key, and copies every row exactly', async () => {
    const seen: SyncProgress[] = [];
    const result = await runSync({ source, from: 'orders', target, to: 'orders_copy', mode: 'FULL', onProgress: (p) => seen.push(p) });
    expect(result.created).toBe(true);
    expect(result.rowsWritten).toBe(5000);
    expect(result.key).toEqual(['id']);
    expect(await rowsAsText(target, 'orders_copy')).toEqual(await rowsAsText(source, 'orders'));
    const types = await sql(target, `SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
      WHERE attrelid = 'orders_copy'::regclass AND attnum > 0 ORDER BY attnum`);
    expect(types).toEqual([
      ['id', 'bigint'], ['customer', 'text'], ['amount', 'numeric(12,2)'], ['placed', 'timestamp with time zone'],
      ['note', 'text'], ['tags', 'text[]'], ['payload', 'jsonb'], ['data', 'bytea'],
    ]);
    expect(await sql(target, `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
      WHERE i.indrelid = 'orders_copy'::regclass AND i.indisprimary`)).toEqual([['id']]);
    expect(seen.at(-1)).toMatchObject({ phase: 'done', rows: 5000 });
    expect(seen.some((p) => p.phase === 'copying' && p.estimatedRows !== undefined)).toBe(true);
  });

  test('a second FULL sync replaces every row in place: indexes, grants and views on the target survive', async () => {
    await runSync({ source, from: 'orders', target, to: 'orders_copy', mode: 'FULL' });
    await sql(target, 'CREATE INDEX orders_copy_customer ON orders_copy (customer)');
    await sql(target, "DO $$ BEGIN CREATE ROLE sync_reader; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
    await sql(target, 'GRANT SELECT ON orders_copy TO sync_reader');
    await sql(target, 'CREATE VIEW big_orders AS SELECT id, amount FROM orders_copy WHERE amount > 6000');
    await sql(source, 'DELETE FROM orders WHERE id % 3 = 0');
    await sql(source, "UPDATE orders SET customer = 'changed' WHERE id % 5 = 0");
    await sql(source, "INSERT INTO orders (id, customer) SELECT g, 'new' FROM generate_series(5001, 5100) g");

    const result = await runSync({ source, from: 'public.orders', target, to: 'public.orders_copy', mode: 'FULL' });
    expect(result.created).toBe(false);
    expect(await rowsAsText(target, 'orders_copy')).toEqual(await rowsAsText(source, 'orders'));
    expect(await sql(target, "SELECT indexname FROM pg_indexes WHERE tablename = 'orders_copy' ORDER BY 1")).toEqual([['orders_copy_customer'], ['orders_copy_pkey']]);
    expect(await sql(target, "SELECT has_table_privilege('sync_reader', 'orders_copy', 'SELECT')")).toEqual([[true]]);
    expect(await sql(target, 'SELECT count(*)::int FROM big_orders')).toEqual(await sql(source, 'SELECT count(*)::int FROM orders WHERE amount > 6000'));
    await sql(target, 'DROP VIEW big_orders');
  });

  test('readers see the old rows while the load runs and the new ones after it, never a part', async () => {
    await sql(target, 'CREATE TABLE orders_copy (id bigint PRIMARY KEY, customer text)');
    await sql(target, "INSERT INTO orders_copy SELECT g, 'old' FROM generate_series(1, 10) g");
    // The source query stops at id 2500 until the test lets it go: rows before it are streaming
    // into the target by then, so the load is caught in the middle.
    const gate = await sessionOn('app');
    await sql(gate, 'SELECT pg_advisory_lock(4242)');
    let rowsSeen = 0;
    const sync = runSync({
      source, target, to: 'orders_copy', mode: 'FULL',
      from: "SELECT id, customer FROM orders WHERE id < 2500 OR pg_advisory_xact_lock_shared(4242)::text = ''",
      onProgress: (p) => { rowsSeen = p.rows; },
    });
    try {
      await until(() => rowsSeen >= 1000);
      expect(await sql(target, "SELECT count(*)::int, count(*) FILTER (WHERE customer = 'old')::int FROM orders_copy")).toEqual([[10, 10]]);
    } finally {
      await sql(gate, 'SELECT pg_advisory_unlock(4242)');
      await gate.close();
    }
    await sync;
    expect(await sql(target, "SELECT count(*)::int, count(*) FILTER (WHERE customer = 'old')::int FROM orders_copy")).toEqual([[5000, 0]]);
  });

  test('a source that fails half-way, a key that repeats and an interrupt each leave the old rows', async () => {
    await runSync({ source, from: 'orders', target, to: 'orders_copy', mode: 'FULL' });
    const before = await rowsAsText(target, 'orders_copy');

    // Division by zero at row 4000, after thousands of rows have gone into the target's COPY.
    const failing = runSync({ source, target, to: 'orders_copy', mode: 'FULL', from: 'SELECT id, customer, amount / (id - 4000) AS amount FROM orders' });
    await expect(failing).rejects.toMatchObject({ sqlState: '22012' });
    expect(await rowsAsText(target, 'orders_copy')).toEqual(before);

    const repeated = runSync({ source, target, to: 'orders_copy', mode: 'FULL', from: 'SELECT id % 100 AS id, customer FROM orders' });
    await expect(repeated).rejects.toMatchObject({ sqlState: '23505' });
    expect(await rowsAsText(target, 'orders_copy')).toEqual(before);

    const gate = await sessionOn('app');
    await sql(gate, 'SELECT pg_advisory_lock(4243)');
    const controller = new AbortController();
    let rowsSeen = 0;
    const interrupted = runSync({
      source, target, to: 'orders_copy', mode: 'FULL', signal: controller.signal,
      from: "SELECT id, customer FROM orders WHERE id < 2500 OR pg_advisory_xact_lock_shared(4243)::text = ''",
      onProgress: (p) => { rowsSeen = p.rows; },
    });
    try {
      await until(() => rowsSeen >= 1000);
      controller.abort();
      await expect(interrupted).rejects.toMatchObject({ code: SYNC_ERRORS.interrupted });
    } finally {
      await sql(gate, 'SELECT pg_advisory_unlock(4243)');
      await gate.close();
    }
    expect(await rowsAsText(target, 'orders_copy')).toEqual(before);
    // The target's lock is gone with the rolled-back transaction: the next sync runs.
    await runSync({ source, from: 'orders', target, to: 'orders_copy', mode: 'FULL' });
    expect(await rowsAsText(target, 'orders_copy')).toEqual(await rowsAsText(source, 'orders'));
  });

  test('types the target lacks load as text, a domain arrives as its base type; rows with a NULL key are skipped', async () => {
    await sql(source, 'DROP TYPE IF EXISTS mood CASCADE');
    await sql(source, 'DROP DOMAIN IF EXISTS positive CASCADE');
    await sql(source, "CREATE TYPE mood AS ENUM ('happy', 'sad')");
    await sql(source, 'CREATE DOMAIN positive AS numeric(8,2) CHECK (VALUE > 0)');
    const result = await runSync({
      source, target, to: 'orders_copy', mode: 'FULL', key: ['k'],
      from: "SELECT CASE WHEN id % 50 <> 0 THEN id::int END AS k, 'happy'::mood AS feeling, ARRAY['sad'::mood] AS feelings, 1.5::positive AS price, 'x' AS literal FROM orders WHERE id <= 100",
    });
    expect(result.columns.map((c) => [c.name, c.targetType, c.rule])).toEqual([
      ['k', 'integer', 'same'], ['feeling', 'text', 'as-text'], ['feelings', 'text[]', 'as-text'], ['price', 'numeric(8,2)', 'same'], ['literal', 'text', 'same'],
    ]);
    // ids 50 and 100 give k NULL: skipped.
    expect(result.rowsWritten).toBe(98);
    expect(await sql(target, "SELECT count(*)::int, min(feeling), min(feelings[1]), sum(price)::text, min(literal) FROM orders_copy")).toEqual([[98, 'happy', 'sad', '147.00', 'x']]);
  });

  test('mistakes are clear errors: missing source, missing column, target without a column, a write as source', async () => {
    await expect(runSync({ source, from: 'no_such_table', target, to: 'orders_copy', mode: 'FULL' })).rejects.toMatchObject({ code: SYNC_ERRORS.sourceNotFound });
    await expect(runSync({ source, from: 'orders', target, to: 'orders_copy', mode: 'FULL', key: ['nope'] })).rejects.toMatchObject({ code: SYNC_ERRORS.columnNotFound });
    await sql(target, 'CREATE TABLE orders_copy (id bigint PRIMARY KEY)');
    await expect(runSync({ source, from: 'orders', target, to: 'orders_copy', mode: 'FULL' })).rejects.toMatchObject({ code: SYNC_ERRORS.targetMismatch, message: expect.stringContaining('"customer"') });
    const syntax = await runSync({ source, from: 'SELECT id,, customer FROM orders', target, to: 'x', mode: 'FULL' }).catch((error: unknown) => error);
    expect(syntax).toMatchObject({ sqlState: '42601', source: { text: 'SELECT id,, customer FROM orders' } });
    await sql(source, 'CREATE SEQUENCE IF NOT EXISTS ticket');
    await expect(runSync({ source, from: "SELECT id, nextval('ticket') AS ticket FROM orders", target, to: 'y', mode: 'FULL' }))
      .rejects.toMatchObject({ sqlState: '25006' });
    expect(await sql(source, 'SELECT last_value::int, is_called FROM ticket')).toEqual([[1, false]]);
  });
});
