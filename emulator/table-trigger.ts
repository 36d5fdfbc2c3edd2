// A job's table-update trigger (`trigger.table_update`): fires after commits to its source tables,
// as the Jobs service does. Pure timing logic with an injected clock, so its rules are tested
// exactly; `jobs.ts` feeds it commits and starts a run when it fires.
//
// - `condition`: ANY_UPDATED fires once any of the tables changed since the last fire;
//   ALL_UPDATED once every one of them has.
// - `wait_after_last_change_seconds`: fire only after the tables have been quiet that long (a burst
//   of commits gives one run).
// - `min_time_between_triggers_seconds`: never fire sooner than that after the previous fire; a
//   change meanwhile fires when the time is up.

export interface TableTriggerSettings {
  tableNames: readonly string[];
  condition: 'ANY_UPDATED' | 'ALL_UPDATED';
  waitAfterLastChangeMs: number;
  minTimeBetweenTriggersMs: number;
}

export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => {
    const timer = setTimeout(callback, ms);
    // A pending trigger alone does not keep the emulator's process alive.
    timer.unref();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** UC names are case-insensitive. */
function tableKey(name: string): string {
  return name.toLowerCase();
}

export class TableUpdateTrigger {
  readonly #tables: string[];
  /** Tables changed since the last fire. */
  readonly #changed = new Set<string>();
  #lastChangeAt: number | undefined;
  #lastFireAt: number | undefined;
  #timer: unknown;
  #stopped = false;

  constructor(
    private readonly settings: TableTriggerSettings,
    private readonly fire: (tables: string[]) => void,
    private readonly clock: Clock = systemClock,
  ) {
    this.#tables = settings.tableNames.map(tableKey);
  }

  /** Whether the trigger watches `table`. */
  watches(table: string): boolean {
    return this.#tables.includes(tableKey(table));
  }

  /** A commit to `table`. */
  commit(table: string): void {
    if (this.#stopped || !this.watches(table)) return;
    this.#changed.add(tableKey(table));
    this.#lastChangeAt = this.clock.now();
    this.#evaluate();
  }

  /** `trigger_state.table.last_seen_table_states`: which tables changed since the last fire. */
  seen(): { table_name: string; has_seen_updates: boolean }[] {
    return this.settings.tableNames.map((name) => ({ table_name: name, has_seen_updates: this.#changed.has(tableKey(name)) }));
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #qualifies(): boolean {
    return this.settings.condition === 'ALL_UPDATED' ? this.#tables.every((table) => this.#changed.has(table)) : this.#changed.size > 0;
  }

  #evaluate(): void {
    if (this.#timer !== undefined) {
      this.clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#stopped || !this.#qualifies() || this.#lastChangeAt === undefined) return;
    const quietAt = this.#lastChangeAt + this.settings.waitAfterLastChangeMs;
    const allowedAt = this.#lastFireAt === undefined ? 0 : this.#lastFireAt + this.settings.minTimeBetweenTriggersMs;
    const fireAt = Math.max(quietAt, allowedAt);
    const now = this.clock.now();
    if (now >= fireAt) {
      const tables = [...this.#changed];
      this.#changed.clear();
      this.#lastFireAt = now;
      this.fire(tables);
      return;
    }
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#evaluate();
    }, fireAt - now);
  }
}
