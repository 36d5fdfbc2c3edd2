// `%lakebase connect`, `connections`, `use` and `close`: named connections, one of them current.
//
// `connect` picks where to go from what was typed, in this order (README, "Connecting"):
//   1. a `postgres://` / `postgresql://` URL or a libpq `key=value` string → that PostgreSQL;
//   2. PROJECT/BRANCH or projects/p/... → that Lakebase Autoscaling endpoint; any other word →
//      the Lakebase instance or Autoscaling project of that name (both: asked which; with no
//      Databricks configuration, on the local emulator);
//   3. nothing, with --host/--port/--sslmode → PostgreSQL from those options (and PG* variables);
//   4. nothing, with --local → the embedded default (the local Lakebase emulator);
//   5. nothing, inside a Databricks App (PGHOST, PGUSER, DATABRICKS_CLIENT_ID, no PGPASSWORD) or
//      with LAKEBASE_ENDPOINT → the app's database instance or Autoscaling endpoint;
//   6. nothing, with PG* variables set → PostgreSQL from them, as psql would;
//   7. nothing, with Databricks configured → an error asking which instance;
//   8. nothing at all → the embedded default, so the quickstart needs no set-up.
import { CONNECTION_NAME_RULE } from '../../lakebase/connections';
import { LakebaseError } from '../../lakebase/errors';
import { parseConnectionString } from '../../lakebase/targets';
import { WaitStoppedError } from '../../lakebase/waiting';
import type { MagicInvocation, OptionDeclaration, VerbFamily } from '../declarations';
import { MAGIC_ERRORS, MagicUsageError } from '../errors';
import type { ConnectionKind, Connectors, OpenedConnection } from '../connectors';
import type { MagicHost } from '../host';
import { TableOutput, TextOutput } from '../outputs';
import type { MagicServices } from '../services';
import { startStatusLine } from '../status-line';
import type { StatusLine } from '../status-line';
import { transactionWords } from './transaction-note';

/** Stable codes of the errors these verbs raise themselves. */
export const CONNECT_ERRORS = {
  /** Databricks is configured but no instance was named. */
  instanceRequired: 'INSTANCE_REQUIRED',
  /** A password is needed and there is no client to ask (headless run, allow_stdin false). */
  noPrompt: 'PASSWORD_PROMPT_UNAVAILABLE',
  /** A name that is both a Provisioned instance and an Autoscaling project, and nobody to ask. */
  ambiguousName: 'AMBIGUOUS_NAME',
  /** A name that is neither an instance nor a project. */
  nameNotFound: 'LAKEBASE_NAME_NOT_FOUND',
} as const;

/** Lakebase instance names: 1 to 63 letters, digits and hyphens (lakebase.md). */
const INSTANCE_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/;
const CONNECTION_STRING = /^(postgres(ql)?:\/\/|[A-Za-z_]+\s*=)/i;
/** Project ids are lowercase (postgres.py); a name with capitals can only be an instance. */
const PROJECT_ID = /^[a-z][a-z0-9-]{0,62}$/;

const postgresOnly = ['host', 'port', 'sslmode'] as const;
const instanceOnly = ['profile', 'read-only'] as const;
const projectOnly = ['pooled'] as const;

