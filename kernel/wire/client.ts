// A Jupyter client in Node: starts a kernel process (or connects to a running kernel), sends
// requests and collects what the kernel publishes about them. The headless `lakebase-kernel run`
// command and the kernel tests use it, so it behaves like jupyter_client where that matters:
// - ready means a kernel_info_reply came back AND iopub delivered a message about it (a SUB socket
//   misses everything published before its subscription arrived, so a reply alone is not enough);
// - an execution is finished when both its reply (shell) and its `status: idle` (iopub) arrived:
//   the two sockets are not ordered with respect to each other;
// - shell and stdin share one ZeroMQ identity, because the kernel sends `input_request` on stdin
//   to the identity the execute_request came from on shell.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as zmq from 'zeromq';
import { silentLogger, type Logger } from '../log';
import { createSigner, decodeMessage, encodeMessage, type Signer } from './codec';
import { endpointOf, writeConnectionFile, type ConnectionInfo, type WriteConnectionFileOptions } from './connection-file';
import { ADDRESS_IN_USE_EXIT_CODE, WireError } from './errors';
import {
  createMessage,
  parentIdOf,
  type JsonObject,
  type JupyterMessage,
  type MessageOrigin,
  type RequestType,
} from './messages';

/** The channels a client sends requests on. */
export type RequestChannel = 'shell' | 'control';
/** Every channel a client receives on (heartbeat answers are not messages). */
export type ClientChannel = 'shell' | 'control' | 'stdin' | 'iopub';

export interface InputRequest {
  prompt: string;
  password: boolean;
}

export interface ExecuteOptions {
  silent?: boolean;
  /** Default true. */
  storeHistory?: boolean;
  userExpressions?: Record<string, string>;
  /** Default true: a failing cell aborts the cells queued after it. */
  stopOnError?: boolean;
  /** Answers the kernel's `input_request`s. Without it, `allow_stdin` is false. */
  onInput?: (request: InputRequest) => string | Promise<string>;
  /** Each iopub message of this execution, as it arrives (for printing while a cell runs). */
  onIopub?: (message: JupyterMessage) => void;
  /** Reject with `TIMEOUT` when reply and idle have not both arrived by then. Default: no limit. */
  timeoutMs?: number;
}

export interface ExecuteResult {
  /** The execute_reply. */
  reply: JupyterMessage;
  /** Every iopub message whose parent is the request, from `busy` to `idle`, in arrival order. */
  messages: JupyterMessage[];
}

