// The one grammar of `%lakebase`:
//
//   %lakebase VERB [ARGUMENT ...] [--option [VALUE] ...] [TEXT]      (a line magic)
//   %%lakebase [VERB] [ARGUMENT ...] [--option [VALUE] ...]          (first line of a cell)
//   BODY                                                             (the rest of the cell)
//
// Words on the magic line are split like a shell splits them ('single' and "double" quotes,
// backslash escapes), so a value may contain spaces. Options may come in any order among the
// arguments, as `--name VALUE`, `--name=VALUE` or, for the few psql letters, `-h VALUE`; `--`
// ends the options. A verb that takes free text (SQL) takes the rest of the line after its
// arguments and options, untouched, or, in the cell form, the cell body: options therefore come
// BEFORE the SQL, and nothing in the SQL is ever read as an option (no keyword sniffing). In the
// cell form the verb may be left out: `%%lakebase` alone means `%%lakebase sql`.
import type {
  InvocationSource,
  MagicInvocation,
  MagicMode,
  OptionDeclaration,
  OptionValue,
  VerbDeclaration,
} from './declarations';
import { helpHint, MAGIC_ERRORS, MagicUsageError } from './errors';
import type { VerbRegistry } from './registry';
import { closestMatch } from './suggest';

export const LINE_MAGIC = '%lakebase';
export const CELL_MAGIC = '%%lakebase';
/** The verb of a `%%lakebase` cell whose first line names none. */
export const DEFAULT_CELL_VERB = 'sql';
/** The verb of a bare `%lakebase` line. */
export const DEFAULT_LINE_VERB = 'help';

/** One word of a magic line, with its place in the line (for completion and messages). */
export interface Word {
  /** The word with quotes and escapes removed. */
  value: string;
  /** Index in the line of its first character (a quote, if quoted). */
  start: number;
  /** Index after its last character. */
  end: number;
  /** Whether any part was quoted or escaped: such a word is never an option. */
  quoted: boolean;
  /** A quote was still open at the end of the line (only reported when reading tolerantly). */
  unterminated: boolean;
}

const SPACE = /[ \t\r]/;

/** Index of the first non-blank character at or after `from`. */
export function skipSpaces(line: string, from: number): number {
  let i = from;
  while (i < line.length && SPACE.test(line[i])) i++;
  return i;
}

/**
 * Reads the word at or after `from`, or null at the end of the line. An unclosed quote is an error,
 * or, when `tolerant` (completion reads half-typed lines), ends the word at the end of the line.
 */
export function readWord(line: string, from: number, options: { tolerant?: boolean; line?: number } = {}): Word | null {
  const start = skipSpaces(line, from);
  if (start >= line.length) return null;
  let value = '';
  let quoted = false;
  let i = start;
  while (i < line.length && !SPACE.test(line[i])) {
    const c = line[i];
    if (c === "'" || c === '"') {
      quoted = true;
      const close = findClosingQuote(line, i + 1, c);
      if (close < 0) {
        if (!options.tolerant) {
          throw new MagicUsageError(MAGIC_ERRORS.syntax, `the quote ${c} at column ${i + 1} of the magic line is never closed`, {
            line: options.line,
            hint: `Close it, or put the value in the other kind of quotes.`,
          });
        }
        value += unescape(line.slice(i + 1), c);
        return { value, start, end: line.length, quoted, unterminated: true };
      }
      value += unescape(line.slice(i + 1, close), c);
      i = close + 1;
    } else if (c === '\\' && i + 1 < line.length) {
      quoted = true;
      value += line[i + 1];
      i += 2;
    } else {
      value += c;
      i++;
    }
  }
  return { value, start, end: i, quoted, unterminated: false };
}

function findClosingQuote(line: string, from: number, quote: string): number {
  for (let i = from; i < line.length; i++) {
    if (quote === '"' && line[i] === '\\') i++;
    else if (line[i] === quote) return i;
  }
  return -1;
}

