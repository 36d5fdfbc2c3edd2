// The emulator's public face (types in `contracts.ts`): start one in this process, or make sure a
// background one runs for a data directory and get its endpoint; stop it; ask how it is.
export type {
  EmulatorEndpoint,
  EmulatorOptions,
  EmulatorServicePrincipal,
  EmulatorUser,
  RunningEmulator,
} from './contracts';
export { startEmulator, DEFAULT_EMULATOR_PORT } from './start';
export { defaultEmulatorDataDir } from './paths';
export { ensureEmulatorDaemon, stopEmulatorDaemon, emulatorStatus } from './daemon-control';
export type { EmulatorStatus, EmulatorInstanceSummary, StopResult } from './daemon-control';
export { runEmulatorCli } from './cli';
export { EmulatorError } from './errors';
export type { EmulatorErrorCode } from './errors';
export { API_FIDELITY_GAPS } from './limits';
export type { ApiFidelityGap } from './limits';
export { INSTANCE_SERVER_FIDELITY_GAPS } from './postgres/index';
