// Issue 2's figures, each beside its baseline in the same run:
//  - kernel start to kernel_info_reply: ours, stock tslab, ipykernel;
//  - a trivial `%%lakebase SELECT 1` cell through the kernel vs. the same query on a bare `pg`
//    client, and vs. a trivial ipykernel cell;
//  - a 1,000,000-row SELECT displayed with the default limit: time to the displayed table and
//    peak memory of the kernel process above the idle kernel, vs. psql fetching the same rows;
//  - COPY FROM STDIN of a 1,000,000-row CSV file through a cell, vs. psql's \copy of the file.
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { startKernel, type KernelClient } from '../kernel/wire/client';
import { builtKernelArgv, REPO_ROOT } from '../test/support/jupyter';
import type { TestPostgres } from '../test/support/postgres';
import { now, peakMiB, residentMiB, resetPeak, round, runMeasured, sample, significant, summarize, timeIt } from './measure';

const PYTHON = '/usr/bin/python3';

export interface Row {
  measure: string;
  ours: number;
  baseline: number;
  baselineName: string;
  unit: string;
  /** ours / baseline */
  ratio: number;
  target?: string;
}

function row(measure: string, ours: number, baseline: number, baselineName: string, unit: string, target?: string): Row {
  return { measure, ours: round(ours), baseline: round(baseline), baselineName, unit, ratio: significant(ours / baseline), target };
}

/** Writes `rows` lines of `id,text,amount` CSV; returns the file's size in MB. */
function writeCsv(path: string, rows: number): number {
  const descriptor = openSync(path, 'w');
  try {
    const batch = 10_000;
    for (let start = 0; start < rows; start += batch) {
      const lines: string[] = [];
      for (let id = start; id < Math.min(rows, start + batch); id++) lines.push(`${id},row number ${id} of the benchmark file,${id * 1.5}\n`);
      writeSync(descriptor, lines.join(''));
    }
  } finally {
    closeSync(descriptor);
  }
  return statSync(path).size / 1e6;
}

function hasIpykernel(): boolean {
  if (!existsSync(PYTHON)) return false;
  const { status } = require('node:child_process').spawnSync(PYTHON, ['-c', 'import ipykernel']) as { status: number };
  return status === 0;
}

async function startTime(argv: string[], env: NodeJS.ProcessEnv, runs: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const start = now();
    const kernel = await startKernel({ argv, env, cwd: REPO_ROOT, output: 'ignore' });
    samples.push(now() - start);
    await kernel.shutdown();
    await kernel.close();
  }
  return samples;
}

async function cell(kernel: KernelClient, code: string): Promise<void> {
  const { reply } = await kernel.execute(code);
  if (reply.content.status !== 'ok') throw new Error(`benchmark cell failed: ${JSON.stringify(reply.content).slice(0, 500)}`);
}

