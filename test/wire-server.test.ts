// The kernel's wire and the Node client, both real, over real ZeroMQ sockets in this process:
// an echo kernel (test/support/jupyter.ts) stands in for the kernel's meaning.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '../kernel/log';
import { connectToKernel, type KernelClient } from '../kernel/wire/client';
import { createSigner, encodeMessage } from '../kernel/wire/codec';
import { createMessage, parentIdOf } from '../kernel/wire/messages';
import { startKernelWire, type KernelRequest, type KernelWire } from '../kernel/wire/server';
import { anyPortsConnection, outputsOf, runCell, startEchoKernel, type EchoKernel } from './support/jupyter';

const KEY = 'wire-test-key';
const anyPorts = anyPortsConnection(KEY);

let wire: KernelWire;
let kernel: EchoKernel;
let client: KernelClient;
const logLines: string[] = [];
const wireErrors: Error[] = [];

beforeAll(async () => {
  const logger = createLogger({ threshold: 'warn', write: (line) => logLines.push(line) });
  ({ wire, kernel } = await startEchoKernel(anyPorts, logger, { wireErrors }));
  client = await connectToKernel(wire.connection);
});

afterAll(async () => {
  await client?.close();
  await wire?.close();
});

/** Everything the client receives whose parent is `msgId`, on any channel. */
function answersTo(msgId: string): { channel: string; type: string }[] {
  return received.filter((r) => r.parent === msgId).map(({ channel, type }) => ({ channel, type }));
}
const received: { channel: string; type: string; parent: string | undefined }[] = [];
beforeAll(() => {
  client.onMessage((channel, message) => received.push({ channel, type: message.header.msg_type, parent: parentIdOf(message) }));
});

describe('requests and replies', () => {
  test('the wire bound real ports for the ones given as 0', () => {
    expect(wire.connection.shell_port).toBeGreaterThan(0);
    expect(new Set([wire.connection.shell_port, wire.connection.control_port, wire.connection.iopub_port]).size).toBe(3);
    expect(client.kernelInfo).toMatchObject({ implementation: 'wire-echo', protocol_version: '5.3' });
  });

  test.each(['shell', 'control'] as const)('kernel_info round trip on %s', async (channel) => {
    const reply = await client.request(channel, 'kernel_info_request');
    expect(reply.header.msg_type).toBe('kernel_info_reply');
    expect(reply.header.session).toBe(wire.origin.session);
    expect(reply.content).toMatchObject({ status: 'ok', protocol_version: '5.3' });
    expect(answersTo(parentIdOf(reply)!)).toContainEqual({ channel, type: 'kernel_info_reply' });
  });

  test('iopub tells one execution in order: busy, execute_input, stream, idle', async () => {
    const cell = await runCell(client, 'hello wire');
    expect(cell.sequence).toEqual(['status:busy', 'execute_input', 'stream', 'status:idle']);
    expect(cell.stdout).toBe('hello wire');
    expect(cell.status).toBe('ok');
    const parents = new Set(cell.execution.messages.map(parentIdOf));
    expect(parents).toEqual(new Set([parentIdOf(cell.execution.reply)]));
  });

  test('replies carry the request as parent header and go only to the requester', async () => {
    const other = await connectToKernel(wire.connection);
    try {
      const seenByOther: string[] = [];
      other.onMessage((channel, message) => channel !== 'iopub' && seenByOther.push(message.header.msg_type));
      const { reply } = await client.execute('mine');
      expect(reply.parent_header.session).toBe(client.origin.session);
      // The other client's own request is answered; ours never reached it on shell.
      await other.request('shell', 'kernel_info_request');
      expect(seenByOther).toEqual(['kernel_info_reply']);
    } finally {
      await other.close();
    }
  });

  test('a reply type that does not belong to the request is refused by the wire', async () => {
    const reply = await client.request('shell', 'comm_info_request');
    expect(reply.header.msg_type).toBe('comm_info_reply');
    expect(wireErrors.map((e) => (e as { code?: string }).code)).toEqual(['REPLY_TYPE_MISMATCH']);
  });

  test('a handler that fails is logged and the wire goes on', async () => {
    const before = logLines.length;
    // The echo kernel throws on history_request.
    const failing = createMessage(client.origin, null, 'history_request', {});
    await client.sendRaw('shell', client.encode(failing));
    const cell = await runCell(client, 'after failure');
    expect(cell.status).toBe('ok');
    expect(cell.stdout).toBe('after failure');
    expect(logLines.slice(before).join('')).toMatch(/handler failed .*msg_type=history_request/);
  });
});