const connectOptions: OptionDeclaration[] = [
  { name: 'as', kind: 'text', valueName: 'NAME', summary: 'Name of the connection (default: the instance or database name)' },
  { name: 'host', short: 'h', kind: 'text', valueName: 'HOST', summary: 'PostgreSQL server host (as psql -h)' },
  { name: 'port', short: 'p', kind: 'integer', min: 1, max: 65535, valueName: 'PORT', summary: 'PostgreSQL server port (as psql -p)' },
  { name: 'database', short: 'd', kind: 'text', valueName: 'NAME', summary: 'Database (default: databricks_postgres on Lakebase)' },
  { name: 'user', short: 'U', kind: 'text', valueName: 'NAME', summary: 'Role to log in as (default: PGUSER, or your Databricks identity on Lakebase)' },
  {
    name: 'sslmode',
    kind: 'choice',
    valueName: 'MODE',
    choices: ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'],
    summary: 'TLS as libpq does it (default prefer; Lakebase accepts TLS only)',
  },
  { name: 'profile', kind: 'text', valueName: 'PROFILE', summary: 'Databricks config profile for the workspace (~/.databrickscfg)' },
  { name: 'read-only', kind: 'flag', summary: 'Connect to the instance\'s readable secondaries (read_only_dns), or the branch\'s read-only endpoint' },
  { name: 'pooled', kind: 'flag', summary: 'Connect to the Autoscaling endpoint\'s pooled host' },
  { name: 'instance', kind: 'flag', summary: 'TARGET is a Provisioned instance, also when a project has the same name' },
  { name: 'local', kind: 'flag', summary: 'Connect to the local Lakebase emulator, even when Databricks is configured' },
  {
    name: 'warehouse',
    kind: 'flag',
    summary: 'Connect to a Databricks SQL warehouse: TARGET is its id or name (default DATABRICKS_WAREHOUSE_ID, or the only one)',
  },
];

