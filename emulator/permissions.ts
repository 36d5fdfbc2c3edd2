// Who may do what to an object: the workspace's access control lists, as the permissions API
// (`/api/2.0/permissions/{request_object_type}/{request_object_id}`) shows and changes them, and the
// checks every route makes before it acts. Without them any identity could grant itself a
// superuser role on another identity's instance, read its data and delete it.
//
// The rules, as in a real workspace:
//  - the creator of an object manages it (`CAN_MANAGE`, shown as a direct grant);
//  - members of `admins` manage every object (shown as inherited from the object type's root);
//  - anyone else needs a grant, to the identity or to a group it is in: `CAN_USE` to mint
//    credentials and connect (once it has a Postgres role), `CAN_MANAGE` for the lifecycle,
//    roles and catalogs. `CAN_MANAGE` includes `CAN_USE`.
//
// Object types are data (`OBJECT_TYPES`): Provisioned instances are `database-instances`
// (`w.permissions.update(request_object_type="database-instances", ...)`), Autoscaling projects
// `database-projects`. The object id is the instance's (project's) name. The store is a JSON file
// of its own in the data directory, so that it survives restarts and stays out of the state file
// other parts of the emulator write.
import { ApiError, errors } from './api-errors';
import { readJsonFile, writeJsonFileAtomic } from './files';
import type { Identity, IdentityDirectory } from './identities';

export type PermissionLevel = 'CAN_USE' | 'CAN_MANAGE';

/** Levels from weakest to strongest: a stronger one includes the weaker ones. */
const LEVEL_ORDER: readonly PermissionLevel[] = ['CAN_USE', 'CAN_MANAGE'];

export interface ObjectTypeDefinition {
  /** `object_type` in answers. */
  objectType: string;
  /** In messages: "database instance". */
  noun: string;
  levels: readonly { level: PermissionLevel; description: string }[];
}

/** The object types whose permissions the emulator keeps, by `request_object_type`. */
export const OBJECT_TYPES: Readonly<Record<string, ObjectTypeDefinition>> = {
  'database-instances': {
    objectType: 'database-instances',
    noun: 'database instance',
    levels: [
      { level: 'CAN_USE', description: 'Can generate credentials and connect (with a Postgres role of its own)' },
      { level: 'CAN_MANAGE', description: 'Can start, stop, resize, fail over and delete the instance, and manage its roles, catalogs and permissions' },
    ],
  },
  'database-projects': {
    objectType: 'database-projects',
    noun: 'database project',
    levels: [
      { level: 'CAN_USE', description: 'Can generate credentials and connect to the project\'s endpoints' },
      { level: 'CAN_MANAGE', description: 'Can manage the project, its branches, endpoints, roles and permissions' },
    ],
  },
};

/** A principal as the API names it: exactly one of the three fields. */
export type Principal = { user_name: string } | { service_principal_name: string } | { group_name: string };

export interface Grant {
  principal: Principal;
  level: PermissionLevel;
}

interface ObjectAcl {
  /** Postgres name of the creator (a user's email or a service principal's application id). */
  creator: string;
  creatorKind: Identity['kind'];
  grants: Grant[];
}

interface StoredPermissions {
  version: 1;
  /** By `${request_object_type}/${id}`. */
  objects: Record<string, ObjectAcl>;
}

/** What a route asks before it acts. */
export interface PermissionCheck {
  type: string;
  id: string;
  needed: PermissionLevel;
  /** In the refusal, what needed the level: "delete it", "manage its roles", "generate credentials for it". */
  action: string;
}

function key(type: string, id: string): string {
  return `${type}/${id}`;
}

function principalName(principal: Principal): string {
  return 'user_name' in principal ? principal.user_name : 'service_principal_name' in principal ? principal.service_principal_name : principal.group_name;
}

function samePrincipal(a: Principal, b: Principal): boolean {
  return Object.keys(a)[0] === Object.keys(b)[0] && principalName(a) === principalName(b);
}

function stronger(a: PermissionLevel | undefined, b: PermissionLevel | undefined): PermissionLevel | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return LEVEL_ORDER.indexOf(a) >= LEVEL_ORDER.indexOf(b) ? a : b;
}

export class PermissionStore {
  private constructor(
    private readonly path: string,
    private readonly stored: StoredPermissions,
    private readonly identities: IdentityDirectory,
  ) {}

