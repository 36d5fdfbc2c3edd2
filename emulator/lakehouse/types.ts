// Databricks SQL data types, how they are written, and how the lakehouse stores them in
// PostgreSQL (Databricks SQL language manual, "Data types"):
//
//   BOOLEAN → boolean          TINYINT, SMALLINT → smallint   INT → integer     BIGINT → bigint
//   FLOAT → real               DOUBLE → double precision      DECIMAL(p,s) → numeric(p,s)
//   STRING → text              BINARY → bytea                 DATE → date
//   TIMESTAMP → timestamptz (an instant, shown in the session time zone, UTC here)
//   TIMESTAMP_NTZ → timestamp  ARRAY<T> → T'[]
//   STRUCT<a: T, ...> → a composite type made for that struct (`_lakehouse_types.struct_<hash>`)
//   MAP<K, V> → a composite type (keys K'[], values V'[]) made for that map (`map_<hash>`)
//
// The declared Databricks type of every table column is kept in the lakehouse's catalog, so a
// TINYINT reads back as TINYINT and a map as a map, though PostgreSQL holds them otherwise.
import { createHash } from 'node:crypto';
import type { Token } from './lexer';
import { LakehouseError } from './errors';

export type SqlType =
  | { kind: 'boolean' | 'tinyint' | 'smallint' | 'int' | 'bigint' | 'float' | 'double' | 'string' | 'binary' | 'date' | 'timestamp' | 'timestamp_ntz' | 'void' }
  | { kind: 'decimal'; precision: number; scale: number }
  | { kind: 'array'; element: SqlType }
  | { kind: 'map'; key: SqlType; value: SqlType }
  | { kind: 'struct'; fields: StructField[] };

export interface StructField {
  name: string;
  type: SqlType;
}

/** Spellings Databricks accepts for each simple type. */
const SIMPLE_NAMES: Readonly<Record<string, SqlType['kind']>> = {
  boolean: 'boolean',
  bool: 'boolean',
  tinyint: 'tinyint',
  byte: 'tinyint',
  smallint: 'smallint',
  short: 'smallint',
  int: 'int',
  integer: 'int',
  bigint: 'bigint',
  long: 'bigint',
  float: 'float',
  real: 'float',
  double: 'double',
  string: 'string',
  varchar: 'string',
  char: 'string',
  binary: 'binary',
  date: 'date',
  timestamp: 'timestamp',
  timestamp_ltz: 'timestamp',
  timestamp_ntz: 'timestamp_ntz',
  void: 'void',
};

/** The type as Databricks prints it (`DESCRIBE`, `information_schema`, the Thrift schema's names). */
export function typeText(type: SqlType): string {
  switch (type.kind) {
    case 'decimal':
      return `decimal(${type.precision},${type.scale})`;
    case 'array':
      return `array<${typeText(type.element)}>`;
    case 'map':
      return `map<${typeText(type.key)},${typeText(type.value)}>`;
    case 'struct':
      // A field name that is not a plain identifier is backquoted, as Databricks shows it: the
      // catalog keeps this text and reads it back (`struct<`order id`:int>`).
      return `struct<${type.fields.map((field) => `${/^[A-Za-z_][A-Za-z0-9_]*$/.test(field.name) ? field.name : `\`${field.name.replace(/`/g, '``')}\``}:${typeText(field.type)}`).join(',')}>`;
    default:
      return type.kind;
  }
}

/** Upper-case type name as the Thrift schema and JDBC metadata name it (`INT`, `DECIMAL`, `ARRAY`). */
export function typeName(type: SqlType): string {
  return type.kind === 'void' ? 'VOID' : type.kind.toUpperCase();
}

/**
 * Reads a type at `tokens[index]` (significant tokens only). Returns the type and the index after
 * it. `DECIMAL` without precision is DECIMAL(10,0), as in Spark.
 */
