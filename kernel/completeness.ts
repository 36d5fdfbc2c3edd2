// is_complete_request: may a console send this code, or does it need more lines?
// A parse with TypeScript's own parser tells unterminated blocks, strings and templates apart from
// code that is wrong however many lines follow.
import type * as TypeScript from 'typescript-5';

export interface CompletenessReply {
  status: 'complete' | 'incomplete' | 'invalid' | 'unknown';
  indent?: string;
}

let ts: typeof TypeScript | undefined;

export function isComplete(code: string): CompletenessReply {
  if (/^\s*%%lakebase\b/.test(code)) return { status: 'complete' };
  if (code.trim() === '') return { status: 'complete' };
  // Loaded on first use: the compiler is large and most clients never ask.
  ts ??= require('typescript-5') as typeof TypeScript;
  const source = ts.createSourceFile('cell.ts', withoutMagicLines(code), ts.ScriptTarget.Latest, true);
  const diagnostics = (source as unknown as { parseDiagnostics: TypeScript.Diagnostic[] }).parseDiagnostics;
  if (diagnostics.length === 0) return { status: 'complete' };
  const atEnd = diagnostics.some((d) => (d.start ?? 0) >= source.text.trimEnd().length);
  if (!atEnd) return { status: 'invalid' };
  const lastLine = code.split('\n').pop() ?? '';
  const indent = /^\s*/.exec(lastLine)?.[0] ?? '';
  return { status: 'incomplete', indent: /[{([]\s*$/.test(code) ? `${indent}  ` : indent };
}

/** Line magics are not TypeScript; a blank line keeps the parser's positions. */
function withoutMagicLines(code: string): string {
  return code
    .split('\n')
    .map((line) => (/^\s*%lakebase\b/.test(line) ? '' : line))
    .join('\n');
}
