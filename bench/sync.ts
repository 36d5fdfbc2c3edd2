// Issue 9's figures, each beside its baseline in the same run, through a real kernel:
//  - a FULL `%lakebase sync run` of 1,000,000 rows from one database into a new table of another
//    database of the same server, against `psql \copy` of the same rows (exported once as COPY
//    text) into an identical table there — target: at least half of \copy's rate;
//  - the kernel's peak memory during that sync, above the idle kernel — target: under 200 MiB;
//  - an INCREMENTAL sync after 1% of the rows changed, against the FULL sync — target: under a
//    tenth of its time — twice: with the changes spread over every page of the table (the worst
//    case: every page is read in the source and written in the target), and with the newest 1%
//    changed (the usual case of a table that grows and is updated where it is new);
//  - a FULL sync into the existing table (DELETE + COPY in one transaction: readers see old rows
//    until it commits), against the same \copy.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startKernel, type KernelClient } from '../kernel/wire/client';
import { builtKernelArgv, REPO_ROOT } from '../test/support/jupyter';
import type { TestPostgres } from '../test/support/postgres';
import type { Row } from './kernel';
import { peakMiB, residentMiB, resetPeak, round, runMeasured, significant, timeIt } from './measure';

const ROWS = 1_000_000;
const CHANGED = ROWS / 100;

function row(measure: string, ours: number, baseline: number, baselineName: string, unit: string, target?: string): Row {
  return { measure, ours: round(ours), baseline: round(baseline), baselineName, unit, ratio: significant(ours / baseline), target };
}

async function cell(kernel: KernelClient, code: string): Promise<void> {
  const { reply } = await kernel.execute(code);
  if (reply.content.status !== 'ok') throw new Error(`benchmark cell failed: ${JSON.stringify(reply.content).slice(0, 500)}`);
}

