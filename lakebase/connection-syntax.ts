// Where the parts of a connection string are: the user info of a `postgresql://` URL and the
// values of libpq's `key=value` form. `targets.ts` parses connection strings with these readers,
// and the secret redaction (`secrets.ts`) finds passwords in any text with the very same ones, so
// a password the kernel recognises is a password it redacts (issue 12: `u:secret pw@…`,
// `u:p@ssw0rd@…`, `password=semi;secret` were stored in the history in full or in part).
// No imports, so that `secrets.ts` (which `errors.ts` uses) may use it.
//
// Every reader works forward from the index it is given and stops at the end of what it reads,
// so a caller that scans a long text once stays linear in its length.

/** `text.slice(start, end)`. */
export interface TextSpan {
  start: number;
  end: number;
}

/** The user info of a URL, as `urlUserInfo` reads it. */
export interface UrlUserInfo {
  user: TextSpan;
  /** Present when the user info has a `:`. */
  password?: TextSpan;
  /** Where the host starts: just past the `@` that ends the user info. */
  hostStart: number;
  /**
   * The user info holds an `@`, or a `/` before its `@`: libpq would cut it at the first `@` or
   * take the `/` for the start of the path, so such characters must be percent-encoded.
   */
  needsEncoding: boolean;
}

/** A character that ends the host part of a URL (and so any search for the user info's `@`). */
function endsHost(char: string): boolean {
  return char === '/' || char === '?' || char === '#';
}

/**
 * The user info of the URL whose authority starts at `start` (just past `://`) and which ends at
 * `end`; undefined when it has none.
 *
 * libpq reads the user info up to the first `@` that comes before any `/` (fe-connect.c,
 * `conninfo_uri_parse_options`), so `?` and `#` may appear in a password. Two mistakes are common
 * and read here the way that keeps the password whole: an `@` inside the password (the user info
 * then runs to the last `@` before the path), and a `/` inside it, seen when the text between the
 * first `:` and the first `/` is not a port number and an `@` follows (`u:se/cret@host`). Both are
 * flagged with `needsEncoding`: a connection string cannot be read that way, but the password it
 * holds is still a password.
 */
export function urlUserInfo(text: string, start: number, end: number): UrlUserInfo | undefined {
  let at = start;
  while (at < end && text[at] !== '@' && text[at] !== '/') at++;
  if (at < end && text[at] === '@') {
    // Up to the last `@` before the path, query or fragment.
    let last = at;
    for (let i = at + 1; i < end && !endsHost(text[i]); i++) if (text[i] === '@') last = i;
    return credentials(text, start, last, last !== at);
  }
  // No `@` before the first `/`: a password with a `/` in it, or no user info at all.
  const slash = at;
  let colon = start;
  // A bracketed IPv6 host has colons of its own.
  if (text[start] === '[') {
    while (colon < slash && text[colon] !== ']') colon++;
  }
  while (colon < slash && text[colon] !== ':') colon++;
  if (colon >= slash || /^\d*$/.test(text.slice(colon + 1, slash))) return undefined;
  let last = -1;
  for (let i = slash; i < end; i++) {
    if (text[i] === '@') last = i;
    else if (last >= 0 && endsHost(text[i])) break;
  }
  return last < 0 ? undefined : credentials(text, start, last, true);
}

function credentials(text: string, start: number, at: number, needsEncoding: boolean): UrlUserInfo {
  let colon = start;
  while (colon < at && text[colon] !== ':') colon++;
  const info: UrlUserInfo = { user: { start, end: colon }, hostStart: at + 1, needsEncoding };
  if (colon < at) info.password = { start: colon + 1, end: at };
  return info;
}

/** One value of libpq's `key=value` form, as `readKeywordValue` reads it. */
export interface KeywordValue {
  /** The value, quotes removed and backslash escapes applied. */
  value: string;
  /** Where the value's text starts and ends, quotes included. */
  span: TextSpan;
  /** False when a quoted value is never closed (the span then runs to the end). */
  closed: boolean;
}

/**
 * The value that starts at `index` in libpq's keyword/value form: in single quotes (a backslash
 * escapes `'` and `\`), or else up to the next whitespace (a backslash escapes any character).
 * https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-KEYWORD-VALUE
 */
export function readKeywordValue(text: string, index: number): KeywordValue {
  let value = '';
  let i = index;
  if (text[i] === "'") {
    i++;
    while (i < text.length) {
      const char = text[i++];
      if (char === "'") return { value, span: { start: index, end: i }, closed: true };
      value += char === '\\' && i < text.length ? text[i++] : char;
    }
    return { value, span: { start: index, end: i }, closed: false };
  }
  while (i < text.length && !/\s/.test(text[i])) {
    const char = text[i++];
    value += char === '\\' && i < text.length ? text[i++] : char;
  }
  return { value, span: { start: index, end: i }, closed: true };
}
