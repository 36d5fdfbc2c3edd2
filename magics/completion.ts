// Completion and inspection (Shift+Tab) on magic lines, from the same declarations the parser
// reads. Both work on half-typed lines: nothing here throws on what a user is still typing.
import type { CandidateContext, CompletionSource, OptionDeclaration, VerbDeclaration } from './declarations';
import {
  CELL_MAGIC,
  DEFAULT_CELL_VERB,
  groupActions,
  LINE_MAGIC,
  readWords,
  Word,
} from './grammar';
import { groupHelp, optionHeading, optionSummary, overviewHelp, verbHelp } from './help';
import type { VerbRegistry } from './registry';

export interface CompletionResult {
  matches: string[];
  /** The text from `cursorStart` to `cursorEnd` is replaced by the chosen match. */
  cursorStart: number;
  cursorEnd: number;
}

/** Where the cursor is on a magic line: the words before it and the one under it. */
interface MagicLineContext {
  form: 'line' | 'cell';
  /** The magic line, from `%` to its end. */
  line: string;
  /** Offset of `line` in the cell. */
  lineOffset: number;
  /** Cursor index within `line`. */
  cursor: number;
  /** Words from after the magic to the cursor; the last one may be the word being typed. */
  words: Word[];
  /** Whether the cursor is right after a word (completing it) rather than after a space. */
  inWord: boolean;
}

/** Values completion offers that are not in the declarations: they change as the user works. */
export type CompletionCandidates = (source: CompletionSource, context: CandidateContext) => readonly string[];
/** The same, for sources that must be looked up (instance names from the workspace). */
export type AsyncCompletionCandidates = (source: CompletionSource, context: CandidateContext) => readonly string[] | Promise<readonly string[]>;

/** Either the answer, or the source whose values finish it. */
type CompletionPlan =
  | { done: CompletionResult | null }
  | { source: CompletionSource; context: CandidateContext; finish(values: readonly string[]): CompletionResult };

/** Completion on a magic line, with every source answered at once. */
export function completeMagic<Services>(
  registry: VerbRegistry<Services>,
  candidates: CompletionCandidates,
  code: string,
  cursor: number,
): CompletionResult | null {
  const plan = planCompletion(registry, code, cursor);
  return 'done' in plan ? plan.done : plan.finish(candidates(plan.source, plan.context));
}

/** Completion on a magic line, waiting for sources that are looked up. */
export async function completeMagicAsync<Services>(
  registry: VerbRegistry<Services>,
  candidates: AsyncCompletionCandidates,
  code: string,
  cursor: number,
): Promise<CompletionResult | null> {
  const plan = planCompletion(registry, code, cursor);
  return 'done' in plan ? plan.done : plan.finish(await candidates(plan.source, plan.context));
}

