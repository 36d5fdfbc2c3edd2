// What the verbs work with: the kernel session's connections, the ways to open one, the
// settings, and the credential refreshers. Injected through `createMagics(deps)`, so that tests
// pass real ones pointed at a throwaway server and environment.
import type { ConnectionRegistry } from '../lakebase/connections';
import type { CatalogCache } from '../lakebase/sql/catalog';
import type { CredentialRefresher } from '../lakebase/credentials';
import type { AutoscalingPlacement, ConnectionKind, Connectors } from './connectors';
import type { MagicHost } from './host';
import type { VerbRegistry } from './registry';
import type { Settings } from './settings';

export interface MagicServices {
  /** The named sessions of this kernel session, one of them current. */
  connections: ConnectionRegistry;
  /** Opens sessions for `%lakebase connect`. */
  connectors: Connectors;
  /** What each named connection goes to, for `%lakebase connections`. */
  connectionKinds: Map<string, ConnectionKind>;
  /** Where each Autoscaling connection is (endpoint, branch), for the branch workflow. */
  connectionPlacements: Map<string, AutoscalingPlacement>;
  /** Which Provisioned instance each connection to one goes to, by connection name. */
  connectionInstances: Map<string, string>;
  settings: Settings;
  /** What each session's database holds, for completion in SQL text. */
  catalogs: CatalogCache;
  /**
   * The token refreshers in use, for `%lakebase token`; `stop` retires one whose endpoint is gone
   * (a deleted branch's), so that it neither keeps minting nor shows failures.
   */
  refreshers: { list(): readonly Pick<CredentialRefresher, 'status' | 'refresh' | 'stop'>[] };
  /** Every verb, for `%lakebase help`. */
  verbs: VerbRegistry<MagicServices>;
  /**
   * The host of the cell that runs now. A password prompt can come long after `connect` (a
   * session reconnects in a later cell); it must go to the cell that is running then.
   */
  currentHost(): MagicHost | undefined;
}
