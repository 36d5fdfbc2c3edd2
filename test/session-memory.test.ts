// Memory does not grow with the size of a result when only a page is kept: the rows beyond the
// page are counted and dropped batch by batch. Measured as the largest live heap (sampled right
// after a full garbage collection) while a statement runs, for two result sizes ten times apart; a
// control run that keeps every row shows that the measurement sees the difference. Generous
// slack, no timing.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { LakebaseSession, openSession } from '../lakebase/session';
import { resolveTarget } from '../lakebase/targets';
import type { RunOptions } from '../lakebase/contracts';
import { usePostgresSession } from './support/fixtures';

let session: LakebaseSession;

usePostgresSession((fixture) => ({ session } = fixture));

const MB = 1024 * 1024;

// Garbage not yet collected would make the heap look as if it grew with the result; a full
// collection before each sample leaves what is really held. (The usual way to reach `gc` without
// starting node with --expose-gc.)
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

function liveHeap(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

/** Largest live heap (MB) above the live heap before the statement, sampled while it runs. */
async function peakHeapGrowth(sql: string, options: RunOptions): Promise<{ growthMb: number; rowCount: number | null }> {
  const before = liveHeap();
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, liveHeap());
  }, 20);
  try {
    const result = await session.run(sql, options);
    peak = Math.max(peak, liveHeap());
    return { growthMb: (peak - before) / MB, rowCount: result.rowCount };
  } finally {
    clearInterval(sampler);
  }
}

const rows = (n: number) => `SELECT n, md5(n::text) AS digest, now() AS at FROM generate_series(1, ${n}) AS n`;

test('the heap does not grow with the row count when a page is displayed', { timeout: 60_000 }, async () => {
  await peakHeapGrowth(rows(10_000), { displayLimit: 100 }); // warm up code paths and caches
  const small = await peakHeapGrowth(rows(50_000), { displayLimit: 100 });
  const large = await peakHeapGrowth(rows(500_000), { displayLimit: 100 });
  expect(small.rowCount).toBe(50_000);
  expect(large.rowCount).toBe(500_000);
  // Kept rows would cost about 100 MB here (see the control); batches cost the same at any size.
  expect(large.growthMb).toBeLessThan(small.growthMb + 20);

  const control = await peakHeapGrowth(rows(500_000), { displayLimit: 100, fetchAll: true });
  expect(control.growthMb).toBeGreaterThan(large.growthMb + 60);
});

test('wide rows are fetched in batches bounded by bytes, not only by count', { timeout: 60_000 }, async () => {
  // 10,000 rows of 20 kB: one batch of 10,000 would hold 400 MB of strings at once.
  const wide = await peakHeapGrowth("SELECT n, repeat('x', 20000) AS wide FROM generate_series(1, 10000) AS n", { displayLimit: 5 });
  expect(wide.rowCount).toBe(10_000);
  expect(wide.growthMb).toBeLessThan(60);
});
