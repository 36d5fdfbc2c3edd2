import { describe, expect, test } from 'vitest';
import { LakebaseError } from '../lakebase/errors';
import { scanSql, splitStatements, SqlTextError } from '../lakebase/sql/lexer';

/** The statements' texts, and a check that every offset points at its text in the cell. */
function split(cell: string): string[] {
  const statements = splitStatements(cell);
  for (const statement of statements) expect(cell.slice(statement.start, statement.end)).toBe(statement.text);
  return statements.map((statement) => statement.text);
}

describe('splitStatements', () => {
  const cases: [string, string, string[]][] = [
    ['one statement without ;', 'SELECT 1', ['SELECT 1']],
    ['two statements, the last without ;', 'SELECT 1;\nSELECT 2', ['SELECT 1', 'SELECT 2']],
    ['empty statements dropped', ';;  SELECT 1 ; ;\n', ['SELECT 1']],
    ['only comments is no statement', '-- nothing\n/* here */ ;', []],
    ['a trailing comment after the last ;', 'SELECT 1; -- done', ['SELECT 1']],
    ['leading comment kept with its statement', '-- first\nSELECT 1;', ['-- first\nSELECT 1']],
    ['; in a string', "SELECT 'a;b'; SELECT 2", ["SELECT 'a;b'", 'SELECT 2']],
    ["doubled '' in a string", "SELECT 'it''s; fine'; SELECT 2", ["SELECT 'it''s; fine'", 'SELECT 2']],
    ['backslash is literal in a standard string', "SELECT 'a\\'; SELECT 2", ["SELECT 'a\\'", 'SELECT 2']],
    ["E-string with \\'", "SELECT E'a\\';b'; SELECT 2", ["SELECT E'a\\';b'", 'SELECT 2']],
    ['lower-case e-string with \\\\ at the end', "SELECT e'a\\\\'; SELECT 2", ["SELECT e'a\\\\'", 'SELECT 2']],
    ['a word ending in e is no escape string', "SELECT type'x;y'; SELECT 2", ["SELECT type'x;y'", 'SELECT 2']],
    ['; in a quoted identifier', 'SELECT 1 AS "a;""b"; SELECT 2', ['SELECT 1 AS "a;""b"', 'SELECT 2']],
    ['; in $$ dollar quotes', 'DO $$BEGIN PERFORM 1; END$$; SELECT 2', ['DO $$BEGIN PERFORM 1; END$$', 'SELECT 2']],
    [
      'a tagged dollar quote holding $$',
      'CREATE FUNCTION f() RETURNS text AS $fn$ SELECT $$;$$ $fn$ LANGUAGE sql; SELECT 2',
      ['CREATE FUNCTION f() RETURNS text AS $fn$ SELECT $$;$$ $fn$ LANGUAGE sql', 'SELECT 2'],
    ],
    ['$1 is a parameter, not a dollar quote', 'SELECT $1; SELECT $2', ['SELECT $1', 'SELECT $2']],
    ['$ inside an identifier is no dollar quote', 'SELECT a$b$; SELECT 2', ['SELECT a$b$', 'SELECT 2']],
    ['; in a line comment', 'SELECT 1 -- a; b\n, 2; SELECT 3', ['SELECT 1 -- a; b\n, 2', 'SELECT 3']],
    ['; in nested block comments', 'SELECT /* a /* b; */ c; */ 1; SELECT 2', ['SELECT /* a /* b; */ c; */ 1', 'SELECT 2']],
    ['quotes inside comments are no quotes', "SELECT 1 -- don't\n; SELECT /* \" */ 2", ["SELECT 1 -- don't", 'SELECT /* " */ 2']],
    [
      'inside parentheses, as psql',
      'CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)); SELECT 2',
      ['CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2))', 'SELECT 2'],
    ],
    [
      'an SQL-standard function body (BEGIN ATOMIC ... END)',
      'CREATE OR REPLACE FUNCTION f(x int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END;\n  SELECT 2;\nEND;\nSELECT f(1)',
      [
        'CREATE OR REPLACE FUNCTION f(x int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END;\n  SELECT 2;\nEND',
        'SELECT f(1)',
      ],
    ],
    [
      'a procedure body',
      'CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (1); END; CALL p()',
      ['CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (1); END', 'CALL p()'],
    ],
    ['BEGIN as a transaction is a statement of its own', 'BEGIN; SELECT 1; COMMIT;', ['BEGIN', 'SELECT 1', 'COMMIT']],
    ['CASE ... END outside a routine does not nest', 'SELECT CASE WHEN true THEN 1 END; SELECT 2', ['SELECT CASE WHEN true THEN 1 END', 'SELECT 2']],
    ['CRLF line endings and unicode', "SELECT 'é日本';\r\nSELECT 2\r\n", ["SELECT 'é日本'", 'SELECT 2']],
  ];
  test.each(cases)('%s', (_name, cell, expected) => {
    expect(split(cell)).toEqual(expected);
  });

  test('offsets point into the cell', () => {
    expect(splitStatements('  SELECT 1 ;\n\n  SELECT 2')).toEqual([
      { text: 'SELECT 1', start: 2, end: 10 },
      { text: 'SELECT 2', start: 16, end: 24 },
    ]);
  });
});

