// Issue 10's figures, each beside its baselines in the same run (this kernel, stock tslab,
// ipykernel):
//  - the round trip of a trivial cell (`let a = 1;`, in Python `a = 1`), send → execute_reply;
//  - growth: 500 cells that each declare an interface, a typed const and a function (in Python a
//    class, a value and a function), the median round trip per block of 50 cells;
//  - completion and hover after those 500 cells;
//  - kernel start → the first cell's reply (what a user waits for after "Restart kernel"), for a
//    trivial cell and for one that prints (in TypeScript, one that needs Node's types).
import { startKernel, type KernelClient } from '../kernel/wire/client';
import { builtKernelArgv, REPO_ROOT } from '../test/support/jupyter';
import { now, round, sample, significant, summarize } from './measure';
import type { Row } from './kernel';

const PYTHON = '/usr/bin/python3';
const GROWTH_CELLS = 500;
const GROWTH_BLOCK = 50;
const FIRST_REPLY_RUNS = 5;

interface Contender {
  name: string;
  argv: string[];
  /** The trivial cell, in this kernel's language. */
  trivial: string;
  /** A cell that prints a line (in TypeScript, one that needs Node's types). */
  printing: string;
  /** The i-th cell of the growth notebook: declares things named after i. */
  declaring: (i: number) => string;
  /** After the growth cells: completion and hover requests on what they declared. */
  completion: { code: string; cursor: number };
  hover: { code: string; cursor: number };
}

export interface GrowthTable {
  cells: string[];
  /** Median milliseconds per block, by contender name. */
  medians: Record<string, number[]>;
}

export interface TypeScriptBench {
  rows: Row[];
  growth: GrowthTable;
}

const typescriptCell = (i: number) =>
  [
    `interface Row${i} { id: number; name: string }`,
    `const row${i}: Row${i} = { id: ${i}, name: "r${i}" };`,
    `function label${i}(r: Row${i}): string { return r.name + r.id; }`,
  ].join('\n');

const pythonCell = (i: number) =>
  [
    `class Row${i}:`,
    `    def __init__(self, id, name): self.id, self.name = id, name`,
    `row${i} = Row${i}(${i}, "r${i}")`,
    `def label${i}(r): return r.name + str(r.id)`,
  ].join('\n');

const last = GROWTH_CELLS - 1;
/** The same request for every kernel: the members of the last cell's value (jedi cannot follow a call's result). */
const completion = `row${last}.na`;

function contenders(withPython: boolean): Contender[] {
  const list: Contender[] = [
    {
      name: 'this kernel',
      argv: builtKernelArgv(),
      trivial: 'let a = 1;',
      printing: 'console.log("hello");',
      declaring: typescriptCell,
      completion: { code: completion, cursor: completion.length },
      hover: { code: `row${last}`, cursor: 2 },
    },
    {
      name: 'stock tslab',
      argv: [process.execPath, `${REPO_ROOT}/node_modules/tslab/bin/tslab`, 'kernel', '--config-path', '{connection_file}'],
      trivial: 'let a = 1;',
      printing: 'console.log("hello");',
      declaring: typescriptCell,
      completion: { code: completion, cursor: completion.length },
      hover: { code: `row${last}`, cursor: 2 },
    },
  ];
  if (withPython) {
    list.push({
      name: 'ipykernel',
      argv: [PYTHON, '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
      trivial: 'a = 1',
      printing: 'print("hello")',
      declaring: pythonCell,
      completion: { code: completion, cursor: completion.length },
      hover: { code: `row${last}`, cursor: 2 },
    });
  }
  return list;
}

async function start(contender: Contender, env: NodeJS.ProcessEnv): Promise<KernelClient> {
  return startKernel({ argv: contender.argv, env, cwd: REPO_ROOT, output: 'ignore' });
}

/** How long to wait for a cell's `idle` after its reply before going on without it. */
const IDLE_GRACE_MS = 2000;
/** How long to wait for a cell's reply before taking it for lost. */
const REPLY_LOST_MS = 30_000;
/** Lost replies in a row after which a kernel is taken for stuck. */
const LOST_IN_A_ROW_TO_GIVE_UP = 3;

/** The request ids whose `status: idle` came, per kernel (it may come before the reply). */
const idleSeen = new WeakMap<KernelClient, { ids: Set<string>; waiters: Map<string, () => void> }>();

function idleOf(kernel: KernelClient, msgId: string): Promise<void> {
  let seen = idleSeen.get(kernel);
  if (!seen) {
    const tracker = { ids: new Set<string>(), waiters: new Map<string, () => void>() };
    kernel.onIopub((message) => {
      if (message.header.msg_type !== 'status' || message.content.execution_state !== 'idle') return;
      const parent = (message.parent_header as { msg_id?: string }).msg_id;
      if (!parent) return;
      tracker.ids.add(parent);
      tracker.waiters.get(parent)?.();
    });
    idleSeen.set(kernel, tracker);
    seen = tracker;
  }
  const tracker = seen;
  if (tracker.ids.delete(msgId)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      tracker.waiters.delete(msgId);
      tracker.ids.delete(msgId);
      resolve();
    };
    const timer = setTimeout(done, IDLE_GRACE_MS);
    tracker.waiters.set(msgId, done);
  });
}

