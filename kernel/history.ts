// Cell inputs across kernel sessions, as ipykernel keeps them (it uses SQLite): the up-arrow of a
// JupyterLab console still finds yesterday's cells after a restart. One JSON line per cell in
// `$LAKEBASE_KERNEL_HISTORY`, else `$XDG_STATE_HOME/lakebase-kernel/history.jsonl`, else
// `~/.local/state/lakebase-kernel/history.jsonl`; `LAKEBASE_KERNEL_HISTORY=off` keeps it in memory
// only. Secrets are redacted before a line is written, and the file is readable by its owner only.
//
// Each kernel takes the next session number when it starts. Two kernels started at the same
// moment may take the same one; their lines then share it (nothing is lost).
//
// Redaction is off the cells' path: `add` only queues the input, and it is redacted (linear in its
// length, but megabytes take a while) in a later turn of the event loop, or at once when a history
// request needs it. Nothing unredacted is ever answered or written.
import { setImmediate as nextTurn } from 'node:timers';
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { redactSecrets } from '../lakebase/errors';
import type { Logger } from './log';

export interface HistoryEntry {
  session: number;
  line: number;
  input: string;
}

export interface History {
  /** This kernel's session number. */
  readonly session: number;
  add(line: number, input: string): void;
  /** The last `n` entries, of this session and earlier ones. */
  tail(n: number): HistoryEntry[];
  /** Lines `start` to `stop` (exclusive) of a session: 0 is this one, -1 the one before. */
  range(session: number, start: number, stop: number): HistoryEntry[];
  /**
   * The last `n` entries whose whole input matches the glob `pattern` (`*` any text, `?` one
   * character, as IPython's search); with `unique`, each input once (its latest).
   */
  search(pattern: string, n: number | undefined, unique: boolean): HistoryEntry[];
  /** Resolves once every added entry is redacted and written. */
  flush(): Promise<void>;
}

/** How many entries are kept (in memory, and in the file after it has grown to twice as many). */
const KEPT_ENTRIES = 10_000;

export function historyFileFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const chosen = env.LAKEBASE_KERNEL_HISTORY;
  if (chosen === 'off') return undefined;
  if (chosen) return chosen;
  const stateHome = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(stateHome, 'lakebase-kernel', 'history.jsonl');
}

/** A history in `file`, or in memory only without one. A file that cannot be read or written costs the persistence, not the kernel. */
export async function openHistory(file: string | undefined, log: Logger): Promise<History> {
  let entries: HistoryEntry[] = [];
  if (file !== undefined) {
    try {
      entries = await readEntries(file);
      if (entries.length > 2 * KEPT_ENTRIES) {
        entries = entries.slice(-KEPT_ENTRIES);
        await rewrite(file, entries);
      }
    } catch (error) {
      log.warn('the kernel history could not be read; this session\'s history is kept in memory only', { file, error: String(error) });
      file = undefined;
    }
  }
  const session = entries.reduce((highest, entry) => Math.max(highest, entry.session), 0) + 1;
  let writing = Promise.resolve();
  /** Added, not yet redacted: never answered or written as they are. */
  const unredacted: { line: number; input: string }[] = [];
  let scheduled = false;

  /** Redacts what was added and keeps it, in the order added. */
  function settle(): void {
    for (const { line, input } of unredacted.splice(0)) {
      const entry = { session, line, input: redactSecrets(input) };
      entries.push(entry);
      if (entries.length > KEPT_ENTRIES) entries.splice(0, entries.length - KEPT_ENTRIES);
      if (file === undefined) continue;
      const target = file;
      writing = writing
        .then(() => appendFile(target, `${JSON.stringify(entry)}\n`, { mode: 0o600 }))
        .catch((error: unknown) => log.warn('a history entry could not be written', { file: target, error: String(error) }));
    }
  }

  function kept(): HistoryEntry[] {
    settle();
    return entries;
  }

  return {
    session,
    add(line, input) {
      unredacted.push({ line, input });
      if (scheduled) return;
      scheduled = true;
      nextTurn(() => {
        scheduled = false;
        settle();
      }).unref();
    },
    tail: (n) => (n > 0 ? kept().slice(-n) : []),
    range(relative, start, stop) {
      const wanted = relative > 0 ? relative : session + relative;
      return kept().filter((entry) => entry.session === wanted && entry.line >= start && entry.line < stop);
    },
    search(pattern, n, unique) {
      let found = kept().filter((entry) => matchesGlob(pattern, entry.input));
      if (unique) {
        const latest = new Map(found.map((entry) => [entry.input, entry]));
        found = found.filter((entry) => latest.get(entry.input) === entry);
      }
      return n === undefined ? found : n > 0 ? found.slice(-n) : [];
    },
    flush() {
      settle();
      return writing;
    },
  };
}

async function readEntries(file: string): Promise<HistoryEntry[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    return [];
  }
  const entries: HistoryEntry[] = [];
  for (const line of text.split('\n')) {
    const entry = parseEntry(line);
    if (entry) entries.push(entry);
  }
  return entries;
}

/** One line of the file; null for a line that is not one (cut short by a crash, edited by hand). */
function parseEntry(line: string): HistoryEntry | null {
  if (line.trim() === '') return null;
  try {
    const value = JSON.parse(line) as Partial<HistoryEntry>;
    const valid = Number.isInteger(value.session) && Number.isInteger(value.line) && typeof value.input === 'string';
    return valid ? { session: value.session!, line: value.line!, input: value.input! } : null;
  } catch {
    return null;
  }
}

/** Replaces the file's content at once (a reader never sees it half written). */
async function rewrite(file: string, entries: readonly HistoryEntry[]): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''), { mode: 0o600 });
  await rename(temporary, file);
}

/**
 * Whether all of `text` matches `glob` (`*`: any text, `?`: one UTF-16 unit, anything else
 * itself). Not a regular expression: `^.*a.*a.*b$` backtracks polynomially on a big pasted cell
 * and would freeze the kernel; this goes back only to the last `*`, so it takes at most the
 * text's length times the pattern's.
 */
export function matchesGlob(glob: string, text: string): boolean {
  let g = 0;
  let t = 0;
  // Where the last `*` was, and the text position it has swallowed up to.
  let star = -1;
  let swallowed = 0;
  while (t < text.length) {
    if (g < glob.length && glob[g] === '*') {
      star = g++;
      swallowed = t;
    } else if (g < glob.length && (glob[g] === '?' || glob[g] === text[t])) {
      g += 1;
      t += 1;
    } else if (star !== -1) {
      // Let the last `*` take one more character, and match the rest from there.
      g = star + 1;
      swallowed += 1;
      t = swallowed;
    } else {
      return false;
    }
  }
  while (g < glob.length && glob[g] === '*') g += 1;
  return g === glob.length;
}
