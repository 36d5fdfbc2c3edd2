// The login gateway of one emulated instance: what clients reach at the instance's
// `read_write_dns`, port 5432. It terminates TLS with the instance's certificate, asks for the
// password in clear text (over TLS, as real Lakebase does: "token-based authentication requires a
// plaintext password, so only SSL connections are allowed"), checks the database token, and then
// opens a session on the instance's PostgreSQL over its private Unix socket — trusted there,
// as the same user with the same startup parameters — and relays bytes both ways unread.
//
// Why a gateway in front of PostgreSQL, and not PostgreSQL's own `radius` method (issue 3 asks to
// choose; the emulator used RADIUS before): with RADIUS, PostgreSQL reports a refused token as
// `RADIUS authentication failed` with SQLSTATE 28000, where real Lakebase says `password
// authentication failed` with 28P01 (auth.c reserves 28P01 for its own password methods); it hands
// at most 128 characters to RADIUS, which ruled out real JWTs as tokens; and it asks the RADIUS
// server over UDP with a 3-second timeout. The gateway answers every refusal in PostgreSQL's own
// words (`startup-protocol.ts`) and takes tokens of any length. What it costs: one relay hop per
// round trip (about 0.1 ms on a development machine, measured in the emulator's README), and TLS
// ends here, so PostgreSQL sees a local connection (`fidelity.ts`, tls-termination).
//
// Cancel requests (plain or over TLS) are passed to PostgreSQL unchanged: BackendKeyData was
// relayed unchanged too, so the client's keys are the server's.
import { connect as connectUnixSocket, createServer, Server, Socket } from 'node:net';
import { pipeline, Duplex } from 'node:stream';
import { createSecureContext, SecureContext, TLSSocket } from 'node:tls';
import { escapeLogText, quoteForLog } from '../log-text';
import { InstanceServerError } from './errors';
import {
  ALPN_PROTOCOL,
  authenticationCleartextPassword,
  checkPasswordMessageHeader,
  decodeInitialPacket,
  decodePassword,
  Encryption,
  encodeErrorResponse,
  encryptionResponse,
  initialPacketLength,
  negotiateProtocolVersion,
  needsNegotiation,
  POSTGRES_ERRORS,
  ProtocolViolation,
  ServerError,
  StartupMessage,
  startupMessageForServer,
  textOf,
  TLS_HANDSHAKE_RECORD,
  LATEST_PROTOCOL_MINOR,
} from './startup-protocol';

/** Decides a login: `user` is the role asked for, `password` the database token. Never logged. */
/**
 * What a password check decides: refused (false), accepted (true), or accepted with startup
 * parameters forced on that session only (a read-only credential's
 * `default_transaction_read_only=on`).
 */
export type PasswordVerdict = boolean | { accepted: true; parameters?: Readonly<Record<string, string>> };
export type PasswordCheck = (user: string, password: string) => PasswordVerdict | Promise<PasswordVerdict>;

export interface LoginGatewayOptions {
  /** The instance's address (`read_write_dns`). */
  host: string;
  /** 5432, except where instances share 127.0.0.1; 0 picks a free port (tests). */
  port: number;
  /** The instance's certificate and key (from the emulator's CA). */
  certificate: { certPem: string; keyPem: string };
  /**
   * PostgreSQL's Unix socket file (`<socket directory>/.s.PGSQL.<port>`), where logins are trusted;
   * or a function that returns it, for a server that may be asleep: it is called after a login's
   * password was accepted and may start the server first (an Autoscaling endpoint scaled to zero
   * wakes on its next login, and the client only sees a slower connect). Cancel requests never
   * wake a server: they ask `runningServerSocketPath` instead.
   */
  serverSocketPath: string | (() => Promise<string>);
  /** For a sleeping server: its socket only while it runs, else undefined (nothing to cancel). */
  runningServerSocketPath?: () => string | undefined;
  checkPassword: PasswordCheck;
  /**
   * Asked after the password was accepted: a refusal to send instead of opening a session (an
   * Autoscaling endpoint that is disabled). Undefined admits the login.
   */
  admit?: () => ServerError | undefined;
  /**
   * Startup parameters every session gets, whatever the client sent (e.g. a read-only endpoint's
   * `default_transaction_read_only=on`); they replace the client's parameters of the same name.
   */
  forcedParameters?: Readonly<Record<string, string>>;
  /** Told whenever the number of open client connections changes. */
  onConnectionCountChange?: (count: number) => void;
  /**
   * Told when a relayed session moves bytes either way (a query, its results): an Autoscaling
   * endpoint is idle when nothing moved for its suspend timeout, even with sessions open.
   */
  onActivity?: () => void;
  /** Roles that never log in through the gateway, refused like a pg_hba.conf `reject` line. */
  reservedRoles?: readonly string[];
  /** How long a client may take from connecting to a finished login; PostgreSQL's authentication_timeout is 60 s. */
  loginTimeoutMs?: number;
  /** Diagnostics; never receives a password. */
  log?: (line: string) => void;
}

