// The kernel-side sync engine: copies a source (a table, view or query on a PostgreSQL connection
// or a Databricks SQL warehouse) into a PostgreSQL table, FULL or INCREMENTAL, streaming COPY text
// from the source into the target. Usable from any TypeScript program; the `sync run` magic is a thin layer over `runSync`.
//
// What it promises (issue 9):
// - FULL is atomic: readers see the old rows or the new ones; a failure, an interrupt or a killed
//   process leaves the old rows; the table is kept (indexes, grants, views stay).
// - INCREMENTAL reads rows whose watermark column is at or after the last synced value, or (a
//   Delta table with Change Data Feed and no watermark) the changes since the last synced version,
//   deletes included; it upserts by the key and stores the new watermark or version in the target
//   database in the same transaction as the rows: a rerun after a crash neither duplicates nor
//   loses rows.
// - A missing target is created with mapped types (`types.ts`) and the key as primary key.
// - Memory stays flat whatever the table's size (`channel.ts`).
import type { SqlSession } from '../contracts';
import { LakebaseError } from '../errors';
import { CopyChannel } from './channel';
import { SYNC_ERRORS } from './errors';
import { PostgresSource } from './postgres-source';
import { ProgressTracker } from './progress';
import type { SyncProgress } from './progress';
import { SyncResult } from './result';
import type { ColumnMapping } from './result';
import type { SyncSource } from './source';
import { SyncTarget } from './target';
import type { SyncState } from './target';
import { isWarehouseSession, WarehouseSource } from './warehouse-source';

export type SyncMode = 'FULL' | 'INCREMENTAL';
export const SYNC_MODES: readonly SyncMode[] = ['FULL', 'INCREMENTAL'];

export interface SyncOptions {
  /** The connection the source is read from; the sync opens a session of its own beside it. */
  source: SqlSession;
  /** A table or view (`schema.table`), or a query (`SELECT ...`, `WITH ...`). */
  from: string;
  /** The connection of the target database; the sync writes in a session of its own beside it. */
  target: SqlSession;
  /** The target table (`table` or `schema.table`); created when missing. */
  to: string;
  mode: SyncMode;
  /**
   * Key columns: the primary key of a created target, and what INCREMENTAL upserts by. Default:
   * the target's primary key, else the source table's.
   */
  key?: readonly string[];
  /** The column whose growth marks new and changed rows (INCREMENTAL); remembered in the state. */
  watermark?: string;
  /** Aborting stops the sync; the target keeps its previous rows. */
  signal?: AbortSignal;
  onProgress?: (progress: SyncProgress) => void;
}

