// Real values from a real server, as node-postgres parses them, rendered like psql: the expected
// table is what psql 15 printed for the same query (with TimeZone UTC).
import { afterAll, beforeAll, expect, test } from 'vitest';
import pg from 'pg';
import { ResultSet } from '../lakebase/result-set';
import { renderPlainText } from '../lakebase/render';
import { typeNameOf } from '../lakebase/pg-types';
import { usePostgresClient } from './support/fixtures';

let client: pg.Client;

usePostgresClient((fixture) => ({ client } = fixture));

test('a table of parsed values looks as psql prints it', async () => {
  const statement = `SELECT id, name, amount, tags, since, seen, wait, raw, big FROM (VALUES
    (1, 'alice', 12.50::numeric, ARRAY['a b','c'], date '2024-01-02', timestamptz '2024-01-02 03:04:05.678+00',
     interval '1 year 2 months 3 days 04:05:06.789', '\\x0102ff'::bytea, 9007199254740993::int8),
    (22, E'日本\\nköln', -3::numeric, ARRAY[]::text[], date '1999-12-31', timestamptz '1999-12-31 23:59:59+00',
     interval '-1 day', ''::bytea, -1::int8)) AS t(id, name, amount, tags, since, seen, wait, raw, big)`;
  const result = await client.query({ text: statement, rowMode: 'array' });
  const rendered = renderPlainText(
    new ResultSet({
      statement,
      command: result.command,
      columns: result.fields.map((field) => ({
        name: field.name,
        typeOid: field.dataTypeID,
        typeName: typeNameOf(field.dataTypeID),
        tableOid: field.tableID,
        columnNumber: field.columnID,
      })),
      values: result.rows as unknown[][],
      rowCount: result.rowCount,
      elapsedMs: 2,
      displayLimit: 100,
    }),
  );
  expect(rendered).toBe(
    [
      ' id | name  | amount |   tags    |   since    |            seen            |               wait                |   raw    |       big        ',
      '----+-------+--------+-----------+------------+----------------------------+-----------------------------------+----------+------------------',
      '  1 | alice |  12.50 | {"a b",c} | 2024-01-02 | 2024-01-02 03:04:05.678+00 | 1 year 2 mons 3 days 04:05:06.789 | \\x0102ff | 9007199254740993',
      ' 22 | 日本 +|     -3 | {}        | 1999-12-31 | 1999-12-31 23:59:59+00     | -1 days                           | \\x       |               -1',
      '    | köln  |        |           |            |                            |                                   |          | ',
      '(2 rows)',
      'Time: 2.000 ms',
    ].join('\n'),
  );
});
