// Where the `%lakebase` line magics are in a cell of TypeScript, found with TypeScript's own
// scanner so that a `%` inside a string, a template literal, a regular expression or a comment is
// never taken for a magic, and `a % b` stays a modulo.
//
// The rule (README, "Magics inside TypeScript"): `%lakebase` is a magic where a statement or an
// expression may start, that is
//   - at the start of a line (even after a complete expression on the line before: a `%` line
//     handed to TypeScript would otherwise be read as a modulo of the previous line, see
//     docs/design.md), or
//   - after a token that an operand may follow: `=`, `(`, `,`, `=>`, `return`, `await`, an
//     operator, `;`, `{`, the `)` of `if (...)`/`for (...)`/`while (...)`, `else`, `do`.
// A magic runs to the end of its line. It is a *statement* (its results are displayed) where a
// statement may start, and an *expression* (its value is returned, nothing displayed) elsewhere,
// e.g. `const r = %lakebase sql SELECT 1`.
import type * as TypeScript from 'typescript-5';
import { CELL_MAGIC, LINE_MAGIC } from './grammar';

export interface MagicSpan {
  /** Index of the `%`. */
  start: number;
  /** Index of the end of the magic: the end of its line, before any `\r`. */
  end: number;
  /** 0-based line of the cell. */
  line: number;
  mode: 'statement' | 'expression';
  /**
   * Whether the generated call may end with `;`: true where the magic ends a statement, false
   * inside parentheses, brackets or an arrow function's argument list, where a `;` is a syntax error.
   */
  endsStatement: boolean;
}

/** A `%` that looks like a magic but is not one we have: reported by `planCell`. */
export interface MagicProblem {
  kind: 'misplaced-cell-magic' | 'unknown-magic';
  start: number;
  line: number;
  /** The magic as written, e.g. `%sql` or `%%lakebase`. */
  written: string;
}

export interface ScannedCell {
  spans: MagicSpan[];
  problems: MagicProblem[];
  /** Whether anything other than magics, comments and white space is in the cell. */
  hasTypeScript: boolean;
}

let ts: typeof TypeScript | undefined;
/** The compiler is large (about 130 ms to load); only cells that mix magics and code need it. */
function typescript(): typeof TypeScript {
  ts ??= require('typescript-5') as typeof TypeScript;
  return ts;
}

type Bracket = 'paren' | 'control-paren' | 'bracket' | 'brace' | 'template';

