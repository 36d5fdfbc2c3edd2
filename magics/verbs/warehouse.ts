// `%lakebase warehouse list|get|start|stop`: the workspace's SQL warehouses
// (`/api/2.0/sql/warehouses`, through the SDK), the local emulator's without Databricks
// configuration. Start and stop wait under a live status line; an interrupt stops the waiting,
// never the operation.
import type { VerbContext, VerbFamily } from '../declarations';
import { TableOutput, TextOutput } from '../outputs';
import type { MagicServices } from '../services';
import { startStatusLine } from '../status-line';
import type { Warehouse } from '../../lakebase/warehouse/warehouses';

const profileOption = { name: 'profile', kind: 'text', valueName: 'PROFILE', summary: 'Databricks config profile for the workspace (~/.databrickscfg)' } as const;
const warehousePositional = { name: 'WAREHOUSE', summary: 'the warehouse\'s id or name' } as const;

async function warehouses(context: VerbContext<MagicServices>) {
  const module = await import('../../lakebase/warehouse/warehouses.js');
  const { workspace } = await context.services.connectors.workspace(context.invocation.options.profile as string | undefined);
  return { module, workspace };
}

function row(warehouse: Warehouse): string[] {
  const odbc = warehouse.odbc_params;
  return [
    warehouse.name ?? '',
    warehouse.id ?? '',
    warehouse.state ?? '',
    warehouse.cluster_size ?? '',
    odbc ? `${odbc.protocol ?? 'https'}://${odbc.hostname}:${odbc.port ?? 443}${odbc.path ?? ''}` : '',
  ];
}

const COLUMNS = ['name', 'id', 'state', 'size', 'endpoint'];

async function changeState(context: VerbContext<MagicServices>, action: 'start' | 'stop'): Promise<TextOutput> {
  const { module, workspace } = await warehouses(context);
  const found = await module.findWarehouse(workspace, context.invocation.positionals[0], {});
  const line = startStatusLine(context.host, {
    subject: `warehouse ${found.name ?? found.id}`,
    action,
    state: action === 'start' ? 'STARTING' : 'STOPPING',
    waitingFor: `the warehouse to ${action}`,
    checkWith: `%lakebase warehouse get ${found.id}`,
    operation: `the ${action}`,
  });
  try {
    const change = action === 'start' ? module.startWarehouse : module.stopWarehouse;
    const settled = await change(workspace, found.id!, {
      signal: context.host.signal,
      onProgress: (progress) => line.waiting({ state: progress.state, ...(progress.detail !== undefined ? { detail: progress.detail } : {}) }),
    });
    line.done(settled.state ?? '');
    return new TextOutput(`The SQL warehouse ${found.name} (${found.id}) is ${settled.state}.`);
  } catch (error) {
    const { WaitStoppedError } = await import('../../lakebase/waiting.js');
    if (error instanceof WaitStoppedError) line.stopped('interrupted');
    else line.failed(error instanceof Error ? error.message : String(error));
    throw error;
  }
}

export const warehouseFamily: VerbFamily<MagicServices> = {
  name: 'warehouse',
  summary: 'SQL warehouses',
  verbs: [
    {
      name: 'warehouse list',
      summary: 'List the workspace\'s SQL warehouses: name, id, state, size, Thrift endpoint',
      positionals: [],
      options: [profileOption],
      examples: ['%lakebase warehouse list'],
      async run(context) {
        const { module, workspace } = await warehouses(context);
        const list = await module.listWarehouses(workspace);
        return new TableOutput(COLUMNS, list.map(row), 'The workspace has no SQL warehouses.');
      },
    },
    {
      name: 'warehouse get',
      summary: 'Show one SQL warehouse',
      positionals: [warehousePositional],
      options: [profileOption],
      examples: ['%lakebase warehouse get "Serverless Starter Warehouse"'],
      async run(context) {
        const { module, workspace } = await warehouses(context);
        const found = await module.findWarehouse(workspace, context.invocation.positionals[0], {});
        const fresh = await module.getWarehouse(workspace, found.id!);
        return new TableOutput(COLUMNS, [row(fresh)], '');
      },
    },
    {
      name: 'warehouse start',
      summary: 'Start a SQL warehouse and wait until it is RUNNING (a live status line)',
      positionals: [warehousePositional],
      options: [profileOption],
      details: ['An interrupt stops the waiting, not the start.'],
      examples: ['%lakebase warehouse start 1234567890abcdef'],
      run: (context) => changeState(context, 'start'),
    },
    {
      name: 'warehouse stop',
      summary: 'Stop a SQL warehouse and wait until it is STOPPED; connections to it fail until it is started again',
      positionals: [warehousePositional],
      options: [profileOption],
      details: ['An interrupt stops the waiting, not the stop. `%lakebase connect --warehouse` starts a stopped warehouse again.'],
      examples: ['%lakebase warehouse stop 1234567890abcdef'],
      run: (context) => changeState(context, 'stop'),
    },
  ],
};
