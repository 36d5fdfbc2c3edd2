// A SQL warehouse as one more connection of the real kernel, over real ZeroMQ, on the embedded
// default (the local emulator's warehouse, beside its Lakebase instance): in one notebook, a
// warehouse and a Lakebase connection, :name parameters, typed --into, the display limit on a
// big result, interrupt, and the Arrow table of a result in TypeScript.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { KernelClient } from '../kernel/wire/client';
import { interruptUntilSettled, outputsOf, runCell, startBuiltKernel, stopKernel } from './support/jupyter';

let kernel: KernelClient;

beforeAll(async () => {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (/^(PG|DATABRICKS_)/.test(name)) delete env[name];
  kernel = await startBuiltKernel({ output: 'ignore', env });
});
afterAll(async () => {
  await stopKernel(kernel);
});

const text = (cell: { result?: Record<string, unknown> }) => String(cell.result?.['text/plain']);

test('a warehouse beside a Lakebase instance, in one notebook', async () => {
  const lakebase = await runCell(kernel, '%lakebase connect --as app');
  expect(lakebase.status).toBe('ok');
  const warehouse = await runCell(kernel, '%lakebase connect --warehouse --as wh');
  expect(warehouse.status).toBe('ok');
  expect(warehouse.stdout + text(warehouse)).toMatch(/Connected "wh" to Serverless Starter Warehouse/);
  const listed = await runCell(kernel, '%lakebase connections');
  expect(text(listed)).toMatch(/app .*Lakebase|local emulator/);
  expect(text(listed)).toMatch(/wh .*SQL warehouse/);

  const created = await runCell(kernel, [
    '%%lakebase --on wh',
    'CREATE OR REPLACE TABLE main.default.kernel_cities (id BIGINT NOT NULL, name STRING, pop DECIMAL(12,0), founded DATE, tags ARRAY<STRING>) TBLPROPERTIES (delta.enableChangeDataFeed = true);',
    "INSERT INTO main.default.kernel_cities VALUES (1, 'Lisbon', 545796, DATE'1147-10-25', array('coast', 'capital')), (2, 'Porto', 231800, NULL, array('coast'));",
  ].join('\n'));
  expect(created.status).toBe('ok');

  await runCell(kernel, 'const atLeast = 300000;');
  const selected = await runCell(kernel, '%%lakebase --on wh --into big\nSELECT id, name, pop, founded, tags FROM main.default.kernel_cities WHERE pop >= :atLeast');
  expect(selected.status).toBe('ok');
  // --into declares the type from the Arrow schema: a type error proves it.
  const typed = await runCell(kernel, 'const n: number = big[0].id;');
  expect(typed.status).toBe('error');
  expect(typed.error?.evalue).toMatch(/bigint/);
  const used = await runCell(kernel, 'console.log(big.map((c) => `${c.name} ${c.pop} ${c.tags?.join("+")} ${typeof c.id}`).join(";"))');
  expect(used.stdout).toContain('Lisbon 545796 coast+capital bigint');

  // The Lakebase connection stays current for plain cells.
  expect(text(await runCell(kernel, '%lakebase sql --on app SELECT 40 + 2 AS answer'))).toMatch(/\b42\b/);
  // Join warehouse rows with Lakebase rows in TypeScript.
  const joined = await runCell(kernel, [
    'const wh = %lakebase sql --on wh SELECT id, name FROM main.default.kernel_cities ORDER BY id',
    'const pg = %lakebase sql --on app SELECT 1::bigint AS id, 10 AS visits',
    'console.log(JSON.stringify(wh.rows.map((c) => ({ name: c.name, visits: pg.rows.find((v) => BigInt(v.id as string) === c.id)?.visits ?? 0 }))))',
  ].join('\n'));
  expect(joined.status).toBe('ok');
  expect(joined.stdout).toContain('[{"name":"Lisbon","visits":10},{"name":"Porto","visits":0}]');
});

