// Issue 8's figures, each beside its baseline in the same run, on a local emulator of its own
// (its lakehouse and its Lakebase instance hold the same 1,000,000 rows, 5 columns):
//  - a 1,000,000-row warehouse SELECT shown with the default display limit: time to the table (a
//    warehouse result shows its page before the rest is counted), time to the end of the cell
//    (every row counted) and kernel memory above idle (target < 100 MiB), vs. the same rows from
//    the emulator's PostgreSQL (the Lakebase instance) through `pg`, the same cell on a Lakebase
//    connection;
//  - fetching all of it as Arrow (`WarehouseSession.fetchArrow`, Thrift over HTTPS, Arrow record
//    batches), vs. `psql \copy` of the same rows out of the instance (the physical baseline;
//    target within 3×).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { ensureEmulatorDaemon, stopEmulatorDaemon } from '../emulator/index';
import { startKernel } from '../kernel/wire/client';
import type { KernelClient } from '../kernel/wire/client';
import type { JupyterMessage } from '../kernel/wire/messages';
import { openEmbeddedWorkspace } from '../lakebase/embedded';
import { connectWarehouse } from '../lakebase/warehouse/warehouses';
import { builtKernelArgv, REPO_ROOT } from '../test/support/jupyter';
import type { Row } from './kernel';
import { now, peakMiB, residentMiB, resetPeak, round, runMeasured, significant, timeIt } from './measure';

function row(measure: string, ours: number, baseline: number, baselineName: string, unit: string, target?: string): Row {
  return { measure, ours: round(ours), baseline: round(baseline), baselineName, unit, ratio: significant(ours / baseline), target };
}

async function cell(kernel: KernelClient, code: string, onIopub?: (message: JupyterMessage) => void): Promise<void> {
  const { reply } = await kernel.execute(code, onIopub ? { onIopub } : {});
  if (reply.content.status !== 'ok') throw new Error(`benchmark cell failed: ${JSON.stringify(reply.content).slice(0, 500)}`);
}

/**
 * For one cell: the time to the first table on screen (a warehouse shows a big result's page
 * before its rows are counted; a Lakebase result shows when counted), the time to the end of the
 * cell (the count shown), and peak kernel memory above idle.
 */
async function displayed(kernel: KernelClient, code: string): Promise<{ tableMs: number; doneMs: number; aboveIdleMiB: number }> {
  const pid = kernel.process!.pid!;
  // The first run warms up both paths (driver and Arrow loaded, plans cached); the second is measured.
  await cell(kernel, code);
  const idle = residentMiB(pid);
  resetPeak(pid);
  const started = now();
  let tableAt: number | undefined;
  await cell(kernel, code, (message) => {
    const type = message.header.msg_type;
    const html = (message.content.data as Record<string, unknown> | undefined)?.['text/html'];
    if (tableAt === undefined && (type === 'display_data' || type === 'execute_result') && typeof html === 'string' && html.includes('<table')) tableAt = now();
  });
  const doneMs = now() - started;
  if (tableAt === undefined) throw new Error('the benchmark cell showed no table');
  return { tableMs: tableAt - started, doneMs, aboveIdleMiB: peakMiB(pid) - idle };
}

export async function benchWarehouse(log: (line: string) => void): Promise<Row[]> {
  const rows: Row[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'lakebase-bench-warehouse-'));
  const env: NodeJS.ProcessEnv = { ...process.env, LAKEBASE_EMULATOR_DIR: dataDir };
  for (const name of Object.keys(env)) if (/^(PG|DATABRICKS_)/.test(name)) delete env[name];
  let kernel: KernelClient | undefined;
  try {
    await ensureEmulatorDaemon({ dataDir });
    kernel = await startKernel({ argv: builtKernelArgv(), env, cwd: REPO_ROOT, output: 'ignore' });
    log('warehouse: loading the same 1,000,000 rows into the lakehouse and the Lakebase instance ...');
    await cell(kernel, '%lakebase connect --as app\n%lakebase connect --warehouse --as lake');
    await cell(kernel, [
      '%%lakebase --on lake',
      'CREATE OR REPLACE TABLE main.default.bench_million AS SELECT id, md5(CAST(id AS STRING)) AS a, md5(CAST(id * 2 AS STRING)) AS b,',
      "  TIMESTAMP'2026-01-01 00:00:00' + id * INTERVAL '1 second' AS at, CAST(id * 1.5 AS DECIMAL(12,1)) AS amount FROM range(1, 1000001)",
    ].join('\n'));
    await cell(kernel, [
      '%%lakebase --on app',
      'DROP TABLE IF EXISTS bench_million;',
      'CREATE TABLE bench_million AS SELECT g::bigint AS id, md5(g::text) AS a, md5((g * 2)::text) AS b,',
      "  timestamptz '2026-01-01' + g * interval '1 second' AS at, (g * 1.5)::numeric(12,1) AS amount FROM generate_series(1, 1000000) AS g;",
    ].join('\n'));

    log('warehouse: 1,000,000-row SELECT with the default display limit ...');
    const warehouse = await displayed(kernel, '%%lakebase --on lake\nSELECT * FROM main.default.bench_million');
    const postgres = await displayed(kernel, '%%lakebase --on app\nSELECT * FROM bench_million');
    rows.push(row('warehouse 1M rows → displayed table (time)', warehouse.tableMs, postgres.tableMs, 'same rows from Lakebase through pg', 'ms'));
    rows.push(row('warehouse 1M rows → all rows counted (cell done)', warehouse.doneMs, postgres.doneMs, 'same rows from Lakebase through pg', 'ms'));
    rows.push(row('warehouse 1M rows → kernel peak memory above idle', warehouse.aboveIdleMiB, postgres.aboveIdleMiB, 'same rows through pg', 'MiB', '< 100 MiB'));

    log('warehouse: fetching all rows as Arrow, and psql \\copy of the same rows ...');
    const embedded = await openEmbeddedWorkspace({ dataDir });
    const { session } = await connectWarehouse({ workspace: embedded.workspace, env: {}, caCert: await readFile(embedded.emulator.caCertPath) });
    try {
      await session.fetchArrow('SELECT * FROM main.default.bench_million');
      const fetched = await timeIt(() => session.fetchArrow('SELECT * FROM main.default.bench_million'));
      if (fetched.value.numRows !== 1_000_000) throw new Error(`fetched ${fetched.value.numRows} rows, not 1,000,000`);
      const instance = await embedded.workspace.getInstance('local');
      const credential = await embedded.workspace.generateCredential({ instanceNames: ['local'], requestId: `bench-${Date.now()}` });
      const psqlEnv = {
        ...env,
        PGHOST: instance.read_write_dns!,
        PGPORT: '5432',
        PGUSER: embedded.userName,
        PGDATABASE: 'databricks_postgres',
        PGPASSWORD: credential.token,
        PGSSLMODE: 'require',
      };
      const copy = runMeasured(['psql', '-X', '-q', '-c', "\\copy (SELECT * FROM bench_million) TO '/dev/null'"], psqlEnv);
      rows.push(row('warehouse 1M rows fetched as Arrow (Thrift, HTTPS)', fetched.ms, copy.ms, 'psql \\copy of the same rows', 'ms', 'within 3×'));
    } finally {
      await session.close();
    }
    await cell(kernel, '%lakebase sql --on lake DROP TABLE main.default.bench_million');
    await cell(kernel, '%lakebase sql --on app DROP TABLE bench_million');
  } finally {
    if (kernel) {
      await kernel.shutdown();
      await kernel.close();
    }
    await stopEmulatorDaemon(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  }
  return rows;
}
