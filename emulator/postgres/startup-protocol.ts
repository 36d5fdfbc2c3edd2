// The start of the PostgreSQL frontend/backend protocol, as far as the login gateway
// (`login-gateway.ts`) must speak it before it relays bytes: it reads SSLRequest, GSSENCRequest,
// CancelRequest, StartupMessage and PasswordMessage, and writes the single-byte SSL/GSS answers,
// AuthenticationCleartextPassword, NegotiateProtocolVersion and ErrorResponse. Everything else
// (AuthenticationOk, ParameterStatus, BackendKeyData, ReadyForQuery, queries) is PostgreSQL's own
// bytes, relayed unread. `pg-protocol` has no server side, hence this file.
//
// References are to the PostgreSQL 18 documentation, chapter "Frontend/Backend Protocol" (sections
// "Message Flow" → "Start-up", "SSL Session Encryption", "GSSAPI Session Encryption", "Canceling
// Requests in Progress", "Message Formats", "Error and Notice Message Fields") and to the server
// source that decides what a real server answers (backend_startup.c ProcessStartupPacket, auth.c).
// Refusals are worded, coded and located exactly as PostgreSQL 18.4 sends them, so that a client
// cannot tell the gateway from the server; `test/emulator-postgres-gateway.test.ts` compares both.
// Pure functions only: no sockets here.
//
// Like the server, this code treats names and values as bytes: they are held as "byte strings"
// (latin1, one character per byte) so that what a client sent comes back in messages and goes on
// to PostgreSQL unchanged, even cut in the middle of a UTF-8 character as the server cuts long
// names. `textOf` turns one into text (UTF-8) where a name is compared or logged.

/** Request codes sent in place of a protocol version ("Message Formats"). */
export const REQUEST_CODE = {
  ssl: 80877103,
  gssEncryption: 80877104,
  cancel: 80877102,
} as const;

/** The protocol versions PostgreSQL 18 speaks: 3.0 to 3.2. */
export const PROTOCOL_MAJOR = 3;
export const LATEST_PROTOCOL_MINOR = 2;

/** MAX_STARTUP_PACKET_LENGTH: the most a startup packet may hold after its length word. */
export const MAX_STARTUP_PACKET_BODY = 10_000;
/** PG_MAX_AUTH_TOKEN_LENGTH: the most a PasswordMessage may hold after its length word. */
export const MAX_PASSWORD_MESSAGE_BODY = 65_535;
/** Cancel keys are 4 bytes in protocol 3.0 and up to 256 bytes from 3.2 (MAX_CANCEL_KEY_LENGTH). */
export const MAX_CANCEL_KEY_BYTES = 256;
/** NAMEDATALEN - 1: PostgreSQL cuts longer user and database names to this many bytes. */
export const MAX_NAME_BYTES = 63;
/** The first byte of a TLS handshake record: a client using direct SSL (PostgreSQL 17+) starts with it. */
export const TLS_HANDSHAKE_RECORD = 0x16;
/** The ALPN protocol a direct-SSL client must offer ("SSL Session Encryption"). */
export const ALPN_PROTOCOL = 'postgresql';

export interface ProtocolVersion {
  major: number;
  minor: number;
}

/** A name/value pair of a StartupMessage, as byte strings. */
export interface StartupParameter {
  name: string;
  value: string;
}

/** A decoded StartupMessage ("Message Formats" → StartupMessage). */
export interface StartupMessage {
  version: ProtocolVersion;
  /** Every name/value pair in order, as sent (a repeated name appears twice; the last one counts). */
  parameters: readonly StartupParameter[];
  /** The role to log in as (a byte string), cut to MAX_NAME_BYTES bytes like the server does. */
  user: string;
  /** The database (a byte string), defaulting to the user name as the server does, cut likewise. */
  database: string;
  /** `replication=true` (or another true value) asks for a physical walsender; `database` for a logical one. */
  replication: 'none' | 'physical' | 'logical';
  /** `_pq_.` names the server does not know (PostgreSQL 18 knows none). */
  unrecognizedProtocolOptions: readonly string[];
  /** The packet as received, length word included. */
  packet: Buffer;
}

