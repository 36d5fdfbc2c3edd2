// `:name` parameters: the way a SQL cell uses TypeScript variables. Each `:name` becomes a bound
// parameter `$n` and its value travels separately from the text (PostgreSQL's extended query
// protocol), so no value is ever pasted into SQL: there is no text interpolation path here.
import { LakebaseError, SQL_TEXT_ERRORS } from '../errors';
import { isIdentifierChar, scanSql } from './lexer';
import type { SqlDialect } from './lexer';

/** Finds the value of a TypeScript variable (`MagicHost.lookupVariable` has this shape). */
export type ParameterLookup = (name: string) => { found: true; value: unknown } | { found: false };

/** A statement ready to send: `$n` placeholders and their values. */
export interface BoundStatement {
  /** The statement with each `:name` replaced by `$n`. */
  text: string;
  /** `values[i]` is the value of `$i+1`, converted for node-postgres (see `toParameterValue`). */
  values: unknown[];
  /** `names[i]` is the parameter bound to `$i+1`. */
  names: string[];
  /**
   * Maps an index (UTF-16) in `text` back to the statement as written, so an error position the
   * server reports in `text` points at the right place (`SqlError.withSource`).
   */
  sourceIndex(sentIndex: number): number;
}

/** One `:name` in a statement. */
interface ParameterUse {
  name: string;
  /** Index of the `:`. */
  start: number;
  /** Index just past the name. */
  end: number;
}

/**
 * A `:` followed by a name, in SQL code. `::` (a cast) and `:=` (named arguments, PL/pgSQL) are
 * matched first so that their second character is not taken for the start of a parameter.
 */
const COLON_TOKENS = /::|:=|:([\p{ID_Start}_][\p{ID_Continue}]*)/gu;
const POSITIONAL_PARAMETER = /\$\d+/g;

/** Where `:name` parameters are; also whether the statement has `$n` placeholders of its own. */
function findParameters(statement: string, dialect: SqlDialect): { uses: ParameterUse[]; positional: number | undefined } {
  const uses: ParameterUse[] = [];
  let positional: number | undefined;
  for (const span of scanSql(statement, { dialect })) {
    if (span.kind !== 'code') continue;
    const code = statement.slice(span.start, span.end);
    for (const match of code.matchAll(COLON_TOKENS)) {
      const name = match[1];
      if (name === undefined) continue;
      const start = span.start + match.index;
      // `a[lo:hi]`, `f(x):y`, `arr[1]:n`: a colon glued to what precedes it is an array slice
      // (or some other operator use), not a parameter.
      const before = statement[start - 1];
      if (isIdentifierChar(before) || before === ']' || before === ')') continue;
      uses.push({ name, start, end: start + 1 + name.length });
    }
    for (const match of code.matchAll(POSITIONAL_PARAMETER)) {
      const at = span.start + match.index;
      if (!isIdentifierChar(statement[at - 1])) positional ??= at;
    }
  }
  return { uses, positional };
}

/** The names of the `:name` parameters of a statement, each once, in order of first use. */
export function parameterNames(statement: string, dialect: SqlDialect = 'postgres'): string[] {
  return [...new Set(findParameters(statement, dialect).uses.map((use) => use.name))];
}

/**
 * Replaces each `:name` with `$n` (a name used twice reuses its number) and looks up the values.
 * Not parameters: `::casts`, `:=`, array slices like `a[lo:hi]`, and anything inside strings,
 * quoted identifiers, comments and dollar quotes (as `dialect` quotes them: a SQL warehouse's
 * Databricks SQL has `back-quoted` names and "..." strings). A name `lookup` does not find is a
 * `LakebaseError` (`PARAMETER_UNDEFINED`) that says how to define it.
 */
export function bindParameters(statement: string, lookup: ParameterLookup, dialect: SqlDialect = 'postgres'): BoundStatement {
  const { uses, positional } = findParameters(statement, dialect);
  if (uses.length === 0) return { text: statement, values: [], names: [], sourceIndex: (index) => index };
  if (positional !== undefined) {
    throw new LakebaseError(
      SQL_TEXT_ERRORS.parameterMixed,
      `This statement uses both :name parameters and a numbered placeholder (${statement.slice(positional).match(/^\$\d+/)![0]}); their numbers would clash.`,
      { hint: 'Use :name parameters only: each becomes a numbered placeholder when the statement is sent.' },
    );
  }

  const numbers = new Map<string, number>();
  const values: unknown[] = [];
  let text = '';
  let copied = 0;
  // Where each replacement sits in the statement as written and as sent, for `sourceIndex`.
  const replacements: { sourceStart: number; sourceEnd: number; sentStart: number; sentEnd: number }[] = [];
  for (const use of uses) {
    let number = numbers.get(use.name);
    if (number === undefined) {
      const found = lookup(use.name);
      if (!found.found) throw undefinedParameter(use.name);
      values.push(toParameterValue(found.value, use.name));
      number = values.length;
      numbers.set(use.name, number);
    }
    text += statement.slice(copied, use.start);
    const placeholder = `$${number}`;
    replacements.push({ sourceStart: use.start, sourceEnd: use.end, sentStart: text.length, sentEnd: text.length + placeholder.length });
    text += placeholder;
    copied = use.end;
  }
  text += statement.slice(copied);

  const sourceIndex = (sentIndex: number): number => {
    let shift = 0;
    for (const replacement of replacements) {
      if (sentIndex < replacement.sentStart) break;
      if (sentIndex < replacement.sentEnd) return replacement.sourceStart;
      shift = replacement.sourceEnd - replacement.sentEnd;
    }
    return sentIndex + shift;
  };
  return { text, values, names: [...numbers.keys()], sourceIndex };
}

