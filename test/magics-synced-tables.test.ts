// The synced-table verbs run as a cell runs them (the magics' grammar and verb code, a recording
// host), against a real emulator reached as the embedded default: create with the initial snapshot
// followed on one live status line, get, refresh, schedules as real jobs, run-now, unschedule and
// delete with confirmation.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Lakehouse, LakehouseSession } from '../emulator/lakehouse/engine';
import { createMagics } from '../magics/index';
import type { Magics } from '../magics/index';
import { createConnectors } from '../magics/connectors';
import { StatusLineView } from '../magics/status-line';
import { SyncedTableView } from '../magics/verbs/synced-tables';
import { createRefresherRegistry } from '../lakebase/credentials';
import type { RefresherRegistry } from '../lakebase/credentials';
import { startTestEmulator } from './support/emulator-workspace';
import type { TestEmulator } from './support/emulator-workspace';
import { recordingHost, runMagicCell } from './support/magic-host';

let emulator: TestEmulator;
let magics: Magics;
let lakehouse: Lakehouse;
let delta: LakehouseSession;
let refreshers: RefresherRegistry;

beforeAll(async () => {
  emulator = await startTestEmulator();
  const user = await emulator.userWorkspace();
  await user.createInstance({ name: 'local', capacity: 'CU_1' });
  await user.client.database.createDatabaseCatalog({ catalog: { name: 'serving', database_instance_name: 'local', database_name: 'app', create_database_if_not_exists: true } });
  lakehouse = await emulator.current.lakehouse.get();
  delta = await lakehouse.openSession({ user: emulator.current.user.userName });
  for await (const batch of (await delta.execute("CREATE TABLE main.default.customers (id INT, name STRING) TBLPROPERTIES (delta.enableChangeDataFeed = true)")).batches) void batch;
  for await (const batch of (await delta.execute("INSERT INTO main.default.customers SELECT id, concat('customer ', id) FROM range(1, 1001)")).batches) void batch;
  refreshers = createRefresherRegistry();
  // No Databricks configuration: the verbs talk to the embedded default, here this emulator.
  const connectors = createConnectors({ env: {}, refreshers, embedded: { ensureEmulator: async () => emulator.current } });
  magics = createMagics({ connectors, refreshers });
}, 120_000);

afterAll(async () => {
  await magics?.close();
  await delta?.close();
  await emulator?.stop();
});

