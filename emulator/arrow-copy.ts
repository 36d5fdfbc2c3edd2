// Arrow record batches (what a Databricks SQL warehouse and the emulator's lakehouse return) as
// PostgreSQL COPY text, and the PostgreSQL type each Arrow column becomes: how rows of a Delta
// table are written into a Lakebase table. Used by the emulator's synced tables; a pure module
// (apache-arrow only), at the bottom layer so that the kernel's sync engine can share it.
//
// Type mapping (Delta/Databricks type → PostgreSQL), as synced tables create their target:
//   BOOLEAN → boolean; TINYINT, SMALLINT → smallint; INT → integer; BIGINT → bigint;
//   FLOAT → real; DOUBLE → double precision; DECIMAL(p,s) → numeric(p,s); STRING → text;
//   BINARY → bytea; DATE → date; TIMESTAMP → timestamp with time zone;
//   TIMESTAMP_NTZ → timestamp without time zone; ARRAY, MAP, STRUCT → jsonb; VOID → text.
// Databricks does not publish its table (docs/databricks-apis.md §1.5); this one keeps every
// value exact, and nested values as JSON that PostgreSQL can index and query.
//
// Values are read from the Arrow buffers where the JavaScript value would lose precision:
// decimals (128-bit integers with a scale), timestamps (microseconds), dates (days).
import * as arrow from 'apache-arrow';

export function postgresTypeOf(type: arrow.DataType): string {
  switch (type.typeId) {
    case arrow.Type.Bool:
      return 'boolean';
    case arrow.Type.Int: {
      const int = type as arrow.Int;
      return int.bitWidth <= 16 ? 'smallint' : int.bitWidth === 32 ? 'integer' : 'bigint';
    }
    case arrow.Type.Float:
      return (type as arrow.Float).precision === arrow.Precision.DOUBLE ? 'double precision' : 'real';
    case arrow.Type.Decimal: {
      const decimal = type as arrow.Decimal;
      return `numeric(${decimal.precision},${decimal.scale})`;
    }
    case arrow.Type.Utf8:
    case arrow.Type.LargeUtf8:
    case arrow.Type.Null:
      return 'text';
    case arrow.Type.Binary:
    case arrow.Type.LargeBinary:
      return 'bytea';
    case arrow.Type.Date:
      return 'date';
    case arrow.Type.Timestamp:
      return (type as arrow.Timestamp).timezone ? 'timestamp with time zone' : 'timestamp without time zone';
    case arrow.Type.List:
    case arrow.Type.Struct:
    case arrow.Type.Map:
      return 'jsonb';
    default:
      throw new Error(`No PostgreSQL type for the Arrow type ${String(type)}.`);
  }
}

/** Escapes text for COPY's text format: backslash, tab, newline and carriage return. */
export function escapeCopyText(text: string): string {
  return /[\\\t\n\r]/.test(text) ? text.replace(/[\\\t\n\r]/g, (char) => (char === '\\' ? '\\\\' : char === '\t' ? '\\t' : char === '\n' ? '\\n' : '\\r')) : text;
}

const MICROS_PER_DAY = 86_400_000_000n;

/** `2026-01-02 03:04:05.123456` from microseconds since the epoch (UTC). */
function microsText(micros: bigint): string {
  const days = micros >= 0n ? micros / MICROS_PER_DAY : -((-micros + MICROS_PER_DAY - 1n) / MICROS_PER_DAY);
  const inDay = micros - days * MICROS_PER_DAY;
  const date = dayText(Number(days));
  const seconds = Number(inDay / 1_000_000n);
  const fraction = Number(inDay % 1_000_000n);
  const hh = String(Math.floor(seconds / 3600)).padStart(2, '0');
  const mm = String(Math.floor((seconds % 3600) / 60)).padStart(2, '0');
  const ss = String(seconds % 60).padStart(2, '0');
  return `${date} ${hh}:${mm}:${ss}${fraction ? `.${String(fraction).padStart(6, '0')}` : ''}`;
}

/** `2026-01-02` (or `0044-03-15 BC`) from days since the epoch. */
function dayText(days: number): string {
  const date = new Date(days * 86_400_000);
  const year = date.getUTCFullYear();
  const month = String(date.getUTCMonth() + 1).padStart(2, '0');
  const day = String(date.getUTCDate()).padStart(2, '0');
  // PostgreSQL writes years before 1 as "BC" (year 0 is 1 BC).
  return year > 0 ? `${String(year).padStart(4, '0')}-${month}-${day}` : `${String(1 - year).padStart(4, '0')}-${month}-${day} BC`;
}

