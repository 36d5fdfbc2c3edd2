// `%lakebase sync run`: the kernel-side sync engine (`lakebase/sync/`) from a cell. Rows move
// from a source on one connection into a table on another (or the same), FULL or INCREMENTAL,
// with a progress bar updated in place; an interrupt stops the sync and the target keeps its
// previous rows.
import { LakebaseError } from '../../lakebase/errors';
import { runSync, SYNC_MODES } from '../../lakebase/sync/index';
import type { SyncMode, SyncProgress } from '../../lakebase/sync/index';
import type { VerbContext, VerbFamily } from '../declarations';
import type { MagicServices } from '../services';
import { startStatusLine } from '../status-line';

/** How often the progress bar is redrawn at most: smooth to the eye, few messages on the wire. */
const PROGRESS_INTERVAL_MS = 250;

export const SYNC_VERB_ERRORS = {
  /** `--from` or `--to` is missing. */
  missing: 'SYNC_ARGUMENT_MISSING',
} as const;

export const syncFamily: VerbFamily<MagicServices> = {
  name: 'sync',
  summary: 'Kernel-side sync',
  // It moves rows between this kernel's connections.
  kernelOnly: true,
  verbs: [
    {
      name: 'sync run',
      summary: 'Copy a table, view or query into a PostgreSQL table now, FULL or INCREMENTAL, with a progress bar',
      positionals: [],
      options: [
        { name: 'from', kind: 'text', valueName: 'SOURCE', summary: 'A table or view (schema.table; catalog.schema.table on a warehouse), or a query in quotes ("SELECT ...")' },
        { name: 'to', kind: 'text', valueName: 'TABLE', summary: 'The target table (table or schema.table); created when missing' },
        { name: 'mode', kind: 'choice', choices: SYNC_MODES, valueName: 'MODE', summary: 'FULL (replace every row, default) or INCREMENTAL (upsert rows changed since the last sync)' },
        { name: 'key', kind: 'text', valueName: 'COLUMNS', summary: 'Key columns, comma-separated: the primary key of a created target and what INCREMENTAL upserts by (default: the primary key of the target, else of the source table)' },
        { name: 'watermark', kind: 'text', valueName: 'COLUMN', summary: 'INCREMENTAL: the column that grows when a row changes (updated_at); remembered for later syncs. A Delta table with Change Data Feed needs none' },
        { name: 'from-connection', kind: 'text', valueName: 'CONNECTION', completes: 'connections', summary: 'Read the source on this named connection, PostgreSQL or a SQL warehouse (default: the target\'s)' },
        { name: 'on', kind: 'text', valueName: 'CONNECTION', completes: 'connections', summary: 'Write the target on this named connection instead of the current one' },
      ],
      details: [
        'Rows stream from the source\'s COPY (SELECT ...) TO STDOUT into the target\'s COPY ... FROM STDIN, each on a session of its own ' +
          'beside your connections, so memory stays flat whatever the size and your own sessions and transactions are left alone.',
        'FULL replaces every row of the target in one transaction: readers see the old rows or the new ones, never a part; a failure ' +
          'or an interrupt keeps the old rows; the table, its indexes and its grants stay.',
        'INCREMENTAL reads the rows whose --watermark column is at or after the last synced value and upserts them by --key; the new ' +
          'watermark is stored in the target database (lakebase_sync.sync_state) in the same transaction as the rows, so a rerun after a ' +
          'crash neither duplicates nor loses rows. Deletes in the source are not seen this way (a FULL sync removes them).',
        'A missing target is created with the source\'s column types (built-in types exactly, others as text) and the key as primary key. ' +
          'Rows whose key has a NULL are skipped.',
        'From a SQL warehouse (a connection made with --warehouse), rows arrive as Arrow batches and types map as synced tables map them ' +
          '(BIGINT → bigint, DECIMAL(p,s) → numeric(p,s), TIMESTAMP → timestamptz, ARRAY/MAP/STRUCT → jsonb). INCREMENTAL without a ' +
          'watermark follows a Delta table\'s Change Data Feed: the snapshot at the latest version first, then the changes since the stored ' +
          'version, deletes included.',
      ],
      examples: [
        '%lakebase sync run --from public.orders --to orders_copy --from-connection shop',
        '%lakebase sync run --from orders --to orders_copy --mode INCREMENTAL --key id --watermark updated_at --from-connection shop',
        '%lakebase sync run --from "SELECT id, name FROM customers WHERE active" --to active_customers --key id',
        '%lakebase sync run --from main.gold.users --to users --key id --mode INCREMENTAL --from-connection lake',
        'const result = %lakebase sync run --from orders --to orders_copy --from-connection shop',
      ],
      run: runSyncVerb,
    },
  ],
};

async function runSyncVerb({ invocation, host, services }: VerbContext<MagicServices>): Promise<unknown> {
  const options = invocation.options;
  const from = options.from as string | undefined;
  const to = options.to as string | undefined;
  for (const [name, value] of [['from', from], ['to', to]] as const) {
    if (value === undefined || value.trim() === '') {
      throw new LakebaseError(SYNC_VERB_ERRORS.missing, `sync run needs --${name}.`, {
        hint: 'Example: %lakebase sync run --from public.orders --to orders_copy --from-connection shop',
      });
    }
  }
  const target = options.on === undefined ? services.connections.current() : services.connections.get(options.on as string);
  const source = options['from-connection'] === undefined ? target : services.connections.get(options['from-connection'] as string);
  const mode = (options.mode as SyncMode | undefined) ?? 'FULL';
  const key = typeof options.key === 'string' ? options.key.split(',').map((column) => column.trim()).filter((column) => column !== '') : undefined;

  const line = startStatusLine(host, { subject: `sync ${to}`, action: mode, state: 'PREPARING', tickMs: 1000 });
  let lastDrawn = 0;
  const draw = (progress: SyncProgress, force = false) => {
    const now = Date.now();
    if (!force && now - lastDrawn < PROGRESS_INTERVAL_MS) return;
    lastDrawn = now;
    line.transfer({
      rows: progress.rows,
      bytes: progress.bytes,
      ...(progress.estimatedRows !== undefined ? { totalRows: progress.estimatedRows } : {}),
      state: progress.phase.toUpperCase(),
    });
  };
  try {
    const result = await runSync({
      source: source.session,
      from: from!,
      target: target.session,
      to: to!,
      mode,
      ...(key?.length ? { key } : {}),
      ...(typeof options.watermark === 'string' ? { watermark: options.watermark } : {}),
      signal: host.signal,
      // Phase changes are drawn at once; row counts at most every PROGRESS_INTERVAL_MS.
      onProgress: (progress) => draw(progress, progress.phase !== 'copying'),
    });
    line.transfer({ rows: result.rowsRead, bytes: result.bytes });
    line.done('DONE', `${result.rowsWritten.toLocaleString('en-US')} rows written into ${result.target}`);
    services.catalogs.invalidate(target.session);
    return result;
  } catch (error) {
    line.failed(error instanceof LakebaseError && error.code === 'SYNC_INTERRUPTED' ? 'interrupted: the target keeps its previous rows' : (error as Error).message);
    throw error;
  }
}
