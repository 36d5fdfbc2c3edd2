// The kernel in a real notebook UI: Debian's classic Jupyter Notebook 6 in Debian's Chromium,
// driven as a user would (menus, toolbar buttons, typing). It runs the quickstart and looks at
// what a person sees: tables as HTML tables with numbers right and NULL marked, trusted and
// untrusted; charts drawn; a new notebook's TypeScript and %%lakebase cells highlighted; the
// interrupt button stopping a query; a restart, and a connect after it; no errors in the page.
// Each step leaves a screenshot in test-results/browser/ (README, "Screenshots") for a person.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REPO_ROOT } from './support/jupyter';
import { startNotebookBrowser, type NotebookBrowser, type PageProblem } from './support/notebook-browser';

/** Where the screenshots go; the README names this folder. */
export const SCREENSHOTS = join(REPO_ROOT, 'test-results', 'browser');
const QUICKSTART = '01-quickstart.ipynb';
const UNTRUSTED = '01-quickstart-from-elsewhere.ipynb';
/** Generous bounds for waits on a loaded 2-core machine; a wait ends as soon as its condition holds. */
const KERNEL_WAIT = 60_000;
const RUN_ALL_WAIT = 180_000;

let ui: NotebookBrowser;
let quickstart: Page;

// The Jupyter global of a Notebook 6 page, as page.evaluate sees it.
declare const Jupyter: any; // eslint-disable-line @typescript-eslint/no-explicit-any

beforeAll(async () => {
  await mkdir(SCREENSHOTS, { recursive: true });
  ui = await startNotebookBrowser();
  await copyFile(join(REPO_ROOT, 'notebooks', QUICKSTART), join(ui.notebooks, QUICKSTART));
}, 120_000);

afterAll(async () => {
  await ui?.stop();
}, 60_000);

/**
 * Problems the page logged that are not about this kernel: Notebook 6 always tries to load the
 * ipywidgets extension and logs its 404 (and the refused script) when ipywidgets is not
 * installed, for every kernel. Anything else fails the test.
 */
function ours(problems: readonly PageProblem[]): PageProblem[] {
  return problems.filter((problem) => !/\/nbextensions\/widgets\/notebook\/js\/extension\.js/.test(`${problem.url} ${problem.text}`));
}

/** Waits until the notebook in `page` has a kernel that answered kernel_info. */
async function kernelReady(page: Page): Promise<void> {
  // `window.Jupyter`: a tab the UI just opened is still about:blank, without the global.
  await page.waitForFunction(
    () => {
      const kernel = (window as any).Jupyter?.notebook?.kernel;
      return Boolean(kernel?.is_connected?.() && kernel.info_reply?.status === 'ok');
    },
    null,
    { timeout: KERNEL_WAIT },
  );
}

/** Waits until the kernel is idle and every code cell has run (a number in its prompt). */
async function allCellsRan(page: Page, timeout = RUN_ALL_WAIT): Promise<void> {
  await page.waitForFunction(
    () =>
      !Jupyter.notebook.kernel_busy &&
      Jupyter.notebook.get_cells().every((cell: any) => cell.cell_type !== 'code' || typeof cell.input_prompt_number === 'number'),
    null,
    { timeout, polling: 200 },
  );
}

/** The output area of the first code cell whose source starts with `start`. */
function outputOf(page: Page, start: string): Locator {
  return page.locator('.cell.code_cell').filter({ has: page.locator('.CodeMirror-code', { hasText: start }) }).first().locator('.output_area');
}

interface CellReport {
  text: string;
  /** Whether the text touches the cell's left or right content edge (a full cell touches both). */
  left: boolean;
  right: boolean;
  italic: boolean;
}

/**
 * How each header and cell of a table looks, measured in the page: where the text sits in its
 * cell (geometry, not attributes, so CSS and sanitizers are both accounted for) and its style.
 */
