// The magics from a terminal: `npx lakebase-kernel instance list`, `... instance create orders
// --capacity CU_2`, `... instance-role delete orders app --yes`. The same grammar, declarations, help and
// verb code as `%lakebase` in a notebook; only the host differs (`TerminalHost`):
//  - results print as the text a cell would show (`text/plain`), or as JSON with `--json`;
//  - a live status line is rewritten in place on a TTY (stderr, so stdout stays clean for
//    scripts), and only its final line is printed otherwise;
//  - confirmation is read from the TTY; without one, destructive verbs need `--yes`;
//  - Ctrl-C stops the waiting (the operation goes on, as in a notebook); a second one exits.
// Exit codes: 0 ok, 1 failed, 2 usage (a wrong verb, option or argument, or `--yes` needed),
// 130 when Ctrl-C stopped the waiting.
//
// Verb families that work on a kernel's own sessions (`kernelOnly`: sql, connect, config, token)
// are not offered here: a one-shot command has no session to keep.
import { inspect } from 'node:util';
import { JUPYTER_DISPLAY, MimeBundle } from '../lakebase/contracts';
import { describeError, LakebaseError } from '../lakebase/errors';
import { WaitStoppedError } from '../lakebase/waiting';
import { CONFIRM_ERRORS } from './confirm';
import type { VerbFamily } from './declarations';
import { MagicUsageError, MAGIC_ERRORS } from './errors';
import { LINE_MAGIC } from './grammar';
import { groupHelp, verbHelp } from './help';
import type { DisplayOptions, MagicHost, VariableLookup } from './host';
import { createMagics, DEFAULT_FAMILIES, MagicsDeps } from './index';
import { createVerbRegistry, VerbRegistry } from './registry';
import type { MagicServices } from './services';
import { StatusLineView } from './status-line';

/** The command users type, as help and hints should name it. */
export const TERMINAL_COMMAND = 'lakebase-kernel';

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** Where a terminal command reads and writes: the process's own streams, or a test's. */
export interface TerminalIo {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Process environment for the verbs (workspace configuration). */
  env: NodeJS.ProcessEnv;
  /** Ctrl-C: called with a handler; returns a function that removes it. */
  onInterrupt(handler: () => void): () => void;
}

export function processIo(): TerminalIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    onInterrupt(handler) {
      process.on('SIGINT', handler);
      return () => process.off('SIGINT', handler);
    },
  };
}