function planCompletion<Services>(registry: VerbRegistry<Services>, code: string, cursor: number): CompletionPlan {
  const partial = partialMagicName(code, cursor);
  if (partial !== null) return { done: partial };
  const context = magicLineAt(code, cursor);
  if (context === null) return { done: null };
  const { words, inWord } = context;
  const current = inWord ? words[words.length - 1] : undefined;
  const before = inWord ? words.slice(0, -1) : words;
  const start = current?.start ?? context.cursor;
  const end = wordEnd(context.line, context.cursor);
  const result = (matches: readonly string[]) => ({
    matches: [...matches].sort(),
    cursorStart: context.lineOffset + start,
    cursorEnd: context.lineOffset + end,
  });
  const done = (matches: readonly string[]) => ({ done: result(matches) });
  const typed = current?.value ?? '';

  const resolved = resolveVerb(registry, context.form, before);
  if (resolved === 'unknown') return done([]);
  if (resolved === null) {
    // Completing the verb itself (or, in a cell, the default verb's options).
    if (context.form === 'cell' && typed.startsWith('-')) {
      return done(optionNames(registry.get(DEFAULT_CELL_VERB)!, [], typed));
    }
    return done(registry.words().filter((name) => name.startsWith(typed)));
  }
  if ('group' in resolved) {
    // Completing a group's action: `%lakebase instance cr|`.
    return done(groupActions(registry, resolved.group).filter((action) => action.startsWith(typed)));
  }
  const { verb, rest } = resolved;
  const state = argumentState(verb, rest, context.form);
  if (state.inText) return done([]);
  const sourceContext: CandidateContext = { verb: verb.name, positionals: state.positionalValues };
  const fromSource = (source: CompletionSource, fallback?: () => readonly string[]): CompletionPlan => {
    // `help instance cr|`: the group is the argument before, which only the declarations know.
    if (source === 'actions') {
      const group = state.positionalValues.at(-1);
      const actions = group !== undefined && registry.isGroup(group) ? groupActions(registry, group) : [];
      return done(actions.filter((action) => action.startsWith(typed)));
    }
    if (source === 'verbs') return done(registry.words().filter((name) => name.startsWith(typed)));
    return {
      source,
      context: sourceContext,
      finish: (values) => {
        const matching = values.filter((value) => value.startsWith(typed));
        return result(matching.length === 0 && typed === '' && fallback ? fallback() : matching);
      },
    };
  };
  if (state.pendingOption !== undefined) {
    const option = state.pendingOption;
    if (option.kind === 'choice') return done((option.choices ?? []).filter((value) => value.startsWith(typed)));
    if (option.kind === 'row-limit') return done(['all'].filter((value) => value.startsWith(typed)));
    return option.completes === undefined ? done([]) : fromSource(option.completes);
  }
  if (typed.startsWith('-')) return done(optionNames(verb, state.givenOptions, typed));
  const positional = verb.positionals[state.positionals];
  // Nothing to offer for this word: list what may come next (the options not given yet).
  const nextOptions = () => (typed === '' ? optionNames(verb, state.givenOptions, '') : []);
  if (positional?.completes !== undefined) return fromSource(positional.completes, nextOptions);
  return done(nextOptions());
}

/** The SQL text the cursor is in, and the connection it runs on when an option names one. */
export interface SqlTextAtCursor {
  text: string;
  /** Index in the cell where `text` starts. */
  offset: number;
  /** The `--on` connection, if given. */
  connection?: string;
}

/**
 * The free text (SQL) of a magic under the cursor: the body of a `%%lakebase` cell, or the rest
 * of a `%lakebase` line after its options. Null elsewhere.
 */
export function sqlTextAt<Services>(registry: VerbRegistry<Services>, code: string, cursor: number): SqlTextAtCursor | null {
  const firstNewline = code.indexOf('\n');
  const firstLine = firstNewline < 0 ? code : code.slice(0, firstNewline);
  const cellAt = firstLine.indexOf(CELL_MAGIC);
  if (firstNewline >= 0 && cursor > firstNewline && cellAt >= 0 && firstLine.slice(0, cellAt).trim() === '') {
    const words = readWords(firstLine.slice(cellAt), CELL_MAGIC.length);
    const resolved = words.length === 0 ? { verb: registry.get(DEFAULT_CELL_VERB)!, rest: [] } : resolveVerb(registry, 'cell', words);
    if (resolved === null || resolved === 'unknown' || 'group' in resolved || resolved.verb.text === undefined) return null;
    return { text: code.slice(firstNewline + 1), offset: firstNewline + 1, connection: connectionOption(resolved.rest) };
  }
  const context = magicLineAt(code, cursor);
  if (context === null || context.form !== 'line') return null;
  const resolved = resolveVerb(registry, 'line', context.words);
  if (resolved === null || resolved === 'unknown' || 'group' in resolved) return null;
  const state = argumentState(resolved.verb, resolved.rest, 'line');
  if (!state.inText || state.textStart === undefined) return null;
  return {
    text: context.line.slice(state.textStart),
    offset: context.lineOffset + state.textStart,
    connection: connectionOption(resolved.rest.filter((word) => word.start < state.textStart!)),
  };
}

