// Turns whatever went wrong in a cell into the `error` content Jupyter shows: known errors (our
// typed errors, SQL errors, TypeScript diagnostics) as a few clear lines, unknown ones with the
// part of the stack that belongs to the user's code.
import { describeError, LakebaseError } from '../lakebase/errors';
import type { Diagnostic } from './typescript';

export interface ErrorContent {
  ename: string;
  evalue: string;
  traceback: string[];
}

const RED = '\x1b[0;31m';
const RESET = '\x1b[0m';

/**
 * A cell interrupted before any of its code ran, while its input was published or it was planned
 * (one interrupted while it compiles says so itself: typescript.ts).
 */
export function interruptedBeforeRun(): LakebaseError {
  return new LakebaseError('INTERRUPTED', 'Interrupted before the cell ran (it was still being prepared)');
}

export function compileErrorContent(diagnostics: Diagnostic[]): ErrorContent {
  return {
    ename: 'TypeScriptError',
    evalue: diagnostics[0]?.message ?? 'the cell does not compile',
    // A problem in a local module the cell imports names that module's file first.
    traceback: diagnostics.map((d) => `${d.file ? `${d.file} ` : ''}${RED}${d.line}:${d.column}${RESET} - ${d.message}`),
  };
}

export function errorContent(error: unknown): ErrorContent {
  const described = describeError(error);
  if (described.known) {
    return {
      ename: described.name,
      evalue: described.message,
      traceback: described.lines.map((line, i) => (i === 0 ? `${RED}${line}${RESET}` : line)),
    };
  }
  // Unknown errors keep the user's stack frames; describeError has redacted secrets from both.
  if (error instanceof Error) {
    return {
      ename: described.name,
      evalue: described.message,
      traceback: [`${RED}${described.name}${RESET}: ${described.message}`, ...userFrames(described.lines)],
    };
  }
  return { ename: 'Thrown', evalue: described.message, traceback: [`${RED}Uncaught${RESET} ${described.message}`] };
}

/**
 * Stack frames of the cell's own code (scripts named `cell[N]`); frames below the first frame of
 * the kernel are the kernel's business, not the user's.
 */
function userFrames(stackLines: string[]): string[] {
  const frames = stackLines.filter((line) => /^\s+at /.test(line));
  const end = frames.findIndex((line) => /[\\/]dist[\\/]kernel[\\/]|node:vm|node:internal/.test(line));
  return end === -1 ? frames : frames.slice(0, end);
}
