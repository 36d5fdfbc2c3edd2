// `lakebase-kernel emulator start|stop|status|env`: the emulator's command line. The kernel's CLI
// hands `emulator ...` here. Subcommands and options are declared as data; the help text and the
// parser both come from the declaration.
//
// Exit codes: 0 success; 1 the operation failed; 2 usage error; `status` exits 3 when the
// emulator is not running (the LSB convention of `service ... status`).
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { EmulatorError } from './errors';
import { emulatorStatus, ensureEmulatorDaemon, runningEmulatorEndpoint, stopEmulatorDaemon } from './daemon-control';
import { defaultEmulatorDataDir } from './paths';
import { DEFAULT_EMULATOR_PORT } from './start';
import { DEFAULT_TOKEN_TTL_SECONDS, DEFAULT_TRANSITION_DELAY_MS } from './limits';

export interface CliOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processOutput: CliOutput = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

export const EXIT = { ok: 0, failed: 1, usage: 2, notRunning: 3 } as const;

type OptionName = 'data-dir' | 'port' | 'token-ttl' | 'transition-delay' | 'min-suspend-timeout' | 'json';

const OPTIONS: Record<OptionName, { value?: string; help: string }> = {
  'data-dir': { value: 'DIR', help: `where state, instance data, the CA and identities live (default: $LAKEBASE_EMULATOR_DIR or ${defaultEmulatorDataDir()})` },
  port: { value: 'N', help: `REST API port on 127.0.0.1 (default: the port of the last run, else ${DEFAULT_EMULATOR_PORT}; 0 = any free port)` },
  'token-ttl': { value: 'SECONDS', help: `lifetime of database credentials (default ${DEFAULT_TOKEN_TTL_SECONDS})` },
  'transition-delay': { value: 'MS', help: `how long STARTING, UPDATING, stopping and DELETING last at least (default ${DEFAULT_TRANSITION_DELAY_MS})` },
  'min-suspend-timeout': { value: 'SECONDS', help: 'lowest suspend timeout an Autoscaling endpoint accepts (default 60, as the real service; lower to see scale to zero in seconds)' },
  json: { help: 'print machine-readable JSON' },
};

type Command = 'start' | 'stop' | 'status' | 'env';

const COMMANDS: Record<Command, { summary: string; options: OptionName[] }> = {
  start: { summary: 'start the emulator in the background (returns once its API answers)', options: ['data-dir', 'port', 'token-ttl', 'transition-delay', 'min-suspend-timeout'] },
  stop: { summary: 'stop the emulator and all its instance servers (state stays on disk)', options: ['data-dir'] },
  status: { summary: 'show whether it runs, where, and its instances', options: ['data-dir', 'json'] },
  env: { summary: 'print shell exports pointing Databricks tools at it: eval "$(lakebase-kernel emulator env)"', options: ['data-dir'] },
};

