// What the verbs other than `sql` show: a line of text, or a small table (connections, settings,
// token status). They render themselves like result sets do (`Symbol.for("Jupyter.display")`),
// and tables through the same renderer as result sets (lakebase/render.ts), so every table the
// magics print aligns alike (numbers right) and survives an untrusted notebook's sanitizer.
import { JUPYTER_DISPLAY, MimeBundle } from '../lakebase/contracts';
import { Alignment, alignmentOfTexts, escapeHtml, renderPlainTable, renderTable, Table } from '../lakebase/render';
import { displayWidth } from '../lakebase/sql/display-width';

/** A message shown as the verb's result: `Connected to "local" ...`. */
export class TextOutput {
  constructor(readonly text: string) {}

  [JUPYTER_DISPLAY](): MimeBundle {
    return { 'text/plain': this.text };
  }

  toString(): string {
    return this.text;
  }

  /** For `--json` in a terminal. */
  toJSON(): { message: string } {
    return { message: this.text };
  }
}

/** A column of a `TableOutput`: a name, or a name and an alignment that overrides the rule. */
export type TableOutputColumn = string | { readonly name: string; readonly align: Alignment };

/**
 * A few rows of text under named columns; an empty table shows `empty` instead. A column whose
 * cells are all numbers is right-aligned unless its declaration says otherwise.
 */
export class TableOutput {
  constructor(
    readonly columns: readonly TableOutputColumn[],
    readonly rows: readonly (readonly string[])[],
    readonly empty: string,
  ) {}

  [JUPYTER_DISPLAY](): MimeBundle {
    if (this.rows.length === 0) return { 'text/plain': this.empty };
    return renderTable(this.table());
  }

  /** Aligned like psql's output: centered headers, a rule, one line per row. */
  toString(): string {
    if (this.rows.length === 0) return this.empty;
    return renderPlainTable(this.table());
  }

  /** For `--json` in a terminal: one object per row, keyed by column. */
  toJSON(): Record<string, string>[] {
    const names = this.columns.map((column) => (typeof column === 'string' ? column : column.name));
    return this.rows.map((row) => Object.fromEntries(names.map((name, i) => [name, row[i] ?? ''])));
  }

  private table(): Table {
    const rows = this.rows.map((row) => this.columns.map((_, i) => row[i] ?? ''));
    return {
      columns: this.columns.map((column, i) =>
        typeof column === 'string' ? { name: column, align: alignmentOfTexts(rows.map((row) => row[i])) } : column,
      ),
      rows,
      footer: [],
    };
  }
}

/**
 * Named fields of one object, shown one per line (as psql's expanded display): `instance get`,
 * `instance-role get`. Empty values are left out.
 */
export class FieldsOutput {
  constructor(
    readonly title: string,
    readonly fields: readonly (readonly [string, string | undefined])[],
  ) {}

  private shown(): (readonly [string, string])[] {
    return this.fields.filter((field): field is readonly [string, string] => field[1] !== undefined && field[1] !== '');
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return { 'text/plain': this.toString(), 'text/html': this.html() };
  }

  toString(): string {
    const shown = this.shown();
    const width = Math.max(0, ...shown.map(([name]) => displayWidth(name)));
    return [this.title, ...shown.map(([name, value]) => `  ${name}${' '.repeat(width - displayWidth(name))}  ${value}`)].join('\n');
  }

  private html(): string {
    const rows = this.shown()
      .map(([name, value]) => `<tr><th style="text-align:left">${escapeHtml(name)}</th><td style="text-align:left">${escapeHtml(value)}</td></tr>`)
      .join('');
    return `<table><caption style="text-align:left"><b>${escapeHtml(this.title)}</b></caption><tbody>${rows}</tbody></table>`;
  }
}

/**
 * Makes a plain value (an API object, an array of them) render itself without changing its data:
 * the render method is a non-enumerable symbol property, so JSON, spreads, `--json` and the
 * value's TypeScript type see only the data.
 */
export function displayAs<T extends object>(value: T, render: () => { [JUPYTER_DISPLAY](): MimeBundle }): T {
  Object.defineProperty(value, JUPYTER_DISPLAY, { value: () => render()[JUPYTER_DISPLAY](), enumerable: false, configurable: true });
  return value;
}

/** Titled blocks of text shown as they are (JSON, YAML, code): `apps resources`. */
export class SectionsOutput {
  constructor(readonly sections: readonly (readonly [string, string])[]) {}

  [JUPYTER_DISPLAY](): MimeBundle {
    return {
      'text/plain': this.toString(),
      'text/html': this.sections.map(([title, body]) => `<p><b>${escapeHtml(title)}</b></p><pre>${escapeHtml(body)}</pre>`).join(''),
    };
  }

  toString(): string {
    return this.sections.map(([title, body]) => `── ${title}\n${body}`).join('\n\n');
  }
}
