// Every tutorial in notebooks/ runs headless, on the embedded default (the local emulator), twice
// over: through our own `lakebase-kernel run`, and through Debian's `jupyter nbconvert --execute`,
// the client papermill and nbclient users have.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BUILT_KERNEL_CLI, REPO_ROOT } from './support/jupyter';

const run = promisify(execFile);
const notebooks = readdirSync(join(REPO_ROOT, 'notebooks')).filter((name) => name.endsWith('.ipynb')).sort();
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'lakebase-notebooks-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

interface ExecutedCell {
  cell_type: string;
  metadata?: { tags?: string[] };
  outputs?: { output_type: string; ename?: string }[];
  execution_count?: number | null;
}

async function executedCells(path: string): Promise<ExecutedCell[]> {
  return (JSON.parse(await readFile(path, 'utf8')) as { cells: ExecutedCell[] }).cells.filter((cell) => cell.cell_type === 'code');
}

/** Errors of cells not tagged raises-exception (nbclient's tag for a cell meant to fail). */
function unexpectedErrors(cells: ExecutedCell[]) {
  return cells
    .filter((cell) => !cell.metadata?.tags?.includes('raises-exception'))
    .flatMap((cell) => cell.outputs ?? [])
    .filter((output) => output.output_type === 'error');
}

test('there are tutorials to run', () => {
  expect(notebooks).toEqual(expect.arrayContaining(['01-quickstart.ipynb', '02-connect-and-tokens.ipynb']));
});

describe.each(notebooks)('%s', (notebook) => {
  test('runs headless with `lakebase-kernel run`, every cell executed without an error', async () => {
    const output = join(scratch, `run-${notebook}`);
    const { stdout } = await run(process.execPath, [BUILT_KERNEL_CLI, 'run', join(REPO_ROOT, 'notebooks', notebook), '--output', output], {
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(stdout).toContain('All cells ran');
    const cells = await executedCells(output);
    expect(cells.every((cell) => typeof cell.execution_count === 'number')).toBe(true);
    expect(unexpectedErrors(cells)).toEqual([]);
  });

  test('runs under Debian\'s jupyter nbconvert --execute with the installed kernelspec', async () => {
    const prefix = join(scratch, `prefix-${notebook}`);
    await run(process.execPath, [BUILT_KERNEL_CLI, 'install', '--prefix', prefix]);
    const nbconvert = () =>
      run('/usr/bin/python3', [
        '-m', 'nbconvert', '--to', 'notebook', '--execute', '--ExecutePreprocessor.timeout=300',
        '--output-dir', scratch, '--output', `nbconvert-${notebook}`, join(REPO_ROOT, 'notebooks', notebook),
      ], { env: { ...process.env, JUPYTER_PATH: join(prefix, 'share', 'jupyter') }, maxBuffer: 64 * 1024 * 1024 });
    // jupyter_client finds free ports and releases them before the kernel binds them; a parallel
    // test can take one in between. Our own client starts the kernel again on new ports
    // (test/wire-client.test.ts); jupyter_client does not, so the run is repeated once here.
    await nbconvert().catch((error: { stderr?: string }) => {
      if (!error.stderr?.includes('Address already in use')) throw error;
      return nbconvert();
    });
    const cells = await executedCells(join(scratch, `nbconvert-${notebook}`));
    expect(cells.every((cell) => typeof cell.execution_count === 'number')).toBe(true);
    expect(unexpectedErrors(cells)).toEqual([]);
  });
});