export function parseType(tokens: readonly Token[], index: number): { type: SqlType; next: number } {
  const token = tokens[index];
  const fail = (message: string): never => {
    throw new LakehouseError('PARSE_SYNTAX_ERROR', `Syntax error at or near ${token ? `'${token.text}'` : 'end of input'}: ${message}`);
  };
  if (token === undefined || (token.kind !== 'word' && token.kind !== 'quoted')) return fail('a data type was expected.');
  const name = token.value.toLowerCase();
  const expect = (at: number, text: string): number => {
    if (tokens[at]?.value !== text) fail(`'${text}' was expected in the type.`);
    return at + 1;
  };
  if (name === 'decimal' || name === 'dec' || name === 'numeric') {
    if (tokens[index + 1]?.value !== '(') return { type: { kind: 'decimal', precision: 10, scale: 0 }, next: index + 1 };
    const precision = Number(tokens[index + 2]?.value);
    let at = index + 3;
    let scale = 0;
    if (tokens[at]?.value === ',') {
      scale = Number(tokens[at + 1]?.value);
      at += 2;
    }
    at = expect(at, ')');
    if (!Number.isInteger(precision) || precision < 1 || precision > 38 || !Number.isInteger(scale) || scale < 0 || scale > precision) {
      throw new LakehouseError('DATATYPE_MISMATCH', `Invalid DECIMAL(${precision},${scale}): precision must be 1 to 38 and scale 0 to the precision.`);
    }
    return { type: { kind: 'decimal', precision, scale }, next: at };
  }
  if (name === 'varchar' || name === 'char') {
    // VARCHAR(n) and CHAR(n) are strings with a length check Databricks applies on write; the
    // emulator keeps the string and leaves out the check (a recorded fidelity gap).
    if (tokens[index + 1]?.value === '(') return { type: { kind: 'string' }, next: expect(index + 3, ')') };
    return { type: { kind: 'string' }, next: index + 1 };
  }
  if (name === 'array') {
    let at = expect(index + 1, '<');
    const element = parseType(tokens, at);
    at = closeAngle(tokens, element.next, fail);
    return { type: { kind: 'array', element: element.type }, next: at };
  }
  if (name === 'map') {
    let at = expect(index + 1, '<');
    const key = parseType(tokens, at);
    at = expect(key.next, ',');
    const value = parseType(tokens, at);
    at = closeAngle(tokens, value.next, fail);
    return { type: { kind: 'map', key: key.type, value: value.type }, next: at };
  }
  if (name === 'struct') {
    let at = expect(index + 1, '<');
    const fields: StructField[] = [];
    if (tokens[at]?.value === '>') return { type: { kind: 'struct', fields }, next: at + 1 };
    for (;;) {
      const fieldName = tokens[at];
      if (fieldName === undefined || (fieldName.kind !== 'word' && fieldName.kind !== 'quoted')) fail('a struct field name was expected.');
      at++;
      if (tokens[at]?.value === ':') at++;
      else if (tokens[at]?.kind === 'named-parameter') {
        // `x :INT` reads to the lexer as a parameter marker; in a struct it is the field's type.
        const marker = tokens[at];
        (tokens as Token[]).splice(at, 1, { kind: 'word', text: marker.text.slice(1), value: marker.value.toLowerCase(), start: marker.start + 1 });
      }
      const field = parseType(tokens, at);
      fields.push({ name: fieldName!.value, type: field.type });
      at = field.next;
      // NOT NULL and COMMENT on struct fields are accepted and not kept.
      if (tokens[at]?.value === 'not' && tokens[at + 1]?.value === 'null') at += 2;
      if (tokens[at]?.value === 'comment' && tokens[at + 1]?.kind === 'string') at += 2;
      if (tokens[at]?.value === ',') {
        at++;
        continue;
      }
      at = closeAngle(tokens, at, fail);
      break;
    }
    return { type: { kind: 'struct', fields }, next: at };
  }
  const simple = SIMPLE_NAMES[name];
  if (simple === undefined) {
    throw new LakehouseError('UNSUPPORTED_DATATYPE', `Unsupported data type "${token.text}".`, {
      hint: 'The local lakehouse knows BOOLEAN, TINYINT, SMALLINT, INT, BIGINT, FLOAT, DOUBLE, DECIMAL(p,s), STRING, BINARY, DATE, TIMESTAMP, TIMESTAMP_NTZ, ARRAY<T>, MAP<K,V> and STRUCT<...>.',
    });
  }
  // TIMESTAMP WITH LOCAL TIME ZONE is TIMESTAMP.
  if (simple === 'timestamp' && tokens[index + 1]?.value === 'with') return { type: { kind: simple } as SqlType, next: index + 5 };
  return { type: { kind: simple } as SqlType, next: index + 1 };
}

