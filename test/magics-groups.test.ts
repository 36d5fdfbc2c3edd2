// Verbs in groups (`%lakebase instance create NAME`): the grammar reads the group and its action,
// help explains a group and each action, completion offers actions and names a family looks up,
// and mistakes in declarations fail when the magics are created.
import { describe, expect, test } from 'vitest';
import { createMagics, MagicServices } from '../magics';
import type { VerbFamily } from '../magics/declarations';
import { MagicUsageError } from '../magics/errors';
import { parseInvocation } from '../magics/grammar';
import { createVerbRegistry } from '../magics/registry';
import { recordingHost, runMagicCell } from './support/magic-host';

let lookups = 0;
const widgets: VerbFamily<MagicServices> = {
  name: 'widget',
  summary: 'Widgets',
  verbs: [
    {
      name: 'widget create',
      summary: 'Make a widget',
      positionals: [{ name: 'NAME', summary: 'the new widget' }],
      options: [{ name: 'size', kind: 'choice', choices: ['S', 'M', 'L'], summary: 'how big' }],
      examples: ['%lakebase widget create w1 --size M'],
      run: async ({ invocation }) => `created ${invocation.positionals[0]}`,
    },
    {
      name: 'widget get',
      summary: 'Show a widget',
      positionals: [{ name: 'NAME', summary: 'the widget', completes: 'widgets' }],
      options: [],
      examples: ['%lakebase widget get w1'],
      resultType: 'LakebaseWidget',
      run: async ({ invocation }) => `widget ${invocation.positionals[0]}`,
    },
    {
      name: 'widget list',
      summary: 'List the widgets',
      positionals: [],
      options: [],
      examples: ['%lakebase widget list'],
      run: async () => ['w1', 'w2'],
    },
  ],
  typeDeclarations: 'interface LakebaseWidget { name: string; size?: string }',
  completionSources: {
    // A lookup that goes to the network: answered asynchronously.
    widgets: async () => {
      lookups++;
      return ['w1', 'w2', 'other'];
    },
  },
};

const magics = createMagics({ families: [widgets] });
const registry = createVerbRegistry<MagicServices>([widgets]);

function parse(magicLine: string) {
  return parseInvocation(registry, { form: 'line', magicLine, line: 0 }, 'statement');
}

function refusal(magicLine: string): MagicUsageError {
  try {
    parse(magicLine);
  } catch (error) {
    expect(error).toBeInstanceOf(MagicUsageError);
    return error as MagicUsageError;
  }
  throw new Error(`expected ${magicLine} to be refused`);
}

describe('grammar', () => {
  test('a group and its action name one verb; arguments and options follow', () => {
    expect(parse('%lakebase widget create w1 --size M')).toMatchObject({ verb: 'widget create', positionals: ['w1'], options: { size: 'M' } });
    expect(parse('%lakebase widget list')).toMatchObject({ verb: 'widget list', positionals: [] });
  });

  test('a group without an action lists its actions', () => {
    const error = refusal('%lakebase widget');
    expect(error.code).toBe('MAGIC_MISSING_ARGUMENT');
    expect(error.message).toBe('%lakebase widget needs an action: create, get, list (cell line 1)');
    expect(error.hint).toBe('Example: %lakebase widget create w1 --size M. See %lakebase help widget.');
    expect(refusal('%lakebase widget --size M').code).toBe('MAGIC_MISSING_ARGUMENT');
  });

  test('a misspelt action gets "did you mean"', () => {
    const error = refusal('%lakebase widget creat w1');
    expect(error.code).toBe('MAGIC_UNKNOWN_VERB');
    expect(error.message).toBe('%lakebase widget has no action "creat" (cell line 1)');
    expect(error.hint).toBe('Did you mean %lakebase widget create? See %lakebase help widget create.');
    expect(refusal('%lakebase widget frobnicate').hint).toBe('The actions of widget are create, get, list. See %lakebase help widget.');
  });

  test('a misspelt group is suggested by its word, not by its actions', () => {
    const error = refusal('%lakebase widgte list');
    expect(error.hint).toBe('Did you mean %lakebase widget? See %lakebase help widget.');
  });

  test('a group cannot also be a verb, and completion sources must exist', () => {
    const clash: VerbFamily<MagicServices> = { ...widgets, verbs: [...widgets.verbs, { ...widgets.verbs[2], name: 'widget' }] };
    expect(() => createVerbRegistry([clash])).toThrow('"widget" is declared both as a verb and as a group of verbs');
    const orphan: VerbFamily<MagicServices> = { ...widgets, completionSources: {} };
    expect(() => createVerbRegistry([orphan])).toThrow('widget get NAME: no family provides the completion source "widgets"');
    expect(() => createVerbRegistry([{ ...widgets, verbs: [{ ...widgets.verbs[2], name: 'widget list all' }] }])).toThrow(/must be a lower-case word/);
  });
});

