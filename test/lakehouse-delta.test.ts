// The local lakehouse's Delta semantics on its real PostgreSQL engine: every committed write is a
// version, DESCRIBE HISTORY lists them, time travel reads them, and the change data feed lists
// inserts, updates (pre- and post-images), deletes and a MERGE row by row — only after it was on.
import { describe, expect, test } from 'vitest';
import type { LakehouseSession } from '../emulator/lakehouse/engine';
import { LakehouseError } from '../emulator/lakehouse/errors';
import { rowsOf, sql, useLakehouseSession } from './support/lakehouse';
import type { TestLakehouse } from './support/lakehouse';

let lake: TestLakehouse;
let session: LakehouseSession;
useLakehouseSession((started) => ({ lake, session } = started));

const changes = (rows: Record<string, unknown>[]) =>
  rows
    .map((row) => `${row._commit_version} ${row._change_type} ${row.id}:${row.name}`)
    .sort();

describe('a Delta table with Change Data Feed', () => {
  test('main.default exists from the start', async () => {
    expect(await sql(session, 'SHOW CATALOGS')).toEqual([{ catalog: 'main' }]);
    expect(await sql(session, 'SELECT current_catalog() AS c, current_schema() AS s')).toEqual([{ c: 'main', s: 'default' }]);
  });

  test('versions, history, time travel and table_changes after insert, update, delete and merge', async () => {
    await sql(session, 'CREATE TABLE main.default.people (id INT NOT NULL, name STRING) USING DELTA TBLPROPERTIES (delta.enableChangeDataFeed = true)');
    expect(await sql(session, "INSERT INTO main.default.people VALUES (1, 'ann'), (2, 'bob'), (3, 'cy')")).toEqual([{ num_affected_rows: 3n, num_inserted_rows: 3n }]);
    expect(await sql(session, "UPDATE `main`.`default`.people SET name = 'BOB' WHERE id = 2")).toEqual([{ num_affected_rows: 1n }]);
    expect(await sql(session, 'DELETE FROM people WHERE id = 3')).toEqual([{ num_affected_rows: 1n }]);
    expect(
      await sql(
        session,
        "MERGE INTO people AS t USING (SELECT 1 AS id, 'ANN' AS name UNION ALL SELECT 4, 'dee') AS s ON t.id = s.id WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *",
      ),
    ).toEqual([{ num_affected_rows: 2n, num_updated_rows: 1n, num_deleted_rows: 0n, num_inserted_rows: 1n }]);

    const history = await sql(session, 'DESCRIBE HISTORY main.default.people');
    expect(history.map((row) => [row.version, row.operation])).toEqual([
      [4n, 'MERGE'],
      [3n, 'DELETE'],
      [2n, 'UPDATE'],
      [1n, 'WRITE'],
      [0n, 'CREATE TABLE'],
    ]);
    expect(Object.keys(history[0])).toHaveLength(15);
    expect(history[0].userName).toBe('someone@example.com');

    expect(await sql(session, 'SELECT id, name FROM people ORDER BY id')).toEqual([
      { id: 1, name: 'ANN' },
      { id: 2, name: 'BOB' },
      { id: 4, name: 'dee' },
    ]);
    expect(await sql(session, 'SELECT id, name FROM main.default.people VERSION AS OF 1 ORDER BY id')).toEqual([
      { id: 1, name: 'ann' },
      { id: 2, name: 'bob' },
      { id: 3, name: 'cy' },
    ]);
    expect(await sql(session, 'SELECT count(*) AS n FROM people VERSION AS OF 3 p')).toEqual([{ n: 2n }]);

    const feed = await sql(session, "SELECT * FROM table_changes('main.default.people', 1)");
    expect(changes(feed)).toEqual([
      '1 insert 1:ann',
      '1 insert 2:bob',
      '1 insert 3:cy',
      '2 update_postimage 2:BOB',
      '2 update_preimage 2:bob',
      '3 delete 3:cy',
      '4 insert 4:dee',
      '4 update_postimage 1:ANN',
      '4 update_preimage 1:ann',
    ]);
    expect(Object.keys(feed[0])).toEqual(['id', 'name', '_change_type', '_commit_version', '_commit_timestamp']);
    expect(changes(await sql(session, "SELECT * FROM table_changes('main.default.people', 2, 3)"))).toEqual(['2 update_postimage 2:BOB', '2 update_preimage 2:bob', '3 delete 3:cy']);

    const read = await lake.lakehouse.readChanges('main.default.people', 4);
    expect(changes(await rowsOf(read))).toEqual(['4 insert 4:dee', '4 update_postimage 1:ANN', '4 update_preimage 1:ann']);
  });

  test('table_changes refuses versions out of range with the real errors', async () => {
    await expect(sql(session, "SELECT * FROM table_changes('main.default.people', 9)")).rejects.toMatchObject({ errorClass: 'DELTA_CDC_START_VERSION_AFTER_LATEST' });
    await expect(sql(session, "SELECT * FROM table_changes('main.default.people', 3, 1)")).rejects.toMatchObject({ errorClass: 'DELTA_INVALID_CDC_RANGE' });
    await expect(sql(session, 'SELECT * FROM people VERSION AS OF 99')).rejects.toMatchObject({ errorClass: 'DELTA_VERSION_NOT_FOUND' });
  });
});

describe('change data recorded only after it is enabled', () => {
  test('a table without CDF refuses table_changes; after ALTER ... SET TBLPROPERTIES it records from that version', async () => {
    await sql(session, 'CREATE TABLE plain (id BIGINT, name STRING)');
    await sql(session, "INSERT INTO plain VALUES (1, 'a')");
    const refused = await sql(session, "SELECT * FROM table_changes('main.default.plain', 0)").catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LakehouseError);
    expect(refused).toMatchObject({ errorClass: 'DELTA_MISSING_CHANGE_DATA', sqlState: 'KD002' });
    expect((refused as Error).message).toContain('change data was not recorded for version [0]');

    await sql(session, 'ALTER TABLE plain SET TBLPROPERTIES (delta.enableChangeDataFeed = true)');
    await sql(session, "INSERT INTO plain VALUES (2, 'b')");
    expect(changes(await sql(session, "SELECT * FROM table_changes('main.default.plain', 2)"))).toEqual(['3 insert 2:b']);
    await expect(sql(session, "SELECT * FROM table_changes('main.default.plain', 1, 3)")).rejects.toMatchObject({ errorClass: 'DELTA_MISSING_CHANGE_DATA' });
    const history = await sql(session, 'DESCRIBE HISTORY plain');
    expect(history.map((row) => row.operation)).toEqual(['WRITE', 'SET TBLPROPERTIES', 'WRITE', 'CREATE TABLE']);
  });
});

describe('commits are announced', () => {
  test('onCommit hears every committed write with its version', async () => {
    const heard: string[] = [];
    const stop = lake.lakehouse.onCommit((commit) => heard.push(`${commit.table}@${commit.version} ${commit.operation}`));
    await sql(session, 'CREATE TABLE events (id INT)');
    await sql(session, 'INSERT INTO events VALUES (1)');
    await sql(session, 'INSERT INTO events VALUES (2)');
    stop();
    await sql(session, 'INSERT INTO events VALUES (3)');
    expect(heard).toEqual(['main.default.events@0 CREATE TABLE', 'main.default.events@1 WRITE', 'main.default.events@2 WRITE']);
    const at1 = await rowsOf(await lake.lakehouse.readTable('main.default.events', { version: 1 }));
    expect(at1).toEqual([{ id: 1 }]);
  });
});
