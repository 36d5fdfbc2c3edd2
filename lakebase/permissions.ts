// Who may use or manage a Lakebase instance or an Autoscaling project: the workspace permissions
// API (`/api/2.0/permissions/database-instances/{name}` and `/database-projects/{project id}`,
// levels CAN_USE and CAN_MANAGE). Its creator and workspace admins manage an instance or a
// project; anyone else needs a grant — CAN_USE to mint credentials and connect (with a Postgres
// role of their own), CAN_MANAGE for its lifecycle (branches, endpoints), roles, databases and
// catalogs. Grants go through PATCH (add or change one principal's level, keep the others), which
// the SDK 0.17 would send without a body, so every call here is our own request with the SDK's auth.
import type { Workspace } from './workspace';

export type PermissionLevel = 'CAN_USE' | 'CAN_MANAGE';
export const PERMISSION_LEVELS: readonly PermissionLevel[] = ['CAN_USE', 'CAN_MANAGE'];

/** The object type of Provisioned instances in the permissions API. */
export const INSTANCE_OBJECT_TYPE = 'database-instances';
/** The object type of Autoscaling projects; the object id is the project id (`shop`, not `projects/shop`). */
export const PROJECT_OBJECT_TYPE = 'database-projects';

/** What a permissions call is about. */
export interface PermissionObject {
  type: typeof INSTANCE_OBJECT_TYPE | typeof PROJECT_OBJECT_TYPE;
  id: string;
}

export const instanceObject = (name: string): PermissionObject => ({ type: INSTANCE_OBJECT_TYPE, id: name });
/** A project by its id or its name (`projects/shop`). */
export const projectObject = (name: string): PermissionObject => ({ type: PROJECT_OBJECT_TYPE, id: name.replace(/^projects\//, '') });

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

function path(object: PermissionObject): string {
  return `/api/2.0/permissions/${object.type}/${encodeURIComponent(object.id)}`;
}

/** "the instance orders", "the project projects/shop"; and the error context naming it. */
function described(object: PermissionObject): { words: string; context: { instance: string } | { project: string } } {
  return object.type === INSTANCE_OBJECT_TYPE
    ? { words: `the instance ${object.id}`, context: { instance: object.id } }
    : { words: `the project projects/${object.id}`, context: { project: `projects/${object.id}` } };
}

export function getPermissions(workspace: Workspace, object: PermissionObject): Promise<ObjectPermissions> {
  const { words, context } = described(object);
  return workspace.api<ObjectPermissions>('GET', path(object), { operation: `read the permissions of ${words}`, ...context });
}

/** Gives `principal` the level on the object (replacing a level it had), keeping other grants. */
export function grantPermission(workspace: Workspace, object: PermissionObject, principal: Principal, level: PermissionLevel): Promise<ObjectPermissions> {
  const { words, context } = described(object);
  return workspace.api<ObjectPermissions>('PATCH', path(object), {
    operation: `grant ${level} on ${words} to ${principalName(principal)}`,
    ...context,
    body: { access_control_list: [{ ...principal, permission_level: level }] },
  });
}

/**
 * Takes the principal's direct grant away (the creator and admins keep managing). The API has no
 * "remove one": the direct grants are read and written back without it.
 */
export async function revokePermission(workspace: Workspace, object: PermissionObject, principal: Principal): Promise<ObjectPermissions> {
  const current = await getPermissions(workspace, object);
  const name = principalName(principal);
  const kept = (current.access_control_list ?? []).flatMap((entry) => {
    const level = entry.all_permissions?.find((permission) => permission.inherited !== true)?.permission_level;
    if (level === undefined || principalName(entry) === name) return [];
    const who = entry.user_name !== undefined ? { user_name: entry.user_name } : entry.service_principal_name !== undefined ? { service_principal_name: entry.service_principal_name } : { group_name: entry.group_name };
    return [{ ...who, permission_level: level }];
  });
  const { words, context } = described(object);
  return workspace.api<ObjectPermissions>('PUT', path(object), {
    operation: `revoke the permissions of ${name} on ${words}`,
    ...context,
    body: { access_control_list: kept },
  });
}

export const getInstancePermissions = (workspace: Workspace, instance: string): Promise<ObjectPermissions> => getPermissions(workspace, instanceObject(instance));

export const grantInstancePermission = (workspace: Workspace, instance: string, principal: Principal, level: PermissionLevel): Promise<ObjectPermissions> =>
  grantPermission(workspace, instanceObject(instance), principal, level);

export const revokeInstancePermission = (workspace: Workspace, instance: string, principal: Principal): Promise<ObjectPermissions> =>
  revokePermission(workspace, instanceObject(instance), principal);
