// Postgres roles of workspace identities (`/instances/{name}/roles`). The instance's server is the
// truth about its roles; this module checks that a role belongs to a known workspace identity and
// maps server failures to the API's errors.
import { ApiError, errors } from './api-errors';
import { HostingError } from './hosting';
import type { InstanceRole, RoleAttributes, RoleKind } from './hosting';
import type { IdentityDirectory } from './identities';
import type { InstanceRegistry } from './instances';

export type IdentityType = RoleKind | 'PG_ONLY';

export interface RoleRequest {
  name: string;
  /** Inferred from the workspace's identities when absent. */
  identityType?: IdentityType;
  superuser: boolean;
  attributes: Partial<RoleAttributes>;
}

export interface RoleView extends InstanceRole {
  instanceName: string;
}

/** Server failures about roles and databases, as the API answers them. */
export function apiErrorFromHosting(error: unknown, context: { instance: string; role?: string; database?: string }): unknown {
  if (!(error instanceof HostingError)) return error;
  switch (error.code) {
    case 'ROLE_EXISTS': return errors.roleExists(context.role ?? '', context.instance);
    case 'ROLE_NOT_FOUND': return errors.roleNotFound(context.role ?? '', context.instance);
    case 'ROLE_IN_USE':
      return new ApiError('INVALID_STATE', `Role '${context.role}' owns objects or holds privileges in database instance '${context.instance}'; reassign or drop them first. (${error.message})`, { role_name: context.role ?? '' });
    case 'DATABASE_EXISTS':
      return new ApiError('RESOURCE_ALREADY_EXISTS', `Database '${context.database}' already exists in database instance '${context.instance}'.`);
    case 'INVALID_NAME': return new ApiError('INVALID_PARAMETER_VALUE', error.message);
    default: return error;
  }
}

export class InstanceRoles {
  constructor(private readonly instances: InstanceRegistry, private readonly identities: IdentityDirectory) {}

  async create(instanceName: string, request: RoleRequest): Promise<RoleView> {
    const kind = this.identityKind(request);
    const { server } = this.instances.requireAvailable(instanceName, 'creating a role');
    try {
      await server.createRole(request.name, kind, { superuser: request.superuser, attributes: request.attributes });
    } catch (error) {
      throw apiErrorFromHosting(error, { instance: instanceName, role: request.name });
    }
    // Read back, so the answer shows the attributes the server really applied.
    return this.get(instanceName, request.name);
  }

  async list(instanceName: string): Promise<RoleView[]> {
    const { server } = this.instances.requireAvailable(instanceName, 'listing roles');
    const roles = await server.listRoles();
    return roles
      .map((role) => ({ ...role, instanceName }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async get(instanceName: string, roleName: string): Promise<RoleView> {
    const role = (await this.list(instanceName)).find((candidate) => candidate.name === roleName);
    if (!role) throw errors.roleNotFound(roleName, instanceName);
    return role;
  }

  async delete(instanceName: string, roleName: string, options: { allowMissing: boolean; reassignOwnedTo?: string }): Promise<void> {
    const { server } = this.instances.requireAvailable(instanceName, 'deleting a role');
    try {
      await server.dropRole(roleName, options.reassignOwnedTo !== undefined ? { reassignOwnedTo: options.reassignOwnedTo } : {});
    } catch (error) {
      if (options.allowMissing && error instanceof HostingError && error.code === 'ROLE_NOT_FOUND') return;
      throw apiErrorFromHosting(error, { instance: instanceName, role: roleName });
    }
  }

  /** `PATCH …/roles/{name}`: attributes and the databricks_superuser membership. */
  async update(instanceName: string, roleName: string, changes: { superuser?: boolean; attributes: Partial<RoleAttributes> }): Promise<RoleView> {
    const { server } = this.instances.requireAvailable(instanceName, 'updating a role');
    try {
      await server.updateRole(roleName, changes);
    } catch (error) {
      throw apiErrorFromHosting(error, { instance: instanceName, role: roleName });
    }
    return this.get(instanceName, roleName);
  }

  /**
   * The role's kind. A USER or SERVICE_PRINCIPAL role must name an identity of this workspace and
   * a GROUP role one of its groups, as on the real service; a PG_ONLY role names nobody.
   */
  private identityKind(request: RoleRequest): RoleKind {
    if (request.identityType === 'PG_ONLY') return 'PG_ONLY';
    if (request.identityType === 'GROUP') {
      if (!this.identities.isGroup(request.name)) throw errors.identityNotFound(request.name, 'group');
      return 'GROUP';
    }
    const identity = this.identities.byPostgresName(request.name);
    const wanted = request.identityType ?? identity?.kind ?? 'USER';
    if (!identity || identity.kind !== wanted) {
      throw errors.identityNotFound(request.name, wanted === 'USER' ? 'user' : 'service principal (by application id)');
    }
    return identity.kind;
  }
}
