// `/api/2.0/database/*`: paths, methods and shapes as the official JS SDK sends and parses them
// (`@databricks/sdk-experimental` 0.17, `dist/apis/database/api.js` and `model.d.ts`).
import { errors } from '../api-errors';
import type { CredentialIssuer } from '../credentials';
import { caller, onlyFields, optionalBoolean, optionalString, queryBoolean, requiredString } from '../http';
import type { Reply, Request, Route } from '../http';
import type { PermissionLevel, PermissionStore } from '../permissions';
import { parseCreateInstance, parseInstanceUpdate, renderInstance } from '../instance-wire';
import type { InstanceRegistry } from '../instances';
import type { ProjectRegistry } from '../projects';
import type { InstanceRecord } from '../store';
import { paginate, parsePageSize } from '../pagination';
import type { RoleAttributes } from '../hosting';
import type { IdentityType, InstanceRoles, RoleView } from '../roles';
import type { CatalogRecord, TableRecord } from '../store';
import { parseSyncedTable, renderSyncedTable } from '../synced-table-wire';
import { syncedTableErrors } from '../synced-tables';
import type { SyncedTableRegistry } from '../synced-tables';
import type { UnityCatalog } from '../unity-catalog';

export interface DatabaseServices {
  instances: InstanceRegistry;
  /** For `PATCH /instances/{name}/upgrade`, which makes the instance an Autoscaling project. */
  projects: Pick<ProjectRegistry, 'projectForInstance'>;
  syncedTables: SyncedTableRegistry;
  roles: InstanceRoles;
  catalog: UnityCatalog;
  credentials: CredentialIssuer;
  permissions: PermissionStore;
}

const BASE = '/api/2.0/database';
/** The permissions API's object type of Provisioned instances (`permissions.ts`). */
export const INSTANCE_OBJECT_TYPE = 'database-instances';

/**
 * Refuses the caller unless it holds `needed` on the instance (which must exist: a missing one is
 * a 404 before any 403, as the real service answers).
 */
function guard(services: DatabaseServices, request: Request, instance: string, needed: PermissionLevel, action: string): void {
  services.instances.get(instance);
  services.permissions.require(caller(request), { type: INSTANCE_OBJECT_TYPE, id: instance, needed, action });
}

function ok(body: unknown): Reply {
  return { status: 200, body };
}

function renderCatalog(record: CatalogRecord) {
  return {
    name: record.name,
    database_instance_name: record.instanceName,
    database_name: record.databaseName,
    create_database_if_not_exists: record.createDatabaseIfNotExists,
    uid: record.uid,
  };
}

function renderTable(record: TableRecord) {
  return { name: record.name, database_instance_name: record.instanceName, logical_database_name: record.logicalDatabaseName };
}

function renderRole(role: RoleView) {
  return {
    name: role.name,
    instance_name: role.instanceName,
    identity_type: role.kind,
    ...(role.superuser ? { membership_role: 'DATABRICKS_SUPERUSER' } : {}),
    effective_attributes: { ...role.attributes },
  };
}

const IDENTITY_TYPES: readonly IdentityType[] = ['USER', 'SERVICE_PRINCIPAL', 'GROUP', 'PG_ONLY'];

function parseRoleAttributes(value: unknown): Partial<RoleAttributes> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw errors.invalidParameter('attributes', 'attributes must be an object.');
  const attributes = value as Record<string, unknown>;
  onlyFields(attributes, ['bypassrls', 'createdb', 'createrole'], 'DatabaseInstanceRoleAttributes');
  const parsed: Partial<RoleAttributes> = {};
  for (const name of ['bypassrls', 'createdb', 'createrole'] as const) {
    const flag = optionalBoolean(attributes, name);
    if (flag !== undefined) parsed[name] = flag;
  }
  return parsed;
}

