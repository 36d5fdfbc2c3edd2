// The magic grammar: magic lines → invocations, and the errors users get for what they get wrong.
import { describe, expect, test } from 'vitest';
import { DEFAULT_FAMILIES, MagicServices } from '../magics';
import { MagicInvocation } from '../magics/declarations';
import { MagicUsageError } from '../magics/errors';
import { parseInvocation, readWord } from '../magics/grammar';
import { createVerbRegistry } from '../magics/registry';
import { closestMatch } from '../magics/suggest';
import { describeError } from '../lakebase/errors';

const verbs = createVerbRegistry<MagicServices>(DEFAULT_FAMILIES);

function line(text: string): Omit<MagicInvocation, 'source' | 'mode'> {
  const { source, mode, ...rest } = parseInvocation(verbs, { form: 'line', magicLine: text, line: 0 }, 'statement');
  expect(source.magicLine).toBe(text);
  expect(mode).toBe('statement');
  return rest;
}

function cell(first: string, body: string): Omit<MagicInvocation, 'source' | 'mode'> {
  const { source, mode, ...rest } = parseInvocation(verbs, { form: 'cell', magicLine: first, line: 0, body }, 'cell');
  expect(source.textLine).toBe(1);
  expect(mode).toBe('cell');
  return rest;
}

function failure(text: string, form: 'line' | 'cell' = 'line', body?: string): MagicUsageError {
  try {
    parseInvocation(verbs, { form, magicLine: text, line: 2, body }, 'statement');
  } catch (error) {
    expect(error).toBeInstanceOf(MagicUsageError);
    return error as MagicUsageError;
  }
  throw new Error(`expected ${text} to be refused`);
}

describe('line magics', () => {
  test.each<[string, Omit<MagicInvocation, 'source' | 'mode'>]>([
    ['%lakebase sql SELECT 1', { verb: 'sql', positionals: [], options: {}, text: 'SELECT 1' }],
    // The SQL is the rest of the line as typed: quotes, casts, comments and dashes untouched.
    [
      `%lakebase sql SELECT 'it''s', "Col", x::int -- --into nope`,
      { verb: 'sql', positionals: [], options: {}, text: `SELECT 'it''s', "Col", x::int -- --into nope` },
    ],
    [`%lakebase sql SELECT E'\\''`, { verb: 'sql', positionals: [], options: {}, text: `SELECT E'\\''` }],
    [
      '%lakebase sql --into rows --display-limit 5 --on analytics SELECT * FROM t   ',
      { verb: 'sql', positionals: [], options: { into: 'rows', 'display-limit': 5, on: 'analytics' }, text: 'SELECT * FROM t' },
    ],
    ['%lakebase sql --display-limit=all SELECT 1', { verb: 'sql', positionals: [], options: { 'display-limit': Infinity }, text: 'SELECT 1' }],
    // `--` ends the options, so text may start with a dash.
    ['%lakebase sql -- -1 AS x', { verb: 'sql', positionals: [], options: {}, text: '-1 AS x' }],
    ['%lakebase connect', { verb: 'connect', positionals: [], options: {} }],
    ['%lakebase connect my-instance --as app --read-only', { verb: 'connect', positionals: ['my-instance'], options: { as: 'app', 'read-only': true } }],
    // Options and arguments in any order; psql's letters, also glued to the value.
    [
      '%lakebase connect -h localhost -p5432 -d "my db" -U me --sslmode require',
      { verb: 'connect', positionals: [], options: { host: 'localhost', port: 5432, database: 'my db', user: 'me', sslmode: 'require' } },
    ],
    [
      `%lakebase connect 'host=localhost dbname=shop' --as shop`,
      { verb: 'connect', positionals: ['host=localhost dbname=shop'], options: { as: 'shop' } },
    ],
    ['%lakebase use analytics', { verb: 'use', positionals: ['analytics'], options: {} }],
    ['%lakebase close --all', { verb: 'close', positionals: [], options: { all: true } }],
    ['%lakebase config display-limit 20', { verb: 'config', positionals: ['display-limit', '20'], options: {} }],
    ['%lakebase token', { verb: 'token', positionals: [], options: {} }],
    ['%lakebase help sql', { verb: 'help', positionals: ['sql'], options: {} }],
    // A bare magic is the overview.
    ['%lakebase', { verb: 'help', positionals: [], options: {} }],
  ])('%s', (text, expected) => {
    expect(line(text)).toEqual(expected);
  });
});

describe('cell magics', () => {
  test('a bare %%lakebase is SQL, the body untouched', () => {
    const body = 'SELECT 1;\n-- a comment --into x\nSELECT :a::int\n';
    expect(cell('%%lakebase', body)).toEqual({ verb: 'sql', positionals: [], options: {}, text: body });
  });

  test('options without the verb apply to sql', () => {
    expect(cell('%%lakebase --into rows', 'SELECT 1')).toEqual({ verb: 'sql', positionals: [], options: { into: 'rows' }, text: 'SELECT 1' });
  });

  test('a verb may be named', () => {
    expect(cell('%%lakebase sql --on prod', 'SELECT 1')).toMatchObject({ verb: 'sql', options: { on: 'prod' }, text: 'SELECT 1' });
    expect(cell('%%lakebase connections', '\n  \n')).toEqual({ verb: 'connections', positionals: [], options: {} });
  });
});

