// The magics as the kernel sees them: plan a cell, run a magic, complete and inspect magic lines.
// Everything the verbs need is injected (`MagicsDeps`); the kernel supplies a `MagicHost` per cell.
import { ConnectionRegistry } from '../lakebase/connections';
import { RefresherRegistry, sharedRefreshers } from '../lakebase/credentials';
import { CatalogCache } from '../lakebase/sql/catalog';
import { completeSql, inspectSql } from '../lakebase/sql/completion';
import { parameterNames } from '../lakebase/sql/parameters';
import type { SqlDialect } from '../lakebase/sql/lexer';
import { CellPlan, createCellPlanner, MAGIC_FUNCTION } from './cell-plan';
import { AsyncCompletionCandidates, completeMagic, completeMagicAsync, CompletionCandidates, CompletionResult, inspectMagic, sqlTextAt } from './completion';
import { createConnectors, Connectors, ConnectionKind } from './connectors';
import type { CompletionLookup, CompletionSource, MagicInvocation, MagicMode, OptionValue, VerbFamily } from './declarations';
import { parseInvocation } from './grammar';
import type { MagicHost } from './host';
import { createVerbRegistry } from './registry';
import type { MagicServices } from './services';
import { createSettings, SETTINGS } from './settings';
import { VARIABLE_REFERENCE } from './verbs/workspace-verbs';
import { catalogFamily } from './verbs/catalog';
import { configFamily } from './verbs/config';
import { credentialFamily } from './verbs/credential';
import { instanceFamily } from './verbs/instance';
import { roleFamily } from './verbs/role';
import { connectionsFamily } from './verbs/connections';
import { helpFamily } from './verbs/help';
import { projectsFamily } from './verbs/projects';
import { sqlFamily } from './verbs/sql';
import { syncFamily } from './verbs/sync';
import { syncedTableFamily } from './verbs/synced-tables';
import { tokenFamily } from './verbs/token';
import { warehouseFamily } from './verbs/warehouse';
import { SHARED_RESULT_TYPES } from './verbs/workspace-verbs';

export type { CellPlan } from './cell-plan';
export type { CompletionResult } from './completion';
export type { MagicInvocation, MagicMode, VerbFamily, VerbDeclaration } from './declarations';
export type { MagicHost } from './host';
export type { MagicServices } from './services';
export { MAGIC_FUNCTION } from './cell-plan';

/** How long Tab waits for names looked up in the workspace before offering what it has. */
const COMPLETION_LOOKUP_BUDGET_MS = 1_500;

/** The verb families every kernel has, in the order `%lakebase help` lists them. */
export const DEFAULT_FAMILIES: readonly VerbFamily<MagicServices>[] = [
  sqlFamily,
  connectionsFamily,
  projectsFamily,
  syncFamily,
  syncedTableFamily,
  tokenFamily,
  configFamily,
  warehouseFamily,
  instanceFamily,
  roleFamily,
  catalogFamily,
  credentialFamily,
  helpFamily,
];

export interface MagicsDeps {
  /** Named sessions; default a new, empty registry. */
  connections?: ConnectionRegistry;
  /** How connect opens sessions; default the core library's, on `process.env`. */
  connectors?: Connectors;
  /**
   * Token refreshers, for `%lakebase token` and to stop on `close()`; default the process-wide
   * registry, which the default connectors also use.
   */
  refreshers?: Pick<RefresherRegistry, 'list' | 'stopAll'>;
  /** Settings that differ from the defaults, e.g. `{ 'display-limit': 50 }`. */
  settings?: Readonly<Record<string, OptionValue>>;
  /**
   * More verb families (`instance`, `catalog`, `sync`), registered after the default ones: they
   * parse, complete and appear in help exactly like them.
   */
  families?: readonly VerbFamily<MagicServices>[];
  /**
   * Names the kernel defines for every cell (`display`, ...): `--into` refuses them. The magics'
   * own `lakebase$magic` is always reserved.
   */
  reservedNames?: readonly string[];
}

/** How the kernel runs a magic: with captured TypeScript values, and a mode that overrides the invocation's. */
export interface RunContext {
  variables?: Readonly<Record<string, unknown>>;
  mode?: MagicMode;
}

