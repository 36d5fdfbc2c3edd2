// `%lakebase connect` to Lakebase Autoscaling endpoints on a real local emulator: every name form
// (PROJECT, PROJECT/BRANCH, a full endpoint name), --read-only, --pooled, a name that is both an
// instance and a project, one refresher per endpoint, a Databricks App's `postgres` resource found
// by its host, and LAKEBASE_ENDPOINT.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkspaceClient } from '@databricks/sdk-experimental';
import type { RunningEmulator } from '../emulator/contracts';
import { startEmulator } from '../emulator/index';
import { createMagics, Magics } from '../magics';
import { createConnectors } from '../magics/connectors';
import { createRefresherRegistry } from '../lakebase/credentials';
import type { RefresherRegistry } from '../lakebase/credentials';
import { LakebaseError } from '../lakebase/errors';
import { ResultSet } from '../lakebase/result-set';
import { freePort } from './support/postgres';
import { recordingHost, runMagicCell } from './support/magic-host';
import { completed, getEndpoint } from './support/autoscaling';
import type { WorkspaceUnderTest } from './support/workspace-under-test';

let emulator: RunningEmulator;
let dataDir: string;
let home: string;
let api: Pick<WorkspaceUnderTest, 'request'>;
const opened: Magics[] = [];

async function request(method: string, path: string, body?: unknown) {
  const client = new WorkspaceClient({ host: emulator.host, token: emulator.user.token, authType: 'pat' });
  const headers = new Headers({ Accept: 'application/json', 'Content-Type': 'application/json' });
  await client.config.authenticate(headers);
  const response = await fetch(`${emulator.host}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'magics-autoscaling-'));
  home = await mkdtemp(join(tmpdir(), 'magics-autoscaling-home-'));
  emulator = await startEmulator({ dataDir, port: await freePort(), transitionDelayMs: 0 });
  api = { request };
  for (const project of ['shop', 'both']) {
    await completed(api as WorkspaceUnderTest, await request('POST', `/api/2.0/postgres/projects?project_id=${project}`, {}));
  }
  await completed(
    api as WorkspaceUnderTest,
    await request('POST', '/api/2.0/postgres/projects/shop/branches/production/endpoints?endpoint_id=reader', { spec: { endpoint_type: 'ENDPOINT_TYPE_READ_ONLY' } }),
  );
  const sdk = new WorkspaceClient({ host: emulator.host, token: emulator.user.token, authType: 'pat' });
  await (await sdk.database.createDatabaseInstance({ database_instance: { name: 'both', capacity: 'CU_1' } })).wait();
  await (await sdk.database.createDatabaseInstance({ database_instance: { name: 'only-instance', capacity: 'CU_1' } })).wait();
});

afterAll(async () => {
  for (const magics of opened) await magics.close();
  await emulator?.stop();
  await rm(dataDir, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
});

/** Magics on this emulator seeing only `env` (plus an empty home); with no DATABRICKS_HOST, the emulator is the embedded default. */
function magicsWith(env: Record<string, string> = {}, refreshers: RefresherRegistry = createRefresherRegistry()): Magics {
  const magics = createMagics({
    refreshers,
    connectors: createConnectors({
      env: { HOME: home, DATABRICKS_CONFIG_FILE: join(home, '.databrickscfg'), ...env },
      refreshers,
      embedded: { dataDir, ensureEmulator: async () => emulator },
    }),
  });
  opened.push(magics);
  return magics;
}

async function failing(magics: Magics, source: string, answers?: string[]): Promise<LakebaseError> {
  const outcome = await runMagicCell(magics, source, recordingHost({ answers })).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(LakebaseError);
  return outcome as LakebaseError;
}

async function sql(magics: Magics, text: string): Promise<ResultSet> {
  return (await runMagicCell(magics, `%lakebase sql ${text}`, recordingHost())) as ResultSet;
}

describe('connect by every name form', () => {
  test('PROJECT goes to its default branch\'s read-write endpoint, on the embedded default', async () => {
    const magics = magicsWith();
    const message = String(await runMagicCell(magics, '%lakebase connect shop', recordingHost()));
    const { status } = await getEndpoint(api as WorkspaceUnderTest, 'projects/shop/branches/production/endpoints/primary');
    expect(message).toBe(
      `Connected "shop" to ${emulator.user.userName}@${status.hosts.host}:5432/databricks_postgres (endpoint projects/shop/branches/production/endpoints/primary); ` +
        `it is the current connection. Logged in as ${emulator.user.userName} with a database token, refreshed in the background (%lakebase token).`,
    );
    await sql(magics, 'CREATE TABLE orders (id int)');
    expect((await sql(magics, 'SELECT current_user AS who')).rows).toEqual([{ who: emulator.user.userName }]);
    const listed = String(await runMagicCell(magics, '%lakebase connections', recordingHost()));
    expect(listed).toMatch(/\n shop +\| \* +\| Lakebase Autoscaling +\| /);
  });

  test('PROJECT/BRANCH and the full endpoint name reach the same endpoint; --pooled its pooled host', async () => {
    const magics = magicsWith();
    const { status } = await getEndpoint(api as WorkspaceUnderTest, 'projects/shop/branches/production/endpoints/primary');
    expect(String(await runMagicCell(magics, '%lakebase connect shop/production --as byBranch', recordingHost()))).toContain(`@${status.hosts.host}:5432/`);
    expect(String(await runMagicCell(magics, '%lakebase connect projects/shop/branches/production/endpoints/primary --as byName', recordingHost()))).toContain(`@${status.hosts.host}:5432/`);
    const pooled = String(await runMagicCell(magics, '%lakebase connect shop --pooled --as pooled', recordingHost()));
    expect(pooled).toContain(`@${status.hosts.read_write_pooled_host}:5432/`);
    expect((await sql(magics, "SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'orders'")).rows).toEqual([{ n: 1 }]);
  });

  test('--read-only goes to the branch\'s read-only endpoint, where writes fail', async () => {
    const magics = magicsWith();
    const message = String(await runMagicCell(magics, '%lakebase connect shop --read-only', recordingHost()));
    expect(message).toContain('(endpoint projects/shop/branches/production/endpoints/reader)');
    expect(message).toMatch(/^Connected "shop-production-ro"/);
    const refused = await runMagicCell(magics, '%lakebase sql INSERT INTO orders VALUES (1)', recordingHost()).then(
      () => undefined,
      (error: { code?: string; message: string }) => error,
    );
    expect(refused?.message).toMatch(/read-only transaction/);
    const none = await failing(magicsWith(), '%lakebase connect both --read-only --as x', ['project']);
    expect(none.code).toBe('READ_ONLY_UNAVAILABLE');
  });

  test('one refresher per endpoint, each shown by %lakebase token', async () => {
    const refreshers = createRefresherRegistry();
    const magics = magicsWith({}, refreshers);
    await runMagicCell(magics, '%lakebase connect shop', recordingHost());
    await runMagicCell(magics, '%lakebase connect shop --pooled --as again', recordingHost());
    await runMagicCell(magics, '%lakebase connect shop --read-only', recordingHost());
    const scopes = refreshers.list().map((refresher) => refresher.status().scope);
    expect(scopes.sort()).toEqual([
      expect.stringMatching(/^autoscaling:projects\/shop\/branches\/production\/endpoints\/primary \(ep-[0-9a-f]+\)$/),
      expect.stringMatching(/^autoscaling:projects\/shop\/branches\/production\/endpoints\/reader \(ep-[0-9a-f]+\)$/),
    ]);
    const table = String(await runMagicCell(magics, '%lakebase token', recordingHost()));
    expect(table).toContain('projects/shop/branches/production/endpoints/reader');
  });
});

describe('a name that is an instance, a project, both or neither', () => {
  test('an instance name goes the Provisioned way; a name that is both is asked about', async () => {
    const instance = String(await runMagicCell(magicsWith(), '%lakebase connect only-instance', recordingHost()));
    expect(instance).not.toContain('(endpoint ');
    const ambiguous = await failing(magicsWith(), '%lakebase connect both');
    expect(ambiguous.code).toBe('AMBIGUOUS_NAME');
    expect(ambiguous.hint).toContain('%lakebase connect projects/both');
    const host = recordingHost({ answers: ['project'] });
    const chosen = String(await runMagicCell(magicsWith(), '%lakebase connect both', host));
    expect(host.prompts[0].prompt).toMatch(/both is both a Provisioned instance and an Autoscaling project/);
    expect(chosen).toContain('(endpoint projects/both/branches/production/endpoints/primary)');
    const forced = String(await runMagicCell(magicsWith(), '%lakebase connect both --instance', recordingHost()));
    expect(forced).not.toContain('(endpoint ');
    const missing = await failing(magicsWith(), '%lakebase connect nowhere-at-all');
    expect(missing.code).toBe('LAKEBASE_NAME_NOT_FOUND');
    const noBranch = await failing(magicsWith(), '%lakebase connect shop/nope');
    expect(noBranch.code).toBe('BRANCH_NOT_FOUND');
  });
});

describe('Databricks Apps and LAKEBASE_ENDPOINT', () => {
  test('inside an app with a postgres resource, connect finds the endpoint by PGHOST and logs in as the app', async () => {
    const principal = emulator.servicePrincipal;
    // A postgres resource of an app gives the app's service principal CAN_USE on the project.
    expect((await request('PATCH', '/api/2.0/permissions/database-projects/shop', { access_control_list: [{ service_principal_name: principal.applicationId, permission_level: 'CAN_USE' }] })).status).toBe(200);
    await completed(
      api as WorkspaceUnderTest,
      await request('POST', '/api/2.0/postgres/projects/shop/branches/production/roles?role_id=app-principal', {
        spec: { postgres_role: principal.applicationId, identity_type: 'SERVICE_PRINCIPAL' },
      }),
    );
    const { status } = await getEndpoint(api as WorkspaceUnderTest, 'projects/shop/branches/production/endpoints/primary');
    const magics = magicsWith({
      DATABRICKS_HOST: emulator.host,
      DATABRICKS_CLIENT_ID: principal.applicationId,
      DATABRICKS_CLIENT_SECRET: principal.clientSecret,
      PGHOST: status.hosts.host,
      PGPORT: '5432',
      PGDATABASE: 'databricks_postgres',
      PGUSER: principal.applicationId,
      PGSSLMODE: 'require',
      PGAPPNAME: 'shop-app',
      PGSSLROOTCERT: emulator.caCertPath,
    });
    const message = String(await runMagicCell(magics, '%lakebase connect', recordingHost()));
    expect(message).toContain('(endpoint projects/shop/branches/production/endpoints/primary)');
    expect((await sql(magics, 'SELECT current_user AS who')).rows).toEqual([{ who: principal.applicationId }]);
  });

  test('LAKEBASE_ENDPOINT names the endpoint, as @databricks/lakebase reads it', async () => {
    const magics = magicsWith({
      DATABRICKS_HOST: emulator.host,
      DATABRICKS_TOKEN: emulator.user.token,
      PGSSLROOTCERT: emulator.caCertPath,
      LAKEBASE_ENDPOINT: 'projects/both/branches/production/endpoints/primary',
    });
    const message = String(await runMagicCell(magics, '%lakebase connect', recordingHost()));
    expect(message).toContain('(endpoint projects/both/branches/production/endpoints/primary)');
    const bad = await failing(magicsWith({ DATABRICKS_HOST: emulator.host, DATABRICKS_TOKEN: emulator.user.token, LAKEBASE_ENDPOINT: 'projects/both' }), '%lakebase connect');
    expect(bad.code).toBe('LAKEBASE_ENDPOINT_INVALID');
  });
});
