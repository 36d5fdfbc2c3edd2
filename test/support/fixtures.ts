// Whole-file fixtures for vitest: a real PostgreSQL and one connection on it, started before the
// file's tests and stopped after them. (Kept apart from postgres.ts, which the bench also uses.)
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { LakebaseSession, openSession } from '../../lakebase/session';
import { resolveTarget } from '../../lakebase/targets';
import { startTestPostgres, TestPostgres } from './postgres';

/** A server and a node-postgres client on it; `ready` receives them once they are up. */
export function usePostgresClient(ready: (fixture: { server: TestPostgres; client: pg.Client }) => unknown): void {
  let server: TestPostgres | undefined;
  let client: pg.Client | undefined;
  beforeAll(async () => {
    server = await startTestPostgres();
    client = new pg.Client({ connectionString: server.url });
    await client.connect();
    await ready({ server, client });
  });
  afterAll(async () => {
    await client?.end();
    await server?.stop();
  });
}

/** A server and a plain-text `LakebaseSession` on it; `ready` receives them once they are up. */
export function usePostgresSession(ready: (fixture: { server: TestPostgres; session: LakebaseSession }) => unknown): void {
  let server: TestPostgres | undefined;
  let session: LakebaseSession | undefined;
  beforeAll(async () => {
    server = await startTestPostgres();
    session = await openSession(resolveTarget({ connectionString: server.url, options: { sslmode: 'disable' } }));
    ready({ server, session });
  });
  afterAll(async () => {
    await session?.close();
    await server?.stop();
  });
}
