// Every provisioning and governance verb run against the real emulator (servers, replicas,
// point-in-time copies, permissions), failures included: instances, roles, Unity Catalog,
// credentials, Apps resources. The kernel-level tests (status line on the wire, input_request,
// typed values) are in kernel-provisioning.test.ts.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RunningEmulator } from '../emulator/contracts';
import { startEmulator } from '../emulator/index';
import { JUPYTER_DISPLAY, MimeBundle } from '../lakebase/contracts';
import { createRefresherRegistry } from '../lakebase/credentials';
import { describeError, LakebaseError } from '../lakebase/errors';
import type { ResultSet } from '../lakebase/result-set';
import { WaitStoppedError } from '../lakebase/waiting';
import { createMagics, Magics } from '../magics';
import { createConnectors } from '../magics/connectors';
import { StatusLineView } from '../magics/status-line';
import { recordingHost, RecordingHost, runMagicCell } from './support/magic-host';
import { freePort } from './support/postgres';

let emulator: RunningEmulator;
let dataDir: string;
let home: string;
let magics: Magics;
const opened: Magics[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'magics-provisioning-'));
  home = await mkdtemp(join(tmpdir(), 'magics-provisioning-home-'));
  // A transition delay long enough that states are seen between polls.
  emulator = await startEmulator({ dataDir, port: await freePort(), transitionDelayMs: 300 });
  magics = magicsWith({});
}, 120_000);

