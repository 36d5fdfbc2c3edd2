// The life of a Lakebase Provisioned instance, as the core library offers it: create (also as a
// point-in-time child of another), start, stop, resize and other updates, fail over, delete —
// each a request and, unless the caller says not to, a wait for the state it leads to, with
// progress and a signal that stops the waiting (never the operation; `waiting.ts`).
//
// `/api/2.0/database/instances` (databricks-apis.md §3). Creation goes through the SDK; updates,
// failover and deletion through `Workspace.api`: the SDK 0.17 drops PATCH bodies, has no failover,
// and cannot send `force`. Nothing here knows about Jupyter.
import { LakebaseError } from './errors';
import { waitFor, WaitProgress } from './waiting';
import type { DatabaseInstance, InstanceState, Workspace } from './workspace';

/** `capacity` (databricks-apis.md §3): about 16 GB of memory per capacity unit. */
export const CAPACITIES = ['CU_1', 'CU_2', 'CU_4', 'CU_8'] as const;
export type Capacity = (typeof CAPACITIES)[number];

/** Newer fields than the SDK 0.17 model knows (databricks-apis.md §0 and §3). */
export interface Instance extends DatabaseInstance {
  effective_enable_readable_secondaries?: boolean;
  effective_enable_pg_native_login?: boolean;
  parent_instance_ref?: InstanceRef;
  child_instance_refs?: InstanceRef[];
}

export interface InstanceRef {
  name?: string;
  uid?: string;
  branch_time?: string;
  lsn?: string;
  effective_lsn?: string;
}

/** Where a child instance copies its parent from: now, a time, or an LSN. */
export type CopyPoint = { kind: 'now' } | { kind: 'time'; time: Date } | { kind: 'lsn'; lsn: string };

export interface CreateInstanceRequest {
  name: string;
  capacity?: Capacity;
  /** 1 primary plus secondaries (1–3). */
  nodeCount?: number;
  /** Clients may read from the secondaries at `read_only_dns` (needs nodeCount ≥ 2). */
  readableSecondaries?: boolean;
  /** 2–35 days of history for point-in-time children. */
  retentionWindowInDays?: number;
  /** PG_ONLY roles log in with their PostgreSQL passwords. */
  nativeLogin?: boolean;
  customTags?: { key: string; value?: string }[];
  /** Create it stopped. */
  stopped?: boolean;
  /** Make it a copy of another instance (`parent_instance_ref`). */
  parent?: { name: string; point: CopyPoint };
}

/** What an update may change; each field present goes into the update mask. */
export interface InstanceChanges {
  capacity?: Capacity;
  stopped?: boolean;
  nodeCount?: number;
  readableSecondaries?: boolean;
  retentionWindowInDays?: number;
  nativeLogin?: boolean;
  customTags?: { key: string; value?: string }[];
}

/** How a call waits for the state it leads to. */
export interface InstanceWait {
  /** Return as soon as the request is accepted (the instance is then on its way). */
  noWait?: boolean;
  onProgress?: (progress: WaitProgress<Instance>) => void;
  /** Stops the waiting, never the operation (`WaitStoppedError`). */
  signal?: AbortSignal;
  timeoutMs?: number;
}

function instancePath(name: string): string {
  return `/api/2.0/database/instances/${encodeURIComponent(name)}`;
}

/** The request body of a creation, in the API's words. */
export function creationBody(request: CreateInstanceRequest): Record<string, unknown> {
  const parent = request.parent;
  return {
    name: request.name,
    ...(request.capacity !== undefined ? { capacity: request.capacity } : {}),
    ...(request.nodeCount !== undefined ? { node_count: request.nodeCount } : {}),
    ...(request.readableSecondaries !== undefined ? { enable_readable_secondaries: request.readableSecondaries } : {}),
    ...(request.retentionWindowInDays !== undefined ? { retention_window_in_days: request.retentionWindowInDays } : {}),
    ...(request.nativeLogin !== undefined ? { enable_pg_native_login: request.nativeLogin } : {}),
    ...(request.customTags !== undefined ? { custom_tags: request.customTags } : {}),
    ...(request.stopped !== undefined ? { stopped: request.stopped } : {}),
    ...(parent !== undefined
      ? {
          parent_instance_ref: {
            name: parent.name,
            ...(parent.point.kind === 'time' ? { branch_time: parent.point.time.toISOString() } : {}),
            ...(parent.point.kind === 'lsn' ? { lsn: parent.point.lsn } : {}),
          },
        }
      : {}),
  };
}

/** An update's body and mask: only the fields given. */
export function updateBody(changes: InstanceChanges): { body: Record<string, unknown>; mask: string[] } {
  const fields: [keyof InstanceChanges, string][] = [
    ['capacity', 'capacity'],
    ['stopped', 'stopped'],
    ['nodeCount', 'node_count'],
    ['readableSecondaries', 'enable_readable_secondaries'],
    ['retentionWindowInDays', 'retention_window_in_days'],
    ['nativeLogin', 'enable_pg_native_login'],
    ['customTags', 'custom_tags'],
  ];
  const body: Record<string, unknown> = {};
  const mask: string[] = [];
  for (const [from, to] of fields) {
    if (changes[from] === undefined) continue;
    body[to] = changes[from];
    mask.push(to);
  }
  return { body, mask };
}

