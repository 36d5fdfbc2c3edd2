// Point-in-time copies with PostgreSQL's own machinery (emulator/postgres/point-in-time.ts), on
// real servers: a source archiving its WAL, base backups with the low-level API, copies restored to
// a time, an LSN or a backup's end, a streaming standby seeded from a backup, and the retention
// window. Every assertion is on real rows.
import { chown, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  archivingSettings,
  BackupCatalog,
  flushArchive,
  formatLsn,
  parseLsn,
  PointInTimeError,
  pointInTimeCopy,
  restoreToPoint,
  seedStandby,
  walFileName,
} from '../emulator/postgres/point-in-time';
import { resolveServerAccount } from '../emulator/postgres/server-account';
import { initdb, serverOwnedDir, SocketPostgres, startSocketPostgres } from './support/socket-postgres';

let root: string;
let archiveDir: string;
let source: SocketPostgres;
let catalog: BackupCatalog;
const started: SocketPostgres[] = [];

beforeAll(async () => {
  root = await serverOwnedDir('lakebase-test-pitr-');
  archiveDir = join(root, 'archive');
  await mkdir(archiveDir, { mode: 0o700 });
  const account = await resolveServerAccount();
  if (account) await chown(archiveDir, account.uid, account.gid);
  await initdb(join(root, 'source'));
  source = await startSocketPostgres(join(root, 'source'), { settings: archivingSettings(archiveDir) });
  catalog = new BackupCatalog(join(root, 'backups'), archiveDir);
  await source.query('CREATE TABLE orders (id int PRIMARY KEY, note text)');
  await catalog.take(source.admin, source.pgdata);
});

afterAll(async () => {
  for (const server of [...started, source]) await server?.stop().catch(() => undefined);
  if (root) await rm(root, { recursive: true, force: true });
});

/** Restores a copy of the source at `target` into a new directory and starts it. */
async function copyAt(target: Parameters<typeof catalog.choose>[0], name: string) {
  const backup = await catalog.choose(target);
  const pgdata = join(root, name);
  const copy = await restoreToPoint({ backup, archiveDir, target, pgdata, superuser: 'test_admin' });
  const server = await startSocketPostgres(pgdata);
  started.push(server);
  return { copy, server };
}

/**
 * A moment a JavaScript Date holds exactly (whole milliseconds) after the last commit, returned
 * once the server's clock has passed it: a clock_timestamp() truncated to the millisecond could
 * fall before a commit of the same millisecond, and a write right after could share the moment.
 */
async function momentAfterLastCommit(server: SocketPostgres): Promise<Date> {
  const [{ at }] = await server.query<{ at: Date }>("SELECT date_trunc('milliseconds', clock_timestamp()) + interval '1 millisecond' AS at");
  await server.query('SELECT pg_sleep_until($1)', [at]);
  return at;
}

const ids = async (server: SocketPostgres) => (await server.query<{ id: number }>('SELECT id FROM orders ORDER BY id')).map((row) => row.id);

