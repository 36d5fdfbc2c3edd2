// What the verbs other than `sql` show: a line of text, or a small table (connections, settings,
// token status). They render themselves like result sets do (`Symbol.for("Jupyter.display")`):
// `text/plain` always, plus a static, escaped `text/html` table for tables.
import { JUPYTER_DISPLAY, MimeBundle } from '../lakebase/contracts';
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

/** A few rows of text under named columns; an empty table shows `empty` instead. */
export class TableOutput {
  constructor(
    readonly columns: readonly string[],
    readonly rows: readonly (readonly string[])[],
    readonly empty: string,
  ) {}

  [JUPYTER_DISPLAY](): MimeBundle {
    if (this.rows.length === 0) return { 'text/plain': this.empty };
    return { 'text/plain': this.toString(), 'text/html': this.html() };
  }

  /** Aligned like psql's output: a header, a rule, one line per row. */
  toString(): string {
    if (this.rows.length === 0) return this.empty;
    const widths = this.columns.map((column, i) =>
      Math.max(displayWidth(column), ...this.rows.map((row) => displayWidth(row[i] ?? ''))),
    );
    const line = (cells: readonly string[]) =>
      cells.map((cell, i) => ` ${cell}${' '.repeat(widths[i] - displayWidth(cell))} `).join('|').trimEnd();
    return [line(this.columns), widths.map((width) => '-'.repeat(width + 2)).join('+'), ...this.rows.map(line)].join('\n');
  }

  /** For `--json` in a terminal: one object per row, keyed by column. */
  toJSON(): Record<string, string>[] {
    return this.rows.map((row) => Object.fromEntries(this.columns.map((column, i) => [column, row[i] ?? ''])));
  }

  private html(): string {
    const head = this.columns.map((column) => `<th>${escapeHtml(column)}</th>`).join('');
    const body = this.rows
      .map((row) => `<tr>${this.columns.map((_, i) => `<td style="text-align:left">${escapeHtml(row[i] ?? '')}</td>`).join('')}</tr>`)
      .join('');
    return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
  }
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
