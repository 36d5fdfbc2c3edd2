// The frames of a Jupyter message and their HMAC: what a kernel accepts and what it refuses.
import { describe, expect, test } from 'vitest';
import { createHmac } from 'node:crypto';
import { createSigner, decodeMessage, DELIMITER, encodeMessage } from '../kernel/wire/codec';
import { createMessage, isRequestType, PROTOCOL_VERSION, replyTypeFor, type JupyterMessage } from '../kernel/wire/messages';

const origin = { session: 'client-session', username: 'ana' };
const key = 'a0f3c1d2-secret-key';

function request(): JupyterMessage {
  const message = createMessage(origin, null, 'execute_request', { code: 'select 1', silent: false });
  message.identities = [Buffer.from('client-identity')];
  message.buffers = [Buffer.from([0, 1, 2, 255])];
  message.metadata = { cellId: 'c1' };
  return message;
}

/** The index of each part after the identities. */
const at = { signature: 2, header: 3, parent: 4, metadata: 5, content: 6 };

describe('encode and decode', () => {
  test('a signed message survives the round trip with identities, metadata and buffers', () => {
    const signer = createSigner(key);
    const original = request();
    const decoded = decodeMessage(encodeMessage(original, signer), signer);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.message).toEqual(original);
    expect(decoded.message.buffers[0]).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  test('the signature is the hex HMAC-SHA256 of header, parent header, metadata and content', () => {
    const frames = encodeMessage(request(), createSigner(key));
    const hmac = createHmac('sha256', key);
    for (const frame of frames.slice(at.header, at.content + 1)) hmac.update(frame);
    expect(frames[at.signature - 1]).toEqual(DELIMITER);
    expect(frames[at.signature].toString()).toBe(hmac.digest('hex'));
  });

  test.each([
    ['header', at.header],
    ['parent header', at.parent],
    ['metadata', at.metadata],
    ['content', at.content],
  ])('a tampered %s is rejected as bad_signature', (_name, index) => {
    const signer = createSigner(key);
    const frames = encodeMessage(request(), signer);
    const json = JSON.parse(frames[index].toString());
    json.tampered = true;
    frames[index] = Buffer.from(JSON.stringify(json));
    expect(decodeMessage(frames, signer)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  test('a message signed with another key is rejected', () => {
    const frames = encodeMessage(request(), createSigner('some-other-key'));
    expect(decodeMessage(frames, createSigner(key))).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  test('an unsigned message is rejected when the session has a key', () => {
    const frames = encodeMessage(request(), createSigner(''));
    expect(frames[at.signature].length).toBe(0);
    const decoded = decodeMessage(frames, createSigner(key));
    expect(decoded).toMatchObject({ ok: false, reason: 'unsigned' });
    // The sender is still known, for the log.
    expect(decoded.ok || decoded.identities).toEqual([Buffer.from('client-identity')]);
  });

  test.each([
    ['upper-case hex', (s: string) => s.toUpperCase()],
    ['truncated', (s: string) => s.slice(0, 63)],
    ['not hex', (s: string) => `${s.slice(0, 62)}zz`],
  ])('a %s signature is rejected', (_name, change) => {
    const signer = createSigner(key);
    const frames = encodeMessage(request(), signer);
    frames[at.signature] = Buffer.from(change(frames[at.signature].toString()));
    expect(decodeMessage(frames, signer)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  test('an empty key signs nothing and accepts any signature', () => {
    const signer = createSigner('');
    const frames = encodeMessage(request(), signer);
    expect(signer.signs).toBe(false);
    expect(decodeMessage(frames, signer).ok).toBe(true);
    frames[at.signature] = Buffer.from('whatever');
    expect(decodeMessage(frames, signer).ok).toBe(true);
  });

  test('frames without the delimiter or with too few parts are rejected, not thrown', () => {
    const signer = createSigner(key);
    const frames = encodeMessage(request(), signer);
    expect(decodeMessage(frames.filter((f) => !f.equals(DELIMITER)), signer)).toMatchObject({ reason: 'missing_delimiter' });
    expect(decodeMessage(frames.slice(0, at.content), signer)).toMatchObject({ reason: 'missing_frames' });
    expect(decodeMessage([], signer)).toMatchObject({ reason: 'missing_delimiter' });
  });

  test('correctly signed garbage is rejected as malformed, never thrown', () => {
    const signer = createSigner(key);
    const sign = (parts: string[]) => {
      const json = parts.map((p) => Buffer.from(p));
      return [DELIMITER, Buffer.from(signer.sign(json)), ...json];
    };
    expect(decodeMessage(sign(['{not json', '{}', '{}', '{}']), signer)).toMatchObject({ reason: 'malformed_json' });
    expect(decodeMessage(sign(['[]', '{}', '{}', '{}']), signer)).toMatchObject({ reason: 'malformed_json' });
    expect(decodeMessage(sign(['{"msg_type":"execute_request"}', '{}', '{}', '{}']), signer)).toMatchObject({
      reason: 'malformed_header',
    });
    expect(decodeMessage(sign(['{"msg_id":"1","msg_type":"x","date":5}', '{}', '{}', '{}']), signer)).toMatchObject({
      reason: 'malformed_header',
    });
  });

  test('a header without username or date is accepted with empty strings', () => {
    const signer = createSigner(key);
    const json = ['{"msg_id":"1","msg_type":"kernel_info_request","session":"s"}', '{}', '{}', '{}'].map((p) => Buffer.from(p));
    const decoded = decodeMessage([DELIMITER, Buffer.from(signer.sign(json)), ...json], signer);
    expect(decoded.ok && decoded.message.header).toEqual({
      msg_id: '1',
      msg_type: 'kernel_info_request',
      session: 's',
      username: '',
      date: '',
      version: '',
    });
  });
});

describe('createMessage', () => {
  test('makes a child of a request: new id, our session, parent header and identities', () => {
    const parent = request();
    const kernel = { session: 'kernel-session', username: 'kernel' };
    const child = createMessage(kernel, parent, 'execute_reply', { status: 'ok' });
    expect(child.header).toMatchObject({ session: 'kernel-session', username: 'kernel', msg_type: 'execute_reply', version: PROTOCOL_VERSION });
    expect(child.header.msg_id).not.toBe(parent.header.msg_id);
    expect(new Date(child.header.date).toISOString()).toBe(child.header.date);
    expect(child.parent_header).toEqual(parent.header);
    expect(child.identities).toEqual(parent.identities);
    expect(child.buffers).toEqual([]);
  });

  test('without a parent: empty parent header and no identities', () => {
    const message = createMessage(origin, null, 'kernel_info_request', {});
    expect(message.parent_header).toEqual({});
    expect(message.identities).toEqual([]);
  });

  test('pairs each request with its reply type by the spec naming rule', () => {
    expect(replyTypeFor('comm_info_request')).toBe('comm_info_reply');
    expect(replyTypeFor('comm_open')).toBeUndefined();
    expect(isRequestType('interrupt_request')).toBe(true);
    expect(isRequestType('comm_msg')).toBe(false);
  });
});
