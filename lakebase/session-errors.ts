// Errors every kind of SQL session raises in the same situations (PostgreSQL sessions in
// `postgres/`, SQL warehouse sessions in `warehouse/`), so callers match one set of codes.
import { LakebaseError } from './errors';

/** Codes of the errors a session raises after it connected. */
export const SESSION_ERRORS = {
  /** `run` after `close`. */
  closed: 'SESSION_CLOSED',
  /** The connection broke while a statement ran; the statement may or may not have taken effect. */
  connectionLost: 'CONNECTION_LOST',
  /** The connection broke while a transaction was open; the server rolled the transaction back. */
  transactionLost: 'TRANSACTION_LOST',
  /** The signal was already aborted when the statement's turn came: it was not sent. */
  notStarted: 'STATEMENT_NOT_STARTED',
  /** The statement ignored every cancel; the connection was given up to stop waiting for it. */
  cancelFailed: 'CANCEL_FAILED',
  /** `COPY ... FROM STDIN` / `TO STDOUT` ran without `copyIn` / `copyOut` to stream its data. */
  copyUnsupported: 'COPY_UNSUPPORTED',
  /** `copyIn` / `copyOut` given for a statement that is not that COPY, or COPY data that is not text or bytes. */
  copyMismatch: 'COPY_MISMATCH',
  /** The source of a COPY's data threw; the COPY was rolled back. */
  copySourceFailed: 'COPY_SOURCE_FAILED',
} as const;

export function closedError(description: string): LakebaseError {
  return new LakebaseError(SESSION_ERRORS.closed, `The session ${description} is closed.`, {
    hint: 'Connect again to run more statements.',
  });
}
