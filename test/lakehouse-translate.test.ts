// Databricks SQL that the local lakehouse's PostgreSQL spells differently: column definitions with
// complex types followed by more columns, and the functions and literals users reach for first
// (or, where PostgreSQL cannot do them sensibly, an error that names the construct).
import { describe, expect, test } from 'vitest';
import type { LakehouseSession } from '../emulator/lakehouse/engine';
import { sql, useLakehouseSession } from './support/lakehouse';

let session: LakehouseSession;
useLakehouseSession((started) => ({ session } = started));

async function columnTypes(table: string): Promise<string[]> {
  return (await sql(session, `DESCRIBE TABLE ${table}`)).map((row) => `${row.col_name} ${row.data_type}`);
}

describe('CREATE TABLE with complex column types followed by more columns', () => {
  test('ARRAY, MAP and STRUCT columns, each followed by another', async () => {
    await sql(session, 'CREATE TABLE main.default.arrays (a ARRAY<INT>, b INT)');
    await sql(session, 'CREATE TABLE main.default.maps (m MAP<STRING, INT>, n INT)');
    await sql(session, 'CREATE TABLE main.default.structs (s STRUCT<x: INT, y: STRING>, t INT) USING DELTA');
    expect(await columnTypes('arrays')).toEqual(['a array<int>', 'b int']);
    expect(await columnTypes('maps')).toEqual(['m map<string,int>', 'n int']);
    expect(await columnTypes('structs')).toEqual(['s struct<x:int,y:string>', 't int']);
    await sql(session, "INSERT INTO maps VALUES (map('k', 1), 2)");
    expect(await sql(session, 'SELECT n FROM maps')).toEqual([{ n: 2 }]);
  });

  test('nested types, closing `>>`, clauses after the type, no spaces, comments and line breaks', async () => {
    await sql(
      session,
      `CREATE OR REPLACE TABLE main.default.wide (
         id BIGINT NOT NULL,
         a ARRAY<STRUCT<x: INT, y: MAP<STRING,INT>>> COMMENT 'nested', -- a list of structs
         m MAP<STRING, DECIMAL(10,2)>,
         s STRUCT<x:INT,y:ARRAY<STRING>> COMMENT 'a pair',
         t STRUCT<\`order id\`: INT, z :STRING>,
         last STRING
       ) TBLPROPERTIES (delta.enableChangeDataFeed = true)`,
    );
    expect(await columnTypes('wide')).toEqual([
      'id bigint',
      'a array<struct<x:int,y:map<string,int>>>',
      'm map<string,decimal(10,2)>',
      's struct<x:int,y:array<string>>',
      't struct<`order id`:int,z:string>',
      'last string',
    ]);
    await sql(session, 'ALTER TABLE wide ADD COLUMNS (more ARRAY<INT>, after INT)');
    expect((await columnTypes('wide')).slice(-2)).toEqual(['more array<int>', 'after int']);
    // A column list after INSERT INTO t is the table's, in any order (not a table function's call).
    await sql(session, "INSERT INTO wide (after, last, s, id) VALUES (9, 'end', named_struct('x', 1, 'y', array('p')), 1)");
    await sql(session, "INSERT INTO main.default.wide (last, id) SELECT 'two', 2");
    expect(await sql(session, 'SELECT id, last, after FROM wide ORDER BY id')).toEqual([
      { id: 1n, last: 'end', after: 9 },
      { id: 2n, last: 'two', after: null },
    ]);
  });
});

