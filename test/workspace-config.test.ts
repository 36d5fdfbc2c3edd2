// Workspace configuration through the SDK's unified auth: environment, config file profiles, and
// the errors a user sees when it is missing or points nowhere. No server needed: every case here
// fails before or at the first request (the emulator-backed calls are in workspace-emulator.test.ts).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { inspect } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { describeError, LakebaseError } from '../lakebase/errors';
import { hasDatabricksConfig, openWorkspace } from '../lakebase/workspace';
import { freePort } from './support/postgres';

const PAT = 'dapi0123456789abcdef0123456789abcdef';
let dir: string;
let configFile: string;
let closedHost: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lakebase-workspace-config-'));
  configFile = join(dir, 'databrickscfg');
  // A port nobody listens on: requests fail with ECONNREFUSED at once.
  closedHost = `http://127.0.0.1:${await freePort()}`;
  await writeFile(
    configFile,
    [
      '[DEFAULT]',
      `host = ${closedHost}`,
      `token = ${PAT}`,
      '',
      '[staging]',
      `host = ${closedHost}`,
      'client_id = 6f1c3a52-0000-4000-8000-000000000001',
      'client_secret = dose-not-matter',
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('hasDatabricksConfig: nothing set means no configuration (the embedded default applies)', async () => {
  const missing = join(dir, 'no-such-file');
  expect(await hasDatabricksConfig({ env: { DATABRICKS_CONFIG_FILE: missing } })).toBe(false);
});

test('hasDatabricksConfig: DATABRICKS_HOST, or a config file profile with a host, is a configuration', async () => {
  const missing = join(dir, 'no-such-file');
  expect(await hasDatabricksConfig({ env: { DATABRICKS_CONFIG_FILE: missing, DATABRICKS_HOST: closedHost } })).toBe(true);
  expect(await hasDatabricksConfig({ env: { DATABRICKS_CONFIG_FILE: configFile } })).toBe(true);
  expect(await hasDatabricksConfig({ env: { DATABRICKS_CONFIG_FILE: configFile, DATABRICKS_CONFIG_PROFILE: 'staging' } })).toBe(true);
});

test('hasDatabricksConfig: a broken configuration counts as present, so its error is shown instead of the emulator', async () => {
  const env = { DATABRICKS_CONFIG_FILE: configFile, DATABRICKS_CONFIG_PROFILE: 'no-such-profile' };
  expect(await hasDatabricksConfig({ env })).toBe(true);
});

test('no configuration at all: WORKSPACE_NOT_CONFIGURED says what to set', async () => {
  const error = await openWorkspace({ env: { DATABRICKS_CONFIG_FILE: join(dir, 'no-such-file') } }).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(LakebaseError);
  expect(error).toMatchObject({ code: 'WORKSPACE_NOT_CONFIGURED' });
  expect((error as LakebaseError).hint).toMatch(/DATABRICKS_HOST.*DATABRICKS_TOKEN/);
});

test('a configuration error shows one clean line of cause: no docs link twice, no SDK defaults', async () => {
  const cases = [
    { env: { DATABRICKS_CONFIG_FILE: join(dir, 'no-such-file') } },
    { env: { DATABRICKS_CONFIG_FILE: join(dir, 'no-such-file'), DATABRICKS_HOST: closedHost } },
    { env: { DATABRICKS_CONFIG_FILE: configFile }, profile: 'prod' },
  ];
  for (const options of cases) {
    const error = await openWorkspace(options).catch((caught: unknown) => caught);
    const shown = describeError(error).lines.join('\n');
    expect(shown.match(/https:\/\/docs\.databricks\.com/g)).toHaveLength(1); // in the hint only
    expect(shown).not.toMatch(/retry_timeout_seconds|Config:|default auth:|resolve:/);
    expect(describeError(error).lines.filter((line) => line.startsWith('CAUSE:')).length).toBeLessThanOrEqual(1);
  }
  const notConfigured = describeError(await openWorkspace(cases[0]).catch((caught: unknown) => caught)).lines;
  expect(notConfigured).toContain('CAUSE:  cannot configure default credentials (read DATABRICKS_CONFIG_FILE)');
  const noProfile = describeError(await openWorkspace(cases[2]).catch((caught: unknown) => caught)).lines;
  expect(noProfile[0]).toBe(`ERROR:  Databricks authentication for the configured workspace is not usable: ${configFile} has no prod profile configured (read DATABRICKS_CONFIG_FILE).`);
});

test('a profile is read from DATABRICKS_CONFIG_FILE; an unreachable host is WORKSPACE_UNREACHABLE', async () => {
  const workspace = await openWorkspace({ env: { DATABRICKS_CONFIG_FILE: configFile } });
  expect(workspace.host).toBe(closedHost);
  expect(workspace.authType).toBe('pat');
  const error = await workspace.getInstance('orders').catch((caught: unknown) => caught);
  expect(error).toMatchObject({ code: 'WORKSPACE_UNREACHABLE' });
  expect((error as Error).message).toContain('ECONNREFUSED');
  expect((error as Error).message).toContain('get the instance orders');
});

test('an OAuth M2M profile whose workspace cannot be reached fails at open, without the secret', async () => {
  const error = await openWorkspace({ env: { DATABRICKS_CONFIG_FILE: configFile }, profile: 'staging' }).catch(
    (caught: unknown) => caught,
  );
  expect(error).toMatchObject({ code: 'WORKSPACE_UNREACHABLE' });
  expect(inspect(error, { depth: 6 })).not.toContain('dose-not-matter');
});

test('a missing explicit profile names the file and the profile', async () => {
  const error = await openWorkspace({ env: { DATABRICKS_CONFIG_FILE: configFile }, profile: 'prod' }).catch(
    (caught: unknown) => caught,
  );
  expect(error).toMatchObject({ code: 'WORKSPACE_AUTH_FAILED' });
  expect((error as Error).message).toMatch(/has no prod profile configured/);
});

test('the workspace never shows its token', async () => {
  const workspace = await openWorkspace({ env: { DATABRICKS_CONFIG_FILE: configFile } });
  expect(inspect(workspace, { depth: 10, showHidden: true })).not.toContain(PAT);
  expect(JSON.stringify(workspace)).not.toContain(PAT);
});

test('the Postgres user is the explicit one, else PGUSER', async () => {
  const workspace = await openWorkspace({ env: { DATABRICKS_CONFIG_FILE: configFile, PGUSER: 'analyst@example.com' } });
  expect(await workspace.postgresUser('explicit@example.com')).toBe('explicit@example.com');
  expect(await workspace.postgresUser()).toBe('analyst@example.com');
});
