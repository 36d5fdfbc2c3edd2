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

// ---- what an App or an agent declares to use a database -----------------------------------

/** Where the app's database is: a Provisioned instance, or an Autoscaling branch. */
export type AppDatabase =
  | { kind: 'instance'; instance: string; database: string }
  | { kind: 'branch'; branch: string; endpoint: string; database: string };

/**
 * The pieces an App (or a model-serving agent) needs to use a Lakebase database, as text to paste:
 * the resource of the app's spec, the `app.yaml` env entries, the MLflow resource an agent
 * declares, and a TypeScript module that makes a token-refreshing `pg.Pool` from the environment
 * the App gets (lakebase.md "Databricks Apps"; databricks-apis.md §4.6).
 */
export interface AppResources {
  /** For the app's spec (`databricks apps update --json`): `database` or `postgres` resource. */
  resource: Record<string, unknown>;
  /** `app.yaml` env entries. */
  appYaml: string;
  /** What an agent logged with MLflow declares, so that serving can mint credentials for it. */
  mlflow: string;
  /** TypeScript that makes `pool`, for the App's code (it runs as printed, also in a notebook cell). */
  snippet: string;
}

/** CAN_CONNECT_AND_CREATE is what the Apps UI grants a database resource. */
const APP_PERMISSION = 'CAN_CONNECT_AND_CREATE';

export function appResources(target: AppDatabase, options: { resourceName?: string } = {}): AppResources {
  if (target.kind === 'instance') {
    const key = options.resourceName ?? 'database';
    return {
      resource: { name: key, database: { instance_name: target.instance, database_name: target.database, permission: APP_PERMISSION } },
      appYaml: [
        `# app.yaml: with the resource "${key}" the app gets PGHOST, PGPORT, PGDATABASE, PGUSER (its service`,
        '# principal\'s client id), PGSSLMODE and PGAPPNAME by itself, and mints its own tokens (no PGPASSWORD).',
        'env:',
        '  - name: LAKEBASE_INSTANCE_NAME',
        `    value: "${target.instance}"`,
        '  - name: LAKEBASE_HOST',
        `    valueFrom: "${key}"`,
      ].join('\n'),
      mlflow: [
        '# Python, when logging the agent: serving then mints database credentials for it.',
        'from mlflow.models.resources import DatabricksLakebase',
        `resources = [DatabricksLakebase(database_instance_name="${target.instance}")]`,
        '# mlflow.pyfunc.log_model(..., resources=resources)',
      ].join('\n'),
      snippet: instanceSnippet(target.instance),
    };
  }
  const key = options.resourceName ?? 'postgres';
  return {
    resource: { name: key, postgres: { branch: target.branch, database: target.database, permission: APP_PERMISSION } },
    appYaml: [
      `# app.yaml: with the resource "${key}" the app gets PGHOST, PGPORT, PGDATABASE, PGUSER, PGSSLMODE`,
      '# and PGAPPNAME by itself; @databricks/lakebase reads the endpoint from LAKEBASE_ENDPOINT.',
      'env:',
      '  - name: LAKEBASE_ENDPOINT',
      `    value: "${target.endpoint}"`,
    ].join('\n'),
    mlflow: [
      "# MLflow's DatabricksLakebase resource (mlflow.models.resources) names Provisioned instances only",
      '# (database_instance_name); an agent using this branch authenticates as its serving identity, which',
      `# needs CAN_USE on the project and a role on ${target.branch}.`,
    ].join('\n'),
    snippet: [
      '// A pg.Pool for a Lakebase Autoscaling endpoint from an App\'s environment: @databricks/lakebase',
      '// mints a database token per new connection and refreshes it two minutes before it expires.',
      "import { createLakebasePool } from '@databricks/lakebase';",
      '',
      `const pool = createLakebasePool({ endpoint: process.env.LAKEBASE_ENDPOINT ?? '${target.endpoint}' });`,
      '',
      "// const { rows } = await pool.query('SELECT current_user');",
    ].join('\n'),
  };
}

/**
 * The Provisioned pool: node-postgres takes the password as a function, called for each new
 * connection; it returns the cached token, minting a new one two minutes before it expires (as the
 * Databricks AppKit does). Open connections are never dropped: tokens are checked at login only.
 */
function instanceSnippet(instance: string): string {
  return [
    "// A pg.Pool for the Lakebase instance from a Databricks App's environment: PGHOST, PGPORT,",
    '// PGDATABASE, PGUSER and PGSSLMODE from the database resource, DATABRICKS_HOST, DATABRICKS_CLIENT_ID',
    '// and DATABRICKS_CLIENT_SECRET from the app. There is no PGPASSWORD: the pool mints a one-hour',
    '// database token for new connections, and a new one two minutes before the last expires.',
    "import { randomUUID } from 'node:crypto';",
    "import pg from 'pg';",
    "import { WorkspaceClient } from '@databricks/sdk-experimental';",
    '',
    'const workspace = new WorkspaceClient({});',
    'let current: { token: string; expiresAt: number } | undefined;',
    '',
    'async function databaseToken(): Promise<string> {',
    '  if (current === undefined || Date.now() > current.expiresAt - 120_000) {',
    '    const credential = await workspace.database.generateDatabaseCredential({',
    `      instance_names: [${JSON.stringify(instance)}],`,
    '      request_id: randomUUID(),',
    '    });',
    "    current = { token: credential.token ?? '', expiresAt: Date.parse(credential.expiration_time ?? '') };",
    '  }',
    '  return current.token;',
    '}',
    '',
    '// (Add `export` where other modules use the pool.)',
    'const pool = new pg.Pool({',
    '  host: process.env.PGHOST,',
    "  port: Number(process.env.PGPORT ?? '5432'),",
    "  database: process.env.PGDATABASE ?? 'databricks_postgres',",
    '  user: process.env.PGUSER,',
    '  password: databaseToken,',
    "  ssl: process.env.PGSSLMODE === 'disable' ? false : { rejectUnauthorized: true },",
    '  max: 10,',
    '});',
    '',
    "// const { rows } = await pool.query('SELECT current_user');",
  ].join('\n');
}
