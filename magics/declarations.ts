// What a verb is, as data. Every verb family (sql, connections, token, config, help, and later
// instance, catalog, sync) declares its verbs here-shaped: the parser, `%lakebase help` and
// completion all read the same declaration, so they cannot drift apart (style.md: "One grammar,
// verbs as subcommands ... help text and completion come from the same declaration").
import type { DisplayOptions, MagicHost } from './host';

/** How an option's value is read from the magic line. */
export type OptionKind =
  /** Present or absent, takes no value: `--read-only`. */
  | 'flag'
  /** Any text: `--as analytics`. */
  | 'text'
  /** A TypeScript identifier (a variable to declare): `--into rows`. */
  | 'identifier'
  /** A whole number within `min`..`max`: `--port 5432`. */
  | 'integer'
  /** A row count, or the word `all`: `--display-limit 20`. */
  | 'row-limit'
  /** One of `choices`: `--sslmode require`. */
  | 'choice';

export interface OptionDeclaration {
  /** Long name without the dashes: `display-limit` is written `--display-limit`. */
  name: string;
  /** One letter, written `-h`; only where psql users expect it (host, port, user, database). */
  short?: string;
  kind: OptionKind;
  /** The value's name in help: `--into VARIABLE`. */
  valueName?: string;
  /** For `choice`. */
  choices?: readonly string[];
  /** For `integer`. */
  min?: number;
  max?: number;
  /** One line for help and completion. */
  summary: string;
  /** What completion offers for the value. */
  completes?: CompletionSource;
}

export interface PositionalDeclaration {
  /** Shown in usage as `NAME` (or `[NAME]` when optional). */
  name: string;
  summary: string;
  optional?: boolean;
  /** What completion offers for it. */
  completes?: CompletionSource;
}

/**
 * Where completion finds candidate values: one of the built-in sources, or a source a verb family
 * provides (`completionSources`, e.g. `instances` looked up in the workspace). A name that no
 * family provides is refused when the magics are created.
 */
export type CompletionSource = BuiltInCompletionSource | (string & {});

export type BuiltInCompletionSource =
  /** The named connections of this kernel. */
  | 'connections'
  /** The verbs and groups. */
  | 'verbs'
  /** The settings of `%lakebase config`. */
  | 'settings'
  /** The actions of the group named by the argument before (`help instance cr|` → create). */
  | 'actions';

export const BUILT_IN_COMPLETION_SOURCES: readonly BuiltInCompletionSource[] = ['connections', 'verbs', 'settings', 'actions'];

/** What a completion source is asked with: the verb and its arguments typed so far. */
export interface CandidateContext {
  /** The verb's name (`instance-role get`). */
  verb: string;
  /** Its positional arguments before the one being completed (`['orders']` in `instance-role get orders |`). */
  positionals: readonly string[];
}

/**
 * Looks up the values of a family's completion source. It may take a network round trip; the
 * family keeps its own short cache (names change while the user works).
 */
export type CompletionLookup<Services> = (services: Services, context: CandidateContext) => readonly string[] | Promise<readonly string[]>;

/**
 * Free text that is not split into words: SQL. In the line form it is the rest of the magic line
 * after the options (`%lakebase sql --into r SELECT ...`); in the cell form it is the cell body
 * below the `%%lakebase` line. It is passed to the verb untouched.
 */
export interface TextDeclaration {
  name: string;
  summary: string;
}

/** The parsed value of one option. `row-limit`'s `all` is `Infinity`. */
export type OptionValue = string | number | boolean;

/**
 * How a magic's results reach the user:
 * - `statement`: every result is displayed, the magic's value is `undefined` (a line magic used as
 *   a statement in TypeScript, or any magic of a magics cell that is not the last one);
 * - `expression`: nothing is displayed, the last result is the value (`const r = %lakebase ...`);
 * - `cell`: every result but the last is displayed; the last is the value, which the kernel shows
 *   as the cell's `execute_result` (the last magic of a magics-only cell).
 */