function instanceRoutes(services: DatabaseServices): Route[] {
  const { instances, permissions, projects } = services;
  const render = (record: InstanceRecord, includeCustomTags: boolean) =>
    renderInstance(record, { includeCustomTags, children: instances.childrenOf(record) });
  return [
    {
      // PY `upgrade_database_instance_to_autoscaling` (2026-07-30): no body; answers the instance, UPGRADING.
      method: 'PATCH', path: `${BASE}/instances/{name}/upgrade`, authenticated: true,
      async handle(request) {
        guard(services, request, request.params.name, 'CAN_MANAGE', 'upgrade it');
        const record = instances.get(request.params.name);
        if (record.upgradedToProject === undefined) projects.projectForInstance(record.name);
        return ok(renderInstance(await instances.upgrade(record.name), { includeCustomTags: true }));
      },
    },
    {
      method: 'POST', path: `${BASE}/instances`, authenticated: true,
      async handle(request) {
        const parsed = parseCreateInstance(request.body);
        // A child copies its parent's data: that takes managing the parent.
        if (parsed.parent !== undefined) guard(services, request, parsed.parent.name, 'CAN_MANAGE', `make a child instance of it`);
        const record = await instances.create(parsed, caller(request));
        await permissions.created(INSTANCE_OBJECT_TYPE, record.name, caller(request));
        return ok(render(record, true));
      },
    },
    {
      method: 'GET', path: `${BASE}/instances`, authenticated: true,
      handle(request) {
        // Only the instances the caller may see: any permission on them (admins see all).
        const visible = instances.list().filter((record) => permissions.level(INSTANCE_OBJECT_TYPE, record.name, caller(request)) !== undefined);
        const page = paginate(visible, (record) => record.name, parsePageSize(request.url.searchParams.get('page_size')), request.url.searchParams.get('page_token'));
        return ok({
          database_instances: page.items.map((record) => render(record, false)),
          ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
        });
      },
    },
    {
      method: 'GET', path: `${BASE}/instances:findByUid`, authenticated: true,
      handle(request) {
        const uid = request.url.searchParams.get('uid');
        if (!uid) throw errors.missingParameter('uid');
        const record = instances.findByUid(uid);
        guard(services, request, record.name, 'CAN_USE', 'look it up');
        return ok(render(record, false));
      },
    },
    {
      method: 'GET', path: `${BASE}/instances/{name}`, authenticated: true,
      handle(request) {
        guard(services, request, request.params.name, 'CAN_USE', 'look it up');
        return ok(render(instances.get(request.params.name), false));
      },
    },
    {
      method: 'PATCH', path: `${BASE}/instances/{name}`, authenticated: true,
      async handle(request) {
        const name = request.params.name;
        guard(services, request, name, 'CAN_MANAGE', 'change it');
        const changes = parseInstanceUpdate(name, request.body, request.url.searchParams.get('update_mask'));
        return ok(render(await instances.update(name, changes), true));
      },
    },
    {
      method: 'DELETE', path: `${BASE}/instances/{name}`, authenticated: true,
      async handle(request) {
        // "Setting a value of false will throw a bad request" (model.d.ts, DeleteDatabaseInstanceRequest.purge).
        if (queryBoolean(request.url, 'purge') === false) {
          throw errors.invalidParameter('purge', 'purge=false is not supported: deleting an instance always deletes its data.');
        }
        const name = request.params.name;
        const force = queryBoolean(request.url, 'force') ?? false;
        guard(services, request, name, 'CAN_MANAGE', 'delete it');
        // Deleting with force deletes the descendants too: each needs the same permission.
        const record = instances.get(name);
        if (force) for (const child of instances.childrenOf(record)) guard(services, request, child.name, 'CAN_MANAGE', `delete it with its parent ${name}`);
        await instances.delete(name, { force });
        return ok({});
      },
    },
    {
      method: 'POST', path: `${BASE}/instances/{name}/failover`, authenticated: true,
      async handle(request) {
        const name = request.params.name;
        onlyFields(request.body, ['name', 'failover_target_database_instance_name'], 'FailoverDatabaseInstanceRequest');
        guard(services, request, name, 'CAN_MANAGE', 'fail it over');
        return ok(render(await instances.failover(name, optionalString(request.body, 'failover_target_database_instance_name')), false));
      },
    },
  ];
}