describe('unterminated text is an error that says where it starts', () => {
  const cases: [string, string, string][] = [
    ['a string', "SELECT 1;\nSELECT 'abc", "The string that starts at line 2, column 8 is never closed."],
    ['an E-string ending in \\\'', "SELECT E'abc\\'", "The string that starts at line 1, column 8 is never closed."],
    ['a quoted identifier', 'SELECT "abc', 'The quoted identifier " that starts at line 1, column 8 is never closed.'],
    ['a dollar quote', 'SELECT $fn$ abc $$', 'The dollar quote $fn$ that starts at line 1, column 8 is never closed.'],
    ['a nested block comment', 'SELECT /* a /* b */ 1', 'The block comment /* that starts at line 1, column 8 is never closed.'],
    ['after multibyte text', "SELECT '日本', 'x", 'The string that starts at line 1, column 14 is never closed.'],
  ];
  test.each(cases)('%s', (_name, cell, message) => {
    let thrown: unknown;
    try {
      splitStatements(cell);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(LakebaseError);
    expect(thrown).toMatchObject({ code: 'SQL_UNTERMINATED', message });
    expect((thrown as LakebaseError).hint).toMatch(/^Close it with /);
  });
});

test('the error knows where the quote starts, and counts the lines before the SQL in its cell', () => {
  let thrown: unknown;
  try {
    splitStatements("SELECT 1;\nSELECT 'abc", { lineOffset: 1 });
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(SqlTextError);
  expect(thrown).toMatchObject({ index: 17, line: 3, column: 8, message: 'The string that starts at line 3, column 8 is never closed.' });
});

describe('splitStatements of Databricks SQL (a SQL warehouse cell)', () => {
  const databricks = (cell: string) => splitStatements(cell, { dialect: 'databricks' }).map((statement) => statement.text);
  const cases: [string, string, string[]][] = [
    ['; in a back-quoted name', 'SELECT 1 AS `a;b`; SELECT 2', ['SELECT 1 AS `a;b`', 'SELECT 2']],
    ['a doubled ` inside a back-quoted name', 'SELECT 1 AS `a``;b`; SELECT 2', ['SELECT 1 AS `a``;b`', 'SELECT 2']],
    ['; in a "..." string', 'SELECT "a;b"; SELECT 2', ['SELECT "a;b"', 'SELECT 2']],
    ["a backslash-escaped ' in a '...' string", "SELECT 'it\\'s; fine'; SELECT 2", ["SELECT 'it\\'s; fine'", 'SELECT 2']],
    ['a backslash-escaped " in a "..." string', 'SELECT "say \\"a;b\\""; SELECT 2', ['SELECT "say \\"a;b\\""', 'SELECT 2']],
    ["a raw string keeps its backslash: r'a\\'", "SELECT r'a\\'; SELECT ';'", ["SELECT r'a\\'", "SELECT ';'"]],
    ['quotes in comments', "SELECT 1 -- don't `\n; SELECT /* \" ` */ 2", ["SELECT 1 -- don't `", 'SELECT /* " ` */ 2']],
  ];
  test.each(cases)('%s', (_name, cell, expected) => {
    expect(databricks(cell)).toEqual(expected);
  });

  test('an unclosed back-quoted name says where it starts', () => {
    expect(() => splitStatements('SELECT `a;b', { dialect: 'databricks' })).toThrow('The quoted identifier ` that starts at line 1, column 8 is never closed.');
  });

  test('PostgreSQL cells keep their own rules: a backtick is no quote there', () => {
    expect(split('SELECT `a;b`')).toEqual(['SELECT `a', 'b`']);
  });
});

describe('scanSql', () => {
  test('covers the text with spans of each kind, in order', () => {
    const text = `SELECT E'a', "b", $t$c$t$ -- d\n/* e */`;
    expect(scanSql(text).map(({ kind, start, end }) => [kind, text.slice(start, end)])).toEqual([
      ['code', 'SELECT '],
      ['string', "E'a'"],
      ['code', ', '],
      ['identifier', '"b"'],
      ['code', ', '],
      ['dollar-quote', '$t$c$t$'],
      ['code', ' '],
      ['comment', '-- d'],
      ['code', '\n'],
      ['comment', '/* e */'],
    ]);
  });
});
