// Tab completion inside SQL text: table, view and schema names where a relation goes (after FROM,
// JOIN, INTO, UPDATE, TABLE), the columns of the relations the statement names (also after an
// alias and a dot), `:name` parameters from the TypeScript session, and keywords. Names that need
// quoting are offered quoted. And Shift+Tab: what the table, view or column under the cursor is.
// Works on half-typed text: nothing here throws.
import type { CatalogColumn, CatalogRelation, SqlCatalog } from './catalog';
import { isIdentifierChar, scanSql, SqlSpan, SqlTextError } from './lexer';

export interface SqlCompletion {
  matches: string[];
  /** `text.slice(start, end)` is what a chosen match replaces. */
  start: number;
  end: number;
}

export interface SqlCompletionContext {
  /** Undefined when there is no connection or its catalog could not be read: keywords only. */
  catalog?: SqlCatalog;
  /** Names a `:name` parameter can take (the TypeScript session's variables). */
  variables?: readonly string[];
}

const KEYWORDS = (
  'ALL ALTER ANALYZE AND AS ASC BEGIN BETWEEN BY CASE CAST CHECK COLUMN COMMIT CONSTRAINT COPY CREATE CROSS ' +
  'DEFAULT DELETE DESC DISTINCT DROP ELSE END EXCEPT EXISTS EXPLAIN FALSE FETCH FILTER FIRST FOREIGN FROM FULL ' +
  'GRANT GROUP HAVING ILIKE IN INDEX INNER INSERT INTERSECT INTERVAL INTO IS JOIN KEY LAST LATERAL LEFT LIKE ' +
  'LIMIT MATERIALIZED NOT NULL NULLS OFFSET ON OR ORDER OUTER OVER PARTITION PRIMARY RECURSIVE REFERENCES ' +
  'RETURNING REVOKE RIGHT ROLLBACK SCHEMA SELECT SET TABLE THEN TRUE TRUNCATE UNION UNIQUE UPDATE USING VALUES ' +
  'VIEW WHEN WHERE WINDOW WITH'
).split(' ');

/**
 * Words that cannot be a column or table name without quotes: PostgreSQL's reserved keywords and
 * those allowed only as function or type names (Appendix C of the manual).
 */
const RESERVED = new Set(
  ('all analyse analyze and any array as asc asymmetric both case cast check collate column constraint create ' +
    'current_catalog current_date current_role current_time current_timestamp current_user default deferrable desc ' +
    'distinct do else end except false fetch for foreign from grant group having in initially intersect into ' +
    'lateral leading limit localtime localtimestamp not null offset on only or order placing primary references ' +
    'returning select session_user some symmetric system_user table then to trailing true union unique user using ' +
    'variadic when where window with authorization binary collation concurrently cross current_schema freeze full ' +
    'ilike inner is isnull join left like natural notnull outer overlaps right similar tablesample verbose').split(' '),
);

/** After these words a relation name comes. */
const RELATION_POSITIONS = new Set(['from', 'join', 'into', 'update', 'table', 'truncate']);

/** Words that end a FROM item, so that they are not taken for its alias. */
const NOT_AN_ALIAS = new Set(
  ('where on using join inner left right full cross natural group order limit offset fetch having window ' +
    'union intersect except returning set values select for lateral tablesample as default').split(' '),
);

/** A word or punctuation of SQL code. Quoted identifiers keep their case, others are lower-cased. */
interface Token {
  kind: 'word' | 'quoted' | 'punct';
  value: string;
  start: number;
  end: number;
}