/**
 * Runs a cell; returns the milliseconds from sending it to its execute_reply (the round trip the
 * issue measures), then waits for its `idle` before the next cell, untimed. Stock tslab publishes
 * a new request's `busy` while the last `idle` may still be on its way, and then loses one of
 * them, sometimes with the reply (seen after about 250 cells here); waiting for the idle (or
 * two seconds, when it was lost) keeps it answering; a reply lost all the same gives no sample
 * (NaN) after 30 s. Every kernel is driven the same way.
 */
async function cell(kernel: KernelClient, code: string): Promise<number> {
  const started = now();
  const content = { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true };
  let timer: NodeJS.Timeout | undefined;
  const reply = await Promise.race([
    kernel.request('shell', 'execute_request', content),
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), REPLY_LOST_MS);
    }),
  ]);
  clearTimeout(timer);
  // A reply that never came (stock tslab, now and then): no sample, and the notebook goes on.
  if (reply === undefined) return Number.NaN;
  const ms = now() - started;
  if (reply.content.status !== 'ok') throw new Error(`benchmark cell failed: ${JSON.stringify(reply.content).slice(0, 500)}`);
  await idleOf(kernel, (reply.parent_header as { msg_id: string }).msg_id);
  return ms;
}

/** The median of the samples that came back (a lost reply is NaN); logs how many did not. */
function medianOf(samples: number[], what: string, log: (line: string) => void): number {
  const answered = samples.filter((ms) => !Number.isNaN(ms));
  if (answered.length < samples.length) log(`  ${what}: ${samples.length - answered.length} of ${samples.length} replies never came`);
  return summarize(answered).median;
}

/** `count` round trips of `code` after `warmUp` unmeasured ones. */
async function roundTrips(kernel: KernelClient, code: string, count: number, warmUp: number): Promise<number[]> {
  for (let i = 0; i < warmUp; i += 1) await cell(kernel, code);
  const samples: number[] = [];
  for (let i = 0; i < count; i += 1) samples.push(await cell(kernel, code));
  return samples;
}

async function stop(kernel: KernelClient): Promise<void> {
  await kernel.shutdown();
  await kernel.close();
}

/**
 * Spawn → kernel_info_reply → the first cell's execute_reply, `runs` times per kernel, the kernels
 * taking turns, so that a change in the machine's load falls on all of them.
 */
async function startToFirstReply(all: Contender[], code: (contender: Contender) => string, env: NodeJS.ProcessEnv, runs: number): Promise<Map<string, number[]>> {
  const samples = new Map<string, number[]>(all.map((contender) => [contender.name, []]));
  for (let i = 0; i < runs; i += 1) {
    for (const contender of all) {
      const started = now();
      const kernel = await start(contender, env);
      try {
        const ready = now() - started;
        // The cell's own round trip, not the idle wait after it.
        samples.get(contender.name)!.push(ready + (await cell(kernel, code(contender))));
      } finally {
        await stop(kernel);
      }
    }
  }
  return samples;
}