async function tableReport(table: Locator): Promise<CellReport[][]> {
  return table.evaluate((element) =>
    [...element.querySelectorAll('tr')].map((row) =>
      [...row.querySelectorAll('th, td')].map((cell) => {
        const style = getComputedStyle(cell);
        const box = cell.getBoundingClientRect();
        const contentLeft = box.left + parseFloat(style.paddingLeft) + parseFloat(style.borderLeftWidth);
        const contentRight = box.right - parseFloat(style.paddingRight) - parseFloat(style.borderRightWidth);
        // The text's own box: the contents of the innermost block (our div, when the markup survived).
        const range = document.createRange();
        range.selectNodeContents(cell.querySelector('div') ?? cell);
        const text = range.getBoundingClientRect();
        const textElement = cell.querySelector('em') ?? cell.querySelector('div') ?? cell;
        return {
          text: (cell.textContent ?? '').trim(),
          left: Math.abs(text.left - contentLeft) < 1.5,
          right: Math.abs(text.right - contentRight) < 1.5,
          italic: getComputedStyle(textElement).fontStyle === 'italic',
        };
      }),
    ),
  );
}

/** The quickstart's city table: numeric columns right, text left, headers like their column, NULL italic. */
function expectCityTable(report: CellReport[][]): void {
  const [header, ...rows] = report;
  expect(header.map((cell) => cell.text)).toEqual(['id', 'name', 'country', 'population', 'founded']);
  expect(rows.map((row) => row[1].text)).toEqual(['Lisbon', 'Porto', 'Amsterdam', 'Utrecht', 'Tallinn']);
  const right = [true, false, false, true, false];
  for (const row of [header, ...rows]) {
    row.forEach((cell, i) => expect({ column: i, text: cell.text, aligned: right[i] ? cell.right : cell.left }).toEqual({ column: i, text: cell.text, aligned: true }));
  }
  // Not trivially both: in every column some cell is narrower than the column and shows its side.
  right.forEach((isRight, i) => expect(rows.some((row) => (isRight ? !row[i].left : !row[i].right))).toBe(true));
  // SQL NULL (Porto and Utrecht were founded on no known date) is italic; no other cell is.
  const founded = rows.map((row) => [row[4].text, row[4].italic]);
  expect(founded).toEqual([['1147-10-25', false], ['NULL', true], ['1275-10-27', false], ['NULL', true], ['1248-05-15', false]]);
  expect(rows.flatMap((row) => row.slice(0, 4)).some((cell) => cell.italic)).toBe(false);
}

describe('the quickstart in Notebook 6', () => {
  test('runs all from the Cell menu without an error in any cell', async () => {
    quickstart = await ui.open(`/notebooks/${QUICKSTART}`);
    await kernelReady(quickstart);
    await quickstart.click('#celllink');
    await quickstart.click('#run_all_cells a');
    await allCellsRan(quickstart);
    await quickstart.screenshot({ path: join(SCREENSHOTS, '01-run-all.png') });
    const errors = await quickstart.evaluate(() =>
      Jupyter.notebook.get_cells().flatMap((cell: any) => (cell.output_area?.outputs ?? []).filter((output: any) => output.output_type === 'error').map((output: any) => output.evalue)),
    );
    expect(errors).toEqual([]);
    expect(ours(ui.problems)).toEqual([]);
  }, RUN_ALL_WAIT + 30_000);

  test('shows results as HTML tables: numbers right, text left, headers like their column, NULL marked', async () => {
    const table = outputOf(quickstart, 'CREATE SCHEMA IF NOT EXISTS quickstart').locator('table.lakebase-result');
    await expect(table.count()).resolves.toBe(1);
    expectCityTable(await tableReport(table));
    await table.screenshot({ path: join(SCREENSHOTS, '02-table.png') });
    // The magics' own tables follow the same rule (the connections table's header row).
    const connections = outputOf(quickstart, '%lakebase connections').locator('table.lakebase-result');
    const [header] = await tableReport(connections);
    expect(header.map((cell) => cell.text)).toEqual(['name', 'current', 'kind', 'connection', 'tls', 'transaction']);
    expect(header.every((cell) => cell.left)).toBe(true);
  });

  test('draws charts: the SQL cell\'s bar chart and the TypeScript cell\'s point chart, as SVG', async () => {
    const bars = outputOf(quickstart, '%%lakebase --chart bar').locator('.output_svg svg');
    await expect(bars.count()).resolves.toBe(1);
    // One bar per country, then the table of the same rows under the chart.
    await expect(bars.locator('[aria-roledescription="bar"]').count()).resolves.toBe(3);
    await expect(outputOf(quickstart, '%%lakebase --chart bar').locator('table.lakebase-result').count()).resolves.toBe(1);
    await bars.screenshot({ path: join(SCREENSHOTS, '03-chart.png') });
    const points = outputOf(quickstart, 'display(chart(cities').locator('.output_svg svg');
    await expect(points.locator('[aria-roledescription="point"]').count()).resolves.toBe(5);
    await points.screenshot({ path: join(SCREENSHOTS, '03-chart-typescript.png') });
  });

  test('opened untrusted (from elsewhere), tables keep alignment and NULL marking; charts fall back to text', async () => {
    // The executed notebook as someone else would send it: the same outputs, without this
    // server's signature, so Notebook 6 opens it untrusted and sanitizes every HTML output.
    const executed = await quickstart.evaluate(() => Jupyter.notebook.toJSON());
    for (const cell of executed.cells) delete cell.metadata.trusted;
    await writeFile(join(ui.notebooks, UNTRUSTED), JSON.stringify(executed));
    const page = await ui.open(`/notebooks/${UNTRUSTED}`);
    await page.waitForFunction(() => (window as any).Jupyter?.notebook?.get_cells?.().length > 0 && document.querySelector('table.lakebase-result') !== null, null, {
      timeout: KERNEL_WAIT,
    });
    await expect(page.evaluate(() => Jupyter.notebook.trusted)).resolves.toBe(false);
    await expect(page.locator('#notification_trusted').textContent()).resolves.toMatch(/Not Trusted/);
    const table = outputOf(page, 'CREATE SCHEMA IF NOT EXISTS quickstart').locator('table.lakebase-result');
    expectCityTable(await tableReport(table));
    // What the sanitizer did to style attributes before (issue 11): nothing of ours has any.
    await expect(page.locator('.output_html [style]').count()).resolves.toBe(0);
    await table.screenshot({ path: join(SCREENSHOTS, '04-table-untrusted.png') });
    // Untrusted SVG is not shown by Notebook 6; the chart's text/plain line is, then the table.
    await expect(outputOf(page, '%%lakebase --chart bar').locator('.output_text').first().textContent()).resolves.toContain('bar chart of people by country (3 rows)');
    await page.close();
    expect(ours(ui.problems)).toEqual([]);
  });
});

