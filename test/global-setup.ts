// The whole suite shares one throwaway emulator data directory (the embedded default of the kernels
// and notebooks under test), so that tests never touch the user's own emulator or kernel history,
// and every emulator started there is stopped when the suite ends.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopEmulatorDaemon } from '../emulator/index';

export default async function setup(): Promise<() => Promise<void>> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lakebase-test-emulator-'));
  process.env.LAKEBASE_EMULATOR_DIR = dataDir;
  // Kernels under test keep their cell history here, not in the user's own.
  process.env.LAKEBASE_KERNEL_HISTORY = join(dataDir, 'kernel-history.jsonl');
  return async () => {
    await stopEmulatorDaemon(dataDir);
    await rm(dataDir, { recursive: true, force: true });
  };
}
