// The wire form of a DatabaseInstance (model.d.ts) and its meaning in the emulator: request bodies
// are validated as the real service validates them and turned into settings; records are rendered
// back into the API's shape. Validation rules come from `limits.ts`.
import { ApiError, errors } from './api-errors';
import {
  ACCEPTED_PG_VERSIONS,
  CAPACITIES,
  DEFAULT_CAPACITY,
  EMULATED_PG_VERSION,
  INSTANCE_NAME,
  INSTANCE_PORT,
  NODE_COUNT,
  RETENTION_WINDOW_DAYS,
} from './limits';
import type { Capacity } from './limits';
import type { CustomTag, InstanceRecord, ParentRef } from './store';

/** What a client can set on an instance. */
export interface InstanceSettings {
  capacity: Capacity;
  stopped: boolean;
  retentionWindowInDays: number;
  nodeCount: number;
  enableReadableSecondaries: boolean;
  enablePgNativeLogin: boolean;
  customTags: CustomTag[];
  requestedPgVersion?: string;
  usagePolicyId?: string;
}

/** `parent_instance_ref` on create: copy this instance, as of now, a time, or an LSN (LSN wins). */
export interface ParentRequest {
  name: string;
  branchTime?: Date;
  lsn?: string;
}

export interface CreateInstanceRequest {
  name: string;
  settings: InstanceSettings;
  parent?: ParentRequest;
}

type Body = Record<string, unknown>;

/** Fields the service computes; clients may send them back (e.g. a fetched object) and they are ignored. */
const OUTPUT_ONLY_FIELDS = new Set([
  'child_instance_refs', 'creation_time', 'creator', 'effective_capacity', 'effective_custom_tags',
  'effective_enable_pg_native_login', 'effective_enable_readable_secondaries', 'effective_node_count',
  'effective_retention_window_in_days', 'effective_stopped', 'effective_usage_policy_id',
  'read_only_dns', 'read_write_dns', 'state', 'uid',
  // The emulator's own, where instances share 127.0.0.1 (see renderInstance).
  'emulator_read_write_port', 'emulator_read_only_port',
]);

const INPUT_FIELDS = new Set([
  'name', 'capacity', 'stopped', 'retention_window_in_days', 'node_count', 'enable_readable_secondaries',
  'enable_pg_native_login', 'pg_version', 'custom_tags', 'usage_policy_id', 'parent_instance_ref',
]);

/** Fields `update_mask` may name; the others are fixed at creation. */
const UPDATABLE_FIELDS = new Set([
  'capacity', 'stopped', 'retention_window_in_days', 'node_count', 'enable_readable_secondaries',
  'enable_pg_native_login', 'custom_tags', 'usage_policy_id',
]);

export function validateInstanceName(name: unknown): string {
  if (name === undefined || name === null || name === '') throw errors.missingParameter('name');
  if (typeof name !== 'string') throw errors.invalidParameter('name', 'Instance name must be a string.');
  if (name.length < INSTANCE_NAME.minLength || name.length > INSTANCE_NAME.maxLength || !INSTANCE_NAME.pattern.test(name)) {
    throw errors.invalidParameter('name', `Invalid instance name '${name}': it must be ${INSTANCE_NAME.rule}.`);
  }
  return name;
}

function checkFields(body: Body): void {
  for (const field of Object.keys(body)) {
    if (!INPUT_FIELDS.has(field) && !OUTPUT_ONLY_FIELDS.has(field)) throw errors.unknownField(field, 'DatabaseInstance');
  }
}

function parseCapacity(value: unknown): Capacity {
  if (typeof value !== 'string' || !(CAPACITIES as readonly string[]).includes(value)) {
    throw errors.invalidParameter('capacity', `Invalid capacity '${String(value)}'. Valid values are ${CAPACITIES.join(', ')}.`);
  }
  return value as Capacity;
}

function parseBoolean(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw errors.invalidParameter(field, `${field} must be a boolean.`);
  return value;
}

function parseRetention(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < RETENTION_WINDOW_DAYS.min || value > RETENTION_WINDOW_DAYS.max) {
    throw errors.invalidParameter(
      'retention_window_in_days',
      `Invalid retention_window_in_days ${JSON.stringify(value)}: valid values are ${RETENTION_WINDOW_DAYS.min} to ${RETENTION_WINDOW_DAYS.max} days.`,
    );
  }
  return value;
}

function parseNodeCount(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < NODE_COUNT.min || value > NODE_COUNT.max) {
    throw errors.invalidParameter('node_count', `Invalid node_count ${JSON.stringify(value)}: valid values are ${NODE_COUNT.min} to ${NODE_COUNT.max}.`);
  }
  return value;
}

const LSN = /^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/;