/** Waits until the instance is in `state` (unless `noWait`), reporting each poll. */
async function settle(workspace: Workspace, name: string, state: InstanceState, answer: Instance, wait: InstanceWait): Promise<Instance> {
  if (wait.noWait) return answer;
  return (await workspace.waitForInstance(name, state, {
    ...(wait.onProgress ? { onProgress: wait.onProgress as (progress: WaitProgress<DatabaseInstance>) => void } : {}),
    ...(wait.signal ? { signal: wait.signal } : {}),
    ...(wait.timeoutMs !== undefined ? { timeoutMs: wait.timeoutMs } : {}),
  })) as Instance;
}

/** Creates the instance and waits until it is AVAILABLE (or STOPPED, when created stopped). */
export async function createInstance(workspace: Workspace, request: CreateInstanceRequest, wait: InstanceWait = {}): Promise<Instance> {
  // Our own request: the SDK 0.17 model has no parent_instance_ref, so its types would drop it.
  const answer = await workspace.api<Instance>('POST', '/api/2.0/database/instances', {
    operation: `create the instance ${request.name}`,
    body: creationBody(request),
    // A 404 here can only be about the parent.
    instance: request.parent?.name ?? request.name,
  });
  return settle(workspace, request.name, request.stopped ? 'STOPPED' : 'AVAILABLE', answer, wait);
}

/**
 * Changes the instance (`PATCH` with an update mask of exactly the fields given) and waits for
 * what the change leads to: STOPPED for a stop, AVAILABLE otherwise.
 */
export async function updateInstance(workspace: Workspace, name: string, changes: InstanceChanges, wait: InstanceWait = {}): Promise<Instance> {
  const { body, mask } = updateBody(changes);
  if (mask.length === 0) throw new LakebaseError('NOTHING_TO_UPDATE', `Nothing to change on the instance ${name}: give at least one setting.`);
  const answer = await workspace.api<Instance>('PATCH', instancePath(name), {
    operation: `update the instance ${name}`,
    instance: name,
    query: { update_mask: mask.join(',') },
    body: { name, ...body },
  });
  return settle(workspace, name, changes.stopped === true ? 'STOPPED' : 'AVAILABLE', answer, wait);
}

/** `POST …/failover`: the secondary takes over; waits until the instance is AVAILABLE again. */
export async function failoverInstance(workspace: Workspace, name: string, wait: InstanceWait = {}): Promise<Instance> {
  const answer = await workspace.api<Instance>('POST', `${instancePath(name)}/failover`, {
    operation: `fail over the instance ${name}`,
    instance: name,
    body: { name },
  });
  if (wait.noWait) return answer;
  // The request answers FAILING_OVER; wait until it has left it.
  return settle(workspace, name, 'AVAILABLE', answer, wait);
}

/**
 * Deletes the instance (with `force`, its child instances too) and waits until it is gone. The
 * API's `purge` is deprecated and omitted: omitting it deletes the data (databricks-apis.md §3).
 */
export async function deleteInstance(workspace: Workspace, name: string, options: { force?: boolean } & InstanceWait = {}): Promise<void> {
  await workspace.api('DELETE', instancePath(name), {
    operation: `delete the instance ${name}`,
    instance: name,
    ...(options.force ? { query: { force: 'true' } } : {}),
  });
  if (options.noWait) return;
  await waitFor<Instance | undefined, void>({
    description: `the instance ${name} to be deleted`,
    poll: () =>
      workspace.getInstance(name).then(
        (instance) => instance as Instance,
        (error: unknown) => {
          if (error instanceof LakebaseError && error.code === 'INSTANCE_NOT_FOUND') return undefined;
          throw error;
        },
      ),
    check: (instance) => (instance === undefined ? { done: true, result: undefined } : { done: false, state: instance.state ?? 'DELETING', detail: 'the deletion to finish' }),
    ...(options.onProgress ? { onProgress: options.onProgress as (progress: WaitProgress<Instance | undefined>) => void } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    timeoutMs: options.timeoutMs ?? 20 * 60_000,
  });
}

/**
 * When a child instance may be made as of: `--at` written as an RFC 3339 time
 * (`2026-12-03T10:00:00Z`), a time of day with a date and no zone (local time, as people read
 * clocks), or an offset back from now (`-5m`, `-90s`, `-2h`, `-1d`).
 */
export function parsePointInTime(text: string, now = Date.now()): Date {
  const relative = /^-(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)$/i.exec(text.trim());
  if (relative) {
    const unit = relative[2].toLowerCase();
    const ms = { s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 }[unit as 's'];
    return new Date(now - Number(relative[1]) * ms);
  }
  const normalized = text.trim().replace(' ', 'T');
  const time = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(normalized) ? new Date(normalized) : new Date(NaN);
  if (Number.isNaN(time.getTime())) {
    throw new LakebaseError('POINT_IN_TIME_INVALID', `"${text}" is not a point in time.`, {
      hint: 'Write an RFC 3339 time such as 2026-12-03T10:00:00Z, a local "2026-12-03 10:00", or an offset such as -5m, -2h, -1d.',
    });
  }
  return time;
}

/** Whether `text` is a PostgreSQL LSN (`16/B374D848`). */
export function isLsn(text: string): boolean {
  return /^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(text);
}