/** The first packet of a connection (or the first after an SSL or GSS answer). */
export type InitialPacket =
  | { kind: 'ssl-request' }
  | { kind: 'gss-encryption-request' }
  /** Forwarded to the server unchanged: the process id and secret key are the server's own. */
  | { kind: 'cancel-request'; packet: Buffer }
  | { kind: 'startup'; message: StartupMessage };

/** An ErrorResponse's fields ("Error and Notice Message Fields"); names in it are byte strings. */
export interface ServerError {
  severity: 'FATAL';
  /** SQLSTATE. */
  code: string;
  message: string;
  hint?: string;
  /** Where in PostgreSQL 18.4 the same refusal is raised, sent as the F, L and R fields. */
  source?: { file: string; line: number; routine: string };
}

/**
 * A packet the server would not accept. `reply` is what PostgreSQL sends before it closes the
 * connection (an ErrorResponse), or undefined where it closes without a word (it only logs a
 * "COMMERROR"); `reason` is for the gateway's log.
 */
export class ProtocolViolation extends Error {
  override readonly name = 'ProtocolViolation';
  constructor(
    readonly reason: string,
    readonly reply?: Buffer,
  ) {
    super(reason);
  }
}

/** `host` is the client's address, as PostgreSQL names it in pg_hba.conf messages. */
export type Encryption = 'SSL encryption' | 'no encryption';

/** PostgreSQL 18.4's refusals that the gateway repeats, as data. */
export const POSTGRES_ERRORS = {
  /** A plain-text login on a server whose pg_hba.conf has only `hostssl` lines. */
  noHbaEntry: (host: string, user: string, database: string, encryption: Encryption): ServerError => ({
    severity: 'FATAL',
    code: '28000',
    message: `no pg_hba.conf entry for host "${host}", user "${user}", database "${database}", ${encryption}`,
    source: { file: 'auth.c', line: 537, routine: 'ClientAuthentication' },
  }),
  noHbaEntryForReplication: (host: string, user: string, encryption: Encryption): ServerError => ({
    severity: 'FATAL',
    code: '28000',
    message: `no pg_hba.conf entry for replication connection from host "${host}", user "${user}", ${encryption}`,
    source: { file: 'auth.c', line: 528, routine: 'ClientAuthentication' },
  }),
  /** A `reject` line in pg_hba.conf. */
  hbaRejects: (host: string, user: string, database: string, encryption: Encryption): ServerError => ({
    severity: 'FATAL',
    code: '28000',
    message: `pg_hba.conf rejects connection for host "${host}", user "${user}", database "${database}", ${encryption}`,
    source: { file: 'auth.c', line: 468, routine: 'ClientAuthentication' },
  }),
  /** The refusal of every password method, whatever was wrong (also for a role that does not exist). */
  passwordAuthenticationFailed: (user: string): ServerError => ({
    severity: 'FATAL',
    code: '28P01',
    message: `password authentication failed for user "${user}"`,
    source: { file: 'auth.c', line: 320, routine: 'auth_failed' },
  }),
  emptyPassword: (): ServerError => ({
    severity: 'FATAL',
    code: '28P01',
    message: 'empty password returned by client',
    source: { file: 'auth.c', line: 765, routine: 'recv_password_packet' },
  }),
  expectedPasswordMessage: (type: number): ServerError => ({
    severity: 'FATAL',
    code: '08P01',
    message: `expected password response, got message type ${type}`,
    source: { file: 'auth.c', line: 727, routine: 'recv_password_packet' },
  }),
  invalidPasswordPacketSize: (): ServerError => ({
    severity: 'FATAL',
    code: '08P01',
    message: 'invalid password packet size',
    source: { file: 'auth.c', line: 747, routine: 'recv_password_packet' },
  }),
  unsupportedProtocol: (version: ProtocolVersion): ServerError => ({
    severity: 'FATAL',
    code: '0A000',
    message: `unsupported frontend protocol ${version.major}.${version.minor}: server supports ${PROTOCOL_MAJOR}.0 to ${PROTOCOL_MAJOR}.${LATEST_PROTOCOL_MINOR}`,
    source: { file: 'backend_startup.c', line: 732, routine: 'ProcessStartupPacket' },
  }),
  invalidStartupLayout: (): ServerError => ({
    severity: 'FATAL',
    code: '08P01',
    message: 'invalid startup packet layout: expected terminator as last byte',
    source: { file: 'backend_startup.c', line: 832, routine: 'ProcessStartupPacket' },
  }),
  noUserName: (): ServerError => ({
    severity: 'FATAL',
    code: '28000',
    message: 'no PostgreSQL user name specified in startup packet',
    source: { file: 'backend_startup.c', line: 849, routine: 'ProcessStartupPacket' },
  }),
  invalidReplicationValue: (value: string): ServerError => ({
    severity: 'FATAL',
    code: '22023',
    message: `invalid value for parameter "replication": "${value}"`,
    hint: 'Valid values are: "false", 0, "true", 1, "database".',
    source: { file: 'backend_startup.c', line: 791, routine: 'ProcessStartupPacket' },
  }),
  /** The gateway's own: PostgreSQL behind it is stopping or gone. */
  notAcceptingConnections: (): ServerError => ({
    severity: 'FATAL',
    code: '57P03',
    message: 'the database system is not accepting connections',
  }),
  /**
   * A login to a disabled Lakebase Autoscaling endpoint. The real service's wording is not
   * documented (fidelity.ts, disabled-endpoint-wording); the SQLSTATE is PostgreSQL's
   * cannot_connect_now, which clients already treat as "try again later".
   */
  endpointDisabled: (endpoint: string): ServerError => ({
    severity: 'FATAL',
    code: '57P03',
    message: `the endpoint ${endpoint} is disabled`,
    hint: 'Enable it (update the endpoint with spec.disabled = false), then connect again.',
  }),
} as const;