/** `parent_instance_ref`: `name`, and `branch_time` (RFC 3339) or `lsn`; `uid` and `effective_lsn` are output only. */
function parseParentRef(value: unknown): ParentRequest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw errors.invalidParameter('parent_instance_ref', 'parent_instance_ref must be an object.');
  const ref = value as Body;
  for (const field of Object.keys(ref)) {
    if (!['name', 'uid', 'branch_time', 'lsn', 'effective_lsn'].includes(field)) throw errors.unknownField(field, 'DatabaseInstanceRef');
  }
  if (typeof ref.name !== 'string' || ref.name === '') throw errors.missingParameter('parent_instance_ref.name');
  const parent: ParentRequest = { name: ref.name };
  if (ref.branch_time !== undefined && ref.branch_time !== null) {
    const time = typeof ref.branch_time === 'string' ? new Date(ref.branch_time) : new Date(NaN);
    if (typeof ref.branch_time !== 'string' || Number.isNaN(time.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(ref.branch_time)) {
      throw errors.invalidParameter('parent_instance_ref.branch_time', `Invalid branch_time ${JSON.stringify(ref.branch_time)}: use an RFC 3339 timestamp such as 2026-12-03T10:00:00Z.`);
    }
    parent.branchTime = time;
  }
  if (ref.lsn !== undefined && ref.lsn !== null) {
    if (typeof ref.lsn !== 'string' || !LSN.test(ref.lsn)) {
      throw errors.invalidParameter('parent_instance_ref.lsn', `Invalid lsn ${JSON.stringify(ref.lsn)}: a PostgreSQL LSN such as 0/16B3740.`);
    }
    parent.lsn = ref.lsn.toUpperCase();
  }
  return parent;
}

function parseCustomTags(value: unknown): CustomTag[] {
  if (!Array.isArray(value)) throw errors.invalidParameter('custom_tags', 'custom_tags must be a list of {key, value} objects.');
  return value.map((tag: unknown) => {
    const { key, value: tagValue, ...rest } = (tag ?? {}) as Body;
    const extra = Object.keys(rest)[0];
    if (extra !== undefined) throw errors.unknownField(extra, 'CustomTag');
    if (typeof key !== 'string' || key === '') throw errors.invalidParameter('custom_tags', 'Every custom tag needs a non-empty string key.');
    if (tagValue !== undefined && typeof tagValue !== 'string') throw errors.invalidParameter('custom_tags', `Custom tag '${key}' must have a string value.`);
    return tagValue === undefined ? { key } : { key, value: tagValue };
  });
}

function parsePgVersion(value: unknown): string {
  if (typeof value !== 'string' || !(ACCEPTED_PG_VERSIONS as readonly string[]).includes(value)) {
    throw errors.invalidParameter('pg_version', `Invalid pg_version '${String(value)}'. Valid values are ${ACCEPTED_PG_VERSIONS.join(', ')}.`);
  }
  return value;
}

/** Applies one input field to `settings`; features the emulator lacks are refused by name. */
function applyField(settings: InstanceSettings, field: string, value: unknown): void {
  switch (field) {
    case 'capacity': settings.capacity = parseCapacity(value); return;
    case 'stopped': settings.stopped = parseBoolean(field, value); return;
    case 'retention_window_in_days': settings.retentionWindowInDays = parseRetention(value); return;
    case 'node_count': settings.nodeCount = parseNodeCount(value); return;
    case 'custom_tags': settings.customTags = parseCustomTags(value); return;
    case 'pg_version': settings.requestedPgVersion = parsePgVersion(value); return;
    case 'usage_policy_id':
      if (typeof value !== 'string') throw errors.invalidParameter(field, 'usage_policy_id must be a string.');
      settings.usagePolicyId = value;
      return;
    case 'enable_readable_secondaries': settings.enableReadableSecondaries = parseBoolean(field, value); return;
    case 'enable_pg_native_login': settings.enablePgNativeLogin = parseBoolean(field, value); return;
    default:
      throw new Error(`applyField: unhandled field '${field}'`);
  }
}

export function parseCreateInstance(body: Body): CreateInstanceRequest {
  checkFields(body);
  const name = validateInstanceName(body.name);
  const settings: InstanceSettings = {
    capacity: DEFAULT_CAPACITY,
    stopped: false,
    retentionWindowInDays: RETENTION_WINDOW_DAYS.default,
    nodeCount: NODE_COUNT.default,
    enableReadableSecondaries: false,
    enablePgNativeLogin: false,
    customTags: [],
  };
  let parent: ParentRequest | undefined;
  for (const [field, value] of Object.entries(body)) {
    if (field === 'name' || OUTPUT_ONLY_FIELDS.has(field) || value === undefined || value === null) continue;
    if (field === 'parent_instance_ref') parent = parseParentRef(value);
    else applyField(settings, field, value);
  }
  checkSecondaries(settings.nodeCount, settings.enableReadableSecondaries);
  return { name, settings, ...(parent ? { parent } : {}) };
}

/** Readable secondaries need a secondary: at least two nodes. */
export function checkSecondaries(nodeCount: number, readable: boolean): void {
  if (readable && nodeCount < 2) {
    throw errors.invalidParameter(
      'enable_readable_secondaries',
      `enable_readable_secondaries needs a secondary: set node_count to 2 or 3 (it is ${nodeCount}).`,
    );
  }
}

