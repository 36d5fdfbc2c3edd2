// %lakebase SQL through the real kernel process and real ZeroMQ, against a real PostgreSQL that
// the kernel finds through the standard PG* variables.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { KernelClient } from '../kernel/wire/client';
import { runCell, startBuiltKernel, stopKernel } from './support/jupyter';
import { startTestPostgres, type TestPostgres } from './support/postgres';

let server: TestPostgres;
let kernel: KernelClient;
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'lakebase-kernel-sql-'));
  server = await startTestPostgres();
  kernel = await startBuiltKernel({
    output: 'ignore',
    env: { ...process.env, ...server.env },
  });
  const connected = await runCell(kernel, '%lakebase connect');
  expect(connected.status).toBe('ok');
});
afterAll(async () => {
  await stopKernel(kernel);
  await server?.stop();
  await rm(scratch, { recursive: true, force: true });
});

describe('SQL cells', () => {
  test('a %%lakebase cell shows each statement: command tags, then the rows as text and HTML', async () => {
    const cell = await runCell(kernel, [
      '%%lakebase',
      'CREATE TABLE city (id int PRIMARY KEY, name text NOT NULL, country text);',
      "INSERT INTO city VALUES (1, 'Lisbon', 'PT'), (2, 'Porto', NULL);",
      'SELECT id, name, country FROM city ORDER BY id;',
    ].join('\n'));
    expect(cell.status).toBe('ok');
    const texts = [...cell.displays, cell.result].map((bundle) => String(bundle?.['text/plain']));
    expect(texts[0]).toContain('CREATE TABLE');
    expect(texts[1]).toContain('INSERT 0 2');
    expect(texts[2]).toMatch(/Lisbon/);
    expect(texts[2]).toMatch(/\(2 rows/);
    expect(String(cell.result?.['text/html'])).toContain('<table');
  });

  test('TypeScript variables are bound as parameters, never pasted into the SQL', async () => {
    await runCell(kernel, `const cityName = "Lisbon'; DROP TABLE city; --";`);
    const cell = await runCell(kernel, '%lakebase sql SELECT count(*) AS n FROM city WHERE name = :cityName');
    expect(cell.status).toBe('ok');
    const stillThere = await runCell(kernel, '%lakebase sql SELECT count(*) AS n FROM city');
    expect(String(stillThere.result?.['text/plain'])).toMatch(/\b2\b/);
  });

  test('a missing parameter is a clear error and the kernel keeps running', async () => {
    const cell = await runCell(kernel, '%lakebase sql SELECT :nowhere');
    expect(cell.status).toBe('error');
    expect(cell.error?.evalue).toMatch(/nowhere/);
    expect((await runCell(kernel, '1 + 1')).result).toEqual({ 'text/plain': '2' });
  });

  test('a result stored with --into is typed for later TypeScript cells', async () => {
    const stored = await runCell(kernel, '%%lakebase --into cities\nSELECT id, name, country FROM city ORDER BY id');
    expect(stored.status).toBe('ok');
    const used = await runCell(kernel, 'cities.map((c) => c.name.toUpperCase()).join(",")');
    expect(used.result).toEqual({ 'text/plain': "'LISBON,PORTO'" });
    const misspelt = await runCell(kernel, 'cities[0].nmae');
    expect(misspelt.status).toBe('error');
    expect(misspelt.error?.evalue).toMatch(/nmae/);
  });

  // Issue 12, item 5: these two names broke the declaration, or every later magic.
  test('--into declares columns named with line and paragraph separators (U+2028, U+2029)', async () => {
    const stored = await runCell(kernel, '%%lakebase --into separated\nSELECT 1 AS "a\u2028b", 2 AS "c\u2029d"');
    expect(stored.status).toBe('ok');
    expect(stored.stderr).not.toMatch(/could not declare/);
    const used = await runCell(kernel, 'separated[0]["a\\u2028b"] + separated[0]["c\\u2029d"]');
    expect(used.result).toEqual({ 'text/plain': '3' });
  });

  test('--into refuses the names the kernel itself uses, and later magics still work', async () => {
    for (const name of ['lakebase$magic', 'display', 'chart']) {
      const refused = await runCell(kernel, `%lakebase sql --into ${name} SELECT 1 AS one`);
      expect(refused.status).toBe('error');
      expect(refused.error?.evalue).toMatch(new RegExp(`${name.replace('$', '\\$')} is used by the kernel`));
      expect(refused.error?.traceback.join('\n')).toMatch(/MAGIC_RESERVED_NAME/);
    }
    const later = await runCell(kernel, 'const afterReserved = %lakebase sql SELECT 7 AS seven\nafterReserved.rows[0].seven');
    expect(later.result).toEqual({ 'text/plain': '7' });
  });

  test('the line form is a value inside TypeScript', async () => {
    const cell = await runCell(kernel, 'const counted = %lakebase sql SELECT count(*)::int AS n FROM city\ncounted.rows[0].n * 10');
    expect(cell.result).toEqual({ 'text/plain': '20' });
  });

  test('a server error shows SQLSTATE and a caret, fails the cell, and the kernel goes on', async () => {
    const cell = await runCell(kernel, '%%lakebase\nSELECT nme FROM city');
    expect(cell.status).toBe('error');
    const traceback = cell.error!.traceback.join('\n');
    expect(traceback).toContain('column "nme" does not exist');
    expect(traceback).toContain('42703');
    // LINE counts the lines of the cell, as Jupyter numbers them (the SQL starts on line 2).
    expect(traceback).toMatch(/LINE 2: SELECT nme FROM city\n\s+\^/);
    expect((await runCell(kernel, '%lakebase sql SELECT 1 AS one')).status).toBe('ok');
  });

  // Issue 12, item 3: the caret line echoed a PASSWORD literal the redaction did not know.
  test('the caret line of an error does not echo a PASSWORD literal, and still points at the error', async () => {
    const cell = await runCell(kernel, "%%lakebase\nALTER ROLE nobody WITH PASSWORD E'hunter\\'2-secret' VALID UNTL 'infinity'");
    expect(cell.status).toBe('error');
    const traceback = cell.error!.traceback.join('\n');
    expect(traceback).toContain('syntax error at or near "UNTL"');
    expect(traceback).not.toMatch(/hunter|secret/);
    const lines = cell.error!.traceback;
    const caret = lines.findIndex((line) => /^\s*\^$/.test(line));
    expect(lines[caret - 1].slice(lines[caret].indexOf('^'))).toMatch(/^UNTL/);
  });

  test('notices go to the cell stderr', async () => {
    const cell = await runCell(kernel, "%%lakebase\nDO $$ BEGIN RAISE NOTICE 'hello from plpgsql'; END $$");
    expect(cell.stderr).toContain('hello from plpgsql');
  });
});

describe('transactions', () => {
  test('BEGIN in one cell and ROLLBACK in a later one act on the same server session', async () => {
    const begun = await runCell(kernel, "%%lakebase\nBEGIN;\nINSERT INTO city VALUES (3, 'Faro', 'PT');");
    expect(begun.status).toBe('ok');
    expect(begun.stderr + JSON.stringify(begun.displays)).toMatch(/transaction/i);
    const inside = await runCell(kernel, '%lakebase sql SELECT count(*)::int AS n FROM city');
    expect(String(inside.result?.['text/plain'])).toMatch(/\b3\b/);
    await runCell(kernel, '%lakebase sql ROLLBACK');
    const after = await runCell(kernel, '%lakebase sql SELECT count(*)::int AS n FROM city');
    expect(String(after.result?.['text/plain'])).toMatch(/\b2\b/);
  });
});

describe('COPY', () => {
  test('FROM STDIN reads the --stdin value: a string, or a file stream of any size', async () => {
    await runCell(kernel, 'const portCsv = "1,Lisbon\\n2,\\"Porto, north\\"\\n";');
    const cell = await runCell(kernel, [
      '%%lakebase --stdin portCsv',
      'CREATE TABLE port (id int PRIMARY KEY, name text);',
      'COPY port FROM STDIN WITH (FORMAT csv);',
      'SELECT name FROM port ORDER BY id',
    ].join('\n'));
    expect(cell.status).toBe('ok');
    expect(String(cell.displays[1]['text/plain'])).toContain('COPY 2');
    expect(String(cell.result?.['text/plain'])).toContain('Porto, north');

    const file = join(scratch, 'ports.csv');
    await writeFile(file, `id,name\n${Array.from({ length: 10_000 }, (_, i) => `${i + 10},port ${i}`).join('\n')}\n`);
    await runCell(kernel, `const portFile = require("node:fs").createReadStream(${JSON.stringify(file)});`);
    const fromFile = await runCell(kernel, '%lakebase sql --stdin portFile COPY port FROM STDIN WITH (FORMAT csv, HEADER)');
    expect(String(fromFile.result?.['text/plain'])).toContain('COPY 10000');
  });

  test('a magic inside a function copies from a local variable', async () => {
    const cell = await runCell(kernel, [
      'async function addPort(id: number, name: string) {',
      '  const line = `${id},${name}\\n`;',
      '  %lakebase sql --stdin line COPY port FROM STDIN WITH (FORMAT csv)',
      '}',
      'await addPort(3, "Faro");',
      'const ports = %lakebase sql SELECT count(*)::int AS n FROM port WHERE id = 3',
      'ports.rows[0].n',
    ].join('\n'));
    expect(cell.error).toBeUndefined();
    expect(cell.result).toEqual({ 'text/plain': '1' });
  });

  test('a COPY FROM STDIN without --stdin is refused before anything of the magic runs', async () => {
    const cell = await runCell(kernel, '%%lakebase\nCREATE TABLE never_made (x int);\nCOPY never_made FROM STDIN');
    expect(cell.status).toBe('error');
    expect(cell.error?.evalue).toBe('COPY ... FROM STDIN needs its data: name a TypeScript value with --stdin.');
    const exists = await runCell(kernel, "%lakebase sql SELECT to_regclass('never_made') IS NULL AS missing");
    expect(String(exists.result?.['text/plain'])).toMatch(/\bt\b|true/);
  });

  test('TO STDOUT prints the rows up to the display limit and counts the rest', async () => {
    const cell = await runCell(kernel, '%lakebase sql --display-limit 3 COPY (SELECT i, i * i FROM generate_series(1, 10) i) TO STDOUT WITH (FORMAT csv)');
    expect(cell.status).toBe('ok');
    expect(cell.stdout).toBe('1,1\n2,4\n3,9\n(showing the first 3 of 10 rows; --display-limit all shows every row)\n');
    expect(String(cell.result?.['text/plain'])).toContain('COPY 10');
  });
});

describe('interrupt', () => {
  test('interrupting a running query cancels it on the server and the session stays usable', async () => {
    const running = kernel.execute('%lakebase sql SELECT pg_sleep(30)');
    await new Promise<void>((resolve) => {
      const stop = kernel.onIopub((message) => {
        if (message.header.msg_type === 'execute_input') {
          stop();
          resolve();
        }
      });
    });
    await untilServerRuns("SELECT pg_sleep(30)");
    await kernel.interrupt();
    const { reply } = await running;
    expect(reply.content.status).toBe('error');
    expect(String(reply.content.evalue)).toMatch(/cancel/i);
    const next = await runCell(kernel, '%lakebase sql SELECT 7 AS seven');
    expect(next.status).toBe('ok');
    const active = await runCell(kernel, "%lakebase sql SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'");
    expect(String(active.result?.['text/plain'])).toMatch(/\b0\b/);
  });
});

/** Waits until the server shows `query` running (seen from a connection of the test's own). */
async function untilServerRuns(query: string): Promise<void> {
  const observer = new pg.Client({ connectionString: server.url });
  await observer.connect();
  try {
    for (;;) {
      const { rows } = await observer.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = $1 AND state = 'active'", [query]);
      if (rows[0].n > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await observer.end();
  }
}

describe('completion in SQL', () => {
  /** The matches of a complete_request at the `|` in `code`. */
  async function completions(code: string): Promise<string[]> {
    const cursor = code.indexOf('|');
    const reply = await kernel.request('shell', 'complete_request', { code: code.replace('|', ''), cursor_pos: cursor });
    expect(reply.content.status).toBe('ok');
    return reply.content.matches as string[];
  }

  test('table and column names come from the connected database, and follow its changes', async () => {
    expect((await runCell(kernel, '%lakebase sql CREATE TABLE shipment (id int, carrier text)')).status).toBe('ok');
    expect(await completions('%%lakebase\nSELECT * FROM shipm|')).toEqual(['shipment']);
    expect(await completions('%%lakebase --display-limit 5\nSELECT s.| FROM shipment s')).toEqual(['carrier', 'id']);
    expect(await completions('%lakebase sql SELECT car| FROM shipment')).toEqual(['carrier']);
    expect((await runCell(kernel, '%lakebase sql ALTER TABLE shipment ADD COLUMN weight numeric')).status).toBe('ok');
    expect(await completions('const r = %lakebase sql SELECT s.| FROM shipment s')).toEqual(['carrier', 'id', 'weight']);
  });

  test('Shift+Tab on a table or column in SQL shows what it is', async () => {
    const inspect = async (code: string) => {
      const reply = await kernel.request('shell', 'inspect_request', { code: code.replace('|', ''), cursor_pos: code.indexOf('|'), detail_level: 0 });
      return reply.content as { found: boolean; data: { 'text/plain'?: string } };
    };
    expect((await inspect('%%lakebase\nSELECT carrier FROM ship|ment')).data['text/plain']).toMatch(/^table public\.shipment\n {2}id +integer\n {2}carrier +text\n {2}weight +numeric$/);
    expect((await inspect('%lakebase sql SELECT s.carr|ier FROM shipment s')).data['text/plain']).toBe('column public.shipment.carrier  text');
    // On the magic line itself, the verb's help as before.
    expect((await inspect('%lakebase s|ql SELECT 1')).data['text/plain']).toMatch(/Run SQL statements/);
  });

  test(':name completes TypeScript variables; magic options still complete on the magic line', async () => {
    await runCell(kernel, 'const shipmentId = 7;');
    expect(await completions('%lakebase sql SELECT * FROM shipment WHERE id = :shipm|')).toEqual(['shipmentId']);
    expect(await completions('%lakebase sql SELECT :lakebase|')).toEqual([]);
    expect(await completions('%%lakebase --disp|\nSELECT 1')).toEqual(['--display-limit']);
  });
});