/** `>` closes a type; the lexer reads `>>` as one operator, which closes two. */
function closeAngle(tokens: readonly Token[], at: number, fail: (message: string) => never): number {
  const token = tokens[at];
  if (token?.value === '>') return at + 1;
  if (token?.value === '>>') {
    // Split the operator in place: the outer type's parser meets the second `>`.
    (tokens as Token[]).splice(at, 1, { ...token, text: '>', value: '>' }, { ...token, text: '>', value: '>', start: token.start + 1 });
    return at + 1;
  }
  if (token?.value === '>=') fail("a space is needed between '>' and '='.");
  return fail("'>' was expected to close the type.");
}

/** Reads a whole type from text (`decimal(10,2)`, `map<string,int>`), as stored in the catalog. */
export function parseTypeText(text: string, tokenize: (sql: string) => Token[]): SqlType {
  const tokens = tokenize(text).filter((token) => token.kind !== 'trivia');
  const { type, next } = parseType(tokens, 0);
  if (next !== tokens.length) throw new LakehouseError('PARSE_SYNTAX_ERROR', `Unexpected text after the type: ${text}`);
  return type;
}

/** The composite types a struct or map needs, made once per distinct type. */
export interface CompositeTypes {
  /** The schema-qualified name of the composite type for this struct or map, creating it if needed. */
  nameFor(type: SqlType & { kind: 'struct' | 'map' }): Promise<string>;
}

/** Schema that holds the composite types of structs and maps. */
export const TYPES_SCHEMA = '_lakehouse_types';

/** The composite type's name for a struct or map: its canonical text, hashed to fit PostgreSQL's 63 bytes. */
export function compositeTypeName(type: SqlType & { kind: 'struct' | 'map' }): string {
  const hash = createHash('sha256').update(typeText(type)).digest('hex').slice(0, 16);
  return `${type.kind}_${hash}`;
}

/** The column list of the composite type of a struct or map (fields in PostgreSQL types). */
export async function compositeDefinition(type: SqlType & { kind: 'struct' | 'map' }, types: CompositeTypes): Promise<string> {
  if (type.kind === 'map') return `keys ${await pgType({ kind: 'array', element: type.key }, types)}, "values" ${await pgType({ kind: 'array', element: type.value }, types)}`;
  const fields = [];
  for (const field of type.fields) fields.push(`${quoteIdentifier(field.name)} ${await pgType(field.type, types)}`);
  return fields.join(', ');
}

/** The PostgreSQL type that stores values of a Databricks type. */
export async function pgType(type: SqlType, types: CompositeTypes): Promise<string> {
  switch (type.kind) {
    case 'boolean':
      return 'boolean';
    case 'tinyint':
    case 'smallint':
      return 'smallint';
    case 'int':
      return 'integer';
    case 'bigint':
      return 'bigint';
    case 'float':
      return 'real';
    case 'double':
      return 'double precision';
    case 'decimal':
      return `numeric(${type.precision},${type.scale})`;
    case 'string':
    case 'void':
      return 'text';
    case 'binary':
      return 'bytea';
    case 'date':
      return 'date';
    case 'timestamp':
      return 'timestamptz';
    case 'timestamp_ntz':
      return 'timestamp';
    case 'array': {
      if (type.element.kind === 'array') {
        // PostgreSQL arrays are multi-dimensional and rectangular, not arrays of arrays.
        throw new LakehouseError('UNSUPPORTED_DATATYPE', `Nested arrays (${typeText(type)}) are not supported by the local lakehouse.`, {
          hint: 'Wrap the inner array in a struct: ARRAY<STRUCT<items: ARRAY<...>>>.',
        });
      }
      return `${await pgType(type.element, types)}[]`;
    }
    case 'map':
    case 'struct':
      return types.nameFor(type);
  }
}

export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

// -----------------------------------------------------------------------------------------------
// From PostgreSQL result types back to Databricks types, for columns that are not table columns

