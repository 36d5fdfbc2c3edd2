import { afterAll, beforeAll, expect, test } from 'vitest';
import pg from 'pg';
import { startTestPostgres, TestPostgres } from './support/postgres';

let server: TestPostgres;
beforeAll(async () => { server = await startTestPostgres(); });
afterAll(async () => { await server?.stop(); });

test('the test fixture serves a real PostgreSQL', async () => {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  const { rows } = await client.query<{ v: number }>('SELECT 40 + 2 AS v');
  await client.end();
  expect(rows[0].v).toBe(42);
});
