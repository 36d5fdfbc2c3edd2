// The Postgres roles of a Lakebase Provisioned instance, through the roles API
// (`/api/2.0/database/instances/{instance}/roles`, databricks-apis.md §2.3): a role for a user, a
// service principal or a workspace group, whose tokens log in as it, or a PG_ONLY role that no
// token opens. Attributes are PostgreSQL's own (CREATEDB, CREATEROLE, BYPASSRLS); membership in
// `databricks_superuser` is the only membership the API sets. The SDK 0.17 has no update: that
// one is our own PATCH with the SDK's auth.
import type { DatabaseInstanceRole, Workspace } from './workspace';

export const IDENTITY_TYPES = ['USER', 'SERVICE_PRINCIPAL', 'GROUP', 'PG_ONLY'] as const;
export type IdentityType = (typeof IDENTITY_TYPES)[number];

export interface RoleAttributes {
  createdb?: boolean;
  createrole?: boolean;
  bypassrls?: boolean;
}

/** A role as the API returns it (with the identity types newer than the SDK 0.17 model). */
export interface Role extends Omit<DatabaseInstanceRole, 'identity_type'> {
  identity_type?: IdentityType;
}

export interface RoleRequest {
  /** A user's email, a service principal's application id, a group's name, or any name for PG_ONLY. */
  name: string;
  /** Default: inferred from the name (an email is a user, a UUID a service principal). */
  identityType?: IdentityType;
  /** Member of databricks_superuser (the instance's administrators). */
  superuser?: boolean;
  attributes?: RoleAttributes;
}

/** USER for an email, SERVICE_PRINCIPAL for an application id (a UUID); otherwise unknown. */
export function inferIdentityType(name: string): IdentityType | undefined {
  if (name.includes('@')) return 'USER';
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(name)) return 'SERVICE_PRINCIPAL';
  return undefined;
}

function rolesPath(instance: string, role?: string): string {
  return `/api/2.0/database/instances/${encodeURIComponent(instance)}/roles${role === undefined ? '' : `/${encodeURIComponent(role)}`}`;
}

export function createRole(workspace: Workspace, instance: string, request: RoleRequest): Promise<Role> {
  const identityType = request.identityType ?? inferIdentityType(request.name);
  return workspace.api<Role>('POST', rolesPath(instance), {
    operation: `create the role ${request.name} on the instance ${instance}`,
    instance,
    body: {
      name: request.name,
      ...(identityType ? { identity_type: identityType } : {}),
      ...(request.superuser ? { membership_role: 'DATABRICKS_SUPERUSER' } : {}),
      ...(request.attributes && Object.keys(request.attributes).length > 0 ? { attributes: request.attributes } : {}),
    },
  });
}

export async function listRoles(workspace: Workspace, instance: string): Promise<Role[]> {
  const roles: Role[] = [];
  let pageToken: string | undefined;
  do {
    const page = await workspace.api<{ database_instance_roles?: Role[]; next_page_token?: string }>('GET', rolesPath(instance), {
      operation: `list the roles of the instance ${instance}`,
      instance,
      query: { page_token: pageToken },
    });
    roles.push(...(page.database_instance_roles ?? []));
    pageToken = page.next_page_token;
  } while (pageToken);
  return roles;
}

export function getRole(workspace: Workspace, instance: string, name: string): Promise<Role> {
  return workspace.api<Role>('GET', rolesPath(instance, name), { operation: `get the role ${name} of the instance ${instance}`, instance, role: name });
}

/** Changes attributes (the ones given) and, when `superuser` is given, the superuser membership. */
export function updateRole(workspace: Workspace, instance: string, name: string, changes: { superuser?: boolean; attributes?: RoleAttributes }): Promise<Role> {
  return workspace.api<Role>('PATCH', rolesPath(instance, name), {
    operation: `update the role ${name} of the instance ${instance}`,
    instance,
    role: name,
    body: {
      name,
      ...(changes.superuser === undefined ? {} : { membership_role: changes.superuser ? 'DATABRICKS_SUPERUSER' : null }),
      ...(changes.attributes && Object.keys(changes.attributes).length > 0 ? { attributes: changes.attributes } : {}),
    },
  });
}

/**
 * Drops the role. `reassignOwnedTo` first gives what it owns (in every database) to that role, as
 * PostgreSQL's REASSIGN OWNED; `allowMissing` makes a missing role no error (`IF EXISTS`).
 */
export async function deleteRole(workspace: Workspace, instance: string, name: string, options: { allowMissing?: boolean; reassignOwnedTo?: string } = {}): Promise<void> {
  await workspace.api('DELETE', rolesPath(instance, name), {
    operation: `delete the role ${name} of the instance ${instance}`,
    instance,
    role: name,
    query: {
      ...(options.allowMissing ? { allow_missing: 'true' } : {}),
      ...(options.reassignOwnedTo ? { reassign_owned_to: options.reassignOwnedTo } : {}),
    },
  });
}
