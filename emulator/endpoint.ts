// How a running emulator is found and reached: the record it writes into its data directory once
// it answers (pid, port, settings), the status route that proves a process on that port really is
// the emulator of that directory, and the endpoint handed to clients, whose secrets are kept out
// of `inspect`, `JSON.stringify` and logs (non-enumerable, as pg-pool hides `password`).
import { readFileSync } from 'node:fs';
import type { EmulatorEndpoint, EmulatorServicePrincipal, EmulatorUser } from './contracts';
import { DataFileError, readJsonFile } from './files';
import type { StoredServicePrincipal, StoredUser } from './identities';
import type { DataDirLayout } from './paths';
import { STATUS_PATH } from './routes/emulator';
import type { EmulatorStatusBody } from './routes/emulator';

export interface RunningRecord {
  pid: number;
  port: number;
  /** `http://127.0.0.1:<port>` */
  host: string;
  dataDir: string;
  caCertPath: string;
  startedAt: string;
  /** A background process started by `ensureEmulatorDaemon` / `emulator start`, not an in-process one. */
  daemon: boolean;
  tokenTtlSeconds: number;
  transitionDelayMs: number;
}

export async function readRunningRecord(layout: DataDirLayout): Promise<RunningRecord | undefined> {
  const value = (await readJsonFile(layout.running)) as Partial<RunningRecord> | undefined;
  if (value === undefined) return undefined;
  if (typeof value.pid !== 'number' || typeof value.port !== 'number' || typeof value.host !== 'string') {
    throw new DataFileError(layout.running, 'not a running-emulator record');
  }
  return value as RunningRecord;
}

/**
 * Whether a process with this pid is alive (signal 0 checks without signalling). A zombie counts as
 * dead: a daemon outlives the process that started it, so when it exits its parent is init, and
 * init may take its time to reap it (seconds in some containers) while `kill(pid, 0)` still works.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else; ESRCH: no such process.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    // No /proc (macOS) or the process just went: either way, nothing says it is a zombie.
    if (['ENOENT', 'EACCES', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '')) return false;
    throw error;
  }
  // "pid (comm) state ...": comm may contain spaces and parentheses, so read after the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
}

/** The status of the emulator at `host` if it serves `dataDir`; `undefined` if nothing (right) answers. */
export async function probeEmulator(host: string, dataDir: string, timeoutMs = 2000): Promise<EmulatorStatusBody | undefined> {
  let response: Response;
  try {
    response = await fetch(`${host}${STATUS_PATH}`, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    // Refused, reset or timed out: nothing answers there, which is the answer we were asked for.
    if (error instanceof Error) return undefined;
    throw error;
  }
  if (!response.ok) return undefined;
  const body = (await response.json().catch(() => undefined)) as Partial<EmulatorStatusBody> | undefined;
  if (body?.service !== 'lakebase-emulator' || body.dataDir !== dataDir) return undefined;
  return body as EmulatorStatusBody;
}

function withHiddenSecret<T extends object>(target: T, key: string, secret: string): T {
  Object.defineProperty(target, key, { value: secret, enumerable: false, writable: false, configurable: false });
  return target;
}

export function emulatorUser(user: StoredUser): EmulatorUser {
  return withHiddenSecret({ userName: user.userName } as EmulatorUser, 'token', user.token);
}

export function emulatorServicePrincipal(sp: StoredServicePrincipal): EmulatorServicePrincipal {
  return withHiddenSecret({ applicationId: sp.applicationId, displayName: sp.displayName } as EmulatorServicePrincipal, 'clientSecret', sp.clientSecret);
}

export function makeEndpoint(fields: {
  host: string;
  dataDir: string;
  caCertPath: string;
  user: StoredUser;
  secondUser: StoredUser;
  adminUser: StoredUser;
  servicePrincipal: StoredServicePrincipal;
}): EmulatorEndpoint {
  return {
    host: fields.host,
    dataDir: fields.dataDir,
    caCertPath: fields.caCertPath,
    user: emulatorUser(fields.user),
    secondUser: emulatorUser(fields.secondUser),
    adminUser: emulatorUser(fields.adminUser),
    servicePrincipal: emulatorServicePrincipal(fields.servicePrincipal),
  };
}
