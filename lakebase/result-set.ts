import { Column, JUPYTER_DISPLAY, MimeBundle } from './contracts';
import { renderResultSet } from './render';

/** Everything a statement produced, as `lakebase/session.ts` builds it. */
export interface ResultSetInit {
  /** The statement as sent (with `$n` placeholders). */
  statement: string;
  /** Command tag verb: `SELECT`, `INSERT`, `CREATE TABLE`, ... */
  command: string;
  columns: Column[];
  /** Rows in column order (duplicate column names are kept, as psql shows them). */
  values: unknown[][];
  /** Rows returned or affected in total, also when only a page was kept; null when unknown. */
  rowCount: number | null;
  elapsedMs: number;
  /** The display limit in force when the statement ran. */
  displayLimit: number;
  /**
   * The rows are a first page of a result whose rest is still being counted (`running`), or whose
   * count never ended (`stopped`: interrupted, or failed); `rowCount` is then a count so far.
   */
  counting?: 'running' | 'stopped';
}

/**
 * The result of one statement. It renders itself (`text/plain` + static, escaped `text/html`)
 * wherever it ends up: as a cell's value, through `display()`, or stored in a variable.
 */
export class ResultSet {
  readonly statement: string;
  readonly command: string;
  readonly columns: readonly Column[];
  readonly values: readonly unknown[][];
  readonly rowCount: number | null;
  readonly elapsedMs: number;
  readonly displayLimit: number;
  readonly counting: 'running' | 'stopped' | undefined;
  #rows: Record<string, unknown>[] | undefined;

  constructor(init: ResultSetInit) {
    this.statement = init.statement;
    this.command = init.command;
    this.columns = init.columns;
    this.values = init.values;
    this.rowCount = init.rowCount;
    this.elapsedMs = init.elapsedMs;
    this.displayLimit = init.displayLimit;
    this.counting = init.counting;
  }

  /** True when `values` holds every row the statement returned. */
  get complete(): boolean {
    return this.rowCount === null || this.values.length >= this.rowCount;
  }

  /** The kept rows as objects keyed by column name (a later duplicate name wins). */
  get rows(): Record<string, unknown>[] {
    this.#rows ??= this.values.map((row) =>
      Object.fromEntries(this.columns.map((column, i) => [column.name, row[i]])),
    );
    return this.#rows;
  }

  /** The same result shown with another display limit (the rows kept stay the same). */
  withDisplayLimit(displayLimit: number): ResultSet {
    if (displayLimit === this.displayLimit) return this;
    return new ResultSet({ ...this, columns: [...this.columns], values: this.values as unknown[][], displayLimit });
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return renderResultSet(this);
  }
}