test('the display limit shows a page of a big warehouse result before the rest is counted; toArrow() gives columns', async () => {
  const execution = await kernel.execute('%lakebase sql --on wh SELECT id, id * 2 AS twice FROM range(1000000)');
  const cell = outputsOf(execution);
  expect(cell.status).toBe('ok');
  // The page first, while counting; then the counted table in its place (the same display id),
  // and no second table.
  const displayIds = execution.messages
    .filter((message) => message.header.msg_type === 'display_data' || message.header.msg_type === 'update_display_data')
    .map((message) => [message.header.msg_type, (message.content.transient as { display_id?: string } | undefined)?.display_id]);
  expect(displayIds).toEqual([
    ['display_data', expect.stringMatching(/\S/)],
    ['update_display_data', displayIds[0]?.[1]],
  ]);
  expect(cell.displays.map((bundle) => String(bundle['text/plain']))).toEqual([expect.stringMatching(/\(showing 100 of at least [\d,]+ rows; counting…\)/)]);
  expect(cell.updates.map((update) => String((update.data as Record<string, unknown>)['text/plain']))).toEqual([expect.stringMatching(/\(showing 100 of 1,000,000 rows\)/)]);
  expect(cell.result).toBeUndefined();
  // A small result is the cell's value, as ever.
  expect(text(await runCell(kernel, '%lakebase sql --on wh SELECT id FROM range(3)'))).toMatch(/\(3 rows\)/);
  const arrow = await runCell(kernel, [
    'const r = %lakebase sql --on wh --display-limit all SELECT id FROM range(1000)',
    'const t = (r as any).toArrow();',
    'console.log(t.numRows, t.schema.fields[0].type.toString())',
  ].join('\n'));
  expect(arrow.status).toBe('ok');
  expect(arrow.stdout).toMatch(/1000 Int64/);
});

test("a warehouse cell is split into statements by Databricks SQL's quotes, not PostgreSQL's", async () => {
  const cell = await runCell(kernel, ['%%lakebase --on wh', 'SELECT 1 AS `a;b`;', 'SELECT \'it\\\'s; fine\' AS s, "x;y" AS t, 2 AS `c:d`'].join('\n'));
  expect(cell.status).toBe('ok');
  expect(cell.displays.map((bundle) => String(bundle['text/plain'])).join('\n')).toMatch(/a;b/);
  expect(text(cell)).toMatch(/it's; fine .*x;y .*2/);
});

test('an interrupt while a shown page is being counted stops the count, and the page says so', async () => {
  let paged!: () => void;
  const pageShown = new Promise<void>((resolve) => (paged = resolve));
  // A cross join streams its rows at once (a single range() is computed whole before its first row).
  const running = kernel.execute('%lakebase sql --on wh SELECT a.id * 100000 + b.id AS id FROM range(100000) AS a, range(100000) AS b', {
    onIopub: (message) => {
      if (message.header.msg_type === 'display_data') paged();
    },
  });
  await pageShown;
  await interruptUntilSettled(running, () => kernel.request('control', 'interrupt_request'));
  const cell = outputsOf(await running);
  expect(cell.status).toBe('error');
  expect(cell.updates.map((update) => String((update.data as Record<string, unknown>)['text/plain'])).at(-1)).toMatch(/\(showing 100 of at least [\d,]+ rows; the count stopped\)/);
  expect(text(await runCell(kernel, '%lakebase sql --on wh SELECT 6 AS six'))).toMatch(/\b6\b/);
});

test('errors show the SQLSTATE; an interrupt cancels the statement on the warehouse', async () => {
  const failed = await runCell(kernel, '%lakebase sql --on wh SELECT * FROM main.default.nowhere');
  expect(failed.status).toBe('error');
  expect(failed.error?.evalue + failed.stderr).toMatch(/TABLE_OR_VIEW_NOT_FOUND/);
  expect(failed.error?.evalue + failed.stderr + (failed.error?.traceback ?? []).join('\n')).toMatch(/42P01/);

  const running = kernel.execute('%lakebase sql --on wh SELECT count(*) FROM range(5000000000)');
  await new Promise((resolve) => setTimeout(resolve, 500));
  await interruptUntilSettled(running, () => kernel.request('control', 'interrupt_request'));
  expect((await running).reply.content.status).toBe('error');
  expect(text(await runCell(kernel, '%lakebase sql --on wh SELECT 5 AS five'))).toMatch(/\b5\b/);
});

test('warehouse list, stop and start verbs; connect starts a stopped warehouse under a status line', async () => {
  const listed = await runCell(kernel, '%lakebase warehouse list');
  expect(listed.status).toBe('ok');
  expect(text(listed)).toMatch(/Serverless Starter Warehouse .*RUNNING/);
  const stopped = await runCell(kernel, '%lakebase warehouse stop "Serverless Starter Warehouse"');
  expect(stopped.status).toBe('ok');
  expect(text(stopped)).toMatch(/is STOPPED/);
  const reconnected = await runCell(kernel, '%lakebase connect --warehouse --as wh2');
  expect(reconnected.status).toBe('ok');
  const lines = reconnected.displays.map((bundle) => String(bundle['text/plain']));
  expect(lines.join('\n')).toMatch(/warehouse Serverless Starter Warehouse · start · (STARTING|RUNNING)/);
  expect(text(await runCell(kernel, '%lakebase sql --on wh2 SELECT 1 AS one'))).toMatch(/\b1\b/);
});
