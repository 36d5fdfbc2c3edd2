// OAuth for machine-to-machine auth, as the SDKs use it: discovery at
// `/oidc/.well-known/oauth-authorization-server`, then the client credentials grant at
// `/oidc/v1/token` with the client id and secret either in HTTP Basic auth (what the JS SDK sends)
// or in the form. Errors use the OAuth format (RFC 6749 §5.2), which the SDK reads
// (`error`, `error_description`).
import type { OAuthErrorBody } from '../api-errors';
import { errors } from '../api-errors';
import type { Reply, Route } from '../http';
import type { Identity, IdentityDirectory } from '../identities';
import { OAUTH_ACCESS_TOKEN_TTL_SECONDS } from '../limits';
import type { TokenService } from '../tokens';

export interface OAuthServices {
  identities: IdentityDirectory;
  tokens: TokenService;
  /** The workspace URL as clients reach it, e.g. `http://127.0.0.1:8471`. */
  host(): string;
}

function oauthError(status: number, error: OAuthErrorBody['error'], description: string): Reply {
  const body: OAuthErrorBody = { error, error_description: description };
  return { status, body };
}

/** Client credentials from `Authorization: Basic` (RFC 6749 §2.3.1) or from the form. */
function clientCredentials(authorization: string | undefined, form: Record<string, unknown>): { id: string; secret: string } | undefined {
  if (authorization?.startsWith('Basic ')) {
    const decoded = Buffer.from(authorization.slice('Basic '.length), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    // Both halves are form-urlencoded before base64 (RFC 6749 §2.3.1).
    return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  }
  const id = form.client_id;
  const secret = form.client_secret;
  return typeof id === 'string' && typeof secret === 'string' ? { id, secret } : undefined;
}

export function oauthRoutes(services: OAuthServices): Route[] {
  return [
    {
      method: 'GET', path: '/oidc/.well-known/oauth-authorization-server', authenticated: false,
      handle() {
        const host = services.host();
        return {
          status: 200,
          body: {
            issuer: `${host}/oidc`,
            authorization_endpoint: `${host}/oidc/v1/authorize`,
            token_endpoint: `${host}/oidc/v1/token`,
            grant_types_supported: ['client_credentials'],
            token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
            scopes_supported: ['all-apis'],
          },
        };
      },
    },
    {
      method: 'POST', path: '/oidc/v1/token', authenticated: false, body: 'form',
      async handle(request) {
        const form = request.body;
        if (form.grant_type !== 'client_credentials') {
          return oauthError(400, 'unsupported_grant_type', `The emulator supports only grant_type=client_credentials, got '${String(form.grant_type ?? '')}'.`);
        }
        if (form.scope !== undefined && !String(form.scope).split(' ').every((scope) => scope === 'all-apis' || scope === '')) {
          return oauthError(400, 'invalid_scope', `The emulator supports only scope=all-apis, got '${String(form.scope)}'.`);
        }
        let credentials: { id: string; secret: string } | undefined;
        try {
          credentials = clientCredentials(request.headers.authorization, form);
        } catch (error) {
          return oauthError(400, 'invalid_request', `Malformed client credentials: ${(error as Error).message}`);
        }
        if (!credentials) return oauthError(401, 'invalid_client', 'Client authentication failed: send client_id and client_secret.');
        const identity: Identity | undefined = services.identities.byClientCredentials(credentials.id, credentials.secret);
        if (!identity) return oauthError(401, 'invalid_client', 'Client authentication failed: unknown client_id or wrong client_secret.');
        const minted = await services.tokens.mintAccessToken(identity.postgresName, OAUTH_ACCESS_TOKEN_TTL_SECONDS);
        return {
          status: 200,
          body: {
            access_token: minted.token,
            token_type: 'Bearer',
            expires_in: Math.max(0, Math.round((minted.expiresAt.getTime() - Date.now()) / 1000)),
            scope: 'all-apis',
          },
        };
      },
    },
    {
      method: '*', path: '/oidc/v1/authorize', authenticated: false,
      handle() { throw errors.notImplemented('User-to-machine OAuth (the authorization code flow)'); },
    },
  ];
}
