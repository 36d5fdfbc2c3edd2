// Starts an emulator in this process: the workspace (identities, tokens, state), the instance
// servers, and the REST API on 127.0.0.1. The daemon (`daemon.ts`) runs exactly this in a
// background process; tests call it directly.
import { open, readFile, rm, stat } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import type { EmulatorOptions, RunningEmulator } from './contracts';
import { SUSPEND_TIMEOUT_SECONDS } from './autoscaling-limits';
import { ComputeHosting } from './compute';
import { CredentialIssuer } from './credentials';
import { makeEndpoint, probeEmulator, processAlive, readRunningRecord } from './endpoint';
import type { RunningRecord } from './endpoint';
import { EmulatorError } from './errors';
import { writeJsonFileAtomic } from './files';
import type { InstanceHosting } from './hosting';
import { createApiServer } from './http';
import { loadOrCreateIdentities } from './identities';
import { InstanceRegistry } from './instances';
import { Lakehouse } from './lakehouse/engine';
import { lazyLakehouse } from './lakehouse/host';
import { ThriftService } from './lakehouse/thrift-service';
import { createWarehouseEndpoint, warehouseServices } from './lakehouse/warehouse-endpoint';
import { WarehouseRegistry } from './lakehouse/warehouses';
import { loadOrCreateAuthority } from './postgres/index';
import { statementRoutes } from './routes/statements';
import { unityCatalogRoutes } from './routes/unity-catalog';
import { warehouseRoutes } from './routes/warehouses';
import { DEFAULT_TOKEN_TTL_SECONDS, DEFAULT_TRANSITION_DELAY_MS } from './limits';
import { openEmulatorLog } from './log';
import { ProjectRegistry } from './projects';
import { dataDirLayout, prepareDataDir } from './paths';
import type { DataDirLayout } from './paths';
import { createPostgresHosting } from './postgres-hosting';
import { removeAbandonedSocketDirectories } from './postgres/socket-directories';
import { JobRegistry } from './jobs';
import type { TableCommitFeed } from './jobs';
import { PipelineRegistry } from './pipelines';
import { SyncedTableRegistry } from './synced-tables';
import { InstanceRoles } from './roles';
import { jobRoutes } from './routes/jobs';
import { pipelineRoutes } from './routes/pipelines';
import { databaseRoutes, INSTANCE_OBJECT_TYPE } from './routes/database';
import { permissionRoutes } from './routes/permissions';
import { PermissionStore } from './permissions';
import { emulatorRoutes } from './routes/emulator';
import { oauthRoutes } from './routes/oauth';
import { PROJECT_OBJECT_TYPE, postgresRoutes } from './routes/postgres';
import { scimRoutes } from './routes/scim';
import { openStateStore } from './store';
import { loadTokenService } from './tokens';
import { UnityCatalog } from './unity-catalog';
import { bearerAuthenticator } from './workspace-auth';

/**
 * The REST API's port when none is given and none was used before: fixed, so that
 * `DATABRICKS_HOST=http://127.0.0.1:8471` can be written down once; outside the ranges common
 * development servers use.
 */
export const DEFAULT_EMULATOR_PORT = 8471;

/** A lock younger than this whose owner lives may belong to an emulator that is still starting. */
const STARTING_GRACE_MS = 120_000;

/** Options beyond the public contract, for the daemon. */
export interface StartOptions extends EmulatorOptions {
  /** Recorded in `running.json`, so `stopEmulatorDaemon` knows it may signal the process. */
  daemon?: boolean;
  /** Pauses before each restart of an instance server that died on its own (tests shorten them). */
  serverRestartDelaysMs?: readonly number[];
}

function validateOptions(options: EmulatorOptions): void {
  const { port, tokenTtlSeconds, transitionDelayMs } = options;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new RangeError(`port must be 0-65535, got ${port}`);
  if (tokenTtlSeconds !== undefined && !(Number.isFinite(tokenTtlSeconds) && tokenTtlSeconds > 0)) {
    throw new RangeError(`tokenTtlSeconds must be a positive number, got ${tokenTtlSeconds}`);
  }
  if (transitionDelayMs !== undefined && !(Number.isFinite(transitionDelayMs) && transitionDelayMs >= 0)) {
    throw new RangeError(`transitionDelayMs must be a non-negative number, got ${transitionDelayMs}`);
  }
  const { minSuspendTimeoutSeconds } = options;
  if (minSuspendTimeoutSeconds !== undefined && !(Number.isFinite(minSuspendTimeoutSeconds) && minSuspendTimeoutSeconds > 0)) {
    throw new RangeError(`minSuspendTimeoutSeconds must be a positive number, got ${minSuspendTimeoutSeconds}`);
  }
}

