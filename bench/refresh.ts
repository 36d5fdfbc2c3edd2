// Issue 3's figure: query latency while the refresher rotates tokens, beside the same queries with
// no refresh due, in one run. Two emulators in this process differ only in token lifetime (2 s:
// a new token about every second; 3600 s: none during the run). Rounds alternate between them
// so that the machine's noise falls on both alike.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { startEmulator } from '../emulator/index';
import type { RunningEmulator } from '../emulator/contracts';
import { createRefresherRegistry, type RefresherRegistry } from '../lakebase/credentials';
import { connectInstance } from '../lakebase/instance';
import type { LakebaseSession } from '../lakebase/session';
import { openWorkspace } from '../lakebase/workspace';
import { now, round, significant, summarize } from './measure';
import type { Row } from './kernel';

const ROUNDS = 4;
const ROUND_MS = 2500;
const INSTANCE = 'bench';

interface Setup {
  emulator: RunningEmulator;
  dataDir: string;
  refreshers: RefresherRegistry;
  session: LakebaseSession;
  /** Connections live at most a second, so logins with the current token keep happening. */
  pool: pg.Pool;
  sessionSamples: number[];
  poolSamples: number[];
}

async function setUp(tokenTtlSeconds: number): Promise<Setup> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lakebase-bench-emulator-'));
  const emulator = await startEmulator({ dataDir, port: 0, tokenTtlSeconds, transitionDelayMs: 0 });
  const workspace = await openWorkspace({ host: emulator.host, token: emulator.user.token, authType: 'pat', env: {} });
  await workspace.createInstance({ name: INSTANCE, capacity: 'CU_1' });
  const refreshers = createRefresherRegistry();
  const connection = await connectInstance({ instance: INSTANCE, workspace, refreshers, sslRootCert: emulator.caCertPath, env: {} });
  return {
    emulator,
    dataDir,
    refreshers,
    session: await connection.openSession(),
    pool: connection.createPool({ max: 2, maxLifetimeSeconds: 1 }),
    sessionSamples: [],
    poolSamples: [],
  };
}

async function round_(setup: Setup): Promise<void> {
  const end = now() + ROUND_MS;
  while (now() < end) {
    let start = now();
    await setup.session.run('SELECT 1', { displayLimit: 10 });
    setup.sessionSamples.push(now() - start);
    start = now();
    await setup.pool.query('SELECT 1');
    setup.poolSamples.push(now() - start);
  }
}

async function tearDown(setup: Setup): Promise<void> {
  await setup.session.close();
  await setup.pool.end();
  setup.refreshers.stopAll();
  await setup.emulator.stop();
  await rm(setup.dataDir, { recursive: true, force: true });
}

export async function benchRefresh(log: (line: string) => void): Promise<Row[]> {
  log('query latency with and without token refreshes ...');
  const steady = await setUp(3600);
  const rotating = await setUp(2);
  try {
    for (let i = 0; i < ROUNDS; i += 1) {
      await round_(steady);
      await round_(rotating);
    }
    const minted = rotating.refreshers.list()[0].status().tokensMinted;
    const steadyMinted = steady.refreshers.list()[0].status().tokensMinted;
    log(`  tokens minted: ${minted} while refreshing, ${steadyMinted} without`);
    const rows: Row[] = [];
    for (const [path, during, without] of [
      ['session', rotating.sessionSamples, steady.sessionSamples],
      ['pool, connections recycled every 1 s', rotating.poolSamples, steady.poolSamples],
    ] as const) {
      const a = summarize(during);
      const b = summarize(without);
      const name = `SELECT 1 latency during refreshes, ${path}`;
      rows.push({ measure: `${name} (median)`, ours: round(a.median, 3), baseline: round(b.median, 3), baselineName: 'no refresh due', unit: 'ms', ratio: significant(a.median / b.median), target: '≈ 1×' });
      rows.push({ measure: `${name} (p99)`, ours: round(a.p99, 3), baseline: round(b.p99, 3), baselineName: 'no refresh due', unit: 'ms', ratio: significant(a.p99 / b.p99), target: '≈ 1×' });
    }
    return rows;
  } finally {
    await tearDown(steady);
    await tearDown(rotating);
  }
}
