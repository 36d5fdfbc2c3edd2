// The Lakebase Autoscaling verbs (project, branch, endpoint, role, database) on a real local
// emulator, and the branch workflow: `branch create NAME --connect` moves the current connection
// to a real copy, a destructive migration there leaves production alone, `branch delete` (after
// confirmation) moves the connection back.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningEmulator } from '../emulator/contracts';
import { JUPYTER_DISPLAY } from '../lakebase/contracts';
import type { MimeBundle } from '../lakebase/contracts';
import { startEmulator } from '../emulator/index';
import { createMagics, Magics } from '../magics';
import { createConnectors } from '../magics/connectors';
import { plainText } from '../magics/terminal';
import { StatusLineView } from '../magics/status-line';
import { createRefresherRegistry } from '../lakebase/credentials';
import { describeError, LakebaseError } from '../lakebase/errors';
import type { Branch, Database, Endpoint, Operation, Project, Role } from '../lakebase/autoscaling';
import { ResultSet } from '../lakebase/result-set';
import { freePort } from './support/postgres';
import { recordingHost, RecordingHost, runMagicCell } from './support/magic-host';

let emulator: RunningEmulator;
let dataDir: string;
let home: string;
let magics: Magics;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'magics-projects-'));
  home = await mkdtemp(join(tmpdir(), 'magics-projects-home-'));
  emulator = await startEmulator({ dataDir, port: await freePort(), transitionDelayMs: 0 });
  const refreshers = createRefresherRegistry();
  magics = createMagics({
    refreshers,
    connectors: createConnectors({
      env: { HOME: home, DATABRICKS_CONFIG_FILE: join(home, '.databrickscfg') },
      refreshers,
      embedded: { dataDir, ensureEmulator: async () => emulator },
    }),
  });
});