export async function benchSync(server: TestPostgres, log: (line: string) => void): Promise<Row[]> {
  const rows: Row[] = [];
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query('DROP DATABASE IF EXISTS bench_app');
  await admin.query('DROP DATABASE IF EXISTS bench_serving');
  await admin.query('CREATE DATABASE bench_app');
  await admin.query('CREATE DATABASE bench_serving');
  await admin.end();
  const on = (database: string) => new pg.Client({ connectionString: server.url.replace(/\/[^/]*$/, `/${database}`) });
  const source = on('bench_app');
  const target = on('bench_serving');
  await source.connect();
  await target.connect();
  const scratch = mkdtempSync(join(tmpdir(), 'lakebase-bench-sync-'));
  const env = { ...process.env, ...server.env, PGDATABASE: 'bench_serving' };
  let kernel: KernelClient | undefined;
  try {
    log('sync: a 1,000,000-row source table ...');
    await source.query(`CREATE TABLE events AS SELECT g AS id, 'row number ' || g || ' of the benchmark table' AS label, g * 1.5 AS amount,
      timestamptz '2026-01-01' + g * interval '1 second' AS updated_at, g % 1000 AS bucket FROM generate_series(1, ${ROWS}) g`);
    await source.query('ALTER TABLE events ADD PRIMARY KEY (id)');
    await source.query('CREATE INDEX ON events (updated_at)');
    await source.query('VACUUM ANALYZE events');
    // The baseline's input: the same rows as COPY text, written once (not timed).
    const file = join(scratch, 'events.copy');
    runMeasured(['psql', '-X', '-q', '-d', 'bench_app', '-c', `\\copy events TO '${file}'`], env);
    await target.query('CREATE TABLE baseline (id integer PRIMARY KEY, label text, amount numeric, updated_at timestamp with time zone, bucket integer)');

    kernel = await startKernel({ argv: builtKernelArgv(), env, cwd: REPO_ROOT, output: 'ignore' });
    await cell(kernel, '%lakebase connect --as serving');
    await cell(kernel, '%lakebase connect -d bench_app --as app');
    await cell(kernel, '%lakebase use serving');
    // Let the TypeScript compiler finish loading: it blocks the event loop for about a second.
    await cell(kernel, '1');
    const pid = kernel.process!.pid;

    log('sync: FULL sync into a new table, beside psql \\copy ...');
    const idle = residentMiB(pid);
    resetPeak(pid);
    const full = await timeIt(() => cell(kernel!, '%lakebase sync run --from events --to events_copy --from-connection app --mode FULL --watermark updated_at'));
    const peakAboveIdle = peakMiB(pid) - idle;
    const copy = runMeasured(['psql', '-X', '-q', '-c', `\\copy baseline FROM '${file}'`], env);
    const count = Number((await target.query('SELECT count(*) AS n FROM events_copy')).rows[0].n);
    if (count !== ROWS) throw new Error(`the sync wrote ${count} rows, not ${ROWS}`);
    rows.push(row('FULL sync of 1M rows into a new table (rate)', ROWS / (full.ms / 1000), ROWS / (copy.ms / 1000), 'psql \\copy into the same server', 'rows/s', '≥ 0.5× \\copy'));
    rows.push(row('FULL sync of 1M rows: kernel peak memory above idle', peakAboveIdle, copy.peakMiB, 'psql \\copy peak RSS', 'MiB', '< 200 MiB'));

    // Changes spread over the whole table (every 100th row: every page is read and written), and
    // changes to the newest rows (a few pages): the worst and the usual case of "1% changed".
    log(`sync: INCREMENTAL after ${CHANGED.toLocaleString('en-US')} changed rows spread over the table ...`);
    await source.query(`UPDATE events SET label = 'changed', updated_at = updated_at + interval '400 days' WHERE id % 100 = 0`);
    const spread = await timeIt(() => cell(kernel!, '%lakebase sync run --from events --to events_copy --from-connection app --mode INCREMENTAL'));
    const changed = Number((await target.query("SELECT count(*) AS n FROM events_copy WHERE label = 'changed'")).rows[0].n);
    if (changed !== CHANGED) throw new Error(`the incremental sync brought ${changed} changed rows, not ${CHANGED}`);
    rows.push(row('INCREMENTAL sync, 1% of 1M rows changed, spread over every page (time)', spread.ms, full.ms, 'the FULL sync', 'ms', '< 0.1× FULL'));

    log(`sync: INCREMENTAL after the ${CHANGED.toLocaleString('en-US')} newest rows changed ...`);
    await source.query(`UPDATE events SET label = 'recent', updated_at = updated_at + interval '800 days' WHERE id > ${ROWS - CHANGED}`);
    const recent = await timeIt(() => cell(kernel!, '%lakebase sync run --from events --to events_copy --from-connection app --mode INCREMENTAL'));
    const recentRows = Number((await target.query("SELECT count(*) AS n FROM events_copy WHERE label = 'recent'")).rows[0].n);
    if (recentRows !== CHANGED) throw new Error(`the incremental sync brought ${recentRows} recent rows, not ${CHANGED}`);
    rows.push(row('INCREMENTAL sync, the newest 1% of 1M rows changed (time)', recent.ms, full.ms, 'the FULL sync', 'ms', '< 0.1× FULL'));

    log('sync: FULL sync into the existing table (old rows replaced in one transaction) ...');
    const again = await timeIt(() => cell(kernel!, '%lakebase sync run --from events --to events_copy --from-connection app --mode FULL --watermark updated_at'));
    await target.query('TRUNCATE baseline');
    const copyAgain = runMeasured(['psql', '-X', '-q', '-c', `\\copy baseline FROM '${file}'`], env);
    rows.push(row('FULL sync of 1M rows into the existing table (rate)', ROWS / (again.ms / 1000), ROWS / (copyAgain.ms / 1000), 'psql \\copy into an empty table', 'rows/s'));
  } finally {
    if (kernel) {
      await kernel.shutdown();
      await kernel.close();
    }
    await source.end();
    await target.end();
    rmSync(scratch, { recursive: true, force: true });
  }
  return rows;
}
