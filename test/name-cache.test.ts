// The names completion looks up in the workspace (instances, roles) are kept a short while: Tab
// is pressed often, so one lookup serves the presses that follow, until the names are stale, a
// verb changes them, or the lookup failed.
import { expect, test } from 'vitest';
import { NameCache } from '../magics/verbs/workspace-verbs';

function counting(names: readonly string[]) {
  const calls = { count: 0 };
  const load = async () => {
    calls.count += 1;
    return names;
  };
  return { calls, load };
}

test('one lookup serves the presses that follow, per key', async () => {
  const cache = new NameCache();
  const { calls, load } = counting(['shop', 'shop-before']);
  expect(await cache.get('host-a', load)).toEqual(['shop', 'shop-before']);
  expect(await cache.get('host-a', load)).toEqual(['shop', 'shop-before']);
  // Presses while the first lookup is still out share it.
  await Promise.all([cache.get('host-b', load), cache.get('host-b', load)]);
  expect(calls.count).toBe(2);
});

test('a verb that changed the names, or a lookup gone stale, makes the next press look again', async () => {
  const cache = new NameCache();
  const { calls, load } = counting(['shop']);
  await cache.get('host', load);
  cache.invalidate('host');
  await cache.get('host', load);
  cache.invalidate();
  await cache.get('host', load);
  expect(calls.count).toBe(3);
  // Kept for no time at all: every press looks again.
  const stale = new NameCache(0);
  await stale.get('host', load);
  await stale.get('host', load);
  expect(calls.count).toBe(5);
});

test('a failed lookup is not kept', async () => {
  const cache = new NameCache();
  await expect(cache.get('host', async () => Promise.reject(new Error('workspace unreachable')))).rejects.toThrow('workspace unreachable');
  const { calls, load } = counting(['shop']);
  expect(await cache.get('host', load)).toEqual(['shop']);
  expect(calls.count).toBe(1);
});
