// The kernel as Jupyter sees it: the built CLI started as a subprocess with a connection file and
// driven over real ZeroMQ by our Node client. TypeScript cells only; SQL is in kernel-sql.test.ts.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { KernelClient } from '../kernel/wire/client';
import { encodeMessage, createSigner } from '../kernel/wire/codec';
import { createMessage, type JupyterMessage } from '../kernel/wire/messages';
import { interruptUntilSettled, runCell, startBuiltKernel, stopKernel } from './support/jupyter';

let kernel: KernelClient;
const seen: JupyterMessage[] = [];

beforeAll(async () => {
  kernel = await startBuiltKernel({ output: 'ignore' });
  kernel.onMessage((_channel, message) => seen.push(message));
});
afterAll(async () => {
  await stopKernel(kernel);
});

function answersTo(msgId: string): string[] {
  return seen.filter((m) => m.parent_header && (m.parent_header as { msg_id?: string }).msg_id === msgId).map((m) => m.header.msg_type);
}

describe('kernel_info', () => {
  test('describes a TypeScript kernel speaking protocol 5.3, on shell and on control', async () => {
    for (const channel of ['shell', 'control'] as const) {
      const reply = await kernel.request(channel, 'kernel_info_request');
      expect(reply.content).toMatchObject({
        status: 'ok',
        protocol_version: '5.3',
        implementation: 'lakebase-kernel',
        // A mode name both CodeMirrors resolve (a MIME type sent Notebook 6 to a missing file).
        language_info: { name: 'typescript', file_extension: '.ts', codemirror_mode: 'typescript', pygments_lexer: 'typescript' },
      });
    }
  });
});

describe('execute', () => {
  test('a cell publishes busy, execute_input, its result and idle, and counts executions', async () => {
    const first = await runCell(kernel, 'const answer: number = 41;\nanswer + 1');
    expect(first.sequence).toEqual(['status:busy', 'execute_input', 'execute_result', 'status:idle']);
    expect(first.result).toEqual({ 'text/plain': '42' });
    const second = await runCell(kernel, 'answer');
    expect(second.executionCount).toBe((first.executionCount ?? 0) + 1);
  });

  test('console output becomes stream messages on stdout and stderr', async () => {
    const cell = await runCell(kernel, 'console.log("to stdout"); console.error("to stderr");');
    expect(cell.stdout).toBe('to stdout\n');
    expect(cell.stderr).toBe('to stderr\n');
    expect(cell.result).toBeUndefined();
  });

  test('identifiers starting with __ work across cells (tslab escaped them)', async () => {
    await runCell(kernel, 'let __hidden = 20;');
    const cell = await runCell(kernel, '__hidden * 2');
    expect(cell.result).toEqual({ 'text/plain': '40' });
  });

  test('top-level await', async () => {
    const cell = await runCell(kernel, 'const later = await new Promise<string>((resolve) => setTimeout(() => resolve("done"), 10));\nlater');
    expect(cell.result).toEqual({ 'text/plain': "'done'" });
  });

  test('a thrown error fails the cell with ename, evalue and a traceback, and the kernel goes on', async () => {
    const cell = await runCell(kernel, 'function explode(): never { throw new RangeError("out of range") }\nexplode()');
    expect(cell.status).toBe('error');
    expect(cell.execution.reply.content).toMatchObject({ status: 'error', ename: 'RangeError', evalue: 'out of range' });
    expect(cell.error?.traceback.join('\n')).toContain('RangeError');
    expect((await runCell(kernel, '1 + 1')).result).toEqual({ 'text/plain': '2' });
  });

  test('secrets in an error message are redacted from evalue and traceback', async () => {
    const cell = await runCell(kernel, 'throw new Error("cannot reach postgres://app:hunter2-secret@db.example.com/prod")');
    expect(cell.status).toBe('error');
    expect(JSON.stringify(cell.execution.reply.content)).not.toContain('hunter2-secret');
    expect(JSON.stringify(cell.error)).not.toContain('hunter2-secret');
    expect(cell.error?.evalue).toContain('db.example.com');
  });

  test('a throwing timer and an unawaited rejection are shown on stderr, and the kernel goes on', async () => {
    const cell = await runCell(
      kernel,
      [
        "setTimeout(() => { throw new Error('thrown by a timer'); }, 10);",
        "Promise.reject(new Error('rejected, never awaited'));",
        'await new Promise((resolve) => setTimeout(resolve, 200));',
      ].join('\n'),
    );
    expect(cell.status).toBe('ok');
    expect(cell.stderr).toMatch(/An uncaught error in a callback \(the kernel goes on\):\n.*Error.*: thrown by a timer/);
    expect(cell.stderr).toMatch(/A promise rejected with nobody to catch it \(the kernel goes on\):\n.*Error.*: rejected, never awaited/);
    expect((await runCell(kernel, '1 + 1')).result).toEqual({ 'text/plain': '2' });
  });

  test('a type error is reported as an error, with its line and column', async () => {
    const cell = await runCell(kernel, 'let text: string = "a";\ntext = 5;');
    expect(cell.status).toBe('error');
    expect(cell.error?.ename).toBe('TypeScriptError');
    expect(cell.error?.traceback.join('\n')).toMatch(/2:1.* - Type 'number' is not assignable to type 'string'/);
  });

  test('stop_on_error aborts the cells queued behind a failing one', async () => {
    const failing = kernel.execute('throw new Error("first fails")');
    const queued = [kernel.execute('(globalThis as any).ranAfterFailure = true'), kernel.execute('2')];
    expect((await failing).reply.content.status).toBe('error');
    for (const execution of queued) expect((await execution).reply.content.status).toBe('aborted');
    const check = await runCell(kernel, '(globalThis as any).ranAfterFailure === undefined');
    expect(check.result).toEqual({ 'text/plain': 'true' });
  });

  test('silent executions show nothing and do not count', async () => {
    const before = await runCell(kernel, '0');
    const silent = await kernel.execute('console.log("quiet"); 5', { silent: true });
    expect(silent.messages.map((m) => m.header.msg_type)).not.toContain('execute_result');
    expect(silent.messages.map((m) => m.header.msg_type)).not.toContain('execute_input');
    const after = await runCell(kernel, '0');
    expect(after.executionCount).toBe((before.executionCount ?? 0) + 1);
  });
});