function credentialRoutes(services: DatabaseServices): Route[] {
  const { credentials, catalog } = services;
  return [
    {
      method: 'POST', path: `${BASE}/credentials`, authenticated: true,
      async handle(request) {
        const body = request.body;
        onlyFields(body, ['instance_names', 'request_id', 'claims'], 'GenerateDatabaseCredentialRequest');
        optionalString(body, 'request_id');
        const instanceNames = body.instance_names ?? [];
        if (!Array.isArray(instanceNames) || instanceNames.some((name) => typeof name !== 'string')) {
          throw errors.invalidParameter('instance_names', 'instance_names must be a list of instance names.');
        }
        const { tables: tableNames, readOnly } = parseClaims(body.claims);
        // Connecting takes CAN_USE on every instance the credential opens.
        const opened = new Set([...(instanceNames as string[]), ...tableNames.map((table) => catalog.getTable(table).instanceName)]);
        for (const name of opened) guard(services, request, name, 'CAN_USE', 'generate credentials for it');
        const credential = await credentials.generate({ instanceNames: instanceNames as string[], tableNames, readOnly }, caller(request));
        return ok({ token: credential.token, expiration_time: credential.expirationTime.toISOString() });
      },
    },
  ];
}

/**
 * `claims`: table resources, and the permission set READ_ONLY (the only one the API knows), which
 * makes the credential's sessions read-only. Claims on unspecified resources are not emulated.
 */
function parseClaims(value: unknown): { tables: string[]; readOnly: boolean } {
  if (value === undefined || value === null) return { tables: [], readOnly: false };
  if (!Array.isArray(value)) throw errors.invalidParameter('claims', 'claims must be a list.');
  const tables: string[] = [];
  let readOnly = false;
  for (const claim of value as Record<string, unknown>[]) {
    onlyFields(claim ?? {}, ['permission_set', 'resources'], 'RequestedClaims');
    if (claim.permission_set !== undefined && claim.permission_set !== 'READ_ONLY') {
      throw errors.invalidParameter('claims.permission_set', `Invalid permission_set '${String(claim.permission_set)}'. The valid value is READ_ONLY.`);
    }
    if (claim.permission_set === 'READ_ONLY') readOnly = true;
    const resources = claim.resources ?? [];
    if (!Array.isArray(resources)) throw errors.invalidParameter('claims.resources', 'claims[].resources must be a list.');
    for (const resource of resources as Record<string, unknown>[]) {
      onlyFields(resource ?? {}, ['table_name', 'unspecified_resource_name'], 'RequestedResource');
      if (resource.unspecified_resource_name !== undefined) throw errors.notImplemented('Claims on unspecified_resource_name', { field: 'claims.resources.unspecified_resource_name' });
      tables.push(requiredString(resource, 'table_name'));
    }
  }
  return { tables, readOnly };
}

