// The cell compiler in-process, with an instrumented host that counts what it parses: each cell's
// declarations are parsed once and reused by every later cell (issue 10), and the declarations
// of earlier cells are what later cells see. Running cells is tested through the kernel
// (kernel-typescript.test.ts).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import * as ts from 'typescript-5';
import { afterAll, describe, expect, test } from 'vitest';
import { createCellCompiler, EMPTY_SLOT, topLevelNames, withoutDeclarationsOf, type CellCompiler, type CompileOutcome } from '../kernel/typescript/compiler';
import { REPO_ROOT } from './support/jupyter';

const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/**
 * A compiler over a fresh folder, and what it parsed: file and text → times. Empty declaration
 * slots (made ahead, filled by later cells) are left out.
 */
function instrumented(
  files: Record<string, string> = {},
  fallbackTypeRoots = [join(REPO_ROOT, 'node_modules', '@types')],
): { compiler: CellCompiler; parsed: Map<string, number>; rootDir: string } {
  const rootDir = temporaryFolder(files);
  const parsed = new Map<string, number>();
  const compiler = createCellCompiler(ts, {
    rootDir,
    fallbackTypeRoots,
    onParse: (fileName, text) => {
      if (text === EMPTY_SLOT) return;
      const key = `${fileName}\n${text}`;
      parsed.set(key, (parsed.get(key) ?? 0) + 1);
    },
  });
  return { compiler, parsed, rootDir };
}

/** A folder removed after the tests, with `files` (paths relative to it) written in it. */
function temporaryFolder(files: Record<string, string> = {}): string {
  const folder = mkdtempSync(join(tmpdir(), 'lakebase-compiler-'));
  folders.push(folder);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(folder, name)), { recursive: true });
    writeFileSync(join(folder, name), text);
  }
  return folder;
}

/** Runs the compiler's background warm-up to its end; returns how many files each step parsed. */
function warmUpFully(compiler: CellCompiler, parsed: Map<string, number>): number[] {
  const total = () => [...parsed.values()].reduce((a, b) => a + b, 0);
  const perStep: number[] = [];
  for (let more = true; more; ) {
    const before = total();
    more = compiler.warmUp();
    perStep.push(total() - before);
  }
  return perStep;
}

const LIB_FOLDER = dirname(ts.getDefaultLibFilePath({}));
const isNodeTypes = (key: string) => key.includes(`${sep}@types${sep}node${sep}`);

function ok(outcome: CompileOutcome) {
  if (outcome.status !== 'ok') throw new Error(`expected the cell to compile: ${JSON.stringify(outcome)}`);
  return outcome.cell;
}

/** Compiles and commits a cell that must compile; returns its JavaScript. */
function run(compiler: CellCompiler, code: string, keep?: string[]): string {
  const cell = ok(compiler.compile(code));
  compiler.commit(cell.id, keep);
  return cell.js;
}

const declaringCell = (i: number) =>
  [
    `interface Row${i} { id: number; name: string }`,
    `const row${i}: Row${i} = { id: ${i}, name: "r${i}" };`,
    `function label${i}(r: Row${i}): string { return r.name + r.id; }`,
  ].join('\n');

