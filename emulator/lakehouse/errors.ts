// The lakehouse's errors, as Databricks SQL reports them: an error class, a message, and a
// SQLSTATE (docs.databricks.com/error-messages; Delta's own classes from delta-io/delta's
// DeltaErrors). A warehouse client sees them in the Thrift status (`sqlState`, `errorMessage`
// "[CLASS] message SQLSTATE: xxxxx") and in the Statement Execution API's `status.error`.
//
// Errors PostgreSQL raises while running a translated statement are mapped to the nearest
// Databricks class by SQLSTATE (`fromPostgres`), keeping PostgreSQL's own message.

/** Error classes and their SQLSTATEs (Databricks "Error classes" and "SQLSTATE" pages). */
export const ERROR_CLASSES = {
  PARSE_SYNTAX_ERROR: '42601',
  TABLE_OR_VIEW_NOT_FOUND: '42P01',
  TABLE_OR_VIEW_ALREADY_EXISTS: '42P07',
  SCHEMA_NOT_FOUND: '42704',
  SCHEMA_ALREADY_EXISTS: '42P06',
  SCHEMA_NOT_EMPTY: '2BP01',
  CATALOG_NOT_FOUND: '42P08',
  CATALOG_ALREADY_EXISTS: '42P04',
  UNRESOLVED_COLUMN: '42703',
  FIELD_NOT_FOUND: '42704',
  UNRESOLVED_ROUTINE: '42883',
  DATATYPE_MISMATCH: '42K09',
  UNSUPPORTED_DATATYPE: '0A000',
  UNSUPPORTED_FEATURE: '0A000',
  INVALID_PARAMETER_VALUE: '22023',
  UNBOUND_SQL_PARAMETER: '42P02',
  DIVIDE_BY_ZERO: '22012',
  CAST_INVALID_INPUT: '22018',
  NUMERIC_VALUE_OUT_OF_RANGE: '22003',
  INVALID_ARRAY_INDEX: '22003',
  DELTA_NOT_NULL_CONSTRAINT_VIOLATED: '23502',
  DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE: '21506',
  DELTA_MISSING_CHANGE_DATA: 'KD002',
  DELTA_CDC_START_VERSION_AFTER_LATEST: '22003',
  DELTA_INVALID_CDC_RANGE: '22003',
  DELTA_VERSION_NOT_FOUND: '22003',
  DELTA_TIMESTAMP_GREATER_THAN_COMMIT: '42816',
  DELTA_TIMESTAMP_EARLIER_THAN_COMMIT_RETENTION: '42816',
  OPERATION_CANCELED: 'HY008',
  INTERNAL_ERROR: 'XX000',
} as const;

export type ErrorClass = keyof typeof ERROR_CLASSES;

export class LakehouseError extends Error {
  override readonly name = 'LakehouseError';
  readonly sqlState: string;
  readonly hint: string | undefined;

  constructor(readonly errorClass: ErrorClass, readonly detail: string, options: { hint?: string; cause?: unknown; sqlState?: string } = {}) {
    super(`[${errorClass}] ${detail}${options.hint ? ` ${options.hint}` : ''} SQLSTATE: ${options.sqlState ?? ERROR_CLASSES[errorClass]}`, { cause: options.cause });
    this.sqlState = options.sqlState ?? ERROR_CLASSES[errorClass];
    this.hint = options.hint;
  }
}

/** `a`.`b`.`c`, as Databricks quotes names in messages. */
export function quotedName(parts: readonly string[]): string {
  return parts.map((part) => `\`${part.replace(/`/g, '``')}\``).join('.');
}

