// The errors of the wire layer. Bad input from the network is never thrown (the codec returns a
// typed rejection and the server logs and drops it); these are for what a caller can act on: an
// unusable connection file, a kernel that died or did not start, a reply sent for the wrong request.

export type WireErrorCode =
  /** The connection file cannot be read or is not JSON. */
  | 'CONNECTION_FILE_UNREADABLE'
  /** The connection file lacks a field or has one of the wrong type. */
  | 'CONNECTION_FILE_INVALID'
  /** `signature_scheme` is not `hmac-sha256`, the only scheme this kernel implements. */
  | 'SIGNATURE_SCHEME_UNSUPPORTED'
  /** `transport` is neither `tcp` nor `ipc`. */
  | 'TRANSPORT_UNSUPPORTED'
  /** A socket could not be bound or connected (bad address, no permission). */
  | 'SOCKET_FAILED'
  /** A port in the connection file is taken by another process: start again with other ports. */
  | 'ADDRESS_IN_USE'
  /** The wire or client was closed while something still waited on it. */
  | 'WIRE_CLOSED'
  /** `reply()` named a reply type that does not belong to the request (a bug in the caller). */
  | 'REPLY_TYPE_MISMATCH'
  /** `reply()` or `requestInput()` got a message this wire did not receive (a bug in the caller). */
  | 'UNKNOWN_REQUEST'
  /** The user interrupted while the kernel waited for input. */
  | 'INPUT_INTERRUPTED'
  /** The kernel asked for input but the client has no way to give it. */
  | 'INPUT_NOT_AVAILABLE'
  /** The kernel process could not be started, or exited before it answered. */
  | 'KERNEL_START_FAILED'
  /** The kernel process exited while a request was waiting for its reply. */
  | 'KERNEL_DIED'
  /** No answer within the time the caller allowed. */
  | 'TIMEOUT';

/**
 * The exit code of a kernel that could not bind because a port was taken (EX_TEMPFAIL: "try
 * again"). Ports in a connection file are found free and released before the kernel binds them, as
 * with every Jupyter client, so another process can take one in between; a client that chose the
 * ports answers this code by choosing new ones.
 */
export const ADDRESS_IN_USE_EXIT_CODE = 75;

export class WireError extends Error {
  readonly code: WireErrorCode;

  constructor(code: WireErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  override get name(): string {
    return 'WireError';
  }
}