/**
 * After a kernel's first cell, untimed: a hover request. This kernel checks its first cells
 * without the notebook's @types packages and loads them while idle (or for a cell that needs
 * them, or for completion and hover): cells back to back would otherwise be timed without them.
 * Timed with everything loaded, they cost what they cost after a notebook's first seconds.
 */
async function settle(kernel: KernelClient, contender: Contender): Promise<void> {
  await cell(kernel, contender.trivial);
  // Stock tslab may lose this reply as it loses others: then the run goes on without it.
  await kernel.request('shell', 'inspect_request', { code: contender.trivial, cursor_pos: 4, detail_level: 0 }, { timeoutMs: REPLY_LOST_MS }).catch(() => undefined);
}

async function trivialRoundTrip(contender: Contender, env: NodeJS.ProcessEnv): Promise<number[]> {
  const kernel = await start(contender, env);
  try {
    await settle(kernel, contender);
    return await roundTrips(kernel, contender.trivial, 300, 30);
  } finally {
    await stop(kernel);
  }
}

/** The growth notebook; then completion and hover, each the median of 20 requests. */
async function growth(contender: Contender, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<{ blocks: number[]; complete: number; inspect: number }> {
  const kernel = await start(contender, env);
  try {
    // The compiler's start is measured elsewhere; here only what each cell adds.
    await settle(kernel, contender);
    const blocks: number[] = [];
    let block: number[] = [];
    let lostInARow = 0;
    for (let i = 0; i < GROWTH_CELLS; i += 1) {
      const ms = await cell(kernel, contender.declaring(i));
      lostInARow = Number.isNaN(ms) ? lostInARow + 1 : 0;
      if (lostInARow === LOST_IN_A_ROW_TO_GIVE_UP) {
        // The kernel answers no more (stock tslab, once its sockets jammed): the rest is missing.
        log(`  ${contender.name} stopped answering at cell ${i + 1}; its later blocks are missing`);
        while (blocks.length < GROWTH_CELLS / GROWTH_BLOCK) blocks.push(Number.NaN);
        return { blocks, complete: Number.NaN, inspect: Number.NaN };
      }
      block.push(ms);
      if (block.length === GROWTH_BLOCK) {
        blocks.push(medianOf(block, `${contender.name}, cells ${i + 2 - GROWTH_BLOCK}–${i + 1}`, log));
        block = [];
      }
    }
    const request = async (type: 'complete_request' | 'inspect_request', at: { code: string; cursor: number }) => {
      const reply = await kernel.request('shell', type, { code: at.code, cursor_pos: at.cursor, detail_level: 0 }, { timeoutMs: REPLY_LOST_MS });
      if (reply.content.status !== 'ok') throw new Error(`${type} failed: ${JSON.stringify(reply.content)}`);
      const found = type === 'complete_request' ? (reply.content.matches as string[]).length > 0 : reply.content.found === true;
      if (!found) throw new Error(`${contender.name}: ${type} found nothing for ${JSON.stringify(at.code)}`);
    };
    // A reply lost all the same (stock tslab's jammed sockets) leaves the figure missing, not the run hung.
    const medianOrMissing = async (type: 'complete_request' | 'inspect_request', at: { code: string; cursor: number }) => {
      try {
        return summarize(await sample(20, 3, () => request(type, at))).median;
      } catch (error) {
        log(`  ${contender.name}: ${type} gave no figure (${error instanceof Error ? error.message : String(error)})`);
        return Number.NaN;
      }
    };
    const complete = await medianOrMissing('complete_request', contender.completion);
    const inspect = await medianOrMissing('inspect_request', contender.hover);
    return { blocks, complete, inspect };
  } finally {
    await stop(kernel);
  }
}

function hasIpykernel(): boolean {
  const { status } = require('node:child_process').spawnSync(PYTHON, ['-c', 'import ipykernel']) as { status: number | null };
  return status === 0;
}

function row(measure: string, ours: number, baseline: number, baselineName: string, unit: string, target?: string): Row {
  return { measure, ours: round(ours), baseline: round(baseline), baselineName, unit, ratio: significant(ours / baseline), target };
}

export async function benchTypeScript(env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<TypeScriptBench> {
  const [ours, ...baselines] = contenders(hasIpykernel());
  const all = [ours, ...baselines];
  const rows: Row[] = [];

  // A cell that prints needs Node's types (`console`): this kernel checks a first cell without
  // them when it can, and loads them at once for one that needs them.
  for (const [measure, code, target] of [
    [`kernel start → first cell reply (median of ${FIRST_REPLY_RUNS})`, (contender: Contender) => contender.trivial, '< 1000 ms'],
    [`kernel start → first reply of a cell that prints (median of ${FIRST_REPLY_RUNS})`, (contender: Contender) => contender.printing, undefined],
  ] as const) {
    log(`TypeScript: ${measure} ...`);
    const samples = await startToFirstReply(all, code, env, FIRST_REPLY_RUNS);
    const median = (contender: Contender) => medianOf(samples.get(contender.name)!, `${contender.name}, ${measure}`, log);
    for (const baseline of baselines) rows.push(row(measure, median(ours), median(baseline), `${baseline.name} (${code(baseline)})`, 'ms', target));
  }

  log('TypeScript: trivial cell round trips ...');
  const trivial = new Map<string, number>();
  for (const contender of all) trivial.set(contender.name, medianOf(await trivialRoundTrip(contender, env), `${contender.name}, trivial cell`, log));
  for (const baseline of baselines) {
    const target = baseline.name === 'ipykernel' ? '< 2× ipykernel' : undefined;
    rows.push(row('trivial cell round trip (median of 300)', trivial.get(ours.name)!, trivial.get(baseline.name)!, `${baseline.name} (${baseline.trivial})`, 'ms', target));
  }

  log(`TypeScript: ${GROWTH_CELLS} declaring cells ...`);
  const table: GrowthTable = { cells: [], medians: {} };
  for (let start = 1; start <= GROWTH_CELLS; start += GROWTH_BLOCK) table.cells.push(`${start}–${start + GROWTH_BLOCK - 1}`);
  const introspection = new Map<string, { complete: number; inspect: number }>();
  for (const contender of all) {
    log(`  ${contender.name} ...`);
    const { blocks, complete, inspect } = await growth(contender, env, log);
    table.medians[contender.name] = blocks.map((ms) => round(ms));
    introspection.set(contender.name, { complete, inspect });
  }
  const oursBlocks = table.medians[ours.name];
  for (const baseline of baselines) {
    const theirs = table.medians[baseline.name];
    rows.push(row(`declaring cell, cells ${table.cells[0]} (median)`, oursBlocks[0], theirs[0], baseline.name, 'ms'));
    rows.push(row(`declaring cell, cells ${table.cells.at(-1)} (median)`, oursBlocks.at(-1)!, theirs.at(-1)!, baseline.name, 'ms'));
  }
  rows.push(row(`declaring cell, cells ${table.cells.at(-1)} vs. ${table.cells[0]} (this kernel)`, oursBlocks.at(-1)!, oursBlocks[0], `cells ${table.cells[0]}`, 'ms', '< 1.25×'));
  for (const baseline of baselines) {
    const theirs = introspection.get(baseline.name)!;
    const mine = introspection.get(ours.name)!;
    rows.push(row(`complete_request after ${GROWTH_CELLS} cells (median of 20)`, mine.complete, theirs.complete, baseline.name, 'ms', '< 50 ms'));
    rows.push(row(`inspect_request after ${GROWTH_CELLS} cells (median of 20)`, mine.inspect, theirs.inspect, baseline.name, 'ms', '< 50 ms'));
  }
  return { rows, growth: table };
}

export function printGrowthTable(table: GrowthTable): void {
  const names = Object.keys(table.medians);
  const header = ['cells', ...names.map((name) => `${name} (ms)`)];
  const lines = table.cells.map((cells, i) => [cells, ...names.map((name) => (Number.isNaN(table.medians[name][i]) ? 'missing' : String(table.medians[name][i])))]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' │ ');
  console.log(format(header));
  console.log(widths.map((w) => '─'.repeat(w)).join('─┼─'));
  for (const line of lines) console.log(format(line));
}
