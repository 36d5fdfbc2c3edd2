// Messages between the kernel's main thread and its compiler thread (kernel/typescript/worker.ts).
// The compiler works on a thread of its own so that loading it never delays kernel_info_reply,
// an interrupt is answered while a cell still type-checks, and the main thread's event loop
// (output, heartbeats, a running cell's timers) never waits for the compiler.
import type { CompileOutcome, Completion } from './compiler';

export type CompilerRequest =
  | { kind: 'compile'; id: number; code: string }
  /** The compiled cell `cell` ran; `keep` as in CellCompiler.commit. No answer. */
  | { kind: 'commit'; cell: number; keep?: string[] }
  /** The compiled cell `cell` did not run. No answer. */
  | { kind: 'discard'; cell: number }
  | { kind: 'complete'; id: number; code: string; cursor: number }
  | { kind: 'inspect'; id: number; code: string; cursor: number };

export type CompilerResponse =
  | { kind: 'compiled'; id: number; outcome: CompileOutcome }
  | { kind: 'completed'; id: number; completion: Completion }
  | { kind: 'inspected'; id: number; text: string | null }
  /** The request `id` threw: a bug in the compiler, not in the cell. */
  | { kind: 'failed'; id: number; message: string; stack?: string }
  | { kind: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string; fields?: Record<string, unknown> };

export interface CompilerWorkerData {
  rootDir: string;
  /** Where the V8 code cache of the compiler lives; undefined: none. */
  cacheDir: string | undefined;
  /** `@types` folders to use when the notebook has no `@types/node` of its own. */
  fallbackTypeRoots: string[];
  /**
   * One Int32 shared with the main thread: the id of a compile request to give up. The compiler
   * checks it between statements of the cell (TypeScript's cancellation token).
   */
  cancel: SharedArrayBuffer;
}