describe('synced-table verbs', () => {
  test('create follows the initial snapshot on one status line, then shows the table; get and refresh', async () => {
    const host = recordingHost();
    const created = await runMagicCell(magics, '%lakebase synced-table create serving.public.customers --from main.default.customers --primary-key id', host);
    expect(created).toBeInstanceOf(SyncedTableView);
    const view = created as SyncedTableView;
    expect(view.state).toMatch(/^SYNCED_TABLE_ONLINE/);
    expect(view.toString()).toMatch(/source\s+\| main\.default\.customers/);
    expect(view.toString()).toMatch(/policy\s+\| TRIGGERED/);
    // One line, published once and then replaced in place, ending online.
    const lines = host.displays.filter((display) => display.value instanceof StatusLineView);
    expect(lines.length).toBeGreaterThan(1);
    expect(lines[0].options?.update).toBeUndefined();
    expect(new Set(lines.map((line) => line.options?.displayId)).size).toBe(1);
    expect(String(lines.at(-1)!.value)).toMatch(/^synced table serving\.public\.customers · create · .*ONLINE_NO_PENDING_UPDATE/);

    const fetched = (await runMagicCell(magics, '%lakebase synced-table get serving.public.customers --no-wait', recordingHost())) as SyncedTableView;
    expect(fetched.toJSON().spec?.primary_key_columns).toEqual(['id']);

    for await (const batch of (await delta.execute("UPDATE main.default.customers SET name = 'renamed' WHERE id = 1")).batches) void batch;
    const refreshed = (await runMagicCell(magics, '%lakebase synced-table refresh serving.public.customers', recordingHost())) as SyncedTableView;
    const [latest] = await lakehouse.history('main.default.customers', 1);
    expect(refreshed.toJSON().data_synchronization_status?.last_sync?.delta_table_sync_info?.delta_commit_version).toBe(latest.version);
  });

  test('a schedule is a job with a pipeline task; run-now runs it; unschedule and delete ask first', async () => {
    const scheduled = await runMagicCell(magics, '%lakebase synced-table schedule serving.public.customers --cron "0 0 3 * * ?" --timezone Europe/Amsterdam', recordingHost());
    expect(String(scheduled)).toMatch(/^Scheduled: job \d+ refreshes serving\.public\.customers on the schedule "0 0 3 \* \* \?" \(Europe\/Amsterdam\)\.$/);
    const again = await runMagicCell(magics, '%lakebase synced-table schedule serving.public.customers --on-change', recordingHost());
    expect(String(again)).toMatch(/^Rescheduled: job \d+ refreshes serving\.public\.customers after each change of main\.default\.customers\.$/);
    const listed = await runMagicCell(magics, '%lakebase synced-table schedules', recordingHost());
    expect(String(listed)).toMatch(/serving\.public\.customers \| on change of main\.default\.customers/);

    const ran = await runMagicCell(magics, '%lakebase synced-table run-now serving.public.customers', recordingHost());
    expect(String(ran)).toMatch(/^Run \d+ of job \d+ succeeded\.$/);

    // Headless (no input allowed): destructive verbs need --yes.
    await expect(runMagicCell(magics, '%lakebase synced-table unschedule serving.public.customers', recordingHost())).rejects.toMatchObject({ code: 'CONFIRMATION_REQUIRED' });
    const declined = await runMagicCell(magics, '%lakebase synced-table unschedule serving.public.customers', recordingHost({ answers: ['n'] }));
    expect(String(declined)).toBe('Nothing was deleted.');
    expect(String(await runMagicCell(magics, '%lakebase synced-table unschedule serving.public.customers --yes', recordingHost()))).toMatch(/no longer refreshed/);
    expect(String(await runMagicCell(magics, '%lakebase synced-table schedules', recordingHost()))).toBe('No synced table has a refresh schedule.');

    const askedHost = recordingHost({ answers: ['y'] });
    const deleted = await runMagicCell(magics, '%lakebase synced-table delete serving.public.customers --purge-data', askedHost);
    expect(askedHost.prompts[0].prompt).toMatch(/drops the PostgreSQL table "public"\."customers" with all its rows/);
    expect(String(deleted)).toMatch(/^Deleted the synced table serving\.public\.customers and its PostgreSQL table/);
    await expect(runMagicCell(magics, '%lakebase synced-table get serving.public.customers', recordingHost())).rejects.toMatchObject({ code: 'SYNCED_TABLE_NOT_FOUND' });
  });

  test('errors read as one line with what to do', async () => {
    await expect(runMagicCell(magics, '%lakebase synced-table create serving.public.x --from main.default.customers', recordingHost())).rejects.toMatchObject({ code: 'SYNCED_TABLE_USAGE' });
    await expect(runMagicCell(magics, '%lakebase synced-table create serving.public.x --from main.default.nothing --primary-key id', recordingHost()))
      .rejects.toMatchObject({ message: expect.stringMatching(/Table 'main\.default\.nothing' does not exist/) });
    await expect(runMagicCell(magics, '%lakebase synced-table list local', recordingHost())).rejects.toMatchObject({ code: 'SYNCED_TABLE_LIST_UNAVAILABLE' });
    await expect(runMagicCell(magics, '%lakebase synced-table schedule serving.public.x', recordingHost())).rejects.toMatchObject({ code: 'SYNCED_TABLE_USAGE' });
  });
});
