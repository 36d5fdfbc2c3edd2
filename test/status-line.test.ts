// The live status line of long operations (magics/status-line.ts): one display, then updates under
// the same display id, ending in the final state; an interrupt says the operation goes on and how
// to check on it; the progress-bar form counts rows, bytes, rate and ETA. Exact bundles where the
// text is fixed; elapsed times and rates (which depend on the clock) are matched by pattern.
import { expect, test } from 'vitest';
import { JUPYTER_DISPLAY, MimeBundle } from '../lakebase/contracts';
import { LakebaseError } from '../lakebase/errors';
import { waitFor, WaitStoppedError } from '../lakebase/waiting';
import { formatBytes, startStatusLine, StatusLineView, watch } from '../magics/status-line';
import { recordingHost } from './support/magic-host';

function bundle(value: unknown): MimeBundle {
  return (value as { [JUPYTER_DISPLAY](): MimeBundle })[JUPYTER_DISPLAY]();
}

const text = (value: unknown) => bundle(value)['text/plain'];

test('one display, then updates under the same id, ending in the final state', () => {
  const host = recordingHost();
  const line = startStatusLine(host, { subject: 'instance orders', action: 'create', state: 'STARTING', waitingFor: 'the server to start', tickMs: 0 });
  line.waiting({ state: 'STARTING', detail: 'the server to start' });
  line.waiting({ state: 'UPDATING', detail: 'the change to be applied' });
  line.done('AVAILABLE', 'read_write_dns 127.0.3.7');
  // Calls after the end change nothing.
  line.waiting({ state: 'STARTING' });
  line.failed('late');

  expect(host.displays.map((d) => d.options)).toEqual([
    { displayId: line.displayId },
    { displayId: line.displayId, update: true },
    { displayId: line.displayId, update: true },
    { displayId: line.displayId, update: true },
  ]);
  const texts = host.displays.map((d) => text(d.value));
  expect(texts[0]).toMatch(/^instance orders · create · STARTING · \d+ ms · waiting for the server to start$/);
  expect(texts[2]).toMatch(/^instance orders · create · UPDATING · \d+ ms · waiting for the change to be applied$/);
  expect(texts[3]).toMatch(/^instance orders · create · AVAILABLE · \d+ ms · read_write_dns 127\.0\.3\.7$/);
  expect((host.displays[3].value as StatusLineView).settled).toBe(true);
  expect((host.displays[0].value as StatusLineView).settled).toBe(false);
});

test('the HTML is static and escaped, with the state coloured by how the line ended', () => {
  const view = new StatusLineView('instance <b>x</b>', 'create', 'failed', 'FAILED', 1500, 'name "x" & co', undefined);
  expect(bundle(view)).toEqual({
    'text/plain': 'instance <b>x</b> · create · FAILED · 1 s · name "x" & co',
    'text/html':
      '<div class="lakebase-status" style="font-family:monospace"><b>instance &#60;b&#62;x&#60;/b&#62;</b> · create · ' +
      '<span style="color:#cf222e">FAILED</span> · 1 s · name &#34;x&#34; &#38; co</div>',
  });
});

test('the ticker refreshes the elapsed time of a line that stands still, and stops when it ends', async () => {
  const host = recordingHost();
  const line = startStatusLine(host, { subject: 'instance orders', action: 'start', state: 'STARTING', tickMs: 5 });
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (host.displays.length >= 3) {
        clearInterval(check);
        resolve();
      }
    }, 5);
  });
  line.done('AVAILABLE');
  const count = host.displays.length;
  await new Promise((resolve) => setTimeout(resolve, 30));
  expect(host.displays.length).toBe(count);
  expect(host.displays.every((d) => d.options?.displayId === line.displayId)).toBe(true);
});

