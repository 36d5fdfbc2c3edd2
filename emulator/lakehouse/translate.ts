// Databricks SQL → PostgreSQL, for the documented subset (emulator/README.md, "The local
// lakehouse"). This is a token rewriter, not a parser: the statement keeps its shape, and only
// what PostgreSQL spells differently is changed —
//   - names in relation positions (after FROM, JOIN, INTO, UPDATE, USING of MERGE, TABLE, and
//     in FROM lists) are resolved against the lakehouse catalog: `cat.sch.t`, `sch.t` and `t`
//     become the table's view `"cat.sch"."t"`; CTE names stay; `information_schema` views and the
//     `range()` and `table_changes()` table functions become subqueries;
//   - `t VERSION AS OF n`, `t TIMESTAMP AS OF ts` and `t@v<n>` read the table's history;
//   - backtick identifiers, "double-quoted" and backslash-escaped strings, `:name` and `?`
//     parameters (bound to literals of the client's declared types), Databricks type names in
//     CAST and `::`, and the constructors array(), map(), named_struct() and struct();
//   - current_catalog(), current_schema(), current_user(), current_timestamp(), current_date(),
//     date_format() (Spark's pattern letters as to_char's), make_interval(), TRY_CAST, X'..';
//   - `s.field`, `m['k']` and `a[0]` on STRUCT, MAP and ARRAY columns of the statement's tables.
// What it cannot translate fails with an error naming the construct, never silently.
import { LakehouseError, lakehouseErrors } from './errors';
import type { Token } from './lexer';
import { significant, tokenize } from './lexer';
import type { CompositeTypes, SqlType } from './types';
import { castSql, isIntegral, parseType, pgType, quoteIdentifier, quoteLiteral, tryCastSql, typeText } from './types';

/** A table as the translator needs it. */
export interface TableInfo {
  id: number;
  catalog: string;
  schema: string;
  name: string;
  columns: { name: string; type: SqlType }[];
}

/** What the translation reads from the session and the catalog. */
export interface TranslationContext {
  catalog: string;
  schema: string;
  user: string;
  findTable(catalog: string, schema: string, name: string): TableInfo | undefined;
  schemaExists(catalog: string, schema: string): boolean;
  /** The table's version at a timestamp (TIMESTAMP AS OF); the expression is PostgreSQL text. */
  versionAt(table: TableInfo, timestampSql: string): Promise<number>;
  /** Checks a VERSION AS OF version; throws when out of range. */
  checkVersion(table: TableInfo, version: number): void;
  /** SQL of the change rows between two versions (checked: CDF recorded, range valid). */
  changesSql(table: TableInfo, start: ChangeBound, end: ChangeBound | undefined): Promise<string>;
  types: CompositeTypes;
  /** Values of `:name` / `?` markers, already as PostgreSQL literals. */
  parameters: ParameterValues;
}

export type ChangeBound = { version: number } | { timestampSql: string };

export interface ParameterValues {
  named: ReadonlyMap<string, string>;
  positional: readonly string[];
}

export const NO_PARAMETERS: ParameterValues = { named: new Map(), positional: [] };

/** The tables a statement reads and writes, found while translating. */
export interface Translation {
  sql: string;
  /** Tables named in relation positions (for "which table does this DML write"). */
  tables: TableInfo[];
}

const RELATION_KEYWORDS = new Set(['from', 'join', 'into', 'update', 'table']);
/** Words that end a FROM list (or cannot be an alias). */
const CLAUSE_WORDS = new Set([
  'where', 'group', 'having', 'order', 'limit', 'offset', 'union', 'except', 'intersect', 'minus', 'window', 'qualify', 'on', 'using',
  'join', 'inner', 'left', 'right', 'full', 'cross', 'natural', 'lateral', 'set', 'values', 'select', 'when', 'then', 'pivot', 'unpivot',
  'version', 'timestamp', 'as', 'tablesample', 'cluster', 'distribute', 'sort', 'lateral', 'anti', 'semi', 'outer', 'by', 'with', 'fetch',
]);
/** The units of Spark's `INTERVAL 3 DAYS` form. */
const INTERVAL_UNITS = /^(year|month|week|day|hour|minute|second|millisecond|microsecond)s?$/;
/** Functions whose argument lists contain FROM that is not a relation. */
const FROM_IN_ARGUMENTS = new Set(['extract', 'substring', 'substr', 'trim', 'position', 'overlay']);

interface Frame {
  /** Whether the next name is a relation (after FROM, JOIN, ..., or a comma in a FROM list). */
  inFromList: boolean;
  argumentsOf?: string;
}

/**
 * Translates one statement's text (a query, or the body of INSERT/UPDATE/DELETE/MERGE).
 * `ctes` are names the statement defines with WITH (they are not catalog tables).
 */
export async function translateSql(sql: string, context: TranslationContext, from = 0): Promise<Translation> {
  const tokens = significant(tokenize(sql));
  return translateTokens(tokens.slice(from), context);
}

