// The life of a database instance as an explicit state machine with one transition function: an
// event that is not allowed in the current state is a bug in the emulator and throws (as pg-cursor
// does), while requests a user may legitimately send in the wrong state are refused earlier by the
// API with INVALID_STATE (see `instances.ts`).
//
// States are the API's own (`DatabaseInstanceState` in model.d.ts). The API has no STOPPING state:
// a stop in progress shows as UPDATING, as a resize does, and ends in STOPPED. A server that dies
// on its own is restarted while the instance reads STARTING, as the real service shows compute
// coming up; FAILED, when it cannot be, is the emulator's own (fidelity gap `server-recovery`).

export const INSTANCE_STATES = ['STARTING', 'AVAILABLE', 'UPDATING', 'STOPPED', 'DELETING', 'UPGRADING', 'FAILING_OVER', 'FAILED'] as const;
export type InstanceState = (typeof INSTANCE_STATES)[number];

export type InstanceEvent =
  /** The server accepts connections (after creation, a start, or an emulator restart). */
  | 'server-started'
  /** The server could not be started; the instance stays stopped until started again. */
  | 'start-failed'
  /** Created with `stopped: true`: its data was made and the server stopped again. */
  | 'created-stopped'
  | 'start-requested'
  | 'stop-requested'
  /** The server has stopped after a stop request. */
  | 'server-stopped'
  /** A change of capacity or of the nodes (node_count, readable secondaries). */
  | 'resize-requested'
  | 'resize-applied'
  /** `POST /instances/{name}/failover`: the secondary takes over. */
  | 'failover-requested'
  /** The secondary is the primary (or the failover failed and the old primary stays). */
  | 'failover-done'
  | 'delete-requested'
  /** `PATCH …/upgrade`: the instance becomes a Lakebase Autoscaling project (same data). */
  | 'upgrade-requested'
  /** The project serves the instance's data; the instance answers as before, AVAILABLE. */
  | 'upgraded'
  /** The project could not take it over; the instance runs its own server again. */
  | 'upgrade-failed'
  /** The project an upgraded instance became was deleted (soft): its address refuses logins. */
  | 'project-deleted'
  /** ...and undeleted: the instance answers again. */
  | 'project-undeleted'
  /** The server and its data are gone; the instance no longer exists. */
  | 'deleted'
  /** The server died on its own and is being restarted. */
  | 'server-crashed'
  /** Every restart after a crash failed; the server stays down until the instance is started. */
  | 'recovery-failed';

/** `null` as a target means the instance no longer exists. */
const TRANSITIONS: Record<InstanceState, Partial<Record<InstanceEvent, InstanceState | null>>> = {
  STARTING: { 'server-started': 'AVAILABLE', 'start-failed': 'STOPPED', 'created-stopped': 'STOPPED', 'recovery-failed': 'FAILED', 'delete-requested': 'DELETING' },
  AVAILABLE: {
    'stop-requested': 'UPDATING',
    'resize-requested': 'UPDATING',
    'failover-requested': 'FAILING_OVER',
    'delete-requested': 'DELETING',
    'server-crashed': 'STARTING',
    'upgrade-requested': 'UPGRADING',
    'project-deleted': 'STOPPED',
  },
  UPGRADING: { upgraded: 'AVAILABLE', 'upgrade-failed': 'AVAILABLE' },
  UPDATING: { 'server-stopped': 'STOPPED', 'resize-applied': 'AVAILABLE', 'delete-requested': 'DELETING' },
  STOPPED: { 'start-requested': 'STARTING', 'delete-requested': 'DELETING', 'project-undeleted': 'AVAILABLE' },
  DELETING: { deleted: null },
  FAILING_OVER: { 'failover-done': 'AVAILABLE', 'delete-requested': 'DELETING' },
  FAILED: { 'start-requested': 'STARTING', 'stop-requested': 'UPDATING', 'delete-requested': 'DELETING' },
};

export class InvalidTransitionError extends Error {
  readonly code = 'EMULATOR_INVALID_TRANSITION';
  constructor(readonly state: string, readonly event: InstanceEvent) {
    super(`Instance state machine: event '${event}' is not allowed in state '${state}' (a bug in the emulator).`);
    this.name = 'InvalidTransitionError';
  }
}

export function isInstanceState(value: unknown): value is InstanceState {
  return typeof value === 'string' && (INSTANCE_STATES as readonly string[]).includes(value);
}

/** The one transition function. Throws on an unknown state or an event not allowed in it. */
export function transition(state: InstanceState, event: InstanceEvent): InstanceState | null {
  if (!isInstanceState(state)) throw new InvalidTransitionError(String(state), event);
  const table = TRANSITIONS[state];
  if (!Object.prototype.hasOwnProperty.call(table, event)) throw new InvalidTransitionError(state, event);
  return table[event] as InstanceState | null;
}

/** Whether `event` is allowed in `state`, for the API to refuse a request before acting. */
export function allows(state: InstanceState, event: InstanceEvent): boolean {
  return Object.prototype.hasOwnProperty.call(TRANSITIONS[state] ?? {}, event);
}

/**
 * Where an instance resumes when the emulator starts again: servers never survive the emulator,
 * so an instance that should run starts again (STARTING, then `server-started`; a FAILED one gets
 * a new try), one that was stopped or being stopped stays STOPPED, and a deletion in progress is
 * finished.
 */
export function stateAfterRestart(state: InstanceState, desiredStopped: boolean): InstanceState {
  if (!isInstanceState(state)) throw new InvalidTransitionError(String(state), 'server-started');
  if (state === 'DELETING') return 'DELETING';
  // An upgrade cut off by the stop did not happen: the instance starts as it was.
  return desiredStopped ? 'STOPPED' : 'STARTING';
}
