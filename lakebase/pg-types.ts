// PostgreSQL type OIDs → names, and → the TypeScript type of the value node-postgres produces for
// them with its default text parsers (pg-types 2.2, `lib/textParsers.js`). The TypeScript types
// let a result stored into a variable be declared with real column types, so that later cells get
// completion and type errors.
//
// Names of base types come from pg-types' own `builtins` list (the OIDs pg itself dispatches on);
// array types and the few base types that list leaves out (those with `typelem <> 0`, pseudo
// types, ranges) are listed here. `test/pg-types-postgres.test.ts` checks every entry against
// `pg_type` on a real server.
import pg from 'pg';
import type { Column } from './contracts';

/** Base types missing from pg-types' `builtins` (it keeps only `typelem = 0` basic types). */
const MORE_BASE_TYPES: Readonly<Record<string, number>> = {
  name: 19,
  int2vector: 22,
  oidvector: 30,
  point: 600,
  lseg: 601,
  box: 603,
  line: 628,
  unknown: 705,
  record: 2249,
  cstring: 2275,
  void: 2278,
  int4range: 3904,
  numrange: 3906,
  tsrange: 3908,
  tstzrange: 3910,
  daterange: 3912,
  int8range: 3926,
  jsonpath: 4072,
  regcollation: 4191,
  int4multirange: 4451,
  nummultirange: 4532,
  tsmultirange: 4533,
  tstzmultirange: 4534,
  datemultirange: 4535,
  int8multirange: 4536,
  xid8: 5069,
};

/** Array type OID → element type OID (`pg_type.typarray` read backwards). */
const ARRAY_ELEMENTS: ReadonlyMap<number, number> = new Map([
  [1000, 16], [1001, 17], [1002, 18], [1003, 19], [1016, 20], [1005, 21], [1006, 22], [1007, 23],
  [1008, 24], [1009, 25], [1028, 26], [1010, 27], [1011, 28], [1012, 29], [1013, 30], [199, 114],
  [143, 142], [1017, 600], [1018, 601], [1019, 602], [1020, 603], [1027, 604], [629, 628],
  [651, 650], [1021, 700], [1022, 701], [719, 718], [775, 774], [791, 790], [1040, 829],
  [1041, 869], [1034, 1033], [1014, 1042], [1015, 1043], [1182, 1082], [1183, 1083], [1115, 1114],
  [1185, 1184], [1187, 1186], [1270, 1266], [1561, 1560], [1563, 1562], [1231, 1700], [2201, 1790],
  [2207, 2202], [2208, 2203], [2209, 2204], [2210, 2205], [2211, 2206], [2287, 2249], [1263, 2275],
  [2951, 2950], [2949, 2970], [3643, 3614], [3645, 3615], [3644, 3642], [3735, 3734], [3770, 3769],
  [3807, 3802], [3905, 3904], [3907, 3906], [3909, 3908], [3911, 3910], [3913, 3912], [3927, 3926],
  [4073, 4072], [4090, 4089], [4097, 4096], [4192, 4191], [271, 5069],
]);

/**
 * Entries of pg-types' list that PostgreSQL 12 removed; OID 210 now belongs to `_pg_type`.
 * (pg-types 2.2 generated its list from PostgreSQL 11.)
 */
const REMOVED_TYPES: ReadonlySet<string> = new Set(['SMGR', 'ABSTIME', 'RELTIME', 'TINTERVAL']);

const BASE_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  ...Object.entries(pg.types.builtins as Record<string, number>)
    .filter(([name]) => !REMOVED_TYPES.has(name))
    .map(([name, oid]) => [oid, name.toLowerCase()] as const),
  ...Object.entries(MORE_BASE_TYPES).map(([name, oid]) => [oid, name] as const),
]);

/** The element type of an array type, or undefined when `oid` is not a known array type. */
export function arrayElementOid(oid: number): number | undefined {
  return ARRAY_ELEMENTS.get(oid);
}

/**
 * The `pg_type.typname` of a builtin type: `int4`, `text`, `_int4` for `int4[]`; undefined for
 * types created in a database (enums, domains, extension types), whose OIDs differ per database
 * and must be looked up in its `pg_type`.
 */
export function builtinTypeName(oid: number): string | undefined {
  const base = BASE_TYPE_NAMES.get(oid);
  if (base !== undefined) return base;
  const element = ARRAY_ELEMENTS.get(oid);
  const elementName = element === undefined ? undefined : BASE_TYPE_NAMES.get(element);
  return elementName === undefined ? undefined : `_${elementName}`;
}

/** `builtinTypeName`, or `unknown` for a type that is not builtin. */
export function typeNameOf(oid: number): string {
  return builtinTypeName(oid) ?? 'unknown';
}