export async function benchKernel(server: TestPostgres, log: (line: string) => void): Promise<Row[]> {
  const rows: Row[] = [];
  const env = { ...process.env, ...server.env };
  const ipykernel = hasIpykernel();
  const ipykernelArgv = [PYTHON, '-m', 'ipykernel_launcher', '-f', '{connection_file}'];

  log('kernel start to kernel_info_reply ...');
  const ours = summarize(await startTime(builtKernelArgv(), env, 5));
  const tslabArgv = [process.execPath, join(REPO_ROOT, 'node_modules', 'tslab', 'bin', 'tslab'), 'kernel', '--config-path', '{connection_file}'];
  const tslab = summarize(await startTime(tslabArgv, env, 5));
  rows.push(row('kernel start → kernel_info_reply (median)', ours.median, tslab.median, 'stock tslab', 'ms', '< 1000 ms'));
  if (ipykernel) {
    const python = summarize(await startTime(ipykernelArgv, env, 5));
    rows.push(row('kernel start → kernel_info_reply (median)', ours.median, python.median, 'ipykernel', 'ms'));
  }

  log('trivial SELECT 1 round trips ...');
  const kernel = await startKernel({ argv: builtKernelArgv(), env, cwd: REPO_ROOT, output: 'ignore' });
  try {
    await cell(kernel, '%lakebase connect');
    // Let the TypeScript compiler finish loading: it blocks the event loop for about a second.
    await cell(kernel, '1');
    const magicCell = summarize(await sample(300, 30, () => cell(kernel, '%%lakebase\nSELECT 1')));

    const client = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: server.database });
    await client.connect();
    const bare = summarize(await sample(300, 30, () => client.query('SELECT 1')));
    await client.end();
    rows.push(row('%%lakebase SELECT 1 cell round trip (median)', magicCell.median, bare.median, 'bare pg client.query', 'ms', '< bare + 5 ms'));
    rows.push(row('%%lakebase SELECT 1 cell, above the bare query (median)', magicCell.median - bare.median, 5, 'target 5 ms', 'ms', '< 5 ms'));

    if (ipykernel) {
      const python = await startKernel({ argv: ipykernelArgv, env, cwd: REPO_ROOT, output: 'ignore' });
      try {
        const trivial = summarize(await sample(300, 30, () => cell(python, '1')));
        rows.push(row('%%lakebase SELECT 1 cell round trip (median)', magicCell.median, trivial.median, 'ipykernel trivial cell', 'ms'));
      } finally {
        await python.shutdown();
        await python.close();
      }
    }

    log('1,000,000-row SELECT with the default display limit ...');
    await cell(kernel, [
      '%%lakebase',
      'DROP TABLE IF EXISTS bench_million;',
      'CREATE TABLE bench_million AS SELECT g AS id, md5(g::text) AS a, md5((g * 2)::text) AS b,',
      "  timestamptz '2026-01-01' + g * interval '1 second' AS at, g * 1.5 AS amount FROM generate_series(1, 1000000) AS g;",
    ].join('\n'));
    const pid = kernel.process!.pid;
    const idle = residentMiB(pid);
    resetPeak(pid);
    const display = await timeIt(() => cell(kernel, '%%lakebase\nSELECT * FROM bench_million'));
    const peakAboveIdle = peakMiB(pid) - idle;
    const psql = runMeasured(['psql', '-X', '-q', '-c', 'SELECT * FROM bench_million'], env);
    rows.push(row('1M rows → displayed table (time)', display.ms, psql.ms, 'psql fetching all rows', 'ms'));
    rows.push(row('1M rows → kernel peak memory above idle', peakAboveIdle, psql.peakMiB, 'psql peak RSS', 'MiB', '< 100 MiB'));
    await cell(kernel, '%lakebase sql DROP TABLE bench_million');

    log('COPY of a 1,000,000-row CSV file ...');
    const csv = join(mkdtempSync(join(tmpdir(), 'lakebase-bench-copy-')), 'million.csv');
    try {
      const megabytes = writeCsv(csv, 1_000_000);
      await cell(kernel, '%lakebase sql CREATE UNLOGGED TABLE bench_copy (id int, a text, amount numeric)');
      await cell(kernel, `const benchCsv = require("node:fs").createReadStream(${JSON.stringify(csv)});`);
      const copyIdle = residentMiB(pid);
      resetPeak(pid);
      const copied = await timeIt(() => cell(kernel, '%%lakebase --stdin benchCsv\nCOPY bench_copy FROM STDIN WITH (FORMAT csv)'));
      const copyPeakAboveIdle = peakMiB(pid) - copyIdle;
      await cell(kernel, '%lakebase sql TRUNCATE bench_copy');
      const psqlCopy = runMeasured(['psql', '-X', '-q', '-c', `\\copy bench_copy FROM '${csv}' WITH (FORMAT csv)`], env);
      const what = `COPY FROM STDIN of a 1M-row, ${Math.round(megabytes)} MB CSV file`;
      rows.push(row(`${what} (time)`, copied.ms, psqlCopy.ms, 'psql \\copy', 'ms'));
      rows.push(row(`${what}: kernel peak memory above idle`, copyPeakAboveIdle, psqlCopy.peakMiB, 'psql peak RSS', 'MiB'));
      await cell(kernel, '%lakebase sql DROP TABLE bench_copy');
    } finally {
      rmSync(dirname(csv), { recursive: true, force: true });
    }
  } finally {
    await kernel.shutdown();
    await kernel.close();
  }
  return rows;
}