afterAll(async () => {
  for (const other of others) await other.close();
  await magics?.close();
  await emulator?.stop();
  await rm(dataDir, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
});

const run = (source: string, host: RecordingHost = recordingHost(), on: Magics = magics) => runMagicCell(on, source, host);

const others: Magics[] = [];

/** Magics that talk to the emulator as another of its identities (its PAT). */
function magicsAs(token: string): Magics {
  const refreshers = createRefresherRegistry();
  const created = createMagics({
    refreshers,
    connectors: createConnectors({
      env: { HOME: home, DATABRICKS_CONFIG_FILE: join(home, '.databrickscfg'), PGSSLROOTCERT: emulator.caCertPath, DATABRICKS_HOST: emulator.host, DATABRICKS_TOKEN: token },
      refreshers,
      embedded: { dataDir, ensureEmulator: async () => emulator },
    }),
  });
  others.push(created);
  return created;
}

async function failing(source: string, host: RecordingHost = recordingHost(), on: Magics = magics): Promise<LakebaseError> {
  const outcome = await run(source, host, on).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(LakebaseError);
  return outcome as LakebaseError;
}

const rows = async (sql: string) => ((await run(`%lakebase sql ${sql}`)) as ResultSet).rows;

/** What a notebook shows for a verb's value: its text/plain. */
const shown = async (source: string, host: RecordingHost = recordingHost()) => plainText(await run(source, host));

describe('projects', () => {
  test('project create waits under a live status line and returns the project; list, get, --no-wait', async () => {
    const host = recordingHost();
    // The value is the API's project itself (JSON sees only its data); it shows as a field table.
    const created = (await run('%lakebase project create shop --suspend-timeout 5m', host)) as Project;
    expect(created).toMatchObject({ name: 'projects/shop', status: { default_branch: 'projects/shop/branches/production' } });
    expect(JSON.parse(JSON.stringify(created))).toEqual({ ...created });
    expect(plainText(created)).toMatch(/ default branch +\| projects\/shop\/branches\/production/);
    expect(created.status?.default_endpoint_settings?.suspend_timeout_duration).toBe('300s');
    // One status line, published then updated in place, ending DONE.
    const lines = host.displays.filter((display) => display.value instanceof StatusLineView);
    expect(lines.length).toBeGreaterThan(0);
    expect(new Set(lines.map((display) => display.options?.displayId)).size).toBe(1);
    expect(String((lines.at(-1)?.value as StatusLineView).toString())).toMatch(/^project shop · create · DONE · /);

    expect(await shown('%lakebase project list')).toMatch(/\n shop +\| shop +\| production +\| /);
    const projects = (await run('%lakebase project list')) as Project[];
    expect(Array.isArray(projects)).toBe(true);
    expect(projects.map((project) => project.name)).toContain('projects/shop');
    expect(plainText(projects[0])).toMatch(/^ +field +\| +value/);
    expect(await shown('%lakebase project get shop')).toContain('projects/shop');
    const started = (await run('%lakebase project create later --no-wait')) as Operation<Project>;
    expect(started.name).toMatch(/^projects\/later\/operations\//);
    expect(plainText(started)).toBe(`Started ${started.name}${started.done ? ' (already done)' : ''}; it goes on without waiting.`);
    const taken = await failing('%lakebase project create shop');
    expect(taken.code).toBe('ALREADY_EXISTS');
  });

  test('project delete asks first (or needs --yes); undelete brings it back', async () => {
    await run('%lakebase project create doomed');
    const refused = await failing('%lakebase project delete doomed');
    expect(refused.code).toBe('CONFIRMATION_REQUIRED');
    expect(await shown('%lakebase project delete doomed', recordingHost({ answers: ['n'] }))).toBe('Kept the project doomed.');
    expect(await shown('%lakebase project delete doomed', recordingHost({ answers: ['y'] }))).toMatch(/^Deleted the project doomed; undelete it within 7 days/);
    expect(await shown('%lakebase project list --deleted')).toMatch(/\n doomed +\|.*\| 20\d\d-/);
    const undeleted = (await run('%lakebase project undelete doomed')) as Project;
    expect(undeleted.name).toBe('projects/doomed');
    expect(undeleted.delete_time).toBeUndefined();
    await run('%lakebase project delete doomed --purge --yes');
    expect((await failing('%lakebase project get doomed')).code).toBe('PROJECT_NOT_FOUND');
  });
});

describe('project permissions', () => {
  test('another identity is refused in one line until granted; project grant, permissions and revoke', async () => {
    const second = emulator.secondUser!;
    const other = magicsAs(second.token);
    const denied = await failing('%lakebase project get shop', recordingHost(), other);
    expect(denied.code).toBe('WORKSPACE_PERMISSION_DENIED');
    const [line, hint] = describeError(denied).lines;
    expect(line).toBe(
      `ERROR:  Not allowed to get the project projects/shop: User ${second.userName} does not have CAN_USE permission on database project 'shop', which is needed to look it up.`,
    );
    expect(hint).toMatch(/Ask the owner of projects\/shop or a workspace admin for permission on it \(CAN_USE to connect, CAN_MANAGE to change it\)/);

    const granted = (await run(`%lakebase project grant shop ${second.userName}`)) as { [JUPYTER_DISPLAY](): MimeBundle };
    expect(granted[JUPYTER_DISPLAY]()['text/plain']).toMatch(new RegExp(`\\n ${second.userName.replace(/\./g, '\\.')} +\\| user +\\| CAN_USE +\\|`));
    expect(((await run('%lakebase project get shop', recordingHost(), other)) as Project).name).toBe('projects/shop');
    // Using is not managing: branching takes CAN_MANAGE, refused in one line too.
    const branching = await failing('%lakebase branch create shop/by-second', recordingHost(), other);
    expect(branching.code).toBe('WORKSPACE_PERMISSION_DENIED');
    expect(describeError(branching).lines[0]).toMatch(/does not have CAN_MANAGE permission on database project 'shop', which is needed to create a branch in it\.$/);

    await run(`%lakebase project revoke projects/shop ${second.userName}`);
    const table = String(((await run('%lakebase project permissions shop')) as { [JUPYTER_DISPLAY](): MimeBundle })[JUPYTER_DISPLAY]()['text/plain']);
    expect(table).not.toContain(second.userName);
    expect(table).toMatch(/\n admins +\| group +\| CAN_MANAGE +\| \/database-projects\//);
    expect((await failing('%lakebase project get shop', recordingHost(), other)).code).toBe('WORKSPACE_PERMISSION_DENIED');
  });
});

describe('the branch workflow', () => {
  test('branch create --connect moves the connection to a real copy; branch delete moves it back', async () => {
    await run('%lakebase connect shop');
    await run('%%lakebase\nCREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL);\nINSERT INTO customers VALUES (1, \'a@x\'), (2, \'b@x\'), (3, \'c@x\');');

    const host = recordingHost();
    const branch = (await run('%lakebase branch create try-migration --connect', host)) as Branch;
    expect(branch.status).toMatchObject({ current_state: 'READY', source_branch: 'projects/shop/branches/production' });
    expect(host.stdoutText()).toMatch(/"shop" is on the branch try-migration now .*; %lakebase branch delete try-migration moves it back to production/);
    expect(await shown('%lakebase connections')).toMatch(/\n shop +\| \* +\| Lakebase Autoscaling +\| /);
    expect(await shown('%lakebase branch list')).toMatch(/\n try-migration +\| \* +\| READY +\| +\| production at /);

    // A destructive migration on the branch.
    await run('%%lakebase\nALTER TABLE customers DROP COLUMN email;\nDELETE FROM customers WHERE id > 1;');
    expect(await rows('SELECT * FROM customers')).toEqual([{ id: 1 }]);
    // Production is untouched: compare through a second connection.
    await run('%lakebase connect shop/production --as prod');
    expect(await rows('SELECT count(*)::int AS n, count(email)::int AS emails FROM customers')).toEqual([{ n: 3, emails: 3 }]);
    await run('%lakebase use shop');

    expect((await failing('%lakebase branch delete try-migration')).code).toBe('CONFIRMATION_REQUIRED');
    const deleting = recordingHost({ answers: ['y'] });
    const deleted = await shown('%lakebase branch delete try-migration', deleting);
    expect(deleting.prompts[0].prompt).toContain('Connections on it move: "shop" back to production.');
    expect(deleted).toMatch(/^Deleted the branch try-migration\. "shop" is back on production \(/);
    expect(await rows('SELECT count(*)::int AS n FROM customers')).toEqual([{ n: 3 }]);
    expect(await shown('%lakebase branch list shop')).not.toContain('try-migration');
    // The deleted branch's endpoint refresher is retired: %lakebase token no longer lists it.
    expect(await shown('%lakebase token')).not.toContain('try-migration');
  });

  test('branch create --at restores a point before a mistake; --ttl; a bad time is a clear error', async () => {
    await run('%lakebase use shop');
    const before = (await rows('SELECT clock_timestamp() AS t'))[0].t as Date;
    await run('%lakebase sql DELETE FROM customers');
    const restored = (await run(`%lakebase branch create shop/rescue --at ${before.toISOString()} --ttl 2h`)) as Branch;
    expect(Date.parse(restored.status?.expire_time ?? '')).toBeGreaterThan(Date.now() + 3_500_000);
    await run('%lakebase connect shop/rescue --as rescue');
    expect(await rows('SELECT count(*)::int AS n FROM customers')).toEqual([{ n: 3 }]);
    // reset: the branch becomes a fresh copy of its source as of now (the rows deleted since are gone there too).
    await run('%lakebase sql --on rescue INSERT INTO customers VALUES (99, \'z@x\')');
    const reset = (await run('%lakebase branch reset shop/rescue', recordingHost({ answers: ['y'] }))) as Branch;
    expect(reset.status?.source_branch).toBe('projects/shop/branches/production');
    // The connection on the branch followed it to the new copy.
    expect((await run('%lakebase sql --on rescue SELECT count(*)::int AS n FROM customers')) as ResultSet).toMatchObject({ rows: [{ n: 0 }] });
    await run('%lakebase close rescue');
    await run('%lakebase branch delete shop/rescue --yes');
    expect((await failing('%lakebase branch create shop/never --at yesterday')).code).toBe('MAGIC_INVALID_VALUE');
  });

  test('branch create --lsn copies the source as of that WAL position: rows committed after it are absent', async () => {
    await run('%lakebase use shop');
    await run('%lakebase sql CREATE TABLE ledger (id int PRIMARY KEY)');
    await run('%lakebase sql INSERT INTO ledger SELECT generate_series(1, 5)');
    const lsn = (await rows('SELECT pg_current_wal_lsn()::text AS lsn'))[0].lsn as string;
    await run('%lakebase sql INSERT INTO ledger SELECT generate_series(6, 9)');
    const branch = (await run(`%lakebase branch create shop/at-lsn --lsn ${lsn}`)) as Branch;
    expect(branch.status).toMatchObject({ source_branch: 'projects/shop/branches/production', source_branch_lsn: lsn });
    await run('%lakebase connect shop/at-lsn --as at_lsn');
    expect(await rows('SELECT array_agg(id ORDER BY id) AS ids FROM ledger')).toEqual([{ ids: [1, 2, 3, 4, 5] }]);
    await run('%lakebase close at_lsn');
    await run('%lakebase branch delete shop/at-lsn --yes');
    expect((await failing('%lakebase branch create shop/never --lsn later')).code).toBe('MAGIC_INVALID_VALUE');
  });
});

describe('endpoints, roles and databases of a branch', () => {
  test('endpoint create, update (disable), list, delete', async () => {
    const created = (await run('%lakebase endpoint create shop/production/reader --read-only --suspend-timeout 2m')) as Endpoint;
    expect(created.status).toMatchObject({ endpoint_type: 'ENDPOINT_TYPE_READ_ONLY', suspend_timeout_duration: '120s' });
    expect(plainText(created)).toMatch(/^ type +\| read-only$/m);
    const disabled = (await run('%lakebase endpoint update shop/production/reader --disable')) as Endpoint;
    expect(disabled.status?.disabled).toBe(true);
    const endpoints = (await run('%lakebase endpoint list shop/production')) as Endpoint[];
    expect(endpoints.map((endpoint) => [endpoint.name.split('/').pop(), endpoint.status?.endpoint_type])).toEqual([
      ['primary', 'ENDPOINT_TYPE_READ_WRITE'],
      ['reader', 'ENDPOINT_TYPE_READ_ONLY'],
    ]);
    expect(await shown('%lakebase endpoint list shop/production')).toMatch(/\n reader +\| read-only +\| \w+ +\| yes +\| /);
    await run('%lakebase endpoint delete shop/production/reader --yes');
    const implicit = await failing('%lakebase endpoint delete shop/production/primary --yes');
    expect(implicit.message).toMatch(/Read-write endpoints cannot be deleted/);
  });

  test('role create, list and delete for another identity; database create, list, get and delete owned by that role', async () => {
    const second = emulator.secondUser!;
    const role = (await run(`%lakebase role create shop/production ${second.userName} --id second-user --createdb`)) as Role;
    expect(role).toMatchObject({ name: 'projects/shop/branches/production/roles/second-user', status: { postgres_role: second.userName, attributes: { createdb: true } } });
    expect(((await run('%lakebase role list shop/production')) as Role[]).map((listed) => listed.status?.postgres_role)).toContain(second.userName);
    expect(await shown('%lakebase role list shop/production')).toContain(second.userName);
    const database = (await run('%lakebase database create shop/production analytics --owner second-user')) as Database;
    expect(database.status).toMatchObject({ postgres_database: 'analytics', role: 'projects/shop/branches/production/roles/second-user' });
    expect(plainText(database)).toMatch(/\n owner +\| projects\/shop\/branches\/production\/roles\/second-user/);
    expect(await shown('%lakebase database list shop/production')).toMatch(/\n analytics +\| analytics +\| second-user/);
    const got = (await run('%lakebase database get shop/production/analytics')) as Database;
    expect(got).toMatchObject({ name: 'projects/shop/branches/production/databases/analytics', status: { postgres_database: 'analytics' } });
    expect(plainText(got)).toMatch(/\n postgres database +\| analytics/);
    await run('%lakebase database delete shop/production/analytics --yes');
    expect((await failing('%lakebase database get shop/production/analytics')).message).toMatch(/analytics/);
    await run('%lakebase role delete shop/production/second-user --yes');
    expect(await shown('%lakebase role list shop/production')).not.toContain(second.userName);
  });
});
