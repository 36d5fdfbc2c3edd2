// `%lakebase credential create`: a database credential for use outside the kernel's connections
// (a script, psql, another program), minted on purpose: for instances or Unity Catalog tables,
// optionally read-only, optionally as another identity (`--profile`). It is shown masked and
// handed to a TypeScript variable (`--into`) or an environment variable (`--env`) the user names;
// it is never printed. `%lakebase apps resources` prints what a Databricks App or an agent
// declares to use the current database, with a TypeScript pool that runs as printed in an App.
import { appResources, AppResources } from '../../lakebase/apps';
import { DatabaseCredential, maskToken, mintCredential } from '../../lakebase/credential';
import { LakebaseError } from '../../lakebase/errors';
import { isVariableName } from '../grammar';
import type { VerbDeclaration, VerbFamily } from '../declarations';
import { MAGIC_ERRORS, MagicUsageError } from '../errors';
import { displayAs, FieldsOutput, SectionsOutput } from '../outputs';
import type { MagicServices } from '../services';
import { PROFILE_OPTION, textOption, workspaceOf } from './workspace-verbs';

const CREDENTIAL_TYPES = `
/** A database credential: \`token\` is the Postgres password of \`identity\` until \`expiration_time\`. */
interface LakebaseCredential {
  readonly token: string;
  readonly expiration_time: string;
  readonly identity: string;
  readonly instance_names: readonly string[];
  readonly tables: readonly string[];
  readonly read_only: boolean;
}
/** What a Databricks App or an agent declares to use a Lakebase database. */
interface LakebaseAppResources {
  resource: Record<string, unknown>;
  appYaml: string;
  mlflow: string;
  snippet: string;
}
`;

/** The current connection's instance, or undefined. */
function currentInstance(services: MagicServices): string | undefined {
  const current = services.connections.currentName;
  return current === undefined ? undefined : services.connectionInstances.get(current);
}

function shownCredential(credential: DatabaseCredential, where: string[]): DatabaseCredential {
  return displayAs(credential, () =>
    new FieldsOutput(`database credential of ${credential.identity}`, [
      ['token', maskToken(credential.token)],
      ['expires', credential.expiration_time],
      ['instances', credential.instance_names.join(', ')],
      ['tables', credential.tables.join(', ')],
      ['sessions', credential.read_only ? 'read-only' : 'read and write'],
      ['handed to', where.join(', ')],
    ]),
  );
}

const create: VerbDeclaration<MagicServices> = {
  name: 'credential create',
  summary: 'Mint a database credential for use outside the kernel, into a TypeScript or environment variable',
  positionals: [{ name: 'INSTANCE', summary: 'the instance(s) it opens, separated by commas (default: the current connection\'s)', optional: true, completes: 'instances' }],
  options: [
    { name: 'tables', kind: 'text', valueName: 'CATALOG.SCHEMA.TABLE,...', summary: 'Scope it to these Unity Catalog tables (claims); their instances are opened' },
    { name: 'read-only', kind: 'flag', summary: 'Sessions opened with it are read-only (claims with the READ_ONLY permission set)' },
    { name: 'into', kind: 'identifier', valueName: 'VARIABLE', summary: 'Hand it to this TypeScript variable (typed LakebaseCredential; .token is the password)' },
    { name: 'env', kind: 'text', valueName: 'NAME', summary: 'Hand the token to this environment variable of the kernel (e.g. PGPASSWORD for a psql it starts)' },
    PROFILE_OPTION,
  ],
  details: [
    'The token is the password of the identity that minted it (yours, or that of --profile) for one hour; it is never printed: ' +
      'the output and the variable\'s display show it masked. Use it as `password` with the user it shows and the instance\'s read_write_dns.',
  ],
  examples: [
    '%lakebase credential create orders --into cred',
    '%lakebase credential create --tables shop.public.prices --read-only --env PGPASSWORD',
    'const cred = %lakebase credential create orders --profile reporting',
  ],
  resultType: 'LakebaseCredential',
  async run(context) {
    const { invocation, services, host } = context;
    const tables = textOption(invocation, 'tables')?.split(',').map((table) => table.trim()).filter((table) => table !== '') ?? [];
    const given = invocation.positionals[0];
    const instances = given !== undefined ? given.split(',').map((name) => name.trim()).filter((name) => name !== '') : [];
    if (instances.length === 0 && tables.length === 0) {
      const current = currentInstance(services);
      if (current === undefined) {
        throw new MagicUsageError(MAGIC_ERRORS.missingArgument, 'credential create needs the INSTANCE (or --tables): the current connection is not to an instance', {
          line: invocation.source.line,
          hint: `Example: ${create.examples[0]}`,
        });
      }
      instances.push(current);
    }
    const envName = textOption(invocation, 'env');
    if (envName !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(envName)) {
      throw new MagicUsageError(MAGIC_ERRORS.invalidValue, `credential create: --env must be an environment variable name, not "${envName}"`, { line: invocation.source.line });
    }
    const credential = await mintCredential(await workspaceOf(context), { instances, tables, readOnly: invocation.options['read-only'] === true });
    const where: string[] = [];
    const into = textOption(invocation, 'into');
    if (into !== undefined && isVariableName(into)) {
      await host.declareVariable(into, credential, 'LakebaseCredential');
      where.push(`TypeScript variable ${into}`);
    }
    if (envName !== undefined) {
      process.env[envName] = credential.token;
      where.push(`environment variable ${envName}`);
    }
    return shownCredential(credential, where);
  },
};

