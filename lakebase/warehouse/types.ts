// A SQL warehouse's result columns, read from the Arrow schema it sends (native Arrow types:
// decimals, timestamps, lists, maps and structs as themselves): their Databricks type names, the
// JavaScript values a notebook gets, and the TypeScript types `--into` declares for them.
//
// Values, chosen to read like PostgreSQL results do in this kernel:
//   BOOLEAN → boolean; TINYINT, SMALLINT, INT, FLOAT, DOUBLE → number; BIGINT → bigint (exact);
//   DECIMAL → string (exact, as node-postgres gives numeric); STRING → string; BINARY → Buffer;
//   DATE → Date at local midnight (as node-postgres gives date); TIMESTAMP (an instant) → Date;
//   TIMESTAMP_NTZ → Date with the wall time in local fields (as node-postgres gives timestamp);
//   ARRAY → array; MAP → plain object (keys as text); STRUCT → plain object.
import * as arrow from 'apache-arrow';
import type { Column } from '../contracts';
import { typeScriptString } from '../pg-types';

/** Databricks type text (`decimal(10,2)`, `array<int>`, `map<string,bigint>`) of an Arrow type. */
export function databricksType(type: arrow.DataType): string {
  switch (type.typeId) {
    case arrow.Type.Bool:
      return 'boolean';
    case arrow.Type.Int: {
      const int = type as arrow.Int;
      return ({ 8: 'tinyint', 16: 'smallint', 32: 'int', 64: 'bigint' } as Record<number, string>)[int.bitWidth] ?? 'bigint';
    }
    case arrow.Type.Float: {
      return (type as arrow.Float).precision === arrow.Precision.SINGLE ? 'float' : 'double';
    }
    case arrow.Type.Decimal: {
      const decimal = type as arrow.Decimal;
      return `decimal(${decimal.precision},${decimal.scale})`;
    }
    case arrow.Type.Utf8:
    case arrow.Type.LargeUtf8:
      return 'string';
    case arrow.Type.Binary:
    case arrow.Type.LargeBinary:
      return 'binary';
    case arrow.Type.Date:
      return 'date';
    case arrow.Type.Timestamp:
      return (type as arrow.Timestamp).timezone ? 'timestamp' : 'timestamp_ntz';
    case arrow.Type.Null:
      return 'void';
    case arrow.Type.List:
      return `array<${databricksType((type as arrow.List).children[0].type)}>`;
    case arrow.Type.Map: {
      const entries = (type as arrow.Map_).children[0].type as arrow.Struct;
      return `map<${databricksType(entries.children[0].type)},${databricksType(entries.children[1].type)}>`;
    }
    case arrow.Type.Struct:
      return `struct<${(type as arrow.Struct).children.map((field) => `${field.name}:${databricksType(field.type)}`).join(',')}>`;
    default:
      return String(type).toLowerCase();
  }
}

/** PostgreSQL OIDs and names whose values render like these (numbers align right, dates format). */
const RENDER_AS: Readonly<Record<string, [number, string]>> = {
  boolean: [16, 'bool'],
  tinyint: [21, 'int2'],
  smallint: [21, 'int2'],
  int: [23, 'int4'],
  bigint: [20, 'int8'],
  float: [700, 'float4'],
  double: [701, 'float8'],
  string: [25, 'text'],
  binary: [17, 'bytea'],
  date: [1082, 'date'],
  timestamp: [1184, 'timestamptz'],
  timestamp_ntz: [1114, 'timestamp'],
  void: [25, 'text'],
};

/** The result column of an Arrow field. */
export function columnOf(field: arrow.Field): Column {
  const type = databricksType(field.type);
  const base = type.startsWith('decimal') ? ([1700, 'numeric'] as [number, string]) : RENDER_AS[type];
  return { name: field.name, typeOid: base?.[0] ?? 0, typeName: base?.[1] ?? type, tableOid: 0, columnNumber: 0, databricksType: type };
}

