// Issue 6's figures, each beside its baseline in the same run:
//  - instance create → first query on the emulator (REST create, servers, first backup, token,
//    TLS login, SELECT 1), beside a bare PostgreSQL made the quickest way the same binaries allow
//    (initdb, start, SELECT 1 on its socket);
//  - a point-in-time child instance of a 10 MB and of a 1 GB parent (POST with
//    parent_instance_ref → AVAILABLE), beside a plain copy of the parent's data directory of the
//    same size, the floor of any restore that copies files.
// The emulator runs with no transition delay: the figures are the machinery's, not the pauses
// that make a demo's states visible.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator } from '../emulator/index';
import type { RunningEmulator } from '../emulator/contracts';
import { createRefresherRegistry } from '../lakebase/credentials';
import { connectInstance } from '../lakebase/instance';
import { createInstance } from '../lakebase/provisioning';
import { openWorkspace, Workspace } from '../lakebase/workspace';
import { initdb, serverOwnedDir, startSocketPostgres } from '../test/support/socket-postgres';
import { now, round, significant, summarize } from './measure';
import type { Row } from './kernel';

const CREATE_RUNS = 5;

function row(measure: string, ours: number, baseline: number, baselineName: string, unit: string): Row {
  return { measure, ours: round(ours), baseline: round(baseline), baselineName, unit, ratio: significant(ours / baseline) };
}

async function firstQueryAfterCreate(emulator: RunningEmulator, workspace: Workspace, name: string): Promise<number> {
  const refreshers = createRefresherRegistry();
  const start = now();
  await createInstance(workspace, { name, capacity: 'CU_1' }, { onProgress: () => undefined });
  const connection = await connectInstance({ instance: name, workspace, refreshers, sslRootCert: emulator.caCertPath, env: {} });
  const session = await connection.openSession();
  await session.run('SELECT 1', { displayLimit: 10 });
  const ms = now() - start;
  await session.close();
  refreshers.stopAll();
  return ms;
}

async function bareFirstQuery(): Promise<number> {
  const root = await serverOwnedDir('lakebase-bench-bare-');
  try {
    const start = now();
    await initdb(join(root, 'pgdata'));
    const server = await startSocketPostgres(join(root, 'pgdata'));
    await server.query('SELECT 1');
    const ms = now() - start;
    await server.stop();
    return ms;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** Loads `rows` rows of about 220 bytes into the instance; returns the database's size in MiB. */
async function load(emulator: RunningEmulator, workspace: Workspace, name: string, rows: number): Promise<number> {
  const refreshers = createRefresherRegistry();
  const connection = await connectInstance({ instance: name, workspace, refreshers, sslRootCert: emulator.caCertPath, env: {} });
  const pool = connection.createPool({ max: 1 });
  try {
    await pool.query('CREATE TABLE filler (id bigint PRIMARY KEY, pad text NOT NULL)');
    const batch = 500_000;
    for (let from = 1; from <= rows; from += batch) {
      await pool.query("INSERT INTO filler SELECT g, repeat('x', 200) FROM generate_series($1::bigint, $2::bigint) g", [from, Math.min(rows, from + batch - 1)]);
    }
    const { rows: size } = await pool.query<{ mib: number }>('SELECT pg_database_size(current_database()) / 1048576.0 AS mib');
    return Number(size[0].mib);
  } finally {
    await pool.end();
    refreshers.stopAll();
  }
}

/** A plain recursive copy of the parent's data directory: the baseline of a restore by copying. */
function copyDirectory(from: string): number {
  const target = join(tmpdir(), `lakebase-bench-copy-${process.pid}-${Date.now()}`);
  const start = now();
  execFileSync('cp', ['-R', '-p', from, target]);
  const ms = now() - start;
  execFileSync('rm', ['-rf', target]);
  return ms;
}

export async function benchProvisioning(log: (line: string) => void): Promise<Row[]> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lakebase-bench-provisioning-'));
  const emulator = await startEmulator({ dataDir, port: 0, transitionDelayMs: 0 });
  const rows: Row[] = [];
  try {
    const workspace = await openWorkspace({ host: emulator.host, token: emulator.user.token, authType: 'pat', env: {} });
    log('provisioning: instance create → first query, beside initdb + start + SELECT 1');
    // One untimed round first: it builds the instance template both sides start from.
    await firstQueryAfterCreate(emulator, workspace, 'warm');
    await bareFirstQuery();
    const ours: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < CREATE_RUNS; i++) {
      ours.push(await firstQueryAfterCreate(emulator, workspace, `create-${i}`));
      bare.push(await bareFirstQuery());
    }
    rows.push(row(`instance create → first query (median of ${CREATE_RUNS})`, summarize(ours).median, summarize(bare).median, 'bare PostgreSQL: initdb + start + SELECT 1', 'ms'));

    for (const [label, count] of [['10 MB', 45_000], ['1 GB', 4_500_000]] as const) {
      const parent = `parent-${label.replace(' ', '').toLowerCase()}`;
      await createInstance(workspace, { name: parent, capacity: 'CU_1' });
      log(`provisioning: loading the ${label} parent`);
      const mib = await load(emulator, workspace, parent, count);
      const uid = (await workspace.getInstance(parent)).uid!;
      log(`provisioning: child of the ${label} parent (${Math.round(mib)} MiB)`);
      const start = now();
      await createInstance(workspace, { name: `${parent}-child`, parent: { name: parent, point: { kind: 'now' } } });
      const childMs = now() - start;
      const copyMs = copyDirectory(join(dataDir, 'instances', uid, 'pgdata'));
      rows.push(row(`child instance (as of now) of a ${label} parent (${Math.round(mib)} MiB)`, childMs / 1000, copyMs / 1000, `cp -R of the parent's data directory`, 's'));
    }
  } finally {
    await emulator.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  return rows;
}