const resources: VerbDeclaration<MagicServices> = {
  name: 'apps resources',
  summary: 'Print what a Databricks App or agent declares to use a database: resource, app.yaml, MLflow, a TypeScript pool',
  positionals: [{ name: 'INSTANCE', summary: 'the instance (default: the current connection\'s instance or Autoscaling branch)', optional: true, completes: 'instances' }],
  options: [
    { name: 'database', kind: 'text', valueName: 'DATABASE', summary: 'The Postgres database (default: the current connection\'s, else databricks_postgres)' },
    { name: 'name', kind: 'text', valueName: 'KEY', summary: 'The resource key in the app (default database, or postgres for a branch)' },
  ],
  details: [
    'An app with the resource gets PGHOST, PGPORT, PGDATABASE, PGUSER (its service principal), PGSSLMODE and DATABRICKS_CLIENT_ID/SECRET, ' +
      'but no PGPASSWORD: the printed pool mints database tokens itself and refreshes them. Grant the app\'s service principal ' +
      'CAN_USE on the instance and a role (%lakebase instance grant, %lakebase instance-role create; for a branch, %lakebase project grant ' +
      'and %lakebase role create) when you do not add the resource in the Apps UI.',
  ],
  examples: ['%lakebase apps resources', '%lakebase apps resources orders --database shop', 'const app = %lakebase apps resources orders'],
  resultType: 'LakebaseAppResources',
  async run({ invocation, services }) {
    const given = invocation.positionals[0];
    const current = services.connections.currentName;
    const placement = given === undefined && current !== undefined ? services.connectionPlacements.get(current) : undefined;
    const instance = given ?? currentInstance(services);
    const database = textOption(invocation, 'database');
    const resourceName = textOption(invocation, 'name');
    let result: AppResources;
    if (placement !== undefined) {
      result = appResources({ kind: 'branch', branch: placement.branch, endpoint: placement.endpoint, database: database ?? placement.database }, { ...(resourceName ? { resourceName } : {}) });
    } else if (instance !== undefined) {
      const connected = current !== undefined && services.connections.has(current) ? services.connections.get(current).session.description : '';
      // `user@host:port/database`: the current connection's database, when it is the instance's.
      const connectedDatabase = given === undefined ? /\/([^/]+)$/.exec(connected)?.[1] : undefined;
      result = appResources({ kind: 'instance', instance, database: database ?? connectedDatabase ?? 'databricks_postgres' }, { ...(resourceName ? { resourceName } : {}) });
    } else {
      throw new LakebaseError('APP_DATABASE_UNKNOWN', 'Which database? The current connection is neither to an instance nor to an Autoscaling branch.', {
        hint: 'Name the instance: %lakebase apps resources INSTANCE, or connect to it first.',
      });
    }
    return displayAs(result, () =>
      new SectionsOutput([
        ['App resource (the app spec\'s resources)', JSON.stringify(result.resource, null, 2)],
        ['app.yaml', result.appYaml],
        ['MLflow (an agent\'s resources)', result.mlflow],
        ['TypeScript: a token-refreshing pg.Pool from the App\'s environment', result.snippet],
      ]),
    );
  },
};

export const credentialFamily: VerbFamily<MagicServices> = {
  name: 'credential',
  summary: 'Credentials and Apps',
  verbs: [create, resources],
  typeDeclarations: CREDENTIAL_TYPES,
};
