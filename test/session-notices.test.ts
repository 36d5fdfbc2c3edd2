// Notices and warnings the server raises while a statement runs reach the statement's `onNotice`,
// in order, with their detail and hint; without a listener they are dropped harmlessly.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Notice } from '../lakebase/contracts';
import { LakebaseSession, openSession } from '../lakebase/session';
import { resolveTarget } from '../lakebase/targets';
import { usePostgresSession } from './support/fixtures';

let session: LakebaseSession;

usePostgresSession((fixture) => ({ session } = fixture));

const RAISE = `DO $$
BEGIN
  RAISE NOTICE 'first %', 1;
  RAISE WARNING 'second' USING DETAIL = 'some detail', HINT = 'some hint';
  RAISE NOTICE 'third';
END
$$`;

test('notices arrive in order with severity, detail and hint', async () => {
  const notices: Notice[] = [];
  const result = await session.run(RAISE, { displayLimit: 10, onNotice: (notice) => notices.push(notice) });
  expect(result.command).toBe('DO');
  expect(notices).toEqual([
    { severity: 'NOTICE', message: 'first 1' },
    { severity: 'WARNING', message: 'second', detail: 'some detail', hint: 'some hint' },
    { severity: 'NOTICE', message: 'third' },
  ]);
});

test('notices raised before a statement fails are delivered too', async () => {
  const notices: Notice[] = [];
  const failing = `DO $$ BEGIN RAISE NOTICE 'about to fail'; PERFORM 1/0; END $$`;
  await expect(session.run(failing, { displayLimit: 10, onNotice: (notice) => notices.push(notice) })).rejects.toThrow(/division by zero/);
  expect(notices.map((notice) => notice.message)).toEqual(['about to fail']);
});

test("a statement's notices go to that statement's listener only", async () => {
  const first: Notice[] = [];
  const second: Notice[] = [];
  await Promise.all([
    session.run(`DO $$ BEGIN RAISE NOTICE 'one'; END $$`, { displayLimit: 10, onNotice: (notice) => first.push(notice) }),
    session.run(`DO $$ BEGIN RAISE NOTICE 'two'; END $$`, { displayLimit: 10, onNotice: (notice) => second.push(notice) }),
  ]);
  expect(first.map((notice) => notice.message)).toEqual(['one']);
  expect(second.map((notice) => notice.message)).toEqual(['two']);
});

test('without a listener, notices are dropped and the statement succeeds', async () => {
  const result = await session.run(RAISE, { displayLimit: 10 });
  expect(result.command).toBe('DO');
});