/**
 * Takes the data directory's lifetime lock (`emulator.lock`, created exclusively). A lock whose
 * owner is dead, or alive but neither answering nor recently started (a reused pid), is stale.
 */
async function acquireLifetimeLock(layout: DataDirLayout): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(layout.lock, 'wx', 0o600);
      await handle.writeFile(JSON.stringify({ pid: process.pid, since: new Date().toISOString() }));
      await handle.close();
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = await lockOwner(layout.lock);
    const record = await readRunningRecord(layout);
    const answering = record !== undefined && (await probeEmulator(record.host, layout.dataDir)) !== undefined;
    const age = Date.now() - (await stat(layout.lock)).mtimeMs;
    // This very process holding it means an emulator of the directory is running here already.
    if (owner !== undefined && processAlive(owner) && (owner === process.pid || answering || age < STARTING_GRACE_MS)) {
      throw new EmulatorError(
        'EMULATOR_ALREADY_RUNNING',
        `Another emulator (pid ${owner}) already serves ${layout.dataDir}` +
          (record ? ` at ${record.host}` : '') +
          '. Use it, stop it (lakebase-kernel emulator stop --data-dir ...), or choose another data directory.',
      );
    }
    await rm(layout.lock, { force: true });
  }
  throw new EmulatorError('EMULATOR_ALREADY_RUNNING', `Could not take the lock ${layout.lock}: another emulator keeps taking it.`);
}

async function lockOwner(path: string): Promise<number | undefined> {
  try {
    const pid: unknown = JSON.parse(await readFile(path, 'utf8')).pid;
    return typeof pid === 'number' ? pid : undefined;
  } catch (error) {
    // Half-written by an owner that is still starting, or gone: either way it names no one yet.
    if (error instanceof SyntaxError || (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      server.off('error', onError);
      const address = server.address();
      resolvePort(typeof address === 'object' && address ? address.port : port);
    });
  });
}

async function listenOnPreferredPort(server: Server, explicit: number | undefined, remembered: number | undefined, log: (line: string) => void): Promise<number> {
  const preferred = explicit ?? remembered ?? DEFAULT_EMULATOR_PORT;
  try {
    return await listen(server, preferred);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    if (explicit !== undefined) {
      throw new EmulatorError('EMULATOR_PORT_IN_USE', `Port ${explicit} on 127.0.0.1 is in use by another program; choose another with --port (or 0 for any free port).`, { cause: error });
    }
    // No port was asked for: any free one will do, and the endpoint tells clients which.
    log(`port ${preferred} is in use; listening on a free port instead`);
    return await listen(server, 0);
  }
}

