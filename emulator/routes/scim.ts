// `GET /api/2.0/preview/scim/v2/Me`: who the bearer is. Tools read `userName` as the Postgres
// identity; for a service principal that is its application id, so `userName` carries it, as the
// real workspace answers for service principals.
import { caller } from '../http';
import type { Route } from '../http';

export function scimRoutes(): Route[] {
  return [
    {
      method: 'GET', path: '/api/2.0/preview/scim/v2/Me', authenticated: true,
      handle(request) {
        const identity = caller(request);
        if (identity.kind === 'USER') {
          return {
            status: 200,
            body: {
              schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
              id: identity.id,
              userName: identity.userName,
              displayName: identity.displayName,
              active: true,
              emails: [{ value: identity.userName, type: 'work', primary: true }],
            },
          };
        }
        return {
          status: 200,
          body: {
            schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServicePrincipal'],
            id: identity.id,
            userName: identity.applicationId,
            applicationId: identity.applicationId,
            displayName: identity.displayName,
            active: true,
          },
        };
      },
    },
  ];
}