/** Built-in PostgreSQL type OIDs (pg_type.dat). */
export const PG_OIDS = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  unknown: 705,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  numeric: 1700,
  uuid: 2950,
  record: 2249,
  jsonb: 3802,
} as const;

const ARRAY_ELEMENT_OIDS: Readonly<Record<number, number>> = {
  1000: PG_OIDS.bool,
  1001: PG_OIDS.bytea,
  1016: PG_OIDS.int8,
  1005: PG_OIDS.int2,
  1007: PG_OIDS.int4,
  1009: PG_OIDS.text,
  1021: PG_OIDS.float4,
  1022: PG_OIDS.float8,
  1015: PG_OIDS.varchar,
  1182: PG_OIDS.date,
  1115: PG_OIDS.timestamp,
  1185: PG_OIDS.timestamptz,
  1231: PG_OIDS.numeric,
};

/**
 * The Databricks type of a result column PostgreSQL describes by OID and type modifier, when it is
 * not a table column whose declared type is known. Anything without a Databricks twin (json,
 * uuid, intervals, anonymous records) is a STRING holding PostgreSQL's text form.
 */
export function typeOfPgColumn(oid: number, typmod: number, composite: (oid: number) => SqlType | undefined): SqlType {
  switch (oid) {
    case PG_OIDS.bool:
      return { kind: 'boolean' };
    case PG_OIDS.int2:
      return { kind: 'smallint' };
    case PG_OIDS.int4:
      return { kind: 'int' };
    case PG_OIDS.int8:
      return { kind: 'bigint' };
    case PG_OIDS.float4:
      return { kind: 'float' };
    case PG_OIDS.float8:
      return { kind: 'double' };
    case PG_OIDS.numeric: {
      // numeric(p,s) keeps ((p << 16) | s) + 4 as its modifier; unconstrained numeric has -1 and
      // becomes DECIMAL(38,18), Spark's system default.
      if (typmod < 4) return { kind: 'decimal', precision: 38, scale: 18 };
      const value = typmod - 4;
      return { kind: 'decimal', precision: (value >> 16) & 0xffff, scale: value & 0xffff };
    }
    case PG_OIDS.bytea:
      return { kind: 'binary' };
    case PG_OIDS.date:
      return { kind: 'date' };
    case PG_OIDS.timestamptz:
      return { kind: 'timestamp' };
    case PG_OIDS.timestamp:
      return { kind: 'timestamp_ntz' };
    default: {
      const element = ARRAY_ELEMENT_OIDS[oid];
      if (element !== undefined) return { kind: 'array', element: typeOfPgColumn(element, -1, composite) };
      return composite(oid) ?? { kind: 'string' };
    }
  }
}

/** The integer types: a cast to one truncates toward zero in Databricks SQL, where PostgreSQL rounds. */
const INTEGRAL_KINDS: ReadonlySet<string> = new Set(['tinyint', 'smallint', 'int', 'bigint']);

export function isIntegral(type: SqlType): boolean {
  return INTEGRAL_KINDS.has(type.kind);
}

/**
 * `_lakehouse.integral(value)`: the value a cast to an integer type starts from, as Databricks
 * casts (CAST(2.7 AS INT) is 2, CAST(-2.7 AS INT) is -2): decimals and floating-point values
 * truncated toward zero, anything else as it is, so PostgreSQL's own cast decides the rest (bad
 * text, out of range). Polymorphic in the value, with a text twin for string literals.
 */
const INTEGRAL_SQL = `CREATE OR REPLACE FUNCTION _lakehouse.integral(value anyelement) RETURNS anyelement LANGUAGE plpgsql IMMUTABLE AS $$
  BEGIN IF pg_typeof(value) IN ('numeric'::regtype, 'double precision'::regtype, 'real'::regtype) THEN RETURN trunc(value); END IF; RETURN value; END $$;
CREATE OR REPLACE FUNCTION _lakehouse.integral(value text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT value $$;`;

/** `CAST(sql AS type)` as Databricks casts: to an integer type through `_lakehouse.integral`. */
export function castSql(valueSql: string, type: SqlType, pgTypeName: string): string {
  return `CAST(${isIntegral(type) ? `_lakehouse.integral(${valueSql})` : valueSql} AS ${pgTypeName})`;
}

