// Jupyter messages as the wire sees them: an envelope (identities, header, parent header, metadata,
// buffers) around a content this layer does not interpret. Messaging protocol 5.3:
// https://jupyter-client.readthedocs.io/en/stable/messaging.html
//
// Every outgoing message, on the kernel side and the client side, is made by `createMessage`, so
// that ids, session, date, version and the parent link are filled in one place (Deno's
// `reply.as_child_of(request)`), never by hand at each call site.
import { randomUUID } from 'node:crypto';

export const PROTOCOL_VERSION = '5.3';

export type JsonObject = Record<string, unknown>;

export interface MessageHeader {
  msg_id: string;
  session: string;
  username: string;
  /** ISO 8601 with a time zone. */
  date: string;
  msg_type: string;
  /** Protocol version of the sender. */
  version: string;
}

export interface JupyterMessage<Content extends object = JsonObject> {
  /**
   * ZeroMQ routing prefix: on a ROUTER, who sent the request (and so where its replies go); on
   * iopub, the topic. Empty for messages a DEALER sends.
   */
  identities: Buffer[];
  header: MessageHeader;
  /** The header of the message this one answers or was caused by; `{}` for none. */
  parent_header: Partial<MessageHeader>;
  metadata: JsonObject;
  content: Content;
  /** Binary frames after the content (widgets, comms), passed through untouched. */
  buffers: Buffer[];
}

// ---------------------------------------------------------------------------------------------
// Message types (the spec's lists; messages of other types still travel, see `isRequestType`)

export type ShellRequestType =
  | 'execute_request'
  | 'inspect_request'
  | 'complete_request'
  | 'history_request'
  | 'is_complete_request'
  | 'comm_info_request'
  | 'kernel_info_request';

export type ControlRequestType =
  | 'kernel_info_request'
  | 'interrupt_request'
  | 'shutdown_request'
  | 'debug_request'
  | 'usage_request';

/** Comm messages travel on shell from the client and on iopub from the kernel; they get no reply. */
export type CommMessageType = 'comm_open' | 'comm_msg' | 'comm_close';

export type RequestType = ShellRequestType | ControlRequestType;

export type ReplyType =
  | 'execute_reply'
  | 'inspect_reply'
  | 'complete_reply'
  | 'history_reply'
  | 'is_complete_reply'
  | 'comm_info_reply'
  | 'kernel_info_reply'
  | 'interrupt_reply'
  | 'shutdown_reply'
  | 'debug_reply'
  | 'usage_reply';

export type IopubMessageType =
  | 'status'
  | 'stream'
  | 'display_data'
  | 'update_display_data'
  | 'execute_input'
  | 'execute_result'
  | 'error'
  | 'clear_output'
  | 'debug_event'
  | CommMessageType
  /** ipykernel also broadcasts its shutdown_reply, so that every client learns of a shutdown. */
  | 'shutdown_reply';

export type StdinMessageType = 'input_request' | 'input_reply';

/**
 * Anything a kernel or a client may send. The template types admit request/reply pairs the spec
 * may add later (and the replies to them) without admitting typos like `execute_rpely`.
 */
export type MessageType =
  | RequestType
  | ReplyType
  | IopubMessageType
  | StdinMessageType
  | CommMessageType
  | `${string}_request`
  | `${string}_reply`;

const REQUEST_TYPES: ReadonlySet<string> = new Set<RequestType>([
  'execute_request',
  'inspect_request',
  'complete_request',
  'history_request',
  'is_complete_request',
  'comm_info_request',
  'kernel_info_request',
  'interrupt_request',
  'shutdown_request',
  'debug_request',
  'usage_request',
]);

/** Narrows an incoming `msg_type` (any string off the network) to the request types of the spec. */
export function isRequestType(msgType: string): msgType is RequestType {
  return REQUEST_TYPES.has(msgType);
}

/**
 * The reply type that belongs to a request: `x_request` → `x_reply` (the spec's naming rule),
 * `undefined` for messages that get no reply (comms). The wire refuses any other reply type.
 */
export function replyTypeFor(requestType: string): `${string}_reply` | undefined {
  return requestType.endsWith('_request') ? `${requestType.slice(0, -'_request'.length)}_reply` : undefined;
}

// ---------------------------------------------------------------------------------------------
// The one constructor

/** Who sends: the `session` and `username` fields of every header this side writes. */
export interface MessageOrigin {
  session: string;
  username: string;
}

export interface CreateMessageOptions {
  metadata?: JsonObject;
  buffers?: Buffer[];
}

/**
 * A new message, as the child of `parent` when there is one: new msg_id, our session and username,
 * the current date, our protocol version, and `parent_header` set to the parent's header. Its
 * identities are the parent's (so a reply is routed back to the requester); iopub replaces them
 * with a topic.
 */
export function createMessage<Content extends object>(
  origin: MessageOrigin,
  parent: JupyterMessage | null,
  msgType: MessageType,
  content: Content,
  options: CreateMessageOptions = {},
): JupyterMessage<Content> {
  return {
    identities: parent ? [...parent.identities] : [],
    header: {
      msg_id: randomUUID(),
      session: origin.session,
      username: origin.username,
      date: new Date().toISOString(),
      msg_type: msgType,
      version: PROTOCOL_VERSION,
    },
    parent_header: parent ? { ...parent.header } : {},
    metadata: options.metadata ?? {},
    content,
    buffers: options.buffers ?? [],
  };
}

/** The msg_id of the parent, when the message has one. */
export function parentIdOf(message: JupyterMessage<object>): string | undefined {
  const id = message.parent_header.msg_id;
  return typeof id === 'string' && id !== '' ? id : undefined;
}
