// The Jobs service's timing rules, as pure logic: Quartz cron expressions read as Quartz reads them
// (through croner), and table-update triggers with a hand-driven clock.
import { describe, expect, test } from 'vitest';
import { parseQuartz, QuartzError } from '../emulator/quartz';
import { TableUpdateTrigger } from '../emulator/table-trigger';
import type { Clock } from '../emulator/table-trigger';

const FROM = new Date('2026-12-03T10:00:00Z');

function next(expression: string, zone = 'UTC', count = 2): string[] {
  return parseQuartz(expression, zone).nextRuns(count, FROM).map((date) => date.toISOString());
}

describe('Quartz cron expressions', () => {
  test('seconds come first; day-of-week counts 1 = Sunday; one day field is ?', () => {
    expect(next('0 0 * * * ?')).toEqual(['2026-12-03T11:00:00.000Z', '2026-12-03T12:00:00.000Z']);
    expect(next('*/20 * * * * ?')).toEqual(['2026-12-03T10:00:20.000Z', '2026-12-03T10:00:40.000Z']);
    // 2 is Monday in Quartz (Tuesday in Unix cron): 2026-12-07 is a Monday.
    expect(next('0 30 9 ? * 2')).toEqual(['2026-12-07T09:30:00.000Z', '2026-12-14T09:30:00.000Z']);
    expect(next('0 30 9 ? * MON-FRI')).toEqual(['2026-12-04T09:30:00.000Z', '2026-12-07T09:30:00.000Z']);
  });

  test('L, W, # and the year field', () => {
    expect(next('0 0 12 L * ?')).toEqual(['2026-12-31T12:00:00.000Z', '2027-01-31T12:00:00.000Z']);
    expect(next('0 15 10 ? * 6L')).toEqual(['2026-12-25T10:15:00.000Z', '2027-01-29T10:15:00.000Z']);
    expect(next('0 15 10 ? * 6#3')).toEqual(['2026-12-18T10:15:00.000Z', '2027-01-15T10:15:00.000Z']);
    expect(next('0 0 12 15W * ?')).toEqual(['2026-12-15T12:00:00.000Z', '2027-01-15T12:00:00.000Z']);
    expect(next('0 0 12 1 1 ? 2028', 'UTC', 1)).toEqual(['2028-01-01T12:00:00.000Z']);
  });

  test('start/step as Quartz writes it: 0/15 is from 0 every 15', () => {
    expect(next('0 0/15 10 * * ?', 'UTC', 3)).toEqual(['2026-12-03T10:15:00.000Z', '2026-12-03T10:30:00.000Z', '2026-12-03T10:45:00.000Z']);
    expect(next('0 5/20 10 * * ?', 'UTC', 2)).toEqual(['2026-12-03T10:05:00.000Z', '2026-12-03T10:25:00.000Z']);
  });

  test('times are local to the Java time zone id, daylight saving included', () => {
    // Los Angeles is UTC-8 in December and UTC-7 in July.
    expect(next('0 0 12 * * ?', 'America/Los_Angeles', 1)).toEqual(['2026-12-03T20:00:00.000Z']);
    expect(parseQuartz('0 0 12 * * ?', 'America/Los_Angeles').next(new Date('2026-07-01T00:00:00Z'))?.toISOString()).toBe('2026-07-01T19:00:00.000Z');
    expect(next('0 0 9 * * ?', 'Europe/Amsterdam', 1)).toEqual(['2026-12-04T08:00:00.000Z']);
  });

  test('what Quartz refuses is refused, saying why', () => {
    const failure = (expression: string, zone = 'UTC') => {
      try {
        parseQuartz(expression, zone);
      } catch (error) {
        expect(error).toBeInstanceOf(QuartzError);
        return error as QuartzError;
      }
      throw new Error(`${expression} was accepted`);
    };
    expect(failure('0 * * * *').message).toMatch(/5 fields; a Quartz expression has 6 or 7/);
    expect(failure('0 0 12 * * *').message).toMatch(/give '\?' in either day-of-month or day-of-week/);
    expect(failure('0 0 12 ? * ?').message).toMatch(/not in both/);
    expect(failure('0 0 25 * * ?').message).toMatch(/not a valid Quartz cron expression/);
    expect(failure('0 0 12 * * ?', 'Mars/Olympus').message).toMatch(/not a known time zone/);
    expect(failure('0 0 12 L-3 * ?').unsupported).toBe(true);
  });
});

