// The kernel's end of the Jupyter wire: five ZeroMQ sockets, signatures, and routing replies back
// to whoever asked. It knows envelopes, not meanings: every verified shell and control message is
// handed to the handler the moment it arrives, and the handler decides what it means, in what
// order to run it and what to answer (kernel/session.ts). Keeping the two apart is what lets the
// meaning be tested without sockets and the wire without a TypeScript compiler.
//
// Sockets (messaging spec, "Introduction"): shell, control and stdin are ROUTERs (each message
// carries the sender's identity, and replies go back to it), iopub is a PUB, heartbeat echoes, in
// a thread of its own so that a busy cell never silences it (heartbeat.ts).
import { userInfo } from 'node:os';
import { randomUUID } from 'node:crypto';
import * as zmq from 'zeromq';
import type { Logger } from '../log';
import { createSigner, decodeMessage, encodeMessage, type Signer } from './codec';
import { endpointOf, portOfEndpoint, type ConnectionInfo, type SocketChannel } from './connection-file';
import { WireError } from './errors';
import { startHeartbeat, type Heartbeat } from './heartbeat';
import {
  createMessage,
  parentIdOf,
  replyTypeFor,
  type IopubMessageType,
  type JsonObject,
  type JupyterMessage,
  type MessageOrigin,
  type ReplyType,
} from './messages';

/** The channels requests arrive on. */
export type Channel = 'shell' | 'control';

/** A verified message received on shell or control. */
export type KernelRequest = JupyterMessage;

/** The meaning side. */
export interface KernelWireHandler {
  /**
   * Called once per verified message, as soon as it arrives, not awaited: queueing execute
   * requests is the handler's job, and control must get through while shell work runs. A thrown
   * error or a rejected promise is logged and the wire goes on.
   */
  receive(channel: Channel, request: KernelRequest): void | Promise<unknown>;
}

export interface KernelWire {
  /** The connection as bound: ports given as 0 are replaced by the ones ZeroMQ chose. */
  readonly connection: ConnectionInfo;
  /** `session` and `username` of every message this kernel sends. */
  readonly origin: MessageOrigin;
  /**
   * Answers `request` on its own socket, to its sender. `msgType` must be the request's reply type
   * (`x_request` → `x_reply`); any other is a bug and throws `REPLY_TYPE_MISMATCH`.
   * Never rejects: a failed send is logged (the client is gone, or the wire closed).
   */
  reply(request: KernelRequest, msgType: ReplyType | `${string}_reply`, content: object, metadata?: JsonObject): Promise<void>;
  /** Broadcasts on iopub as a child of `parent` (null: no parent). Never rejects. */
  publish(
    parent: KernelRequest | null,
    msgType: IopubMessageType,
    content: object,
    metadata?: JsonObject,
    buffers?: Buffer[],
  ): Promise<void>;
  /**
   * Sends `input_request` over stdin to the client that sent `parent` (an execute_request) and
   * resolves with the `value` of its `input_reply`. Rejects with `INPUT_INTERRUPTED` when `signal`
   * aborts, `WIRE_CLOSED` when the wire closes first. Whether the client allows input
   * (`allow_stdin`) is the caller's question: it is part of the request's meaning.
   */
  requestInput(parent: KernelRequest, prompt: string, password: boolean, options?: { signal?: AbortSignal }): Promise<string>;
  /** Sends what is queued, closes the sockets, rejects pending input requests. Idempotent. */
  close(): Promise<void>;
}

export interface KernelWireOptions {
  /** Default: a new UUID per kernel process. */
  session?: string;
  /** Default: the OS user name. */
  username?: string;
  /**
   * How many recent signatures to remember: a message whose signature was already seen is a
   * replay and is dropped (jupyter_client keeps 2^16 for the same reason).
   */
  replayWindow?: number;
}

/** How long closing sockets may still flush queued messages (the last idle, the shutdown_reply). */
const LINGER_MS = 1000;

