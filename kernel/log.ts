// The kernel's diagnostic log: one line per event on the process's ORIGINAL stderr.
//
// Why the file descriptor and not `process.stderr`: while a cell runs, the kernel redirects
// `process.stdout`/`process.stderr` writes into the notebook's streams, so a log line written there
// would land in the user's output. `fs.writeSync(2, ...)` goes to what Jupyter captured as the
// kernel's stderr (the server console, or the headless runner's terminal).
//
// What is logged is the caller's choice, but two guards hold whatever it passes: fields whose name
// says secret (key, token, password, signature, ...) print as `[redacted]`, and long values are cut,
// so a whole message content cannot end up in a log line. Log msg_type and ids, not contents.
import { writeSync } from 'node:fs';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** The lowest level written; `off` writes nothing. */
export type LogThreshold = LogLevel | 'off';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (e.g. `{ component: 'wire' }`). */
  child(fields: LogFields): Logger;
  /** Whether a line at `level` would be written (to skip building costly fields). */
  enabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  /** Default: `LAKEBASE_KERNEL_LOG`, else `warn`. */
  threshold?: LogThreshold;
  /** Where a finished line (with its newline) goes. Default: the original stderr descriptor. */
  write?: (line: string) => void;
  /** Fields on every line. */
  fields?: LogFields;
  /** Source of timestamps (tests pin it). */
  now?: () => Date;
}

export const LOG_ENV_VARIABLE = 'LAKEBASE_KERNEL_LOG';

const RANK: Record<LogThreshold, number> = { debug: 10, info: 20, warn: 30, error: 40, off: 100 };
const MAX_VALUE_LENGTH = 200;
const SECRET_FIELD = /pass(word|wd)?$|secret|token|credential|authorization|signature|^key$|_key$|Key$/i;

/** Reads `LAKEBASE_KERNEL_LOG`; `undefined` when the value is not a level (so the caller can say so). */
export function thresholdFromEnv(env: NodeJS.ProcessEnv = process.env): LogThreshold | undefined {
  const value = env[LOG_ENV_VARIABLE]?.trim().toLowerCase();
  if (value === undefined || value === '') return 'warn';
  return value in RANK ? (value as LogThreshold) : undefined;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  let threshold = options.threshold;
  let badEnvValue: string | undefined;
  if (threshold === undefined) {
    threshold = thresholdFromEnv();
    if (threshold === undefined) {
      badEnvValue = process.env[LOG_ENV_VARIABLE];
      threshold = 'warn';
    }
  }
  const sink: Sink = {
    threshold,
    write: options.write ?? writeToOriginalStderr,
    now: options.now ?? (() => new Date()),
  };
  const logger = makeLogger(sink, options.fields ?? {});
  if (badEnvValue !== undefined) {
    logger.warn(`${LOG_ENV_VARIABLE} is not one of debug, info, warn, error, off; logging warnings`, {
      value: badEnvValue,
    });
  }
  return logger;
}

/** A logger that writes nothing, for code paths and tests that have no use for diagnostics. */
export const silentLogger: Logger = createLogger({ threshold: 'off', write: () => undefined });

interface Sink {
  threshold: LogThreshold;
  write: (line: string) => void;
  now: () => Date;
}

function makeLogger(sink: Sink, context: LogFields): Logger {
  const enabled = (level: LogLevel) => RANK[level] >= RANK[sink.threshold];
  const log = (level: LogLevel, message: string, fields?: LogFields) => {
    if (!enabled(level)) return;
    const parts = [sink.now().toISOString(), level.toUpperCase().padEnd(5), oneLine(message)];
    for (const [name, value] of Object.entries({ ...context, ...fields })) {
      if (value === undefined) continue;
      parts.push(`${name}=${SECRET_FIELD.test(name) ? '[redacted]' : formatValue(value)}`);
    }
    sink.write(`${parts.join(' ')}\n`);
  };
  return {
    debug: (message, fields) => log('debug', message, fields),
    info: (message, fields) => log('info', message, fields),
    warn: (message, fields) => log('warn', message, fields),
    error: (message, fields) => log('error', message, fields),
    child: (fields) => makeLogger(sink, { ...context, ...fields }),
    enabled,
  };
}

function formatValue(value: unknown): string {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return quote(`${value.name}${typeof code === 'string' ? `[${code}]` : ''}: ${value.message}`);
  }
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value === null) {
    return String(value);
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(value, (name, inner: unknown) => (name && SECRET_FIELD.test(name) ? '[redacted]' : inner));
  } catch (error) {
    // Cycles and BigInts inside objects: say what it was rather than fail the log call.
    json = `[unprintable ${typeof value}: ${(error as Error).message}]`;
  }
  return quote(json ?? String(value));
}

/** Bare when safe, else JSON-quoted, so that one event is always one line that tools can split. */
function quote(text: string): string {
  const cut = text.length > MAX_VALUE_LENGTH ? `${text.slice(0, MAX_VALUE_LENGTH)}…` : text;
  return /^[\w.:/@+-]+$/.test(cut) ? cut : JSON.stringify(cut);
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

function writeToOriginalStderr(line: string): void {
  let buffer = Buffer.from(line);
  // stderr may be a non-blocking pipe: a full pipe answers EAGAIN, and a write may be partial.
  // Retry a bounded number of times, then drop the line: logging must never break the kernel.
  for (let attempts = 0; buffer.length > 0 && attempts < 1000; attempts++) {
    try {
      buffer = buffer.subarray(writeSync(2, buffer));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return;
    }
  }
}
