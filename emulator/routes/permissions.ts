// `/api/2.0/permissions/{request_object_type}/{request_object_id}`: the access control lists of
// the objects the emulator keeps permissions for (`permissions.ts`, `OBJECT_TYPES`), as the SDKs'
// `permissions.get/set/update` and `getPermissionLevels` call them. Reading a list needs some
// permission on the object; changing it needs CAN_MANAGE.
import { errors } from '../api-errors';
import { caller, onlyFields } from '../http';
import type { Reply, Route } from '../http';
import { parseAccessControlList } from '../permissions';
import type { PermissionStore } from '../permissions';

export interface PermissionServices {
  permissions: PermissionStore;
  /**
   * Whether the object exists, by `request_object_type` (each family answers for its own type);
   * throws the family's own 404 when it does not.
   */
  requireObject: Readonly<Record<string, (id: string) => void>>;
}

const BASE = '/api/2.0/permissions';

function ok(body: unknown): Reply {
  return { status: 200, body };
}

export function permissionRoutes({ permissions, requireObject }: PermissionServices): Route[] {
  const object = (type: string, id: string) => {
    const exists = Object.prototype.hasOwnProperty.call(requireObject, type) ? requireObject[type] : undefined;
    // An unknown type is refused by the store with the list of known ones.
    if (exists === undefined) permissions.levels(type);
    exists?.(id);
  };
  const change = (mode: 'replace' | 'update'): Route['handle'] => async (request) => {
    const { type, id } = request.params;
    object(type, id);
    permissions.require(caller(request), { type, id, needed: 'CAN_MANAGE', action: 'change its permissions' });
    onlyFields(request.body, ['access_control_list'], 'UpdateObjectPermissions');
    await permissions.change(type, id, parseAccessControlList(request.body.access_control_list ?? []), mode);
    return ok(permissions.view(type, id));
  };
  return [
    {
      method: 'GET', path: `${BASE}/{type}/{id}/permissionLevels`, authenticated: true,
      handle(request) {
        const { type, id } = request.params;
        object(type, id);
        return ok(permissions.levels(type));
      },
    },
    {
      method: 'GET', path: `${BASE}/{type}/{id}`, authenticated: true,
      handle(request) {
        const { type, id } = request.params;
        object(type, id);
        permissions.require(caller(request), { type, id, needed: 'CAN_USE', action: 'read its permissions' });
        return ok(permissions.view(type, id));
      },
    },
    { method: 'PUT', path: `${BASE}/{type}/{id}`, authenticated: true, handle: change('replace') },
    { method: 'PATCH', path: `${BASE}/{type}/{id}`, authenticated: true, handle: change('update') },
    {
      method: '*', path: `${BASE}/{type}`, authenticated: true,
      handle(request) { throw errors.missingParameter(`request_object_id (after /permissions/${request.params.type}/)`); },
    },
  ];
}