describe('display', () => {
  test('user_expressions are evaluated after a successful cell, each with its own status', async () => {
    const { reply } = await kernel.execute('const watched = [1, 2, 3];', {
      userExpressions: { length: 'watched.length', missing: 'notDeclaredAnywhere', statement: 'let sneaky = 1' },
    });
    const expressions = reply.content.user_expressions as Record<string, { status: string; data?: object; ename?: string }>;
    expect(expressions.length).toEqual({ status: 'ok', data: { 'text/plain': '3' }, metadata: {} });
    expect(expressions.missing).toMatchObject({ status: 'error', ename: expect.any(String) });
    expect(expressions.statement.status).toBe('error');
    expect((await runCell(kernel, 'sneaky')).error?.evalue).toMatch(/Cannot find name 'sneaky'/);
  });

  test('display() publishes display_data and updates it in place by display id', async () => {
    const cell = await runCell(kernel, 'const progress = display("step 1", { displayId: "progress" });\nprogress.update("step 2");');
    expect(cell.displays).toEqual([{ 'text/plain': "'step 1'" }]);
    expect(cell.updates).toEqual([
      { data: { 'text/plain': "'step 2'" }, metadata: {}, transient: { display_id: 'progress' } },
    ]);
  });

  test('objects with Symbol.for("Jupyter.display") render their own bundle, displayed or as the value', async () => {
    const code = [
      'const badge = { [Symbol.for("Jupyter.display")]() { return { "text/html": "<b>ok</b>", "text/plain": "ok" }; } };',
      'display(badge);',
      'badge',
    ].join('\n');
    const cell = await runCell(kernel, code);
    expect(cell.displays).toEqual([{ 'text/html': '<b>ok</b>', 'text/plain': 'ok' }]);
    expect(cell.result).toEqual({ 'text/html': '<b>ok</b>', 'text/plain': 'ok' });
  });
});

describe('display() as a cell\'s last line', () => {
  test('shows the value once, not also the handle display() returns', async () => {
    const cell = await runCell(kernel, 'display("shown once")');
    expect(cell.displays).toEqual([{ 'text/plain': "'shown once'" }]);
    expect(cell.result).toBeUndefined();
    expect(cell.sequence).toEqual(['status:busy', 'execute_input', 'display_data', 'status:idle']);
    // A handle kept in a variable is still a value like any other when asked for by name.
    const kept = await runCell(kernel, 'const shownHandle = display("x");\nshownHandle.displayId.length');
    expect(kept.result).toEqual({ 'text/plain': '36' });
  });

  test('a value rendered asynchronously is published before later output, the result and the reply', async () => {
    const code = [
      'const later = { async [Symbol.for("Jupyter.display")]() { await new Promise((r) => setTimeout(r, 50)); return { "text/plain": "drawn" }; } };',
      'console.log("before");',
      'display(later);',
      'console.log("after");',
      'display("next");',
      'later',
    ].join('\n');
    const cell = await runCell(kernel, code);
    const outputs = cell.execution.messages
      .filter((m) => ['stream', 'display_data', 'execute_result'].includes(m.header.msg_type))
      .map((m) => (m.header.msg_type === 'stream' ? String(m.content.text) : String((m.content.data as Record<string, unknown>)['text/plain'])));
    expect(outputs).toEqual(['before\n', 'drawn', 'after\n', "'next'", 'drawn']);
  });

  test('a value whose asynchronous rendering fails fails the cell, and the kernel goes on', async () => {
    const code = 'display({ async [Symbol.for("Jupyter.display")]() { throw new Error("cannot draw this"); } });';
    const cell = await runCell(kernel, code);
    expect(cell.error?.evalue).toBe('cannot draw this');
    expect((await runCell(kernel, '1 + 1')).result).toEqual({ 'text/plain': '2' });
  });
});

