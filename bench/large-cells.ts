// Issue 12's figures: a big pasted cell costs the kernel little beyond what the server needs, and
// that cost grows linearly with the cell (before, a 300 KB literal took 88 s, a 5 MB body never
// came back), with the history on as a user's is:
//  - a 5 MB `%%lakebase` body (SELECT length('<5 MB literal>')) from sending it to its reply,
//    beside the same statement on a bare `pg` client (what the server needs, transfer included);
//    and the kernel's part (the difference) at 5 MB beside its part at 1 MB;
//  - a 1 MB TypeScript string literal, beside a tiny TypeScript cell, and beside a 256 KB literal;
//  - the kernel process's CPU time per cell at both sizes: unlike the time on the clock, which
//    includes the client decoding the cell's 5 MB echo (execute_input) and whatever else the
//    machine runs, it is the kernel's own work, and shows that it grows linearly.
import { startKernel, type KernelClient } from '../kernel/wire/client';
import { builtKernelArgv, REPO_ROOT } from '../test/support/jupyter';
import type { TestPostgres } from '../test/support/postgres';
import pg from 'pg';
import type { Row } from './kernel';
import { cpuMs, round, sample, significant, summarize } from './measure';

const MB = 1024 * 1024;
const RUNS = 5;

function row(measure: string, ours: number, baseline: number, baselineName: string, unit: string, target?: string): Row {
  return { measure, ours: round(ours), baseline: round(baseline), baselineName, unit, ratio: significant(ours / baseline), target };
}

async function cell(kernel: KernelClient, code: string): Promise<void> {
  const { reply } = await kernel.execute(code);
  if (reply.content.status !== 'ok') throw new Error(`benchmark cell failed: ${JSON.stringify(reply.content).slice(0, 500)}`);
}

/** SQL whose text is about `bytes` long: one literal the server measures. */
function literalQuery(bytes: number): string {
  return `SELECT length('${'x'.repeat(bytes)}') AS n`;
}

export async function benchLargeCells(server: TestPostgres, log: (line: string) => void): Promise<Row[]> {
  const rows: Row[] = [];
  const kernel = await startKernel({ argv: builtKernelArgv(), env: { ...process.env, ...server.env }, cwd: REPO_ROOT, output: 'ignore' });
  const client = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: server.database });
  await client.connect();
  try {
    await cell(kernel, '%lakebase connect');
    await cell(kernel, '1'); // the TypeScript compiler loads in the background: wait for it

    log('a 5 MB %%lakebase body, and a 1 MB one, beside the bare query ...');
    const pid = kernel.process!.pid;
    /** The kernel's CPU time for `work`, the median over RUNS (after one unmeasured run). */
    const kernelCpu = async (work: () => Promise<void>) => {
      await work();
      const used: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        const before = cpuMs(pid);
        await work();
        used.push(cpuMs(pid) - before);
      }
      return summarize(used).median;
    };
    const sqlAt = async (bytes: number) => {
      const query = literalQuery(bytes);
      const viaKernel = summarize(await sample(RUNS, 1, () => cell(kernel, `%%lakebase\n${query}`)));
      const bare = summarize(await sample(RUNS, 1, () => client.query(query)));
      const cpu = await kernelCpu(() => cell(kernel, `%%lakebase\n${query}`));
      return { viaKernel: viaKernel.median, bare: bare.median, overhead: viaKernel.median - bare.median, cpu };
    };
    const five = await sqlAt(5 * MB);
    const one = await sqlAt(1 * MB);
    rows.push(row('5 MB %%lakebase body, send → reply (median of 5)', five.viaKernel, five.bare, 'the same query on a bare pg client', 'ms'));
    rows.push(row('5 MB %%lakebase body: the kernel\'s part (above the bare query)', five.overhead, one.overhead, 'the same for a 1 MB body (linear: 5×)', 'ms'));
    rows.push(row('5 MB %%lakebase body: kernel CPU time per cell (median of 5)', five.cpu, one.cpu, 'the same for a 1 MB body (linear: 5×)', 'ms'));

    log('a 1 MB TypeScript literal, a 256 KB one and a tiny cell ...');
    let declared = 0;
    const literalCell = (bytes: number) => () => cell(kernel, `const pasted${++declared} = "${'y'.repeat(bytes)}";\npasted${declared}.length`);
    const tiny = summarize(await sample(RUNS, 1, () => cell(kernel, '1 + 1')));
    const mega = summarize(await sample(RUNS, 1, literalCell(MB)));
    const quarter = summarize(await sample(RUNS, 1, literalCell(MB / 4)));
    rows.push(row('1 MB TypeScript string literal, send → reply (median of 5)', mega.median, tiny.median, 'a tiny TypeScript cell', 'ms'));
    rows.push(row('1 MB TypeScript literal, above a tiny cell', mega.median - tiny.median, quarter.median - tiny.median, 'the same for 256 KB (linear: 4×)', 'ms'));
    const megaCpu = await kernelCpu(literalCell(MB));
    const quarterCpu = await kernelCpu(literalCell(MB / 4));
    rows.push(row('1 MB TypeScript literal: kernel CPU time per cell (median of 5)', megaCpu, quarterCpu, 'the same for 256 KB (linear: 4×)', 'ms'));
  } finally {
    await client.end();
    await kernel.shutdown();
    await kernel.close();
  }
  return rows;
}
