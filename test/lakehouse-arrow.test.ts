// PostgreSQL's binary COPY into Arrow (emulator/lakehouse/arrow.ts), value by value at the edges
// of each type: the extremes of the integers, decimals past 2^53 and past 64 bits, negative
// decimals, instants before 1970 and before 2000, NULLs across bitmap bytes, long and multibyte
// strings. Values are read from the Arrow buffers themselves (not through apache-arrow's JS
// conversions, which round 64-bit values to numbers), against what PostgreSQL prints.
import * as arrow from 'apache-arrow';
import { describe, expect, test } from 'vitest';
import { copyToBatches } from '../emulator/lakehouse/arrow';
import type { ResultColumn } from '../emulator/lakehouse/arrow';
import type { LakehouseSession } from '../emulator/lakehouse/engine';
import { useLakehouseSession } from './support/lakehouse';

let session: LakehouseSession;
useLakehouseSession((started) => ({ session } = started));

/** One column of a query, every batch, as Arrow vectors. */
async function column(sql: string): Promise<{ type: arrow.DataType; vectors: arrow.Vector[] }> {
  const result = await session.execute(sql);
  const vectors: arrow.Vector[] = [];
  let type: arrow.DataType | undefined;
  for await (const batch of result.batches) {
    vectors.push(batch.getChildAt(0)!);
    type = batch.schema.fields[0].type;
  }
  return { type: type!, vectors };
}

/** 64-bit integers exactly (the raw buffer, with NULL as null). */
async function int64s(sql: string): Promise<(bigint | null)[]> {
  const { vectors } = await column(sql);
  return vectors.flatMap((vector) =>
    vector.data.flatMap((data) => [...(data.values as BigInt64Array)].map((value, i) => (data.getValid(i) ? value : null))),
  );
}

