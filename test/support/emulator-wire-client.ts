// A byte-level PostgreSQL client for tests of the login gateway: it sends exactly the packets a
// test builds (also broken ones), reads exactly what comes back, and can switch to TLS at any point
// or start with it (direct SSL). Real sockets; no protocol logic beyond framing.
import { connect as connectTcp, Socket } from 'node:net';
import { connect as connectTls, ConnectionOptions, TLSSocket } from 'node:tls';

const REQUEST = { ssl: 80877103, gss: 80877104, cancel: 80877102 } as const;

export class WireClient {
  #stream: Socket;
  #buffer = Buffer.alloc(0);
  #ended = false;
  #wake: (() => void) | undefined;

  private constructor(readonly socket: Socket) {
    this.#stream = socket;
    this.#listen(socket);
  }

  static async connect(host: string, port: number): Promise<WireClient> {
    const socket = connectTcp(port, host);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new WireClient(socket);
  }

  /** TLS from the first byte (PostgreSQL 17's `sslnegotiation=direct`). */
  static async connectDirectTls(host: string, port: number, options: ConnectionOptions): Promise<WireClient> {
    const client = await WireClient.connect(host, port);
    await client.startTls(options);
    return client;
  }

  get closed(): boolean {
    return this.#ended;
  }

  send(bytes: Buffer): void {
    this.#stream.write(bytes);
  }

  /** Exactly `bytes` bytes; rejects when the server closes first or nothing comes in time. */
  async read(bytes: number, timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.#buffer.length < bytes) {
      if (this.#ended) throw new Error(`the server closed the connection after ${this.#buffer.length} of ${bytes} bytes: ${JSON.stringify(this.#buffer.toString('latin1'))}`);
      if (!(await this.#waitForData(deadline))) throw new Error(`timed out waiting for ${bytes} bytes (have ${this.#buffer.length})`);
    }
    const data = this.#buffer.subarray(0, bytes);
    this.#buffer = this.#buffer.subarray(bytes);
    return data;
  }

  /** Everything until the server closes the connection. */
  async readToEnd(timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#ended) {
      if (!(await this.#waitForData(deadline))) throw new Error(`the server did not close the connection within ${timeoutMs} ms; got ${JSON.stringify(this.#buffer.toString('latin1'))}`);
    }
    const data = this.#buffer;
    this.#buffer = Buffer.alloc(0);
    return data;
  }

  /** Whole messages until one of type `last` (included). */
  async readMessagesUntil(last: string, timeoutMs = 5000): Promise<Message[]> {
    const messages: Message[] = [];
    for (;;) {
      const header = await this.read(5, timeoutMs);
      const body = await this.read(header.readInt32BE(1) - 4, timeoutMs);
      const message = { type: String.fromCharCode(header[0]), body };
      messages.push(message);
      if (message.type === last || message.type === 'E') return messages;
    }
  }

  /** Runs the TLS handshake on the connection (after an 'S', or first thing for direct SSL). */
  async startTls(options: ConnectionOptions): Promise<TLSSocket> {
    if (this.#buffer.length > 0) throw new Error('unread plain-text bytes before TLS');
    this.#stream.removeAllListeners('data');
    const tls = connectTls({ ...options, socket: this.#stream });
    await new Promise<void>((resolve, reject) => tls.once('secureConnect', resolve).once('error', reject));
    this.#stream = tls;
    this.#listen(tls);
    return tls;
  }

  destroy(): void {
    this.#stream.destroy();
    this.socket.destroy();
  }

  #listen(stream: Socket): void {
    stream.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake?.();
    });
    const end = () => {
      this.#ended = true;
      this.#wake?.();
    };
    stream.on('end', end);
    stream.on('close', end);
    // A reset is an ending like any other here; the test looks at what arrived before it.
    stream.on('error', end);
  }

  #waitForData(deadline: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve(false);
      }, Math.max(0, deadline - Date.now()));
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve(true);
      };
    });
  }
}

export interface Message {
  type: string;
  body: Buffer;
}

/** Packets, built byte by byte as the protocol documentation's "Message Formats" gives them. */
export const packets = {
  startup(parameters: Record<string, string>, version: { major: number; minor: number } = { major: 3, minor: 0 }): Buffer {
    const body = Buffer.concat([...Object.entries(parameters).map(([name, value]) => Buffer.from(`${name}\0${value}\0`)), Buffer.from([0])]);
    return Buffer.concat([int32(8 + body.length), uint32((version.major << 16) | version.minor), body]);
  },
  /** Any bytes after a length word and a code, for broken packets. */
  raw(code: number, body: Buffer, length = 8 + body.length): Buffer {
    return Buffer.concat([int32(length), uint32(code), body]);
  },
  sslRequest: (): Buffer => Buffer.concat([int32(8), uint32(REQUEST.ssl)]),
  gssRequest: (): Buffer => Buffer.concat([int32(8), uint32(REQUEST.gss)]),
  cancelRequest: (processId: number, secretKey: Buffer): Buffer => Buffer.concat([int32(12 + secretKey.length), uint32(REQUEST.cancel), int32(processId), secretKey]),
  password: (password: string): Buffer => packets.message('p', Buffer.from(`${password}\0`)),
  message(type: string, body: Buffer, length = body.length + 4): Buffer {
    return Buffer.concat([Buffer.from(type, 'latin1'), int32(length), body]);
  },
};

/** The fields of an ErrorResponse body, by their one-letter codes. */
export function errorFields(body: Buffer): Record<string, string> {
  const fields: Record<string, string> = {};
  let offset = 0;
  while (offset < body.length && body[offset] !== 0) {
    const end = body.indexOf(0, offset + 1);
    fields[String.fromCharCode(body[offset])] = body.toString('utf8', offset + 1, end);
    offset = end + 1;
  }
  return fields;
}

function int32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value);
  return buffer;
}

function uint32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value >>> 0);
  return buffer;
}
