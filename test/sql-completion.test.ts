// Completion inside SQL text, on a catalog written out here (the catalog as read from a real
// server is tested in sql-catalog-postgres.test.ts).
import { describe, expect, test } from 'vitest';
import type { CatalogColumn, SqlCatalog } from '../lakebase/sql/catalog';
import { completeSql, inspectSql } from '../lakebase/sql/completion';

/** Columns written `name:type!` (`!` for NOT NULL). */
function columns(...specs: string[]): CatalogColumn[] {
  return specs.map((spec) => {
    const [name, type] = spec.split(':');
    return { name, type: type.replace('!', ''), notNull: type.endsWith('!') };
  });
}

const catalog: SqlCatalog = {
  schemas: ['public', 'sales', 'Odd Schema'],
  relations: [
    { schema: 'public', name: 'orders', kind: 'table', visible: true, columns: columns('id:integer!', 'customer_id:integer', 'total:numeric(10,2)', 'order:text') },
    { schema: 'public', name: 'customers', kind: 'table', visible: true, columns: columns('id:integer!', 'name:text', 'region:text') },
    { schema: 'public', name: 'MixedCase', kind: 'view', visible: true, columns: columns('Value:bigint') },
    { schema: 'sales', name: 'leads', kind: 'table', visible: false, columns: columns('lead_id:uuid!', 'score:real') },
  ],
};

/** Completes at the `|` in `text`; returns the matches and the text a match would replace. */
function complete(text: string, context: Parameters<typeof completeSql>[2] = { catalog }) {
  const cursor = text.indexOf('|');
  const sql = text.slice(0, cursor) + text.slice(cursor + 1);
  const result = completeSql(sql, cursor, context);
  return result && { matches: result.matches, replaces: sql.slice(result.start, result.end) };
}

describe('where a relation goes', () => {
  test('after FROM, JOIN, INTO, UPDATE: visible tables and views, then schemas', () => {
    expect(complete('SELECT * FROM |')?.matches).toEqual(['"MixedCase"', 'customers', 'orders', 'public.', 'sales.', '"Odd Schema".']);
    expect(complete('SELECT * FROM orders o JOIN cu|')).toEqual({ matches: ['customers'], replaces: 'cu' });
    expect(complete('insert into or|')?.matches).toEqual(['orders']);
    expect(complete('UPDATE |')?.matches).toContain('customers');
  });

  test('after a schema and a dot: that schema\'s relations, visible or not', () => {
    expect(complete('SELECT * FROM sales.|')).toEqual({ matches: ['leads'], replaces: '' });
    expect(complete('SELECT * FROM sales.le|')).toEqual({ matches: ['leads'], replaces: 'le' });
  });

  test('a comma in a FROM list asks for another relation, a comma in a select list does not', () => {
    expect(complete('SELECT * FROM orders, cu|')?.matches).toEqual(['customers']);
    expect(complete('SELECT id, cu| FROM orders')?.matches).toEqual(['customer_id', 'customers']);
  });
});

describe('columns', () => {
  test('the columns of the relations the statement names come first (by name), keywords after', () => {
    const { matches } = complete('SELECT | FROM orders')!;
    expect(matches.slice(0, 4)).toEqual(['customer_id', 'id', '"order"', 'total']);
    expect(matches).toContain('SELECT');
  });

  test('after an alias and a dot, that relation\'s columns', () => {
    expect(complete('SELECT o.| FROM orders o JOIN customers AS c ON c.id = o.customer_id')?.matches).toEqual([
      'customer_id', 'id', '"order"', 'total',
    ]);
    expect(complete('SELECT c.re| FROM orders o JOIN customers AS c ON true')).toEqual({ matches: ['region'], replaces: 're' });
    expect(complete('SELECT sales.leads.s| FROM sales.leads')?.matches).toEqual(['score']);
  });

  test('a relation\'s own name works as a qualifier', () => {
    expect(complete('SELECT customers.n| FROM customers')?.matches).toEqual(['name']);
  });

  test('names that need quotes are offered quoted, and found from their unquoted start', () => {
    expect(complete('SELECT * FROM mix|')?.matches).toEqual(['"MixedCase"']);
    expect(complete('SELECT "MixedCase".| FROM "MixedCase"')?.matches).toEqual(['"Value"']);
    expect(complete('SELECT * FROM "Mi|')).toEqual({ matches: ['"MixedCase"'], replaces: '"Mi' });
  });

  test('comments between the words do not matter, nor an unclosed quote after the cursor', () => {
    expect(complete('SELECT * FROM /* which? */ -- this one\n ord|')?.matches).toEqual(['orders']);
    expect(complete("SELECT * FROM ord| WHERE name = 'Lis")?.matches).toEqual(['orders']);
  });

  test('only the statement under the cursor counts', () => {
    const { matches } = complete('SELECT * FROM customers; SELECT | FROM orders')!;
    expect(matches).toContain('total');
    expect(matches).not.toContain('region');
  });
});