/** A decimal's 128-bit two's complement integer (four little-endian 32-bit words) with `scale` digits after the point. */
function decimalText(words: Uint32Array, at: number, scale: number): string {
  let value = 0n;
  for (let word = 3; word >= 0; word--) value = (value << 32n) | BigInt(words[at + word]);
  if (value >= 1n << 127n) value -= 1n << 128n;
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(scale + 1, '0');
  const text = scale > 0 ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return negative ? `-${text}` : text;
}

function jsonValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') return (value as { toJSON(): unknown }).toJSON();
  return value;
}

function jsonText(value: unknown): string {
  return JSON.stringify(value, (_key, nested: unknown) => jsonValue(nested));
}

/** Writes one column's value at `row` as COPY text (without escaping for nulls: the caller checks validity). */
type ValueWriter = (row: number) => string;

function writerFor(vector: arrow.Vector): ValueWriter {
  const type = vector.type as arrow.DataType;
  // Single-chunk vectors (one batch's column): buffers are read at the chunk's offset.
  const data = vector.data[0];
  const offset = data.offset;
  switch (type.typeId) {
    case arrow.Type.Bool:
      return (row) => (vector.get(row) ? 't' : 'f');
    case arrow.Type.Int:
    case arrow.Type.Float:
      return (row) => {
        const value = vector.get(row) as number | bigint;
        if (typeof value === 'number' && !Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
        return String(value);
      };
    case arrow.Type.Decimal: {
      const scale = (type as arrow.Decimal).scale;
      const words = data.values as Uint32Array;
      return (row) => decimalText(words, (offset + row) * 4, scale);
    }
    case arrow.Type.Utf8:
    case arrow.Type.LargeUtf8:
      return (row) => escapeCopyText(vector.get(row) as string);
    case arrow.Type.Binary:
    case arrow.Type.LargeBinary:
      // bytea's hex input, with COPY's own backslash doubled.
      return (row) => `\\\\x${Buffer.from(vector.get(row) as Uint8Array).toString('hex')}`;
    case arrow.Type.Date: {
      const unit = (type as arrow.Date_).unit;
      const values = data.values as Int32Array | BigInt64Array;
      return unit === arrow.DateUnit.DAY
        ? (row) => dayText((values as Int32Array)[offset + row])
        : (row) => dayText(Math.floor(Number((values as BigInt64Array)[offset + row]) / 86_400_000));
    }
    case arrow.Type.Timestamp: {
      const timestamp = type as arrow.Timestamp;
      const perMicro = { [arrow.TimeUnit.SECOND]: 1_000_000n, [arrow.TimeUnit.MILLISECOND]: 1000n, [arrow.TimeUnit.MICROSECOND]: 1n, [arrow.TimeUnit.NANOSECOND]: 0n }[timestamp.unit];
      const values = data.values as BigInt64Array;
      const zone = timestamp.timezone ? '+00' : '';
      return (row) => {
        const raw = values[offset + row];
        const micros = perMicro === 0n ? raw / 1000n : raw * perMicro;
        return `${microsText(micros)}${zone}`;
      };
    }
    case arrow.Type.List:
    case arrow.Type.Struct:
    case arrow.Type.Map:
      return (row) => escapeCopyText(jsonText(vector.get(row)));
    case arrow.Type.Null:
      return () => '\\N';
    default:
      throw new Error(`Cannot write the Arrow type ${String(type)} as COPY text.`);
  }
}

/**
 * The rows of `batch` as COPY text (tab-separated, `\N` for NULL, one line per row), with the
 * columns in `columns` order (default: the batch's). Rows for which `skip` is true are left out
 * (synced tables skip rows whose primary key has a NULL).
 */
export function batchToCopyText(batch: arrow.RecordBatch, columns?: readonly string[], skip?: (row: number) => boolean): { text: string; rows: number } {
  const names = columns ?? batch.schema.fields.map((field) => field.name);
  const vectors = names.map((name) => {
    const vector = batch.getChild(name);
    if (!vector) throw new Error(`The batch has no column "${name}".`);
    return vector;
  });
  const writers = vectors.map(writerFor);
  const lines: string[] = [];
  for (let row = 0; row < batch.numRows; row++) {
    if (skip?.(row)) continue;
    const cells = vectors.map((vector, index) => (vector.isValid(row) ? writers[index](row) : '\\N'));
    lines.push(cells.join('\t'));
  }
  return { text: lines.length > 0 ? `${lines.join('\n')}\n` : '', rows: lines.length };
}