export const connectionsFamily: VerbFamily<MagicServices> = {
  name: 'connections',
  summary: 'Connections',
  kernelOnly: true,
  verbs: [
    {
      name: 'connect',
      summary: 'Connect to a Lakebase instance, any PostgreSQL, or the local emulator; the new connection becomes current',
      positionals: [
        {
          name: 'TARGET',
          optional: true,
          summary:
            'an instance, a project (PROJECT, PROJECT/BRANCH, projects/p/branches/b/endpoints/e), a postgresql:// URL or "key=value" string; ' +
            'left out: PG* variables, a Databricks App, LAKEBASE_ENDPOINT, or the local emulator',
        },
      ],
      options: connectOptions,
      details: [
        'With an instance name, the instance is looked up in the Databricks workspace (DATABRICKS_HOST and a token, OAuth, a profile, or ' +
          'the Databricks CLI login), a database token is minted for your identity, and the connection uses TLS. Tokens are refreshed in ' +
          'the background before they expire (see %lakebase token); open connections are never dropped.',
        'A Lakebase Autoscaling project connects to its default branch\'s read-write endpoint; PROJECT/BRANCH to that branch\'s; a full ' +
          'endpoint name to that endpoint. --read-only picks the branch\'s read-only endpoint, --pooled the pooled host. Tokens come from ' +
          'the endpoint\'s credentials, one refresher per identity and endpoint. A name that is both an instance and a project is asked ' +
          'about (or write projects/NAME, or --instance).',
        'With nothing: inside a Databricks App, its database or postgres resource (or the endpoint LAKEBASE_ENDPOINT names); else, when PG* variables are set, the server they name; else, ' +
          'without any Databricks configuration, the local Lakebase emulator (started in the background on first use) and its ' +
          'instance "local".',
        'Passwords do not belong on the magic line (they would be saved in the notebook): use PGPASSWORD or ~/.pgpass, or leave them out ' +
          'and you are asked for one when the server wants it.',
        'With --warehouse, a Databricks SQL warehouse (by id, by name, DATABRICKS_WAREHOUSE_ID, or the workspace\'s only one; without ' +
          'Databricks configuration, the local emulator\'s warehouse) is a connection like the others: the same sql magics, tables and ' +
          'typed --into, in Databricks SQL. A stopped warehouse is started, with a live status line.',
        'Connecting again under a name in use replaces that connection.',
      ],
      conflicts: [
        ['warehouse', 'host'],
        ['warehouse', 'port'],
        ['warehouse', 'database'],
        ['warehouse', 'user'],
        ['warehouse', 'sslmode'],
        ['warehouse', 'read-only'],
        ['warehouse', 'pooled'],
        ['warehouse', 'instance'],
        ['warehouse', 'local'],
        ['local', 'host'],
        ['local', 'port'],
        ['local', 'profile'],
        ['local', 'read-only'],
        ['local', 'user'],
        ['local', 'sslmode'],
        ['local', 'pooled'],
        ['local', 'instance'],
        ['instance', 'pooled'],
      ],
      examples: [
        '%lakebase connect',
        '%lakebase connect my-instance',
        '%lakebase connect my-instance --database app --as app',
        '%lakebase connect shop',
        '%lakebase connect shop/dev --read-only',
        '%lakebase connect projects/shop/branches/production/endpoints/primary --pooled',
        '%lakebase connect postgresql://me@localhost:5432/shop --as shop',
        '%lakebase connect -h localhost -p 5432 -d shop -U me',
        '%lakebase connect --warehouse',
        '%lakebase connect --warehouse 1234567890abcdef --as lakehouse',
      ],
      run: async ({ invocation, host, services }) => connect(invocation, host, services),
    },
    {
      name: 'connections',
      summary: 'List the connections: name, what they connect to, which is current, TLS, transaction state',
      positionals: [],
      options: [],
      examples: ['%lakebase connections'],
      async run({ services }) {
        return new TableOutput(
          ['name', 'current', 'kind', 'connection', 'tls', 'transaction'],
          services.connections.list().map((connection) => [
            connection.name,
            connection.current ? '*' : '',
            kindWords(services.connectionKinds.get(connection.name)),
            connection.description,
            connection.encrypted === undefined ? '' : connection.encrypted ? 'yes' : 'no',
            transactionWords(connection.transactionStatus),
          ]),
          'No connections. Connect with %lakebase connect (see %lakebase help connect).',
        );
      },
    },
    {
      name: 'use',
      summary: 'Make a named connection the current one',
      positionals: [{ name: 'NAME', summary: 'the connection to use', completes: 'connections' }],
      options: [],
      examples: ['%lakebase use analytics'],
      async run({ invocation, services }) {
        const [name] = invocation.positionals;
        const { session } = services.connections.use(name);
        return new TextOutput(`"${name}" is the current connection (${session.description}).`);
      },
    },
    {
      name: 'close',
      summary: 'Close a connection (the current one when none is named), or all of them',
      positionals: [{ name: 'NAME', summary: 'the connection to close; the current one when left out', optional: true, completes: 'connections' }],
      options: [{ name: 'all', kind: 'flag', summary: 'Close every connection' }],
      details: ['Closing a connection that is inside a transaction rolls the transaction back (the server does so when the session ends).'],
      examples: ['%lakebase close', '%lakebase close analytics', '%lakebase close --all'],
      async run({ invocation, host, services }) {
        const [named] = invocation.positionals;
        const { connections } = services;
        if (invocation.options.all === true) {
          if (named !== undefined) {
            throw new MagicUsageError(MAGIC_ERRORS.conflictingOptions, 'close: give either a NAME or --all, not both', {
              line: invocation.source.line,
            });
          }
          const names = connections.list().map((connection) => connection.name);
          for (const name of names) warnIfInTransaction(services, name, host);
          await connections.closeAll();
          services.connectionKinds.clear();
          services.connectionPlacements.clear();
          services.connectionInstances.clear();
          return new TextOutput(names.length === 0 ? 'No connections to close.' : `Closed ${names.map((name) => `"${name}"`).join(', ')}.`);
        }
        const name = named ?? connections.currentName;
        if (name === undefined) return new TextOutput('No current connection to close.');
        warnIfInTransaction(services, name, host);
        await connections.close(name);
        services.connectionKinds.delete(name);
        services.connectionPlacements.delete(name);
        services.connectionInstances.delete(name);
        const others = connections.list();
        const next =
          others.length === 0 ? '' : connections.currentName === undefined ? ` Choose the current one with %lakebase use NAME (${others.map((c) => c.name).join(', ')}).` : '';
        return new TextOutput(`Closed "${name}".${next}`);
      },
    },
  ],
};

