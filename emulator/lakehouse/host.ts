// The emulator's lakehouse, started on first use: most emulator runs (a kernel that only talks to
// Lakebase) never query a warehouse, and its PostgreSQL server costs a second to start.
import type { Lakehouse } from './engine';

export interface LakehouseHost {
  /** The running lakehouse, started now if it is not yet. */
  get(): Promise<Lakehouse>;
  /** Whether it runs (without starting it). */
  readonly started: boolean;
  stop(): Promise<void>;
}

export function lazyLakehouse(start: () => Promise<Lakehouse>): LakehouseHost {
  let starting: Promise<Lakehouse> | undefined;
  let stopped = false;
  return {
    get() {
      if (stopped) return Promise.reject(new Error('The emulator is stopping; its lakehouse is closed.'));
      starting ??= start().catch((error: unknown) => {
        // A failed start is tried again by the next caller.
        starting = undefined;
        throw error;
      });
      return starting;
    },
    get started() {
      return starting !== undefined;
    },
    async stop() {
      stopped = true;
      const running = starting;
      starting = undefined;
      if (running) await (await running.catch(() => undefined))?.stop();
    },
  };
}