export async function runSync(options: SyncOptions): Promise<SyncResult> {
  if (!SYNC_MODES.includes(options.mode)) {
    throw new LakebaseError(SYNC_ERRORS.invalid, `Unknown sync mode "${String(options.mode)}".`, { hint: `Use ${SYNC_MODES.join(' or ')}.` });
  }
  const progress = new ProgressTracker(options.onProgress);
  progress.phase('preparing');
  const started = Date.now();
  const { signal } = options;
  const openSource = isWarehouseSession(options.source)
    ? WarehouseSource.open(options.source, options.from, signal)
    : PostgresSource.open(options.source, options.from, signal);
  const [sourceOutcome, targetOutcome] = await Promise.allSettled([openSource, SyncTarget.open(options.target, options.to, signal)]);
  if (sourceOutcome.status === 'rejected' || targetOutcome.status === 'rejected') {
    if (sourceOutcome.status === 'fulfilled') await sourceOutcome.value.close();
    if (targetOutcome.status === 'fulfilled') await targetOutcome.value.close();
    throw interruptedOr(signal, sourceOutcome.status === 'rejected' ? sourceOutcome.reason : (targetOutcome as PromiseRejectedResult).reason);
  }
  const source: SyncSource = sourceOutcome.value;
  const target = targetOutcome.value;
  try {
    const plan = await planSync(options, source, target);
    // The state is written by INCREMENTAL syncs, and by FULL ones that record where INCREMENTAL continues.
    if (options.mode === 'INCREMENTAL' || options.watermark !== undefined || source.changeFeed !== undefined) await target.ensureStateTable(signal);
    await target.begin(signal);
    // The state of a table that no longer exists (dropped since) says nothing about the new one.
    const state = target.table.exists ? await target.readState(signal) : undefined;
    checkState(options, plan, source, target, state);
    const watermark = resolveWatermark(options, source, state);
    // Without a watermark, a Delta source's change data feed says what changed (deletes too).
    const feed = watermark === undefined ? source.changeFeed : undefined;
    if (options.mode === 'INCREMENTAL' && watermark === undefined && feed === undefined) {
      throw new LakebaseError(SYNC_ERRORS.watermarkRequired, `An INCREMENTAL sync into ${target.description} needs a watermark column that grows when rows change.`, {
        hint: 'Name it with --watermark (e.g. --watermark updated_at); later syncs remember it. A Delta table with Change Data Feed needs none.',
      });
    }
    if (!target.table.exists) await target.create(plan.mappings.map((m) => ({ name: m.name, type: m.targetType })), plan.key ?? [], signal);

    const readOptions = {
      notNull: plan.key ?? [],
      ...(watermark && options.mode === 'INCREMENTAL' ? { watermark } : {}),
      ...(signal ? { signal } : {}),
    };
    const columns = source.columns.map((column) => column.name);
    const onChunk = (chunk: Buffer) => progress.chunk(chunk);
    const replace = (channel: CopyChannel, copySignal: AbortSignal) =>
      target.replaceRows(columns, channel, { created: !target.table.exists, signal: copySignal }).then((written) => ({ written, newest: undefined }));
    const merging = () => progress.phase('merging');

    let outcome: { read: number; written: number; newest?: string | undefined };
    let version: { from: number | undefined; to: number } | undefined;
    if (feed !== undefined) {
      const latest = await feed.latestVersion(signal);
      const from = options.mode === 'INCREMENTAL' ? state?.sourceVersion : undefined;
      version = { from, to: latest };
      progress.phase('copying');
      if (from === undefined) {
        // The first sync (or a FULL one): the table as of the latest version, replacing the target's rows.
        outcome = await copyBetween((channel, copySignal) => feed.readSnapshot(channel, latest, { ...readOptions, signal: copySignal }, onChunk), replace, signal);
      } else if (from >= latest) {
        outcome = { read: 0, written: 0 };
      } else {
        outcome = await copyBetween(
          (channel, copySignal) => feed.readChanges(channel, from + 1, latest, { ...readOptions, signal: copySignal }, onChunk),
          (channel, copySignal) => target.applyChanges(columns, plan.key!, channel, { signal: copySignal, onMerging: merging }),
          signal,
        );
      }
    } else {
      progress.estimatedRows = await source.estimateRows(readOptions);
      progress.phase('copying');
      const read = (channel: CopyChannel, copySignal: AbortSignal) => source.read(channel, { ...readOptions, signal: copySignal }, onChunk);
      outcome =
        options.mode === 'FULL'
          ? await copyBetween(read, replace, signal)
          : await copyBetween(read, (channel, copySignal) => target.upsertRows(columns, plan.key!, watermark?.column, channel, { signal: copySignal, onMerging: merging }), signal);
    }

    progress.phase('committing');
    let newWatermark: string | undefined;
    if (watermark !== undefined || version !== undefined) {
      if (watermark !== undefined) newWatermark = options.mode === 'FULL' ? await target.maxOf(watermark.column, signal) : outcome.newest ?? watermark.from;
      await target.writeState(
        {
          source: source.stateName,
          mode: options.mode,
          keyColumns: [...(plan.key ?? [])],
          watermarkColumn: watermark?.column,
          watermark: newWatermark,
          sourceVersion: version?.to,
          rows: outcome.written,
        },
        signal,
      );
    } else {
      // A FULL sync with no watermark (given or remembered) starts any later incremental sync afresh.
      await target.clearState(signal);
    }
    await target.commit(signal);
    progress.phase('done');
    return new SyncResult({
      mode: options.mode,
      source: source.description,
      target: target.description,
      rowsRead: outcome.read,
      rowsWritten: outcome.written,
      bytes: progress.bytes,
      elapsedMs: Date.now() - started,
      created: !target.table.exists,
      key: plan.key,
      columns: plan.mappings,
      ...(watermark ? { watermark: { column: watermark.column, from: watermark.from, to: newWatermark } } : {}),
      ...(version ? { sourceVersion: version } : {}),
    });
  } catch (error) {
    await target.rollback();
    throw interruptedOr(signal, error);
  } finally {
    await Promise.allSettled([source.close(), target.close()]);
  }
}

interface SyncPlan {
  key: readonly string[] | undefined;
  mappings: ColumnMapping[];
}