afterAll(async () => {
  for (const each of opened) await each.close();
  await emulator?.stop();
  await rm(dataDir, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
});

/** Magics on this emulator: the embedded default (its default user), or `env`'s workspace. */
function magicsWith(env: Record<string, string>): Magics {
  const refreshers = createRefresherRegistry();
  const created = createMagics({
    refreshers,
    connectors: createConnectors({
      env: { HOME: home, DATABRICKS_CONFIG_FILE: join(home, '.databrickscfg'), PGSSLROOTCERT: emulator.caCertPath, ...env },
      refreshers,
      embedded: { dataDir, ensureEmulator: async () => emulator },
    }),
  });
  opened.push(created);
  return created;
}

/** Runs a magics cell; the value is the last magic's. */
function run(source: string, host: RecordingHost = recordingHost(), on: Magics = magics): Promise<unknown> {
  return runMagicCell(on, source, host);
}

async function failure(source: string, host: RecordingHost = recordingHost(), on: Magics = magics): Promise<LakebaseError> {
  const error = await run(source, host, on).then(
    () => {
      throw new Error(`expected ${source} to fail`);
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(LakebaseError);
  return error as LakebaseError;
}

function text(value: unknown): string {
  return ((value as { [JUPYTER_DISPLAY](): MimeBundle })[JUPYTER_DISPLAY]())['text/plain'];
}

/** The status lines a host was shown, as text, with the display options of each. */
function statusLines(host: RecordingHost) {
  return host.displays.filter((display) => display.value instanceof StatusLineView).map((display) => ({ text: (display.value as StatusLineView).toString(), options: display.options }));
}

/** The one clear line (and hint) a user sees for an error. */
function shown(error: unknown): string {
  return describeError(error).lines.join('\n');
}

describe('instances', () => {
  test('create waits under one live status line and the instance can be connected to at once', async () => {
    const host = recordingHost();
    const instance = (await run('%lakebase instance create shop --capacity CU_1', host)) as Record<string, unknown>;
    expect(instance).toMatchObject({ name: 'shop', state: 'AVAILABLE', capacity: 'CU_1' });
    const lines = statusLines(host);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    const id = lines[0].options?.displayId;
    expect(lines[0].options).toEqual({ displayId: id });
    expect(lines.slice(1).every((line) => line.options?.displayId === id && line.options?.update === true)).toBe(true);
    expect(lines[0].text).toMatch(/^instance shop · create · STARTING · \d+ ms · waiting for the server to start$/);
    expect(lines.at(-1)!.text).toMatch(new RegExp(`^instance shop · create · AVAILABLE · .* · read_write_dns ${instance.read_write_dns}$`));
    // The value renders as the instance's fields.
    expect(text(instance)).toMatch(/^instance shop\n {2}state +AVAILABLE\n {2}capacity +CU_1\n/);

    await run('%lakebase connect shop');
    await run('%%lakebase\nCREATE TABLE items (id int PRIMARY KEY); INSERT INTO items SELECT generate_series(1, 10)');
    const count = (await run('%lakebase sql SELECT count(*)::int AS n FROM items')) as ResultSet;
    expect(count.rows).toEqual([{ n: 10 }]);
  });

  test('get, list, and the errors users meet, each in one line', async () => {
    expect(await run('%lakebase instance get shop')).toMatchObject({ name: 'shop', state: 'AVAILABLE' });
    const listed = (await run('%lakebase instance list')) as Record<string, unknown>[];
    expect(listed.map((instance) => instance.name)).toContain('shop');
    expect(text(listed)).toMatch(/^ +name +\| +state +\|/);

    const missing = await failure('%lakebase instance get nowhere');
    expect(missing.code).toBe('INSTANCE_NOT_FOUND');
    expect(shown(missing).split('\n')[0]).toBe(`ERROR:  There is no database instance named nowhere in ${emulator.host}.`);
    const twice = await failure('%lakebase instance create shop --capacity CU_1');
    expect(twice.code).toBe('ALREADY_EXISTS');
    expect(twice.message).toBe("Cannot create the instance shop: Database instance with name 'shop' already exists.");
    const capacity = await failure('%lakebase instance create other --capacity CU_3');
    expect(capacity.code).toBe('MAGIC_INVALID_VALUE');
    expect(capacity.hint).toBe('Did you mean CU_1?');
    const child = await failure('%lakebase instance create other --at -5m');
    expect(child.code).toBe('MAGIC_MISSING_ARGUMENT');
  });

  test('stopping an instance this kernel uses asks first; headless it needs --yes; a stopped one refuses connections', async () => {
    const headless = recordingHost();
    const refused = await failure('%lakebase instance stop shop', headless);
    expect(refused.code).toBe('CONFIRMATION_REQUIRED');
    expect(refused.message).toContain('this kernel\'s connection "shop" to it will end');
    expect(refused.hint).toBe('To do it anyway, run: %lakebase instance stop shop --yes');
    expect((await run('%lakebase instance get shop')) as Record<string, unknown>).toMatchObject({ state: 'AVAILABLE' });

    const declined = recordingHost({ answers: ['n'] });
    expect(String(await run('%lakebase instance stop shop', declined))).toBe('Nothing was done: the instance shop was left as it is.');
    expect(declined.prompts[0].prompt).toMatch(/Stop the instance shop\? \[y\/N\] $/);

    const host = recordingHost({ answers: ['y'] });
    const stopped = (await run('%lakebase instance stop shop', host)) as Record<string, unknown>;
    expect(stopped).toMatchObject({ state: 'STOPPED', effective_stopped: true });
    expect(statusLines(host).at(-1)!.text).toMatch(/^instance shop · stop · STOPPED · /);
    const closed = await failure('%lakebase connect shop --as again');
    expect(closed.code).toBe('INSTANCE_STOPPED');
    expect(shown(closed).split('\n')[0]).toBe('ERROR:  The instance shop is stopped, so it refuses connections.');
    expect(closed.hint).toContain('%lakebase instance start shop');

    const started = (await run('%lakebase instance start shop')) as Record<string, unknown>;
    expect(started).toMatchObject({ state: 'AVAILABLE' });
    await run('%lakebase connect shop');
    expect(((await run('%lakebase sql SELECT count(*)::int AS n FROM items')) as ResultSet).rows).toEqual([{ n: 10 }]);
  });

  test('resize and update go through UPDATING; --no-wait returns at once', async () => {
    const host = recordingHost();
    expect(await run('%lakebase instance resize shop --capacity CU_2', host)).toMatchObject({ state: 'AVAILABLE', capacity: 'CU_2' });
    expect(statusLines(host).map((line) => line.text)).toEqual(expect.arrayContaining([expect.stringMatching(/ · UPDATING · /)]));
    const quick = (await run('%lakebase instance update shop --retention-days 14 --tags team=shop,tier=gold --no-wait')) as Record<string, unknown>;
    expect(quick.name).toBe('shop');
    const after = (await run('%lakebase instance get shop')) as Record<string, unknown>;
    expect(after).toMatchObject({ effective_retention_window_in_days: 14, effective_custom_tags: [{ key: 'team', value: 'shop' }, { key: 'tier', value: 'gold' }] });
    expect((await failure('%lakebase instance resize shop')).code).toBe('MAGIC_MISSING_ARGUMENT');
  });

  test('create takes every setting (stopped, native login, tags, retention); delete --allow-missing of a missing one is no error', async () => {
    const host = recordingHost();
    const made = (await run('%lakebase instance create settings --capacity CU_1 --stopped --native-login --tags team=shop,tier=gold --retention-days 3', host)) as Record<string, unknown>;
    expect(made).toMatchObject({
      name: 'settings', state: 'STOPPED', effective_stopped: true, effective_enable_pg_native_login: true, effective_retention_window_in_days: 3,
      effective_custom_tags: [{ key: 'team', value: 'shop' }, { key: 'tier', value: 'gold' }],
    });
    expect(statusLines(host).at(-1)!.text).toMatch(/^instance settings · create · STOPPED · /);
    expect(text(made)).toMatch(/\n {2}native login +on\n/);
    expect(String(await run('%lakebase instance delete settings --yes'))).toBe('Deleted the instance settings.');
    expect(String(await run('%lakebase instance delete settings --allow-missing --yes'))).toBe('There is no instance settings: nothing to delete.');
    expect((await failure('%lakebase instance delete settings --yes')).code).toBe('INSTANCE_NOT_FOUND');
  });

  test('an interrupt stops the waiting, says the creation goes on, and the instance still becomes AVAILABLE', async () => {
    const host = recordingHost();
    const creating = run('%lakebase instance create later --capacity CU_1', host);
    while (statusLines(host).length === 0) await new Promise((resolve) => setImmediate(resolve));
    host.interrupt();
    const error = await creating.then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(WaitStoppedError);
    expect((error as LakebaseError).hint).toBe('Check on it with %lakebase instance get later.');
    expect(statusLines(host).at(-1)!.text).toMatch(/ · stopped waiting; the creation goes on\. Check on it with %lakebase instance get later$/);
    // The operation went on without us.
    for (;;) {
      const instance = (await run('%lakebase instance get later')) as Record<string, unknown>;
      if (instance.state === 'AVAILABLE') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await run('%lakebase instance delete later --yes');
  });
});

describe('secondaries and failover', () => {
  test('--read-only connects to the readable secondary, which has the primary\'s rows and refuses writes; failover keeps them', async () => {
    const created = (await run('%lakebase instance create ha --capacity CU_1 --node-count 2 --readable-secondaries')) as Record<string, unknown>;
    expect(typeof created.read_only_dns).toBe('string');
    await run('%lakebase connect ha');
    await run('%%lakebase\nCREATE TABLE notes (id int PRIMARY KEY); INSERT INTO notes VALUES (1), (2)');
    await run('%lakebase connect ha --read-only --as ha_ro');
    const description = String(await run('%lakebase connections'));
    expect(description).toContain(`@${created.read_only_dns}:5432/`);
    for (;;) {
      const rows = await run('%lakebase sql --on ha_ro SELECT count(*)::int AS n FROM notes').then(
        (result) => (result as ResultSet).rows[0].n as number,
        () => 0,
      );
      if (rows === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const write = await failure('%lakebase sql --on ha_ro INSERT INTO notes VALUES (3)');
    expect(write.message).toBe('cannot execute INSERT in a read-only transaction');

    const host = recordingHost();
    expect(await run('%lakebase instance failover ha', host)).toMatchObject({ state: 'AVAILABLE' });
    expect(statusLines(host)[0].text).toMatch(/^instance ha · failover · FAILING_OVER · /);
    await run('%lakebase connect ha --as ha2');
    await run('%lakebase sql --on ha2 INSERT INTO notes VALUES (3)');
    expect(((await run('%lakebase sql --on ha2 SELECT count(*)::int AS n FROM notes')) as ResultSet).rows).toEqual([{ n: 3 }]);
    expect((await failure('%lakebase instance failover shop')).code).toBe('INSTANCE_INVALID_STATE');
  });
});

describe('point-in-time children', () => {
  test('a child from before a destructive DELETE recovers the rows; the parent with children needs --force to go', async () => {
    await run('%lakebase connect shop');
    const [{ now }] = ((await run('%lakebase sql SELECT clock_timestamp()::text AS now')) as ResultSet).rows as { now: string }[];
    await run('%lakebase sql DELETE FROM items WHERE id > 3');
    const at = new Date(now.replace(' ', 'T').replace(/\+00$/, 'Z')).toISOString();
    const host = recordingHost();
    const child = (await run(`%lakebase instance create shop-before --from shop --at ${at}`, host)) as Record<string, unknown>;
    expect(child.parent_instance_ref).toMatchObject({ name: 'shop', branch_time: at });
    expect(statusLines(host)[0].text).toMatch(/^instance shop-before · create from shop · STARTING · .* · waiting for the copy of shop$/);
    await run('%lakebase connect shop-before');
    expect(((await run('%lakebase sql SELECT count(*)::int AS n FROM items')) as ResultSet).rows).toEqual([{ n: 10 }]);

    const future = await failure('%lakebase instance create shop-future --from shop --at 2099-01-01T00:00:00Z');
    expect(future.code).toBe('INVALID_REQUEST');
    expect(future.message).toContain('is in the future');
    const tooOld = await failure('%lakebase instance create shop-old --from shop --at -30d');
    expect(tooOld.message).toContain('outside the retention window');
    expect((await failure('%lakebase instance create shop-lsn --from shop --lsn yesterday')).code).toBe('MAGIC_INVALID_VALUE');

    const withChildren = await failure('%lakebase instance delete shop --yes');
    expect(withChildren.code).toBe('INSTANCE_INVALID_STATE');
    expect(withChildren.message).toContain('child instances (shop-before)');
  });

  test('a child --at an LSN (here a TypeScript variable) stops there', async () => {
    await run('%lakebase connect shop');
    const [{ lsn }] = ((await run('%lakebase sql SELECT pg_current_wal_insert_lsn()::text AS lsn')) as ResultSet).rows as { lsn: string }[];
    await run('%lakebase sql INSERT INTO items VALUES (4)');
    const host = recordingHost({ variables: { mark: lsn } });
    const child = (await run('%lakebase instance create shop-lsn --from shop --lsn :mark', host)) as Record<string, unknown>;
    expect(child.parent_instance_ref).toMatchObject({ name: 'shop', lsn });
    await run('%lakebase connect shop-lsn');
    expect(((await run('%lakebase sql SELECT array_agg(id ORDER BY id) AS ids FROM items')) as ResultSet).rows).toEqual([{ ids: [1, 2, 3] }]);
    await run('%lakebase close shop-lsn');
    expect(String(await run('%lakebase instance delete shop-lsn --yes'))).toBe('Deleted the instance shop-lsn.');
    await run('%lakebase connect shop');
    await run('%lakebase sql DELETE FROM items WHERE id = 4');
  });
});

describe('roles', () => {
  test('create for a user, a group and a PG_ONLY role; list, get, update; delete confirms', async () => {
    const second = emulator.secondUser!.userName;
    expect(await run(`%lakebase instance-role create shop ${second}`)).toMatchObject({ name: second, identity_type: 'USER' });
    expect(await run('%lakebase instance-role create shop data-team --type GROUP --createdb --superuser')).toMatchObject({
      identity_type: 'GROUP', membership_role: 'DATABRICKS_SUPERUSER', effective_attributes: { createdb: true },
    });
    expect(await run('%lakebase instance-role create shop reporting --type PG_ONLY --createrole')).toMatchObject({ identity_type: 'PG_ONLY', effective_attributes: { createrole: true, createdb: false } });
    expect(((await run("%lakebase sql --on shop SELECT rolcreaterole, rolcanlogin FROM pg_roles WHERE rolname = 'reporting'")) as ResultSet).rows).toEqual([{ rolcreaterole: true, rolcanlogin: true }]);
    const bare = await failure('%lakebase instance-role create shop reporting2');
    expect(bare.code).toBe('MAGIC_MISSING_ARGUMENT');

    const roles = (await run('%lakebase instance-role list shop')) as Record<string, unknown>[];
    expect(roles.map((role) => role.name)).toEqual(expect.arrayContaining([emulator.user.userName, second, 'data-team', 'reporting']));
    expect(text(roles)).toContain('data-team');
    const updated = (await run(`%lakebase instance-role update shop ${second} --superuser true --bypassrls true`)) as Record<string, unknown>;
    expect(updated).toMatchObject({ membership_role: 'DATABRICKS_SUPERUSER', effective_attributes: { bypassrls: true } });
    expect(text(updated)).toContain('member of databricks_superuser');

    // Logging in as the group's role with the default user's own token (it is in data-team).
    await run('%lakebase connect shop --user data-team --as team');
    expect(((await run('%lakebase sql --on team SELECT current_user AS who')) as ResultSet).rows).toEqual([{ who: 'data-team' }]);

    // A role that owns something is refused until what it owns goes to another role.
    await run('%lakebase sql --on shop GRANT CREATE ON SCHEMA public TO "data-team"');
    await run('%lakebase sql --on team CREATE TABLE team_notes (id int)');
    await run('%lakebase close team');
    const owns = await failure('%lakebase instance-role delete shop data-team --yes');
    expect(shown(owns).split('\n')[0]).toMatch(/^ERROR: {2}.*data-team.*(own|depend)/);
    expect(String(await run(`%lakebase instance-role delete shop data-team --reassign-owned-to ${emulator.user.userName} --yes`))).toBe('Deleted the role data-team of the instance shop.');
    expect(((await run("%lakebase sql --on shop SELECT tableowner AS owner FROM pg_tables WHERE tablename = 'team_notes'")) as ResultSet).rows).toEqual([{ owner: emulator.user.userName }]);
    await run('%lakebase instance-role create shop data-team --type GROUP --createdb');

    const headless = await failure('%lakebase instance-role delete shop reporting');
    expect(headless.code).toBe('CONFIRMATION_REQUIRED');
    expect(String(await run('%lakebase instance-role delete shop reporting --yes'))).toBe('Deleted the role reporting of the instance shop.');
    expect((await failure('%lakebase instance-role get shop reporting')).code).toBe('ROLE_NOT_FOUND');
    expect(String(await run('%lakebase instance-role delete shop reporting --allow-missing --yes'))).toBe('Deleted the role reporting of the instance shop.');
  });
});

describe('permissions', () => {
  test('another identity is refused in one line until granted; grants and revokes show in the list', async () => {
    const second = magicsWith({ DATABRICKS_HOST: emulator.host, DATABRICKS_TOKEN: emulator.secondUser!.token });
    const denied = await failure('%lakebase instance delete shop --force --yes', recordingHost(), second);
    expect(denied.code).toBe('WORKSPACE_PERMISSION_DENIED');
    expect(shown(denied).split('\n')[0]).toBe(
      `ERROR:  Not allowed to get the instance shop: User ${emulator.secondUser!.userName} does not have CAN_USE permission on database instance 'shop', which is needed to look it up.`,
    );
    const listed = (await run(`%lakebase instance grant shop ${emulator.secondUser!.userName}`)) as Record<string, unknown>;
    expect(text(listed)).toContain(emulator.secondUser!.userName);
    expect(await run('%lakebase instance get shop', recordingHost(), second)).toMatchObject({ name: 'shop' });
    expect((await failure('%lakebase instance stop shop --yes', recordingHost(), second)).code).toBe('WORKSPACE_PERMISSION_DENIED');
    await run(`%lakebase instance revoke shop ${emulator.secondUser!.userName}`);
    const table = text(await run('%lakebase instance permissions shop'));
    expect(table).not.toContain(emulator.secondUser!.userName);
    expect(table).toContain('admins');
  });
});

describe('Unity Catalog', () => {
  test('a catalog can create its database; tables must exist to be registered', async () => {
    const noDatabase = await failure('%lakebase catalog create shop_cat shop shop_data');
    expect(noDatabase.message).toBe("Cannot register the database shop_data of shop as the catalog shop_cat: Database 'shop_data' does not exist in database instance 'shop'. Set create_database_if_not_exists to create it.");
    expect(noDatabase.hint).toBe('To create the database with the catalog, run: %lakebase catalog create shop_cat shop shop_data --create-database');
    expect(await run('%lakebase catalog create shop_cat shop shop_data --create-database')).toMatchObject({ name: 'shop_cat', database_name: 'shop_data' });
    expect(await run('%lakebase catalog get shop_cat')).toMatchObject({ database_instance_name: 'shop' });
    // The database is real: a session opens in it.
    await run('%lakebase connect shop --database shop_data --as shop_data');
    expect(((await run('%lakebase sql --on shop_data SELECT current_database() AS db')) as ResultSet).rows).toEqual([{ db: 'shop_data' }]);
    await run('%lakebase close shop_data');
    expect((await magics.completeAsync('%lakebase catalog get shop_', '%lakebase catalog get shop_'.length))?.matches).toEqual(['shop_cat']);
    const missing = await failure('%lakebase table create main.public.items_missing --instance shop --database databricks_postgres');
    expect(missing.message).toContain('does not exist');
    expect(await run('%lakebase table create main.public.items --instance shop --database databricks_postgres')).toMatchObject({ name: 'main.public.items' });
    expect(await run('%lakebase table get main.public.items')).toMatchObject({ logical_database_name: 'databricks_postgres' });
    expect(String(await run('%lakebase table delete main.public.items'))).toContain('the Postgres table is untouched');
    expect(String(await run('%lakebase catalog delete shop_cat'))).toContain('its Postgres database is untouched');
    expect((await failure('%lakebase catalog get shop_cat')).code).toBe('NOT_FOUND');
    expect((await magics.completeAsync('%lakebase catalog get shop_', '%lakebase catalog get shop_'.length))?.matches).toEqual([]);
  });
});

describe('credentials and Apps', () => {
  test('a credential goes into a TypeScript variable, typed, and is never shown unmasked', async () => {
    const host = recordingHost();
    const credential = (await run('%lakebase credential create shop --into cred --env LAKEBASE_TEST_TOKEN', host)) as Record<string, string>;
    expect(host.declared.map(({ name, tsType }) => [name, tsType])).toEqual([['cred', 'LakebaseCredential']]);
    const token = credential.token;
    expect(token.length).toBeGreaterThan(100);
    expect(process.env.LAKEBASE_TEST_TOKEN).toBe(token);
    delete process.env.LAKEBASE_TEST_TOKEN;
    for (const view of [text(credential), JSON.stringify(credential), String(credential), (await import('node:util')).inspect(credential)]) {
      expect(view).not.toContain(token);
      expect(view).toContain('masked');
    }
    expect(text(credential)).toContain('TypeScript variable cred, environment variable LAKEBASE_TEST_TOKEN');
  });

  test('a read-only credential scoped to a registered table opens read-only sessions; --profile mints one as another identity', async () => {
    await run('%lakebase table create main.public.items --instance shop --database databricks_postgres');
    const readOnly = (await run('%lakebase credential create --tables main.public.items --read-only --into ro')) as Record<string, unknown>;
    expect(readOnly).toMatchObject({ read_only: true, tables: ['main.public.items'], identity: emulator.user.userName });
    expect(text(readOnly)).toMatch(/\n {2}sessions +read-only\n/);
    const instance = (await run('%lakebase instance get shop')) as Record<string, unknown>;
    const session = new pg.Client({
      host: String(instance.read_write_dns), port: Number(instance.emulator_read_write_port ?? 5432), database: 'databricks_postgres',
      user: emulator.user.userName, password: String(readOnly.token), ssl: { ca: readFileSync(emulator.caCertPath, 'utf8') },
    });
    await session.connect();
    try {
      expect((await session.query('SELECT count(*)::int AS n FROM items')).rows).toEqual([{ n: 3 }]);
      await expect(session.query('INSERT INTO items VALUES (99)')).rejects.toMatchObject({ code: '25006' });
    } finally {
      await session.end();
    }
    await run('%lakebase table delete main.public.items');

    // Another identity's credential, through a profile of ~/.databrickscfg; it needs CAN_USE.
    const second = emulator.secondUser!;
    await writeFile(join(home, '.databrickscfg'), `[second]\nhost = ${emulator.host}\ntoken = ${second.token}\n`);
    try {
      expect((await failure('%lakebase credential create shop --profile second')).code).toBe('WORKSPACE_PERMISSION_DENIED');
      await run(`%lakebase instance grant shop ${second.userName}`);
      const theirs = (await run('%lakebase credential create shop --profile second')) as Record<string, unknown>;
      expect(theirs).toMatchObject({ identity: second.userName, instance_names: ['shop'], read_only: false });
      expect(text(theirs)).not.toContain(String(theirs.token));
    } finally {
      await run(`%lakebase instance revoke shop ${second.userName}`);
      await rm(join(home, '.databrickscfg'), { force: true });
    }
  });

  test('apps resources prints the resource, app.yaml, MLflow and a pool for the current instance', async () => {
    await run('%lakebase connect shop');
    const resources = (await run('%lakebase apps resources')) as Record<string, unknown>;
    expect(resources.resource).toEqual({ name: 'database', database: { instance_name: 'shop', database_name: 'databricks_postgres', permission: 'CAN_CONNECT_AND_CREATE' } });
    expect(String(resources.mlflow)).toContain('DatabricksLakebase(database_instance_name="shop")');
    expect(String(resources.snippet)).toContain('instance_names: ["shop"]');
    expect(text(resources)).toMatch(/^── App resource/);
  });
});

describe('completion of names from the workspace', () => {
  test('instances and roles', async () => {
    const instances = await magics.completeAsync('%lakebase instance get sh', 25);
    expect(instances?.matches).toEqual(expect.arrayContaining(['shop', 'shop-before']));
    const roles = await magics.completeAsync('%lakebase instance-role get shop da', 35);
    expect(roles?.matches).toEqual(['data-team']);
  });
});

describe('deleting', () => {
  test('delete asks, says what goes (children with --force), and the instances are gone', async () => {
    const declined = recordingHost({ answers: ['no'] });
    expect(String(await run('%lakebase instance delete shop --force', declined))).toBe('Nothing was deleted: the instance shop is still there.');
    expect(declined.prompts[0].prompt).toContain('Deletes the instance shop with all its data and roles, and its child instances shop-before');
    const host = recordingHost({ answers: ['y'] });
    expect(String(await run('%lakebase instance delete shop --force', host))).toBe('Deleted the instance shop with its child instances shop-before.');
    expect(statusLines(host).at(-1)!.text).toMatch(/^instance shop · delete · DELETED · /);
    expect((await failure('%lakebase instance get shop-before')).code).toBe('INSTANCE_NOT_FOUND');
  });
});
