// How values become MIME bundles, and the `display()` function every cell gets.
import { inspect } from 'node:util';
import { randomUUID } from 'node:crypto';
import { JUPYTER_DISPLAY, MimeBundle } from '../lakebase/contracts';

export interface DisplayOptions {
  /** Publish under this id; a later `display(..., { displayId, update: true })` replaces it. */
  displayId?: string;
  /** Replace what is shown under `displayId` instead of adding a new output. */
  update?: boolean;
  /** The value is a MIME bundle already (`{ "text/html": "...", "text/plain": "..." }`). */
  raw?: boolean;
  metadata?: Record<string, unknown>;
}

export interface DisplayHandle {
  readonly displayId: string;
  update(value: unknown): void;
}

export interface DisplayMessage {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  displayId?: string;
  update: boolean;
}

/** `text/plain` always; richer types when the value renders itself (Deno's Jupyter.display). */
export function mimeBundleOf(value: unknown): MimeBundle {
  const render = (value as { [JUPYTER_DISPLAY]?: unknown } | null | undefined)?.[JUPYTER_DISPLAY];
  if (typeof render === 'function') {
    const bundle = render.call(value) as Record<string, unknown> | null | undefined;
    if (bundle && typeof bundle === 'object') {
      return { ...bundle, 'text/plain': typeof bundle['text/plain'] === 'string' ? bundle['text/plain'] : plainText(value) };
    }
  }
  return { 'text/plain': plainText(value) };
}

function plainText(value: unknown): string {
  return inspect(value, { depth: 4, maxArrayLength: 100, breakLength: 100 });
}

function isMimeBundle(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.keys(value).every((key) => key.includes('/'));
}

/** Builds the `display()` function of the cells; `publish` sends display_data or its update. */
export function createDisplayFunction(publish: (message: DisplayMessage) => void) {
  return function display(value: unknown, options: DisplayOptions = {}): DisplayHandle {
    const displayId = options.displayId ?? (options.update ? undefined : randomUUID());
    if (options.update && !displayId) {
      throw new TypeError('display(value, { update: true }) needs the displayId of the output to update');
    }
    const show = (shown: unknown, update: boolean) => {
      const data = options.raw && isMimeBundle(shown)
        ? { 'text/plain': plainText(shown), ...shown } as MimeBundle
        : mimeBundleOf(shown);
      publish({ data, metadata: options.metadata ?? {}, displayId, update });
    };
    show(value, options.update === true);
    return {
      displayId: displayId!,
      update: (next: unknown) => show(next, true),
    };
  };
}
