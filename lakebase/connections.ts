// The named SQL sessions of one kernel session (or one program), one of them current: what
// `%lakebase connect --as NAME`, `use`, `connections` and `close` work on. It only keeps names and
// order; the sessions themselves (`lakebase/session.ts`) know how to run and close.
import type { SqlSession, TransactionStatus } from './contracts';
import { LakebaseError } from './errors';

export const CONNECTION_REGISTRY_ERRORS = {
  /** No connection is current (none open, or the current one was closed). */
  noCurrent: 'NO_CURRENT_CONNECTION',
  /** No connection has that name. */
  notFound: 'CONNECTION_NOT_FOUND',
  /** A connection with that name is already open. */
  nameTaken: 'CONNECTION_NAME_TAKEN',
  /** The name does not follow `CONNECTION_NAME_RULE`. */
  invalidName: 'CONNECTION_NAME_INVALID',
} as const;

/**
 * Names start with a letter or `_`, then letters, digits, `_` or `-`, at most 63 characters (a
 * PostgreSQL identifier's length; Lakebase instance names fit). Case matters. Such names need no
 * quoting on a magic line and read well in a list.
 */
export const CONNECTION_NAME_RULE = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;

export interface NamedSession {
  readonly name: string;
  readonly session: SqlSession;
}

/** One row of `list()`. */
export interface ConnectionInfo {
  name: string;
  /** `user@host:port/database`. */
  description: string;
  current: boolean;
  transactionStatus: TransactionStatus;
  /** TLS as the client sees it; undefined while not connected. */
  encrypted: boolean | undefined;
}

export interface ConnectionRegistryOptions {
  /**
   * How a user opens a connection, for error hints: the notebook layer says `%lakebase connect`,
   * a plain program something else. Default: a sentence naming no syntax.
   */
  howToConnect?: string;
  /** How a user picks the current connection; `{name}` is replaced by a name. */
  howToUse?: string;
}

export class ConnectionRegistry {
  /** In opening order (a Map keeps insertion order), which is the order `list()` shows. */
  readonly #sessions = new Map<string, SqlSession>();
  #current: string | undefined;
  readonly #howToConnect: string;
  readonly #howToUse: string;

  constructor(options: ConnectionRegistryOptions = {}) {
    this.#howToConnect = options.howToConnect ?? 'Open a connection first.';
    this.#howToUse = options.howToUse ?? 'Pick one by its name ({name}).';
  }

  get size(): number {
    return this.#sessions.size;
  }

  get currentName(): string | undefined {
    return this.#current;
  }

  /**
   * Adds an open session under `name` and makes it current (the one just connected is the one a
   * user means next). A name in use is refused unless `replace`, which closes the old session first.
   */
  async open(name: string, session: SqlSession, options: { replace?: boolean } = {}): Promise<NamedSession> {
    checkName(name);
    const existing = this.#sessions.get(name);
    if (existing !== undefined && existing !== session) {
      if (!options.replace) {
        throw new LakebaseError(CONNECTION_REGISTRY_ERRORS.nameTaken, `A connection named "${name}" is already open (${existing.description}).`, {
          hint: `Close it first, or give the new connection another name (free: "${this.uniqueName(name)}").`,
        });
      }
      this.#sessions.delete(name);
      await existing.close();
    }
    this.#sessions.set(name, session);
    this.#current = name;
    return { name, session };
  }

  /** Makes `name` the current connection. */
  use(name: string): NamedSession {
    const entry = this.get(name);
    this.#current = name;
    return entry;
  }

  /** The current connection; an error that says how to get one when there is none. */
  current(): NamedSession {
    const name = this.#current;
    const session = name === undefined ? undefined : this.#sessions.get(name);
    if (name === undefined || session === undefined) {
      const open = [...this.#sessions.keys()];
      throw new LakebaseError(
        CONNECTION_REGISTRY_ERRORS.noCurrent,
        open.length === 0 ? 'There is no open connection.' : `No connection is current (open: ${open.join(', ')}).`,
        { hint: open.length === 0 ? this.#howToConnect : this.#howToUse.replace('{name}', open[0]) },
      );
    }
    return { name, session };
  }

  /** The connection named `name`; an error listing the open ones when there is none. */
  get(name: string): NamedSession {
    const session = this.#sessions.get(name);
    if (session === undefined) throw this.#notFound(name);
    return { name, session };
  }

  has(name: string): boolean {
    return this.#sessions.has(name);
  }

  /** Closes and forgets `name`. Closing the current connection leaves none current: a later
   * statement must not silently run somewhere the user did not pick. */
  async close(name: string): Promise<void> {
    const session = this.#sessions.get(name);
    if (session === undefined) throw this.#notFound(name);
    this.#sessions.delete(name);
    if (this.#current === name) this.#current = undefined;
    await session.close();
  }

  /** Closes every connection (kernel shutdown). All are forgotten even if some fail to close. */
  async closeAll(): Promise<void> {
    const sessions = [...this.#sessions.entries()];
    this.#sessions.clear();
    this.#current = undefined;
    const outcomes = await Promise.allSettled(sessions.map(([, session]) => session.close()));
    const failures = outcomes.flatMap((outcome, i) => (outcome.status === 'rejected' ? [{ name: sessions[i][0], reason: outcome.reason as unknown }] : []));
    if (failures.length > 0) {
      throw new LakebaseError('CONNECTION_CLOSE_FAILED', `Closing ${failures.map((failure) => failure.name).join(', ')} failed.`, {
        hint: 'The connections are forgotten; the server ends their sessions when it notices.',
        cause: failures.length === 1 ? failures[0].reason : new AggregateError(failures.map((failure) => failure.reason)),
      });
    }
  }

  list(): ConnectionInfo[] {
    return [...this.#sessions.entries()].map(([name, session]) => ({
      name,
      description: session.description,
      current: name === this.#current,
      transactionStatus: session.transactionStatus,
      encrypted: session.encrypted,
    }));
  }

  /**
   * A free name made from `base` (e.g. a database or instance name): characters outside the rule
   * become `_`, and `_2`, `_3`, ... is appended while the name is taken.
   */
  uniqueName(base: string): string {
    let stem = base.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 58);
    if (!/^[A-Za-z_]/.test(stem)) stem = `_${stem}`.slice(0, 58);
    if (!this.#sessions.has(stem)) return stem;
    for (let n = 2; ; n++) {
      const candidate = `${stem}_${n}`;
      if (!this.#sessions.has(candidate)) return candidate;
    }
  }

  #notFound(name: string): LakebaseError {
    const open = [...this.#sessions.keys()];
    return new LakebaseError(CONNECTION_REGISTRY_ERRORS.notFound, `There is no connection named "${name}".`, {
      hint: open.length === 0 ? this.#howToConnect : `Open: ${open.join(', ')}.`,
    });
  }
}

function checkName(name: string): void {
  if (!CONNECTION_NAME_RULE.test(name)) {
    throw new LakebaseError(CONNECTION_REGISTRY_ERRORS.invalidName, `"${name}" cannot name a connection.`, {
      hint: 'Use a letter or _ first, then letters, digits, _ or -, at most 63 characters (e.g. "analytics" or "prod-ro").',
    });
  }
}
