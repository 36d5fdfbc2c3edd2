// Session settings (`%lakebase config`), declared as data like the verbs' options, so that
// `%lakebase config`, its help and its completion all read one table.
import type { OptionDeclaration, OptionValue } from './declarations';
import { MAGIC_ERRORS, MagicUsageError } from './errors';
import { parseValue } from './grammar';
import { closestMatch } from './suggest';

export interface SettingDeclaration extends Pick<OptionDeclaration, 'kind' | 'choices' | 'min' | 'max'> {
  /** As typed in `%lakebase config NAME VALUE`. */
  name: string;
  summary: string;
  default: OptionValue;
}

/** Every setting, with its default. */
export const SETTINGS: readonly SettingDeclaration[] = [
  {
    name: 'display-limit',
    kind: 'row-limit',
    default: 100,
    summary: 'Rows shown of each result; the total is still counted (sql --display-limit overrides it for one magic)',
  },
];

/** The settings of one kernel session. */
export interface Settings {
  /** The value in force. */
  get(name: string): OptionValue;
  /** Parses `raw` as the setting's kind and keeps it; returns the new value. */
  set(name: string, raw: string): OptionValue;
  /** Back to the default; returns it. */
  reset(name: string): OptionValue;
  /** Every setting with its value, in declaration order. */
  list(): { declaration: SettingDeclaration; value: OptionValue; changed: boolean }[];
  /** Rows shown per result (`Infinity` for all). */
  readonly displayLimit: number;
}

export function createSettings(initial: Readonly<Record<string, OptionValue>> = {}): Settings {
  const values = new Map<string, OptionValue>();
  for (const [name, value] of Object.entries(initial)) {
    declarationOf(name);
    values.set(name, value);
  }
  const get = (name: string) => values.get(name) ?? declarationOf(name).default;
  return {
    get,
    set(name, raw) {
      const declaration = declarationOf(name);
      const value = parseValue(declaration, raw, { label: `config ${name}`, helpVerb: 'config' });
      values.set(name, value);
      return value;
    },
    reset(name) {
      values.delete(declarationOf(name).name);
      return get(name);
    },
    list() {
      return SETTINGS.map((declaration) => ({
        declaration,
        value: get(declaration.name),
        changed: values.has(declaration.name),
      }));
    },
    get displayLimit() {
      return get('display-limit') as number;
    },
  };
}

function declarationOf(name: string): SettingDeclaration {
  const declaration = SETTINGS.find((setting) => setting.name === name);
  if (declaration !== undefined) return declaration;
  const near = closestMatch(name, SETTINGS.map((setting) => setting.name));
  throw new MagicUsageError(MAGIC_ERRORS.unknownOption, `there is no setting "${name}"`, {
    hint: `${near === undefined ? '' : `Did you mean ${near}? `}The settings are ${SETTINGS.map((s) => s.name).join(', ')}.`,
  });
}

/** How a setting's value is written back to the user: `all` for an unlimited row count. */
export function formatSettingValue(value: OptionValue): string {
  return value === Infinity ? 'all' : String(value);
}
