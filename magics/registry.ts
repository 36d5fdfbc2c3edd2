// The verbs the grammar knows: every family's declarations, checked once when the magics are
// created, so that a mistake in a declaration (two verbs with one name, an option declared twice)
// fails at start-up rather than in a user's cell.
import { BUILT_IN_COMPLETION_SOURCES } from './declarations';
import type { OptionDeclaration, VerbDeclaration, VerbFamily } from './declarations';

export interface VerbRegistry<Services> {
  readonly families: readonly VerbFamily<Services>[];
  /** The verb with this exact name (`sql`, or a group's `instance create`). */
  get(name: string): VerbDeclaration<Services> | undefined;
  /** Every verb name, in declaration order (a group's verbs as `instance create`). */
  names(): string[];
  /**
   * The words a magic line may start with, in declaration order: the verbs that stand alone
   * (`sql`) and the groups (`instance`), each once.
   */
  words(): string[];
  /** Whether `word` names a group of verbs (`instance` in `instance create`). */
  isGroup(word: string): boolean;
  /** The verbs of a group, in declaration order; empty for a word that is not a group. */
  group(word: string): VerbDeclaration<Services>[];
}

export function createVerbRegistry<Services>(families: readonly VerbFamily<Services>[]): VerbRegistry<Services> {
  const verbs = new Map<string, VerbDeclaration<Services>>();
  const groups = new Map<string, VerbDeclaration<Services>[]>();
  const words: string[] = [];
  for (const family of families) {
    for (const verb of family.verbs) {
      if (verbs.has(verb.name)) throw new Error(`verb "${verb.name}" is declared twice (family ${family.name})`);
      checkDeclaration(verb);
      verbs.set(verb.name, verb);
      const [word, action] = verb.name.split(' ');
      if (action !== undefined) {
        if (!groups.has(word)) groups.set(word, []);
        groups.get(word)!.push(verb);
      }
      if (!words.includes(word)) words.push(word);
    }
  }
  const sources = new Set<string>(BUILT_IN_COMPLETION_SOURCES);
  for (const family of families) {
    for (const name of Object.keys(family.completionSources ?? {})) {
      if (sources.has(name)) throw new Error(`completion source "${name}" of family ${family.name} is provided twice`);
      sources.add(name);
    }
  }
  for (const verb of verbs.values()) {
    for (const declared of [...verb.positionals, ...verb.options]) {
      if (declared.completes !== undefined && !sources.has(declared.completes)) {
        throw new Error(`${verb.name} ${declared.name}: no family provides the completion source "${declared.completes}"`);
      }
    }
  }
  // `instance` cannot be both a verb and the first word of `instance create`: the parser could
  // not tell whether the next word is an argument or an action.
  for (const word of groups.keys()) {
    if (verbs.has(word)) throw new Error(`"${word}" is declared both as a verb and as a group of verbs`);
  }
  return {
    families,
    get: (name) => verbs.get(name),
    names: () => [...verbs.keys()],
    words: () => [...words],
    isGroup: (word) => groups.has(word),
    group: (word) => [...(groups.get(word) ?? [])],
  };
}

/**
 * A verb name: one lower-case word, or two for a verb of a group (`instance create`), as the
 * Databricks CLI names its commands (`databricks database create-database-instance`).
 */
const VERB_NAME = /^[a-z][a-z0-9-]*( [a-z][a-z0-9-]*)?$/;
const WORD = /^[a-z][a-z0-9-]*$/;

function checkDeclaration<Services>(verb: VerbDeclaration<Services>): void {
  if (!VERB_NAME.test(verb.name)) {
    throw new Error(`verb name "${verb.name}" must be a lower-case word (words joined by "-"), or a group and such a word`);
  }
  const longNames = new Set<string>();
  const shortNames = new Set<string>();
  for (const option of verb.options) {
    if (!WORD.test(option.name)) throw new Error(`option "${option.name}" of ${verb.name} is not a lower-case word`);
    if (longNames.has(option.name)) throw new Error(`option --${option.name} of ${verb.name} is declared twice`);
    longNames.add(option.name);
    if (option.short !== undefined) {
      if (!/^[A-Za-z]$/.test(option.short)) throw new Error(`short option -${option.short} of ${verb.name} must be one letter`);
      if (shortNames.has(option.short)) throw new Error(`short option -${option.short} of ${verb.name} is declared twice`);
      shortNames.add(option.short);
    }
    checkOptionKind(verb.name, option);
  }
  let sawOptional = false;
  for (const positional of verb.positionals) {
    if (sawOptional && !positional.optional) {
      throw new Error(`${verb.name}: required argument ${positional.name} follows an optional one`);
    }
    sawOptional ||= positional.optional === true;
  }
  if (verb.text !== undefined && sawOptional) {
    // The text starts at the first word after the positionals; an optional positional before it
    // would make that word ambiguous.
    throw new Error(`${verb.name}: a verb with free text cannot have optional arguments`);
  }
  for (const [a, b] of verb.conflicts ?? []) {
    if (!longNames.has(a) || !longNames.has(b)) throw new Error(`${verb.name}: conflict names an undeclared option`);
  }
}

function checkOptionKind(verb: string, option: OptionDeclaration): void {
  switch (option.kind) {
    case 'choice':
      if (!option.choices?.length) throw new Error(`${verb} --${option.name}: a choice needs choices`);
      return;
    case 'flag':
    case 'text':
    case 'identifier':
    case 'integer':
    case 'row-limit':
      return;
    default: {
      const unknownKind: never = option.kind;
      throw new Error(`${verb} --${option.name}: unknown option kind ${String(unknownKind)}`);
    }
  }
}
