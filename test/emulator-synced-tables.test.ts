// Synced tables in the emulator, through the official JS SDK: each scheduling policy end to end
// (create, rows arrive, the source changes, a refresh or a commit brings the changes, delete), the
// state sequence with progress, the real errors, and jobs that refresh a synced table on a cron
// schedule and on a table-update trigger. Rows are compared between the lakehouse (Delta) and the
// instance's PostgreSQL, value by value.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ApiError } from '@databricks/sdk-experimental';
import type { WorkspaceClient } from '@databricks/sdk-experimental';
import type { Lakehouse, LakehouseSession } from '../emulator/lakehouse/engine';
import { createRefresherRegistry } from '../lakebase/credentials';
import type { RefresherRegistry } from '../lakebase/credentials';
import { connectInstance } from '../lakebase/instance';
import type { LakebaseSession } from '../lakebase/session';
import { startTestEmulator } from './support/emulator-workspace';
import type { TestEmulator } from './support/emulator-workspace';
import { rowsOf } from './support/lakehouse';

let emulator: TestEmulator;
let sdk: WorkspaceClient;
let lakehouse: Lakehouse;
let delta: LakehouseSession;
let postgres: LakebaseSession;
let refreshers: RefresherRegistry;

/** A quarter of this per pipeline state: long enough to see the provisioning states between polls. */
const TRANSITION_DELAY_MS = 400;

beforeAll(async () => {
  emulator = await startTestEmulator({ transitionDelayMs: TRANSITION_DELAY_MS });
  const user = await emulator.userWorkspace();
  sdk = user.client;
  await user.createInstance({ name: 'serving', capacity: 'CU_1' });
  await sdk.database.createDatabaseCatalog({ catalog: { name: 'serving', database_instance_name: 'serving', database_name: 'databricks_postgres' } });
  lakehouse = await emulator.current.lakehouse.get();
  delta = await lakehouse.openSession({ user: emulator.current.user.userName });
  refreshers = createRefresherRegistry();
  const connection = await connectInstance({ instance: 'serving', workspace: user, env: {}, sslRootCert: emulator.current.caCertPath, refreshers });
  postgres = await connection.openSession({});
}, 120_000);

afterAll(async () => {
  await postgres?.close();
  await delta?.close();
  refreshers?.stopAll();
  await emulator?.stop();
});

async function deltaSql(text: string): Promise<Record<string, unknown>[]> {
  return rowsOf(await delta.execute(text));
}

async function pgRows(text: string): Promise<unknown[][]> {
  return (await postgres.run(text, { displayLimit: Number.MAX_SAFE_INTEGER, fetchAll: true })).values as unknown[][];
}