export function completeSql(text: string, cursor: number, context: SqlCompletionContext = {}): SqlCompletion | null {
  const before = spansBefore(text, cursor);
  if (before === null) return null;
  const last = before.spans[before.spans.length - 1];
  const openQuote = before.openIdentifierAt;
  // Right after a closed string or identifier (`'abc'|`): not a word to complete.
  if (openQuote === undefined && last && last.kind !== 'code' && last.end === cursor) return null;

  // The word being typed: `ord`, `o.`, `public.ord`, `"My Tab`; and where the replacement starts.
  const partialStart = openQuote ?? wordStart(text, cursor);
  const partial = text.slice(partialStart, cursor);
  const end = wordEnd(text, cursor);
  const result = (matches: readonly string[]) => ({ matches: [...new Set(matches)], start: partialStart, end });

  if (openQuote === undefined && text[partialStart - 1] === ':' && text[partialStart - 2] !== ':') {
    return result((context.variables ?? []).filter((name) => name.startsWith(partial)).sort());
  }

  const statement = tokensOfStatement(text, cursor);
  const qualifiers = qualifiersBefore(statement, partialStart);
  const catalog = context.catalog;
  const relations = catalog?.relations ?? [];
  const wanted = matcher(partial);

  if (qualifiers.length > 0) {
    if (!catalog) return result([]);
    const named = relationsNamed(statement, relations, qualifiers);
    const columns = named.flatMap((relation) => relation.columns.map((column) => column.name));
    // `schema.` lists its relations; on a SQL warehouse, whose schemas are `catalog.schema`,
    // `catalog.` lists the catalog's schemas and `catalog.schema.` their tables.
    const prefix = qualifiers.join('.');
    const inSchema = relations.filter((relation) => relation.schema === prefix).map((r) => r.name);
    const subSchemas = catalog.schemas.filter((schema) => schema.startsWith(`${prefix}.`)).map((schema) => schema.slice(prefix.length + 1)).filter((rest) => !rest.includes('.'));
    return result([...sorted(columns), ...sorted(inSchema), ...sorted(subSchemas).map((schema) => `${schema}.`)].map((name) => (name.endsWith('.') ? `${quoteIfNeeded(name.slice(0, -1))}.` : quoteIfNeeded(name))).filter(wanted));
  }

  const previous = lastTokenBefore(statement, partialStart);
  const relationNames = relations.filter((relation) => relation.visible).map((relation) => relation.name);
  // Dotted names are a warehouse's `catalog.schema`: reached through their catalog (above).
  const schemaNames = (catalog?.schemas ?? []).filter((schema) => !schema.includes('.')).map((schema) => `${quoteIfNeeded(schema)}.`);
  const keywordCase = partial !== '' && partial === partial.toLowerCase() ? (word: string) => word.toLowerCase() : (word: string) => word;
  const keywords = KEYWORDS.map(keywordCase).filter(wanted);

  if (previous && (RELATION_POSITIONS.has(previous.value) || fromListCommas(statement).has(previous))) {
    return result([...sorted(relationNames).map(quoteIfNeeded).filter(wanted), ...schemaNames.filter(wanted)]);
  }
  const referenced = referencedRelations(statement, relations).flatMap(({ relation }) => relation.columns.map((column) => column.name));
  return result([
    ...sorted(referenced).map(quoteIfNeeded).filter(wanted),
    ...keywords,
    ...sorted(relationNames).map(quoteIfNeeded).filter(wanted),
    ...schemaNames.filter(wanted),
  ]);
}

/**
 * What the name under the cursor is: a relation with its columns and their types, or one column.
 * Null for anything else (a keyword, a name the catalog does not hold, a string).
 */
export function inspectSql(text: string, cursor: number, catalog: SqlCatalog): string | null {
  const { spans, unclosedAt } = scanLeniently(text);
  if (unclosedAt !== undefined && cursor > unclosedAt) return null;
  const around = spans.find((span) => span.start < cursor && cursor < span.end);
  if (around && around.kind !== 'code' && around.kind !== 'identifier') return null;
  const statement = tokensOfStatement(text, cursor);
  const under = statement.find((token) => (token.kind === 'word' || token.kind === 'quoted') && token.start <= cursor && cursor <= token.end);
  if (under === undefined) return null;
  const parts = [...qualifiersBefore(statement, under.start), under.value];
  const relations = catalog.relations;
  const qualifiers = parts.slice(0, -1);
  const name = parts[parts.length - 1];

  const relation = resolveRelation(relations, parts.slice(-2));
  if (relation && (parts.length > 1 || relation.visible)) return describeRelation(relation);
  const owners = qualifiers.length > 0 ? relationsNamed(statement, relations, qualifiers) : referencedRelations(statement, relations).map((r) => r.relation);
  for (const owner of owners) {
    const column = owner.columns.find((candidate) => candidate.name === name);
    if (column) return `column ${quoteIfNeeded(owner.schema)}.${quoteIfNeeded(owner.name)}.${quoteIfNeeded(column.name)}  ${columnType(column)}`;
  }
  if (qualifiers.length === 0) {
    const aliased = referencedRelations(statement, relations).find(({ alias }) => alias === name);
    if (aliased) return describeRelation(aliased.relation);
  }
  return null;
}

