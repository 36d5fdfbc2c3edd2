// What the families that call the workspace (instance, role, catalog, credential, apps) share:
// the `--profile` and `--no-wait` options, the workspace a verb talks to, names cached briefly for
// completion, and the line a destructive verb suggests where nothing can be asked.
import { LakebaseError, SQL_TEXT_ERRORS } from '../../lakebase/errors';
import type { Workspace } from '../../lakebase/workspace';
import type { CandidateContext, MagicInvocation, OptionDeclaration, VerbContext } from '../declarations';
import { LINE_MAGIC } from '../grammar';
import type { MagicServices } from '../services';

/**
 * TypeScript types of values that verbs of several families return, for the kernel's prelude
 * beside each family's own (`VerbFamily.typeDeclarations`).
 */
export const SHARED_RESULT_TYPES = `
/** What a verb that deletes (or, declined, does nothing) says; \`text\` is the sentence shown. */
interface LakebaseMessage { readonly text: string; toString(): string; toJSON(): { message: string } }
/** A custom tag of an instance or a project. */
interface LakebaseCustomTag { key: string; value?: string }
`;

export const PROFILE_OPTION: OptionDeclaration = {
  name: 'profile',
  kind: 'text',
  valueName: 'PROFILE',
  summary: 'Databricks config profile of the workspace (~/.databrickscfg); default: the configured one, or the local emulator',
};

export const NO_WAIT_OPTION: OptionDeclaration = {
  name: 'no-wait',
  kind: 'flag',
  summary: 'Return as soon as the request is accepted, without waiting for the new state',
};

/** The workspace of the verb's `--profile` (or the configured one, or the local emulator). */
export async function workspaceOf(context: Pick<VerbContext<MagicServices>, 'invocation' | 'services'>): Promise<Workspace> {
  const profile = context.invocation.options.profile;
  return (await context.services.connectors.workspace(typeof profile === 'string' ? profile : undefined)).workspace;
}

/** The magic line as typed, with `--yes` added: what to run where nothing can be asked. */
export function lineWithYes(invocation: MagicInvocation): string {
  return lineWith(invocation, '--yes');
}

/** The magic line as typed, with `flag` added: the command a hint suggests. */
export function lineWith(invocation: MagicInvocation, flag: string): string {
  const line = invocation.source.magicLine.replace(/^%%lakebase/, LINE_MAGIC);
  return `${line} ${flag}`;
}

/** A text option's value, or undefined. */
export function textOption(invocation: MagicInvocation, name: string): string | undefined {
  const value = invocation.options[name];
  return typeof value === 'string' ? value : undefined;
}

/** `:name`: an option value taken from a TypeScript variable (`--at :before`), as SQL's `:name`. */
export const VARIABLE_REFERENCE = /^:[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * A text option's value, where `:name` stands for the TypeScript variable `name` (captured where
 * the magic sits in TypeScript, or a variable of an earlier cell): a Date becomes its ISO time,
 * anything else its string. Undefined when the option is not given.
 */
export function optionValue(context: Pick<VerbContext<MagicServices>, 'invocation' | 'variables' | 'host'>, name: string): string | undefined {
  const raw = textOption(context.invocation, name);
  if (raw === undefined || !VARIABLE_REFERENCE.test(raw)) return raw;
  const variable = raw.slice(1);
  const found = Object.prototype.hasOwnProperty.call(context.variables, variable)
    ? { found: true as const, value: context.variables[variable] }
    : context.host.lookupVariable(variable);
  if (!found.found || found.value === undefined || found.value === null) {
    throw new LakebaseError(SQL_TEXT_ERRORS.parameterUndefined, `--${name} ${raw}: there is no TypeScript variable ${variable}`, {
      hint: `Declare it in an earlier cell (const ${variable} = ...), or write the value itself.`,
    });
  }
  return found.value instanceof Date ? found.value.toISOString() : String(found.value);
}

/** A `true|false` choice option as a boolean, or undefined when not given. */
export function booleanOption(invocation: MagicInvocation, name: string): boolean | undefined {
  const value = invocation.options[name];
  return value === 'true' ? true : value === 'false' ? false : undefined;
}

/**
 * Names looked up in the workspace for completion (instances, roles), kept a short while: Tab is
 * pressed often, and names change only when someone creates or deletes something.
 */
export class NameCache {
  private readonly entries = new Map<string, { at: number; names: Promise<readonly string[]> }>();

  constructor(private readonly ttlMs = 30_000) {}

  /** The names under `key`, looked up with `load` when missing or stale. A failed lookup is not kept. */
  get(key: string, load: () => Promise<readonly string[]>): Promise<readonly string[]> {
    const entry = this.entries.get(key);
    if (entry && Date.now() - entry.at < this.ttlMs) return entry.names;
    const names = load();
    this.entries.set(key, { at: Date.now(), names });
    names.catch(() => this.entries.delete(key));
    return names;
  }

  /** Forgets what a verb just changed, so that the next Tab shows it. */
  invalidate(key?: string): void {
    if (key === undefined) this.entries.clear();
    else this.entries.delete(key);
  }
}

/** The first positional of a completion context (the instance of `instance-role get INSTANCE NAME`). */
export function firstPositional(context: CandidateContext): string | undefined {
  return context.positionals[0];
}
