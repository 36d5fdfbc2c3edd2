// Tokens the emulator issues: database credentials (`POST /credentials`, the Postgres password) and
// OAuth access tokens (`POST /oidc/v1/token`, a workspace bearer). Both are JWTs (HS256, `jose`),
// self-contained and signed with one secret kept in the data directory (mode 0600): any number of
// them are valid at once (nothing is stored per token), they stay valid across an emulator
// restart, and a check needs only the signature and the claims. Each kind is signed with its own
// key derived from that secret and names its own audience, so one can never stand in for the other.
//
// Database credentials are JWTs like the real service's (its tokens are OAuth JWTs of several
// hundred characters): `sub` is the identity (its Postgres role name), `iat` and `exp` bound it,
// and `instance_uids` scopes it to instances by uid, so that a credential for a deleted instance
// does not open a new one of the same name. The real service's exact claims are not documented;
// clients treat tokens as opaque strings. The instances' login gateways take passwords of any
// length, so a credential may cover any number of instances.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { SignJWT, decodeJwt, jwtVerify, errors as joseErrors } from 'jose';
import { DataFileError, readJsonFile, writeJsonFileAtomic } from './files';

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
   * given uids (one or more). Expiry is rounded up to a whole second and `expiresAt` is exactly
   * it, so client and server agree on the moment of expiry.
   */
  /**
   * `readOnly`: the credential was asked for with `claims` of permission set READ_ONLY; its
   * sessions are read-only (the claim `permission_set`, read back by `readOnlyCredential`).
   */
  mintDatabaseCredential(identity: string, instanceUids: readonly string[], ttlSeconds: number, options?: { readOnly?: boolean }): Promise<MintedToken>;
  /** The check behind the instances' login gateways, at login time only. */
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

const ISSUER = 'lakebase-emulator';
const ACCESS_TOKEN_AUDIENCE = 'lakebase-emulator/workspace';
const CREDENTIAL_AUDIENCE = 'lakebase-emulator/database';
/** The claim that scopes a database credential to instances. */
const INSTANCES_CLAIM = 'instance_uids';
/** The claim of a credential minted with READ_ONLY claims. */
const PERMISSION_SET_CLAIM = 'permission_set';

/**
 * Whether a credential (already verified by `verifyDatabaseCredential`) was minted read-only.
 * Reads the payload only: the signature check is the verifier's.
 */
export function readOnlyCredential(token: string): boolean {
  try {
    return decodeJwt(token)[PERMISSION_SET_CLAIM] === 'READ_ONLY';
  } catch {
    // Not a JWT: not one of ours, and never accepted in the first place.
    return false;
  }
}

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

export async function loadTokenService(secretPath: string, clock: () => number = Date.now): Promise<TokenService> {
  const secret = await loadOrCreateSecret(secretPath);
  const credentialKey = new Uint8Array(derive(secret, 'database-credential'));
  const accessTokenKey = new Uint8Array(derive(secret, 'oauth-access-token'));

  return {
    async mintDatabaseCredential(identity, instanceUids, ttlSeconds, options = {}) {
      if (instanceUids.length === 0) throw new RangeError('A database credential covers at least one instance.');
      const now = clock() / 1000;
      const expiry = Math.ceil(now + ttlSeconds);
      const token = await new SignJWT({ [INSTANCES_CLAIM]: [...instanceUids], ...(options.readOnly ? { [PERMISSION_SET_CLAIM]: 'READ_ONLY' } : {}) })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(ISSUER)
        .setAudience(CREDENTIAL_AUDIENCE)
        .setSubject(identity)
        // A fresh id per credential: two minted in the same second are different tokens.
        .setJti(randomUUID())
        .setIssuedAt(Math.floor(now))
        .setExpirationTime(expiry)
        .sign(credentialKey);
      return { token, expiresAt: new Date(expiry * 1000) };
    },

    async verifyDatabaseCredential(token, login) {
      let claims: { sub?: unknown; [INSTANCES_CLAIM]?: unknown };
      try {
        // Checked at login only: a session opened before expiry keeps running afterwards.
        ({ payload: claims } = await jwtVerify(token, credentialKey, {
          algorithms: ['HS256'],
          issuer: ISSUER,
          audience: CREDENTIAL_AUDIENCE,
          currentDate: new Date(clock()),
          requiredClaims: ['sub', 'exp', 'iat'],
        }));
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired) return 'expired';
        if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad-signature';
        // Any other JOSE error (not a JWT, wrong algorithm, issuer or audience) means "not one of
        // ours"; anything else is a bug and propagates.
        if (error instanceof joseErrors.JOSEError) return 'malformed';
        throw error;
      }
      const instances = claims[INSTANCES_CLAIM];
      if (!Array.isArray(instances)) return 'malformed';
      if (claims.sub !== login.user) return 'other-identity';
      return instances.includes(login.instanceUid) ? 'accepted' : 'other-instance';
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