export async function translateTokens(tokens: Token[], context: TranslationContext, outerScope?: Scope): Promise<Translation> {
  const ctes = collectCteNames(tokens);
  const scope = outerScope ?? scopeOf(tokens, context, ctes);
  const out: string[] = [];
  const tables: TableInfo[] = [];
  const frames: Frame[] = [{ inFromList: false }];
  let positional = 0;
  let mergeSource: string | undefined;
  let mergeTarget: TableInfo | undefined;
  let statementStart = true;

  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const frame = frames[frames.length - 1];
    const lower = token.kind === 'word' ? token.value : '';
    const first = statementStart;
    statementStart = false;

    if (token.kind === 'operator') {
      if (token.value === '(') {
        const previous = tokens[i - 1];
        frames.push({ inFromList: false, argumentsOf: previous?.kind === 'word' ? previous.value : undefined });
        out.push('(');
        statementStart = true;
        continue;
      }
      if (token.value === ')') {
        if (frames.length > 1) frames.pop();
        out.push(')');
        continue;
      }
      if (token.value === ',' && frame.inFromList) {
        out.push(',');
        const relation = await relationAt(tokens, i + 1, context, ctes, tables);
        if (relation) {
          out.push(relation.sql);
          i = relation.next - 1;
        }
        continue;
      }
      if (token.value === '::') {
        const { type, next } = parseType(tokens, i + 1);
        const pg = await pgType(type, context.types);
        // `x::INT` is CAST(x AS INT), which truncates (castSql): the operand is taken back out.
        const start = isIntegral(type) ? operandStart(out) : out.length;
        if (start < out.length) out.push(castSql(out.splice(start).join(' '), type, pg));
        else out.push('::', pg);
        i = next - 1;
        continue;
      }
      out.push(token.value === '==' ? '=' : token.value === '!=' ? '<>' : token.value);
      continue;
    }
    if (token.kind === 'string') {
      out.push(quoteLiteral(token.value));
      continue;
    }
    if ((token.kind === 'word' || token.kind === 'quoted') && tokens[i - 1]?.value !== '.' && (tokens[i + 1]?.value === '.' || tokens[i + 1]?.value === '[')) {
      const access = await complexAccess(tokens, i, scope, { ...context, parameters: shiftedParameters(context.parameters, positional) });
      if (access !== undefined) {
        out.push(access.sql);
        positional += countPositional(tokens.slice(i, access.next));
        i = access.next - 1;
        continue;
      }
    }
    if (token.kind === 'quoted') {
      // Databricks names are case-insensitive; the lakehouse keeps them lower-case.
      const afterAs = tokens[i - 1]?.value === 'as';
      out.push(quoteIdentifier(afterAs ? token.value : token.value.toLowerCase()));
      continue;
    }
    if (token.kind === 'number') {
      out.push(numberLiteral(token.text));
      continue;
    }
    if (token.kind === 'named-parameter') {
      const value = context.parameters.named.get(token.value);
      if (value === undefined) throw lakehouseErrors.unboundParameter(token.value);
      out.push(value);
      continue;
    }
    if (token.kind === 'positional-parameter') {
      const value = context.parameters.positional[positional++];
      if (value === undefined) throw lakehouseErrors.unboundParameter(`?${positional}`);
      out.push(value);
      continue;
    }

    // A word.
    if (CLAUSE_WORDS.has(lower) && lower !== 'join' && frame.inFromList && lower !== 'as') frame.inFromList = false;
    if (lower === 'as' && (tokens[i + 1]?.kind === 'word' || tokens[i + 1]?.kind === 'quoted')) {
      // A column alias keeps its case, as Databricks shows it; an alias the statement refers to
      // elsewhere is folded to lower case, so that `AS X ... x.id` still finds it.
      const alias = tokens[i + 1];
      if (alias.kind === 'quoted' || (!CLAUSE_WORDS.has(alias.value) && tokens[i + 2]?.value !== '(')) {
        const referenced = tokens.some((other, j) => j !== i + 1 && (other.kind === 'word' || other.kind === 'quoted') && other.value.toLowerCase() === alias.value.toLowerCase());
        out.push('AS', quoteIdentifier(referenced ? alias.value.toLowerCase() : alias.kind === 'quoted' ? alias.value : alias.text));
        i++;
        continue;
      }
    }
    if (lower === 'timestamp' && tokens[i + 1]?.kind === 'string') {
      // Databricks' TIMESTAMP is an instant; PostgreSQL's TIMESTAMP literal has no time zone.
      out.push('TIMESTAMPTZ');
      continue;
    }
    if (lower === 'x' && tokens[i + 1]?.kind === 'string' && tokens[i + 1].start === token.start + 1) {
      // X'00FF': a binary literal in hexadecimal.
      out.push(`decode(${quoteLiteral(tokens[i + 1].value)}, 'hex')`);
      i++;
      continue;
    }
    if (lower === 'timestamp_ntz' && tokens[i + 1]?.kind === 'string') {
      out.push('TIMESTAMP');
      continue;
    }
    if (lower === 'interval' && (tokens[i + 1]?.kind === 'number' || tokens[i + 1]?.kind === 'string') && INTERVAL_UNITS.test(tokens[i + 2]?.value ?? '')) {
      // INTERVAL 3 DAYS, INTERVAL '3' DAY → INTERVAL '3 day'.
      out.push(`INTERVAL ${quoteLiteral(`${tokens[i + 1].value} ${tokens[i + 2].value}`)}`);
      i += 2;
      continue;
    }
    if (lower === 'using' && mergeTarget !== undefined && mergeSource === undefined) {
      out.push('USING');
      const relation = await relationAt(tokens, i + 1, context, ctes, tables);
      if (relation) {
        out.push(relation.sql);
        mergeSource = relation.alias;
        i = relation.next - 1;
      } else if (tokens[i + 1]?.value === '(') {
        const close = matchingParen(tokens, i + 1);
        const alias = tokens[close + 1]?.value === 'as' ? tokens[close + 2] : tokens[close + 1];
        mergeSource = alias?.kind === 'word' || alias?.kind === 'quoted' ? alias.value : undefined;
      }
      continue;
    }
    if (RELATION_KEYWORDS.has(lower) && !(lower === 'from' && frame.argumentsOf !== undefined && FROM_IN_ARGUMENTS.has(frame.argumentsOf))) {
      // `UPDATE` is a relation keyword only at the start of a statement (not in MERGE's `THEN UPDATE`).
      const isRelation = lower !== 'update' || first;
      const isTable = lower !== 'table' || ['into', 'overwrite'].includes(tokens[i - 1]?.value ?? '') || first;
      if (isRelation && isTable) {
        out.push(token.text.toUpperCase());
        if (lower === 'from' || lower === 'join') frame.inFromList = lower === 'from';
        // After INTO, `t (a, b)` is a table and its column list, never a table function's call.
        const relation = await relationAt(tokens, i + 1, context, ctes, tables, lower === 'into');
        if (relation) {
          out.push(relation.sql);
          if (lower === 'into' && tokens[i - 1]?.value === 'merge') mergeTarget = relation.table;
          i = relation.next - 1;
        }
        if (lower === 'from') frame.inFromList = true;
        continue;
      }
    }
    if (lower === 'set' && tokens[i + 1]?.value === '*' && mergeTarget !== undefined) {
      // MERGE's `UPDATE SET *`: every target column from the source's column of the same name.
      const source = requireMergeSource(mergeSource);
      out.push('SET', mergeTarget.columns.map((column) => `${quoteIdentifier(column.name)} = ${source}.${quoteIdentifier(column.name)}`).join(', '));
      i++;
      continue;
    }
    if (lower === 'insert' && tokens[i + 1]?.value === '*' && mergeTarget !== undefined) {
      const source = requireMergeSource(mergeSource);
      const names = mergeTarget.columns.map((column) => quoteIdentifier(column.name));
      out.push(`INSERT (${names.join(', ')}) VALUES (${names.map((name) => `${source}.${name}`).join(', ')})`);
      i++;
      continue;
    }
    if (tokens[i + 1]?.value === '(' && tokens[i - 1]?.value !== '.') {
      const rewritten = await functionCall(tokens, i, { ...context, parameters: shiftedParameters(context.parameters, positional) }, scope);
      if (rewritten !== undefined) {
        out.push(rewritten.sql);
        positional += countPositional(tokens.slice(i, rewritten.next));
        i = rewritten.next - 1;
        continue;
      }
    }
    if (lower === 'cast' || lower === 'try_cast') {
      // CAST(expr AS type): the type after the AS at this call's depth is translated.
      const close = matchingParen(tokens, i + 1);
      const as = lastTopLevel(tokens, i + 2, close, 'as');
      if (as < 0) throw lakehouseErrors.syntax(`'${token.text}'`, 'CAST needs AS and a type.');
      const inner = await translateTokens(tokens.slice(i + 2, as), { ...context, parameters: shiftedParameters(context.parameters, positional) }, scope);
      positional += countPositional(tokens.slice(i + 2, as));
      tables.push(...inner.tables);
      const { type, next } = parseType(tokens, as + 1);
      if (next !== close) throw lakehouseErrors.syntax(`'${tokens[next]?.text ?? ')'}'`, 'the CAST type ends here.');
      if (lower === 'try_cast') {
        // TRY_CAST returns NULL where CAST fails: the lakehouse's functions catch the cast's error.
        const tried = tryCastSql(inner.sql, type);
        if (tried === undefined) throw lakehouseErrors.unsupported(`TRY_CAST to ${typeText(type).toUpperCase()}`, 'TRY_CAST works on the local lakehouse for the simple types; use CAST for ARRAY, MAP and STRUCT.');
        out.push(tried);
      } else out.push(castSql(inner.sql, type, await pgType(type, context.types)));
      i = close;
      continue;
    }
    out.push(token.text);
  }
  return { sql: out.join(' '), tables };
}

