// COPY ... FROM STDIN and COPY ... TO STDOUT through a session, on a real PostgreSQL: data from
// strings, chunks, generators and files; output as it arrives; and failures that leave nothing
// half written.
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, test } from 'vitest';
import type { LakebaseSession } from '../lakebase/session';
import { copyDirectionOf } from '../lakebase/sql/copy';
import { usePostgresSession } from './support/fixtures';

let session: LakebaseSession;
usePostgresSession(async (fixture) => {
  session = fixture.session;
});

async function sql(text: string) {
  return session.run(text, { displayLimit: 100 });
}

async function rowsOf(table: string): Promise<unknown[][]> {
  return (await sql(`SELECT * FROM ${table} ORDER BY 1`)).values as unknown[][];
}

beforeEach(async () => {
  await sql('DROP TABLE IF EXISTS city');
  await sql('CREATE TABLE city (id int PRIMARY KEY, name text NOT NULL)');
});

describe('copyDirectionOf', () => {
  test('tells client-side COPY from everything else', () => {
    expect(copyDirectionOf('COPY city FROM STDIN')).toBe('from-stdin');
    expect(copyDirectionOf('copy city (id, name) from stdin with (format csv, header)')).toBe('from-stdin');
    expect(copyDirectionOf('COPY (SELECT * FROM city) TO STDOUT WITH CSV')).toBe('to-stdout');
    expect(copyDirectionOf("COPY city TO '/tmp/city.csv'")).toBeUndefined();
    expect(copyDirectionOf('COPY city FROM "stdin"')).toBeUndefined();
    expect(copyDirectionOf('SELECT 1 -- COPY t FROM STDIN')).toBeUndefined();
    expect(copyDirectionOf("COPY city FROM STDIN WITH (DELIMITER '")).toBeUndefined();
  });
});

