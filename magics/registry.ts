// The verbs the grammar knows: every family's declarations, checked once when the magics are
// created, so that a mistake in a declaration (two verbs with one name, an option declared twice)
// fails at start-up rather than in a user's cell.
import type { OptionDeclaration, VerbDeclaration, VerbFamily } from './declarations';

export interface VerbRegistry<Services> {
  readonly families: readonly VerbFamily<Services>[];
  /** The verb with this exact name. */
  get(name: string): VerbDeclaration<Services> | undefined;
  /** Every verb name, in declaration order. */
  names(): string[];
}

export function createVerbRegistry<Services>(families: readonly VerbFamily<Services>[]): VerbRegistry<Services> {
  const verbs = new Map<string, VerbDeclaration<Services>>();
  for (const family of families) {
    for (const verb of family.verbs) {
      if (verbs.has(verb.name)) throw new Error(`verb "${verb.name}" is declared twice (family ${family.name})`);
      checkDeclaration(verb);
      verbs.set(verb.name, verb);
    }
  }
  return {
    families,
    get: (name) => verbs.get(name),
    names: () => [...verbs.keys()],
  };
}

const WORD = /^[a-z][a-z0-9-]*$/;

function checkDeclaration<Services>(verb: VerbDeclaration<Services>): void {
  if (!WORD.test(verb.name)) throw new Error(`verb name "${verb.name}" must be lower-case words joined by "-"`);
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