  static async open(path: string, identities: IdentityDirectory): Promise<PermissionStore> {
    const loaded = (await readJsonFile(path)) as StoredPermissions | undefined;
    const stored: StoredPermissions = loaded !== undefined && loaded.version === 1 && typeof loaded.objects === 'object' ? loaded : { version: 1, objects: {} };
    return new PermissionStore(path, stored, identities);
  }

  private async save(): Promise<void> {
    await writeJsonFileAtomic(this.path, this.stored, 0o600);
  }

  private definition(type: string): ObjectTypeDefinition {
    const definition = Object.prototype.hasOwnProperty.call(OBJECT_TYPES, type) ? OBJECT_TYPES[type] : undefined;
    if (!definition) {
      throw errors.invalidParameter('request_object_type', `request_object_type is not recognized: ${type}. The emulator keeps permissions of ${Object.keys(OBJECT_TYPES).join(', ')}.`);
    }
    return definition;
  }

  private acl(type: string, id: string): ObjectAcl | undefined {
    const k = key(type, id);
    return Object.prototype.hasOwnProperty.call(this.stored.objects, k) ? this.stored.objects[k] : undefined;
  }

  /** A new object: its creator manages it. */
  async created(type: string, id: string, creator: Identity): Promise<void> {
    this.definition(type);
    this.stored.objects[key(type, id)] = { creator: creator.postgresName, creatorKind: creator.kind, grants: [] };
    await this.save();
  }

  /**
   * An object made before permissions were kept (an older data directory): its creator gets the
   * list it would have had. Objects that have a list keep it.
   */
  async adopt(type: string, id: string, creator: string, creatorKind: Identity['kind']): Promise<void> {
    if (this.acl(type, id) !== undefined) return;
    this.stored.objects[key(type, id)] = { creator, creatorKind, grants: [] };
    await this.save();
  }

  /**
   * An object that becomes another (a Provisioned instance upgraded to an Autoscaling project):
   * the new one gets the old one's creator and grants, so that nobody gains or loses access by
   * the upgrade. The old list stays, for the old object's own API.
   */
  async inherit(fromType: string, fromId: string, toType: string, toId: string): Promise<void> {
    this.definition(toType);
    const from = this.acl(fromType, fromId);
    if (from === undefined) return;
    this.stored.objects[key(toType, toId)] = { creator: from.creator, creatorKind: from.creatorKind, grants: from.grants.map((grant) => ({ ...grant })) };
    await this.save();
  }

  /** The object is gone; a new one of the same name starts with a clean list. */
  async removed(type: string, id: string): Promise<void> {
    if (this.acl(type, id) === undefined) return;
    delete this.stored.objects[key(type, id)];
    await this.save();
  }

  /**
   * The strongest level `identity` holds on the object: admins and the creator manage it, others
   * hold what was granted to them or to a group of theirs. Objects made before permissions were
   * kept (no list) are managed by admins only, and used by nobody else until granted.
   */
  level(type: string, id: string, identity: Identity): PermissionLevel | undefined {
    if (this.identities.isAdmin(identity)) return 'CAN_MANAGE';
    const acl = this.acl(type, id);
    if (acl === undefined) return undefined;
    if (acl.creator === identity.postgresName) return 'CAN_MANAGE';
    const groups = new Set(this.identities.groupsOf(identity));
    let best: PermissionLevel | undefined;
    for (const grant of acl.grants) {
      const p = grant.principal;
      const applies =
        ('user_name' in p && identity.kind === 'USER' && p.user_name === identity.userName) ||
        ('service_principal_name' in p && identity.kind === 'SERVICE_PRINCIPAL' && p.service_principal_name === identity.applicationId) ||
        ('group_name' in p && groups.has(p.group_name));
      if (applies) best = stronger(best, grant.level);
    }
    return best;
  }

  /** Whether `identity` holds at least `needed` on the object. */
  allows(type: string, id: string, identity: Identity, needed: PermissionLevel): boolean {
    const held = this.level(type, id, identity);
    return held !== undefined && LEVEL_ORDER.indexOf(held) >= LEVEL_ORDER.indexOf(needed);
  }

  /** Refuses with the real service's 403 when `identity` lacks the level. */
  require(identity: Identity, check: PermissionCheck): void {
    if (this.allows(check.type, check.id, identity, check.needed)) return;
    const noun = this.definition(check.type).noun;
    throw new ApiError(
      'PERMISSION_DENIED',
      `User ${identity.postgresName} does not have ${check.needed} permission on ${noun} '${check.id}', which is needed to ${check.action}.`,
      { request_object_type: check.type, request_object_id: check.id, permission_level: check.needed },
    );
  }