export const lakehouseErrors = {
  tableNotFound: (parts: readonly string[]) =>
    new LakehouseError('TABLE_OR_VIEW_NOT_FOUND', `The table or view ${quotedName(parts)} cannot be found. Verify the spelling and correctness of the schema and catalog.`, {
      hint: 'If you did not qualify the name with a schema, verify the current_schema() output, or qualify the name with the correct schema and catalog.',
    }),
  tableExists: (parts: readonly string[]) =>
    new LakehouseError('TABLE_OR_VIEW_ALREADY_EXISTS', `Cannot create table or view ${quotedName(parts)} because it already exists.`, {
      hint: 'Choose a different name, drop the existing object, add the IF NOT EXISTS clause, or use CREATE OR REPLACE TABLE.',
    }),
  schemaNotFound: (parts: readonly string[]) =>
    new LakehouseError('SCHEMA_NOT_FOUND', `The schema ${quotedName(parts)} cannot be found. Verify the spelling and correctness of the schema and catalog.`),
  schemaExists: (parts: readonly string[]) =>
    new LakehouseError('SCHEMA_ALREADY_EXISTS', `Cannot create schema ${quotedName(parts)} because it already exists.`, {
      hint: 'Choose a different name, drop the existing schema, or add the IF NOT EXISTS clause.',
    }),
  schemaNotEmpty: (parts: readonly string[]) =>
    new LakehouseError('SCHEMA_NOT_EMPTY', `Cannot drop a schema ${quotedName(parts)} because it contains objects.`, { hint: 'Use DROP SCHEMA ... CASCADE to drop the schema and all its objects.' }),
  catalogNotFound: (name: string) => new LakehouseError('CATALOG_NOT_FOUND', `The catalog ${quotedName([name])} was not found.`),
  catalogExists: (name: string) => new LakehouseError('CATALOG_ALREADY_EXISTS', `Cannot create catalog ${quotedName([name])} because it already exists.`),
  unsupported: (construct: string, hint?: string) =>
    new LakehouseError('UNSUPPORTED_FEATURE', `${construct} is not supported by the local lakehouse.`, {
      hint: hint ?? 'See emulator/README.md, "The local lakehouse", for the Databricks SQL it translates.',
    }),
  syntax: (near: string, detail?: string) => new LakehouseError('PARSE_SYNTAX_ERROR', `Syntax error at or near ${near}${detail ? `: ${detail}` : '.'}`),
  unboundParameter: (name: string) =>
    new LakehouseError('UNBOUND_SQL_PARAMETER', `Found the unbound parameter: ${name}. Please, fix \`args\` and provide a mapping of the parameter to either a SQL literal or collection constructor functions such as \`map()\`, \`array()\`, \`struct()\`.`),
  canceled: () => new LakehouseError('OPERATION_CANCELED', 'The operation was canceled.'),
};

/** PostgreSQL SQLSTATE → the Databricks class a warehouse would report for the same mistake. */
const FROM_POSTGRES: Readonly<Record<string, ErrorClass>> = {
  '42601': 'PARSE_SYNTAX_ERROR',
  '42P01': 'TABLE_OR_VIEW_NOT_FOUND',
  '42P07': 'TABLE_OR_VIEW_ALREADY_EXISTS',
  '3F000': 'SCHEMA_NOT_FOUND',
  '42703': 'UNRESOLVED_COLUMN',
  '42883': 'UNRESOLVED_ROUTINE',
  '42804': 'DATATYPE_MISMATCH',
  '42846': 'DATATYPE_MISMATCH',
  '22012': 'DIVIDE_BY_ZERO',
  '22P02': 'CAST_INVALID_INPUT',
  '22007': 'CAST_INVALID_INPUT',
  '22008': 'CAST_INVALID_INPUT',
  '22003': 'NUMERIC_VALUE_OUT_OF_RANGE',
  '2202E': 'INVALID_ARRAY_INDEX',
  '23502': 'DELTA_NOT_NULL_CONSTRAINT_VIOLATED',
  '21000': 'DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE',
  '57014': 'OPERATION_CANCELED',
};

/** Internal names the translation introduces, shown to users in Databricks terms. */
function userWords(message: string): string {
  return message.replace(/"([^".]+)\.([^".]+)"\."([^"]+)"/g, '`$1`.`$2`.`$3`').replace(/relation "([^".]+)\.([^".]+)\.([^"]+)"/g, 'table `$1`.`$2`.`$3`');
}

export function fromPostgres(error: unknown): LakehouseError {
  if (error instanceof LakehouseError) return error;
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    const errorClass = FROM_POSTGRES[code];
    if (errorClass === 'OPERATION_CANCELED') return lakehouseErrors.canceled();
    if (errorClass !== undefined) return new LakehouseError(errorClass, `${userWords(message)}.`, { cause: error });
    return new LakehouseError('INTERNAL_ERROR', `${userWords(message)}.`, { cause: error, sqlState: code });
  }
  return new LakehouseError('INTERNAL_ERROR', message, { cause: error });
}
