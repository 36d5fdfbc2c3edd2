// `permissions`, `grant` and `revoke` of a family whose objects the workspace permissions API
// governs (`instance` for Provisioned instances, `project` for Autoscaling projects): the same
// three verbs, options and table for both, declared once.
import { getPermissions, grantPermission, PERMISSION_LEVELS, principalName, principalOf, revokePermission } from '../../lakebase/permissions';
import type { ObjectPermissions, PermissionLevel, PermissionObject } from '../../lakebase/permissions';
import type { PositionalDeclaration, VerbDeclaration } from '../declarations';
import { displayAs, TableOutput } from '../outputs';
import type { MagicServices } from '../services';
import { textOption, PROFILE_OPTION, workspaceOf } from './workspace-verbs';

export interface PermissionVerbsOf {
  /** The verb group: `instance`, `project`. */
  group: string;
  /** In summaries: "an instance", "a project". */
  noun: string;
  /** The object's positional (its name and completion). */
  object: PositionalDeclaration;
  /** The object the API call is about, from the positional as typed. */
  objectOf(typed: string): PermissionObject;
  /** What CAN_MANAGE allows beyond CAN_USE, for the --level summary: "change and delete it". */
  manages: string;
  /** Extra lines of the grant verb's help. */
  grantDetails: string[];
  /** One example object name and one principal, for the examples. */
  example: string;
}

function permissionsTable(subject: string, permissions: ObjectPermissions): ObjectPermissions {
  return displayAs(permissions, () =>
    new TableOutput(
      ['principal', 'kind', 'permission', 'inherited from'],
      (permissions.access_control_list ?? []).flatMap((entry) =>
        (entry.all_permissions ?? []).map((permission) => [
          principalName(entry),
          entry.user_name !== undefined ? 'user' : entry.service_principal_name !== undefined ? 'service principal' : 'group',
          permission.permission_level ?? '',
          permission.inherited ? (permission.inherited_from_object ?? []).join(', ') : '',
        ]),
      ),
      `No permissions are set on ${subject}.`,
    ),
  );
}

const PRINCIPAL = { name: 'PRINCIPAL', summary: 'a user\'s email, a service principal\'s application id, or a group name' } as const;
const PRINCIPAL_KIND = {
  name: 'kind',
  kind: 'choice',
  choices: ['user', 'service-principal', 'group'],
  valueName: 'KIND',
  summary: 'What PRINCIPAL is (default: an email is a user, a UUID a service principal, anything else a group)',
} as const;

type PrincipalKind = 'user' | 'service-principal' | 'group';

export function permissionVerbs(of: PermissionVerbsOf): VerbDeclaration<MagicServices>[] {
  return [
    {
      name: `${of.group} permissions`,
      summary: `Show who may use (CAN_USE) or manage (CAN_MANAGE) ${of.noun}`,
      positionals: [of.object],
      options: [PROFILE_OPTION],
      examples: [`%lakebase ${of.group} permissions ${of.example}`],
      resultType: 'LakebasePermissions',
      async run(context) {
        const [name] = context.invocation.positionals;
        return permissionsTable(name, await getPermissions(await workspaceOf(context), of.objectOf(name)));
      },
    },
    {
      name: `${of.group} grant`,
      summary: `Let a user, service principal or group use (CAN_USE) or manage (CAN_MANAGE) ${of.noun}`,
      positionals: [of.object, PRINCIPAL],
      options: [
        { name: 'level', kind: 'choice', choices: PERMISSION_LEVELS, valueName: 'LEVEL', summary: `CAN_USE: mint credentials and connect (with a role); CAN_MANAGE: also ${of.manages} (default CAN_USE)` },
        PRINCIPAL_KIND,
        PROFILE_OPTION,
      ],
      details: of.grantDetails,
      examples: [`%lakebase ${of.group} grant ${of.example} second-user@lakebase.local`, `%lakebase ${of.group} grant ${of.example} data-team --level CAN_MANAGE`],
      resultType: 'LakebasePermissions',
      async run(context) {
        const { invocation } = context;
        const [name, who] = invocation.positionals;
        const level = (textOption(invocation, 'level') ?? 'CAN_USE') as PermissionLevel;
        const principal = principalOf(who, textOption(invocation, 'kind') as PrincipalKind | undefined);
        return permissionsTable(name, await grantPermission(await workspaceOf(context), of.objectOf(name), principal, level));
      },
    },
    {
      name: `${of.group} revoke`,
      summary: `Take a principal's permission on ${of.noun} away (its creator and admins keep managing it)`,
      positionals: [of.object, PRINCIPAL],
      options: [PRINCIPAL_KIND, PROFILE_OPTION],
      examples: [`%lakebase ${of.group} revoke ${of.example} second-user@lakebase.local`],
      resultType: 'LakebasePermissions',
      async run(context) {
        const { invocation } = context;
        const [name, who] = invocation.positionals;
        const principal = principalOf(who, textOption(invocation, 'kind') as PrincipalKind | undefined);
        return permissionsTable(name, await revokePermission(await workspaceOf(context), of.objectOf(name), principal));
      },
    },
  ];
}