async function connect(invocation: MagicInvocation, host: MagicHost, services: MagicServices): Promise<TextOutput> {
  const { connectors } = services;
  const [target] = invocation.positionals;
  const options = invocation.options;
  const signal = host.signal;
  const text = (name: string) => options[name] as string | undefined;

  const alias = text('as');
  if (alias !== undefined && !CONNECTION_NAME_RULE.test(alias)) {
    throw new MagicUsageError(MAGIC_ERRORS.invalidValue, `connect: --as "${alias}" cannot name a connection`, {
      line: invocation.source.line,
      hint: 'Use a letter or _ first, then letters, digits, _ or -, at most 63 characters (e.g. analytics or prod-ro).',
    });
  }

  let opened: OpenedConnection;
  const route = await chooseRoute(target, invocation, connectors, host);
  switch (route) {
    case 'postgres': {
      const connectionString = target;
      if (connectionString !== undefined) warnAboutTypedPassword(connectionString, host);
      opened = await connectors.postgres({
        connectionString,
        options: { host: text('host'), port: options.port as number | undefined, database: text('database'), user: text('user'), sslmode: text('sslmode') },
        askPassword: (prompt) => askPassword(services, prompt),
        signal,
      });
      break;
    }
    case 'project':
      opened = await connectors.project({
        target: target!,
        database: text('database'),
        user: text('user'),
        profile: text('profile'),
        readOnly: options['read-only'] === true,
        pooled: options.pooled === true,
        signal,
      });
      break;
    case 'instance':
      opened = await connectors.instance({
        instance: target!,
        database: text('database'),
        user: text('user'),
        profile: text('profile'),
        readOnly: options['read-only'] === true,
        signal,
      });
      break;
    case 'app':
      opened = await connectors.app({ signal });
      break;
    case 'warehouse': {
      let line: StatusLine | undefined;
      try {
        opened = await connectors.warehouse({
          ...(target !== undefined ? { warehouse: target } : {}),
          profile: text('profile'),
          onStarting: (name) => {
            line = startStatusLine(host, { subject: `warehouse ${name}`, action: 'start', state: 'STARTING', waitingFor: 'the warehouse to start', operation: 'the start' });
          },
          onProgress: (state, detail) => line?.waiting({ state, ...(detail !== undefined ? { detail } : {}) }),
          signal,
        });
        line?.done('RUNNING');
      } catch (error) {
        if (error instanceof WaitStoppedError) line?.stopped('interrupted');
        else line?.failed(error instanceof Error ? error.message : String(error));
        throw error;
      }
      break;
    }
    case 'embedded':
      opened = await connectors.embedded({
        database: text('database'),
        onProgress: (message) => host.stderr(`lakebase: ${message}\n`),
        signal,
      });
      break;
    default: {
      const unknownRoute: never = route;
      throw new Error(`unknown connect route ${String(unknownRoute)}`);
    }
  }

  const name = alias ?? connectionNameFrom(opened.defaultName);
  const { connections } = services;
  const replacing = connections.has(name);
  if (replacing) warnIfInTransaction(services, name, host);
  try {
    // Connecting again under a name in use (re-running a notebook's connect cell) replaces it.
    await connections.open(name, opened.session, { replace: true });
  } catch (error) {
    // The name was refused: do not leave the new session open behind the user's back.
    await opened.session.close();
    throw error;
  }
  services.connectionKinds.set(name, opened.kind);
  if (opened.autoscaling) services.connectionPlacements.set(name, opened.autoscaling);
  else services.connectionPlacements.delete(name);
  if (opened.instance !== undefined) services.connectionInstances.set(name, opened.instance);
  else services.connectionInstances.delete(name);
  const replaced = replacing ? ' (replacing the earlier connection of that name)' : '';
  const where = opened.autoscaling ? ` (endpoint ${opened.autoscaling.endpoint})` : '';
  const tokens =
    opened.identity === undefined ? '' : ` Logged in as ${opened.identity} with a database token, refreshed in the background (%lakebase token).`;
  return new TextOutput(`Connected "${name}" to ${opened.session.description}${where}${replaced}; it is the current connection.${tokens}`);
}