// ---- reading -----------------------------------------------------------------------------------

/**
 * The length word of an initial packet (it counts itself). Throws when PostgreSQL would drop the
 * connection without answering ("invalid length of startup packet").
 */
export function initialPacketLength(header: Buffer): number {
  const length = header.readInt32BE(0);
  if (length < 8 || length - 4 > MAX_STARTUP_PACKET_BODY) {
    throw new ProtocolViolation(`invalid length of startup packet (${length} bytes)`);
  }
  return length;
}

/**
 * Decodes a whole initial packet (length word included). `state` says which negotiations are
 * behind: after TLS, or after a GSS refusal, a second request of that kind is not a request any
 * more but an unsupported protocol version, as in ProcessStartupPacket.
 */
export function decodeInitialPacket(packet: Buffer, state: { sslDone: boolean; gssDone: boolean }): InitialPacket {
  const code = packet.readUInt32BE(4);
  if (code === REQUEST_CODE.cancel) {
    // process id (4 bytes) + secret key (4 bytes in protocol 3.0, up to 256 from 3.2)
    const keyBytes = packet.length - 12;
    if (keyBytes < 1 || keyBytes > MAX_CANCEL_KEY_BYTES) throw new ProtocolViolation(`invalid length of cancel request packet (${packet.length} bytes)`);
    return { kind: 'cancel-request', packet };
  }
  if (code === REQUEST_CODE.ssl && !state.sslDone) return { kind: 'ssl-request' };
  if (code === REQUEST_CODE.gssEncryption && !state.gssDone) return { kind: 'gss-encryption-request' };
  const version = { major: code >>> 16, minor: code & 0xffff };
  if (version.major !== PROTOCOL_MAJOR) {
    throw new ProtocolViolation(`unsupported protocol ${version.major}.${version.minor}`, encodeErrorResponse(POSTGRES_ERRORS.unsupportedProtocol(version), version.major));
  }
  return { kind: 'startup', message: decodeStartupMessage(packet, version) };
}

