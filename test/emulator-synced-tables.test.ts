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
import { openWorkspace } from '../lakebase/workspace';
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
    // A table that failed will not get there: say why instead of waiting for the test's timeout.
    if (current !== state && /FAILED/.test(current)) throw new Error(`${name} is ${current}: ${table.data_synchronization_status?.message}`);
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

describe('TRIGGERED', () => {
  test('applies the change data feed since the last synced version: inserts, updates, deletes, NULL keys skipped, newest by the timeseries key', async () => {
    await deltaSql("CREATE TABLE main.default.users (id INT, name STRING, score DOUBLE, updated TIMESTAMP) TBLPROPERTIES (delta.enableChangeDataFeed = true)");
    // Two rows share id 7: the timeseries key keeps the newer one. A NULL key is skipped.
    await deltaSql(`INSERT INTO main.default.users VALUES
      (1, 'ada', 1.5, TIMESTAMP '2026-01-01 10:00:00'), (2, 'bob', 2.5, TIMESTAMP '2026-01-01 10:00:00'),
      (7, 'old seven', 7.0, TIMESTAMP '2026-01-01 09:00:00'), (7, 'new seven', 7.5, TIMESTAMP '2026-01-01 11:00:00'),
      (NULL, 'no key', 0, TIMESTAMP '2026-01-01 10:00:00')`);
    const created = await sdk.database.createSyncedDatabaseTable({
      synced_table: {
        name: 'serving.app.users',
        spec: { source_table_full_name: 'main.default.users', primary_key_columns: ['id'], timeseries_key: 'updated', scheduling_policy: 'TRIGGERED', create_database_objects_if_missing: true },
      },
    });
    const pipelineId = created.data_synchronization_status!.pipeline_id!;
    await statesUntil('serving.app.users', 'SYNCED_TABLE_ONLINE_NO_PENDING_UPDATE');
    const columns = "id, name, score, to_char(updated, 'YYYY-MM-DD HH24:MI:SS')";
    expect(await syncedRows('app.users', columns)).toEqual([
      JSON.stringify([1, 'ada', 1.5, '2026-01-01 10:00:00']),
      JSON.stringify([2, 'bob', 2.5, '2026-01-01 10:00:00']),
      JSON.stringify([7, 'new seven', 7.5, '2026-01-01 11:00:00']),
    ]);
    const firstVersion = (await lakehouse.history('main.default.users', 1))[0].version;

    await deltaSql("UPDATE main.default.users SET name = 'ada lovelace', updated = TIMESTAMP '2026-01-02 10:00:00' WHERE id = 1");
    await deltaSql('DELETE FROM main.default.users WHERE id = 2');
    await deltaSql("INSERT INTO main.default.users VALUES (3, 'cy', 3.5, TIMESTAMP '2026-01-02 10:00:00'), (NULL, 'still no key', 0, TIMESTAMP '2026-01-02 10:00:00')");
    // An update older (by the timeseries key) than the row already synced is ignored.
    await deltaSql("UPDATE main.default.users SET name = 'stale seven', updated = TIMESTAMP '2026-01-01 08:00:00' WHERE name = 'old seven'");
    const update = await refresh(pipelineId);
    expect(update).toMatchObject({ state: 'COMPLETED', cause: 'API_CALL', full_refresh: false });
    expect(await syncedRows('app.users', columns)).toEqual([
      JSON.stringify([1, 'ada lovelace', 1.5, '2026-01-02 10:00:00']),
      JSON.stringify([3, 'cy', 3.5, '2026-01-02 10:00:00']),
      JSON.stringify([7, 'new seven', 7.5, '2026-01-01 11:00:00']),
    ]);
    const latest = (await lakehouse.history('main.default.users', 1))[0];
    expect(latest.version).toBe(firstVersion + 4);
    expect((await getSynced('serving.app.users')).data_synchronization_status).toMatchObject({
      detailed_state: 'SYNCED_TABLE_ONLINE_NO_PENDING_UPDATE',
      last_sync: { delta_table_sync_info: { delta_commit_version: latest.version, delta_commit_timestamp: new Date(latest.timestamp).toISOString() } },
      triggered_update_status: { last_processed_commit_version: latest.version },
    });

    // A full refresh copies everything again; the result is the same table.
    expect((await refresh(pipelineId, true)).state).toBe('COMPLETED');
    expect(await pgRows('SELECT count(*)::int FROM app.users')).toEqual([[3]]);

    // A non-additive schema change fails the pipeline; the table stays online with its data.
    await deltaSql('CREATE OR REPLACE TABLE main.default.users (id INT, name STRING) TBLPROPERTIES (delta.enableChangeDataFeed = true)');
    const failed = await refresh(pipelineId);
    expect(failed.state).toBe('FAILED');
    const status = (await getSynced('serving.app.users')).data_synchronization_status!;
    expect(status.detailed_state).toBe('SYNCED_TABLE_ONLINE_PIPELINE_FAILED');
    expect(status.message).toMatch(/Non-additive schema change of main\.default\.users: column 'score' was dropped/);
    expect(status.failed_status).toMatchObject({ last_processed_commit_version: latest.version });
    expect((await sdk.pipelines.get({ pipeline_id: pipelineId })).state).toBe('FAILED');
    expect(await pgRows('SELECT count(*)::int FROM app.users')).toEqual([[3]]);

    // The JS SDK 0.17 sends no purge_data: the query parameter is added by hand, as a client must.
    const purged = await fetch(`${emulator.current.host}/api/2.0/database/synced_tables/serving.app.users?purge_data=true`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${emulator.current.user.token}` },
    });
    expect(purged.status).toBe(200);
    expect(await pgRows("SELECT to_regclass('app.users') IS NULL")).toEqual([[true]]);
  });
});

describe('CONTINUOUS', () => {
  test('applies each source commit within moments, until the pipeline is stopped', async () => {
    await deltaSql("CREATE TABLE main.default.orders (id INT, status STRING) TBLPROPERTIES (delta.enableChangeDataFeed = true)");
    await deltaSql("INSERT INTO main.default.orders VALUES (1, 'placed')");
    const created = await sdk.database.createSyncedDatabaseTable({
      synced_table: { name: 'serving.public.orders', spec: { source_table_full_name: 'main.default.orders', primary_key_columns: ['id'], scheduling_policy: 'CONTINUOUS' } },
    });
    const pipelineId = created.data_synchronization_status!.pipeline_id!;
    await statesUntil('serving.public.orders', 'SYNCED_TABLE_ONLINE_CONTINUOUS_UPDATE');
    expect(await pgRows('SELECT id, status FROM public.orders')).toEqual([[1, 'placed']]);
    const pipeline = await sdk.pipelines.get({ pipeline_id: pipelineId });
    expect(pipeline).toMatchObject({ state: 'RUNNING', spec: { continuous: true } });

    await deltaSql("UPDATE main.default.orders SET status = 'shipped' WHERE id = 1");
    await deltaSql("INSERT INTO main.default.orders VALUES (2, 'placed')");
    await until(() => pgRows('SELECT id, status FROM public.orders ORDER BY id'), (rows) => JSON.stringify(rows) === JSON.stringify([[1, 'shipped'], [2, 'placed']]));
    await deltaSql('DELETE FROM main.default.orders WHERE id = 1');
    await until(() => pgRows('SELECT id FROM public.orders ORDER BY id'), (rows) => JSON.stringify(rows) === JSON.stringify([[2]]));
    const [latest] = await lakehouse.history('main.default.orders', 1);
    await until(() => getSynced('serving.public.orders'), (table) => table.data_synchronization_status?.continuous_update_status?.last_processed_commit_version === latest.version);

    // A continuous pipeline is no job task; starting a second update while it runs is refused.
    const conflict = await apiFailure(sdk.pipelines.startUpdate({ pipeline_id: pipelineId }));
    expect({ status: conflict.statusCode, code: conflict.errorCode }).toEqual({ status: 409, code: 'RESOURCE_CONFLICT' });

    await (await sdk.pipelines.stop({ pipeline_id: pipelineId })).wait();
    expect((await getSynced('serving.public.orders')).data_synchronization_status?.detailed_state).toBe('SYNCED_TABLE_ONLINE');
    await sdk.database.deleteSyncedDatabaseTable({ name: 'serving.public.orders' });
  });
});

describe('errors, as the real service answers them', () => {
  test('create refuses what cannot be synced, naming the field', async () => {
    await deltaSql('CREATE TABLE IF NOT EXISTS main.default.plain (id INT, v STRING)');
    const create = (table: Record<string, unknown>) => apiFailure(sdk.database.createSyncedDatabaseTable({ synced_table: table as never }));
    const spec = { source_table_full_name: 'main.default.plain', primary_key_columns: ['id'] };
    const noKey = await create({ name: 'serving.public.a', spec: { source_table_full_name: 'main.default.plain' } });
    expect({ status: noKey.statusCode, code: noKey.errorCode }).toEqual({ status: 400, code: 'INVALID_PARAMETER_VALUE' });
    expect(noKey.message).toMatch(/primary_key_columns/);
    expect((await create({ name: 'serving.public.a', spec: { ...spec, scheduling_policy: 'TRIGGERED' } })).message).toMatch(/needs Change Data Feed on the source table main\.default\.plain/);
    expect((await create({ name: 'serving.public.a', spec: { ...spec, scheduling_policy: 'CONTINUOUS' } })).message).toMatch(/Change Data Feed/);
    const missing = await create({ name: 'serving.public.a', spec: { ...spec, source_table_full_name: 'main.default.nothing' } });
    expect({ status: missing.statusCode, code: missing.errorCode }).toEqual({ status: 404, code: 'RESOURCE_DOES_NOT_EXIST' });
    expect((await create({ name: 'serving.public.a', spec: { ...spec, existing_pipeline_id: 'x', new_pipeline_spec: { storage_catalog: 'main', storage_schema: 'default' } } })).message)
      .toBe('At most one of existing_pipeline_id and new_pipeline_spec should be defined.');
    expect((await create({ name: 'serving.public.a', spec: { ...spec, primary_key_columns: ['nope'] } })).message).toMatch(/Column 'nope' does not exist/);
    expect((await create({ name: 'serving.public.a', database_instance_name: 'other', spec })).message).toMatch(/belongs to database instance 'serving'/);
    expect((await create({ name: 'main.default.a', spec })).message).toMatch(/name the instance/);
    const noInstance = await create({ name: 'main.default.a', database_instance_name: 'ghost', logical_database_name: 'x', spec });
    expect(noInstance.errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
    expect((await create({ name: 'serving.public.a', spec: { ...spec, accelerated_sync: true } })).statusCode).toBe(501);

    const patch = await apiFailure(sdk.database.updateSyncedDatabaseTable({ name: 'serving.public.a', synced_table: { name: 'serving.public.a' }, update_mask: 'spec' }));
    expect({ status: patch.statusCode, code: patch.errorCode, message: patch.message }).toEqual({ status: 501, code: 'NOT_IMPLEMENTED', message: 'Update Synced Database Table is not yet implemented.' });
    const list = await apiFailure((async () => { for await (const table of sdk.database.listSyncedDatabaseTables({ instance_name: 'serving' })) void table; })());
    expect(list.statusCode).toBe(501);
    expect((await apiFailure(getSynced('serving.public.none'))).statusCode).toBe(404);
  });

  test('bin-packing into an existing pipeline needs the same scheduling policy', async () => {
    await deltaSql('CREATE TABLE IF NOT EXISTS main.default.left (id INT) TBLPROPERTIES (delta.enableChangeDataFeed = true)');
    await deltaSql('CREATE TABLE IF NOT EXISTS main.default.right (id INT) TBLPROPERTIES (delta.enableChangeDataFeed = true)');
    const first = await sdk.database.createSyncedDatabaseTable({
      synced_table: { name: 'serving.public.left', spec: { source_table_full_name: 'main.default.left', primary_key_columns: ['id'], scheduling_policy: 'TRIGGERED' } },
    });
    const pipelineId = first.data_synchronization_status!.pipeline_id!;
    await statesUntil('serving.public.left', 'SYNCED_TABLE_ONLINE_NO_PENDING_UPDATE');
    const mismatch = await apiFailure(sdk.database.createSyncedDatabaseTable({
      synced_table: { name: 'serving.public.right', spec: { source_table_full_name: 'main.default.right', primary_key_columns: ['id'], scheduling_policy: 'SNAPSHOT', existing_pipeline_id: pipelineId } },
    }));
    expect(mismatch.message).toMatch(/same scheduling policy/);
    const second = await sdk.database.createSyncedDatabaseTable({
      synced_table: { name: 'serving.public.right', spec: { source_table_full_name: 'main.default.right', primary_key_columns: ['id'], scheduling_policy: 'TRIGGERED', existing_pipeline_id: pipelineId } },
    });
    expect(second.data_synchronization_status?.pipeline_id).toBe(pipelineId);
    await statesUntil('serving.public.right', 'SYNCED_TABLE_ONLINE_NO_PENDING_UPDATE');
    await sdk.database.deleteSyncedDatabaseTable({ name: 'serving.public.left' });
    // The pipeline stays for the table still on it.
    expect((await sdk.pipelines.get({ pipeline_id: pipelineId })).pipeline_id).toBe(pipelineId);
    await sdk.database.deleteSyncedDatabaseTable({ name: 'serving.public.right' });
  });
});

describe('jobs that refresh synced tables', () => {
  test('a cron schedule and a table-update trigger each run the pipeline, and the rows follow the source', async () => {
    await deltaSql("CREATE TABLE main.default.stock (id INT, qty INT) TBLPROPERTIES (delta.enableChangeDataFeed = true)");
    await deltaSql('INSERT INTO main.default.stock VALUES (1, 10)');
    const created = await sdk.database.createSyncedDatabaseTable({
      synced_table: { name: 'serving.public.stock', spec: { source_table_full_name: 'main.default.stock', primary_key_columns: ['id'], scheduling_policy: 'TRIGGERED' } },
    });
    const pipelineId = created.data_synchronization_status!.pipeline_id!;
    await statesUntil('serving.public.stock', 'SYNCED_TABLE_ONLINE_NO_PENDING_UPDATE');

    await deltaSql('UPDATE main.default.stock SET qty = 11 WHERE id = 1');
    const { job_id: cronJob } = await sdk.jobs.create({
      name: 'refresh stock every second',
      tasks: [{ task_key: 'refresh', pipeline_task: { pipeline_id: pipelineId } }],
      schedule: { quartz_cron_expression: '* * * * * ?', timezone_id: 'UTC' },
    });
    const cronRun = await until(async () => {
      const runs = [];
      for await (const run of sdk.jobs.listRuns({ job_id: cronJob!, completed_only: true })) runs.push(run);
      return runs;
    }, (runs) => runs.some((run) => run.state?.result_state === 'SUCCESS'));
    expect(cronRun.find((run) => run.state?.result_state === 'SUCCESS')).toMatchObject({ trigger: 'PERIODIC', status: { state: 'TERMINATED', termination_details: { code: 'SUCCESS' } } });
    expect(await pgRows('SELECT qty FROM public.stock')).toEqual([[11]]);
    await sdk.jobs.delete({ job_id: cronJob! });
    const { updates } = await sdk.pipelines.listUpdates({ pipeline_id: pipelineId });
    expect(updates?.some((update) => update.cause === 'JOB_TASK')).toBe(true);

    const { job_id: triggerJob } = await sdk.jobs.create({
      name: 'refresh stock on change',
      tasks: [{ task_key: 'refresh', pipeline_task: { pipeline_id: pipelineId } }],
      trigger: { table_update: { table_names: ['main.default.stock'], condition: 'ANY_UPDATED' } },
    });
    expect((await sdk.jobs.get({ job_id: triggerJob! })).settings?.trigger?.table_update).toEqual({ table_names: ['main.default.stock'] });
    await deltaSql('UPDATE main.default.stock SET qty = 12 WHERE id = 1');
    const tableRun = await until(async () => {
      const runs = [];
      for await (const run of sdk.jobs.listRuns({ job_id: triggerJob! })) runs.push(run);
      return runs;
    }, (runs) => runs.some((run) => run.state?.result_state === 'SUCCESS'));
    expect(tableRun[0]).toMatchObject({ trigger: 'TABLE', state: { result_state: 'SUCCESS' } });
    expect(await pgRows('SELECT qty FROM public.stock')).toEqual([[12]]);
    await sdk.jobs.delete({ job_id: triggerJob! });
    await sdk.database.deleteSyncedDatabaseTable({ name: 'serving.public.stock' });
  });
});

describe('permissions and the instance\'s deletion', () => {
  test('another identity needs CAN_MANAGE on the instance to create or delete a synced table, CAN_USE to read one', async () => {
    await deltaSql('CREATE TABLE main.default.guarded (id INT, v STRING)');
    await deltaSql("INSERT INTO main.default.guarded VALUES (1, 'a')");
    const second = emulator.current.secondUser!;
    const other = (await openWorkspace({ host: emulator.current.host, token: second.token, authType: 'pat', env: {} })).client;
    const synced = { name: 'serving.public.guarded', spec: { source_table_full_name: 'main.default.guarded', primary_key_columns: ['id'], scheduling_policy: 'SNAPSHOT' as const } };
    // SDK 0.17 sends no purge_data: the query parameter by hand, as the TRIGGERED test above does.
    const purge = (token: string, name: string) =>
      fetch(`${emulator.current.host}/api/2.0/database/synced_tables/${name}?purge_data=true`, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } }).then((reply) => reply.status);
    const denied = (error: ApiError) => ({ status: error.statusCode, code: error.errorCode, message: error.message });
    const refusal = (level: string, action: string) => ({
      status: 403, code: 'PERMISSION_DENIED',
      message: `User ${second.userName} does not have ${level} permission on database instance 'serving', which is needed to ${action}.`,
    });

    expect(denied(await apiFailure(other.database.createSyncedDatabaseTable({ synced_table: synced })))).toEqual(refusal('CAN_MANAGE', 'sync tables into it'));
    // Refused before anything happened: no table, no pipeline, no PostgreSQL table.
    expect((await apiFailure(getSynced('serving.public.guarded'))).statusCode).toBe(404);
    expect(await pgRows("SELECT to_regclass('public.guarded') IS NULL")).toEqual([[true]]);

    await sdk.database.createSyncedDatabaseTable({ synced_table: synced });
    await statesUntil('serving.public.guarded', 'SYNCED_TABLE_ONLINE_NO_PENDING_UPDATE');
    expect(denied(await apiFailure(other.database.getSyncedDatabaseTable({ name: 'serving.public.guarded' })))).toEqual(refusal('CAN_USE', 'see its synced tables'));
    expect(denied(await apiFailure(other.database.deleteSyncedDatabaseTable({ name: 'serving.public.guarded' })))).toEqual(refusal('CAN_MANAGE', 'remove its synced tables'));

    // SDK 0.17 sends PATCH without its body: the permissions API by hand.
    const grant = (method: 'PATCH' | 'PUT', acl: unknown[]) =>
      fetch(`${emulator.current.host}/api/2.0/permissions/database-instances/serving`, {
        method, headers: { Authorization: `Bearer ${emulator.current.user.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ access_control_list: acl }),
      }).then((reply) => reply.status);
    // Using the instance lets it read the synced table, not remove it.
    expect(await grant('PATCH', [{ user_name: second.userName, permission_level: 'CAN_USE' }])).toBe(200);
    expect((await other.database.getSyncedDatabaseTable({ name: 'serving.public.guarded' })).name).toBe('serving.public.guarded');
    expect(await purge(second.token, 'serving.public.guarded')).toBe(403);
    expect(await pgRows('SELECT id, v FROM public.guarded')).toEqual([[1, 'a']]);
    // Managing it lets it remove the synced table.
    expect(await grant('PATCH', [{ user_name: second.userName, permission_level: 'CAN_MANAGE' }])).toBe(200);
    expect(await purge(second.token, 'serving.public.guarded')).toBe(200);
    expect(await pgRows("SELECT to_regclass('public.guarded') IS NULL")).toEqual([[true]]);
    expect(await grant('PUT', [])).toBe(200);
  });

  test('deleting an instance deletes its synced tables and stops and removes their pipelines', async () => {
    const user = await emulator.userWorkspace();
    await user.createInstance({ name: 'doomed', capacity: 'CU_1' });
    await sdk.database.createDatabaseCatalog({ catalog: { name: 'doomed', database_instance_name: 'doomed', database_name: 'databricks_postgres' } });
    await deltaSql("CREATE TABLE main.default.live (id INT, v STRING) TBLPROPERTIES (delta.enableChangeDataFeed = true)");
    await deltaSql("INSERT INTO main.default.live VALUES (1, 'a')");
    const created = await sdk.database.createSyncedDatabaseTable({
      synced_table: { name: 'doomed.public.live', spec: { source_table_full_name: 'main.default.live', primary_key_columns: ['id'], scheduling_policy: 'CONTINUOUS' } },
    });
    const pipelineId = created.data_synchronization_status!.pipeline_id!;
    await statesUntil('doomed.public.live', 'SYNCED_TABLE_ONLINE_CONTINUOUS_UPDATE');
    expect((await sdk.pipelines.get({ pipeline_id: pipelineId })).state).toBe('RUNNING');

    await sdk.database.deleteDatabaseInstance({ name: 'doomed' });
    await until(() => sdk.database.getDatabaseInstance({ name: 'doomed' }).then(() => 200, (error: ApiError) => error.statusCode), (status) => status === 404);
    // Nothing is left pointing at the deleted instance: the synced table, its pipeline, the catalog.
    expect((await apiFailure(getSynced('doomed.public.live'))).errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
    expect((await apiFailure(sdk.pipelines.get({ pipeline_id: pipelineId }))).statusCode).toBe(404);
    expect((await apiFailure(sdk.database.getDatabaseCatalog({ name: 'doomed' }))).statusCode).toBe(404);
    // The source goes on, and the name is free on another instance.
    await deltaSql("INSERT INTO main.default.live VALUES (2, 'b')");
    await sdk.database.createSyncedDatabaseTable({
      synced_table: { name: 'serving.public.live', spec: { source_table_full_name: 'main.default.live', primary_key_columns: ['id'], scheduling_policy: 'SNAPSHOT' } },
    });
    await statesUntil('serving.public.live', 'SYNCED_TABLE_ONLINE_NO_PENDING_UPDATE');
    expect(await pgRows('SELECT id FROM public.live ORDER BY id')).toEqual([[1], [2]]);
    await sdk.database.deleteSyncedDatabaseTable({ name: 'serving.public.live' });
    await pgRows('DROP TABLE public.live');
  });
});

