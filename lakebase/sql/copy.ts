// Which statements stream data between the client and the server: `COPY ... FROM STDIN` (the
// client sends rows) and `COPY ... TO STDOUT` (the server sends them). Everything else, including
// COPY to or from a file on the server, is an ordinary statement.
import { scanSql } from './lexer';

export type CopyDirection = 'from-stdin' | 'to-stdout';

/** The direction of a client-side COPY, or undefined for any other statement (or one that does not scan). */
export function copyDirectionOf(statement: string): CopyDirection | undefined {
  let spans;
  try {
    spans = scanSql(statement);
  } catch {
    return undefined;
  }
  // Words and parentheses of the code, in order; `COPY (SELECT ... FROM t) TO STDOUT` has its
  // query's FROM inside parentheses, which do not count.
  const tokens: string[] = [];
  for (const span of spans) {
    if (span.kind !== 'code') continue;
    for (const match of statement.slice(span.start, span.end).matchAll(/[A-Za-z_]+|[()]/g)) tokens.push(match[0].toLowerCase());
  }
  if (tokens[0] !== 'copy') return undefined;
  let depth = 0;
  for (let i = 1; i < tokens.length - 1; i++) {
    const token = tokens[i];
    if (token === '(') depth++;
    else if (token === ')') depth--;
    else if (depth === 0 && token === 'from' && tokens[i + 1] === 'stdin') return 'from-stdin';
    else if (depth === 0 && token === 'to' && tokens[i + 1] === 'stdout') return 'to-stdout';
  }
  return undefined;
}