/** Words after which `(` opens a parenthesized expression, not a function's arguments. */
const EXPRESSION_WORDS = new Set([
  'select', 'where', 'having', 'and', 'or', 'not', 'in', 'exists', 'as', 'on', 'case', 'when', 'then', 'else', 'by', 'from', 'join',
  'values', 'distinct', 'all', 'any', 'some', 'is', 'between', 'like', 'ilike', 'rlike', 'using', 'set', 'over', 'filter', 'within',
  'with', 'union', 'except', 'intersect', 'limit', 'offset', 'return',
]);

/**
 * Where in the translated output the operand of a `::` that follows it starts (`::` binds
 * tightest): a parenthesized group with the function called on it, a dotted name, or the last
 * element (a literal, a name, a translated call or access). `out.length` when there is none.
 */
function operandStart(out: readonly string[]): number {
  let at = out.length - 1;
  if (at < 0) return out.length;
  if (out[at] === ')') {
    for (let depth = 0; at >= 0; at--) {
      if (out[at] === ')') depth++;
      else if (out[at] === '(' && --depth === 0) break;
    }
    if (at < 0) return out.length;
    const before = out[at - 1];
    if (before !== undefined && /^[A-Za-z_][\w$]*$/.test(before) && !EXPRESSION_WORDS.has(before.toLowerCase())) at--;
    return at;
  }
  if (/^[-+*/%<>=!|&^~,;]+$|^\($/.test(out[at])) return out.length;
  while (at >= 2 && out[at - 1] === '.') at -= 2;
  return at;
}

function requireMergeSource(source: string | undefined): string {
  if (source === undefined) throw lakehouseErrors.unsupported('UPDATE SET * / INSERT * with an unnamed MERGE source', 'Give the source an alias: USING (...) AS src.');
  return quoteIdentifier(source.toLowerCase());
}

/** Spark's typed numeric literals (1L, 2S, 3Y, 1.5D, 1.5F, 1.5BD) as PostgreSQL casts. */
function numberLiteral(text: string): string {
  const match = /^(.*?)(bd|[lsydf])$/i.exec(text);
  if (!match) return text;
  const cast = { l: 'bigint', s: 'smallint', y: 'smallint', d: 'double precision', f: 'real', bd: 'numeric' }[match[2].toLowerCase()];
  return `${match[1]}::${cast}`;
}

function shiftedParameters(parameters: ParameterValues, used: number): ParameterValues {
  return { named: parameters.named, positional: parameters.positional.slice(used) };
}

function countPositional(tokens: readonly Token[]): number {
  return tokens.filter((token) => token.kind === 'positional-parameter').length;
}

export function matchingParen(tokens: readonly Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (tokens[i].value === '(' && tokens[i].kind === 'operator') depth++;
    else if (tokens[i].value === ')' && tokens[i].kind === 'operator') {
      depth--;
      if (depth === 0) return i;
    }
  }
  throw lakehouseErrors.syntax('end of input', "a '(' is not closed.");
}

