// `%lakebase instance-role ...`: the Postgres roles of a Provisioned instance through the roles
// API, named after the Databricks CLI's `create-database-instance-role INSTANCE ...` as
// `instance create` is after `create-database-instance` (`role` is a branch's, after `postgres
// create-role`): a role for a user, a service principal or a group (whose tokens log in as it),
// or a PG_ONLY role, with attributes and membership in databricks_superuser. `instance-role
// delete` confirms first.
import { createRole, deleteRole, getRole, IDENTITY_TYPES, IdentityType, inferIdentityType, listRoles, Role, RoleAttributes, updateRole } from '../../lakebase/roles';
import { confirm, YES_OPTION } from '../confirm';
import type { OptionDeclaration, VerbDeclaration, VerbFamily } from '../declarations';
import { MAGIC_ERRORS, MagicUsageError } from '../errors';
import { displayAs, FieldsOutput, TableOutput, TextOutput } from '../outputs';
import type { MagicServices } from '../services';
import { booleanOption, firstPositional, NameCache, PROFILE_OPTION, textOption, workspaceOf } from './workspace-verbs';

/** Role names for completion, per instance. */
const roleNames = new NameCache();

const INSTANCE = { name: 'INSTANCE', summary: 'the instance', completes: 'instances' } as const;
const ROLE = { name: 'ROLE', summary: 'the role: a user\'s email, a service principal\'s application id, a group, or a PG_ONLY name', completes: 'roles' } as const;

const ROLE_TYPES = `
interface LakebaseRoleAttributes { createdb?: boolean; createrole?: boolean; bypassrls?: boolean }
/** A Postgres role of an instance, as the roles API returns it. */
interface LakebaseRole {
  name: string;
  instance_name?: string;
  identity_type?: 'USER' | 'SERVICE_PRINCIPAL' | 'GROUP' | 'PG_ONLY';
  membership_role?: 'DATABRICKS_SUPERUSER';
  attributes?: LakebaseRoleAttributes;
  effective_attributes?: LakebaseRoleAttributes;
}
`;

function attributeWords(attributes: RoleAttributes | undefined): string {
  const on = (['createdb', 'createrole', 'bypassrls'] as const).filter((name) => attributes?.[name] === true).map((name) => name.toUpperCase());
  return on.join(', ');
}

function shown(role: Role): Role {
  return displayAs(role, () =>
    new FieldsOutput(`role ${role.name}${role.instance_name ? ` of ${role.instance_name}` : ''}`, [
      ['identity type', role.identity_type],
      ['superuser', role.membership_role === 'DATABRICKS_SUPERUSER' ? 'member of databricks_superuser' : 'no'],
      ['attributes', attributeWords(role.effective_attributes ?? role.attributes) || 'none'],
    ]),
  );
}

const ATTRIBUTE_FLAGS: OptionDeclaration[] = [
  { name: 'superuser', kind: 'flag', summary: 'Member of databricks_superuser: manages the instance\'s databases and roles' },
  { name: 'createdb', kind: 'flag', summary: 'May create databases (CREATEDB)' },
  { name: 'createrole', kind: 'flag', summary: 'May create roles (CREATEROLE)' },
  { name: 'bypassrls', kind: 'flag', summary: 'Bypasses row-level security (BYPASSRLS)' },
];

const ATTRIBUTE_CHOICES: OptionDeclaration[] = ATTRIBUTE_FLAGS.map((flag) => ({
  ...flag,
  kind: 'choice',
  choices: ['true', 'false'],
  valueName: 'true|false',
}));

/** The attributes `read` gives a value for (a flag given, or a true|false choice). */
function attributesFrom(read: (name: string) => boolean | undefined): RoleAttributes {
  const attributes: RoleAttributes = {};
  for (const name of ['createdb', 'createrole', 'bypassrls'] as const) {
    const value = read(name);
    if (value !== undefined) attributes[name] = value;
  }
  return attributes;
}

const create: VerbDeclaration<MagicServices> = {
  name: 'instance-role create',
  summary: 'Create a Postgres role on an instance for a user, service principal, group, or none (PG_ONLY)',
  positionals: [INSTANCE, { name: 'ROLE', summary: 'a user\'s email, a service principal\'s application id, a group name, or any name with --type PG_ONLY' }],
  options: [
    { name: 'type', kind: 'choice', choices: IDENTITY_TYPES, valueName: 'TYPE', summary: 'USER, SERVICE_PRINCIPAL, GROUP or PG_ONLY (default: an email is a USER, a UUID a SERVICE_PRINCIPAL)' },
    ...ATTRIBUTE_FLAGS,
    PROFILE_OPTION,
  ],
  details: [
    'A role of a user or service principal is logged into with that identity\'s tokens; a GROUP role by any member of the group ' +
      'with its own token; a PG_ONLY role by no token — with the instance\'s native login on, by its PostgreSQL password ' +
      '(ALTER ROLE name PASSWORD ...). The identity also needs CAN_USE on the instance (%lakebase instance grant).',
  ],
  examples: [
    '%lakebase instance-role create orders second-user@lakebase.local',
    '%lakebase instance-role create orders data-team --type GROUP',
    '%lakebase instance-role create orders reporting --type PG_ONLY --createdb',
  ],
  resultType: 'LakebaseRole',
  async run(context) {
    const { invocation } = context;
    const [instance, name] = invocation.positionals;
    const identityType = (textOption(invocation, 'type') as IdentityType | undefined) ?? inferIdentityType(name);
    if (identityType === undefined) {
      throw new MagicUsageError(MAGIC_ERRORS.missingArgument, `instance-role create: say what "${name}" is with --type (GROUP or PG_ONLY): it is neither an email nor an application id`, {
        line: invocation.source.line,
        hint: `Example: %lakebase instance-role create ${instance} ${name} --type GROUP`,
      });
    }
    const role = await createRole(await workspaceOf(context), instance, {
      name,
      identityType,
      superuser: invocation.options.superuser === true,
      attributes: attributesFrom((attribute) => (invocation.options[attribute] === true ? true : undefined)),
    });
    roleNames.invalidate();
    return shown(role);
  },
};