function describeRelation(relation: CatalogRelation): string {
  const names = relation.columns.map((column) => quoteIfNeeded(column.name));
  const width = Math.max(0, ...names.map((shown) => shown.length));
  return [
    `${relation.kind} ${quoteIfNeeded(relation.schema)}.${quoteIfNeeded(relation.name)}`,
    ...relation.columns.map((column, i) => `  ${names[i].padEnd(width)}  ${columnType(column)}`),
  ].join('\n');
}

function columnType(column: CatalogColumn): string {
  return column.notNull ? `${column.type} not null` : column.type;
}

/**
 * Scans text that may be half typed: where a quote, dollar quote or block comment is never
 * closed, the spans stop there and `unclosedAt` says where it opens.
 */
function scanLeniently(text: string): { spans: SqlSpan[]; unclosedAt?: number } {
  try {
    return { spans: scanSql(text) };
  } catch (error) {
    if (!(error instanceof SqlTextError)) throw error;
    // Everything before the unclosed construct scanned: scanning up to it cannot fail.
    return { spans: scanSql(text.slice(0, error.index)), unclosedAt: error.index };
  }
}

/**
 * The spans of the text before the cursor. `openIdentifierAt` is where an unclosed `"` starts,
 * when the cursor is inside a quoted identifier being typed; null when the cursor is inside a
 * string, dollar quote or comment (nothing to complete there).
 */
function spansBefore(text: string, cursor: number): { spans: SqlSpan[]; openIdentifierAt?: number } | null {
  const head = text.slice(0, cursor);
  const { spans, unclosedAt } = scanLeniently(head);
  if (unclosedAt !== undefined) return head[unclosedAt] === '"' ? { spans, openIdentifierAt: unclosedAt } : null;
  const last = spans[spans.length - 1];
  // A line comment has no closing mark: the cursor at its end is still inside it.
  if (last?.kind === 'comment' && head.startsWith('--', last.start)) return null;
  return { spans };
}

function wordStart(text: string, cursor: number): number {
  let start = cursor;
  while (start > 0 && isIdentifierChar(text[start - 1])) start--;
  return start;
}

function wordEnd(text: string, cursor: number): number {
  let end = cursor;
  while (end < text.length && isIdentifierChar(text[end])) end++;
  return end;
}

/** The tokens of the statement around the cursor (between the `;` before and after it). */
function tokensOfStatement(text: string, cursor: number): Token[] {
  const tokens = tokenize(text);
  let first = 0;
  let last = tokens.length;
  tokens.forEach((token, i) => {
    if (token.value !== ';') return;
    if (token.end <= cursor) first = i + 1;
    else if (last === tokens.length) last = i;
  });
  return tokens.slice(first, last);
}

/** Tokens of the code of `text`, up to an unclosed quote if there is one. Comments are left out. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  for (const span of scanLeniently(text).spans) {
    if (span.kind === 'comment') continue;
    if (span.kind === 'identifier') {
      tokens.push({ kind: 'quoted', value: text.slice(span.start + 1, span.end - 1).replaceAll('""', '"'), start: span.start, end: span.end });
    } else if (span.kind === 'code') {
      for (const match of text.slice(span.start, span.end).matchAll(/[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*|[.,;()]/g)) {
        const start = span.start + match.index;
        const kind = /^[.,;()]$/.test(match[0]) ? 'punct' : 'word';
        tokens.push({ kind, value: kind === 'word' ? match[0].toLowerCase() : match[0], start, end: start + match[0].length });
      }
    } else {
      tokens.push({ kind: 'punct', value: 'literal', start: span.start, end: span.end });
    }
  }
  return tokens;
}

/** `a.b.` before the word being typed: ['a', 'b'], names as the server folds them. */
function qualifiersBefore(tokens: readonly Token[], partialStart: number): string[] {
  const qualifiers: string[] = [];
  let i = tokens.findIndex((token) => token.value === '.' && token.end === partialStart);
  while (i >= 1 && tokens[i].value === '.' && (tokens[i - 1].kind === 'word' || tokens[i - 1].kind === 'quoted') && tokens[i - 1].end === tokens[i].start) {
    qualifiers.unshift(tokens[i - 1].value);
    i -= 2;
  }
  return qualifiers;
}

