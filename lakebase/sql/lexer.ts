// A small PostgreSQL lexer: just enough to know, for every character of a cell, whether it is SQL
// code or inside a string, a quoted identifier, a dollar quote or a comment. Splitting a cell into
// statements and finding `:name` parameters both depend on that, and both must agree, so they
// share this one scanner.
//
// Lexical rules from the PostgreSQL manual, "SQL Syntax → Lexical Structure" (4.1), and the
// statement splitting of psql (src/fe_utils/psqlscan.l). Assumes `standard_conforming_strings =
// on`, the default since PostgreSQL 9.1 and on Lakebase: a backslash is an ordinary character in
// '...' and an escape only in E'...'.
//
// A SQL warehouse cell is Databricks SQL, whose quotes differ (Databricks SQL language manual,
// "Identifiers" and "STRING type"; Spark's SqlBaseLexer.g4): `back-quoted` identifiers (a ` is
// doubled inside), '...' and "..." are both strings with backslash escapes, r'...' and r"..." are
// raw strings without them, and there are no E'...' strings. Comments are the same.
import { LakebaseError, SQL_TEXT_ERRORS } from '../errors';
import { dollarQuoteEnd, dollarTagAt, isIdentifierChar, lineEnd, quotedEnd } from './literals';

export { isIdentifierChar } from './literals';

/** What a stretch of SQL text is. */
export type SqlSpanKind =
  /** SQL code: keywords, identifiers, operators, numbers, whitespace. */
  | 'code'
  /** '...' (with ''), E'...' (with backslash escapes), also B'', X'', N'', U&'' (prefix included). */
  | 'string'
  /** "quoted identifier" (with ""). */
  | 'identifier'
  /** $tag$...$tag$ or $$...$$. */
  | 'dollar-quote'
  /** -- to the end of the line, or a (nested) block comment. */
  | 'comment';

/** A stretch of text of one kind: `text.slice(start, end)`, UTF-16 indices, `end` exclusive. */
export interface SqlSpan {
  kind: SqlSpanKind;
  start: number;
  end: number;
}

/** One statement of a cell, without its `;` and surrounding whitespace. */
export interface SqlStatement {
  text: string;
  /** Index (UTF-16) in the cell where `text` starts, so errors can point at cell lines. */
  start: number;
  /** Index just past the statement's last character. */
  end: number;
}

/** 1-based line and column (in characters) of `index`, for messages. */
export function lineAndColumn(text: string, index: number): { line: number; column: number } {
  const before = text.slice(0, index);
  const lineStart = Math.max(before.lastIndexOf('\n'), before.lastIndexOf('\r')) + 1;
  const line = before.split(/\r\n|\r|\n/).length;
  return { line, column: Array.from(before.slice(lineStart)).length + 1 };
}

/** The SQL a text is written in: PostgreSQL's (Lakebase), or Databricks SQL (a SQL warehouse). */
export type SqlDialect = 'postgres' | 'databricks';

/** Where the text being scanned sits in what the user sees, for messages, and its dialect. */
export interface TextPlacement {
  /** Lines before the text in its cell, e.g. 1 for the body of a `%%lakebase` cell. Default 0. */
  lineOffset?: number;
  /** Default `postgres`. */
  dialect?: SqlDialect;
}

/** SQL text that cannot be split: says where the unclosed quote or comment starts. */
export class SqlTextError extends LakebaseError {
  /** Index (UTF-16) in the scanned text where the unclosed construct starts. */
  readonly index: number;
  /** 1-based line (counting `lineOffset`) and column (in characters) of `index`. */
  readonly line: number;
  readonly column: number;

  constructor(text: string, index: number, what: string, hint: string, placement: TextPlacement) {
    const { line, column } = lineAndColumn(text, index);
    const cellLine = line + (placement.lineOffset ?? 0);
    super(SQL_TEXT_ERRORS.unterminated, `The ${what} that starts at line ${cellLine}, column ${column} is never closed.`, { hint });
    this.index = index;
    this.line = cellLine;
    this.column = column;
  }
}

