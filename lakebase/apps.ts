// Connecting from inside a Databricks App. An app with a database resource gets `PGHOST`,
// `PGPORT`, `PGDATABASE`, `PGUSER` (its service principal's client id), `PGSSLMODE`, and
// `DATABRICKS_HOST`/`DATABRICKS_CLIENT_ID`/`DATABRICKS_CLIENT_SECRET`, but no `PGPASSWORD`: the
// app mints database tokens itself with M2M auth (lakebase.md, "Databricks Apps"). The variables
// name the host, not the instance, so the instance is found by its `read_write_dns` (or
// `read_only_dns`), and then connected to like any other, with a refresher for the M2M identity.
//
// The SDK and `pg` are loaded only when connecting, so that asking `isDatabricksAppEnvironment`
// costs nothing at kernel start.
import type { InstanceConnectOptions, InstanceConnection } from './instance';
import { LakebaseError } from './errors';

/** True when the environment looks like a Databricks App's with a database resource. */
export function isDatabricksAppEnvironment(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.PGHOST && env.PGUSER && env.DATABRICKS_HOST && env.DATABRICKS_CLIENT_ID && !env.PGPASSWORD);
}

export type AppConnectOptions = Omit<InstanceConnectOptions, 'instance' | 'user' | 'database' | 'readOnly' | 'port'>;

/** Connects as the app's service principal to the instance whose host is `PGHOST`. */
export async function connectFromAppEnvironment(options: AppConnectOptions = {}): Promise<InstanceConnection> {
  const env = options.env ?? process.env;
  const pgHost = env.PGHOST;
  if (!isDatabricksAppEnvironment(env) || !pgHost) {
    throw new LakebaseError('NOT_A_DATABRICKS_APP', 'This is not a Databricks App environment with a database resource.', {
      hint: 'An app gets PGHOST, PGUSER, DATABRICKS_HOST and DATABRICKS_CLIENT_ID/SECRET from its database resource; elsewhere, connect by instance name.',
    });
  }
  const { openWorkspace } = await import('./workspace.js');
  const { connectInstance, DEFAULT_DATABASE, LAKEBASE_PORT } = await import('./instance.js');
  const workspace = options.workspace ?? (await openWorkspace({ env }));
  const wanted = pgHost.toLowerCase();
  const instances = await workspace.listInstances();
  const primary = instances.find((instance) => instance.read_write_dns?.toLowerCase() === wanted);
  const secondary = primary ? undefined : instances.find((instance) => instance.read_only_dns?.toLowerCase() === wanted);
  const instance = primary ?? secondary;
  if (!instance) {
    throw new LakebaseError('APP_INSTANCE_NOT_FOUND', `No database instance in ${workspace.host} has the host ${pgHost} (PGHOST).`, {
      hint:
        "Check the app's database resource (app.yaml `valueFrom: database`) and that its service principal " +
        'may use the instance (CAN_CONNECT_AND_CREATE).',
    });
  }
  return connectInstance({
    ...options,
    env,
    workspace,
    instance: instance.name,
    user: env.PGUSER,
    database: env.PGDATABASE || DEFAULT_DATABASE,
    readOnly: secondary !== undefined,
    port: env.PGPORT ? Number(env.PGPORT) : LAKEBASE_PORT,
  });
}
