// The JSON of the Autoscaling API (`/api/2.0/postgres`), as the Python SDK 0.133 writes and reads
// it (`postgres.py` `as_dict`/`from_dict`): snake_case fields, RFC 3339 timestamps, durations in
// protobuf's JSON form (`"3600s"`), and — as the real service and the CLI's fake server do —
// responses that carry `status` (what is) and leave `spec` (what was asked) out.
import { errors } from './api-errors';
import { postgresErrors } from './autoscaling-errors';
import { PROJECT_DEFAULTS } from './autoscaling-limits';
import type {
  BranchRecord,
  ComputeSettings,
  EndpointRecord,
  PostgresDatabaseRecord,
  PostgresRoleRecord,
  ProjectRecord,
} from './autoscaling-records';

/** `"3600s"` / `"1.5s"` (protobuf Duration JSON) → seconds. */
export function parseDuration(field: string, value: unknown): number {
  if (typeof value !== 'string') throw postgresErrors.invalidDuration(field, value);
  const match = /^(-?\d+(?:\.\d{1,9})?)s$/.exec(value.trim());
  if (!match) throw postgresErrors.invalidDuration(field, value);
  return Number(match[1]);
}

export function formatDuration(seconds: number): string {
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(3)}s`;
}

/**
 * RFC 3339 → ISO string (milliseconds, `Z`). A time finer than a millisecond (PostgreSQL's
 * microseconds) is rounded up, not down: "as of 10:00:00.123456" must include what committed at
 * .123400, which rounding down to .123 would leave out of a copy as of that time.
 */
export function parseTimestamp(field: string, value: unknown): string {
  const match = typeof value === 'string' ? /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(value.trim()) : null;
  if (!match) throw postgresErrors.invalidTimestamp(field, value);
  const fraction = match[2] ?? '';
  const date = new Date(`${match[1]}.${fraction.slice(0, 3).padEnd(3, '0')}${match[3]}`);
  if (Number.isNaN(date.getTime())) throw postgresErrors.invalidTimestamp(field, value);
  const finer = /[1-9]/.test(fraction.slice(3));
  return new Date(date.getTime() + (finer ? 1 : 0)).toISOString();
}

export function objectField(body: Record<string, unknown>, field: string, where: string): Record<string, unknown> | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw errors.invalidParameter(`${where}.${field}`, `${where}.${field} must be an object.`);
  return value as Record<string, unknown>;
}

export function numberField(body: Record<string, unknown>, field: string, where: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw errors.invalidParameter(`${where}.${field}`, `${where}.${field} must be a number.`);
  return value;
}

export function stringMap(body: Record<string, unknown>, field: string, where: string): Record<string, string> | undefined {
  const value = objectField(body, field, where);
  if (value === undefined) return undefined;
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') throw errors.invalidParameter(`${where}.${field}`, `${where}.${field}.${key} must be a string.`);
  }
  return value as Record<string, string>;
}

/** `update_mask` (comma-joined paths) checked against the paths an update accepts. */
export function parseUpdateMask(raw: string | null, allowed: readonly string[], body: Record<string, unknown>): string[] {
  if (raw === null || raw.trim() === '') return ['spec'];
  const paths = raw.split(',').map((path) => path.trim()).filter((path) => path !== '');
  for (const path of paths) if (!allowed.includes(path)) throw postgresErrors.unknownMaskPath(path);
  for (const path of paths) {
    // "Field '…' is in update_mask but not provided in request": only a field whose parent the
    // body carries must itself be there (a oneof group name stands for any of its members).
    const parts = path.split('.');
    if (parts.length < 2 || ['suspension', 'expiration'].includes(parts[parts.length - 1])) continue;
    if (hasPath(body, parts.slice(0, -1)) && !hasPath(body, parts)) throw postgresErrors.maskedButMissing(path);
  }
  return paths;
}

function hasPath(node: unknown, parts: readonly string[]): boolean {
  let current = node;
  for (const part of parts) {
    if (typeof current !== 'object' || current === null || !(part in current)) return false;
    current = (current as Record<string, unknown>)[part];
  }
  return true;
}

/** Whether `path` (or a parent of it) is masked. */
export function masked(paths: readonly string[], path: string): boolean {
  return paths.some((candidate) => candidate === path || path.startsWith(`${candidate}.`));
}

// ---- rendering ---------------------------------------------------------------------------------

function settingsBody(settings: ComputeSettings) {
  return {
    autoscaling_limit_min_cu: settings.minCu,
    autoscaling_limit_max_cu: settings.maxCu,
    ...(settings.suspendTimeoutSeconds === null ? { no_suspension: true } : { suspend_timeout_duration: formatDuration(settings.suspendTimeoutSeconds) }),
    ...(Object.keys(settings.pgSettings).length > 0 ? { pg_settings: { ...settings.pgSettings } } : {}),
  };
}

function deletion(record: { deleteTime?: string; purgeTime?: string }) {
  return {
    ...(record.deleteTime ? { delete_time: record.deleteTime } : {}),
    ...(record.purgeTime ? { purge_time: record.purgeTime } : {}),
  };
}

export function renderProject(record: ProjectRecord) {
  return {
    name: record.name,
    project_id: record.projectId,
    uid: record.uid,
    create_time: record.createTime,
    update_time: record.updateTime,
    ...deletion(record),
    status: {
      project_id: record.projectId,
      display_name: record.displayName,
      pg_version: record.pgVersion,
      history_retention_duration: formatDuration(record.historyRetentionSeconds),
      default_endpoint_settings: settingsBody(record.defaultEndpointSettings),
      default_branch: record.defaultBranch,
      enable_pg_native_login: record.enablePgNativeLogin,
      owner: record.owner,
      branch_logical_size_limit_bytes: PROJECT_DEFAULTS.branchLogicalSizeLimitBytes,
      synthetic_storage_size_bytes: 0,
      ...(record.customTags.length > 0 ? { custom_tags: record.customTags.map((tag) => ({ ...tag })) } : {}),
      ...(record.budgetPolicyId ? { budget_policy_id: record.budgetPolicyId } : {}),
    },
  };
}

export function renderBranch(record: BranchRecord, isDefault: boolean, logicalSizeBytes = 0) {
  return {
    name: record.name,
    branch_id: record.branchId,
    parent: record.project,
    uid: record.uid,
    create_time: record.createTime,
    update_time: record.updateTime,
    status: {
      branch_id: record.branchId,
      current_state: record.deleteTime ? 'DELETED' : record.state,
      state_change_time: record.stateChangeTime,
      default: isDefault,
      is_protected: record.isProtected,
      logical_size_bytes: logicalSizeBytes,
      ...(record.expireTime ? { expire_time: record.expireTime } : {}),
      ...(record.sourceBranch ? { source_branch: record.sourceBranch } : {}),
      ...(record.sourceBranchLsn ? { source_branch_lsn: record.sourceBranchLsn } : {}),
      ...(record.sourceBranchTime ? { source_branch_time: record.sourceBranchTime } : {}),
      ...deletion(record),
    },
  };
}

export function renderEndpoint(record: EndpointRecord) {
  const readOnly = record.type === 'ENDPOINT_TYPE_READ_ONLY';
  return {
    name: record.name,
    endpoint_id: record.endpointId,
    parent: record.branch,
    uid: record.uid,
    create_time: record.createTime,
    update_time: record.updateTime,
    status: {
      endpoint_id: record.endpointId,
      endpoint_type: record.type,
      current_state: record.state,
      disabled: record.disabled,
      ...settingsBody(record.settings),
      settings: Object.keys(record.settings.pgSettings).length > 0 ? { pg_settings: { ...record.settings.pgSettings } } : {},
      // The host names are the endpoint's loopback addresses (fidelity gap endpoint-hosts).
      hosts: readOnly
        ? { host: record.address, read_only_host: record.address, read_only_pooled_host: record.pooledAddress }
        : { host: record.address, read_write_pooled_host: record.pooledAddress },
      group: { min: 1, max: 1, enable_readable_secondaries: false },
      ...(record.lastActiveTime ? { last_active_time: record.lastActiveTime } : {}),
    },
  };
}

export function renderRole(record: PostgresRoleRecord) {
  return {
    name: record.name,
    role_id: record.roleId,
    parent: record.branch,
    create_time: record.createTime,
    update_time: record.updateTime,
    status: {
      role_id: record.roleId,
      postgres_role: record.postgresRole,
      identity_type: record.identityType ?? 'IDENTITY_TYPE_UNSPECIFIED',
      auth_method: record.authMethod,
      ...(record.superuser ? { membership_roles: ['DATABRICKS_SUPERUSER'] } : {}),
      attributes: { ...record.attributes },
    },
  };
}

export function renderDatabase(record: PostgresDatabaseRecord) {
  return {
    name: record.name,
    database_id: record.databaseId,
    parent: record.branch,
    create_time: record.createTime,
    update_time: record.updateTime,
    status: { database_id: record.databaseId, postgres_database: record.postgresDatabase, role: record.role },
  };
}