/** The index of the last `word` at paren depth 0 between from (inclusive) and to (exclusive), or -1. */
function lastTopLevel(tokens: readonly Token[], from: number, to: number, word: string): number {
  let depth = 0;
  let found = -1;
  for (let i = from; i < to; i++) {
    const token = tokens[i];
    if (token.kind === 'operator' && token.value === '(') depth++;
    else if (token.kind === 'operator' && token.value === ')') depth--;
    else if (depth === 0 && token.kind === 'word' && token.value === word) found = i;
  }
  return found;
}

/**
 * Splits the arguments between `open` and its matching paren at top-level commas. With `types`,
 * commas inside `<...>` (ARRAY<...>, MAP<K, V>, STRUCT<...> in column definitions) do not split.
 */
export function splitArguments(tokens: readonly Token[], open: number, types = false): { args: Token[][]; close: number } {
  const close = matchingParen(tokens, open);
  const args: Token[][] = [];
  let current: Token[] = [];
  let depth = 0;
  for (let i = open + 1; i < close; i++) {
    const token = tokens[i];
    if (token.kind === 'operator' && token.value === '(') depth++;
    if (token.kind === 'operator' && token.value === ')') depth--;
    if (types && token.kind === 'operator' && token.value === '<') depth++;
    if (types && token.kind === 'operator' && token.value === '>') depth--;
    if (types && token.kind === 'operator' && token.value === '>>') depth -= 2;
    if (depth === 0 && token.kind === 'operator' && token.value === ',') {
      args.push(current);
      current = [];
    } else current.push(token);
  }
  if (current.length > 0 || args.length > 0) args.push(current);
  return { args, close };
}

/** The tables a statement names, by what the statement calls them, to resolve `s.field` and `m['k']`. */
interface Scope {
  /** Alias (or last name part) → table. */
  relations: ReadonlyMap<string, TableInfo>;
  /** An unqualified column name → its type; undefined where two tables have it (ambiguous). */
  columns: ReadonlyMap<string, SqlType | undefined>;
  /** CTE names and subquery aliases: `q.x` there is a column of q, whatever the tables hold. */
  otherRelations: ReadonlySet<string>;
}

/**
 * Every table named after FROM, JOIN, UPDATE, INTO or USING (and after commas of a FROM list),
 * anywhere in the statement: a rough scope (subqueries' tables are in it too), which is enough to
 * tell a struct column's field from a table's column, and never makes a plain name mean more.
 */
function scopeOf(tokens: readonly Token[], context: TranslationContext, ctes: ReadonlySet<string>): Scope {
  const relations = new Map<string, TableInfo>();
  const otherRelations = new Set(ctes);
  let inFrom = false;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const word = token.kind === 'word' ? token.value : '';
    if (token.value === ')') {
      const alias = tokens[i + 1]?.value === 'as' ? tokens[i + 2] : tokens[i + 1];
      if (alias?.kind === 'quoted' || (alias?.kind === 'word' && !CLAUSE_WORDS.has(alias.value))) otherRelations.add(alias.value.toLowerCase());
    }
    if (['from', 'join', 'update', 'into', 'using'].includes(word)) inFrom = word === 'from' || word === 'join';
    else if (token.value === ',' && inFrom) {
      /* the next relation of a FROM list */
    } else {
      if (CLAUSE_WORDS.has(word) || token.value === ')') inFrom = false;
      continue;
    }
    const first = tokens[i + 1];
    if (first === undefined || (first.kind !== 'word' && first.kind !== 'quoted')) continue;
    const parts = [first.value.toLowerCase()];
    let next = i + 2;
    while (tokens[next]?.value === '.' && (tokens[next + 1]?.kind === 'word' || tokens[next + 1]?.kind === 'quoted')) {
      parts.push(tokens[next + 1].value.toLowerCase());
      next += 2;
    }
    if (parts.length > 3 || (parts.length === 1 && ctes.has(parts[0]))) continue;
    const [catalog, schema, name] = parts.length === 3 ? parts : parts.length === 2 ? [context.catalog, parts[0], parts[1]] : [context.catalog, context.schema, parts[0]];
    const table = context.findTable(catalog, schema, name);
    if (table === undefined) continue;
    const aliasToken = tokens[next]?.value === 'as' ? tokens[next + 1] : tokens[next];
    const isAlias = aliasToken !== undefined && (aliasToken.kind === 'quoted' || (aliasToken.kind === 'word' && !CLAUSE_WORDS.has(aliasToken.value) && tokens[next]?.value !== '('));
    relations.set(isAlias ? aliasToken.value.toLowerCase() : name, table);
  }
  const columns = new Map<string, SqlType | undefined>();
  for (const table of new Set(relations.values())) {
    for (const column of table.columns) columns.set(column.name, columns.has(column.name) ? undefined : column.type);
  }
  return { relations, columns, otherRelations };
}

