import chineseDays from 'chinese-days';

/**
 * Working days under the official Chinese holiday calendar (国务院办公厅 holiday arrangements),
 * make-up working days (调休上班, e.g. Sunday 2025-09-28 and Saturday 2025-10-11) included.
 * The calendar comes from the maintained `chinese-days` package, not a hand-kept list: it knows
 * the years the State Council has published (2004 to its release's last year). For a later year
 * it can only tell weekdays from weekends, so `calendarCovers` says whether a date is certain.
 *
 * Dates are civil dates in China (`YYYY-MM-DD`); `chinaDate` turns an instant into one.
 */

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function check(date: string): string {
  if (!DATE.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) {
    throw new RangeError(`not a calendar date (YYYY-MM-DD): ${date}`);
  }
  return date;
}

/** The civil date in China (UTC+8, no daylight saving) of an instant. */
export function chinaDate(instant: Date = new Date()): string {
  return new Date(instant.getTime() + 8 * 3_600_000).toISOString().slice(0, 10);
}

/**
 * The last instant of a civil date in China: "within n working days" runs to the end of the n-th
 * working day, whatever hour the clock started.
 */
export function endOfChinaDay(date: string): Date {
  return new Date(Date.parse(`${check(date)}T23:59:59.999+08:00`));
}

/** The date `days` calendar days after (negative: before) `date`. */
export function addCalendarDays(date: string, days: number): string {
  const t = Date.parse(`${check(date)}T00:00:00Z`) + days * 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

const covered = new Map<number, boolean>();

/** Whether the package knows the official arrangement of `year` (New Year's Day is a holiday in every published year). */
export function calendarCovers(year: number): boolean {
  let known = covered.get(year);
  if (known === undefined) {
    const detail = chineseDays.getDayDetail(`${year}-01-01`);
    known = !detail.work && /元旦|New Year/.test(detail.name);
    covered.set(year, known);
  }
  return known;
}

/** A working day: a weekday that is not a public holiday, or a weekend make-up working day. */
export function isWorkingDay(date: string): boolean {
  return chineseDays.isWorkday(check(date));
}

/** A weekend day that is a working day by the holiday arrangement (调休上班). */
export function isMakeUpWorkingDay(date: string): boolean {
  const weekday = new Date(`${check(date)}T00:00:00Z`).getUTCDay();
  return (weekday === 0 || weekday === 6) && chineseDays.isWorkday(date);
}

/**
 * The `n`-th working day after `date` (the day itself not counted): "within 3 working days of
 * receipt" ends at the end of `addWorkingDays(receipt, 3)`. n = 0 gives `date` itself.
 */
export function addWorkingDays(date: string, n: number): string {
  if (!Number.isInteger(n) || n < 0)
    throw new RangeError(`working days must be a non-negative integer: ${n}`);
  let day = check(date);
  let left = n;
  while (left > 0) {
    day = addCalendarDays(day, 1);
    if (chineseDays.isWorkday(day)) left--;
  }
  return day;
}

/** Working days after `from` up to and including `to` (0 when `to` is not after `from`). */
export function workingDaysBetween(from: string, to: string): number {
  let count = 0;
  for (let day = addCalendarDays(check(from), 1); day <= check(to); day = addCalendarDays(day, 1)) {
    if (chineseDays.isWorkday(day)) count++;
  }
  return count;
}

/** A deadline and whether the official calendar of every year it spans is known. */
export interface WorkingDayDeadline {
  due: string;
  certain: boolean;
}

export function deadline(from: string, n: number): WorkingDayDeadline {
  const due = addWorkingDays(from, n);
  let certain = true;
  for (let y = Number(from.slice(0, 4)); y <= Number(due.slice(0, 4)); y++) certain &&= calendarCovers(y);
  return { due, certain };
}
