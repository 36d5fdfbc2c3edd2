// A result's record batches read ahead of the client, already encoded as a page carries them.
//
// A warehouse client fetches a page, decodes it, then asks for the next; answering one page at a
// time, the emulator read nothing from its engine while a page was in transit or being decoded,
// and the client waited while the next one was read and encoded. Reading ahead overlaps the two:
// the engine's COPY, the Arrow encoding and the client's work run at the same time (they are
// three processes). It is bounded in bytes, so a result of any size holds at most that much here.
import type * as arrow from 'apache-arrow';

export interface ReadBatch {
  batch: arrow.RecordBatch;
  /** The batch encoded (an Arrow IPC message), made while the client was busy. */
  message: Buffer;
}

export class ReadAhead {
  readonly #queue: ReadBatch[] = [];
  #queuedBytes = 0;
  #ended = false;
  #failure: { error: unknown } | undefined;
  #stopped = false;
  /** Readers waiting for a batch or the end, and the pump waiting for room. */
  #readers: (() => void)[] = [];
  #wakePump: (() => void) | undefined;

  constructor(
    private readonly batches: AsyncIterator<arrow.RecordBatch>,
    private readonly encode: (batch: arrow.RecordBatch) => Buffer,
    /** Encoded bytes that may wait; the pump reads on while fewer wait (so one batch always may). */
    private readonly limitBytes: number,
  ) {
    void this.#pump();
  }

  /** The next batch, or undefined after the last; an engine error is thrown where it happened. */
  async next(): Promise<ReadBatch | undefined> {
    await this.#waitForBatchOrEnd();
    const next = this.#queue.shift();
    if (next === undefined) {
      if (this.#failure) throw this.#failure.error;
      return undefined;
    }
    this.#queuedBytes -= next.message.length;
    this.#wakePump?.();
    return next;
  }

  /** Waits for the first batch or the end; throws when the engine failed before any batch. */
  async started(): Promise<void> {
    await this.#waitForBatchOrEnd();
    if (this.#queue.length === 0 && this.#failure) throw this.#failure.error;
  }

  /** Whether a batch (or an error) comes next: waits for the engine when it has not said yet. */
  async hasMore(): Promise<boolean> {
    await this.#waitForBatchOrEnd();
    return this.#queue.length > 0 || this.#failure !== undefined;
  }

  /** Puts back what a page could not take (the rest of a batch split at the page's row limit). */
  putBack(batch: ReadBatch): void {
    this.#queue.unshift(batch);
    this.#queuedBytes += batch.message.length;
  }

  /** Stops reading ahead (the operation was closed); the engine's stream is closed by its owner. */
  stop(): void {
    this.#stopped = true;
    this.#queue.length = 0;
    this.#queuedBytes = 0;
    this.#wakePump?.();
  }

  async #waitForBatchOrEnd(): Promise<void> {
    while (this.#queue.length === 0 && !this.#ended) await new Promise<void>((resolve) => this.#readers.push(resolve));
  }

  #wakeReaders(): void {
    for (const wake of this.#readers.splice(0)) wake();
  }

  async #pump(): Promise<void> {
    try {
      while (!this.#stopped) {
        if (this.#queuedBytes >= this.limitBytes) {
          await new Promise<void>((resolve) => (this.#wakePump = resolve));
          continue;
        }
        const next = await this.batches.next();
        if (next.done || this.#stopped) break;
        if (next.value.numRows === 0) continue;
        const message = this.encode(next.value);
        this.#queue.push({ batch: next.value, message });
        this.#queuedBytes += message.length;
        this.#wakeReaders();
      }
    } catch (error) {
      this.#failure = { error };
    } finally {
      this.#ended = true;
      this.#wakeReaders();
    }
  }
}