/**
 * TRY_CAST's functions, one per target (`_lakehouse.try_cast_integer(value)`): PostgreSQL's own
 * cast, with a data exception (bad text, out of range) answered by NULL as TRY_CAST does. They
 * are polymorphic in the value, so the cast is the one CAST would make from the value's type.
 * TINYINT and DECIMAL(p,s) check their range here, as their PostgreSQL types do not; the integer
 * types truncate as CAST does (`_lakehouse.integral`).
 */
const TRY_CAST_TARGETS: Readonly<Record<string, string>> = {
  boolean: 'boolean',
  tinyint: 'smallint',
  smallint: 'smallint',
  int: 'integer',
  bigint: 'bigint',
  float: 'real',
  double: 'double precision',
  string: 'text',
  binary: 'bytea',
  date: 'date',
  timestamp: 'timestamptz',
  timestamp_ntz: 'timestamp',
};

// Each has a text twin besides the polymorphic one: a string literal has no type a polymorphic
// argument could take, and PostgreSQL picks the text one for it.
const TRY_CAST_SQL = ['anyelement', 'text']
  .flatMap((argument) => [
    ...Object.entries(TRY_CAST_TARGETS).map(([kind, pg]) => {
      const range = kind === 'tinyint' ? ' IF result NOT BETWEEN -128 AND 127 THEN RETURN NULL; END IF;' : '';
      const value = INTEGRAL_KINDS.has(kind) ? '_lakehouse.integral(value)' : 'value';
      return `CREATE OR REPLACE FUNCTION _lakehouse.try_cast_${kind}(value ${argument}) RETURNS ${pg} LANGUAGE plpgsql STABLE AS $$
  DECLARE result ${pg}; BEGIN result := CAST(${value} AS ${pg});${range} RETURN result; EXCEPTION WHEN data_exception THEN RETURN NULL; END $$;`;
    }),
    `CREATE OR REPLACE FUNCTION _lakehouse.try_cast_decimal(value ${argument}, digits int, places int) RETURNS numeric LANGUAGE plpgsql STABLE AS $$
  DECLARE result numeric; BEGIN result := round(CAST(value AS numeric), places);
  IF abs(result) >= 10::numeric ^ (digits - places) THEN RETURN NULL; END IF; RETURN result;
  EXCEPTION WHEN data_exception THEN RETURN NULL; END $$;`,
  ])
  .join('\n');

/**
 * `_lakehouse.array_index(a, i)`: the PostgreSQL subscript of `a[i]` as Databricks SQL reads it,
 * from 0, and past either end an INVALID_ARRAY_INDEX error (SQLSTATE 2202E here, mapped by
 * errors.ts), not NULL. The subscript stays PostgreSQL's, so the result column keeps the array
 * column's name.
 */
const ARRAY_INDEX_SQL = `CREATE OR REPLACE FUNCTION _lakehouse.array_index(items anyarray, i bigint) RETURNS integer LANGUAGE plpgsql IMMUTABLE AS $$
  BEGIN
    IF items IS NULL OR i IS NULL THEN RETURN NULL; END IF;
    IF i < 0 OR i >= cardinality(items) THEN
      RAISE EXCEPTION 'The index % is out of bounds. The array has % elements. Use the SQL function get() to tolerate accessing element at invalid index and return NULL instead', i, cardinality(items)
        USING ERRCODE = '2202E';
    END IF;
    RETURN i + 1;
  END $$;`;

/** The functions translated statements call (CAST, TRY_CAST, a[i]), made with the lakehouse's catalog. */
export const TRANSLATION_FUNCTIONS_SQL = `${INTEGRAL_SQL}\n${TRY_CAST_SQL}\n${ARRAY_INDEX_SQL}`;

/** TRY_CAST(sql AS type) as PostgreSQL, or undefined for a type it has no function for (complex types). */
export function tryCastSql(valueSql: string, type: SqlType): string | undefined {
  if (type.kind === 'decimal') return `CAST(_lakehouse.try_cast_decimal(${valueSql}, ${type.precision}, ${type.scale}) AS numeric(${type.precision},${type.scale}))`;
  return TRY_CAST_TARGETS[type.kind] === undefined ? undefined : `_lakehouse.try_cast_${type.kind}(${valueSql})`;
}
