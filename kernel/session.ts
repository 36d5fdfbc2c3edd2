// What the kernel's messages mean: the execution queue, the cell lifecycle and every request type
// of the Jupyter messaging protocol (5.3). The wire (kernel/wire/) delivers verified requests as
// they arrive and sends what this module answers; nothing here touches a socket.
import type { Channel, KernelRequest, KernelWire } from './wire/server';
import type { Logger } from './log';
import type { MagicHost } from '../magics/host';
import { MAGIC_FUNCTION, type CellPlan, type Magics, type MagicInvocation } from '../magics';
import { captureOutput, OutputCapture } from './output';
import { createDisplayFunction, DisplayMessage, isDisplayHandle, mimeBundleOf } from './display';
import type { MimeBundle } from '../lakebase/contracts';
import { chart, type ChartRows, type ChartSpec } from '../lakebase/chart';
import { compileErrorContent, ErrorContent, errorContent, interruptedBeforeRun } from './errors';
import type { CellOutcome, TypeScriptRunner } from './typescript';
import { isComplete } from './completeness';
import type { History } from './history';
import { KERNEL_INFO } from './info';
import { replyTypeFor } from './wire/messages';

export interface SessionOptions {
  wire: KernelWire;
  typescript: TypeScriptRunner;
  magics: Magics;
  log: Logger;
  /** Cell inputs, of this session and earlier ones (see kernel/history.ts). */
  history: History;
  /** Called after a shutdown_request has been answered; the process should exit. */
  onShutdown: (restart: boolean) => void;
}

export interface KernelSession {
  receive(channel: Channel, request: KernelRequest): void;
  /** SIGINT or interrupt_request: stop the running cell. */
  interrupt(): void;
  /**
   * An error nobody caught (a throwing timer callback, a rejected promise nobody awaited): shown
   * on the stderr of the running cell, or of the last one, and the kernel goes on.
   */
  reportUncaught(error: unknown, kind: 'exception' | 'rejection'): void;
  /** Releases connections, refreshers and timers. */
  close(): Promise<void>;
}

interface ExecuteContent {
  code: string;
  silent?: boolean;
  store_history?: boolean;
  allow_stdin?: boolean;
  stop_on_error?: boolean;
  user_expressions?: Record<string, string>;
}

/**
 * The content of an execute_request, checked field by field: a client may send anything, and a
 * request the kernel cannot read must still be answered (issue 12: `{"code": 12345}` got no reply
 * and the client waited forever). Returns what is wrong, in the protocol's own field names.
 */
function readExecuteContent(content: Record<string, unknown>): { ok: true; content: ExecuteContent } | { ok: false; problem: string } {
  const problem = (text: string) => ({ ok: false as const, problem: `execute_request: ${text}` });
  if (typeof content.code !== 'string') return problem(`code must be a string, not ${describeJsonType(content.code)}`);
  for (const flag of ['silent', 'store_history', 'allow_stdin', 'stop_on_error'] as const) {
    const value = content[flag];
    if (value !== undefined && value !== null && typeof value !== 'boolean') return problem(`${flag} must be true or false, not ${describeJsonType(value)}`);
  }
  const expressions = content.user_expressions;
  if (expressions !== undefined && expressions !== null) {
    if (typeof expressions !== 'object' || Array.isArray(expressions)) {
      return problem(`user_expressions must be an object of name → expression, not ${describeJsonType(expressions)}`);
    }
    for (const [name, expression] of Object.entries(expressions)) {
      if (typeof expression !== 'string') return problem(`user_expressions.${name} must be a string, not ${describeJsonType(expression)}`);
    }
  }
  return { ok: true, content: content as unknown as ExecuteContent };
}