/**
 * Binds the five sockets of `connection` and starts delivering requests to `handler`.
 * `handler` may be a function of the wire, for handlers that need the wire to answer.
 */
export async function startKernelWire(
  connection: ConnectionInfo,
  handler: KernelWireHandler | ((wire: KernelWire) => KernelWireHandler),
  logger: Logger,
  options: KernelWireOptions = {},
): Promise<KernelWire> {
  const log = logger.child({ component: 'wire' });
  const signer = createSigner(connection.key);
  const origin: MessageOrigin = { session: options.session ?? randomUUID(), username: options.username ?? osUserName() };

  const sockets = {
    shell: new zmq.Router({ linger: LINGER_MS }),
    control: new zmq.Router({ linger: LINGER_MS }),
    stdin: new zmq.Router({ linger: LINGER_MS }),
    // Unlimited: a PUB drops messages beyond its high-water mark, and a dropped `idle` leaves a
    // client waiting forever. Memory grows only while a connected client reads slower than a cell prints.
    iopub: new zmq.Publisher({ linger: LINGER_MS, sendHighWaterMark: 0 }),
  };
  const ipv6 = connection.transport === 'tcp' && connection.ip.includes(':');
  const bound = { ...connection };
  const bindFailure = (channel: SocketChannel, endpoint: string, error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'ADDRESS_IN_USE' : 'SOCKET_FAILED';
    return new WireError(code, `cannot bind the ${channel} socket to ${endpoint}: ${(error as Error).message}`, { cause: error });
  };
  let heartbeat: Heartbeat | undefined;
  try {
    for (const channel of Object.keys(sockets) as (keyof Sockets)[]) {
      const socket = sockets[channel];
      if (ipv6) socket.ipv6 = true;
      const endpoint = endpointOf(connection, channel, 'bind');
      try {
        await socket.bind(endpoint);
      } catch (error) {
        throw bindFailure(channel, endpoint, error);
      }
      bound[`${channel}_port`] = portOfEndpoint(socket.lastEndpoint ?? endpoint);
    }
    const endpoint = endpointOf(connection, 'hb', 'bind');
    heartbeat = await startHeartbeat(endpoint, {
      ipv6,
      onFailure: (message) => log.error('heartbeat stopped', { error: message }),
    }).catch((error: unknown) => {
      throw bindFailure('hb', endpoint, error);
    });
    bound.hb_port = portOfEndpoint(heartbeat.endpoint);
  } catch (error) {
    for (const socket of Object.values(sockets)) socket.close();
    throw error;
  }

  const wire = new Wire(sockets, heartbeat, bound, origin, signer, log, options.replayWindow ?? 65536);
  wire.start(typeof handler === 'function' ? handler(wire) : handler);
  log.info('listening', {
    transport: bound.transport,
    ip: bound.ip,
    shell: bound.shell_port,
    control: bound.control_port,
    stdin: bound.stdin_port,
    iopub: bound.iopub_port,
    hb: bound.hb_port,
    signed: signer.signs,
  });
  return wire;
}

interface Sockets {
  shell: zmq.Router;
  control: zmq.Router;
  stdin: zmq.Router;
  iopub: zmq.Publisher;
}

interface PendingInput {
  resolve(value: string): void;
  reject(error: Error): void;
}

class Wire implements KernelWire {
  private closed = false;
  private closing: Promise<void> | undefined;
  private loops: Promise<void>[] = [];
  /** Which socket each delivered request came in on, for `reply`. */
  private readonly channelOf = new WeakMap<KernelRequest, Channel>();
  private readonly seenSignatures = new Set<string>();
  /** input_request msg_id → its waiter, in the order asked. */
  private readonly pendingInputs = new Map<string, PendingInput>();
  private readonly send: Record<'shell' | 'control' | 'stdin' | 'iopub', SendQueue>;

