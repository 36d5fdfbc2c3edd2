// The multipart frames of a Jupyter message and their signature.
// https://jupyter-client.readthedocs.io/en/stable/messaging.html#the-wire-protocol
//
//   [identity, ...] '<IDS|MSG>' signature header parent_header metadata content [buffer, ...]
//
// The signature is the hex HMAC-SHA256 of the four JSON frames, keyed with the connection file's
// key; an empty key means messages are neither signed nor checked. Decoding never throws: bytes
// from the network are untrusted, so a bad message is a typed rejection the caller logs and drops.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { JsonObject, JupyterMessage, MessageHeader } from './messages';

export const DELIMITER = Buffer.from('<IDS|MSG>');

/** Signs and checks the four JSON frames of a message. */
export interface Signer {
  /** False for an empty key: nothing is signed and any signature is accepted. */
  readonly signs: boolean;
  /** The hex signature of the frames (`''` when not signing). */
  sign(frames: readonly Buffer[]): string;
  /** Constant-time check of a received signature frame. */
  verify(signature: Buffer, frames: readonly Buffer[]): boolean;
}

/** `scheme` is checked by the connection file; only HMAC-SHA256 is implemented. */
export function createSigner(key: string): Signer {
  const keyBytes = Buffer.from(key, 'utf8');
  const digest = (frames: readonly Buffer[]) => {
    const hmac = createHmac('sha256', keyBytes);
    for (const frame of frames) hmac.update(frame);
    return hmac.digest();
  };
  if (keyBytes.length === 0) {
    return { signs: false, sign: () => '', verify: () => true };
  }
  return {
    signs: true,
    sign: (frames) => digest(frames).toString('hex'),
    verify(signature, frames) {
      // Compare bytes, not hex text, in constant time. A signature that is not 64 hex digits is
      // refused before comparing: its length is no secret, the key is.
      if (signature.length !== 64 || !/^[0-9a-f]{64}$/.test(signature.toString('latin1'))) return false;
      return timingSafeEqual(Buffer.from(signature.toString('latin1'), 'hex'), digest(frames));
    },
  };
}

export function encodeMessage(message: JupyterMessage<object>, signer: Signer): Buffer[] {
  const frames = [
    Buffer.from(JSON.stringify(message.header)),
    Buffer.from(JSON.stringify(message.parent_header)),
    Buffer.from(JSON.stringify(message.metadata)),
    Buffer.from(JSON.stringify(message.content)),
  ];
  return [...message.identities, DELIMITER, Buffer.from(signer.sign(frames)), ...frames, ...message.buffers];
}

export type RejectReason =
  /** No `<IDS|MSG>` frame: not a Jupyter message at all. */
  | 'missing_delimiter'
  /** Fewer than the five frames after the delimiter. */
  | 'missing_frames'
  /** Empty signature while the session has a key. */
  | 'unsigned'
  /** The signature does not match the frames under our key. */
  | 'bad_signature'
  /** A JSON frame does not parse or is not an object. */
  | 'malformed_json'
  /** The header lacks `msg_id`/`msg_type` or has fields of the wrong type. */
  | 'malformed_header';

export type DecodeResult =
  | { ok: true; message: JupyterMessage; /** hex signature as received, for replay checks */ signature: string }
  | {
      ok: false;
      reason: RejectReason;
      /** What exactly was wrong, never including frame contents. */
      detail: string;
      /** Whoever sent it, as far as ZeroMQ tells. */
      identities: Buffer[];
    };

export function decodeMessage(frames: readonly Buffer[], signer: Signer): DecodeResult {
  const delimiterAt = frames.findIndex((frame) => frame.equals(DELIMITER));
  const identities = delimiterAt === -1 ? [] : frames.slice(0, delimiterAt);
  const reject = (reason: RejectReason, detail: string): DecodeResult => ({ ok: false, reason, detail, identities });
  if (delimiterAt === -1) return reject('missing_delimiter', `no <IDS|MSG> frame among ${frames.length} frames`);
  const [signature, ...rest] = frames.slice(delimiterAt + 1);
  if (signature === undefined || rest.length < 4) {
    return reject('missing_frames', `${frames.length - delimiterAt - 1} frames after <IDS|MSG>, expected at least 5`);
  }
  const jsonFrames = rest.slice(0, 4);
  if (signer.signs) {
    if (signature.length === 0) return reject('unsigned', 'the signature frame is empty');
    if (!signer.verify(signature, jsonFrames)) return reject('bad_signature', 'the signature does not match the message');
  }

  const parsed: JsonObject[] = [];
  const names = ['header', 'parent_header', 'metadata', 'content'];
  for (const [i, frame] of jsonFrames.entries()) {
    let value: unknown;
    try {
      value = JSON.parse(frame.toString('utf8'));
    } catch {
      return reject('malformed_json', `the ${names[i]} frame is not JSON`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return reject('malformed_json', `the ${names[i]} frame is not a JSON object`);
    }
    parsed.push(value as JsonObject);
  }
  const [rawHeader, parentHeader, metadata, content] = parsed;
  const header = validateHeader(rawHeader);
  if (typeof header === 'string') return reject('malformed_header', header);
  return {
    ok: true,
    signature: signature.toString('latin1'),
    message: {
      identities,
      header,
      parent_header: parentHeader as Partial<MessageHeader>,
      metadata,
      content,
      buffers: rest.slice(4),
    },
  };
}

/**
 * The header, or what is wrong with it. `msg_id` and `msg_type` are required; the spec requires
 * the others too, but a message from a client that left out `username` or `date` is still
 * answerable, so those default to `''` rather than losing the user's request.
 */
function validateHeader(header: JsonObject): MessageHeader | string {
  for (const field of ['msg_id', 'msg_type'] as const) {
    if (typeof header[field] !== 'string' || header[field] === '') return `"${field}" must be a non-empty string`;
  }
  for (const field of ['session', 'username', 'date', 'version'] as const) {
    if (header[field] !== undefined && typeof header[field] !== 'string') return `"${field}" must be a string`;
  }
  return {
    ...header,
    msg_id: header.msg_id as string,
    msg_type: header.msg_type as string,
    session: (header.session as string | undefined) ?? '',
    username: (header.username as string | undefined) ?? '',
    date: (header.date as string | undefined) ?? '',
    version: (header.version as string | undefined) ?? '',
  };
}
