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

/** The `display()` of the cells, and what the session needs to keep outputs in order. */
export interface DisplayFunction {
  (value: unknown, options?: DisplayOptions): DisplayHandle;
  /**
   * Runs `publish` once every display asked for before has been published, so that output sent
   * after a display whose bundle is still being rendered (a chart) comes after it, as written.
   */
  inOrder(publish: () => void): void;
  /**
   * Resolves when every display asked for so far has been published; rejects with the error of
   * the first one whose rendering failed since the last call (then forgets it).
   */
  settled(): Promise<void>;
}

/**
 * The bundle a value displays as: `text/plain` always, richer types when the value renders itself
 * (Deno's `Symbol.for("Jupyter.display")`). A value whose method returns a promise (a chart drawn
 * by Vega, which renders asynchronously) gives a promise of the bundle.
 */
export function mimeBundleOf(value: unknown): MimeBundle | Promise<MimeBundle> {
  const render = (value as { [JUPYTER_DISPLAY]?: unknown } | null | undefined)?.[JUPYTER_DISPLAY];
  if (typeof render !== 'function') return { 'text/plain': plainText(value) };
  const bundle = render.call(value) as unknown;
  return isPromiseLike(bundle) ? Promise.resolve(bundle).then((rendered) => completed(rendered, value)) : completed(bundle, value);
}

/** A rendered bundle with its `text/plain` filled in when the renderer left it out. */
function completed(bundle: unknown, value: unknown): MimeBundle {
  if (!bundle || typeof bundle !== 'object') return { 'text/plain': plainText(value) };
  const fields = bundle as Record<string, unknown>;
  return { ...fields, 'text/plain': typeof fields['text/plain'] === 'string' ? fields['text/plain'] : plainText(value) };
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function plainText(value: unknown): string {
  return inspect(value, { depth: 4, maxArrayLength: 100, breakLength: 100 });
}

function isMimeBundle(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.keys(value).every((key) => key.includes('/'));
}

/** Handles `display()` returned: a cell ending in `display(x)` shows x once, not its handle too. */
const handles = new WeakSet<object>();

/** True for what `display()` returns (which a cell's value never shows: issue 11). */
export function isDisplayHandle(value: unknown): boolean {
  return typeof value === 'object' && value !== null && handles.has(value);
}

/**
 * Builds the `display()` function of the cells; `publish` sends display_data or its update, and
 * `beforeDisplay` sends the text printed before the call (buffered output), so that it comes first.
 */
export function createDisplayFunction(publish: (message: DisplayMessage) => void, beforeDisplay: () => void = () => {}): DisplayFunction {
  // The displays still being rendered, in the order they were asked for; `null` when none is.
  let queue: Promise<void> | null = null;
  let failure: { error: unknown } | null = null;

  const inOrder = (step: () => void | Promise<void>) => {
    if (queue === null) {
      const result = step();
      if (!isPromiseLike(result)) return;
      queue = Promise.resolve(result);
    } else {
      queue = queue.then(step);
    }
    const mine = queue.catch((error: unknown) => {
      failure ??= { error };
    }).then(() => {
      if (queue === mine) queue = null;
    });
    queue = mine;
  };

  const display = function display(value: unknown, options: DisplayOptions = {}): DisplayHandle {
    const displayId = options.displayId ?? (options.update ? undefined : randomUUID());
    if (options.update && !displayId) {
      throw new TypeError('display(value, { update: true }) needs the displayId of the output to update');
    }
    const show = (shown: unknown, update: boolean) => {
      beforeDisplay();
      const metadata = options.metadata ?? {};
      if (options.raw && isMimeBundle(shown)) {
        const data = { 'text/plain': plainText(shown), ...shown } as MimeBundle;
        inOrder(() => publish({ data, metadata, displayId, update }));
        return;
      }
      const data = mimeBundleOf(shown);
      inOrder(isPromiseLike(data) ? () => data.then((bundle) => publish({ data: bundle, metadata, displayId, update })) : () => publish({ data, metadata, displayId, update }));
    };
    show(value, options.update === true);
    const handle: DisplayHandle = {
      displayId: displayId!,
      update: (next: unknown) => show(next, true),
    };
    handles.add(handle);
    return handle;
  } as DisplayFunction;

  display.inOrder = (step) => inOrder(step);
  display.settled = async () => {
    while (queue !== null) await queue;
    const failed = failure;
    failure = null;
    if (failed) throw failed.error;
  };
  return display;
}
