// A database credential minted on purpose, for use outside the kernel's own connections: a script,
// a psql session, another program. `POST /api/2.0/database/credentials` with the instances and,
// optionally, claims: Unity Catalog tables and the permission set READ_ONLY (databricks-apis.md
// §3). The refresher (`credentials.ts`) mints the kernel's own tokens; this is the one-off kind.
//
// The token is a secret: the object holds it (code asked for it and may use it), but every way it
// is shown — its display, `toString`, `inspect`, JSON — has it masked.
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { LakebaseError } from './errors';
import type { Workspace } from './workspace';

export interface CredentialRequest {
  /** Instances the token opens. */
  instances?: readonly string[];
  /** Unity Catalog tables (`catalog.schema.table`) whose instances the token opens. */
  tables?: readonly string[];
  /** Sessions opened with the token are read-only (claims with permission set READ_ONLY). */
  readOnly?: boolean;
}

/** What `mintCredential` returns. `token` is the password; it is never shown unmasked. */
export interface DatabaseCredential {
  readonly token: string;
  /** RFC 3339. */
  readonly expiration_time: string;
  /** Whose token it is: the Postgres role it logs in as (an email, or an application id). */
  readonly identity: string;
  readonly instance_names: readonly string[];
  readonly tables: readonly string[];
  readonly read_only: boolean;
}

/** `eyJhbG…` and the length: enough to tell tokens apart, nothing to log in with. */
export function maskToken(token: string): string {
  return `${token.slice(0, 6)}… (${token.length} characters, masked)`;
}

export async function mintCredential(workspace: Workspace, request: CredentialRequest): Promise<DatabaseCredential> {
  const instances = [...(request.instances ?? [])];
  const tables = [...(request.tables ?? [])];
  if (instances.length === 0 && tables.length === 0) {
    throw new LakebaseError('CREDENTIAL_SCOPE_MISSING', 'A credential needs at least one instance or table to open.', {
      hint: 'Name the instance, or tables in Unity Catalog (catalog.schema.table).',
    });
  }
  const claims =
    tables.length > 0 || request.readOnly
      ? [{ ...(request.readOnly ? { permission_set: 'READ_ONLY' } : {}), resources: tables.map((table) => ({ table_name: table })) }]
      : undefined;
  const [identity, answer] = await Promise.all([
    workspace.identity(),
    workspace.api<{ token?: string; expiration_time?: string }>('POST', '/api/2.0/database/credentials', {
      operation: `generate a database credential for ${[...instances, ...tables].join(', ')}`,
      ...(instances.length === 1 ? { instance: instances[0] } : {}),
      body: { request_id: randomUUID(), ...(instances.length > 0 ? { instance_names: instances } : {}), ...(claims ? { claims } : {}) },
    }),
  ]);
  if (!answer.token || !answer.expiration_time || Number.isNaN(Date.parse(answer.expiration_time))) {
    throw new LakebaseError('CREDENTIAL_UNREADABLE', `The workspace ${workspace.host} answered the credential request without a token and a valid expiration_time.`);
  }
  return maskedCredential({
    token: answer.token,
    expiration_time: answer.expiration_time,
    identity: identity.name,
    instance_names: instances,
    tables,
    read_only: request.readOnly === true,
  });
}

/** The credential with every way of showing it masked. */
export function maskedCredential(credential: DatabaseCredential): DatabaseCredential {
  const masked = () => ({ ...credential, token: maskToken(credential.token) });
  const value = { ...credential };
  Object.defineProperties(value, {
    toJSON: { value: masked, enumerable: false },
    toString: { value: () => `database credential of ${credential.identity} for ${[...credential.instance_names, ...credential.tables].join(', ')}, token ${maskToken(credential.token)}`, enumerable: false },
    [inspect.custom]: { value: () => masked(), enumerable: false },
  });
  return value;
}
