// Waiting for a long-running operation: an instance going from STARTING to AVAILABLE, an
// Autoscaling operation until `done` (`GET /api/2.0/postgres/{operation}`), a SQL warehouse until
// RUNNING, a pipeline update until COMPLETED. Every one of them is the same loop — read the state,
// decide whether it is finished, sleep a little longer each time — so it is written once here and
// each caller only says how to read the state and what it means (`poll` and `check`).
//
// Two rules shape it:
//  - Stopping the wait never stops the operation. An `AbortSignal` (a notebook interrupt, Ctrl-C
//    in a terminal) ends the loop at once with `WaitStoppedError`, which says that the operation
//    goes on and carries its last known state; nothing is sent to the service.
//  - The delay grows (200 ms, ×1.5, up to 5 s by default, with a little jitter so that many
//    waiters do not poll in step), like the SDKs' waiters, but starts faster than their 1 s: the
//    local emulator answers in a few hundred milliseconds and a notebook should not lag behind.
//
// Nothing here knows about Jupyter: progress goes to a callback, which the magics turn into a live
// status line (`magics/status-line.ts`) and the terminal into a line rewritten in place.
import { LakebaseError } from './errors';

/** What one poll means: finished (with the result to return), or still going (and where it is). */
export type PollVerdict<Result> =
  | { done: true; result: Result }
  | {
      done: false;
      /** The operation's state as the service names it: `STARTING`, `RUNNING`, `QUEUED`. */
      state: string;
      /** What is being waited for, in the user's words: "the server to start". */
      detail?: string;
    };

/** Reported after each poll that did not finish the wait. */
export interface WaitProgress<Value> {
  /** What the last poll read. */
  value: Value;
  state: string;
  detail?: string;
  /** 1 for the first poll. */
  attempt: number;
  /** Since the wait began. */
  elapsedMs: number;
}

export interface WaitOptions<Value, Result> {
  /** What is awaited, for messages: "the instance orders to be AVAILABLE". */
  description: string;
  /** Reads the operation's current state. The signal is aborted when the wait stops. */
  poll(signal: AbortSignal): Promise<Value>;
  /**
   * Decides what a polled value means. Throwing ends the wait with that error: an operation that
   * failed, or a resource that settled somewhere it will not leave by itself.
   */
  check(value: Value): PollVerdict<Result>;
  /** Called after each poll that did not finish the wait. Must not throw (a throw is logged away). */
  onProgress?(progress: WaitProgress<Value>): void;
  /** Stops the wait (never the operation): the promise rejects with `WaitStoppedError`. */
  signal?: AbortSignal;
  /** Give up after this long with `WaitTimeoutError`; default: wait as long as it takes. */
  timeoutMs?: number;
  /** First delay between polls; default 200 ms. */
  initialDelayMs?: number;
  /** Longest delay between polls; default 5 s. */
  maxDelayMs?: number;
  /** How much each delay grows; default 1.5. */
  factor?: number;
  /**
   * Poll errors worth trying again (a dropped connection, a 503): the wait goes on with the next
   * delay. Any other error ends the wait. Default: none is retried (the SDK already retries 429
   * and 503 within its own retry window).
   */
  retryable?(error: unknown): boolean;
}

/** Stable codes of the errors a wait ends with (besides whatever `check` throws). */
export const WAIT_ERRORS = {
  /** The wait was stopped (interrupt); the operation goes on. */
  stopped: 'WAIT_STOPPED',
  /** `timeoutMs` passed; the operation goes on. */
  timedOut: 'WAIT_TIMED_OUT',
} as const;

/** What is known about the operation when a wait ends early. */
interface LastKnown<Value> {
  description: string;
  /** Undefined when no poll had answered yet. */
  last?: WaitProgress<Value>;
  elapsedMs: number;
}

/** A wait that ended before its operation did: what was last known of it. */
abstract class UnfinishedWaitError<Value> extends LakebaseError {
  readonly description: string;
  /** What the last poll said, if one answered. */
  readonly lastState: string | undefined;
  readonly lastValue: Value | undefined;
  readonly elapsedMs: number;
  protected readonly known: LastKnown<Value>;

  protected constructor(code: string, message: string, known: LastKnown<Value>, options: { hint?: string; cause?: unknown }) {
    super(code, message, options);
    this.description = known.description;
    this.lastState = known.last?.state;
    this.lastValue = known.last?.value;
    this.elapsedMs = known.elapsedMs;
    this.known = known;
  }

  /** The same error with a hint on how to check on the operation, which only the caller knows. */
  abstract withHint(hint: string): UnfinishedWaitError<Value>;
}

/**
 * The wait was stopped before the operation finished. The operation itself goes on: the service
 * was not told anything.
 */