export function emulatorHelp(): string {
  const lines = ['Usage: lakebase-kernel emulator <command> [options]', '', 'A local Lakebase workspace: the REST API, real PostgreSQL instances, expiring tokens.', '', 'Commands:'];
  for (const [name, command] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(8)} ${command.summary}`);
  lines.push('', 'Options:');
  for (const [name, option] of Object.entries(OPTIONS)) {
    const usedBy = (Object.keys(COMMANDS) as Command[]).filter((command) => COMMANDS[command].options.includes(name as OptionName));
    lines.push(`  --${name}${option.value ? ` ${option.value}` : ''}`.padEnd(28) + ` ${option.help} [${usedBy.join(', ')}]`);
  }
  lines.push('', 'Exit codes: 0 ok, 1 failed, 2 usage error, 3 (status) not running.');
  return lines.join('\n') + '\n';
}

class UsageError extends Error {}

function parseNumber(name: string, raw: string | undefined, check: (value: number) => boolean): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || !check(value)) throw new UsageError(`--${name}: invalid value '${raw}'`);
  return value;
}

/** Single-quoted for POSIX shells: nothing inside is expanded. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export async function runEmulatorCli(argv: readonly string[], output: CliOutput = processOutput): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    output.stdout(emulatorHelp());
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  if (!Object.prototype.hasOwnProperty.call(COMMANDS, command)) {
    output.stderr(`Unknown emulator command '${command}'.\n\n${emulatorHelp()}`);
    return EXIT.usage;
  }
  const declared = COMMANDS[command as Command];
  let values: Partial<Record<OptionName, string | boolean>>;
  const config: ParseArgsConfig = {
    args: [...rest],
    options: Object.fromEntries(declared.options.map((name) => [name, { type: OPTIONS[name].value ? ('string' as const) : ('boolean' as const) }])),
    strict: true,
    allowPositionals: false,
  };
  try {
    values = parseArgs(config).values as Partial<Record<OptionName, string | boolean>>;
  } catch (error) {
    output.stderr(`lakebase-kernel emulator ${command}: ${(error as Error).message}\n\n${emulatorHelp()}`);
    return EXIT.usage;
  }
  const dataDir = typeof values['data-dir'] === 'string' ? values['data-dir'] : defaultEmulatorDataDir();
  try {
    switch (command as Command) {
      case 'start': return await start(dataDir, values, output);
      case 'stop': return await stop(dataDir, output);
      case 'status': return await status(dataDir, values.json === true, output);
      case 'env': return await env(dataDir, output);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      output.stderr(`lakebase-kernel emulator ${command}: ${error.message}\n`);
      return EXIT.usage;
    }
    // Known failures are one line; anything else shows its stack, to be reported.
    output.stderr(error instanceof EmulatorError ? `lakebase-kernel emulator ${command}: ${error.message}\n` : `lakebase-kernel emulator ${command} failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    return EXIT.failed;
  }
  return EXIT.usage;
}

async function start(dataDir: string, values: Partial<Record<OptionName, string | boolean>>, output: CliOutput): Promise<number> {
  const port = parseNumber('port', values.port as string | undefined, (value) => Number.isInteger(value) && value >= 0 && value <= 65535);
  const tokenTtlSeconds = parseNumber('token-ttl', values['token-ttl'] as string | undefined, (value) => value > 0);
  const transitionDelayMs = parseNumber('transition-delay', values['transition-delay'] as string | undefined, (value) => value >= 0);
  const minSuspendTimeoutSeconds = parseNumber('min-suspend-timeout', values['min-suspend-timeout'] as string | undefined, (value) => value > 0);
  const before = await emulatorStatus(dataDir);
  const endpoint = await ensureEmulatorDaemon({ dataDir, port, tokenTtlSeconds, transitionDelayMs, minSuspendTimeoutSeconds });
  const after = await emulatorStatus(dataDir);
  if (before.running) {
    output.stdout(`The Lakebase emulator is already running at ${endpoint.host} (pid ${after.pid}, data ${dataDir}).\n`);
    const differs =
      (port !== undefined && port !== 0 && endpoint.host !== `http://127.0.0.1:${port}`) ||
      (tokenTtlSeconds !== undefined && tokenTtlSeconds !== after.tokenTtlSeconds) ||
      (transitionDelayMs !== undefined && transitionDelayMs !== after.transitionDelayMs);
    if (differs) output.stderr('It keeps the settings it was started with; stop it first to change --port, --token-ttl or --transition-delay.\n');
    return EXIT.ok;
  }
  output.stdout(
    `The Lakebase emulator is running at ${endpoint.host} (pid ${after.pid}, data ${dataDir}).\n` +
      `Point Databricks tools at it with: eval "$(lakebase-kernel emulator env${dataDirArgument(dataDir)})"\n`,
  );
  return EXIT.ok;
}

function dataDirArgument(dataDir: string): string {
  return dataDir === defaultEmulatorDataDir() ? '' : ` --data-dir ${shellQuote(dataDir)}`;
}

