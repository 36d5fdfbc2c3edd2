// The pipe between a sync's source and its target: what one COPY (or an Arrow reader) produces is
// consumed by the target's `COPY ... FROM STDIN` as an async iterable. Bounded by bytes, so a fast
// source waits for a slow target instead of filling memory: the engine's memory does not grow with
// the table (issue 9: "memory does not grow with table size").

/** Bytes held between the two sides before the producer is made to wait. */
export const CHANNEL_HIGH_WATER_BYTES = 4 * 1024 * 1024;

type State = 'open' | 'ended' | 'failed' | 'closed';

export class CopyChannel implements AsyncIterable<Buffer> {
  readonly #highWater: number;
  readonly #chunks: Buffer[] = [];
  #bytes = 0;
  #state: State = 'open';
  #failure: unknown;
  /** The consumer, waiting for a chunk or the end. */
  #wakeConsumer: (() => void) | undefined;
  /** The producer, waiting for room. */
  #wakeProducer: (() => void) | undefined;

  constructor(highWaterBytes = CHANNEL_HIGH_WATER_BYTES) {
    this.#highWater = highWaterBytes;
  }

  /** Whether the consumer stopped reading (the target failed or was aborted). */
  get closed(): boolean {
    return this.#state === 'closed';
  }

  /**
   * Hands a chunk on. Resolves at once while there is room, else once the consumer has taken
   * enough; rejects when the consumer has stopped reading, so the producer stops too.
   */
  push(chunk: Buffer): Promise<void> | undefined {
    if (this.#state === 'closed') return Promise.reject(new Error('The sync target stopped reading.'));
    if (this.#state !== 'open') throw new Error(`Bug: push() on a channel that is ${this.#state}.`);
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    this.#wake();
    if (this.#bytes < this.#highWater) return undefined;
    return new Promise((resolve, reject) => {
      this.#wakeProducer = () => (this.#state === 'closed' ? reject(new Error('The sync target stopped reading.')) : resolve());
    });
  }

  /** No more chunks: the consumer reads what is left, then ends. */
  end(): void {
    if (this.#state === 'open') this.#state = 'ended';
    this.#wake();
  }

  /** The producer failed: the consumer throws `error` (a COPY FROM STDIN then sends CopyFail). */
  fail(error: unknown): void {
    if (this.#state !== 'open') return;
    this.#state = 'failed';
    this.#failure = error;
    this.#wake();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    try {
      while (true) {
        const chunk = this.#chunks.shift();
        if (chunk !== undefined) {
          this.#bytes -= chunk.length;
          if (this.#bytes < this.#highWater / 2) this.#release();
          yield chunk;
          continue;
        }
        if (this.#state === 'ended') return;
        if (this.#state === 'failed') throw this.#failure;
        await new Promise<void>((resolve) => {
          this.#wakeConsumer = resolve;
        });
      }
    } finally {
      // The consumer is done (all read, failed, or gave up): a waiting producer must not wait forever.
      if (this.#state === 'open') this.#state = 'closed';
      this.#chunks.length = 0;
      this.#bytes = 0;
      this.#release();
    }
  }

  #wake(): void {
    const wake = this.#wakeConsumer;
    this.#wakeConsumer = undefined;
    wake?.();
  }

  #release(): void {
    const release = this.#wakeProducer;
    this.#wakeProducer = undefined;
    release?.();
  }
}
