import { describe, expect, test } from 'vitest';
import { LakebaseError } from '../lakebase/errors';
import { bindParameters, ParameterLookup, parameterNames, toParameterValue } from '../lakebase/sql/parameters';

const variables: Record<string, unknown> = { region: 'emea', n: 3, id: 7, lo: 1, hi: 2, x: 'x', région: 'é' };
const lookup: ParameterLookup = (name) =>
  Object.prototype.hasOwnProperty.call(variables, name) ? { found: true, value: variables[name] } : { found: false };

describe('bindParameters', () => {
  const cases: [string, string, string, unknown[]][] = [
    ['one parameter', 'SELECT * FROM t WHERE region = :region', 'SELECT * FROM t WHERE region = $1', ['emea']],
    ['a name used twice reuses its number', 'SELECT :n, :region, :n', 'SELECT $1, $2, $1', [3, 'emea']],
    ['at the very start and end', ':n', '$1', [3]],
    ['next to punctuation', 'SELECT (:n),:id', 'SELECT ($1),$2', [3, 7]],
    ['a :: cast is no parameter', 'SELECT x::int, :n::text', 'SELECT x::int, $1::text', [3]],
    ["a cast of a literal", "SELECT '1'::int + :n", "SELECT '1'::int + $1", [3]],
    ['array slices are no parameters', 'SELECT a[lo:hi], a[1:2], a[:hi]', 'SELECT a[lo:hi], a[1:2], a[$1]', [2]],
    ['after ] or ) is no parameter', 'SELECT (a)[1]:n, f(x):id', 'SELECT (a)[1]:n, f(x):id', []],
    [':= is no parameter', 'SELECT f(a := :n)', 'SELECT f(a := $1)', [3]],
    ['inside a string', "SELECT ':region', E'\\':n', :id", "SELECT ':region', E'\\':n', $1", [7]],
    ['inside a quoted identifier', 'SELECT 1 AS ":n", :id', 'SELECT 1 AS ":n", $1', [7]],
    ['inside comments', 'SELECT 1 -- :n\n/* :n /* :n */ */, :id', 'SELECT 1 -- :n\n/* :n /* :n */ */, $1', [7]],
    ['inside dollar quotes', 'SELECT $q$ :n $q$, $$:n$$, :id', 'SELECT $q$ :n $q$, $$:n$$, $1', [7]],
    ['a colon before a digit is no name', "SELECT '10:30', 1 :2", "SELECT '10:30', 1 :2", []],
    ['unicode names', 'SELECT :région', 'SELECT $1', ['é']],
    ['no parameters leaves $1 alone', 'SELECT $1', 'SELECT $1', []],
  ];
  test.each(cases)('%s', (_name, statement, text, values) => {
    const bound = bindParameters(statement, lookup);
    expect(bound.text).toBe(text);
    expect(bound.values).toEqual(values);
  });

  test("in a warehouse's Databricks SQL, back-quoted names and both kinds of strings hold no parameters", () => {
    const statement = "SELECT `a:n` AS `:n`, \":n\" AS b, 'it\\'s :n', r'\\' AS c, :id";
    expect(parameterNames(statement, 'databricks')).toEqual(['id']);
    expect(bindParameters(statement, lookup, 'databricks').names).toEqual(['id']);
  });

  test('names lists the parameter of each number', () => {
    expect(bindParameters('SELECT :n, :region, :n', lookup).names).toEqual(['n', 'region']);
  });

  test('sourceIndex maps positions in the sent text back to the statement as written', () => {
    const statement = 'SELECT :region, :n, nme';
    const bound = bindParameters(statement, lookup);
    expect(bound.text).toBe('SELECT $1, $2, nme');
    const sentNme = bound.text.indexOf('nme');
    expect(statement.slice(bound.sourceIndex(sentNme))).toBe('nme');
    expect(bound.sourceIndex(bound.text.indexOf('$2'))).toBe(statement.indexOf(':n'));
    expect(bound.sourceIndex(bound.text.indexOf('$1') + 1)).toBe(statement.indexOf(':region'));
    expect(bound.sourceIndex(3)).toBe(3);
  });

  test('a missing variable says which and how to define it', () => {
    let thrown: unknown;
    try {
      bindParameters('SELECT * FROM t WHERE country = :country', lookup);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(LakebaseError);
    expect(thrown).toMatchObject({
      code: 'PARAMETER_UNDEFINED',
      message: 'The parameter :country has no value: no TypeScript variable named country is defined.',
    });
    expect((thrown as LakebaseError).hint).toContain('const country = "emea"');
  });

  test('mixing :name and $1 is an error', () => {
    expect(() => bindParameters('SELECT $1, :n', lookup)).toThrow(expect.objectContaining({ code: 'PARAMETER_MIXED' }));
  });
});

test('parameterNames lists each name once, in order, ignoring casts and quoted text', () => {
  expect(parameterNames("SELECT :b, :a::int, ':c', :b, a[lo:hi] -- :d")).toEqual(['b', 'a']);
});

describe('toParameterValue', () => {
  test.each([
    ['a bigint becomes exact text', 12345678901234567890n, '12345678901234567890'],
    ['undefined is NULL', undefined, null],
    ['strings, numbers and booleans pass', 'a', 'a'],
    ['an object becomes JSON', { a: [1, 'x'] }, '{"a":[1,"x"]}'],
    ['bigints inside objects become exact JSON numbers', { big: 12345678901234567890n, list: [1n] }, '{"big":12345678901234567890,"list":[1]}'],
    ['arrays are converted element by element', [1n, { a: 2n }, null], ['1', '{"a":2}', null]],
  ])('%s', (_name, value, expected) => {
    expect(toParameterValue(value, 'p')).toEqual(expected);
  });

  test('Dates, Buffers and objects with toPostgres are left to node-postgres', () => {
    const date = new Date(0);
    const buffer = Buffer.from([1, 2]);
    const custom = { toPostgres: () => 'x' };
    expect(toParameterValue(date, 'p')).toBe(date);
    expect(toParameterValue(buffer, 'p')).toBe(buffer);
    expect(toParameterValue(custom, 'p')).toBe(custom);
  });

  test.each([
    ['a function', () => 1, 'The value of :p is a function, which cannot be sent to PostgreSQL.'],
    ['a symbol', Symbol('s'), 'The value of :p is a symbol, which cannot be sent to PostgreSQL.'],
    ['an invalid Date', new Date('nope'), 'The value of :p is an invalid Date, which cannot be sent to PostgreSQL.'],
    ['a Map', new Map(), 'The value of :p is a Map, which cannot be sent to PostgreSQL.'],
    ['a Set inside an array', [new Set()], 'The value of :p is a Set, which cannot be sent to PostgreSQL.'],
    ['a circular object', (() => { const o: Record<string, unknown> = {}; o.o = o; return o; })(), 'The value of :p is an object that cannot be written as JSON, which cannot be sent to PostgreSQL.'],
  ])('%s is refused', (_name, value, message) => {
    expect(() => toParameterValue(value, 'p')).toThrow(expect.objectContaining({ code: 'PARAMETER_UNSUPPORTED_VALUE', message }));
  });
});
