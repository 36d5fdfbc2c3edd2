// Small helpers the sync engine uses to talk to its sessions: a statement's rows as arrays, and
// identifiers quoted the way PostgreSQL reads them. Values always go as bound parameters; only
// identifiers (quoted here) and the user's own source query are ever part of the SQL text.
import pg from 'pg';
import type { SqlSession } from '../contracts';

/** Far more rows than any catalog query of the engine returns; passed as "keep every row". */
const ALL_ROWS = Number.MAX_SAFE_INTEGER;

/** Runs one statement and returns every row (as arrays) and the row count. */
export async function query(
  session: SqlSession,
  sql: string,
  params: readonly unknown[] = [],
  signal?: AbortSignal,
): Promise<{ rows: unknown[][]; rowCount: number | null }> {
  const result = await session.run(sql, { params, displayLimit: ALL_ROWS, fetchAll: true, ...(signal ? { signal } : {}) });
  return { rows: result.values as unknown[][], rowCount: result.rowCount };
}

/** `"name"`, with embedded quotes doubled: safe for any identifier. */
export function quoteIdent(name: string): string {
  return pg.escapeIdentifier(name);
}

/** A schema-qualified relation, quoted: `"schema"."table"`. */
export interface RelationName {
  schema: string;
  table: string;
}

export function quoteRelation(name: RelationName): string {
  return `${quoteIdent(name.schema)}.${quoteIdent(name.table)}`;
}

/** How a relation reads in messages: unquoted where PostgreSQL would not need quotes. */
export function displayRelation(name: RelationName): string {
  const part = (text: string) => (/^[a-z_][a-z0-9_$]*$/.test(text) ? text : quoteIdent(text));
  return `${part(name.schema)}.${part(name.table)}`;
}

export function quoteColumns(columns: readonly string[]): string {
  return columns.map(quoteIdent).join(', ');
}
