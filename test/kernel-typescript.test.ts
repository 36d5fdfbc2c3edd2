// TypeScript cells through the built kernel over real ZeroMQ (issue 10): what cells keep of each
// other, what a failing or interrupted cell leaves behind, local modules. The kernel runs in a
// folder of its own without node_modules, as a notebook outside this repository does.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { KernelClient } from '../kernel/wire/client';
import { interruptUntilSettled, runCell, startBuiltKernel, stopKernel } from './support/jupyter';

let kernel: KernelClient;
let folder: string;

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'lakebase-kernel-ts-'));
  writeFileSync(join(folder, 'geometry.ts'), 'export interface Point { x: number; y: number }\nexport function norm(p: Point): number { return Math.hypot(p.x, p.y); }\n');
  kernel = await startBuiltKernel({ cwd: folder, output: 'ignore' });
});
afterAll(async () => {
  await stopKernel(kernel);
  rmSync(folder, { recursive: true, force: true });
});

async function value(code: string): Promise<unknown> {
  const cell = await runCell(kernel, code);
  if (cell.status !== 'ok') throw new Error(`cell failed: ${JSON.stringify(cell.error)}`);
  return cell.result?.['text/plain'];
}

/** Resolves once the running cell has written `marker` (it then runs its loop or its await). */
async function cellReached(marker: string): Promise<void> {
  while (!existsSync(marker)) await new Promise((resolve) => setTimeout(resolve, 20));
}

const markerCode = (marker: string) => `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "");`;

describe('declarations across cells', () => {
  test('a type error blocks the whole cell: nothing before it runs', async () => {
    const cell = await runCell(kernel, '(globalThis as any).typeErrorCellRan = true;\nconst wrong: string = 1;');
    expect(cell.status).toBe('error');
    expect(cell.error?.ename).toBe('TypeScriptError');
    expect(cell.error?.traceback.join('\n')).toMatch(/2:7.* - Type 'number' is not assignable to type 'string'/);
    expect(await value('typeof (globalThis as any).typeErrorCellRan')).toBe("'undefined'");
  });

  test('a const redeclared in a later cell has the new value and the new type', async () => {
    await value('const shade = "red";');
    expect(await value('const shade = 42;\nshade + 1')).toBe('43');
    expect(await value('shade.toFixed(1)')).toBe("'42.0'");
  });

  test('functions, classes, enums and interfaces carry over; a later cell updates an earlier let', async () => {
    await value('interface Counter { hits: number }\nclass Tally implements Counter { hits = 0 }\nenum Level { Low, High }\nlet seen = 0;\nfunction bump(t: Tally) { seen += 1; return ++t.hits; }');
    expect(await value('const t = new Tally();\nbump(t); bump(t);\n[t.hits, seen, Level.High]')).toBe('[ 2, 2, 1 ]');
    await value('seen = 10;');
    expect(await value('bump(t); seen')).toBe('11');
  });

  test('a local TypeScript module is imported, checked and run', async () => {
    expect(await value('import { norm, type Point } from "./geometry";\nconst p: Point = { x: 3, y: 4 };\nnorm(p)')).toBe('5');
    const wrong = await runCell(kernel, 'norm({ x: 1 })');
    expect(wrong.error?.traceback.join('\n')).toMatch(/Property 'y' is missing/);
  });
});

describe('a cell that stops early keeps what it assigned', () => {
  test('a synchronous loop stopped by SIGINT keeps its variables; names it never reached are not declared', async () => {
    const marker = join(folder, 'loop-started');
    await value('let phase = "before the loop";');
    // n is 5 before the marker: the interrupt may land before the loop's first step.
    const running = kernel.execute(`let n = 0;\nconst label = "set";\nn = 5;\n${markerCode(marker)}\nwhile (true) n++;\nconst unreached = 1;\nlet phase = 2;`);
    await cellReached(marker);
    await interruptUntilSettled(running, () => process.kill(kernel.process!.pid, 'SIGINT'));
    expect((await running).reply.content.status).toBe('error');
    expect(await value('n >= 5 && label === "set"')).toBe('true');
    // `phase` was redeclared further down: the earlier cell's string is back, with its type.
    expect(await value('phase.toUpperCase()')).toBe("'BEFORE THE LOOP'");
    const missing = await runCell(kernel, 'unreached');
    expect(missing.error?.traceback.join('\n')).toMatch(/Cannot find name 'unreached'/);
  });

  test('an awaiting cell stopped by interrupt_request keeps what it assigned before the await', async () => {
    const marker = join(folder, 'await-started');
    const running = kernel.execute(`let waited = 1;\nwaited += 1;\n${markerCode(marker)}\nawait new Promise(() => {});\nconst afterAwait = true;`);
    await cellReached(marker);
    await interruptUntilSettled(running, () => kernel.request('control', 'interrupt_request'));
    expect((await running).reply.content.status).toBe('error');
    expect(await value('waited')).toBe('2');
    expect((await runCell(kernel, 'afterAwait')).status).toBe('error');
  });

  test('a cell that throws keeps what it assigned before the throw', async () => {
    const cell = await runCell(kernel, 'const beforeThrow = "kept";\nthrow new Error("stop here");\nconst afterThrow = 1;');
    expect(cell.error?.evalue).toBe('stop here');
    expect(await value('beforeThrow')).toBe("'kept'");
  });
});