export class WaitStoppedError<Value = unknown> extends UnfinishedWaitError<Value> {
  constructor(known: LastKnown<Value>, options: { hint?: string; cause?: unknown } = {}) {
    super(
      WAIT_ERRORS.stopped,
      `Stopped waiting for ${known.description} after ${formatElapsed(known.elapsedMs)}` +
        `${known.last ? ` (last state ${known.last.state})` : ''}; the operation goes on.`,
      known,
      options,
    );
  }

  withHint(hint: string): WaitStoppedError<Value> {
    return new WaitStoppedError<Value>(this.known, { hint, ...(this.cause === undefined ? {} : { cause: this.cause }) });
  }
}

/** `timeoutMs` passed before the operation finished; it goes on. */
export class WaitTimeoutError<Value = unknown> extends UnfinishedWaitError<Value> {
  constructor(known: LastKnown<Value>, options: { hint?: string } = {}) {
    super(
      WAIT_ERRORS.timedOut,
      `Gave up waiting for ${known.description} after ${formatElapsed(known.elapsedMs)}` +
        `${known.last ? ` (still ${known.last.state})` : ''}; the operation goes on.`,
      known,
      options,
    );
  }

  withHint(hint: string): WaitTimeoutError<Value> {
    return new WaitTimeoutError<Value>(this.known, { hint });
  }
}

/**
 * Polls until `check` says done, and returns its result. See `WaitOptions` for the knobs; the
 * wait ends with `WaitStoppedError` when `signal` aborts, `WaitTimeoutError` after `timeoutMs`,
 * or whatever `check` or a non-retryable `poll` throws.
 */
export async function waitFor<Value, Result>(options: WaitOptions<Value, Result>): Promise<Result> {
  const started = Date.now();
  const initialDelay = options.initialDelayMs ?? 200;
  const maxDelay = Math.max(initialDelay, options.maxDelayMs ?? 5_000);
  const factor = options.factor ?? 1.5;
  const deadline = options.timeoutMs === undefined ? Infinity : started + options.timeoutMs;
  // Aborted when the caller stops the wait, so that a poll in flight is abandoned too.
  const inner = new AbortController();
  const stop = () => inner.abort(options.signal?.reason);
  if (options.signal?.aborted) stop();
  else options.signal?.addEventListener('abort', stop, { once: true });
  let last: WaitProgress<Value> | undefined;
  const known = (): LastKnown<Value> => ({ description: options.description, last, elapsedMs: Date.now() - started });
  const stopped = (cause?: unknown) => new WaitStoppedError<Value>(known(), cause === undefined ? {} : { cause });

  try {
    let delay = initialDelay;
    for (let attempt = 1; ; attempt++) {
      if (inner.signal.aborted) throw stopped();
      let value: Value;
      try {
        value = await abortable(options.poll(inner.signal), inner.signal);
      } catch (error) {
        if (inner.signal.aborted) throw stopped();
        if (!options.retryable?.(error)) throw error;
        if (Date.now() >= deadline) throw new WaitTimeoutError<Value>(known());
        await sleep(nextDelay(delay), inner.signal, deadline);
        delay = Math.min(maxDelay, delay * factor);
        continue;
      }
      if (inner.signal.aborted) throw stopped();
      const verdict = options.check(value);
      if (verdict.done) return verdict.result;
      last = {
        value,
        state: verdict.state,
        ...(verdict.detail !== undefined ? { detail: verdict.detail } : {}),
        attempt,
        elapsedMs: Date.now() - started,
      };
      try {
        options.onProgress?.(last);
      } catch {
        // A progress display that fails must not end a wait the user still wants; the display is
        // the only one who could report it, so there is nobody to tell here.
      }
      if (Date.now() >= deadline) throw new WaitTimeoutError<Value>(known());
      await sleep(nextDelay(delay), inner.signal, deadline);
      if (inner.signal.aborted) throw stopped();
      delay = Math.min(maxDelay, delay * factor);
    }
  } finally {
    options.signal?.removeEventListener('abort', stop);
  }
}

/** ±10 % jitter, so that many waiters started together do not poll in step. */
function nextDelay(delay: number): number {
  return delay * (0.9 + Math.random() * 0.2);
}

/** Resolves after `ms` (or at `deadline`, whichever is first), or as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal, deadline: number): Promise<void> {
  const until = Math.max(0, Math.min(ms, deadline - Date.now()));
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, until);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

/**
 * A poll that does not listen to its signal (an SDK call without one) is not awaited past an
 * abort: the wait ends at once and the poll's eventual answer is dropped.
 */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => undefined);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** `850 ms`, `12 s`, `3 min 05 s`: how long something has taken, for status lines and messages. */
export function formatElapsed(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))} ms`;
  const seconds = Math.floor(ms / 1_000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}
