// The life of a pipeline update, as the pipelines API names its states (`UpdateInfoState`,
// `PipelineState` in the SDK's `pipelines/model.d.ts`), with one transition function: a move the
// table does not allow is a bug in the emulator and throws, as in `instance-state.ts`.
//
//   CREATED → WAITING_FOR_RESOURCES → INITIALIZING → [RESETTING] → SETTING_UP_TABLES → RUNNING
//     → COMPLETED | FAILED        (a stop: any active state → STOPPING → CANCELED)
//
// RESETTING is passed only by full refreshes. QUEUED is in the API's enum but never entered here:
// "If there is already an active update for the pipeline, the request will fail" (StartUpdate's
// docs), so an update never waits behind another.

export const UPDATE_STATES = [
  'QUEUED',
  'CREATED',
  'WAITING_FOR_RESOURCES',
  'INITIALIZING',
  'RESETTING',
  'SETTING_UP_TABLES',
  'RUNNING',
  'STOPPING',
  'COMPLETED',
  'FAILED',
  'CANCELED',
] as const;
export type UpdateState = (typeof UPDATE_STATES)[number];

export const TERMINAL_UPDATE_STATES: readonly UpdateState[] = ['COMPLETED', 'FAILED', 'CANCELED'];

export const UPDATE_CAUSES = ['API_CALL', 'JOB_TASK', 'USER_ACTION', 'RETRY_ON_FAILURE', 'SCHEMA_CHANGE', 'SERVICE_UPGRADE', 'INFRASTRUCTURE_MAINTENANCE'] as const;
export type UpdateCause = (typeof UPDATE_CAUSES)[number];

/** `PipelineState`; the emulator's pipelines use IDLE, STARTING, RUNNING, STOPPING, FAILED and DELETED. */
export type PipelineState = 'DEPLOYING' | 'STARTING' | 'RUNNING' | 'STOPPING' | 'IDLE' | 'FAILED' | 'RECOVERING' | 'RESETTING' | 'DELETED';

const NEXT: Readonly<Record<UpdateState, readonly UpdateState[]>> = {
  QUEUED: [],
  CREATED: ['WAITING_FOR_RESOURCES', 'STOPPING', 'FAILED'],
  WAITING_FOR_RESOURCES: ['INITIALIZING', 'STOPPING', 'FAILED'],
  INITIALIZING: ['RESETTING', 'SETTING_UP_TABLES', 'STOPPING', 'FAILED'],
  RESETTING: ['SETTING_UP_TABLES', 'STOPPING', 'FAILED'],
  SETTING_UP_TABLES: ['RUNNING', 'STOPPING', 'FAILED'],
  RUNNING: ['COMPLETED', 'STOPPING', 'FAILED'],
  STOPPING: ['CANCELED'],
  COMPLETED: [],
  FAILED: [],
  CANCELED: [],
};

export class InvalidUpdateTransitionError extends Error {
  readonly code = 'EMULATOR_INVALID_TRANSITION';
  constructor(readonly from: string, readonly to: string) {
    super(`Pipeline update state machine: ${from} → ${to} is not allowed (a bug in the emulator).`);
    this.name = 'InvalidUpdateTransitionError';
  }
}

export function isUpdateState(value: unknown): value is UpdateState {
  return typeof value === 'string' && (UPDATE_STATES as readonly string[]).includes(value);
}

/** The one transition function: returns `to`, or throws when the table does not allow the move. */
export function moveUpdate(from: UpdateState, to: UpdateState): UpdateState {
  if (!isUpdateState(from) || !NEXT[from].includes(to)) throw new InvalidUpdateTransitionError(String(from), to);
  return to;
}

export function isActive(state: UpdateState): boolean {
  return !TERMINAL_UPDATE_STATES.includes(state);
}

/** What the pipeline as a whole shows while its latest update is in `state`. */
export function pipelineStateFor(state: UpdateState | undefined): PipelineState {
  switch (state) {
    case undefined:
    case 'COMPLETED':
    case 'CANCELED':
      return 'IDLE';
    case 'FAILED':
      return 'FAILED';
    case 'QUEUED':
    case 'CREATED':
    case 'WAITING_FOR_RESOURCES':
    case 'INITIALIZING':
      return 'STARTING';
    case 'RESETTING':
      return 'RESETTING';
    case 'SETTING_UP_TABLES':
    case 'RUNNING':
      return 'RUNNING';
    case 'STOPPING':
      return 'STOPPING';
    default: {
      const unknownState: never = state;
      throw new InvalidUpdateTransitionError(String(unknownState), 'pipeline state');
    }
  }
}
