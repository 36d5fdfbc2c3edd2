// TypeScript cells: compiled on the compiler thread (worker.ts, compiler.ts), run here on the
// main thread, in this process's global context, as tslab's executor ran them: each cell is a
// function whose `exports` is the session's object of top-level names (declarations kept across
// cells), async when the cell awaits at top level.
//
// An interrupted or failing cell keeps what it assigned before it stopped, as ipykernel keeps a
// Python cell's variables: its names are compared before and after it ran, and those it never
// reached are forgotten (value and declaration), so an earlier cell's are seen again.
import Module from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { runInThisContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import type { VariableLookup } from '../magics/host';
import { silentLogger, type Logger } from './log';
import type { CompiledCell, CompileOutcome, Completion, Diagnostic } from './typescript/compiler';
import { defaultCacheDir } from './typescript/load-compiler';
import type { CompilerRequest, CompilerResponse, CompilerWorkerData } from './typescript/protocol';

export type { Diagnostic } from './typescript/compiler';

export type CellOutcome =
  | { status: 'ok'; value: unknown; hasValue: boolean }
  | { status: 'compile-error'; diagnostics: Diagnostic[] }
  | { status: 'runtime-error'; error: unknown };

export type CompletionResult = Completion;

export interface TypeScriptRunner {
  /**
   * Runs one cell. Compile errors and thrown values are outcomes, never exceptions. A cell whose
   * `signal` is aborted before it starts to run (while it compiles) is not run.
   */
  execute(code: string, signal?: AbortSignal): Promise<CellOutcome>;
  /** Gives `name` the type `tsType` in later cells and the value `value` now. */
  declare(name: string, value: unknown, tsType: string): Promise<void>;
  complete(code: string, cursor: number): Promise<CompletionResult>;
  /** Hover text for the symbol at `cursor`, or null. */
  inspect(code: string, cursor: number): Promise<string | null>;
  /**
   * Abandons the awaited part of the running cell (synchronous code is stopped by SIGINT, and a
   * cell still compiling by the abort signal given to `execute`).
   */
  interrupt(): void;
  /** A variable of the TypeScript session (declared by an earlier cell), or a global. */
  lookup(name: string): VariableLookup;
  /** The names of the variables earlier cells declared. */
  variableNames(): string[];
  /** Starts the compiler thread and compiles the prelude now rather than at the first cell. */
  warmUp(): void;
  /**
   * More declarations every cell sees, run after the prelude and before the first cell: for what
   * is known only once the rest of the kernel has loaded (the magics' result types).
   */
  addPrelude(code: string): void;
  close(): void;
}

export interface TypeScriptRunnerOptions {
  /** Where `require`/`import` in cells resolve modules from (the notebook's folder). */
  rootDir: string;
  /** TypeScript run once before the first user cell (declarations every cell sees). */
  prelude: string;
  log?: Logger;
  /** The compiler's V8 code cache folder; default `$XDG_CACHE_HOME/lakebase-kernel`; null: none. */
  cacheDir?: string | null;
}

const INTERRUPTED_WHILE_COMPILING = 'Interrupted before the cell ran (it was still compiling)';

/** Where a running cell finds its `exports` and `require` (a cell runs as a script of its own). */
const CELL_SCOPE = Symbol.for('lakebase.kernel.cell');

export function createTypeScriptRunner(options: TypeScriptRunnerOptions): TypeScriptRunner {
  const rootDir = resolve(options.rootDir);
  const log = options.log ?? silentLogger;
  const compiler = createCompilerThread(rootDir, options.cacheDir === null ? undefined : options.cacheDir ?? defaultCacheDir(), log);
  const session = createCellSession(rootDir);
  let cellsRun = 0;
  let preludeCompiled: Promise<CompileOutcome> | undefined;
  let prelude: Promise<void> | undefined;
  const morePrelude: string[] = [];
  let interruption: { promise: Promise<never>; reject: (error: Error) => void } = newInterruption();

  function newInterruption() {
    let reject!: (error: Error) => void;
    const promise = new Promise<never>((_, rejectWith) => (reject = rejectWith));
    // Nobody awaits it while no cell runs.
    promise.catch(() => undefined);
    return { promise, reject };
  }

  async function compile(code: string, signal?: AbortSignal): Promise<CompileOutcome> {
    const compiled = compiler.compile(code);
    if (!signal) return compiled.outcome;
    if (signal.aborted) {
      compiled.cancel();
      return { status: 'cancelled' };
    }
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<CompileOutcome>((resolveAborted) => {
      onAbort = () => {
        compiled.cancel();
        resolveAborted({ status: 'cancelled' });
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([compiled.outcome, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort!);
    }
  }

  async function run(code: string, signal?: AbortSignal): Promise<CellOutcome> {
    return runCompiled(await compile(code, signal), signal);
  }

  async function runCompiled(outcome: CompileOutcome, signal?: AbortSignal): Promise<CellOutcome> {
    if (outcome.status === 'cancelled') return { status: 'runtime-error', error: new Error(INTERRUPTED_WHILE_COMPILING) };
    if (outcome.status === 'error') return { status: 'compile-error', diagnostics: outcome.diagnostics };
    const cell = outcome.cell;
    if (signal?.aborted) {
      // The interrupt came with the compiled cell: it does not run.
      compiler.discard(cell.id);
      return { status: 'runtime-error', error: new Error(INTERRUPTED_WHILE_COMPILING) };
    }
    cellsRun += 1;
    const ran = await session.run(cell, cellsRun, interruption.promise);
    compiler.commit(cell.id, ran.ok ? undefined : ran.assigned);
    if (!ran.ok) return { status: 'runtime-error', error: ran.error };
    // As tslab: a last expression that is null or undefined shows nothing.
    return ran.value === undefined || ran.value === null
      ? { status: 'ok', value: undefined, hasValue: false }
      : { status: 'ok', value: ran.value, hasValue: true };
  }

  /** The prelude's compilation: the compiler's first cell, which warms everything up. */
  function compilePrelude(): Promise<CompileOutcome> {
    preludeCompiled ??= compile(options.prelude);
    return preludeCompiled;
  }

  /** Runs the prelude before the first cell (not at warm-up: the session's runtime may not be there yet). */
  function ensurePrelude(): Promise<void> {
    prelude ??= (async () => {
      const outcomes = [await runCompiled(await compilePrelude())];
      for (const code of morePrelude) outcomes.push(await run(code));
      const failed = outcomes.find((outcome) => outcome.status !== 'ok');
      if (failed) throw new Error(`the kernel's TypeScript prelude failed: ${JSON.stringify(failed)}`);
    })();
    return prelude;
  }

  return {
    warmUp() {
      compilePrelude().catch((error: unknown) => log.error('compiling the TypeScript prelude failed', { error: String(error) }));
    },
    addPrelude(code) {
      if (prelude) throw new Error('addPrelude after the first cell: the declarations would not precede it');
      if (code.trim() !== '') morePrelude.push(code);
    },
    variableNames: () => session.names(),
    lookup: (name) => session.lookup(name),
    async execute(code, signal) {
      await ensurePrelude();
      return run(code, signal);
    },
    async declare(name, value, tsType) {
      await ensurePrelude();
      const outcome = await run(`declare let ${name}: ${tsType};`);
      if (outcome.status !== 'ok') {
        const detail = outcome.status === 'compile-error' ? outcome.diagnostics.map((d) => d.message).join('; ') : String(outcome.error);
        throw new Error(`could not declare the TypeScript variable ${name}: ${detail}`);
      }
      session.assign(name, value);
    },
    complete: (code, cursor) => compiler.complete(code, cursor),
    inspect: (code, cursor) => compiler.inspect(code, cursor),
    interrupt() {
      interruption.reject(new Error('Interrupted asynchronously'));
      interruption = newInterruption();
    },
    close() {
      compiler.close();
    },
  };
}

type RunResult = { ok: true; value: unknown } | { ok: false; error: unknown; assigned: string[] };

/**
 * The session's top-level names and the running of compiled cells. `exports` is a proxy only to
 * turn TypeScript's `Object.defineProperty(exports, name, { get })` (a re-exported import) into a
 * plain value that a later cell may redeclare, as tslab's executor did.
 */
function createCellSession(rootDir: string) {
  const values: Record<string, unknown> = {};
  const exports = new Proxy(values, {
    defineProperty(target, property, attributes) {
      if (property === '__esModule') return true;
      (target as Record<string | symbol, unknown>)[property] = attributes.get ? attributes.get() : attributes.value;
      return true;
    },
  });
  const modules = createLocalModules(rootDir);
  const scope = globalThis as unknown as Record<symbol, unknown>;

  return {
    names: () => Object.keys(values),
    lookup(name: string): VariableLookup {
      if (Object.prototype.hasOwnProperty.call(values, name)) return { found: true, value: values[name] };
      if (name in globalThis) return { found: true, value: (globalThis as Record<string, unknown>)[name] };
      return { found: false };
    },
    assign(name: string, value: unknown) {
      values[name] = value;
    },
    async run(cell: CompiledCell, count: number, interrupted: Promise<never>): Promise<RunResult> {
      modules.add(cell.modules);
      const before = new Map(cell.valueNames.map((name) => [name, Object.prototype.hasOwnProperty.call(values, name) ? { value: values[name] } : undefined]));
      scope[CELL_SCOPE] = { exports, require: modules.require };
      try {
        const head = cell.topLevelAwait ? 'async function' : 'function';
        const script = `(${head} (exports, require) {${cell.js}\n})(globalThis[Symbol.for('lakebase.kernel.cell')].exports, globalThis[Symbol.for('lakebase.kernel.cell')].require)`;
        // breakOnSigint: SIGINT stops the synchronous part of the cell (Jupyter's interrupt).
        const returned: unknown = runInThisContext(script, { filename: `cell[${count}]`, breakOnSigint: true });
        const value = cell.topLevelAwait ? await Promise.race([returned, interrupted]) : returned;
        return { ok: true, value };
      } catch (error) {
        return { ok: false, error, assigned: settleAssigned(before) };
      } finally {
        delete scope[CELL_SCOPE];
      }
    },
  };

  /**
   * After a failed cell: the names it assigned (its value differs from before, or is new) stay;
   * the others get their earlier value back, or go.
   */
  function settleAssigned(before: Map<string, { value: unknown } | undefined>): string[] {
    const assigned: string[] = [];
    for (const [name, earlier] of before) {
      const has = Object.prototype.hasOwnProperty.call(values, name);
      if (has && (!earlier || !Object.is(values[name], earlier.value))) assigned.push(name);
      else if (earlier) values[name] = earlier.value;
      else delete values[name];
    }
    return assigned;
  }
}

/**
 * `require` for cells: Node's, from the notebook's folder, except for local TypeScript modules
 * (`import { f } from "./helper"`), which exist only as the compiler's output.
 */
function createLocalModules(rootDir: string) {
  const compiled = new Map<string, string>();
  const loaded = new Map<string, NodeJS.Module>();

  function requireFrom(directory: string, base: NodeJS.Require): NodeJS.Require {
    const local = (id: string): NodeJS.Module | undefined => {
      if (!id.startsWith('.') && !id.startsWith('/')) return undefined;
      const path = resolve(directory, id);
      const found = [path, `${path}.js`, join(path, 'index.js')].find((candidate) => compiled.has(candidate));
      if (!found) return undefined;
      let module = loaded.get(found);
      if (!module) {
        module = new Module(found) as NodeJS.Module & { _compile(code: string, filename: string): void };
        module.filename = found;
        module.paths = (Module as unknown as { _nodeModulePaths(from: string): string[] })._nodeModulePaths(dirname(found));
        module.require = requireFrom(dirname(found), Module.createRequire(found));
        loaded.set(found, module);
        (module as unknown as { _compile(code: string, filename: string): void })._compile(compiled.get(found)!, found);
      }
      return module;
    };
    return new Proxy(base, {
      apply(target, thisArg, args: unknown[]) {
        const module = typeof args[0] === 'string' ? local(args[0]) : undefined;
        return module ? module.exports : Reflect.apply(target, thisArg, args);
      },
    });
  }

  return {
    require: requireFrom(rootDir, Module.createRequire(join(rootDir, 'notebook.js'))),
    add(modules: CompiledCell['modules']) {
      for (const { path, js } of modules) {
        compiled.set(path, js);
        // A module that changed is loaded again when next required.
        loaded.delete(path);
      }
    },
  };
}

interface CompilerThread {
  compile(code: string): { outcome: Promise<CompileOutcome>; cancel(): void };
  commit(cell: number, keep?: string[]): void;
  discard(cell: number): void;
  complete(code: string, cursor: number): Promise<Completion>;
  inspect(code: string, cursor: number): Promise<string | null>;
  close(): void;
}

/** The compiler thread, started at the first request (protocol.ts). */
function createCompilerThread(rootDir: string, cacheDir: string | undefined, log: Logger): CompilerThread {
  let worker: Worker | undefined;
  let failure: Error | undefined;
  let closing = false;
  let nextId = 1;
  const cancel = new Int32Array(new SharedArrayBuffer(4));
  const waiting = new Map<number, { resolve: (response: CompilerResponse) => void; reject: (error: Error) => void }>();

  function start(): Worker {
    if (failure) throw failure;
    if (worker) return worker;
    const data: CompilerWorkerData = {
      rootDir,
      cacheDir,
      // This package's own @types/node, for notebooks in a folder without one.
      fallbackTypeRoots: [join(dirname(require.resolve('@types/node/package.json')), '..')],
      cancel: cancel.buffer as SharedArrayBuffer,
    };
    worker = new Worker(join(__dirname, 'typescript', 'worker.js'), { workerData: data });
    worker.unref();
    worker.on('message', (response: CompilerResponse) => {
      if (response.kind === 'log') {
        log[response.level](response.message, response.fields);
        return;
      }
      const request = waiting.get(response.id);
      waiting.delete(response.id);
      if (!request) log.warn('an answer from the compiler thread that nobody waits for', { kind: response.kind, id: response.id });
      else if (response.kind === 'failed') request.reject(Object.assign(new Error(response.message), { stack: response.stack }));
      else request.resolve(response);
    });
    const stopped = (error: Error) => {
      if (closing) return;
      // The cells' declarations went with the thread: later cells could not be checked.
      failure = new Error(`the TypeScript compiler stopped (${error.message}); restart the kernel`, { cause: error });
      log.error('the compiler thread stopped', { error: String(error) });
      for (const request of waiting.values()) request.reject(failure);
      waiting.clear();
    };
    worker.on('error', stopped);
    worker.on('exit', (code) => stopped(new Error(`it exited with code ${code}`)));
    return worker;
  }

  function ask<K extends CompilerResponse['kind']>(request: CompilerRequest & { id: number }): Promise<Extract<CompilerResponse, { kind: K }>> {
    return new Promise((resolveAnswer, reject) => {
      try {
        const thread = start();
        waiting.set(request.id, { resolve: resolveAnswer as (response: CompilerResponse) => void, reject });
        thread.postMessage(request);
      } catch (error) {
        reject(error as Error);
      }
    });
  }

  return {
    compile(code) {
      const id = nextId++;
      const outcome = ask<'compiled'>({ kind: 'compile', id, code }).then((response) => response.outcome);
      return { outcome, cancel: () => Atomics.store(cancel, 0, id) };
    },
    commit(cell, keep) {
      start().postMessage({ kind: 'commit', cell, keep } satisfies CompilerRequest);
    },
    discard(cell) {
      start().postMessage({ kind: 'discard', cell } satisfies CompilerRequest);
    },
    async complete(code, cursor) {
      return (await ask<'completed'>({ kind: 'complete', id: nextId++, code, cursor })).completion;
    },
    async inspect(code, cursor) {
      return (await ask<'inspected'>({ kind: 'inspect', id: nextId++, code, cursor })).text;
    },
    close() {
      closing = true;
      failure ??= new Error('the TypeScript runner is closed');
      void worker?.terminate();
    },
  };
}
