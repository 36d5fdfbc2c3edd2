// Finding secrets in text that is about to be shown, logged or kept (error messages, log lines,
// the kernel's history of cells), and redacting them.
//
// A scanner, not a list of regular expressions: it reads the text once, from left to right, and
// every look-ahead it makes is either consumed or bounded by what it reads, so redaction takes
// time linear in the text's length. The patterns it replaces backtracked: the one for passwords
// in URLs was quadratic on long runs of `[a-z0-9+.-]`, and a 300,000-character string literal
// kept the kernel busy for 88 s before its cell ran (issue 12).
//
// Passwords are found with the readers the kernel parses connection strings and SQL with
// (`connection-syntax.ts`, `sql/literals.ts`), so that what the kernel recognises as a password
// is what it redacts: URL user info (also with `@`, `/`, `#` or spaces in the password), libpq
// `key=value` values with their quoting, SQL `PASSWORD` literals in every string form, plus
// `key: value` pairs (JSON, YAML, object literals), bearer and basic credentials, JWTs and
// Databricks personal access tokens. When in doubt it redacts: an over-redacted log line costs a
// second look, a leaked password costs a rotation.
import { readKeywordValue, urlUserInfo, type TextSpan } from './connection-syntax';
import { stringLiteralAt } from './sql/literals';

/** What a redacted secret is replaced with. */
export const REDACTED = '[REDACTED]';

/**
 * Names whose values are secrets, in `name=value`, `name: value` and JSON text, lower case. A
 * longer name ending in one of them counts too, after `_`, `-`, `.` or at a camelCase hump
 * (`DB_PASSWORD`, `x-api-key`, `config.password`, `clientSecret`).
 */
const SECRET_NAMES: readonly string[] = [
  'password', 'passwd', 'pwd', 'pgpassword', 'token', 'access_token', 'refresh_token', 'id_token',
  'client_secret', 'secret', 'api_key', 'apikey', 'api-key', 'databricks_token', 'databricks_client_secret',
];

/** Characters of a "word" for the scanner: names, URL schemes, base64url tokens, dotted paths. */
function isWordChar(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x5f || // _
    code === 0x2d || // -
    code === 0x2e || // .
    code === 0x2b // +
  );
}

/** `\w` of regular expressions: what a word boundary is measured against. */
function isRegexWordChar(char: string | undefined): boolean {
  return char !== undefined && /^[A-Za-z0-9_]$/.test(char);
}

function isBase64UrlChar(char: string | undefined): boolean {
  return char !== undefined && /^[A-Za-z0-9_-]$/.test(char);
}

function isSpace(char: string | undefined): boolean {
  return char !== undefined && /^\s$/.test(char);
}

const QUOTES = '\'"`';

/** The last letters of SECRET_NAMES: most words end otherwise and are passed over at once. */
const LAST_LETTERS = new Set(SECRET_NAMES.map((name) => name[name.length - 1]));

/** Whether `word` names a secret: one of SECRET_NAMES, or a longer name ending in one. */
export function isSecretName(word: string): boolean {
  if (word.length < 3 || !LAST_LETTERS.has(word[word.length - 1].toLowerCase())) return false;
  const lower = word.toLowerCase();
  for (const name of SECRET_NAMES) {
    if (!lower.endsWith(name)) continue;
    const start = word.length - name.length;
    if (start === 0) return true;
    const before = word[start - 1];
    if (before === '_' || before === '-' || before === '.') return true;
    // camelCase: `clientSecret`, `dbPassword`.
    if (/[a-z0-9]/.test(before) && /[A-Z]/.test(word[start])) return true;
  }
  return false;
}

/**
 * The spans of `text` that hold secrets, in order and without overlaps. Quotes and delimiters
 * around a secret stay outside its span, so `password='x'` becomes `password='[REDACTED]'`.
 */
export function findSecrets(text: string): TextSpan[] {
  const spans: TextSpan[] = [];
  const add = (start: number, end: number) => {
    if (end > start) spans.push({ start, end });
  };
  let i = 0;
  while (i < text.length) {
    if (!isWordChar(text.charCodeAt(i))) {
      i++;
      continue;
    }
    let end = i + 1;
    while (end < text.length && isWordChar(text.charCodeAt(end))) end++;
    i = scanWord(text, i, end, add);
  }
  return spans;
}

