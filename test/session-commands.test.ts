// Statements that return no rows (DDL, DML, transaction control, SET) report their command tag
// and count; rows come with their columns' metadata; values are bound, never pasted.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { LakebaseSession, openSession, SESSION_ERRORS } from '../lakebase/session';
import { resolveTarget } from '../lakebase/targets';
import { LakebaseError } from '../lakebase/errors';
import { usePostgresSession } from './support/fixtures';

let session: LakebaseSession;
const page = { displayLimit: 100 };

usePostgresSession((fixture) => ({ session } = fixture));

const tag = async (sql: string, params?: unknown[]) => {
  const result = await session.run(sql, { ...page, params });
  return { command: result.command, rowCount: result.rowCount, columns: result.columns.length, rows: result.values.length };
};

test('a plain-text session says it is not encrypted', () => {
  expect(session.encrypted).toBe(false);
});

test('DDL, DML and utility statements report their whole command tag (as psql shows it) and count', async () => {
  expect(await tag('CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL)')).toEqual({ command: 'CREATE TABLE', rowCount: null, columns: 0, rows: 0 });
  expect(await tag("INSERT INTO item VALUES (1, 'a'), (2, 'b'), (3, 'c')")).toEqual({ command: 'INSERT', rowCount: 3, columns: 0, rows: 0 });
  expect(await tag("UPDATE item SET name = upper(name) WHERE id > 1")).toEqual({ command: 'UPDATE', rowCount: 2, columns: 0, rows: 0 });
  expect(await tag('DELETE FROM item WHERE id = 3')).toEqual({ command: 'DELETE', rowCount: 1, columns: 0, rows: 0 });
  expect(await tag('SELECT * FROM item WHERE false')).toEqual({ command: 'SELECT', rowCount: 0, columns: 2, rows: 0 });
  expect(await tag("SET application_name = 'tags'")).toEqual({ command: 'SET', rowCount: null, columns: 0, rows: 0 });
  expect(await tag('SHOW application_name')).toEqual({ command: 'SHOW', rowCount: 1, columns: 1, rows: 1 });
  expect(await tag('VACUUM item')).toEqual({ command: 'VACUUM', rowCount: null, columns: 0, rows: 0 });
  expect(await tag('CREATE INDEX CONCURRENTLY item_name ON item (name)')).toEqual({ command: 'CREATE INDEX', rowCount: null, columns: 0, rows: 0 });
  expect(await tag('DROP INDEX item_name')).toEqual({ command: 'DROP INDEX', rowCount: null, columns: 0, rows: 0 });
});

test('INSERT ... RETURNING returns its rows and its count', async () => {
  const result = await session.run("INSERT INTO item VALUES (10, 'x'), (11, 'y') RETURNING id", page);
  expect(result.command).toBe('INSERT');
  expect(result.rowCount).toBe(2);
  expect(result.values).toEqual([[10], [11]]);
});

test('an empty statement returns an empty result', async () => {
  const result = await session.run('  ', page);
  expect({ command: result.command, rowCount: result.rowCount, values: result.values }).toEqual({ command: '', rowCount: null, values: [] });
});

test('parameters are bound: a value with quotes arrives unchanged and is never SQL', async () => {
  const tricky = "o'brien'); DROP TABLE item; --";
  const result = await session.run('SELECT $1::text AS v, $2::int + 1 AS n', { ...page, params: [tricky, 41] });
  expect(result.values).toEqual([[tricky, 42]]);
  expect((await session.run("SELECT to_regclass('item') IS NOT NULL", page)).values).toEqual([[true]]);
});

test('columns carry names, type names and where they come from, also for types made in the database', async () => {
  await session.run("CREATE TYPE mood AS ENUM ('happy', 'sad')", page);
  await session.run('CREATE TABLE diary (id int, feeling mood, tags text[])', page);
  await session.run("INSERT INTO diary VALUES (1, 'happy', '{a,b}')", page);
  const result = await session.run('SELECT id, feeling, tags, id + 1 AS next FROM diary', page);
  const { values: [[diaryOid]] } = await session.run("SELECT 'diary'::regclass::oid", page);
  expect(result.columns.map(({ name, typeName, tableOid, columnNumber }) => ({ name, typeName, tableOid, columnNumber }))).toEqual([
    { name: 'id', typeName: 'int4', tableOid: diaryOid, columnNumber: 1 },
    { name: 'feeling', typeName: 'mood', tableOid: diaryOid, columnNumber: 2 },
    { name: 'tags', typeName: '_text', tableOid: diaryOid, columnNumber: 3 },
    { name: 'next', typeName: 'int4', tableOid: 0, columnNumber: 0 },
  ]);
  expect(result.values).toEqual([[1, 'happy', ['a', 'b'], 2]]);
});

test('duplicate column names are kept in order', async () => {
  const result = await session.run('SELECT 1 AS a, 2 AS a', page);
  expect(result.columns.map((column) => column.name)).toEqual(['a', 'a']);
  expect(result.values).toEqual([[1, 2]]);
});

test('COPY to or from the client is refused clearly, and the session goes on', async () => {
  for (const sql of ['COPY item TO STDOUT', 'COPY item FROM STDIN']) {
    const error = await session.run(sql, page).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LakebaseError);
    expect((error as LakebaseError).code).toBe(SESSION_ERRORS.copyUnsupported);
    expect((await session.run('SELECT count(*)::int FROM item', page)).values).toEqual([[4]]);
  }
});

test('several statements in one run are refused by the server: the caller splits cells', async () => {
  await expect(session.run('SELECT 1; SELECT 2', page)).rejects.toMatchObject({ sqlState: '42601' });
});