describe('chart()', () => {
  test('display(chart(rows, spec)) draws rows from TypeScript as Vega-Lite and as SVG drawn in the kernel', async () => {
    const cell = await runCell(kernel, [
      'const sales = [{ month: "Jan", total: 3 }, { month: "Feb", total: 5 }];',
      'display(chart(sales, { mark: "bar", x: "month", y: "total" }))',
    ].join('\n'));
    expect(cell.error).toBeUndefined();
    expect(cell.displays).toHaveLength(1);
    const [bundle] = cell.displays;
    expect(Object.keys(bundle).sort()).toEqual(['application/vnd.vegalite.v5+json', 'image/svg+xml', 'text/plain']);
    expect(bundle['text/plain']).toBe('bar chart of total by month (2 rows)');
    expect(String(bundle['image/svg+xml'])).toContain('>Feb</text>');
    expect(cell.result).toBeUndefined();
  });

  test('a chart is typed: a wrong mark does not compile, a wrong column is a clear error', async () => {
    const typed = await runCell(kernel, 'chart([{ a: 1 }], { mark: "pie" })');
    expect(typed.error?.ename).toBe('TypeScriptError');
    const column = await runCell(kernel, 'chart([{ a: 1 }], { mark: "bar", y: "b" })');
    expect(column.error?.traceback.join('\n')).toContain('CODE: CHART_UNKNOWN_COLUMN');
  });

  test('a cell may still name its own variable chart', async () => {
    await runCell(kernel, 'const chart = "mine";');
    expect((await runCell(kernel, 'chart.toUpperCase()')).result).toEqual({ 'text/plain': "'MINE'" });
  });
});

describe('signatures', () => {
  test('a badly signed execute_request is dropped unanswered and never runs', async () => {
    const forged = createMessage(kernel.origin, null, 'execute_request', {
      code: '(globalThis as any).forgedRan = true', silent: false, store_history: true, allow_stdin: false, user_expressions: {},
    });
    await kernel.sendRaw('shell', encodeMessage(forged, createSigner('not-the-key')));
    const check = await runCell(kernel, '(globalThis as any).forgedRan === undefined');
    expect(check.result).toEqual({ 'text/plain': 'true' });
    expect(answersTo(forged.header.msg_id)).toEqual([]);
    // The record of answers is live: the good request that followed was answered.
    const good = (check.execution.reply.parent_header as { msg_id: string }).msg_id;
    expect(answersTo(good)).toContain('execute_reply');
  });
});

describe('malformed requests', () => {
  // Issue 12, item 4: `{"code": 12345}` and `{}` got no reply at all, so the client waited forever.
  test('an execute_request whose code is not a string gets an error reply, and the kernel goes on', async () => {
    for (const content of [{ code: 12345 }, {}, { code: null }, { code: ['1'] }]) {
      const reply = await kernel.request('shell', 'execute_request', content, { timeoutMs: 20_000 });
      expect(reply.content).toMatchObject({ status: 'error', ename: 'InvalidRequest' });
      expect(String(reply.content.evalue)).toMatch(/code must be a string/);
    }
    expect((await runCell(kernel, '"still here"')).result).toEqual({ 'text/plain': "'still here'" });
  });

  test('malformed fields of an execute_request are refused by name, before the cell runs', async () => {
    const content = { code: '(globalThis as any).malformedRan = true', user_expressions: 'not an object' };
    const reply = await kernel.request('shell', 'execute_request', content, { timeoutMs: 20_000 });
    expect(reply.content).toMatchObject({ status: 'error', ename: 'InvalidRequest' });
    expect(String(reply.content.evalue)).toMatch(/user_expressions/);
    expect((await runCell(kernel, 'typeof (globalThis as any).malformedRan')).result).toEqual({ 'text/plain': "'undefined'" });
  });
});