test('watch: an interrupt ends the line with "stopped waiting" and how to check, and the error says the operation goes on', async () => {
  const host = recordingHost();
  let polls = 0;
  const error = await watch(
    host,
    {
      subject: 'instance orders',
      action: 'create',
      state: 'STARTING',
      checkWith: '%lakebase instance get orders',
      operation: 'the creation',
      tickMs: 0,
      settledState: () => 'AVAILABLE',
    },
    ({ onProgress, signal }) =>
      waitFor({
        description: 'the instance orders to be AVAILABLE',
        poll: async () => ++polls,
        check: () => ({ done: false, state: 'STARTING', detail: 'the server to start' }),
        onProgress: (progress) => {
          onProgress(progress);
          host.interrupt();
        },
        signal,
        initialDelayMs: 60_000,
      }),
  ).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(WaitStoppedError);
  expect((error as LakebaseError).hint).toBe('Check on it with %lakebase instance get orders.');
  expect(polls).toBe(1);
  const last = host.displays.at(-1)!;
  expect(last.options).toEqual({ displayId: host.displays[0].options!.displayId, update: true });
  expect(text(last.value)).toMatch(
    /^instance orders · create · STARTING · \d+ ms · stopped waiting; the creation goes on\. Check on it with %lakebase instance get orders$/,
  );
});

test('watch: a failure ends the line as FAILED with the error in one line, and is rethrown', async () => {
  const host = recordingHost();
  const failure = new LakebaseError('INSTANCE_WAIT_FAILED', 'The instance orders is STOPPED, not AVAILABLE.');
  await expect(
    watch(host, { subject: 'instance orders', action: 'start', tickMs: 0, settledState: () => 'AVAILABLE' }, async () => {
      throw failure;
    }),
  ).rejects.toBe(failure);
  expect(text(host.displays.at(-1)!.value)).toMatch(/^instance orders · start · FAILED · \d+ ms · The instance orders is STOPPED, not AVAILABLE\.$/);
});

test('watch: success ends the line with the settled state and note, and returns the result', async () => {
  const host = recordingHost();
  const result = await watch(
    host,
    { subject: 'instance orders', action: 'stop', tickMs: 0, settledState: (r: { state: string }) => r.state, settledNote: () => 'connections are refused until it starts' },
    async ({ onProgress }) => {
      onProgress({ state: 'UPDATING', detail: 'the server to stop' });
      return { state: 'STOPPED' };
    },
  );
  expect(result).toEqual({ state: 'STOPPED' });
  expect(host.displays).toHaveLength(3);
  expect(text(host.displays[1].value)).toMatch(/ · UPDATING · .* · waiting for the server to stop$/);
  expect(text(host.displays[2].value)).toMatch(/^instance orders · stop · STOPPED · \d+ ms · connections are refused until it starts$/);
});

test('the progress-bar form: rows of a total, bytes, rate and ETA while running; totals when done', () => {
  const running = new StatusLineView('sync gold.users', undefined, 'running', 'SYNCING', 30_000, undefined, {
    rows: 1_234_567,
    totalRows: 5_000_000,
    bytes: 123 * 1024 * 1024,
    state: 'SYNCING',
  });
  expect(text(running)).toBe('sync gold.users · SYNCING · 1,234,567 of 5,000,000 rows (24.7 %) · 123 MiB · 41,152 rows/s · ETA 1 min 31 s');
  expect(bundle(running)['text/html']).toContain('<progress value="1234567" max="5000000"></progress>');

  const done = new StatusLineView('sync gold.users', undefined, 'done', 'SYNCED', 120_000, 'target replaced atomically', {
    rows: 5_000_000,
    totalRows: 5_000_000,
  });
  expect(text(done)).toBe('sync gold.users · 5,000,000 of 5,000,000 rows (100.0 %) · 41,667 rows/s · SYNCED · 2 min 00 s · target replaced atomically');

  const unknownTotal = new StatusLineView('copy', undefined, 'running', undefined, 200, undefined, { rows: 10 });
  // Under half a second no rate is shown: it would be noise.
  expect(text(unknownTotal)).toBe('copy · 10 rows');
});

test('formatBytes counts in binary units', () => {
  expect(formatBytes(512)).toBe('512 bytes');
  expect(formatBytes(1536)).toBe('1.5 KiB');
  expect(formatBytes(10 * 1024 * 1024 * 1024)).toBe('10 GiB');
});