/** `%lakebase instance get x` → `lakebase-kernel instance get x`, in help, hints and status lines. */
export function forTerminal(text: string): string {
  return text.replace(/%%?lakebase(?=\s|$|[.,;:)'"`])/g, TERMINAL_COMMAND);
}

/**
 * Whether the first word of a command line names a verb or group the terminal offers (or, with
 * `kernelOnly`, any verb at all, so that `lakebase-kernel sql` is told why it is not offered).
 */
export function isTerminalVerb(word: string | undefined, families: readonly VerbFamily<MagicServices>[], options: { kernelOnly?: boolean } = {}): boolean {
  if (word === undefined) return false;
  const candidates = options.kernelOnly ? families : terminalFamilies(families);
  return candidates.some((family) => family.verbs.some((verb) => verb.name.split(' ')[0] === word));
}

function terminalFamilies(families: readonly VerbFamily<MagicServices>[]): VerbFamily<MagicServices>[] {
  return families.filter((family) => family.kernelOnly !== true);
}

/** The families the terminal's help lists: `help` itself is the command's own `help`. */
function listedFamilies(families: readonly VerbFamily<MagicServices>[]): VerbFamily<MagicServices>[] {
  return terminalFamilies(families).filter((family) => family.verbs.some((verb) => verb.name !== 'help'));
}

/** The verbs a terminal offers, one line each, for `lakebase-kernel help`. */
export function terminalOverview(families: readonly VerbFamily<MagicServices>[]): string {
  const registry = createVerbRegistry(listedFamilies(families));
  const names = registry.names();
  if (names.length === 0) return `${TERMINAL_COMMAND} help VERB [ACTION] explains a verb.`;
  const width = Math.max(...names.map((name) => name.length)) + 2;
  const lines = [`The ${LINE_MAGIC} verbs, from a terminal: ${TERMINAL_COMMAND} VERB [ARGUMENT ...] [--OPTION ...] [--json]`, ''];
  for (const family of registry.families) {
    lines.push(`${family.summary}:`);
    for (const verb of family.verbs) lines.push(`  ${verb.name.padEnd(width)}${verb.summary}`);
    lines.push('');
  }
  lines.push(
    `Results print as a notebook shows them; --json prints them as JSON for scripts. Destructive verbs ask on the`,
    `terminal, or need --yes. Exit codes: 0 ok, 1 failed, 2 usage, 130 interrupted (the operation goes on).`,
    `${TERMINAL_COMMAND} help VERB [ACTION] explains one.`,
  );
  return forTerminal(lines.join('\n'));
}

/** Quotes a word so that the magic grammar reads it back as the same single word. */
function quoteWord(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'"'"'`)}'`;
}

export interface TerminalOptions {
  io?: TerminalIo;
  /**
   * Passed to `createMagics`: tests point the connectors and workspace at an emulator, and may add
   * verb families (`families`) after the kernel's own.
   */
  deps?: MagicsDeps;
}

/**
 * Runs one verb from a command line (`argv` after the program name: `['instance', 'list']`) and
 * returns the exit code. Never throws: every failure is a message on stderr and a code.
 */
export async function runTerminalCommand(argv: readonly string[], options: TerminalOptions = {}): Promise<number> {
  const io = options.io ?? processIo();
  const all = [...DEFAULT_FAMILIES, ...(options.deps?.families ?? [])];
  const families = terminalFamilies(all);
  const printError = (error: unknown) => {
    const described = describeError(error);
    io.stderr.write(`${forTerminal(`${TERMINAL_COMMAND}: ${described.lines.join('\n')}`)}\n`);
  };

  // `--json` is the terminal's own option; everything after `--` belongs to the verb.
  const end = argv.indexOf('--');
  const head = end < 0 ? [...argv] : argv.slice(0, end);
  const json = head.includes('--json');
  const words = [...head.filter((word) => word !== '--json'), ...(end < 0 ? [] : argv.slice(end))];

  if (words[0] === undefined || words[0] === 'help') {
    return help(words.slice(1), all, io);
  }
  if (!isTerminalVerb(words[0], families)) {
    const kernelOnly = isTerminalVerb(words[0], all, { kernelOnly: true });
    printError(
      new MagicUsageError(
        MAGIC_ERRORS.unknownVerb,
        kernelOnly ? `${words[0]} works on a notebook's connections; it has no meaning in a one-shot terminal command` : `there is no command "${words[0]}"`,
        { hint: kernelOnly ? `Use it in a notebook cell; for SQL from a terminal, use psql. ${TERMINAL_COMMAND} help ${words[0]} explains it.` : `Run ${TERMINAL_COMMAND} help.` },
      ),
    );
    return EXIT.usage;
  }

  const magics = createMagics(options.deps);
  const interrupt = new AbortController();
  let interrupts = 0;
  const removeInterrupt = io.onInterrupt(() => {
    interrupts++;
    // The first Ctrl-C stops the waiting (the verb says so and exits); a second one is the user
    // insisting: leave at once.
    if (interrupts > 1) process.exit(EXIT.interrupted);
    interrupt.abort(new LakebaseError('INTERRUPTED', 'Interrupted (Ctrl-C).'));
  });
  const host = new TerminalHost(io, interrupt.signal);
  try {
    let invocation;
    try {
      const plan = magics.planCell(`${LINE_MAGIC} ${words.map(quoteWord).join(' ')}`);
      if (plan.kind !== 'magics' || plan.invocations.length !== 1) throw new Error('a terminal command is one magic');
      invocation = plan.invocations[0];
    } catch (error) {
      printError(error);
      return error instanceof MagicUsageError ? EXIT.usage : EXIT.failed;
    }
    try {
      // `cell`: earlier results of the verb are shown as they come, the last one is printed here.
      const { value } = await magics.run(invocation, host, { mode: 'cell' });
      host.finish();
      if (value !== undefined) io.stdout.write(`${json ? toJson(value) : forTerminal(plainText(value))}\n`);
      return EXIT.ok;
    } catch (error) {
      host.finish();
      printError(error);
      if (error instanceof MagicUsageError || (error instanceof LakebaseError && error.code === CONFIRM_ERRORS.required)) return EXIT.usage;
      if (error instanceof WaitStoppedError || interrupt.signal.aborted) return EXIT.interrupted;
      return EXIT.failed;
    }
  } finally {
    removeInterrupt();
    await magics.close().catch((error: unknown) => io.stderr.write(`${TERMINAL_COMMAND}: closing: ${describeError(error).message}\n`));
  }
}

async function help(words: string[], all: readonly VerbFamily<MagicServices>[], io: TerminalIo): Promise<number> {
  const families = terminalFamilies(all);
  const [name, action] = words;
  if (name === undefined) {
    io.stdout.write(`${terminalOverview(families)}\n`);
    return EXIT.ok;
  }
  // A notebook-only verb is explained as a notebook shows it, with a word on where it runs.
  const offered = isTerminalVerb(name, families);
  const registry: VerbRegistry<MagicServices> = createVerbRegistry(offered ? families : all);
  const shown = (text: string) => (offered ? forTerminal(text) : `(${name} runs in notebook cells only)\n\n${text}`);
  if (registry.isGroup(name) && action === undefined) {
    io.stdout.write(`${shown(groupHelp(registry, name))}\n`);
    return EXIT.ok;
  }
  const verb = registry.isGroup(name) ? registry.get(`${name} ${action}`) : action === undefined ? registry.get(name) : undefined;
  if (verb === undefined) {
    io.stderr.write(`${TERMINAL_COMMAND}: there is no command "${words.join(' ')}"\nHINT:  Run ${TERMINAL_COMMAND} help.\n`);
    return EXIT.usage;
  }
  io.stdout.write(`${shown(verbHelp(verb))}\n`);
  return EXIT.ok;
}

/** The text a notebook shows for a value: its `text/plain`. */
export function plainText(value: unknown): string {
  const render = (value as { [JUPYTER_DISPLAY]?: () => MimeBundle } | null | undefined)?.[JUPYTER_DISPLAY];
  if (typeof render === 'function') {
    const text = render.call(value)?.['text/plain'];
    if (typeof text === 'string') return text;
  }
  return typeof value === 'string' ? value : inspect(value, { depth: 6, breakLength: 100 });
}

function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, field: unknown) => (typeof field === 'bigint' ? field.toString() : field), 2) ?? 'null';
}

