// The compiler thread: loads TypeScript (with its code cache) and answers the main thread's
// requests one at a time, in the order they were sent (see protocol.ts). Between requests, it
// loads the notebook's @types packages a file at a time (CellCompiler.warmUp): from the first
// user cell on (the prelude is the first compile), or once no cell has come for a while, so that
// the first cell never waits for what it does not need.
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

/** How long the compiler waits after the prelude for the first cell before it warms up anyway. */
const WARM_UP_WHEN_IDLE_MS = 1000;
let compiles = 0;
let warmUpTimer: NodeJS.Timeout | undefined;
let warming: { started: number; steps: number } | undefined;

function startWarmUp(): void {
  clearTimeout(warmUpTimer);
  if (warming) return;
  warming = { started: performance.now(), steps: 0 };
  setImmediate(warmUpStep);
}

function warmUpStep(): void {
  // One file a step; requests that came meanwhile are answered before the next.
  let more: boolean;
  try {
    more = compiler.warmUp();
  } catch (error) {
    // The first cell that needs the types loads them itself, and reports what fails.
    send({ kind: 'log', level: 'warn', message: 'loading the TypeScript types in the background failed', fields: { error: String(error) } });
    return;
  }
  warming!.steps += 1;
  if (more) setImmediate(warmUpStep);
  else send({ kind: 'log', level: 'debug', message: 'TypeScript types loaded', fields: { ms: Math.round(performance.now() - warming!.started), steps: warming!.steps } });
}

function answer(request: CompilerRequest): CompilerResponse | undefined {
  switch (request.kind) {
    case 'compile': {
      const started = performance.now();
      const outcome = compiler.compile(request.code, () => Atomics.load(cancel, 0) === request.id);
      compiles += 1;
      if (compiles === 1) {
        send({ kind: 'log', level: 'debug', message: 'TypeScript prelude compiled', fields: { ms: Math.round(performance.now() - started) } });
        warmUpTimer = setTimeout(startWarmUp, WARM_UP_WHEN_IDLE_MS);
      } else {
        startWarmUp();
      }
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
