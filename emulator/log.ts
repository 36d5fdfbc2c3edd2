// The emulator's log: one line per event, appended to `emulator.log` in the data directory, with a
// timestamp. Never given a secret: tokens, PATs and client secrets stay out of every line. Each
// entry stays one line whatever it holds (a stack, a client's text): see `log-text.ts`.
import { createWriteStream } from 'node:fs';
import { escapeLogText } from './log-text';

export interface EmulatorLog {
  (line: string): void;
  close(): Promise<void>;
}

export function openEmulatorLog(path: string): EmulatorLog {
  const stream = createWriteStream(path, { flags: 'a', mode: 0o600 });
  // A full disk must not take the emulator down with it; the failure is reported once on stderr.
  let failed = false;
  stream.on('error', (error) => {
    if (failed) return;
    failed = true;
    process.stderr.write(`lakebase emulator: cannot write its log ${path}: ${error.message}\n`);
  });
  const log = ((line: string) => {
    if (!stream.writableEnded) stream.write(`${new Date().toISOString()} ${escapeLogText(line)}\n`);
  }) as EmulatorLog;
  log.close = () => new Promise<void>((resolve) => stream.end(resolve));
  return log;
}