export interface LoginGateway {
  readonly host: string;
  readonly port: number;
  /** Client connections open now: logging in, relayed, or carrying a cancel request. */
  readonly openConnections: number;
  /**
   * New connections are refused from now on and those still logging in are dropped. Relayed
   * sessions go on until PostgreSQL ends them (a stopping server tells its clients why).
   */
  stopListening(): void;
  /** `stopListening`, then drops every connection; resolves when all are closed. Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_LOGIN_TIMEOUT_MS = 60_000;
/** How long a cancel request waits for PostgreSQL to take it (it closes the connection when it has). */
const CANCEL_FORWARD_TIMEOUT_MS = 10_000;
/** How long a refused client gets to read its ErrorResponse before its connection is dropped. */
const FAREWELL_TIMEOUT_MS = 1_000;

/**
 * Listens on `host:port` and serves logins until closed. Rejects with ADDRESS_IN_USE when
 * something else listens there, ADDRESS_UNAVAILABLE when the address is not local.
 */
export async function startLoginGateway(options: LoginGatewayOptions): Promise<LoginGateway> {
  const gateway = new Gateway(options);
  await gateway.listen();
  return gateway;
}

class Gateway implements LoginGateway {
  readonly host: string;
  #port: number;
  readonly #options: LoginGatewayOptions;
  readonly #secureContext: SecureContext;
  readonly #server: Server;
  readonly #connections = new Set<GatewayConnection>();
  #closed: Promise<void> | undefined;

  constructor(options: LoginGatewayOptions) {
    this.#options = options;
    this.host = options.host;
    this.#port = options.port;
    // PostgreSQL's default ssl_min_protocol_version is TLSv1.2.
    this.#secureContext = createSecureContext({ cert: options.certificate.certPem, key: options.certificate.keyPem, minVersion: 'TLSv1.2' });
    // TCP_NODELAY and keepalives, as PostgreSQL sets them on its own TCP connections.
    this.#server = createServer({ noDelay: true, keepAlive: true }, (socket) => this.#accept(socket));
    this.#server.on('error', (error) => this.#log(`listener error: ${error.message}`));
  }

  get port(): number {
    return this.#port;
  }

  get openConnections(): number {
    return this.#connections.size;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        const where = `${this.host}:${this.port}`;
        if (error.code === 'EADDRINUSE') {
          reject(new InstanceServerError('ADDRESS_IN_USE', `Another server listens on ${where}; give the instance another address.`, { cause: error }));
        } else if (error.code === 'EADDRNOTAVAIL') {
          reject(new InstanceServerError('ADDRESS_UNAVAILABLE', `${this.host} is not a local address of this machine, so nothing can listen on ${where}.`, { cause: error }));
        } else {
          reject(new InstanceServerError('START_FAILED', `The login gateway cannot listen on ${where}: ${error.message}`, { cause: error }));
        }
      };
      this.#server.once('error', onError);
      this.#server.listen({ host: this.host, port: this.port, exclusive: true }, () => {
        this.#server.off('error', onError);
        const bound = this.#server.address();
        if (bound && typeof bound === 'object') this.#port = bound.port;
        resolve();
      });
    });
  }

  stopListening(): void {
    if (this.#server.listening) this.#server.close();
    for (const connection of this.#connections) if (!connection.relaying) connection.destroy();
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      // Resolved once the address is free again, so that a gateway opened right after this one
      // closed (an endpoint undeleted, a compute attached again) can listen there.
      const unbound = this.#server.listening ? new Promise<void>((resolve) => this.#server.once('close', () => resolve())) : Promise.resolve();
      this.stopListening();
      await Promise.all([...this.#connections].map((connection) => connection.destroy()));
      await unbound;
    })();
    return this.#closed;
  }

  toJSON(): { host: string; port: number; openConnections: number } {
    return { host: this.host, port: this.port, openConnections: this.openConnections };
  }

  #accept(socket: Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    const connection = new GatewayConnection(socket, this.#options, this.#secureContext, (line) => this.#log(line));
    this.#connections.add(connection);
    this.#options.onConnectionCountChange?.(this.#connections.size);
    void connection.serve().finally(() => {
      this.#connections.delete(connection);
      this.#options.onConnectionCountChange?.(this.#connections.size);
    });
  }

  #log(line: string): void {
    this.#options.log?.(`[login gateway ${this.host}:${this.port}] ${escapeLogText(line)}`);
  }
}

