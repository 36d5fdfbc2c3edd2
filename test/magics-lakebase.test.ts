// `%lakebase connect` to Lakebase instances on a real local emulator: the embedded default with no
// configuration at all, an instance by name with a workspace configured, and `%lakebase token`.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningEmulator } from '../emulator/contracts';
import { startEmulator } from '../emulator/index';
import { createMagics, Magics } from '../magics';
import { createConnectors } from '../magics/connectors';
import { createRefresherRegistry } from '../lakebase/credentials';
import { LakebaseError } from '../lakebase/errors';
import { openWorkspace } from '../lakebase/workspace';
import { grantInstancePermission } from '../lakebase/permissions';
import { ResultSet } from '../lakebase/result-set';
import { freePort } from './support/postgres';
import { recordingHost, runMagicCell } from './support/magic-host';

let emulator: RunningEmulator;
let dataDir: string;
let home: string;
const opened: Magics[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'magics-emulator-'));
  home = await mkdtemp(join(tmpdir(), 'magics-home-'));
  emulator = await startEmulator({ dataDir, port: await freePort(), transitionDelayMs: 0 });
});

afterAll(async () => {
  for (const magics of opened) await magics.close();
  await emulator?.stop();
  await rm(dataDir, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
});

/** Magics on this emulator, seeing only `env` (plus an empty home): their own refreshers. */
function magicsWith(env: Record<string, string>): Magics {
  const refreshers = createRefresherRegistry();
  const magics = createMagics({
    refreshers,
    connectors: createConnectors({
      env: { HOME: home, DATABRICKS_CONFIG_FILE: join(home, '.databrickscfg'), ...env },
      refreshers,
      // The embedded default, pointed at this test's emulator instead of the per-user daemon.
      embedded: { dataDir, ensureEmulator: async () => emulator },
    }),
  });
  opened.push(magics);
  return magics;
}

describe('the embedded default', () => {
  test('with nothing configured, connect goes to the local emulator and logs in with a refreshed token', async () => {
    const magics = magicsWith({});
    const host = recordingHost();
    const message = String(await runMagicCell(magics, '%lakebase connect', host));
    const user = emulator.user.userName;
    expect(message).toMatch(
      new RegExp(`^Connected "local" to ${escape(user)}@[^ ]+:5432/databricks_postgres; it is the current connection\\. Logged in as ${escape(user)} with a database token`),
    );
    const whoami = (await runMagicCell(magics, '%lakebase sql SELECT current_user AS who, current_database() AS db', recordingHost())) as ResultSet;
    expect(whoami.rows).toEqual([{ who: user, db: 'databricks_postgres' }]);

    const listed = String(await runMagicCell(magics, '%lakebase connections', recordingHost()));
    expect(listed).toMatch(/\n local +\| \* +\| local emulator +\| /);

    const tokens = String(await runMagicCell(magics, '%lakebase token', recordingHost()));
    const [header, , row] = tokens.split('\n');
    expect(header).toMatch(/^ +identity +\| +workspace +\| instances \| +state +\| +expires +\| +last refresh +\| +next refresh +\| tokens minted \| failures \| last error $/);
    expect(row).toMatch(new RegExp(`^ ${escape(user)} +\\| ${escape(emulator.host)} +\\| local +\\| scheduled +\\| \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ \\(in \\d+ min\\) `));
    // Counts are numbers, right-aligned like every number in every table; no error, an empty last cell.
    expect(row).toMatch(/\| +1 \| +0 \| $/);

    // --refresh mints the next token now; the open connection goes on with no new login.
    const before = (await runMagicCell(magics, '%lakebase sql SELECT pg_backend_pid() AS pid', recordingHost())) as ResultSet;
    const refreshed = String(await runMagicCell(magics, '%lakebase token --refresh', recordingHost())).split('\n')[2];
    expect(refreshed).toMatch(/\| +2 \| +0 \| $/);
    const after = (await runMagicCell(magics, '%lakebase sql SELECT pg_backend_pid() AS pid', recordingHost())) as ResultSet;
    expect(after.rows).toEqual(before.rows);
  });
});

describe('instances by name', () => {
  const configured = () => ({
    DATABRICKS_HOST: emulator.host,
    DATABRICKS_TOKEN: emulator.user.token,
    PGSSLROOTCERT: emulator.caCertPath,
  });

  test('connect INSTANCE looks it up in the workspace and connects with TLS', async () => {
    const magics = magicsWith(configured());
    const host = recordingHost();
    const message = String(await runMagicCell(magics, '%lakebase connect local --as lb', host));
    expect(message).toMatch(/^Connected "lb" to .*:5432\/databricks_postgres; it is the current connection\. Logged in as /);
    expect(message + host.stderrText()).not.toContain(emulator.user.token);
    // TLS as the client sees it (the instance's login gateway ends TLS, so pg_stat_ssl cannot tell).
    const listed = String(await runMagicCell(magics, '%lakebase connections', recordingHost()));
    expect(listed).toMatch(/\n lb +\| \* +\| .*\| yes +\| idle/);
  });

  test('an instance that does not exist is a clear error', async () => {
    const magics = magicsWith(configured());
    const error = await runMagicCell(magics, '%lakebase connect no-such-instance', recordingHost()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LakebaseError);
    expect((error as LakebaseError).message).toMatch(/no-such-instance/);
  });

  test('with a workspace configured, connect without a target asks for the instance; --local still reaches the emulator', async () => {
    const magics = magicsWith(configured());
    const error = await runMagicCell(magics, '%lakebase connect', recordingHost()).catch((e: unknown) => e);
    expect((error as LakebaseError).code).toBe('INSTANCE_REQUIRED');
    expect(String(await runMagicCell(magics, '%lakebase connect --local', recordingHost()))).toMatch(/^Connected "local"/);
  });
});

describe('inside a Databricks App', () => {
  test('connect with no target finds the app\'s instance by PGHOST and logs in as its service principal', async () => {
    // The app's database resource: the instance exists and its service principal has a role.
    const setup = magicsWith({});
    await runMagicCell(setup, '%lakebase connect --local', recordingHost());
    const workspace = await openWorkspace({ host: emulator.host, token: emulator.user.token, authType: 'pat', env: {} });
    const instance = await workspace.getInstance('local');
    const principal = emulator.servicePrincipal.applicationId;
    // What an app resource's CAN_CONNECT_AND_CREATE gives its principal: use of the instance and a role.
    await grantInstancePermission(workspace, 'local', { service_principal_name: principal }, 'CAN_USE');
    if ((await workspace.findRole('local', principal)) === undefined) {
      await workspace.createRole('local', { name: principal, identity_type: 'SERVICE_PRINCIPAL' });
    }

    const magics = magicsWith({
      PGHOST: instance.read_write_dns!,
      PGPORT: '5432',
      PGDATABASE: 'databricks_postgres',
      PGUSER: principal,
      PGSSLMODE: 'require',
      PGSSLROOTCERT: emulator.caCertPath,
      DATABRICKS_HOST: emulator.host,
      DATABRICKS_CLIENT_ID: principal,
      DATABRICKS_CLIENT_SECRET: emulator.servicePrincipal.clientSecret,
    });
    const host = recordingHost();
    const message = String(await runMagicCell(magics, '%lakebase connect', host));
    expect(message).toMatch(new RegExp(`^Connected "local" to ${escape(principal)}@.* Logged in as ${escape(principal)} with a database token`));
    expect(message + host.stderrText()).not.toContain(emulator.servicePrincipal.clientSecret);
    const whoami = (await runMagicCell(magics, '%lakebase sql SELECT current_user AS who', recordingHost())) as ResultSet;
    expect(whoami.rows).toEqual([{ who: principal }]);
    expect(String(await runMagicCell(magics, '%lakebase connections', recordingHost()))).toMatch(/\| Lakebase \(app resource\) \|/);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