/**
 * `s.x`, `t.s.x`, `m['k']`, `a[0]` and chains of them, where the name is a STRUCT, MAP or ARRAY
 * column of a table in scope: PostgreSQL spells a composite's field `(s).x`, a map (stored as
 * keys and values) is looked up by the key's position (a missing key is NULL), and an array
 * subscript goes through `_lakehouse.array_index` (from 0, an error past either end, as Databricks).
 * Undefined where the name is not such a column (a table's column `t.c` stays as it is).
 */
async function complexAccess(tokens: readonly Token[], at: number, scope: Scope, context: TranslationContext): Promise<{ sql: string; next: number } | undefined> {
  const name = (index: number) => {
    const token = tokens[index];
    return token?.kind === 'word' || token?.kind === 'quoted' ? token.value.toLowerCase() : undefined;
  };
  const first = name(at)!;
  let sql: string;
  let type: SqlType | undefined;
  let next: number;
  const table = scope.relations.get(first);
  const qualified = table !== undefined && tokens[at + 1]?.value === '.' ? table.columns.find((column) => column.name === name(at + 2)) : undefined;
  if (qualified !== undefined && ['struct', 'map', 'array'].includes(qualified.type.kind)) {
    sql = `${quoteIdentifier(first)}.${quoteIdentifier(qualified.name)}`;
    type = qualified.type;
    next = at + 3;
  } else if (table === undefined && !scope.otherRelations.has(first) && scope.columns.get(first) !== undefined) {
    sql = quoteIdentifier(first);
    type = scope.columns.get(first);
    next = at + 1;
  } else return undefined;
  if (!['struct', 'map', 'array'].includes(type!.kind)) return undefined;
  let used = 0;
  for (;;) {
    if (type?.kind === 'struct' && tokens[next]?.value === '.' && name(next + 1) !== undefined) {
      const wanted = name(next + 1);
      const field = type.fields.find((candidate) => candidate.name.toLowerCase() === wanted);
      if (field === undefined) {
        throw new LakehouseError('FIELD_NOT_FOUND', `No such struct field ${quoteIdentifier(tokens[next + 1].value)} in ${type.fields.map((f) => f.name).join(', ')}.`);
      }
      sql = `(${sql}).${quoteIdentifier(field.name)}`;
      type = field.type;
      next += 2;
    } else if ((type?.kind === 'map' || type?.kind === 'array') && tokens[next]?.value === '[') {
      const close = matchingBracket(tokens, next);
      const inner = tokens.slice(next + 1, close) as Token[];
      const key = (await translateTokens(inner, { ...context, parameters: shiftedParameters(context.parameters, used) }, scope)).sql;
      used += countPositional(inner);
      if (type.kind === 'map') {
        sql = `(${sql})."values"[array_position((${sql}).keys, ${key})]`;
        type = type.value;
      } else {
        sql = `(${sql})[_lakehouse.array_index(${sql}, ${key})]`;
        type = type.element;
      }
      next = close + 1;
    } else break;
  }
  return { sql, next };
}

function matchingBracket(tokens: readonly Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (tokens[i].kind === 'operator' && tokens[i].value === '[') depth++;
    else if (tokens[i].kind === 'operator' && tokens[i].value === ']' && --depth === 0) return i;
  }
  throw lakehouseErrors.syntax('end of input', "a '[' is not closed.");
}

function collectCteNames(tokens: readonly Token[]): Set<string> {
  const names = new Set<string>();
  for (let i = 0; i < tokens.length - 2; i++) {
    // `name AS (` after WITH or a comma: a common table expression.
    const token = tokens[i];
    if ((token.kind === 'word' || token.kind === 'quoted') && tokens[i + 1]?.value === 'as' && tokens[i + 2]?.value === '(') {
      const before = tokens[i - 1]?.value;
      if (before === 'with' || before === ',' || before === 'recursive') names.add(token.value.toLowerCase());
    }
  }
  return names;
}

interface Relation {
  sql: string;
  next: number;
  table?: TableInfo;
  /** The name the relation is known by in the statement (its alias, or its last name part). */
  alias: string;
}

/**
 * A relation at `tokens[at]`: a (possibly qualified) name, optionally with time travel, or a
 * table function (not where `columnListFollows`: INSERT INTO t (a, b)). Returns undefined when
 * there is none (a subquery, a VALUES list).
 */