/** The JavaScript value of an Arrow value (see the header). */
export function valueOf(value: unknown, type: arrow.DataType): unknown {
  if (value === null || value === undefined) return null;
  switch (type.typeId) {
    case arrow.Type.Int:
      return (type as arrow.Int).bitWidth === 64 ? BigInt(value as bigint) : value;
    case arrow.Type.Decimal:
      return decimalText(value as Uint32Array, (type as arrow.Decimal).scale);
    case arrow.Type.Binary:
    case arrow.Type.LargeBinary: {
      const bytes = value as Uint8Array;
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    case arrow.Type.Date: {
      const utc = new Date(value as number);
      return new Date(utc.getUTCFullYear(), utc.getUTCMonth(), utc.getUTCDate());
    }
    case arrow.Type.Timestamp: {
      const timestamp = type as arrow.Timestamp;
      const ms = Number(value);
      if (timestamp.timezone) return new Date(ms);
      const utc = new Date(ms);
      return new Date(utc.getUTCFullYear(), utc.getUTCMonth(), utc.getUTCDate(), utc.getUTCHours(), utc.getUTCMinutes(), utc.getUTCSeconds(), utc.getUTCMilliseconds());
    }
    case arrow.Type.List: {
      const element = (type as arrow.List).children[0].type;
      return [...(value as Iterable<unknown>)].map((item) => valueOf(item, element));
    }
    case arrow.Type.Map: {
      const entries = (type as arrow.Map_).children[0].type as arrow.Struct;
      const result: Record<string, unknown> = {};
      for (const [key, inner] of value as Iterable<[unknown, unknown]>) result[String(valueOf(key, entries.children[0].type))] = valueOf(inner, entries.children[1].type);
      return result;
    }
    case arrow.Type.Struct: {
      const struct = type as arrow.Struct;
      const row = value as { [key: string]: unknown };
      return Object.fromEntries(struct.children.map((field) => [field.name, valueOf(row[field.name], field.type)]));
    }
    default:
      return value;
  }
}

function decimalText(words: Uint32Array, scale: number): string {
  let unscaled = 0n;
  for (let i = words.length - 1; i >= 0; i--) unscaled = (unscaled << 32n) | BigInt(words[i]);
  unscaled = BigInt.asIntN(words.length * 32, unscaled);
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const text = scale > 0 ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return negative ? `-${text}` : text;
}

/** Every row of a record batch as values in column order. */
export function batchRows(batch: arrow.RecordBatch, limit = batch.numRows): unknown[][] {
  const count = Math.min(limit, batch.numRows);
  const columns = batch.schema.fields.map((field, i) => ({ vector: batch.getChildAt(i)!, type: field.type }));
  const rows: unknown[][] = new Array(count);
  for (let row = 0; row < count; row++) rows[row] = columns.map((column) => valueOf(column.vector.get(row), column.type));
  return rows;
}

/** The TypeScript type of a column's values (see the header); `| null` always: Arrow schemas of results say nothing reliable about NULL. */
export function tsTypeOfDatabricks(type: arrow.DataType): string {
  const inner = (t: arrow.DataType): string => {
    switch (t.typeId) {
      case arrow.Type.Bool:
        return 'boolean';
      case arrow.Type.Int:
        return (t as arrow.Int).bitWidth === 64 ? 'bigint' : 'number';
      case arrow.Type.Float:
        return 'number';
      case arrow.Type.Decimal:
      case arrow.Type.Utf8:
      case arrow.Type.LargeUtf8:
        return 'string';
      case arrow.Type.Binary:
      case arrow.Type.LargeBinary:
        return 'Buffer';
      case arrow.Type.Date:
      case arrow.Type.Timestamp:
        return 'Date';
      case arrow.Type.Null:
        return 'null';
      case arrow.Type.List:
        return `(${inner((t as arrow.List).children[0].type)} | null)[]`;
      case arrow.Type.Map: {
        const entries = (t as arrow.Map_).children[0].type as arrow.Struct;
        return `Record<string, ${inner(entries.children[1].type)} | null>`;
      }
      case arrow.Type.Struct:
        return `{ ${(t as arrow.Struct).children.map((field) => `${typeScriptString(field.name)}: ${inner(field.type)} | null`).join('; ')} }`;
      default:
        return 'unknown';
    }
  };
  const text = inner(type);
  return text === 'null' || text === 'unknown' ? text : `${text} | null`;
}

/** `{ "id": bigint | null; ... }`: the row type of a result's Arrow schema (a later duplicate name wins). */
export function rowTypeOfArrow(schema: arrow.Schema): string {
  const fields = new Map<string, string>();
  for (const field of schema.fields) fields.set(field.name, tsTypeOfDatabricks(field.type));
  if (fields.size === 0) return '{}';
  return `{ ${Array.from(fields, ([key, type]) => `${typeScriptString(key)}: ${type}`).join('; ')} }`;
}