/** Types psql right-aligns (its `column_type_alignment`): numbers. */
const NUMERIC_TYPES: ReadonlySet<number> = new Set([20, 21, 23, 26, 28, 29, 700, 701, 790, 1700, 5069]);

/** True for numeric types, whose values are right-aligned in tables. */
export function isNumericType(oid: number): boolean {
  return NUMERIC_TYPES.has(oid);
}

/** What postgres-interval 1.x (pg's interval parser) returns: only the non-zero parts are set. */
const INTERVAL_TYPE =
  '{ years?: number; months?: number; days?: number; hours?: number; minutes?: number; seconds?: number; milliseconds?: number; toPostgres(): string; toISO(): string }';
const POINT_TYPE = '{ x: number; y: number }';

/**
 * TypeScript type of a value of each type that pg-types parses (text format). Every other type
 * arrives as the server's text, a string; so do arrays pg-types has no parser for.
 * int8, numeric and money are strings (exact; a number would lose digits). Note what pg-types
 * does with numeric[]: it parses the elements with parseFloat, so they are numbers.
 */
const PARSED_TYPES: ReadonlyMap<number, string> = new Map([
  [16, 'boolean'],
  [17, 'Buffer'],
  [21, 'number'], [23, 'number'], [26, 'number'], [700, 'number'], [701, 'number'],
  // postgres-date turns 'infinity' into Infinity, the number: typed as Date, the usual value.
  [1082, 'Date'], [1114, 'Date'], [1184, 'Date'],
  [114, 'unknown'], [3802, 'unknown'],
  [1186, INTERVAL_TYPE],
  [600, POINT_TYPE],
  [718, '{ x: number; y: number; radius: number }'],
]);

/** Arrays pg-types parses, by array OID → element type (elements may be null). */
const PARSED_ARRAYS: ReadonlyMap<number, string> = new Map([
  [1000, 'boolean'],
  [1001, 'Buffer'],
  [1005, 'number'], [1007, 'number'], [1028, 'number'], [1021, 'number'], [1022, 'number'],
  [1231, 'number'],
  [1016, 'string'],
  [1017, POINT_TYPE],
  [1014, 'string'], [1015, 'string'], [1008, 'string'], [1009, 'string'], [1040, 'string'],
  [1041, 'string'], [651, 'string'], [2951, 'string'], [791, 'string'], [1183, 'string'],
  [1270, 'string'], [3907, 'string'],
  [1115, 'Date'], [1182, 'Date'], [1185, 'Date'],
  [1187, INTERVAL_TYPE],
  [199, 'unknown'], [3807, 'unknown'],
]);

/**
 * TypeScript source text for the value node-postgres gives for a column with its default
 * parsers, e.g. `number`, `string | null`, `(Date | null)[] | null`. `| null` unless the column
 * cannot be null. Multi-dimensional arrays arrive as nested arrays under the same type OID; they
 * are typed as one-dimensional, the common case.
 */
export function tsTypeOf(column: Pick<Column, 'typeOid'>, notNull: boolean): string {
  const element = PARSED_ARRAYS.get(column.typeOid);
  const type =
    element !== undefined
      ? `(${element} | null)[]`
      : (PARSED_TYPES.get(column.typeOid) ?? 'string');
  // `unknown | null` is `unknown`: JSON's null and SQL NULL are both null here.
  return notNull || type === 'unknown' ? type : `${type} | null`;
}

/**
 * The object type of one row, e.g. `{ "id": number; "name": string | null }`. Keys are quoted
 * because column names may be any text; with duplicate names the later column wins and the key
 * keeps its first place, as `ResultSet.rows` builds rows. `notNull[i]` belongs to `columns[i]`.
 */
export function rowTypeOf(columns: readonly Pick<Column, 'name' | 'typeOid'>[], notNull: readonly boolean[]): string {
  const fields = new Map<string, string>();
  columns.forEach((column, i) => fields.set(column.name, tsTypeOf(column, notNull[i] ?? false)));
  if (fields.size === 0) return '{}';
  return `{ ${Array.from(fields, ([name, type]) => `${typeScriptString(name)}: ${type}`).join('; ')} }`;
}

/**
 * `text` as a TypeScript string literal in printable ASCII: JSON's escapes, and every other code
 * unit as `\uXXXX`. JSON.stringify alone is not enough for generated source: it leaves U+2028 and
 * U+2029 as they are, and TypeScript reads those as line ends inside a string (issue 12: a column
 * named with one made the `--into` declaration fail).
 */
export function typeScriptString(text: string): string {
  return JSON.stringify(text).replace(/[^\x20-\x7e]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
