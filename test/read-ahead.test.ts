// The warehouse's read-ahead (emulator/lakehouse/read-ahead.ts): it reads the engine's batches
// while the client is busy, never more than its byte bound ahead, hands them over in order, and
// reports the engine's failure where it happened.
import * as arrow from 'apache-arrow';
import { describe, expect, test } from 'vitest';
import { ReadAhead } from '../emulator/lakehouse/read-ahead';

/** An engine of `count` one-row batches (the row is the batch's number), failing at `failAt`. */
function engine(count: number, failAt?: number) {
  const asked = { count: 0 };
  const batches: AsyncIterator<arrow.RecordBatch> = {
    async next() {
      const index = asked.count++;
      if (index === failAt) throw new Error(`engine failed at batch ${index}`);
      if (index >= count) return { done: true, value: undefined };
      return { done: false, value: arrow.tableFromArrays({ n: Int32Array.of(index) }).batches[0] };
    },
  };
  return { batches, asked };
}

/** Each batch "encodes" to 1,000 bytes. */
const encode = () => Buffer.alloc(1000);

/** Lets every promise and immediate that is ready run (the read-ahead does no I/O of its own). */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
}

const numberOf = (batch: arrow.RecordBatch) => batch.getChild('n')!.get(0) as number;

describe('reading a result ahead of the client', () => {
  test('reads ahead up to its bound, and one batch more each time the client takes one', async () => {
    const { batches, asked } = engine(100);
    const reader = new ReadAhead(batches, encode, 2500);
    await reader.started();
    await settle();
    // Two batches (2,000 bytes) are under the bound, so a third is read; then it waits.
    expect(asked.count).toBe(3);
    expect(numberOf((await reader.next())!.batch)).toBe(0);
    await settle();
    expect(asked.count).toBe(4);
    reader.stop();
  });

  test('hands every batch over in order, then says there are no more', async () => {
    const { batches } = engine(5);
    const reader = new ReadAhead(batches, encode, 1);
    const seen: number[] = [];
    while (await reader.hasMore()) seen.push(numberOf((await reader.next())!.batch));
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(await reader.next()).toBeUndefined();
  });

  test('an engine failure comes after the batches read before it', async () => {
    const { batches } = engine(10, 3);
    const reader = new ReadAhead(batches, encode, 10_000);
    await reader.started();
    const seen: number[] = [];
    const failure = await (async () => {
      for (;;) {
        const next = await reader.next();
        if (next === undefined) return undefined;
        seen.push(numberOf(next.batch));
      }
    })().catch((error: unknown) => error);
    expect(seen).toEqual([0, 1, 2]);
    expect(String(failure)).toContain('engine failed at batch 3');
  });

  test('a failure before the first batch fails the start', async () => {
    const { batches } = engine(10, 0);
    const reader = new ReadAhead(batches, encode, 10_000);
    await expect(reader.started()).rejects.toThrow('engine failed at batch 0');
  });

  test('a stopped reader reads no further', async () => {
    const { batches, asked } = engine(100);
    const reader = new ReadAhead(batches, encode, 1500);
    await reader.started();
    await settle();
    const before = asked.count;
    reader.stop();
    await settle();
    expect(asked.count).toBeLessThanOrEqual(before + 1);
    expect(await reader.hasMore()).toBe(false);
  });
});