async function stop(dataDir: string, output: CliOutput): Promise<number> {
  const result = await stopEmulatorDaemon(dataDir);
  output.stdout(result.stopped ? `Stopped the Lakebase emulator (pid ${result.pid}); its state stays in ${dataDir}.\n` : `The Lakebase emulator of ${dataDir} is not running.\n`);
  return EXIT.ok;
}

async function status(dataDir: string, json: boolean, output: CliOutput): Promise<number> {
  const current = await emulatorStatus(dataDir);
  if (json) {
    output.stdout(JSON.stringify(current, null, 2) + '\n');
    return current.running ? EXIT.ok : EXIT.notRunning;
  }
  const lines = current.running
    ? [
        `running at ${current.host} (pid ${current.pid}${current.daemon ? '' : ', in-process'}, since ${current.startedAt})`,
        `data directory: ${current.dataDir}`,
        `token lifetime: ${current.tokenTtlSeconds} s; transition delay: ${current.transitionDelayMs} ms`,
      ]
    : [`not running (data directory: ${current.dataDir})`];
  if (current.instances.length > 0) {
    lines.push(current.running ? 'instances:' : 'instances (as of the last run; running ones start again with the emulator):');
    for (const instance of current.instances) lines.push(`  ${instance.name.padEnd(24)} ${instance.state.padEnd(10)} ${instance.readWriteDns}:${instance.port}`);
  } else {
    lines.push('no instances');
  }
  const endpoints = current.endpoints.filter((endpoint) => !endpoint.deleted);
  if (endpoints.length > 0) {
    lines.push('Autoscaling endpoints:');
    for (const endpoint of endpoints) lines.push(`  ${endpoint.name.padEnd(56)} ${endpoint.state.padEnd(10)} ${endpoint.host}:5432`);
  }
  output.stdout(lines.join('\n') + '\n');
  return current.running ? EXIT.ok : EXIT.notRunning;
}

async function env(dataDir: string, output: CliOutput): Promise<number> {
  const endpoint = await runningEmulatorEndpoint(dataDir);
  if (!endpoint) {
    output.stderr(`The Lakebase emulator of ${dataDir} is not running; start it with: lakebase-kernel emulator start${dataDirArgument(dataDir)}\n`);
    return EXIT.notRunning;
  }
  // The one place secrets are printed, on purpose: this output is meant for `eval`.
  const lines = [
    `# Lakebase emulator at ${endpoint.host} (data ${dataDir})`,
    `export DATABRICKS_HOST=${shellQuote(endpoint.host)}`,
    `# personal access token of ${endpoint.user.userName}`,
    `export DATABRICKS_TOKEN=${shellQuote(endpoint.user.token)}`,
    `# the CA of the instances' server certificates (libpq, psql; sslmode=verify-full works)`,
    `export PGSSLROOTCERT=${shellQuote(endpoint.caCertPath)}`,
    // Node's TLS reads no PGSSLROOTCERT: node-postgres with rejectUnauthorized (and
    // @databricks/lakebase's sslmode require) trust the CA only through this variable. One that is
    // set already (a corporate bundle) is not overwritten: it takes one file, so say how to combine.
    ...(process.env.NODE_EXTRA_CA_CERTS
      ? [`# NODE_EXTRA_CA_CERTS is set already; to also trust the emulator in Node programs, append ${endpoint.caCertPath} to that file`]
      : [`# the same CA for Node programs (node-postgres, @databricks/lakebase with PGSSLMODE=require, @databricks/sql for the SQL warehouse)`, `export NODE_EXTRA_CA_CERTS=${shellQuote(endpoint.caCertPath)}`]),
    `# or, as the service principal ${endpoint.servicePrincipal.displayName} (OAuth M2M), instead of DATABRICKS_TOKEN:`,
    `# unset DATABRICKS_TOKEN`,
    `# export DATABRICKS_CLIENT_ID=${shellQuote(endpoint.servicePrincipal.applicationId)}`,
    `# export DATABRICKS_CLIENT_SECRET=${shellQuote(endpoint.servicePrincipal.clientSecret)}`,
  ];
  output.stdout(lines.join('\n') + '\n');
  return EXIT.ok;
}
