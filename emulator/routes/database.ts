// `/api/2.0/database/*`: paths, methods and shapes as the official JS SDK sends and parses them
// (`@databricks/sdk-experimental` 0.17, `dist/apis/database/api.js` and `model.d.ts`).
import { errors } from '../api-errors';
import type { CredentialIssuer } from '../credentials';
import { caller, onlyFields, optionalBoolean, optionalString, queryBoolean, requiredString } from '../http';
import type { Reply, Route } from '../http';
import { parseCreateInstance, parseInstanceUpdate, renderInstance } from '../instance-wire';
import type { InstanceRegistry } from '../instances';
import type { ProjectRegistry } from '../projects';
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
}

const BASE = '/api/2.0/database';

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

function instanceRoutes({ instances, projects }: DatabaseServices): Route[] {
  return [
    {
      // PY `upgrade_database_instance_to_autoscaling` (2026-07-30): no body; answers the instance, UPGRADING.
      method: 'PATCH', path: `${BASE}/instances/{name}/upgrade`, authenticated: true,
      async handle(request) {
        const record = instances.get(request.params.name);
        if (record.upgradedToProject === undefined) projects.projectForInstance(record.name);
        return ok(renderInstance(await instances.upgrade(record.name), { includeCustomTags: true }));
      },
    },
    {
      method: 'POST', path: `${BASE}/instances`, authenticated: true,
      async handle(request) {
        const record = await instances.create(parseCreateInstance(request.body), caller(request));
        return ok(renderInstance(record, { includeCustomTags: true }));
      },
    },
    {
      method: 'GET', path: `${BASE}/instances`, authenticated: true,
      handle(request) {
        const page = paginate(instances.list(), (record) => record.name, parsePageSize(request.url.searchParams.get('page_size')), request.url.searchParams.get('page_token'));
        return ok({
          database_instances: page.items.map((record) => renderInstance(record, { includeCustomTags: false })),
          ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
        });
      },
    },
    {
      method: 'GET', path: `${BASE}/instances:findByUid`, authenticated: true,
      handle(request) {
        const uid = request.url.searchParams.get('uid');
        if (!uid) throw errors.missingParameter('uid');
        return ok(renderInstance(instances.findByUid(uid), { includeCustomTags: false }));
      },
    },
    {
      method: 'GET', path: `${BASE}/instances/{name}`, authenticated: true,
      handle(request) {
        return ok(renderInstance(instances.get(request.params.name), { includeCustomTags: false }));
      },
    },
    {
      method: 'PATCH', path: `${BASE}/instances/{name}`, authenticated: true,
      async handle(request) {
        const name = request.params.name;
        instances.get(name);
        const changes = parseInstanceUpdate(name, request.body, request.url.searchParams.get('update_mask'));
        return ok(renderInstance(await instances.update(name, changes), { includeCustomTags: true }));
      },
    },
    {
      method: 'DELETE', path: `${BASE}/instances/{name}`, authenticated: true,
      async handle(request) {
        // "Setting a value of false will throw a bad request" (model.d.ts, DeleteDatabaseInstanceRequest.purge).
        if (queryBoolean(request.url, 'purge') === false) {
          throw errors.invalidParameter('purge', 'purge=false is not supported: deleting an instance always deletes its data.');
        }
        queryBoolean(request.url, 'force');
        await instances.delete(request.params.name);
        return ok({});
      },
    },
  ];
}

function credentialRoutes({ credentials }: DatabaseServices): Route[] {
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
        const credential = await credentials.generate({ instanceNames: instanceNames as string[], tableNames: parseClaims(body.claims) }, caller(request));
        return ok({ token: credential.token, expiration_time: credential.expirationTime.toISOString() });
      },
    },
  ];
}

/** `claims`: only table resources with the default (read-write) permission set are emulated. */
function parseClaims(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw errors.invalidParameter('claims', 'claims must be a list.');
  const tables: string[] = [];
  for (const claim of value as Record<string, unknown>[]) {
    onlyFields(claim ?? {}, ['permission_set', 'resources'], 'RequestedClaims');
    if (claim.permission_set !== undefined) throw errors.notImplemented(`Credentials with permission_set ${String(claim.permission_set)}`, { field: 'claims.permission_set' });
    const resources = claim.resources ?? [];
    if (!Array.isArray(resources)) throw errors.invalidParameter('claims.resources', 'claims[].resources must be a list.');
    for (const resource of resources as Record<string, unknown>[]) {
      onlyFields(resource ?? {}, ['table_name', 'unspecified_resource_name'], 'RequestedResource');
      if (resource.unspecified_resource_name !== undefined) throw errors.notImplemented('Claims on unspecified_resource_name', { field: 'claims.resources.unspecified_resource_name' });
      tables.push(requiredString(resource, 'table_name'));
    }
  }
  return tables;
}

