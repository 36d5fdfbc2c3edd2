// Issue 11's figures: what a chart costs a cell, beside the same cell without `--chart`, in one
// kernel over ZeroMQ on the same data:
//  - the first chart of a kernel (it loads vega and vega-lite, ES modules loaded on first use);
//  - a bar chart of a 50-row aggregate (the usual chart: GROUP BY in SQL), median of 30;
//  - a point chart of 5,000 rows (the most a chart draws), median of 10.
// And how much the sanitizer-proof table markup weighs: a 100-row, 5-column result's text/html.
import { startKernel, type KernelClient } from '../kernel/wire/client';
import { JUPYTER_DISPLAY } from '../lakebase/contracts';
import { ResultSet } from '../lakebase/result-set';
import { builtKernelArgv, REPO_ROOT } from '../test/support/jupyter';
import type { TestPostgres } from '../test/support/postgres';
import type { Row } from './kernel';
import { round, sample, significant, summarize, timeIt } from './measure';

function row(measure: string, ours: number, baseline: number, baselineName: string, unit: string, target?: string): Row {
  return { measure, ours: round(ours), baseline: round(baseline), baselineName, unit, ratio: significant(ours / baseline), target };
}

async function cell(kernel: KernelClient, code: string): Promise<void> {
  const { reply } = await kernel.execute(code);
  if (reply.content.status !== 'ok') throw new Error(`benchmark cell failed: ${JSON.stringify(reply.content).slice(0, 500)}`);
}

const AGGREGATE = 'SELECT bucket, count(*) AS points, avg(y) AS mean FROM bench_chart GROUP BY bucket ORDER BY bucket';
const POINTS = 'SELECT x, y FROM bench_chart ORDER BY x LIMIT 5000';

export async function benchCharts(server: TestPostgres, log: (line: string) => void): Promise<Row[]> {
  const rows: Row[] = [];
  const kernel = await startKernel({ argv: builtKernelArgv(), env: { ...process.env, ...server.env }, cwd: REPO_ROOT, output: 'ignore' });
  try {
    await cell(kernel, '%lakebase connect');
    await cell(kernel, '1'); // the TypeScript compiler loads in the background: wait for it
    await cell(kernel, [
      '%%lakebase',
      'DROP TABLE IF EXISTS bench_chart;',
      'CREATE TABLE bench_chart AS SELECT g AS x, sin(g / 100.0) * 1000 + g % 97 AS y, g % 50 AS bucket FROM generate_series(1, 100000) AS g;',
    ].join('\n'));

    log('the first chart of a kernel (vega and vega-lite load) ...');
    const plainFirst = await timeIt(() => cell(kernel, `%%lakebase\n${AGGREGATE}`));
    const first = await timeIt(() => cell(kernel, `%%lakebase --chart bar\n${AGGREGATE}`));
    rows.push(row('first --chart cell of a kernel, 50-row aggregate', first.ms, plainFirst.ms, 'the same cell without --chart', 'ms'));

    log('a bar chart of a 50-row aggregate, and a point chart of 5,000 rows ...');
    const plain = summarize(await sample(30, 3, () => cell(kernel, `%%lakebase\n${AGGREGATE}`)));
    const charted = summarize(await sample(30, 3, () => cell(kernel, `%%lakebase --chart bar\n${AGGREGATE}`)));
    rows.push(row('--chart bar cell, 50-row aggregate (median)', charted.median, plain.median, 'the same cell without --chart', 'ms'));
    const plainPoints = summarize(await sample(10, 1, () => cell(kernel, `%%lakebase\n${POINTS}`)));
    const points = summarize(await sample(10, 1, () => cell(kernel, `%%lakebase --chart point\n${POINTS}`)));
    rows.push(row('--chart point cell, 5,000 rows (median)', points.median, plainPoints.median, 'the same cell without --chart', 'ms'));
    await cell(kernel, '%lakebase sql DROP TABLE bench_chart');
  } finally {
    await kernel.shutdown();
    await kernel.close();
  }

  // The markup's weight: every cell's content sits in a div[align] (sanitizers keep it, a style
  // attribute they drop). Beside it, the same table's text/plain, which every client receives too.
  const columns = ['id', 'name', 'city', 'amount', 'note'].map((name, i) => ({
    name,
    typeName: i === 0 || i === 3 ? 'int4' : 'text',
    typeOid: i === 0 || i === 3 ? 23 : 25,
    tableOid: 0,
    columnNumber: 0,
  }));
  const values = Array.from({ length: 100 }, (_, i) => [i, `name ${i}`, i % 7 === 0 ? null : 'Lisbon', i * 37, 'a note of some length']);
  const bundle = new ResultSet({ statement: '', command: 'SELECT', columns, values, rowCount: 100, elapsedMs: 1, displayLimit: 100 })[JUPYTER_DISPLAY]();
  rows.push(row('100×5 result: text/html size', Buffer.byteLength(String(bundle['text/html'])) / 1024, Buffer.byteLength(bundle['text/plain']) / 1024, 'its text/plain', 'KiB'));
  return rows;
}
