// The emulator's pipelines: records (persisted), their updates, and the work an update does. The
// emulator does not run Lakeflow pipelines from notebooks; its pipelines are the ones the
// workspace makes for synced tables, and what an update does is given by whoever made the pipeline
// (`PipelineFlow`): copy a Delta table into PostgreSQL, apply its change feed. The registry owns
// the update's life (`pipeline-state.ts`): the states before the flow runs, each lasting a share of
// the transition delay so that clients really wait, the end state from the flow's outcome, a stop
// that aborts the flow, and one active update per pipeline.
import { randomUUID } from 'node:crypto';
import { ApiError } from './api-errors';
import { isActive, moveUpdate, pipelineStateFor, TERMINAL_UPDATE_STATES } from './pipeline-state';
import type { PipelineState, UpdateCause, UpdateState } from './pipeline-state';
import type { PipelineRecord, PipelineUpdateRecord, StateStore } from './store';

/** Updates kept per pipeline (newest first); older ones are forgotten, as a log rotates. */
export const UPDATES_KEPT = 100;

/** What a flow is told about the update it runs. */
export interface UpdateContext {
  readonly pipelineId: string;
  readonly updateId: string;
  readonly fullRefresh: boolean;
  readonly cause: UpdateCause;
  /** Aborted when the update is stopped (`POST /pipelines/{id}/stop`) or the emulator closes. */
  readonly signal: AbortSignal;
  /** Moves the update on: to SETTING_UP_TABLES before tables are made, to RUNNING when rows move. */
  enter(state: 'SETTING_UP_TABLES' | 'RUNNING'): Promise<void>;
}

/** The work of a pipeline's updates. */
export interface PipelineFlow {
  /**
   * Runs one update: resolves when it completed, rejects to fail it. A continuous pipeline's flow
   * runs until its signal is aborted (then the update ends CANCELED).
   */
  run(update: UpdateContext): Promise<void>;
}

export interface NewPipeline {
  name: string;
  creator: string;
  continuous: boolean;
  /** Who made it, for `GET /pipelines/{id}`'s spec and for finding it again after a restart. */
  owner: { kind: 'synced-table'; name: string };
  catalog?: string;
  schema?: string;
  channel?: 'CURRENT' | 'PREVIEW';
}

export interface StartUpdateRequest {
  cause: UpdateCause;
  fullRefresh: boolean;
}

export interface PipelineRegistryDependencies {
  store: StateStore;
  /** How long each state before the flow's own work lasts at least (a share of the transition delay). */
  stepDelayMs: number;
  log: (line: string) => void;
}

export const pipelineErrors = {
  notFound: (id: string) => new ApiError('RESOURCE_DOES_NOT_EXIST', `The specified pipeline ${id} was not found.`, { pipeline_id: id }),
  updateNotFound: (id: string) => new ApiError('RESOURCE_DOES_NOT_EXIST', `The specified update ${id} was not found.`, { update_id: id }),
  activeUpdate: (pipelineId: string, updateId: string) =>
    new ApiError('RESOURCE_CONFLICT', `An active update ${updateId} already exists for pipeline ${pipelineId}. Wait for it to finish or stop it first.`, {
      pipeline_id: pipelineId,
      update_id: updateId,
    }),
  noFlow: (id: string) =>
    new ApiError('INVALID_STATE', `Pipeline ${id} has nothing to run: the synced table it served is gone.`, { pipeline_id: id }),
};

export class PipelineRegistry {
  readonly #flows = new Map<string, PipelineFlow>();
  /** The running update of each pipeline, with the controller that stops it. */
  readonly #running = new Map<string, { updateId: string; controller: AbortController; done: Promise<void> }>();
  readonly #listeners = new Set<(pipelineId: string, update: PipelineUpdateRecord) => void>();
  readonly #closing = new AbortController();

  constructor(private readonly deps: PipelineRegistryDependencies) {}

  private get records(): Record<string, PipelineRecord> {
    return this.deps.store.state.pipelines;
  }

  create(request: NewPipeline): PipelineRecord {
    const now = Date.now();
    const record: PipelineRecord = {
      id: randomUUID(),
      name: request.name,
      creator: request.creator,
      createdTime: now,
      lastModified: now,
      continuous: request.continuous,
      owner: request.owner,
      channel: request.channel ?? 'CURRENT',
      ...(request.catalog !== undefined ? { catalog: request.catalog } : {}),
      ...(request.schema !== undefined ? { schema: request.schema } : {}),
      updates: [],
    };
    this.records[record.id] = record;
    return record;
  }

  get(id: string): PipelineRecord {
    const record = Object.prototype.hasOwnProperty.call(this.records, id) ? this.records[id] : undefined;
    if (!record) throw pipelineErrors.notFound(id);
    return record;
  }

