// `%lakebase sync run` through the real kernel process over ZeroMQ, against a real PostgreSQL with
// a source and a target database: the progress bar as one display updated in place, the result,
// and a kernel killed with SIGKILL in the middle of a sync, which must leave the target as it was
// (rows and stored watermark) and let the next kernel's rerun converge.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { KernelClient } from '../kernel/wire/client';
import { runCell, startBuiltKernel, stopKernel } from './support/jupyter';
import { startTestPostgres, type TestPostgres } from './support/postgres';

let server: TestPostgres;
let source: pg.Client;
let target: pg.Client;

function clientOn(database: string): pg.Client {
  return new pg.Client({ connectionString: server.url.replace(/\/[^/]*$/, `/${database}`) });
}

async function startKernelOnBoth(): Promise<KernelClient> {
  // The kernel finds the target through PG*; the source is the same server's `app` database.
  const kernel = await startBuiltKernel({ output: 'ignore', env: { ...process.env, ...server.env, PGDATABASE: 'serving' } });
  expect((await runCell(kernel, '%lakebase connect --as serving')).status).toBe('ok');
  expect((await runCell(kernel, '%lakebase connect -d app --as app')).status).toBe('ok');
  expect((await runCell(kernel, '%lakebase use serving')).status).toBe('ok');
  return kernel;
}

async function rows(client: pg.Client, sql: string): Promise<string[]> {
  return (await client.query(sql)).rows.map((row) => JSON.stringify(row));
}

async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 50));
}

beforeAll(async () => {
  server = await startTestPostgres();
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query('CREATE DATABASE app');
  await admin.query('CREATE DATABASE serving');
  await admin.end();
  source = clientOn('app');
  target = clientOn('serving');
  await source.connect();
  await target.connect();
  await source.query(`CREATE TABLE items AS SELECT g AS id, 'item ' || g AS name, g * 0.5 AS price,
    timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second' AS updated_at FROM generate_series(1, 20000) g`);
  await source.query('ALTER TABLE items ADD PRIMARY KEY (id)');
  // The gate: while the test holds advisory lock 4401, reading id 15000 waits (rows before it stream on).
  await source.query("CREATE VIEW gated_items AS SELECT * FROM items WHERE id <> 15000 OR pg_advisory_xact_lock_shared(4401)::text = ''");
});

afterAll(async () => {
  await source?.end();
  await target?.end();
  await server?.stop();
});

