// The heartbeat, answered off the main thread. A client pings the kernel's heartbeat socket and
// takes silence for a dead kernel; answered on the cells' event loop, every synchronous stretch of
// a cell (a 10-second loop, compiling a big cell) went unanswered (issue 12: about 9 s of silence
// in a 10-second loop). ipykernel answers heartbeats in a thread of its own; here it is a worker
// thread with its own ZeroMQ context and REP socket, which echoes whatever the main thread does.
//
// The worker's code is a string run with `eval`, not a file: the wire also runs from TypeScript
// sources (tests), where no compiled worker file sits beside this one. It loads zeromq from the
// path the main thread resolved, since an eval'd worker resolves modules from the process's cwd
// (the notebook's folder).
//
// zeromq.js aborts the whole process (SIGABRT, "terminate called after throwing an instance of
// 'Napi::Error'") when the process exits while a worker still has a socket with a receive pending
// (zeromq/zeromq.js#411; seen here in about a third of `process.exit` calls). So the socket is
// always closed, and the worker's loop seen to end, before the process goes: by `close()`, and by
// an `exit` listener that waits for it synchronously when something calls `process.exit` first
// (a cell may). The worker reports the end of its loop through shared memory, which the main
// thread can wait on inside that listener.
import { Worker } from 'node:worker_threads';

/** What the worker says once: where it listens, or why it could not. */
type WorkerReport = { bound: string } | { failed: string; code?: string };

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const zmq = require(workerData.zeromq);
const ended = new Int32Array(workerData.ended);
const socket = new zmq.Reply({ linger: 0 });
if (workerData.ipv6) socket.ipv6 = true;
parentPort.on('message', (message) => {
  if (message === 'close') socket.close();
});
function end() {
  Atomics.store(ended, 0, 1);
  Atomics.notify(ended, 0);
  // Nothing is left for the worker to do: it exits.
  parentPort.close();
}
socket.bind(workerData.endpoint).then(
  async () => {
    parentPort.postMessage({ bound: socket.lastEndpoint });
    try {
      for await (const frames of socket) await socket.send(frames);
    } catch (error) {
      if (!socket.closed) parentPort.postMessage({ failed: String(error && error.message) });
    }
    socket.close();
    end();
  },
  (error) => {
    parentPort.postMessage({ failed: String(error && error.message), code: error && error.code });
    socket.close();
    end();
  },
);
`;

/** How long a closing heartbeat may take to end its worker's loop before it is given up on. */
const CLOSE_TIMEOUT_MS = 2000;

export interface Heartbeat {
  /** The endpoint as bound (a port 0 replaced by the one chosen). */
  readonly endpoint: string;
  /** Closes the socket and ends the worker. Idempotent. */
  close(): Promise<void>;
}

export class HeartbeatError extends Error {
  override readonly name = 'HeartbeatError';
  constructor(message: string, readonly code: string | undefined) {
    super(message);
  }
}

/**
 * Binds the heartbeat's REP socket to `endpoint` in a worker thread and echoes every ping there.
 * `onFailure` hears of a socket that stopped after binding (logged; the kernel goes on).
 */
export async function startHeartbeat(endpoint: string, options: { ipv6: boolean; onFailure: (message: string) => void }): Promise<Heartbeat> {
  // One flag in shared memory: set by the worker once its socket is closed and its loop over.
  const ended = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { zeromq: require.resolve('zeromq'), endpoint, ipv6: options.ipv6, ended: ended.buffer },
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  // Something calls process.exit with the heartbeat open: close it first, waiting here (an exit
  // listener cannot await), or zeromq aborts the process (see the top of this file).
  const closeAtExit = () => {
    worker.postMessage('close');
    Atomics.wait(ended, 0, 0, CLOSE_TIMEOUT_MS);
  };
  process.once('exit', closeAtExit);
  const bound = await new Promise<string>((resolve, reject) => {
    const onError = (error: Error) => reject(new HeartbeatError(`the heartbeat thread failed: ${error.message}`, undefined));
    worker.once('error', onError);
    worker.once('message', (report: WorkerReport) => {
      worker.off('error', onError);
      if ('bound' in report) resolve(report.bound);
      else reject(new HeartbeatError(report.failed, report.code));
    });
  }).catch(async (error: unknown) => {
    process.off('exit', closeAtExit);
    await exited;
    throw error;
  });
  worker.on('message', (report: WorkerReport) => {
    if ('failed' in report) options.onFailure(report.failed);
  });
  worker.on('error', (error) => options.onFailure(error.message));
  // A heartbeat alone never keeps the kernel process alive.
  worker.unref();

  let closing: Promise<void> | undefined;
  return {
    endpoint: bound,
    close() {
      closing ??= (async () => {
        worker.postMessage('close');
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), CLOSE_TIMEOUT_MS)));
        const late = await Promise.race([exited.then(() => false), timedOut]);
        clearTimeout(timer);
        // Past this point exiting is safe; a worker that did not end in time is left to the exit listener.
        if (!late) process.off('exit', closeAtExit);
      })();
      return closing;
    },
  };
}
