// Failures of the emulator as a program (starting, stopping, finding it), as opposed to the API
// errors it answers with (`api-errors.ts`). Each has a stable code and says what to do.
export type EmulatorErrorCode =
  /** The API port is taken by another program. */
  | 'EMULATOR_PORT_IN_USE'
  /** Another emulator already serves this data directory. */
  | 'EMULATOR_ALREADY_RUNNING'
  | 'EMULATOR_NOT_RUNNING'
  /** The running emulator lives inside another program (an in-process emulator), not as a daemon. */
  | 'EMULATOR_NOT_A_DAEMON'
  /** The background process exited or never answered. */
  | 'EMULATOR_DAEMON_FAILED'
  /** `dist/emulator/daemon.js` is missing: the package was not built. */
  | 'EMULATOR_DAEMON_MISSING'
  | 'EMULATOR_STOP_TIMEOUT';

export class EmulatorError extends Error {
  override readonly name = 'EmulatorError';
  constructor(readonly code: EmulatorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
