// Small file primitives for the data directory: JSON read that tells "absent" from "broken", and
// atomic writes (temporary file + rename) so a crash never leaves half a state file behind.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** A data-directory file exists but cannot be read as what it should be. */
export class DataFileError extends Error {
  readonly code = 'EMULATOR_DATA_FILE_UNREADABLE';
  constructor(readonly path: string, reason: string, options?: { cause?: unknown }) {
    super(`The emulator file ${path} is unreadable (${reason}). Move it away or delete the data directory to start afresh.`, options);
    this.name = 'DataFileError';
  }
}

/** Parsed JSON, or `undefined` when the file does not exist. */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DataFileError(path, (error as Error).message, { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new DataFileError(path, 'not valid JSON', { cause: error });
  }
}

/** Writes JSON atomically; `mode` 0o600 for files holding secrets. */
export async function writeJsonFileAtomic(path: string, value: unknown, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, JSON.stringify(value, null, 2) + '\n', { mode });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