function decodeStartupMessage(packet: Buffer, version: ProtocolVersion): StartupMessage {
  const violation = (error: ServerError, reason = error.message) => new ProtocolViolation(reason, encodeErrorResponse(error, version.major));
  // The scan of ProcessStartupPacket: name\0value\0 pairs up to a lone \0 that must be the last byte.
  const parameters: StartupParameter[] = [];
  const end = packet.length;
  let offset = 8;
  while (offset < end) {
    const nameEnd = packet.indexOf(0, offset);
    if (nameEnd === offset) break; // the terminator
    if (nameEnd < 0) {
      offset = end;
      break;
    }
    const valueStart = nameEnd + 1;
    if (valueStart >= end) break; // a name without a value
    const valueEnd = packet.indexOf(0, valueStart);
    if (valueEnd < 0) {
      offset = end;
      break;
    }
    parameters.push({ name: packet.toString('latin1', offset, nameEnd), value: packet.toString('latin1', valueStart, valueEnd) });
    offset = valueEnd + 1;
  }
  if (offset !== end - 1 || packet[end - 1] !== 0) throw violation(POSTGRES_ERRORS.invalidStartupLayout());

  let user = '';
  let database = '';
  let replication: StartupMessage['replication'] = 'none';
  const unrecognizedProtocolOptions: string[] = [];
  for (const { name, value } of parameters) {
    if (name === 'user') user = value;
    else if (name === 'database') database = value;
    else if (name === 'replication') {
      if (value === 'database') replication = 'logical';
      else {
        const wanted = parseBoolean(value);
        if (wanted === undefined) throw violation(POSTGRES_ERRORS.invalidReplicationValue(value));
        replication = wanted ? 'physical' : 'none';
      }
    } else if (name.startsWith('_pq_.')) unrecognizedProtocolOptions.push(name);
  }
  if (user === '') throw violation(POSTGRES_ERRORS.noUserName());
  if (database === '') database = user;
  return {
    version,
    parameters,
    user: truncateName(user),
    database: truncateName(database),
    replication,
    unrecognizedProtocolOptions,
    packet,
  };
}

/** PostgreSQL's parse_bool: true/false/yes/no and unambiguous prefixes, on/off, 1/0, any case. */
function parseBoolean(text: string): boolean | undefined {
  const value = text.toLowerCase();
  const isPrefixOf = (word: string, minimum = 1) => value.length >= minimum && word.startsWith(value);
  if (isPrefixOf('true') || isPrefixOf('yes') || isPrefixOf('on', 2) || value === '1') return true;
  if (isPrefixOf('false') || isPrefixOf('no') || isPrefixOf('off', 2) || value === '0') return false;
  return undefined;
}

/** Cuts a byte string to MAX_NAME_BYTES bytes, as ProcessStartupPacket does (bytes, not characters). */
function truncateName(name: string): string {
  return name.length > MAX_NAME_BYTES ? name.slice(0, MAX_NAME_BYTES) : name;
}

/** The text (UTF-8) a byte string of the protocol holds; invalid sequences become U+FFFD. */
export function textOf(byteString: string): string {
  return Buffer.from(byteString, 'latin1').toString('utf8');
}

/** The 5-byte header of a regular message: type byte and length word (which counts itself). */
export function messageHeader(header: Buffer): { type: number; bodyLength: number } {
  return { type: header[0], bodyLength: header.readInt32BE(1) - 4 };
}

/**
 * Checks a PasswordMessage header before its body is read: a wrong type is refused as the server
 * refuses it; an impossible length closes the connection without a word ("invalid message length").
 */
export function checkPasswordMessageHeader(header: Buffer): number {
  const { type, bodyLength } = messageHeader(header);
  if (type !== 0x70 /* 'p' */) {
    throw new ProtocolViolation(`expected a password message, got message type ${type}`, encodeErrorResponse(POSTGRES_ERRORS.expectedPasswordMessage(type)));
  }
  if (bodyLength < 0 || bodyLength > MAX_PASSWORD_MESSAGE_BODY) throw new ProtocolViolation(`invalid password message length (${bodyLength + 4})`);
  return bodyLength;
}

/** The password of a PasswordMessage body: one NUL-terminated string, not empty (recv_password_packet). */
export function decodePassword(body: Buffer): string {
  const end = body.indexOf(0);
  if (end !== body.length - 1) throw new ProtocolViolation('invalid password packet size', encodeErrorResponse(POSTGRES_ERRORS.invalidPasswordPacketSize()));
  if (end === 0) throw new ProtocolViolation('empty password returned by client', encodeErrorResponse(POSTGRES_ERRORS.emptyPassword()));
  return body.toString('utf8', 0, end);
}

