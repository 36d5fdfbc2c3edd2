// The Node client starting kernels as Jupyter does: a subprocess given a connection file. The
// kernel here is the echo kernel of test/support/jupyter.ts, as built into dist/ with the project
// (`npm test` builds first), run as its own process so that signals, exits, restarts and kills
// are real.
import { afterEach, describe, expect, test } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startKernel, type KernelClient, type StartKernelOptions } from '../kernel/wire/client';
import { BUILT_KERNEL_CLI, REPO_ROOT, runCell } from './support/jupyter';

const clients: KernelClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

function echoKernelArgv(...flags: string[]): string[] {
  const built = join(REPO_ROOT, 'dist', 'test', 'support', 'jupyter.js');
  if (!existsSync(built)) throw new Error(`${built} does not exist: run \`npm run build\` before this test`);
  const entry = `require(${JSON.stringify(built)}).runEchoKernelProcess(process.argv.slice(1))`;
  return [process.execPath, '-e', entry, '{connection_file}', ...flags];
}

async function start(options: Partial<StartKernelOptions> = {}): Promise<KernelClient> {
  const client = await startKernel({ argv: echoKernelArgv(), output: 'ignore', ...options });
  clients.push(client);
  return client;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

describe('startKernel', () => {
  test('starts the process, connects once it answers, runs a cell, shuts it down', async () => {
    const client = await start();
    expect(client.kernelInfo).toMatchObject({ implementation: 'wire-echo' });
    const cell = await runCell(client, 'from a subprocess');
    expect(cell.sequence).toEqual(['status:busy', 'execute_input', 'stream', 'status:idle']);
    expect(cell.stdout).toBe('from a subprocess');
    const kernel = client.process!;
    await client.shutdown();
    expect(await kernel.exited).toEqual({ code: 0, signal: null });
    await expect(client.execute('after shutdown')).rejects.toMatchObject({ code: 'WIRE_CLOSED' });
  });

  test('interrupts with SIGINT by default, and with interrupt_request in message mode', async () => {
    for (const interruptMode of ['signal', 'message'] as const) {
      const client = await start({ interruptMode });
      const running = client.execute('wait');
      await new Promise<void>((resolve) => {
        const stop = client.onIopub((message) => message.header.msg_type === 'execute_input' && (stop(), resolve()));
      });
      await client.interrupt();
      const { reply } = await running;
      expect(reply.content).toMatchObject({ status: 'error', ename: 'KeyboardInterrupt' });
    }
  });

  test('restart: the kernel is started again on the same connection and the client goes on', async () => {
    const client = await start();
    const first = client.process!;
    await client.shutdown({ restart: true });
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(client.process!.pid).not.toBe(first.pid);
    expect(isRunning(client.process!.pid)).toBe(true);
    expect((await runCell(client, 'again')).stdout).toBe('again');
  });

  test('a kernel that does not exit after shutdown is killed', async () => {
    const client = await start({ argv: echoKernelArgv('--ignore-shutdown'), shutdownTimeoutMs: 200 });
    const kernel = client.process!;
    await client.shutdown();
    expect(await kernel.exited).toEqual({ code: null, signal: 'SIGKILL' });
  });

  test('a kernel dying during a request fails it with KERNEL_DIED and what the kernel said', async () => {
    const client = await start();
    const error = await client.execute('crash').catch((e: Error) => e);
    expect(error).toMatchObject({ code: 'KERNEL_DIED' });
    expect((error as Error).message).toContain('exited with code 3');
    expect((error as Error).message).toContain('echo kernel: crashing as asked');
  });

  test('closing the client kills a kernel that still runs and removes the connection file', async () => {
    const client = await start();
    const kernel = client.process!;
    const connectionFile = client.connectionFile!;
    expect(existsSync(connectionFile)).toBe(true);
    await client.close();
    expect((await kernel.exited).signal).toBe('SIGKILL');
    expect(isRunning(kernel.pid)).toBe(false);
    expect(existsSync(dirname(connectionFile))).toBe(false);
  });

  test('a kernel that fails to start is reported with its exit status and output', async () => {
    const error = await start({ argv: [process.execPath, '-e', 'console.error("no such kernel here"); process.exit(7)', '{connection_file}'] }).catch(
      (e: Error) => e,
    );
    expect(error).toMatchObject({ code: 'KERNEL_START_FAILED' });
    expect((error as Error).message).toMatch(/exited with code 7.*\n.*no such kernel here/s);
    await expect(start({ argv: ['/nonexistent/kernel', '{connection_file}'] })).rejects.toMatchObject({ code: 'KERNEL_START_FAILED' });
    await expect(start({ argv: [process.execPath, 'kernel.js'] })).rejects.toMatchObject({ code: 'KERNEL_START_FAILED' });
  });

  test('a kernel that finds a port taken exits with its own code, and is started again with new ports', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wire-port-taken-'));
    const heldPortFile = join(dir, 'held-port');
    // The first time, another listener takes the heartbeat port before the real kernel (run in
    // this same process) binds it: the race every Jupyter client has, made certain.
    const takeThePortOnce = `
      const fs = require('node:fs'), net = require('node:net');
      const [file, heldPortFile, cli] = process.argv.slice(1);
      const runKernel = () => { process.argv = [process.argv[0], cli, 'kernel', '--connection-file', file]; require(cli); };
      if (fs.existsSync(heldPortFile)) runKernel();
      else {
        const { hb_port } = JSON.parse(fs.readFileSync(file, 'utf8'));
        net.createServer().listen(hb_port, '127.0.0.1', () => { fs.writeFileSync(heldPortFile, String(hb_port)); runKernel(); });
      }`;
    const kernelOutput: string[] = [];
    try {
      const client = await start({
        argv: [process.execPath, '-e', takeThePortOnce, '{connection_file}', heldPortFile, BUILT_KERNEL_CLI],
        output: (_stream, text) => kernelOutput.push(text),
      });
      const heldPort = Number(await readFile(heldPortFile, 'utf8'));
      expect(kernelOutput.join('')).toContain(`cannot bind the hb socket to tcp://127.0.0.1:${heldPort}: Address already in use`);
      expect(client.connection.hb_port).not.toBe(heldPort);
      expect(client.kernelInfo).toMatchObject({ implementation: 'lakebase-kernel' });
      await client.shutdown();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a connection file in a given directory is removed on close, the directory is left', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wire-conn-'));
    try {
      const client = await start({ connectionFile: { directory: dir } });
      expect(dirname(client.connectionFile!)).toBe(dir);
      expect(client.connection.key).toMatch(/^[0-9a-f]{64}$/);
      expect(await client.heartbeat()).toBe(true);
      await client.close();
      expect(existsSync(client.connectionFile!)).toBe(false);
      expect(existsSync(dir)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
