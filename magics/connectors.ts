// The ways `%lakebase connect` opens a session, one per kind of target, each ending in a
// `SqlSession` (lakebase/contracts.ts). The connect verb decides WHICH way from what the user typed
// and the environment; these functions know HOW, by calling the core library. Injected, so tests
// can point them at a throwaway server, a test environment and an in-process emulator.
//
// The Databricks SDK and the emulator are loaded on first use: a kernel that only talks to
// PostgreSQL never pays for them, and the kernel starts faster (issue 2: start under 1 s).
import type { AutoscalingApi } from '../lakebase/autoscaling';
import type { SqlSession } from '../lakebase/contracts';
import type { RefresherRegistry } from '../lakebase/credentials';
import { sharedRefreshers } from '../lakebase/credentials';
import type { EmbeddedConnectOptions, EmbeddedWorkspace } from '../lakebase/embedded';
import type { EndpointConnection } from '../lakebase/endpoint';
import type { InstanceConnection } from '../lakebase/instance';
import type { Workspace } from '../lakebase/workspace';
import { LakebaseError } from '../lakebase/errors';
import { isDatabricksAppEnvironment } from '../lakebase/apps';
import { openSession } from '../lakebase/session';
import { hasPgEnvironment, processEnvironment, resolveTarget, TargetEnvironment, TargetOptions } from '../lakebase/targets';

/** What kind of server a connection goes to, in the user's words (shown by `connections`). */
export type ConnectionKind = 'postgres' | 'instance' | 'app' | 'embedded' | 'project' | 'warehouse';

/** Where an Autoscaling connection is, so the branch workflow can move it to another branch and back. */
export interface AutoscalingPlacement {
  endpoint: string;
  branch: string;
  project: string;
  database: string;
  user: string;
  readOnly: boolean;
  pooled: boolean;
  profile?: string;
  /** Where the connection was before `branch create --connect` moved it; `branch delete` moves it back. */
  returnTo?: AutoscalingPlacement;
}

/** A session just opened, with what the connect verb tells the user about it. */
export interface OpenedConnection {
  session: SqlSession;
  kind: ConnectionKind;
  /** The connection's name when the user gives none (`--as`): the instance or database name. */
  defaultName: string;
  /** The Databricks identity whose tokens log in, for Lakebase instances. */
  identity?: string;
  /** Set for connections to Lakebase Autoscaling endpoints. */
  autoscaling?: AutoscalingPlacement;
  /** The Provisioned instance a connection goes to (for `instance stop` to know it is in use). */
  instance?: string;
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

/** A Lakebase Autoscaling endpoint: `PROJECT`, `PROJECT/BRANCH` or `projects/p/branches/b[/endpoints/e]`. */
export interface ProjectTarget {
  target: string;
  database?: string;
  user?: string;
  profile?: string;
  readOnly?: boolean;
  pooled?: boolean;
  signal?: AbortSignal;
}

/** The workspace verbs and connections talk to: the configured one, or the local emulator. */
export interface WorkspaceChoice {
  workspace: Workspace;
  /** The local emulator (no Databricks configuration): its CA and user apply. */
  embedded?: EmbeddedWorkspace;
}

export interface WarehouseTarget {
  /** Id or name; default DATABRICKS_WAREHOUSE_ID, else the workspace's only warehouse. */
  warehouse?: string;
  profile?: string;
  /** A stopped warehouse is being started (the connect verb shows a live status line). */
  onStarting?: (name: string) => void;
  onProgress?: (state: string, detail?: string) => void;
  signal?: AbortSignal;
}

export interface Connectors {
  /** A Databricks SQL warehouse (the local emulator's without Databricks configuration). */
  warehouse(target: WarehouseTarget): Promise<OpenedConnection>;
  /**
   * The workspace the verbs (warehouses, synced tables, instances, roles, catalogs) talk to: the
   * configured one (`--profile`), or the local emulator when nothing is configured, as connections do.
   */
  workspace(profile?: string): Promise<WorkspaceChoice>;
  /** Any PostgreSQL: a URL or `key=value` string, options, the `PG*` variables, libpq defaults. */
  postgres(target: PostgresTarget): Promise<OpenedConnection>;
  /** A Lakebase instance by name, in the configured Databricks workspace. */
  instance(target: InstanceTarget): Promise<OpenedConnection>;
  /** A Lakebase Autoscaling endpoint, in the configured workspace or the local emulator. */
  project(target: ProjectTarget): Promise<OpenedConnection>;
  /** Whether `name` is a Provisioned instance, an Autoscaling project, both or neither. */
  nameKinds(name: string, profile?: string): Promise<{ instance: boolean; project: boolean }>;
  /** The Autoscaling API of the configured workspace, or of the local emulator without one. */
  autoscaling(profile?: string): Promise<{ api: AutoscalingApi; embedded: boolean }>;
  /**
   * Inside a Databricks App: the instance of the app's `database` resource, or the endpoint of its
   * `postgres` resource (found by `PGHOST`, or named by `LAKEBASE_ENDPOINT`).
   */
  app(options: { signal?: AbortSignal }): Promise<OpenedConnection>;
  /** `LAKEBASE_ENDPOINT` names an Autoscaling endpoint (as `@databricks/lakebase` reads it). */
  hasLakebaseEndpoint(): boolean;
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
    return { session, kind, defaultName: connection.instanceName, identity: connection.refresher.identity, instance: connection.instanceName };
  }