function catalogRoutes({ catalog }: DatabaseServices): Route[] {
  return [
    {
      method: 'POST', path: `${BASE}/catalogs`, authenticated: true,
      async handle(request) {
        const body = request.body;
        onlyFields(body, ['name', 'database_instance_name', 'database_name', 'create_database_if_not_exists', 'uid'], 'DatabaseCatalog');
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
      handle: (request) => ok(renderCatalog(catalog.getCatalog(request.params.name))),
    },
    {
      method: 'DELETE', path: `${BASE}/catalogs/{name}`, authenticated: true,
      async handle(request) {
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
        const record = await catalog.createTable({
          name: requiredString(body, 'name'),
          instanceName: optionalString(body, 'database_instance_name'),
          logicalDatabaseName: optionalString(body, 'logical_database_name'),
        });
        return ok(renderTable(record));
      },
    },
    {
      method: 'GET', path: `${BASE}/tables/{name}`, authenticated: true,
      handle: (request) => ok(renderTable(catalog.getTable(request.params.name))),
    },
    {
      method: 'DELETE', path: `${BASE}/tables/{name}`, authenticated: true,
      async handle(request) {
        await catalog.deleteTable(request.params.name);
        return ok({});
      },
    },
  ];
}

function roleRoutes({ roles }: DatabaseServices): Route[] {
  return [
    {
      method: 'POST', path: `${BASE}/instances/{name}/roles`, authenticated: true,
      async handle(request) {
        const body = request.body;
        onlyFields(body, ['name', 'identity_type', 'membership_role', 'attributes', 'instance_name', 'effective_attributes'], 'DatabaseInstanceRole');
        const identityType = optionalString(body, 'identity_type');
        if (identityType !== undefined && !IDENTITY_TYPES.includes(identityType as IdentityType)) {
          throw errors.invalidParameter('identity_type', `Invalid identity_type '${identityType}'. Valid values are ${IDENTITY_TYPES.join(', ')}.`);
        }
        const membership = optionalString(body, 'membership_role');
        if (membership !== undefined && membership !== 'DATABRICKS_SUPERUSER') {
          throw errors.invalidParameter('membership_role', `Invalid membership_role '${membership}'. The valid value is DATABRICKS_SUPERUSER.`);
        }
        const role = await roles.create(request.params.name, {
          name: requiredString(body, 'name'),
          ...(identityType !== undefined ? { identityType: identityType as IdentityType } : {}),
          superuser: membership === 'DATABRICKS_SUPERUSER',
          attributes: parseRoleAttributes(body.attributes),
        });
        return ok(renderRole(role));
      },
    },
    {
      method: 'GET', path: `${BASE}/instances/{name}/roles`, authenticated: true,
      async handle(request) {
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
      handle: async (request) => ok(renderRole(await roles.get(request.params.name, request.params.role))),
    },
    {
      method: 'DELETE', path: `${BASE}/instances/{name}/roles/{role}`, authenticated: true,
      async handle(request) {
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
 * and update answer as the real service does today, 501 ("currently unimplemented").
 */
function syncedTableRoutes({ syncedTables }: DatabaseServices): Route[] {
  return [
    {
      method: 'POST', path: `${BASE}/synced_tables`, authenticated: true,
      async handle(request) {
        const record = await syncedTables.create(parseSyncedTable(request.body), caller(request).postgresName);
        return ok(renderSyncedTable(record, syncedTables.status(record)));
      },
    },
    {
      method: 'GET', path: `${BASE}/synced_tables/{name}`, authenticated: true,
      handle(request) {
        const record = syncedTables.get(request.params.name);
        return ok(renderSyncedTable(record, syncedTables.status(record)));
      },
    },
    {
      method: 'DELETE', path: `${BASE}/synced_tables/{name}`, authenticated: true,
      async handle(request) {
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
