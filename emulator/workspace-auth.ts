// Who is calling: a bearer is either a personal access token of a user or an OAuth access token
// issued by `/oidc/v1/token`. Anything else is a 401 with the real workspace's error text.
import { errors } from './api-errors';
import type { Authenticator } from './http';
import type { IdentityDirectory } from './identities';
import type { TokenService } from './tokens';

export function bearerAuthenticator(identities: IdentityDirectory, tokens: TokenService): Authenticator {
  return async (authorization) => {
    const match = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) throw errors.credentialMissing();
    const token = match[1];
    const user = identities.byPersonalAccessToken(token);
    if (user) return user;
    const subject = await tokens.verifyAccessToken(token);
    const identity = subject === undefined ? undefined : identities.byPostgresName(subject);
    if (!identity) throw errors.invalidAccessToken();
    return identity;
  };
}