/** DECIMAL(p, s) values as PostgreSQL prints them, from the 128-bit two's-complement words. */
async function decimals(sql: string): Promise<(string | null)[]> {
  const { type, vectors } = await column(sql);
  const scale = (type as arrow.Decimal).scale;
  return vectors.flatMap((vector) =>
    vector.data.flatMap((data) => {
      const words = data.values as Uint32Array;
      return Array.from({ length: data.length }, (_, i) => {
        if (!data.getValid(i)) return null;
        let unscaled = 0n;
        for (let word = 3; word >= 0; word--) unscaled = (unscaled << 32n) | BigInt(words[i * 4 + word]);
        unscaled = BigInt.asIntN(128, unscaled);
        const digits = (unscaled < 0n ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
        const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
        return unscaled < 0n ? `-${text}` : text;
      });
    }),
  );
}

async function values(sql: string): Promise<unknown[]> {
  const { vectors } = await column(sql);
  return vectors.flatMap((vector) => [...vector]);
}

const microsOf = (iso: string) => BigInt(Date.parse(iso)) * 1000n;

describe('binary COPY into Arrow, at the edges of each type', () => {
  test('BIGINT: both extremes, around 32-bit boundaries, negatives, NULL', async () => {
    const expected = [-9223372036854775808n, 9223372036854775807n, -1n, 0n, null, 4294967295n, 4294967296n, -4294967296n, -4294967297n, 2147483648n];
    const literals = expected.map((value) => (value === null ? 'CAST(NULL AS BIGINT)' : `CAST('${value}' AS BIGINT)`));
    expect(await int64s(`SELECT v FROM (VALUES ${literals.map((literal, i) => `(${i}, ${literal})`).join(', ')}) AS t(i, v) ORDER BY i`)).toEqual(expected);
  });

  test('INT, SMALLINT, TINYINT, DOUBLE, FLOAT and BOOLEAN', async () => {
    expect(await values('SELECT v FROM (VALUES (1, -2147483648), (2, 2147483647), (3, NULL), (4, -1)) AS t(i, v) ORDER BY i')).toEqual([-2147483648, 2147483647, null, -1]);
    expect(await values('SELECT CAST(v AS SMALLINT) FROM (VALUES (1, -32768), (2, 32767), (3, NULL)) AS t(i, v) ORDER BY i')).toEqual([-32768, 32767, null]);
    expect(await values('SELECT CAST(v AS TINYINT) FROM (VALUES (1, -128), (2, 127), (3, NULL)) AS t(i, v) ORDER BY i')).toEqual([-128, 127, null]);
    expect(await values("SELECT CAST(v AS DOUBLE) FROM (VALUES (1, '-1.5e300'), (2, 'NaN'), (3, NULL), (4, '-0')) AS t(i, v) ORDER BY i")).toEqual([-1.5e300, NaN, null, -0]);
    expect(await values("SELECT CAST(v AS FLOAT) FROM (VALUES (1, '0.5'), (2, '-3.25'), (3, NULL)) AS t(i, v) ORDER BY i")).toEqual([0.5, -3.25, null]);
    expect(await values('SELECT v FROM (VALUES (1, true), (2, NULL), (3, false), (4, true)) AS t(i, v) ORDER BY i')).toEqual([true, null, false, true]);
  });

  test('DECIMAL: zero, negatives, fractions, past 2^53 and past 64 bits, all 38 digits', async () => {
    const wide = [
      '0.0000000000',
      '-0.0000000001',
      '1.0000000000',
      '-1.5000000000',
      '9007199254740993.0000000000',
      '-9223372036854775809.0000000001',
      '1234567890123456789012345678.9012345678',
      '9999999999999999999999999999.9999999999',
      '-9999999999999999999999999999.9999999999',
      null,
    ];
    const rows = wide.map((value, i) => `(${i}, ${value === null ? 'NULL' : `'${value}'`})`).join(', ');
    expect(await decimals(`SELECT CAST(v AS DECIMAL(38,10)) FROM (VALUES ${rows}) AS t(i, v) ORDER BY i`)).toEqual(wide);
    const narrow = ['-1500000.5', '0.1', '-0.1', '99999999999.9', '10000.0', '0.0', null];
    const narrowRows = narrow.map((value, i) => `(${i}, ${value === null ? 'NULL' : `'${value}'`})`).join(', ');
    expect(await decimals(`SELECT CAST(v AS DECIMAL(12,1)) FROM (VALUES ${narrowRows}) AS t(i, v) ORDER BY i`)).toEqual(narrow);
    // Whole numbers with trailing zero groups (weight above the digits), scale 0, and negatives
    // whose low 32-bit word is zero (the borrow of the two's complement).
    const whole = ['100000000', '-10000', '12345678901234567890', '-4294967296', '-8589934592', '4294967296'];
    const wholeRows = whole.map((value, i) => `(${i}, '${value}')`).join(', ');
    expect(await decimals(`SELECT CAST(v AS DECIMAL(20,0)) FROM (VALUES ${wholeRows}) AS t(i, v) ORDER BY i`)).toEqual(whole);
    // Unconstrained numeric is DECIMAL(38,18): digits past the 18th are truncated, as a cast does.
    expect(await decimals('SELECT v FROM (VALUES (1, 1.0 / 3), (2, -2.0 / 3), (3, 0.00000000000000000001), (4, -0.00000000000000000123), (5, 1.5)) AS t(i, v) ORDER BY i')).toEqual([
      '0.333333333333333333',
      '-0.666666666666666666',
      '0.000000000000000000',
      '-0.000000000000000001',
      '1.500000000000000000',
    ]);
  });

  test('TIMESTAMP, TIMESTAMP_NTZ and DATE before 1970, around 2000 and at the ends of the range', async () => {
    const instants = ['0001-01-01T00:00:00.000Z', '1969-12-31T23:59:59.999Z', '1970-01-01T00:00:00.000Z', '1999-12-31T23:59:59.999Z', '2000-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z'];
    const rows = instants.map((iso, i) => `(${i}, '${iso.replace('T', ' ').replace('Z', '')}')`).join(', ');
    const expected = [...instants.map(microsOf), null];
    expected[1] = (expected[1] as bigint) + 999n; // .999999: microseconds past what a Date holds
    const withMicros = rows.replace('1969-12-31 23:59:59.999', '1969-12-31 23:59:59.999999');
    for (const type of ['TIMESTAMP', 'TIMESTAMP_NTZ']) {
      expect(await int64s(`SELECT CAST(v AS ${type}) FROM (VALUES ${withMicros}, (99, NULL)) AS t(i, v) ORDER BY i`)).toEqual(expected);
    }
    const days = await values("SELECT CAST(v AS DATE) FROM (VALUES (1, '0001-01-01'), (2, '1969-12-31'), (3, '2000-01-01'), (4, '9999-12-31'), (5, NULL)) AS t(i, v) ORDER BY i");
    expect(days.map((day) => (day === null ? null : new Date(day as number).toISOString().slice(0, 10)))).toEqual(['0001-01-01', '1969-12-31', '2000-01-01', '9999-12-31', null]);
  });

  test('STRING and BINARY: empty, multibyte, long, NULL', async () => {
    expect(await values("SELECT v FROM (VALUES (1, ''), (2, 'héllo ✓ 𝄞'), (3, NULL), (4, repeat('ab', 50000))) AS t(i, v) ORDER BY i")).toEqual([
      '',
      'héllo ✓ 𝄞',
      null,
      'ab'.repeat(50000),
    ]);
    const bytes = await values("SELECT v FROM (VALUES (1, X''), (2, X'00ff10'), (3, NULL)) AS t(i, v) ORDER BY i");
    expect(bytes.map((value) => (value === null ? null : Buffer.from(value as Uint8Array).toString('hex')))).toEqual(['', '00ff10', null]);
  });

  test('NULLs across bitmap bytes in every kind of column', async () => {
    const result = await session.execute(
      'SELECT CASE WHEN id % 3 = 0 THEN NULL ELSE id END AS l, CASE WHEN id % 5 = 0 THEN NULL ELSE CAST(id AS STRING) END AS s, ' +
        'CASE WHEN id % 7 = 0 THEN NULL ELSE CAST(id AS DECIMAL(10,2)) END AS d, CASE WHEN id % 2 = 0 THEN NULL ELSE id % 4 = 1 END AS b FROM range(40)',
    );
    const rows: Record<string, unknown>[] = [];
    for await (const batch of result.batches) for (const row of new arrow.Table(batch)) rows.push(row.toJSON());
    expect(rows.map((row) => row.l)).toEqual(Array.from({ length: 40 }, (_, id) => (id % 3 === 0 ? null : BigInt(id))));
    expect(rows.map((row) => row.s)).toEqual(Array.from({ length: 40 }, (_, id) => (id % 5 === 0 ? null : String(id))));
    expect(rows.map((row) => row.d === null)).toEqual(Array.from({ length: 40 }, (_, id) => id % 7 === 0));
    expect(rows.map((row) => row.b)).toEqual(Array.from({ length: 40 }, (_, id) => (id % 2 === 0 ? null : id % 4 === 1)));
  });
});

describe('the COPY reader', () => {
  /** A binary COPY stream of rows (bigint, text), as PostgreSQL writes it. */
  function copyStream(rows: [bigint | null, string | null][]): Buffer {
    const parts = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)];
    for (const [id, text] of rows) {
      const head = Buffer.alloc(2);
      head.writeInt16BE(2);
      parts.push(head);
      const idField = Buffer.alloc(id === null ? 4 : 12);
      idField.writeInt32BE(id === null ? -1 : 8);
      if (id !== null) idField.writeBigInt64BE(id, 4);
      parts.push(idField);
      const textBytes = text === null ? Buffer.alloc(0) : Buffer.from(text);
      const length = Buffer.alloc(4);
      length.writeInt32BE(text === null ? -1 : textBytes.length);
      parts.push(length, textBytes);
    }
    parts.push(Buffer.from([0xff, 0xff]));
    return Buffer.concat(parts);
  }

  const columns: ResultColumn[] = [
    { name: 'id', type: { kind: 'bigint' }, nullable: true },
    { name: 'text', type: { kind: 'string' }, nullable: true },
  ];

  async function read(chunks: Buffer[], batchRows: number): Promise<{ sizes: number[]; rows: unknown[][] }> {
    const sizes: number[] = [];
    const rows: unknown[][] = [];
    for await (const batch of copyToBatches((async function* () { yield* chunks; })(), columns, { batchRows, batchBytes: 1 << 20 })) {
      sizes.push(batch.numRows);
      for (const row of new arrow.Table(batch)) rows.push([row.id, row.text]);
    }
    return { sizes, rows };
  }

  test('rows split across chunks anywhere, down to single bytes, read the same', async () => {
    const rows: [bigint | null, string | null][] = Array.from({ length: 25 }, (_, i) => [i % 4 === 0 ? null : BigInt(i) * -3_000_000_000n, i % 6 === 0 ? null : `row ${i} ✓`]);
    const stream = copyStream(rows);
    const whole = await read([stream], 10);
    expect(whole.sizes).toEqual([10, 10, 5]);
    expect(whole.rows).toEqual(rows);
    const bytes = Array.from(stream, (byte) => Buffer.from([byte]));
    expect(await read(bytes, 10)).toEqual(whole);
    const uneven = [stream.subarray(0, 7), stream.subarray(7, 100), stream.subarray(100, 101), stream.subarray(101)];
    expect(await read(uneven, 10)).toEqual(whole);
  });
});

