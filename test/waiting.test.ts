// The one polling loop every long operation uses (lakebase/waiting.ts): it finishes, fails, times
// out and stops as its contract says, and stopping never touches the operation itself. The
// "operations" here are small state machines advanced by the polls; delays are a millisecond, and
// nothing asserts how long anything took.
import { expect, test } from 'vitest';
import { formatElapsed, PollVerdict, waitFor, WaitProgress, WaitStoppedError, WaitTimeoutError } from '../lakebase/waiting';

/** An operation that is STARTING for `steps` polls, then AVAILABLE. */
function operation(steps: number) {
  const op = { polls: 0, state: 'STARTING' };
  return {
    op,
    poll: async () => {
      op.polls++;
      if (op.polls > steps) op.state = 'AVAILABLE';
      return { state: op.state, polls: op.polls };
    },
    check: (value: { state: string; polls: number }): PollVerdict<string> =>
      value.state === 'AVAILABLE' ? { done: true, result: 'ready' } : { done: false, state: value.state, detail: 'the server to start' },
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the wait to fail');
    },
    (error: unknown) => error,
  );
}

test('polls until check says done and reports every poll before it', async () => {
  const { op, poll, check } = operation(3);
  const progress: WaitProgress<{ state: string; polls: number }>[] = [];
  const result = await waitFor({ description: 'the instance x to be AVAILABLE', poll, check, initialDelayMs: 1, onProgress: (p) => progress.push(p) });
  expect(result).toBe('ready');
  expect(op.polls).toBe(4);
  expect(progress.map((p) => [p.attempt, p.state, p.detail, p.value.polls])).toEqual([
    [1, 'STARTING', 'the server to start', 1],
    [2, 'STARTING', 'the server to start', 2],
    [3, 'STARTING', 'the server to start', 3],
  ]);
  // Elapsed time only grows.
  expect(progress.map((p) => p.elapsedMs)).toEqual([...progress.map((p) => p.elapsedMs)].sort((a, b) => a - b));
});

test('an error thrown by check ends the wait with that error', async () => {
  const failure = new Error('settled in STOPPED');
  const error = await rejection(
    waitFor({ description: 'x', poll: async () => 'STOPPED', check: () => { throw failure; }, initialDelayMs: 1 }),
  );
  expect(error).toBe(failure);
});

test('stopping the wait between polls rejects with WaitStoppedError and leaves the operation alone', async () => {
  const { op, poll, check } = operation(Infinity);
  const abort = new AbortController();
  const waiting = waitFor({
    description: 'the instance x to be AVAILABLE',
    poll,
    check,
    signal: abort.signal,
    // Long enough that the abort lands in a sleep, not in a poll.
    initialDelayMs: 60_000,
    onProgress: () => abort.abort(),
  });
  const error = await rejection(waiting);
  expect(error).toBeInstanceOf(WaitStoppedError);
  const stopped = error as WaitStoppedError<{ state: string }>;
  expect(stopped.code).toBe('WAIT_STOPPED');
  expect(stopped.lastState).toBe('STARTING');
  expect(stopped.lastValue).toEqual({ state: 'STARTING', polls: 1 });
  expect(stopped.message).toMatch(/^Stopped waiting for the instance x to be AVAILABLE after .* \(last state STARTING\); the operation goes on\.$/);
  // No poll after the stop; the operation's state is what it was.
  expect(op.polls).toBe(1);
  expect(op.state).toBe('STARTING');
});

test('stopping the wait during a poll that never answers ends it at once, and the poll hears of it', async () => {
  const abort = new AbortController();
  let pollSignal: AbortSignal | undefined;
  const waiting = waitFor({
    description: 'the operation op-1 to be done',
    poll: (signal) => {
      pollSignal = signal;
      setImmediate(() => abort.abort());
      return new Promise<never>(() => undefined);
    },
    check: () => ({ done: true, result: 1 }),
    signal: abort.signal,
  });
  const error = await rejection(waiting);
  expect(error).toBeInstanceOf(WaitStoppedError);
  expect((error as WaitStoppedError).lastState).toBeUndefined();
  expect((error as Error).message).toMatch(/^Stopped waiting for the operation op-1 to be done after .*; the operation goes on\.$/);
  expect(pollSignal?.aborted).toBe(true);
});

test('a signal aborted before the wait starts stops it before the first poll', async () => {
  const { op, poll, check } = operation(0);
  const error = await rejection(waitFor({ description: 'x', poll, check, signal: AbortSignal.abort() }));
  expect(error).toBeInstanceOf(WaitStoppedError);
  expect(op.polls).toBe(0);
});

test('timeoutMs ends the wait with WaitTimeoutError naming the last state', async () => {
  const { poll, check } = operation(Infinity);
  const error = await rejection(waitFor({ description: 'the warehouse w to be RUNNING', poll, check, timeoutMs: 30, initialDelayMs: 5 }));
  expect(error).toBeInstanceOf(WaitTimeoutError);
  expect((error as WaitTimeoutError).code).toBe('WAIT_TIMED_OUT');
  expect((error as Error).message).toMatch(/^Gave up waiting for the warehouse w to be RUNNING after .* \(still STARTING\); the operation goes on\.$/);
});

test('retryable poll errors are tried again; others end the wait', async () => {
  let polls = 0;
  const flaky = async () => {
    polls++;
    if (polls <= 2) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    if (polls === 3) throw new Error('404 RESOURCE_DOES_NOT_EXIST');
    return 'never';
  };
  const retryable = (error: unknown) => (error as { code?: string }).code === 'ECONNRESET';
  const error = await rejection(waitFor({ description: 'x', poll: flaky, check: () => ({ done: true, result: 1 }), retryable, initialDelayMs: 1 }));
  expect((error as Error).message).toBe('404 RESOURCE_DOES_NOT_EXIST');
  expect(polls).toBe(3);
});

test('a progress callback that throws does not end the wait', async () => {
  const { poll, check } = operation(2);
  const result = await waitFor({ description: 'x', poll, check, initialDelayMs: 1, onProgress: () => { throw new Error('display broke'); } });
  expect(result).toBe('ready');
});

test('delays grow by the factor up to the maximum', async () => {
  // The sleeps themselves are measured by the poll times: each gap is at least 90 % of its delay.
  const times: number[] = [];
  const { poll, check } = operation(5);
  await waitFor({
    description: 'x',
    poll: async () => {
      times.push(performance.now());
      return poll();
    },
    check,
    initialDelayMs: 10,
    factor: 2,
    maxDelayMs: 40,
  });
  const gaps = times.slice(1).map((time, i) => time - times[i]);
  // Delays 10, 20, 40, 40, 40 with ±10 % jitter: each gap is at least 90 % of its delay (timers never fire early).
  [10, 20, 40, 40, 40].forEach((delay, i) => expect(gaps[i]).toBeGreaterThanOrEqual(delay * 0.9 - 1));
});

test('formatElapsed reads like a person would say it', () => {
  expect(formatElapsed(850)).toBe('850 ms');
  expect(formatElapsed(12_400)).toBe('12 s');
  expect(formatElapsed(185_000)).toBe('3 min 05 s');
  expect(formatElapsed(2 * 3_600_000 + 7 * 60_000)).toBe('2 h 07 min');
});
