// The terminal front end (magics/terminal.ts): one verb per command line through the same grammar,
// text or --json on stdout, status lines on stderr (in place on a TTY, final line otherwise),
// confirmation from the TTY or --yes, Ctrl-C stopping the waiting, and the exit codes. The verbs
// here are a small family of their own, so that only the front end is under test; the instance
// verbs' tests run the real CLI binary against the emulator.
import { PassThrough } from 'node:stream';
import { expect, test } from 'vitest';
import { LakebaseError } from '../lakebase/errors';
import { waitFor } from '../lakebase/waiting';
import type { MagicServices } from '../magics';
import { confirm, YES_OPTION } from '../magics/confirm';
import type { VerbFamily } from '../magics/declarations';
import { TableOutput, TextOutput } from '../magics/outputs';
import { watch } from '../magics/status-line';
import { forTerminal, runTerminalCommand, TerminalIo } from '../magics/terminal';

const deleted: string[] = [];

const gadgets: VerbFamily<MagicServices> = {
  name: 'gadget',
  summary: 'Gadgets',
  verbs: [
    {
      name: 'gadget list',
      summary: 'List the gadgets',
      positionals: [],
      options: [],
      examples: ['%lakebase gadget list'],
      run: async () => new TableOutput(['name', 'size'], [['g1', 'S'], ['g2', 'L']], 'No gadgets.'),
    },
    {
      name: 'gadget create',
      summary: 'Make a gadget, waiting until it is ready',
      positionals: [{ name: 'NAME', summary: 'its name' }],
      options: [{ name: 'polls', kind: 'integer', min: 1, summary: 'polls until ready' }],
      examples: ['%lakebase gadget create g3'],
      async run({ invocation, host }) {
        const name = invocation.positionals[0];
        const needed = Number(invocation.options.polls ?? 2);
        let polls = 0;
        return watch(
          host,
          { subject: `gadget ${name}`, action: 'create', state: 'BUILDING', checkWith: `%lakebase gadget get ${name}`, tickMs: 0, settledState: () => 'READY' },
          ({ onProgress, signal }) =>
            waitFor({
              description: `the gadget ${name} to be READY`,
              poll: async () => ++polls,
              check: (count) => (count > needed ? { done: true, result: { name, state: 'READY' } } : { done: false, state: 'BUILDING', detail: 'the parts' }),
              onProgress,
              signal,
              initialDelayMs: 1,
            }),
        );
      },
    },
    {
      name: 'gadget delete',
      summary: 'Delete a gadget',
      positionals: [{ name: 'NAME', summary: 'its name' }],
      options: [YES_OPTION],
      examples: ['%lakebase gadget delete g1 --yes'],
      async run(context) {
        const name = context.invocation.positionals[0];
        const go = await confirm(context, {
          consequences: `Deletes the gadget ${name}.`,
          question: `Delete the gadget ${name}?`,
          withYes: `%lakebase gadget delete ${name} --yes`,
        });
        if (!go) return new TextOutput(`The gadget ${name} was not deleted.`);
        deleted.push(name);
        return new TextOutput(`Deleted the gadget ${name}.`);
      },
    },
    {
      name: 'gadget fail',
      summary: 'Fail as a workspace call does',
      positionals: [],
      options: [],
      examples: ['%lakebase gadget fail'],
      run: async () => {
        throw new LakebaseError('INSTANCE_NOT_FOUND', 'There is no gadget named g9.', { hint: 'List them with %lakebase gadget list.' });
      },
    },
  ],
};

interface FakeTerminal {
  io: TerminalIo;
  out(): string;
  err(): string;
  /** Types a line on the TTY. */
  type(line: string): void;
  interrupt(): void;
}

function terminal(options: { tty: boolean }): FakeTerminal {
  let out = '';
  let err = '';
  const stdin = Object.assign(new PassThrough(), { isTTY: options.tty });
  let onInterrupt: (() => void) | undefined;
  return {
    io: {
      stdout: { write: (text: string) => (out += text), isTTY: options.tty },
      stderr: { write: (text: string) => (err += text), isTTY: options.tty, columns: 200 },
      stdin,
      env: {},
      onInterrupt(handler) {
        onInterrupt = handler;
        return () => (onInterrupt = undefined);
      },
    },
    out: () => out,
    err: () => err,
    type: (line) => stdin.write(`${line}\n`),
    interrupt: () => onInterrupt?.(),
  };
}

const run = (argv: string[], fake: FakeTerminal) => runTerminalCommand(argv, { io: fake.io, deps: { families: [gadgets] } });

test('a verb prints what a cell shows, and exits 0', async () => {
  const fake = terminal({ tty: false });
  expect(await run(['gadget', 'list'], fake)).toBe(0);
  // The table a cell shows as text/plain: psql's layout, headers centered over their column.
  expect(fake.out()).toBe(' name | size \n------+------\n g1   | S\n g2   | L\n');
  expect(fake.err()).toBe('');
});

test('--json prints the value as JSON for scripts', async () => {
  const fake = terminal({ tty: false });
  expect(await run(['gadget', 'list', '--json'], fake)).toBe(0);
  expect(JSON.parse(fake.out())).toEqual([{ name: 'g1', size: 'S' }, { name: 'g2', size: 'L' }]);
  const created = terminal({ tty: false });
  expect(await run(['--json', 'gadget', 'create', 'g3'], created)).toBe(0);
  expect(JSON.parse(created.out())).toEqual({ name: 'g3', state: 'READY' });
});

