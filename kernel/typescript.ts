// TypeScript cells, run by tslab's executor and converter (design.md: "TypeScript execution").
// tslab reports everything through the console interface it is given: the cell's last value
// through `log`, compile diagnostics and thrown values through `error`. This module turns those
// calls back into structured outcomes, so the session never has to parse printed text.
import type { Converter, ConvertResult } from 'tslab/dist/converter';
import type { Executor } from 'tslab/dist/executor';
import type { CodeMetadata } from 'tslab/dist/metadata';
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
  /**
   * Runs one cell. Compile errors and thrown values are outcomes, never exceptions. A cell whose
   * `signal` is aborted before it starts to run (while it compiles) is not run.
   */
  execute(code: string, signal?: AbortSignal): Promise<CellOutcome>;
  /** Gives `name` the type `tsType` in later cells and the value `value` now. */
  declare(name: string, value: unknown, tsType: string): Promise<void>;
  complete(code: string, cursor: number): CompletionResult;
  /** Hover text for the symbol at `cursor`, or null. */
  inspect(code: string, cursor: number): string | null;
  /**
   * Abandons the awaited part of the running cell (synchronous code is stopped by SIGINT, and a
   * cell still compiling by the abort signal given to `execute`).
   */
  interrupt(): void;
  /** A variable of the TypeScript session (declared by an earlier cell), or a global. */
  lookup(name: string): VariableLookup;
  /** The names of the variables earlier cells declared. */
  variableNames(): string[];
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
  let tslab: { executor: Executor; converter: Converter; metadataOf: (src: string) => CodeMetadata } | undefined;
  let preluded = false;
  // Compiling a cell is synchronous and can take seconds, and an interrupt sent meanwhile reaches
  // the event loop only after it. So `run` compiles the cell itself, lets the event loop read what
  // arrived meanwhile, and does not run a cell interrupted by then. tslab's executor then asks for the same
  // conversion and gets the kept one. `declarations` mirrors the executor's own `prevDecl`: the
  // declarations of the cells so far, which every conversion takes.
  let declarations = '';
  let compiled: { declarations: string; src: string; result: ConvertResult } | undefined;
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

  function start(): NonNullable<typeof tslab> {
    if (!tslab) {
      // Loaded here, not at the top: the TypeScript compiler takes about a second to load and
      // a kernel must answer kernel_info well before that (issue 2: start under 1 s).
      const { createConverter } = require('tslab/dist/converter') as typeof import('tslab/dist/converter');
      const { createExecutor } = require('tslab/dist/executor') as typeof import('tslab/dist/executor');
      const { getCodeMetadata } = require('tslab/dist/metadata') as typeof import('tslab/dist/metadata');
      const converter = createConverter();
      const keeping: Converter = {
        ...converter,
        convert(prevDecl, src) {
          const kept = compiled;
          compiled = undefined;
          if (kept && kept.declarations === prevDecl && kept.src === src) return kept.result;
          return converter.convert(prevDecl, src);
        },
      };
      const executor = createExecutor(rootDir, { node: keeping, browser: keeping, close: () => converter.close() }, tslabConsole);
      tslab = { executor, converter, metadataOf: getCodeMetadata };
    }
    return tslab;
  }

  async function run(code: string, signal?: AbortSignal): Promise<CellOutcome> {
    const cell: typeof report = { diagnostics: [] };
    report = cell;
    const { executor, converter, metadataOf } = start();
    let conversion: ConvertResult | undefined;
    // Module and browser cells take another path in tslab, without this conversion.
    const metadata = metadataOf(code);
    if (!metadata.module && metadata.mode !== 'browser') {
      conversion = converter.convert(declarations, code);
      compiled = { declarations, src: code, result: conversion };
    }
    await afterPendingEvents();
    if (signal?.aborted) {
      compiled = undefined;
      return { status: 'runtime-error', error: new Error('Interrupted before the cell ran (it was still compiling)') };
    }
    const succeeded = await executor.execute(code);
    // The executor keeps a cell's declarations exactly when it reports success.
    if (succeeded && conversion) declarations = conversion.declOutput || '';
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
      return tslab !== undefined;
    },
    warmUp() {
      start();
    },
    variableNames() {
      return Object.keys(tslab?.executor.locals ?? {});
    },
    lookup(name) {
      const locals = tslab?.executor.locals;
      if (locals && Object.prototype.hasOwnProperty.call(locals, name)) return { found: true, value: locals[name] };
      if (name in globalThis) return { found: true, value: (globalThis as Record<string, unknown>)[name] };
      return { found: false };
    },
    async execute(code, signal) {
      await ensurePrelude();
      return run(code, signal);
    },
    async declare(name, value, tsType) {
      await ensurePrelude();
      const outcome = await run(`declare let ${name}: ${tsType};`);
      if (outcome.status !== 'ok') {
        const detail = outcome.status === 'compile-error' ? outcome.diagnostics.map((d) => d.message).join('; ') : '';
        throw new Error(`could not declare the TypeScript variable ${name}: ${detail}`);
      }
      // After the declaration ran: tslab's emitted module initialises its exports to undefined.
      start().executor.locals[name] = value;
    },
    complete(code, cursor) {
      const info = start().executor.complete(code, cursor);
      return { matches: info.candidates, cursorStart: info.start, cursorEnd: info.end };
    },
    inspect(code, cursor) {
      const info = start().executor.inspect(code, cursor);
      if (!info) return null;
      const signature = (info.displayParts ?? []).map((part) => part.text).join('');
      const documentation = (info.documentation ?? []).map((part) => part.text).join('');
      return documentation ? `${signature}\n\n${documentation}` : signature;
    },
    interrupt() {
      tslab?.executor.interrupt();
    },
    close() {
      tslab?.executor.close();
    },
  };
}

/**
 * Resolves after the event loop has read what arrived while it was blocked (signals, socket
 * messages): the first turn ends the current loop iteration, the second comes after the next poll
 * phase, where libuv reads them.
 */
async function afterPendingEvents(): Promise<void> {
  for (let turn = 0; turn < 2; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
}
