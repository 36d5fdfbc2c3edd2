// `%lakebase sql` against a real PostgreSQL: results and tags of multi-statement cells, bound
// parameters, --into with its declared type, transaction notes across cells, errors, notices,
// display limits, modes and interruption.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createMagics, Magics } from '../magics';
import { createConnectors } from '../magics/connectors';
import { JUPYTER_DISPLAY } from '../lakebase/contracts';
import { describeError, LakebaseError, SqlError } from '../lakebase/errors';
import { ResultSet } from '../lakebase/result-set';
import { Chart } from '../lakebase/chart';
import { startTestPostgres, TestPostgres } from './support/postgres';
import { RecordingHost, recordingHost, runMagicCell } from './support/magic-host';

let server: TestPostgres;
let magics: Magics;

beforeAll(async () => {
  server = await startTestPostgres();
  // Only the test server's variables: nothing of this machine's environment leaks in.
  magics = createMagics({ connectors: createConnectors({ env: server.env }) });
  await runMagicCell(magics, '%lakebase connect --as main', recordingHost());
  await runMagicCell(
    magics,
    '%%lakebase\nCREATE TABLE people (id int PRIMARY KEY, name text NOT NULL, nickname text);\n' +
      "INSERT INTO people VALUES (1, 'Ada', NULL), (2, 'Grace', 'amazing'), (3, 'Edsger', NULL);",
    recordingHost(),
  );
});

afterAll(async () => {
  await magics?.close();
  await server?.stop();
});

async function cell(source: string, host: RecordingHost = recordingHost()): Promise<unknown> {
  return runMagicCell(magics, source, host);
}

async function failing(source: string, host: RecordingHost = recordingHost()): Promise<unknown> {
  try {
    await cell(source, host);
  } catch (error) {
    return error;
  }
  throw new Error(`expected ${source} to fail`);
}

function resultOf(value: unknown): ResultSet {
  expect(value).toBeInstanceOf(ResultSet);
  return value as ResultSet;
}

describe('statements', () => {
  test('a cell of several statements shows each result; the last is the cell value', async () => {
    const host = recordingHost();
    const value = await cell(
      '%%lakebase\nCREATE TEMP TABLE scratch (n int);\nINSERT INTO scratch SELECT generate_series(1, 3);\n' +
        'UPDATE scratch SET n = n * 10 WHERE n > 1;\nSELECT n FROM scratch ORDER BY n',
      host,
    );
    expect(host.displayed.map((shown) => [resultOf(shown).command, resultOf(shown).rowCount])).toEqual([
      ['CREATE TABLE', null],
      ['INSERT', 3],
      ['UPDATE', 2],
    ]);
    const last = resultOf(value);
    expect(last.values).toEqual([[1], [20], [30]]);
    expect(host.stderrText()).toBe('');
  });

  test('a line magic in statement mode displays its result and gives no value', async () => {
    const plan = magics.planCell('const a = 1\n%lakebase sql SELECT 2 AS two');
    if (plan.kind !== 'mixed') throw new Error('expected a mixed cell');
    const host = recordingHost();
    expect(await magics.run(plan.invocations[0], host, { variables: {}, mode: 'statement' })).toEqual({});
    expect(host.displayed.map((shown) => resultOf(shown).values)).toEqual([[[2]]]);
  });

  test('in expression mode nothing is displayed and the last result is the value', async () => {
    const plan = magics.planCell('const r = %lakebase sql SELECT 1 AS a; SELECT 2 AS b');
    if (plan.kind !== 'mixed') throw new Error('expected a mixed cell');
    const host = recordingHost();
    const { value } = await magics.run(plan.invocations[0], host, { variables: {}, mode: 'expression' });
    expect(resultOf(value).rows).toEqual([{ b: 2 }]);
    expect(host.displayed).toEqual([]);
  });

  test('notices go to stderr, as psql prints them', async () => {
    const host = recordingHost();
    await cell(`%lakebase sql DO $$ BEGIN RAISE NOTICE 'hello %', 42 USING HINT = 'wave back'; END $$`, host);
    expect(host.stderrText()).toBe('NOTICE:  hello 42\nHINT:  wave back\n');
  });

  test('a cell with only comments runs nothing and says so', async () => {
    const host = recordingHost();
    expect(await cell('%%lakebase\n-- nothing yet\n', host)).toBeUndefined();
    expect(host.stderrText()).toBe('lakebase: there is no SQL statement to run\n');
  });
});

