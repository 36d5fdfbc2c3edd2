// The credential refresher: keeps a database credential (an OAuth token used as the Postgres
// password) valid for one workspace identity, for as long as the kernel runs.
//
// Lakebase checks a token only at login, so open connections outlive it, but every new
// connection needs a token that is still valid (lakebase.md, "Connecting to Postgres"). A pool
// therefore asks `current()` for each new connection, and the refresher mints the next token in
// the background before the current one expires, so that nobody waits for it. One refresher
// serves every connection of one identity in one workspace (design.md, "One refresher per
// workspace identity"): a registry keyed by (workspace host, identity) hands out the same one.
//
// Lifecycle as an explicit state machine (style.md): `transition()` is the only place the state
// changes, and a pair it does not know is a bug that throws.
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { LakebaseError, redactSecrets } from './errors';

/** A token as `POST /api/2.0/database/credentials` returns it. */
export interface MintedCredential {
  token: string;
  expirationTime: Date;
}

export interface MintRequest {
  instanceNames: readonly string[];
  /** Sent as `request_id`; a new one per attempt. */
  requestId: string;
}

export type MintCredential = (request: MintRequest) => Promise<MintedCredential>;

export interface RefresherOptions {
  /** The workspace URL the identity belongs to, e.g. `https://dbc-123.cloud.databricks.com`. */
  workspaceHost: string;
  /** The workspace identity the tokens are minted for (a user name or an application id). */
  identity: string;
  /**
   * What kind of login the tokens are for, when not Provisioned instances: an Autoscaling
   * endpoint's credential (`POST /api/2.0/postgres/credentials {endpoint}`) opens that endpoint
   * only, so each endpoint gets its own refresher (`autoscaling:projects/p/branches/b/endpoints/e (uid)`).
   * Refreshers of one identity with different scopes never share tokens.
   */
  scope?: string;
  /** Mints a token; usually `Workspace.generateCredential`. */
  mint: MintCredential;
  /**
   * Mint the next token this long before the current one expires. Default 5 minutes (the
   * Databricks AppKit uses 2). For tokens that live less than twice this long, half their
   * lifetime is used instead, which leaves the other half for retries.
   */
  refreshBufferMs?: number;
  /** Backoff after a failed mint: the first delay and the cap, in milliseconds. */
  retry?: { initialDelayMs?: number; maxDelayMs?: number };
  /** Injected clock and randomness, for deterministic tests of the schedule. */
  now?: () => number;
  random?: () => number;
}

/**
 * - `idle`: created, no token asked for yet.
 * - `minting`: a request for a token is in flight (there may be a valid token meanwhile).
 * - `scheduled`: a valid token is held; the next refresh is on a timer.
 * - `backing-off`: the last request failed; a retry is on a timer (a token may still be valid).
 * - `stopped`: final; timers cleared, `current()` refuses.
 */
export type RefresherState = 'idle' | 'minting' | 'scheduled' | 'backing-off' | 'stopped';
export type RefresherEvent = 'mint' | 'minted' | 'failed' | 'stop';

const TRANSITIONS: Readonly<Record<RefresherState, Partial<Record<RefresherEvent, RefresherState>>>> = {
  idle: { mint: 'minting', stop: 'stopped' },
  minting: { minted: 'scheduled', failed: 'backing-off', stop: 'stopped' },
  scheduled: { mint: 'minting', stop: 'stopped' },
  'backing-off': { mint: 'minting', stop: 'stopped' },
  // A request in flight when the refresher stopped settles later: its result is dropped.
  stopped: { minted: 'stopped', failed: 'stopped', stop: 'stopped' },
};

export function transition(state: RefresherState, event: RefresherEvent): RefresherState {
  const next = TRANSITIONS[state]?.[event];
  if (next === undefined) {
    throw new Error(`credential refresher: no transition from "${state}" on "${event}"`);
  }
  return next;
}

