// Two databases on one real PostgreSQL, `app` (a sync's source) and `serving` (its target), each
// with a session, for the sync engine's tests. Started before the file's tests, stopped after.
import { afterAll, beforeAll } from 'vitest';
import type { LakebaseSession } from '../../lakebase/session';
import { openSession } from '../../lakebase/session';
import { resolveTarget } from '../../lakebase/targets';
import { startTestPostgres } from './postgres';
import type { TestPostgres } from './postgres';

export interface SyncDatabases {
  server: TestPostgres;
  source: LakebaseSession;
  target: LakebaseSession;
  /** A new session on a database of the server (the caller closes it). */
  sessionOn(database: string): Promise<LakebaseSession>;
}

export async function sql(session: LakebaseSession, text: string, params: unknown[] = []): Promise<unknown[][]> {
  return (await session.run(text, { params, displayLimit: Number.MAX_SAFE_INTEGER, fetchAll: true })).values as unknown[][];
}

/** A table's rows as text, sorted: equal lists mean equal tables, value for value. */
export async function rowsAsText(session: LakebaseSession, table: string): Promise<string[]> {
  return (await sql(session, `SELECT t::text FROM ${table} t ORDER BY 1`)).map((row) => String(row[0]));
}

export function useSyncDatabases(ready: (databases: SyncDatabases) => void): void {
  let databases: SyncDatabases | undefined;
  beforeAll(async () => {
    const server = await startTestPostgres();
    const sessionOn = async (database: string) => {
      const url = new URL(server.url);
      url.pathname = `/${database}`;
      return openSession(resolveTarget({ connectionString: url.toString(), options: { sslmode: 'disable' } }));
    };
    const admin = await sessionOn('postgres');
    await sql(admin, 'CREATE DATABASE app');
    await sql(admin, 'CREATE DATABASE serving');
    await admin.close();
    databases = { server, source: await sessionOn('app'), target: await sessionOn('serving'), sessionOn };
    ready(databases);
  });
  afterAll(async () => {
    await databases?.source.close();
    await databases?.target.close();
    await databases?.server.stop();
  });
}

/** Waits for a condition the test cannot await directly (a sync's progress), checking often. */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}