async function apiFailure(promise: Promise<unknown>): Promise<ApiError> {
  const outcome = await promise.then(() => undefined, (error: unknown) => error);
  if (outcome instanceof ApiError) return outcome;
  throw new Error(`expected an ApiError, got ${outcome === undefined ? 'success' : String(outcome)}`);
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function getSynced(name: string) {
  return sdk.database.getSyncedDatabaseTable({ name });
}

/** Polls a synced table until `state`, returning every distinct state seen on the way. */
async function statesUntil(name: string, state: string): Promise<string[]> {
  const seen: string[] = [];
  await until(() => getSynced(name), (table) => {
    const current = table.data_synchronization_status?.detailed_state ?? '';
    if (seen.at(-1) !== current) seen.push(current);
    return current === state;
  });
  return seen;
}

async function refresh(pipelineId: string, fullRefresh = false) {
  const { update_id: updateId } = await sdk.pipelines.startUpdate({ pipeline_id: pipelineId, full_refresh: fullRefresh });
  const { update } = await until(() => sdk.pipelines.getUpdate({ pipeline_id: pipelineId, update_id: updateId! }), (reply) =>
    ['COMPLETED', 'FAILED', 'CANCELED'].includes(reply.update?.state ?? ''));
  return update!;
}

/** The source's rows, as text, in key order, for comparison with the synced table's. */
async function sourceRows(table: string, columns: string, where = 'true'): Promise<string[]> {
  return (await deltaSql(`SELECT ${columns} FROM ${table} WHERE ${where} ORDER BY id`)).map((row) =>
    JSON.stringify(Object.values(row), (_key, value: unknown) => (typeof value === 'bigint' ? Number(value) : value)));
}

async function syncedRows(table: string, columns: string): Promise<string[]> {
  return (await pgRows(`SELECT ${columns} FROM ${table} ORDER BY id`)).map((row) => JSON.stringify(row));
}

describe('SNAPSHOT', () => {
  test('provisions a pipeline, snapshots the rows with the key, refreshes by a full copy, and deletes with purge_data', async () => {
    await deltaSql('CREATE TABLE main.default.products (id BIGINT, name STRING, price DECIMAL(10,2), added DATE)');
    await deltaSql("INSERT INTO main.default.products SELECT id, concat('product ', id), id * 1.25, DATE '2026-01-01' FROM range(1, 301)");
    const created = await sdk.database.createSyncedDatabaseTable({
      synced_table: { name: 'serving.public.products', spec: { source_table_full_name: 'main.default.products', primary_key_columns: ['id'], scheduling_policy: 'SNAPSHOT' } },
    });
    expect(created).toMatchObject({
      name: 'serving.public.products',
      effective_database_instance_name: 'serving',
      effective_logical_database_name: 'databricks_postgres',
      spec: { source_table_full_name: 'main.default.products', primary_key_columns: ['id'], scheduling_policy: 'SNAPSHOT' },
      unity_catalog_provisioning_state: 'ACTIVE',
    });
    const pipelineId = created.data_synchronization_status!.pipeline_id!;
    const states = await statesUntil('serving.public.products', 'SYNCED_TABLE_ONLINE_NO_PENDING_UPDATE');
    expect(states).toContain('SYNCED_TABLE_PROVISIONING_PIPELINE_RESOURCES');
    const order = ['SYNCED_TABLE_PROVISIONING', 'SYNCED_TABLE_PROVISIONING_PIPELINE_RESOURCES', 'SYNCED_TABLE_PROVISIONING_INITIAL_SNAPSHOT', 'SYNCED_TABLE_ONLINE_NO_PENDING_UPDATE'];
    expect(states.map((state) => order.indexOf(state))).toEqual([...states.map((state) => order.indexOf(state))].sort((a, b) => a - b));

    const columns = 'id::int, name, price::text, added::text';
    expect(await syncedRows('public.products', columns)).toEqual(await sourceRows('main.default.products', 'id, name, CAST(price AS STRING), CAST(added AS STRING)'));
    expect(await pgRows("SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = 'public.products'::regclass AND a.attnum > 0 ORDER BY a.attnum"))
      .toEqual([['id', 'bigint'], ['name', 'text'], ['price', 'numeric(10,2)'], ['added', 'date']]);
    expect(await pgRows("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'public.products'::regclass AND i.indisprimary"))
      .toEqual([['id']]);
    const online = await getSynced('serving.public.products');
    const [latest] = await lakehouse.history('main.default.products', 1);
    expect(online.data_synchronization_status).toMatchObject({
      detailed_state: 'SYNCED_TABLE_ONLINE_NO_PENDING_UPDATE',
      pipeline_id: pipelineId,
      last_sync: { delta_table_sync_info: { delta_commit_version: latest.version } },
      triggered_update_status: { last_processed_commit_version: latest.version },
    });

    await deltaSql("UPDATE main.default.products SET name = 'renamed' WHERE id <= 10");
    await deltaSql('DELETE FROM main.default.products WHERE id > 290');
    await deltaSql("INSERT INTO main.default.products VALUES (1000, 'new', 9.99, DATE '2026-02-02')");
    expect((await refresh(pipelineId)).state).toBe('COMPLETED');
    expect(await syncedRows('public.products', columns)).toEqual(await sourceRows('main.default.products', 'id, name, CAST(price AS STRING), CAST(added AS STRING)'));

    const pipeline = await sdk.pipelines.get({ pipeline_id: pipelineId });
    expect(pipeline).toMatchObject({ state: 'IDLE', health: 'HEALTHY', spec: { continuous: false } });
    expect(pipeline.latest_updates?.map((update) => update.state)).toEqual(['COMPLETED', 'COMPLETED']);

    await sdk.database.deleteSyncedDatabaseTable({ name: 'serving.public.products' });
    expect((await apiFailure(getSynced('serving.public.products'))).statusCode).toBe(404);
    // Without purge_data the PostgreSQL table stays; the pipeline goes.
    expect(await pgRows("SELECT to_regclass('public.products') IS NOT NULL")).toEqual([[true]]);
    expect((await apiFailure(sdk.pipelines.get({ pipeline_id: pipelineId }))).statusCode).toBe(404);
    await pgRows('DROP TABLE public.products');
  });

  test('the initial snapshot reports rows synced of the total while it copies', async () => {
    await deltaSql('CREATE TABLE main.default.events (id BIGINT, kind STRING)');
    await deltaSql("INSERT INTO main.default.events SELECT id, 'event' FROM range(0, 200000)");
    await sdk.database.createSyncedDatabaseTable({
      synced_table: { name: 'serving.public.events', spec: { source_table_full_name: 'main.default.events', primary_key_columns: ['id'], scheduling_policy: 'SNAPSHOT' } },
    });
    const copying = await until(() => getSynced('serving.public.events'), (table) =>
      table.data_synchronization_status?.detailed_state === 'SYNCED_TABLE_PROVISIONING_INITIAL_SNAPSHOT' &&
      (table.data_synchronization_status.provisioning_status?.initial_pipeline_sync_progress?.synced_row_count ?? 0) > 0);
    expect(copying.data_synchronization_status?.provisioning_status?.initial_pipeline_sync_progress).toMatchObject({
      total_row_count: 200000,
      provisioning_phase: 'PROVISIONING_PHASE_MAIN',
    });
    expect(copying.data_synchronization_status?.last_sync).toBeUndefined();
    await statesUntil('serving.public.events', 'SYNCED_TABLE_ONLINE_NO_PENDING_UPDATE');
    expect(await pgRows('SELECT count(*)::int FROM public.events')).toEqual([[200000]]);
    await sdk.database.deleteSyncedDatabaseTable({ name: 'serving.public.events' });
  });
});
