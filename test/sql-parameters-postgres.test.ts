// Parameters against a real server: values travel as bound parameters (the server sees $1, never
// the value in the text), and each kind of value arrives as the type it should.
import { afterAll, beforeAll, expect, test } from 'vitest';
import pg from 'pg';
import { bindParameters, ParameterLookup } from '../lakebase/sql/parameters';
import { splitStatements } from '../lakebase/sql/lexer';
import { usePostgresClient } from './support/fixtures';
import type { TestPostgres } from './support/postgres';

let server: TestPostgres;
let client: pg.Client;

usePostgresClient((fixture) => ({ server, client } = fixture));

function lookupIn(variables: Record<string, unknown>): ParameterLookup {
  return (name) => (name in variables ? { found: true, value: variables[name] } : { found: false });
}

test('a value with quotes is bound, not pasted: the server sees $1', async () => {
  const evil = "x'); DROP TABLE t; --";
  const bound = bindParameters("SELECT :evil AS v, current_query() AS q, '::' AS c", lookupIn({ evil }));
  const { rows } = await client.query(bound.text, bound.values);
  expect(rows[0]).toEqual({ v: evil, q: "SELECT $1 AS v, current_query() AS q, '::' AS c", c: '::' });
});

test('each kind of value arrives with its type', async () => {
  const variables = {
    big: 9007199254740993n,
    doc: { n: 12345678901234567890n, tags: ['a'] },
    list: [1, 2, null],
    when: new Date('2024-01-02T03:04:05.678Z'),
    bytes: Buffer.from([0, 255]),
    flag: true,
    nothing: undefined,
  };
  const bound = bindParameters(
    'SELECT :big::int8::text AS big, :doc::jsonb AS doc, :list::int4[] AS list, :when::timestamptz AS when, :bytes::bytea AS bytes, :flag::bool AS flag, :nothing::text IS NULL AS nothing',
    lookupIn(variables),
  );
  const { rows } = await client.query(bound.text, bound.values);
  expect(rows[0]).toEqual({
    big: '9007199254740993',
    doc: { n: 12345678901234567000, tags: ['a'] }, // JSON.parse on the way back; the server kept the digits:
    list: [1, 2, null],
    when: new Date('2024-01-02T03:04:05.678Z'),
    bytes: Buffer.from([0, 255]),
    flag: true,
    nothing: true,
  });
  const exact = await client.query("SELECT ($1::jsonb ->> 'n') AS n", [bound.values[1]]);
  expect(exact.rows[0].n).toBe('12345678901234567890');
});

test('every statement a tricky cell splits into runs on the server', async () => {
  const cell = [
    'CREATE TABLE items (id int, note text)',
    "INSERT INTO items VALUES (1, 'a;b'), (2, E'c\\'d;'), (3, $$e;f$$)",
    'CREATE FUNCTION twice(x int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT x * 2; END',
    'CREATE RULE keep AS ON DELETE TO items DO INSTEAD (UPDATE items SET note = note; SELECT 1)',
    '/* count; */ SELECT count(*)::int AS n, twice(:k) AS k FROM items -- done;',
  ].join(';\n');
  const statements = splitStatements(cell);
  expect(statements).toHaveLength(5);
  let last: pg.QueryResult | undefined;
  for (const statement of statements) {
    const bound = bindParameters(statement.text, lookupIn({ k: 21 }));
    last = await client.query(bound.text, bound.values);
  }
  expect(last?.rows).toEqual([{ n: 3, k: 42 }]);
});
