// Quartz cron expressions, as Databricks Jobs take them (`schedule.quartz_cron_expression` with a
// Java time zone id in `timezone_id`), evaluated by the `croner` library: seconds and the optional
// year field, `?`, `L`, `W`, `#`, names, and time zones with the daylight-saving rules of Vixie
// cron. What this module adds is only what makes croner read Quartz as Quartz:
//
// - day-of-week numbers are Quartz's (1 = Sunday ... 7 = Saturday): croner's `alternativeWeekdays`;
// - exactly one of day-of-month and day-of-week must be `?`, as Quartz requires ("Support for
//   specifying both a day-of-week AND a day-of-month parameter is not implemented");
// - Quartz's `start/step` with a number before the slash (`0/15`: from 0, every 15) becomes the
//   range croner reads (`0-59/15`);
// - `L-n` (n days before the last day of the month) is a Quartz feature croner lacks: refused by name.
import { Cron } from 'croner';

/** Field order of a Quartz expression, with the largest value of each (for `start/step`). */
const FIELDS = [
  { name: 'seconds', max: 59 },
  { name: 'minutes', max: 59 },
  { name: 'hours', max: 23 },
  { name: 'day-of-month', max: 31 },
  { name: 'month', max: 12 },
  { name: 'day-of-week', max: 7 },
  { name: 'year', max: 2099 },
] as const;

export class QuartzError extends Error {
  constructor(
    message: string,
    /** The emulator could evaluate it if its cron library could; the real service accepts it. */
    readonly unsupported = false,
  ) {
    super(message);
    this.name = 'QuartzError';
  }
}

/** Whether `zone` is a time zone id the runtime knows (IANA names, as Java's `ZoneId` takes). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A checked schedule: its next fire times, in its time zone. */
export interface QuartzSchedule {
  next(after?: Date): Date | null;
  nextRuns(count: number, after?: Date): Date[];
  /** Calls `fire` at every fire time from now on, until the returned function is called. */
  start(fire: () => void): () => void;
}

/** Parses and checks an expression; throws `QuartzError` saying what is wrong. */
export function parseQuartz(expression: string, timeZone: string): QuartzSchedule {
  const fields = expression.trim().split(/\s+/);
  if (fields.length < 6 || fields.length > 7) {
    throw new QuartzError(
      `'${expression}' has ${fields.length} fields; a Quartz expression has 6 or 7: seconds minutes hours day-of-month month day-of-week [year] (e.g. '0 0 12 * * ?').`,
    );
  }
  const [dayOfMonth, dayOfWeek] = [fields[3], fields[5]];
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
    throw new QuartzError(
      dayOfMonth === '?'
        ? `'${expression}': '?' may stand in day-of-month or in day-of-week, not in both.`
        : `'${expression}': give '?' in either day-of-month or day-of-week (Quartz does not support both at once), e.g. '0 0 12 * * ?'.`,
    );
  }
  if (/^L-\d+/i.test(dayOfMonth)) {
    throw new QuartzError(`'${expression}': 'L-n' in day-of-month (n days before the last) is not supported by the emulator's cron library.`, true);
  }
  if (!isTimeZone(timeZone)) throw new QuartzError(`'${timeZone}' is not a known time zone id (e.g. 'UTC', 'Europe/Amsterdam', 'America/Los_Angeles').`);
  const normalized = fields.map((field, index) => field.split(',').map((part) => openStep(part, FIELDS[index].max)).join(',')).join(' ');
  const options = { mode: '6-or-7-parts', alternativeWeekdays: true, timezone: timeZone } as const;
  let cron: Cron;
  try {
    cron = new Cron(normalized, { ...options, paused: true });
    cron.nextRun();
  } catch (error) {
    throw new QuartzError(`'${expression}' is not a valid Quartz cron expression: ${(error as Error).message.replace(/^CronPattern: /, '')}`);
  }
  return {
    next: (after) => cron.nextRun(after),
    nextRuns: (count, after) => cron.nextRuns(count, after),
    start(fire) {
      // croner keeps one timer to the next fire time (long waits included) and follows DST;
      // `unref`: a schedule alone does not keep the emulator's process alive.
      const running = new Cron(normalized, { ...options, unref: true }, () => fire());
      return () => running.stop();
    },
  };
}

/** `5/15` → `5-59/15` (Quartz: from 5, every 15); anything else unchanged. */
function openStep(part: string, max: number): string {
  const match = /^(\d+)\/(\d+)$/.exec(part);
  return match ? `${match[1]}-${max}/${match[2]}` : part;
}
