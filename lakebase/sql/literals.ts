// Where PostgreSQL's quoted things end: strings in all their forms ('...', E'...', U&'...', N'...',
// B'...', X'...'), dollar quotes and quoted identifiers. The lexer (`lexer.ts`) splits cells with
// these, and the secret redaction (`../secrets.ts`) finds the literal after a `PASSWORD` keyword
// with the very same readers, so the two cannot disagree about where a password ends (issue 12:
// `PASSWORD E'...'` was redacted only in part). No imports, so that both may use it.
//
// Lexical rules: PostgreSQL manual, "SQL Syntax → Lexical Structure" (4.1). Every function here
// reads forward from the index it is given and never further than the construct it reads, so a
// caller that scans a text once stays linear in its length.

/**
 * Characters that continue an identifier or keyword (manual 4.1.1: letters, digits, `_`, `$`,
 * and any non-ASCII letter). A `$` or `'` right after one of these is part of the word, not the
 * start of a dollar quote or an escape string.
 */
export function isIdentifierChar(char: string | undefined): boolean {
  return char !== undefined && /^[A-Za-z0-9_$\u0080-\uffff]$/.test(char);
}

/** A dollar-quote opener at `index`: `$$` or `$tag$` with a tag that cannot start with a digit. */
export function dollarTagAt(text: string, index: number): string | undefined {
  if (text[index] !== '$') return undefined;
  const match = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(text.slice(index, index + 256));
  return match?.[0];
}

/** Just past the `tag` that closes the dollar quote opened at `index`; -1 when it is never closed. */
export function dollarQuoteEnd(text: string, index: number, tag: string): number {
  const close = text.indexOf(tag, index + tag.length);
  return close < 0 ? -1 : close + tag.length;
}

/**
 * Just past the quote that closes the quoted text opened by the quote character at `index` (`'`
 * or `"`); a doubled quote stands for one and does not close it. With `backslashEscapes` (E'...'
 * strings) a backslash escapes the next character. -1 when it is never closed.
 */
export function quotedEnd(text: string, index: number, backslashEscapes: boolean): number {
  const quote = text[index];
  // From quote to quote with indexOf (a pasted literal of megabytes is read at memchr speed).
  for (let at = text.indexOf(quote, index + 1); at >= 0; at = text.indexOf(quote, at + 1)) {
    if (backslashEscapes) {
      // Escaped by an odd run of backslashes before it (an even run is escaped backslashes).
      let backslashes = 0;
      while (text[at - 1 - backslashes] === '\\' && at - 1 - backslashes > index) backslashes++;
      if (backslashes % 2 === 1) continue;
    }
    if (text[at + 1] === quote) {
      at++;
      continue;
    }
    return at + 1;
  }
  return -1;
}

/** Where the line that `index` is on ends: its `\n` or lone `\r`, or the text's end. */
export function lineEnd(text: string, index: number): number {
  const newline = text.indexOf('\n', index);
  const end = newline < 0 ? text.length : newline;
  // A `\r` before it (a `\r\n`, or an old Mac line end) ends the line there; looked for only
  // up to the `\n`, so that a text without any `\r` is not searched to its end for each line.
  const carriageReturn = text.slice(index, end).indexOf('\r');
  return carriageReturn < 0 ? end : index + carriageReturn;
}

/** A string constant found by `stringLiteralAt`. */
export interface StringLiteral {
  /** Where its content starts: past the prefix and the opening quote or tag. */
  contentStart: number;
  /** Where its content ends: the closing quote or tag (the text's end when never closed). */
  contentEnd: number;
  /** Just past the closing quote or tag (the text's end when never closed). */
  end: number;
  closed: boolean;
}

/**
 * The string constant that starts at `index`, in any of its forms: `'...'`, `E'...'` (backslash
 * escapes), `U&'...'`, `N'...'`, `B'...'`, `X'...'`, `$$...$$` or `$tag$...$tag$`; undefined when
 * none starts there. Prefixes are matched in either case, as PostgreSQL does.
 */
export function stringLiteralAt(text: string, index: number): StringLiteral | undefined {
  const char = text[index];
  if (char === '$') {
    const tag = dollarTagAt(text, index);
    if (tag === undefined) return undefined;
    const end = dollarQuoteEnd(text, index, tag);
    const contentStart = index + tag.length;
    return end < 0
      ? { contentStart, contentEnd: text.length, end: text.length, closed: false }
      : { contentStart, contentEnd: end - tag.length, end, closed: true };
  }
  let quote = index;
  if (char === 'U' || char === 'u') {
    if (text[index + 1] !== '&' || text[index + 2] !== "'") return undefined;
    quote = index + 2;
  } else if (char !== undefined && "EeNnBbXx".includes(char) && text[index + 1] === "'") {
    quote = index + 1;
  } else if (char !== "'") {
    return undefined;
  }
  const escapes = char === 'E' || char === 'e';
  const end = quotedEnd(text, quote, escapes);
  return end < 0
    ? { contentStart: quote + 1, contentEnd: text.length, end: text.length, closed: false }
    : { contentStart: quote + 1, contentEnd: end - 1, end, closed: true };
}
