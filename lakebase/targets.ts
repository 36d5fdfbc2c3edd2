// What a user typed to say where to connect — a `postgres://` URL, a libpq `key=value` string,
// the standard `PG*` environment variables, or explicit options — turned into a `pg.ClientConfig`
// and a description that is safe to show. libpq is the reference throughout, so that whatever works
// for `psql` works here: the same parameter names, the same precedence (what was typed, then the
// environment, then defaults) and the same `sslmode` semantics.
// https://www.postgresql.org/docs/current/libpq-connect.html
import { readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { ClientConfig } from 'pg';
import type { ConnectionOptions } from 'node:tls';
import { readKeywordValue, urlUserInfo } from './connection-syntax';
import { LakebaseError } from './errors';
import { CONNECTION_ERRORS } from './postgres/connect-errors';

/** libpq's `sslmode` values (https://www.postgresql.org/docs/current/libpq-ssl.html#LIBPQ-SSL-PROTECTION). */
export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** Stable codes of the errors this module raises. */
export const TARGET_ERRORS = {
  /** The URL or `key=value` string cannot be read. */
  invalid: 'TARGET_INVALID',
  /** A parameter libpq knows but this kernel does not support (it would otherwise be ignored). */
  unsupported: 'TARGET_UNSUPPORTED',
  /** A certificate or key file named by `sslrootcert`/`sslcert`/`sslkey` cannot be read. */
  fileUnreadable: 'TARGET_FILE_UNREADABLE',
} as const;

/** Sent as `application_name` unless the user names one, so DBAs can tell our sessions apart. */
export const DEFAULT_APPLICATION_NAME = 'lakebase-kernel';

/**
 * Seconds to wait for a connection when neither `connect_timeout` nor `PGCONNECT_TIMEOUT` says.
 * libpq waits forever; a notebook cell that hangs on an unreachable host helps nobody, and this is
 * long enough for a TLS handshake plus a token being minted by the password function.
 */
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 30;

/** Explicit options, named as libpq names its connection parameters. All are optional. */
export interface TargetOptions {
  host?: string;
  port?: number | string;
  /** libpq's `dbname`. */
  database?: string;
  user?: string;
  /** Prefer the environment, a passfile or a prompt: a password typed into a notebook is saved in it. */
  password?: string;
  sslmode?: string;
  /** CA certificate file (PEM) to trust, or `system` for the system's trusted roots. */
  sslrootcert?: string;
  /** Client certificate and key files (PEM), for servers that ask for one. */
  sslcert?: string;
  sslkey?: string;
  /** Seconds; 0 waits forever (libpq). */
  connectTimeout?: number | string;
  applicationName?: string;
  /** Server options sent at startup, e.g. `-c search_path=app`. */
  options?: string;
  /** Password file (`~/.pgpass` format); default `PGPASSFILE` or `~/.pgpass`. */
  passfile?: string;
  /** `disable`, `prefer` or `require`: SCRAM channel binding (`require` is not enforced by node-postgres). */
  channelBinding?: string;
}

/** What a user typed; every part is optional (nothing at all means the environment and defaults). */
export interface TargetInput {
  /** `postgres://…`, `postgresql://…`, or a libpq `key=value …` string. */
  connectionString?: string;
  /** Explicit options; they win over the connection string. */
  options?: TargetOptions;
  /**
   * Asked for a password when the server wants one and none is configured anywhere (the way psql
   * prompts). Called at most once per target; the answer is kept for reconnects.
   */
  askPassword?: (prompt: string) => Promise<string>;
}

/** What the resolution reads from the machine; injected so tests need not touch the real one. */
export interface TargetEnvironment {
  env: Readonly<Record<string, string | undefined>>;
  readFile(path: string): Buffer;
  homeDir(): string;
  /** The OS user name, libpq's default user. */
  osUser(): string;
}

export const processEnvironment: TargetEnvironment = {
  env: process.env,
  readFile: (path) => readFileSync(path),
  homeDir: () => homedir(),
  osUser: () => {
    try {
      return userInfo().username;
    } catch {
      // A uid with no passwd entry (some containers) has no name to ask for; the login name in
      // $USER, or PostgreSQL's customary superuser, is the useful guess.
      return process.env.USER ?? process.env.LOGNAME ?? 'postgres';
    }
  },
};

/** Where to connect, ready for `openSession` (`lakebase/session.ts`). */
export interface ConnectionTarget {
  /** Every field set explicitly, so node-postgres does not fill gaps from `PG*` variables itself. */
  config: ClientConfig;
  /** `user@host:port/database`, never a password. */
  description: string;
  sslMode: SslMode;
  /**
   * The `ssl` setting to try once more with when the first attempt fails at the transport level:
   * `false` for `prefer` (the server does not offer TLS), TLS for `allow` (the server requires it).
   */
  sslFallback?: ClientConfig['ssl'];
}

/** The parameters as libpq names them, from the URL, a `key=value` string or the options. */
interface Parameters {
  host?: string;
  port?: string;
  dbname?: string;
  user?: string;
  password?: string;
  sslmode?: string;
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
  connect_timeout?: string;
  application_name?: string;
  options?: string;
  passfile?: string;
  channel_binding?: string;
}

const PARAMETER_NAMES: readonly (keyof Parameters)[] = [
  'host',
  'port',
  'dbname',
  'user',
  'password',
  'sslmode',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'connect_timeout',
  'application_name',
  'options',
  'passfile',
  'channel_binding',
];

/** libpq spellings accepted for the same parameter. */
const PARAMETER_ALIASES: Readonly<Record<string, keyof Parameters>> = {
  database: 'dbname',
  fallback_application_name: 'application_name',
};

/** libpq's environment variables for each parameter (https://www.postgresql.org/docs/current/libpq-envars.html). */
const ENVIRONMENT_VARIABLES: Readonly<Record<keyof Parameters, string>> = {
  host: 'PGHOST',
  port: 'PGPORT',
  dbname: 'PGDATABASE',
  user: 'PGUSER',
  password: 'PGPASSWORD',
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  application_name: 'PGAPPNAME',
  options: 'PGOPTIONS',
  passfile: 'PGPASSFILE',
  channel_binding: 'PGCHANNELBINDING',
};

/** True when the `PG*` variables say where to connect (any of host, port, database, user). */
export function hasPgEnvironment(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  return ['PGHOST', 'PGPORT', 'PGDATABASE', 'PGUSER'].some((name) => (env[name] ?? '') !== '');
}

/**
 * Resolves what the user typed into a connection target. Precedence: explicit options, then the
 * connection string, then `PG*` variables, then libpq's defaults (host `localhost`, port 5432, the
 * OS user, a database named like the user, `sslmode=prefer`). Certificate files are read now, so a
 * wrong path fails here with a clear error rather than at the first connection.
 */
export function resolveTarget(input: TargetInput = {}, environment: TargetEnvironment = processEnvironment): ConnectionTarget {
  const fromString = input.connectionString === undefined ? {} : parseConnectionString(input.connectionString);
  const typed: Parameters = { ...fromString, ...fromOptions(input.options ?? {}) };
  const parameters: Parameters = {};
  for (const name of PARAMETER_NAMES) {
    const value = typed[name] ?? nonEmpty(environment.env[ENVIRONMENT_VARIABLES[name]]);
    if (value !== undefined) parameters[name] = value;
  }

  const host = parameters.host ?? 'localhost';
  const port = parsePort(parameters.port ?? '5432');
  const user = parameters.user ?? environment.osUser();
  const database = parameters.dbname ?? user;
  const isSocket = host.startsWith('/');
  const { sslMode, ssl, sslFallback } = tlsSettings(parameters, isSocket, environment);
  const description = describeTarget({ host, port, user, database });

  const config: ClientConfig = {
    host,
    port,
    user,
    database,
    password: passwordSource({ parameters, host, port, user, database, description, environment, askPassword: input.askPassword }),
    ssl,
    application_name: parameters.application_name ?? DEFAULT_APPLICATION_NAME,
    connectionTimeoutMillis: connectTimeoutMillis(parameters.connect_timeout),
    // libpq turns TCP keepalives on by default; they let a dead server be noticed between cells.
    keepAlive: true,
  };
  if (parameters.options !== undefined) config.options = parameters.options;
  if (parameters.channel_binding !== undefined) config.enableChannelBinding = channelBinding(parameters.channel_binding);

  const target: ConnectionTarget = { config, description, sslMode };
  if (sslFallback !== undefined) target.sslFallback = sslFallback;
  return target;
}

/** `user@host:port/database`; IPv6 addresses in brackets, as in a URL. */
export function describeTarget(where: { host: string; port: number; user: string; database: string }): string {
  const host = isIP(where.host) === 6 ? `[${where.host}]` : where.host;
  return `${where.user}@${host}:${where.port}/${where.database}`;
}

// ---------------------------------------------------------------------------------------------
// Connection strings

/** A URL (`postgres://` or `postgresql://`) or a libpq `key=value` string, into parameters. */
export function parseConnectionString(text: string): Parameters {
  const trimmed = text.trim();
  if (/^postgres(?:ql)?:\/\//i.test(trimmed)) return parseUrl(trimmed);
  if (/^[A-Za-z_]+\s*=/.test(trimmed)) return parseKeywordValue(trimmed);
  throw new LakebaseError(TARGET_ERRORS.invalid, `Cannot read the connection target "${shorten(trimmed)}".`, {
    hint: 'Use a URL such as postgresql://user@host:5432/database?sslmode=require, or key=value pairs such as "host=... dbname=... user=...".',
  });
}

/**
 * libpq's URI form: `postgresql://[user[:password]@][host][:port][/dbname][?param=value&...]`,
 * percent-encoded parts, `[v6]` hosts, and a Unix-socket directory as an encoded host
 * (`postgresql://%2Fvar%2Frun%2Fpostgresql/db`) or as `?host=/dir`. The user info is read by
 * `urlUserInfo`, which the secret redaction shares.
 */
function parseUrl(text: string): Parameters {
  const authority = text.indexOf('://') + 3;
  const credentials = urlUserInfo(text, authority, text.length);
  if (credentials?.needsEncoding) {
    // Saying no more than this: echoing the URL would show part of the password.
    throw new LakebaseError(TARGET_ERRORS.invalid, 'The connection URL has an "@" or "/" inside its user name or password.', {
      hint: 'Percent-encode them there: "@" as %40 and "/" as %2F.',
    });
  }
  const rest = text.slice(credentials?.hostStart ?? authority);
  const match = /^(\[[^\]]*\]|[^:/?#]*)(?::([^/?#]*))?(?:\/([^?#]*))?(?:\?([^#]*))?(?:#.*)?$/.exec(rest);
  if (match === null) {
    throw new LakebaseError(TARGET_ERRORS.invalid, `The connection URL "${shorten(text)}" is not a valid postgresql:// URL.`, {
      hint: 'The form is postgresql://user@host:5432/database?sslmode=require (percent-encode special characters).',
    });
  }
  const [, hostPart, portPart, databasePart, queryPart] = match;
  const parameters: Parameters = {};
  if (credentials !== undefined) {
    const { user, password } = credentials;
    if (user.end > user.start) parameters.user = decode(text.slice(user.start, user.end), 'user name');
    if (password !== undefined) parameters.password = decode(text.slice(password.start, password.end), 'password');
  }
  if (hostPart.includes(',') || (portPart ?? '').includes(',')) {
    throw new LakebaseError(TARGET_ERRORS.unsupported, 'Connection URLs with several hosts are not supported.', {
      hint: 'Name one host; for a Lakebase instance use its read_write_dns.',
    });
  }
  if (hostPart !== '') {
    parameters.host = hostPart.startsWith('[') ? hostPart.slice(1, -1) : decode(hostPart, 'host');
  }
  if (portPart !== undefined && portPart !== '') parameters.port = portPart;
  if (databasePart !== undefined && databasePart !== '') parameters.dbname = decode(databasePart, 'database name');
  for (const pair of (queryPart ?? '').split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    if (equals < 0) {
      throw new LakebaseError(TARGET_ERRORS.invalid, `The URL parameter "${shorten(pair)}" has no value.`, {
        hint: 'Write parameters as name=value, e.g. ?sslmode=require.',
      });
    }
    setParameter(parameters, decode(pair.slice(0, equals), 'parameter name'), decode(pair.slice(equals + 1), 'parameter value'));
  }
  return parameters;
}

/**
 * libpq's keyword/value form: `host=localhost port=5432 dbname='my db'`, values optionally in
 * single quotes, backslash escaping `'` and `\` (https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-KEYWORD-VALUE).
 */
function parseKeywordValue(text: string): Parameters {
  const parameters: Parameters = {};
  let index = 0;
  const skipSpaces = () => {
    while (index < text.length && /\s/.test(text[index])) index++;
  };
  for (skipSpaces(); index < text.length; skipSpaces()) {
    const keyStart = index;
    while (index < text.length && /[A-Za-z0-9_]/.test(text[index])) index++;
    const key = text.slice(keyStart, index);
    skipSpaces();
    if (key === '' || text[index] !== '=') {
      throw new LakebaseError(TARGET_ERRORS.invalid, `Expected "name=value" at "${shorten(text.slice(keyStart))}".`, {
        hint: 'Separate pairs with spaces and quote values with spaces in single quotes: dbname=\'my db\'.',
      });
    }
    index++;
    skipSpaces();
    const { value, span, closed } = readKeywordValue(text, index);
    if (!closed) {
      throw new LakebaseError(TARGET_ERRORS.invalid, `The quoted value of "${key}" is not closed.`, {
        hint: "Close the value with a single quote; write \\' for a quote inside it.",
      });
    }
    index = span.end;
    setParameter(parameters, key, value);
  }
  return parameters;
}

function setParameter(parameters: Parameters, rawName: string, value: string): void {
  const name = PARAMETER_ALIASES[rawName] ?? rawName;
  if (!(PARAMETER_NAMES as readonly string[]).includes(name)) {
    // libpq refuses unknown parameters too; quietly ignoring one (say `target_session_attrs`)
    // would connect somewhere other than where the user asked.
    throw new LakebaseError(TARGET_ERRORS.unsupported, `The connection parameter "${rawName}" is not supported.`, {
      hint: `Supported: ${PARAMETER_NAMES.join(', ')}.`,
    });
  }
  parameters[name as keyof Parameters] = value;
}

function fromOptions(options: TargetOptions): Parameters {
  const parameters: Parameters = {};
  const set = (name: keyof Parameters, value: string | number | undefined) => {
    if (value !== undefined && value !== '') parameters[name] = String(value);
  };
  set('host', options.host);
  set('port', options.port);
  set('dbname', options.database);
  set('user', options.user);
  set('password', options.password);
  set('sslmode', options.sslmode);
  set('sslrootcert', options.sslrootcert);
  set('sslcert', options.sslcert);
  set('sslkey', options.sslkey);
  set('connect_timeout', options.connectTimeout);
  set('application_name', options.applicationName);
  set('options', options.options);
  set('passfile', options.passfile);
  set('channel_binding', options.channelBinding);
  return parameters;
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch (error) {
    throw new LakebaseError(TARGET_ERRORS.invalid, `The ${what} in the connection URL has an invalid %-escape.`, {
      hint: 'Percent-encode special characters, e.g. %40 for @ and %2F for /.',
      cause: error,
    });
  }
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text.trim()) || port < 1 || port > 65535) {
    throw new LakebaseError(TARGET_ERRORS.invalid, `The port "${shorten(text)}" is not a number between 1 and 65535.`, {
      hint: 'PostgreSQL listens on 5432 unless configured otherwise.',
    });
  }
  return port;
}

/** libpq: 0 or less waits forever, and a timeout under 2 seconds is raised to 2. */
function connectTimeoutMillis(text: string | undefined): number {
  if (text === undefined) return DEFAULT_CONNECT_TIMEOUT_SECONDS * 1000;
  const seconds = Number(text);
  if (!Number.isInteger(seconds)) {
    throw new LakebaseError(TARGET_ERRORS.invalid, `connect_timeout "${shorten(text)}" is not a whole number of seconds.`, {
      hint: 'Use e.g. connect_timeout=10, or 0 to wait forever.',
    });
  }
  return seconds <= 0 ? 0 : Math.max(seconds, 2) * 1000;
}

function channelBinding(text: string): boolean {
  switch (text) {
    case 'disable':
      return false;
    case 'prefer':
    case 'require':
      return true;
    default:
      throw new LakebaseError(TARGET_ERRORS.invalid, `channel_binding "${shorten(text)}" is not one of disable, prefer, require.`);
  }
}

// ---------------------------------------------------------------------------------------------
// TLS

interface TlsSettings {
  sslMode: SslMode;
  ssl: ClientConfig['ssl'];
  sslFallback?: ClientConfig['ssl'];
}

/**
 * libpq's sslmode on node's `tls` options:
 * - `disable`: plain text. `allow`: plain text, TLS if the server insists. `prefer` (the default):
 *   TLS without verification, plain text if the server offers no TLS. `require`: TLS without
 *   verification — but with a root certificate given it verifies the chain, as libpq does for
 *   backward compatibility. `verify-ca`: chain checked, host name not. `verify-full`: both.
 * - `sslrootcert` is a PEM file to trust instead of the built-in roots, or `system` (PostgreSQL 16)
 *   for the system's roots, which implies and requires `verify-full`.
 * - Unix sockets never use TLS (libpq ignores sslmode there).
 */
function tlsSettings(parameters: Parameters, isSocket: boolean, environment: TargetEnvironment): TlsSettings {
  const rootCert = parameters.sslrootcert;
  const systemRoots = rootCert === 'system';
  const requested = parameters.sslmode ?? (systemRoots ? 'verify-full' : 'prefer');
  if (!(SSL_MODES as readonly string[]).includes(requested)) {
    throw new LakebaseError(TARGET_ERRORS.invalid, `sslmode "${shorten(requested)}" is not one of ${SSL_MODES.join(', ')}.`, {
      hint: 'Lakebase accepts TLS only: use sslmode=require (or verify-full with the CA certificate).',
    });
  }
  let sslMode = requested as SslMode;
  if (systemRoots && sslMode !== 'verify-full') {
    throw new LakebaseError(TARGET_ERRORS.invalid, `sslmode "${sslMode}" cannot be used with sslrootcert=system.`, {
      hint: 'With the system roots, use sslmode=verify-full (as libpq requires).',
    });
  }
  if (isSocket) return { sslMode, ssl: false };

  const rootFile = rootCert !== undefined && !systemRoots ? rootCert : undefined;
  if (sslMode === 'require' && rootFile !== undefined) sslMode = 'verify-ca';

  const base: ConnectionOptions = {};
  if (rootFile !== undefined) base.ca = readPem(rootFile, 'sslrootcert', environment);
  if (parameters.sslcert !== undefined) base.cert = readPem(parameters.sslcert, 'sslcert', environment);
  const key = parameters.sslkey === undefined ? undefined : readPem(parameters.sslkey, 'sslkey', environment);
  const tls = (options: ConnectionOptions): ConnectionOptions => {
    const combined = { ...base, ...options };
    // A private key is a secret: kept out of `inspect` and JSON, as node-postgres does.
    if (key !== undefined) Object.defineProperty(combined, 'key', { value: key, enumerable: false });
    return combined;
  };

  switch (sslMode) {
    case 'disable':
      return { sslMode, ssl: false };
    case 'allow':
      return { sslMode, ssl: false, sslFallback: tls({ rejectUnauthorized: false }) };
    case 'prefer':
      return { sslMode, ssl: tls({ rejectUnauthorized: false }), sslFallback: false };
    case 'require':
      return { sslMode, ssl: tls({ rejectUnauthorized: false }) };
    case 'verify-ca':
      // The chain must lead to a trusted root, whatever name the certificate is for.
      return { sslMode, ssl: tls({ rejectUnauthorized: true, checkServerIdentity: () => undefined }) };
    case 'verify-full':
      return { sslMode, ssl: tls({ rejectUnauthorized: true }) };
  }
}

function readPem(path: string, parameter: string, environment: TargetEnvironment): Buffer {
  try {
    return environment.readFile(expandHome(path, environment));
  } catch (error) {
    throw new LakebaseError(TARGET_ERRORS.fileUnreadable, `Cannot read the ${parameter} file "${path}".`, {
      hint: `Check the path (set by ${parameter} or ${ENVIRONMENT_VARIABLES[parameter as keyof Parameters]}) and that this process may read it.`,
      cause: error,
    });
  }
}

function expandHome(path: string, environment: TargetEnvironment): string {
  return path === '~' || path.startsWith('~/') ? join(environment.homeDir(), path.slice(1)) : path;
}

// ---------------------------------------------------------------------------------------------
// Passwords

interface PasswordContext {
  parameters: Parameters;
  host: string;
  port: number;
  user: string;
  database: string;
  description: string;
  environment: TargetEnvironment;
  askPassword?: (prompt: string) => Promise<string>;
}

/**
 * A password *function*, never the password itself: the config can then be logged or inspected
 * without leaking it, and node-postgres calls it only when the server asks for a password — which
 * is also when libpq reads the passfile. Order: typed or `PGPASSWORD`, then the passfile, then
 * asking the user (once; the answer is kept for reconnects); with none of these, a
 * `PASSWORD_REQUIRED` error that says where to put one.
 */
function passwordSource(context: PasswordContext): () => Promise<string> {
  const typed = context.parameters.password;
  let asked: Promise<string> | undefined;
  return async () => {
    if (typed !== undefined) return typed;
    const fromFile = readPassfile(context);
    if (fromFile !== undefined) return fromFile;
    if (context.askPassword === undefined) {
      throw new LakebaseError(CONNECTION_ERRORS.passwordRequired, `The server asks for a password for ${context.description} and none is configured.`, {
        hint: 'Set PGPASSWORD, or add a line to ~/.pgpass (host:port:database:user:password, mode 0600). Avoid typing passwords into a notebook: they are saved with it.',
      });
    }
    asked ??= context.askPassword(`Password for ${context.description}: `);
    return asked;
  };
}

function readPassfile(context: PasswordContext): string | undefined {
  const path = expandHome(context.parameters.passfile ?? join(context.environment.homeDir(), '.pgpass'), context.environment);
  let text: string;
  try {
    text = context.environment.readFile(path).toString('utf8');
  } catch (error) {
    // libpq treats a missing or unreadable passfile as "no password there", not as an error.
    if (isFileMissing(error)) return undefined;
    throw new LakebaseError(TARGET_ERRORS.fileUnreadable, `Cannot read the password file "${path}".`, {
      hint: 'Fix its permissions, or point passfile / PGPASSFILE at another file.',
      cause: error,
    });
  }
  return findPassfilePassword(text, context);
}

function isFileMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * The password of the first matching line of a `.pgpass` file: `host:port:database:user:password`,
 * `*` matching anything, `\:` and `\\` escaped, `#` lines ignored. As libpq does, `localhost` also
 * matches Unix-socket connections (https://www.postgresql.org/docs/current/libpq-pgpass.html).
 */
export function findPassfilePassword(
  text: string,
  where: { host: string; port: number; database: string; user: string },
): string | undefined {
  const host = where.host.startsWith('/') ? 'localhost' : where.host;
  const wanted = [host, String(where.port), where.database, where.user];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fields = splitPassfileLine(line);
    if (fields.length < 5) continue;
    if (wanted.every((value, i) => fields[i] === '*' || fields[i] === value)) return fields[4];
  }
  return undefined;
}

function splitPassfileLine(line: string): string[] {
  const fields: string[] = [''];
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (char === '\\' && i + 1 < line.length) fields[fields.length - 1] += line[++i];
    else if (char === ':' && fields.length < 5) fields.push('');
    else fields[fields.length - 1] += char;
  }
  return fields;
}

// ---------------------------------------------------------------------------------------------

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Enough of what was typed to recognise it, with any password redacted by `LakebaseError`. */
function shorten(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