const list: VerbDeclaration<MagicServices> = {
  name: 'instance-role list',
  summary: 'List the roles of an instance: identity type, superuser membership, attributes',
  positionals: [INSTANCE],
  options: [PROFILE_OPTION],
  examples: ['%lakebase instance-role list orders'],
  resultType: 'LakebaseRole[]',
  async run(context) {
    const [instance] = context.invocation.positionals;
    const roles = (await listRoles(await workspaceOf(context), instance)).map(shown);
    return displayAs(roles, () =>
      new TableOutput(
        ['role', 'identity type', 'superuser', 'attributes'],
        roles.map((role) => [role.name, role.identity_type ?? '', role.membership_role === 'DATABRICKS_SUPERUSER' ? 'yes' : '', attributeWords(role.effective_attributes)]),
        `The instance ${instance} has no roles of Databricks identities yet.`,
      ),
    );
  },
};

const get: VerbDeclaration<MagicServices> = {
  name: 'instance-role get',
  summary: 'Show one role of an instance',
  positionals: [INSTANCE, ROLE],
  options: [PROFILE_OPTION],
  examples: ['%lakebase instance-role get orders second-user@lakebase.local'],
  resultType: 'LakebaseRole',
  async run(context) {
    const [instance, name] = context.invocation.positionals;
    return shown(await getRole(await workspaceOf(context), instance, name));
  },
};

const update: VerbDeclaration<MagicServices> = {
  name: 'instance-role update',
  summary: 'Change a role\'s attributes or its membership in databricks_superuser',
  positionals: [INSTANCE, ROLE],
  options: [...ATTRIBUTE_CHOICES, PROFILE_OPTION],
  examples: ['%lakebase instance-role update orders second-user@lakebase.local --superuser true', '%lakebase instance-role update orders reporting --createdb false'],
  resultType: 'LakebaseRole',
  async run(context) {
    const { invocation } = context;
    const [instance, name] = invocation.positionals;
    const superuser = booleanOption(invocation, 'superuser');
    const attributes = attributesFrom((attribute) => booleanOption(invocation, attribute));
    if (superuser === undefined && Object.keys(attributes).length === 0) {
      throw new MagicUsageError(MAGIC_ERRORS.missingArgument, 'instance-role update needs at least one of --superuser, --createdb, --createrole, --bypassrls', {
        line: invocation.source.line,
        hint: `Example: ${update.examples[0]}`,
      });
    }
    return shown(await updateRole(await workspaceOf(context), instance, name, { ...(superuser !== undefined ? { superuser } : {}), attributes }));
  },
};

const remove: VerbDeclaration<MagicServices> = {
  name: 'instance-role delete',
  summary: 'Drop a role of an instance (--reassign-owned-to gives what it owns to another role first)',
  positionals: [INSTANCE, ROLE],
  options: [
    { name: 'allow-missing', kind: 'flag', summary: 'A role that does not exist is no error (as DROP ROLE IF EXISTS)' },
    { name: 'reassign-owned-to', kind: 'text', valueName: 'ROLE', completes: 'roles', summary: 'Give the objects it owns, in every database, to this role first (REASSIGN OWNED)' },
    YES_OPTION,
    PROFILE_OPTION,
  ],
  details: ['Asks for confirmation first (or needs --yes where nothing can be asked). A role that owns objects is refused unless they are reassigned.'],
  examples: ['%lakebase instance-role delete orders reporting', '%lakebase instance-role delete orders reporting --reassign-owned-to databricks_superuser --yes'],
  resultType: 'LakebaseMessage',
  async run(context) {
    const { invocation } = context;
    const [instance, name] = invocation.positionals;
    const reassign = textOption(invocation, 'reassign-owned-to');
    const go = await confirm(context, {
      consequences:
        `Drops the role ${name} of the instance ${instance}: it can no longer log in` +
        (reassign ? `, and what it owns goes to ${reassign}.` : '.'),
      question: `Delete the role ${name}?`,
      withYes: `%lakebase instance-role delete ${instance} ${name}${reassign ? ` --reassign-owned-to ${reassign}` : ''}${invocation.options['allow-missing'] ? ' --allow-missing' : ''} --yes`,
    });
    if (!go) return new TextOutput(`Nothing was deleted: the role ${name} is still there.`);
    await deleteRole(await workspaceOf(context), instance, name, {
      allowMissing: invocation.options['allow-missing'] === true,
      ...(reassign ? { reassignOwnedTo: reassign } : {}),
    });
    roleNames.invalidate();
    return new TextOutput(`Deleted the role ${name} of the instance ${instance}.`);
  },
};

export const roleFamily: VerbFamily<MagicServices> = {
  name: 'instance-role',
  summary: 'Postgres roles of a Provisioned instance',
  verbs: [create, list, get, update, remove],
  typeDeclarations: ROLE_TYPES,
  completionSources: {
    async roles(services, context) {
      const instance = firstPositional(context);
      if (instance === undefined) return [];
      const { workspace } = await services.connectors.workspace();
      return roleNames.get(`${workspace.host} ${instance}`, async () => (await listRoles(workspace, instance)).map((role) => role.name));
    },
  },
};
