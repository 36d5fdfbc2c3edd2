// `npm run bench`: every figure of the issues beside its baseline, measured in one run on this
// machine, printed as a table and written to bench/results.json. Never run as a timed test.
// `npm run bench -- typescript` (or `kernel`, `charts`, `large-cells`, `sync`, `refresh`, `warehouse`) runs only those sections.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestPostgres } from '../test/support/postgres';
import { REPO_ROOT } from '../test/support/jupyter';
import { benchCharts } from './chart';
import { benchKernel, type Row } from './kernel';
import { benchLargeCells } from './large-cells';
import { benchBranches } from './branches';
import { benchProvisioning } from './provisioning';
import { benchRefresh } from './refresh';
import { benchTypeScript, printGrowthTable, type GrowthTable } from './typescript';
import { benchWarehouse } from './warehouse';
import { benchSync } from './sync';

const SECTIONS = ['kernel', 'charts', 'typescript', 'large-cells', 'sync', 'refresh', 'warehouse', 'branches', 'provisioning'] as const;

function printTable(rows: Row[]): void {
  const header = ['measure', 'ours', 'baseline', 'ratio', 'unit', 'baseline is', 'target'];
  const lines = rows.map((r) => [r.measure, String(r.ours), String(r.baseline), `${r.ratio}×`, r.unit, r.baselineName, r.target ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells: string[]) => cells.map((c, i) => (i >= 1 && i <= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' │ ');
  console.log(format(header));
  console.log(widths.map((w) => '─'.repeat(w)).join('─┼─'));
  for (const line of lines) console.log(format(line));
}

async function main(): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const asked = process.argv.slice(2);
  const unknown = asked.filter((name) => !(SECTIONS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`unknown bench section ${unknown.join(', ')}; the sections are ${SECTIONS.join(', ')}`);
  const runs = (section: (typeof SECTIONS)[number]) => asked.length === 0 || asked.includes(section);
  // The kernels keep their cell history in a file, as a user's do, but not in the user's own.
  const historyDir = mkdtempSync(join(tmpdir(), 'lakebase-bench-history-'));
  process.env.LAKEBASE_KERNEL_HISTORY = join(historyDir, 'history.jsonl');
  const server = await startTestPostgres();
  const rows: Row[] = [];
  let growth: GrowthTable | undefined;
  try {
    if (runs('kernel')) rows.push(...(await benchKernel(server, log)));
    if (runs('charts')) rows.push(...(await benchCharts(server, log)));
    if (runs('typescript')) {
      const typescript = await benchTypeScript({ ...process.env, ...server.env }, log);
      rows.push(...typescript.rows);
      growth = typescript.growth;
    }
    if (runs('large-cells')) rows.push(...(await benchLargeCells(server, log)));
    if (runs('sync')) rows.push(...(await benchSync(server, log)));
  } finally {
    await server.stop();
    rmSync(historyDir, { recursive: true, force: true });
  }
  if (runs('refresh')) rows.push(...(await benchRefresh(log)));
  if (runs('warehouse')) rows.push(...(await benchWarehouse(log)));
  if (runs('branches')) rows.push(...(await benchBranches(log)));
  if (runs('provisioning')) rows.push(...(await benchProvisioning(log)));
  printTable(rows);
  if (growth) {
    console.log();
    printGrowthTable(growth);
  }
  const results = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, sections: asked.length > 0 ? asked : SECTIONS, rows, growth };
  writeFileSync(join(REPO_ROOT, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
