// One live status line per long operation: an instance starting, a warehouse waking up, a synced
// table loading. It is published once (`display_data` with a display id) and then replaced in
// place (`update_display_data` under the same id) as the operation moves, so a notebook shows one
// line that changes instead of a scroll of poll results — and ends as one line saying how it ended.
//
//   instance orders · create · STARTING · 4 s · waiting for the server to start
//   instance orders · create · AVAILABLE · 9 s · read_write_dns 127.0.3.7
//   instance orders · create · STARTING · 6 s · stopped waiting; the creation goes on. Check on it with %lakebase instance get orders
//   sync gold.users · 1,234,567 of 5,000,000 rows (24.7 %) · 118 MiB · 41,152 rows/s · ETA 1 min 31 s
//
// The line renders itself (`text/plain` and a static, escaped `text/html`), so it reads the same
// in JupyterLab, nbconvert output and a terminal, where the terminal front end rewrites it in
// place on a TTY and prints only the settled line otherwise (`settled`).
//
// While an operation waits between polls (up to 5 s), a ticker refreshes the elapsed time once a
// second, so that a line that stands still still shows the kernel is alive.
import { JUPYTER_DISPLAY, MimeBundle } from '../lakebase/contracts';
import { describeError } from '../lakebase/errors';
import { formatElapsed, WaitStoppedError, WaitTimeoutError } from '../lakebase/waiting';
import type { MagicHost } from './host';
import { escapeHtml } from '../lakebase/render';

/** How a line ends, or that it has not. */
export type StatusPhase = 'running' | 'done' | 'stopped' | 'failed';

/** Rows and bytes moved so far, for the progress-bar form of the line. */
export interface TransferProgress {
  rows: number;
  /** When known, the line shows a fraction, a bar and an ETA. */
  totalRows?: number;
  bytes?: number;
  /** The operation's own state, if it has one worth showing (`SYNCED_TABLE_PROVISIONING_INITIAL_SNAPSHOT`). */
  state?: string;
}

/** One rendering of the line: immutable, so a displayed value never changes under the client. */
export class StatusLineView {
  constructor(
    readonly subject: string,
    readonly action: string | undefined,
    readonly phase: StatusPhase,
    readonly state: string | undefined,
    readonly elapsedMs: number,
    /** What is awaited ("the server to start"), or how it ended ("read_write_dns 127.0.3.7"). */
    readonly note: string | undefined,
    readonly transfer: TransferProgress | undefined,
  ) {}

  /** False while the operation runs: a terminal without a TTY prints only settled lines. */
  get settled(): boolean {
    return this.phase !== 'running';
  }

  /** The parts of the line, in order, each plain text; `state` marks the one to colour. */
  private parts(): { text: string; kind?: 'subject' | 'state' }[] {
    const parts: { text: string; kind?: 'subject' | 'state' }[] = [{ text: this.subject, kind: 'subject' }];
    if (this.action !== undefined) parts.push({ text: this.action });
    const state = this.state === undefined ? [] : [{ text: this.state, kind: 'state' as const }];
    if (this.transfer === undefined) {
      parts.push(...state, { text: formatElapsed(this.elapsedMs) });
    } else {
      // While moving rows the counts and the rate say more than the elapsed time.
      const running = this.phase === 'running';
      parts.push(...(running ? state : []), ...transferParts(this.transfer, this.elapsedMs, running).map((text) => ({ text })));
      if (!running) parts.push(...state, { text: formatElapsed(this.elapsedMs) });
    }
    if (this.note !== undefined && this.note !== '') {
      parts.push({ text: this.phase === 'running' && this.transfer === undefined ? `waiting for ${this.note}` : this.note });
    }
    return parts;
  }

  toString(): string {
    return this.parts().map((part) => part.text).join(' · ');
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return { 'text/plain': this.toString(), 'text/html': this.html() };
  }

  private html(): string {
    const colour = { running: '#555', done: '#1a7f37', stopped: '#9a6700', failed: '#cf222e' }[this.phase];
    const text = this.parts()
      .map(({ text, kind }) =>
        kind === 'subject' ? `<b>${escapeHtml(text)}</b>` : kind === 'state' ? `<span style="color:${colour}">${escapeHtml(text)}</span>` : escapeHtml(text),
      )
      .join(' · ');
    const total = this.transfer?.totalRows;
    const bar =
      this.transfer !== undefined && total !== undefined && total > 0
        ? ` <progress value="${Math.min(this.transfer.rows, total)}" max="${total}"></progress>`
        : '';
    return `<div class="lakebase-status" style="font-family:monospace">${text}${bar}</div>`;
  }
}

function transferParts(progress: TransferProgress, elapsedMs: number, running: boolean): string[] {
  const parts: string[] = [];
  const { rows, totalRows, bytes } = progress;
  parts.push(
    totalRows === undefined
      ? `${formatCount(rows)} rows`
      : `${formatCount(rows)} of ${formatCount(totalRows)} rows (${totalRows === 0 ? '100.0' : ((100 * rows) / totalRows).toFixed(1)} %)`,
  );
  if (bytes !== undefined) parts.push(formatBytes(bytes));
  const seconds = elapsedMs / 1000;
  if (seconds >= 0.5 && rows > 0) {
    const rate = rows / seconds;
    parts.push(`${formatCount(Math.round(rate))} rows/s`);
    if (running && totalRows !== undefined && totalRows > rows) parts.push(`ETA ${formatElapsed(((totalRows - rows) / rate) * 1000)}`);
  }
  return parts;
}