function catalogRoutes(services: DatabaseServices): Route[] {
  const { catalog } = services;
  return [
    {
      method: 'POST', path: `${BASE}/catalogs`, authenticated: true,
      async handle(request) {
        const body = request.body;
        onlyFields(body, ['name', 'database_instance_name', 'database_name', 'create_database_if_not_exists', 'uid'], 'DatabaseCatalog');
        guard(services, request, requiredString(body, 'database_instance_name'), 'CAN_MANAGE', 'register its databases in Unity Catalog');
        const record = await catalog.createCatalog({
          name: requiredString(body, 'name'),
          instanceName: requiredString(body, 'database_instance_name'),
          databaseName: requiredString(body, 'database_name'),
          createDatabaseIfNotExists: optionalBoolean(body, 'create_database_if_not_exists') ?? false,
        });
        return ok(renderCatalog(record));
      },
    },
    {
      method: 'GET', path: `${BASE}/catalogs/{name}`, authenticated: true,
      handle(request) {
        const record = catalog.getCatalog(request.params.name);
        guard(services, request, record.instanceName, 'CAN_USE', 'see its catalogs');
        return ok(renderCatalog(record));
      },
    },
    {
      method: 'DELETE', path: `${BASE}/catalogs/{name}`, authenticated: true,
      async handle(request) {
        guard(services, request, catalog.getCatalog(request.params.name).instanceName, 'CAN_MANAGE', 'remove its catalogs');
        await catalog.deleteCatalog(request.params.name);
        return ok({});
      },
    },
    // Unimplemented on the real service too ("exposed for Terraform support", model.d.ts).
    {
      method: 'PATCH', path: `${BASE}/catalogs/{name}`, authenticated: true,
      handle() { throw errors.unimplementedOnRealService('Updating a database catalog'); },
    },
    {
      method: 'GET', path: `${BASE}/instances/{name}/catalogs`, authenticated: true,
      handle() { throw errors.unimplementedOnRealService('Listing database catalogs'); },
    },
    {
      method: 'POST', path: `${BASE}/tables`, authenticated: true,
      async handle(request) {
        const body = request.body;
        onlyFields(body, ['name', 'database_instance_name', 'logical_database_name'], 'DatabaseTable');
        const tableRequest = {
          name: requiredString(body, 'name'),
          instanceName: optionalString(body, 'database_instance_name'),
          logicalDatabaseName: optionalString(body, 'logical_database_name'),
        };
        guard(services, request, catalog.tableTarget(tableRequest).instanceName, 'CAN_MANAGE', 'register its tables in Unity Catalog');
        return ok(renderTable(await catalog.createTable(tableRequest)));
      },
    },
    {
      method: 'GET', path: `${BASE}/tables/{name}`, authenticated: true,
      handle(request) {
        const record = catalog.getTable(request.params.name);
        guard(services, request, record.instanceName, 'CAN_USE', 'see its registered tables');
        return ok(renderTable(record));
      },
    },
    {
      method: 'DELETE', path: `${BASE}/tables/{name}`, authenticated: true,
      async handle(request) {
        guard(services, request, catalog.getTable(request.params.name).instanceName, 'CAN_MANAGE', 'remove its registered tables');
        await catalog.deleteTable(request.params.name);
        return ok({});
      },
    },
  ];
}

function parseMembership(body: Record<string, unknown>): boolean | undefined {
  if (!Object.prototype.hasOwnProperty.call(body, 'membership_role')) return undefined;
  const membership = body.membership_role;
  // An update that sets it to null (or empty) takes the role out of databricks_superuser.
  if (membership === null || membership === '') return false;
  if (membership !== 'DATABRICKS_SUPERUSER') {
    throw errors.invalidParameter('membership_role', `Invalid membership_role '${String(membership)}'. The valid value is DATABRICKS_SUPERUSER.`);
  }
  return true;
}

