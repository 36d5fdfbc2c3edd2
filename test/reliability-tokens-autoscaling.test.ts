// The Provisioned reliability test (reliability-tokens.test.ts) on a Lakebase Autoscaling endpoint
// (issue 7): tokens from `POST /api/2.0/postgres/credentials {endpoint}`, minted by the endpoint's
// own refresher; four concurrent query loops run across at least 50 token expiries with zero failed
// statements, and an emulator restart mid-session is survived (after it, the endpoint's server is
// asleep and the next login wakes it). Connections are recycled every second so new logins keep
// happening. No time asserts: the loops run until enough tokens have expired.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createRefresherRegistry, MintedCredential, RefresherRegistry } from '../lakebase/credentials';
import { autoscalingApi, operationResult } from '../lakebase/autoscaling';
import { connectEndpoint, EndpointConnection } from '../lakebase/endpoint';
import type { Workspace } from '../lakebase/workspace';
import { startTestEmulator, TestEmulator } from './support/emulator-workspace';

const TOKEN_TTL_SECONDS = 1;
const EXPIRIES_WANTED = 50;

let emulator: TestEmulator;
let workspace: Workspace;
let refreshers: RefresherRegistry;
let connection: EndpointConnection;
const minted: MintedCredential[] = [];

beforeAll(async () => {
  emulator = await startTestEmulator({ tokenTtlSeconds: TOKEN_TTL_SECONDS });
  workspace = await emulator.userWorkspace();
  const api = autoscalingApi(workspace);
  let operation = await api.createProject('busy', {});
  while (!operation.done) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    operation = await api.getOperation(operation.name);
  }
  operationResult(operation);
  const endpoint = 'projects/busy/branches/production/endpoints/primary';
  refreshers = createRefresherRegistry();
  // The connection's refresher, made here so that every minted token's expiry is recorded.
  const identity = await workspace.identity();
  refreshers.obtain({
    workspaceHost: workspace.host,
    identity: identity.name,
    scope: `autoscaling:${endpoint} (${(await api.getEndpoint(endpoint)).uid})`,
    retry: { initialDelayMs: 100, maxDelayMs: 1_000 },
    mint: async () => {
      const credential = await api.generateCredential(endpoint);
      minted.push({ token: '', expirationTime: credential.expirationTime });
      return credential;
    },
  });
  connection = await connectEndpoint({
    target: { kind: 'project', project: 'projects/busy' },
    workspace,
    env: {},
    sslRootCert: emulator.current.caCertPath,
    refreshers,
  });
}, 120_000);

afterAll(async () => {
  refreshers?.stopAll();
  await emulator?.stop();
});

const expiredSoFar = () => minted.filter((credential) => credential.expirationTime.getTime() <= Date.now()).length;

test(`four query loops on a recycling pool run across ${EXPIRIES_WANTED} token expiries without a failed statement`, async () => {
  const pool = connection.createPool({ max: 4, maxLifetimeSeconds: 1, idleTimeoutMillis: 100 });
  let logins = 0;
  pool.on('connect', () => {
    logins += 1;
  });
  const failures: unknown[] = [];
  let statements = 0;
  const expiredAtStart = expiredSoFar();
  let stop = false;
  // A safety net so a broken refresher cannot hang the suite; the assertions below do not use it.
  const giveUpAt = Date.now() + 240_000;

  const loop = async (id: number) => {
    for (let i = 0; !stop; i++) {
      try {
        const { rows } = await pool.query<{ loop: number; i: number }>('SELECT $1::int AS loop, $2::int AS i', [id, i]);
        if (rows[0]?.loop !== id || rows[0]?.i !== i) failures.push(new Error(`wrong row ${JSON.stringify(rows)}`));
      } catch (error) {
        failures.push(error);
      }
      statements += 1;
      // Each loop pauses a little so that four loops do not saturate a 2-core machine.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const watcher = (async () => {
    while (expiredSoFar() - expiredAtStart < EXPIRIES_WANTED && Date.now() < giveUpAt) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    stop = true;
  })();
  await Promise.all([watcher, loop(1), loop(2), loop(3), loop(4)]);
  await pool.end();

  expect(failures.map(String)).toEqual([]);
  expect(expiredSoFar() - expiredAtStart).toBeGreaterThanOrEqual(EXPIRIES_WANTED);
  // Logins kept happening throughout: more of them than tokens expired.
  expect(logins).toBeGreaterThan(EXPIRIES_WANTED);
  expect(statements).toBeGreaterThan(logins);
  expect(connection.refresher.status().consecutiveFailures).toBe(0);
  expect(connection.refresher.status().scope).toMatch(/^autoscaling:projects\/busy\/branches\/production\/endpoints\/primary \(ep-[0-9a-f]+\)$/);
  // The connection uses the refresher set up above, whose mints were recorded.
  expect(connection.refresher.status().tokensMinted).toBe(minted.length);
}, 300_000);

test('an emulator restart mid-session is survived: the next statement on a session and on a pool succeeds', async () => {
  const session = await connection.openSession();
  const idleErrors: string[] = [];
  const pool = connection.createPool({ max: 2, idleTimeoutMillis: 30_000, onIdleError: (error) => idleErrors.push(error.code) });
  try {
    await session.run('CREATE TABLE restart_marks (mark int)', { displayLimit: 10 });
    await session.run('INSERT INTO restart_marks VALUES (1)', { displayLimit: 10 });
    expect((await pool.query('SELECT 1 AS before')).rows).toEqual([{ before: 1 }]);

    // Tokens (1 s) expire while the emulator is down: the refresher must catch up once it is back.
    await emulator.restart(1_500);

    const after = await session.run('SELECT count(*)::int AS n FROM restart_marks', { displayLimit: 10 });
    expect(after.rows).toEqual([{ n: 1 }]);
    expect((await pool.query('SELECT 2 AS after')).rows).toEqual([{ after: 2 }]);
    // The pool's idle connection died with the server, and was reported as such.
    expect(idleErrors).toEqual(['CONNECTION_LOST']);
  } finally {
    await session.close();
    await pool.end();
  }
}, 120_000);
