// Results as Arrow, the way a Databricks SQL warehouse sends them (`useArrowNativeTypes`: native
// decimals, timestamps and nested types), built straight from PostgreSQL's binary COPY format:
// each column is written into Arrow buffers as its bytes arrive, with no JavaScript value per
// row for the common types (numbers, dates, timestamps, text, bytes). That is what lets a
// million-row result leave the emulator at the speed of `psql \copy` rather than of a row parser.
//
// Binary COPY: https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4 (a header,
// then per row an int16 field count and per field an int32 length, -1 for NULL, and the value in
// the type's binary send format); arrays and records as array_send / record_send write them.
import * as arrow from 'apache-arrow';
import type { SqlType } from './types';

/** Days and microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01 (binary dates and timestamps count from there). */
const PG_EPOCH_DAYS = 10_957;
const PG_EPOCH_MICROS = 946_684_800_000_000;

export interface ResultColumn {
  name: string;
  type: SqlType;
  nullable: boolean;
}

/** The Arrow type of a Databricks type, as warehouses send it with native Arrow types on. */
export function arrowType(type: SqlType): arrow.DataType {
  switch (type.kind) {
    case 'boolean':
      return new arrow.Bool();
    case 'tinyint':
      return new arrow.Int8();
    case 'smallint':
      return new arrow.Int16();
    case 'int':
      return new arrow.Int32();
    case 'bigint':
      return new arrow.Int64();
    case 'float':
      return new arrow.Float32();
    case 'double':
      return new arrow.Float64();
    case 'decimal':
      return new arrow.Decimal(type.scale, type.precision, 128);
    case 'string':
      return new arrow.Utf8();
    case 'void':
      return new arrow.Null();
    case 'binary':
      return new arrow.Binary();
    case 'date':
      return new arrow.DateDay();
    case 'timestamp':
      return new arrow.TimestampMicrosecond('Etc/UTC');
    case 'timestamp_ntz':
      return new arrow.TimestampMicrosecond();
    case 'array':
      return new arrow.List(new arrow.Field('element', arrowType(type.element), true));
    case 'map':
      return new arrow.Map_(
        new arrow.Field('entries', new arrow.Struct([new arrow.Field('key', arrowType(type.key), false), new arrow.Field('value', arrowType(type.value), true)] as arrow.Field[]), false) as never,
      );
    case 'struct':
      return new arrow.Struct(type.fields.map((field) => new arrow.Field(field.name, arrowType(field.type), true)));
  }
}

export function arrowSchema(columns: readonly ResultColumn[]): arrow.Schema {
  return new arrow.Schema(columns.map((column) => new arrow.Field(column.name, arrowType(column.type), column.nullable)));
}

// -----------------------------------------------------------------------------------------------
// Column writers: PostgreSQL binary values in, Arrow buffers out
//
// They run once per value of every row of a result (five million calls for a million rows of five
// columns), so each one makes no JavaScript object per value: no BigInt, no Buffer slice, no
// closure call. 64-bit values are written as two 32-bit words, which is where the time went before
// (a BigInt per timestamp and per decimal kept the garbage collector busy for a third of a read).
// Arrow's buffers are little-endian, as typed arrays are on every platform Node runs on here.

const TWO_32 = 4_294_967_296;
const POWERS_OF_TEN = Array.from({ length: 16 }, (_, i) => 10 ** i);

/** Growable typed storage. */
class Growable<T extends Int8Array | Int16Array | Int32Array | Float32Array | Float64Array | Uint8Array | Uint32Array> {
  array: T;
  length = 0;
  constructor(private readonly make: (size: number) => T, initial = 1024) {
    this.array = make(Math.max(16, initial));
  }
  reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.array.length) return;
    let size = this.array.length * 2;
    while (size < needed) size *= 2;
    const next = this.make(size);
    next.set(this.array.subarray(0, this.length) as never);
    this.array = next;
  }
  take(): T {
    return this.array.subarray(0, this.length) as T;
  }
}

/**
 * A column's validity bitmap, made only when its first NULL arrives: most columns have none, and
 * Arrow then needs no bitmap at all. Rows never marked are valid (new bytes start all ones).
 */