  constructor(
    private readonly sockets: Sockets,
    private readonly heartbeat: Heartbeat,
    readonly connection: ConnectionInfo,
    readonly origin: MessageOrigin,
    private readonly signer: Signer,
    private readonly log: Logger,
    private readonly replayWindow: number,
  ) {
    this.send = {
      shell: new SendQueue('shell', sockets.shell, log),
      control: new SendQueue('control', sockets.control, log),
      stdin: new SendQueue('stdin', sockets.stdin, log),
      iopub: new SendQueue('iopub', sockets.iopub, log),
    };
  }

  start(handler: KernelWireHandler): void {
    this.loops = [
      this.receiveLoop('shell', (message) => this.deliver(handler, 'shell', message)),
      this.receiveLoop('control', (message) => this.deliver(handler, 'control', message)),
      this.receiveLoop('stdin', (message) => this.answerInput(message)),
    ];
  }

  reply(request: KernelRequest, msgType: ReplyType | `${string}_reply`, content: object, metadata: JsonObject = {}): Promise<void> {
    const channel = this.channelOf.get(request);
    if (channel === undefined) {
      throw new WireError('UNKNOWN_REQUEST', `reply(${msgType}) was given a message this wire did not receive`);
    }
    const expected = replyTypeFor(request.header.msg_type);
    if (msgType !== expected) {
      // The bug that made tslab answer comm_info_request with a complete_reply: refuse it here.
      throw new WireError(
        'REPLY_TYPE_MISMATCH',
        `${request.header.msg_type} cannot be answered with ${msgType}${expected ? `; its reply is ${expected}` : '; it takes no reply'}`,
      );
    }
    const message = createMessage(this.origin, request, msgType, content, { metadata });
    return this.send[channel].push(encodeMessage(message, this.signer), message);
  }

  publish(
    parent: KernelRequest | null,
    msgType: IopubMessageType,
    content: object,
    metadata: JsonObject = {},
    buffers: Buffer[] = [],
  ): Promise<void> {
    const message = createMessage(this.origin, parent, msgType, content, { metadata, buffers });
    // Subscribers take every topic; ipykernel's form of it, for tools that filter.
    message.identities = [Buffer.from(`kernel.${this.origin.session}.${msgType}`)];
    return this.send.iopub.push(encodeMessage(message, this.signer), message);
  }

