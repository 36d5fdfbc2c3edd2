// What a running sync reports: rows and bytes so far, rate and, when the source could estimate its
// size, the expected total and time left. Pure bookkeeping; whoever shows it (the `sync run`
// magic's progress bar, a program's log line) decides how often.

export type SyncPhase = 'preparing' | 'copying' | 'merging' | 'committing' | 'done';

export interface SyncProgress {
  phase: SyncPhase;
  /** Rows read from the source so far. */
  rows: number;
  /** Bytes of COPY text moved so far. */
  bytes: number;
  elapsedMs: number;
  /** Rows per second since copying started; 0 before. */
  rowsPerSecond: number;
  /** The source's estimate of the rows this sync reads (the planner's), when it gave one. */
  estimatedRows?: number;
  /** Seconds left at the current rate, when there is an estimate and a rate. */
  etaSeconds?: number;
}

const NEWLINE = 0x0a;

/** Rows in a chunk of COPY text: one newline ends each row (newlines inside values are escaped as `\n`). */
export function countRows(chunk: Buffer): number {
  let rows = 0;
  for (let at = chunk.indexOf(NEWLINE); at >= 0; at = chunk.indexOf(NEWLINE, at + 1)) rows++;
  return rows;
}

export class ProgressTracker {
  #phase: SyncPhase = 'preparing';
  #rows = 0;
  #bytes = 0;
  #copyStarted: number | undefined;
  #estimatedRows: number | undefined;
  readonly #started = Date.now();

  constructor(private readonly listener: ((progress: SyncProgress) => void) | undefined) {}

  set estimatedRows(rows: number | undefined) {
    this.#estimatedRows = rows;
  }

  phase(phase: SyncPhase): void {
    this.#phase = phase;
    if (phase === 'copying') this.#copyStarted ??= Date.now();
    this.#emit();
  }

  chunk(chunk: Buffer): void {
    this.#rows += countRows(chunk);
    this.#bytes += chunk.length;
    this.#emit();
  }

  get rows(): number {
    return this.#rows;
  }

  get bytes(): number {
    return this.#bytes;
  }

  snapshot(): SyncProgress {
    const now = Date.now();
    const copyingMs = this.#copyStarted === undefined ? 0 : now - this.#copyStarted;
    const rowsPerSecond = copyingMs > 0 ? (this.#rows * 1000) / copyingMs : 0;
    const progress: SyncProgress = {
      phase: this.#phase,
      rows: this.#rows,
      bytes: this.#bytes,
      elapsedMs: now - this.#started,
      rowsPerSecond,
    };
    const estimate = this.#estimatedRows;
    if (estimate !== undefined) {
      // A planner estimate can be low; the total shown is never below what was already read.
      progress.estimatedRows = Math.max(estimate, this.#rows);
      if (rowsPerSecond > 0 && this.#phase === 'copying') progress.etaSeconds = (progress.estimatedRows - this.#rows) / rowsPerSecond;
    }
    return progress;
  }

  #emit(): void {
    if (this.listener === undefined) return;
    try {
      this.listener(this.snapshot());
    } catch (error) {
      // A display that fails must not fail the sync; say so once, where a developer looks.
      process.emitWarning(`sync progress listener failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
