// Temporary socket directories of instance servers, and removing the ones an earlier emulator left.
//
// A server's Unix socket lives in `<instance>/socket` unless that path is too long for a socket
// (about 107 bytes); then it gets a fresh private directory in the system's temporary directory.
// An emulator killed with SIGKILL never removes it, and its servers keep running in it until the
// next emulator of the data directory stops them: each kill leaked one directory per running
// instance (issue 12: 12 kills left 53).
//
// Many emulators and test suites run side by side on one machine, and removing a live server's
// socket directory would be far worse than the leak. So a directory is removed only when it is
// provably abandoned: its name carries the pid of the emulator that made it
// (`lakebase-socket-<pid>-XXXXXX`), and that process is gone; and every PostgreSQL lock file in it
// (`.s.PGSQL.<port>.lock`, whose first line is the server's pid) names a process that is gone too.
// A directory of the older naming (`lakebase-XXXXXX`) is removed only on the proof of a lock file.
// Anything unexpected inside (a file that is not PostgreSQL's socket or lock) keeps it.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

const PREFIX = 'lakebase-socket-';
/** `lakebase-socket-<pid>-` and mkdtemp's six characters. */
const NAMED = /^lakebase-socket-(\d+)-[A-Za-z0-9]{6}$/;
/** Emulators before the pid was in the name. */
const LEGACY = /^lakebase-[A-Za-z0-9]{6}$/;
/** What PostgreSQL puts in a socket directory: `.s.PGSQL.5432` and `.s.PGSQL.5432.lock`. */
const POSTGRES_FILE = /^\.s\.PGSQL\.\d+(\.lock)?$/;

/** A new private directory for a server's socket, named after this process (see above). */
export function makeSocketDirectory(): Promise<string> {
  return mkdtemp(join(tmpdir(), `${PREFIX}${process.pid}-`));
}

/** false when no process has `pid`; a process of another user (EPERM) is alive. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Why `path` is not provably abandoned, or undefined when it is. Any doubt (a name not ours, a
 * file not PostgreSQL's, a lock file that cannot be read) keeps it.
 */
async function reasonToKeep(path: string): Promise<string | undefined> {
  const name = basename(path);
  const named = NAMED.exec(name);
  if (!named && !LEGACY.test(name)) return 'not a socket directory of an emulator';
  if (named && alive(Number(named[1]))) return `the emulator that made it (pid ${named[1]}) is running`;
  const entries = await readdir(path);
  if (entries.some((entry) => !POSTGRES_FILE.test(entry))) return 'it holds files that are not PostgreSQL\'s';
  const locks = entries.filter((entry) => entry.endsWith('.lock'));
  if (!named && locks.length === 0) return 'nothing in it names its owner';
  for (const lock of locks) {
    const pid = Number.parseInt((await readFile(join(path, lock), 'utf8')).split('\n')[0] ?? '', 10);
    if (!Number.isInteger(pid) || pid <= 0) return `its lock file ${lock} names no process`;
    if (alive(pid)) return `the server in it (pid ${pid}) is running`;
  }
  return undefined;
}

/** Removes `path` when it is a socket directory of an emulator and provably abandoned; true if it did. */
export async function removeIfAbandoned(path: string, log: (line: string) => void): Promise<boolean> {
  try {
    const reason = await reasonToKeep(path);
    if (reason !== undefined) return false;
    await rm(path, { recursive: true, force: true });
    log(`removed ${path}, the socket directory of a server whose emulator is gone`);
    return true;
  } catch (error) {
    // Gone already, or another user's (not ours to remove): nothing to say about those.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'EACCES' && code !== 'EPERM') log(`left ${path} in place: ${code ?? (error as Error).message}`);
    return false;
  }
}

/** Whether `path` is (by its place and name) a temporary socket directory of some emulator. */
export function isTemporarySocketDirectory(path: string): boolean {
  return dirname(path) === tmpdir() && (NAMED.test(basename(path)) || LEGACY.test(basename(path)));
}

/**
 * Removes the abandoned socket directories in `directory` (default: the system's temporary
 * directory); returns their paths. Run when an emulator starts.
 */
export async function removeAbandonedSocketDirectories(options: { directory?: string; log: (line: string) => void }): Promise<string[]> {
  const directory = options.directory ?? tmpdir();
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    options.log(`could not look for abandoned socket directories in ${directory}: ${(error as Error).message}`);
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!NAMED.test(name) && !LEGACY.test(name)) continue;
    const path = join(directory, name);
    if (await removeIfAbandoned(path, options.log)) removed.push(path);
  }
  return removed;
}
