// SQL warehouses of a workspace (`/api/2.0/sql/warehouses`, through the official SDK): finding one
// by id or name, starting and stopping it (waiting with `waiting.ts`), and opening a session on it.
import type { EndpointInfo } from '@databricks/sdk-experimental/dist/apis/sql';
import { LakebaseError } from '../errors';
import { waitFor } from '../waiting';
import type { WaitProgress } from '../waiting';
import type { Workspace } from '../workspace';
import { workspaceError } from '../workspace';
import { openWarehouseSession } from './session';
import type { WarehouseSession } from './session';

export type { EndpointInfo as Warehouse };

export const WAREHOUSE_ERRORS = {
  /** No warehouse named and none to choose by default. */
  required: 'WAREHOUSE_REQUIRED',
  notFound: 'WAREHOUSE_NOT_FOUND',
  /** Stopped, and starting it was not allowed. */
  stopped: 'WAREHOUSE_STOPPED',
  /** It settled in a state from which it will not answer (DELETED, or failed to start). */
  unusable: 'WAREHOUSE_UNUSABLE',
} as const;

export async function listWarehouses(workspace: Workspace): Promise<EndpointInfo[]> {
  try {
    const warehouses: EndpointInfo[] = [];
    for await (const warehouse of workspace.client.warehouses.list({})) warehouses.push(warehouse);
    return warehouses;
  } catch (error) {
    throw workspaceError(error, { host: workspace.host, operation: 'list SQL warehouses' });
  }
}

/**
 * The warehouse meant by `idOrName` (an id, else a name, case-insensitive), else by the
 * `DATABRICKS_WAREHOUSE_ID` variable, else the only warehouse there is.
 */
