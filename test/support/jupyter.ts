// Jupyter helpers for tests: start the built kernel as Jupyter would, run cells and read their
// outputs, stop it. Also a tiny "echo kernel" (a handler on the real wire server) that proves the
// wire and the client both ways without the kernel's meaning. No vitest import here: the echo
// kernel also runs as a subprocess compiled from this file (see test/wire-client.test.ts).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createLogger, type Logger } from '../../kernel/log';
import { startKernel, type ExecuteOptions, type ExecuteResult, type KernelClient, type StartKernelOptions } from '../../kernel/wire/client';
import { readConnectionFile, type ConnectionInfo } from '../../kernel/wire/connection-file';
import type { JsonObject, JupyterMessage } from '../../kernel/wire/messages';
import { startKernelWire, type KernelRequest, type KernelWire, type KernelWireHandler } from '../../kernel/wire/server';

/** The repository: the nearest folder up with a package.json (this file also runs compiled, from dist/). */
export const REPO_ROOT = findRepoRoot(__dirname);

function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = resolve(dir, '..')) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (resolve(dir, '..') === dir) throw new Error(`no package.json above ${from}`);
  }
}
export const BUILT_KERNEL_CLI = join(REPO_ROOT, 'dist', 'kernel', 'cli.js');

/** The command line Jupyter runs for our kernelspec, pointing at the built CLI. */
export function builtKernelArgv(): string[] {
  return [process.execPath, BUILT_KERNEL_CLI, 'kernel', '--connection-file', '{connection_file}'];
}

/** Starts `node dist/kernel/cli.js kernel --connection-file {connection_file}` (build first: `npm run build`). */
export async function startBuiltKernel(options: Partial<StartKernelOptions> = {}): Promise<KernelClient> {
  if (!existsSync(BUILT_KERNEL_CLI)) {
    throw new Error(`${BUILT_KERNEL_CLI} does not exist: run \`npm run build\` before the kernel tests`);
  }
  return startKernel({ argv: builtKernelArgv(), cwd: REPO_ROOT, output: 'inherit', ...options });
}

/** Asks the kernel to shut down (it is killed if it does not exit) and closes the client. */
export async function stopKernel(client: KernelClient | undefined): Promise<void> {
  if (!client) return;
  try {
    await client.shutdown();
  } finally {
    await client.close();
  }
}

/** What a cell showed, gathered from its iopub messages. */
export interface CellOutputs {
  status: 'ok' | 'error' | 'aborted' | string;
  executionCount: number | null;
  stdout: string;
  stderr: string;
  /** `data` of each display_data, in order. */
  displays: JsonObject[];
  /** `update_display_data` messages' content, in order. */
  updates: JsonObject[];
  /** `data` of the execute_result, if any. */
  result: JsonObject | undefined;
  /** The `error` message's content, if any. */
  error: { ename: string; evalue: string; traceback: string[] } | undefined;
  /** msg_types of the iopub messages, in arrival order (busy … idle). */
  sequence: string[];
}

export function outputsOf(execution: ExecuteResult): CellOutputs {
  const outputs: CellOutputs = {
    status: String(execution.reply.content.status),
    executionCount: (execution.reply.content.execution_count as number | null | undefined) ?? null,
    stdout: '',
    stderr: '',
    displays: [],
    updates: [],
    result: undefined,
    error: undefined,
    sequence: [],
  };
  for (const message of execution.messages) {
    const content = message.content;
    outputs.sequence.push(message.header.msg_type === 'status' ? `status:${String(content.execution_state)}` : message.header.msg_type);
    switch (message.header.msg_type) {
      case 'stream':
        if (content.name === 'stderr') outputs.stderr += String(content.text);
        else outputs.stdout += String(content.text);
        break;
      case 'display_data':
        outputs.displays.push(content.data as JsonObject);
        break;
      case 'update_display_data':
        outputs.updates.push(content);
        break;
      case 'execute_result':
        outputs.result = content.data as JsonObject;
        break;
      case 'error':
        outputs.error = content as unknown as CellOutputs['error'];
        break;
      default:
        break;
    }
  }
  return outputs;
}

/** Executes `code` and returns what it showed. */
/** A TCP connection on 127.0.0.1 with every port 0: the server binds free ones and reports them. */
export function anyPortsConnection(key: string): ConnectionInfo {
  return {
    transport: 'tcp',
    ip: '127.0.0.1',
    shell_port: 0,
    control_port: 0,
    stdin_port: 0,
    iopub_port: 0,
    hb_port: 0,
    key,
    signature_scheme: 'hmac-sha256',
  };
}

/**
 * Interrupts, then again every 300 ms until the cell ends, as a user presses the button again: an
 * interrupt that lands before the cell's code starts (while its execute_input is sent) has nothing
 * to stop yet, and ipykernel under load swallows one now and then.
 */
export async function interruptUntilSettled(running: Promise<unknown>, interrupt: () => unknown): Promise<void> {
  let settled = false;
  const settle = () => {
    settled = true;
  };
  running.then(settle, settle);
  while (!settled) {
    await interrupt();
    await Promise.race([running, new Promise((resolve) => setTimeout(resolve, 300))]);
  }
}

export async function runCell(client: KernelClient, code: string, options: ExecuteOptions = {}): Promise<CellOutputs & { execution: ExecuteResult }> {
  const execution = await client.execute(code, options);
  return { ...outputsOf(execution), execution };
}

