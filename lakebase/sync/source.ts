// What the engine asks of a sync's source, whatever it is: a PostgreSQL connection
// (`postgres-source.ts`, COPY text straight from the server) or a Databricks SQL warehouse
// (`warehouse-source.ts`, Arrow batches turned into COPY text). Both write COPY text into the
// engine's channel, so the target side is one and the same.
import type { CopyChannel } from './channel';
import type { ColumnMapping } from './result';

/** Rows newer than a watermark: `column >= value` (re-reading the boundary; upserts make that harmless). */
export interface WatermarkFilter {
  column: string;
  /** The last synced value as text, undefined on the first run (everything is read). */
  from: string | undefined;
}

export interface ReadOptions {
  /** Rows with NULL in any of these columns are skipped (they cannot be keyed). */
  notNull: readonly string[];
  watermark?: WatermarkFilter;
  signal?: AbortSignal;
}

/**
 * A Delta table's change data feed (docs/databricks-apis.md §7): the versions a sync moves between,
 * carrying deletes as well as inserts and updates.
 */
export interface ChangeFeed {
  /** The table's latest version. */
  latestVersion(signal?: AbortSignal): Promise<number>;
  /** The rows as of `version`, as COPY text of the source's columns. */
  readSnapshot(channel: CopyChannel, version: number, options: ReadOptions, onChunk: (chunk: Buffer) => void): Promise<number>;
  /**
   * `table_changes` rows from `fromVersion` to `toVersion` (inclusive), as COPY text of the
   * source's columns followed by `_change_type` and `_commit_version`.
   */
  readChanges(channel: CopyChannel, fromVersion: number, toVersion: number, options: ReadOptions, onChunk: (chunk: Buffer) => void): Promise<number>;
}

export interface SyncSource {
  /** How messages name it: `public.orders`, `main.gold.users`, `query`. */
  readonly description: string;
  /** How the state of incremental syncs names it: the table, or the query's text. */
  readonly stateName: string;
  readonly columns: readonly { name: string }[];
  /** The primary key of a table source (a default key for the target); undefined when unknown. */
  readonly primaryKey: readonly string[] | undefined;
  /** Present when the source is a Delta table with Change Data Feed. */
  readonly changeFeed?: ChangeFeed;
  /**
   * The target's type for each column, when the sync creates the table. `knownTypes` says which
   * of some type names the target database has.
   */
  mapColumns(knownTypes: (declared: readonly string[]) => Promise<string[]>): Promise<ColumnMapping[]>;
  /** An estimate of the rows a read returns (for the ETA), or undefined. */
  estimateRows(options: ReadOptions): Promise<number | undefined>;
  /** Streams the rows into `channel` as COPY text and ends it; a failure fails the channel. Returns the rows sent. */
  read(channel: CopyChannel, options: ReadOptions, onChunk: (chunk: Buffer) => void): Promise<number>;
  close(): Promise<void>;
}
