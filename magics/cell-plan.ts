// How the kernel runs a cell: as TypeScript, as magics only, or as TypeScript in which each line
// magic has been replaced, on its own line (so that TypeScript's line numbers stay right), by a
// call into the kernel: `await lakebase$magic(INDEX, { a, b }, MODE)`. `{ a, b }` captures the
// SQL's `:a` and `:b` parameters from the surrounding scope, so that a loop variable or a
// function's argument is bound as it is at that moment.
import type { MagicInvocation, MagicMode } from './declarations';
import { MAGIC_ERRORS, MagicUsageError } from './errors';
import { CELL_MAGIC, isVariableName, LINE_MAGIC, MagicText, startsWithMagic } from './grammar';
import { countLines, MagicProblem, MagicSpan, scanMagics } from './magic-spans';
import { MAGIC_FUNCTION } from './magic-function';

export type CellPlan =
  /** No magics: the kernel runs the cell as TypeScript. */
  | { kind: 'typescript'; code: string }
  /** Only magics (with blank lines and comments): the kernel runs them in order. */
  | { kind: 'magics'; invocations: MagicInvocation[] }
  /** TypeScript in which `invocations[i]` is called as `lakebase$magic(i, ...)`. */
  | { kind: 'mixed'; code: string; invocations: MagicInvocation[] };

export { MAGIC_FUNCTION } from './magic-function';

export interface CellPlanner {
  /** Splits a cell into what TypeScript runs and what the magics run; throws `MagicUsageError`. */
  planCell(source: string): CellPlan;
  /**
   * The TypeScript a cell becomes, and where `cursor` lands in it, so that completion and
   * inspection of the TypeScript around magics still work. Null for a `%%lakebase` cell and when
   * the cursor is on a magic. Never throws: it must work on half-typed cells.
   */
  mapToTypeScript(source: string, cursor: number): { code: string; cursor: number } | null;
}

export interface CellPlannerOptions {
  parse(magic: MagicText, mode: MagicMode): MagicInvocation;
  /** Names of the TypeScript values a magic needs (its SQL's `:name` parameters). */
  capturedNames(invocation: MagicInvocation): readonly string[];
  /** The TypeScript type of a magic's value (`LakebaseInstance`), when its verb declares one. */
  resultType?(invocation: MagicInvocation): string | undefined;
}

const BLANK_OR_COMMENT = /^\s*(\/\/.*)?$/;

export function createCellPlanner(options: CellPlannerOptions): CellPlanner {
  return {
    planCell(source) {
      const cellMagic = findCellMagic(source);
      if (cellMagic !== undefined) {
        return { kind: 'magics', invocations: [options.parse(cellMagic, 'cell')] };
      }
      if (!source.includes('%')) return { kind: 'typescript', code: source };

      // Most magic cells are a few magic lines: no need for the TypeScript scanner.
      const lines = source.split('\n');
      if (lines.every((line) => BLANK_OR_COMMENT.test(line) || startsWithMagic(line.trimStart(), LINE_MAGIC))) {
        const magicLines = lines.flatMap((line, index) =>
          BLANK_OR_COMMENT.test(line) ? [] : [{ form: 'line' as const, magicLine: line.trim(), line: index }],
        );
        return { kind: 'magics', invocations: parseAll(magicLines) };
      }

      const scanned = scanMagics(source);
      if (scanned.problems.length > 0) throw problemError(scanned.problems[0]);
      if (scanned.spans.length === 0) return { kind: 'typescript', code: source };
      const magics = scanned.spans.map((span) => ({ form: 'line' as const, magicLine: source.slice(span.start, span.end), line: span.line }));
      if (!scanned.hasTypeScript) return { kind: 'magics', invocations: parseAll(magics) };

      const invocations = scanned.spans.map((span, index) => options.parse(magics[index], span.mode));
      const code = replaceSpans(source, scanned.spans, (span, index) =>
        callFor(index, options.capturedNames(invocations[index]), span, options.resultType?.(invocations[index])),
      );
      return { kind: 'mixed', code, invocations };
    },

    mapToTypeScript(source, cursor) {
      if (findCellMagicLine(source) !== undefined) return null;
      if (!source.includes('%')) return { code: source, cursor };
      const { spans } = scanMagics(source);
      if (spans.some((span) => cursor >= span.start && cursor <= span.end)) return null;
      let shift = 0;
      const code = replaceSpans(source, spans, (span, index) => {
        const call = callFor(index, [], span);
        if (span.end <= cursor) shift += call.length - (span.end - span.start);
        return call;
      });
      return { code, cursor: cursor + shift };
    },
  };

  /** Magics of a magics-only cell: each displays its results; the last one's value is the cell's. */
  function parseAll(magics: MagicText[]): MagicInvocation[] {
    return magics.map((magic, index) => options.parse(magic, index === magics.length - 1 ? 'cell' : 'statement'));
  }
}

