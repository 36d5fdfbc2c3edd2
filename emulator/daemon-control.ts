// The emulator as a background process: started once per data directory by whoever needs it first
// (the CLI's `emulator start`, or a kernel's embedded default), found again by everyone else, and
// stopped by `emulator stop`. The process runs `daemon.js` (compiled from `daemon.ts`), which does
// not depend on the kernel.
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { EmulatorEndpoint, EmulatorOptions } from './contracts';
import { makeEndpoint, probeEmulator, processAlive, readRunningRecord } from './endpoint';
import type { RunningRecord } from './endpoint';
import { EmulatorError } from './errors';
import { readJsonFile } from './files';
import { loadOrCreateIdentities } from './identities';
import { API_FIDELITY_GAPS } from './limits';
import { INSTANCE_SERVER_FIDELITY_GAPS } from './postgres/index';
import { dataDirLayout, prepareDataDir } from './paths';
import type { DataDirLayout } from './paths';
import type { EmulatorState } from './store';

/** How long a first start may take: restoring many instances starts many PostgreSQL servers. */
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 60_000;
const POLL_MS = 100;
/** A start lock older than this is left over from a process that died while starting a daemon. */
const STALE_START_LOCK_MS = START_TIMEOUT_MS + 10_000;

const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

/**
 * `daemon.js` beside this module when running compiled (`dist/emulator/`); from the TypeScript
 * sources (tests), the compiled one under the package's `dist/`.
 */
export function daemonScript(): string {
  const candidates = [join(__dirname, 'daemon.js'), join(__dirname, '..', 'dist', 'emulator', 'daemon.js')];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) {
    throw new EmulatorError('EMULATOR_DAEMON_MISSING', `The emulator's daemon is not built (looked for ${candidates.join(', ')}). Run \`npm run build\` first.`);
  }
  return found;
}

/** The running emulator of this directory, if one answers there. */
async function findRunning(layout: DataDirLayout): Promise<RunningRecord | undefined> {
  const record = await readRunningRecord(layout);
  if (!record || !processAlive(record.pid)) return undefined;
  const status = await probeEmulator(record.host, layout.dataDir);
  return status && status.pid === record.pid ? record : undefined;
}

async function endpointOf(layout: DataDirLayout, record: RunningRecord): Promise<EmulatorEndpoint> {
  const identities = await loadOrCreateIdentities(layout.identities);
  return makeEndpoint({
    host: record.host,
    dataDir: layout.dataDir,
    caCertPath: record.caCertPath,
    user: identities.defaultUser,
    secondUser: identities.secondUser,
    adminUser: identities.adminUser,
    servicePrincipal: identities.servicePrincipal,
  });
}