function lastTokenBefore(tokens: readonly Token[], position: number): Token | undefined {
  let found: Token | undefined;
  for (const token of tokens) if (token.end <= position) found = token;
  return found;
}

/**
 * The commas of a statement that continue a FROM list (`FROM a, b`), as opposed to those of a
 * select list or a VALUES row; found in one pass, since a cell may hold a VALUES list of thousands.
 */
function fromListCommas(tokens: readonly Token[]): Set<Token> {
  const commas = new Set<Token>();
  // Per parenthesis depth: whether its current clause is a FROM list.
  const inFrom = [false];
  for (const token of tokens) {
    if (token.value === '(') inFrom.push(false);
    else if (token.value === ')') {
      if (inFrom.length > 1) inFrom.pop();
    } else if (token.kind === 'word') {
      if (token.value === 'from') inFrom[inFrom.length - 1] = true;
      else if (NOT_AN_ALIAS.has(token.value) && token.value !== 'as' && token.value !== 'lateral') inFrom[inFrom.length - 1] = false;
    } else if (token.value === ',' && inFrom[inFrom.length - 1]) commas.add(token);
  }
  return commas;
}

/** The relations a statement names after FROM, JOIN, UPDATE, INTO or TABLE, with their aliases. */
function referencedRelations(tokens: readonly Token[], relations: readonly CatalogRelation[]): { relation: CatalogRelation; alias?: string }[] {
  const found: { relation: CatalogRelation; alias?: string }[] = [];
  const commas = fromListCommas(tokens);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const startsItem = (token.kind === 'word' && RELATION_POSITIONS.has(token.value)) || commas.has(token);
    if (!startsItem) continue;
    let j = i + 1;
    const parts: string[] = [];
    while (j < tokens.length && (tokens[j].kind === 'word' || tokens[j].kind === 'quoted')) {
      parts.push(tokens[j].value);
      if (tokens[j + 1]?.value !== '.') break;
      j += 2;
    }
    if (parts.length === 0) continue;
    let aliasToken = tokens[j + 1];
    if (aliasToken?.value === 'as' && aliasToken.kind === 'word') aliasToken = tokens[j + 2];
    const alias = aliasToken && (aliasToken.kind === 'quoted' || (aliasToken.kind === 'word' && !NOT_AN_ALIAS.has(aliasToken.value))) ? aliasToken.value : undefined;
    const relation = resolveRelation(relations, parts);
    if (relation) found.push({ relation, alias });
  }
  return found;
}

function resolveRelation(relations: readonly CatalogRelation[], parts: readonly string[]): CatalogRelation | undefined {
  if (parts.length >= 2) {
    // `catalog.schema.table` on a warehouse (its relations' schemas are `catalog.schema`).
    const qualified = relations.find((relation) => relation.schema === parts.slice(0, -1).join('.') && relation.name === parts[parts.length - 1]);
    if (qualified) return qualified;
    const [schema, name] = parts.slice(-2);
    return relations.find((relation) => relation.schema === schema && relation.name === name);
  }
  return relations.find((relation) => relation.visible && relation.name === parts[0]) ?? relations.find((relation) => relation.name === parts[0]);
}

/** The relations `a.` or `s.t.` can mean: an alias or relation the statement names, or any relation so called. */
function relationsNamed(tokens: readonly Token[], relations: readonly CatalogRelation[], qualifiers: readonly string[]): CatalogRelation[] {
  if (qualifiers.length >= 2) {
    const relation = resolveRelation(relations, qualifiers);
    return relation ? [relation] : [];
  }
  const [name] = qualifiers;
  const referenced = referencedRelations(tokens, relations);
  const byAlias = referenced.filter(({ alias }) => alias === name).map(({ relation }) => relation);
  if (byAlias.length > 0) return byAlias;
  const relation = resolveRelation(relations, [name]);
  return relation ? [relation] : [];
}

/** A plain identifier stays as it is; anything the server would fold or refuse is quoted. */
function quoteIfNeeded(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) && !RESERVED.has(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

/** Matches by prefix: case-insensitively for a plain word, exactly inside an opened quote. */
function matcher(partial: string): (candidate: string) => boolean {
  if (partial.startsWith('"')) return (candidate) => candidate.startsWith(partial);
  const lower = partial.toLowerCase();
  return (candidate) => candidate.toLowerCase().startsWith(lower) || candidate.toLowerCase().startsWith(`"${lower}`);
}

function sorted(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}
