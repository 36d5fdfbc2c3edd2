// One wording for a session's transaction state, used after every SQL magic (a one-line note on
// stderr, so that it never mixes with the results) and in `%lakebase connections`.
import type { TransactionStatus } from '../../lakebase/contracts';

/** `idle`, `in transaction`, `failed transaction`: for the connections table. */
export function transactionWords(status: TransactionStatus): string {
  switch (status) {
    case 'idle':
      return 'idle';
    case 'in-transaction':
      return 'in transaction';
    case 'failed':
      return 'failed transaction';
    default: {
      const unknownStatus: never = status;
      throw new Error(`unknown transaction status ${String(unknownStatus)}`);
    }
  }
}

/** The note written to stderr after a SQL magic, or undefined when the session is idle. */
export function transactionNote(status: TransactionStatus, connection: string | undefined): string | undefined {
  const on = connection === undefined ? '' : ` on "${connection}"`;
  switch (status) {
    case 'idle':
      return undefined;
    case 'in-transaction':
      return `lakebase: a transaction is open${on}; COMMIT or ROLLBACK ends it\n`;
    case 'failed':
      return `lakebase: the transaction${on} failed; statements are ignored until ROLLBACK\n`;
    default: {
      const unknownStatus: never = status;
      throw new Error(`unknown transaction status ${String(unknownStatus)}`);
    }
  }
}