// ---------------------------------------------------------------------------------------------
// The echo kernel: just enough meaning to exercise the wire.
//
// execute_request code:
//   anything        → stream it back on stdout, reply ok
//   `input:PROMPT`  → ask for input (`password:PROMPT` hides it), stream `got VALUE`
//   `wait`          → stay busy until interrupted (interrupt_request or SIGINT), then fail
//   `crash`         → (subprocess only) write to stderr and exit with code 3

export interface EchoKernelHooks {
  /** Called for `crash`. */
  crash?: () => void;
  /** Called after shutdown_reply has been sent. */
  shutdown?: (restart: boolean) => void;
  /** Errors the handler caught from the wire (tests of REPLY_TYPE_MISMATCH). */
  wireErrors?: Error[];
}

export interface EchoKernel {
  readonly handler: KernelWireHandler;
  /** Ends a running `wait` cell as interrupted (what SIGINT does in the subprocess). */
  interrupt(): void;
}

export function createEchoKernel(wire: KernelWire, hooks: EchoKernelHooks = {}): EchoKernel {
  let executionCount = 0;
  let interruptWaiting: (() => void) | undefined;
  const kernelInfo = {
    status: 'ok',
    protocol_version: '5.3',
    implementation: 'wire-echo',
    implementation_version: '0.0.0',
    language_info: { name: 'text', version: '1', mimetype: 'text/plain', file_extension: '.txt' },
    banner: 'echo kernel for wire tests',
  };

  async function execute(request: KernelRequest): Promise<void> {
    const code = String(request.content.code ?? '');
    executionCount += 1;
    const count = executionCount;
    await wire.publish(request, 'execute_input', { code, execution_count: count });
    const stdout = (text: string) => wire.publish(request, 'stream', { name: 'stdout', text });
    if (code.startsWith('input:') || code.startsWith('password:')) {
      const password = code.startsWith('password:');
      const value = await wire.requestInput(request, code.slice(code.indexOf(':') + 1), password);
      await stdout(`got ${value}`);
    } else if (code === 'wait') {
      await new Promise<void>((resolve) => (interruptWaiting = resolve));
      interruptWaiting = undefined;
      const error = { ename: 'KeyboardInterrupt', evalue: 'interrupted', traceback: [] };
      await wire.publish(request, 'error', error);
      await wire.reply(request, 'execute_reply', { status: 'error', execution_count: count, ...error });
      return;
    } else if (code === 'crash') {
      hooks.crash?.();
      return;
    } else {
      await stdout(code);
    }
    await wire.reply(request, 'execute_reply', { status: 'ok', execution_count: count, user_expressions: {}, payload: [] });
  }

  async function answer(request: KernelRequest): Promise<void> {
    switch (request.header.msg_type) {
      case 'kernel_info_request':
        return wire.reply(request, 'kernel_info_reply', kernelInfo);
      case 'execute_request':
        return execute(request);
      case 'interrupt_request':
        interruptWaiting?.();
        return wire.reply(request, 'interrupt_reply', { status: 'ok' });
      case 'shutdown_request': {
        const restart = request.content.restart === true;
        await wire.reply(request, 'shutdown_reply', { status: 'ok', restart });
        hooks.shutdown?.(restart);
        return;
      }
      case 'comm_info_request':
        // Deliberately wrong (tslab's bug): the wire must refuse it.
        try {
          await wire.reply(request, 'complete_reply', { status: 'ok' });
        } catch (error) {
          hooks.wireErrors?.push(error as Error);
          await wire.reply(request, 'comm_info_reply', { status: 'ok', comms: {} });
        }
        return;
      case 'history_request':
        throw new Error('the echo kernel has no history');
      default:
        return;
    }
  }

  return {
    handler: {
      async receive(_channel, request) {
        await wire.publish(request, 'status', { execution_state: 'busy' });
        try {
          await answer(request);
        } finally {
          await wire.publish(request, 'status', { execution_state: 'idle' });
        }
      },
    },
    interrupt: () => interruptWaiting?.(),
  };
}

/** An echo kernel on a real wire in this process. Ports 0 in `connection` are chosen by ZeroMQ. */
export async function startEchoKernel(
  connection: ConnectionInfo,
  logger: Logger,
  hooks: EchoKernelHooks = {},
): Promise<{ wire: KernelWire; kernel: EchoKernel }> {
  let kernel: EchoKernel | undefined;
  const wire = await startKernelWire(
    connection,
    (created) => {
      kernel = createEchoKernel(created, hooks);
      return kernel.handler;
    },
    logger,
  );
  return { wire, kernel: kernel as EchoKernel };
}

/**
 * The echo kernel as its own process (argv: connection file, then `--ignore-shutdown` to play a
 * kernel that hangs on shutdown). Exits after answering shutdown_request.
 */
export async function runEchoKernelProcess(argv: string[]): Promise<void> {
  const [connectionFile, ...flags] = argv;
  const ignoreShutdown = flags.includes('--ignore-shutdown');
  const connection = await readConnectionFile(connectionFile);
  const { wire, kernel } = await startEchoKernel(connection, createLogger(), {
    crash: () => {
      process.stderr.write('echo kernel: crashing as asked\n');
      process.exit(3);
    },
    shutdown: () => {
      if (ignoreShutdown) return;
      void wire.close().then(() => process.exit(0));
    },
  });
  process.on('SIGINT', () => kernel.interrupt());
}

export type { JupyterMessage };