/** Checks names and shapes before anything is written: keys, watermark, target columns, types. */
async function planSync(options: SyncOptions, source: SyncSource, target: SyncTarget): Promise<SyncPlan> {
  const names = source.columns.map((column) => column.name);
  const table = target.table;
  const key = options.key?.length ? [...options.key] : table.primaryKey ?? source.primaryKey;
  for (const column of [...(key ?? []), ...(options.watermark ? [options.watermark] : [])]) {
    if (!names.includes(column)) {
      throw new LakebaseError(SYNC_ERRORS.columnNotFound, `The source has no column "${column}" (it has ${names.join(', ')}).`, {
        hint: 'Key and watermark columns are named as the source names them (case matters for quoted names).',
      });
    }
  }
  if (options.mode === 'INCREMENTAL' && (key === undefined || key.length === 0)) {
    throw new LakebaseError(SYNC_ERRORS.keyRequired, `An INCREMENTAL sync into ${target.description} needs key columns to upsert by.`, {
      hint: 'Name them with --key (e.g. --key id), or give the target (or the source table) a primary key.',
    });
  }
  if (table.exists) {
    const missing = names.filter((name) => !table.columns.includes(name));
    if (missing.length > 0) {
      throw new LakebaseError(SYNC_ERRORS.targetMismatch, `The target ${target.description} has no column ${missing.map((m) => `"${m}"`).join(', ')} of the source.`, {
        hint: `Add ${missing.length > 1 ? 'them' : 'it'} (ALTER TABLE ... ADD COLUMN), or select only the target's columns in the source query.`,
      });
    }
    if (options.mode === 'INCREMENTAL' && !table.uniqueKeys.some((unique) => sameColumns(unique, key!))) {
      throw new LakebaseError(SYNC_ERRORS.targetMismatch, `The target ${target.description} has no primary key or unique index on (${key!.join(', ')}) to upsert by.`, {
        hint: `Add one: ALTER TABLE ${target.description} ADD PRIMARY KEY (${key!.join(', ')}).`,
      });
    }
  }
  // Types matter only for a table the sync creates.
  const mappings = await source.mapColumns(async (declared) => (table.exists ? [] : target.typesKnown(declared)));
  return { key, mappings };
}

/** An INCREMENTAL sync continues the stored state only if that was written for the same source, key and watermark. */
function checkState(options: SyncOptions, plan: SyncPlan, source: SyncSource, target: SyncTarget, state: SyncState | undefined): void {
  if (state === undefined || options.mode !== 'INCREMENTAL') return;
  const differences: string[] = [];
  if (state.source !== source.stateName) differences.push(`source ${state.source}`);
  if (options.watermark !== undefined && state.watermarkColumn !== undefined && state.watermarkColumn !== options.watermark) {
    differences.push(`watermark ${state.watermarkColumn}`);
  }
  if (state.keyColumns.length > 0 && plan.key !== undefined && !sameColumns(state.keyColumns, plan.key)) differences.push(`key (${state.keyColumns.join(', ')})`);
  if (differences.length > 0) {
    throw new LakebaseError(SYNC_ERRORS.stateMismatch, `${target.description} was last synced from a different setup: ${differences.join(', ')}.`, {
      hint: 'Run one FULL sync with the new source, key and watermark; incremental syncs continue from there.',
    });
  }
}

/** The watermark a sync uses (given, or remembered by the state), with the value INCREMENTAL starts from. */
function resolveWatermark(options: SyncOptions, source: SyncSource, state: SyncState | undefined): { column: string; from: string | undefined } | undefined {
  const column = options.watermark ?? state?.watermarkColumn;
  if (column === undefined) return undefined;
  if (!source.columns.some((c) => c.name === column)) {
    throw new LakebaseError(SYNC_ERRORS.columnNotFound, `The source has no watermark column "${column}".`);
  }
  return { column, from: options.mode === 'INCREMENTAL' ? state?.watermark : undefined };
}

/**
 * Runs the source's read and the target's write at once, joined by a channel. When either side
 * fails the other is stopped (the source's COPY cancelled, the target's COPY ended with CopyFail),
 * both are let settle, and the error of the side that failed first is the one reported.
 */
async function copyBetween<T extends { written: number }>(
  read: (channel: CopyChannel, signal: AbortSignal) => Promise<number>,
  write: (channel: CopyChannel, signal: AbortSignal) => Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T & { read: number }> {
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const channel = new CopyChannel();
  let firstFailure: { error: unknown } | undefined;
  const failed = (error: unknown): never => {
    firstFailure ??= { error };
    stop.abort(error);
    throw error;
  };
  try {
    const [readOutcome, written] = await Promise.allSettled([read(channel, stop.signal).catch(failed), write(channel, stop.signal).catch(failed)]);
    if (readOutcome.status === 'rejected' || written.status === 'rejected') throw firstFailure!.error;
    return { ...written.value, read: readOutcome.value };
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((column) => b.includes(column));
}

function interruptedOr(signal: AbortSignal | undefined, error: unknown): unknown {
  if (!signal?.aborted) return error;
  return new LakebaseError(SYNC_ERRORS.interrupted, 'The sync was interrupted; the target keeps the rows it had before.', {
    hint: 'Run it again to sync; nothing of the interrupted run was committed.',
    cause: error,
  });
}