/** The value of `--on NAME` or `--on=NAME` among a magic's words. */
function connectionOption(words: readonly Word[]): string | undefined {
  for (const [i, word] of words.entries()) {
    if (word.quoted) continue;
    if (word.value === '--on') return words[i + 1]?.value;
    if (word.value.startsWith('--on=')) return word.value.slice('--on='.length);
  }
  return undefined;
}

/** Help for the verb or option under the cursor, or the overview for a bare magic line. */
export function inspectMagic<Services>(registry: VerbRegistry<Services>, code: string, cursor: number): string | null {
  const context = magicLineAt(code, cursor, { wholeLine: true });
  if (context === null) return null;
  const resolved = resolveVerb(registry, context.form, context.words);
  if (resolved === null || resolved === 'unknown') return overviewHelp(registry);
  if ('group' in resolved) return groupHelp(registry, resolved.group);
  const { verb } = resolved;
  const under = context.words.find((word) => context.cursor >= word.start && context.cursor <= word.end);
  if (under !== undefined && under.value.startsWith('-')) {
    const option = findOption(verb, under.value);
    if (option !== undefined) return `${optionHeading(option)}\n  ${optionSummary(option)}\n\n${verbHelp(verb)}`;
  }
  return verbHelp(verb);
}

/** `%lak` or `%%lak` at the start of a line: the magic's own name. */
function partialMagicName(code: string, cursor: number): CompletionResult | null {
  const lineStart = code.lastIndexOf('\n', cursor - 1) + 1;
  const before = code.slice(lineStart, cursor);
  const indent = before.length - before.trimStart().length;
  const typed = before.trimStart();
  if (!/^%%?[a-z]*$/.test(typed)) return null;
  const isFirstLine = code.slice(0, lineStart).trim() === '';
  const names = [LINE_MAGIC, ...(isFirstLine ? [CELL_MAGIC] : [])].filter((name) => name.startsWith(typed));
  if (names.length === 0) return null;
  return { matches: names, cursorStart: lineStart + indent, cursorEnd: cursor + wordEnd(code.slice(cursor), 0) };
}

/**
 * The magic line under the cursor: a `%%lakebase` first line, or a line with `%lakebase` before
 * the cursor (at its start, or after TypeScript such as `const r = `). Null elsewhere, including
 * in a `%%lakebase` cell's SQL body.
 */
function magicLineAt(code: string, cursor: number, options: { wholeLine?: boolean } = {}): MagicLineContext | null {
  const lineStart = code.lastIndexOf('\n', cursor - 1) + 1;
  const newline = code.indexOf('\n', cursor);
  const lineText = code.slice(lineStart, newline < 0 ? code.length : newline);
  const isFirstLine = code.slice(0, lineStart).trim() === '';
  const cellAt = lineText.indexOf(CELL_MAGIC);
  let form: 'line' | 'cell';
  let magicStart: number;
  if (isFirstLine && cellAt >= 0 && lineText.slice(0, cellAt).trim() === '') {
    form = 'cell';
    magicStart = cellAt;
  } else {
    const lineAt = findLineMagic(lineText);
    if (lineAt < 0) return null;
    form = 'line';
    magicStart = lineAt;
  }
  const line = lineText.slice(magicStart);
  const lineCursor = cursor - lineStart - magicStart;
  const prefix = form === 'cell' ? CELL_MAGIC : LINE_MAGIC;
  // For completion, right after the magic's name the name itself is being typed (see
  // partialMagicName); inspection explains the line wherever the cursor is on it.
  if (options.wholeLine ? lineCursor < 0 : lineCursor <= prefix.length) return null;
  if (line.length > prefix.length && !/\s/.test(line[prefix.length])) return null;
  // Completion reads the words before the cursor; inspection the whole line (readWords is
  // tolerant: an unbalanced quote in the SQL does not matter).
  const words = readWords(options.wholeLine ? line : line.slice(0, lineCursor), prefix.length);
  const inWord = lineCursor > prefix.length && !/\s/.test(line[lineCursor - 1]);
  return { form, line, lineOffset: lineStart + magicStart, cursor: lineCursor, words, inWord };
}

