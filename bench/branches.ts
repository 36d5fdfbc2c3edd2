// Issue 7's figures, each beside its baseline in the same run, on the local emulator:
//  - making a branch (a real copy with PostgreSQL's own recovery, through the API and its
//    operation) against the data size (10 MB, 1 GB), beside `CREATE DATABASE … TEMPLATE` copying
//    the same data inside the same server — what one would do without branches;
//  - the first query (a new login + `SELECT 1`) on an endpoint that scaled to zero, beside the same
//    on an active endpoint: what waking costs; and the same on a read-only endpoint, whose wake
//    starts the branch's server and then its hot standby.
// LAKEBASE_BENCH_BRANCH_SIZES_MB overrides the sizes (e.g. "10" for a quick run).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmulator } from '../emulator/index';
import type { RunningEmulator } from '../emulator/contracts';
import { autoscalingApi, waitForOperation } from '../lakebase/autoscaling';
import type { AutoscalingApi } from '../lakebase/autoscaling';
import { createRefresherRegistry } from '../lakebase/credentials';
import { connectEndpoint } from '../lakebase/endpoint';
import type { EndpointConnection } from '../lakebase/endpoint';
import { openWorkspace } from '../lakebase/workspace';
import type { Row } from './kernel';
import { now, round, significant, summarize, timeIt } from './measure';

const WAKE_ROUNDS = 5;

function row(measure: string, ours: number, baseline: number, baselineName: string, unit: string, target?: string): Row {
  return { measure, ours: round(ours), baseline: round(baseline), baselineName, unit, ratio: significant(ours / baseline), target };
}

async function project(api: AutoscalingApi, id: string, body: Record<string, unknown> = {}): Promise<void> {
  await waitForOperation(api, await api.createProject(id, body), { description: `project ${id}` });
}

async function connect(emulator: RunningEmulator, workspace: Awaited<ReturnType<typeof openWorkspace>>, id: string, database?: string): Promise<EndpointConnection> {
  return connectEndpoint({
    target: { kind: 'project', project: `projects/${id}` },
    workspace,
    env: {},
    sslRootCert: emulator.caCertPath,
    refreshers: createRefresherRegistry(),
    ...(database ? { database } : {}),
  });
}