  /** `GET /permissions/{type}/{id}`: the list as the API shows it. */
  view(type: string, id: string): Record<string, unknown> {
    const definition = this.definition(type);
    const acl = this.acl(type, id);
    const entries: Record<string, unknown>[] = [];
    if (acl !== undefined) {
      entries.push({
        ...(acl.creatorKind === 'USER' ? { user_name: acl.creator } : { service_principal_name: acl.creator }),
        all_permissions: [{ permission_level: 'CAN_MANAGE', inherited: false }],
      });
      for (const grant of acl.grants) {
        if (acl.creator === principalName(grant.principal)) continue;
        entries.push({ ...grant.principal, all_permissions: [{ permission_level: grant.level, inherited: false }] });
      }
    }
    entries.push({
      group_name: 'admins',
      all_permissions: [{ permission_level: 'CAN_MANAGE', inherited: true, inherited_from_object: [`/${type}/`] }],
    });
    return { object_id: `/${type}/${id}`, object_type: definition.objectType, access_control_list: entries };
  }

  /** `GET /permissions/{type}/{id}/permissionLevels`. */
  levels(type: string): Record<string, unknown> {
    return { permission_levels: this.definition(type).levels.map(({ level, description }) => ({ permission_level: level, description })) };
  }

  /**
   * `PUT` (`replace`: the direct grants become exactly `grants`) or `PATCH` (each principal's grant
   * is set, others kept). The creator keeps managing its object either way, as an owner does.
   */
  async change(type: string, id: string, grants: readonly Grant[], mode: 'replace' | 'update'): Promise<void> {
    this.definition(type);
    const acl = this.acl(type, id);
    if (acl === undefined) throw errors.invalidParameter('request_object_id', `There is no ${this.definition(type).noun} '${id}' with permissions to change.`);
    for (const grant of grants) this.checkPrincipal(grant.principal);
    if (mode === 'replace') {
      acl.grants = [...grants];
    } else {
      for (const grant of grants) {
        acl.grants = acl.grants.filter((existing) => !samePrincipal(existing.principal, grant.principal));
        acl.grants.push(grant);
      }
    }
    await this.save();
  }

  /** A grant must name someone the workspace knows. */
  private checkPrincipal(principal: Principal): void {
    if ('group_name' in principal) {
      if (!this.identities.isGroup(principal.group_name)) throw errors.identityNotFound(principal.group_name, 'group');
      return;
    }
    const name = principalName(principal);
    const identity = this.identities.byPostgresName(name);
    const wanted = 'user_name' in principal ? 'USER' : 'SERVICE_PRINCIPAL';
    if (!identity || identity.kind !== wanted) throw errors.identityNotFound(name, wanted === 'USER' ? 'user' : 'service principal (by application id)');
  }
}

/** Parses an `access_control_list` of a PUT or PATCH body. */
export function parseAccessControlList(value: unknown): Grant[] {
  if (!Array.isArray(value)) throw errors.invalidParameter('access_control_list', 'access_control_list must be a list.');
  return value.map((entry: unknown) => {
    if (typeof entry !== 'object' || entry === null) throw errors.invalidParameter('access_control_list', 'Each access control entry must be an object.');
    const fields = entry as Record<string, unknown>;
    for (const field of Object.keys(fields)) {
      if (!['user_name', 'service_principal_name', 'group_name', 'permission_level'].includes(field)) throw errors.unknownField(field, 'AccessControlRequest');
    }
    const named = (['user_name', 'service_principal_name', 'group_name'] as const).filter((field) => fields[field] !== undefined);
    if (named.length !== 1 || typeof fields[named[0]] !== 'string') {
      throw errors.invalidParameter('access_control_list', 'Each access control entry names exactly one of user_name, service_principal_name and group_name.');
    }
    const level = fields.permission_level;
    if (level !== 'CAN_USE' && level !== 'CAN_MANAGE') {
      throw errors.invalidParameter('permission_level', `Invalid permission_level ${JSON.stringify(level)}. Valid values are CAN_USE, CAN_MANAGE.`);
    }
    return { principal: { [named[0]]: fields[named[0]] as string } as Principal, level };
  });
}
