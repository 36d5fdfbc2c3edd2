// The emulator's own route: how the CLI and `ensureEmulatorDaemon` recognise the emulator of a
// data directory. (API families the emulator does not serve fail by name in their own route
// modules, e.g. creating a pipeline in `pipelines.ts`.)
import type { Route } from '../http';

/** Path of the unauthenticated status route; it reveals no secret and no workspace content. */
export const STATUS_PATH = '/lakebase-emulator/v1/status';

export interface EmulatorStatusBody {
  service: 'lakebase-emulator';
  dataDir: string;
  pid: number;
  startedAt: string;
}

export function emulatorRoutes(status: () => EmulatorStatusBody): Route[] {
  return [
    { method: 'GET', path: STATUS_PATH, authenticated: false, handle: () => ({ status: 200, body: status() }) },
  ];
}
