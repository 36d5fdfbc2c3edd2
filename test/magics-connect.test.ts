// `%lakebase connect`, `connections`, `use` and `close` against a real PostgreSQL: by URL, by PG*
// variables, by options, with a password prompt, and the routes that need no server.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMagics, Magics } from '../magics';
import { createConnectors } from '../magics/connectors';
import { createRefresherRegistry } from '../lakebase/credentials';
import { LakebaseError } from '../lakebase/errors';
import { ResultSet } from '../lakebase/result-set';
import { startTestPostgres, TestPostgres } from './support/postgres';
import { RecordingHost, recordingHost, runMagicCell } from './support/magic-host';

let server: TestPostgres;
let home: string;
const opened: Magics[] = [];

beforeAll(async () => {
  server = await startTestPostgres();
  // An empty home: no ~/.pgpass or ~/.databrickscfg of this machine is read.
  home = await mkdtemp(join(tmpdir(), 'magics-connect-home-'));
});

afterAll(async () => {
  for (const magics of opened) await magics.close();
  await server?.stop();
  await rm(home, { recursive: true, force: true });
});

/** Magics whose connect sees only `env` (plus an empty home and config file). */
function magicsWith(env: Record<string, string> = {}): Magics {
  const magics = createMagics({
    connectors: createConnectors({
      env: { HOME: home, DATABRICKS_CONFIG_FILE: join(home, '.databrickscfg'), PGPASSFILE: join(home, '.pgpass'), ...env },
    }),
  });
  opened.push(magics);
  return magics;
}

async function failing(magics: Magics, source: string, host: RecordingHost = recordingHost()): Promise<LakebaseError> {
  try {
    await runMagicCell(magics, source, host);
  } catch (error) {
    expect(error).toBeInstanceOf(LakebaseError);
    return error as LakebaseError;
  }
  throw new Error(`expected ${source} to fail`);
}

async function serverPort(magics: Magics): Promise<number> {
  const result = await runMagicCell(magics, '%lakebase sql SELECT inet_server_port() AS port', recordingHost());
  return (result as ResultSet).rows[0].port as number;
}

describe('connect', () => {
  test('by URL, with a warning when the URL holds a password (never repeated)', async () => {
    const magics = magicsWith();
    const host = recordingHost();
    const message = String(await runMagicCell(magics, `%lakebase connect ${server.url} --as byurl`, host));
    expect(message).toBe(`Connected "byurl" to postgres@127.0.0.1:${server.port}/postgres; it is the current connection.`);
    expect(host.stderrText()).toMatch(/^lakebase: warning: the connection string on this line holds a password/);
    expect(host.stderrText() + message).not.toContain(server.password);
    expect(await serverPort(magics)).toBe(server.port);
  });

  test('by the PG* variables, named after the database', async () => {
    const magics = magicsWith({
      PGHOST: server.host,
      PGPORT: String(server.port),
      PGUSER: server.user,
      PGPASSWORD: server.password,
      PGDATABASE: server.database,
    });
    const host = recordingHost();
    expect(String(await runMagicCell(magics, '%lakebase connect', host))).toMatch(/^Connected "postgres" to postgres@127\.0\.0\.1:\d+\/postgres/);
    expect(host.stderrText()).toBe('');
    expect(await serverPort(magics)).toBe(server.port);
  });

  test('by psql-like options, asking for the password like psql when none is configured', async () => {
    const magics = magicsWith();
    const host = recordingHost({ answers: [server.password] });
    const message = await runMagicCell(magics, `%lakebase connect -h ${server.host} -p ${server.port} -U postgres -d postgres --as asked`, host);
    expect(String(message)).toMatch(/^Connected "asked"/);
    expect(host.prompts).toEqual([{ prompt: `Password for postgres@127.0.0.1:${server.port}/postgres: `, password: true }]);
    expect(await serverPort(magics)).toBe(server.port);
  });

  test('without a client to ask, a missing password says where to put one', async () => {
    const magics = magicsWith();
    const error = await failing(magics, `%lakebase connect postgresql://postgres@${server.host}:${server.port}/postgres`);
    expect(error.code).toBe('PASSWORD_PROMPT_UNAVAILABLE');
    expect(error.hint).toMatch(/PGPASSWORD/);
  });

  test('a wrong target is refused before anything connects', async () => {
    const magics = magicsWith();
    const notATarget = await failing(magics, '%lakebase connect localhost:5432');
    expect(notATarget.code).toBe('MAGIC_INVALID_VALUE');
    expect(notATarget.hint).toMatch(/--host and --port/);
    const mixed = await failing(magics, `%lakebase connect ${server.url} --profile dev`);
    expect(mixed.code).toBe('MAGIC_CONFLICTING_OPTIONS');
    expect(mixed.message).toMatch(/--profile cannot be used with a PostgreSQL URL/);
    const badName = await failing(magics, `%lakebase connect ${server.url} --as "two words"`);
    expect(badName.code).toBe('MAGIC_INVALID_VALUE');
  });

  test('with Databricks configured and no target, it asks which instance', async () => {
    const magics = magicsWith({ DATABRICKS_HOST: 'https://example.cloud.databricks.com', DATABRICKS_TOKEN: 'dapi0123456789abcdef0123456789abcdef' });
    const error = await failing(magics, '%lakebase connect');
    expect(error.code).toBe('INSTANCE_REQUIRED');
    expect(error.hint).toMatch(/%lakebase connect INSTANCE/);
  });
});

