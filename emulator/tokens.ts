// Tokens the emulator issues: database credentials (`POST /credentials`, the Postgres password) and
// OAuth access tokens (`POST /oidc/v1/token`, a workspace bearer). Both are self-contained and
// signed with one secret kept in the data directory (mode 0600): any number of them are valid at
// once (nothing is stored per token), they stay valid across an emulator restart, and a check
// needs only the signature and the claims. Each kind is signed with its own key derived from that
// secret, so one can never stand in for the other.
//
// Database credentials are not JWTs, unlike the real service's: PostgreSQL hands passwords of at
// most 128 characters to the RADIUS password service (RADIUS_MAX_PASSWORD_LENGTH in auth.c) and
// refuses longer ones without asking, while even the smallest signed JWT naming a user is longer.
// So a credential is a compact binary claim set with a truncated HMAC, base64url-encoded (56
// characters for one instance). Clients treat tokens as opaque strings, so nothing changes for them.
// OAuth access tokens travel in HTTP headers only and are ordinary JWTs (HS256, `jose`).
import { createHmac, randomBytes, timingSafeEqual, createHash, randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { DataFileError, readJsonFile, writeJsonFileAtomic } from './files';
import { CREDENTIAL_MAX_INSTANCES } from './limits';

export interface MintedToken {
  /** Secret. */
  token: string;
  expiresAt: Date;
}

/** Why a password was refused; logged by the emulator (never with the token). */
export type CredentialVerdict = 'accepted' | 'malformed' | 'bad-signature' | 'expired' | 'other-identity' | 'other-instance';

export interface TokenService {
  /**
   * A database credential for `identity` (its Postgres role name), valid on the instances with the
   * given uids (at most CREDENTIAL_MAX_INSTANCES). Expiry is rounded up to a whole second and
   * `expiresAt` is exactly it, so client and server agree on the moment of expiry.
   */
  mintDatabaseCredential(identity: string, instanceUids: readonly string[], ttlSeconds: number): Promise<MintedToken>;
  /** The check behind the instances' password service, at login time only. */
  verifyDatabaseCredential(token: string, login: { user: string; instanceUid: string }): Promise<CredentialVerdict>;
  mintAccessToken(identity: string, ttlSeconds: number): Promise<MintedToken>;
  /** The identity an access token was issued to, or `undefined` when it is not a valid one. */
  verifyAccessToken(token: string): Promise<string | undefined>;
}

interface StoredSecret {
  version: 1;
  /** base64 of 32 random bytes. */
  secret: string;
}

const FORMAT_VERSION = 1;
const NONCE_BYTES = 6;
const IDENTITY_DIGEST_BYTES = 9;
const INSTANCE_DIGEST_BYTES = 6;
const MAC_BYTES = 16;
/** version + expiry (uint32 seconds) + nonce + identity digest. */
const HEADER_BYTES = 1 + 4 + NONCE_BYTES + IDENTITY_DIGEST_BYTES;

const ISSUER = 'lakebase-emulator';
const ACCESS_TOKEN_AUDIENCE = 'lakebase-emulator/workspace';

async function loadOrCreateSecret(path: string): Promise<Buffer> {
  const stored = await readJsonFile(path);
  if (stored !== undefined) {
    const secret = (stored as Partial<StoredSecret>).secret;
    if ((stored as Partial<StoredSecret>).version !== 1 || typeof secret !== 'string' || Buffer.from(secret, 'base64').length !== 32) {
      throw new DataFileError(path, 'not a signing secret');
    }
    return Buffer.from(secret, 'base64');
  }
  const secret = randomBytes(32);
  const created: StoredSecret = { version: 1, secret: secret.toString('base64') };
  await writeJsonFileAtomic(path, created, 0o600);
  return secret;
}

function derive(secret: Buffer, purpose: string): Buffer {
  return createHmac('sha256', secret).update(`lakebase-emulator/${purpose}`).digest();
}

function digest(text: string, bytes: number): Buffer {
  return createHash('sha256').update(text).digest().subarray(0, bytes);
}

export async function loadTokenService(secretPath: string, clock: () => number = Date.now): Promise<TokenService> {
  const secret = await loadOrCreateSecret(secretPath);
  const credentialKey = derive(secret, 'database-credential');
  const accessTokenKey = new Uint8Array(derive(secret, 'oauth-access-token'));
  const mac = (body: Buffer) => createHmac('sha256', credentialKey).update(body).digest().subarray(0, MAC_BYTES);

  return {
    async mintDatabaseCredential(identity, instanceUids, ttlSeconds) {
      if (instanceUids.length === 0 || instanceUids.length > CREDENTIAL_MAX_INSTANCES) {
        throw new RangeError(`A database credential covers 1 to ${CREDENTIAL_MAX_INSTANCES} instances, not ${instanceUids.length}.`);
      }
      const expiry = Math.ceil(clock() / 1000 + ttlSeconds);
      const header = Buffer.alloc(HEADER_BYTES);
      header.writeUInt8(FORMAT_VERSION, 0);
      header.writeUInt32BE(expiry, 1);
      randomBytes(NONCE_BYTES).copy(header, 5);
      digest(identity, IDENTITY_DIGEST_BYTES).copy(header, 5 + NONCE_BYTES);
      const body = Buffer.concat([header, ...instanceUids.map((uid) => digest(uid, INSTANCE_DIGEST_BYTES))]);
      return { token: Buffer.concat([body, mac(body)]).toString('base64url'), expiresAt: new Date(expiry * 1000) };
    },

    async verifyDatabaseCredential(token, login) {
      const bytes = Buffer.from(token, 'base64url');
      const scopeBytes = bytes.length - HEADER_BYTES - MAC_BYTES;
      if (bytes.toString('base64url') !== token || scopeBytes <= 0 || scopeBytes % INSTANCE_DIGEST_BYTES !== 0 || bytes[0] !== FORMAT_VERSION) {
        return 'malformed';
      }
      const body = bytes.subarray(0, bytes.length - MAC_BYTES);
      if (!timingSafeEqual(mac(body), bytes.subarray(bytes.length - MAC_BYTES))) return 'bad-signature';
      // Checked at login only: a session opened before expiry keeps running afterwards.
      if (body.readUInt32BE(1) * 1000 <= clock()) return 'expired';
      if (!body.subarray(5 + NONCE_BYTES, HEADER_BYTES).equals(digest(login.user, IDENTITY_DIGEST_BYTES))) return 'other-identity';
      const instance = digest(login.instanceUid, INSTANCE_DIGEST_BYTES);
      for (let offset = HEADER_BYTES; offset < body.length; offset += INSTANCE_DIGEST_BYTES) {
        if (body.subarray(offset, offset + INSTANCE_DIGEST_BYTES).equals(instance)) return 'accepted';
      }
      return 'other-instance';
    },

    async mintAccessToken(identity, ttlSeconds) {
      const now = clock() / 1000;
      const expiry = Math.ceil(now + ttlSeconds);
      const token = await new SignJWT({ scope: 'all-apis' })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(ISSUER)
        .setAudience(ACCESS_TOKEN_AUDIENCE)
        .setSubject(identity)
        .setJti(randomUUID())
        .setIssuedAt(Math.floor(now))
        .setExpirationTime(expiry)
        .sign(accessTokenKey);
      return { token, expiresAt: new Date(expiry * 1000) };
    },

    async verifyAccessToken(token) {
      try {
        const { payload } = await jwtVerify(token, accessTokenKey, {
          algorithms: ['HS256'],
          issuer: ISSUER,
          audience: ACCESS_TOKEN_AUDIENCE,
          currentDate: new Date(clock()),
        });
        return typeof payload.sub === 'string' ? payload.sub : undefined;
      } catch (error) {
        // Any JOSE error (malformed, bad signature, expired) means "not a valid access token";
        // anything else is a bug and propagates.
        if (error instanceof joseErrors.JOSEError) return undefined;
        throw error;
      }
    },
  };
}