/** Looks at the word `text[start, end)` and what follows it; returns where scanning goes on. */
function scanWord(text: string, start: number, end: number, add: (start: number, end: number) => void): number {
  if (text.startsWith('://', end)) return scanUrl(text, start, end + 3, add);
  const word = text.slice(start, end);
  const pair = scanPair(text, start, end, word, add);
  if (pair !== undefined) return pair;
  if (word.length === 8 && word.toLowerCase() === 'password') {
    const literal = scanPasswordLiteral(text, end, add);
    if (literal !== undefined) return literal;
  }
  // Case as HTTP clients write them; "basic" in prose is left alone.
  if (word === 'Bearer' || word === 'Basic') {
    const credential = scanAuthorization(text, end, add);
    if (credential !== undefined) return credential;
  }
  scanTokens(word, start, add);
  return end;
}

/**
 * A URL whose scheme ends at `authority - 3`: its user info's password, and the values of secret
 * query parameters. Inside quotes, the URL runs to the closing quote (a password may hold spaces
 * there, as in `%lakebase connect 'postgresql://u:secret pw@host'`); otherwise to whitespace.
 */
function scanUrl(text: string, schemeStart: number, authority: number, add: (start: number, end: number) => void): number {
  const quote = QUOTES.includes(text[schemeStart - 1] ?? '') ? text[schemeStart - 1] : undefined;
  let end = authority;
  if (quote !== undefined) {
    while (end < text.length && text[end] !== quote && text[end] !== '\n' && text[end] !== '\r') end++;
  } else {
    while (end < text.length && !isSpace(text[end]) && !QUOTES.includes(text[end])) end++;
  }
  const credentials = urlUserInfo(text, authority, end);
  if (credentials?.password !== undefined) add(credentials.password.start, credentials.password.end);
  // `?sslmode=require&password=x#top`: pairs split on `&` up to the fragment, as the URL parser does.
  let query = credentials?.hostStart ?? authority;
  while (query < end && text[query] !== '?' && text[query] !== '#') query++;
  if (text[query] === '?') {
    let pair = query + 1;
    while (pair < end && text[pair] !== '#') {
      let pairEnd = pair;
      while (pairEnd < end && text[pairEnd] !== '&' && text[pairEnd] !== '#') pairEnd++;
      let equals = pair;
      while (equals < pairEnd && text[equals] !== '=') equals++;
      if (equals < pairEnd && isSecretName(text.slice(pair, equals))) add(equals + 1, pairEnd);
      pair = text[pairEnd] === '&' ? pairEnd + 1 : pairEnd;
    }
  }
  return end;
}

/**
 * `name=value` (libpq, environment variables, query strings) or `name: value` (JSON, YAML, object
 * literals) where the name is a secret's; undefined when the word is not such a name.
 */
function scanPair(text: string, start: number, end: number, word: string, add: (start: number, end: number) => void): number | undefined {
  // `PGPASSWORD` is one word; `config.password` and `process.env.PGPASSWORD` end in one.
  const name = word.slice(word.lastIndexOf('.') + 1);
  if (!isSecretName(name)) return undefined;
  let i = end;
  // The closing quote of a quoted name: "password": "x".
  if ((text[i] === '"' || text[i] === "'") && text[start - 1] === text[i]) i++;
  while (text[i] === ' ' || text[i] === '\t') i++;
  const separator = text[i];
  if (separator === '=') {
    // `==` and `=>` compare and map; they do not assign.
    if (text[i + 1] === '=' || text[i + 1] === '>') return undefined;
  } else if (separator === ':') {
    if (text[i + 1] === ':' || text[i + 1] === '=') return undefined;
  } else {
    return undefined;
  }
  i++;
  while (text[i] === ' ' || text[i] === '\t') i++;
  const first = text[i];
  if (first === undefined || first === '\n' || first === '\r') return i;
  if (separator === '=' && first === "'") {
    // libpq's quoted value, read by libpq's reader.
    const { span, closed } = readKeywordValue(text, i);
    if (closed) {
      add(span.start + 1, span.end - 1);
      return span.end;
    }
    return redactToLineEnd(text, i + 1, add);
  }
  if (QUOTES.includes(first)) return scanQuotedValue(text, i, add);
  if (first === '\\' && QUOTES.includes(text[i + 1] ?? '')) return scanEscapedQuotes(text, i, add);
  if (separator === '=') {
    // libpq's unquoted value: up to whitespace, so `password=semi;secret` is redacted whole.
    const { span } = readKeywordValue(text, i);
    add(span.start, span.end);
    return span.end;
  }
  let valueEnd = i;
  while (valueEnd < text.length && !isSpace(text[valueEnd]) && !',;})]'.includes(text[valueEnd])) valueEnd++;
  add(i, valueEnd);
  return valueEnd;
}

