// The error family of the core library. Every layer throws these and renders them in one place
// (`describeError`), so a user sees the same clear lines whether an error came from SQL, from the
// workspace API or from the kernel: what went wrong, what to do, and the code to search for. Only
// errors we do not know keep their stack, because only those are bugs.
import { redactSecrets, redactWithPositions } from './secrets';
import { displayWidth, graphemeWidths } from './sql/display-width';

export interface LakebaseErrorOptions {
  /** What the user can do about it, shown on its own `HINT:` line. */
  hint?: string;
  /** The error this one explains (kept for debugging; its message is shown redacted). */
  cause?: unknown;
}

/**
 * An error the user can act on. `code` is stable (tests, docs and callers match on it);
 * `message` says what happened in the user's words; `hint` says what to do next.
 * Message and hint are passed through `redactSecrets` so that no password or token reaches an
 * output, a log or `toString`, whatever the caller put in them.
 */
export class LakebaseError extends Error {
  readonly code: string;
  // `declare`: no own property unless set, so `inspect` shows only what is there.
  declare readonly hint?: string;

  constructor(code: string, message: string, options: LakebaseErrorOptions = {}) {
    super(redactSecrets(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.hint !== undefined) this.hint = redactSecrets(options.hint);
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/** Error codes raised by the SQL text functions of this library (`lakebase/sql/`). */
export const SQL_TEXT_ERRORS = {
  /** A quote, quoted identifier, dollar quote or block comment is never closed. */
  unterminated: 'SQL_UNTERMINATED',
  /** `:name` names no TypeScript variable. */
  parameterUndefined: 'PARAMETER_UNDEFINED',
  /** A parameter's value cannot be sent to PostgreSQL (a function, a symbol, ...). */
  parameterUnsupported: 'PARAMETER_UNSUPPORTED_VALUE',
  /** A statement mixes `:name` parameters with its own `$1` placeholders. */
  parameterMixed: 'PARAMETER_MIXED',
} as const;

// ---------------------------------------------------------------------------------------------
// Server errors

/** The fields of a PostgreSQL ErrorResponse, as node-postgres' `DatabaseError` exposes them. */
export interface ServerErrorFields {
  /** SQLSTATE, e.g. `42703` (undefined_column). */
  sqlState: string;
  /** `ERROR`, `FATAL` or `PANIC` (not localized). */
  severity: string;
  message: string;
  detail?: string;
  hint?: string;
  /** 1-based character (not byte) position in the statement, when the server reports one. */
  position?: number;
  /** Position in `internalQuery`, a statement generated inside the server (PL/pgSQL, SQL functions). */
  internalPosition?: number;
  internalQuery?: string;
  /** The call stack inside the server (psql's `CONTEXT:`). */
  where?: string;
  schema?: string;
  table?: string;
  column?: string;
  dataType?: string;
  constraint?: string;
}

/**
 * Where a statement came from, so that the caret and `LINE n` point into what the user typed (the
 * whole cell) rather than into the text sent to the server (one statement, `:name` rewritten to `$n`).
 */
export interface StatementSource {
  /** The text the user wrote, e.g. the body of a `%%lakebase` cell. */
  text: string;
  /** Index (UTF-16) in `text` where the statement starts (`splitStatements(...)[i].start`). */
  start: number;
  /**
   * Maps an index (UTF-16) in the sent statement to the index in the statement as the user wrote
   * it, when the two differ (`bindParameters(...).sourceIndex`). Identity when absent.
   */
  sourceIndex?: (sentIndex: number) => number;
}

/** Matches node-postgres' `DatabaseError` without importing `pg` (a second copy of pg would not be `instanceof`). */
export function isDatabaseError(value: unknown): value is Error & Record<string, unknown> {
  if (!(value instanceof Error)) return false;
  const fields = value as unknown as Record<string, unknown>;
  return typeof fields.severity === 'string' && typeof fields.code === 'string' && /^[0-9A-Z]{5}$/.test(fields.code);
}

function optionalText(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function optionalPosition(value: unknown): number | undefined {
  const position = typeof value === 'string' ? Number.parseInt(value, 10) : value;
  return typeof position === 'number' && Number.isInteger(position) && position > 0 ? position : undefined;
}

/**
 * A statement failed on the server. Keeps every field of the ErrorResponse and the statement, so
 * that `formatSqlError` can print what psql prints, with the caret under the failing character.
 * `code` is always `SQL_ERROR`; the SQLSTATE is `sqlState` (match on that for specific errors).
 */
export class SqlError extends LakebaseError implements ServerErrorFields {
  readonly sqlState: string;
  readonly severity: string;
  declare readonly detail?: string;
  declare readonly position?: number;
  declare readonly internalPosition?: number;
  declare readonly internalQuery?: string;
  declare readonly where?: string;
  declare readonly schema?: string;
  declare readonly table?: string;
  declare readonly column?: string;
  declare readonly dataType?: string;
  declare readonly constraint?: string;
  /** The statement as sent to the server; `position` counts characters in it. */
  declare readonly statement?: string;
  /** What the user typed, when known: carets then point into it. */
  declare readonly source?: StatementSource;

  constructor(
    fields: ServerErrorFields,
    options: { statement?: string; source?: StatementSource; cause?: unknown } = {},
  ) {
    super('SQL_ERROR', fields.message, { hint: fields.hint, cause: options.cause });
    this.sqlState = fields.sqlState;
    this.severity = fields.severity;
    // Optional fields are only set when present, so that `inspect` shows what the server sent.
    const optional = {
      detail: fields.detail === undefined ? undefined : redactSecrets(fields.detail),
      position: fields.position,
      internalPosition: fields.internalPosition,
      internalQuery: fields.internalQuery,
      where: fields.where,
      schema: fields.schema,
      table: fields.table,
      column: fields.column,
      dataType: fields.dataType,
      constraint: fields.constraint,
      statement: options.statement,
      source: options.source,
    };
    for (const [key, value] of Object.entries(optional)) {
      if (value !== undefined) Object.defineProperty(this, key, { value, enumerable: true });
    }
  }

  /** Wraps a node-postgres `DatabaseError` (the `cause`), with the statement that was sent. */
  static fromDatabaseError(error: Error, statement?: string): SqlError {
    const fields = error as unknown as Record<string, unknown>;
    return new SqlError(
      {
        sqlState: String(fields.code),
        severity: optionalText(fields.severity) ?? 'ERROR',
        message: error.message,
        detail: optionalText(fields.detail),
        hint: optionalText(fields.hint),
        position: optionalPosition(fields.position),
        internalPosition: optionalPosition(fields.internalPosition),
        internalQuery: optionalText(fields.internalQuery),
        where: optionalText(fields.where),
        schema: optionalText(fields.schema),
        table: optionalText(fields.table),
        column: optionalText(fields.column),
        dataType: optionalText(fields.dataType),
        constraint: optionalText(fields.constraint),
      },
      { statement, cause: error },
    );
  }

  /** The same error, pointing into what the user typed (see `StatementSource`). */
  withSource(source: StatementSource): SqlError {
    const located = new SqlError(this, { statement: this.statement, source, cause: this.cause });
    if (this.stack !== undefined) located.stack = this.stack;
    return located;
  }
}

// ---------------------------------------------------------------------------------------------
// Formatting, as psql prints errors (libpq `pqBuildErrorMessage3` and `reportErrorPosition`)

/** libpq shows at most about this many columns of the failing line around the caret. */
const CARET_LINE_WIDTH = 60;
/** ... and keeps at least this many columns to the right of the caret when it cuts. */
const CARET_RIGHT_MARGIN = 10;

/** Index (UTF-16) of the `characters`-th code point of `text`, for PostgreSQL's character positions. */
export function indexOfCharacter(text: string, characters: number): number {
  let index = 0;
  for (let counted = 0; counted < characters && index < text.length; counted++) {
    index += text.codePointAt(index)! > 0xffff ? 2 : 1;
  }
  return index;
}

/**
 * `LINE n: <line>` and a caret line under the character at `index` (UTF-16, 0-based) of `text`.
 * Tabs are shown as one space so the caret does not depend on tab stops (as libpq does); wide
 * characters count two columns, combining marks none. Long lines are cut around the caret with
 * `...`, keeping about 60 columns as libpq does.
 */
export function caretLines(text: string, index: number): [string, string] {
  const at = Math.max(0, Math.min(index, text.length));
  let lineStart = 0;
  let lineNumber = 1;
  for (let i = 0; i < at; i++) {
    const char = text[i];
    // "\r\n" is one line break (counted at its "\n"); a lone "\r" is one too.
    if (char === '\n' || (char === '\r' && text[i + 1] !== '\n')) {
      lineNumber++;
      lineStart = i + 1;
    }
  }
  let lineEnd = at;
  while (lineEnd < text.length && text[lineEnd] !== '\n' && text[lineEnd] !== '\r') lineEnd++;

  // Columns of each grapheme of the line; the caret sits at the column of the one holding `at`.
  // Graphemes, not code points: "❤️" (a heart and an emoji selector) is one picture two columns
  // wide. libpq counts zero-width code points as one column, which puts its caret one column too
  // far right after a combining accent; here it lands under the failing character.
  const chars: { text: string; column: number }[] = [];
  let column = 0;
  let caretColumn = -1;
  let graphemeStart = lineStart;
  for (const { grapheme, width } of graphemeWidths(text.slice(lineStart, lineEnd))) {
    if (caretColumn < 0 && at < graphemeStart + grapheme.length) caretColumn = column;
    // Tabs as one space, other control characters as one column, as libpq shows them.
    const shown = grapheme === '\t' ? ' ' : grapheme;
    const shownWidth = /^[\u0000-\u001f\u007f]$/.test(grapheme) ? 1 : width;
    chars.push({ text: shown, column });
    column += shownWidth;
    graphemeStart += grapheme.length;
  }
  if (caretColumn < 0) caretColumn = column; // at the end of the line (e.g. "syntax error at end of input")

  let first = 0;
  let last = chars.length; // exclusive
  let cutLeft = false;
  let cutRight = false;
  const widthOf = (from: number, to: number) =>
    (to < chars.length ? chars[to].column : column) - (from < chars.length ? chars[from].column : column);
  if (widthOf(first, last) > CARET_LINE_WIDTH) {
    if (CARET_LINE_WIDTH >= caretColumn + CARET_RIGHT_MARGIN) {
      while (widthOf(first, last) > CARET_LINE_WIDTH) last--;
      cutRight = true;
    } else {
      while (last > 0 && caretColumn + CARET_RIGHT_MARGIN < widthOf(0, last)) {
        last--;
        cutRight = true;
      }
      while (widthOf(first, last) > CARET_LINE_WIDTH) {
        first++;
        cutLeft = true;
      }
    }
  }
  const prefix = `LINE ${lineNumber}: ${cutLeft ? '...' : ''}`;
  const shownLine = chars.slice(first, last).map((char) => char.text).join('');
  const offset = displayWidth(prefix) + caretColumn - widthOf(0, first);
  return [`${prefix}${shownLine}${cutRight ? '...' : ''}`, `${' '.repeat(offset)}^`];
}

/** Where the caret goes: in the user's source when known, else in the statement as sent. */
function errorLocation(error: SqlError): { text: string; index: number } | undefined {
  if (error.position !== undefined && error.statement !== undefined) {
    const sentIndex = indexOfCharacter(error.statement, error.position - 1);
    const source = error.source;
    if (source === undefined) return { text: error.statement, index: sentIndex };
    const statementIndex = source.sourceIndex ? source.sourceIndex(sentIndex) : sentIndex;
    return { text: source.text, index: source.start + statementIndex };
  }
  if (error.internalPosition !== undefined && error.internalQuery !== undefined) {
    return { text: error.internalQuery, index: indexOfCharacter(error.internalQuery, error.internalPosition - 1) };
  }
  return undefined;
}

/**
 * The lines psql prints for a server error (default verbosity), plus the SQLSTATE:
 * `ERROR:  message`, `LINE n: ...` with a caret under the failing character, `DETAIL:`, `HINT:`,
 * `QUERY:`, `CONTEXT:`, `SQLSTATE: xxxxx`. Without the statement text, the position is told as
 * psql does then: `at character N`.
 */
export function formatSqlError(error: SqlError): string[] {
  const location = errorLocation(error);
  let first = `${error.severity}:  ${error.message}`;
  if (location === undefined && error.position !== undefined) first += ` at character ${error.position}`;
  const lines = [first];
  if (location !== undefined) {
    // Redacted before the line is cut around the caret: a cut could leave half a PASSWORD literal
    // without the keyword that marks it (issue 12).
    const redacted = redactWithPositions(location.text);
    lines.push(...caretLines(redacted.text, redacted.positionOf(location.index)));
  }
  if (error.detail !== undefined) lines.push(...labelled('DETAIL', error.detail));
  if (error.hint !== undefined) lines.push(...labelled('HINT', error.hint));
  if (error.internalQuery !== undefined) lines.push(...labelled('QUERY', error.internalQuery));
  if (error.where !== undefined) lines.push(...labelled('CONTEXT', error.where));
  lines.push(`SQLSTATE: ${error.sqlState}`);
  return lines;
}

/** `LABEL:  text`, a multi-line text split into lines as psql prints it. */
function labelled(label: string, text: string): string[] {
  return `${label}:  ${text}`.split(/\r?\n/);
}

// ---------------------------------------------------------------------------------------------
// One way to show any error

export interface ErrorDescription {
  /** Class name, e.g. `SqlError` (Jupyter's `ename`). */
  name: string;
  /** Stable code: `SQL_ERROR`, `PARAMETER_UNDEFINED`, a Node code such as `ECONNREFUSED`, or `UNKNOWN`. */
  code: string;
  /** One line for the user (Jupyter's `evalue`), secrets redacted. */
  message: string;
  /** What to show, one entry per line (Jupyter's `traceback`), secrets redacted. */
  lines: string[];
  /** True for our own errors and server errors: they are explained, not bugs, so no stack. */
  known: boolean;
}

function causeMessage(cause: unknown): string | undefined {
  if (cause instanceof Error) return cause.message === '' ? cause.name : `${cause.message}`;
  if (cause === undefined || cause === null) return undefined;
  return String(cause);
}

/**
 * Renders any thrown value for the user. Known errors (`LakebaseError`, `SqlError`, and a bare
 * node-postgres `DatabaseError`) become clear lines without a stack; anything else keeps its
 * stack, since it is a bug to report. Everything passes through `redactSecrets`.
 */
export function describeError(error: unknown): ErrorDescription {
  if (isDatabaseError(error) && !(error instanceof LakebaseError)) {
    return describeError(SqlError.fromDatabaseError(error));
  }
  if (error instanceof SqlError) {
    return {
      name: error.name,
      code: error.code,
      message: error.message,
      lines: formatSqlError(error).map((line) => redactSecrets(line)),
      known: true,
    };
  }
  if (error instanceof LakebaseError) {
    const lines = [`ERROR:  ${error.message}`];
    if (error.hint !== undefined) lines.push(...labelled('HINT', error.hint));
    // One line, and only when it adds to the message (a wrapped error often says the same).
    const cause = causeMessage(error.cause)?.split(/\r?\n/)[0].trim();
    if (cause !== undefined && cause !== '' && !error.message.includes(cause)) lines.push(`CAUSE:  ${redactSecrets(cause)}`);
    lines.push(`CODE: ${error.code}`);
    return { name: error.name, code: error.code, message: error.message, lines, known: true };
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const stack = error.stack ?? `${error.name}: ${error.message}`;
    return {
      name: error.name,
      code: typeof code === 'string' && code !== '' ? code : 'UNKNOWN',
      message: redactSecrets(error.message),
      lines: redactSecrets(stack).split('\n'),
      known: false,
    };
  }
  const text = redactSecrets(typeof error === 'string' ? error : safeString(error));
  return { name: 'Error', code: 'UNKNOWN', message: text, lines: [text], known: false };
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch (error) {
    // Objects without a prototype or with a throwing toString: say what it was instead.
    return `(a thrown ${typeof value} that cannot be shown: ${error instanceof Error ? error.message : 'unknown'})`;
  }
}

// ---------------------------------------------------------------------------------------------
// Secrets: found and redacted by the scanner in secrets.ts, re-exported here for every layer.

export { REDACTED, redactSecrets } from './secrets';