describe('parameters', () => {
  test('values are bound: the server sees $1, never the text', async () => {
    const host = recordingHost({ variables: { name: "O'Brien; DROP TABLE people; --", limit: 2 } });
    const value = await cell('%lakebase sql SELECT :name AS name, current_query() AS sent, :limit::int + 1 AS n', host);
    const [row] = resultOf(value).rows;
    expect(row.name).toBe("O'Brien; DROP TABLE people; --");
    expect(row.sent).toBe('SELECT $1 AS name, current_query() AS sent, $2::int + 1 AS n');
    expect(row.n).toBe(3);
  });

  test('captured values (a magic inside TypeScript) come before the kernel variables', async () => {
    const plan = magics.planCell('for (const id of [1, 2]) {\n  const r = %lakebase sql SELECT name FROM people WHERE id = :id\n}');
    if (plan.kind !== 'mixed') throw new Error('expected a mixed cell');
    const host = recordingHost({ variables: { id: 3 } });
    const names = [];
    for (const id of [1, 2]) {
      const { value } = await magics.run(plan.invocations[0], host, { variables: { id }, mode: 'expression' });
      names.push(resultOf(value).rows[0].name);
    }
    expect(names).toEqual(['Ada', 'Grace']);
  });

  test('the caret lands on the cell line, past rewritten parameters', async () => {
    const plan = magics.planCell("const a = 1\nconst r = %lakebase sql SELECT :greeting, nme FROM people");
    if (plan.kind !== 'mixed') throw new Error('expected a mixed cell');
    const error = await magics.run(plan.invocations[0], recordingHost(), { variables: { greeting: 'hi' }, mode: 'expression' }).catch((e: unknown) => e);
    expect(describeError(error).lines.slice(0, 3)).toEqual([
      'ERROR:  column "nme" does not exist',
      'LINE 2: SELECT :greeting, nme FROM people',
      '                          ^',
    ]);
  });

  test('an unclosed quote names the cell line', async () => {
    const error = (await failing("%%lakebase\nSELECT 1;\nSELECT 'oops")) as LakebaseError;
    expect(error.code).toBe('SQL_UNTERMINATED');
    expect(error.message).toBe('The string that starts at line 3, column 8 is never closed.');
  });

  test('a missing variable is a clear error, and nothing runs', async () => {
    const error = await failing('%%lakebase\nINSERT INTO people VALUES (9, :who, NULL);');
    expect(error).toBeInstanceOf(LakebaseError);
    expect((error as LakebaseError).code).toBe('PARAMETER_UNDEFINED');
    expect((error as LakebaseError).message).toContain('who');
    expect(resultOf(await cell('%lakebase sql SELECT count(*)::int AS n FROM people WHERE id = 9')).values).toEqual([[0]]);
  });
});

describe('--into', () => {
  test('stores every row as plain objects, typed from the columns (NOT NULL table columns are not nullable)', async () => {
    const host = recordingHost();
    const value = await cell(
      '%lakebase sql --into people_rows --display-limit 1 SELECT id, name, nickname, id * 2 AS double, now() AS at FROM people ORDER BY id',
      host,
    );
    // The displayed result shows one row; the variable has all of them.
    expect(resultOf(value)[JUPYTER_DISPLAY]()['text/plain']).toContain('(showing 1 of 3 rows)');
    expect(host.declared).toHaveLength(1);
    const [{ name, value: rows, tsType }] = host.declared;
    expect(name).toBe('people_rows');
    expect(tsType).toBe('Array<{ "id": number; "name": string; "nickname": string | null; "double": number | null; "at": Date | null }>');
    expect(Array.isArray(rows)).toBe(true);
    expect((rows as Record<string, unknown>[]).map((row) => [row.id, row.name, row.nickname])).toEqual([
      [1, 'Ada', null],
      [2, 'Grace', 'amazing'],
      [3, 'Edsger', null],
    ]);
    // It renders as the table when it is a cell's value, but is a plain array to code.
    const render = (rows as Record<symbol, () => { 'text/plain': string }>)[JUPYTER_DISPLAY];
    expect(render()['text/plain']).toMatch(/^ id \| name +\| nickname/);
    expect(Object.keys(rows as object)).toEqual(['0', '1', '2']);
  });

  test('the last statement must return rows', async () => {
    const error = await failing('%%lakebase --into nothing\nSELECT 1;\nCREATE TEMP TABLE empty_one (x int)');
    expect((error as LakebaseError).code).toBe('INTO_WITHOUT_ROWS');
  });
});