describe('a new notebook', () => {
  let page: Page;

  test('is highlighted: TypeScript cells as TypeScript, %%lakebase cells as SQL below a magic line', async () => {
    const tree = await ui.open('/tree');
    await tree.click('#new-dropdown-button');
    const opened = tree.context().waitForEvent('page');
    await tree.click('#kernel-lakebase a');
    page = await opened;
    ui.watch(page);
    await kernelReady(page);
    await tree.close();
    // The frontend took the kernel's language_info: a mode it could load, and the SQL mode from kernel.js.
    await expect(page.evaluate(() => Jupyter.notebook.metadata.language_info.codemirror_mode)).resolves.toBe('typescript');

    await page.locator('.cell').first().locator('.CodeMirror').click();
    await page.keyboard.type('const answer: number = 42;');
    await page.keyboard.press('Escape');
    await page.keyboard.press('b');
    await page.keyboard.press('Enter');
    await page.keyboard.type('%%lakebase\nSELECT name FROM quickstart.city WHERE id = 1');
    await page.keyboard.press('Escape'); // leaving the cell highlights it by its first line
    await page.waitForFunction(() => Jupyter.notebook.get_cell(1).code_mirror.getOption('mode') === 'magic_text/x-pgsql', null, { timeout: 10_000 });

    const typescript = page.locator('.cell').nth(0);
    await expect(typescript.locator('.cm-keyword').allTextContents()).resolves.toEqual(['const']);
    await expect(typescript.locator('.cm-type').allTextContents()).resolves.toEqual(['number']);
    const sql = page.locator('.cell').nth(1);
    await expect(sql.locator('.cm-magic').first().textContent()).resolves.toBe('%%lakebase');
    await expect(sql.locator('.cm-keyword').allTextContents()).resolves.toEqual(expect.arrayContaining(['SELECT', 'FROM', 'WHERE']));
    await expect(sql.locator('.cm-number').allTextContents()).resolves.toEqual(['1']);
    await page.screenshot({ path: join(SCREENSHOTS, '05-new-notebook-highlighting.png') });
    expect(ours(ui.problems)).toEqual([]);
  });

  test('the interrupt button stops a running query on the server', async () => {
    await runNewCell(page, '%lakebase connect');
    await expect(outputText(page, -1)).resolves.toMatch(/Connected/);
    await appendCell(page, '%%lakebase\nSELECT 1 AS started;\nSELECT pg_sleep(30)');
    await page.keyboard.press('Control+Enter');
    // The first statement's table shows once the cell runs; the sleep is the next statement.
    await page.locator('.cell').last().locator('table.lakebase-result').waitFor({ timeout: KERNEL_WAIT });
    const clicked = Date.now();
    await page.click('button[data-jupyter-action="jupyter-notebook:interrupt-kernel"]');
    // Well under the 30 s the query would sleep: the bound only keeps a broken interrupt from hanging the test.
    await page.waitForFunction(() => !Jupyter.notebook.kernel_busy && typeof Jupyter.notebook.get_cell(Jupyter.notebook.ncells() - 1).input_prompt_number === 'number', null, {
      timeout: 20_000,
      polling: 50,
    });
    const stoppedAfterMs = Date.now() - clicked;
    const error = await page.evaluate(() => Jupyter.notebook.get_cell(Jupyter.notebook.ncells() - 1).output_area.outputs.find((output: any) => output.output_type === 'error'));
    // Cancelled on the server (or, had the signal come between the statements, not started).
    expect(`${error?.evalue}\n${(error?.traceback ?? []).join('\n')}`).toMatch(/canceling statement due to user request|CODE: INTERRUPTED/);
    await page.screenshot({ path: join(SCREENSHOTS, '06-interrupted.png') });
    // Recorded for people (the issue asks for under a second); timing is never asserted in tests.
    await writeFile(join(SCREENSHOTS, 'interrupt.json'), `${JSON.stringify({ stoppedAfterMs }, null, 2)}\n`);
  });

  test('a restart from the Kernel menu comes back, and the next connect works', async () => {
    await page.evaluate(() => {
      (window as any).restartedReady = false;
      Jupyter.notebook.events.one('kernel_restarting.Kernel', () => Jupyter.notebook.events.one('kernel_ready.Kernel', () => ((window as any).restartedReady = true)));
    });
    await page.click('#kernellink');
    await page.click('#restart_kernel a');
    await page.click('.modal-dialog .modal-footer button.btn-danger'); // "Restart" in the confirmation
    await page.waitForFunction(() => (window as any).restartedReady === true && !Jupyter.notebook.kernel_busy, null, { timeout: KERNEL_WAIT });
    await runNewCell(page, '%lakebase connect');
    await expect(outputText(page, -1)).resolves.toMatch(/Connected/);
    await runNewCell(page, '%lakebase sql SELECT count(*) AS cities FROM quickstart.city');
    await expect(page.locator('.cell').last().locator('table.lakebase-result td').first().textContent()).resolves.toBe('7');
    await page.screenshot({ path: join(SCREENSHOTS, '07-restarted.png') });
    expect(ours(ui.problems)).toEqual([]);
  });
});

