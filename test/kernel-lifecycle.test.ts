// The kernel's life outside a cell: installing its kernelspec, being restarted, exiting with the
// client that started it, and the headless `run` command's exit status.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readConnectionFile, writeConnectionFile } from '../kernel/wire/connection-file';
import { connectToKernel } from '../kernel/wire/client';
import { BUILT_KERNEL_CLI, runCell, startBuiltKernel, stopKernel } from './support/jupyter';

const run = promisify(execFile);
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'lakebase-lifecycle-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('kernelspec', () => {
  test('install --prefix writes kernel.json with the command line, interrupt mode, logos and kernel.js; uninstall removes it', async () => {
    const prefix = join(scratch, 'prefix');
    const { stdout } = await run(process.execPath, [BUILT_KERNEL_CLI, 'install', '--prefix', prefix]);
    const directory = join(prefix, 'share', 'jupyter', 'kernels', 'lakebase');
    expect(stdout).toContain(directory);
    const spec = JSON.parse(await readFile(join(directory, 'kernel.json'), 'utf8'));
    expect(spec).toMatchObject({
      argv: [process.execPath, BUILT_KERNEL_CLI, 'kernel', '--connection-file', '{connection_file}'],
      display_name: 'TypeScript (Lakebase)',
      language: 'typescript',
      interrupt_mode: 'signal',
    });
    // The logos, and kernel.js, which Notebook 6 loads to highlight %%lakebase cells as SQL.
    for (const asset of ['logo-32x32.png', 'logo-64x64.png', 'logo-svg.svg', 'kernel.js']) expect(existsSync(join(directory, asset))).toBe(true);

    // Jupyter itself finds it there.
    const listed = await run('/usr/bin/python3', ['-m', 'jupyter_client.kernelspecapp', 'list', '--json'], {
      env: { ...process.env, JUPYTER_PATH: join(prefix, 'share', 'jupyter') },
    });
    expect(JSON.parse(listed.stdout).kernelspecs.lakebase.resource_dir).toBe(directory);

    await run(process.execPath, [BUILT_KERNEL_CLI, 'uninstall', '--prefix', prefix]);
    expect(existsSync(directory)).toBe(false);
  });

  test('install --user follows JUPYTER_DATA_DIR, as jupyter kernelspec install does', async () => {
    const dataDir = join(scratch, 'jupyter-data');
    await run(process.execPath, [BUILT_KERNEL_CLI, 'install', '--user'], { env: { ...process.env, JUPYTER_DATA_DIR: dataDir } });
    expect(existsSync(join(dataDir, 'kernels', 'lakebase', 'kernel.json'))).toBe(true);
  });

  test('two locations at once is a usage error', async () => {
    await expect(run(process.execPath, [BUILT_KERNEL_CLI, 'install', '--user', '--prefix', scratch])).rejects.toMatchObject({ code: 2 });
  });
});

describe('restart and parent', () => {
  test('shutdown_request with restart: the client starts a new kernel process that works', async () => {
    const kernel = await startBuiltKernel({ output: 'ignore' });
    try {
      await runCell(kernel, '(globalThis as any).marker = "old process";');
      const firstPid = kernel.process!.pid;
      await kernel.shutdown({ restart: true });
      expect(kernel.process!.pid).not.toBe(firstPid);
      const cell = await runCell(kernel, '(globalThis as any).marker ?? "fresh process"');
      expect(cell.result).toEqual({ 'text/plain': "'fresh process'" });
    } finally {
      await stopKernel(kernel);
    }
  });

  test('the kernel exits when the process named by JPY_PARENT_PID dies', async () => {
    const { path } = await writeConnectionFile({ directory: scratch });
    // A stand-in for the Jupyter server: it lives until killed.
    const parent = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const kernel = spawn(process.execPath, [BUILT_KERNEL_CLI, 'kernel', '--connection-file', path], {
      stdio: 'ignore',
      env: { ...process.env, JPY_PARENT_PID: String(parent.pid) },
    });
    const exited = new Promise<number | null>((resolve) => kernel.once('exit', (code) => resolve(code)));
    const client = await connectToKernel(await readConnectionFile(path));
    try {
      expect((await runCell(client, '1 + 1')).result).toEqual({ 'text/plain': '2' });
      parent.kill('SIGKILL');
      expect(await exited).toBe(0);
    } finally {
      await client.close();
      kernel.kill('SIGKILL');
    }
  });
});