/** Scans a cell for line magics (and for things that look like magics but are not). */
export function scanMagics(source: string): ScannedCell {
  const t = typescript();
  const K = t.SyntaxKind;
  const scanner = t.createScanner(t.ScriptTarget.Latest, true, t.LanguageVariant.Standard, source);
  const spans: MagicSpan[] = [];
  const problems: MagicProblem[] = [];
  const brackets: Bracket[] = [];
  let hasTypeScript = false;
  // The previous significant token, and facts about it that the token kind alone does not tell.
  let previous: TypeScript.SyntaxKind | undefined;
  let previousClosedControl = false;
  let previousWasMagic = false;
  let previousWasCaseColon = false;
  // `case x:` and `default:` end with a colon after which a statement starts.
  let pendingCaseDepth: number | undefined;

  const lineOf = (index: number) => countLines(source, index);

  for (;;) {
    let kind = scanner.scan();
    if (kind === K.EndOfFileToken) break;
    const start = scanner.getTokenStart();

    if ((kind === K.SlashToken || kind === K.SlashEqualsToken) && !endsOperand(t, previous, previousClosedControl, previousWasMagic)) {
      kind = scanner.reScanSlashToken();
    }
    if (kind === K.CloseBraceToken && brackets[brackets.length - 1] === 'template') {
      kind = scanner.reScanTemplateToken(false);
      if (kind === K.TemplateTail) brackets.pop();
      setPrevious(kind);
      continue;
    }

    if (kind === K.PercentToken) {
      const firstOnLine = previous === undefined || scanner.hasPrecedingLineBreak();
      const operandEnded = endsOperand(t, previous, previousClosedControl, previousWasMagic);
      if (firstOnLine || !operandEnded) {
        const afterPercent = source.slice(start);
        const lineEnd = endOfLine(source, start);
        if (startsWithWord(afterPercent, LINE_MAGIC)) {
          spans.push({
            start,
            end: lineEnd,
            line: lineOf(start),
            mode: statementMayStart() ? 'statement' : 'expression',
            endsStatement: statementMayStart() || endsStatementAfter(t, previous, brackets),
          });
          scanner.setTextPos(lineEnd);
          previous = undefined;
          previousWasMagic = true;
          previousClosedControl = false;
          previousWasCaseColon = false;
          continue;
        }
        const looksLikeMagic = /^%%?[A-Za-z_]/.test(afterPercent);
        // Reported only where TypeScript could not read the `%` as a modulo anyway, so that no
        // working code is refused: where an operand is expected, or at the start of a line where
        // what follows cannot continue the previous line (`%%`, or `%name word`).
        if (looksLikeMagic && (!operandEnded || (firstOnLine && cannotContinue(afterPercent)))) {
          const written = /^%%?[A-Za-z_][\w-]*/.exec(afterPercent)![0];
          problems.push({
            kind: written === CELL_MAGIC ? 'misplaced-cell-magic' : 'unknown-magic',
            start,
            line: lineOf(start),
            written,
          });
          scanner.setTextPos(lineEnd);
          previous = undefined;
          previousWasMagic = true;
          continue;
        }
      }
    }

    hasTypeScript = true;
    switch (kind) {
      case K.OpenParenToken:
        brackets.push(isControlKeyword(t, previous) ? 'control-paren' : 'paren');
        break;
      case K.CloseParenToken: {
        const closed = brackets.pop();
        setPrevious(kind);
        previousClosedControl = closed === 'control-paren';
        continue;
      }
      case K.OpenBracketToken:
        brackets.push('bracket');
        break;
      case K.OpenBraceToken:
        brackets.push('brace');
        break;
      case K.CloseBracketToken:
      case K.CloseBraceToken:
        brackets.pop();
        break;
      case K.TemplateHead:
        brackets.push('template');
        break;
      case K.CaseKeyword:
      case K.DefaultKeyword:
        pendingCaseDepth = brackets.length;
        break;
      case K.ColonToken:
        if (pendingCaseDepth === brackets.length) {
          pendingCaseDepth = undefined;
          setPrevious(kind);
          previousWasCaseColon = true;
          continue;
        }
        break;
      default:
        break;
    }
    setPrevious(kind);
  }
  return { spans, problems, hasTypeScript };

  function setPrevious(kind: TypeScript.SyntaxKind): void {
    previous = kind;
    previousClosedControl = false;
    previousWasMagic = false;
    previousWasCaseColon = false;
  }

  /** Whether a statement (not only an expression) may start after the previous token. */
  function statementMayStart(): boolean {
    if (previous === undefined || previousWasMagic || previousClosedControl || previousWasCaseColon) return true;
    switch (previous) {
      case K.SemicolonToken:
      case K.OpenBraceToken:
      case K.CloseBraceToken:
      case K.ElseKeyword:
      case K.DoKeyword:
        return true;
      default:
        // After a complete operand, only a new line can put us here: a new statement (ASI).
        return endsOperand(t, previous, false, false);
    }
  }

}