function undefinedParameter(name: string): LakebaseError {
  return new LakebaseError(
    SQL_TEXT_ERRORS.parameterUndefined,
    `The parameter :${name} has no value: no TypeScript variable named ${name} is defined.`,
    {
      hint: `Define it in a TypeScript cell before this one, e.g. const ${name} = "emea"; its value is sent as a bound parameter, never pasted into the SQL. (In SQL code, a colon followed by a name is always a parameter; ::casts, strings and comments are not.)`,
    },
  );
}

function unsupportedValue(name: string, what: string, hint: string): LakebaseError {
  return new LakebaseError(SQL_TEXT_ERRORS.parameterUnsupported, `The value of :${name} is ${what}, which cannot be sent to PostgreSQL.`, { hint });
}

const SUPPORTED =
  'Parameters can be strings, numbers, bigints, booleans, null/undefined (NULL), Dates, Buffers or typed arrays (bytea), arrays of these (PostgreSQL arrays) and plain objects (sent as JSON text).';

/**
 * Converts a TypeScript value into what node-postgres sends well, and refuses what it would send
 * wrongly. node-postgres (pg 8, `lib/utils.js` `prepareValue`) already handles null/undefined,
 * strings, numbers, booleans, bigint (`toString`), Buffers and typed arrays, Dates, arrays
 * (`{...}` literals, recursively) and objects (JSON, or their `toPostgres()`). What it gets wrong:
 * functions and symbols become their source text or `Symbol(x)`; an invalid Date becomes
 * `NaN-NaN...`; a bigint inside an object makes `JSON.stringify` throw; Map and Set become `{}`.
 */
export function toParameterValue(value: unknown, name: string): unknown {
  switch (typeof value) {
    case 'undefined':
      return null;
    case 'string':
    case 'number':
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'function':
      throw unsupportedValue(name, 'a function', `Call it and pass its result. ${SUPPORTED}`);
    case 'symbol':
      throw unsupportedValue(name, 'a symbol', SUPPORTED);
  }
  if (value === null || Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return value;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw unsupportedValue(name, 'an invalid Date', 'Check how the Date was made: new Date(text) gives an invalid Date when it cannot read the text.');
    return value;
  }
  if (Array.isArray(value)) return value.map((element) => toParameterValue(element, name));
  if (typeof (value as { toPostgres?: unknown }).toPostgres === 'function') return value;
  if (value instanceof Map) throw unsupportedValue(name, 'a Map', 'Send Object.fromEntries(map) to store it as a JSON object.');
  if (value instanceof Set) throw unsupportedValue(name, 'a Set', 'Send [...set] to store it as an array.');
  return jsonText(value as object, name);
}

/** JSON text of an object, with bigints written as exact JSON numbers (JSON.stringify throws on them). */
function jsonText(value: object, name: string): string {
  const placeholders: string[] = [];
  let text: string;
  try {
    // A bigint becomes a unique marker string, replaced by its digits afterwards: JSON numbers
    // may have any number of digits, and jsonb keeps them exactly.
    const marker = `\u0000bigint${Math.random().toString(36).slice(2)}:`;
    text = JSON.stringify(value, (_key, item: unknown) => {
      if (typeof item !== 'bigint') return item;
      placeholders.push(item.toString());
      return `${marker}${placeholders.length - 1}`;
    });
    const escapedMarker = JSON.stringify(marker).slice(1, -1);
    text = text.replace(new RegExp(`"${escapedMarker.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}(\\d+)"`, 'g'), (_match, index: string) => placeholders[Number(index)]);
  } catch (error) {
    throw unsupportedValue(name, 'an object that cannot be written as JSON', `${error instanceof Error ? error.message : String(error)}. ${SUPPORTED}`);
  }
  return text;
}
