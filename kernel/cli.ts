#!/usr/bin/env node
// `lakebase-kernel COMMAND`: the one entry point Jupyter, users and tests call. Each command loads
// only what it needs, so that `kernel` starts fast.
import { parseArgs } from 'node:util';
import type { InstallLocation } from './kernelspec';
import { ADDRESS_IN_USE_EXIT_CODE, WireError } from './wire/errors';

const USAGE = `Usage: lakebase-kernel COMMAND [options]

Commands:
  install [--user | --sys-prefix | --prefix DIR]
                          register the Jupyter kernel "lakebase" (default --user)
  uninstall [--user | --sys-prefix | --prefix DIR]
                          remove it
  run NOTEBOOK.ipynb [--output OUT.ipynb] [--timeout SECONDS] [--allow-errors]
                          run a notebook headless with this kernel, print its outputs,
                          write the executed notebook (default NOTEBOOK.executed.ipynb);
                          exit 1 when a cell fails
  emulator start|stop|status|env [options]
                          the local Lakebase emulator (lakebase-kernel emulator --help)
  kernel --connection-file FILE
                          run the kernel (Jupyter calls this)
  VERB [ARGUMENT ...] [--OPTION ...] [--json]
                          a %lakebase verb from the terminal, e.g. instance list
                          (lakebase-kernel help lists them)

Options:
  -h, --help              show this help
  -v, --version           show the version
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'kernel': {
      const { values } = parseArgs({ args: rest, options: { 'connection-file': { type: 'string', short: 'f' } } });
      if (!values['connection-file']) return usageError('kernel needs --connection-file FILE');
      const { runKernel } = require('./main') as typeof import('./main');
      await runKernel(values['connection-file']);
      return -1; // keeps running until shutdown
    }
    case 'install':
    case 'uninstall': {
      const { values } = parseArgs({
        args: rest,
        options: {
          user: { type: 'boolean' },
          'sys-prefix': { type: 'boolean' },
          prefix: { type: 'string' },
        },
      });
      const chosen = [values.user, values['sys-prefix'], values.prefix !== undefined].filter(Boolean).length;
      if (chosen > 1) return usageError('choose one of --user, --sys-prefix and --prefix DIR');
      const location: InstallLocation = values.prefix !== undefined
        ? { kind: 'prefix', prefix: values.prefix }
        : values['sys-prefix'] ? { kind: 'sys-prefix' } : { kind: 'user' };
      const { installKernelSpec, uninstallKernelSpec, KERNEL_NAME } = require('./kernelspec') as typeof import('./kernelspec');
      if (command === 'install') {
        const directory = installKernelSpec(location, __filename);
        console.log(`Installed the Jupyter kernel "${KERNEL_NAME}" in ${directory}`);
      } else {
        const directory = uninstallKernelSpec(location);
        console.log(directory ? `Removed ${directory}` : `The kernel "${KERNEL_NAME}" is not installed there`);
      }
      return 0;
    }
    case 'run': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          output: { type: 'string', short: 'o' },
          timeout: { type: 'string' },
          'allow-errors': { type: 'boolean' },
        },
      });
      if (positionals.length !== 1) return usageError('run needs exactly one NOTEBOOK.ipynb');
      const timeoutSeconds = values.timeout === undefined ? undefined : Number(values.timeout);
      if (timeoutSeconds !== undefined && !(timeoutSeconds > 0)) return usageError('--timeout takes a number of seconds');
      const { runNotebook } = require('./run') as typeof import('./run');
      return runNotebook({
        notebook: positionals[0],
        output: values.output,
        timeoutSeconds,
        allowErrors: values['allow-errors'] === true,
        cliPath: __filename,
      });
    }
    case 'emulator': {
      const { runEmulatorCli } = require('../emulator/cli') as typeof import('../emulator/cli');
      return runEmulatorCli(rest);
    }
    case '-v':
    case '--version': {
      const { KERNEL_INFO } = require('./info') as typeof import('./info');
      console.log(KERNEL_INFO.implementation_version);
      return 0;
    }
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    case 'help': {
      if (rest.length > 0) return runVerb(argv);
      const { terminalOverview } = require('../magics/terminal') as typeof import('../magics/terminal');
      const { DEFAULT_FAMILIES } = require('../magics/index') as typeof import('../magics/index');
      process.stdout.write(`${USAGE}\n${terminalOverview(DEFAULT_FAMILIES)}\n`);
      return 0;
    }
    default: {
      const { isTerminalVerb } = require('../magics/terminal') as typeof import('../magics/terminal');
      const { DEFAULT_FAMILIES } = require('../magics/index') as typeof import('../magics/index');
      // `lakebase-kernel instance list`: the magics' verbs, from the terminal.
      if (isTerminalVerb(command, DEFAULT_FAMILIES, { kernelOnly: true }) || command === '--json') return runVerb(argv);
      return usageError(`unknown command "${command}"`);
    }
  }
}

async function runVerb(argv: string[]): Promise<number> {
  const { runTerminalCommand } = require('../magics/terminal') as typeof import('../magics/terminal');
  return runTerminalCommand(argv);
}

function usageError(message: string): number {
  process.stderr.write(`lakebase-kernel: ${message}\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    // Loaded here, not at the top: `kernel` starts its compiler thread before it loads the rest.
    const { describeError } = require('../lakebase/errors') as typeof import('../lakebase/errors');
    const described = describeError(error);
    process.stderr.write(`lakebase-kernel: ${described.lines.join('\n')}\n`);
    // Exit now: a kernel that failed to start may hold handles (timers, sockets) that would keep it alive.
    process.exit(error instanceof WireError && error.code === 'ADDRESS_IN_USE' ? ADDRESS_IN_USE_EXIT_CODE : 1);
  },
);