/**
 * `await lakebase$magic(0, { region, limit }, "statement");`, or, for a value of a verb with a
 * declared type, `(await lakebase$magic(0, {}, "expression") as LakebaseInstance)`: the cast
 * gives the variable its type, so later code gets completion and type errors.
 */
function callFor(index: number, names: readonly string[], span: MagicSpan, resultType?: string): string {
  // A parameter that is not a variable name (`:default`) cannot be captured; it is looked up in
  // the kernel's variables at run time, and reported there if missing.
  const captured = [...new Set(names)].filter(isVariableName);
  const variables = captured.length === 0 ? '{}' : `{ ${captured.join(', ')} }`;
  const call = `await ${MAGIC_FUNCTION}(${index}, ${variables}, ${JSON.stringify(span.mode)})`;
  const typed = span.mode === 'expression' && resultType !== undefined ? `(${call} as ${resultType})` : call;
  return `${typed}${span.endsStatement ? ';' : ''}`;
}

function replaceSpans(source: string, spans: readonly MagicSpan[], replacement: (span: MagicSpan, index: number) => string): string {
  let code = '';
  let from = 0;
  spans.forEach((span, index) => {
    code += source.slice(from, span.start) + replacement(span, index);
    from = span.end;
  });
  return code + source.slice(from);
}

/**
 * The first non-blank line, when it is a `%%lakebase` line, and the cell below it. A first line
 * with another `%%` magic (`%%sql`) is an error.
 */
function findCellMagic(source: string): MagicText | undefined {
  const found = findCellMagicLine(source);
  if (found === undefined) return undefined;
  if (found.written !== CELL_MAGIC) throw problemError({ kind: 'unknown-magic', ...found });
  const newline = source.indexOf('\n', found.start);
  const lineEnd = newline < 0 ? source.length : newline;
  return {
    form: 'cell',
    magicLine: source.slice(found.start, lineEnd).trim(),
    line: found.line,
    body: newline < 0 ? '' : source.slice(newline + 1),
  };
}

/** Where a first line of the form `%%name` is, if the cell has one. */
function findCellMagicLine(source: string): { start: number; line: number; written: string } | undefined {
  const start = /^(?:[ \t]*\r?\n)*[ \t]*/.exec(source)![0].length;
  const rest = source.slice(start);
  const line = () => countLines(source, start);
  if (startsWithMagic(rest, CELL_MAGIC)) return { start, line: line(), written: CELL_MAGIC };
  const other = /^%%[A-Za-z_][\w-]*/.exec(rest);
  return other === null ? undefined : { start, line: line(), written: other[0] };
}

function problemError(problem: MagicProblem): MagicUsageError {
  switch (problem.kind) {
    case 'misplaced-cell-magic':
      return new MagicUsageError(MAGIC_ERRORS.syntax, `${CELL_MAGIC} must be the first line of the cell`, {
        line: problem.line,
        hint: `Start a new cell with it, or use a ${LINE_MAGIC} line magic (one %) here.`,
      });
    case 'unknown-magic':
      return new MagicUsageError(MAGIC_ERRORS.unknownMagic, `this kernel has no magic ${problem.written}`, {
        line: problem.line,
        hint: `Its magic is ${LINE_MAGIC} (e.g. ${LINE_MAGIC} sql SELECT 1), or ${CELL_MAGIC} as the first line of a SQL cell. List the verbs with ${LINE_MAGIC} help.`,
      });
    default: {
      const unknownKind: never = problem.kind;
      throw new Error(`unknown magic problem ${String(unknownKind)}`);
    }
  }
}
