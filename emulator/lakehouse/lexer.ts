// Tokens of Databricks SQL (Spark SQL as Databricks SQL warehouses read it), for the translator
// (`translate.ts`): the lakehouse runs on PostgreSQL, and the two languages spell some things
// differently. Only what the translation needs is told apart; everything else is an operator or a
// word, passed through as written.
//
// Spark's rules, as they differ from PostgreSQL's (Databricks SQL language manual, "Literals" and
// "Identifiers"):
// - `backticks` quote identifiers (a doubled backtick is one backtick); unquoted names are
//   case-insensitive;
// - '...' AND "..." are string literals (spark.sql.ansi.doubleQuotedIdentifiers is off on
//   warehouses), with backslash escapes (\' \" \\ \n \t \r \b \0 \uXXXX); r'...' is a raw string;
// - comments are `--` to the end of the line and nested `/* ... */`;
// - `:name` is a named parameter marker and `?` a positional one; `::` is a cast.

export type TokenKind =
  /** An unquoted name or keyword. `text` as written; `value` lower-cased. */
  | 'word'
  /** A backtick-quoted identifier; `value` is the name. */
  | 'quoted'
  /** A string literal; `value` is the decoded text. */
  | 'string'
  | 'number'
  /** `:name`; `value` is the name. */
  | 'named-parameter'
  /** `?` */
  | 'positional-parameter'
  /** Punctuation and operators: `(`, `)`, `,`, `.`, `;`, `::`, `<`, `<=`, `=`, ... */
  | 'operator'
  /** Spaces and comments, kept so that the translation keeps the text's shape. */
  | 'trivia';

export interface Token {
  kind: TokenKind;
  /** As written. */
  text: string;
  /** See `TokenKind`. */
  value: string;
  /** Offset of the first character in the statement. */
  start: number;
}

export class LexError extends Error {
  constructor(message: string, readonly position: number) {
    super(message);
  }
}

const OPERATORS = ['::', '<=>', '<=', '>=', '<>', '!=', '==', '||', '->', '=>', '<<', '>>'];

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', b: '\b', '0': '\0', Z: '\x1a' };

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, start: number, value: string) => tokens.push({ kind, text: sql.slice(start, i), value, start });
  while (i < sql.length) {
    const start = i;
    const char = sql[i];
    const next = sql[i + 1];
    if (/\s/.test(char)) {
      while (i < sql.length && /\s/.test(sql[i])) i++;
      push('trivia', start, '');
    } else if (char === '-' && next === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
      push('trivia', start, '');
    } else if (char === '/' && next === '*') {
      let depth = 0;
      while (i < sql.length) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
          if (depth === 0) break;
        } else i++;
      }
      if (depth !== 0) throw new LexError('The comment is not closed: a /* has no */.', start);
      push('trivia', start, '');
    } else if (char === '`') {
      let value = '';
      i++;
      for (;;) {
        if (i >= sql.length) throw new LexError('The quoted identifier is not closed: a ` has no closing `.', start);
        if (sql[i] === '`') {
          if (sql[i + 1] === '`') {
            value += '`';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += sql[i++];
      }
      push('quoted', start, value);
    } else if ((char === 'r' || char === 'R') && (next === "'" || next === '"')) {
      const quote = next;
      const end = sql.indexOf(quote, i + 2);
      if (end < 0) throw new LexError('The string literal is not closed.', start);
      i = end + 1;
      push('string', start, sql.slice(start + 2, end));
    } else if (char === "'" || char === '"') {
      i++;
      let value = '';
      for (;;) {
        if (i >= sql.length) throw new LexError('The string literal is not closed.', start);
        const c = sql[i];
        if (c === '\\' && i + 1 < sql.length) {
          const e = sql[i + 1];
          if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(sql.slice(i + 2, i + 6))) {
            value += String.fromCharCode(Number.parseInt(sql.slice(i + 2, i + 6), 16));
            i += 6;
          } else {
            // \% and \_ keep their backslash (LIKE patterns); other unknown escapes drop it.
            value += ESCAPES[e] ?? (e === '%' || e === '_' ? `\\${e}` : e);
            i += 2;
          }
          continue;
        }
        if (c === char) {
          // SQL-standard doubling also works in Spark: 'it''s'.
          if (sql[i + 1] === char) {
            value += char;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += c;
        i++;
      }
      push('string', start, value);
    } else if (/[0-9]/.test(char) || (char === '.' && /[0-9]/.test(next ?? ''))) {
      while (i < sql.length && /[0-9.]/.test(sql[i])) i++;
      if (/[eE]/.test(sql[i] ?? '') && /[-+0-9]/.test(sql[i + 1] ?? '')) {
        i += 2;
        while (i < sql.length && /[0-9]/.test(sql[i])) i++;
      }
      // Spark's typed numeric suffixes: 1L, 1S, 1Y, 1.5D, 1.5F, 1.5BD.
      const suffix = /^(bd|[lsydf])(?![A-Za-z0-9_])/i.exec(sql.slice(i));
      if (suffix) i += suffix[0].length;
      push('number', start, sql.slice(start, i));
    } else if (/[A-Za-z_]/.test(char)) {
      while (i < sql.length && /[A-Za-z0-9_$]/.test(sql[i])) i++;
      push('word', start, sql.slice(start, i).toLowerCase());
    } else if (char === ':' && /[A-Za-z_]/.test(next ?? '') && !/[:A-Za-z0-9_`]/.test(sql[i - 1] ?? '')) {
      // `name:type` in STRUCT<...> (and Spark's `col:path`) is not a parameter: a marker stands apart.
      i++;
      while (i < sql.length && /[A-Za-z0-9_]/.test(sql[i])) i++;
      push('named-parameter', start, sql.slice(start + 1, i));
    } else if (char === '?') {
      i++;
      push('positional-parameter', start, '?');
    } else {
      const operator = OPERATORS.find((candidate) => sql.startsWith(candidate, i)) ?? char;
      i += operator.length;
      push('operator', start, operator);
    }
  }
  return tokens;
}

/** The tokens that are not trivia. */
export function significant(tokens: readonly Token[]): Token[] {
  return tokens.filter((token) => token.kind !== 'trivia');
}

/** Splits a script at top-level `;` into statements (trivia-only pieces dropped). */
export function splitScript(sql: string): string[] {
  const tokens = tokenize(sql);
  const statements: string[] = [];
  let from = 0;
  for (const token of tokens) {
    if (token.kind === 'operator' && token.value === ';') {
      statements.push(sql.slice(from, token.start));
      from = token.start + 1;
    }
  }
  statements.push(sql.slice(from));
  return statements.filter((statement) => significant(tokenize(statement)).length > 0);
}