/** What `%lakebase token` shows. Never the token itself. */
export interface RefresherStatus {
  state: RefresherState;
  workspaceHost: string;
  identity: string;
  /** Undefined for Provisioned instances; `autoscaling:<endpoint> (<uid>)` for an Autoscaling endpoint. */
  scope: string | undefined;
  /** The instances (or the Autoscaling endpoint) the tokens open. */
  instanceNames: string[];
  /** Expiry of the token currently served; null before the first one. */
  expiresAt: Date | null;
  lastRefreshAt: Date | null;
  /** When the next refresh or retry is due; null when none is scheduled. */
  nextRefreshAt: Date | null;
  tokensMinted: number;
  consecutiveFailures: number;
  /** The last failure's message, with secrets redacted; null after a success. */
  lastError: string | null;
  lastErrorAt: Date | null;
}

export interface CredentialRefresher {
  readonly workspaceHost: string;
  readonly identity: string;
  readonly scope: string | undefined;
  /**
   * A token that is valid now, for a new connection (pass it to `pg` as the `password`
   * function). Waits for a mint when none is valid; rejects with `CREDENTIAL_UNAVAILABLE` when
   * minting fails and no valid token is left.
   */
  current(): Promise<string>;
  /**
   * Makes later tokens cover these instances too (a token is scoped to the instances it was
   * minted for). Mints a covering token at once when the current one does not cover them.
   */
  addInstances(instanceNames: readonly string[]): Promise<void>;
  /**
   * Mints the next token now instead of at its scheduled time (to rotate after a revocation, or
   * to see the refresher at work). Open connections are untouched; new ones use the new token.
   * Rejects with the failure when minting fails; the current token keeps serving meanwhile.
   */
  refresh(): Promise<void>;
  status(): RefresherStatus;
  stop(): void;
}

const DEFAULT_REFRESH_BUFFER_MS = 5 * 60_000;
const DEFAULT_RETRY_INITIAL_MS = 1_000;
const DEFAULT_RETRY_MAX_MS = 60_000;
/** Never schedule closer than this: protects the workspace from a hot loop on odd expiries. */
const MIN_DELAY_MS = 50;
/** A token this close to expiry (or a tenth of its lifetime, if less) is too late for a login. */
const LOGIN_MARGIN_MS = 1_000;

export function createRefresher(options: RefresherOptions): CredentialRefresher {
  return new Refresher(options);
}

class Refresher implements CredentialRefresher {
  readonly workspaceHost: string;
  readonly identity: string;
  readonly scope: string | undefined;
  readonly #mint: MintCredential;
  readonly #bufferMs: number;
  readonly #retryInitialMs: number;
  readonly #retryMaxMs: number;
  readonly #now: () => number;
  readonly #random: () => number;

  #state: RefresherState = 'idle';
  #token: string | undefined;
  #expiresAt: number | undefined;
  #lifetimeMs = 0;
  /** Instances later tokens are minted for; `#coveredVersion` says which set the token covers. */
  #instanceNames: string[] = [];
  #instancesVersion = 0;
  #coveredVersion = -1;
  #inflight: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #nextAt: number | undefined;
  #lastRefreshAt: number | undefined;
  #tokensMinted = 0;
  #failures = 0;
  #lastError: LakebaseError | undefined;
  #lastErrorAt: number | undefined;

  constructor(options: RefresherOptions) {
    this.workspaceHost = options.workspaceHost;
    this.identity = options.identity;
    this.scope = options.scope;
    this.#mint = options.mint;
    this.#bufferMs = options.refreshBufferMs ?? DEFAULT_REFRESH_BUFFER_MS;
    this.#retryInitialMs = options.retry?.initialDelayMs ?? DEFAULT_RETRY_INITIAL_MS;
    this.#retryMaxMs = options.retry?.maxDelayMs ?? DEFAULT_RETRY_MAX_MS;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  get state(): RefresherState {
    return this.#state;
  }