function roleRoutes(services: DatabaseServices): Route[] {
  const { roles } = services;
  return [
    {
      method: 'POST', path: `${BASE}/instances/{name}/roles`, authenticated: true,
      async handle(request) {
        const body = request.body;
        onlyFields(body, ['name', 'identity_type', 'membership_role', 'attributes', 'instance_name', 'effective_attributes'], 'DatabaseInstanceRole');
        guard(services, request, request.params.name, 'CAN_MANAGE', 'manage its roles');
        const identityType = optionalString(body, 'identity_type');
        if (identityType !== undefined && !IDENTITY_TYPES.includes(identityType as IdentityType)) {
          throw errors.invalidParameter('identity_type', `Invalid identity_type '${identityType}'. Valid values are ${IDENTITY_TYPES.join(', ')}.`);
        }
        const role = await roles.create(request.params.name, {
          name: requiredString(body, 'name'),
          ...(identityType !== undefined ? { identityType: identityType as IdentityType } : {}),
          superuser: parseMembership(body) === true,
          attributes: parseRoleAttributes(body.attributes),
        });
        return ok(renderRole(role));
      },
    },
    {
      method: 'GET', path: `${BASE}/instances/{name}/roles`, authenticated: true,
      async handle(request) {
        guard(services, request, request.params.name, 'CAN_USE', 'see its roles');
        const all = await roles.list(request.params.name);
        const page = paginate(all, (role) => role.name, parsePageSize(request.url.searchParams.get('page_size')), request.url.searchParams.get('page_token'));
        return ok({
          database_instance_roles: page.items.map(renderRole),
          ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
        });
      },
    },
    {
      method: 'GET', path: `${BASE}/instances/{name}/roles/{role}`, authenticated: true,
      async handle(request) {
        guard(services, request, request.params.name, 'CAN_USE', 'see its roles');
        return ok(renderRole(await roles.get(request.params.name, request.params.role)));
      },
    },
    {
      method: 'PATCH', path: `${BASE}/instances/{name}/roles/{role}`, authenticated: true,
      async handle(request) {
        const body = request.body;
        onlyFields(body, ['name', 'identity_type', 'membership_role', 'attributes', 'instance_name', 'effective_attributes'], 'DatabaseInstanceRole');
        guard(services, request, request.params.name, 'CAN_MANAGE', 'manage its roles');
        if (body.name !== undefined && body.name !== request.params.role) {
          throw errors.invalidParameter('name', `The role name in the body ('${String(body.name)}') differs from the one in the path ('${request.params.role}').`);
        }
        const current = await roles.get(request.params.name, request.params.role);
        const identityType = optionalString(body, 'identity_type');
        if (identityType !== undefined && identityType !== current.kind) {
          throw errors.invalidParameter('identity_type', `The identity_type of role '${current.name}' is ${current.kind}; it cannot be changed (delete and create the role instead).`);
        }
        const superuser = parseMembership(body);
        const role = await roles.update(request.params.name, request.params.role, {
          ...(superuser !== undefined ? { superuser } : {}),
          attributes: parseRoleAttributes(body.attributes),
        });
        return ok(renderRole(role));
      },
    },
    {
      method: 'DELETE', path: `${BASE}/instances/{name}/roles/{role}`, authenticated: true,
      async handle(request) {
        guard(services, request, request.params.name, 'CAN_MANAGE', 'manage its roles');
        const reassignOwnedTo = request.url.searchParams.get('reassign_owned_to');
        await roles.delete(request.params.name, request.params.role, {
          allowMissing: queryBoolean(request.url, 'allow_missing') ?? false,
          ...(reassignOwnedTo ? { reassignOwnedTo } : {}),
        });
        return ok({});
      },
    },
  ];
}

/**
 * Synced tables (docs/databricks-apis.md §1.1): create, get and delete (`purge_data`) work; list
 * and update answer as the real service does today, 501 ("currently unimplemented"). A synced
 * table writes into an instance, so creating and deleting one are lifecycle calls on it
 * (`CAN_MANAGE`, as catalogs); reading one takes `CAN_USE`.
 */
function syncedTableRoutes(services: DatabaseServices): Route[] {
  const { syncedTables } = services;
  return [
    {
      method: 'POST', path: `${BASE}/synced_tables`, authenticated: true,
      async handle(request) {
        const parsed = parseSyncedTable(request.body);
        guard(services, request, syncedTables.destination(parsed).instanceName, 'CAN_MANAGE', 'sync tables into it');
        const record = await syncedTables.create(parsed, caller(request).postgresName);
        return ok(renderSyncedTable(record, syncedTables.status(record)));
      },
    },
    {
      method: 'GET', path: `${BASE}/synced_tables/{name}`, authenticated: true,
      handle(request) {
        const record = syncedTables.get(request.params.name);
        guard(services, request, record.instanceName, 'CAN_USE', 'see its synced tables');
        return ok(renderSyncedTable(record, syncedTables.status(record)));
      },
    },
    {
      method: 'DELETE', path: `${BASE}/synced_tables/{name}`, authenticated: true,
      async handle(request) {
        guard(services, request, syncedTables.get(request.params.name).instanceName, 'CAN_MANAGE', 'remove its synced tables');
        await syncedTables.delete(request.params.name, queryBoolean(request.url, 'purge_data') ?? false);
        return ok({});
      },
    },
    {
      method: 'PATCH', path: `${BASE}/synced_tables/{name}`, authenticated: true,
      handle() { throw syncedTableErrors.updateNotImplemented(); },
    },
    {
      method: 'GET', path: `${BASE}/instances/{name}/synced_tables`, authenticated: true,
      handle() { throw errors.unimplementedOnRealService('Listing synced database tables'); },
    },
  ];
}

export function databaseRoutes(services: DatabaseServices): Route[] {
  return [
    ...instanceRoutes(services),
    ...credentialRoutes(services),
    ...catalogRoutes(services),
    ...roleRoutes(services),
    ...syncedTableRoutes(services),
  ];
}
