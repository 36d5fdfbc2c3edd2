// Help text and completion come from the verbs' declarations: every verb, option and example
// shows up, and every example is accepted by the grammar.
import { describe, expect, test } from 'vitest';
import { createMagics, DEFAULT_FAMILIES } from '../magics';
import { optionHeading, overviewHelp, verbHelp } from '../magics/help';
import { createVerbRegistry } from '../magics/registry';

const magics = createMagics();
const verbs = DEFAULT_FAMILIES.flatMap((family) => family.verbs);
const registry = createVerbRegistry(DEFAULT_FAMILIES);

/** Help text with wrapped descriptions joined again (continuation lines are indented further). */
const unwrapped = (text: string) => text.replace(/\n {4,}/g, ' ');

/** The column where the description starts on each line of a two-column block, by its term. */
function descriptionColumns(text: string, terms: readonly string[]): number[] {
  return terms.map((term) => {
    const line = text.split('\n').find((candidate) => candidate.startsWith(`  ${term} `));
    if (line === undefined) throw new Error(`no help line for ${term}`);
    return line.length - line.slice(2 + term.length).trimStart().length;
  });
}

describe('help', () => {
  test('the overview shows the grammar and every verb with its summary, by family', () => {
    const text = overviewHelp(registry);
    expect(text).toContain('%lakebase VERB [ARGUMENT ...] [--OPTION ...] [SQL]');
    expect(text).toContain('%%lakebase [VERB]');
    for (const family of DEFAULT_FAMILIES) expect(text).toContain(`${family.summary}:`);
    for (const verb of verbs) expect(unwrapped(text)).toMatch(new RegExp(`^  ${verb.name} +${escape(verb.summary)}$`, 'm'));
  });

  test('descriptions start in one column, and no line is longer than 100 columns', () => {
    const text = overviewHelp(registry);
    const grammar = descriptionColumns(text, ['%lakebase VERB', '%%lakebase [VERB]'].map((start) => text.split('\n').find((line) => line.startsWith(`  ${start}`))!.slice(2).split(/ {2,}/)[0]));
    expect(new Set(grammar).size).toBe(1);
    expect(new Set(descriptionColumns(text, verbs.map((verb) => verb.name))).size).toBe(1);
    const sql = verbHelp(registry.get('sql')!);
    expect(new Set(descriptionColumns(sql, registry.get('sql')!.options.map(optionHeading))).size).toBe(1);
    for (const line of [...text.split('\n'), ...sql.split('\n')].filter((line) => !line.startsWith('  %'))) {
      expect(line.length).toBeLessThanOrEqual(100);
    }
  });

  test.each(verbs.map((verb) => [verb.name, verb] as const))('%s: usage, every argument and option, and the examples', (_, verb) => {
    const text = unwrapped(verbHelp(verb));
    expect(text.split('\n')[0]).toBe(`%lakebase ${verb.name}: ${verb.summary}`);
    for (const option of verb.options) {
      expect(text).toMatch(new RegExp(`^  (-${option.short}, )?--${option.name}\\b.*${escape(option.summary)}`, 'm'));
    }
    for (const positional of verb.positionals) expect(text).toContain(positional.summary);
    for (const example of verb.examples) expect(text).toContain(`  ${example}`);
  });

  test('a verb with a value shows its TypeScript type, and how flags change it', () => {
    expect(verbHelp(registry.get('instance-role create')!)).toContain('\nValue (in a TypeScript cell: const x = %lakebase instance-role create ...):\n  LakebaseRole\n');
    expect(verbHelp(registry.get('branch delete')!)).toContain('\n  LakebaseMessage; with --no-wait, LakebaseOperation | LakebaseMessage\n');
    expect(verbHelp(registry.get('branch reset')!)).toContain('\n  LakebaseBranch | LakebaseMessage; with --yes, LakebaseBranch\n');
    // Every type named is one the kernel declares.
    const declared = magics.typeDeclarations();
    for (const verb of verbs.filter((candidate) => candidate.resultType !== undefined)) {
      const value = verbHelp(verb).split('\nValue (')[1].split('\n')[1];
      for (const name of value.match(/\bLakebase\w+/g) ?? []) expect(declared, `${verb.name}: ${name}`).toMatch(new RegExp(`^(interface|type) ${name}\\b`, 'm'));
    }
    expect(verbHelp(registry.get('sql')!)).not.toContain('\nValue (');
  });

  test('sql help shows both forms', () => {
    const text = verbHelp(registry.get('sql')!);
    // Too many options for one line: they are summed up, and listed under Options.
    expect(text).toContain('  %lakebase sql [OPTIONS] SQL\n  %%lakebase [sql] [OPTIONS]\n  SQL (the rest of the cell)');
    expect(text).toMatch(/^ {2}--chart MARK +Also draw the last statement's rows as a chart: bar, line, point, area$/m);
  });

  test.each(verbs.flatMap((verb) => verb.examples.map((example) => [verb.name, example] as const)))(
    '%s example is accepted: %s',
    (name, example) => {
      // Cell-form examples get a body; `const r = %lakebase ...` examples are mixed cells.
      const source = example.startsWith('%%') ? `${example}\nSELECT 1` : example;
      const plan = magics.planCell(source);
      expect(plan.kind).not.toBe('typescript');
      const invocations = plan.kind === 'typescript' ? [] : plan.invocations;
      expect(invocations.map((invocation) => invocation.verb)).toEqual([name]);
    },
  );

  test('%lakebase help runs through the same text', async () => {
    const plan = magics.planCell('%lakebase help connect');
    if (plan.kind !== 'magics') throw new Error('expected a magics cell');
    const shown: unknown[] = [];
    const host = {
      stdout: () => {},
      stderr: () => {},
      display: (value: unknown) => shown.push(value),
      lookupVariable: () => ({ found: false as const }),
      declareVariable: async () => {},
      input: async () => '',
      signal: new AbortController().signal,
    };
    const { value } = await magics.run(plan.invocations[0], host);
    expect(String(value)).toBe(verbHelp(registry.get('connect')!));
    expect(shown).toEqual([]);
  });
});

describe('completion', () => {
  const at = (code: string) => {
    const cursor = code.indexOf('|');
    return magics.complete(code.replace('|', ''), cursor);
  };

  test.each<[string, string[], number]>([
    ['%lakebase co|', ['config', 'connect', 'connections'], 10],
    ['%lakebase |', ['apps', 'branch', 'catalog', 'close', 'config', 'connect', 'connections', 'credential', 'database', 'endpoint', 'help', 'instance', 'instance-role', 'project', 'role', 'sql', 'sync', 'synced-table', 'table', 'token', 'use', 'warehouse'], 10],
    ['%lakebase sql --i|', ['--into'], 14],
    ['%lakebase sql --into rows --|', ['--chart', '--color', '--display-limit', '--on', '--stdin', '--x', '--y'], 26],
    ['%lakebase connect --sslmode ver|', ['verify-ca', 'verify-full'], 28],
    ['%lakebase connect -p 5432 --r|', ['--read-only'], 26],
    ['%lakebase sql --display-limit |', ['all'], 30],
    ['%lakebase help c|', ['catalog', 'close', 'config', 'connect', 'connections', 'credential'], 15],
    ['%lakebase config d|', ['display-limit'], 17],
    ['%%lakebase --|', ['--chart', '--color', '--display-limit', '--into', '--on', '--stdin', '--x', '--y'], 11],
    ['%%lakebase con|', ['config', 'connect', 'connections'], 11],
    ['const r = %lakebase s|', ['sql', 'sync', 'synced-table'], 20],
    // In the SQL, nothing: it is not the magic's to complete.
    ['%lakebase sql SELECT --i|', [], 21],
    ['%lakebase nope --|', [], 15],
  ])('%s', (code, matches, start) => {
    const result = at(code);
    expect(result).toEqual({ matches, cursorStart: start, cursorEnd: code.indexOf('|') });
  });

  test('a word after the cursor is replaced as a whole', () => {
    expect(magics.complete('%lakebase con tail', 13)).toMatchObject({ cursorStart: 10, cursorEnd: 13 });
    expect(magics.complete('%lakebase co|nnect'.replace('|', ''), 12)).toMatchObject({ cursorStart: 10, cursorEnd: 17 });
  });

  test('the magic itself', () => {
    expect(at('%|')).toEqual({ matches: ['%lakebase', '%%lakebase'], cursorStart: 0, cursorEnd: 1 });
    expect(at('%%l|')).toEqual({ matches: ['%%lakebase'], cursorStart: 0, cursorEnd: 3 });
    expect(at('%lakebase|')).toEqual({ matches: ['%lakebase'], cursorStart: 0, cursorEnd: 9 });
    expect(at('const a = 1\n  %l|')).toEqual({ matches: ['%lakebase'], cursorStart: 14, cursorEnd: 16 });
  });

  test('not on a magic line: null (the kernel asks TypeScript)', () => {
    expect(at('const x = 1 % 2|')).toBeNull();
    expect(at('console.lo|')).toBeNull();
    expect(at('%%lakebase\nSELECT |')).toBeNull();
  });
});

describe('inspection', () => {
  test('the verb or option under the cursor', () => {
    const code = '%lakebase sql --into rows SELECT 1';
    expect(magics.inspect(code, code.indexOf('sql') + 1)).toBe(verbHelp(registry.get('sql')!));
    const option = magics.inspect(code, code.indexOf('--into') + 3)!;
    expect(option.split('\n')[0]).toBe('--into VARIABLE');
    expect(option).toContain(verbHelp(registry.get('sql')!));
    expect(magics.inspect(code, 2)).toBe(verbHelp(registry.get('sql')!));
    expect(magics.inspect('%lakebase', 9)).toBe(overviewHelp(registry));
    expect(magics.inspect('const x = 1', 5)).toBeNull();
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
