// `page_size` / `page_token` pagination of list calls. The token is opaque to clients; here it names
// the last item of the previous page, so a page stays correct when items are added or removed
// between calls (an offset would skip or repeat items).
import { errors } from './api-errors';
import { PAGE_SIZE } from './limits';

export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

function encode(after: string): string {
  return Buffer.from(JSON.stringify({ after }), 'utf8').toString('base64url');
}

function decode(token: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { after?: unknown }).after === 'string') {
      return (parsed as { after: string }).after;
    }
  } catch (error) {
    throw errors.invalidParameter('page_token', `Invalid page_token: ${(error as Error).message}`);
  }
  throw errors.invalidParameter('page_token', 'Invalid page_token.');
}

/** Parses `page_size` from a query string value: absent → default, above the maximum → the maximum. */
export function parsePageSize(raw: string | null): number {
  if (raw === null || raw === '') return PAGE_SIZE.default;
  const size = Number(raw);
  if (!Number.isInteger(size) || size < 0) {
    throw errors.invalidParameter('page_size', `page_size must be a non-negative integer, got '${raw}'.`);
  }
  // 0 means "the server's default", as in the AIP-158 convention the Databricks APIs follow.
  if (size === 0) return PAGE_SIZE.default;
  return Math.min(size, PAGE_SIZE.max);
}

/** One page of `items`, which must be sorted by `keyOf`. */
export function paginate<T>(items: readonly T[], keyOf: (item: T) => string, pageSize: number, pageToken: string | null): Page<T> {
  const after = pageToken ? decode(pageToken) : undefined;
  const start = after === undefined ? 0 : items.findIndex((item) => keyOf(item) > after);
  const remaining = start < 0 ? [] : items.slice(start);
  const page = remaining.slice(0, pageSize);
  const more = remaining.length > pageSize;
  return more ? { items: page, nextPageToken: encode(keyOf(page[page.length - 1])) } : { items: page };
}
