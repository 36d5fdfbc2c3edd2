// The embedded default: with no Databricks configuration, `%lakebase connect` starts (or reuses)
// the local Lakebase emulator in the background and connects to a default instance on it, so
// every tutorial runs on a fresh machine after `npm install` (design.md, "Embedded default").
//
// The emulator is used exactly like a real workspace: through the SDK, with the default user's
// token, and the instance is created through the API when it is missing. Nothing here knows the
// emulator's insides; only where its CA and credentials are (its endpoint).
import type { EmulatorEndpoint, EmulatorOptions } from '../emulator/contracts';
import { defaultEmulatorDataDir, ensureEmulatorDaemon } from '../emulator/index';
import { LakebaseError } from './errors';
import { connectInstance, InstanceConnectOptions, InstanceConnection } from './instance';
import { DatabaseInstance, openWorkspace, Workspace } from './workspace';

/** The instance the embedded default creates and connects to. */
export const EMBEDDED_INSTANCE_NAME = 'local';

export interface EmbeddedConnectOptions
  extends Pick<InstanceConnectOptions, 'database' | 'refreshers' | 'refresh' | 'verify'> {
  /** The emulator's data directory; default `defaultEmulatorDataDir()` (per user). */
  dataDir?: string;
  /** Default `local`. */
  instance?: string;
  /** Starts or finds the emulator; default the background daemon. Tests pass an in-process one. */
  ensureEmulator?: (options: EmulatorOptions) => Promise<EmulatorEndpoint>;
  /** Told what is happening on a slow path (first start, creating the instance). */
  onProgress?: (message: string) => void;
}

export interface EmbeddedConnection extends InstanceConnection {
  /** Where the emulator is (no secrets: its tokens stay inside). */
  readonly emulator: { host: string; dataDir: string; caCertPath: string };
}

/** The local emulator as a workspace (started in the background when none runs), as its default user. */
export interface EmbeddedWorkspace {
  workspace: Workspace;
  /** Where the emulator is (no secrets: its tokens stay inside). */
  emulator: { host: string; dataDir: string; caCertPath: string };
  /** The default user's name, the Postgres role its tokens log in as. */
  userName: string;
}

export async function openEmbeddedWorkspace(options: Pick<EmbeddedConnectOptions, 'dataDir' | 'ensureEmulator'> = {}): Promise<EmbeddedWorkspace> {
  const dataDir = options.dataDir ?? defaultEmulatorDataDir();
  const ensure = options.ensureEmulator ?? ensureEmulatorDaemon;
  const endpoint = await ensure({ dataDir }).catch((error: unknown) => {
    throw new LakebaseError('EMULATOR_START_FAILED', `The local Lakebase emulator did not start (data directory ${dataDir}).`, {
      hint: 'Run `npx lakebase-kernel emulator start` in a terminal to see why; `emulator status` shows a running one.',
      cause: error,
    });
  });
  // Only the emulator's own user: a DATABRICKS_* or PG* variable of the user's must not leak in.
  const workspace = await openWorkspace({ host: endpoint.host, token: endpoint.user.token, authType: 'pat', env: {} });
  return { workspace, emulator: { host: endpoint.host, dataDir: endpoint.dataDir, caCertPath: endpoint.caCertPath }, userName: endpoint.user.userName };
}

export async function connectEmbedded(options: EmbeddedConnectOptions = {}): Promise<EmbeddedConnection> {
  const { workspace, emulator, userName } = await openEmbeddedWorkspace(options);
  const name = options.instance ?? EMBEDDED_INSTANCE_NAME;
  await ensureAvailable(workspace, name, options.onProgress);
  const connection = await connectInstance({
    instance: name,
    workspace,
    env: {},
    user: userName,
    database: options.database,
    sslmode: 'verify-full',
    sslRootCert: emulator.caCertPath,
    refreshers: options.refreshers,
    refresh: options.refresh,
    verify: options.verify,
  });
  return Object.assign(connection, { emulator });
}

/** Creates the instance when it is missing, starts it when stopped, waits while it is busy. */
async function ensureAvailable(workspace: Workspace, name: string, onProgress?: (message: string) => void): Promise<DatabaseInstance> {
  let instance: DatabaseInstance;
  try {
    instance = await workspace.getInstance(name);
  } catch (error) {
    if (!(error instanceof LakebaseError && error.code === 'INSTANCE_NOT_FOUND')) throw error;
    onProgress?.(`Creating the local instance ${name} ...`);
    try {
      return await workspace.createInstance({ name, capacity: 'CU_1' });
    } catch (createError) {
      // Another kernel created it at the same moment: use theirs.
      if (!(createError instanceof LakebaseError && createError.code === 'ALREADY_EXISTS')) throw createError;
      instance = await workspace.getInstance(name);
    }
  }
  switch (instance.state) {
    case 'AVAILABLE':
      return instance;
    case 'STOPPED':
      onProgress?.(`Starting the local instance ${name} ...`);
      return workspace.startInstance(name);
    // The emulator's own state for a server that died and could not be restarted: one more try.
    case 'FAILED' as typeof instance.state:
      onProgress?.(`The local instance ${name} is FAILED (its server could not be restarted); starting it again ...`);
      return workspace.startInstance(name);
    default:
      return workspace.waitForInstance(name, 'AVAILABLE');
  }
}