async function withClient<T>(connection: EndpointConnection, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(connection.config);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function benchBranches(log: (line: string) => void): Promise<Row[]> {
  const sizes = (process.env.LAKEBASE_BENCH_BRANCH_SIZES_MB ?? '10,1024').split(',').map(Number).filter((size) => size > 0);
  const dataDir = await mkdtemp(join(tmpdir(), 'lakebase-bench-branches-'));
  const emulator = await startEmulator({ dataDir, port: 0, transitionDelayMs: 0, minSuspendTimeoutSeconds: 1 });
  const rows: Row[] = [];
  try {
    const workspace = await openWorkspace({ host: emulator.host, token: emulator.user.token, authType: 'pat', env: {} });
    const api = autoscalingApi(workspace);

    for (const megabytes of sizes) {
      const id = `bench-${megabytes}mb`;
      log(`branches: loading ${megabytes} MB into ${id}`);
      await project(api, id);
      const main = await connect(emulator, workspace, id);
      // The data lives in a database of its own, so that CREATE DATABASE … TEMPLATE may copy it
      // (the template must have no sessions); a branch copies every database anyway.
      await withClient(main, (client) => client.query('CREATE DATABASE bench_source'));
      const source = await connect(emulator, workspace, id, 'bench_source');
      const bytes = await withClient(source, async (client) => {
        // ~1 KiB rows; 1 MB ≈ 960 rows after page overhead.
        await client.query(`CREATE TABLE facts AS SELECT g AS id, repeat(md5(g::text), 30) AS pad FROM generate_series(1, ${Math.round(megabytes * 960)}) g`);
        return Number((await client.query<{ size: string }>("SELECT pg_database_size('bench_source') AS size")).rows[0].size);
      });
      log(`branches: ${(bytes / 1048576).toFixed(0)} MB loaded; timing the branch and the template copy`);
      const branch = await timeIt(async () => waitForOperation(api, await api.createBranch(`projects/${id}`, 'copy', {}), { description: 'branch copy' }));
      const template = await timeIt(() => withClient(main, (client) => client.query('CREATE DATABASE bench_copy TEMPLATE bench_source')));
      // Both copies really hold the data.
      const count = (connection: EndpointConnection) => withClient(connection, async (client) => Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM facts')).rows[0].n));
      const onBranch = await count(await connectEndpoint({ target: { kind: 'branch', project: `projects/${id}`, branch: `projects/${id}/branches/copy` }, workspace, env: {}, sslRootCert: emulator.caCertPath, refreshers: createRefresherRegistry(), database: 'bench_source' }));
      const inTemplateCopy = await count(await connect(emulator, workspace, id, 'bench_copy'));
      if (onBranch !== inTemplateCopy || onBranch === 0) throw new Error(`the copies differ: branch ${onBranch} rows, template copy ${inTemplateCopy}`);
      rows.push(
        row(`branch of ${(bytes / 1048576).toFixed(0)} MB (API create → operation done, real copy)`, branch.ms, template.ms, 'CREATE DATABASE … TEMPLATE of the same data', 'ms'),
      );
      await waitForOperation(api, await api.deleteProject(`projects/${id}`, { purge: true }), { description: 'clean-up' });
    }

    log('branches: first query on a suspended endpoint vs an active one');
    await project(api, 'bench-wake', { initial_endpoint_spec: { suspend_timeout_duration: '1s' } });
    const endpoint = 'projects/bench-wake/branches/production/endpoints/primary';
    const wake = await connect(emulator, workspace, 'bench-wake');
    const firstQuery = async () => {
      const start = now();
      await withClient(wake, (client) => client.query('SELECT 1'));
      return now() - start;
    };
    const state = async () => (await api.getEndpoint(endpoint)).status?.current_state;
    const suspended: number[] = [];
    const active: number[] = [];
    for (let round = 0; round < WAKE_ROUNDS; round++) {
      while ((await state()) !== 'IDLE') await new Promise((resolve) => setTimeout(resolve, 100));
      suspended.push(await firstQuery());
      active.push(await firstQuery());
    }
    const s = summarize(suspended);
    const a = summarize(active);
    rows.push(row(`first query (login + SELECT 1) on a suspended endpoint, median of ${WAKE_ROUNDS}`, s.median, a.median, 'the same on an active endpoint', 'ms'));

    log('branches: first query on a suspended read-only endpoint (a hot standby) vs an active one');
    await waitForOperation(
      api,
      await api.createEndpoint('projects/bench-wake/branches/production', 'reader', { spec: { endpoint_type: 'ENDPOINT_TYPE_READ_ONLY', suspend_timeout_duration: '1s' } }),
      { description: 'read-only endpoint' },
    );
    const reader = await connectEndpoint({
      target: { kind: 'endpoint', endpoint: 'projects/bench-wake/branches/production/endpoints/reader' },
      workspace,
      env: {},
      sslRootCert: emulator.caCertPath,
      refreshers: createRefresherRegistry(),
    });
    const readerState = async () => (await api.getEndpoint('projects/bench-wake/branches/production/endpoints/reader')).status?.current_state;
    const readerQuery = async () => {
      const start = now();
      await withClient(reader, (client) => client.query('SELECT 1'));
      return now() - start;
    };
    const readerSuspended: number[] = [];
    const readerActive: number[] = [];
    for (let round = 0; round < WAKE_ROUNDS; round++) {
      while ((await readerState()) !== 'IDLE' || (await state()) !== 'IDLE') await new Promise((resolve) => setTimeout(resolve, 100));
      readerSuspended.push(await readerQuery());
      readerActive.push(await readerQuery());
    }
    rows.push(
      row(
        `first query (login + SELECT 1) on a suspended read-only endpoint (branch server + standby start), median of ${WAKE_ROUNDS}`,
        summarize(readerSuspended).median,
        summarize(readerActive).median,
        'the same on an active read-only endpoint',
        'ms',
      ),
    );
  } finally {
    await emulator.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  return rows;
}