describe('interrupt', () => {
  test('interrupt_request stops an awaiting cell and the kernel stays usable', async () => {
    const running = kernel.execute('await new Promise(() => {})');
    await waitForIopub('execute_input');
    const reply = await kernel.request('control', 'interrupt_request');
    expect(reply.content).toEqual({ status: 'ok' });
    await interruptUntilSettled(running, () => kernel.request('control', 'interrupt_request'));
    expect((await running).reply.content.status).toBe('error');
    expect((await runCell(kernel, '"alive"')).result).toEqual({ 'text/plain': "'alive'" });
  });

  test('an interrupt while the cell is still compiling stops it before it runs', async () => {
    // Checking these types takes the compiler a second or two: the interrupt lands meanwhile.
    const slowToCompile = [
      '{',
      '  type D = "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9";',
      '  type Q = Exclude<`${D}${D}${D}${D}`, `${D}${D}${D}1`>;',
      '  type R = Exclude<Q, `${D}${D}1${D}`>;',
      '  type S = Exclude<R, `${D}1${D}${D}`>;',
      '  const s: S = "0000";',
      '  (globalThis as any).ranAfterInterrupt = s;',
      '}',
    ].join('\n');
    const interrupts = {
      signal: () => process.kill(kernel.process!.pid, 'SIGINT'),
      message: () => void kernel.request('control', 'interrupt_request'),
    };
    for (const interrupt of Object.values(interrupts)) {
      const running = kernel.execute(slowToCompile);
      await waitForIopub('execute_input');
      interrupt();
      const { reply } = await running;
      expect(reply.content).toMatchObject({ status: 'error', evalue: 'Interrupted before the cell ran (it was still compiling)' });
      expect((await runCell(kernel, 'typeof (globalThis as any).ranAfterInterrupt')).result).toEqual({ 'text/plain': "'undefined'" });
    }
  });

  test('SIGINT stops a synchronous loop', async () => {
    const running = kernel.execute('while (true) {}');
    await waitForIopub('execute_input');
    await interruptUntilSettled(running, () => process.kill(kernel.process!.pid, 'SIGINT'));
    const { reply } = await running;
    expect(reply.content.status).toBe('error');
    expect((await runCell(kernel, '"still alive"')).result).toEqual({ 'text/plain': "'still alive'" });
  });
});

describe('introspection', () => {
  test('complete_request completes TypeScript members', async () => {
    await runCell(kernel, 'const greeting = "hello";');
    const code = 'greeting.toUpp';
    const reply = await kernel.request('shell', 'complete_request', { code, cursor_pos: code.length });
    expect(reply.content).toMatchObject({ status: 'ok', cursor_start: 'greeting.'.length, cursor_end: code.length });
    expect(reply.content.matches).toContain('toUpperCase');
  });

  test('complete_request counts cursor positions in code points, as the protocol says', async () => {
    await runCell(kernel, 'const emoji = "😀"; const word = "text";');
    const code = 'emoji + "😀" + word.toUpp';
    const cursor = [...code].length;
    const reply = await kernel.request('shell', 'complete_request', { code, cursor_pos: cursor });
    expect(reply.content).toMatchObject({ cursor_start: cursor - 'toUpp'.length, cursor_end: cursor });
    expect(reply.content.matches).toContain('toUpperCase');
  });

  test('complete_request completes %lakebase verbs', async () => {
    const code = '%lakebase conn';
    const reply = await kernel.request('shell', 'complete_request', { code, cursor_pos: code.length });
    expect(reply.content.matches).toEqual(expect.arrayContaining(['connect', 'connections']));
  });

  test('inspect_request shows the type of a variable', async () => {
    const reply = await kernel.request('shell', 'inspect_request', { code: 'greeting', cursor_pos: 3, detail_level: 0 });
    expect(reply.content).toMatchObject({ status: 'ok', found: true });
    expect(String((reply.content.data as Record<string, unknown>)['text/plain'])).toContain('greeting');
  });

  test('is_complete_request tells unfinished blocks from finished code', async () => {
    const open = await kernel.request('shell', 'is_complete_request', { code: 'if (true) {' });
    expect(open.content.status).toBe('incomplete');
    const done = await kernel.request('shell', 'is_complete_request', { code: 'const z = 1;' });
    expect(done.content.status).toBe('complete');
  });

  test('history_request returns the inputs of earlier cells', async () => {
    await runCell(kernel, '"remember me"');
    const reply = await kernel.request('shell', 'history_request', { hist_access_type: 'tail', n: 1, output: false, raw: true });
    const history = reply.content.history as [number, number, string][];
    expect(history).toHaveLength(1);
    expect(history[0][2]).toBe('"remember me"');
  });

  test('comm_info_request is answered with comm_info_reply', async () => {
    const reply = await kernel.request('shell', 'comm_info_request', {});
    expect(reply.header.msg_type).toBe('comm_info_reply');
    expect(reply.content).toEqual({ status: 'ok', comms: {} });
  });
});

function waitForIopub(msgType: string): Promise<void> {
  return new Promise((resolve) => {
    const stop = kernel.onIopub((message) => {
      if (message.header.msg_type === msgType) {
        stop();
        resolve();
      }
    });
  });
}