/**
 * Splits `text` into spans of code, strings, quoted identifiers, dollar quotes and comments.
 * Spans cover the whole text, in order, without gaps. An unterminated string, identifier, dollar
 * quote or block comment is a `SqlTextError` (`SQL_UNTERMINATED`) saying where it starts; with
 * `placement.lineOffset`, its line is the line of the cell.
 */
export function scanSql(text: string, placement: TextPlacement = {}): SqlSpan[] {
  const databricks = placement.dialect === 'databricks';
  const spans: SqlSpan[] = [];
  let codeStart = 0;
  let i = 0;
  const push = (kind: SqlSpanKind, start: number, end: number) => {
    if (codeStart < start) spans.push({ kind: 'code', start: codeStart, end: start });
    spans.push({ kind, start, end });
    codeStart = end;
  };

  while (i < text.length) {
    const char = text[i];
    const next = text[i + 1];
    if (char === '-' && next === '-') {
      const end = lineEnd(text, i + 2);
      push('comment', i, end);
      i = end;
    } else if (char === '/' && next === '*') {
      // Block comments nest in PostgreSQL (unlike the SQL standard's): /* a /* b */ c */ is one.
      let depth = 1;
      let end = i + 2;
      while (end < text.length && depth > 0) {
        if (text[end] === '/' && text[end + 1] === '*') {
          depth++;
          end += 2;
        } else if (text[end] === '*' && text[end + 1] === '/') {
          depth--;
          end += 2;
        } else end++;
      }
      if (depth > 0) throw new SqlTextError(text, i, 'block comment /*', 'Close it with */ (comments nest: every /* needs its own */).', placement);
      push('comment', i, end);
      i = end;
    } else if (databricks && (char === "'" || char === '"')) {
      // r'...' and R"..." are raw: a backslash is an ordinary character there.
      const raw = (text[i - 1] === 'r' || text[i - 1] === 'R') && !isIdentifierChar(text[i - 2]);
      const start = raw && codeStart <= i - 1 ? i - 1 : i;
      let end = i + 1;
      for (;;) {
        if (end >= text.length) {
          throw new SqlTextError(text, start, 'string', `Close it with ${char}. To put a ${char} inside a string, escape it with a backslash: ${char}it\\${char}s${char}.`, placement);
        }
        if (!raw && text[end] === '\\') end += 2;
        else if (text[end] === char) break;
        else end++;
      }
      push('string', start, end + 1);
      i = end + 1;
    } else if (databricks && char === '`') {
      let end = i + 1;
      for (;;) {
        if (end >= text.length) throw new SqlTextError(text, i, 'quoted identifier `', 'Close it with `. To put a ` inside a quoted identifier, double it.', placement);
        if (text[end] === '`' && text[end + 1] === '`') end += 2;
        else if (text[end] === '`') break;
        else end++;
      }
      push('identifier', i, end + 1);
      i = end + 1;
    } else if (char === "'") {
      // An E or e glued to the quote (and not the end of a longer word) makes an escape string.
      const prefixed = (text[i - 1] === 'E' || text[i - 1] === 'e') && !isIdentifierChar(text[i - 2]);
      const start = prefixed && codeStart <= i - 1 ? i - 1 : i;
      const end = quotedEnd(text, i, prefixed);
      if (end < 0) throw new SqlTextError(text, start, 'string', "Close it with '. To put a ' inside a string, double it: 'it''s'.", placement);
      push('string', start, end);
      i = end;
    } else if (char === '"') {
      const end = quotedEnd(text, i, false);
      if (end < 0) throw new SqlTextError(text, i, 'quoted identifier "', 'Close it with ". To put a " inside a quoted identifier, double it.', placement);
      push('identifier', i, end);
      i = end;
    } else if (char === '$' && !isIdentifierChar(text[i - 1]) && dollarTagAt(text, i) !== undefined) {
      const tag = dollarTagAt(text, i)!;
      const end = dollarQuoteEnd(text, i, tag);
      if (end < 0) throw new SqlTextError(text, i, `dollar quote ${tag}`, `Close it with the same ${tag}.`, placement);
      push('dollar-quote', i, end);
      i = end;
    } else {
      i++;
    }
  }
  if (codeStart < text.length) spans.push({ kind: 'code', start: codeStart, end: text.length });
  return spans;
}

