// Compiles the emulator (only `emulator/`, so other parts' work in progress cannot break it) into
// `dist/`, where `ensureEmulatorDaemon` finds `dist/emulator/daemon.js` to run as a background
// process. Tests run from the TypeScript sources; the daemon must run compiled, like in the package.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve(__dirname, '..', '..');
let built: Promise<void> | undefined;

export function buildEmulator(): Promise<void> {
  built ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lakebase-emulator-build-'));
    try {
      const config = join(dir, 'tsconfig.json');
      // typeRoots: a config outside the project would look for @types beside itself.
      await writeFile(config, JSON.stringify({
        extends: join(root, 'tsconfig.json'),
        compilerOptions: { typeRoots: [join(root, 'node_modules', '@types')] },
        include: [join(root, 'emulator')],
      }));
      await run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config], { cwd: root });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })();
  return built;
}