export type MagicMode = 'statement' | 'expression' | 'cell';

/** One `%lakebase` line (or `%%lakebase` cell), parsed and checked against its verb. */
export interface MagicInvocation {
  /** The verb's declared name (never an abbreviation or a misspelling). */
  verb: string;
  positionals: readonly string[];
  /** Options given, by long name. Absent options are absent. */
  options: Readonly<Record<string, OptionValue>>;
  /** The free text (SQL), when the verb takes one: the rest of the line or the cell body. */
  text?: string;
  /** Where the invocation came from, for messages that point back into the cell. */
  source: InvocationSource;
  /** How results are shown when the kernel does not say otherwise (see `MagicMode`). */
  mode: MagicMode;
}

export interface InvocationSource {
  /** `line`: `%lakebase ...`; `cell`: a `%%lakebase` first line and its body. */
  form: 'line' | 'cell';
  /** 0-based line of the cell where the magic starts. */
  line: number;
  /** 0-based line of the cell where `text` starts (the same line, or the one below `%%lakebase`). */
  textLine: number;
  /** The magic line as written, from `%` to the end of the line. */
  magicLine: string;
}

/** What a verb's code receives. */
export interface VerbContext<Services> {
  invocation: MagicInvocation;
  host: MagicHost;
  services: Services;
  /**
   * TypeScript values captured where a magic sits inside TypeScript code (`{ a, b }` for the SQL's
   * `:a` and `:b`), looked up before the kernel's variables.
   */
  variables: Readonly<Record<string, unknown>>;
  /**
   * Shows an intermediate result (an earlier statement of a cell) as the mode says: displayed
   * for `statement` and `cell`, dropped for `expression`. With a display id, it can be updated.
   */
  show(value: unknown, options?: DisplayOptions): void;
  /** Whether the magic's results are displayed (`statement`, `cell`) rather than only returned (`expression`). */
  displays: boolean;
}

export interface VerbDeclaration<Services> {
  name: string;
  /** One line: what the verb does, in the user's words. */
  summary: string;
  /** Paragraphs for `%lakebase help VERB`, after the usage. */
  details?: readonly string[];
  positionals: readonly PositionalDeclaration[];
  options: readonly OptionDeclaration[];
  text?: TextDeclaration;
  /** Pairs of options that cannot be given together, with the reason shown to the user. */
  conflicts?: readonly (readonly [string, string])[];
  examples: readonly string[];
  /**
   * The TypeScript type of the verb's value (`LakebaseInstance`), so that
   * `const i = %lakebase instance get x` is typed in later code. Types named here are declared by
   * the families' `typeDeclarations`. Absent: the value is `any`. A function when the options
   * change what the value is (`--no-wait` returns the operation instead of the resource).
   */
  resultType?: string | ((invocation: MagicInvocation) => string);
  /** Runs the verb; the returned value is its last result (see `MagicMode`). */
  run(context: VerbContext<Services>): Promise<unknown>;
}

/** A group of related verbs, one module each (`magics/verbs/*.ts`). */
export interface VerbFamily<Services> {
  name: string;
  summary: string;
  verbs: readonly VerbDeclaration<Services>[];
  /**
   * The family works on this kernel's own connections, settings or refreshers (sql, connect,
   * config, token): a one-shot terminal command has none, so the terminal front end does not offer
   * it. Families that call the workspace (instances, roles, catalogs) leave this unset.
   */
  kernelOnly?: boolean;
  /** Completion sources this family provides, by the name its declarations use in `completes`. */
  completionSources?: Readonly<Record<string, CompletionLookup<Services>>>;
  /**
   * TypeScript declarations of the family's result types (`interface LakebaseInstance { ... }`),
   * put in every kernel's prelude. Top-level names starting with `Lakebase`: tslab keeps a cell's
   * top-level interfaces and types for later cells, but not the contents of a namespace.
   */
  typeDeclarations?: string;
}
