// Where things live in an emulator's data directory. One place, so the daemon, the CLI and the
// in-process emulator agree on every file name.
import { chmod, mkdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface DataDirLayout {
  readonly dataDir: string;
  /** Instances, catalogs, tables and the last API port. */
  readonly state: string;
  /** Users, their PATs, service principals and their secrets (mode 0600). */
  readonly identities: string;
  /** The key that signs database credentials and OAuth access tokens (mode 0600). */
  readonly signingKey: string;
  /** The certificate authority of the instances' server certificates. */
  readonly authorityDir: string;
  readonly instancesDir: string;
  /** The local lakehouse's PostgreSQL server (emulator/lakehouse/). */
  readonly lakehouseDir: string;
  /** Held by the emulator that serves this directory, for its whole life: one at a time. */
  readonly lock: string;
  /** Written once the emulator answers: pid, port, settings. Removed when it stops. */
  readonly running: string;
  /** Held while a daemon is being started, so two kernels starting one at once get one. */
  readonly daemonLock: string;
  /** The daemon's output. */
  readonly log: string;
  instanceDir(uid: string): string;
}

export function dataDirLayout(dataDir: string): DataDirLayout {
  return {
    dataDir,
    state: join(dataDir, 'state.json'),
    identities: join(dataDir, 'identities.json'),
    signingKey: join(dataDir, 'signing-key.json'),
    authorityDir: join(dataDir, 'ca'),
    instancesDir: join(dataDir, 'instances'),
    lakehouseDir: join(dataDir, 'lakehouse'),
    lock: join(dataDir, 'emulator.lock'),
    running: join(dataDir, 'running.json'),
    daemonLock: join(dataDir, 'daemon-start.lock'),
    log: join(dataDir, 'emulator.log'),
    instanceDir: (uid: string) => join(dataDir, 'instances', uid),
  };
}

/**
 * `$LAKEBASE_EMULATOR_DIR`, else `$XDG_DATA_HOME/lakebase-kernel/emulator`, else
 * `~/.local/share/lakebase-kernel/emulator` (the XDG base directory default). As root (containers,
 * CI) the default is `/var/lib/lakebase-kernel/emulator` instead: the instance servers then run as
 * the `postgres` OS user, which cannot enter `/root` (mode 0700).
 */
export function defaultEmulatorDataDir(env: NodeJS.ProcessEnv = process.env, uid: number | undefined = process.getuid?.()): string {
  if (env.LAKEBASE_EMULATOR_DIR) return env.LAKEBASE_EMULATOR_DIR;
  if (env.XDG_DATA_HOME) return join(env.XDG_DATA_HOME, 'lakebase-kernel', 'emulator');
  if (uid === 0) return join('/var/lib', 'lakebase-kernel', 'emulator');
  return join(homedir(), '.local', 'share', 'lakebase-kernel', 'emulator');
}

/**
 * Creates the data directory (mode 0700; secrets inside are also protected file by file, 0600).
 * As root the instance servers run as the `postgres` OS user (PostgreSQL refuses to run as root),
 * which must be able to pass through to its own directories below: then the directories get the
 * search bit for others (o+x, not the right to list them), and no permission is ever taken away
 * from a directory the user chose.
 */
export async function prepareDataDir(layout: DataDirLayout): Promise<void> {
  const asRoot = process.getuid?.() === 0;
  for (const dir of [layout.dataDir, layout.instancesDir]) {
    const firstCreated = await mkdir(dir, { recursive: true, mode: 0o700 });
    if (!asRoot) continue;
    // The directories just created on the way (e.g. /var/lib/lakebase-kernel) need it too.
    const chain = [dir];
    if (firstCreated !== undefined) {
      for (let parent = dirname(dir); parent.startsWith(firstCreated) && parent !== dirname(parent); parent = dirname(parent)) chain.push(parent);
    }
    for (const link of chain) {
      const { mode } = await stat(link);
      if ((mode & 0o001) === 0) await chmod(link, (mode & 0o7777) | 0o001);
    }
  }
}