class Validity {
  #bits: Uint8Array | undefined;
  nullCount = 0;
  setNull(row: number): void {
    this.#room(row + 1);
    this.#bits![row >> 3] &= ~(1 << (row & 7));
    this.nullCount++;
  }
  take(length: number): Uint8Array | undefined {
    if (this.nullCount === 0) return undefined;
    this.#room(length);
    return this.#bits!.subarray(0, (length + 7) >> 3);
  }
  #room(rows: number): void {
    const bytes = (rows + 7) >> 3;
    if (this.#bits !== undefined && bytes <= this.#bits.length) return;
    const next = new Uint8Array(Math.max(128, bytes * 2)).fill(0xff);
    if (this.#bits !== undefined) next.set(this.#bits);
    this.#bits = next;
  }
}

interface ColumnWriter {
  readonly type: arrow.DataType;
  /** Appends the value in `view` at `offset` (`length` bytes), or NULL when `length` is -1. */
  append(bytes: Uint8Array, view: DataView, offset: number, length: number): void;
  finish(): arrow.Data;
  /**
   * How big its buffers grew, for the next batch's writer of the column to start at (batches of a
   * stream are alike; growing from small again each batch was most of the allocations).
   */
  sizes?(): number[];
}

function writerFor(type: SqlType, sizes: readonly number[] = []): ColumnWriter {
  switch (type.kind) {
    case 'boolean':
      return new BoolWriter();
    case 'tinyint':
      return new FixedWriter(new arrow.Int8(), FixedKind.Int8FromInt16, sizes);
    case 'smallint':
      return new FixedWriter(new arrow.Int16(), FixedKind.Int16, sizes);
    case 'int':
      return new FixedWriter(new arrow.Int32(), FixedKind.Int32, sizes);
    case 'float':
      return new FixedWriter(new arrow.Float32(), FixedKind.Float32, sizes);
    case 'double':
      return new FixedWriter(new arrow.Float64(), FixedKind.Float64, sizes);
    case 'date':
      return new FixedWriter(new arrow.DateDay(), FixedKind.Date, sizes);
    case 'bigint':
      return new Int64Writer(new arrow.Int64(), 0, sizes);
    case 'timestamp':
    case 'timestamp_ntz':
      return new Int64Writer(arrowType(type), PG_EPOCH_MICROS, sizes);
    case 'string':
      return new BytesWriter(new arrow.Utf8(), sizes);
    case 'binary':
      return new BytesWriter(new arrow.Binary(), sizes);
    case 'void':
      return new NullWriter();
    case 'decimal':
      return new DecimalWriter(type.precision, type.scale, sizes);
    case 'array':
      return new ListWriter(type);
    case 'struct':
      return new StructWriter(type);
    case 'map':
      return new MapWriter(type);
  }
}

const enum FixedKind {
  /** TINYINT is stored as smallint: two bytes in, one out. */
  Int8FromInt16,
  Int16,
  Int32,
  Float32,
  Float64,
  /** Days since 2000-01-01 in, days since 1970-01-01 out. */
  Date,
}

function storageFor(kind: FixedKind): (size: number) => Int8Array | Int16Array | Int32Array | Float32Array | Float64Array {
  switch (kind) {
    case FixedKind.Int8FromInt16:
      return (size) => new Int8Array(size);
    case FixedKind.Int16:
      return (size) => new Int16Array(size);
    case FixedKind.Int32:
    case FixedKind.Date:
      return (size) => new Int32Array(size);
    case FixedKind.Float32:
      return (size) => new Float32Array(size);
    case FixedKind.Float64:
      return (size) => new Float64Array(size);
  }
}

/** Values of at most 32 bits (and doubles), one typed-array slot each. */
class FixedWriter implements ColumnWriter {
  readonly #values: Growable<Int8Array | Int16Array | Int32Array | Float32Array | Float64Array>;
  readonly #validity = new Validity();
  constructor(
    readonly type: arrow.DataType,
    private readonly kind: FixedKind,
    sizes: readonly number[],
  ) {
    this.#values = new Growable(storageFor(kind), sizes[0]);
  }
  append(_bytes: Uint8Array, view: DataView, offset: number, length: number): void {
    const values = this.#values;
    values.reserve(1);
    const row = values.length++;
    if (length < 0) {
      values.array[row] = 0;
      this.#validity.setNull(row);
      return;
    }
    switch (this.kind) {
      case FixedKind.Int8FromInt16:
      case FixedKind.Int16:
        values.array[row] = view.getInt16(offset);
        break;
      case FixedKind.Int32:
        values.array[row] = view.getInt32(offset);
        break;
      case FixedKind.Date:
        values.array[row] = view.getInt32(offset) + PG_EPOCH_DAYS;
        break;
      case FixedKind.Float32:
        values.array[row] = view.getFloat32(offset);
        break;
      case FixedKind.Float64:
        values.array[row] = view.getFloat64(offset);
        break;
    }
  }
  finish(): arrow.Data {
    const length = this.#values.length;
    return arrow.makeData({ type: this.type as never, length, nullCount: this.#validity.nullCount, nullBitmap: this.#validity.take(length), data: this.#values.take() } as never);
  }
  sizes(): number[] {
    return [this.#values.length];
  }
}

/**
 * BIGINT and the timestamps: two 32-bit words per value, plus a constant (the epoch shift of
 * timestamps) added with a carry, so that no BigInt is made per value.
 */
class Int64Writer implements ColumnWriter {
  readonly #words: Growable<Int32Array>;
  readonly #validity = new Validity();
  readonly #addLow: number;
  readonly #addHigh: number;
  #length = 0;
  constructor(
    readonly type: arrow.DataType,
    /** Added to every value; a safe integer. */
    add: number,
    sizes: readonly number[],
  ) {
    this.#words = new Growable((size) => new Int32Array(size), sizes[0] ?? 2048);
    this.#addLow = add % TWO_32;
    this.#addHigh = Math.floor(add / TWO_32);
  }
  append(_bytes: Uint8Array, view: DataView, offset: number, length: number): void {
    const words = this.#words;
    words.reserve(2);
    const at = words.length;
    words.length += 2;
    const row = this.#length++;
    if (length < 0) {
      words.array[at] = 0;
      words.array[at + 1] = 0;
      this.#validity.setNull(row);
      return;
    }
    // Big-endian in, little-endian words out: low word first.
    const low = view.getUint32(offset + 4) + this.#addLow;
    words.array[at] = low | 0;
    words.array[at + 1] = (view.getInt32(offset) + this.#addHigh + (low >= TWO_32 ? 1 : 0)) | 0;
  }
  finish(): arrow.Data {
    const words = this.#words.take();
    const values = new BigInt64Array(words.buffer, words.byteOffset, this.#length);
    return arrow.makeData({ type: this.type as never, length: this.#length, nullCount: this.#validity.nullCount, nullBitmap: this.#validity.take(this.#length), data: values } as never);
  }
  sizes(): number[] {
    return [this.#words.length];
  }
}

class BoolWriter implements ColumnWriter {
  readonly type = new arrow.Bool();
  readonly #values = new Growable((size) => new Uint8Array(size), 128);
  readonly #validity = new Validity();
  #length = 0;
  append(bytes: Uint8Array, _view: DataView, offset: number, length: number): void {
    const row = this.#length++;
    const byte = row >> 3;
    if (byte >= this.#values.length) {
      this.#values.reserve(1);
      this.#values.array[byte] = 0;
      this.#values.length = byte + 1;
    }
    if (length < 0) this.#validity.setNull(row);
    else if (bytes[offset] !== 0) this.#values.array[byte] |= 1 << (row & 7);
  }
  finish(): arrow.Data {
    return arrow.makeData({ type: this.type, length: this.#length, nullCount: this.#validity.nullCount, nullBitmap: this.#validity.take(this.#length), data: this.#values.take() });
  }
}

class NullWriter implements ColumnWriter {
  readonly type = new arrow.Null();
  #length = 0;
  append(): void {
    this.#length++;
  }
  finish(): arrow.Data {
    return arrow.makeData({ type: this.type, length: this.#length, nullCount: this.#length });
  }
}

/** Values this long or shorter are copied byte by byte: cheaper than the view a `set` needs. */
const SHORT_VALUE_BYTES = 64;

class BytesWriter implements ColumnWriter {
  readonly #offsets: Growable<Int32Array>;
  readonly #data: Growable<Uint8Array>;
  readonly #validity = new Validity();
  constructor(
    readonly type: arrow.Utf8 | arrow.Binary,
    sizes: readonly number[],
  ) {
    this.#offsets = new Growable((size) => new Int32Array(size), sizes[0]);
    // Values vary in length from batch to batch: some room above the last batch's.
    this.#data = new Growable((size) => new Uint8Array(size), sizes[1] === undefined ? 16 * 1024 : Math.ceil(sizes[1] * 1.125));
    this.#offsets.array[0] = 0;
    this.#offsets.length = 1;
  }
  append(bytes: Uint8Array, _view: DataView, offset: number, length: number): void {
    const data = this.#data;
    if (length > 0) {
      data.reserve(length);
      const target = data.array;
      const at = data.length;
      if (length <= SHORT_VALUE_BYTES) for (let i = 0; i < length; i++) target[at + i] = bytes[offset + i];
      else target.set(bytes.subarray(offset, offset + length), at);
      data.length = at + length;
    }
    const offsets = this.#offsets;
    offsets.reserve(1);
    if (length < 0) this.#validity.setNull(offsets.length - 1);
    offsets.array[offsets.length++] = data.length;
  }
  finish(): arrow.Data {
    const length = this.#offsets.length - 1;
    return arrow.makeData({
      type: this.type as arrow.Utf8,
      length,
      nullCount: this.#validity.nullCount,
      nullBitmap: this.#validity.take(length),
      valueOffsets: this.#offsets.take(),
      data: this.#data.take(),
    });
  }
  sizes(): number[] {
    return [this.#offsets.length, this.#data.length];
  }
}

const NUMERIC_POSITIVE = 0x0000;
const NUMERIC_NEGATIVE = 0x4000;

/**
 * numeric's binary form (base-10000 digits with a weight, numeric_send) as the unscaled 128-bit
 * two's-complement integer of DECIMAL(p, s). Values whose unscaled integer is a safe JavaScript
 * integer (up to 15 digits: DECIMAL(12,1) money, counts) are computed in doubles exactly; wider
 * ones take the BigInt path.
 */
class DecimalWriter implements ColumnWriter {
  readonly type: arrow.Decimal;
  readonly #words: Growable<Uint32Array>;
  readonly #validity = new Validity();
  #length = 0;
  constructor(
    precision: number,
    readonly scale: number,
    sizes: readonly number[],
  ) {
    this.type = new arrow.Decimal(scale, precision, 128);
    this.#words = new Growable((size) => new Uint32Array(size), sizes[0] ?? 4096);
  }
  append(_bytes: Uint8Array, view: DataView, offset: number, length: number): void {
    const words = this.#words;
    words.reserve(4);
    const at = words.length;
    words.length += 4;
    const row = this.#length++;
    const out = words.array;
    if (length < 0) {
      out[at] = out[at + 1] = out[at + 2] = out[at + 3] = 0;
      this.#validity.setNull(row);
      return;
    }
    const digits = view.getInt16(offset);
    const weight = view.getInt16(offset + 2);
    const sign = view.getUint16(offset + 4);
    if (sign !== NUMERIC_POSITIVE && sign !== NUMERIC_NEGATIVE) throw new Error('NaN and infinity cannot be DECIMAL values.');
    // value = Σ digit[i] · 10000^(weight − i); unscaled = value · 10^scale = n · 10^shift, where n
    // is the digits read as one integer.
    const shift = (weight - digits + 1) * 4 + this.scale;
    let n = 0;
    for (let i = 0; i < digits; i++) n = n * 10_000 + view.getInt16(offset + 8 + i * 2);
    // A product or sum past 2^53 rounds to at least 2^53, so comparing with MAX_SAFE_INTEGER after
    // each step catches every inexact one.
    if (n > Number.MAX_SAFE_INTEGER || -shift >= POWERS_OF_TEN.length) n = Number.POSITIVE_INFINITY;
    else if (shift >= 0) n = shift < POWERS_OF_TEN.length ? n * POWERS_OF_TEN[shift] : Number.POSITIVE_INFINITY;
    else {
      // The last base-10000 group has more fraction digits than the scale (1.5 is 1|5000 with
      // scale 1): drop them, truncating as a cast does. Both steps are exact on safe integers.
      const divisor = POWERS_OF_TEN[-shift];
      n = (n - (n % divisor)) / divisor;
    }
    if (n > Number.MAX_SAFE_INTEGER) {
      this.#appendWide(view, offset, digits, shift, sign, at);
      return;
    }
    const low = n % TWO_32;
    const high = (n - low) / TWO_32;
    if (sign === NUMERIC_POSITIVE || n === 0) {
      out[at] = low;
      out[at + 1] = high;
      out[at + 2] = out[at + 3] = 0;
    } else {
      // 2^128 − n, word by word (n > 0, so the two high words are all ones).
      out[at] = (TWO_32 - low) % TWO_32;
      out[at + 1] = (TWO_32 - 1 - high + (low === 0 ? 1 : 0)) % TWO_32;
      out[at + 2] = out[at + 3] = 0xffff_ffff;
    }
  }
  #appendWide(view: DataView, offset: number, digits: number, shift: number, sign: number, at: number): void {
    let unscaled = 0n;
    for (let i = 0; i < digits; i++) unscaled = unscaled * 10000n + BigInt(view.getInt16(offset + 8 + i * 2));
    // Truncated as a cast does when the value has more fraction digits than the column.
    unscaled = shift >= 0 ? unscaled * 10n ** BigInt(shift) : unscaled / 10n ** BigInt(-shift);
    if (sign === NUMERIC_NEGATIVE) unscaled = -unscaled;
    let twos = BigInt.asUintN(128, unscaled);
    for (let word = 0; word < 4; word++) {
      this.#words.array[at + word] = Number(twos & 0xffffffffn);
      twos >>= 32n;
    }
  }
  finish(): arrow.Data {
    return arrow.makeData({ type: this.type, length: this.#length, nullCount: this.#validity.nullCount, nullBitmap: this.#validity.take(this.#length), data: this.#words.take() });
  }
  sizes(): number[] {
    return [this.#words.length];
  }
}

/** Elements of a one-dimensional PostgreSQL array in binary form: [offset, length] of each. */
function arrayElements(view: DataView, offset: number): [number, number][] {
  const dimensions = view.getInt32(offset);
  if (dimensions === 0) return [];
  if (dimensions > 1) throw new Error('Multi-dimensional arrays have no Databricks type.');
  const count = view.getInt32(offset + 12);
  const elements: [number, number][] = [];
  let at = offset + 20;
  for (let i = 0; i < count; i++) {
    const length = view.getInt32(at);
    elements.push([at + 4, length]);
    at += 4 + Math.max(0, length);
  }
  return elements;
}

/** Fields of a PostgreSQL record in binary form: [offset, length] of each. */
function recordFields(view: DataView, offset: number): [number, number][] {
  const count = view.getInt32(offset);
  const fields: [number, number][] = [];
  let at = offset + 4;
  for (let i = 0; i < count; i++) {
    const length = view.getInt32(at + 4);
    fields.push([at + 8, length]);
    at += 8 + Math.max(0, length);
  }
  return fields;
}

class ListWriter implements ColumnWriter {
  readonly type: arrow.DataType;
  readonly #child: ColumnWriter;
  readonly #offsets = new Growable((size) => new Int32Array(size));
  readonly #validity = new Validity();
  #count = 0;
  constructor(type: SqlType & { kind: 'array' }) {
    this.type = arrowType(type);
    this.#child = writerFor(type.element);
    this.#offsets.array[0] = 0;
    this.#offsets.length = 1;
  }
  append(bytes: Uint8Array, view: DataView, offset: number, length: number): void {
    if (length >= 0) {
      for (const [at, size] of arrayElements(view, offset)) this.#child.append(bytes, view, at, size), this.#count++;
    }
    this.#offsets.reserve(1);
    if (length < 0) this.#validity.setNull(this.#offsets.length - 1);
    this.#offsets.array[this.#offsets.length++] = this.#count;
  }
  finish(): arrow.Data {
    const length = this.#offsets.length - 1;
    return arrow.makeData({
      type: this.type as arrow.List,
      length,
      nullCount: this.#validity.nullCount,
      nullBitmap: this.#validity.take(length),
      valueOffsets: this.#offsets.take(),
      child: this.#child.finish(),
    });
  }
}

class StructWriter implements ColumnWriter {
  readonly type: arrow.DataType;
  readonly #children: ColumnWriter[];
  readonly #validity = new Validity();
  #length = 0;
  constructor(type: SqlType & { kind: 'struct' }) {
    this.type = arrowType(type);
    this.#children = type.fields.map((field) => writerFor(field.type));
  }
  append(bytes: Uint8Array, view: DataView, offset: number, length: number): void {
    const fields = length >= 0 ? recordFields(view, offset) : [];
    this.#children.forEach((child, i) => {
      const [at, size] = fields[i] ?? [0, -1];
      child.append(bytes, view, at, size);
    });
    if (length < 0) this.#validity.setNull(this.#length);
    this.#length++;
  }
  finish(): arrow.Data {
    return arrow.makeData({
      type: this.type as arrow.Struct,
      length: this.#length,
      nullCount: this.#validity.nullCount,
      nullBitmap: this.#validity.take(this.#length),
      children: this.#children.map((child) => child.finish()),
    });
  }
}

/** A map is stored as the record (keys[], values[]); Arrow's Map is a list of (key, value) structs. */
class MapWriter implements ColumnWriter {
  readonly type: arrow.DataType;
  readonly #keys: ColumnWriter;
  readonly #values: ColumnWriter;
  readonly #offsets = new Growable((size) => new Int32Array(size));
  readonly #validity = new Validity();
  #count = 0;
  constructor(type: SqlType & { kind: 'map' }) {
    this.type = arrowType(type);
    this.#keys = writerFor(type.key);
    this.#values = writerFor(type.value);
    this.#offsets.array[0] = 0;
    this.#offsets.length = 1;
  }
  append(bytes: Uint8Array, view: DataView, offset: number, length: number): void {
    if (length >= 0) {
      const [[keysAt, keysLength], [valuesAt, valuesLength]] = recordFields(view, offset);
      const keys = keysLength >= 0 ? arrayElements(view, keysAt) : [];
      const values = valuesLength >= 0 ? arrayElements(view, valuesAt) : [];
      keys.forEach(([at, size], i) => {
        this.#keys.append(bytes, view, at, size);
        const [valueAt, valueSize] = values[i] ?? [0, -1];
        this.#values.append(bytes, view, valueAt, valueSize);
        this.#count++;
      });
    }
    this.#offsets.reserve(1);
    if (length < 0) this.#validity.setNull(this.#offsets.length - 1);
    this.#offsets.array[this.#offsets.length++] = this.#count;
  }
  finish(): arrow.Data {
    const mapType = this.type as arrow.Map_;
    const keys = this.#keys.finish();
    const entries = arrow.makeData({ type: mapType.children[0].type as arrow.Struct, length: keys.length, nullCount: 0, children: [keys, this.#values.finish()] });
    const length = this.#offsets.length - 1;
    return arrow.makeData({ type: mapType, length, nullCount: this.#validity.nullCount, nullBitmap: this.#validity.take(length), valueOffsets: this.#offsets.take(), child: entries });
  }
}

// -----------------------------------------------------------------------------------------------
// Binary COPY stream → record batches

const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * Reads a binary COPY stream and yields record batches of at most `batchRows` rows (and about
 * `batchBytes` bytes). Columns are written by their declared Databricks types.
 */
export async function* copyToBatches(
  chunks: AsyncIterable<Buffer>,
  columns: readonly ResultColumn[],
  options: { batchRows: number; batchBytes: number },
): AsyncGenerator<arrow.RecordBatch> {
  const schema = arrowSchema(columns);
  let writers = columns.map((column) => writerFor(column.type));
  let rows = 0;
  let bytesInBatch = 0;
  let pending: Buffer = Buffer.alloc(0);
  let headerRead = false;
  const flush = () => {
    const data = writers.map((writer) => writer.finish());
    const batch = new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(schema.fields), length: rows, nullCount: 0, children: data }));
    writers = columns.map((column, i) => writerFor(column.type, writers[i].sizes?.()));
    rows = 0;
    bytesInBatch = 0;
    return batch;
  };
  for await (const chunk of chunks) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    const view = new DataView(pending.buffer, pending.byteOffset, pending.byteLength);
    let at = 0;
    if (!headerRead) {
      if (pending.length < 19) continue;
      if (!pending.subarray(0, 11).equals(COPY_SIGNATURE)) throw new Error('The engine did not answer with binary COPY data.');
      at = 19 + view.getInt32(15);
      headerRead = true;
    }
    for (;;) {
      if (at + 2 > pending.length) break;
      const fieldCount = view.getInt16(at);
      if (fieldCount === -1) {
        at += 2;
        break;
      }
      // Is the whole row here? Walk the field lengths first.
      let end = at + 2;
      let complete = true;
      for (let f = 0; f < fieldCount; f++) {
        if (end + 4 > pending.length) {
          complete = false;
          break;
        }
        const length = view.getInt32(end);
        end += 4 + Math.max(0, length);
        if (end > pending.length) {
          complete = false;
          break;
        }
      }
      if (!complete) break;
      let field = at + 2;
      for (let f = 0; f < fieldCount; f++) {
        const length = view.getInt32(field);
        writers[f].append(pending, view, field + 4, length);
        field += 4 + Math.max(0, length);
      }
      bytesInBatch += end - at;
      at = end;
      rows++;
      if (rows >= options.batchRows || bytesInBatch >= options.batchBytes) yield flush();
    }
    pending = pending.subarray(at);
  }
  if (rows > 0) yield flush();
}

/** Record batches from rows of JavaScript values (results the engine makes itself: SHOW, DESCRIBE). */
export function rowsToBatch(columns: readonly ResultColumn[], rows: readonly unknown[][]): arrow.RecordBatch {
  const schema = arrowSchema(columns);
  const children = columns.map((column, i) => {
    const builder = arrow.makeBuilder({ type: arrowType(column.type), nullValues: [null, undefined] });
    for (const row of rows) builder.append(toBuilderValue(row[i], column.type) as never);
    return builder.finish().flush();
  });
  return new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(schema.fields), length: rows.length, nullCount: 0, children }));
}

function toBuilderValue(value: unknown, type: SqlType): unknown {
  if (value === null || value === undefined) return null;
  switch (type.kind) {
    case 'bigint':
      return BigInt(value as number | bigint);
    case 'timestamp':
    case 'timestamp_ntz':
      return value instanceof Date ? value.getTime() : value;
    case 'date':
      return value instanceof Date ? value : new Date(value as string);
    case 'map':
      return value instanceof Map ? value : new Map(Object.entries(value as object));
    case 'struct':
      return value;
    case 'array':
      return (value as unknown[]).map((element) => toBuilderValue(element, type.element));
    default:
      return value;
  }
}

// -----------------------------------------------------------------------------------------------
// IPC messages, as the Thrift protocol carries them: the schema message alone, then each batch's
// message alone (the driver concatenates [schema, ...batches] and reads them as one stream).

const END_OF_STREAM_BYTES = 8;

export function schemaMessage(schema: arrow.Schema): Buffer {
  const stream = arrow.tableToIPC(new arrow.Table(schema), 'stream');
  return Buffer.from(stream.subarray(0, stream.length - END_OF_STREAM_BYTES));
}

export function batchMessage(batch: arrow.RecordBatch, schemaLength: number): Buffer {
  const stream = arrow.tableToIPC(new arrow.Table([batch]), 'stream');
  // A view, not a copy: the stream is ours alone (a copy cost a third of encoding a page).
  return Buffer.from(stream.buffer, stream.byteOffset + schemaLength, stream.length - schemaLength - END_OF_STREAM_BYTES);
}

/** A whole Arrow IPC stream (schema, batches, end), as ARROW_STREAM external links serve it. */
export function ipcStream(schema: arrow.Schema, batches: readonly arrow.RecordBatch[]): Buffer {
  const table = batches.length === 0 ? new arrow.Table(schema) : new arrow.Table([...batches]);
  return Buffer.from(arrow.tableToIPC(table, 'stream'));
}