async function relationAt(
  tokens: readonly Token[],
  at: number,
  context: TranslationContext,
  ctes: ReadonlySet<string>,
  tables: TableInfo[],
  columnListFollows = false,
): Promise<Relation | undefined> {
  const first = tokens[at];
  if (first === undefined || (first.kind !== 'word' && first.kind !== 'quoted')) return undefined;
  if (first.kind === 'word' && (CLAUSE_WORDS.has(first.value) || first.value === 'lateral')) return undefined;
  const parts: string[] = [first.value.toLowerCase()];
  let next = at + 1;
  while (tokens[next]?.value === '.' && (tokens[next + 1]?.kind === 'word' || tokens[next + 1]?.kind === 'quoted')) {
    parts.push(tokens[next + 1].value.toLowerCase());
    next += 2;
  }
  const aliasAfter = (index: number): string | undefined => {
    const token = tokens[index];
    if (token?.value === 'as') return tokens[index + 1]?.value;
    if ((token?.kind === 'word' && !CLAUSE_WORDS.has(token.value) && !['version', 'timestamp'].includes(token.value)) || token?.kind === 'quoted') return token.value;
    return undefined;
  };

  if (tokens[next]?.value === '(' && !columnListFollows) {
    const fn = await tableFunction(parts, tokens, next, context, tables);
    if (fn === undefined) return undefined;
    const alias = aliasAfter(fn.next);
    return { sql: alias === undefined ? `${fn.sql} AS ${quoteIdentifier(fn.defaultAlias)}` : fn.sql, next: fn.next, alias: alias ?? fn.defaultAlias };
  }
  if (parts.length === 1 && ctes.has(parts[0])) return { sql: quoteIdentifier(parts[0]), next, alias: parts[0] };

  const informationSchema = informationSchemaView(parts, context);
  if (informationSchema !== undefined) {
    const alias = aliasAfter(next);
    const name = parts[parts.length - 1];
    return { sql: alias === undefined ? `${informationSchema} AS ${quoteIdentifier(name)}` : informationSchema, next, alias: alias ?? name };
  }

  const [catalog, schema, name] = parts.length === 3 ? parts : parts.length === 2 ? [context.catalog, parts[0], parts[1]] : [context.catalog, context.schema, parts[0]];
  if (parts.length > 3) throw lakehouseErrors.unsupported(`The name ${parts.join('.')} with more than three parts`);
  const table = context.findTable(catalog, schema, name);
  if (table === undefined) throw lakehouseErrors.tableNotFound(parts.length === 1 ? [parts[0]] : [catalog, schema, name]);
  tables.push(table);

  // Time travel: `VERSION AS OF n`, `TIMESTAMP AS OF expr`, `@v123`, `@yyyyMMddHHmmssSSS`.
  let version: number | undefined;
  const travel = tokens[next]?.value;
  if ((travel === 'version' || travel === 'timestamp') && tokens[next + 1]?.value === 'as' && tokens[next + 2]?.value === 'of') {
    if (travel === 'version') {
      const literal = tokens[next + 3];
      version = Number(literal?.value);
      if (literal?.kind !== 'number' || !Number.isInteger(version)) throw lakehouseErrors.syntax(`'${literal?.text ?? 'end of input'}'`, 'VERSION AS OF takes a version number.');
      next += 4;
    } else {
      const end = expressionEnd(tokens, next + 3);
      const expression = await translateTokens(tokens.slice(next + 3, end) as Token[], { ...context, parameters: context.parameters });
      version = await context.versionAt(table, expression.sql);
      next = end;
    }
  } else if (tokens[next]?.value === '@' && tokens[next + 1]) {
    const spec = tokens[next + 1].text;
    if (/^v\d+$/i.test(spec)) version = Number(spec.slice(1));
    else throw lakehouseErrors.unsupported(`The time travel suffix @${spec}`, 'Use VERSION AS OF n or TIMESTAMP AS OF \'...\'.');
    next += 2;
  }
  const alias = aliasAfter(next);
  if (version !== undefined) {
    context.checkVersion(table, version);
    const columns = table.columns.map((column) => quoteIdentifier(column.name)).join(', ');
    const sql = `(SELECT ${columns} FROM _lakehouse_data."t${table.id}_history" WHERE _from <= ${version} AND (_to IS NULL OR _to > ${version}))`;
    return { sql: alias === undefined ? `${sql} AS ${quoteIdentifier(name)}` : sql, next, table, alias: alias ?? name };
  }
  return { sql: `${quoteIdentifier(`${catalog}.${schema}`)}.${quoteIdentifier(name)}`, next, table, alias: alias ?? name };
}

/** Where an expression after TIMESTAMP AS OF ends: at an alias, a clause word, `,` or `)` at depth 0. */
function expressionEnd(tokens: readonly Token[], from: number): number {
  let depth = 0;
  for (let i = from; i < tokens.length; i++) {
    const token = tokens[i];
    if (token.kind === 'operator' && token.value === '(') depth++;
    else if (token.kind === 'operator' && token.value === ')') {
      if (depth === 0) return i;
      depth--;
    } else if (depth === 0 && ((token.kind === 'operator' && token.value === ',') || (token.kind === 'word' && (CLAUSE_WORDS.has(token.value) && token.value !== 'timestamp')))) return i;
    else if (depth === 0 && i > from && token.kind === 'word' && tokens[i - 1].kind !== 'operator' && tokens[i - 1].value !== 'timestamp') return i;
  }
  return tokens.length;
}

