// The emulator's own route (how the CLI and `ensureEmulatorDaemon` recognise the emulator of a
// data directory) and the API families a client may reasonably call that the emulator does not
// serve yet: these fail loudly by name instead of as an anonymous 404.
import { errors } from '../api-errors';
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
  const unsupported = (what: string): Route['handle'] => () => { throw errors.notImplemented(what); };
  return [
    { method: 'GET', path: STATUS_PATH, authenticated: false, handle: () => ({ status: 200, body: status() }) },
    { method: '*', path: '/api/2.0/pipelines', authenticated: true, handle: unsupported('The Pipelines API') },
    { method: '*', path: '/api/2.0/pipelines/{id}', authenticated: true, handle: unsupported('The Pipelines API') },
    { method: '*', path: '/api/2.0/pipelines/{id}/updates', authenticated: true, handle: unsupported('The Pipelines API') },
    { method: '*', path: '/api/2.0/pipelines/{id}/updates/{update}', authenticated: true, handle: unsupported('The Pipelines API') },
    { method: '*', path: '/api/2.2/jobs/{verb}', authenticated: true, handle: unsupported('The Jobs API') },
    { method: '*', path: '/api/2.1/jobs/{verb}', authenticated: true, handle: unsupported('The Jobs API') },
  ];
}
