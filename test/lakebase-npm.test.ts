// `@databricks/lakebase` (npm, 0.6) against the emulator, unchanged: `createLakebasePool()` reads
// the environment an app gets (DATABRICKS_HOST and a token, PGHOST, PGDATABASE, PGUSER,
// PGSSLMODE, LAKEBASE_ENDPOINT), mints its tokens with `POST /api/2.0/postgres/credentials
// {endpoint}` and logs in. It runs in a child process because Node reads NODE_EXTRA_CA_CERTS (the
// emulator's CA, as `emulator env` exports it) only at start. Credentials live 3 seconds here, so
// the pool must mint again for connections opened after one expired.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createProject, getEndpoint } from './support/autoscaling';
import { openWorkspaceUnderTest, realWorkspaceConfigured } from './support/workspace-under-test';
import type { WorkspaceUnderTest } from './support/workspace-under-test';

let target: WorkspaceUnderTest;
let scratch: string;

beforeAll(async () => {
  target = await openWorkspaceUnderTest({ tokenTtlSeconds: 3 });
  scratch = await mkdtemp(join(tmpdir(), 'lakebase-npm-'));
});

afterAll(async () => {
  await target?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const APP = `
const { createLakebasePool } = require(${JSON.stringify(require.resolve('@databricks/lakebase'))});
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
(async () => {
  const pool = createLakebasePool({ max: 1 });
  const seen = [];
  for (let round = 0; round < 3; round++) {
    // A new connection each round (the old one is destroyed), after the last token expired.
    const client = await pool.connect();
    const { rows } = await client.query('SELECT current_user AS who, pg_backend_pid() AS pid, 1 + 1 AS two');
    seen.push(rows[0]);
    client.release(true);
    if (round < 2) await sleep(3500);
  }
  await pool.end();
  process.stdout.write(JSON.stringify(seen));
})().catch((error) => {
  process.stderr.write(String(error && error.stack || error));
  process.exit(1);
});
`;

test.skipIf(realWorkspaceConfigured())('createLakebasePool logs in with tokens it mints from the emulator, across their expiry', async () => {
  const id = target.uniqueName('npm');
  await createProject(target, id);
  const endpoint = `projects/${id}/branches/production/endpoints/primary`;
  const { status } = await getEndpoint(target, endpoint);
  const emulator = target.emulator!;
  const script = join(scratch, 'app.cjs');
  await writeFile(script, APP);
  const { stdout } = await promisify(execFile)(process.execPath, [script], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: scratch,
      DATABRICKS_CONFIG_FILE: join(scratch, 'none.cfg'),
      DATABRICKS_HOST: emulator.host,
      DATABRICKS_TOKEN: emulator.user.token,
      NODE_EXTRA_CA_CERTS: emulator.caCertPath,
      PGHOST: status.hosts.host,
      PGPORT: '5432',
      PGDATABASE: 'databricks_postgres',
      PGUSER: emulator.user.userName,
      PGSSLMODE: 'require',
      LAKEBASE_ENDPOINT: endpoint,
    },
    timeout: 60_000,
  });
  const rounds = JSON.parse(stdout) as { who: string; pid: number; two: number }[];
  expect(rounds.map((round) => round.who)).toEqual([emulator.user.userName, emulator.user.userName, emulator.user.userName]);
  // Three logins, each a server session of its own.
  expect(new Set(rounds.map((round) => round.pid)).size).toBe(3);
});
