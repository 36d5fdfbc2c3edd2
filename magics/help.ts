// `%lakebase help` and `%lakebase help VERB`, written from the verbs' declarations: a verb, an
// option or an example added to a declaration shows up here (and in completion) by itself.
import type { OptionDeclaration, OptionValue, VerbDeclaration } from './declarations';
import { CELL_MAGIC, DEFAULT_CELL_VERB, LINE_MAGIC, optionSyntax, usageLine } from './grammar';
import type { VerbRegistry } from './registry';

/** The two forms of a magic, beside what they are for. */
const GRAMMAR: readonly (readonly [string, string])[] = [
  [`${LINE_MAGIC} VERB [ARGUMENT ...] [--OPTION ...] [SQL]`, 'one line, in any cell'],
  [`${CELL_MAGIC} [VERB] [ARGUMENT ...] [--OPTION ...]`, `first line of a cell; the lines below are its SQL (the verb defaults to ${DEFAULT_CELL_VERB})`],
];

/** Help lines are kept to this many columns (descriptions wrap under themselves). */
const HELP_WIDTH = 100;

const RULES = [
  'Options go on the magic line, before the SQL. The SQL is sent as written: nothing in it is read as ' +
    'an option. Quote values with spaces in \'single\' or "double" quotes.',
  'Bind TypeScript values into SQL with :name (sent as a bound parameter, never pasted into the text).',
  `A ${LINE_MAGIC} line may stand among TypeScript lines, or give a value: const r = ${LINE_MAGIC} sql SELECT 1`,
];

/** The overview: the grammar, then every verb with its one-line summary, by family. */
export function overviewHelp<Services>(registry: VerbRegistry<Services>): string {
  // One column for every verb's summary, whatever family it is in.
  const width = Math.max(...registry.names().map((name) => name.length)) + 2;
  const lines = [`${LINE_MAGIC}: SQL and Lakebase from a notebook`, '', ...table(GRAMMAR), '', ...RULES.flatMap((rule) => wrap(rule, HELP_WIDTH)), ''];
  for (const family of registry.families) {
    lines.push(`${family.summary}:`, ...table(family.verbs.map((verb) => [verb.name, verb.summary] as const), width), '');
  }
  lines.push(`${LINE_MAGIC} help VERB (help GROUP ACTION for a group's) explains a verb's arguments and options.`);
  return lines.join('\n');
}

/** A group (`instance`): its actions with their one-line summaries. */
export function groupHelp<Services>(registry: VerbRegistry<Services>, group: string): string {
  const verbs = registry.group(group);
  const family = registry.families.find((candidate) => candidate.verbs.some((verb) => verbs.includes(verb)));
  const width = Math.max(...verbs.map((verb) => verb.name.length)) + 2;
  return [
    `${LINE_MAGIC} ${group}: ${family?.summary ?? group}`,
    '',
    ...verbs.map((verb) => `  ${verb.name.padEnd(width)}${verb.summary}`),
    '',
    `${LINE_MAGIC} help ${group} ACTION shows an action's arguments, options and examples.`,
  ].join('\n');
}

/** One verb: usage in both forms, arguments, options, details, its value's type and examples. */
export function verbHelp<Services>(verb: VerbDeclaration<Services>): string {
  const lines = [`${LINE_MAGIC} ${verb.name}: ${verb.summary}`, '', 'Usage:', `  ${usageLine(verb, 'line')}`];
  if (verb.text !== undefined) {
    const verbWord = verb.name === DEFAULT_CELL_VERB ? `[${verb.name}]` : verb.name;
    lines.push(`  ${usageLine(verb, 'cell').replace(` ${verb.name}`, ` ${verbWord}`)}`, `  ${verb.text.name} (the rest of the cell)`);
  }
  const argumentRows: [string, string][] = verb.positionals.map((positional) => [
    positional.optional ? `[${positional.name}]` : positional.name,
    positional.summary,
  ]);
  if (verb.text !== undefined) argumentRows.push([verb.text.name, verb.text.summary]);
  if (argumentRows.length > 0) lines.push('', 'Arguments:', ...table(argumentRows));
  if (verb.options.length > 0) lines.push('', 'Options:', ...table(verb.options.map((option) => [optionHeading(option), optionSummary(option)])));
  if (verb.details !== undefined && verb.details.length > 0) {
    for (const paragraph of verb.details) lines.push('', ...wrap(paragraph, HELP_WIDTH - 2));
  }
  const value = valueType(verb);
  if (value !== undefined) {
    lines.push('', `Value (in a TypeScript cell: const x = ${LINE_MAGIC} ${verb.name} ...):`, ...wrap(value, HELP_WIDTH - 4).map((line) => `  ${line}`));
  }
  if (verb.examples.length > 0) lines.push('', 'Examples:', ...verb.examples.map((example) => `  ${example}`));
  return lines.join('\n');
}

/**
 * The TypeScript type of the verb's value (`const x = %lakebase VERB ...`), as the kernel declares
 * it; where flags decide it, the type without them and with each flag that changes it.
 */
function valueType<Services>(verb: VerbDeclaration<Services>): string | undefined {
  const { resultType } = verb;
  if (typeof resultType !== 'function') return resultType;
  const typeWith = (options: Record<string, OptionValue>) =>
    resultType({ verb: verb.name, positionals: [], options, source: { form: 'line', line: 0, textLine: 0, magicLine: `${LINE_MAGIC} ${verb.name}` }, mode: 'expression' });
  const plain = typeWith({});
  const changes = verb.options
    .filter((option) => option.kind === 'flag')
    .map((option) => ({ flag: `--${option.name}`, type: typeWith({ [option.name]: true }) }))
    .filter((change) => change.type !== plain)
    .map((change) => `with ${change.flag}, ${change.type}`);
  return [plain, ...changes].join('; ');
}

/** `-h, --host HOST` */
export function optionHeading(option: OptionDeclaration): string {
  return option.short === undefined ? optionSyntax(option) : `-${option.short}, ${optionSyntax(option)}`;
}

/** The summary, with the allowed values when they are not in the heading. */
export function optionSummary(option: OptionDeclaration): string {
  switch (option.kind) {
    case 'choice':
      return option.valueName === undefined ? option.summary : `${option.summary}: ${(option.choices ?? []).join(', ')}`;
    case 'integer':
      return option.min !== undefined && option.max !== undefined ? `${option.summary} (${option.min} to ${option.max})` : option.summary;
    default:
      return option.summary;
  }
}

/**
 * Two columns, indented by two: every description starts in the same column and wraps under
 * itself, as argparse and the Databricks CLI lay out their help. `width` is the first column's.
 */
function table(rows: readonly (readonly [string, string])[], width = Math.max(...rows.map(([left]) => left.length)) + 2): string[] {
  const indent = 2 + width;
  return rows.flatMap(([left, right]) => {
    const [first, ...rest] = wrap(right, Math.max(40, HELP_WIDTH - indent));
    return [`  ${left.padEnd(width)}${first ?? ''}`.trimEnd(), ...rest.map((line) => `${' '.repeat(indent)}${line}`)];
  });
}

/** Breaks a paragraph into lines of at most `width` characters, at spaces. */
function wrap(paragraph: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of paragraph.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}