/** One client connection's life; every change goes through `#moveTo`, an unknown move throws. */
type ConnectionState =
  | 'negotiating'
  | 'tls-handshake'
  | 'awaiting-password'
  | 'checking-password'
  | 'opening-session'
  | 'relaying'
  | 'forwarding-cancel'
  | 'closed';

const TRANSITIONS: Record<ConnectionState, readonly ConnectionState[]> = {
  negotiating: ['tls-handshake', 'awaiting-password', 'forwarding-cancel', 'closed'],
  'tls-handshake': ['negotiating', 'closed'],
  'awaiting-password': ['checking-password', 'closed'],
  'checking-password': ['opening-session', 'closed'],
  'opening-session': ['relaying', 'closed'],
  relaying: ['closed'],
  'forwarding-cancel': ['closed'],
  closed: [],
};

/** The client went away (or was dropped) before the login finished: nothing to answer. */
class ConnectionGone extends Error {
  override readonly name = 'ConnectionGone';
}

class GatewayConnection {
  #state: ConnectionState = 'negotiating';
  /** The TCP connection; `#stream` is it, or the TLS session on top of it. */
  readonly #socket: Socket;
  #stream: Socket;
  #reader: PacketReader;
  #server: Socket | undefined;
  readonly #loginTimer: NodeJS.Timeout;
  readonly #closed: Promise<void>;
  /** The client's address, as PostgreSQL names it in pg_hba.conf messages. */
  readonly #clientHost: string;

