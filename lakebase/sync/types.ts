// Which PostgreSQL type a synced column gets when the sync creates the target table. The rule
// (documented in the README's "Sync" section) for PostgreSQL sources:
//
// - a built-in type (defined in `pg_catalog`) keeps its exact declaration, modifiers included:
//   `numeric(12,2)`, `character varying(40)`, `timestamp with time zone`, `integer[]`;
// - a domain becomes the type it is based on: PostgreSQL's row description already names the
//   base type (with its modifiers), and the domain's constraints belong to the source's schema;
// - any other type (an enum, a composite, a range over a user type, an extension's type such as
//   `vector` or `citext`) keeps its name when the target database has a type of that name, and
//   becomes `text` (arrays of it `text[]`) when it does not: its text form loads into `text`
//   unchanged, and the user can cast it later;
// - `unknown` (an untyped literal in the source query) becomes `text`.
//
// Rows travel in COPY's text format, so every mapping above loads what the source printed.

/** What the source says about one column's type. */
export interface SourceColumnType {
  /** `format_type(oid, typmod)` on the source: the declaration as PostgreSQL prints it. */
  declared: string;
  /** Whether the type (for arrays: the element type) is built in (`pg_catalog`). */
  builtin: boolean;
  isArray: boolean;
  /** `unknown`: an untyped literal. */
  isUnknown: boolean;
}

/** How a column's type was chosen, for the summary a sync prints. */
export type TypeMappingRule = 'same' | 'same-name-in-target' | 'as-text';

export interface MappedType {
  targetType: string;
  rule: TypeMappingRule;
}

/**
 * The target type of a source column. `existsInTarget` says whether the target database knows a
 * type spelled as the source declares it (asked only for non-built-in types).
 */
export function mapPostgresType(source: SourceColumnType, existsInTarget: boolean): MappedType {
  if (source.isUnknown) return { targetType: 'text', rule: 'as-text' };
  if (source.builtin) return { targetType: source.declared, rule: 'same' };
  if (existsInTarget) return { targetType: source.declared, rule: 'same-name-in-target' };
  return { targetType: source.isArray ? 'text[]' : 'text', rule: 'as-text' };
}
