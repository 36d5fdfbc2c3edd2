import type { MimeBundle } from './contracts';
import type { ResultSet } from './result-set';

/** Placeholder until the renderer lands: see the rendering work in issue 2. */
export function renderResultSet(result: ResultSet): MimeBundle {
  throw new Error(`renderResultSet is not written yet (${result.command})`);
}
