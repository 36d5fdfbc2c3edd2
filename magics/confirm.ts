// Confirmation of destructive verbs: deleting an instance or a role, stopping an instance this
// kernel is connected to. The verb says what will happen, then asks through the client's input
// prompt (Jupyter's `input_request`, or the terminal), as `rm -i` and the Databricks CLI's
// `bundle destroy` do. Where the client allows no input (a headless run, `allow_stdin: false`, a
// script without a TTY) nothing is asked: the verb refuses unless the magic line says `--yes`, so
// that a notebook never deletes something because nobody was there to say no.
//
// `--yes` is declared once here (`YES_OPTION`) and listed by every destructive verb, so its name,
// letter and help are the same everywhere.
import { LakebaseError } from '../lakebase/errors';
import type { OptionDeclaration, VerbContext } from './declarations';

/** `--yes`: every destructive verb declares this same option. */
export const YES_OPTION: OptionDeclaration = {
  name: 'yes',
  kind: 'flag',
  summary: 'Do it without asking (needed where nothing can be asked: headless runs, scripts)',
};

/** Stable codes of confirmation errors. */
export const CONFIRM_ERRORS = {
  /** The client allows no input and the magic line has no `--yes`. */
  required: 'CONFIRMATION_REQUIRED',
} as const;

export interface ConfirmationRequest {
  /**
   * What will happen, as one or more sentences shown before the question: "Deletes the instance
   * orders with all its data, its roles and its 2 child instances. This cannot be undone."
   */
  consequences: string;
  /** The question, answered y or n: "Delete the instance orders?" */
  question: string;
  /** The line to run instead where nothing can be asked, e.g. the same magic with `--yes`. */
  withYes: string;
}

/** Answers that mean yes; anything else (also an empty line) means no, as `[y/N]` promises. */
const YES = new Set(['y', 'yes']);

/**
 * Asks for confirmation unless the invocation has `--yes`. Resolves true when the verb may go
 * ahead, false when the user said no (the verb then does nothing and says so). Rejects with
 * `CONFIRMATION_REQUIRED` where the client allows no input, and with the interrupt's error when
 * the cell is interrupted while asking.
 */
export async function confirm<Services>(context: Pick<VerbContext<Services>, 'invocation' | 'host'>, request: ConfirmationRequest): Promise<boolean> {
  if (context.invocation.options[YES_OPTION.name] === true) return true;
  const { host } = context;
  const refuse = (cause?: unknown) =>
    new LakebaseError(
      CONFIRM_ERRORS.required,
      `${request.consequences} Nothing was done: this client cannot ask for confirmation (it allows no input).`,
      { hint: `To do it anyway, run: ${request.withYes}`, ...(cause === undefined ? {} : { cause }) },
    );
  if (host.allowsInput === false) throw refuse();
  let answer: string;
  try {
    // One prompt carries the consequences and the question, so they arrive together (JupyterLab
    // shows the prompt beside the input box; a terminal prints it on stderr, away from --json).
    answer = await host.input(`${request.consequences}\n${request.question} [y/N] `);
  } catch (error) {
    // An interrupt while asking ends the verb as interrupts do; a host that could not tell in
    // advance that it takes no input refuses the same way as one that could.
    if (host.signal.aborted || host.allowsInput === true) throw error;
    throw refuse(error);
  }
  return YES.has(answer.trim().toLowerCase());
}