export async function findWarehouse(workspace: Workspace, idOrName: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<EndpointInfo> {
  const wanted = idOrName ?? (env.DATABRICKS_WAREHOUSE_ID || undefined);
  const warehouses = await listWarehouses(workspace);
  const names = warehouses.map((warehouse) => `${warehouse.name} (${warehouse.id})`).join(', ') || 'none';
  if (wanted === undefined) {
    if (warehouses.length === 1) return warehouses[0];
    throw new LakebaseError(WAREHOUSE_ERRORS.required, `Which SQL warehouse? The workspace has ${warehouses.length === 0 ? 'none' : warehouses.length}: ${names}.`, {
      hint: 'Name one by id or name (%lakebase connect --warehouse ID), or set DATABRICKS_WAREHOUSE_ID.',
    });
  }
  const found =
    warehouses.find((warehouse) => warehouse.id === wanted) ?? warehouses.find((warehouse) => (warehouse.name ?? '').toLowerCase() === wanted.toLowerCase());
  if (found === undefined) {
    throw new LakebaseError(WAREHOUSE_ERRORS.notFound, `There is no SQL warehouse "${wanted}" in ${workspace.host}.`, { hint: `The workspace has: ${names}.` });
  }
  return found;
}

export async function getWarehouse(workspace: Workspace, id: string): Promise<EndpointInfo> {
  try {
    return await workspace.client.warehouses.get({ id });
  } catch (error) {
    throw workspaceError(error, { host: workspace.host, operation: `get the SQL warehouse ${id}` });
  }
}

export interface WarehouseWaitOptions {
  signal?: AbortSignal;
  onProgress?: (progress: WaitProgress<EndpointInfo>) => void;
}

const PASSING = new Set(['STARTING', 'STOPPING', 'DELETING']);

/** Starts a warehouse and waits until it is RUNNING. */
export async function startWarehouse(workspace: Workspace, id: string, options: WarehouseWaitOptions = {}): Promise<EndpointInfo> {
  try {
    await workspace.client.warehouses.start({ id });
  } catch (error) {
    throw workspaceError(error, { host: workspace.host, operation: `start the SQL warehouse ${id}` });
  }
  return waitForState(workspace, id, 'RUNNING', options);
}

/** Stops a warehouse and waits until it is STOPPED. */
export async function stopWarehouse(workspace: Workspace, id: string, options: WarehouseWaitOptions = {}): Promise<EndpointInfo> {
  try {
    await workspace.client.warehouses.stop({ id });
  } catch (error) {
    throw workspaceError(error, { host: workspace.host, operation: `stop the SQL warehouse ${id}` });
  }
  return waitForState(workspace, id, 'STOPPED', options);
}

function waitForState(workspace: Workspace, id: string, target: 'RUNNING' | 'STOPPED', options: WarehouseWaitOptions): Promise<EndpointInfo> {
  return waitFor<EndpointInfo, EndpointInfo>({
    description: `the SQL warehouse ${id} to be ${target}`,
    poll: () => getWarehouse(workspace, id),
    check(warehouse) {
      const state = warehouse.state ?? 'UNKNOWN';
      if (state === target) return { done: true, result: warehouse };
      // Just after a start request the warehouse may still read STOPPED for a moment.
      if (PASSING.has(state) || (target === 'RUNNING' && state === 'STOPPED') || (target === 'STOPPED' && state === 'RUNNING')) {
        return { done: false, state, detail: target === 'RUNNING' ? 'waiting for the warehouse to start' : 'waiting for the warehouse to stop' };
      }
      throw new LakebaseError(WAREHOUSE_ERRORS.unusable, `The SQL warehouse ${warehouse.name ?? id} is ${state}, not ${target}.`);
    },
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
}

export interface WarehouseConnectOptions extends WarehouseWaitOptions {
  workspace: Workspace;
  /** Id or name; default DATABRICKS_WAREHOUSE_ID, else the only warehouse. */
  warehouse?: string;
  env?: NodeJS.ProcessEnv;
  /** Start a stopped warehouse (default), or refuse with what to do. */
  start?: boolean;
  /** Called when a stopped warehouse is being started (before the wait). */
  onStarting?: (warehouse: EndpointInfo) => void;
  /** A CA to trust besides the system's (the local emulator's). */
  caCert?: Buffer | string;
  catalog?: string;
  schema?: string;
}

export interface WarehouseConnectResult {
  session: WarehouseSession;
  warehouse: EndpointInfo;
}

/** Finds the warehouse, starts it if it is stopped, and opens a session on it. */
export async function connectWarehouse(options: WarehouseConnectOptions): Promise<WarehouseConnectResult> {
  const { workspace } = options;
  let warehouse = await findWarehouse(workspace, options.warehouse, options.env);
  const id = warehouse.id!;
  if (warehouse.state !== 'RUNNING') {
    if (options.start === false) {
      throw new LakebaseError(WAREHOUSE_ERRORS.stopped, `The SQL warehouse ${warehouse.name} (${id}) is ${warehouse.state}.`, {
        hint: `Start it with %lakebase warehouse start ${id} (or databricks warehouses start ${id}).`,
      });
    }
    options.onStarting?.(warehouse);
    warehouse = warehouse.state === 'STARTING' ? await waitForState(workspace, id, 'RUNNING', options) : await startWarehouse(workspace, id, options);
  }
  const odbc = warehouse.odbc_params;
  if (!odbc?.hostname || !odbc.path) {
    throw new LakebaseError(WAREHOUSE_ERRORS.unusable, `The SQL warehouse ${warehouse.name} (${id}) has no odbc_params to connect to.`);
  }
  const session = await openWarehouseSession({
    hostname: odbc.hostname,
    port: odbc.port ?? 443,
    path: odbc.path,
    authenticate: (headers) => workspace.authenticate(headers),
    description: `${warehouse.name} (${id}) on ${workspace.host}`,
    ...(options.caCert !== undefined ? { caCert: options.caCert } : {}),
    ...(options.catalog !== undefined ? { catalog: options.catalog } : {}),
    ...(options.schema !== undefined ? { schema: options.schema } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { session, warehouse };
}
