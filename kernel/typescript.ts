// TypeScript cells, run by tslab's executor and converter (design.md: "TypeScript execution").
// tslab reports everything through the console interface it is given: the cell's last value
// through `log`, compile diagnostics and thrown values through `error`. This module turns those
// calls back into structured outcomes, so the session never has to parse printed text.
import type { Executor } from 'tslab/dist/executor';
import type { VariableLookup } from '../magics/host';

export interface Diagnostic {
  line: number;
  column: number;
  message: string;
}

export type CellOutcome =
  | { status: 'ok'; value: unknown; hasValue: boolean }
  | { status: 'compile-error'; diagnostics: Diagnostic[] }
  | { status: 'runtime-error'; error: unknown };

export interface CompletionResult {
  matches: string[];
  cursorStart: number;
  cursorEnd: number;
}

export interface TypeScriptRunner {
  /** Runs one cell. Compile errors and thrown values are outcomes, never exceptions. */
  execute(code: string): Promise<CellOutcome>;
  /** Gives `name` the type `tsType` in later cells and the value `value` now. */
  declare(name: string, value: unknown, tsType: string): Promise<void>;
  complete(code: string, cursor: number): CompletionResult;
  /** Hover text for the symbol at `cursor`, or null. */
  inspect(code: string, cursor: number): string | null;
  /** Abandons the awaited part of the running cell (synchronous code is stopped by SIGINT). */
  interrupt(): void;
  /** A variable of the TypeScript session (declared by an earlier cell), or a global. */
  lookup(name: string): VariableLookup;
  /** Starts the TypeScript compiler now rather than at the first cell. */
  warmUp(): void;
  readonly started: boolean;
  close(): void;
}

/** The printf-style format tslab uses for diagnostics: "%s%d:%d - %s" (file, line, column, text). */
const DIAGNOSTIC_FORMAT = '%s%d:%d - %s';

/**
 * @param rootDir where `require`/`import` in cells resolve modules from (the notebook's folder).
 * @param prelude TypeScript run once before the first user cell (declarations every cell sees).
 */
export function createTypeScriptRunner(rootDir: string, prelude: string): TypeScriptRunner {
  let executor: Executor | undefined;
  let preluded = false;
  // What tslab reported for the cell being executed, through its console calls.
  let report: { value?: { value: unknown }; diagnostics: Diagnostic[]; thrown?: { error: unknown } } = { diagnostics: [] };

  const tslabConsole = {
    log(value?: unknown) {
      report.value = { value };
    },
    error(first?: unknown, ...rest: unknown[]) {
      if (first === DIAGNOSTIC_FORMAT && rest.length === 4) {
        const [, line, column, message] = rest;
        report.diagnostics.push({ line: Number(line), column: Number(column), message: String(message) });
      } else {
        report.thrown = { error: first };
      }
    },
  };

  function start(): Executor {
    if (!executor) {
      // Loaded here, not at the top: the TypeScript compiler takes about a second to load and
      // a kernel must answer kernel_info well before that (issue 2: start under 1 s).
      const { createConverter } = require('tslab/dist/converter') as typeof import('tslab/dist/converter');
      const { createExecutor } = require('tslab/dist/executor') as typeof import('tslab/dist/executor');
      const converter = createConverter();
      executor = createExecutor(
        rootDir,
        { node: converter, browser: converter, close: () => converter.close() },
        tslabConsole,
      );
    }
    return executor;
  }

  async function run(code: string): Promise<CellOutcome> {
    const tslab = start();
    const cell: typeof report = { diagnostics: [] };
    report = cell;
    const succeeded = await tslab.execute(code);
    if (cell.diagnostics.length > 0) return { status: 'compile-error', diagnostics: cell.diagnostics };
    if (cell.thrown) return { status: 'runtime-error', error: cell.thrown.error };
    if (!succeeded) {
      return { status: 'runtime-error', error: new Error('the cell failed without an error') };
    }
    return cell.value
      ? { status: 'ok', value: cell.value.value, hasValue: true }
      : { status: 'ok', value: undefined, hasValue: false };
  }

  async function ensurePrelude(): Promise<void> {
    if (preluded) return;
    preluded = true;
    const outcome = await run(prelude);
    if (outcome.status !== 'ok') {
      throw new Error(`the kernel's TypeScript prelude failed: ${JSON.stringify(outcome)}`);
    }
  }

  return {
    get started() {
      return executor !== undefined;
    },
    warmUp() {
      start();
    },
    lookup(name) {
      const locals = executor?.locals;
      if (locals && Object.prototype.hasOwnProperty.call(locals, name)) return { found: true, value: locals[name] };
      if (name in globalThis) return { found: true, value: (globalThis as Record<string, unknown>)[name] };
      return { found: false };
    },
    async execute(code) {
      await ensurePrelude();
      return run(code);
    },
    async declare(name, value, tsType) {
      await ensurePrelude();
      const outcome = await run(`declare let ${name}: ${tsType};`);
      if (outcome.status !== 'ok') {
        const detail = outcome.status === 'compile-error' ? outcome.diagnostics.map((d) => d.message).join('; ') : '';
        throw new Error(`could not declare the TypeScript variable ${name}: ${detail}`);
      }
      // After the declaration ran: tslab's emitted module initialises its exports to undefined.
      start().locals[name] = value;
    },
    complete(code, cursor) {
      const info = start().complete(code, cursor);
      return { matches: info.candidates, cursorStart: info.start, cursorEnd: info.end };
    },
    inspect(code, cursor) {
      const info = start().inspect(code, cursor);
      if (!info) return null;
      const signature = (info.displayParts ?? []).map((part) => part.text).join('');
      const documentation = (info.documentation ?? []).map((part) => part.text).join('');
      return documentation ? `${signature}\n\n${documentation}` : signature;
    },
    interrupt() {
      executor?.interrupt();
    },
    close() {
      executor?.close();
    },
  };
}