/** Takes the start lock, or returns false when another live process holds it. */
async function tryStartLock(layout: DataDirLayout): Promise<boolean> {
  try {
    const handle = await open(layout.daemonLock, 'wx', 0o600);
    await handle.writeFile(String(process.pid));
    await handle.close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  let holder = Number.NaN;
  let age = 0;
  try {
    holder = Number(await readFile(layout.daemonLock, 'utf8'));
    age = Date.now() - (await stat(layout.daemonLock)).mtimeMs;
  } catch (error) {
    // Released between our attempt and this look: try again at the next poll.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  const stale = !Number.isInteger(holder) ? age > 5_000 : !processAlive(holder) || age > STALE_START_LOCK_MS;
  if (stale) await rm(layout.daemonLock, { force: true });
  return false;
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

async function spawnDaemon(layout: DataDirLayout, options: EmulatorOptions): Promise<RunningRecord> {
  const args = [daemonScript(), '--data-dir', layout.dataDir];
  if (options.port !== undefined) args.push('--port', String(options.port));
  if (options.tokenTtlSeconds !== undefined) args.push('--token-ttl', String(options.tokenTtlSeconds));
  if (options.transitionDelayMs !== undefined) args.push('--transition-delay-ms', String(options.transitionDelayMs));
  if (options.minSuspendTimeoutSeconds !== undefined) args.push('--min-suspend-timeout', String(options.minSuspendTimeoutSeconds));
  const logOffset = existsSync(layout.log) ? (await stat(layout.log)).size : 0;
  const output = openSync(layout.log, 'a', 0o600);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  try {
    // Detached, in its own session, output to the log: it outlives the process that started it.
    const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', output, output], env: process.env });
    child.once('exit', (code, signal) => (exited = { code, signal }));
    child.unref();
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (exited) break;
      const record = await findRunning(layout);
      if (record && record.pid === child.pid) return record;
      await sleep(POLL_MS);
    }
    if (!exited) child.kill('SIGTERM');
  } finally {
    closeSync(output);
  }
  const log = await readFile(layout.log, 'utf8').then((text) => text.slice(logOffset), () => '');
  throw new EmulatorError(
    'EMULATOR_DAEMON_FAILED',
    (exited ? `The emulator daemon exited (${exited.signal ?? `code ${exited.code}`}) before it answered.` : `The emulator daemon did not answer within ${START_TIMEOUT_MS / 1000} s.`) +
      ` Its log (${layout.log}) ends with:\n${tail(log, 15)}`,
  );
}

/**
 * Returns the emulator of `options.dataDir`, starting it in the background if none answers there.
 * Two callers at once get one daemon (a start lock). The other options apply only when a daemon is
 * started; a running one keeps its own settings.
 */
export async function ensureEmulatorDaemon(options: EmulatorOptions): Promise<EmulatorEndpoint> {
  const layout = dataDirLayout(resolve(options.dataDir));
  await prepareDataDir(layout);
  const deadline = Date.now() + START_TIMEOUT_MS + 10_000;
  while (Date.now() < deadline) {
    const running = await findRunning(layout);
    if (running) return endpointOf(layout, running);
    if (await tryStartLock(layout)) {
      try {
        const raced = await findRunning(layout);
        return endpointOf(layout, raced ?? (await spawnDaemon(layout, options)));
      } finally {
        await rm(layout.daemonLock, { force: true });
      }
    }
    await sleep(POLL_MS);
  }
  throw new EmulatorError('EMULATOR_DAEMON_FAILED', `Waited too long for another process to start the emulator of ${layout.dataDir} (start lock ${layout.daemonLock}).`);
}

export interface StopResult {
  /** Whether a daemon was running and has now stopped. */
  stopped: boolean;
  pid?: number;
}

/** Stops the daemon of `dataDir` and waits until its process (and so its servers) are gone. */
export async function stopEmulatorDaemon(dataDir: string): Promise<StopResult> {
  const layout = dataDirLayout(resolve(dataDir));
  const record = await readRunningRecord(layout);
  if (!record) return { stopped: false };
  if (!processAlive(record.pid)) {
    // Killed hard earlier: clear its leftovers; its servers are recovered at the next start.
    await rm(layout.running, { force: true });
    return { stopped: false };
  }
  const status = await probeEmulator(record.host, layout.dataDir);
  if (!status || status.pid !== record.pid) {
    throw new EmulatorError(
      'EMULATOR_NOT_RUNNING',
      `${layout.running} names pid ${record.pid}, but no emulator of this data directory answers at ${record.host}; not signalling an unknown process. Delete ${layout.running} if it is stale.`,
    );
  }
  if (!record.daemon) {
    throw new EmulatorError('EMULATOR_NOT_A_DAEMON', `The emulator of ${layout.dataDir} runs inside process ${record.pid} (started in-process); stop it there.`);
  }
  process.kill(record.pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (processAlive(record.pid)) {
    if (Date.now() > deadline) {
      throw new EmulatorError('EMULATOR_STOP_TIMEOUT', `The emulator (pid ${record.pid}) did not stop within ${STOP_TIMEOUT_MS / 1000} s; see ${layout.log}.`);
    }
    await sleep(POLL_MS);
  }
  return { stopped: true, pid: record.pid };
}

export interface EmulatorInstanceSummary {
  name: string;
  state: string;
  readWriteDns: string;
  port: number;
}

export interface EmulatorStatus {
  dataDir: string;
  running: boolean;
  pid?: number;
  host?: string;
  daemon?: boolean;
  startedAt?: string;
  tokenTtlSeconds?: number;
  transitionDelayMs?: number;
  /** As last recorded in the data directory (live states when running). */
  instances: EmulatorInstanceSummary[];
  /** Lakebase Autoscaling endpoints: ACTIVE while their branch's server runs, IDLE scaled to zero. */
  endpoints: { name: string; state: string; host: string; deleted: boolean }[];
  /** Where the emulator knowingly differs from the real service: `id: what the emulator does`. */
  fidelityGaps: readonly string[];
}

export async function emulatorStatus(dataDir: string): Promise<EmulatorStatus> {
  const layout = dataDirLayout(resolve(dataDir));
  const record = await findRunning(layout);
  const state = (await readJsonFile(layout.state)) as EmulatorState | undefined;
  const instances = Object.values(state?.instances ?? {})
    .map((instance) => ({ name: instance.name, state: instance.state, readWriteDns: instance.address, port: instance.port }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const autoscaling = state?.autoscaling;
  const endpoints = Object.values(autoscaling?.endpoints ?? {})
    .map((endpoint) => {
      const branch = autoscaling?.branches[endpoint.branch];
      const project = branch ? autoscaling?.projects[branch.project] : undefined;
      return { name: endpoint.name, state: endpoint.state, host: endpoint.address, deleted: Boolean(branch?.deleteTime ?? project?.deleteTime) };
    })
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const fidelityGaps = [...API_FIDELITY_GAPS, ...INSTANCE_SERVER_FIDELITY_GAPS].map((gap) => `${gap.id}: ${gap.emulator}`);
  const base = { dataDir: layout.dataDir, instances, endpoints, fidelityGaps };
  if (!record) return { ...base, running: false };
  return {
    ...base,
    running: true,
    pid: record.pid,
    host: record.host,
    daemon: record.daemon,
    startedAt: record.startedAt,
    tokenTtlSeconds: record.tokenTtlSeconds,
    transitionDelayMs: record.transitionDelayMs,
  };
}

/** The endpoint of the running emulator of `dataDir`, or `undefined` when none runs. */
export async function runningEmulatorEndpoint(dataDir: string): Promise<EmulatorEndpoint | undefined> {
  const layout = dataDirLayout(resolve(dataDir));
  const record = await findRunning(layout);
  return record && endpointOf(layout, record);
}