  async function openEndpointSession(connection: EndpointConnection, kind: ConnectionKind, profile: string | undefined, signal?: AbortSignal): Promise<OpenedConnection> {
    const session = await connection.openSession({ signal });
    const [, project, , branch] = connection.branchName.split('/');
    return {
      session,
      kind,
      // `shop` on the default branch's read-write endpoint, `shop-dev` on branch dev.
      defaultName: connection.readOnly ? `${project}-${branch}-ro` : branch === 'production' ? project : `${project}-${branch}`,
      identity: connection.refresher.identity,
      autoscaling: {
        endpoint: connection.endpointName,
        branch: connection.branchName,
        project: connection.projectName,
        database: connection.database,
        user: connection.user,
        readOnly: connection.readOnly,
        pooled: connection.pooled,
        ...(profile !== undefined ? { profile } : {}),
      },
    };
  }

  let embeddedWorkspace: Promise<EmbeddedWorkspace> | undefined;
  /** The configured workspace, or, with no Databricks configuration at all, the local emulator. */
  async function workspaceFor(profile: string | undefined): Promise<WorkspaceChoice> {
    const { hasDatabricksConfig, openWorkspace } = await import('../lakebase/workspace.js');
    if (await hasDatabricksConfig({ env, profile })) return { workspace: await openWorkspace({ profile, env }) };
    const { openEmbeddedWorkspace } = await import('../lakebase/embedded.js');
    embeddedWorkspace ??= openEmbeddedWorkspace(options.embedded ?? {});
    // A failed start is not kept: the next call tries again.
    embeddedWorkspace.catch(() => (embeddedWorkspace = undefined));
    const embedded = await embeddedWorkspace;
    return { workspace: embedded.workspace, embedded };
  }

