// The sync engine's public face: `runSync` and what it takes and returns.
export { runSync, SYNC_MODES } from './engine';
export type { SyncMode, SyncOptions } from './engine';
export { SYNC_ERRORS } from './errors';
export type { SyncProgress, SyncPhase } from './progress';
export { SyncResult } from './result';
export type { ColumnMapping } from './result';
export { STATE_SCHEMA, STATE_TABLE } from './target';
