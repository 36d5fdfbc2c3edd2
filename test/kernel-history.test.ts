// Cell history kept across kernel sessions in a file, through real kernel processes: what one
// kernel ran, the next one (after a restart) answers history requests with.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { matchesGlob } from '../kernel/history';
import type { KernelClient } from '../kernel/wire/client';
import { runCell, startBuiltKernel, stopKernel } from './support/jupyter';

let dir: string;
let historyFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lakebase-history-'));
  historyFile = join(dir, 'state', 'history.jsonl');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function withKernel(work: (kernel: KernelClient) => Promise<void>): Promise<void> {
  const kernel = await startBuiltKernel({ output: 'ignore', env: { ...process.env, LAKEBASE_KERNEL_HISTORY: historyFile } });
  try {
    await work(kernel);
  } finally {
    await stopKernel(kernel);
  }
}

async function history(kernel: KernelClient, content: object): Promise<[number, number, string][]> {
  const reply = await kernel.request('shell', 'history_request', { output: false, raw: true, ...content });
  return reply.content.history as [number, number, string][];
}

describe('history across kernel sessions', () => {
  test('the next kernel finds the cells of the one before, with their session and line numbers', async () => {
    await withKernel(async (kernel) => {
      await runCell(kernel, 'const first = 1;');
      await runCell(kernel, '"second"');
      await kernel.execute('"not stored"', { storeHistory: false });
    });
    await withKernel(async (kernel) => {
      await runCell(kernel, '"third"');
      expect(await history(kernel, { hist_access_type: 'tail', n: 10 })).toEqual([
        [1, 1, 'const first = 1;'],
        [1, 2, '"second"'],
        [2, 1, '"third"'],
      ]);
      expect(await history(kernel, { hist_access_type: 'range', session: -1, start: 2, stop: 10 })).toEqual([[1, 2, '"second"']]);
      expect(await history(kernel, { hist_access_type: 'range', session: 0, start: 1, stop: 2 })).toEqual([[2, 1, '"third"']]);
      expect(await history(kernel, { hist_access_type: 'search', pattern: '"*"', n: 10 })).toEqual([
        [1, 2, '"second"'],
        [2, 1, '"third"'],
      ]);
    });
  });

  test('secrets are redacted before they are written, and only the owner can read the file', async () => {
    await withKernel(async (kernel) => {
      await runCell(kernel, '%lakebase connect postgresql://me:hunter2-secret@127.0.0.1:1/db --as leaked');
    });
    const written = await readFile(historyFile, 'utf8');
    expect(written).toContain('%lakebase connect postgresql://me:');
    expect(written).not.toContain('hunter2-secret');
    expect((await stat(historyFile)).mode & 0o777).toBe(0o600);
  });

  test('a damaged line is skipped, and the kernel starts anyway', async () => {
    await writeFile(historyFile, `${await readFile(historyFile, 'utf8')}{"session": 3, "line": 1, "inp\n`);
    await withKernel(async (kernel) => {
      const tail = await history(kernel, { hist_access_type: 'tail', n: 1 });
      expect(tail[0][2]).toMatch(/^%lakebase connect/);
      expect((await runCell(kernel, '1 + 1')).result).toEqual({ 'text/plain': '2' });
    });
  });

  // Issue 12, item 3: each of these was kept whole or in part, although the kernel reads every one
  // of them as a password (or warns about it).
  test('passwords in every form the kernel recognises are redacted, in the file and in replies', async () => {
    const cells = [
      "%lakebase connect 'postgresql://u:secret pw-1@127.0.0.1:1/db'",
      '%lakebase connect "host=127.0.0.1 port=1 password=\\"secret pw-2\\""',
      "const libpq = 'host=h password=semi;secret-3 user=u';",
      "// ALTER ROLE app PASSWORD E'secret\\'-4';",
      '%lakebase connect postgresql://u:p@ssw0rd-secret-5@127.0.0.1:1/db',
      "const urls = ['postgresql://u:se#cret-6@h/db', 'postgresql://u:se/cret-7@h/db'];",
      '// CREATE ROLE app LOGIN PASSWORD $pw$secret-8$pw$',
    ];
    await withKernel(async (kernel) => {
      for (const cell of cells) await runCell(kernel, cell);
      const replied = JSON.stringify(await history(kernel, { hist_access_type: 'tail', n: cells.length }));
      expect(replied).toContain('[REDACTED]');
      expect(replied).not.toMatch(/secret|ssw0rd|cret-/);
    });
    const written = await readFile(historyFile, 'utf8');
    expect(written).toContain("%lakebase connect 'postgresql://u:[REDACTED]@127.0.0.1:1/db'");
    expect(written).not.toMatch(/secret|ssw0rd|cret-/);
  });
});

describe('history search patterns', () => {
  test('a glob matches the whole input: * any text, ? one character, anything else itself', () => {
    expect(matchesGlob('*', '')).toBe(true);
    expect(matchesGlob('"*"', '"second"')).toBe(true);
    expect(matchesGlob('"*"', '"second" ')).toBe(false);
    expect(matchesGlob('%lakebase*', '%lakebase connect\nSELECT 1')).toBe(true);
    expect(matchesGlob('a?c', 'abc')).toBe(true);
    expect(matchesGlob('a?c', 'ac')).toBe(false);
    expect(matchesGlob('*b*b', 'abcbdb')).toBe(true);
    expect(matchesGlob('*b*b', 'abcbd')).toBe(false);
    expect(matchesGlob('a.c', 'abc')).toBe(false);
    expect(matchesGlob('[ab]', '[ab]')).toBe(true);
    expect(matchesGlob('**x', 'x')).toBe(true);
  });

  // As a regular expression, `*a*a*a*a*b` over a pasted 200 KB cell backtracked for ages, and the
  // kernel, searching on its one thread, answered nothing (not even heartbeats) meanwhile.
  test('a search with many wildcards over a big pasted cell is answered, and the kernel goes on', async () => {
    await withKernel(async (kernel) => {
      await runCell(kernel, `// ${'a'.repeat(200_000)}`);
      expect(await history(kernel, { hist_access_type: 'search', pattern: '*a*a*a*a*b', n: 10 })).toEqual([]);
      expect(await history(kernel, { hist_access_type: 'search', pattern: '// *a?a*a', n: 1 })).toHaveLength(1);
      expect((await runCell(kernel, '1 + 1')).result).toEqual({ 'text/plain': '2' });
    });
  });
});