  list(): PipelineRecord[] {
    return Object.values(this.records).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Gives a pipeline its work (at creation, and again after an emulator restart). */
  attach(id: string, flow: PipelineFlow): void {
    this.get(id);
    this.#flows.set(id, flow);
  }

  /** Called with every change of an update's state (synced tables mirror it in their status). */
  onUpdateChange(listener: (pipelineId: string, update: PipelineUpdateRecord) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  state(record: PipelineRecord): PipelineState {
    return pipelineStateFor(record.updates[0]?.state);
  }

  activeUpdate(id: string): PipelineUpdateRecord | undefined {
    const latest = this.get(id).updates[0];
    return latest && isActive(latest.state) ? latest : undefined;
  }

  getUpdate(pipelineId: string, updateId: string): PipelineUpdateRecord {
    const update = this.get(pipelineId).updates.find((candidate) => candidate.id === updateId);
    if (!update) throw pipelineErrors.updateNotFound(updateId);
    return update;
  }

  /** Starts an update; refuses while another is active ("the request will fail", StartUpdate). */
  async startUpdate(id: string, request: StartUpdateRequest): Promise<PipelineUpdateRecord> {
    const record = this.get(id);
    const active = this.activeUpdate(id);
    if (active) throw pipelineErrors.activeUpdate(id, active.id);
    const flow = this.#flows.get(id);
    if (!flow) throw pipelineErrors.noFlow(id);
    const update: PipelineUpdateRecord = {
      id: randomUUID(),
      state: 'CREATED',
      cause: request.cause,
      creationTime: Date.now(),
      fullRefresh: request.fullRefresh,
    };
    record.updates.unshift(update);
    record.updates.splice(UPDATES_KEPT);
    record.lastModified = Date.now();
    await this.deps.store.save();
    this.#notify(record.id, update);
    const controller = new AbortController();
    const onClose = () => controller.abort(new Error('The emulator is stopping.'));
    this.#closing.signal.addEventListener('abort', onClose, { once: true });
    const done = this.#run(record, update, flow, controller.signal).finally(() => {
      this.#closing.signal.removeEventListener('abort', onClose);
      if (this.#running.get(id)?.updateId === update.id) this.#running.delete(id);
    });
    this.#running.set(id, { updateId: update.id, controller, done });
    return update;
  }

  /** Stops the active update, if any (a no-op otherwise, as the API says). */
  async stop(id: string): Promise<void> {
    this.get(id);
    const running = this.#running.get(id);
    if (!running) return;
    running.controller.abort(new Error('The pipeline was stopped.'));
  }

  /** Resolves when the update has ended (tests, jobs waiting on their task, deletion). */
  async settled(pipelineId: string, updateId: string): Promise<PipelineUpdateRecord> {
    const running = this.#running.get(pipelineId);
    if (running?.updateId === updateId) await running.done;
    return this.getUpdate(pipelineId, updateId);
  }

  /** Stops any update and forgets the pipeline (its synced table was deleted). */
  async delete(id: string): Promise<void> {
    const running = this.#running.get(id);
    if (running) {
      running.controller.abort(new Error('The pipeline was deleted.'));
      await running.done;
    }
    this.#flows.delete(id);
    delete this.records[id];
    await this.deps.store.save();
  }

  /**
   * At emulator start: an update that was active when the emulator stopped did not finish; it is
   * recorded as FAILED (the work it did was rolled back with its transaction).
   */
  async restore(): Promise<void> {
    for (const record of Object.values(this.records)) {
      for (const update of record.updates) {
        if (!TERMINAL_UPDATE_STATES.includes(update.state)) {
          update.state = 'FAILED';
          update.message = 'The emulator stopped while this update ran.';
        }
      }
    }
    await this.deps.store.save();
  }

  async close(): Promise<void> {
    this.#closing.abort();
    await Promise.allSettled([...this.#running.values()].map((running) => running.done));
  }

  async #run(record: PipelineRecord, update: PipelineUpdateRecord, flow: PipelineFlow, signal: AbortSignal): Promise<void> {
    const move = async (to: UpdateState) => {
      update.state = moveUpdate(update.state, to);
      record.lastModified = Date.now();
      this.deps.log(`pipeline ${record.id}: update ${update.id} ${to}`);
      await this.deps.store.save();
      this.#notify(record.id, update);
    };
    try {
      for (const state of ['WAITING_FOR_RESOURCES', 'INITIALIZING', ...(update.fullRefresh ? ['RESETTING' as const] : [])] as const) {
        await this.#pause(signal);
        await move(state);
      }
      await this.#pause(signal);
      await flow.run({
        pipelineId: record.id,
        updateId: update.id,
        fullRefresh: update.fullRefresh,
        cause: update.cause,
        signal,
        enter: async (state) => {
          if (signal.aborted) throw signal.reason;
          if (state === 'RUNNING' && update.state !== 'SETTING_UP_TABLES' && update.state !== 'RUNNING') await move('SETTING_UP_TABLES');
          if (update.state !== state) await move(state);
        },
      });
      if (signal.aborted) throw signal.reason;
      if (update.state !== 'RUNNING') {
        if (update.state !== 'SETTING_UP_TABLES') await move('SETTING_UP_TABLES');
        await move('RUNNING');
      }
      await move('COMPLETED');
    } catch (error) {
      if (signal.aborted) {
        await move('STOPPING');
        await move('CANCELED');
      } else {
        update.message = error instanceof Error ? error.message : String(error);
        this.deps.log(`pipeline ${record.id}: update ${update.id} failed: ${error instanceof Error ? error.stack : String(error)}`);
        await move('FAILED');
      }
    }
  }

  /** Waits one step's share of the transition delay; rejects at once when the update is stopped. */
  #pause(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.deps.stepDelayMs <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, this.deps.stepDelayMs);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #notify(pipelineId: string, update: PipelineUpdateRecord): void {
    for (const listener of this.#listeners) {
      try {
        listener(pipelineId, update);
      } catch (error) {
        this.deps.log(`pipeline ${pipelineId}: an update listener failed: ${error instanceof Error ? error.stack : String(error)}`);
      }
    }
  }
}
