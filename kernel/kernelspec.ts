// Registers the kernel with Jupyter the way `jupyter kernelspec install` places specs, so that
// JupyterLab, Notebook, VS Code and nbclient all find it under the name `lakebase`.
// Locations: https://docs.jupyter.org/en/latest/use/jupyter-directories.html
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, platform } from 'node:os';
import { join, resolve } from 'node:path';
import { LakebaseError } from '../lakebase/errors';

export const KERNEL_NAME = 'lakebase';

export type InstallLocation =
  | { kind: 'user' }
  | { kind: 'sys-prefix' }
  | { kind: 'prefix'; prefix: string };

// Logos for the launchers, and `kernel.js`, which Notebook 6 loads to highlight %%lakebase cells as SQL.
const ASSETS = ['logo-32x32.png', 'logo-64x64.png', 'logo-svg.svg', 'kernel.js'];

/** The command Jupyter runs: this Node binary and this package's CLI, by absolute path. */
export function kernelSpec(cliPath: string) {
  return {
    argv: [process.execPath, cliPath, 'kernel', '--connection-file', '{connection_file}'],
    display_name: 'TypeScript (Lakebase)',
    language: 'typescript',
    // Signals reach synchronous TypeScript loops, which a message on the control channel cannot
    // (the event loop is busy); interrupt_request messages are handled as well.
    interrupt_mode: 'signal',
    env: {},
    metadata: {
      debugger: false,
      help_links: [
        { text: 'Lakebase documentation', url: 'https://docs.databricks.com/aws/en/database' },
        { text: 'TypeScript handbook', url: 'https://www.typescriptlang.org/docs/handbook/' },
      ],
    },
  };
}

export function kernelsDirectory(location: InstallLocation): string {
  switch (location.kind) {
    case 'prefix':
      return join(resolve(location.prefix), 'share', 'jupyter', 'kernels');
    case 'sys-prefix':
      return join(pythonSysPrefix(), 'share', 'jupyter', 'kernels');
    case 'user':
      return join(userDataDirectory(), 'kernels');
    default: {
      const unknownLocation: never = location;
      throw new Error(`unknown install location ${JSON.stringify(unknownLocation)}`);
    }
  }
}

export function installKernelSpec(location: InstallLocation, cliPath: string): string {
  const directory = join(kernelsDirectory(location), KERNEL_NAME);
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, 'kernel.json'), `${JSON.stringify(kernelSpec(cliPath), null, 2)}\n`);
  const assets = join(__dirname, '..', '..', 'kernel', 'assets');
  for (const asset of ASSETS) copyFileSync(join(assets, asset), join(directory, asset));
  return directory;
}

export function uninstallKernelSpec(location: InstallLocation): string | null {
  const directory = join(kernelsDirectory(location), KERNEL_NAME);
  if (!existsSync(directory)) return null;
  rmSync(directory, { recursive: true, force: true });
  return directory;
}

/** Jupyter's per-user data directory, honouring JUPYTER_DATA_DIR like Jupyter itself. */
function userDataDirectory(): string {
  if (process.env.JUPYTER_DATA_DIR) return resolve(process.env.JUPYTER_DATA_DIR);
  switch (platform()) {
    case 'darwin':
      return join(homedir(), 'Library', 'Jupyter');
    case 'win32':
      return join(process.env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'jupyter');
    default:
      return join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'jupyter');
  }
}

/** `--sys-prefix` means the prefix of the Python environment that runs Jupyter. */
function pythonSysPrefix(): string {
  for (const python of ['python3', 'python']) {
    try {
      return execFileSync(python, ['-c', 'import sys; print(sys.prefix)'], { encoding: 'utf8' }).trim();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  throw new LakebaseError(
    'PYTHON_NOT_FOUND',
    '--sys-prefix needs the Python that runs Jupyter, and no python3 or python is on the PATH',
    { hint: 'activate the Jupyter environment first, or use --user or --prefix DIR' },
  );
}