/** Whether the token ends an operand, so that a following `%` is a modulo and `/` a division. */
function endsOperand(
  t: typeof TypeScript,
  kind: TypeScript.SyntaxKind | undefined,
  closedControl: boolean,
  wasMagic: boolean,
): boolean {
  if (wasMagic) return false;
  if (kind === undefined || closedControl) return false;
  const K = t.SyntaxKind;
  switch (kind) {
    case K.Identifier:
    case K.PrivateIdentifier:
    case K.NumericLiteral:
    case K.BigIntLiteral:
    case K.StringLiteral:
    case K.RegularExpressionLiteral:
    case K.NoSubstitutionTemplateLiteral:
    case K.TemplateTail:
    case K.CloseParenToken:
    case K.CloseBracketToken:
    case K.CloseBraceToken:
    case K.PlusPlusToken:
    case K.MinusMinusToken:
      return true;
    default:
      // Keywords that take an operand after them; every other keyword (this, true, null, and the
      // contextual ones that are also names: type, of, as, get, ...) ends one.
      if (kind >= K.FirstKeyword && kind <= K.LastKeyword) return !OPERAND_KEYWORDS(t).has(kind);
      return false;
  }
}

let operandKeywords: Set<TypeScript.SyntaxKind> | undefined;
/** Keywords after which an expression starts. */
function OPERAND_KEYWORDS(t: typeof TypeScript): Set<TypeScript.SyntaxKind> {
  const K = t.SyntaxKind;
  operandKeywords ??= new Set([
    K.ReturnKeyword, K.TypeOfKeyword, K.VoidKeyword, K.DeleteKeyword, K.AwaitKeyword, K.YieldKeyword,
    K.ThrowKeyword, K.NewKeyword, K.InKeyword, K.OfKeyword, K.InstanceOfKeyword, K.CaseKeyword,
    K.DoKeyword, K.ElseKeyword, K.ExtendsKeyword,
  ]);
  return operandKeywords;
}

function isControlKeyword(t: typeof TypeScript, kind: TypeScript.SyntaxKind | undefined): boolean {
  const K = t.SyntaxKind;
  return kind === K.IfKeyword || kind === K.ForKeyword || kind === K.WhileKeyword || kind === K.WithKeyword;
}

/**
 * For an expression magic: whether its statement ends with the line, so that the call may be
 * closed with `;` (protecting against a next line that starts with `(` or `[`). True after
 * `=`-like operators, `return`, `await`, `yield` and `throw` outside any parentheses or brackets.
 */
function endsStatementAfter(t: typeof TypeScript, kind: TypeScript.SyntaxKind | undefined, brackets: Bracket[]): boolean {
  const K = t.SyntaxKind;
  const inside = brackets[brackets.length - 1];
  if (inside !== undefined && inside !== 'brace') return false;
  if (kind === undefined) return false;
  if (kind >= K.FirstAssignment && kind <= K.LastAssignment) return true;
  return kind === K.ReturnKeyword || kind === K.AwaitKeyword || kind === K.YieldKeyword || kind === K.ThrowKeyword;
}

/** `%%...`, or `%name word` where `word` is no binary operator keyword: not a modulo. */
function cannotContinue(afterPercent: string): boolean {
  if (afterPercent.startsWith('%%')) return true;
  const next = /^%[A-Za-z_][\w$]*[ \t]+([A-Za-z_][\w$]*)/.exec(afterPercent);
  return next !== null && !['in', 'instanceof', 'as', 'satisfies'].includes(next[1]);
}

function startsWithWord(text: string, word: string): boolean {
  return text.startsWith(word) && !/[\w$-]/.test(text.charAt(word.length));
}

/** The end of the line that `index` is on, before a `\r\n` or `\n`. */
export function endOfLine(source: string, index: number): number {
  const newline = source.indexOf('\n', index);
  const end = newline < 0 ? source.length : newline;
  return end > index && source[end - 1] === '\r' ? end - 1 : end;
}

/** 0-based line number of `index`. */
export function countLines(source: string, index: number): number {
  let lines = 0;
  for (let i = source.indexOf('\n'); i >= 0 && i < index; i = source.indexOf('\n', i + 1)) lines++;
  return lines;
}
