// planCell: which cells are TypeScript, magics, or TypeScript with magics in it, and the code the
// kernel runs for the last kind. The generated code is checked with TypeScript's own parser.
import { describe, expect, test } from 'vitest';
import * as ts from 'typescript-5';
import { CellPlan, createMagics, MagicInvocation } from '../magics';
import { MagicUsageError } from '../magics/errors';

// Planning needs no connection: the magics are only parsed, not run.
const magics = createMagics();

function plan(source: string): CellPlan {
  return magics.planCell(source);
}

function mixed(source: string): { code: string; invocations: MagicInvocation[] } {
  const result = plan(source);
  if (result.kind !== 'mixed') throw new Error(`expected a mixed cell, got ${result.kind}`);
  // Line numbers are kept: TypeScript's errors point at the user's lines.
  expect(result.code.split('\n').length).toBe(source.split('\n').length);
  const parsed = ts.createSourceFile('cell.ts', result.code, ts.ScriptTarget.Latest, true);
  const diagnostics = (parsed as unknown as { parseDiagnostics: ts.Diagnostic[] }).parseDiagnostics;
  expect(diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
  return result;
}

function codeLines(source: string): string[] {
  return mixed(source).code.split('\n');
}

function planError(source: string): MagicUsageError {
  try {
    plan(source);
  } catch (error) {
    expect(error).toBeInstanceOf(MagicUsageError);
    return error as MagicUsageError;
  }
  throw new Error('expected the cell to be refused');
}

describe('TypeScript cells', () => {
  test.each([
    ['no percent at all', 'const x = 1;\nconsole.log(x)'],
    ['a modulo', 'const even = n % 2 === 0;\nconst m = (a + b) % lakebase;'],
    ['a modulo continued on the next line', 'const m = a\n  %b\nconst n = a\n%b in c'],
    ['a magic in a string', `const s = "%lakebase sql SELECT 1";\nconst t = '%lakebase'`],
    ['a magic in a template literal', 'const s = `\n%lakebase sql SELECT 1\n${x}\n%lakebase sql SELECT 2\n`;'],
    ['a template literal followed by a modulo', 'const m = `a${b}c`.length % 2'],
    ['a magic in comments', '// %lakebase sql SELECT 1\n/*\n%lakebase sql SELECT 2\n*/ const x = 1'],
    ['a magic in a regular expression', 'const re = /%lakebase sql/;\nif (x) /%lakebase/.test(s)'],
    ['a magic in a JSDoc comment', '/**\n * %lakebase sql SELECT 1\n */\nfunction f() {}'],
  ])('%s', (_, source) => {
    expect(plan(source)).toEqual({ kind: 'typescript', code: source });
  });
});

describe('magics-only cells', () => {
  test('a %%lakebase cell: the body is the SQL, untouched', () => {
    const source = '%%lakebase --into rows\nSELECT 1;\n\n-- x\nSELECT :a::int\n';
    const result = plan(source);
    expect(result).toMatchObject({
      kind: 'magics',
      invocations: [{ verb: 'sql', options: { into: 'rows' }, text: 'SELECT 1;\n\n-- x\nSELECT :a::int\n', mode: 'cell' }],
    });
  });

  test('blank lines before %%lakebase are allowed', () => {
    expect(plan('\n  \n%%lakebase\nSELECT 1')).toMatchObject({
      kind: 'magics',
      invocations: [{ verb: 'sql', text: 'SELECT 1', source: { line: 2, textLine: 3, form: 'cell' } }],
    });
  });

  test('magic lines, blank lines and comments: each magic shows its results, the last gives the cell value', () => {
    const result = plan('// set up\n%lakebase connect\n\n  %lakebase sql SELECT 1\n/* done */\n%lakebase sql SELECT 2');
    expect(result.kind).toBe('magics');
    const invocations = (result as { invocations: MagicInvocation[] }).invocations;
    expect(invocations.map((i) => [i.verb, i.text, i.mode, i.source.line])).toEqual([
      ['connect', undefined, 'statement', 1],
      ['sql', 'SELECT 1', 'statement', 3],
      ['sql', 'SELECT 2', 'cell', 5],
    ]);
  });
});

describe('mixed cells', () => {
  test('a magic as a statement between TypeScript lines, capturing its parameters', () => {
    const source = "const region = 'emea';\n%lakebase sql SELECT * FROM t WHERE region = :region AND n > :min::int\nconsole.log(1)";
    const { code, invocations } = mixed(source);
    expect(code.split('\n')).toEqual([
      "const region = 'emea';",
      'await lakebase$magic(0, { region, min }, "statement");',
      'console.log(1)',
    ]);
    expect(invocations[0]).toMatchObject({ verb: 'sql', mode: 'statement', text: 'SELECT * FROM t WHERE region = :region AND n > :min::int' });
  });

  test('a magic as a value: an expression, nothing displayed', () => {
    expect(codeLines('const r = %lakebase sql SELECT :a, :b, :a\nr.rows')).toEqual([
      'const r = await lakebase$magic(0, { a, b }, "expression");',
      'r.rows',
    ]);
  });

  test('a magic as the body of a loop, one line or indented in a block', () => {
    expect(codeLines('for (const id of [1, 2]) %lakebase sql INSERT INTO t VALUES (:id)')).toEqual([
      'for (const id of [1, 2]) await lakebase$magic(0, { id }, "statement");',
    ]);
    expect(codeLines('for (const id of [1, 2]) {\n  %lakebase sql INSERT INTO t VALUES (:id)\n}')).toEqual([
      'for (const id of [1, 2]) {',
      '  await lakebase$magic(0, { id }, "statement");',
      '}',
    ]);
    expect(codeLines('if (ok)\n  %lakebase sql COMMIT\nelse\n  %lakebase sql ROLLBACK')).toEqual([
      'if (ok)',
      '  await lakebase$magic(0, {}, "statement");',
      'else',
      '  await lakebase$magic(1, {}, "statement");',
    ]);
  });

  test('a magic at the start of a line ends the statement before it', () => {
    expect(codeLines('let x = a\n%lakebase sql SELECT 1\nx = x % 3')).toEqual([
      'let x = a',
      'await lakebase$magic(0, {}, "statement");',
      'x = x % 3',
    ]);
  });

  test('inside calls and arrow functions: an expression, no semicolon', () => {
    expect(codeLines('const all = await Promise.all(ids.map(async (id) =>\n  %lakebase sql SELECT :id\n))')).toEqual([
      'const all = await Promise.all(ids.map(async (id) =>',
      '  await lakebase$magic(0, { id }, "expression")',
      '))',
    ]);
    expect(codeLines('show(\n  %lakebase sql SELECT 1\n)')).toEqual(['show(', '  await lakebase$magic(0, {}, "expression")', ')']);
  });

  test('return, switch cases and ternaries', () => {
    expect(codeLines('async function count(t: string) {\n  return %lakebase sql SELECT count(*) FROM x WHERE t = :t\n}')).toEqual([
      'async function count(t: string) {',
      '  return await lakebase$magic(0, { t }, "expression");',
      '}',
    ]);
    expect(codeLines('switch (step) {\n  case 1:\n    %lakebase sql BEGIN\n    break;\n  default:\n    %lakebase sql COMMIT\n}')).toEqual([
      'switch (step) {',
      '  case 1:',
      '    await lakebase$magic(0, {}, "statement");',
      '    break;',
      '  default:',
      '    await lakebase$magic(1, {}, "statement");',
      '}',
    ]);
    const { invocations } = mixed('const r = ok ? null :\n  %lakebase sql SELECT 1\nconsole.log(r)');
    expect(invocations[0].mode).toBe('expression');
  });

  test('parameters that cannot be TypeScript names are not captured', () => {
    expect(codeLines('const x = 1\n%lakebase sql SELECT :default, :x, \':no\', $$:no$$, a[1:2]')).toEqual([
      'const x = 1',
      'await lakebase$magic(0, { x }, "statement");',
    ]);
  });

  test('a cell of magics and comments only, found by the scanner, is a magics cell', () => {
    const result = plan('/* setup */ %lakebase connect\n%lakebase sql SELECT 1');
    expect(result.kind).toBe('magics');
    expect((result as { invocations: MagicInvocation[] }).invocations.map((i) => i.mode)).toEqual(['statement', 'cell']);
  });

  test('CRLF line endings stay', () => {
    expect(mixed('const a = 1\r\n%lakebase sql SELECT :a\r\na').code).toBe('const a = 1\r\nawait lakebase$magic(0, { a }, "statement");\r\na');
  });
});

describe('refused cells', () => {
  test.each<[string, string, string, RegExp]>([
    ['an unknown line magic', 'const a = 1\n%sql SELECT 1', 'MAGIC_UNKNOWN', /this kernel has no magic %sql \(cell line 2\)/],
    ['an unknown cell magic', '%%sql\nSELECT 1', 'MAGIC_UNKNOWN', /this kernel has no magic %%sql \(cell line 1\)/],
    ['%%lakebase below the first line', 'const a = 1;\n%%lakebase\nSELECT 1', 'MAGIC_SYNTAX', /must be the first line of the cell \(cell line 2\)/],
    ['%%lakebase below an expression', 'const a = 1\n%%lakebase', 'MAGIC_SYNTAX', /must be the first line of the cell \(cell line 2\)/],
    ['an unknown magic where a value goes', 'const a = %sql SELECT 1', 'MAGIC_UNKNOWN', /no magic %sql \(cell line 1\)/],
    ['a grammar error in a mixed cell', 'const a = 1\n%lakebase sql --nope SELECT 1', 'MAGIC_UNKNOWN_OPTION', /sql has no option --nope \(cell line 2\)/],
    ['--into the magics\' own function', '%lakebase sql --into lakebase$magic SELECT 1', 'MAGIC_RESERVED_NAME', /lakebase\$magic is used by the kernel itself/],
  ])('%s', (_, source, code, message) => {
    const error = planError(source);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  test('--into refuses the names the kernel reserves, and says which they are', () => {
    const kernelMagics = createMagics({ reservedNames: ['display'] });
    for (const source of ['%lakebase sql --into display SELECT 1', '%%lakebase --into display\nSELECT 1', 'x()\n%lakebase sql --into=display SELECT 1']) {
      try {
        kernelMagics.planCell(source);
        throw new Error(`planned ${source}`);
      } catch (error) {
        expect((error as MagicUsageError).code).toBe('MAGIC_RESERVED_NAME');
        expect((error as MagicUsageError).hint).toBe('Choose another name; the kernel reserves display, lakebase$magic, the result types Lakebase*.');
      }
    }
    expect(kernelMagics.planCell('%lakebase sql --into displayed SELECT 1').kind).toBe('magics');
  });
});

describe('mapToTypeScript (completion around magics)', () => {
  test('the cursor moves with the code that replaced the magics before it', () => {
    const source = 'const a = 1\n%lakebase sql SELECT :a\nconsole.lo';
    const mapped = magics.mapToTypeScript(source, source.length);
    expect(mapped).not.toBeNull();
    expect(mapped!.code.slice(0, mapped!.cursor).endsWith('console.lo')).toBe(true);
  });

  test('no TypeScript on a magic line or in a %%lakebase cell', () => {
    expect(magics.mapToTypeScript('const a = 1\n%lakebase sql SELECT 1', 20)).toBeNull();
    expect(magics.mapToTypeScript('%%lakebase\nSELECT 1', 15)).toBeNull();
  });

  test('half-typed cells do not throw', () => {
    expect(magics.mapToTypeScript('%%sq', 4)).toBeNull();
    expect(magics.mapToTypeScript('x = 1\n%lakebase sql --into "a', 3)).toEqual({ code: 'x = 1\nawait lakebase$magic(0, {}, "statement");', cursor: 3 });
    expect(magics.mapToTypeScript('const s = "%lakebase', 5)).toEqual({ code: 'const s = "%lakebase', cursor: 5 });
  });
});