/**
 * The settings an update changes. `update_mask` is a comma-separated list of fields; empty or `*`
 * means every input field present in the body ("If unspecified, all fields will be updated when
 * possible"). A masked field absent from the body is refused rather than reset to its default:
 * `@databricks/sdk-experimental` 0.17 sends PATCH requests without their body (its api-client only
 * attaches bodies to POST and PUT), and silently treating `stopped` as false would start an
 * instance the caller meant to stop.
 */
export function parseInstanceUpdate(pathName: string, body: Body, updateMask: string | null): Partial<InstanceSettings> {
  checkFields(body);
  if (body.name !== undefined && body.name !== pathName) {
    throw errors.invalidParameter('name', `The instance name in the body ('${String(body.name)}') differs from the one in the path ('${pathName}').`);
  }
  const mask = (updateMask ?? '').split(',').map((field) => field.trim()).filter((field) => field !== '');
  const everything = mask.length === 0 || (mask.length === 1 && mask[0] === '*');
  const fields = everything ? Object.keys(body).filter((field) => UPDATABLE_FIELDS.has(field)) : mask;
  if (fields.length === 0) {
    throw errors.invalidParameter('update_mask', 'Nothing to update: name fields in update_mask and set them in the request body.');
  }
  const settings = {} as InstanceSettings;
  for (const field of fields) {
    if (!UPDATABLE_FIELDS.has(field)) {
      const reason = INPUT_FIELDS.has(field) || OUTPUT_ONLY_FIELDS.has(field) ? 'cannot be updated' : 'is not a field of DatabaseInstance';
      throw errors.invalidParameter('update_mask', `update_mask names '${field}', which ${reason}.`);
    }
    const value = body[field];
    if (value === undefined || value === null) {
      if (field === 'custom_tags') { settings.customTags = []; continue; }
      throw new ApiError(
        'INVALID_PARAMETER_VALUE',
        `update_mask names '${field}' but the request body does not set it. ` +
          '(@databricks/sdk-experimental 0.17 drops PATCH bodies; send this request with a body yourself.)',
        { field },
      );
    }
    applyField(settings, field, value);
  }
  return settings;
}

export interface RenderOptions {
  /** `custom_tags` "is only included on create and update responses". */
  includeCustomTags: boolean;
  /** The instance's children (`child_instance_refs`), if it has any. */
  children?: readonly InstanceRecord[];
}

/**
 * The API's view of an instance. Input-only twins (`stopped`, `node_count`,
 * `retention_window_in_days`, ...) are answered by their `effective_*` fields, as model.d.ts says.
 */
export function renderInstance(record: InstanceRecord, options: RenderOptions): Record<string, unknown> {
  const stopped = record.state === 'STOPPED';
  const view: Record<string, unknown> = {
    name: record.name,
    uid: record.uid,
    state: record.state,
    capacity: record.capacity,
    creator: record.creator,
    creation_time: record.creationTime,
    pg_version: EMULATED_PG_VERSION,
    read_write_dns: record.address,
    effective_capacity: record.capacity,
    effective_stopped: stopped,
    effective_retention_window_in_days: record.retentionWindowInDays,
    effective_node_count: record.nodeCount,
    effective_enable_readable_secondaries: record.readableSecondaries === true,
    effective_enable_pg_native_login: record.pgNativeLogin === true,
    effective_custom_tags: record.customTags,
  };
  // "only available if enable_readable_secondaries is true" (model.d.ts).
  if (record.readableSecondaries === true && record.secondaryAddress !== undefined) {
    view.read_only_dns = record.secondaryAddress;
    if (record.secondaryPort !== undefined && record.secondaryPort !== INSTANCE_PORT) view.emulator_read_only_port = record.secondaryPort;
  }
  if (record.parent !== undefined) view.parent_instance_ref = renderRef(record.parent);
  if (options.children !== undefined && options.children.length > 0) {
    view.child_instance_refs = options.children.map((child) => ({ name: child.name, uid: child.uid }));
  }
  // Where only 127.0.0.1 exists (no loopback aliases), instances share it with a port each; the
  // API has no port field, so the emulator adds one, and only then.
  if (record.port !== INSTANCE_PORT) view.emulator_read_write_port = record.port;
  // The API has no field for why an instance is STARTING or FAILED; the emulator says it here.
  if (record.stateMessage !== undefined) view.emulator_state_message = record.stateMessage;
  if (record.usagePolicyId !== undefined) {
    view.usage_policy_id = record.usagePolicyId;
    view.effective_usage_policy_id = record.usagePolicyId;
  }
  if (options.includeCustomTags) view.custom_tags = record.customTags;
  return view;
}

function renderRef(ref: ParentRef): Record<string, unknown> {
  return {
    name: ref.name,
    uid: ref.uid,
    ...(ref.branchTime !== undefined ? { branch_time: ref.branchTime } : {}),
    ...(ref.lsn !== undefined ? { lsn: ref.lsn } : {}),
    ...(ref.effectiveLsn !== undefined ? { effective_lsn: ref.effectiveLsn } : {}),
  };
}