/** Inside double quotes, `\"` and `\\` stand for themselves; single quotes keep everything. */
function unescape(text: string, quote: string): string {
  return quote === '"' ? text.replace(/\\(["\\])/g, '$1') : text;
}

/** Every word of `line` from `from` on (tolerant: never throws). */
export function readWords(line: string, from: number): Word[] {
  const words: Word[] = [];
  for (let word = readWord(line, from, { tolerant: true }); word; word = readWord(line, word.end, { tolerant: true })) {
    words.push(word);
  }
  return words;
}

/** Whether `line` (from `%`, indentation removed) starts with `magic` as a whole word. */
export function startsWithMagic(line: string, magic: string): boolean {
  return line.startsWith(magic) && (line.length === magic.length || SPACE.test(line[magic.length]));
}

/** What the parser needs to know about one magic in a cell. */
export interface MagicText {
  form: 'line' | 'cell';
  /** From `%` to the end of the line. */
  magicLine: string;
  /** 0-based line of the cell where the magic is. */
  line: number;
  /** The cell below the `%%lakebase` line (cell form only). */
  body?: string;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Words that cannot name a TypeScript variable (reserved in strict mode code). */
export const RESERVED_WORDS: ReadonlySet<string> = new Set(
  ('break case catch class const continue debugger default delete do else enum export extends false finally ' +
    'for function if import in instanceof new null return super switch this throw true try typeof var void ' +
    'while with yield let static implements interface package private protected public await arguments eval')
    .split(' '),
);

/** Whether `name` can be declared as a TypeScript variable. */
export function isVariableName(name: string): boolean {
  return IDENTIFIER.test(name) && !RESERVED_WORDS.has(name);
}

/**
 * Parses one magic against the verbs' declarations: the verb, its arguments and options (values
 * checked and converted), and its free text. Everything a user can get wrong is a
 * `MagicUsageError` that says what and where, with a "did you mean" when a name is close.
 */
export function parseInvocation<Services>(
  registry: VerbRegistry<Services>,
  magic: MagicText,
  mode: MagicMode,
  reservedNames: ReadonlySet<string> = new Set(),
): MagicInvocation {
  const at = { line: magic.line };
  const prefix = magic.form === 'cell' ? CELL_MAGIC : LINE_MAGIC;
  if (!startsWithMagic(magic.magicLine, prefix)) {
    throw new MagicUsageError(MAGIC_ERRORS.syntax, `a magic line starts with ${prefix} followed by a space`, at);
  }
  const line = magic.magicLine.replace(/[\r\n]+$/, '');
  let position = prefix.length;

  // The verb: the first word, unless the cell form leaves it out.
  const first = readWord(line, position, at);
  let verbName: string;
  if (first === null) {
    verbName = magic.form === 'cell' ? DEFAULT_CELL_VERB : DEFAULT_LINE_VERB;
  } else if (magic.form === 'cell' && !first.quoted && first.value.startsWith('-')) {
    verbName = DEFAULT_CELL_VERB;
  } else {
    verbName = first.value;
    position = first.end;
    // A group's verbs take two words: `%lakebase instance create orders`.
    if (!first.quoted && registry.get(verbName) === undefined && registry.isGroup(verbName)) {
      const action = readWord(line, position, at);
      if (action === null || (!action.quoted && action.value.startsWith('-'))) throw missingAction(registry, verbName, magic);
      verbName = `${first.value} ${action.value}`;
      position = action.end;
      if (registry.get(verbName) === undefined) throw unknownAction(registry, first.value, action.value, magic);
    }
  }
  const verb = registry.get(verbName);
  if (verb === undefined) throw unknownVerb(registry, verbName, magic);

  const positionals: string[] = [];
  const options: Record<string, OptionValue> = {};
  let text: string | undefined;
  let optionsEnded = false;
  for (;;) {
    const next = skipSpaces(line, position);
    if (next >= line.length) break;
    // The free text starts at the first word that is not an option once the arguments are given.
    // It is taken from the line as typed, without splitting it into words.
    if (verb.text !== undefined && positionals.length === verb.positionals.length && (optionsEnded || line[next] !== '-')) {
      if (magic.form === 'cell') {
        throw new MagicUsageError(
          MAGIC_ERRORS.unexpectedArgument,
          `in a %%lakebase cell the ${verb.text.name} goes in the cell body, below the first line; found "${line.slice(next)}" on it`,
          { ...at, hint: `Move it to the next line, or use the line form: %lakebase ${verb.name} ... on one line.` },
        );
      }
      text = line.slice(next).trimEnd();
      break;
    }
    const word = readWord(line, next, at)!;
    position = word.end;
    if (!optionsEnded && !word.quoted && word.value === '--') {
      optionsEnded = true;
      continue;
    }
    if (!optionsEnded && !word.quoted && word.value.startsWith('-') && word.value.length > 1 && !/^-\d/.test(word.value)) {
      position = readOption(verb, line, word, options, magic);
      continue;
    }
    if (positionals.length >= verb.positionals.length) {
      throw new MagicUsageError(
        MAGIC_ERRORS.unexpectedArgument,
        `${verb.name} takes ${describeCount(verb.positionals.length)}; "${word.value}" is one too many`,
        { ...at, hint: `Quote a value that has spaces. ${helpHint(verb.name)}` },
      );
    }
    positionals.push(word.value);
  }

  const missing = verb.positionals.slice(positionals.length).find((positional) => !positional.optional);
  if (missing !== undefined) {
    throw new MagicUsageError(MAGIC_ERRORS.missingArgument, `${verb.name} needs ${missing.name}: ${missing.summary}`, {
      ...at,
      hint: `Example: ${verb.examples[0] ?? usageLine(verb)}`,
    });
  }
  if (magic.form === 'cell') {
    const body = magic.body ?? '';
    if (verb.text !== undefined) text = body;
    else if (body.trim() !== '') {
      throw new MagicUsageError(MAGIC_ERRORS.unexpectedArgument, `${verb.name} takes no cell body, but the cell has lines below %%lakebase`, {
        ...at,
        hint: `Use %lakebase ${verb.name} as a line magic, or move the other lines to their own cell.`,
      });
    }
  } else if (verb.text !== undefined && text === undefined) {
    throw new MagicUsageError(MAGIC_ERRORS.missingArgument, `${verb.name} needs ${verb.text.name}: ${verb.text.summary}`, {
      ...at,
      hint: `Write it after the options, e.g. ${verb.examples[0] ?? usageLine(verb)}, or start a cell with %%lakebase ${verb.name} and put it below.`,
    });
  }
  for (const option of verb.options) {
    const value = options[option.name];
    // Declaring one of the kernel's own names would shadow it in every later cell (issue 12:
    // `--into lakebase$magic` broke every magic inside TypeScript until a restart).
    if (option.kind === 'identifier' && typeof value === 'string' && reservedNames.has(value)) {
      throw new MagicUsageError(MAGIC_ERRORS.reservedName, `${verb.name}: --${option.name} ${value}: ${value} is used by the kernel itself`, {
        ...at,
        hint: `Choose another name; the kernel reserves ${reservedList(reservedNames)}.`,
      });
    }
  }
  for (const [a, b] of verb.conflicts ?? []) {
    if (a in options && b in options) {
      throw new MagicUsageError(MAGIC_ERRORS.conflictingOptions, `${verb.name}: --${a} and --${b} cannot be given together`, {
        ...at,
        hint: helpHint(verb.name),
      });
    }
  }

  const source: InvocationSource = {
    form: magic.form,
    line: magic.line,
    textLine: magic.form === 'cell' ? magic.line + 1 : magic.line,
    magicLine: line,
  };
  return { verb: verb.name, positionals, options, ...(text === undefined ? {} : { text }), source, mode };
}

/** Reads one option (and its value); returns the line position after it. */
function readOption<Services>(
  verb: VerbDeclaration<Services>,
  line: string,
  word: Word,
  options: Record<string, OptionValue>,
  magic: MagicText,
): number {
  const at = { line: magic.line };
  let written: string;
  let inlineValue: string | undefined;
  let option: OptionDeclaration | undefined;
  if (word.value.startsWith('--')) {
    const equals = word.value.indexOf('=');
    const name = equals < 0 ? word.value.slice(2) : word.value.slice(2, equals);
    inlineValue = equals < 0 ? undefined : word.value.slice(equals + 1);
    written = `--${name}`;
    option = verb.options.find((candidate) => candidate.name === name);
    if (option === undefined) throw unknownOption(verb, written, name, magic);
  } else {
    written = word.value.slice(0, 2);
    option = verb.options.find((candidate) => candidate.short !== undefined && candidate.short === word.value[1]);
    if (option === undefined) throw unknownOption(verb, written, word.value.slice(1), magic);
    // psql style `-p5432`: the value may follow the letter directly.
    if (word.value.length > 2) inlineValue = word.value.slice(2);
  }
  if (option.name in options) {
    throw new MagicUsageError(MAGIC_ERRORS.conflictingOptions, `${verb.name}: --${option.name} is given twice`, at);
  }
  if (option.kind === 'flag') {
    if (inlineValue !== undefined) {
      throw new MagicUsageError(MAGIC_ERRORS.invalidValue, `${verb.name}: ${written} takes no value; write just ${written}`, at);
    }
    options[option.name] = true;
    return word.end;
  }
  let raw = inlineValue;
  let end = word.end;
  if (raw === undefined) {
    const value = readWord(line, word.end, at);
    if (value === null || (!value.quoted && value.value.startsWith('--'))) {
      throw new MagicUsageError(
        MAGIC_ERRORS.missingArgument,
        `${verb.name}: ${written} needs a value (${option.valueName ?? 'VALUE'}): ${option.summary}`,
        { ...at, hint: helpHint(verb.name) },
      );
    }
    raw = value.value;
    end = value.end;
  }
  options[option.name] = parseOptionValue(verb, option, raw, magic);
  return end;
}

/** Converts an option's text to its declared kind, or says what is wrong with it. */
export function parseOptionValue<Services>(
  verb: VerbDeclaration<Services>,
  option: OptionDeclaration,
  raw: string,
  magic: { line: number },
): OptionValue {
  return parseValue(option, raw, { label: `${verb.name}: --${option.name}`, line: magic.line, helpVerb: verb.name });
}

/**
 * Converts a value typed on a magic line to the kind its declaration says (an option's value, or a
 * setting's in `%lakebase config`). `label` names it in the message.
 */
export function parseValue(
  declaration: Pick<OptionDeclaration, 'kind' | 'choices' | 'min' | 'max'>,
  raw: string,
  where: { label: string; line?: number; helpVerb: string },
): OptionValue {
  const invalid = (expected: string, hint?: string) =>
    new MagicUsageError(MAGIC_ERRORS.invalidValue, `${where.label} must be ${expected}, not "${raw}"`, {
      line: where.line,
      hint: hint ?? helpHint(where.helpVerb),
    });
  switch (declaration.kind) {
    case 'flag':
      return true;
    case 'text':
      if (raw === '') throw invalid('a non-empty value');
      return raw;
    case 'identifier':
      if (!isVariableName(raw)) {
        throw invalid('a TypeScript variable name (letters, digits, _ and $, not a reserved word)');
      }
      return raw;
    case 'integer': {
      const min = declaration.min ?? Number.MIN_SAFE_INTEGER;
      const max = declaration.max ?? Number.MAX_SAFE_INTEGER;
      const value = /^-?\d+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(value) || value < min || value > max) {
        throw invalid(declaration.min !== undefined && declaration.max !== undefined ? `a whole number from ${min} to ${max}` : 'a whole number');
      }
      return value;
    }
    case 'row-limit': {
      if (raw.toLowerCase() === 'all') return Infinity;
      const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(value) || value < 1) throw invalid('a number of rows (1 or more) or "all"');
      return value;
    }
    case 'choice': {
      const choices = declaration.choices ?? [];
      if (choices.includes(raw)) return raw;
      const near = closestMatch(raw, choices);
      throw invalid(`one of ${choices.join(', ')}`, near === undefined ? helpHint(where.helpVerb) : `Did you mean ${near}?`);
    }
    default: {
      const unknownKind: never = declaration.kind;
      throw new Error(`unknown option kind ${String(unknownKind)}`);
    }
  }
}

/** First words of SQL statements: a line that starts with one was meant as `%lakebase sql ...`. */
const SQL_COMMANDS = new Set(
  ('select insert update delete merge with values table create alter drop truncate grant revoke begin start commit rollback ' +
    'savepoint release set show reset explain analyze vacuum copy call do lock listen notify prepare execute deallocate declare ' +
    'fetch close comment refresh reindex cluster discard')
    .split(' '),
);

function unknownVerb<Services>(registry: VerbRegistry<Services>, name: string, magic: MagicText): MagicUsageError {
  const prefix = magic.form === 'cell' ? CELL_MAGIC : LINE_MAGIC;
  if (SQL_COMMANDS.has(name.toLowerCase()) && registry.get('sql') !== undefined && registry.get(name) === undefined) {
    const rest = magic.magicLine.slice(prefix.length).trim();
    return new MagicUsageError(MAGIC_ERRORS.unknownVerb, `${prefix} has no verb "${name}"`, {
      line: magic.line,
      hint:
        magic.form === 'cell'
          ? `SQL goes below the ${CELL_MAGIC} line.`
          : `SQL on a magic line follows the verb sql: ${LINE_MAGIC} sql ${rest}`,
    });
  }
  const near = closestMatch(name, registry.words());
  const hint =
    near === undefined
      ? `The verbs are ${registry.words().join(', ')}. ${helpHint()}`
      : `Did you mean ${prefix} ${near}? ${helpHint(near)}`;
  return new MagicUsageError(MAGIC_ERRORS.unknownVerb, `${prefix} has no verb "${name}"`, { line: magic.line, hint });
}

/** The actions of a group, as the user writes them after the group's word: `create, get, list`. */
export function groupActions<Services>(registry: VerbRegistry<Services>, group: string): string[] {
  return registry.group(group).map((verb) => verb.name.slice(group.length + 1));
}

function missingAction<Services>(registry: VerbRegistry<Services>, group: string, magic: MagicText): MagicUsageError {
  const prefix = magic.form === 'cell' ? CELL_MAGIC : LINE_MAGIC;
  const example = registry.group(group)[0]?.examples[0];
  return new MagicUsageError(MAGIC_ERRORS.missingArgument, `${prefix} ${group} needs an action: ${groupActions(registry, group).join(', ')}`, {
    line: magic.line,
    hint: `${example === undefined ? '' : `Example: ${example}. `}${helpHint(group)}`,
  });
}

function unknownAction<Services>(registry: VerbRegistry<Services>, group: string, action: string, magic: MagicText): MagicUsageError {
  const prefix = magic.form === 'cell' ? CELL_MAGIC : LINE_MAGIC;
  const actions = groupActions(registry, group);
  const near = closestMatch(action, actions);
  const hint =
    near === undefined
      ? `The actions of ${group} are ${actions.join(', ')}. ${helpHint(group)}`
      : `Did you mean ${prefix} ${group} ${near}? ${helpHint(`${group} ${near}`)}`;
  return new MagicUsageError(MAGIC_ERRORS.unknownVerb, `${prefix} ${group} has no action "${action}"`, { line: magic.line, hint });
}

function unknownOption<Services>(verb: VerbDeclaration<Services>, written: string, name: string, magic: MagicText): MagicUsageError {
  const names = verb.options.map((option) => option.name);
  const near = written.startsWith('--') ? closestMatch(name, names) : undefined;
  const hint =
    verb.options.length === 0
      ? `${verb.name} takes no options. ${helpHint(verb.name)}`
      : near === undefined
        ? `Its options are ${names.map((n) => `--${n}`).join(', ')}. ${helpHint(verb.name)}`
        : `Did you mean --${near}? ${helpHint(verb.name)}`;
  return new MagicUsageError(MAGIC_ERRORS.unknownOption, `${verb.name} has no option ${written}`, { line: magic.line, hint });
}

function describeCount(count: number): string {
  return count === 0 ? 'no arguments' : count === 1 ? 'one argument' : `${count} arguments`;
}

/**
 * `%lakebase sql [--into VARIABLE] [--on NAME] SQL`: the usage of a verb, from its declaration.
 * Arguments come first; when the options would make the line long, they are summed up as `[OPTIONS]`.
 */
export function usageLine<Services>(verb: VerbDeclaration<Services>, form: 'line' | 'cell' = 'line'): string {
  const head = [form === 'cell' ? CELL_MAGIC : LINE_MAGIC, verb.name];
  const positionals = verb.positionals.map((positional) => (positional.optional ? `[${positional.name}]` : positional.name));
  const options = verb.options.map((option) => `[${optionSyntax(option)}]`);
  const text = verb.text !== undefined && form === 'line' ? [verb.text.name] : [];
  const full = [...head, ...positionals, ...options, ...text].join(' ');
  return full.length <= 100 ? full : [...head, ...positionals, '[OPTIONS]', ...text].join(' ');
}

/** `--into VARIABLE`, `-h, --host HOST`, `--read-only`. */
export function optionSyntax(option: OptionDeclaration): string {
  const value = option.kind === 'flag' ? '' : ` ${option.valueName ?? (option.kind === 'choice' ? (option.choices ?? []).join('|') : 'VALUE')}`;
  return `--${option.name}${value}`;
}

/** The reserved names for a hint; the verbs' result types (`LakebaseInstance`, ...) as one item. */
function reservedList(names: ReadonlySet<string>): string {
  const types = [...names].filter((name) => /^Lakebase[A-Z]/.test(name));
  const others = [...names].filter((name) => !types.includes(name)).sort();
  return [...others, ...(types.length > 0 ? ['the result types Lakebase*'] : [])].join(', ');
}