export interface Magics {
  /** Splits a cell into TypeScript and magics (see `CellPlan`); throws `MagicUsageError`. */
  planCell(source: string): CellPlan;
  /**
   * Runs one magic of a planned cell. The value is the magic's last result in `cell` and
   * `expression` modes (undefined in `statement` mode, where everything is displayed).
   */
  run(invocation: MagicInvocation, host: MagicHost, context?: RunContext): Promise<{ value?: unknown }>;
  /**
   * Completion on a magic line; null elsewhere (the kernel then asks TypeScript). Names that must
   * be looked up (instances in the workspace) are offered only when already cached: use
   * `completeAsync` to wait for them.
   */
  complete(code: string, cursor: number): CompletionResult | null;
  /** The same, waiting (briefly) for names looked up in the workspace. */
  completeAsync(code: string, cursor: number): Promise<CompletionResult | null>;
  /**
   * Completion in a magic's SQL text (names from the connection's catalog, keywords, `:name`
   * from `variables`); null when the cursor is not in SQL text.
   */
  completeSql(code: string, cursor: number, variables: readonly string[]): Promise<CompletionResult | null>;
  /** What the table, view or column under the cursor in a magic's SQL text is; null elsewhere. */
  inspectSql(code: string, cursor: number): Promise<string | null>;
  /** Help for the verb or option under the cursor on a magic line; null elsewhere. */
  inspect(code: string, cursor: number): string | null;
  /** The TypeScript a mixed cell becomes, for completion around its magics (see `CellPlanner`). */
  mapToTypeScript(code: string, cursor: number): { code: string; cursor: number } | null;
  /** Closes every connection and stops the token refreshers (kernel shutdown). */
  close(): Promise<void>;
  /**
   * TypeScript declarations of the verbs' result types (`interface LakebaseInstance { ... }`),
   * for the kernel's prelude, so that a magic's value stored in a variable is typed.
   */
  typeDeclarations(): string;
}