type Route = 'postgres' | 'instance' | 'project' | 'app' | 'embedded' | 'warehouse';

/** Where `connect` goes (see the order at the top of this file), refusing options that do not apply there. */
async function chooseRoute(target: string | undefined, invocation: MagicInvocation, connectors: Connectors, host: MagicHost): Promise<Route> {
  const given = (names: readonly string[]) => names.filter((name) => name in invocation.options);
  const refuse = (names: readonly string[], where: string) => {
    const wrong = given(names);
    if (wrong.length > 0) {
      throw new MagicUsageError(MAGIC_ERRORS.conflictingOptions, `connect: ${wrong.map((n) => `--${n}`).join(', ')} cannot be used ${where}`, {
        line: invocation.source.line,
        hint: 'See %lakebase help connect.',
      });
    }
  };
  // A warehouse by id or name (names have spaces; ids are hex): any TARGET, or none.
  if (invocation.options.warehouse === true) return 'warehouse';
  if (target !== undefined) {
    if (CONNECTION_STRING.test(target)) {
      refuse([...instanceOnly, ...projectOnly, 'instance', 'local'], 'with a PostgreSQL URL');
      return 'postgres';
    }
    if (target.includes('/')) {
      refuse([...postgresOnly, 'instance', 'local'], 'with a project, branch or endpoint (its host comes from the workspace)');
      return 'project';
    }
    if (!INSTANCE_NAME.test(target)) {
      throw new MagicUsageError(MAGIC_ERRORS.invalidValue, `connect: "${target}" is neither a postgresql:// URL nor an instance or project name`, {
        line: invocation.source.line,
        hint: 'Instance and project names have letters, digits and hyphens (PROJECT/BRANCH for a branch). For a server, write a URL (postgresql://user@host:5432/db) or use --host and --port.',
      });
    }
    refuse([...postgresOnly, 'local'], 'with an instance or a project (its host comes from the workspace)');
    if (invocation.options.instance === true || !PROJECT_ID.test(target)) {
      refuse(projectOnly, 'with a Provisioned instance (it has no pooled host)');
      return 'instance';
    }
    return nameRoute(target, invocation, connectors, host);
  }
  if (given(postgresOnly).length > 0) {
    refuse(instanceOnly, 'with --host, --port or --sslmode (they are for a PostgreSQL server, not an instance)');
    return 'postgres';
  }
  if (invocation.options.local === true) return 'embedded';
  if (connectors.isDatabricksApp() || connectors.hasLakebaseEndpoint()) {
    refuse([...instanceOnly, ...projectOnly, 'instance', 'database', 'user'], 'inside a Databricks App or with LAKEBASE_ENDPOINT (the environment sets them)');
    return 'app';
  }
  if (connectors.hasPgEnvironment()) {
    refuse(instanceOnly, 'with the PG* variables (name the instance to connect to one)');
    return 'postgres';
  }
  if (await connectors.hasDatabricksConfig(invocation.options.profile as string | undefined)) {
    throw new LakebaseError(CONNECT_ERRORS.instanceRequired, 'Databricks is configured, so connect needs the name of a Lakebase instance.', {
      hint: 'Write %lakebase connect INSTANCE (%lakebase instance list shows them), or %lakebase connect --local for the local emulator.',
    });
  }
  refuse([...instanceOnly, ...projectOnly, 'instance', 'user'], 'with the local emulator (it logs in as its own user)');
  return 'embedded';
}

/**
 * A bare name: a Provisioned instance still goes the Provisioned way, a project the Autoscaling
 * way; a name that is both (an upgraded instance keeps its name) is asked about through the
 * client's input prompt, or refused with the two ways to say which where nobody can answer.
 */
