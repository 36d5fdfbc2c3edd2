// A `MagicHost` made of plain objects that records what a magic showed, declared and asked, so
// tests can run verbs without a kernel. Variables are the "TypeScript session"; input answers
// come from a list (none left: the client refuses input, as a headless run does).
import type { DisplayOptions, MagicHost } from '../../magics/host';

export interface RecordingHost extends MagicHost {
  /** TypeScript variables `lookupVariable` finds; tests may add to it. */
  readonly variables: Record<string, unknown>;
  readonly displayed: unknown[];
  /** Every display call with its options (display id, update), in order. */
  readonly displays: { value: unknown; options: DisplayOptions | undefined }[];
  readonly declared: { name: string; value: unknown; tsType: string }[];
  readonly prompts: { prompt: string; password: boolean }[];
  stdoutText(): string;
  stderrText(): string;
  /** Interrupts the "cell": aborts `signal`. */
  interrupt(): void;
}

export function recordingHost(options: { variables?: Record<string, unknown>; answers?: string[] } = {}): RecordingHost {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const answers = [...(options.answers ?? [])];
  const abort = new AbortController();
  const variables: Record<string, unknown> = { ...options.variables };
  const host: RecordingHost = {
    variables,
    displayed: [],
    displays: [],
    declared: [],
    prompts: [],
    stdout: (text) => stdout.push(text),
    stderr: (text) => stderr.push(text),
    display: (value, displayOptions) => {
      host.displayed.push(value);
      host.displays.push({ value, options: displayOptions });
    },
    lookupVariable: (name) => (Object.prototype.hasOwnProperty.call(variables, name) ? { found: true, value: variables[name] } : { found: false }),
    async declareVariable(name, value, tsType) {
      host.declared.push({ name, value, tsType });
      variables[name] = value;
    },
    async input(prompt, inputOptions) {
      host.prompts.push({ prompt, password: inputOptions?.password ?? false });
      const answer = answers.shift();
      if (answer === undefined) throw new Error('this client does not accept input');
      return answer;
    },
    // A list of answers stands for a client that allows input; none for a headless one.
    allowsInput: options.answers !== undefined,
    signal: abort.signal,
    stdoutText: () => stdout.join(''),
    stderrText: () => stderr.join(''),
    interrupt: () => abort.abort(new Error('interrupted')),
  };
  return host;
}

/** Runs a cell of magics only, as the kernel does: each magic in order, the last one's value is the cell's. */
export async function runMagicCell(
  magics: import('../../magics').Magics,
  source: string,
  host: MagicHost,
): Promise<unknown> {
  const plan = magics.planCell(source);
  if (plan.kind !== 'magics') throw new Error(`not a magics cell (${plan.kind}): ${source}`);
  let value: unknown;
  for (const invocation of plan.invocations) ({ value } = await magics.run(invocation, host));
  return value;
}