test('a copy as of a time before a destructive DELETE has the rows back, on a timeline of its own', async () => {
  await source.query('INSERT INTO orders SELECT g, $1 FROM generate_series(1, 100) g', ['before']);
  const time = await momentAfterLastCommit(source);
  await source.query('DELETE FROM orders WHERE id > 10');
  await flushArchive(source.admin, archiveDir);

  const { copy, server } = await copyAt({ kind: 'time', time }, 'copy-time');
  expect(await ids(server)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  expect(copy.replayedToEnd).toBe(false);
  expect(copy.timeline).toBeGreaterThan(1);
  // The copy is an ordinary writable server; its writes never reach the source.
  await server.query("INSERT INTO orders VALUES (1000, 'only in the copy')");
  expect((await ids(source)).length).toBe(10);
  expect(await ids(source)).not.toContain(1000);
});

test('a copy at an LSN has what was committed up to it and nothing after', async () => {
  await source.query("INSERT INTO orders VALUES (201, 'at the lsn')");
  const [{ lsn }] = await source.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
  await source.query("INSERT INTO orders VALUES (202, 'after the lsn')");
  await flushArchive(source.admin, archiveDir);

  const { copy, server } = await copyAt({ kind: 'lsn', lsn }, 'copy-lsn');
  const rows = await ids(server);
  expect(rows).toContain(201);
  expect(rows).not.toContain(202);
  // It branched at or after the requested LSN, before the next commit.
  expect(parseLsn(copy.lsn)).toBeGreaterThanOrEqual(parseLsn(lsn));
});

test('"as of now": a fresh backup restored to its own end has every committed row', async () => {
  await source.query("INSERT INTO orders VALUES (301, 'just now')");
  const backup = await catalog.take(source.admin, source.pgdata);
  const copy = await restoreToPoint({ backup, archiveDir, target: { kind: 'backup' }, pgdata: join(root, 'copy-now'), superuser: 'test_admin' });
  const server = await startSocketPostgres(join(root, 'copy-now'));
  started.push(server);
  expect(await ids(server)).toEqual(await ids(source));
  expect(parseLsn(copy.lsn)).toBeGreaterThanOrEqual(parseLsn(backup.stopLsn));
});

test('a time with no commit after it in the archive is restored by replaying to the end', async () => {
  // A write, then a WAL switch with no commit after the target: as a stopped source leaves it.
  await source.query("INSERT INTO orders VALUES (401, 'last before the target')");
  const time = await momentAfterLastCommit(source);
  const [{ segment }] = await source.query<{ segment: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS segment');
  while (!(await readdir(archiveDir)).includes(segment)) await new Promise((resolve) => setTimeout(resolve, 20));

  const { copy, server } = await copyAt({ kind: 'time', time }, 'copy-end');
  expect(copy.replayedToEnd).toBe(true);
  expect(await ids(server)).toContain(401);
});

test('a time or LSN before the oldest backup is outside the retention window', async () => {
  const [oldest] = await catalog.list();
  const before = new Date(Date.parse(oldest.stopTime) - 60_000);
  const refused = await catalog.choose({ kind: 'time', time: before }).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(PointInTimeError);
  expect(refused).toMatchObject({ code: 'TARGET_OUTSIDE_RETENTION' });
  expect((refused as Error).message).toBe(`${before.toISOString()} is before the earliest restorable point (${oldest.stopTime}).`);
  await expect(catalog.choose({ kind: 'lsn', lsn: '0/10' })).rejects.toMatchObject({ code: 'TARGET_OUTSIDE_RETENTION' });
  expect(await catalog.earliestRestorableTime()).toEqual(new Date(oldest.stopTime));
});

test('a standby seeded from a backup streams the primary\'s writes, refuses its own, and can be promoted', async () => {
  const backup = await catalog.take(source.admin, source.pgdata);
  const pgdata = join(root, 'standby');
  await seedStandby({ backup, archiveDir, primary: { socketDir: source.socketDir, port: source.port, user: 'test_admin' }, pgdata });
  const standby = await startSocketPostgres(pgdata);
  started.push(standby);
  expect(await standby.query('SELECT pg_is_in_recovery() AS recovery')).toEqual([{ recovery: true }]);

  await source.query("INSERT INTO orders VALUES (501, 'streamed')");
  // Replication is asynchronous: wait for the row, as a reader of a secondary would.
  while (!(await ids(standby)).includes(501)) await new Promise((resolve) => setTimeout(resolve, 20));
  const [{ state }] = await source.query<{ state: string }>("SELECT state FROM pg_stat_replication WHERE application_name = 'standby'");
  expect(state).toBe('streaming');

  const refused = await standby.query("INSERT INTO orders VALUES (502, 'no')").catch((error: unknown) => error);
  expect(refused).toMatchObject({ code: '25006', message: 'cannot execute INSERT in a read-only transaction' });

  await standby.query('SELECT pg_promote(true)');
  await standby.query("INSERT INTO orders VALUES (503, 'after promotion')");
  expect(await ids(standby)).toContain(503);
});

test('pruning keeps the backup that covers the window start and the WAL it needs', async () => {
  const before = await catalog.list();
  expect(before.length).toBeGreaterThanOrEqual(3);
  const keepSince = new Date(Date.parse(before.at(-1)!.stopTime) + 1);
  const pruned = await catalog.prune(keepSince);
  const after = await catalog.list();
  expect(pruned.backups).toBe(before.length - 1);
  expect(after.map((backup) => backup.id)).toEqual([before.at(-1)!.id]);
  const firstNeeded = walFileName(after[0].timeline, parseLsn(after[0].startLsn));
  const segments = (await readdir(archiveDir)).filter((name) => /^[0-9A-F]{24}$/.test(name));
  expect(segments.every((name) => name >= firstNeeded)).toBe(true);
  expect(segments).toContain(firstNeeded);
  // The kept backup still restores, with everything archived since.
  await flushArchive(source.admin, archiveDir);
  const { server } = await copyAt({ kind: 'latest' }, 'copy-after-prune');
  expect(await ids(server)).toContain(501);
});

test('pointInTimeCopy: "now" of a running source has its last write; a future time or LSN is refused', async () => {
  await source.query("INSERT INTO orders VALUES (601, 'last write')");
  const copy = await pointInTimeCopy({ catalog, admin: source.admin, sourcePgdata: source.pgdata, target: { kind: 'latest' }, pgdata: join(root, 'copy-latest'), superuser: 'test_admin' });
  const server = await startSocketPostgres(join(root, 'copy-latest'));
  started.push(server);
  expect(await ids(server)).toEqual(await ids(source));
  // Made from a backup taken for it and used up, not from one of the kept ones.
  expect((await catalog.list()).map((backup) => backup.id)).not.toContain(copy.backupId);

  const future = new Date(Date.now() + 3_600_000);
  await expect(
    pointInTimeCopy({ catalog, admin: source.admin, sourcePgdata: source.pgdata, target: { kind: 'time', time: future }, pgdata: join(root, 'never'), superuser: 'test_admin' }),
  ).rejects.toMatchObject({ code: 'TARGET_IN_FUTURE' });
  await expect(
    pointInTimeCopy({ catalog, admin: source.admin, sourcePgdata: source.pgdata, target: { kind: 'lsn', lsn: 'FF/0' }, pgdata: join(root, 'never'), superuser: 'test_admin' }),
  ).rejects.toMatchObject({ code: 'TARGET_IN_FUTURE' });
});

test('LSNs parse, print and name their WAL segment as PostgreSQL does', () => {
  expect(formatLsn(parseLsn('16/b374d848'))).toBe('16/B374D848');
  expect(parseLsn('0/1000000') < parseLsn('1/0')).toBe(true);
  expect(() => parseLsn('yesterday')).toThrow(RangeError);
  // pg_walfile_name('16/B374D848') on timeline 1 is 0000000100000016000000B3.
  expect(walFileName(1, parseLsn('16/B374D848'))).toBe('0000000100000016000000B3');
});