async function nameRoute(name: string, invocation: MagicInvocation, connectors: Connectors, host: MagicHost): Promise<Route> {
  const kinds = await connectors.nameKinds(name, invocation.options.profile as string | undefined);
  const pooled = invocation.options.pooled === true;
  if (kinds.instance && !kinds.project) {
    if (pooled) throw new MagicUsageError(MAGIC_ERRORS.conflictingOptions, `connect: ${name} is a Provisioned instance, which has no pooled host`, { line: invocation.source.line });
    return 'instance';
  }
  if (kinds.project && !kinds.instance) return 'project';
  if (!kinds.project && !kinds.instance) {
    throw new LakebaseError(CONNECT_ERRORS.nameNotFound, `There is neither a database instance nor an Autoscaling project named ${name}.`, {
      hint: 'List them with %lakebase project list (Autoscaling) and %lakebase instance list (Provisioned); create a project with %lakebase project create NAME.',
    });
  }
  const choices = `Write "%lakebase connect projects/${name}" for the project, or "%lakebase connect ${name} --instance" for the instance.`;
  let answer: string;
  try {
    answer = (await host.input(`${name} is both a Provisioned instance and an Autoscaling project. Connect to which? [instance/project] `, { password: false })).trim().toLowerCase();
  } catch (error) {
    throw new LakebaseError(CONNECT_ERRORS.ambiguousName, `${name} is both a Provisioned instance and an Autoscaling project.`, { hint: choices, cause: error });
  }
  if (answer === 'instance' || answer === 'i') return 'instance';
  if (answer === 'project' || answer === 'p') return 'project';
  throw new LakebaseError(CONNECT_ERRORS.ambiguousName, `"${answer}" is neither instance nor project, so ${name} stays ambiguous.`, { hint: choices });
}

/** The psql-like prompt, through the cell that is running when the server asks. */
async function askPassword(services: MagicServices, prompt: string): Promise<string> {
  const host = services.currentHost();
  if (host === undefined) {
    throw new LakebaseError(CONNECT_ERRORS.noPrompt, 'The server asks for a password, and no cell is running to ask in.', {
      hint: 'Set PGPASSWORD or add the password to ~/.pgpass.',
    });
  }
  try {
    return await host.input(prompt, { password: true });
  } catch (error) {
    throw new LakebaseError(CONNECT_ERRORS.noPrompt, 'The server asks for a password, and this client cannot be asked for one.', {
      hint: 'Set PGPASSWORD or add the password to ~/.pgpass (headless runs and clients without stdin cannot prompt).',
      cause: error,
    });
  }
}

/** A password typed on the magic line is saved in the notebook: say so (without repeating it). */
function warnAboutTypedPassword(connectionString: string, host: MagicHost): void {
  if (parseConnectionString(connectionString).password === undefined) return;
  host.stderr(
    'lakebase: warning: the connection string on this line holds a password, which is saved with the notebook. ' +
      'Use PGPASSWORD or ~/.pgpass instead, or leave it out to be asked.\n',
  );
}

/** A database or instance name made into a connection name (`my.db` → `my_db`, `1st` → `_1st`). */
export function connectionNameFrom(base: string): string {
  const name = base.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 63);
  return CONNECTION_NAME_RULE.test(name) ? name : `_${name}`.slice(0, 63);
}

function warnIfInTransaction(services: MagicServices, name: string, host: MagicHost): void {
  const connection = services.connections.list().find((candidate) => candidate.name === name);
  if (connection !== undefined && connection.transactionStatus !== 'idle') {
    host.stderr(`lakebase: "${name}" was inside a transaction; closing it rolls the transaction back\n`);
  }
}

function kindWords(kind: ConnectionKind | undefined): string {
  switch (kind) {
    case 'postgres':
      return 'PostgreSQL';
    case 'instance':
      return 'Lakebase instance';
    case 'app':
      return 'Lakebase (app resource)';
    case 'embedded':
      return 'local emulator';
    case 'warehouse':
      return 'SQL warehouse';
    case 'project':
      return 'Lakebase Autoscaling';
    case undefined:
      return '';
    default: {
      const unknownKind: never = kind;
      throw new Error(`unknown connection kind ${String(unknownKind)}`);
    }
  }
}
