// The ways `%lakebase connect` opens a session, one per kind of target, each ending in a
// `SqlSession` (lakebase/contracts.ts). The connect verb decides WHICH way from what the user typed
// and the environment; these functions know HOW, by calling the core library. Injected, so tests
// can point them at a throwaway server, a test environment and an in-process emulator.
//
// The Databricks SDK and the emulator are loaded on first use: a kernel that only talks to
// PostgreSQL never pays for them, and the kernel starts faster (issue 2: start under 1 s).
import type { SqlSession } from '../lakebase/contracts';
import type { RefresherRegistry } from '../lakebase/credentials';
import { sharedRefreshers } from '../lakebase/credentials';
import type { EmbeddedConnectOptions } from '../lakebase/embedded';
import type { InstanceConnection } from '../lakebase/instance';
import { isDatabricksAppEnvironment } from '../lakebase/apps';
import { openSession } from '../lakebase/session';
import { hasPgEnvironment, processEnvironment, resolveTarget, TargetEnvironment, TargetOptions } from '../lakebase/targets';

/** What kind of server a connection goes to, in the user's words (shown by `connections`). */
export type ConnectionKind = 'postgres' | 'instance' | 'app' | 'embedded';

/** A session just opened, with what the connect verb tells the user about it. */
export interface OpenedConnection {
  session: SqlSession;
  kind: ConnectionKind;
  /** The connection's name when the user gives none (`--as`): the instance or database name. */
  defaultName: string;
  /** The Databricks identity whose tokens log in, for Lakebase instances. */
  identity?: string;
}

export interface PostgresTarget {
  /** A `postgres://` URL or a libpq `key=value` string, as typed. */
  connectionString?: string;
  options: TargetOptions;
  /** Asked once when the server wants a password and none is configured. */
  askPassword: (prompt: string) => Promise<string>;
  signal?: AbortSignal;
}

export interface InstanceTarget {
  instance: string;
  database?: string;
  user?: string;
  profile?: string;
  readOnly?: boolean;
  signal?: AbortSignal;
}

export interface Connectors {
  /** Any PostgreSQL: a URL or `key=value` string, options, the `PG*` variables, libpq defaults. */
  postgres(target: PostgresTarget): Promise<OpenedConnection>;
  /** A Lakebase instance by name, in the configured Databricks workspace. */
  instance(target: InstanceTarget): Promise<OpenedConnection>;
  /** Inside a Databricks App: the instance of the app's database resource (`PGHOST`). */
  app(options: { signal?: AbortSignal }): Promise<OpenedConnection>;
  /** The embedded default: the local emulator's default instance. */
  embedded(options: { database?: string; onProgress: (message: string) => void; signal?: AbortSignal }): Promise<OpenedConnection>;
  /** The environment has a Databricks App's database variables. */
  isDatabricksApp(): boolean;
  /** The `PG*` variables say where to connect. */
  hasPgEnvironment(): boolean;
  /** Some Databricks configuration (environment or config file) is present. */
  hasDatabricksConfig(profile?: string): Promise<boolean>;
}

export interface ConnectorOptions {
  /** Where `PG*`, `DATABRICKS_*` and app variables are read from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** The refreshers of Lakebase tokens; default the process-wide registry. */
  refreshers?: RefresherRegistry;
  /** For the embedded default: the emulator's data directory, or an emulator to use (tests). */
  embedded?: Pick<EmbeddedConnectOptions, 'dataDir' | 'ensureEmulator' | 'instance'>;
}

/** The connectors of the core library. */
export function createConnectors(options: ConnectorOptions = {}): Connectors {
  const env = options.env ?? process.env;
  const refreshers = options.refreshers ?? sharedRefreshers;
  const environment: TargetEnvironment = { ...processEnvironment, env };

  async function openInstanceSession(connection: InstanceConnection, kind: ConnectionKind, signal?: AbortSignal): Promise<OpenedConnection> {
    // The connection's own openSession explains login failures in Lakebase terms (stopped
    // instance, missing role, wrong identity), also when the session reconnects later.
    const session = await connection.openSession({ signal });
    return { session, kind, defaultName: connection.instanceName, identity: connection.refresher.identity };
  }

  return {
    async postgres(target) {
      const resolved = resolveTarget(
        { connectionString: target.connectionString, options: target.options, askPassword: target.askPassword },
        environment,
      );
      const session = await openSession({
        config: resolved.config,
        description: resolved.description,
        sslFallback: resolved.sslFallback,
        signal: target.signal,
      });
      return { session, kind: 'postgres', defaultName: String(resolved.config.database) };
    },
    async instance(target) {
      const { connectInstance } = await import('../lakebase/instance.js');
      const connection = await connectInstance({
        instance: target.instance,
        database: target.database,
        user: target.user,
        profile: target.profile,
        readOnly: target.readOnly,
        env,
        refreshers,
      });
      return openInstanceSession(connection, 'instance', target.signal);
    },
    async app({ signal }) {
      const { connectFromAppEnvironment } = await import('../lakebase/apps.js');
      return openInstanceSession(await connectFromAppEnvironment({ env, refreshers }), 'app', signal);
    },
    async embedded({ database, onProgress, signal }) {
      const { connectEmbedded } = await import('../lakebase/embedded.js');
      const connection = await connectEmbedded({ ...options.embedded, database, refreshers, onProgress });
      return openInstanceSession(connection, 'embedded', signal);
    },
    isDatabricksApp: () => isDatabricksAppEnvironment(env),
    hasPgEnvironment: () => hasPgEnvironment(env),
    async hasDatabricksConfig(profile) {
      const { hasDatabricksConfig } = await import('../lakebase/workspace.js');
      return hasDatabricksConfig({ env, profile });
    },
  };
}
