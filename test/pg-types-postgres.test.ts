// The type tables against a real server: names and array types as in pg_type, and the TypeScript
// types as what node-postgres actually returns for a value of each type.
import { afterAll, beforeAll, expect, test } from 'vitest';
import pg from 'pg';
import { arrayElementOid, tsTypeOf, typeNameOf } from '../lakebase/pg-types';
import { usePostgresClient } from './support/fixtures';

let client: pg.Client;

usePostgresClient((fixture) => ({ client } = fixture));

test('every known type name and array type is the one in pg_type', async () => {
  const { rows } = await client.query<{ oid: number; typname: string; typelem: number }>(
    'SELECT oid::int4, typname, typelem::int4 FROM pg_type WHERE oid < 10000',
  );
  let checked = 0;
  for (const row of rows) {
    const name = typeNameOf(row.oid);
    if (name === 'unknown' && row.typname !== 'unknown') continue; // types we do not name
    expect(name, `oid ${row.oid}`).toBe(row.typname);
    if (row.typname.startsWith('_')) expect(arrayElementOid(row.oid), `oid ${row.oid}`).toBe(row.typelem);
    checked++;
  }
  expect(checked).toBeGreaterThan(100);
});

/** Does `value` fit the TypeScript type text `type` (the shapes tsTypeOf produces)? */
function fits(value: unknown, type: string): boolean {
  if (type.endsWith(' | null')) return value === null || fits(value, type.slice(0, -' | null'.length));
  const array = /^\((.*) \| null\)\[\]$/.exec(type);
  if (array) return Array.isArray(value) && value.every((element) => element === null || fits(element, array[1]));
  switch (type) {
    case 'number':
    case 'string':
    case 'boolean':
      return typeof value === type;
    case 'Date':
      return value instanceof Date;
    case 'Buffer':
      return Buffer.isBuffer(value);
    case 'unknown':
      return true;
    case '{ x: number; y: number }':
      return typeof value === 'object' && value !== null && typeof (value as { x: unknown }).x === 'number';
    case '{ x: number; y: number; radius: number }':
      return typeof (value as { radius?: unknown })?.radius === 'number';
    default:
      if (type.startsWith('{ years?: number;')) return typeof (value as { toPostgres?: unknown })?.toPostgres === 'function';
      throw new Error(`no check for ${type}`);
  }
}

test('tsTypeOf describes what node-postgres returns for each type', async () => {
  const samples = [
    '1::int2', '1::int4', '1::int8', '1.5::float4', '1.5::float8', '1.5::numeric', '1::oid',
    '12.5::money', 'true', "'x'::text", "'x'::varchar", "'x'::bpchar", "'x'::name",
    'gen_random_uuid()', "'2024-01-02'::date", 'now()::timestamp', 'now()', "'04:05'::time",
    "'{\"a\":1}'::json", "'[1]'::jsonb", "'\\x01'::bytea", "'1 day'::interval", 'point(1,2)',
    "circle '<(1,2),3>'", "'127.0.0.1'::inet", "'10'::bit(2)", 'int4range(1,3)',
    'ARRAY[1,NULL]::int2[]', 'ARRAY[1]::int4[]', 'ARRAY[1]::int8[]', 'ARRAY[1.5]::numeric[]',
    'ARRAY[1.5]::float8[]', 'ARRAY[true]', "ARRAY['a',NULL]::text[]", "ARRAY['a']::varchar[]",
    "ARRAY['a']::name[]", "ARRAY['2024-01-02']::date[]", 'ARRAY[now()]', "ARRAY['{}']::jsonb[]",
    "ARRAY['\\x01']::bytea[]", "ARRAY['1 day']::interval[]", 'ARRAY[gen_random_uuid()]',
    "ARRAY['127.0.0.1']::inet[]",
  ];
  const result = await client.query({ text: `SELECT ${samples.join(', ')}`, rowMode: 'array' });
  const mismatches = result.fields
    .map((field, i) => ({ sample: samples[i], type: tsTypeOf({ typeOid: field.dataTypeID }, true), value: result.rows[0][i] }))
    .filter(({ value, type }) => !fits(value, type));
  expect(mismatches).toEqual([]);
  // And NULL of any type fits the nullable form.
  const nulls = await client.query({ text: 'SELECT NULL::int4, NULL::text[], NULL::jsonb', rowMode: 'array' });
  nulls.fields.forEach((field, i) => expect(fits(nulls.rows[0][i], tsTypeOf({ typeOid: field.dataTypeID }, false))).toBe(true));
});