describe('keywords, parameters and places with nothing to complete', () => {
  test('keywords follow the case being typed', () => {
    expect(complete('sel|')?.matches).toEqual(['select']);
    expect(complete('SEL|')?.matches).toEqual(['SELECT']);
    expect(complete('SELECT 1 whe|', {})?.matches).toEqual(['when', 'where']);
  });

  test(':name completes from the TypeScript variables, a ::cast does not', () => {
    expect(complete('SELECT * FROM orders WHERE id = :ord|', { catalog, variables: ['orderId', 'orders', 'region'] })).toEqual({
      matches: ['orderId', 'orders'],
      replaces: 'ord',
    });
    expect(complete('SELECT 1::in|', { variables: ['input'] })?.matches).not.toContain('input');
  });

  test('inside strings, comments and dollar quotes nothing is completed', () => {
    expect(complete("SELECT 'ord|")).toBeNull();
    expect(complete("SELECT 'a' -- ord|")).toBeNull();
    expect(complete('SELECT /* ord|')).toBeNull();
    expect(complete('SELECT $$ ord|')).toBeNull();
  });

  test('the replaced range covers the rest of the word after the cursor', () => {
    expect(complete('SELECT * FROM ord|ers')).toEqual({ matches: ['orders'], replaces: 'orders' });
  });

  test('without a catalog, keywords only; a qualifier then completes nothing', () => {
    expect(complete('SELECT * FR|', {})?.matches).toEqual(['FROM']);
    expect(complete('SELECT o.| FROM orders o', {})?.matches).toEqual([]);
  });
});

describe('inspection (Shift+Tab)', () => {
  /** Inspects at the `|` in `text`. */
  function inspect(text: string): string | null {
    const cursor = text.indexOf('|');
    return inspectSql(text.slice(0, cursor) + text.slice(cursor + 1), cursor, catalog);
  }

  test('a relation shows its kind, schema and columns with their types', () => {
    expect(inspect('SELECT * FROM ord|ers')).toBe(
      ['table public.orders', '  id           integer not null', '  customer_id  integer', '  total        numeric(10,2)', '  "order"      text'].join('\n'),
    );
    expect(inspect('SELECT * FROM sales.le|ads')).toMatch(/^table sales\.leads\n {2}lead_id {2}uuid not null/);
    expect(inspect('SELECT * FROM "Mixed|Case"')).toMatch(/^view public\."MixedCase"/);
  });

  test('a column shows its relation and type, through an alias too; an alias shows its relation', () => {
    expect(inspect('SELECT tot|al FROM orders')).toBe('column public.orders.total  numeric(10,2)');
    expect(inspect('SELECT c.na|me FROM orders o JOIN customers c ON c.id = o.customer_id')).toBe('column public.customers.name  text');
    expect(inspect('SELECT c|.name FROM customers c')).toMatch(/^table public\.customers/);
  });

  test('keywords, unknown names, strings and schema-less invisible relations show nothing', () => {
    expect(inspect('SEL|ECT 1')).toBeNull();
    expect(inspect('SELECT nowh|ere FROM orders')).toBeNull();
    expect(inspect("SELECT 'ord|ers'")).toBeNull();
    expect(inspect('SELECT * FROM lea|ds')).toBeNull();
  });
});