export function createMagics(deps: MagicsDeps = {}): Magics {
  const verbs = createVerbRegistry<MagicServices>([...DEFAULT_FAMILIES, ...(deps.families ?? [])]);
  let runningHost: MagicHost | undefined;
  const refreshers = deps.refreshers ?? sharedRefreshers;
  const services: MagicServices = {
    connections:
      deps.connections ??
      new ConnectionRegistry({
        howToConnect: 'Connect with %lakebase connect (see %lakebase help connect).',
        howToUse: 'Pick one with %lakebase use {name}.',
      }),
    connectors: deps.connectors ?? createConnectors(),
    connectionKinds: new Map<string, ConnectionKind>(),
    connectionPlacements: new Map(),
    connectionInstances: new Map<string, string>(),
    settings: createSettings(deps.settings),
    catalogs: new CatalogCache(),
    refreshers,
    verbs,
    currentHost: () => runningHost,
  };
  // The families' result types go in the kernel's prelude; a variable of one of their names
  // (`--into LakebaseInstance`) would shadow it.
  const typeDeclarations = [SHARED_RESULT_TYPES, ...verbs.families.map((family) => family.typeDeclarations)]
    .map((text) => text?.trim())
    .filter((text): text is string => Boolean(text))
    .join('\n');
  const typeNames = [...typeDeclarations.matchAll(/^(?:interface|type)\s+([A-Za-z_$][\w$]*)/gm)].map((match) => match[1]);
  const reservedNames = new Set([MAGIC_FUNCTION, ...typeNames, ...(deps.reservedNames ?? [])]);
  /** The SQL dialect of the connection a magic runs on (`--on`, else the current one), as far as it is known yet. */
  const dialectFor = (invocation: MagicInvocation): SqlDialect => {
    const name = typeof invocation.options.on === 'string' ? invocation.options.on : services.connections.currentName;
    return (name !== undefined && services.connections.has(name) ? services.connections.get(name).session.dialect : undefined) ?? 'postgres';
  };
  const planner = createCellPlanner({
    parse: (magic, mode) => parseInvocation(verbs, magic, mode, reservedNames),
    resultType: (invocation) => {
      const type = verbs.get(invocation.verb)?.resultType;
      return typeof type === 'function' ? type(invocation) : type;
    },
    capturedNames: (invocation) => [
      ...(verbs.get(invocation.verb)?.text !== undefined && invocation.text !== undefined ? parameterNames(invocation.text, dialectFor(invocation)) : []),
      // `--stdin VAR` names a value as `:name` does: captured from the surrounding TypeScript scope.
      ...(typeof invocation.options.stdin === 'string' ? [invocation.options.stdin] : []),
      // So does an option given as `:name` (`--at :before`), read by `optionValue`.
      ...Object.values(invocation.options).flatMap((value) => (typeof value === 'string' && VARIABLE_REFERENCE.test(value) ? [value.slice(1)] : [])),
    ],
  });
  // Completion sources the families provide (instance names, roles, catalogs), by name.
  const lookups = new Map<string, CompletionLookup<MagicServices>>();
  for (const family of verbs.families) for (const [name, lookup] of Object.entries(family.completionSources ?? {})) lookups.set(name, lookup);
  const localCandidates = (source: CompletionSource): readonly string[] | undefined => {
    switch (source) {
      case 'connections':
        return services.connections.list().map((connection) => connection.name);
      case 'verbs':
        return verbs.words();
      case 'settings':
        return SETTINGS.map((setting) => setting.name);
      default:
        return undefined;
    }
  };
  /** Sources that need a lookup answer nothing here; completeAsync waits for them. */
  const candidates: CompletionCandidates = (source, context) => {
    const local = localCandidates(source);
    if (local !== undefined) return local;
    const looked = lookups.get(source)?.(services, context);
    if (looked === undefined || !Array.isArray(looked)) {
      // A lookup that went to the network is not awaited by the synchronous path.
      (looked as Promise<unknown> | undefined)?.catch?.(() => undefined);
      return [];
    }
    return looked;
  };
  const asyncCandidates: AsyncCompletionCandidates = async (source, context) => {
    const local = localCandidates(source);
    if (local !== undefined) return local;
    const lookup = lookups.get(source);
    if (lookup === undefined) return [];
    // Completion must stay snappy: a workspace that answers slowly (or not at all) gives nothing
    // this time; a lookup that finishes late still fills its family's cache for the next Tab.
    const looked = Promise.resolve(lookup(services, context));
    looked.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<readonly string[]>((resolve) => (timer = setTimeout(() => resolve([]), COMPLETION_LOOKUP_BUDGET_MS)));
    try {
      return await Promise.race([looked.catch(() => [] as readonly string[]), late]);
    } finally {
      clearTimeout(timer);
    }
  };

  /** The catalog of the named connection, or of the current one; undefined when there is none. */
  async function catalogFor(name: string | undefined) {
    const connections = services.connections;
    const connection = name ?? connections.currentName;
    return connection !== undefined && connections.has(connection) ? services.catalogs.get(connections.get(connection).session) : undefined;
  }

  return {
    planCell: (source) => planner.planCell(source),
    mapToTypeScript: (code, cursor) => planner.mapToTypeScript(code, cursor),
    complete: (code, cursor) => completeMagic(verbs, candidates, code, cursor),
    completeAsync: (code, cursor) => completeMagicAsync(verbs, asyncCandidates, code, cursor),

    async completeSql(code, cursor, variables) {
      const sql = sqlTextAt(verbs, code, cursor);
      if (sql === null) return null;
      const catalog = await catalogFor(sql.connection);
      const completion = completeSql(sql.text, cursor - sql.offset, { catalog, variables });
      return completion && { matches: completion.matches, cursorStart: sql.offset + completion.start, cursorEnd: sql.offset + completion.end };
    },

    async inspectSql(code, cursor) {
      const sql = sqlTextAt(verbs, code, cursor);
      const catalog = sql && (await catalogFor(sql.connection));
      return sql && catalog ? inspectSql(sql.text, cursor - sql.offset, catalog) : null;
    },
    inspect: (code, cursor) => inspectMagic(verbs, code, cursor),

    async run(invocation, host, context = {}) {
      const verb = verbs.get(invocation.verb);
      if (verb === undefined) throw new Error(`no verb "${invocation.verb}": invocations come from planCell`);
      const mode = context.mode ?? invocation.mode;
      const previousHost = runningHost;
      runningHost = host;
      try {
        const value = await verb.run({
          invocation,
          host,
          services,
          variables: context.variables ?? {},
          show: (shown, options) => {
            if (mode !== 'expression') host.display(shown, options);
          },
          displays: mode !== 'expression',
        });
        if (mode === 'statement') {
          if (value !== undefined) host.display(value);
          return {};
        }
        return { value };
      } finally {
        runningHost = previousHost;
      }
    },

    typeDeclarations: () => typeDeclarations,

    async close() {
      try {
        await services.connections.closeAll();
      } finally {
        services.connectionKinds.clear();
        services.connectionPlacements.clear();
        services.connectionInstances.clear();
        // Open connections keep working without a refresher; new logins would need one, and
        // after close there are none.
        refreshers.stopAll();
      }
    },
  };
}