/**
 * A quoted value at `quote`, as JSON and JavaScript write them: `"..."`, `'...'`, `` `...` ``, with
 * backslash escapes. Only a template literal spans lines; a quote never closed runs to the line's end.
 */
function scanQuotedValue(text: string, quote: number, add: (start: number, end: number) => void): number {
  const close = text[quote];
  let i = quote + 1;
  while (i < text.length && text[i] !== close) {
    if (close !== '`' && (text[i] === '\n' || text[i] === '\r')) break;
    i += text[i] === '\\' ? 2 : 1;
  }
  const contentEnd = Math.min(i, text.length);
  add(quote + 1, contentEnd);
  return text[contentEnd] === close ? contentEnd + 1 : contentEnd;
}

/**
 * A value quoted with escaped quotes, inside another quoted string: `"password=\\"se cret\\""` in
 * JSON, a shell word or a magic line. It runs to the same escaped quote, or to the line's end.
 */
function scanEscapedQuotes(text: string, backslash: number, add: (start: number, end: number) => void): number {
  const close = `\\${text[backslash + 1]}`;
  let end = backslash + 2;
  while (end < text.length && !text.startsWith(close, end) && text[end] !== '\n' && text[end] !== '\r') end++;
  add(backslash + 2, end);
  return text.startsWith(close, end) ? end + 2 : end;
}

/** Redacts from `start` to the end of its line; returns that end. */
function redactToLineEnd(text: string, start: number, add: (start: number, end: number) => void): number {
  let end = start;
  while (end < text.length && text[end] !== '\n' && text[end] !== '\r') end++;
  add(start, end);
  return end;
}

/**
 * SQL that sets a password: `PASSWORD` followed (after whitespace and comments) by a string
 * constant in any form (`'...'`, `E'...'`, `U&'...'`, `$$...$$`, `$tag$...$tag$`), and the
 * constants that continue it on the next lines (`'abc'\n'def'` is one string in SQL). The literal
 * is read by the lexer's own reader; a literal never closed is redacted to the end of the text.
 */
function scanPasswordLiteral(text: string, after: number, add: (start: number, end: number) => void): number | undefined {
  let i = skipSqlSpace(text, after);
  let literal = stringLiteralAt(text, i);
  if (literal === undefined) return undefined;
  for (;;) {
    if (literal.closed) {
      add(literal.contentStart, literal.contentEnd);
      i = literal.end;
    } else {
      // In SQL an unclosed string runs to the end of the text, and so does the redaction.
      add(literal.contentStart, text.length);
      return text.length;
    }
    // SQL joins string constants separated by whitespace with at least one newline.
    let next = i;
    while (isSpace(text[next]) && text[next] !== '\n') next++;
    if (text[next] !== '\n') return i;
    while (isSpace(text[next])) next++;
    const continued = text[next] === "'" ? stringLiteralAt(text, next) : undefined;
    if (continued === undefined) return i;
    literal = continued;
  }
}

/**
 * How far after `PASSWORD` its literal may start, past whitespace and comments. Bounded, so that
 * a text made of `PASSWORD --` over and over is still read in linear time.
 */
const PASSWORD_LOOKAHEAD = 256;

/** Past whitespace and SQL comments (`-- ...`, `/* ... *\/`) from `index`, looking no further than PASSWORD_LOOKAHEAD. */
function skipSqlSpace(text: string, index: number): number {
  const limit = Math.min(text.length, index + PASSWORD_LOOKAHEAD);
  let i = index;
  while (i < limit) {
    if (isSpace(text[i])) i++;
    else if (text[i] === '-' && text[i + 1] === '-') {
      while (i < limit && text[i] !== '\n') i++;
    } else if (text[i] === '/' && text[i + 1] === '*') {
      const close = text.slice(i + 2, limit).indexOf('*/');
      i = close < 0 ? limit : i + 2 + close + 2;
    } else {
      return i;
    }
  }
  return i;
}

