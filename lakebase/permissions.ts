// Who may use or manage a Lakebase instance: the workspace permissions API
// (`/api/2.0/permissions/database-instances/{name}`, levels CAN_USE and CAN_MANAGE). Its creator
// and workspace admins manage an instance; anyone else needs a grant — CAN_USE to mint credentials
// and connect (with a Postgres role of their own), CAN_MANAGE for its lifecycle, roles and
// catalogs. Grants go through PATCH (add or change one principal's level, keep the others), which
// the SDK 0.17 would send without a body, so every call here is our own request with the SDK's auth.
import type { Workspace } from './workspace';

export type PermissionLevel = 'CAN_USE' | 'CAN_MANAGE';
export const PERMISSION_LEVELS: readonly PermissionLevel[] = ['CAN_USE', 'CAN_MANAGE'];

/** The object type of Provisioned instances in the permissions API. */
export const INSTANCE_OBJECT_TYPE = 'database-instances';

/** Exactly one of a user's email, a service principal's application id, or a group name. */
export type Principal = { user_name: string } | { service_principal_name: string } | { group_name: string };

export interface AccessControlEntry {
  user_name?: string;
  service_principal_name?: string;
  group_name?: string;
  display_name?: string;
  all_permissions?: { permission_level?: string; inherited?: boolean; inherited_from_object?: string[] }[];
}

export interface ObjectPermissions {
  object_id?: string;
  object_type?: string;
  access_control_list?: AccessControlEntry[];
}

/** A principal written the way people write them: an email, an application id (a UUID), or a group. */
export function principalOf(name: string, kind?: 'user' | 'service-principal' | 'group'): Principal {
  const chosen = kind ?? (name.includes('@') ? 'user' : /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(name) ? 'service-principal' : 'group');
  return chosen === 'user' ? { user_name: name } : chosen === 'service-principal' ? { service_principal_name: name } : { group_name: name };
}

export function principalName(entry: AccessControlEntry | Principal): string {
  const fields = entry as AccessControlEntry;
  return fields.user_name ?? fields.service_principal_name ?? fields.group_name ?? '';
}

function path(instance: string): string {
  return `/api/2.0/permissions/${INSTANCE_OBJECT_TYPE}/${encodeURIComponent(instance)}`;
}

export function getInstancePermissions(workspace: Workspace, instance: string): Promise<ObjectPermissions> {
  return workspace.api<ObjectPermissions>('GET', path(instance), { operation: `read the permissions of the instance ${instance}`, instance });
}

/** Gives `principal` the level on the instance (replacing a level it had), keeping other grants. */
export function grantInstancePermission(workspace: Workspace, instance: string, principal: Principal, level: PermissionLevel): Promise<ObjectPermissions> {
  return workspace.api<ObjectPermissions>('PATCH', path(instance), {
    operation: `grant ${level} on the instance ${instance} to ${principalName(principal)}`,
    instance,
    body: { access_control_list: [{ ...principal, permission_level: level }] },
  });
}

/**
 * Takes the principal's direct grant away (the creator and admins keep managing). The API has no
 * "remove one": the direct grants are read and written back without it.
 */
export async function revokeInstancePermission(workspace: Workspace, instance: string, principal: Principal): Promise<ObjectPermissions> {
  const current = await getInstancePermissions(workspace, instance);
  const name = principalName(principal);
  const kept = (current.access_control_list ?? []).flatMap((entry) => {
    const level = entry.all_permissions?.find((permission) => permission.inherited !== true)?.permission_level;
    if (level === undefined || principalName(entry) === name) return [];
    const who = entry.user_name !== undefined ? { user_name: entry.user_name } : entry.service_principal_name !== undefined ? { service_principal_name: entry.service_principal_name } : { group_name: entry.group_name };
    return [{ ...who, permission_level: level }];
  });
  return workspace.api<ObjectPermissions>('PUT', path(instance), {
    operation: `revoke the permissions of ${name} on the instance ${instance}`,
    instance,
    body: { access_control_list: kept },
  });
}