describe('sync run in a kernel', () => {
  test('a FULL sync shows one progress line updated in place, then the result; the target equals the source', async () => {
    const kernel = await startKernelOnBoth();
    try {
      const cell = await runCell(kernel, '%lakebase sync run --from items --to items_copy --from-connection app');
      expect(cell.status).toBe('ok');
      // One display (the line), updated in place under its display id, ending DONE.
      expect(cell.displays).toHaveLength(1);
      expect(String(cell.displays[0]['text/plain'])).toMatch(/^sync items_copy · FULL/);
      const displayId = (cell.execution.messages.find((message) => message.header.msg_type === 'display_data')!.content.transient as { display_id: string }).display_id;
      expect(cell.updates.length).toBeGreaterThan(0);
      for (const update of cell.updates) expect((update.transient as { display_id: string }).display_id).toBe(displayId);
      const last = String((cell.updates.at(-1)!.data as Record<string, unknown>)['text/plain']);
      expect(last).toMatch(/20,000 rows/);
      expect(last).toMatch(/DONE/);
      expect(String(cell.result?.['text/plain'])).toMatch(/^FULL sync public\.items → public\.items_copy\n20,000 rows/);
      expect(await rows(target, 'SELECT * FROM items_copy ORDER BY id')).toEqual(await rows(source, 'SELECT * FROM items ORDER BY id'));

      // The result is a value for TypeScript too.
      const value = await runCell(kernel, 'const r = %lakebase sync run --from items --to items_copy --from-connection app\nconsole.log(r.rowsWritten, r.created)');
      expect(value.stdout).toBe('20000 false\n');
    } finally {
      await stopKernel(kernel);
    }
  });

  test('interrupting a FULL sync stops it: the cell fails with SYNC_INTERRUPTED and the target keeps its rows', async () => {
    const kernel = await startKernelOnBoth();
    try {
      expect((await runCell(kernel, '%lakebase sync run --from items --to interrupted_copy --from-connection app')).status).toBe('ok');
      const before = await rows(target, 'SELECT count(*) AS n, max(name) AS name FROM interrupted_copy');
      await source.query("UPDATE items SET name = 'zzz changed' WHERE id = 1");
      const gate = clientOn('app');
      await gate.connect();
      await gate.query('SELECT pg_advisory_lock(4401)');
      try {
        const running = runCell(kernel, '%lakebase sync run --from gated_items --to interrupted_copy --from-connection app');
        await until(async () => Number((await target.query("SELECT coalesce(sum(tuples_processed), 0) AS n FROM pg_stat_progress_copy WHERE datname = 'serving'")).rows[0].n) > 1000);
        await kernel.interrupt();
        const cell = await running;
        expect(cell.status).toBe('error');
        expect(cell.error?.evalue).toMatch(/interrupted; the target keeps the rows it had before/);
        expect(String((cell.updates.at(-1)!.data as Record<string, unknown>)['text/plain'])).toMatch(/FAILED · .*interrupted: the target keeps its previous rows/);
      } finally {
        await gate.query('SELECT pg_advisory_unlock(4401)');
        await gate.end();
      }
      expect(await rows(target, 'SELECT count(*) AS n, max(name) AS name FROM interrupted_copy')).toEqual(before);
      // The kernel goes on: the next sync runs.
      expect((await runCell(kernel, '%lakebase sync run --from items --to interrupted_copy --from-connection app')).status).toBe('ok');
      expect(await rows(target, "SELECT count(*) AS n FROM interrupted_copy WHERE name = 'zzz changed'")).toEqual([JSON.stringify({ n: '1' })]);
    } finally {
      await stopKernel(kernel);
    }
  });

  test('a kernel killed (SIGKILL) in the middle of an INCREMENTAL sync leaves the target and its watermark as they were; the rerun converges', async () => {
    let kernel = await startKernelOnBoth();
    try {
      expect((await runCell(kernel, '%lakebase sync run --from gated_items --to gated_copy --mode INCREMENTAL --key id --watermark updated_at --from-connection app')).status).toBe('ok');
      const before = await rows(target, 'SELECT * FROM gated_copy ORDER BY id');
      const stateBefore = await rows(target, 'SELECT watermark, rows_last_run FROM lakebase_sync.sync_state');
      await source.query("UPDATE items SET name = 'changed', updated_at = updated_at + interval '30 days' WHERE id > 5000");

      const gate = clientOn('app');
      await gate.connect();
      await gate.query('SELECT pg_advisory_lock(4401)');
      try {
        const running = kernel.execute('%lakebase sync run --from gated_items --to gated_copy --mode INCREMENTAL --from-connection app').catch(() => undefined);
        // Rows are in the target's COPY (into the sync's staging table) when the kernel dies.
        await until(async () => Number((await target.query("SELECT coalesce(sum(tuples_processed), 0) AS n FROM pg_stat_progress_copy WHERE datname = 'serving'")).rows[0].n) > 1000);
        process.kill(kernel.process!.pid, 'SIGKILL');
        await running;
      } finally {
        await gate.query('SELECT pg_advisory_unlock(4401)');
        await gate.end();
      }
      await kernel.close();
      // The server rolls back the dead kernel's transaction once it notices the connection is gone.
      await until(async () => Number((await target.query("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = 'serving' AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND state <> 'idle'")).rows[0].n) === 0);
      expect(await rows(target, 'SELECT * FROM gated_copy ORDER BY id')).toEqual(before);
      expect(await rows(target, 'SELECT watermark, rows_last_run FROM lakebase_sync.sync_state')).toEqual(stateBefore);

      kernel = await startKernelOnBoth();
      const rerun = await runCell(kernel, 'const again = %lakebase sync run --from gated_items --to gated_copy --mode INCREMENTAL --from-connection app\nconsole.log(again.rowsWritten)');
      expect(rerun.status).toBe('ok');
      // 15,000 changed rows (ids 5001..20000), each written once; the boundary row is among them.
      expect(rerun.stdout).toBe('15000\n');
      expect(await rows(target, 'SELECT * FROM gated_copy ORDER BY id')).toEqual(await rows(source, 'SELECT * FROM items ORDER BY id'));
    } finally {
      await stopKernel(kernel);
    }
  });
});
