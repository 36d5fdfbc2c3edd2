// What the emulator keeps about Lakebase Autoscaling resources (persisted in `state.json` under
// `autoscaling`), in the emulator's own words; `routes/postgres.ts` turns them into the API's
// `Project`, `Branch`, `Endpoint`, `Role` and `Database` bodies. Names are full resource names
// (`projects/p/branches/b`), as the API uses them everywhere.
import type { CreatorKind, CustomTag } from './store';

export type EndpointType = 'ENDPOINT_TYPE_READ_WRITE' | 'ENDPOINT_TYPE_READ_ONLY';
/** `BranchStatusState` (postgres.py); the emulator uses INIT, READY, RESETTING and ARCHIVED. */
export type BranchState = 'INIT' | 'READY' | 'RESETTING' | 'ARCHIVED';
/** `EndpointStatusState`: INIT while created, ACTIVE while its server runs, IDLE scaled to zero. */
/**
 * `status.current_state` of an endpoint (databricks-apis.md §4): ACTIVE while its server runs, IDLE
 * scaled to zero, DEGRADED while its server is down after a crash (until it is started again).
 */
export type EndpointState = 'INIT' | 'ACTIVE' | 'IDLE' | 'DEGRADED';

/** An endpoint's compute settings; a null suspend timeout is `no_suspension`. */
export interface ComputeSettings {
  minCu: number;
  maxCu: number;
  suspendTimeoutSeconds: number | null;
  pgSettings: Record<string, string>;
}

export interface SoftDeletion {
  /** RFC 3339. */
  deleteTime?: string;
  purgeTime?: string;
}

export interface ProjectRecord extends SoftDeletion {
  name: string;
  projectId: string;
  uid: string;
  createTime: string;
  updateTime: string;
  displayName: string;
  pgVersion: number;
  historyRetentionSeconds: number;
  defaultEndpointSettings: ComputeSettings;
  enablePgNativeLogin: boolean;
  customTags: CustomTag[];
  budgetPolicyId?: string;
  /** Full name of the default branch. */
  defaultBranch: string;
  owner: string;
  ownerKind: CreatorKind;
  /** The Provisioned instance this project was upgraded from, if any (same data). */
  upgradedFromInstance?: string;
}

export interface BranchRecord extends SoftDeletion {
  name: string;
  branchId: string;
  project: string;
  uid: string;
  createTime: string;
  updateTime: string;
  state: BranchState;
  stateChangeTime: string;
  isProtected: boolean;
  /** When it deletes itself (`ttl` or `expire_time`); absent = no expiry. */
  expireTime?: string;
  sourceBranch?: string;
  sourceBranchLsn?: string;
  sourceBranchTime?: string;
  /** Its data directory: `instances/<dataUid>` (the instance's own uid after an upgrade). */
  dataUid: string;
  /** The owner's role exists on its server (made at the first start of a project's first branch). */
  bootstrapped: boolean;
}

export interface EndpointRecord {
  name: string;
  endpointId: string;
  branch: string;
  uid: string;
  createTime: string;
  updateTime: string;
  type: EndpointType;
  settings: ComputeSettings;
  disabled: boolean;
  state: EndpointState;
  lastActiveTime?: string;
  /** Loopback address of `hosts.host` (and the read-only host of a read-only endpoint). */
  address: string;
  /** Loopback address of the pooled host. */
  pooledAddress: string;
  port: number;
  /** Made by the branch itself (its first read-write endpoint): deleted only with the branch. */
  implicit: boolean;
}

export type RoleIdentityType = 'USER' | 'SERVICE_PRINCIPAL' | 'GROUP';
export type RoleAuthMethod = 'LAKEBASE_OAUTH_V1' | 'PG_PASSWORD_SCRAM_SHA_256' | 'NO_LOGIN';

export interface PostgresRoleRecord {
  name: string;
  roleId: string;
  branch: string;
  createTime: string;
  updateTime: string;
  postgresRole: string;
  identityType?: RoleIdentityType;
  authMethod: RoleAuthMethod;
  superuser: boolean;
  attributes: { bypassrls: boolean; createdb: boolean; createrole: boolean };
}

export interface PostgresDatabaseRecord {
  name: string;
  databaseId: string;
  branch: string;
  createTime: string;
  updateTime: string;
  postgresDatabase: string;
  /** Full name of the owning role. */
  role: string;
}

export interface AutoscalingState {
  projects: Record<string, ProjectRecord>;
  branches: Record<string, BranchRecord>;
  endpoints: Record<string, EndpointRecord>;
  roles: Record<string, PostgresRoleRecord>;
  databases: Record<string, PostgresDatabaseRecord>;
}

export function emptyAutoscalingState(): AutoscalingState {
  return { projects: {}, branches: {}, endpoints: {}, roles: {}, databases: {} };
}

/** The parent of a child resource's full name: `projects/p/branches/b/endpoints/e` → `projects/p/branches/b`. */
export function parentOf(name: string): string {
  return name.split('/').slice(0, -2).join('/');
}

/** Children of `parent` in `records`, sorted by name (the order lists are paginated in). */
export function childrenOf<T extends { name: string }>(records: Record<string, T>, parent: string): T[] {
  return Object.values(records)
    .filter((record) => parentOf(record.name) === parent)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