/**
 * A `MagicHost` on a terminal. Status lines go to stderr (rewritten in place on a TTY, final line
 * only otherwise); other displayed values print as text on stdout; input is read from stdin when
 * it is a TTY.
 */
class TerminalHost implements MagicHost {
  readonly signal: AbortSignal;
  readonly allowsInput: boolean;
  /** A status line is on screen, not yet ended by a newline. */
  #liveLine = false;

  constructor(
    private readonly io: TerminalIo,
    signal: AbortSignal,
  ) {
    this.signal = signal;
    this.allowsInput = io.stdin.isTTY === true;
  }

  stdout(text: string): void {
    this.#endLiveLine();
    this.io.stdout.write(forTerminal(text));
  }

  stderr(text: string): void {
    this.#endLiveLine();
    this.io.stderr.write(forTerminal(text));
  }

  display(value: unknown, _options?: DisplayOptions): void {
    if (value instanceof StatusLineView) {
      const text = forTerminal(value.toString());
      if (this.io.stderr.isTTY === true) {
        // Cut to the width, so the line never wraps: a wrapped line cannot be rewritten with \r.
        const width = Math.max(20, (this.io.stderr.columns ?? 100) - 1);
        const shown = text.length > width && !value.settled ? `${text.slice(0, width - 1)}…` : text;
        this.io.stderr.write(`\r\x1b[2K${shown}${value.settled ? '\n' : ''}`);
        this.#liveLine = !value.settled;
      } else if (value.settled) {
        this.io.stderr.write(`${text}\n`);
      }
      return;
    }
    this.#endLiveLine();
    this.io.stdout.write(`${forTerminal(plainText(value))}\n`);
  }

  lookupVariable(_name: string): VariableLookup {
    return { found: false };
  }

  async declareVariable(name: string): Promise<void> {
    throw new LakebaseError('NO_TYPESCRIPT_SESSION', `A terminal command has no TypeScript session to declare ${name} in.`, {
      hint: 'Use the option in a notebook cell; from a terminal, --json gives the value to a script.',
    });
  }

  input(prompt: string, options: { password?: boolean } = {}): Promise<string> {
    if (!this.allowsInput) return Promise.reject(new Error('stdin is not a terminal: nothing can be asked'));
    // No terminal verb asks for a secret (connect is a notebook verb); reading one would need the
    // TTY in raw mode to keep it from being echoed, so it is refused rather than shown.
    if (options.password) return Promise.reject(new Error('a terminal command does not read passwords'));
    this.#endLiveLine();
    this.io.stderr.write(prompt);
    return readLine(this.io.stdin, this.signal).finally(() => {
      if (this.signal.aborted) this.io.stderr.write('\n');
    });
  }

  /** Ends a status line left on screen, so what follows starts on a line of its own. */
  finish(): void {
    this.#endLiveLine();
  }

  #endLiveLine(): void {
    if (this.#liveLine) {
      this.io.stderr.write('\n');
      this.#liveLine = false;
    }
  }
}

/** One line typed on `stdin` (without its newline); rejects when `signal` aborts. */
function readLine(stdin: NodeJS.ReadableStream, signal: AbortSignal): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let typed = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      signal.removeEventListener('abort', onAbort);
      stdin.pause();
    };
    const onData = (chunk: Buffer | string) => {
      typed += chunk.toString();
      const newline = typed.indexOf('\n');
      if (newline < 0) return;
      finish();
      resolve(typed.slice(0, newline).replace(/\r$/, ''));
    };
    // End of input (Ctrl-D) answers with what was typed: nothing, which means no.
    const onEnd = () => {
      finish();
      resolve(typed);
    };
    const onAbort = () => {
      finish();
      reject(signal.reason);
    };
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.resume();
  });
}