describe('functions and literals PostgreSQL spells differently', () => {
  test("date_format with Spark's pattern letters, quoted text and padding; letters without a twin fail by name", async () => {
    expect(
      await sql(
        session,
        "SELECT date_format(TIMESTAMP'2024-03-01 09:05:06.123', 'yyyy-MM-dd HH:mm:ss.SSS') AS a, date_format(DATE'2024-03-01', \"EEEE d MMMM yy 'at' h a\") AS b, date_format(TIMESTAMP'2024-12-31 23:00:00', \"yyyy-MM-dd'T'HH 'o''clock' D EEE MMM Q\") AS c",
      ),
    ).toEqual([{ a: '2024-03-01 09:05:06.123', b: 'Friday 1 March 24 at 12 AM', c: "2024-12-31T23 o'clock 366 Tue Dec 4" }]);
    await expect(sql(session, "SELECT date_format(current_timestamp(), 'YYYY-ww')")).rejects.toMatchObject({ errorClass: 'UNSUPPORTED_FEATURE', message: expect.stringContaining('date_format pattern letter YYYY') });
    await expect(sql(session, "SELECT date_format(current_timestamp(), concat('yyyy', '-MM'))")).rejects.toMatchObject({ message: expect.stringContaining('date_format without a literal pattern') });
  });

  test('make_interval: its arguments in any integer type, in arithmetic and alone', async () => {
    expect(
      await sql(
        session,
        "SELECT CAST(TIMESTAMP'2024-01-31 00:00:00' + make_interval(0, 1, 0, 1) AS STRING) AS t, CAST(CAST(DATE'2024-03-01' + make_interval(0, 0, 1, CAST(2 AS BIGINT)) AS DATE) AS STRING) AS d, make_interval(1, 2) AS i",
      ),
    ).toEqual([{ t: '2024-03-01 00:00:00+00', d: '2024-03-10', i: '1 year 2 mons' }]);
  });

  test('? markers inside function arguments bind in order', async () => {
    const parameters = ['1', '2', '3', '4'].map((value) => ({ type: 'INT', value }));
    expect(await sql(session, 'SELECT make_interval(?, ?) AS i, ? * 10 + ? AS n', parameters)).toEqual([{ i: '1 year 2 mons', n: 34 }]);
  });

  test("X'..' binary literals", async () => {
    const [row] = await sql(session, "SELECT X'0aFF' AS b, X'' AS empty");
    expect([...(row.b as Uint8Array)]).toEqual([10, 255]);
    expect([...(row.empty as Uint8Array)]).toEqual([]);
  });

  test("s.field on structs, m['k'] on maps and a[i] on arrays (from 0), qualified or not, nested", async () => {
    await sql(session, 'CREATE TABLE main.default.nested (id INT, s STRUCT<x: INT, y: STRING, inner: STRUCT<z: INT>>, m MAP<STRING, INT>, a ARRAY<STRING>)');
    await sql(session, "INSERT INTO nested VALUES (1, named_struct('x', 1, 'y', 'one', 'inner', named_struct('z', 9)), map('k', 3, 'j', 4), array('first', 'second'))");
    expect(await sql(session, "SELECT s.x, s.y AS y, nested.s.inner.z AS z, m['j'] AS j, m['missing'] AS missing, a[0] AS a0, a[1] AS a1 FROM nested")).toEqual([
      { x: 1, y: 'one', z: 9, j: 4, missing: null, a0: 'first', a1: 'second' },
    ]);
    // Unaliased, an element keeps its array's name.
    expect(await sql(session, 'SELECT a[1] FROM nested')).toEqual([{ a: 'second' }]);
    // A missing map key is NULL; an array index past either end is an error, as on Databricks SQL.
    for (const index of ['2', '-1']) {
      await expect(sql(session, `SELECT a[${index}] FROM nested`)).rejects.toMatchObject({
        errorClass: 'INVALID_ARRAY_INDEX',
        sqlState: '22003',
        message: expect.stringContaining(`The index ${index} is out of bounds. The array has 2 elements.`),
      });
    }
    expect(await sql(session, "SELECT t.id FROM main.default.nested AS t WHERE t.s.inner.z = 9 AND t.m['k'] = 3 AND t.a[0] = 'first'")).toEqual([{ id: 1 }]);
    // Inside CAST, the translated functions' arguments and plain functions alike.
    expect(await sql(session, "SELECT CAST(s.x AS STRING) AS sx, upper(s.y) AS uy, TRY_CAST(m['k'] AS STRING) AS k FROM nested")).toEqual([{ sx: '1', uy: 'ONE', k: '3' }]);
    await expect(sql(session, 'SELECT s.nope FROM nested')).rejects.toMatchObject({ errorClass: 'FIELD_NOT_FOUND', sqlState: '42704' });
    // A CTE or subquery called like a struct column keeps its own columns.
    expect(await sql(session, 'WITH s AS (SELECT 5 AS x) SELECT s.x, q.y FROM s, (SELECT 6 AS y) AS q, nested')).toEqual([{ x: 5, y: 6 }]);
  });

  test('CAST, TRY_CAST and :: to an integer type truncate toward zero, as Databricks does (PostgreSQL rounds)', async () => {
    await sql(session, 'CREATE OR REPLACE TABLE measures (d DECIMAL(10,3), f DOUBLE, r FLOAT, big BIGINT)');
    await sql(session, 'INSERT INTO measures VALUES (2.7, -2.7, 3.9, 9007199254740993)');
    expect(
      await sql(
        session,
        'SELECT CAST(d AS INT) AS d, CAST(f AS BIGINT) AS f, CAST(r AS SMALLINT) AS r, CAST(d AS TINYINT) AS t, CAST(big AS BIGINT) AS big, TRY_CAST(d AS INT) AS td, TRY_CAST(f AS INT) AS tf FROM measures',
      ),
    ).toEqual([{ d: 2, f: -2n, r: 3, t: 2, big: 9007199254740993n, td: 2, tf: -2 }]);
    expect(
      await sql(session, "SELECT CAST(2.5 AS INT) AS half, CAST(-0.5 AS INT) AS neg, CAST('12' AS INT) AS text, CAST(true AS INT) AS flag, CAST(NULL AS INT) AS nothing"),
    ).toEqual([{ half: 2, neg: 0, text: 12, flag: 1, nothing: null }]);
    // `x::INT` is the same cast, whatever its operand: a column, a qualified one, a group, a call.
    expect(
      await sql(
        session,
        "SELECT d::INT AS d, m.f::BIGINT AS f, (d + 0.5)::INT AS sum, abs(f)::INT AS call, -2.7::INT AS neg, '12'::INT AS text, d::DOUBLE AS kept FROM measures AS m",
      ),
    ).toEqual([{ d: 2, f: -2n, sum: 3, call: 2, neg: -2, text: 12, kept: 2.7 }]);
    expect(await sql(session, 'SELECT (d + 0.5)::INT AS first FROM measures WHERE (d)::INT = 2 AND NOT (f)::INT = 0')).toEqual([{ first: 3 }]);
    // Out of range is still an error, as with ANSI casts.
    await expect(sql(session, 'SELECT CAST(3000000000.5 AS INT)')).rejects.toMatchObject({ message: expect.stringMatching(/out of range/) });
  });

  test('TRY_CAST gives NULL where CAST fails; to ARRAY, MAP or STRUCT it fails by name', async () => {
    expect(
      await sql(
        session,
        "SELECT TRY_CAST('12' AS INT) AS a, TRY_CAST('x' AS INT) AS b, TRY_CAST('300' AS TINYINT) AS c, TRY_CAST('123.456' AS DECIMAL(5,2)) = 123.46 AS d, TRY_CAST('1234.5' AS DECIMAL(5,2)) AS e, TRY_CAST('2024-13-01' AS DATE) AS f, TRY_CAST(12.5 AS STRING) AS g, TRY_CAST(CAST(3000000000 AS BIGINT) AS INT) AS h",
      ),
    ).toEqual([{ a: 12, b: null, c: null, d: true, e: null, f: null, g: '12.5', h: null }]);
    await expect(sql(session, "SELECT TRY_CAST('1' AS ARRAY<INT>)")).rejects.toMatchObject({ errorClass: 'UNSUPPORTED_FEATURE', message: expect.stringContaining('TRY_CAST to ARRAY<INT>') });
  });
});