describe('reuse', () => {
  test("each cell's declarations are parsed once, and a cell costs the same parses at cell 40 as at cell 3", () => {
    const { compiler, parsed } = instrumented();
    const parsesPerCell: number[] = [];
    for (let i = 0; i < 40; i += 1) {
      const before = [...parsed.values()].reduce((a, b) => a + b, 0);
      // Each cell uses the previous one's declarations, so they must be there to check it.
      run(compiler, i === 0 ? declaringCell(0) : `${declaringCell(i)}\nlabel${i - 1}(row${i - 1});`);
      parsesPerCell.push([...parsed.values()].reduce((a, b) => a + b, 0) - before);
    }
    const parsedTwice = [...parsed].filter(([, times]) => times > 1);
    expect(parsedTwice).toEqual([]);
    // The standard library and @types/node were parsed for the first cell only.
    expect(parsesPerCell[0]).toBeGreaterThan(50);
    // From then on: the new cell, and the declaration file of the cell before it.
    expect(parsesPerCell.slice(2)).toEqual(Array(38).fill(2));
    const declarationFiles = [...parsed.keys()].filter((key) => /\.lakebase-cell-\d+\.d\.ts\n/.test(key));
    expect(declarationFiles).toHaveLength(39);
  });

  test('a cell that declares nothing leaves no declaration file', () => {
    const { compiler, parsed } = instrumented();
    run(compiler, 'const kept = 1;');
    for (let i = 0; i < 5; i += 1) run(compiler, `kept + ${i}`);
    run(compiler, 'declare global { var fromAugmentation: number }');
    expect(compiler.compile('fromAugmentation + kept').status).toBe('ok');
    const filled = [...parsed.keys()].filter((key) => /\.lakebase-cell-\d+\.d\.ts\n/.test(key));
    expect(filled).toHaveLength(2);
  });

  test('completion and hover parse nothing but the code being typed', () => {
    const { compiler, parsed } = instrumented();
    for (let i = 0; i < 5; i += 1) run(compiler, declaringCell(i));
    // The first ones load the @types packages and the standard library's documentation.
    compiler.complete('row4.na', 7);
    compiler.inspect('row4', 1);
    const before = new Map(parsed);
    expect(compiler.complete('label4(row4).toUpp', 18).matches).toContain('toUpperCase');
    expect(compiler.inspect('row3', 1)).toBe('const row3: Row3');
    const parsedNow = [...parsed].filter(([key, times]) => before.get(key) !== times).map(([key]) => key.split('\n')[0]);
    expect(parsedNow.length).toBeGreaterThan(0);
    expect(parsedNow.every((name) => name.endsWith('.lakebase-cell-scratch.ts'))).toBe(true);
  });
});

describe('what is loaded when (the first cell within a second of a start)', () => {
  test("the first cells are checked without @types/node, which is loaded a file a step afterwards; then a cell using Node's types parses only itself", () => {
    const { compiler, parsed } = instrumented();
    run(compiler, 'let a = 1;');
    run(compiler, 'const b = [a, 2].map((n) => n * 2);');
    expect([...parsed.keys()].filter(isNodeTypes)).toEqual([]);

    const perStep = warmUpFully(compiler, parsed);
    expect(perStep.length).toBeGreaterThan(100);
    expect(Math.max(...perStep)).toBe(1);
    expect([...parsed.keys()].filter(isNodeTypes).length).toBeGreaterThan(50);
    // The standard library was parsed again, with its documentation (for hover); nothing else twice.
    const parsedTwice = [...parsed].filter(([, times]) => times > 1).map(([key]) => key.split('\n')[0]);
    expect(parsedTwice.length).toBeGreaterThan(20);
    expect(parsedTwice.filter((file) => !file.startsWith(LIB_FOLDER))).toEqual([]);

    const before = new Map(parsed);
    expect(compiler.compile('console.log(Buffer.from("x").length, b);').status).toBe('ok');
    const parsedNow = [...parsed].filter(([key, times]) => before.get(key) !== times).map(([key]) => key.split('\n')[0]);
    expect(parsedNow.length).toBeGreaterThan(0);
    expect(parsedNow.every((name) => name.includes('.lakebase-cell-'))).toBe(true);
  });

  test("a first cell that needs Node's types gets them at once, and its type errors are those of the full program", () => {
    const { compiler } = instrumented();
    expect(compiler.compile('const b: Buffer = Buffer.from("x");\nconsole.log(b.length, process.pid);').status).toBe('ok');
    const other = instrumented().compiler;
    // Without @types/node this would be "Cannot find name 'process'".
    expect(other.compile('const s: string = process.pid;')).toMatchObject({
      status: 'error',
      diagnostics: [{ line: 1, column: 7, message: "Type 'number' is not assignable to type 'string'." }],
    });
  });

  test("Node's types loaded while a cell waited (without their documentation) have it in hover all the same", () => {
    const { compiler } = instrumented();
    run(compiler, 'console.log(process.pid);');
    expect(compiler.inspect('process.getgid', 10)).toContain('This function is only available on POSIX platforms');
  });

  test("hover shows the standard library's documentation, also before the warm-up", () => {
    const { compiler } = instrumented();
    run(compiler, 'let a = 1;');
    expect(compiler.inspect('Math.max(1, 2)', 6)).toContain('Returns the larger of a set of supplied numeric expressions.');
    expect(compiler.complete('process.memo', 12).matches).toContain('memoryUsage');
  });

  test("a notebook folder without @types/node gets the kernel's own, and none of the kernel's other @types packages", () => {
    const kernelTypes = temporaryFolder({ 'leaky/package.json': '{"name":"@types/leaky","version":"1.0.0"}', 'leaky/index.d.ts': 'declare var leakyGlobal: number;\n' });
    symlinkSync(join(REPO_ROOT, 'node_modules', '@types', 'node'), join(kernelTypes, 'node'), 'dir');
    const notebookTypes = { 'node_modules/@types/mine/package.json': '{"name":"@types/mine","version":"1.0.0"}', 'node_modules/@types/mine/index.d.ts': 'declare var mine: string;\n' };
    const { compiler } = instrumented(notebookTypes, [kernelTypes]);
    expect(compiler.compile('mine.length + process.pid').status).toBe('ok');
    expect(compiler.compile('leakyGlobal')).toMatchObject({ status: 'error', diagnostics: [{ message: "Cannot find name 'leakyGlobal'." }] });
  });
});