test('usage mistakes exit 2 with the grammar\'s message in terminal words', async () => {
  const fake = terminal({ tty: false });
  expect(await run(['gadget', 'creat', 'g3'], fake)).toBe(2);
  expect(fake.err()).toContain('lakebase-kernel gadget has no action "creat"');
  expect(fake.err()).toContain('Did you mean lakebase-kernel gadget create? See lakebase-kernel help gadget create.');
  expect(fake.out()).toBe('');
  expect(await run(['gadget', 'create', 'g3', '--polls', 'x'], terminal({ tty: false }))).toBe(2);
  expect(await run(['frobnicate'], terminal({ tty: false }))).toBe(2);
  const sql = terminal({ tty: false });
  expect(await run(['sql', 'SELECT', '1'], sql)).toBe(2);
  expect(sql.err()).toContain("sql works on a notebook's connections");
});

test('a failing verb exits 1 with its one clear line and hint', async () => {
  const fake = terminal({ tty: false });
  expect(await run(['gadget', 'fail'], fake)).toBe(1);
  expect(fake.err()).toBe('lakebase-kernel: ERROR:  There is no gadget named g9.\nHINT:  List them with lakebase-kernel gadget list.\nCODE: INSTANCE_NOT_FOUND\n');
});

test('without a TTY a status line prints only its final line, on stderr', async () => {
  const fake = terminal({ tty: false });
  expect(await run(['gadget', 'create', 'g4', '--polls', '3'], fake)).toBe(0);
  expect(fake.err()).toMatch(/^gadget g4 · create · READY · \d+ ms\n$/);
  expect(fake.out()).toBe("{ name: 'g4', state: 'READY' }\n");
});

test('on a TTY the status line is rewritten in place and ends with a newline', async () => {
  const fake = terminal({ tty: true });
  expect(await run(['gadget', 'create', 'g5', '--polls', '2'], fake)).toBe(0);
  const writes = fake.err().split('\r\x1b[2K').filter((part) => part !== '');
  expect(writes[0]).toMatch(/^gadget g5 · create · BUILDING · \d+ ms$/);
  expect(writes.at(-1)).toMatch(/^gadget g5 · create · READY · \d+ ms\n$/);
  expect(writes.slice(0, -1).every((write) => !write.includes('\n'))).toBe(true);
});

test('a destructive verb asks on the TTY; no answers no', async () => {
  const yes = terminal({ tty: true });
  const asking = run(['gadget', 'delete', 'g1'], yes);
  yes.type('y');
  const code = await asking;
  expect(code).toBe(0);
  expect(yes.out()).toBe('Deleted the gadget g1.\n');
  expect(yes.err()).toBe('Deletes the gadget g1.\nDelete the gadget g1? [y/N] ');
  expect(deleted).toEqual(['g1']);

  const no = terminal({ tty: true });
  const declining = run(['gadget', 'delete', 'g2'], no);
  no.type('n');
  expect(await declining).toBe(0);
  expect(no.out()).toContain('The gadget g2 was not deleted.');
  expect(deleted).toEqual(['g1']);
});

test('without a TTY a destructive verb needs --yes (exit 2), and does it with --yes', async () => {
  const refused = terminal({ tty: false });
  expect(await run(['gadget', 'delete', 'g2'], refused)).toBe(2);
  expect(refused.err()).toContain('CONFIRMATION_REQUIRED');
  expect(refused.err()).toContain('To do it anyway, run: lakebase-kernel gadget delete g2 --yes');
  expect(deleted).toEqual(['g1']);
  const forced = terminal({ tty: false });
  expect(await run(['gadget', 'delete', 'g2', '--yes'], forced)).toBe(0);
  expect(deleted).toEqual(['g1', 'g2']);
});

test('Ctrl-C stops the waiting, says the operation goes on and how to check, and exits 130', async () => {
  const fake = terminal({ tty: true });
  const running = run(['gadget', 'create', 'g6', '--polls', '1000000'], fake);
  // Interrupt once the verb is waiting: a poll has answered and the line says what is awaited.
  while (!fake.err().includes('waiting for the parts')) await new Promise((resolve) => setImmediate(resolve));
  fake.interrupt();
  expect(await running).toBe(130);
  expect(fake.err()).toMatch(/gadget g6 · create · BUILDING · .* · stopped waiting; the operation goes on\. Check on it with lakebase-kernel gadget get g6\n/);
  expect(fake.err()).toContain('WAIT_STOPPED');
});

test('help lists the terminal verbs and explains one in terminal words', async () => {
  const fake = terminal({ tty: false });
  expect(await run(['help'], fake)).toBe(0);
  expect(fake.out()).toMatch(/^Gadgets:\n {2}gadget list +List the gadgets$/m);
  expect(fake.out()).not.toMatch(/^ {2}sql /m);
  const one = terminal({ tty: false });
  expect(await run(['help', 'gadget', 'create'], one)).toBe(0);
  expect(one.out()).toContain('lakebase-kernel gadget create NAME [--polls VALUE]');
});

test('forTerminal rewrites the magic, not words that merely contain it', () => {
  expect(forTerminal('Check with %lakebase instance get x.')).toBe('Check with lakebase-kernel instance get x.');
  expect(forTerminal('(%lakebase help)')).toBe('(lakebase-kernel help)');
  expect(forTerminal('50%lakebased')).toBe('50%lakebased');
});
