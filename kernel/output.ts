// Writes to process.stdout and process.stderr become `stream` messages of the cell that is
// running. Text is coalesced for a few milliseconds so that a loop of console.log calls sends a
// handful of messages rather than thousands; anything that must come after the text (a display,
// a result, an error, the reply) flushes first.

export type StreamName = 'stdout' | 'stderr';

export interface OutputCapture {
  /** Queues text for a stream; used by the patched writers and by magics directly. */
  write(name: StreamName, text: string): void;
  /** Sends queued text now. */
  flush(): void;
  /** Puts the original writers back. */
  restore(): void;
}

const COALESCE_MS = 10;

type Write = typeof process.stdout.write;

export function captureOutput(send: (name: StreamName, text: string) => void): OutputCapture {
  const pending: { name: StreamName; text: string }[] = [];
  let timer: NodeJS.Timeout | undefined;

  function flush(): void {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    while (pending.length > 0) {
      const { name, text } = pending.shift()!;
      send(name, text);
    }
  }

  function write(name: StreamName, text: string): void {
    if (text.length === 0) return;
    const last = pending[pending.length - 1];
    if (last && last.name === name) last.text += text;
    else pending.push({ name, text });
    timer ??= setTimeout(flush, COALESCE_MS);
  }

  function patch(stream: NodeJS.WriteStream, name: StreamName): Write {
    const original = stream.write;
    stream.write = function (chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString(
        typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8',
      );
      write(name, text);
      const done = typeof encoding === 'function' ? encoding : callback;
      if (typeof done === 'function') process.nextTick(done as () => void);
      return true;
    } as Write;
    return original;
  }

  const originalStdout = patch(process.stdout, 'stdout');
  const originalStderr = patch(process.stderr, 'stderr');

  return {
    write,
    flush,
    restore() {
      flush();
      process.stdout.write = originalStdout;
      process.stderr.write = originalStderr;
    },
  };
}