describe('connections, use and close', () => {
  test('several named connections, one current', async () => {
    const magics = magicsWith({ PGPASSWORD: server.password });
    const base = `-h ${server.host} -p ${server.port} -U postgres -d postgres`;
    await runMagicCell(magics, `%lakebase connect ${base} --as first`, recordingHost());
    await runMagicCell(magics, `%lakebase connect ${base} --as second`, recordingHost());
    await runMagicCell(magics, '%lakebase sql BEGIN', recordingHost());

    const listed = String(await runMagicCell(magics, '%lakebase connections', recordingHost()));
    const where = `postgres@127.0.0.1:${server.port}/postgres`;
    expect(listed.split('\n')).toEqual([
      // Headers centered as psql centers them.
      expect.stringMatching(/^ {2}name {2}\| current \| {4}kind {4}\| +connection +\| tls \| {2}transaction {3}$/),
      expect.stringMatching(/^-+\+-+\+-+\+-+\+-+\+-+$/),
      ` first  |         | PostgreSQL | ${where} | no  | idle`,
      ` second | *       | PostgreSQL | ${where} | no  | in transaction`,
    ]);
    // Completion offers the connection names.
    expect(magics.complete('%lakebase use ', 14)?.matches).toEqual(['first', 'second']);
    expect(magics.complete('%lakebase sql --on s', 20)).toEqual({ matches: ['second'], cursorStart: 19, cursorEnd: 20 });
    expect(magics.complete('%lakebase close f', 17)?.matches).toEqual(['first']);

    expect(String(await runMagicCell(magics, '%lakebase use first', recordingHost()))).toBe(`"first" is the current connection (${where}).`);

    const host = recordingHost();
    expect(String(await runMagicCell(magics, '%lakebase close second', host))).toBe('Closed "second".');
    expect(host.stderrText()).toBe('lakebase: "second" was inside a transaction; closing it rolls the transaction back\n');

    // Closing the current connection leaves none current: SQL says how to pick one.
    await runMagicCell(magics, `%lakebase connect ${base} --as third`, recordingHost());
    expect(String(await runMagicCell(magics, '%lakebase close', recordingHost()))).toBe(
      'Closed "third". Choose the current one with %lakebase use NAME (first).',
    );
    const noCurrent = await failing(magics, '%lakebase sql SELECT 1');
    expect(noCurrent.code).toBe('NO_CURRENT_CONNECTION');
    expect(noCurrent.hint).toBe('Pick one with %lakebase use first.');

    expect(String(await runMagicCell(magics, '%lakebase close --all', recordingHost()))).toBe('Closed "first".');
    expect(String(await runMagicCell(magics, '%lakebase connections', recordingHost()))).toMatch(/^No connections\. Connect with %lakebase connect/);
    const none = await failing(magics, '%lakebase sql SELECT 1');
    expect(none.hint).toBe('Connect with %lakebase connect (see %lakebase help connect).');
  });

  test('connecting again under a name in use replaces it', async () => {
    const magics = magicsWith({ PGPASSWORD: server.password });
    const base = `-h ${server.host} -p ${server.port} -U postgres -d postgres --as again`;
    await runMagicCell(magics, `%lakebase connect ${base}`, recordingHost());
    const before = (await runMagicCell(magics, '%lakebase sql SELECT pg_backend_pid() AS pid', recordingHost())) as ResultSet;
    const message = String(await runMagicCell(magics, `%lakebase connect ${base}`, recordingHost()));
    expect(message).toMatch(/\(replacing the earlier connection of that name\)/);
    const after = (await runMagicCell(magics, '%lakebase sql SELECT pg_backend_pid() AS pid', recordingHost())) as ResultSet;
    expect(after.rows[0].pid).not.toBe(before.rows[0].pid);
    expect(String(await runMagicCell(magics, '%lakebase connections', recordingHost())).split('\n')).toHaveLength(3);
  });
});

describe('token and config', () => {
  test('token with no Lakebase connection says how to get one', async () => {
    const magics = createMagics({ refreshers: createRefresherRegistry() });
    opened.push(magics);
    expect(String(await runMagicCell(magics, '%lakebase token', recordingHost()))).toMatch(/^No Lakebase tokens in use/);
  });

  test('config lists, shows and refuses unknown settings', async () => {
    const magics = magicsWith();
    expect(String(await runMagicCell(magics, '%lakebase config', recordingHost()))).toMatch(/^ +setting +\| value \| default \| +what it does +\n.*\n display-limit \| +100 \| +100 \|/);
    expect(String(await runMagicCell(magics, '%lakebase config display-limit all', recordingHost()))).toBe('display-limit = all');
    const unknown = await failing(magics, '%lakebase config display-limt 5');
    expect(unknown.code).toBe('MAGIC_UNKNOWN_OPTION');
    expect(unknown.hint).toMatch(/^Did you mean display-limit\?/);
    const bad = await failing(magics, '%lakebase config display-limit lots');
    expect(bad.code).toBe('MAGIC_INVALID_VALUE');
  });
});