// ---- writing -----------------------------------------------------------------------------------

/** The one-byte answer to SSLRequest or GSSENCRequest: 'S' (go ahead with TLS) or 'N' (not offered). */
export function encryptionResponse(accepted: boolean): Buffer {
  return Buffer.from(accepted ? 'S' : 'N', 'latin1');
}

/** AuthenticationCleartextPassword: 'R', length 8, method 3. */
export function authenticationCleartextPassword(): Buffer {
  const message = Buffer.alloc(9);
  message.write('R', 0, 'latin1');
  message.writeInt32BE(8, 1);
  message.writeInt32BE(3, 5);
  return message;
}

/** NegotiateProtocolVersion: the newest version the server speaks for this client, and the options it ignored. */
export function negotiateProtocolVersion(minor: number, unrecognizedOptions: readonly string[]): Buffer {
  const names = unrecognizedOptions.map((name) => Buffer.from(`${name}\0`, 'latin1'));
  const body = Buffer.alloc(8);
  body.writeUInt32BE((PROTOCOL_MAJOR << 16) | minor, 0);
  body.writeInt32BE(names.length, 4);
  return frame('v', Buffer.concat([body, ...names]));
}

/**
 * ErrorResponse. A client speaking a protocol before 3.0 gets the old form ('E', then the text,
 * NUL-terminated), as PostgreSQL still sends it so that old clients can show why they are refused.
 */
export function encodeErrorResponse(error: ServerError, protocolMajor: number = PROTOCOL_MAJOR): Buffer {
  if (protocolMajor < 3) return Buffer.from(`E${error.severity}:  ${error.message}\n\0`, 'latin1');
  const fields: [string, string][] = [
    ['S', error.severity],
    ['V', error.severity],
    ['C', error.code],
    ['M', error.message],
  ];
  if (error.hint !== undefined) fields.push(['H', error.hint]);
  if (error.source) fields.push(['F', error.source.file], ['L', String(error.source.line)], ['R', error.source.routine]);
  return frame('E', Buffer.concat([...fields.map(([type, value]) => Buffer.from(`${type}${value}\0`, 'latin1')), Buffer.from([0])]));
}

/**
 * The StartupMessage the gateway sends PostgreSQL for a client: the client's own packet, unless
 * the gateway already negotiated the version down (then PostgreSQL must see the agreed version
 * and no `_pq_.` options, or it would negotiate a second time, after authentication), or it forces
 * parameters on the session (`forced` replaces the client's values of those names).
 */
export function startupMessageForServer(message: StartupMessage, forced: Readonly<Record<string, string>> = {}): Buffer {
  const forcedNames = Object.keys(forced);
  if (message.version.minor <= LATEST_PROTOCOL_MINOR && message.unrecognizedProtocolOptions.length === 0 && forcedNames.length === 0) return message.packet;
  const pairs = message.parameters
    .filter(({ name }) => !name.startsWith('_pq_.') && !forcedNames.includes(name))
    .map(({ name, value }) => Buffer.from(`${name}\0${value}\0`, 'latin1'));
  for (const name of forcedNames) pairs.push(Buffer.from(`${name}\0${forced[name]}\0`, 'latin1'));
  return encodeStartupMessage({ major: PROTOCOL_MAJOR, minor: Math.min(message.version.minor, LATEST_PROTOCOL_MINOR) }, pairs);
}

/** Whether the server must answer a StartupMessage with NegotiateProtocolVersion first. */
export function needsNegotiation(message: StartupMessage): boolean {
  return message.version.minor > LATEST_PROTOCOL_MINOR || message.unrecognizedProtocolOptions.length > 0;
}

function encodeStartupMessage(version: ProtocolVersion, pairs: Buffer[]): Buffer {
  const body = Buffer.concat([...pairs, Buffer.from([0])]);
  const header = Buffer.alloc(8);
  header.writeInt32BE(8 + body.length, 0);
  header.writeUInt32BE((version.major << 16) | version.minor, 4);
  return Buffer.concat([header, body]);
}

function frame(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}