describe('signatures', () => {
  async function sendAndProveDropped(frames: Buffer[], msgId: string): Promise<string[]> {
    const before = logLines.length;
    await client.sendRaw('shell', frames);
    // Shell is ordered: once a later request is answered, an answer to the bad one would have come first.
    const cell = await runCell(client, 'next good one');
    expect(cell.stdout).toBe('next good one');
    expect(answersTo(msgId)).toEqual([]);
    return logLines.slice(before);
  }

  test('a badly signed message is dropped, logged, and the next good one is answered', async () => {
    const forged = createMessage(client.origin, null, 'execute_request', { code: 'forged' });
    const lines = await sendAndProveDropped(encodeMessage(forged, createSigner('not-the-key')), forged.header.msg_id);
    expect(lines.join('')).toMatch(/WARN  dropped a message that failed verification .*channel=shell reason=bad_signature/);
    expect(lines.join('')).not.toContain(KEY);
  });

  test('an unsigned message is dropped and logged', async () => {
    const unsigned = createMessage(client.origin, null, 'execute_request', { code: 'unsigned' });
    const lines = await sendAndProveDropped(encodeMessage(unsigned, createSigner('')), unsigned.header.msg_id);
    expect(lines.join('')).toMatch(/dropped a message that failed verification .*reason=unsigned/);
  });

  test('a replayed message is dropped', async () => {
    const original = createMessage(client.origin, null, 'execute_request', { code: 'once' });
    const frames = client.encode(original);
    await client.sendRaw('shell', frames);
    const before = logLines.length;
    await client.sendRaw('shell', frames);
    await runCell(client, 'after replay');
    expect(answersTo(original.header.msg_id).filter((a) => a.channel === 'shell')).toEqual([{ channel: 'shell', type: 'execute_reply' }]);
    expect(logLines.slice(before).join('')).toMatch(/dropped a replayed message .*msg_type=execute_request/);
  });
});

describe('stdin, heartbeat, control', () => {
  test('input round trip: the prompt reaches the client and the answer reaches the kernel', async () => {
    const prompts: { prompt: string; password: boolean }[] = [];
    const cell = await runCell(client, 'password:Token? ', {
      onInput: (request) => {
        prompts.push(request);
        return 'typed value';
      },
    });
    expect(prompts).toEqual([{ prompt: 'Token? ', password: true }]);
    expect(cell.stdout).toBe('got typed value');
  });

  test('an input_reply without a parent header (jupyter_client) still answers the question', async () => {
    const stopAnswering = client.onMessage((channel, message) => {
      if (channel !== 'stdin') return;
      // Answer by hand as jupyter_client's `input()` does: no parent.
      const reply = createMessage(client.origin, null, 'input_reply', { value: 'no parent' });
      void client.sendRaw('stdin', client.encode(reply));
    });
    try {
      const execution = client.execute('input:Name? ', { onInput: () => new Promise<string>(() => undefined) });
      expect(outputsOf(await execution).stdout).toBe('got no parent');
    } finally {
      stopAnswering();
    }
  });

  test('the heartbeat echoes', async () => {
    expect(await client.heartbeat()).toBe(true);
  });

  test('control is answered while a shell request is still running', async () => {
    const order: string[] = [];
    const running = client.execute('wait').then((result) => {
      order.push('execute_reply');
      return result;
    });
    // The cell is running once its execute_input is out.
    await new Promise<void>((resolve) => {
      const stop = client.onIopub((message) => {
        if (message.header.msg_type === 'execute_input' && message.content.code === 'wait') {
          stop();
          resolve();
        }
      });
    });
    const info = await client.request('control', 'kernel_info_request');
    order.push('kernel_info_reply');
    expect(info.content.status).toBe('ok');
    await client.request('control', 'interrupt_request');
    const cell = outputsOf(await running);
    expect(order).toEqual(['kernel_info_reply', 'execute_reply']);
    expect(cell.status).toBe('error');
    expect(cell.error?.ename).toBe('KeyboardInterrupt');
  });
});

describe('requestInput lifecycle', () => {
  test('aborting rejects with INPUT_INTERRUPTED; closing the wire rejects what still waits', async () => {
    // A handler that answers kernel_info (so a client can connect) and keeps execute requests.
    const requests: KernelRequest[] = [];
    let arrived: (() => void) | undefined;
    const bare = await startKernelWire(
      anyPorts,
      (w) => ({
        async receive(_channel, request) {
          if (request.header.msg_type !== 'kernel_info_request') {
            requests.push(request);
            arrived?.();
            return;
          }
          await w.publish(request, 'status', { execution_state: 'busy' });
          await w.reply(request, 'kernel_info_reply', { status: 'ok' });
          await w.publish(request, 'status', { execution_state: 'idle' });
        },
      }),
      createLogger({ threshold: 'off' }),
    );
    const other = await connectToKernel(bare.connection);
    try {
      const questions: string[] = [];
      const execution = other.execute('never answered', { onInput: (q) => (questions.push(q.prompt), new Promise<string>(() => undefined)) });
      execution.catch(() => undefined); // rejected by other.close() below; not what this test is about
      await new Promise<void>((resolve) => (arrived = resolve));
      const request = requests[0];

      const abort = new AbortController();
      const interrupted = bare.requestInput(request, 'First? ', false, { signal: abort.signal });
      abort.abort();
      await expect(interrupted).rejects.toMatchObject({ code: 'INPUT_INTERRUPTED' });

      const waiting = expect(bare.requestInput(request, 'Second? ', false)).rejects.toMatchObject({ code: 'WIRE_CLOSED' });
      // Closing takes a few turns of the event loop (the heartbeat's thread ends): the rejection
      // must have its handler before then.
      await bare.close();
      await waiting;
      await expect(bare.requestInput(request, 'Third? ', false)).rejects.toMatchObject({ code: 'WIRE_CLOSED' });
      // A closed kernel's heartbeat no longer echoes.
      expect(await other.heartbeat(200)).toBe(false);
    } finally {
      await other.close();
      await bare.close();
    }
  });
});