// Issue 12, item 8: heartbeats were answered on the cells' event loop, so a 10-second synchronous
// loop left about 9 s of pings unanswered, and clients that watch them took the kernel for dead.
describe('heartbeat', () => {
  test('a kernel busy in a synchronous loop still answers every heartbeat, and exits cleanly after', async () => {
    const started = join(scratch, 'loop-started');
    const stop = join(scratch, 'loop-stop');
    const kernel = await startBuiltKernel({ output: 'ignore' });
    try {
      const running = runCell(kernel, [
        'const fs = require("node:fs");',
        `fs.writeFileSync(${JSON.stringify(started)}, "");`,
        `while (!fs.existsSync(${JSON.stringify(stop)})) {}`,
        '"loop ended"',
      ].join('\n'));
      while (!existsSync(started)) await new Promise((resolve) => setTimeout(resolve, 20));
      // The loop runs until the file below exists: every ping here meets a kernel that is busy.
      const answered: boolean[] = [];
      for (let ping = 0; ping < 5; ping++) answered.push(await kernel.heartbeat(2000));
      await writeFile(stop, '');
      expect(answered).toEqual([true, true, true, true, true]);
      expect((await running).result).toEqual({ 'text/plain': "'loop ended'" });
      expect(await kernel.heartbeat(2000)).toBe(true);
      // The heartbeat's thread keeps nothing alive: the kernel answers shutdown and exits with 0.
      const process = kernel.process!;
      await kernel.shutdown();
      expect(await process.exited).toEqual({ code: 0, signal: null });
    } finally {
      await writeFile(stop, '');
      await kernel.close();
    }
  });
});

describe('heartbeat thread at exit', () => {
  // zeromq.js aborts a process that exits while a worker's socket waits for a message
  // (zeromq/zeromq.js#411): about a third of the time before the heartbeat closed it first, so
  // three exits in a row catch that two times in three.
  test('a cell that calls process.exit ends the kernel with its code, never an abort', { timeout: 120_000 }, async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const kernel = await startBuiltKernel({ output: 'ignore' });
      try {
        const process = kernel.process!;
        expect(await kernel.heartbeat(2000)).toBe(true);
        void kernel.execute('process.exit(7)').catch(() => undefined);
        expect(await process.exited).toEqual({ code: 7, signal: null });
      } finally {
        await kernel.close();
      }
    }
  });
});

describe('lakebase-kernel run', () => {
  function notebook(cells: { source: string; tags?: string[] }[]) {
    return {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'lakebase', display_name: 'TypeScript (Lakebase)', language: 'typescript' } },
      cells: cells.map((cell, i) => ({
        cell_type: 'code', id: `c${i}`, metadata: cell.tags ? { tags: cell.tags } : {}, execution_count: null, outputs: [], source: cell.source,
      })),
    };
  }

  test('a failing cell makes the run exit 1, later cells are not run, and the executed notebook is written', async () => {
    const input = join(scratch, 'failing.ipynb');
    const output = join(scratch, 'failing-out.ipynb');
    await writeFile(input, JSON.stringify(notebook([
      { source: 'console.log("first")' },
      { source: 'throw new Error("second fails")' },
      { source: 'console.log("never")' },
    ])));
    const failure = await run(process.execPath, [BUILT_KERNEL_CLI, 'run', input, '--output', output]).catch((error) => error);
    expect(failure.code).toBe(1);
    expect(failure.stdout).toContain('first');
    expect(failure.stdout).toContain('second fails');
    expect(failure.stdout).not.toContain('never\n');
    const executed = JSON.parse(await readFile(output, 'utf8'));
    expect(executed.cells.map((cell: { execution_count: number | null }) => cell.execution_count)).toEqual([1, 2, null]);
    expect(executed.cells[1].outputs[0]).toMatchObject({ output_type: 'error', ename: 'Error', evalue: 'second fails' });
  });

  test('a cell tagged raises-exception may fail without failing the run', async () => {
    const input = join(scratch, 'expected.ipynb');
    await writeFile(input, JSON.stringify(notebook([
      { source: 'throw new Error("meant to fail")', tags: ['raises-exception'] },
      { source: 'console.log("after")' },
    ])));
    const { stdout } = await run(process.execPath, [BUILT_KERNEL_CLI, 'run', input]);
    expect(stdout).toContain('meant to fail');
    expect(stdout).toContain('after');
    expect(stdout).toContain('All cells ran');
    // Without --output, the executed notebook goes beside the input, which stays as it was.
    expect(JSON.parse(await readFile(join(scratch, 'expected.executed.ipynb'), 'utf8')).cells[1].outputs[0].text).toBe('after\n');
    expect(JSON.parse(await readFile(input, 'utf8')).cells[1].outputs).toEqual([]);
  });
});