/** A clock the test moves by hand; timers fire when it passes them. */
function manualClock() {
  let now = 0;
  const timers = new Map<number, { at: number; callback: () => void }>();
  let nextId = 0;
  const clock: Clock & { advance(ms: number): void } = {
    now: () => now,
    setTimeout(callback, ms) {
      timers.set(++nextId, { at: now + ms, callback });
      return nextId;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      const until = now + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, timer]) => timer.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].callback();
      }
      now = until;
    },
  };
  return clock;
}

describe('table-update triggers', () => {
  const tables = ['main.sales.orders', 'main.sales.customers'];

  test('ANY_UPDATED fires at the first commit to any watched table; others are not heard', () => {
    const clock = manualClock();
    const fired: string[][] = [];
    const trigger = new TableUpdateTrigger({ tableNames: tables, condition: 'ANY_UPDATED', waitAfterLastChangeMs: 0, minTimeBetweenTriggersMs: 0 }, (t) => fired.push(t), clock);
    trigger.commit('main.sales.other');
    expect(fired).toEqual([]);
    trigger.commit('MAIN.sales.Orders');
    expect(fired).toEqual([['main.sales.orders']]);
    expect(trigger.seen()).toEqual([{ table_name: 'main.sales.orders', has_seen_updates: false }, { table_name: 'main.sales.customers', has_seen_updates: false }]);
  });

  test('ALL_UPDATED waits for every table', () => {
    const clock = manualClock();
    const fired: string[][] = [];
    const trigger = new TableUpdateTrigger({ tableNames: tables, condition: 'ALL_UPDATED', waitAfterLastChangeMs: 0, minTimeBetweenTriggersMs: 0 }, (t) => fired.push(t), clock);
    trigger.commit('main.sales.orders');
    trigger.commit('main.sales.orders');
    expect(fired).toEqual([]);
    expect(trigger.seen()[0].has_seen_updates).toBe(true);
    trigger.commit('main.sales.customers');
    expect(fired).toEqual([['main.sales.orders', 'main.sales.customers']]);
  });

  test('wait_after_last_change: a burst of commits gives one fire, once the tables are quiet', () => {
    const clock = manualClock();
    const fired: number[] = [];
    const trigger = new TableUpdateTrigger({ tableNames: tables, condition: 'ANY_UPDATED', waitAfterLastChangeMs: 60_000, minTimeBetweenTriggersMs: 0 }, () => fired.push(clock.now()), clock);
    trigger.commit('main.sales.orders');
    clock.advance(30_000);
    trigger.commit('main.sales.orders');
    clock.advance(59_999);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual([90_000]);
  });

  test('min_time_between_triggers: a commit soon after a fire waits for its turn', () => {
    const clock = manualClock();
    const fired: number[] = [];
    const trigger = new TableUpdateTrigger({ tableNames: tables, condition: 'ANY_UPDATED', waitAfterLastChangeMs: 0, minTimeBetweenTriggersMs: 120_000 }, () => fired.push(clock.now()), clock);
    trigger.commit('main.sales.orders');
    clock.advance(10_000);
    trigger.commit('main.sales.customers');
    clock.advance(100_000);
    expect(fired).toEqual([0]);
    clock.advance(10_000);
    expect(fired).toEqual([0, 120_000]);
    trigger.stop();
    trigger.commit('main.sales.orders');
    clock.advance(1_000_000);
    expect(fired).toEqual([0, 120_000]);
  });
});