describe('declarations across cells', () => {
  test('a later cell sees the types of earlier ones, and a type error is reported with its position', () => {
    const { compiler } = instrumented();
    run(compiler, 'const limit = 10;\ninterface City { name: string }');
    const outcome = compiler.compile('const c: City = { name: "Porto" };\nconst n: string = limit;');
    expect(outcome).toMatchObject({ status: 'error', diagnostics: [{ line: 2, column: 7, message: "Type 'number' is not assignable to type 'string'." }] });
  });

  test('a const redeclared in a later cell takes the new type', () => {
    const { compiler } = instrumented();
    run(compiler, 'const x = 1;');
    run(compiler, 'const x = "now a string";');
    expect(compiler.compile('x.toUpperCase()').status).toBe('ok');
    expect(compiler.compile('x.toFixed()')).toMatchObject({ status: 'error', diagnostics: [{ message: expect.stringContaining("Property 'toFixed' does not exist on type '\"now a string\"'") }] });
  });

  test('a cell that failed and is not committed declares nothing', () => {
    const { compiler } = instrumented();
    const cell = ok(compiler.compile('const lost = 1;'));
    compiler.discard(cell.id);
    expect(compiler.compile('lost')).toMatchObject({ status: 'error', diagnostics: [{ message: "Cannot find name 'lost'." }] });
  });

  test('names an interrupted cell never assigned are forgotten; an earlier declaration is seen again', () => {
    const { compiler } = instrumented();
    run(compiler, 'let total = "text";');
    run(compiler, 'let total = 0; let count = 0; interface Shape { n: number } const late = 1;', ['count']);
    expect(compiler.compile('const s: Shape = { n: count };').status).toBe('ok');
    expect(compiler.compile('total.toUpperCase()').status).toBe('ok');
    expect(compiler.compile('late')).toMatchObject({ status: 'error', diagnostics: [{ message: "Cannot find name 'late'." }] });
  });

  test('references to earlier cells become exports of the session; the last expression is returned', () => {
    const { compiler } = instrumented();
    run(compiler, 'let hits = 0; const __hidden = 2;');
    const js = run(compiler, 'const tally = { hits };\n({ hits = 1 } = {});\nhits += __hidden;\ntally.hits');
    expect(js).toContain('{ hits: exports.hits }');
    expect(js).toContain('({ hits: exports.hits = 1 } = {});');
    expect(js).toContain('exports.hits += exports.__hidden');
    expect(js).toMatch(/return tally\.hits;\s*$/);
    // Own names are exported as they are assigned, never initialised to undefined first.
    expect(js).not.toContain('void 0');
  });

  test("a cell's own let and var live in the session, so its functions see what later cells assign", () => {
    const { compiler } = instrumented();
    const js = run(compiler, 'let seen = 0, { a, b: [c = 1, ...rest] } = { a: 1, b: [] as number[] };\nvar later;\nconst fixed = 1;\nusing held = { [Symbol.dispose]() {} };\nfunction bump() { seen += fixed; return { seen }; }');
    expect(js).toContain('exports.seen = 0;');
    expect(js).toMatch(/\(\{ a: exports\.a, b: \[exports\.c = 1, \.\.\.exports\.rest\] \} = \{ a: 1, b: \[\] \}\)/);
    expect(js).toContain('exports.later = undefined;');
    expect(js).toContain('exports.seen += fixed; return { seen: exports.seen };');
    expect(js).toContain('const fixed = 1;');
    // `using` stays TypeScript's: disposed of when the cell ends.
    expect(js).toContain('__disposeResources(env_1)');
  });

  test('top-level await is allowed and marks the cell async', () => {
    const { compiler } = instrumented();
    const cell = ok(compiler.compile('const v = await Promise.resolve(1);\nfor await (const x of [v]) {}'));
    expect(cell.topLevelAwait).toBe(true);
    expect(ok(compiler.compile('const w = 1;')).topLevelAwait).toBe(false);
  });

  test('a local TypeScript module is compiled for the runner, and its type errors name its file', () => {
    const { compiler, rootDir } = instrumented({ 'helper.ts': 'export function twice(n: number): number { return n * 2; }\n' });
    const cell = ok(compiler.compile('import { twice } from "./helper";\ntwice(2)'));
    expect(cell.modules).toEqual([{ path: join(rootDir, 'helper.js'), js: expect.stringContaining('function twice(n)') }]);
    compiler.commit(cell.id);
    writeFileSync(join(rootDir, 'broken.ts'), 'export const b: number = "no";\n');
    expect(compiler.compile('import { b } from "./broken";')).toMatchObject({
      status: 'error',
      diagnostics: [{ file: 'broken.ts', line: 1, message: "Type 'string' is not assignable to type 'number'." }],
    });
  });
});