describe('across an emulator restart', () => {
  test('synced tables keep their state; a TRIGGERED one refreshes and a CONTINUOUS one resumes', async () => {
    await deltaSql("CREATE TABLE main.default.kept (id INT, v STRING) TBLPROPERTIES (delta.enableChangeDataFeed = true)");
    await deltaSql("INSERT INTO main.default.kept VALUES (1, 'a')");
    const triggered = await sdk.database.createSyncedDatabaseTable({
      synced_table: { name: 'serving.public.kept', spec: { source_table_full_name: 'main.default.kept', primary_key_columns: ['id'], scheduling_policy: 'TRIGGERED' } },
    });
    await sdk.database.createSyncedDatabaseTable({
      synced_table: { name: 'serving.public.kept_live', spec: { source_table_full_name: 'main.default.kept', primary_key_columns: ['id'], scheduling_policy: 'CONTINUOUS' } },
    });
    await statesUntil('serving.public.kept', 'SYNCED_TABLE_ONLINE_NO_PENDING_UPDATE');
    await statesUntil('serving.public.kept_live', 'SYNCED_TABLE_ONLINE_CONTINUOUS_UPDATE');

    await postgres.close();
    await delta.close();
    await emulator.restart();
    const user = await emulator.userWorkspace();
    sdk = user.client;
    lakehouse = await emulator.current.lakehouse.get();
    delta = await lakehouse.openSession({ user: emulator.current.user.userName });
    const connection = await connectInstance({ instance: 'serving', workspace: user, env: {}, sslRootCert: emulator.current.caCertPath, refreshers });
    postgres = await connection.openSession({});

    const kept = await until(() => getSynced('serving.public.kept'), (table) => table.data_synchronization_status?.detailed_state === 'SYNCED_TABLE_ONLINE_NO_PENDING_UPDATE');
    expect(kept.data_synchronization_status?.pipeline_id).toBe(triggered.data_synchronization_status?.pipeline_id);
    await statesUntil('serving.public.kept_live', 'SYNCED_TABLE_ONLINE_CONTINUOUS_UPDATE');
    await deltaSql("INSERT INTO main.default.kept VALUES (2, 'b')");
    await until(() => pgRows('SELECT id FROM public.kept_live ORDER BY id'), (rows) => rows.length === 2);
    expect((await refresh(triggered.data_synchronization_status!.pipeline_id!)).state).toBe('COMPLETED');
    expect(await pgRows('SELECT id, v FROM public.kept ORDER BY id')).toEqual([[1, 'a'], [2, 'b']]);
    await sdk.database.deleteSyncedDatabaseTable({ name: 'serving.public.kept' });
    await sdk.database.deleteSyncedDatabaseTable({ name: 'serving.public.kept_live' });
  });
});
