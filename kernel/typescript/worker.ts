// The compiler thread: loads TypeScript (with its code cache) and answers the main thread's
// requests one at a time, in the order they were sent (see protocol.ts). While no request comes,
// it loads the notebook's @types packages a file at a time (CellCompiler.warmUp).
import { parentPort, workerData } from 'node:worker_threads';
import { createCellCompiler } from './compiler';
import { loadCompiler } from './load-compiler';
import type { CompilerRequest, CompilerResponse, CompilerWorkerData } from './protocol';

const data = workerData as CompilerWorkerData;
const port = parentPort!;
const send = (response: CompilerResponse) => port.postMessage(response);

const loadStarted = performance.now();
const loaded = loadCompiler(data.cacheDir);
send({ kind: 'log', level: 'debug', message: 'TypeScript compiler loaded', fields: { ms: Math.round(performance.now() - loadStarted), from_cache: loaded.fromCache } });
const compiler = createCellCompiler(loaded.ts, { rootDir: data.rootDir, fallbackTypeRoots: data.fallbackTypeRoots });
const cancel = new Int32Array(data.cancel);
let cacheSaved = false;

/**
 * The warm-up runs once no request has come for this long, and pauses when one comes: a notebook
 * run from top to bottom sends its cells back to back and never waits for it (a cell that needs
 * the types loads them itself), and the first cell, sent once the rest of the kernel has loaded,
 * finds the compiler free; a person reading or typing leaves it time enough.
 */
const WARM_UP_WHEN_IDLE_MS = 500;
/** Requests answered so far: a warm-up step that sees another number than its timer saw stops. */
let requests = 0;
let warmUpTimer: NodeJS.Timeout | undefined;
const warmUp: { done: boolean; started?: number; steps: number } = { done: false, steps: 0 };
let compiles = 0;

function warmUpWhenIdle(): void {
  if (warmUp.done) return;
  clearTimeout(warmUpTimer);
  const seen = requests;
  warmUpTimer = setTimeout(() => warmUpStep(seen), WARM_UP_WHEN_IDLE_MS);
}

function warmUpStep(seen: number): void {
  // A request came since: its answer set the timer again.
  if (warmUp.done || requests !== seen) return;
  warmUp.started ??= performance.now();
  let more: boolean;
  try {
    more = compiler.warmUp();
  } catch (error) {
    // The first cell that needs the types loads them itself, and reports what fails.
    warmUp.done = true;
    send({ kind: 'log', level: 'warn', message: 'loading the TypeScript types in the background failed', fields: { error: String(error) } });
    return;
  }
  warmUp.steps += 1;
  // One file a step; a request that came meanwhile is answered before the next.
  if (more) {
    setImmediate(() => warmUpStep(seen));
    return;
  }
  warmUp.done = true;
  send({ kind: 'log', level: 'debug', message: 'TypeScript types and documentation loaded', fields: { ms: Math.round(performance.now() - warmUp.started), steps: warmUp.steps } });
}

function answer(request: CompilerRequest): CompilerResponse | undefined {
  switch (request.kind) {
    case 'compile': {
      const started = performance.now();
      const outcome = compiler.compile(request.code, () => Atomics.load(cancel, 0) === request.id);
      compiles += 1;
      if (compiles === 1) send({ kind: 'log', level: 'debug', message: 'TypeScript prelude compiled', fields: { ms: Math.round(performance.now() - started) } });
      return { kind: 'compiled', id: request.id, outcome };
    }
    case 'commit':
      compiler.commit(request.cell, request.keep);
      return undefined;
    case 'discard':
      compiler.discard(request.cell);
      return undefined;
    case 'complete':
      return { kind: 'completed', id: request.id, completion: compiler.complete(request.code, request.cursor) };
    case 'inspect':
      return { kind: 'inspected', id: request.id, text: compiler.inspect(request.code, request.cursor) };
    default: {
      const unknown: never = request;
      throw new Error(`unknown compiler request ${JSON.stringify(unknown)}`);
    }
  }
}

port.on('message', (request: CompilerRequest) => {
  try {
    const response = answer(request);
    if (response) send(response);
  } catch (error) {
    const id = 'id' in request ? request.id : -1;
    send({ kind: 'failed', id, message: error instanceof Error ? error.message : String(error), stack: error instanceof Error ? error.stack : undefined });
  }
  requests += 1;
  warmUpWhenIdle();
  if (request.kind === 'compile' && !cacheSaved) {
    // After the first cell: the cache then holds the parser, checker and emitter too.
    cacheSaved = true;
    setImmediate(saveCache);
  }
});

function saveCache(): void {
  try {
    const file = loaded.saveCache();
    if (file) send({ kind: 'log', level: 'debug', message: 'wrote the compiler code cache', fields: { file } });
  } catch (error) {
    // A read-only home or a full disk: the next kernel loads without the cache, a bit slower.
    send({ kind: 'log', level: 'warn', message: 'could not write the compiler code cache', fields: { error: String(error) } });
  }
}
