// Confirmation of destructive verbs (magics/confirm.ts): --yes skips the question, a client that
// allows input is asked [y/N] after being told what will happen, and one that allows none is
// refused with the line that would do it. Over the real protocol (input_request) the instance and
// role verbs' tests cover it again.
import { expect, test } from 'vitest';
import { LakebaseError } from '../lakebase/errors';
import { confirm, YES_OPTION } from '../magics/confirm';
import type { MagicInvocation } from '../magics/declarations';
import { recordingHost } from './support/magic-host';

const request = {
  consequences: 'Deletes the instance orders with all its data. This cannot be undone.',
  question: 'Delete the instance orders?',
  withYes: '%lakebase instance delete orders --yes',
};

function invocation(options: Record<string, boolean> = {}): MagicInvocation {
  return {
    verb: 'instance delete',
    positionals: ['orders'],
    options,
    source: { form: 'line', line: 0, textLine: 0, magicLine: '%lakebase instance delete orders' },
    mode: 'cell',
  };
}

test('--yes goes ahead without asking', async () => {
  const host = recordingHost({ answers: [] });
  expect(await confirm({ invocation: invocation({ yes: true }), host }, request)).toBe(true);
  expect(host.prompts).toEqual([]);
  expect(host.stdoutText()).toBe('');
});

test('a client that allows input is told what will happen and asked [y/N]', async () => {
  for (const [answer, expected] of [['y', true], ['YES ', true], ['n', false], ['', false], ['sure', false]] as const) {
    const host = recordingHost({ answers: [answer] });
    expect(await confirm({ invocation: invocation(), host }, request)).toBe(expected);
    expect(host.stdoutText()).toBe('');
    expect(host.prompts).toEqual([{ prompt: `${request.consequences}\nDelete the instance orders? [y/N] `, password: false }]);
  }
});

test('a client that allows no input is refused up front, with the line that does it anyway', async () => {
  const host = recordingHost();
  const error = await confirm({ invocation: invocation(), host }, request).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(LakebaseError);
  expect(error).toMatchObject({
    code: 'CONFIRMATION_REQUIRED',
    message: 'Deletes the instance orders with all its data. This cannot be undone. Nothing was done: this client cannot ask for confirmation (it allows no input).',
    hint: 'To do it anyway, run: %lakebase instance delete orders --yes',
  });
  expect(host.prompts).toEqual([]);
});

test('a host that cannot tell in advance is refused the same way when its input fails', async () => {
  const host = { ...recordingHost(), allowsInput: undefined };
  const error = await confirm({ invocation: invocation(), host }, request).catch((caught: unknown) => caught);
  expect(error).toMatchObject({ code: 'CONFIRMATION_REQUIRED' });
});

test('an interrupt while asking ends the verb with the interrupt, not a refusal', async () => {
  const base = recordingHost({ answers: [] });
  const interrupted = new Error('interrupted');
  const host = {
    ...base,
    input: async () => {
      base.interrupt();
      throw interrupted;
    },
  };
  await expect(confirm({ invocation: invocation(), host }, request)).rejects.toBe(interrupted);
});

test('--yes is one flag named yes', () => {
  expect(YES_OPTION).toMatchObject({ name: 'yes', kind: 'flag' });
});