async function tableFunction(
  parts: string[],
  tokens: readonly Token[],
  open: number,
  context: TranslationContext,
  tables: TableInfo[],
): Promise<{ sql: string; next: number; defaultAlias: string } | undefined> {
  const name = parts.join('.');
  const { args, close } = splitArguments(tokens, open);
  const translated = [];
  for (const arg of args) translated.push(await translateTokens(arg, context));
  if (name === 'range') {
    // Spark's range(end), range(start, end[, step]) with one BIGINT column `id`.
    if (args.length < 1 || args.length > 4) throw lakehouseErrors.syntax("'range'", 'range takes 1 to 3 arguments.');
    const [start, end, step] = args.length === 1 ? ['0', translated[0].sql, '1'] : [translated[0].sql, translated[1].sql, translated[2]?.sql ?? '1'];
    return { sql: `(SELECT id FROM generate_series((${start})::bigint, (${end})::bigint - sign((${step})::bigint)::bigint, (${step})::bigint) AS g(id))`, next: close + 1, defaultAlias: 'range' };
  }
  if (name === 'table_changes') {
    if (args.length < 2 || args.length > 3 || args[0].length !== 1 || args[0][0].kind !== 'string') {
      throw lakehouseErrors.syntax("'table_changes'", "table_changes takes a table name as a string, a start version or timestamp, and an optional end: table_changes('cat.sch.t', 1[, 5]).");
    }
    const tableParts = args[0][0].value.split('.').map((part) => part.replace(/^`|`$/g, '').toLowerCase());
    const [catalog, schema, table] =
      tableParts.length === 3 ? tableParts : tableParts.length === 2 ? [context.catalog, tableParts[0], tableParts[1]] : [context.catalog, context.schema, tableParts[0]];
    const info = context.findTable(catalog, schema, table);
    if (info === undefined) throw lakehouseErrors.tableNotFound(tableParts.length === 1 ? tableParts : [catalog, schema, table]);
    tables.push(info);
    const bound = (arg: Token[], sql: string): ChangeBound => (arg.length === 1 && arg[0].kind === 'number' ? { version: Number(arg[0].value) } : { timestampSql: sql });
    const sql = await context.changesSql(info, bound(args[1], translated[1].sql), args[2] ? bound(args[2], translated[2].sql) : undefined);
    return { sql: `(${sql})`, next: close + 1, defaultAlias: 'table_changes' };
  }
  throw new LakehouseError('UNRESOLVED_ROUTINE', `Cannot resolve routine ${'`'}${name}${'`'} on search path [\`system\`.\`builtin\`, \`system\`.\`session\`, \`${context.catalog}\`.\`${context.schema}\`].`, {
    hint: 'The local lakehouse has the table functions range() and table_changes().',
  });
}

/** `information_schema.X` (current catalog), `cat.information_schema.X`, `system.information_schema.X`. */
function informationSchemaView(parts: readonly string[], context: TranslationContext): string | undefined {
  let catalog: string | undefined;
  let view: string;
  if (parts.length === 2 && parts[0] === 'information_schema') {
    catalog = context.catalog;
    view = parts[1];
  } else if (parts.length === 3 && parts[1] === 'information_schema') {
    catalog = parts[0] === 'system' ? undefined : parts[0];
    view = parts[2];
  } else return undefined;
  const views: Readonly<Record<string, string>> = { catalogs: 'catalog_name', schemata: 'catalog_name', tables: 'table_catalog', columns: 'table_catalog' };
  const key = views[view];
  if (key === undefined) throw lakehouseErrors.unsupported(`information_schema.${view}`, 'The local lakehouse has information_schema.catalogs, schemata, tables and columns.');
  return catalog === undefined ? `(SELECT * FROM _lakehouse."is_${view}")` : `(SELECT * FROM _lakehouse."is_${view}" WHERE ${key} = ${quoteLiteral(catalog)})`;
}

/** Rewrites Databricks functions that PostgreSQL lacks or spells otherwise; undefined leaves the call alone. */
async function functionCall(tokens: readonly Token[], at: number, context: TranslationContext, scope: Scope): Promise<{ sql: string; next: number } | undefined> {
  const name = tokens[at].kind === 'word' ? tokens[at].value : '';
  const noArguments = tokens[at + 2]?.value === ')';
  switch (name) {
    case 'current_timestamp':
    case 'current_date':
    case 'localtimestamp':
      return noArguments ? { sql: name === 'localtimestamp' ? 'localtimestamp' : name, next: at + 3 } : undefined;
    case 'now':
      return undefined;
    case 'current_catalog':
      return noArguments ? { sql: quoteLiteral(context.catalog), next: at + 3 } : undefined;
    case 'current_schema':
    case 'current_database':
      return noArguments ? { sql: quoteLiteral(context.schema), next: at + 3 } : undefined;
    case 'current_user':
    case 'user':
    case 'session_user':
      return noArguments ? { sql: quoteLiteral(context.user), next: at + 3 } : undefined;
    case 'date_format': {
      const { args, close } = splitArguments(tokens, at + 1);
      const pattern = args[1];
      if (args.length !== 2 || pattern.length !== 1 || pattern[0].kind !== 'string') {
        throw lakehouseErrors.unsupported('date_format without a literal pattern', "Write the pattern as a string literal: date_format(ts, 'yyyy-MM-dd').");
      }
      const [value] = await translateArguments(args.slice(0, 1), context, scope);
      // Spark formats in the session time zone, as to_char does a timestamptz.
      return { sql: `to_char(CAST(${value} AS timestamptz), ${quoteLiteral(toCharPattern(pattern[0].value))})`, next: close + 1 };
    }
    case 'make_interval': {
      // PostgreSQL's make_interval has Databricks' arguments in the same order, but takes integer
      // counts and double seconds only: a BIGINT or DECIMAL argument would find no function.
      const { args, close } = splitArguments(tokens, at + 1);
      if (args.length > 7) throw lakehouseErrors.syntax("'make_interval'", 'make_interval takes at most 7 arguments (years, months, weeks, days, hours, mins, secs).');
      const values = await translateArguments(args, context, scope);
      return { sql: `make_interval(${values.map((value, i) => `CAST(${value} AS ${i === 6 ? 'double precision' : 'integer'})`).join(', ')})`, next: close + 1 };
    }
    case 'array':
    case 'map':
    case 'named_struct':
    case 'struct': {
      const { args, close } = splitArguments(tokens, at + 1);
      const values = await translateArguments(args, context, scope);
      if (name === 'array') return { sql: values.length === 0 ? "'{}'" : `ARRAY[${values.join(', ')}]`, next: close + 1 };
      if (name === 'struct') return { sql: `ROW(${values.join(', ')})`, next: close + 1 };
      if (values.length % 2 !== 0) throw lakehouseErrors.syntax(`'${name}'`, `${name} takes pairs of arguments.`);
      const firsts = values.filter((_, i) => i % 2 === 0);
      const seconds = values.filter((_, i) => i % 2 === 1);
      // A map is stored as (keys[], values[]); a struct as a row. Assigned to a column, PostgreSQL
      // gives the row the column's type (with its field names).
      if (name === 'map') return { sql: `ROW(ARRAY[${firsts.join(', ')}], ARRAY[${seconds.join(', ')}])`, next: close + 1 };
      return { sql: `ROW(${seconds.join(', ')})`, next: close + 1 };
    }
    default:
      return undefined;
  }
}

