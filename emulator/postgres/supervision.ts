// What an instance server does when its PostgreSQL dies under it: it starts it again, a few times
// with growing pauses, and tells its owner how that goes, so the owner can show it the way the real
// service does (a Provisioned instance reads STARTING meanwhile, then AVAILABLE again, or FAILED
// with the reason). Before this, a server killed from outside (`kill -9` of its postmaster, the OOM
// killer) stayed down while its instance still read AVAILABLE, until someone stopped and started
// it by hand (issue 12). Every server of the emulator gets it: instances, Autoscaling branches and
// the lakehouse engine; only the template builder, which lives for seconds, does not.

/** How a supervised server is doing, as told to its owner (`InstanceServerOptions.onHealth`). */
export type ServerHealth =
  /** PostgreSQL exited unexpectedly: `attempt` of `attempts` restarts is about to be made. */
  | { state: 'restarting'; cause: string; attempt: number; attempts: number; lastError?: string }
  /** Running again after `attempts` restarts. */
  | { state: 'recovered'; cause: string; attempts: number }
  /** Every restart failed; the server stays down until it is started again. */
  | { state: 'failed'; cause: string; attempts: number; lastError: string };

/**
 * Pauses before each restart after a crash: the first is short (a killed server usually starts at
 * once), later ones give what keeps it down (its old backends still holding shared memory, a full
 * disk being cleared) a chance to go. About 15 s in all before the server is reported failed.
 */
export const DEFAULT_RESTART_DELAYS_MS: readonly number[] = [250, 1_000, 2_000, 4_000, 8_000];

/** `killed by SIGKILL`, `exit code 1`: how a server's process ended, in words. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exit code ${code ?? 'unknown'}`;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