describe('--chart', () => {
  test('draws every row of the last statement above its table, which keeps the display limit', async () => {
    const host = recordingHost();
    const value = await cell('%%lakebase --chart bar --x name --y id --display-limit 2\nSELECT 0 AS warmup;\nSELECT id, name FROM people ORDER BY id', host);
    // The first statement's table, then the chart of the last; the last table is the value.
    expect(host.displayed).toHaveLength(2);
    expect(host.displayed[1]).toBeInstanceOf(Chart);
    const drawn = host.displayed[1] as Chart;
    expect(drawn.vegaLite.data.values).toEqual([{ name: 'Ada', id: 1 }, { name: 'Grace', id: 2 }, { name: 'Edsger', id: 3 }]);
    expect(drawn.vegaLite.encoding.x).toMatchObject({ field: 'name', type: 'nominal' });
    expect(drawn.vegaLite.encoding.y).toMatchObject({ field: 'id', type: 'quantitative' });
    expect(await drawn.svg()).toMatch(/^<svg /);
    expect(resultOf(value)[JUPYTER_DISPLAY]()['text/plain']).toContain('(showing 2 of 3 rows)');
  });

  test('is shown also when the magic is an expression, and goes with --into', async () => {
    const plan = magics.planCell('const letters = %lakebase sql --chart point --into charted SELECT id, length(name) AS letters FROM people ORDER BY id');
    if (plan.kind !== 'mixed') throw new Error('expected a mixed cell');
    const host = recordingHost();
    const { value } = await magics.run(plan.invocations[0], host, { variables: {}, mode: 'expression' });
    expect(resultOf(value).values).toHaveLength(3);
    expect(host.displayed.map((shown) => (shown as Chart).description)).toEqual(['point chart of letters by id (3 rows)']);
    expect(host.declared.map(({ name, value: rows }) => [name, (rows as unknown[]).length])).toEqual([['charted', 3]]);
  });

  test('mistakes are clear errors before or instead of a broken chart', async () => {
    const noChart = await failing('%%lakebase --x name\nSELECT name FROM people');
    expect(noChart).toMatchObject({ code: 'MAGIC_MISSING_ARGUMENT' });
    expect((noChart as LakebaseError).hint).toContain('--chart bar --x name');
    expect(await failing('%%lakebase --chart bar\nCREATE TEMP TABLE not_rows (x int)')).toMatchObject({ code: 'CHART_WITHOUT_ROWS' });
    expect(await failing('%%lakebase --chart bar --y nickame\nSELECT * FROM people')).toMatchObject({
      code: 'CHART_UNKNOWN_COLUMN',
      hint: 'Its columns: id, name, nickname.',
    });
    expect(await failing('%%lakebase --chart pie\nSELECT 1')).toMatchObject({ code: 'MAGIC_INVALID_VALUE' });
  });

  test('a result too big to chart says how to aggregate, having read only one row past the limit', async () => {
    const error = await failing('%%lakebase --chart point\nSELECT g AS n, g * 2 AS twice FROM generate_series(1, 20000) AS g');
    expect(error).toMatchObject({ code: 'CHART_TOO_MANY_ROWS', message: 'A chart draws at most 5,000 rows; this result has 20,000.' });
    expect(describeError(error).lines.join('\n')).toMatch(/HINT: .*GROUP BY/);
  });
});