  requestInput(parent: KernelRequest, prompt: string, password: boolean, options: { signal?: AbortSignal } = {}): Promise<string> {
    if (this.closed) return Promise.reject(new WireError('WIRE_CLOSED', 'the kernel is shutting down; no input can be asked for'));
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(interrupted(signal));
    const message = createMessage(this.origin, parent, 'input_request', { prompt, password });
    const id = message.header.msg_id;
    return new Promise<string>((resolve, reject) => {
      const onAbort = () => {
        this.pendingInputs.delete(id);
        reject(interrupted(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pendingInputs.set(id, {
        resolve: (value) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(value);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
      void this.send.stdin.push(encodeMessage(message, this.signer), message);
    });
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    for (const [id, pending] of this.pendingInputs) {
      this.pendingInputs.delete(id);
      pending.reject(new WireError('WIRE_CLOSED', 'the kernel shut down while waiting for input'));
    }
    // Let replies and broadcasts already handed to us go out first (the shutdown_reply, the last idle).
    await Promise.all(Object.values(this.send).map((queue) => queue.drained()));
    for (const socket of Object.values(this.sockets)) socket.close();
    await Promise.all([...this.loops, this.heartbeat.close()]);
    this.log.info('closed');
  }

  private async receiveLoop(channel: 'shell' | 'control' | 'stdin', onMessage: (message: JupyterMessage) => void): Promise<void> {
    const socket = this.sockets[channel];
    try {
      for await (const frames of socket) {
        const decoded = decodeMessage(frames, this.signer);
        if (!decoded.ok) {
          // Never answered: an answer would tell a forger which guesses get through.
          this.log.warn('dropped a message that failed verification', {
            channel,
            reason: decoded.reason,
            detail: decoded.detail,
            frames: frames.length,
          });
          continue;
        }
        if (this.isReplay(decoded.signature)) {
          this.log.warn('dropped a replayed message', { channel, msg_type: decoded.message.header.msg_type });
          continue;
        }
        this.log.debug('received', { channel, msg_type: decoded.message.header.msg_type, msg_id: decoded.message.header.msg_id });
        onMessage(decoded.message);
      }
    } catch (error) {
      if (!this.closed) this.log.error('receiving stopped', { channel, error });
    }
  }

  private isReplay(signature: string): boolean {
    if (!this.signer.signs) return false;
    if (this.seenSignatures.has(signature)) return true;
    this.seenSignatures.add(signature);
    if (this.seenSignatures.size > this.replayWindow) {
      // Sets iterate in insertion order: the first is the oldest.
      this.seenSignatures.delete(this.seenSignatures.values().next().value as string);
    }
    return false;
  }

  private deliver(handler: KernelWireHandler, channel: Channel, request: KernelRequest): void {
    this.channelOf.set(request, channel);
    const fail = (error: unknown) =>
      this.log.error('handler failed', { channel, msg_type: request.header.msg_type, msg_id: request.header.msg_id, error });
    try {
      Promise.resolve(handler.receive(channel, request)).catch(fail);
    } catch (error) {
      fail(error);
    }
  }

  private answerInput(message: JupyterMessage): void {
    if (message.header.msg_type !== 'input_reply') {
      this.log.warn('dropped an unexpected message on stdin', { msg_type: message.header.msg_type });
      return;
    }
    // JupyterLab parents its input_reply to our input_request; jupyter_client's `input()` sends
    // none. Without a parent, the oldest question gets the answer (ipykernel waits for one at a time).
    const parentId = parentIdOf(message);
    const id = parentId !== undefined && this.pendingInputs.has(parentId) ? parentId : this.pendingInputs.keys().next().value;
    const pending = id === undefined ? undefined : this.pendingInputs.get(id);
    if (id === undefined || pending === undefined) {
      this.log.warn('dropped an input_reply nobody waits for', { parent_msg_id: parentId });
      return;
    }
    this.pendingInputs.delete(id);
    const value = message.content.value;
    pending.resolve(typeof value === 'string' ? value : String(value ?? ''));
  }
}

/**
 * zeromq v6 allows one send in flight per socket (a second one fails with EBUSY): sends are chained
 * in call order. A failed send is logged, not thrown: callers (`void wire.publish(...)`) have no
 * better answer to a vanished client than the log has.
 */
class SendQueue {
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly channel: SocketChannel,
    private readonly socket: zmq.Router | zmq.Publisher,
    private readonly log: Logger,
  ) {}

  push(frames: Buffer[], message: JupyterMessage<object>): Promise<void> {
    this.tail = this.tail.then(() => this.sendNow(frames, message));
    return this.tail;
  }

  /** Resolves once everything pushed so far has been handed to ZeroMQ. */
  drained(): Promise<void> {
    return this.tail;
  }

  private async sendNow(frames: Buffer[], message: JupyterMessage<object>): Promise<void> {
    const fields = { channel: this.channel, msg_type: message.header.msg_type, msg_id: message.header.msg_id };
    if (this.socket.closed) {
      this.log.debug('not sent: the wire is closed', fields);
      return;
    }
    try {
      await this.socket.send(frames);
      this.log.debug('sent', { ...fields, parent_msg_id: parentIdOf(message) });
    } catch (error) {
      this.log.warn('send failed', { ...fields, error });
    }
  }
}

function interrupted(signal: AbortSignal | undefined): WireError {
  return new WireError('INPUT_INTERRUPTED', 'interrupted while waiting for input', { cause: signal?.reason });
}

function osUserName(): string {
  try {
    return userInfo().username;
  } catch (error) {
    // Containers may run under a uid with no passwd entry; the name is informational only.
    return process.env.USER ?? 'kernel';
  }
}
