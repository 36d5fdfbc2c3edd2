// SQL sessions: one contract (`SqlSession` in contracts.ts), one module per kind of server.
// PostgreSQL sessions (Lakebase instances, any PostgreSQL) live in `postgres/`; what every kind
// of session raises alike is in `session-errors.ts`. This module keeps the names callers have
// always imported from here.
export { SESSION_ERRORS } from './session-errors';
export { CONNECTION_ERRORS, connectionFailure } from './postgres/connect-errors';
export { DEFAULT_CANCEL_TIMEOUTS, QUERY_CANCELED } from './postgres/statement';
export type { CancelTimeouts } from './postgres/statement';
export { LakebaseSession, openSession } from './postgres/session';
export type { OpenSessionOptions, SessionState } from './postgres/session';
