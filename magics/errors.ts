// Errors a user makes when writing a magic: an unknown verb or option, a missing value, a
// misplaced `%%lakebase`. They are `LakebaseError`s, so the kernel renders them as clear lines
// (no stack) through `describeError`; each says where it is in the cell and how to get help.
import { LakebaseError } from '../lakebase/errors';

/** Stable codes of the magic grammar's errors. */
export const MAGIC_ERRORS = {
  /** `%sql`, `%%sql`: a magic this kernel does not have. */
  unknownMagic: 'MAGIC_UNKNOWN',
  unknownVerb: 'MAGIC_UNKNOWN_VERB',
  unknownOption: 'MAGIC_UNKNOWN_OPTION',
  /** An option given twice, or two options that exclude each other. */
  conflictingOptions: 'MAGIC_CONFLICTING_OPTIONS',
  /** An option value or argument of the wrong kind: `--port abc`, `--sslmode sometimes`. */
  invalidValue: 'MAGIC_INVALID_VALUE',
  missingArgument: 'MAGIC_MISSING_ARGUMENT',
  unexpectedArgument: 'MAGIC_UNEXPECTED_ARGUMENT',
  /** `--into lakebase$magic`: a name the kernel itself defines for every cell. */
  reservedName: 'MAGIC_RESERVED_NAME',
  /** Quotes not closed on the magic line, `%%lakebase` below the first line, a magic where TypeScript cannot take one. */
  syntax: 'MAGIC_SYNTAX',
} as const;

export type MagicErrorCode = (typeof MAGIC_ERRORS)[keyof typeof MAGIC_ERRORS];

/** A magic the grammar cannot accept. `line` is 0-based in the cell; messages show it 1-based. */
export class MagicUsageError extends LakebaseError {
  readonly line: number | undefined;

  constructor(code: MagicErrorCode, message: string, options: { line?: number; hint?: string } = {}) {
    super(code, options.line === undefined ? message : `${message} (cell line ${options.line + 1})`, {
      hint: options.hint,
    });
    this.line = options.line;
  }
}

/** The hint every usage error ends with: where the right words are listed. */
export function helpHint(verb?: string): string {
  return verb === undefined ? 'List the verbs with %lakebase help.' : `See %lakebase help ${verb}.`;
}
