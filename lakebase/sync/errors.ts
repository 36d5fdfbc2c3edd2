// The errors the sync engine raises itself (server errors stay `SqlError`s, connection errors the
// session's). Stable codes: tests, docs and callers match on them.

export const SYNC_ERRORS = {
  /** A mode, key, watermark or name that cannot work, found before anything was read. */
  invalid: 'SYNC_INVALID',
  /** The source table, view or query does not exist or cannot be read as rows. */
  sourceNotFound: 'SYNC_SOURCE_NOT_FOUND',
  /** A column the sync needs (key, watermark) is not among the source's columns. */
  columnNotFound: 'SYNC_COLUMN_NOT_FOUND',
  /** The target exists but cannot take the source's rows (columns missing, no unique key). */
  targetMismatch: 'SYNC_TARGET_MISMATCH',
  /** INCREMENTAL needs a key to upsert by, and none was given or found. */
  keyRequired: 'SYNC_KEY_REQUIRED',
  /** INCREMENTAL needs a way to find changes (a watermark column), and none was given or stored. */
  watermarkRequired: 'SYNC_WATERMARK_REQUIRED',
  /** The stored state was written by a sync of another source, key or watermark. */
  stateMismatch: 'SYNC_STATE_MISMATCH',
  /** Another sync into the same target is running now. */
  busy: 'SYNC_TARGET_BUSY',
  /** The user interrupted; the target keeps its previous rows. */
  interrupted: 'SYNC_INTERRUPTED',
  /** The sessions given cannot run a sync (no second session can be opened). */
  unsupportedSession: 'SYNC_UNSUPPORTED_SESSION',
} as const;