/** Each argument's translation, `?` markers counted across them. */
async function translateArguments(args: readonly Token[][], context: TranslationContext, scope: Scope): Promise<string[]> {
  const values: string[] = [];
  let used = 0;
  for (const arg of args) {
    values.push((await translateTokens(arg, { ...context, parameters: shiftedParameters(context.parameters, used) }, scope)).sql);
    used += countPositional(arg);
  }
  return values;
}

/**
 * A Spark datetime pattern (`yyyy-MM-dd HH:mm:ss`) as a to_char pattern. Letters without a
 * to_char twin (week-based years, zones, ...) fail by name rather than print something else.
 */
export function toCharPattern(pattern: string): string {
  let out = '';
  let literal = '';
  const flush = () => {
    if (literal !== '') out += `"${literal.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    literal = '';
  };
  for (let i = 0; i < pattern.length; ) {
    const char = pattern[i];
    if (char === "'") {
      // 'text' is literal; '' is a quote, outside quoted text and inside it.
      if (pattern[i + 1] === "'") {
        literal += "'";
        i += 2;
        continue;
      }
      for (i++; ; i++) {
        if (i >= pattern.length) throw lakehouseErrors.syntax(`'${pattern}'`, 'a quote in the date_format pattern is not closed.');
        if (pattern[i] !== "'") literal += pattern[i];
        else if (pattern[i + 1] === "'") literal += pattern[i++];
        else break;
      }
      i++;
      continue;
    }
    if (!/[A-Za-z]/.test(char)) {
      literal += char;
      i++;
      continue;
    }
    let count = 1;
    while (pattern[i + count] === char) count++;
    i += count;
    const field = DATE_FORMAT_LETTERS[char]?.(count);
    if (field === undefined) throw lakehouseErrors.unsupported(`The date_format pattern letter ${char.repeat(count)}`, 'The local lakehouse formats y, M, L, d, D, E, a, H, h, m, s, S and Q.');
    flush();
    out += field;
  }
  flush();
  return out;
}

/** Spark pattern letters (repeated `count` times) as to_char fields; FM drops the padding. */
const DATE_FORMAT_LETTERS: Readonly<Record<string, (count: number) => string | undefined>> = {
  y: (count) => (count === 2 ? 'YY' : count === 1 ? 'FMYYYY' : 'YYYY'),
  M: (count) => (count === 1 ? 'FMMM' : count === 2 ? 'MM' : count === 3 ? 'Mon' : 'FMMonth'),
  L: (count) => (count === 1 ? 'FMMM' : count === 2 ? 'MM' : count === 3 ? 'Mon' : 'FMMonth'),
  d: (count) => (count === 1 ? 'FMDD' : count === 2 ? 'DD' : undefined),
  D: (count) => (count === 1 ? 'FMDDD' : count === 3 ? 'DDD' : undefined),
  E: (count) => (count <= 3 ? 'Dy' : 'FMDay'),
  a: (count) => (count === 1 ? 'AM' : undefined),
  H: (count) => (count === 1 ? 'FMHH24' : count === 2 ? 'HH24' : undefined),
  h: (count) => (count === 1 ? 'FMHH12' : count === 2 ? 'HH12' : undefined),
  m: (count) => (count === 1 ? 'FMMI' : count === 2 ? 'MI' : undefined),
  s: (count) => (count === 1 ? 'FMSS' : count === 2 ? 'SS' : undefined),
  S: (count) => (count <= 6 ? `FF${count}` : undefined),
  Q: (count) => (count === 1 ? 'Q' : undefined),
};

/** A literal of the client's declared parameter type (Thrift TSparkParameter, Statement Execution API). */
export async function parameterLiteral(value: string | null, databricksType: string | undefined, types: CompositeTypes): Promise<string> {
  if (value === null) return 'NULL';
  const type = databricksType === undefined || databricksType === '' ? 'STRING' : databricksType;
  const tokens = significant(tokenize(type));
  const parsed = parseType(tokens, 0).type;
  return `CAST(${quoteLiteral(value)} AS ${await pgType(parsed, types)})`;
}
