import { expect, test } from 'vitest';
import { arrayElementOid, builtinTypeName, isNumericType, rowTypeOf, tsTypeOf, typeNameOf } from '../lakebase/pg-types';

test.each([
  [23, 'int4'],
  [25, 'text'],
  [3802, 'jsonb'],
  [19, 'name'],
  [1007, '_int4'],
  [1009, '_text'],
  [999_999, 'unknown'],
])('typeNameOf(%i) is %s', (oid, name) => {
  expect(typeNameOf(oid)).toBe(name);
});

test('array types know their element type', () => {
  expect(arrayElementOid(1007)).toBe(23);
  expect(arrayElementOid(23)).toBeUndefined();
});

test('numbers are the types psql right-aligns', () => {
  expect([20, 21, 23, 700, 701, 1700, 790].every(isNumericType)).toBe(true);
  expect([25, 16, 1082, 1007].some(isNumericType)).toBe(false);
});

test.each([
  ['int2', 21, 'number'],
  ['int4', 23, 'number'],
  ['float8', 701, 'number'],
  ['oid', 26, 'number'],
  ['int8 (exact, so a string)', 20, 'string'],
  ['numeric', 1700, 'string'],
  ['money', 790, 'string'],
  ['bool', 16, 'boolean'],
  ['text', 25, 'string'],
  ['uuid', 2950, 'string'],
  ['date', 1082, 'Date'],
  ['timestamptz', 1184, 'Date'],
  ['bytea', 17, 'Buffer'],
  ['point', 600, '{ x: number; y: number }'],
  ['int4[]', 1007, '(number | null)[]'],
  ['text[]', 1009, '(string | null)[]'],
  ['numeric[] (pg-types parses the elements as floats)', 1231, '(number | null)[]'],
  ['name[] (no parser: the array text)', 1003, 'string'],
  ['an enum (OID of the database)', 16_500, 'string'],
])('tsTypeOf %s', (_name, typeOid, type) => {
  expect(tsTypeOf({ typeOid }, true)).toBe(type);
  expect(tsTypeOf({ typeOid }, false)).toBe(`${type} | null`);
});

test('json is unknown, nullable or not', () => {
  expect(tsTypeOf({ typeOid: 3802 }, false)).toBe('unknown');
  expect(tsTypeOf({ typeOid: 114 }, true)).toBe('unknown');
});

test('interval is an object type', () => {
  expect(tsTypeOf({ typeOid: 1186 }, true)).toBe(
    '{ years?: number; months?: number; days?: number; hours?: number; minutes?: number; seconds?: number; milliseconds?: number; toPostgres(): string; toISO(): string }',
  );
});

test('rowTypeOf quotes keys and lets a later duplicate win in the first place', () => {
  const columns = [
    { name: 'id', typeOid: 23 },
    { name: 'the "name"', typeOid: 25 },
    { name: 'id', typeOid: 1082 },
    { name: 'data', typeOid: 3802 },
  ];
  expect(rowTypeOf(columns, [true, false, false, false])).toBe(
    '{ "id": Date | null; "the \\"name\\"": string | null; "data": unknown }',
  );
  expect(rowTypeOf([], [])).toBe('{}');
});

test('rowTypeOf escapes every character TypeScript could read as the end of a string (issue 12)', () => {
  const names = ['a\u2028b', 'c\u2029d', 'e\nf', 'g\\h', 'i\u0000j', 'k\u{1F600}l', '\uD800'];
  const type = rowTypeOf(names.map((name) => ({ name, typeOid: 23 })), names.map(() => true));
  // Printable ASCII only, and the keys read back as the names.
  expect(type).toMatch(/^[\x20-\x7e]*$/);
  const keys = [...type.matchAll(/("(?:[^"\\]|\\.)*"): number/g)].map((match) => JSON.parse(match[1]) as string);
  expect(keys).toEqual(names);
});

test('builtinTypeName leaves types of a database to its catalog', () => {
  expect(builtinTypeName(1009)).toBe('_text');
  expect(builtinTypeName(16_500)).toBeUndefined();
});