describe('a result read in part', () => {
  test('closing it after its first batch stops the query, and the session runs the next statement', async () => {
    // Far more rows than the buffers between PostgreSQL and the reader hold: when the reader
    // stops after one batch, the server is left blocked writing the rest.
    const result = await session.execute('SELECT id, CAST(id AS STRING) AS text FROM range(20000000)');
    const first = await result.batches[Symbol.asyncIterator]().next();
    expect(first.done).toBe(false);
    await result.close!();
    expect(await values('SELECT 42 AS answer')).toEqual([42]);
  });

  test('a query cancelled while its reader waits between batches is closed, and the session runs the next statement', async () => {
    // A first batch of 100,000 rows at once, then a row every few milliseconds: after the first
    // batch only a trickle comes, so the cancel's error is read off the connection while nobody
    // reads the result (as when a warehouse's CancelOperation comes while the batch read ahead is
    // being encoded). Closing afterwards waited forever for an end that had already come and gone,
    // and the session with it (a CI run hung on it).
    const result = await session.execute(
      "SELECT id, repeat('x', 120) AS pad FROM range(200000) WHERE CASE WHEN id < 100000 THEN true ELSE pg_sleep(0.005) IS NOT NULL END",
    );
    const reader = result.batches[Symbol.asyncIterator]();
    const first = await reader.next();
    expect(first.done ? 0 : first.value.numRows).toBe(100000);
    await session.cancel();
    // Time for the error to come in before the result is closed.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await result.close!();
    await result.done;
    expect(await values('SELECT 43 AS answer')).toEqual([43]);
  });
});
