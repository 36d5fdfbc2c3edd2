// The emulator's background process: `node dist/emulator/daemon.js --data-dir DIR [--port N]
// [--token-ttl SECONDS] [--transition-delay-ms MS] [--min-suspend-timeout SECONDS]`. Started detached by `ensureEmulatorDaemon`;
// stopped by SIGTERM (or SIGINT), after which it stops every instance server and exits. It depends
// on the emulator only, never on the kernel.
import { parseArgs } from 'node:util';
import { EmulatorError } from './errors';
import { startEmulator } from './start';
import type { RunningEmulator } from './contracts';

function numberOption(values: Record<string, string | boolean | undefined>, name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(value)) throw new Error(`--${name} must be a number, got '${String(raw)}'`);
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      port: { type: 'string' },
      'token-ttl': { type: 'string' },
      'transition-delay-ms': { type: 'string' },
      'min-suspend-timeout': { type: 'string' },
    },
    strict: true,
  });
  const dataDir = values['data-dir'];
  if (!dataDir) throw new Error('--data-dir is required');
  const emulator: RunningEmulator = await startEmulator({
    dataDir,
    port: numberOption(values, 'port'),
    tokenTtlSeconds: numberOption(values, 'token-ttl'),
    transitionDelayMs: numberOption(values, 'transition-delay-ms'),
    minSuspendTimeoutSeconds: numberOption(values, 'min-suspend-timeout'),
    daemon: true,
  });
  let stopping = false;
  const shutDown = (reason: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${new Date().toISOString()} ${reason}: stopping\n`);
    emulator.stop().then(
      () => process.exit(exitCode),
      (error: unknown) => {
        process.stderr.write(`${new Date().toISOString()} stopping failed: ${error instanceof Error ? error.stack : String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutDown('SIGTERM', 0));
  process.on('SIGINT', () => shutDown('SIGINT', 0));
  // Detached, it has no terminal; a hang-up of the one that started it is no reason to stop.
  process.on('SIGHUP', () => undefined);
  process.on('uncaughtException', (error) => {
    process.stderr.write(`${new Date().toISOString()} uncaught exception: ${error.stack ?? error.message}\n`);
    shutDown('uncaught exception', 1);
  });
}

main().catch((error: unknown) => {
  // Known failures are one line (the CLI shows the log's end); unknown ones keep their stack.
  const reason = error instanceof EmulatorError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`${new Date().toISOString()} the emulator could not start: ${reason}\n`);
  process.exit(1);
});
