// Rows stream through a server-side cursor: a session keeps the rows it is asked to keep (a page,
// or all of them) and counts the rest, so the true total is reported whatever was kept.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { LakebaseSession, openSession } from '../lakebase/session';
import { resolveTarget } from '../lakebase/targets';
import { usePostgresSession } from './support/fixtures';

let session: LakebaseSession;

usePostgresSession((fixture) => ({ session } = fixture));

test('a 200,000-row result keeps the first 100 rows and reports the true count', async () => {
  const result = await session.run('SELECT n, md5(n::text) AS digest FROM generate_series(1, 200000) AS n', { displayLimit: 100 });
  expect(result.rowCount).toBe(200_000);
  expect(result.values).toHaveLength(100);
  expect(result.values[0]).toEqual([1, 'c4ca4238a0b923820dcc509a6f75849b']);
  expect(result.values[99][0]).toBe(100);
  expect(result.complete).toBe(false);
  expect(result.command).toBe('SELECT');
  expect(result.columns.map((column) => [column.name, column.typeName])).toEqual([
    ['n', 'int4'],
    ['digest', 'text'],
  ]);
});

test('fetchAll keeps every row, in order', async () => {
  const result = await session.run('SELECT n FROM generate_series(1, 25001) AS n', { displayLimit: 10, fetchAll: true });
  expect(result.rowCount).toBe(25_001);
  expect(result.values).toHaveLength(25_001);
  expect(result.values.every((row, i) => row[0] === i + 1)).toBe(true);
  expect(result.complete).toBe(true);
});

test.each([0, 1, 99, 100, 101, 10_000, 10_001, 20_000])('a result of %i rows is counted exactly', async (rows) => {
  // Sizes around the display limit and the largest batch size, where an off-by-one would show.
  const result = await session.run('SELECT n FROM generate_series(1, $1::int) AS n', { displayLimit: 100, params: [rows] });
  expect(result.rowCount).toBe(rows);
  expect(result.values).toHaveLength(Math.min(rows, 100));
});

test('displayLimit 0 keeps no rows and still counts them', async () => {
  const result = await session.run('SELECT n FROM generate_series(1, 1234) AS n', { displayLimit: 0 });
  expect(result.values).toEqual([]);
  expect(result.rowCount).toBe(1234);
  expect(result.displayLimit).toBe(0);
});

test('wide rows are all counted', async () => {
  const result = await session.run("SELECT n, repeat('x', 10000) AS wide FROM generate_series(1, 20000) AS n", { displayLimit: 5 });
  expect(result.rowCount).toBe(20_000);
  expect(result.values.map((row) => row[0])).toEqual([1, 2, 3, 4, 5]);
  expect((result.values[0][1] as string).length).toBe(10_000);
});
