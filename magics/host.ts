// What a magic may ask of the kernel that runs it. The kernel implements this interface for each
// cell; magics never see ZeroMQ, message types or the TypeScript runner. Tests implement it with plain objects.

export interface DisplayOptions {
  /** Publish under this display id, so that a later call can update it in place. */
  displayId?: string;
  /** Replace the output already shown under `displayId` (`update_display_data`). */
  update?: boolean;
}

export type VariableLookup = { found: true; value: unknown } | { found: false };

export interface MagicHost {
  /** Text for the cell's stdout stream. */
  stdout(text: string): void;
  /** Text for the cell's stderr stream (server notices go here). */
  stderr(text: string): void;
  /** Publishes a value: objects with `Symbol.for("Jupyter.display")` render their own bundle. */
  display(value: unknown, options?: DisplayOptions): void;
  /** A TypeScript variable declared by an earlier cell (or a global), for `:name` parameters. */
  lookupVariable(name: string): VariableLookup;
  /**
   * Declares `name` in the TypeScript session with the type `tsType` (TypeScript source text, no
   * imports needed) and the given value, so that later cells get completion and type errors.
   */
  declareVariable(name: string, value: unknown, tsType: string): Promise<void>;
  /**
   * Asks the user for a line of input through the client (`input_request`), e.g. a password the
   * server asked for. With `password`, the client hides what is typed. Rejects when the client
   * does not allow input (`allow_stdin: false`, headless runs).
   */
  input(prompt: string, options?: { password?: boolean }): Promise<string>;
  /**
   * Whether `input` can ask anything: false in headless runs and where the client sent
   * `allow_stdin: false`, so that a verb can refuse up front (see `confirm.ts`) instead of asking
   * and failing. Undefined when the host cannot tell; `input` then rejects.
   */
  readonly allowsInput?: boolean;
  /**
   * Whether a display can be replaced in place later (`update_display_data`): true in a Jupyter
   * kernel. A terminal prints each display once, so nothing should be shown there to be replaced.
   */
  readonly updatesDisplays?: boolean;
  /** Aborted when the user interrupts the cell; magics pass it down to running statements. */
  readonly signal: AbortSignal;
}