describe('COPY ... FROM STDIN', () => {
  test('from a string, from chunks cut anywhere, and from an async generator', async () => {
    const one = await session.run('COPY city FROM STDIN WITH (FORMAT csv)', { displayLimit: 0, copyIn: '1,Lisbon\n2,"Porto, north"\n' });
    expect({ command: one.command, rowCount: one.rowCount }).toEqual({ command: 'COPY', rowCount: 2 });
    await session.run('COPY city FROM STDIN', { displayLimit: 0, copyIn: ['3\tBra', Buffer.from('ga\n4\tFaro\n')] });
    async function* generated() {
      for (let id = 5; id <= 6; id++) yield `${id}\tTown ${id}\n`;
    }
    await session.run('COPY city FROM STDIN', { displayLimit: 0, copyIn: generated() });
    expect(await rowsOf('city')).toEqual([
      [1, 'Lisbon'], [2, 'Porto, north'], [3, 'Braga'], [4, 'Faro'], [5, 'Town 5'], [6, 'Town 6'],
    ]);
  });

  test('from a file stream, read once; a missing file is a clear error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lakebase-copy-'));
    try {
      const file = join(dir, 'cities.csv');
      await writeFile(file, `id,name\n${Array.from({ length: 5000 }, (_, i) => `${i},city ${i}`).join('\n')}\n`);
      const stream = createReadStream(file);
      const result = await session.run('COPY city FROM STDIN WITH (FORMAT csv, HEADER)', { displayLimit: 0, copyIn: stream });
      expect(result.rowCount).toBe(5000);
      // Read once: the same stream again would copy nothing, so it is refused.
      await expect(session.run('COPY city FROM STDIN WITH (FORMAT csv, HEADER)', { displayLimit: 0, copyIn: stream })).rejects.toMatchObject({
        code: 'COPY_MISMATCH',
        message: 'The stream given for COPY has already been read to its end (or closed).',
      });
      const missing = await session
        .run('COPY city FROM STDIN', { displayLimit: 0, copyIn: createReadStream(join(dir, 'missing.csv')) })
        .catch((e: unknown) => e);
      expect(missing).toMatchObject({ code: 'COPY_SOURCE_FAILED', message: expect.stringContaining('ENOENT') });
      expect((await sql('SELECT count(*)::int FROM city')).values).toEqual([[5000]]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('bad data fails the COPY with the server\'s error, writes nothing, and the session goes on', async () => {
    const error = await session
      .run('COPY city FROM STDIN WITH (FORMAT csv)', { displayLimit: 0, copyIn: '1,Lisbon\n1,Again\n' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ sqlState: '23505' });
    expect(await rowsOf('city')).toEqual([]);
    expect(session.transactionStatus).toBe('idle');
    await expect(session.run('COPY nowhere FROM STDIN', { displayLimit: 0, copyIn: '1\n' })).rejects.toMatchObject({ sqlState: '42P01' });
    expect((await sql('SELECT 1 AS one')).values).toEqual([[1]]);
  });

  test('a source that throws midway writes nothing; a chunk that is not text or bytes is refused', async () => {
    async function* failing() {
      yield '1\tLisbon\n';
      throw new Error('the upstream file went away');
    }
    await expect(session.run('COPY city FROM STDIN', { displayLimit: 0, copyIn: failing() })).rejects.toMatchObject({
      code: 'COPY_SOURCE_FAILED',
      message: 'Reading the data for COPY failed: the upstream file went away',
    });
    await expect(session.run('COPY city FROM STDIN', { displayLimit: 0, copyIn: [42 as unknown as string] })).rejects.toMatchObject({
      code: 'COPY_MISMATCH',
    });
    expect(await rowsOf('city')).toEqual([]);
    expect((await sql('SELECT 1 AS one')).values).toEqual([[1]]);
  });

  test('interrupting a COPY that waits for its data cancels it; nothing is written', async () => {
    const abort = new AbortController();
    async function* slow() {
      yield '1\tLisbon\n';
      abort.abort();
      await new Promise((resolve) => setTimeout(resolve, 60_000));
      yield '2\tPorto\n';
    }
    const error = await session.run('COPY city FROM STDIN', { displayLimit: 0, copyIn: slow(), signal: abort.signal }).catch((e: unknown) => e);
    expect(error).toMatchObject({ sqlState: '57014' });
    expect(await rowsOf('city')).toEqual([]);
  });

  test('data for a statement that is not COPY FROM STDIN is refused before anything runs', async () => {
    await expect(session.run('INSERT INTO city VALUES (1, \'x\')', { displayLimit: 0, copyIn: '' })).rejects.toMatchObject({ code: 'COPY_MISMATCH' });
    expect(await rowsOf('city')).toEqual([]);
  });
});

describe('COPY ... TO STDOUT', () => {
  test('streams the rows to the receiver as they arrive, and counts them', async () => {
    await sql("INSERT INTO city SELECT i, 'city ' || i FROM generate_series(1, 20000) i");
    const chunks: Buffer[] = [];
    const result = await session.run('COPY (SELECT * FROM city ORDER BY id) TO STDOUT WITH (FORMAT csv)', {
      displayLimit: 0,
      copyOut: (chunk) => chunks.push(chunk),
    });
    expect(result.rowCount).toBe(20000);
    expect(chunks.length).toBeGreaterThan(1);
    const lines = Buffer.concat(chunks).toString('utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(20000);
    expect(lines[0]).toBe('1,city 1');
  });

  test('interrupting it cancels it on the server, and the session goes on', async () => {
    const abort = new AbortController();
    let received = 0;
    const error = await session
      .run('COPY (SELECT i, repeat(\'x\', 100) FROM generate_series(1, 5000000) i) TO STDOUT', {
        displayLimit: 0,
        signal: abort.signal,
        copyOut: (chunk) => {
          received += chunk.length;
          abort.abort();
        },
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ sqlState: '57014' });
    expect(received).toBeGreaterThan(0);
    expect((await sql('SELECT 1 AS one')).values).toEqual([[1]]);
  });

  test('without a receiver it is refused as before', async () => {
    await sql("INSERT INTO city VALUES (1, 'Lisbon')");
    await expect(sql('COPY city TO STDOUT')).rejects.toMatchObject({ code: 'COPY_UNSUPPORTED' });
    expect((await sql('SELECT 1 AS one')).values).toEqual([[1]]);
  });
});