describe('errors', () => {
  test.each<[string, string, RegExp, RegExp | undefined]>([
    // SQL without the verb: the hint shows the line as it should be.
    ['%lakebase SELECT * FROM t', 'MAGIC_UNKNOWN_VERB', /has no verb "SELECT"/, /^SQL on a magic line follows the verb sql: %lakebase sql SELECT \* FROM t$/],
    ['%lakebase sq SELECT 1', 'MAGIC_UNKNOWN_VERB', /has no verb "sq"/, /Did you mean %lakebase sql\?/],
    ['%lakebase conect', 'MAGIC_UNKNOWN_VERB', /has no verb "conect"/, /Did you mean %lakebase connect\?/],
    ['%lakebase frobnicate', 'MAGIC_UNKNOWN_VERB', /has no verb/, /The verbs are sql, connect, connections, use, close, project, branch, endpoint, role, database, sync, synced-table, token, config, warehouse, instance, instance-role, catalog, table, credential, apps, help/],
    ['%lakebase sql --int rows SELECT 1', 'MAGIC_UNKNOWN_OPTION', /sql has no option --int/, /Did you mean --into\? See %lakebase help sql/],
    ['%lakebase connect --database', 'MAGIC_MISSING_ARGUMENT', /--database needs a value/, undefined],
    ['%lakebase connect --as --read-only', 'MAGIC_MISSING_ARGUMENT', /--as needs a value/, undefined],
    ['%lakebase connect -p abc', 'MAGIC_INVALID_VALUE', /--port must be a whole number from 1 to 65535, not "abc"/, undefined],
    ['%lakebase connect --sslmode requir', 'MAGIC_INVALID_VALUE', /--sslmode must be one of disable, .*verify-full/, /Did you mean require\?/],
    ['%lakebase sql --into 1rows SELECT 1', 'MAGIC_INVALID_VALUE', /TypeScript variable name/, undefined],
    ['%lakebase sql --into class SELECT 1', 'MAGIC_INVALID_VALUE', /not a reserved word/, undefined],
    ['%lakebase sql --display-limit 0 SELECT 1', 'MAGIC_INVALID_VALUE', /1 or more\) or "all"/, undefined],
    ['%lakebase sql --into a --into b SELECT 1', 'MAGIC_CONFLICTING_OPTIONS', /--into is given twice/, undefined],
    ['%lakebase connect --read-only=yes', 'MAGIC_INVALID_VALUE', /takes no value/, undefined],
    ['%lakebase sql', 'MAGIC_MISSING_ARGUMENT', /sql needs SQL/, /%%lakebase sql/],
    ['%lakebase sql --into rows', 'MAGIC_MISSING_ARGUMENT', /sql needs SQL/, undefined],
    ['%lakebase use', 'MAGIC_MISSING_ARGUMENT', /use needs NAME/, /Example: %lakebase use analytics/],
    ['%lakebase use a b', 'MAGIC_UNEXPECTED_ARGUMENT', /one argument; "b" is one too many/, undefined],
    ['%lakebase connect "my instance', 'MAGIC_SYNTAX', /quote " at column 19 .* never closed/, undefined],
    ['%lakebase connect --local --host x', 'MAGIC_CONFLICTING_OPTIONS', /--local and --host cannot be given together/, undefined],
    ['%lakebase token --verbose', 'MAGIC_UNKNOWN_OPTION', /token has no option --verbose/, /Its options are --refresh/],
  ])('%s', (text, code, message, hint) => {
    const error = failure(text);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    // Every error points at the cell line (1-based) it is about.
    expect(error.message).toMatch(/\(cell line 3\)$/);
    if (hint !== undefined) expect(error.hint).toMatch(hint);
  });

  test('the SQL of a cell goes below the first line', () => {
    const error = failure('%%lakebase sql SELECT 1', 'cell', 'SELECT 2');
    expect(error.code).toBe('MAGIC_UNEXPECTED_ARGUMENT');
    expect(error.message).toMatch(/SQL goes in the cell body/);
  });

  test('verbs without text take no cell body', () => {
    const error = failure('%%lakebase connections', 'cell', 'SELECT 1');
    expect(error.code).toBe('MAGIC_UNEXPECTED_ARGUMENT');
    expect(error.message).toMatch(/connections takes no cell body/);
  });

  test('usage errors render as one clear block, without a stack', () => {
    const description = describeError(failure('%lakebase sql --int rows SELECT 1'));
    expect(description.known).toBe(true);
    expect(description.lines).toEqual([
      'ERROR:  sql has no option --int (cell line 3)',
      'HINT:  Did you mean --into? See %lakebase help sql.',
      'CODE: MAGIC_UNKNOWN_OPTION',
    ]);
  });
});

describe('words', () => {
  test.each<[string, string, number]>([
    [`'a b' rest`, 'a b', 5],
    [`"say \\"hi\\"" rest`, 'say "hi"', 12],
    [`a\\ b rest`, 'a b', 4],
    [`--as="x y"`, '--as=x y', 10],
    [`'it''s'`, 'its', 7],
  ])('%s', (text, value, end) => {
    expect(readWord(text, 0)).toMatchObject({ value, end, start: 0 });
  });

  test('did you mean', () => {
    expect(closestMatch('conect', ['connect', 'connections', 'close'])).toBe('connect');
    expect(closestMatch('conn', ['connect', 'connections'])).toBeUndefined();
    expect(closestMatch('tok', ['token', 'sql'])).toBe('token');
    expect(closestMatch('xyz', ['token', 'sql'])).toBeUndefined();
  });
});