export interface RequestOptions {
  metadata?: JsonObject;
  timeoutMs?: number;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface KernelProcess {
  readonly pid: number;
  /** Resolves when this process exits (after a restart, `KernelClient.process` is a new one). */
  readonly exited: Promise<ProcessExit>;
  /** The last few kilobytes the kernel wrote to stderr, for error reports. */
  stderrTail(): string;
}

export interface KernelClient {
  readonly connection: ConnectionInfo;
  /** The connection file written for a started kernel (removed by `close`). */
  readonly connectionFile: string | undefined;
  /** The content of the kernel_info_reply that made the client ready. */
  readonly kernelInfo: JsonObject;
  /** The kernel process, when this client started it. */
  readonly process: KernelProcess | undefined;
  /** Sends a request and resolves with its reply (iopub messages about it go to listeners). */
  request(channel: RequestChannel, msgType: RequestType | `${string}_request`, content?: object, options?: RequestOptions): Promise<JupyterMessage>;
  /** Runs code; resolves once the reply and the `idle` of this request have both arrived. */
  execute(code: string, options?: ExecuteOptions): Promise<ExecuteResult>;
  /** Every iopub message, whoever caused it. Returns the unsubscribe function. */
  onIopub(listener: (message: JupyterMessage) => void): () => void;
  /** Every verified message on any channel (tests watch for answers that must not come). */
  onMessage(listener: (channel: ClientChannel, message: JupyterMessage) => void): () => void;
  /** SIGINT to the process (`interrupt_mode: signal`, the default) or an `interrupt_request`. */
  interrupt(): Promise<void>;
  /**
   * `shutdown_request` on control. A started kernel must then exit; after `shutdownTimeoutMs` it
   * is killed. With `restart`, a started kernel is started again on the same connection file
   * and the client stays usable; otherwise the client is closed.
   */
  shutdown(options?: { restart?: boolean }): Promise<void>;
  /** Whether the heartbeat socket echoes a ping within `timeoutMs` (default 1000). */
  heartbeat(timeoutMs?: number): Promise<boolean>;
  /** Sends frames exactly as given (tests of unsigned and forged messages). */
  sendRaw(channel: RequestChannel | 'stdin', frames: Buffer[]): Promise<void>;
  /** Signs and encodes a message as this client would send it (for tests that tamper with it). */
  encode(message: JupyterMessage<object>): Buffer[];
  /** The origin (session, username) of this client's messages, for building messages by hand. */
  readonly origin: MessageOrigin;
  /** Closes the sockets; kills the kernel process if this client started it and it still runs. */
  close(): Promise<void>;
}

export interface ConnectOptions {
  logger?: Logger;
  /** Default: a new UUID. It is also the ZeroMQ identity of the shell and stdin sockets. */
  session?: string;
  username?: string;
  /** How long to wait for kernel_info_reply plus an iopub message. Default 60 s. */
  readyTimeoutMs?: number;
}

export interface StartKernelOptions extends ConnectOptions {
  /** The kernelspec's argv; `{connection_file}` is replaced by the path of the file written. */
  argv: string[];
  cwd?: string;
  /** Default `process.env`. `JPY_PARENT_PID` is set so the kernel can exit when we die. */
  env?: NodeJS.ProcessEnv;
  /** The kernelspec's `interrupt_mode`. Default `signal`, as in the kernelspec spec. */
  interruptMode?: 'signal' | 'message';
  /** After a shutdown reply, how long the process may take to exit before it is killed. Default 5 s. */
  shutdownTimeoutMs?: number;
  /** Where the kernel's stdout/stderr go besides the kept tail. Default: ours (`inherit`). */
  output?: 'inherit' | 'ignore' | ((stream: 'stdout' | 'stderr', text: string) => void);
  connectionFile?: WriteConnectionFileOptions;
}

const DEFAULT_READY_TIMEOUT_MS = 60_000;
const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5_000;
const STDERR_TAIL_BYTES = 8192;
/** How many times a kernel is started, each time with new ports, while it finds a port taken. */
const PORT_TAKEN_ATTEMPTS = 5;
/** After a kernel_info_reply, how long iopub may take to show it is connected before we ask again. */
const IOPUB_FIRST_PROBE_MS = 50;
const IOPUB_LAST_PROBE_MS = 1000;

/** Connects to a kernel that is already running (or serving in this process). */
export async function connectToKernel(connection: ConnectionInfo, options: ConnectOptions = {}): Promise<KernelClient> {
  const client = new Client(connection, options, undefined);
  try {
    await client.waitUntilReady(options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  } catch (error) {
    await client.close();
    throw error;
  }
  return client;
}

/**
 * Writes a connection file, starts the kernel process and connects to it once it answers. A
 * kernel that finds one of its ports taken (another process took it between our choosing it and
 * the kernel binding it) is started again with new ports.
 */
export async function startKernel(options: StartKernelOptions): Promise<KernelClient> {
  if (!options.argv.some((arg) => arg.includes('{connection_file}'))) {
    throw new WireError('KERNEL_START_FAILED', `the kernel command line must contain {connection_file}: ${options.argv.join(' ')}`);
  }
  for (let attempt = 1; ; attempt++) {
    const { path, connection } = await writeConnectionFile(options.connectionFile);
    const ownsDirectory = options.connectionFile?.directory === undefined;
    const launcher = new Launcher(options, path, ownsDirectory ? dirname(path) : undefined);
    const client = new Client(connection, options, launcher);
    try {
      launcher.start();
      await client.waitUntilReady(options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
      return client;
    } catch (error) {
      await client.close();
      const portTaken = launcher.current?.exitCode === ADDRESS_IN_USE_EXIT_CODE;
      if (!portTaken || attempt === PORT_TAKEN_ATTEMPTS) throw error;
      (options.logger ?? silentLogger).warn('a port of the kernel was taken before it could bind it; starting it with new ports', {
        attempt,
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The process side

/** Starts (and restarts) the kernel process, keeps its stderr tail, kills it when asked. */
class Launcher {
  current: SpawnedKernel | undefined;
  /** Told when a process exits, whoever caused it. */
  onExit: ((kernel: SpawnedKernel) => void) | undefined;

  constructor(
    readonly options: StartKernelOptions,
    readonly connectionFile: string,
    /** The temporary directory we made for the connection file, removed on close. */
    private readonly ownedDirectory: string | undefined,
  ) {}

  start(): SpawnedKernel {
    const [command, ...args] = this.options.argv.map((arg) => arg.replaceAll('{connection_file}', this.connectionFile));
    const env = { ...(this.options.env ?? process.env), JPY_PARENT_PID: String(process.pid) };
    const child = spawn(command, args, { cwd: this.options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const kernel = new SpawnedKernel(child, this.options.output ?? 'inherit', this.options.argv.join(' '));
    this.current = kernel;
    void kernel.exited.then(() => this.onExit?.(kernel));
    return kernel;
  }

  async stop(gracefulMs: number): Promise<void> {
    const kernel = this.current;
    if (!kernel) return;
    await kernel.stop(gracefulMs);
  }

  /** Kills the process if it still runs; removes the connection file (and our directory). */
  async dispose(): Promise<void> {
    await this.stop(0);
    await rm(this.ownedDirectory ?? this.connectionFile, { recursive: true, force: true });
  }
}

class SpawnedKernel implements KernelProcess {
  readonly pid: number;
  readonly exited: Promise<ProcessExit>;
  private tail = '';
  private exit: ProcessExit | undefined;
  /** Set when spawning itself failed (command not found). */
  spawnError: Error | undefined;

  constructor(
    private readonly child: ChildProcess,
    output: StartKernelOptions['output'] & {},
    private readonly commandLine: string,
  ) {
    this.pid = child.pid ?? -1;
    this.exited = new Promise<ProcessExit>((resolve) => {
      child.once('error', (error) => {
        this.spawnError = error;
        // 'exit' does not follow a failed spawn.
        if (child.pid === undefined) {
          this.exit = { code: null, signal: null };
          resolve(this.exit);
        }
      });
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream]?.setEncoding('utf8');
      child[stream]?.on('data', (text: string) => {
        if (stream === 'stderr') this.tail = (this.tail + text).slice(-STDERR_TAIL_BYTES);
        if (output === 'inherit') process[stream].write(text);
        else if (typeof output === 'function') output(stream, text);
      });
    }
  }

  get hasExited(): boolean {
    return this.exit !== undefined;
  }

  /** The exit code, once the process has exited by itself (null when a signal ended it). */
  get exitCode(): number | null | undefined {
    return this.exit?.code;
  }

  stderrTail(): string {
    return this.tail;
  }

  /** Why the process is gone, for error messages: exit status, then what it last wrote. */
  describeExit(): string {
    if (this.spawnError) return `could not start \`${this.commandLine}\`: ${this.spawnError.message}`;
    const status = this.exit?.signal ? `was killed by ${this.exit.signal}` : `exited with code ${this.exit?.code}`;
    const tail = this.tail.trim();
    return `the kernel process ${status}${tail ? `; its last output:\n${tail}` : ''}`;
  }

  /** Waits up to `gracefulMs` for the process to exit by itself, then kills it. */
  async stop(gracefulMs: number): Promise<void> {
    if (this.hasExited) return;
    if ((await withTimeout(this.exited, gracefulMs)) === TIMED_OUT) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.hasExited) this.child.kill(signal);
  }
}

// ---------------------------------------------------------------------------------------------
// The client

interface Tracked {
  /** Executions finish on reply + idle; other requests on the reply alone. */
  untilIdle: boolean;
  reply: JupyterMessage | undefined;
  idle: boolean;
  messages: JupyterMessage[];
  onIopub: ((message: JupyterMessage) => void) | undefined;
  onInput: ((request: InputRequest) => string | Promise<string>) | undefined;
  resolve(result: ExecuteResult): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout | undefined;
}

type ListenerSet<T extends unknown[]> = Set<(...args: T) => void>;

class Client implements KernelClient {
  readonly origin: MessageOrigin;
  kernelInfo: JsonObject = {};
  private readonly signer: Signer;
  private readonly log: Logger;
  private readonly sockets: { shell: zmq.Dealer; control: zmq.Dealer; stdin: zmq.Dealer; iopub: zmq.Subscriber };
  private readonly queues: Record<RequestChannel | 'stdin', SendQueue>;
  private readonly tracked = new Map<string, Tracked>();
  private readonly iopubListeners: ListenerSet<[JupyterMessage]> = new Set();
  private readonly messageListeners: ListenerSet<[ClientChannel, JupyterMessage]> = new Set();
  private readonly loops: Promise<void>[];
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Set while we expect the process to exit (shutdown, restart, close). */
  private expectingExit = false;

  constructor(
    readonly connection: ConnectionInfo,
    options: ConnectOptions,
    private readonly launcher: Launcher | undefined,
  ) {
    this.log = (options.logger ?? silentLogger).child({ component: 'client' });
    this.signer = createSigner(connection.key);
    this.origin = { session: options.session ?? randomUUID(), username: options.username ?? 'lakebase-kernel-client' };
    this.sockets = {
      shell: new zmq.Dealer({ routingId: this.origin.session, linger: 0 }),
      control: new zmq.Dealer({ linger: 0 }),
      stdin: new zmq.Dealer({ routingId: this.origin.session, linger: 0 }),
      iopub: new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 0 }),
    };
    for (const channel of ['shell', 'control', 'stdin', 'iopub'] as const) {
      const socket = this.sockets[channel];
      if (connection.transport === 'tcp' && connection.ip.includes(':')) socket.ipv6 = true;
      socket.connect(endpointOf(connection, channel, 'connect'));
    }
    this.sockets.iopub.subscribe();
    this.queues = {
      shell: new SendQueue(this.sockets.shell),
      control: new SendQueue(this.sockets.control),
      stdin: new SendQueue(this.sockets.stdin),
    };
    this.loops = (['shell', 'control', 'stdin', 'iopub'] as const).map((channel) => this.receiveLoop(channel));
    if (launcher) launcher.onExit = (kernel) => this.processExited(kernel);
  }

  get process(): KernelProcess | undefined {
    return this.launcher?.current;
  }

  get connectionFile(): string | undefined {
    return this.launcher?.connectionFile;
  }

  /**
   * jupyter_client's `wait_for_ready`: kernel_info until one is answered and iopub has shown a
   * message about any of them. The first probe is short (a subscription usually lands within
   * milliseconds, and start-up time is what users wait for), later ones back off.
   */
  async waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const asked = new Set<string>();
    let iopubConnected = false;
    let wake: (() => void) | undefined;
    const stopWatching = this.onIopub((message) => {
      const parent = parentIdOf(message);
      if (parent !== undefined && asked.has(parent)) {
        iopubConnected = true;
        wake?.();
      }
    });
    try {
      for (let probeMs = IOPUB_FIRST_PROBE_MS; ; probeMs = Math.min(probeMs * 2, IOPUB_LAST_PROBE_MS)) {
        const { id, done } = this.send('shell', 'kernel_info_request', {}, { timeoutMs: deadline - Date.now() }, false);
        asked.add(id);
        // A kernel that dies while starting must fail the start at once, with what it said.
        const reply = await this.raceProcessExit(done);
        this.kernelInfo = reply.reply.content;
        if (!iopubConnected) {
          await withTimeout(new Promise<void>((resolve) => (wake = resolve)), Math.min(probeMs, deadline - Date.now()));
          wake = undefined;
        }
        if (iopubConnected) return;
        if (Date.now() >= deadline) {
          throw new WireError('TIMEOUT', `the kernel answered kernel_info but published nothing on iopub within ${timeoutMs} ms`);
        }
        this.log.debug('iopub not connected yet; asking again');
      }
    } finally {
      stopWatching();
    }
  }

  request(
    channel: RequestChannel,
    msgType: RequestType | `${string}_request`,
    content: object = {},
    options: RequestOptions = {},
  ): Promise<JupyterMessage> {
    return this.send(channel, msgType, content, options, false).done.then((result) => result.reply);
  }

  execute(code: string, options: ExecuteOptions = {}): Promise<ExecuteResult> {
    const content = {
      code,
      silent: options.silent ?? false,
      store_history: options.storeHistory ?? true,
      user_expressions: options.userExpressions ?? {},
      allow_stdin: options.onInput !== undefined,
      stop_on_error: options.stopOnError ?? true,
    };
    return this.send('shell', 'execute_request', content, { timeoutMs: options.timeoutMs }, true, options).done;
  }

  onIopub(listener: (message: JupyterMessage) => void): () => void {
    this.iopubListeners.add(listener);
    return () => this.iopubListeners.delete(listener);
  }

  onMessage(listener: (channel: ClientChannel, message: JupyterMessage) => void): () => void {
    this.messageListeners.add(listener);
    return () => this.messageListeners.delete(listener);
  }

  async interrupt(): Promise<void> {
    const kernel = this.launcher?.current;
    if (kernel && (this.launcher?.options.interruptMode ?? 'signal') === 'signal') {
      kernel.signal('SIGINT');
      return;
    }
    await this.request('control', 'interrupt_request');
  }

  async shutdown(options: { restart?: boolean } = {}): Promise<void> {
    const restart = options.restart ?? false;
    const launcher = this.launcher;
    this.expectingExit = true;
    try {
      const shutdownTimeoutMs = launcher?.options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
      try {
        await this.raceProcessExit(
          this.send('control', 'shutdown_request', { restart }, { timeoutMs: shutdownTimeoutMs }, false).done,
        );
      } catch (error) {
        // No reply (the kernel hung, or exited without answering): it is stopped below anyway.
        this.log.warn('no shutdown_reply', { error });
      }
      if (!launcher) {
        if (!restart) await this.close();
        return;
      }
      await launcher.stop(shutdownTimeoutMs);
      if (!restart) {
        await this.close();
        return;
      }
      this.failPending(new WireError('KERNEL_DIED', 'the kernel restarted before answering'));
      launcher.start();
      await this.waitUntilReady(launcher.options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
    } finally {
      this.expectingExit = false;
    }
  }

  async heartbeat(timeoutMs = 1000): Promise<boolean> {
    // A fresh REQ per ping: a REQ that missed its answer cannot send again.
    const socket = new zmq.Request({ linger: 0, receiveTimeout: timeoutMs, sendTimeout: timeoutMs });
    try {
      socket.connect(endpointOf(this.connection, 'hb', 'connect'));
      const ping = Buffer.from(randomUUID());
      await socket.send(ping);
      const [echo] = await socket.receive();
      return echo !== undefined && echo.equals(ping);
    } catch (error) {
      if ((error as { code?: string }).code === 'EAGAIN') return false;
      throw error;
    } finally {
      socket.close();
    }
  }

  sendRaw(channel: RequestChannel | 'stdin', frames: Buffer[]): Promise<void> {
    return this.queues[channel].push(frames);
  }

  encode(message: JupyterMessage<object>): Buffer[] {
    return encodeMessage(message, this.signer);
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    this.expectingExit = true;
    this.failPending(new WireError('WIRE_CLOSED', 'the client was closed before the kernel answered'));
    for (const socket of Object.values(this.sockets)) socket.close();
    await Promise.all(this.loops);
    await this.launcher?.dispose();
  }

  /**
   * Sends a request and tracks it until its reply (and, for executions, its idle) arrived.
   * Returns the msg_id at once, so callers can match iopub messages before the reply.
   */
  private send(
    channel: RequestChannel,
    msgType: RequestType | `${string}_request`,
    content: object,
    options: RequestOptions,
    untilIdle: boolean,
    execute: ExecuteOptions = {},
  ): { id: string; done: Promise<ExecuteResult> } {
    const message = createMessage(this.origin, null, msgType, content, { metadata: options.metadata });
    const id = message.header.msg_id;
    if (this.closed) return { id, done: Promise.reject(new WireError('WIRE_CLOSED', `cannot send ${msgType}: the client is closed`)) };
    const done = new Promise<ExecuteResult>((resolve, reject) => {
      const tracked: Tracked = {
        untilIdle,
        reply: undefined,
        idle: false,
        messages: [],
        onIopub: execute.onIopub,
        onInput: execute.onInput,
        resolve,
        reject,
        timer: undefined,
      };
      if (options.timeoutMs !== undefined) {
        tracked.timer = setTimeout(() => {
          this.tracked.delete(id);
          reject(new WireError('TIMEOUT', `no ${untilIdle ? 'reply and idle' : 'reply'} to ${msgType} within ${options.timeoutMs} ms`));
        }, Math.max(0, options.timeoutMs));
      }
      this.tracked.set(id, tracked);
    });
    this.queues[channel].push(encodeMessage(message, this.signer)).catch((error: unknown) => {
      const tracked = this.tracked.get(id);
      if (!tracked) return;
      this.tracked.delete(id);
      clearTimeout(tracked.timer);
      tracked.reject(new WireError('SOCKET_FAILED', `could not send ${msgType}: ${(error as Error).message}`, { cause: error }));
    });
    return { id, done };
  }

  /** `work`, unless the kernel process exits first: then a KERNEL_START_FAILED saying why. */
  private raceProcessExit<T>(work: Promise<T>): Promise<T> {
    const kernel = this.launcher?.current;
    if (!kernel) return work;
    return new Promise<T>((resolve, reject) => {
      work.then(resolve, reject);
      void kernel.exited.then(() => reject(new WireError('KERNEL_START_FAILED', kernel.describeExit())));
    });
  }

  private async receiveLoop(channel: ClientChannel): Promise<void> {
    const socket = this.sockets[channel];
    try {
      for await (const frames of socket) {
        const decoded = decodeMessage(frames, this.signer);
        if (!decoded.ok) {
          this.log.warn('dropped a message that failed verification', { channel, reason: decoded.reason, detail: decoded.detail });
          continue;
        }
        this.dispatch(channel, decoded.message);
      }
    } catch (error) {
      if (!this.closed) this.log.error('receiving stopped', { channel, error });
    }
  }

  private dispatch(channel: ClientChannel, message: JupyterMessage): void {
    for (const listener of this.messageListeners) guard(this.log, () => listener(channel, message));
    const parentId = parentIdOf(message);
    const tracked = parentId === undefined ? undefined : this.tracked.get(parentId);
    switch (channel) {
      case 'iopub': {
        for (const listener of this.iopubListeners) guard(this.log, () => listener(message));
        if (!tracked) return;
        tracked.messages.push(message);
        if (tracked.onIopub) guard(this.log, () => tracked.onIopub?.(message));
        if (message.header.msg_type === 'status' && message.content.execution_state === 'idle') tracked.idle = true;
        break;
      }
      case 'shell':
      case 'control':
        if (!tracked) {
          this.log.debug('a reply nobody waits for', { channel, msg_type: message.header.msg_type });
          return;
        }
        tracked.reply = message;
        break;
      case 'stdin':
        this.answerInput(message, tracked).catch((error: unknown) => this.log.warn('could not answer input_request', { error }));
        return;
      default: {
        const unknown: never = channel;
        throw new Error(`unknown channel ${String(unknown)}`);
      }
    }
    if (tracked.reply && (!tracked.untilIdle || tracked.idle)) {
      this.tracked.delete(parentId as string);
      clearTimeout(tracked.timer);
      tracked.resolve({ reply: tracked.reply, messages: tracked.messages });
    }
  }

  private async answerInput(request: JupyterMessage, tracked: Tracked | undefined): Promise<void> {
    if (request.header.msg_type !== 'input_request') {
      this.log.warn('unexpected message on stdin', { msg_type: request.header.msg_type });
      return;
    }
    let value = '';
    if (tracked?.onInput) {
      try {
        value = await tracked.onInput({ prompt: String(request.content.prompt ?? ''), password: request.content.password === true });
      } catch (error) {
        this.log.warn('onInput failed; answering with an empty line', { error });
      }
    } else {
      // Answer anyway: a kernel waiting for input would otherwise wait forever.
      this.log.warn('the kernel asked for input but the request has no onInput; answering with an empty line', {
        parent_msg_id: parentIdOf(request),
      });
    }
    const reply = createMessage(this.origin, request, 'input_reply', { value });
    await this.queues.stdin.push(encodeMessage(reply, this.signer));
  }

  private failPending(error: Error): void {
    for (const [id, tracked] of this.tracked) {
      this.tracked.delete(id);
      clearTimeout(tracked.timer);
      tracked.reject(error);
    }
  }

  /** A kernel dying unasked fails everything waiting on it, with its exit status and last words. */
  private processExited(kernel: SpawnedKernel): void {
    if (this.expectingExit || this.closed || kernel !== this.launcher?.current) return;
    this.log.warn('the kernel process exited', { pid: kernel.pid });
    this.failPending(new WireError('KERNEL_DIED', kernel.describeExit()));
  }
}

/** Dealer sends can wait (no peer yet, or a full queue); zeromq allows one waiting send per socket. */
class SendQueue {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly socket: zmq.Dealer) {}

  push(frames: Buffer[]): Promise<void> {
    const next = this.tail.then(() => (this.socket.closed ? undefined : this.socket.send(frames)));
    // A failed send must not block the ones after it; the caller of this one sees the failure.
    this.tail = next.catch(() => undefined);
    return next;
  }
}

function guard(log: Logger, call: () => void): void {
  try {
    call();
  } catch (error) {
    log.error('a message listener threw', { error });
  }
}

const TIMED_OUT = Symbol('timed out');

/** `promise`'s value, or TIMED_OUT after `ms`; the timer never outlives the race (it would hold the process). */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms), TIMED_OUT)))]);
  } finally {
    clearTimeout(timer);
  }
}