/** Index of `%lakebase` in a line (not part of `%%lakebase`), or -1. */
function findLineMagic(lineText: string): number {
  for (let at = lineText.indexOf(LINE_MAGIC); at >= 0; at = lineText.indexOf(LINE_MAGIC, at + 1)) {
    if (lineText[at - 1] !== '%') return at;
  }
  return -1;
}

/** Where the word that the cursor is in (or touches) ends. */
function wordEnd(line: string, cursor: number): number {
  let end = cursor;
  while (end < line.length && !/\s/.test(line[end])) end++;
  return end;
}

/**
 * The verb named by the words before the cursor: null while the verb is still being typed, a
 * group while its action is (`instance` with nothing after it), `unknown` after words that name
 * no verb.
 */
function resolveVerb<Services>(
  registry: VerbRegistry<Services>,
  form: 'line' | 'cell',
  before: readonly Word[],
): { verb: VerbDeclaration<Services>; rest: readonly Word[] } | { group: string } | null | 'unknown' {
  const first = before[0];
  if (first === undefined) return null;
  if (form === 'cell' && !first.quoted && first.value.startsWith('-')) {
    return { verb: registry.get(DEFAULT_CELL_VERB)!, rest: before };
  }
  const verb = registry.get(first.value);
  if (verb !== undefined) return { verb, rest: before.slice(1) };
  if (!registry.isGroup(first.value)) return 'unknown';
  const action = before[1];
  if (action === undefined) return { group: first.value };
  const grouped = registry.get(`${first.value} ${action.value}`);
  return grouped === undefined ? 'unknown' : { verb: grouped, rest: before.slice(2) };
}

interface ArgumentState {
  positionals: number;
  /** The positional arguments given, in order. */
  positionalValues: string[];
  givenOptions: string[];
  /** The option whose value the cursor is at. */
  pendingOption?: OptionDeclaration;
  /** The cursor is in the verb's free text (SQL), which starts at `textStart` of the line. */
  inText: boolean;
  textStart?: number;
}

/** Replays the words before the cursor through the verb's declaration, as the parser would. */
function argumentState<Services>(verb: VerbDeclaration<Services>, words: readonly Word[], form: 'line' | 'cell'): ArgumentState {
  const state: ArgumentState = { positionals: 0, positionalValues: [], givenOptions: [], inText: false };
  let optionsEnded = false;
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (!optionsEnded && !word.quoted && word.value === '--') {
      optionsEnded = true;
      continue;
    }
    if (!optionsEnded && !word.quoted && word.value.startsWith('-') && word.value.length > 1) {
      const option = findOption(verb, word.value);
      if (option === undefined) continue;
      state.givenOptions.push(option.name);
      if (option.kind !== 'flag' && !word.value.includes('=')) {
        if (i === words.length - 1) state.pendingOption = option;
        else i++;
      }
      continue;
    }
    if (state.positionals < verb.positionals.length) {
      state.positionals++;
      state.positionalValues.push(word.value);
    }
    else if (verb.text !== undefined && form === 'line') {
      state.inText = true;
      state.textStart ??= word.start;
    }
  }
  return state;
}

function findOption<Services>(verb: VerbDeclaration<Services>, written: string): OptionDeclaration | undefined {
  if (written.startsWith('--')) {
    const name = written.slice(2).split('=')[0];
    return verb.options.find((option) => option.name === name);
  }
  return verb.options.find((option) => option.short !== undefined && option.short === written[1]);
}

function optionNames<Services>(verb: VerbDeclaration<Services>, given: readonly string[], typed: string): string[] {
  return verb.options
    .filter((option) => !given.includes(option.name))
    .map((option) => `--${option.name}`)
    .filter((name) => name.startsWith(typed));
}