/** Adds a code cell at the end with `source` typed in, and leaves the cursor in it. */
async function appendCell(page: Page, source: string): Promise<void> {
  await page.evaluate((text) => {
    const cell = Jupyter.notebook.insert_cell_at_bottom('code');
    cell.set_text(text);
    Jupyter.notebook.select(Jupyter.notebook.find_cell_index(cell));
    cell.focus_editor();
  }, source);
}

/** Adds a cell, runs it with Ctrl+Enter (staying in it) and waits for it to finish. */
async function runNewCell(page: Page, source: string): Promise<void> {
  await appendCell(page, source);
  const index = await page.evaluate(() => Jupyter.notebook.ncells() - 1);
  await page.keyboard.press('Control+Enter');
  await page.waitForFunction((i) => !Jupyter.notebook.kernel_busy && typeof Jupyter.notebook.get_cell(i).input_prompt_number === 'number', index, {
    timeout: KERNEL_WAIT,
    polling: 100,
  });
}

/** The text of a cell's outputs (`at` counts from the end when negative). */
async function outputText(page: Page, at: number): Promise<string> {
  return page.evaluate((i) => {
    const cells = Jupyter.notebook.get_cells();
    const cell = cells[i < 0 ? cells.length + i : i];
    return cell.output_area.outputs.map((output: any) => output.text ?? output.data?.['text/plain'] ?? output.evalue ?? '').join('\n');
  }, at);
}
