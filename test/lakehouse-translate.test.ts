// Databricks SQL that the local lakehouse's PostgreSQL spells differently: column definitions with
// complex types followed by more columns, and the functions and literals users reach for first
// (or, where PostgreSQL cannot do them sensibly, an error that names the construct).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LakehouseSession } from '../emulator/lakehouse/engine';
import { sql, startTestLakehouse } from './support/lakehouse';
import type { TestLakehouse } from './support/lakehouse';

let lake: TestLakehouse;
let session: LakehouseSession;

beforeAll(async () => {
  lake = await startTestLakehouse();
  session = await lake.lakehouse.openSession({ user: 'someone@example.com' });
});

afterAll(async () => {
  await session?.close();
  await lake?.stop();
});

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