  constructor(
    socket: Socket,
    private readonly options: LoginGatewayOptions,
    private readonly secureContext: SecureContext,
    private readonly log: (line: string) => void,
  ) {
    this.#socket = socket;
    this.#stream = socket;
    this.#clientHost = (socket.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
    // Resets and broken pipes are part of a network's life: each one ends this connection only.
    socket.on('error', (error) => this.#noteSocketError('client', error));
    this.#closed = new Promise((resolve) =>
      socket.once('close', () => {
        // Whoever closed first, PostgreSQL's side of a session goes with the client's.
        this.#server?.destroy();
        resolve();
      }),
    );
    this.#reader = new PacketReader(socket);
    this.#loginTimer = setTimeout(() => {
      this.log(`a client at ${this.#clientHost} did not finish logging in within ${(options.loginTimeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS) / 1000} s; dropped`);
      void this.destroy();
    }, options.loginTimeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS);
  }

  get relaying(): boolean {
    return this.#state === 'relaying';
  }

  async serve(): Promise<void> {
    try {
      const startup = await this.#negotiate();
      if (startup) await this.#logIn(startup);
    } catch (error) {
      await this.#fail(error);
    }
    await this.#closed;
    this.#server?.destroy();
  }

  /** Drops the connection (both sides); resolves once the client's socket is closed. */
  destroy(): Promise<void> {
    clearTimeout(this.#loginTimer);
    if (this.#state !== 'closed') this.#moveTo('closed');
    this.#reader.fail(new ConnectionGone('the connection was dropped'));
    this.#server?.destroy();
    this.#stream.destroy();
    this.#socket.destroy();
    return this.#closed;
  }

  /** Read through a method: `destroy` may close the connection while a login step awaits. */
  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #moveTo(next: ConnectionState): void {
    if (!TRANSITIONS[this.#state].includes(next)) throw new Error(`login gateway connection: illegal state change ${this.#state} → ${next}`);
    this.#state = next;
  }

  /**
   * Reads initial packets until a StartupMessage (returned) or a cancel request (forwarded; then
   * undefined). Answers SSLRequest with TLS and GSSENCRequest with 'N', in either order, at most
   * once each — the rules of ProcessStartupPacket.
   */
  async #negotiate(): Promise<StartupMessage | undefined> {
    let sslDone = false;
    let gssDone = false;
    if ((await this.#reader.peekByte()) === TLS_HANDSHAKE_RECORD) {
      // Direct SSL (PostgreSQL 17 clients with sslnegotiation=direct): TLS from the first byte.
      await this.#startTls('direct');
      sslDone = gssDone = true;
    }
    for (;;) {
      const length = initialPacketLength(await this.#reader.read(4, { peek: true }));
      const packet = decodeInitialPacket(await this.#reader.read(length), { sslDone, gssDone });
      switch (packet.kind) {
        case 'ssl-request':
          // Bytes the client sent before reading the 'S' go to the TLS session as handshake bytes,
          // as PostgreSQL 17+ hands them to OpenSSL: injected plain text fails the handshake.
          this.#stream.write(encryptionResponse(true));
          await this.#startTls('after-request');
          // After TLS, PostgreSQL takes no GSS encryption request any more.
          sslDone = gssDone = true;
          break;
        case 'gss-encryption-request':
          // The embedded servers have no GSSAPI, so PostgreSQL answers 'N'; libpq then tries TLS.
          this.#stream.write(encryptionResponse(false));
          gssDone = true;
          break;
        case 'cancel-request':
          this.#moveTo('forwarding-cancel');
          await this.#forwardCancel(packet.packet);
          return undefined;
        case 'startup':
          return packet.message;
        default: {
          const unknown: never = packet;
          throw new Error(`unhandled initial packet ${JSON.stringify(unknown)}`);
        }
      }
    }
  }

  async #startTls(mode: 'direct' | 'after-request'): Promise<void> {
    this.#moveTo('tls-handshake');
    // Whatever the client already sent (a direct-SSL ClientHello) goes back into the socket, where
    // the TLS session reads it first.
    const unread = this.#reader.detach();
    if (unread.length > 0) this.#socket.unshift(unread);
    // The ALPN list makes a client that offers other protocols fail the handshake, as PostgreSQL's does.
    const tls = new TLSSocket(this.#socket, { isServer: true, secureContext: this.secureContext, ALPNProtocols: [ALPN_PROTOCOL] });
    tls.on('error', (error) => this.#noteSocketError('client TLS', error));
    this.#stream = tls;
    this.#reader = new PacketReader(tls);
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        tls.off('secure', onSecure);
        tls.off('error', done);
        tls.off('close', onClose);
        if (error) reject(new ConnectionGone(`TLS handshake failed: ${error.message}`));
        else resolve();
      };
      const onSecure = () => done();
      const onClose = () => done(new Error('the client closed the connection'));
      tls.once('secure', onSecure);
      tls.once('error', done);
      tls.once('close', onClose);
    });
    if (mode === 'direct' && tls.alpnProtocol !== ALPN_PROTOCOL) {
      // PostgreSQL closes such a connection without a word ("received direct SSL connection
      // request without ALPN protocol negotiation extension").
      throw new ProtocolViolation('a direct TLS connection without the ALPN protocol "postgresql"');
    }
    this.#moveTo('negotiating');
  }

  async #logIn(startup: StartupMessage): Promise<void> {
    if (needsNegotiation(startup)) this.#stream.write(negotiateProtocolVersion(Math.min(startup.version.minor, LATEST_PROTOCOL_MINOR), startup.unrecognizedProtocolOptions));
    // The pg_hba.conf this gateway stands for: `hostssl all <reserved> all reject`, then
    // `hostssl all all all password`; physical replication matches no line.
    const encryption: Encryption = this.#stream instanceof TLSSocket ? 'SSL encryption' : 'no encryption';
    const { user, database } = startup;
    const role = textOf(user);
    if (startup.replication === 'physical') return this.#refuse(POSTGRES_ERRORS.noHbaEntryForReplication(this.#clientHost, user, encryption), `replication connection of ${quoteForLog(role)}`);
    if (encryption === 'no encryption') return this.#refuse(POSTGRES_ERRORS.noHbaEntry(this.#clientHost, user, database, encryption), `plain-text login of ${quoteForLog(role)}`);
    if (this.options.reservedRoles?.includes(role)) return this.#refuse(POSTGRES_ERRORS.hbaRejects(this.#clientHost, user, database, encryption), `login of reserved role ${quoteForLog(role)}`);

    this.#moveTo('awaiting-password');
    this.#stream.write(authenticationCleartextPassword());
    const bodyLength = checkPasswordMessageHeader(await this.#reader.read(5));
    const password = decodePassword(await this.#reader.read(bodyLength));

    this.#moveTo('checking-password');
    let accepted = false;
    let granted: Readonly<Record<string, string>> | undefined;
    try {
      const verdict = await this.options.checkPassword(role, password);
      accepted = verdict === true || (typeof verdict === 'object' && verdict !== null && verdict.accepted === true);
      if (typeof verdict === 'object' && verdict !== null) granted = verdict.parameters;
    } catch (error) {
      this.log(`the password check for ${quoteForLog(role)} failed, login refused: ${(error as Error).message}`);
    }
    if (!accepted) return this.#refuse(POSTGRES_ERRORS.passwordAuthenticationFailed(user));
    if (this.#isClosed()) throw new ConnectionGone('the client left during the password check');
    const refusal = this.options.admit?.();
    if (refusal) return this.#refuse(refusal, `login of ${role}`);

    this.#moveTo('opening-session');
    const server = await this.#openServerSocket();
    if (this.#isClosed()) throw new ConnectionGone('the client left while its session was being opened');
    // Trusted on the socket: PostgreSQL answers AuthenticationOk (or its own error, such as a
    // missing role or database) and the rest of the start-up, straight to the client.
    server.write(startupMessageForServer(startup, { ...this.options.forcedParameters, ...granted }));
    const early = this.#reader.detach();
    if (early.length > 0) server.write(early);
    this.#relay(server);
  }

  #relay(server: Socket): void {
    this.#moveTo('relaying');
    clearTimeout(this.#loginTimer);
    const onActivity = this.options.onActivity;
    if (onActivity) {
      // Extra 'data' listeners only observe: the pipelines below still carry every byte.
      onActivity();
      this.#stream.on('data', onActivity);
      server.on('data', onActivity);
    }
    pipeline(this.#stream, server, (error) => this.#relayEnded('to the server', error));
    pipeline(server, this.#stream, (error) => this.#relayEnded('to the client', error));
  }

  /**
   * One direction of the relay is over. After an error both sides go at once; after an orderly
   * end (Terminate, or PostgreSQL closing after a FATAL) the peer gets a moment to close its own
   * side, as it does right away when it reads the end.
   */
  #relayEnded(direction: string, error: NodeJS.ErrnoException | null | undefined): void {
    if (!error) {
      setTimeout(() => void this.destroy(), FAREWELL_TIMEOUT_MS).unref();
      return;
    }
    // A client killed mid-session resets its connection: ordinary, and PostgreSQL does not complain either.
    if (!['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE'].includes(error.code ?? '')) this.log(`relay ${direction} ended with ${error.code ?? error.message}`);
    void this.destroy();
  }

  async #forwardCancel(packet: Buffer): Promise<void> {
    clearTimeout(this.#loginTimer);
    const server = await this.#openServerSocket().catch((error: unknown) => {
      // No server, nothing to cancel; PostgreSQL never answers a cancel request anyway.
      this.log(`a cancel request could not be passed on: ${(error as Error).message}`);
      return undefined;
    });
    if (server) {
      // PostgreSQL closes the connection once it has taken the request; the client waits for that.
      const taken = new Promise<void>((resolve) => server.once('close', () => resolve()));
      server.end(packet);
      const timer = setTimeout(() => server.destroy(), CANCEL_FORWARD_TIMEOUT_MS);
      await taken;
      clearTimeout(timer);
    }
    this.#moveTo('closed');
    this.#stream.destroySoon();
  }

  async #serverSocketPath(): Promise<string> {
    const { serverSocketPath, runningServerSocketPath } = this.options;
    if (typeof serverSocketPath === 'string') return serverSocketPath;
    if (this.#state === 'forwarding-cancel') {
      const running = runningServerSocketPath?.();
      if (running === undefined) throw new Error('the server is asleep, so no query runs that could be cancelled');
      return running;
    }
    return serverSocketPath();
  }

  async #openServerSocket(): Promise<Socket> {
    let path: string;
    try {
      path = await this.#serverSocketPath();
    } catch (error) {
      if (this.#state === 'forwarding-cancel') throw error;
      if (this.#state === 'closed') throw new ConnectionGone('the client left while its server was being started');
      this.log(`the server could not be started for a login: ${(error as Error).message}`);
      throw new ProtocolViolation('the server could not be started', encodeErrorResponse(POSTGRES_ERRORS.notAcceptingConnections()));
    }
    return new Promise((resolve, reject) => {
      const server = connectUnixSocket({ path });
      this.#server = server;
      server.on('error', (error) => this.#noteSocketError('server', error));
      const onError = (error: Error) => reject(error);
      server.once('error', onError);
      server.once('connect', () => {
        server.off('error', onError);
        resolve(server);
      });
    }).catch((error: unknown) => {
      if (this.#state === 'forwarding-cancel') throw error;
      if (this.#state === 'closed') throw new ConnectionGone('the client left while its session was being opened');
      this.log(`PostgreSQL does not answer on its socket (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      throw new ProtocolViolation('the server is not accepting connections', encodeErrorResponse(POSTGRES_ERRORS.notAcceptingConnections()));
    }) as Promise<Socket>;
  }

  /** Sends PostgreSQL's refusal and closes, as a server process does when it exits with FATAL. */
  #refuse(error: ServerError, what?: string): never {
    if (what) this.log(`${what} refused: ${error.message}`);
    throw new ProtocolViolation(error.message, encodeErrorResponse(error));
  }

  async #fail(error: unknown): Promise<void> {
    if (error instanceof ProtocolViolation) {
      if (!error.reply) this.log(`connection from ${this.#clientHost} closed: ${error.reason}`);
      if (error.reply && !this.#isClosed() && !this.#stream.destroyed) {
        this.#moveTo('closed');
        this.#stream.end(error.reply);
        const timer = setTimeout(() => void this.destroy(), FAREWELL_TIMEOUT_MS);
        await this.#closed;
        clearTimeout(timer);
        return;
      }
    } else if (error instanceof ConnectionGone) {
      // Nothing to tell anybody: the client left, or the gateway dropped it.
    } else {
      this.log(`unexpected failure while serving ${this.#clientHost}: ${(error as Error).stack ?? String(error)}`);
    }
    await this.destroy();
  }

  #noteSocketError(side: string, error: NodeJS.ErrnoException): void {
    if (error.code === 'ECONNRESET' || error.code === 'EPIPE') return; // the peer went away: the close that follows ends the connection
    this.log(`${side} socket error: ${error.code ?? error.message}`);
  }
}

/**
 * Holds at most this much a client sent ahead during its login (more than the largest startup
 * packet plus the largest password message); beyond it the client waits, as TCP makes it wait
 * for a server that does not read.
 */
const MAX_UNREAD_LOGIN_BYTES = 128 * 1024;

/**
 * Reads whole packets from a stream during the login: `read(n)` resolves with exactly n bytes.
 * `detach` hands back what was received but not read, and leaves the stream paused for the next
 * reader (the TLS session, or the relay).
 */
class PacketReader {
  #buffer: Buffer = Buffer.alloc(0);
  #detached = false;
  #waiting: { bytes: number; peek: boolean; resolve: (data: Buffer) => void; reject: (error: Error) => void } | undefined;
  #failure: Error | undefined;
  readonly #onData = (chunk: Buffer) => {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    if (this.#buffer.length >= MAX_UNREAD_LOGIN_BYTES) this.stream.pause();
    this.#settle();
  };
  readonly #onEnd = () => this.fail(new ConnectionGone('the client closed the connection'));

  constructor(private readonly stream: Duplex) {
    stream.on('data', this.#onData);
    stream.once('end', this.#onEnd);
    stream.once('close', this.#onEnd);
  }

  read(bytes: number, options: { peek?: boolean } = {}): Promise<Buffer> {
    if (this.#waiting) throw new Error('PacketReader: one read at a time');
    return new Promise((resolve, reject) => {
      this.#waiting = { bytes, peek: options.peek === true, resolve, reject };
      this.#settle();
    });
  }

  async peekByte(): Promise<number> {
    return (await this.read(1, { peek: true }))[0];
  }

  fail(error: Error): void {
    this.#failure ??= error;
    this.#settle();
  }

  detach(): Buffer {
    this.#detached = true;
    this.stream.off('data', this.#onData);
    this.stream.off('end', this.#onEnd);
    this.stream.off('close', this.#onEnd);
    this.stream.pause();
    const unread = this.#buffer;
    this.#buffer = Buffer.alloc(0);
    return unread;
  }

  #settle(): void {
    const waiting = this.#waiting;
    if (!waiting) return;
    if (this.#buffer.length >= waiting.bytes) {
      this.#waiting = undefined;
      const data = this.#buffer.subarray(0, waiting.bytes);
      if (!waiting.peek) this.#buffer = this.#buffer.subarray(waiting.bytes);
      if (!this.#detached && this.stream.isPaused() && this.#buffer.length < MAX_UNREAD_LOGIN_BYTES) this.stream.resume();
      waiting.resolve(data);
    } else if (this.#failure) {
      this.#waiting = undefined;
      waiting.reject(this.#failure);
    }
  }
}
