// The kernel process: binds the wire, builds the session, and ends when Jupyter says so, when it
// is told by a signal, or when the client that started it is gone.
//
// The compiler thread starts before anything else loads: checking the first cell takes it longer
// than the rest of the kernel takes to load (ZeroMQ, the magics, pg), and it has a core of its
// own meanwhile. Hence the `require`s below, in the order they are needed, rather than imports.
import { createLogger, thresholdFromEnv } from './log';
import { PRELUDE, PRELUDE_NAMES } from './prelude';
import { createTypeScriptRunner } from './typescript';
import type { KernelSession } from './session';

/** How often the kernel checks that the client that started it is still alive. */
const PARENT_POLL_MS = 1000;

export async function runKernel(connectionFile: string): Promise<void> {
  const log = createLogger({ threshold: thresholdFromEnv(process.env), fields: { pid: process.pid } });
  const typescript = createTypeScriptRunner({ rootDir: process.cwd(), prelude: PRELUDE, log });
  // The compiler loads and checks the prelude on a thread of its own while this one binds the
  // wire: kernel_info_reply does not wait for it, and the first cell finds it ready sooner.
  typescript.warmUp();
  const { readConnectionFile } = require('./wire/connection-file') as typeof import('./wire/connection-file');
  const { startKernelWire } = require('./wire/server') as typeof import('./wire/server');
  const { createSession } = require('./session') as typeof import('./session');
  const { historyFileFromEnv, openHistory } = require('./history') as typeof import('./history');
  const { createMagics } = require('../magics') as typeof import('../magics');
  const { sharedRefreshers } = require('../lakebase/credentials') as typeof import('../lakebase/credentials');
  const connection = await readConnectionFile(connectionFile);
  const history = await openHistory(historyFileFromEnv(process.env), log);
  const magics = createMagics({ reservedNames: PRELUDE_NAMES });
  // The verbs' result types join the prelude, so `const i = %lakebase instance get x` is typed;
  // they come after the compiler has started, which does not wait for the magics to load.
  typescript.addPrelude(magics.typeDeclarations());
  let session: KernelSession | undefined;
  let stopping = false;

  const wire = await startKernelWire(
    connection,
    {
      receive(channel, request) {
        session?.receive(channel, request);
      },
    },
    log,
  );

  async function stop(exitCode: number): Promise<never> {
    if (!stopping) {
      stopping = true;
      try {
        await session?.close();
        sharedRefreshers.stopAll();
        await history.flush();
      } catch (error) {
        log.error('closing the session failed', { error: String(error) });
      }
      await wire.close();
    }
    process.exit(exitCode);
  }

  session = createSession({
    wire,
    typescript,
    magics,
    log,
    history,
    onShutdown: () => void stop(0),
  });
  await wire.publish(null, 'status', { execution_state: 'starting' });

  // Jupyter interrupts by SIGINT (kernelspec interrupt_mode "signal"); a synchronous loop in a
  // cell is broken by the vm's `breakOnSigint` (kernel/typescript.ts), everything else by this handler.
  process.on('SIGINT', () => session?.interrupt());
  // Node ends the process on an error nobody caught; a notebook's kernel must outlive its cells'
  // stray timers and forgotten promises, as ipykernel outlives a failing thread.
  process.on('uncaughtException', (error) => session?.reportUncaught(error, 'exception'));
  process.on('unhandledRejection', (reason) => session?.reportUncaught(reason, 'rejection'));
  process.on('SIGTERM', () => void stop(0));
  watchParent(log, () => void stop(0));
  log.info('kernel started', { shell_port: wire.connection.shell_port });
}

/**
 * Exit when the client that started the kernel dies, as ipykernel does: Jupyter sets
 * JPY_PARENT_PID; without it, being re-parented (to init or a subreaper) means the parent is gone.
 */
function watchParent(log: ReturnType<typeof createLogger>, onGone: () => void): void {
  const parentPid = Number(process.env.JPY_PARENT_PID ?? 0);
  const originalParent = process.ppid;
  const timer = setInterval(() => {
    const gone = parentPid > 1 ? !isAlive(parentPid) : process.ppid !== originalParent;
    if (gone) {
      log.warn('the client that started the kernel is gone; exiting', { parent: parentPid || originalParent });
      clearInterval(timer);
      onGone();
    }
  }, PARENT_POLL_MS);
  timer.unref();
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
