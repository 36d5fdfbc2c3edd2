// Text from clients in the emulator's log. The log is one line per event, each starting with the
// emulator's timestamp; a value a client chose (a startup user name, a request path) must not be
// able to end that line and start a forged one, nor move a terminal's cursor when the log is read
// with `cat` (issue 12: a login as user "x\nFAKE LOG LINE" wrote a line of its own, unauthenticated).
// No imports: the instance servers (`postgres/`) use it too.

/**
 * Characters that end a line or change how the rest of it shows: C0 controls but tab, DEL, C1
 * controls (U+0085 is a line end to some readers), the Unicode line and paragraph separators, and
 * the bidirectional overrides and isolates (which can make a line read differently than it is).
 */
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r' };

function escapeCharacter(char: string): string {
  return NAMED[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** `text` with every unsafe character written as an escape (`\n`, `\u2028`): always one line. */
export function escapeLogText(text: string): string {
  return text.replace(UNSAFE, escapeCharacter);
}

/**
 * A client-supplied value for a log line: in double quotes, with JSON's escapes and the unsafe
 * characters above escaped too, so where it starts and ends is plain (`login of "x\nFAKE" refused`).
 */
export function quoteForLog(value: string): string {
  return escapeLogText(JSON.stringify(value));
}