describe('errors and transactions', () => {
  test('an error stops the cell at the failing statement; earlier results stay shown', async () => {
    const host = recordingHost();
    const error = await failing('%%lakebase\nSELECT 1 AS one;\nSELECT nme\n  FROM people;\nSELECT 3', host);
    expect(host.displayed.map((shown) => resultOf(shown).values)).toEqual([[[1]]]);
    expect(error).toBeInstanceOf(SqlError);
    const sqlError = error as SqlError;
    expect(sqlError.sqlState).toBe('42703');
    // The caret points into the cell as typed, on the cell's line.
    expect(describeError(sqlError).lines.slice(0, 3)).toEqual(['ERROR:  column "nme" does not exist', 'LINE 3: SELECT nme', '               ^']);
    expect(host.stderrText()).toBe('lakebase: statement 2 of 3 failed (cell line 3); the statements after it did not run\n');
  });

  test('a transaction across cells is noted after each magic until it ends', async () => {
    const host1 = recordingHost();
    await cell('%lakebase sql BEGIN', host1);
    expect(host1.stderrText()).toBe('lakebase: a transaction is open on "main"; COMMIT or ROLLBACK ends it\n');

    const host2 = recordingHost();
    await cell("%lakebase sql INSERT INTO people VALUES (4, 'Barbara', NULL)", host2);
    expect(host2.stderrText()).toBe('lakebase: a transaction is open on "main"; COMMIT or ROLLBACK ends it\n');

    const host3 = recordingHost();
    const error = await failing('%lakebase sql SELECT 1 / 0', host3);
    expect((error as SqlError).sqlState).toBe('22012');
    expect(host3.stderrText()).toBe('lakebase: the transaction on "main" failed; statements are ignored until ROLLBACK\n');

    const list = await cell('%lakebase connections');
    expect(String(list)).toMatch(/main +\| \* +\| PostgreSQL +\| .* \| failed transaction/);

    const host4 = recordingHost();
    await cell('%lakebase sql ROLLBACK', host4);
    expect(host4.stderrText()).toBe('');
    expect(resultOf(await cell('%lakebase sql SELECT count(*)::int FROM people')).values).toEqual([[3]]);
  });

  test('interrupting cancels the running statement on the server', async () => {
    const host = recordingHost();
    setTimeout(() => host.interrupt(), 300);
    const error = await failing('%lakebase sql SELECT pg_sleep(30)', host);
    expect((error as SqlError).sqlState).toBe('57014');
    expect(resultOf(await cell('%lakebase sql SELECT 1')).values).toEqual([[1]]);
  });

  test('an interrupted cell does not start its next statement', async () => {
    const host = recordingHost();
    host.interrupt();
    const error = await failing('%lakebase sql SELECT 1', host);
    expect((error as LakebaseError).code).toBe('INTERRUPTED');
  });
});

describe('display limit and connections', () => {
  test('the session setting and the per-magic option', async () => {
    await cell('%lakebase config display-limit 2');
    try {
      const limited = resultOf(await cell('%lakebase sql SELECT generate_series(1, 5)'));
      expect([limited.values.length, limited.rowCount]).toEqual([2, 5]);
      const one = resultOf(await cell('%lakebase sql --display-limit 1 SELECT generate_series(1, 5)'));
      expect([one.values.length, one.rowCount]).toEqual([1, 5]);
      const all = resultOf(await cell('%lakebase sql --display-limit all SELECT generate_series(1, 5)'));
      expect([all.values.length, all.rowCount]).toEqual([5, 5]);
    } finally {
      expect(String(await cell('%lakebase config display-limit --reset'))).toBe('display-limit = 100 (the default)');
    }
  });

  test('--on runs on another connection and leaves the current one current', async () => {
    await cell('%lakebase connect --as other');
    await cell('%lakebase use main');
    await cell('%lakebase sql --on other CREATE TEMP TABLE only_on_other (x int)');
    expect(resultOf(await cell('%lakebase sql --on other SELECT count(*)::int FROM only_on_other')).values).toEqual([[0]]);
    expect(((await failing('%lakebase sql SELECT * FROM only_on_other')) as SqlError).sqlState).toBe('42P01');
    const unknown = (await failing('%lakebase sql --on nowhere SELECT 1')) as LakebaseError;
    expect(unknown.code).toBe('CONNECTION_NOT_FOUND');
    await cell('%lakebase close other');
  });
});
