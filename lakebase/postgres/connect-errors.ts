// Why a connection to PostgreSQL failed, in the user's terms: a stable code and what to do next,
// from what node-postgres (or the socket, or TLS) reported.
import { LakebaseError, isDatabaseError, redactSecrets } from '../errors';

/** Codes of the errors raised while connecting; stable, so callers (and docs) can match on them. */
export const CONNECTION_ERRORS = {
  /** Nothing listens at host:port (a stopped server or Lakebase instance). */
  refused: 'CONNECTION_REFUSED',
  /** The host name does not resolve. */
  hostNotFound: 'HOST_NOT_FOUND',
  /** The network has no route to the host. */
  unreachable: 'HOST_UNREACHABLE',
  /** No answer within the connect timeout. */
  timeout: 'CONNECTION_TIMEOUT',
  /** The server accepts TLS connections only (Lakebase does) and plain text was tried. */
  tlsRequired: 'TLS_REQUIRED',
  /** TLS was required and the server does not offer it. */
  tlsUnavailable: 'TLS_UNAVAILABLE',
  /** The server's certificate is not trusted (unknown CA, wrong host name, expired). */
  tlsCertificate: 'TLS_CERTIFICATE_REJECTED',
  /** The password (or Lakebase token) was refused. */
  authenticationFailed: 'AUTHENTICATION_FAILED',
  /** The server wants a password and none was given. */
  passwordRequired: 'PASSWORD_REQUIRED',
  /** The role (user) does not exist on the server. */
  roleNotFound: 'ROLE_NOT_FOUND',
  /** The database does not exist. */
  databaseNotFound: 'DATABASE_NOT_FOUND',
  /** pg_hba.conf has no line that lets this host/user/database in. */
  notAllowed: 'CONNECTION_NOT_ALLOWED',
  /** The server has no free connection slot. */
  tooManyConnections: 'TOO_MANY_CONNECTIONS',
  /** The server is starting up, shutting down or in recovery. */
  serverNotReady: 'SERVER_NOT_READY',
  /** The user interrupted while connecting. */
  cancelled: 'CONNECT_CANCELLED',
  /** Anything else; the cause says what. */
  failed: 'CONNECTION_FAILED',
} as const;

/**
 * Whether a failed attempt should be retried with the other transport (libpq's sslmode prefer and
 * allow): over TLS, the server offers no TLS or the handshake broke; over plain text, pg_hba.conf
 * accepts only encrypted connections ("... no encryption", SQLSTATE 28000).
 */
export function isTransportRefusal(error: unknown, usedTls: boolean): boolean {
  if (usedTls) {
    if (isDatabaseError(error)) return false;
    const message = error instanceof Error ? error.message : '';
    const code = errorCode(error);
    return /does not support SSL|error establishing an SSL connection/i.test(message) || code === 'EPROTO' || code.startsWith('ERR_SSL');
  }
  return isDatabaseError(error) && error.code === '28000' && /pg_hba\.conf/.test(error.message);
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

const CERTIFICATE_ERROR_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * What a failed connection attempt means for the user, with a stable code and what to do next.
 * Errors that are already ours (e.g. from a password function minting a Lakebase token) pass through.
 * Exported so that instance connections can add their own context on top.
 */
export function connectionFailure(error: unknown, description: string): LakebaseError {
  if (error instanceof LakebaseError) return error;
  const fail = (code: string, message: string, hint?: string) =>
    new LakebaseError(code, `Could not connect to ${description}: ${message}`, { hint, cause: error });
  const message = error instanceof Error ? error.message : String(error);
  if (isDatabaseError(error)) {
    switch (error.code) {
      case '28P01':
        return fail(
          CONNECTION_ERRORS.authenticationFailed,
          redactSecrets(message),
          'Check the password. For Lakebase, the token must be minted for this same identity, and be unexpired at login.',
        );
      case '28000':
        if (/no encryption/i.test(message)) {
          return fail(CONNECTION_ERRORS.tlsRequired, 'the server accepts only TLS connections.', 'Connect with sslmode=require (or verify-full).');
        }
        if (/role .* does not exist/i.test(message)) {
          return fail(
            CONNECTION_ERRORS.roleNotFound,
            message,
            'Check the user name. On Lakebase, a role must be created for this identity first (the roles API, or databricks_create_role).',
          );
        }
        if (/authentication failed/i.test(message)) {
          return fail(CONNECTION_ERRORS.authenticationFailed, message, 'Check the password (for Lakebase: a token of this identity).');
        }
        return fail(CONNECTION_ERRORS.notAllowed, message, "The server's pg_hba.conf does not let this host, user and database in.");
      case '3D000':
        return fail(CONNECTION_ERRORS.databaseNotFound, message, 'Check the database name (Lakebase: databricks_postgres), or create it.');
      case '53300':
        return fail(CONNECTION_ERRORS.tooManyConnections, message, 'Close unused sessions, or wait for connections to be released.');
      case '57P03':
        return fail(CONNECTION_ERRORS.serverNotReady, message, 'The server is starting or stopping; try again in a moment.');
      default:
        return fail(CONNECTION_ERRORS.failed, `${message} (SQLSTATE ${error.code}).`);
    }
  }
  const code = errorCode(error);
  if (code === 'ECONNREFUSED') {
    return fail(
      CONNECTION_ERRORS.refused,
      'connection refused.',
      'Is the server running and listening there? A stopped Lakebase instance refuses connections: start it first.',
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') {
    return fail(CONNECTION_ERRORS.hostNotFound, 'the host name does not resolve.', 'Check the host name (for Lakebase, the instance\'s read_write_dns).');
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return fail(CONNECTION_ERRORS.unreachable, 'no route to the host.', 'Check the network (VPN, firewall) between here and the server.');
  }
  if (code === 'ETIMEDOUT' || /timeout expired|connection timeout/i.test(message)) {
    return fail(
      CONNECTION_ERRORS.timeout,
      'no answer within the connect timeout.',
      'Check the host and port, and any firewall; raise connect_timeout (PGCONNECT_TIMEOUT) for slow networks.',
    );
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || /terminated unexpectedly/i.test(message)) {
    return fail(
      CONNECTION_ERRORS.failed,
      'the connection was closed while logging in.',
      'Is the server up? A proxy or firewall in between may be dropping the connection.',
    );
  }
  if (/does not support SSL/i.test(message)) {
    return fail(CONNECTION_ERRORS.tlsUnavailable, 'the server does not offer TLS.', 'Use sslmode=prefer or disable for this server (Lakebase always offers TLS).');
  }
  if (CERTIFICATE_ERROR_CODES.has(code)) {
    return fail(
      CONNECTION_ERRORS.tlsCertificate,
      `the server's certificate is not trusted (${message}).`,
      'Point sslrootcert (PGSSLROOTCERT) at the CA certificate that signed it, or use sslmode=require to encrypt without verifying.',
    );
  }
  if (/password must be a string/i.test(message)) {
    return fail(
      CONNECTION_ERRORS.passwordRequired,
      'the server asks for a password and none was given.',
      'Set PGPASSWORD or a ~/.pgpass line; avoid typing passwords into a notebook, which saves them.',
    );
  }
  return fail(CONNECTION_ERRORS.failed, `${redactSecrets(message)}.`);
}