export async function startEmulator(options: StartOptions): Promise<RunningEmulator> {
  validateOptions(options);
  const dataDir = resolve(options.dataDir);
  const layout = dataDirLayout(dataDir);
  const tokenTtlSeconds = options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  const transitionDelayMs = options.transitionDelayMs ?? DEFAULT_TRANSITION_DELAY_MS;
  await prepareDataDir(layout);
  await acquireLifetimeLock(layout);
  const log = openEmulatorLog(layout.log);
  const cleanups: (() => Promise<void>)[] = [async () => rm(layout.lock, { force: true }), () => log.close()];
  const cleanUp = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => process.stderr.write(`lakebase emulator: clean-up failed: ${(error as Error).message}\n`));
    }
  };

  try {
    log(`starting for ${dataDir} (pid ${process.pid})`);
    const identities = await loadOrCreateIdentities(layout.identities);
    const tokens = await loadTokenService(layout.signingKey);
    const store = await openStateStore(layout.state);
    const hosting: InstanceHosting = await createPostgresHosting(layout, log, { restartDelaysMs: options.serverRestartDelaysMs });

    const permissions = await PermissionStore.open(join(dataDir, 'permissions.json'), identities);
    // Instances made before permissions were kept get the list their creator would have had.
    for (const record of Object.values(store.state.instances)) await permissions.adopt(INSTANCE_OBJECT_TYPE, record.name, record.creator, record.creatorKind);
    // Autoscaling endpoints and Provisioned instances share the loopback addresses: each side
    // keeps off the other's.
    let projects: ProjectRegistry | undefined;
    // Made below (it needs the catalog and pipelines, which need the instances).
    let syncedTablesOfInstances: SyncedTableRegistry | undefined;
    const instances = new InstanceRegistry({
      store, hosting, tokens, transitionDelayMs, log, identities,
      reservedAddresses: () => (projects ? projects.addresses() : []),
      onRemoved: (record) => permissions.removed(INSTANCE_OBJECT_TYPE, record.name),
      // A deleted instance takes its synced tables (and their pipelines) with it.
      onRemoving: async (record) => void (await syncedTablesOfInstances?.removeForInstance(record.name)),
    });
    cleanups.push(() => instances.close());
    const compute = await ComputeHosting.open({
      layout, tokens, log,
      ...(options.serverRestartDelaysMs !== undefined ? { restartDelaysMs: options.serverRestartDelaysMs } : {}),
      onEndpointState: (endpoint, state) => projects?.onEndpointState(endpoint, state),
    });
    projects = new ProjectRegistry({
      store, compute, tokens, identities, transitionDelayMs, tokenTtlSeconds, log,
      minSuspendTimeoutSeconds: options.minSuspendTimeoutSeconds ?? SUSPEND_TIMEOUT_SECONDS.min,
      reservedAddresses: () => instances.addresses(),
      async onProjectChanged(project, change) {
        if (change === 'purged') await permissions.removed(PROJECT_OBJECT_TYPE, project.projectId);
        if (project.upgradedFromInstance !== undefined) await instances.projectChanged(project.upgradedFromInstance, change);
      },
    });
    const projectRegistry = projects;
    // Projects made before permissions were kept: their owner manages them, as a creator does.
    for (const project of projectRegistry.listProjects(true)) await permissions.adopt(PROJECT_OBJECT_TYPE, project.projectId, project.owner, project.ownerKind);
    instances.setUpgrader(async (record) => {
      const name = await projectRegistry.adoptInstance(record);
      // Whoever could use or manage the instance can use or manage its project, and nobody else.
      await permissions.inherit(INSTANCE_OBJECT_TYPE, record.name, PROJECT_OBJECT_TYPE, projectRegistry.getProject(name).projectId);
      return name;
    });
    cleanups.push(() => projectRegistry.close());

    const lakehouse = lazyLakehouse(() =>
      Lakehouse.start({ dataDir: layout.lakehouseDir, templateDir: join(layout.instancesDir, '.instance-template'), log: (line) => log(`[lakehouse] ${line}`) }),
    );
    cleanups.push(() => lakehouse.stop());
    const warehouses = new WarehouseRegistry(store, transitionDelayMs);
    cleanups.push(async () => warehouses.close());
    await warehouses.restore(identities.defaultUser.userName);
    const services = warehouseServices(warehouses, () => new ThriftService({ lakehouse: () => lakehouse.get(), log }));
    cleanups.push(() => services.closeAll());
    const authenticate = bearerAuthenticator(identities, tokens);
    const authority = await loadOrCreateAuthority(layout.authorityDir);
    const endpointServer = createWarehouseEndpoint({
      certificate: authority.issueServerCertificate({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }),
      authenticate,
      serviceFor: (id) => services.serviceFor(id),
      log,
    });
    const endpointPort = await listen(endpointServer, 0);
    cleanups.push(
      () =>
        new Promise<void>((resolveClosed) => {
          endpointServer.close(() => resolveClosed());
          endpointServer.closeAllConnections();
        }),
    );
    const catalog = new UnityCatalog(store, instances);
    const roles = new InstanceRoles(instances, identities);
    const credentials = new CredentialIssuer(instances, catalog, tokens, tokenTtlSeconds);
    // Pipeline updates and job runs pass their states at a quarter of the transition delay each.
    const stepDelayMs = transitionDelayMs / 4;
    const pipelines = new PipelineRegistry({ store, stepDelayMs, log });
    // Table-update triggers (and synced tables) hear of the lakehouse's commits; subscribing
    // starts the lakehouse, which a job watching its tables needs anyway.
    const tableCommits: TableCommitFeed = {
      onCommit(listener) {
        let stopped = false;
        let stop: (() => void) | undefined;
        lakehouse
          .get()
          .then((started) => {
            if (!stopped) stop = started.onCommit(listener);
          })
          .catch((error: unknown) => log(`the lakehouse did not start for commit listeners: ${(error as Error).message}`));
        return () => {
          stopped = true;
          stop?.();
        };
      },
    };
    const jobs = new JobRegistry({ store, pipelines, tableCommits, stepDelayMs, host: () => host, log });
    const syncedTables = new SyncedTableRegistry({ store, instances, catalog, pipelines, lakehouse, commits: tableCommits, log });
    syncedTablesOfInstances = syncedTables;
    cleanups.push(async () => syncedTables.close());
    // Jobs first: their runs stop the pipeline updates they wait for.
    cleanups.push(() => pipelines.close());
    cleanups.push(() => jobs.close());
    const startedAt = new Date().toISOString();
    let host = '';
    const server = createApiServer({
      routes: [
        ...emulatorRoutes(() => ({ service: 'lakebase-emulator', dataDir, pid: process.pid, startedAt })),
        ...oauthRoutes({ identities, tokens, host: () => host }),
        ...scimRoutes(),
        ...databaseRoutes({ instances, roles, catalog, credentials, permissions, projects: projectRegistry, syncedTables }),
        ...permissionRoutes({
          permissions,
          requireObject: {
            [INSTANCE_OBJECT_TYPE]: (id) => void instances.get(id),
            [PROJECT_OBJECT_TYPE]: (id) => void projectRegistry.getProject(`projects/${id}`),
          },
        }),
        ...postgresRoutes({ projects: projectRegistry, permissions }),
        ...warehouseRoutes({ warehouses, endpoint: () => ({ hostname: '127.0.0.1', port: endpointPort }) }),
        ...unityCatalogRoutes(lakehouse),
        ...statementRoutes({ lakehouse, warehouses, host: () => host }),
        ...pipelineRoutes(pipelines),
        ...jobRoutes(jobs, () => host),
      ],
      authenticate,
      log,
    });
    const port = await listenOnPreferredPort(server, options.port, store.state.lastPort, log);
    cleanups.push(
      () =>
        new Promise<void>((resolveClosed) => {
          server.close(() => resolveClosed());
          // Keep-alive connections of SDK clients would hold `close` open.
          server.closeAllConnections();
        }),
    );
    host = `http://127.0.0.1:${port}`;
    store.state.lastPort = port;
    await store.save();
    log(`API listening at ${host}`);

    await instances.restore();
    await projectRegistry.restore();
    await pipelines.restore();
    await jobs.restore();
    await syncedTables.restore();
    // After the restores, which stopped the servers a killed emulator of this directory left: what
    // any earlier emulator left in the temporary directory goes too, once provably abandoned.
    await removeAbandonedSocketDirectories({ log });

    const record: RunningRecord = {
      pid: process.pid,
      port,
      host,
      dataDir,
      caCertPath: hosting.caCertPath,
      startedAt,
      daemon: options.daemon === true,
      tokenTtlSeconds,
      transitionDelayMs,
    };
    await writeJsonFileAtomic(layout.running, record);
    cleanups.push(async () => rm(layout.running, { force: true }));
    log(`ready (${instances.list().length} instances)`);

    const endpoint = makeEndpoint({
      host,
      dataDir,
      caCertPath: hosting.caCertPath,
      user: identities.defaultUser,
      secondUser: identities.secondUser,
      adminUser: identities.adminUser,
      servicePrincipal: identities.servicePrincipal,
    });
    let stopping: Promise<void> | undefined;
    return {
      ...endpoint,
      lakehouse,
      stop() {
        stopping ??= (async () => {
          log('stopping');
          await cleanUp();
        })();
        return stopping;
      },
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}