/**
 * Tracks, over the code of one statement, whether a `;` ends it. As psql does: not inside
 * parentheses (`CREATE RULE ... DO (INSERT ...; INSERT ...)`), and not inside the BEGIN ... END of
 * an SQL-standard function body (`CREATE [OR REPLACE] FUNCTION|PROCEDURE ... BEGIN ATOMIC ...;
 * ... END`), where CASE ... END nests too.
 */
class StatementEnd {
  #parenDepth = 0;
  #beginDepth = 0;
  #words: string[] = [];

  /** Feeds one word of code (an identifier or keyword, lower-cased). */
  word(word: string): void {
    if (this.#words.length < 4) this.#words.push(word);
    if (!this.#definesRoutine() || this.#parenDepth > 0) return;
    if (word === 'begin') this.#beginDepth++;
    else if (word === 'case' && this.#beginDepth > 0) this.#beginDepth++;
    else if (word === 'end' && this.#beginDepth > 0) this.#beginDepth--;
  }

  open(): void {
    this.#parenDepth++;
  }

  close(): void {
    if (this.#parenDepth > 0) this.#parenDepth--;
  }

  /** True when a `;` here ends the statement. */
  get atTopLevel(): boolean {
    return this.#parenDepth === 0 && this.#beginDepth === 0;
  }

  #definesRoutine(): boolean {
    const [first, second, third, fourth] = this.#words;
    const routine = (word: string | undefined) => word === 'function' || word === 'procedure';
    return first === 'create' && (routine(second) || (second === 'or' && third === 'replace' && routine(fourth)));
  }
}

/**
 * Splits a cell into statements on `;` outside strings, quoted identifiers, dollar quotes,
 * comments, parentheses and `BEGIN ATOMIC ... END` bodies. Statements that hold only whitespace
 * and comments are dropped; a last statement without `;` is kept. Offsets point into `text`.
 */
export function splitStatements(text: string, placement: TextPlacement = {}): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let start = 0;
  let meaningful = false;
  let end = new StatementEnd();

  const finish = (stop: number) => {
    if (meaningful) {
      const raw = text.slice(start, stop);
      const leading = raw.length - raw.trimStart().length;
      const trimmed = raw.trim();
      statements.push({ text: trimmed, start: start + leading, end: start + leading + trimmed.length });
    }
    meaningful = false;
    end = new StatementEnd();
  };

  for (const span of scanSql(text, placement)) {
    if (span.kind === 'comment') continue;
    if (span.kind !== 'code') {
      meaningful = true;
      continue;
    }
    const code = text.slice(span.start, span.end);
    for (const match of code.matchAll(/[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*|[();]/g)) {
      const token = match[0];
      const at = span.start + match.index;
      if (token === '(') end.open();
      else if (token === ')') end.close();
      else if (token === ';') {
        if (end.atTopLevel) {
          if (/\S/.test(text.slice(Math.max(start, span.start), at))) meaningful = true;
          finish(at);
          start = at + 1;
        }
      } else if (!/[0-9$]/.test(text[at - 1] ?? '')) {
        // A word glued to a digit (`1e5`, `$1abc`) is the tail of a number or parameter, not a keyword.
        end.word(token.toLowerCase());
      }
    }
    if (/\S/.test(text.slice(Math.max(start, span.start), span.end))) meaningful = true;
  }
  finish(text.length);
  return statements;
}