  return {
    async warehouse(target) {
      const { connectWarehouse } = await import('../lakebase/warehouse/warehouses.js');
      const { workspace, embedded } = await workspaceFor(target.profile);
      const { readFile } = await import('node:fs/promises');
      const { session, warehouse } = await connectWarehouse({
        workspace,
        env: embedded ? {} : env,
        ...(target.warehouse !== undefined ? { warehouse: target.warehouse } : {}),
        ...(embedded ? { caCert: await readFile(embedded.emulator.caCertPath) } : {}),
        onStarting: (found) => target.onStarting?.(found.name ?? found.id ?? 'warehouse'),
        onProgress: (progress) => target.onProgress?.(progress.state, progress.detail),
        ...(target.signal ? { signal: target.signal } : {}),
      });
      return { session, kind: 'warehouse', defaultName: warehouse.name ?? warehouse.id ?? 'warehouse' };
    },
    workspace: (profile) => workspaceFor(profile),
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
      // With no Databricks configuration, instance names are the local emulator's.
      const { workspace, embedded } = await workspaceFor(target.profile);
      const connection = await connectInstance({
        instance: target.instance,
        database: target.database,
        user: target.user ?? embedded?.userName,
        profile: target.profile,
        readOnly: target.readOnly,
        workspace,
        env: embedded ? {} : env,
        refreshers,
        ...(embedded ? { sslmode: 'verify-full' as const, sslRootCert: embedded.emulator.caCertPath } : {}),
      });
      return openInstanceSession(connection, 'instance', target.signal);
    },
    async project(target) {
      const { connectEndpoint, parseEndpointTarget } = await import('../lakebase/endpoint.js');
      const parsed = parseEndpointTarget(target.target);
      if (!parsed) {
        throw new LakebaseError('PROJECT_TARGET_INVALID', `"${target.target}" names no project, branch or endpoint.`, {
          hint: 'Write PROJECT, PROJECT/BRANCH or projects/PROJECT/branches/BRANCH/endpoints/ENDPOINT (lowercase letters, digits and hyphens).',
        });
      }
      const { workspace, embedded } = await workspaceFor(target.profile);
      const connection = await connectEndpoint({
        target: parsed,
        workspace,
        env: embedded ? {} : env,
        refreshers,
        ...(target.database !== undefined ? { database: target.database } : {}),
        ...(target.user !== undefined ? { user: target.user } : embedded ? { user: embedded.userName } : {}),
        readOnly: target.readOnly === true,
        pooled: target.pooled === true,
        ...(embedded ? { sslmode: 'verify-full' as const, sslRootCert: embedded.emulator.caCertPath } : {}),
      });
      return openEndpointSession(connection, 'project', target.profile, target.signal);
    },
    async nameKinds(name, profile) {
      const { workspace } = await workspaceFor(profile);
      const { autoscalingApi } = await import('../lakebase/autoscaling.js');
      const exists = (lookup: Promise<unknown>, missing: string) =>
        lookup.then(
          () => true,
          (error: unknown) => {
            if (error instanceof LakebaseError && error.code === missing) return false;
            throw error;
          },
        );
      const [instance, project] = await Promise.all([
        exists(workspace.getInstance(name), 'INSTANCE_NOT_FOUND'),
        exists(autoscalingApi(workspace).getProject(`projects/${name}`), 'PROJECT_NOT_FOUND'),
      ]);
      return { instance, project };
    },
    async autoscaling(profile) {
      const { workspace, embedded } = await workspaceFor(profile);
      const { autoscalingApi } = await import('../lakebase/autoscaling.js');
      return { api: autoscalingApi(workspace), embedded: embedded !== undefined };
    },
    async app({ signal }) {
      const { connectAppEndpoint } = await import('../lakebase/endpoint.js');
      if (env.LAKEBASE_ENDPOINT) {
        const connection = await connectAppEndpoint({ env, refreshers });
        if (connection) return openEndpointSession(connection, 'app', undefined, signal);
      }
      const { connectFromAppEnvironment } = await import('../lakebase/apps.js');
      try {
        return await openInstanceSession(await connectFromAppEnvironment({ env, refreshers }), 'app', signal);
      } catch (error) {
        // An app's `postgres` resource (Autoscaling) has the same variables: look for the endpoint.
        if (!(error instanceof LakebaseError && error.code === 'APP_INSTANCE_NOT_FOUND')) throw error;
        const connection = await connectAppEndpoint({ env, refreshers });
        if (!connection) {
          throw new LakebaseError('APP_DATABASE_NOT_FOUND', `No database instance and no Autoscaling endpoint in the workspace has the host ${env.PGHOST} (PGHOST).`, {
            hint: "Check the app's database or postgres resource, and that its service principal may use it (CAN_CONNECT_AND_CREATE).",
            cause: error,
          });
        }
        return openEndpointSession(connection, 'app', undefined, signal);
      }
    },
    hasLakebaseEndpoint: () => Boolean(env.LAKEBASE_ENDPOINT),
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