test('a module that was missing is found once it exists', () => {
  const { compiler, rootDir } = instrumented();
  expect(compiler.compile('import { later } from "./later";')).toMatchObject({ status: 'error', diagnostics: [{ message: expect.stringContaining("Cannot find module './later'") }] });
  writeFileSync(join(rootDir, 'later.ts'), 'export const later = 1;\n');
  expect(compiler.compile('import { later } from "./later";').status).toBe('ok');
});

describe('syntax helpers', () => {
  test('topLevelNames lists what a cell declares at top level, destructuring and imports included', () => {
    const code = [
      'import fs, * as path from "node:path"; import { a as b, c } from "x"; import e = require("e");',
      'const { f, g: [h, , i] } = obj; let j; var k = 1;',
      'function l() {} class M {} interface N {} type O = 1; enum P {} namespace Q {}',
      'declare global { interface Window {} } export const already = 1; { const inner = 1; }',
    ].join('\n');
    expect(topLevelNames(ts, code).sort()).toEqual(['M', 'N', 'O', 'P', 'Q', 'b', 'c', 'e', 'f', 'fs', 'h', 'i', 'j', 'k', 'l', 'path'].sort());
  });

  test('withoutDeclarationsOf removes exactly the named declarations', () => {
    const declarations = 'import { x, y } from "m";\ndeclare let a: number, b: string;\ndeclare function f(): void;\ninterface I {}\nexport { x, y, a, b, f, I };\n';
    const kept = withoutDeclarationsOf(ts, declarations, new Set(['y', 'b', 'f']));
    expect(kept).toContain('import { x } from "m";');
    expect(kept).toContain('declare let a: number;');
    expect(kept).not.toContain('function f');
    expect(kept).toContain('interface I');
    expect(kept).toContain('export { x, a, I };');
  });
});