describe('help', () => {
  test('help GROUP lists its actions; help GROUP ACTION explains one', async () => {
    const group = String(await runMagicCell(magics, '%lakebase help widget', recordingHost()));
    expect(group).toBe(
      [
        '%lakebase widget: Widgets',
        '',
        '  widget create  Make a widget',
        '  widget get     Show a widget',
        '  widget list    List the widgets',
        '',
        '%lakebase help widget ACTION shows an action\'s arguments, options and examples.',
      ].join('\n'),
    );
    const one = String(await runMagicCell(magics, '%lakebase help widget create', recordingHost()));
    expect(one.split('\n').slice(0, 4)).toEqual(['%lakebase widget create: Make a widget', '', 'Usage:', '  %lakebase widget create NAME [--size S|M|L]']);
    await expect(runMagicCell(magics, '%lakebase help widget creat', recordingHost())).rejects.toThrow('there is no action of widget "creat"');
    await expect(runMagicCell(magics, '%lakebase help sql extra', recordingHost())).rejects.toThrow('sql has no actions; "extra" is one word too many');
  });

  test('the overview lists the group\'s verbs under the family', async () => {
    const text = String(await runMagicCell(magics, '%lakebase help', recordingHost()));
    expect(text).toMatch(/^Widgets:\n {2}widget create +Make a widget\n {2}widget get +Show a widget\n/m);
  });

  test('Shift+Tab on a group explains the group', () => {
    expect(magics.inspect('%lakebase widget', 12)).toContain('%lakebase widget: Widgets');
    expect(magics.inspect('%lakebase widget create w1', 12)).toContain('%lakebase widget create: Make a widget');
  });
});

describe('completion', () => {
  const at = (code: string) => ({ code: code.replace('|', ''), cursor: code.indexOf('|') });

  test('the first word offers groups once, not each action', () => {
    const { code, cursor } = at('%lakebase wid|');
    expect(magics.complete(code, cursor)?.matches).toEqual(['widget']);
  });

  test('after a group, its actions', () => {
    const { code, cursor } = at('%lakebase widget |');
    expect(magics.complete(code, cursor)?.matches).toEqual(['create', 'get', 'list']);
    const typed = at('%lakebase widget g|');
    expect(magics.complete(typed.code, typed.cursor)).toEqual({ matches: ['get'], cursorStart: 17, cursorEnd: 18 });
    const help = at('%lakebase help widget c|');
    expect(magics.complete(help.code, help.cursor)?.matches).toEqual(['create']);
  });

  test('options and choices of an action', () => {
    const { code, cursor } = at('%lakebase widget create w1 --size |');
    expect(magics.complete(code, cursor)?.matches).toEqual(['L', 'M', 'S']);
  });

  test('names a family looks up are offered by the asynchronous completion only', async () => {
    const { code, cursor } = at('%lakebase widget get w|');
    expect(magics.complete(code, cursor)?.matches).toEqual([]);
    const before = lookups;
    expect(await magics.completeAsync(code, cursor)).toEqual({ matches: ['w1', 'w2'], cursorStart: 21, cursorEnd: 22 });
    expect(lookups).toBeGreaterThan(before);
  });

  test('the verbs run', async () => {
    expect(await runMagicCell(magics, '%lakebase widget get w2', recordingHost())).toBe('widget w2');
  });
});

describe('typed values', () => {
  test('a value of a verb with a declared type is cast to it, so the variable is typed', () => {
    const plan = magics.planCell('const w = %lakebase widget get w1\nw.name');
    expect(plan).toMatchObject({ kind: 'mixed', code: 'const w = (await lakebase$magic(0, {}, "expression") as LakebaseWidget);\nw.name' });
    // As a statement there is no value to type.
    const statement = magics.planCell('for (const n of [1]) %lakebase widget get w1');
    expect(statement.kind === 'mixed' && statement.code).toBe('for (const n of [1]) await lakebase$magic(0, {}, "statement");');
  });

  test('the families\' declarations go to the prelude, and their names cannot be variables', async () => {
    expect(magics.typeDeclarations()).toContain('interface LakebaseWidget { name: string; size?: string }');
    await expect(runMagicCell(magics, '%lakebase sql --into LakebaseWidget SELECT 1', recordingHost())).rejects.toThrow(/LakebaseWidget/);
  });
});

