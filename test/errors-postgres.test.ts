// Carets and fields checked against what a real PostgreSQL reports. Every expected block below is
// what psql 15 printed for the same statement (plus our SQLSTATE line).
import { afterAll, beforeAll, expect, test } from 'vitest';
import pg from 'pg';
import { formatSqlError, SqlError } from '../lakebase/errors';
import { splitStatements } from '../lakebase/sql/lexer';
import { bindParameters } from '../lakebase/sql/parameters';
import { startTestPostgres, TestPostgres } from './support/postgres';

let server: TestPostgres;
let client: pg.Client;

beforeAll(async () => {
  server = await startTestPostgres();
  client = new pg.Client({ connectionString: server.url });
  await client.connect();
  await client.query('CREATE TABLE t (id int PRIMARY KEY, name text)');
});
afterAll(async () => {
  await client?.end();
  await server?.stop();
});

async function failure(statement: string, values: unknown[] = []): Promise<SqlError> {
  try {
    await client.query(statement, values);
  } catch (error) {
    return SqlError.fromDatabaseError(error as Error, statement);
  }
  throw new Error(`expected ${JSON.stringify(statement)} to fail`);
}

test.each([
  [
    'a column that does not exist',
    'SELECT nme FROM t',
    [
      'ERROR:  column "nme" does not exist',
      'LINE 1: SELECT nme FROM t',
      '               ^',
      'HINT:  Perhaps you meant to reference the column "t.name".',
      'SQLSTATE: 42703',
    ],
  ],
  [
    // The server counts characters, not bytes: the accents and ideographs come before the error.
    'on the third line, after multibyte text and tabs',
    "SELECT 'héllo wörld 日本',\n\t'x',\n\tnme\nFROM t",
    [
      'ERROR:  column "nme" does not exist',
      'LINE 3:  nme',
      '         ^',
      'HINT:  Perhaps you meant to reference the column "t.name".',
      'SQLSTATE: 42703',
    ],
  ],
  [
    'at the end of the input',
    'SELECT 1 +',
    ['ERROR:  syntax error at end of input', 'LINE 1: SELECT 1 +', '                  ^', 'SQLSTATE: 42601'],
  ],
  [
    'inside a PL/pgSQL block (an internal query)',
    'DO $$ BEGIN\n  PERFORM nme FROM t;\nEND $$',
    [
      'ERROR:  column "nme" does not exist',
      'LINE 1: SELECT nme FROM t',
      '               ^',
      'HINT:  Perhaps you meant to reference the column "t.name".',
      'QUERY:  SELECT nme FROM t',
      'CONTEXT:  PL/pgSQL function inline_code_block line 2 at PERFORM',
      'SQLSTATE: 42703',
    ],
  ],
  [
    'with a detail and no position',
    "INSERT INTO t VALUES (1, 'a'), (1, 'b')",
    [
      'ERROR:  duplicate key value violates unique constraint "t_pkey"',
      'DETAIL:  Key (id)=(1) already exists.',
      'SQLSTATE: 23505',
    ],
  ],
  [
    'in a literal, with context',
    `SELECT '{"a": 1'::jsonb`,
    [
      'ERROR:  invalid input syntax for type json',
      `LINE 1: SELECT '{"a": 1'::jsonb`,
      '               ^',
      'DETAIL:  The input string ended unexpectedly.',
      'CONTEXT:  JSON data, line 1: {"a": 1',
      'SQLSTATE: 22P02',
    ],
  ],
])('%s', async (_name, statement, expected) => {
  expect(formatSqlError(await failure(statement))).toEqual(expected);
});

test('keeps the server fields a caller may match on', async () => {
  const error = await failure("INSERT INTO t VALUES (2, 'a'), (2, 'b')");
  expect(error).toMatchObject({
    code: 'SQL_ERROR',
    sqlState: '23505',
    severity: 'ERROR',
    schema: 'public',
    table: 't',
    constraint: 't_pkey',
    statement: "INSERT INTO t VALUES (2, 'a'), (2, 'b')",
  });
  expect(error.cause).toBeInstanceOf(pg.DatabaseError);
});

test('in a cell, the caret points at the cell line the user wrote, past rewritten parameters', async () => {
  const cell = "SELECT 1;\n\nSELECT :greeting || 'é', :greeting,\n       nme FROM t";
  const statements = splitStatements(cell);
  const statement = statements[1];
  const bound = bindParameters(statement.text, () => ({ found: true, value: 'hello' }));
  expect(bound.text).toBe("SELECT $1 || 'é', $1,\n       nme FROM t");
  const error = (await failure(bound.text, bound.values)).withSource({ text: cell, start: statement.start, sourceIndex: bound.sourceIndex });
  expect(formatSqlError(error)).toEqual([
    'ERROR:  column "nme" does not exist',
    'LINE 4:        nme FROM t',
    '               ^',
    'HINT:  Perhaps you meant to reference the column "t.name".',
    'SQLSTATE: 42703',
  ]);
  const second = bindParameters('SELECT :greeting, nme FROM t', () => ({ found: true, value: 1 }));
  const onFirstLine = (await failure(second.text, second.values)).withSource({
    text: 'SELECT 1; SELECT :greeting, nme FROM t',
    start: 10,
    sourceIndex: second.sourceIndex,
  });
  expect(formatSqlError(onFirstLine).slice(1, 3)).toEqual([
    'LINE 1: SELECT 1; SELECT :greeting, nme FROM t',
    `${' '.repeat(36)}^`,
  ]);
});
