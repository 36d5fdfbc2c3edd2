// The seams between the parts of lakebase/ and the layers above it, written down before the parts
// exist so that each can be built and tested on its own. Types only: implementations live in the
// modules named beside each type. Nothing here imports from Jupyter, magics or the kernel.

/** The MIME bundle an object displays as (Jupyter `display_data` `data` field). */
export type MimeBundle = Record<string, unknown> & { 'text/plain': string };

/** `Symbol.for("Jupyter.display")`: an object with a method under this key renders itself. */
export const JUPYTER_DISPLAY = Symbol.for('Jupyter.display');

/** One column of a result, from the RowDescription message (see `lakebase/result-set.ts`). */
export interface Column {
  name: string;
  /** Postgres type OID (`pg_type.oid`). */
  typeOid: number;
  /** Postgres type name, e.g. `int4`, `text`, `_int4` for arrays; `unknown` when not looked up. */
  typeName: string;
  /** OID of the table the column comes from, 0 when it is an expression. */
  tableOid: number;
  /** Attribute number within that table, 0 when it is an expression. */
  columnNumber: number;
  /**
   * The type modifier (`pg_attribute.atttypmod`: the length of `varchar(20)`, the precision and
   * scale of `numeric(10,2)`), -1 when there is none; absent where the backend does not report one.
   */
  typeModifier?: number;
  /**
   * The column's Databricks SQL type (`decimal(10,2)`, `array<int>`, `timestamp`) for results of a
   * SQL warehouse. `typeOid`/`typeName` then name the PostgreSQL type whose values look the same
   * (so rendering treats an INT like an int4), or 0/the Databricks name for nested types.
   */
  databricksType?: string;
}

/** A notice or warning the server sent while a statement ran (`RAISE NOTICE`). */
export interface Notice {
  severity: string;
  message: string;
  detail?: string;
  hint?: string;
}

/** Transaction state of a server session, from the last ReadyForQuery message. */
export type TransactionStatus = 'idle' | 'in-transaction' | 'failed';

export interface RunOptions {
  /** Bound parameter values for `$1..$n`; never pasted into the text. */
  params?: readonly unknown[];
  /**
   * Bound parameters by name, for sessions whose server binds `:name` markers itself (SQL
   * warehouses); such sessions have `parameterStyle: 'named'`.
   */
  namedParams?: Readonly<Record<string, unknown>>;
  /** How many rows to keep for display. The total count is still reported. */
  displayLimit: number;
  /** Keep every row (for storing into a variable), not only the displayed page. */
  fetchAll?: boolean;
  /**
   * Called at most once, as soon as the rows to keep are in while the rest of a big result is
   * still being counted, with those rows (`counting` set, `rowCount` the rows so far): the page
   * can be shown before the count ends. Sessions that count quickly may never call it.
   */
  onPage?: (page: import('./result-set').ResultSet) => void;
  /** Aborting cancels the running statement on the server (a Postgres cancel request). */
  signal?: AbortSignal;
  /** Server notices raised while the statement runs. */
  onNotice?: (notice: Notice) => void;
  /**
   * The data of a `COPY ... FROM STDIN` statement, streamed to the server with back-pressure.
   * Without it such a statement fails with `COPY_UNSUPPORTED`.
   */
  copyIn?: CopySource;
  /**
   * Receives the data of a `COPY ... TO STDOUT` statement as it arrives; without it,
   * `COPY_UNSUPPORTED`. A returned promise holds back the next chunk until it settles
   * (back-pressure, e.g. while a sync's target catches up).
   */
  copyOut?: (chunk: Buffer) => unknown;
}

/** What `COPY ... FROM STDIN` can read: text or bytes, whole or as a (sync or async) sequence of chunks, such as a file stream. */
export type CopySource = string | Uint8Array | Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>;

/**
 * One server session (one backend process): statements run one at a time, in order, so that a
 * transaction begun in one cell is committed in a later one. Implemented per kind of server
 * (`lakebase/postgres/session.ts`; see `lakebase/session.ts`).
 */
export interface SqlSession {
  /** What to show the user: `user@host:port/database`, never a password. */
  readonly description: string;
  readonly transactionStatus: TransactionStatus;
  /** Whether the connection to the server is TLS, as the client sees it; undefined while not connected. */
  readonly encrypted?: boolean;
  /**
   * How the statement's values are bound: PostgreSQL's `$1..$n` (default), or `:name` markers
   * sent with the values by name (Databricks SQL warehouses).
   */
  readonly parameterStyle?: 'dollar' | 'named';
  /** What kind of server the session talks to; default PostgreSQL. */
  readonly dialect?: 'postgres' | 'databricks';
  /** Runs exactly one statement. Large results stream through a server-side cursor. */
  run(sql: string, options: RunOptions): Promise<import('./result-set').ResultSet>;
  /**
   * A new, separate server session to the same server, database and user, logged in the same way
   * (a Lakebase token is minted for it as for any new connection). Work that must not disturb this
   * session's transaction, or that needs two backends at once (a sync reading and writing the
   * same database), runs there. Absent where a backend cannot open one.
   */
  openSibling?(signal?: AbortSignal): Promise<SqlSession>;
  close(): Promise<void>;
}
