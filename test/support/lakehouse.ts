// A throwaway local lakehouse (emulator/lakehouse/) for one test file, and a way to read results.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chmod } from 'node:fs/promises';
import * as arrow from 'apache-arrow';
import { afterAll, beforeAll } from 'vitest';
import { Lakehouse } from '../../emulator/lakehouse/engine';
import type { LakehouseSession, StatementParameter, StatementResult } from '../../emulator/lakehouse/engine';

export interface TestLakehouse {
  lakehouse: Lakehouse;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startTestLakehouse(dataDir?: string): Promise<TestLakehouse> {
  const root = dataDir ?? (await mkdtemp(join(tmpdir(), 'lakebase-test-lakehouse-')));
  // As root the server runs as `postgres`, which must reach its directory.
  await chmod(root, 0o755);
  const lakehouse = await Lakehouse.start({ dataDir: join(root, 'lakehouse'), templateDir: false });
  return {
    lakehouse,
    dataDir: root,
    async stop() {
      await lakehouse.stop();
      if (dataDir === undefined) await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * A throwaway lakehouse and one session on it for the test file that calls this: started before
 * its tests (handed over through `opened`), closed and stopped after them.
 */
export function useLakehouseSession(opened: (started: { lake: TestLakehouse; session: LakehouseSession }) => void): void {
  let lake: TestLakehouse | undefined;
  let session: LakehouseSession | undefined;
  beforeAll(async () => {
    lake = await startTestLakehouse();
    session = await lake.lakehouse.openSession({ user: 'someone@example.com' });
    opened({ lake, session });
  });
  afterAll(async () => {
    await session?.close();
    await lake?.stop();
  });
}

/** Every row of a result as plain objects (Arrow's own conversion: bigint, Date numbers, Maps). */
export async function rowsOf(result: StatementResult): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for await (const batch of result.batches) {
    const table = new arrow.Table(batch);
    for (const row of table) rows.push(row.toJSON() as Record<string, unknown>);
  }
  return rows;
}

/** Runs one statement and returns its rows. */
export async function sql(session: LakehouseSession, text: string, parameters?: StatementParameter[]): Promise<Record<string, unknown>[]> {
  return rowsOf(await session.execute(text, parameters ? { parameters } : {}));
}