/** `1,234,567` */
export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}

/** `118 MiB`, in binary units as `du -h` and psql's `pg_size_pretty` count. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export interface StatusLineOptions {
  /** What the line is about: `instance orders`, `sync gold.users`. */
  subject: string;
  /** What is being done to it: `create`, `stop`. */
  action?: string;
  /** The first state shown, before any poll answers: `STARTING`. */
  state?: string;
  /** What is awaited at first: `the server to start`. */
  waitingFor?: string;
  /**
   * How the user can look at the operation after the waiting stopped, e.g.
   * `%lakebase instance get orders` (the terminal front end rewrites the prefix).
   */
  checkWith?: string;
  /** What goes on after an interrupt, in words: `the creation` ("the creation goes on"). Default `the operation`. */
  operation?: string;
  /** Refresh the elapsed time this often while nothing else changes; default 1000 ms, 0 = never. */
  tickMs?: number;
}

export interface StatusLine {
  readonly displayId: string;
  /** A poll found the operation still going. */
  waiting(progress: { state: string; detail?: string }): void;
  /** Rows and bytes moved so far (the progress-bar form). */
  transfer(progress: TransferProgress): void;
  /** The operation finished in `state`; `note` says what the user needs next (an address, a count). */
  done(state: string, note?: string): void;
  /** The waiting stopped (interrupt, timeout); the operation goes on. */
  stopped(reason?: 'interrupted' | 'timed out'): void;
  /** The operation failed; `message` is one line. */
  failed(message: string): void;
}

let nextId = 0;

/** Publishes the line (`display_data`) and returns the handle that updates it in place. */
export function startStatusLine(host: MagicHost, options: StatusLineOptions): StatusLine {
  const started = Date.now();
  // Unique per kernel process and readable in a notebook's JSON.
  const displayId = `lakebase-status-${process.pid}-${++nextId}-${started.toString(36)}`;
  let phase: StatusPhase = 'running';
  let state = options.state;
  let note = options.waitingFor;
  let transfer: TransferProgress | undefined;
  let shown = false;

  const publish = () => {
    const view = new StatusLineView(options.subject, options.action, phase, state, Date.now() - started, note, transfer);
    host.display(view, shown ? { displayId, update: true } : { displayId });
    shown = true;
  };
  const tickMs = options.tickMs ?? 1000;
  const ticker = tickMs > 0 ? setInterval(publish, tickMs) : undefined;
  // A line left running (a verb that forgot to end it) must not keep a process alive.
  ticker?.unref();
  const settle = (to: StatusPhase) => {
    if (phase !== 'running') return false;
    phase = to;
    if (ticker) clearInterval(ticker);
    return true;
  };
  publish();

  return {
    displayId,
    waiting(progress) {
      if (phase !== 'running') return;
      state = progress.state;
      note = progress.detail;
      publish();
    },
    transfer(progress) {
      if (phase !== 'running') return;
      transfer = progress;
      if (progress.state !== undefined) state = progress.state;
      note = undefined;
      publish();
    },
    done(finalState, finalNote) {
      if (!settle('done')) return;
      state = finalState;
      note = finalNote;
      publish();
    },
    stopped(reason = 'interrupted') {
      if (!settle('stopped')) return;
      const goesOn = `${reason === 'interrupted' ? 'stopped waiting' : 'gave up waiting'}; ${options.operation ?? 'the operation'} goes on`;
      note = options.checkWith === undefined ? goesOn : `${goesOn}. Check on it with ${options.checkWith}`;
      publish();
    },
    failed(message) {
      if (!settle('failed')) return;
      state = 'FAILED';
      note = message;
      publish();
    },
  };
}

/** What `watch` hands the work it watches. */
export interface Watcher {
  /** Pass to `waitFor`'s `onProgress` (or call it with a state and what is awaited). */
  onProgress(progress: { state: string; detail?: string }): void;
  /** The cell's interrupt signal: pass to `waitFor`, so that an interrupt stops the waiting. */
  signal: AbortSignal;
  line: StatusLine;
}

export interface WatchOptions<Result> extends StatusLineOptions {
  /** The state to show when the work finished: `AVAILABLE`. */
  settledState(result: Result): string;
  /** What to add to the final line: `read_write_dns 127.0.3.7`. */
  settledNote?(result: Result): string | undefined;
}

/**
 * Runs `work` under a live status line: progress updates the line, the result ends it with its
 * state, an interrupt or a timeout ends it with "stopped waiting; ... goes on" and rethrows the
 * wait's error with a hint on how to check (`checkWith`), and any other failure ends it as FAILED
 * and rethrows. The line never outlives the work.
 */
export async function watch<Result>(host: MagicHost, options: WatchOptions<Result>, work: (watcher: Watcher) => Promise<Result>): Promise<Result> {
  const line = startStatusLine(host, options);
  try {
    const result = await work({ onProgress: (progress) => line.waiting(progress), signal: host.signal, line });
    line.done(options.settledState(result), options.settledNote?.(result));
    return result;
  } catch (error) {
    if (error instanceof WaitStoppedError || error instanceof WaitTimeoutError) {
      line.stopped(error instanceof WaitStoppedError ? 'interrupted' : 'timed out');
      throw options.checkWith === undefined ? error : error.withHint(`Check on it with ${options.checkWith}.`);
    }
    line.failed(describeError(error).message);
    throw error;
  }
}