/** `a number`, `null`, `an array`: what a JSON value is, for messages about malformed requests. */
function describeJsonType(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** The error content of a reply to a request the kernel cannot read. */
function invalidRequest(problem: string): ErrorContent {
  return { ename: 'InvalidRequest', evalue: problem, traceback: [`InvalidRequest: ${problem}`] };
}

/** A cell from the moment its request is read until its reply. */
interface RunningCell {
  request: KernelRequest;
  abort: AbortController;
  /** The magics of its plan, once planned (mixed cells call them by index). */
  invocations: MagicInvocation[];
  host: MagicHost;
}

/**
 * A synchronous stretch this long (planning a cell of megabytes) may have hidden an interrupt
 * from the event loop; the cell then lets the loop read it before it starts.
 */
const LONG_BLOCK_MS = 10;

/**
 * Resolves after the event loop has read what arrived while it was blocked (signals, socket
 * messages): the first turn ends the current loop iteration, the second comes after the next poll
 * phase, where libuv reads them.
 */
async function afterPendingEvents(): Promise<void> {
  for (let turn = 0; turn < 2; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** What a cell ended with: a value for execute_result (and, once rendered, its bundle), or an error. */
type CellResult = { ok: true; value?: unknown; hasValue: boolean; bundle?: MimeBundle } | { ok: false; error: ErrorContent };

/** The symbol under which cells find the kernel's runtime functions (see PRELUDE in prelude.ts). */
const RUNTIME = Symbol.for('lakebase.kernel');

export function createSession(options: SessionOptions): KernelSession {
  const { wire, typescript, magics, log, history } = options;
  const queue: KernelRequest[] = [];
  let draining = false;
  let executionCount = 0;
  // The cell being prepared or run, if any: its request, its abort controller and its magics.
  let current: RunningCell | undefined;
  // Declarations asked for during a cell run after it: the compiler takes one cell at a time.
  let pendingDeclarations: { name: string; value: unknown; tsType: string }[] = [];
  // Where output goes when no cell runs (timers firing later): the last cell, as ipykernel does.
  let outputParent: KernelRequest | null = null;

  // Requests answered so far, so that one whose handler failed can still be answered (below, in withStatus).
  const answered = new WeakSet<KernelRequest>();
  const reply: KernelWire['reply'] = (request, msgType, content, metadata) => {
    answered.add(request);
    return wire.reply(request, msgType, content, metadata);
  };

  // Printed text goes out in order with the displays: after a chart still being rendered when
  // it was printed, before one asked for after it (display() sends the text buffered so far).
  const output: OutputCapture = captureOutput((name, text) => {
    const parent = outputParent;
    display.inOrder(() => void wire.publish(parent, 'stream', { name, text }));
  });

  const publishDisplay = (message: DisplayMessage) => {
    const content = {
      data: message.data,
      metadata: message.metadata,
      transient: message.displayId ? { display_id: message.displayId } : {},
    };
    void wire.publish(outputParent, message.update ? 'update_display_data' : 'display_data', content);
  };
  const display = createDisplayFunction(publishDisplay, () => output.flush());

  (globalThis as Record<symbol, unknown>)[RUNTIME] = {
    display,
    chart: (rows: unknown, spec: ChartSpec) => chart(rows as ChartRows, spec),
    magic: async (index: number, variables: Record<string, unknown>, mode: 'statement' | 'expression') => {
      if (!current) throw new Error('lakebase$magic called outside a running cell');
      const invocation = current.invocations[index];
      if (!invocation) throw new Error(`no magic number ${index} in this cell`);
      const result = await magics.run(invocation, current.host, { variables, mode });
      return mode === 'expression' ? result.value : undefined;
    },
  };

  function hostFor(request: KernelRequest, abort: AbortController, allowStdin: boolean): MagicHost {
    return {
      stdout: (text) => output.write('stdout', text),
      stderr: (text) => output.write('stderr', text),
      display: (value, displayOptions) => {
        display(value, displayOptions);
      },
      lookupVariable: (name) => typescript.lookup(name),
      declareVariable: async (name, value, tsType) => {
        pendingDeclarations.push({ name, value, tsType });
      },
      input: async (prompt, inputOptions) => {
        if (!allowStdin) {
          throw new Error('this client does not accept input (allow_stdin is false); configure the value instead');
        }
        output.flush();
        // An interrupt while the client shows the prompt ends the wait for an answer.
        return wire.requestInput(request, prompt, inputOptions?.password ?? false, { signal: abort.signal });
      },
      allowsInput: allowStdin,
      updatesDisplays: true,
      signal: abort.signal,
    };
  }

  async function runCell(cell: RunningCell, code: string): Promise<CellResult> {
    let plan: CellPlan;
    const planning = performance.now();
    try {
      plan = magics.planCell(code);
    } catch (error) {
      return { ok: false, error: errorContent(error) };
    }
    cell.invocations = plan.kind === 'typescript' ? [] : plan.invocations;
    if (performance.now() - planning > LONG_BLOCK_MS) await afterPendingEvents();
    if (cell.abort.signal.aborted) return { ok: false, error: errorContent(interruptedBeforeRun()) };
    try {
      switch (plan.kind) {
        case 'typescript':
        case 'mixed':
          return fromOutcome(await typescript.execute(plan.code, cell.abort.signal));
        case 'magics': {
          let last: { value?: unknown } = {};
          for (const invocation of plan.invocations) {
            last = await magics.run(invocation, cell.host);
          }
          return { ok: true, value: last.value, hasValue: last.value !== undefined };
        }
        default: {
          const unknownPlan: never = plan;
          throw new Error(`unknown cell plan ${JSON.stringify(unknownPlan)}`);
        }
      }
    } catch (error) {
      return { ok: false, error: errorContent(error) };
    }
  }

  /**
   * Runs a cell, then waits until every display it asked for is published: a chart is rendered
   * asynchronously, and must reach the client before the cell's result and reply. A display
   * that failed to render fails the cell (when nothing else did).
   */
  async function runCellToTheEnd(cell: RunningCell, code: string): Promise<CellResult> {
    let result: CellResult;
    try {
      result = await runCell(cell, code);
    } finally {
      current = undefined;
      await declarePending();
    }
    try {
      await display.settled();
    } catch (error) {
      return result.ok ? { ok: false, error: errorContent(error) } : result;
    }
    if (!result.ok || !result.hasValue || isDisplayHandle(result.value)) {
      // A cell ending in display(x) shows x, not also the handle display() returns.
      return result.ok ? { ok: true, hasValue: false } : result;
    }
    try {
      return { ok: true, hasValue: true, value: result.value, bundle: await mimeBundleOf(result.value) };
    } catch (error) {
      return { ok: false, error: errorContent(error) };
    }
  }

  async function declarePending(): Promise<void> {
    const declarations = pendingDeclarations;
    pendingDeclarations = [];
    for (const { name, value, tsType } of declarations) {
      try {
        await typescript.declare(name, value, tsType);
      } catch (error) {
        log.warn('declaring a variable failed', { name, error: String(error) });
        output.write('stderr', `could not declare ${name} for TypeScript: ${(error as Error).message}\n`);
      }
    }
  }

  function fromOutcome(outcome: CellOutcome): CellResult {
    switch (outcome.status) {
      case 'ok':
        return { ok: true, value: outcome.value, hasValue: outcome.hasValue };
      case 'compile-error':
        return { ok: false, error: compileErrorContent(outcome.diagnostics) };
      case 'runtime-error':
        return { ok: false, error: errorContent(outcome.error) };
      default: {
        const unknownOutcome: never = outcome;
        throw new Error(`unknown cell outcome ${JSON.stringify(unknownOutcome)}`);
      }
    }
  }

  async function execute(request: KernelRequest): Promise<boolean> {
    const checked = readExecuteContent(request.content);
    if (!checked.ok) {
      // Not a cell: nothing ran and nothing is counted, but the client gets its answer.
      log.warn('refused a malformed execute_request', { msg_id: request.header.msg_id, problem: checked.problem });
      await reply(request, 'execute_reply', { status: 'error', execution_count: executionCount, ...invalidRequest(checked.problem) });
      return true;
    }
    const content = checked.content;
    const silent = content.silent === true;
    const storeHistory = !silent && content.store_history !== false;
    if (storeHistory) executionCount += 1;
    const count = executionCount;
    // The cell takes interrupts from here on, while its input is published and while it is
    // planned and compiled too (issue 12: one sent while a big cell was being prepared took
    // effect minutes later, and one that came while execute_input was sent was dropped).
    const abort = new AbortController();
    const cell: RunningCell = { request, abort, invocations: [], host: hostFor(request, abort, content.allow_stdin === true) };
    current = cell;
    let result: CellResult;
    try {
      if (!silent) await wire.publish(request, 'execute_input', { code: content.code, execution_count: count });
      result = await runCellToTheEnd(cell, content.code);
    } finally {
      current = undefined;
    }
    try {
      return await answerCell(request, content, count, result);
    } finally {
      // Kept once the cell is answered, and redacted later still (history.ts): nothing done for
      // the history stands between a cell and its interrupt (issue 12).
      if (storeHistory) history.add(count, content.code);
    }
  }

  /** The cell's result or error on iopub, then its execute_reply; false when it failed. */
  async function answerCell(request: KernelRequest, content: ExecuteContent, count: number, result: CellResult): Promise<boolean> {
    const silent = content.silent === true;
    output.flush();
    if (result.ok) {
      if (result.bundle !== undefined && !silent) {
        await wire.publish(request, 'execute_result', {
          execution_count: count,
          data: result.bundle,
          metadata: {},
        });
      }
      await reply(request, 'execute_reply', {
        status: 'ok',
        execution_count: count,
        user_expressions: await evaluateUserExpressions(content.user_expressions ?? {}),
        payload: [],
      });
      return true;
    }
    await wire.publish(request, 'error', result.error);
    await reply(request, 'execute_reply', { status: 'error', execution_count: count, ...result.error });
    return false;
  }

  /**
   * The user_expressions of a successful execute_request (variable watchers ask for them), each
   * evaluated as a TypeScript expression after the cell. Parenthesised, so that a statement such
   * as `let x = 1` is refused rather than declared in the session.
   */
  async function evaluateUserExpressions(expressions: Record<string, string>): Promise<Record<string, object>> {
    const results: Record<string, object> = {};
    for (const [name, expression] of Object.entries(expressions)) {
      const result = fromOutcome(await typescript.execute(`(\n${expression}\n)`));
      if (!result.ok) {
        results[name] = { status: 'error', ...result.error };
        continue;
      }
      try {
        results[name] = { status: 'ok', data: await mimeBundleOf(result.value), metadata: {} };
      } catch (error) {
        results[name] = { status: 'error', ...errorContent(error) };
      }
    }
    return results;
  }

  async function handleShell(request: KernelRequest): Promise<void> {
    const type = request.header.msg_type;
    switch (type) {
      case 'execute_request': {
        const ok = await execute(request);
        if (!ok && request.content.stop_on_error !== false) await abortQueuedExecutions();
        return;
      }
      case 'kernel_info_request':
        return reply(request, 'kernel_info_reply', KERNEL_INFO);
      case 'complete_request':
        return complete(request);
      case 'inspect_request':
        return inspect(request);
      case 'is_complete_request':
        return reply(request, 'is_complete_reply', isComplete(String(request.content.code ?? '')));
      case 'history_request':
        return reply(request, 'history_reply', { status: 'ok', history: historyFor(request.content) });
      case 'comm_info_request':
        return reply(request, 'comm_info_reply', { status: 'ok', comms: {} });
      case 'comm_open':
        // No comm targets are registered: the spec says to close an unknown comm at once.
        return wire.publish(request, 'comm_close', { comm_id: request.content.comm_id, data: {} });
      case 'comm_msg':
      case 'comm_close':
        return;
      default:
        return unknownRequest(request);
    }
  }

  async function handleControl(request: KernelRequest): Promise<void> {
    const type = request.header.msg_type;
    switch (type) {
      case 'kernel_info_request':
        return reply(request, 'kernel_info_reply', KERNEL_INFO);
      case 'interrupt_request':
        interrupt();
        return reply(request, 'interrupt_reply', { status: 'ok' });
      case 'shutdown_request': {
        const restart = request.content.restart === true;
        await reply(request, 'shutdown_reply', { status: 'ok', restart });
        options.onShutdown(restart);
        return;
      }
      default:
        return unknownRequest(request);
    }
  }

  async function unknownRequest(request: KernelRequest): Promise<void> {
    const type = request.header.msg_type;
    log.warn('unknown request type', { msg_type: type });
    const replyType = replyTypeFor(type);
    if (replyType) {
      await reply(request, replyType, {
        status: 'error',
        ename: 'UnknownRequest',
        evalue: `this kernel does not handle ${type}`,
        traceback: [],
      });
    }
  }

  async function abortQueuedExecutions(): Promise<void> {
    // Requests sent together with the failed one ("run all") may still be on their way.
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < queue.length; ) {
      const request = queue[i];
      if (request.header.msg_type !== 'execute_request') {
        i += 1;
        continue;
      }
      queue.splice(i, 1);
      await withStatus(request, () =>
        reply(request, 'execute_reply', { status: 'aborted', execution_count: null }),
      );
    }
  }

  // Jupyter counts cursor positions in Unicode code points (messaging spec 5.2+); JavaScript
  // strings, the TypeScript compiler and the magics count UTF-16 code units.
  async function complete(request: KernelRequest): Promise<void> {
    const code = String(request.content.code ?? '');
    const cursor = indexOfCodePoint(code, Number(request.content.cursor_pos ?? [...code].length));
    const variables = typescript.variableNames().filter((name) => name !== MAGIC_FUNCTION);
    let result = (await magics.completeSql(code, cursor, variables)) ?? (await magics.completeAsync(code, cursor));
    if (!result) {
      const mapped = magics.mapToTypeScript(code, cursor);
      result = mapped ? shiftCompletion(await typescript.complete(mapped.code, mapped.cursor), cursor - mapped.cursor) : null;
    }
    return reply(request, 'complete_reply', {
      status: 'ok',
      matches: result?.matches ?? [],
      cursor_start: codePointsBefore(code, result?.cursorStart ?? cursor),
      cursor_end: codePointsBefore(code, result?.cursorEnd ?? cursor),
      metadata: {},
    });
  }

  async function inspect(request: KernelRequest): Promise<void> {
    const code = String(request.content.code ?? '');
    const cursor = indexOfCodePoint(code, Number(request.content.cursor_pos ?? [...code].length));
    let text = (await magics.inspectSql(code, cursor)) ?? magics.inspect(code, cursor);
    if (text === null) {
      const mapped = magics.mapToTypeScript(code, cursor);
      text = mapped ? await typescript.inspect(mapped.code, mapped.cursor) : null;
    }
    return reply(request, 'inspect_reply', {
      status: 'ok',
      found: text !== null,
      data: text === null ? {} : { 'text/plain': text },
      metadata: {},
    });
  }

  function historyFor(content: Record<string, unknown>) {
    const output = content.output === true;
    const rows = (() => {
      switch (content.hist_access_type) {
        case 'tail':
          return history.tail(Number(content.n ?? 10));
        case 'range': {
          const start = Number(content.start ?? 0);
          const stop = content.stop === undefined || content.stop === null ? Infinity : Number(content.stop);
          return history.range(Number(content.session ?? 0), start, stop);
        }
        case 'search': {
          const n = content.n === undefined || content.n === null ? undefined : Number(content.n);
          return history.search(String(content.pattern ?? '*'), n, content.unique === true);
        }
        default:
          return [];
      }
    })();
    return rows.map((h) => (output ? [h.session, h.line, [h.input, null]] : [h.session, h.line, h.input]));
  }

  async function withStatus(request: KernelRequest, work: () => Promise<void>): Promise<void> {
    await wire.publish(request, 'status', { execution_state: 'busy' });
    try {
      await work();
    } catch (error) {
      // One bad request must not stop the kernel: log it with its context and go on. Its client
      // still gets an answer (messaging spec: every request on shell and control has a reply).
      log.error('request failed', { msg_type: request.header.msg_type, error: String(error) });
      await answerFailure(request, error);
    } finally {
      output.flush();
      await wire.publish(request, 'status', { execution_state: 'idle' });
    }
  }

  /** An error reply to a request whose handler threw before answering it. */
  async function answerFailure(request: KernelRequest, error: unknown): Promise<void> {
    const replyType = replyTypeFor(request.header.msg_type);
    if (replyType === undefined || answered.has(request)) return;
    const content: Record<string, unknown> = { status: 'error', ...errorContent(error) };
    if (replyType === 'execute_reply') content.execution_count = executionCount;
    try {
      await reply(request, replyType, content);
    } catch (replyError) {
      log.error('could not answer a failed request', { msg_type: request.header.msg_type, error: String(replyError) });
    }
  }

  async function drain(): Promise<void> {
    if (draining) return;
    draining = true;
    try {
      while (queue.length > 0) {
        const request = queue.shift()!;
        if (request.header.msg_type === 'execute_request') outputParent = request;
        await withStatus(request, () => handleShell(request));
      }
    } finally {
      draining = false;
    }
  }

  function interrupt(): void {
    if (!current) return;
    log.info('interrupting the running cell', { msg_id: current.request.header.msg_id });
    current.abort.abort(new Error('interrupted'));
    typescript.interrupt();
  }

  return {
    receive(channel, request) {
      if (channel === 'control') {
        void withStatus(request, () => handleControl(request));
        return;
      }
      queue.push(request);
      void drain();
    },
    interrupt,
    reportUncaught(error, kind) {
      const { ename, evalue, traceback } = errorContent(error);
      log.info(kind === 'exception' ? 'uncaught exception' : 'unhandled promise rejection', { ename, evalue });
      const what = kind === 'exception' ? 'An uncaught error in a callback' : 'A promise rejected with nobody to catch it';
      output.write('stderr', `${what} (the kernel goes on):\n${traceback.join('\n')}\n`);
    },
    async close() {
      output.restore();
      await magics.close();
      typescript.close();
    },
  };
}

function shiftCompletion(
  result: { matches: string[]; cursorStart: number; cursorEnd: number },
  offset: number,
) {
  return { ...result, cursorStart: result.cursorStart + offset, cursorEnd: result.cursorEnd + offset };
}

/** The UTF-16 index of the `codePoints`-th code point of `text`. */
function indexOfCodePoint(text: string, codePoints: number): number {
  let index = 0;
  for (let seen = 0; seen < codePoints && index < text.length; seen += 1) {
    index += (text.codePointAt(index) ?? 0) > 0xffff ? 2 : 1;
  }
  return index;
}

/** How many code points come before the UTF-16 `index` of `text`. */
function codePointsBefore(text: string, index: number): number {
  return [...text.slice(0, index)].length;
}
