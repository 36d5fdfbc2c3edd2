// `%lakebase token`: what the background refreshers are doing with the Lakebase database tokens
// (identity, expiry, last refresh, failures). Never the token itself: `status()` does not hold it.
import type { RefresherStatus } from '../../lakebase/credentials';
import type { VerbFamily } from '../declarations';
import { TableOutput } from '../outputs';
import type { MagicServices } from '../services';

export const tokenFamily: VerbFamily<MagicServices> = {
  name: 'token',
  summary: 'Tokens',
  kernelOnly: true,
  verbs: [
    {
      name: 'token',
      summary: 'Show the Lakebase database tokens being refreshed: identity, expiry, last refresh, failures',
      positionals: [],
      options: [{ name: 'refresh', kind: 'flag', summary: 'Mint the next token of every identity now (open connections are untouched)' }],
      details: [
        'Connections to Lakebase instances log in with one-hour database tokens. One refresher per workspace identity mints the next ' +
          'token a few minutes before the current one expires, retrying with backoff on failure; open connections are never dropped. ' +
          'The token itself is never shown.',
      ],
      examples: ['%lakebase token', '%lakebase token --refresh'],
      async run({ services, invocation }) {
        if (invocation.options.refresh === true) {
          await Promise.all(services.refreshers.list().map((refresher) => refresher.refresh()));
        }
        const now = Date.now();
        const rows = services.refreshers.list().map((refresher) => statusRow(refresher.status(), now));
        return new TableOutput(
          ['identity', 'workspace', 'instances', 'state', 'expires', 'last refresh', 'next refresh', 'tokens minted', 'failures', 'last error'],
          rows,
          'No Lakebase tokens in use: connections by URL or PG* variables log in with passwords. Connect to an instance with %lakebase connect INSTANCE.',
        );
      },
    },
  ],
};

function statusRow(status: RefresherStatus, now: number): string[] {
  return [
    status.identity,
    status.workspaceHost,
    status.instanceNames.join(', '),
    status.state,
    when(status.expiresAt, now),
    when(status.lastRefreshAt, now),
    when(status.nextRefreshAt, now),
    String(status.tokensMinted),
    String(status.consecutiveFailures),
    status.lastError === null ? '' : `${status.lastError}${status.lastErrorAt === null ? '' : ` (${when(status.lastErrorAt, now)})`}`,
  ];
}

/** `2026-11-27 14:05:00Z (in 54 min)`: an absolute time, and how far it is from now. */
export function when(date: Date | null, now: number): string {
  if (date === null) return '';
  const iso = date.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
  return `${iso} (${relative(date.getTime() - now)})`;
}

function relative(ms: number): string {
  const seconds = Math.round(Math.abs(ms) / 1000);
  if (seconds === 0) return 'just now';
  const amount =
    seconds < 90 ? `${seconds} s` : seconds < 90 * 60 ? `${Math.round(seconds / 60)} min` : `${(seconds / 3600).toFixed(1)} h`;
  return ms >= 0 ? `in ${amount}` : `${amount} ago`;
}
