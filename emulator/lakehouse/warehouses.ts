// The SQL warehouses of the emulator (`/api/2.0/sql/warehouses`): one exists by default, as in a
// new workspace. Each is a name and a state over the one lakehouse engine; a stopped warehouse's
// Thrift endpoint refuses queries, as a stopped real one does until it is started. State is kept
// in the emulator's state file, so a warehouse stopped before a restart is stopped after it.
import { randomBytes } from 'node:crypto';
import { ApiError } from '../api-errors';
import type { StateStore } from '../store';

export type WarehouseState = 'STARTING' | 'RUNNING' | 'STOPPING' | 'STOPPED' | 'DELETING' | 'DELETED';

export interface WarehouseRecord {
  id: string;
  name: string;
  state: WarehouseState;
  clusterSize: string;
  creatorName: string;
  autoStopMins: number;
}

/** What a new workspace's warehouse is called. */
export const DEFAULT_WAREHOUSE_NAME = 'Serverless Starter Warehouse';

export class WarehouseRegistry {
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly store: StateStore & { state: { warehouses?: Record<string, WarehouseRecord> } },
    private readonly transitionDelayMs: number,
  ) {}

  get #records(): Record<string, WarehouseRecord> {
    this.store.state.warehouses ??= {};
    return this.store.state.warehouses;
  }

  /** Makes the default warehouse on first start; a warehouse caught mid-transition by a restart settles. */
  async restore(creator: string): Promise<void> {
    if (Object.keys(this.#records).length === 0) {
      const id = randomBytes(8).toString('hex');
      this.#records[id] = { id, name: DEFAULT_WAREHOUSE_NAME, state: 'RUNNING', clusterSize: '2X-Small', creatorName: creator, autoStopMins: 10 };
    }
    for (const record of Object.values(this.#records)) {
      if (record.state === 'STARTING') record.state = 'RUNNING';
      if (record.state === 'STOPPING') record.state = 'STOPPED';
    }
    await this.store.save();
  }

  list(): WarehouseRecord[] {
    return Object.values(this.#records).sort((a, b) => a.name.localeCompare(b.name));
  }

  get(id: string): WarehouseRecord {
    const record = this.find(id);
    if (record === undefined) throw new ApiError('RESOURCE_DOES_NOT_EXIST', `Warehouse ${id} does not exist.`);
    return record;
  }

  /** The warehouse, or undefined when there is none with that id. */
  find(id: string): WarehouseRecord | undefined {
    return Object.prototype.hasOwnProperty.call(this.#records, id) ? this.#records[id] : undefined;
  }

  async start(id: string): Promise<void> {
    const record = this.get(id);
    if (record.state === 'RUNNING' || record.state === 'STARTING') return;
    await this.#move(record, 'STARTING', 'RUNNING');
  }

  async stop(id: string): Promise<void> {
    const record = this.get(id);
    if (record.state === 'STOPPED' || record.state === 'STOPPING') return;
    await this.#move(record, 'STOPPING', 'STOPPED');
  }

  async #move(record: WarehouseRecord, passing: WarehouseState, settled: WarehouseState): Promise<void> {
    record.state = passing;
    await this.store.save();
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (record.state !== passing) return;
      record.state = settled;
      void this.store.save();
    }, this.transitionDelayMs);
    this.#timers.add(timer);
  }

  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