  async current(): Promise<string> {
    for (;;) {
      this.#refuseWhenStopped();
      const token = this.#usableToken();
      if (token !== undefined) return token;
      const attempt = this.#inflight ?? this.#startMint();
      await attempt;
      this.#refuseWhenStopped();
      const fresh = this.#usableToken();
      if (fresh !== undefined) return fresh;
      // The attempt we waited for failed, or covered an older set of instances than asked for
      // now (another `addInstances` came in meanwhile): fail on the former, go again on the latter.
      if (this.#state === 'backing-off') throw this.#unavailable();
    }
  }

  async addInstances(instanceNames: readonly string[]): Promise<void> {
    this.#refuseWhenStopped();
    const added = instanceNames.filter((name) => !this.#instanceNames.includes(name));
    if (added.length > 0) {
      this.#instanceNames = [...this.#instanceNames, ...added].sort();
      this.#instancesVersion += 1;
    }
    await this.current();
  }

  async refresh(): Promise<void> {
    this.#refuseWhenStopped();
    await (this.#inflight ?? this.#startMint());
    if (this.#state === 'backing-off') throw this.#lastError ?? this.#unavailable();
  }

  status(): RefresherStatus {
    const date = (ms: number | undefined) => (ms === undefined ? null : new Date(ms));
    return {
      state: this.#state,
      workspaceHost: this.workspaceHost,
      identity: this.identity,
      scope: this.scope,
      instanceNames: [...this.#instanceNames],
      expiresAt: date(this.#expiresAt),
      lastRefreshAt: date(this.#lastRefreshAt),
      nextRefreshAt: date(this.#nextAt),
      tokensMinted: this.#tokensMinted,
      consecutiveFailures: this.#failures,
      lastError: this.#lastError ? this.#lastError.message : null,
      lastErrorAt: date(this.#lastErrorAt),
    };
  }

  stop(): void {
    this.#dispatch('stop');
    this.#clearTimer();
    this.#token = undefined;
  }

  // Secrets stay out of `console.log(refresher)`, `JSON.stringify` and error reports.
  [inspect.custom](): string {
    return `CredentialRefresher ${inspect(this.status())}`;
  }

  toJSON(): RefresherStatus {
    return this.status();
  }

  #dispatch(event: RefresherEvent): void {
    this.#state = transition(this.#state, event);
  }

  #refuseWhenStopped(): void {
    if (this.#state === 'stopped') {
      throw new LakebaseError(
        'REFRESHER_STOPPED',
        `The credential refresher for ${this.identity} on ${this.workspaceHost} was stopped.`,
        { hint: 'Connect again to start a new one.' },
      );
    }
  }

  /** The held token when it still has time for a login and covers every instance asked for. */
  #usableToken(): string | undefined {
    if (this.#token === undefined || this.#expiresAt === undefined) return undefined;
    if (this.#coveredVersion !== this.#instancesVersion) return undefined;
    const margin = Math.min(LOGIN_MARGIN_MS, this.#lifetimeMs / 10);
    return this.#now() < this.#expiresAt - margin ? this.#token : undefined;
  }

  #startMint(): Promise<void> {
    this.#clearTimer();
    this.#dispatch('mint');
    const version = this.#instancesVersion;
    const instanceNames = [...this.#instanceNames];
    const attempt = this.#mint({ instanceNames, requestId: randomUUID() }).then(
      (credential) =>
        credential.expirationTime.getTime() > this.#now()
          ? this.#onMinted(credential, version)
          : this.#onFailed(alreadyExpired(credential)),
      (error: unknown) => this.#onFailed(error),
    );
    this.#inflight = attempt.finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  #onMinted(credential: MintedCredential, version: number): void {
    this.#dispatch('minted');
    if (this.#state === 'stopped') return;
    const now = this.#now();
    const expiresAt = credential.expirationTime.getTime();
    this.#token = credential.token;
    this.#expiresAt = expiresAt;
    this.#lifetimeMs = expiresAt - now;
    this.#coveredVersion = version;
    this.#lastRefreshAt = now;
    this.#tokensMinted += 1;
    this.#failures = 0;
    this.#lastError = undefined;
    this.#lastErrorAt = undefined;
    if (version !== this.#instancesVersion) {
      // New instances were added while this request was in flight: cover them right away.
      this.#schedule(0);
      return;
    }
    const buffer = Math.min(this.#bufferMs, this.#lifetimeMs / 2);
    this.#schedule(expiresAt - buffer - now);
  }

  #onFailed(error: unknown): void {
    this.#dispatch('failed');
    if (this.#state === 'stopped') return;
    const now = this.#now();
    this.#failures += 1;
    this.#lastError = this.#describeFailure(error);
    this.#lastErrorAt = now;
    // Exponential backoff with "equal jitter" (half fixed, half random) so that many kernels
    // hitting one workspace spread out, but never wait so long that a still-valid token
    // expires before the next try.
    const exponential = Math.min(this.#retryMaxMs, this.#retryInitialMs * 2 ** (this.#failures - 1));
    let delay = exponential / 2 + (this.#random() * exponential) / 2;
    if (this.#expiresAt !== undefined && this.#expiresAt > now) {
      delay = Math.min(delay, (this.#expiresAt - now) / 2);
    }
    this.#schedule(delay);
  }

  #schedule(delayMs: number): void {
    this.#clearTimer();
    const delay = Math.max(MIN_DELAY_MS, delayMs);
    this.#nextAt = this.#now() + delay;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#nextAt = undefined;
      if (this.#inflight === undefined && this.#state !== 'stopped') void this.#startMint();
    }, delay);
    // A refresher must never keep a kernel or a script alive on its own.
    this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#nextAt = undefined;
  }

  #describeFailure(error: unknown): LakebaseError {
    const secrets = this.#token === undefined ? [] : [this.#token];
    const text = redactSecrets(error instanceof Error ? error.message : String(error), secrets);
    if (error instanceof LakebaseError) {
      if (error.message === text) return error;
      return new LakebaseError(error.code, text, { hint: error.hint, cause: error });
    }
    return new LakebaseError(
      'CREDENTIAL_MINT_FAILED',
      `Minting a database credential for ${this.identity} failed: ${text}`,
      { cause: error },
    );
  }

  #unavailable(): LakebaseError {
    const last = this.#lastError;
    return new LakebaseError(
      'CREDENTIAL_UNAVAILABLE',
      `No valid database credential for ${this.identity} on ${this.workspaceHost}` +
        (last ? `: ${last.message}` : '.'),
      {
        hint: last?.hint ?? 'The refresher keeps retrying in the background; its status (`%lakebase token` in a notebook) shows how it goes.',
        cause: last,
      },
    );
  }
}

/** Only a clock far off from the workspace's makes a fresh token look expired on arrival. */
function alreadyExpired(credential: MintedCredential): LakebaseError {
  return new LakebaseError(
    'CREDENTIAL_ALREADY_EXPIRED',
    `The workspace returned a credential that expires at ${credential.expirationTime.toISOString()}, ` +
      "which is already past on this machine's clock.",
    { hint: "Check this machine's clock (time zone and NTP sync)." },
  );
}

/** Refreshers by (workspace host, identity, scope), so that connections of one identity share one. */
export interface RefresherRegistry {
  /**
   * The running refresher for `options.workspaceHost` + `options.identity`, or a new one made
   * from `options` (the other options only apply when it is created).
   */
  obtain(options: RefresherOptions): CredentialRefresher;
  list(): CredentialRefresher[];
  /** Stops every refresher (kernel shutdown). */
  stopAll(): void;
}

export function createRefresherRegistry(): RefresherRegistry {
  const refreshers = new Map<string, Refresher>();
  const keyOf = (host: string, identity: string, scope: string | undefined) =>
    `${host.trim().replace(/\/+$/, '').toLowerCase()}\n${identity}\n${scope ?? ''}`;
  return {
    obtain(options) {
      const key = keyOf(options.workspaceHost, options.identity, options.scope);
      const existing = refreshers.get(key);
      if (existing && existing.state !== 'stopped') return existing;
      const created = new Refresher(options);
      refreshers.set(key, created);
      return created;
    },
    list() {
      return [...refreshers.values()].filter((refresher) => refresher.state !== 'stopped');
    },
    stopAll() {
      for (const refresher of refreshers.values()) refresher.stop();
      refreshers.clear();
    },
  };
}

/** The process-wide registry the kernel uses; `sharedRefreshers.stopAll()` on shutdown. */
export const sharedRefreshers: RefresherRegistry = createRefresherRegistry();
