// The catalog SQL completion reads, from a real PostgreSQL, and the cache that keeps it.
import { describe, expect, test } from 'vitest';
import type { LakebaseSession } from '../lakebase/session';
import { CatalogCache, loadCatalog } from '../lakebase/sql/catalog';
import { usePostgresSession } from './support/fixtures';

let session: LakebaseSession;
usePostgresSession(async (fixture) => {
  session = fixture.session;
});

async function sql(text: string): Promise<void> {
  await session.run(text, { displayLimit: 0 });
}

describe('loadCatalog', () => {
  test('reads schemas, tables, views and columns (in order, typed), and which relations the search_path shows', async () => {
    await sql('CREATE SCHEMA reporting');
    await sql('CREATE TABLE orders (id int PRIMARY KEY, dropped int, "Total Amount" numeric(10,2))');
    await sql('ALTER TABLE orders DROP COLUMN dropped');
    await sql('CREATE VIEW big_orders AS SELECT id FROM orders');
    await sql('CREATE TABLE reporting."Daily" (day date)');
    const catalog = await loadCatalog(session);
    expect(catalog.schemas).toEqual(expect.arrayContaining(['public', 'reporting']));
    expect(catalog.schemas.some((schema) => schema.startsWith('pg_') || schema === 'information_schema')).toBe(false);
    expect(catalog.relations).toEqual(
      expect.arrayContaining([
        {
          schema: 'public',
          name: 'orders',
          kind: 'table',
          visible: true,
          columns: [
            { name: 'id', type: 'integer', notNull: true },
            { name: 'Total Amount', type: 'numeric(10,2)', notNull: false },
          ],
        },
        { schema: 'public', name: 'big_orders', kind: 'view', visible: true, columns: [{ name: 'id', type: 'integer', notNull: false }] },
        { schema: 'reporting', name: 'Daily', kind: 'table', visible: false, columns: [{ name: 'day', type: 'date', notNull: false }] },
      ]),
    );
  });
});

describe('CatalogCache', () => {
  function countingCache(options: ConstructorParameters<typeof CatalogCache>[0] = {}) {
    const loads: number[] = [];
    const cache = new CatalogCache({
      ...options,
      load: (target, signal) => {
        loads.push(loads.length);
        return loadCatalog(target, signal);
      },
    });
    return { cache, loads };
  }

  test('keeps a snapshot until it is invalidated or old', async () => {
    let now = 0;
    const { cache, loads } = countingCache({ maxAgeMs: 1000, now: () => now });
    await cache.get(session);
    await cache.get(session);
    expect(loads).toHaveLength(1);
    await sql('CREATE TABLE later (x int)');
    expect((await cache.get(session))?.relations.some((r) => r.name === 'later')).toBe(false);
    cache.invalidate(session);
    expect((await cache.get(session))?.relations.some((r) => r.name === 'later')).toBe(true);
    now = 1000;
    await cache.get(session);
    expect(loads).toHaveLength(3);
  });

  test('inside a transaction it reads nothing: the kept snapshot or none', async () => {
    const { cache, loads } = countingCache();
    await sql('BEGIN');
    try {
      expect(await cache.get(session)).toBeUndefined();
      expect(loads).toHaveLength(0);
    } finally {
      await sql('ROLLBACK');
    }
    const kept = await cache.get(session);
    cache.invalidate(session);
    await cache.get(session);
    await sql('BEGIN');
    try {
      await sql('SELECT 1/0').catch(() => {});
      expect(session.transactionStatus).toBe('failed');
      expect((await cache.get(session))?.relations).toEqual(kept?.relations);
      expect(loads).toHaveLength(2);
    } finally {
      await sql('ROLLBACK');
    }
  });

  test('a load that takes too long is cancelled; completion goes on without a catalog', async () => {
    const cache = new CatalogCache({
      loadTimeoutMs: 50,
      load: async (target, signal) => {
        // Longer than the test may take: only the cancel ends it.
        await target.run('SELECT pg_sleep(600)', { displayLimit: 0, signal });
        return loadCatalog(target, signal);
      },
    });
    expect(await cache.get(session)).toBeUndefined();
    expect(session.transactionStatus).toBe('idle');
    expect((await session.run('SELECT 1 AS one', { displayLimit: 1 })).values).toEqual([[1]]);
  });

  test('a load queued behind a long statement of the user\'s is given up; the session goes on', async () => {
    const cache = new CatalogCache({ loadTimeoutMs: 50 });
    const user = new AbortController();
    const running = session.run('SELECT pg_sleep(600)', { displayLimit: 0, signal: user.signal }).catch((error: Error) => error);
    try {
      expect(await cache.get(session)).toBeUndefined();
    } finally {
      user.abort();
    }
    expect(await running).toMatchObject({ sqlState: '57014' });
    expect((await session.run('SELECT 2 AS two', { displayLimit: 1 })).values).toEqual([[2]]);
  });
});
