// The password service: a RADIUS responder to which every instance server delegates its password
// checks (pg_hba.conf method `radius`), so that short-lived database tokens work as passwords.
//
// Why RADIUS and not a front proxy (issue 3 asks to choose): with RADIUS, PostgreSQL itself
// terminates TLS, answers cancel requests, applies pg_hba.conf and reports errors; the emulator
// only says yes or no to (user, password) at login, and no byte of a query ever passes through
// Node. A proxy would have to speak the startup, TLS, SCRAM/cleartext and cancel protocols and sit
// in the path of every row. The costs, recorded in `fidelity.ts`:
//  - a refused login reads `RADIUS authentication failed for user "…"` with SQLSTATE 28000, where
//    real Lakebase says `password authentication failed for user "…"` with 28P01: PostgreSQL
//    reserves 28P01 for its own password methods (auth.c, auth_failed);
//  - PostgreSQL sends at most RADIUS_MAX_PASSWORD_LENGTH (128) characters and refuses longer
//    passwords without asking us, so emulator tokens must be at most that long;
//  - PostgreSQL waits RADIUS_TIMEOUT (3 s) for the answer, so `check` must answer faster.
//
// Wire format: RFC 2865 Access-Request → Access-Accept / Access-Reject, encoded and decoded by the
// `radius` package (which also verifies the request authenticator and decrypts User-Password).
import { createSocket, RemoteInfo, Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import radius from 'radius';

/** PostgreSQL's limit (src/backend/libpq/auth.c, RADIUS_MAX_PASSWORD_LENGTH): longer tokens cannot log in. */
export const RADIUS_MAX_PASSWORD_LENGTH = 128;
/** How long PostgreSQL waits for our answer before failing the login (auth.c, RADIUS_TIMEOUT). */
export const RADIUS_TIMEOUT_MS = 3000;

/** What the instance server told us about itself (its pg_hba `radiusidentifiers`, sent as NAS-Identifier). */
export interface PasswordCheckContext {
  /** The address of the instance server asking, e.g. `127.0.3.7`: tells which instance is logged in to. */
  instanceAddress: string;
}

export type PasswordCheck = (user: string, password: string, context: PasswordCheckContext) => boolean | Promise<boolean>;

export interface PasswordService {
  readonly port: number;
  /** The RADIUS shared secret for pg_hba.conf. Not enumerable: it never shows in logs or `inspect`. */
  readonly secret: string;
  close(): Promise<void>;
}

export interface PasswordServiceOptions {
  /** UDP port on 127.0.0.1; default 0 (a free port, chosen again at every emulator start). */
  port?: number;
  /** Diagnostics (refused packets, failing checks). Never receives a password or the secret. */
  log?: (line: string) => void;
}

/**
 * Starts the RADIUS responder on 127.0.0.1. `check` decides each login; if it throws, the login
 * is refused and the failure logged, and the service keeps answering.
 */
export async function startPasswordService(check: PasswordCheck, options: PasswordServiceOptions = {}): Promise<PasswordService> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options.port ?? 0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return new RadiusPasswordService(socket, randomBytes(24).toString('hex'), check, options.log ?? (() => {}));
}

class RadiusPasswordService implements PasswordService {
  readonly port: number;
  readonly #secret: string;
  #closed: Promise<void> | undefined;

  constructor(private readonly socket: Socket, secret: string, private readonly check: PasswordCheck, private readonly log: (line: string) => void) {
    this.port = socket.address().port;
    this.#secret = secret;
    socket.on('message', (packet, sender) => {
      this.answer(packet, sender).catch((error: unknown) => this.log(`password service: could not answer ${sender.address}:${sender.port}: ${describe(error)}`));
    });
    // A UDP socket only errors on local trouble (e.g. the send buffer); log it and keep serving.
    socket.on('error', (error) => this.log(`password service: socket error: ${describe(error)}`));
  }

  get secret(): string {
    return this.#secret;
  }

  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => this.socket.close(() => resolve()));
    return this.#closed;
  }

  toJSON(): { port: number } {
    return { port: this.port };
  }

  private async answer(packet: Buffer, sender: RemoteInfo): Promise<void> {
    let request: radius.RadiusPacket;
    try {
      request = radius.decode({ packet, secret: this.#secret });
    } catch (error) {
      // Not a RADIUS packet (or a Message-Authenticator that does not verify): RFC 2865 §3 says
      // to drop it silently; PostgreSQL then times out and refuses the login. A request from a
      // server holding another secret decodes, but its password decrypts to garbage and our
      // answer fails PostgreSQL's response check: refused either way.
      this.log(`password service: dropped an undecodable packet from ${sender.address}:${sender.port}: ${describe(error)}`);
      return;
    }
    if (request.code !== 'Access-Request') {
      this.log(`password service: dropped a ${request.code} packet from ${sender.address}:${sender.port}; only Access-Request is served`);
      return;
    }
    const accepted = await this.decide(request);
    const response = radius.encode_response({ packet: request, code: accepted ? 'Access-Accept' : 'Access-Reject', secret: this.#secret });
    await new Promise<void>((resolve, reject) => this.socket.send(response, sender.port, sender.address, (error) => (error ? reject(error) : resolve())));
  }

  private async decide(request: radius.RadiusPacket): Promise<boolean> {
    const attributes = request.attributes as Record<string, unknown>;
    const user = attributes['User-Name'];
    const password = attributes['User-Password'];
    const instanceAddress = attributes['NAS-Identifier'];
    if (typeof user !== 'string' || typeof password !== 'string') {
      this.log('password service: refused a request without User-Name or User-Password');
      return false;
    }
    try {
      return (await this.check(user, password, { instanceAddress: typeof instanceAddress === 'string' ? instanceAddress : '' })) === true;
    } catch (error) {
      this.log(`password service: the check for user "${user}" failed, login refused: ${describe(error)}`);
      return false;
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