/** `Bearer <token>` or `Basic <base64>`: the credential after the scheme, at least 8 characters. */
function scanAuthorization(text: string, after: number, add: (start: number, end: number) => void): number | undefined {
  let i = after;
  if (!isSpace(text[i])) return undefined;
  while (text[i] === ' ' || text[i] === '\t') i++;
  let end = i;
  while (end < text.length && /[A-Za-z0-9\-._~+/]/.test(text[end])) end++;
  if (end - i < 8) return undefined;
  while (text[end] === '=') end++;
  add(i, end);
  return end;
}

/**
 * Tokens inside one word: JSON Web Tokens (Lakebase database credentials and OAuth access tokens
 * are JWTs: `eyJ...` `.` `...` `.` `...`) and Databricks personal access tokens (`dapi` and 32 hex
 * digits), each starting at a word boundary.
 */
function scanTokens(word: string, offset: number, add: (start: number, end: number) => void): void {
  for (let at = word.indexOf('eyJ'); at >= 0; ) {
    // The first segment: any `eyJ` inside it would end at the same place, so none is tried twice.
    let first = at + 3;
    while (isBase64UrlChar(word[first])) first++;
    if (!isRegexWordChar(word[at - 1]) && word[first] === '.' && isBase64UrlChar(word[first + 1])) {
      let second = first + 1;
      while (isBase64UrlChar(word[second])) second++;
      if (word[second] === '.') {
        let third = second + 1;
        while (isBase64UrlChar(word[third])) third++;
        add(offset + at, offset + third);
        first = third;
      }
    }
    at = word.indexOf('eyJ', Math.max(first, at + 1));
  }
  for (let at = word.indexOf('dapi'); at >= 0; at = word.indexOf('dapi', at + 4)) {
    if (isRegexWordChar(word[at - 1]) || !lowerHexRun(word, at + 4, 32)) continue;
    // An optional `-<digits>` suffix (a token's number), then a word boundary.
    let end = at + 36;
    if (word[end] === '-' && /[0-9]/.test(word[end + 1] ?? '')) {
      let suffixed = end + 1;
      while (/[0-9]/.test(word[suffixed] ?? '')) suffixed++;
      if (!isRegexWordChar(word[suffixed])) end = suffixed;
    }
    if (isRegexWordChar(word[end])) continue;
    add(offset + at, offset + end);
  }
}

/** Whether `count` lower-case hex digits start at `start`. */
function lowerHexRun(text: string, start: number, count: number): boolean {
  if (start + count > text.length) return false;
  for (let i = start; i < start + count; i++) {
    const code = text.charCodeAt(i);
    if (!((code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x66))) return false;
  }
  return true;
}

/**
 * `text` with every secret `findSecrets` finds, and every exact value in `knownSecrets` (e.g. the
 * token a refresher holds), replaced by `[REDACTED]`. Use it on any text that may reach an
 * output, a log or a file.
 */
export function redactSecrets(text: string, knownSecrets: Iterable<string> = []): string {
  let known = text;
  for (const secret of knownSecrets) {
    // Very short values would redact ordinary words; a real secret is never that short.
    if (secret.length >= 4) known = known.split(secret).join(REDACTED);
  }
  return redactWithPositions(known).text;
}

/** Redacted text, and where an index of the original text lands in it. */
export interface RedactedText {
  text: string;
  /** The index in `text` of the character at `index` in the original (a secret's start, for one inside it). */
  positionOf(index: number): number;
}

/**
 * `redactSecrets` for text that something points into, such as the caret under a server error's
 * position: the caret then lands on the same character, or on `[REDACTED]` when it pointed into a
 * secret. (Known secrets are not taken here; the caret's text is the user's own SQL.)
 */
export function redactWithPositions(text: string): RedactedText {
  const spans = findSecrets(text);
  if (spans.length === 0) return { text, positionOf: (index) => index };
  const parts: string[] = [];
  let copied = 0;
  for (const { start, end } of spans) {
    parts.push(text.slice(copied, start), REDACTED);
    copied = end;
  }
  parts.push(text.slice(copied));
  return {
    text: parts.join(''),
    positionOf(index) {
      let shift = 0;
      for (const { start, end } of spans) {
        if (index < start) break;
        if (index < end) return start + shift;
        shift += REDACTED.length - (end - start);
      }
      return index + shift;
    },
  };
}
