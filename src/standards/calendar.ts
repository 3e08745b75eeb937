/**
 * Calendar dates without time zones. Birth dates in ID numbers and registers are civil dates,
 * so they are compared as year/month/day triples rather than as instants.
 */
export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

export function isRealDate(year: number, month: number, day: number): boolean {
  return (
    Number.isInteger(year) &&
    Number.isInteger(month) &&
    Number.isInteger(day) &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month)
  );
}

export function compareDates(a: CalendarDate, b: CalendarDate): number {
  return a.year - b.year || a.month - b.month || a.day - b.day;
}

/** Today's civil date in China (UTC+8, no daylight saving), the reference for "not in the future". */
export function todayInChina(now: Date = new Date()): CalendarDate {
  const shifted = new Date(now.getTime() + 8 * 3_600_000);
  return { year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: shifted.getUTCDate() };
}

export function formatIsoDate(date: CalendarDate): string {
  return `${String(date.year).padStart(4, '0')}-${String(date.month).padStart(2, '0')}-${String(date.day).padStart(2, '0')}`;
}

// Forms seen in government registers: 1990-01-02, 1990/1/2, 1990.01.02, 19900102, 1990年1月2日,
// optionally followed by a midnight time that spreadsheet and database exports append to dates.
const SEPARATED = /^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?$/;
const COMPACT = /^(\d{4})(\d{2})(\d{2})$/;
const CHINESE = /^(\d{4})年(\d{1,2})月(\d{1,2})日$/;

/** Parses a date-only value in a common Chinese register format; undefined when it is not a real date. */
export function parseCalendarDate(value: string): CalendarDate | undefined {
  let year: string | undefined;
  let month: string | undefined;
  let day: string | undefined;
  const separated = SEPARATED.exec(value);
  if (separated) [, year, , month, day] = separated;
  else {
    const compact = COMPACT.exec(value) ?? CHINESE.exec(value);
    if (compact) [, year, month, day] = compact;
  }
  if (year === undefined || month === undefined || day === undefined) return undefined;
  const date = { year: Number(year), month: Number(month), day: Number(day) };
  return isRealDate(date.year, date.month, date.day) ? date : undefined;
}

/** Accepts `YYYY-MM-DD`, `YYYYMMDD` or a Date (its UTC calendar day). */
export function toCalendarDate(input: string | Date | CalendarDate): CalendarDate {
  if (input instanceof Date) {
    if (Number.isNaN(input.getTime())) throw new Error('invalid Date');
    return { year: input.getUTCFullYear(), month: input.getUTCMonth() + 1, day: input.getUTCDate() };
  }
  if (typeof input !== 'string') {
    if (!isRealDate(input.year, input.month, input.day))
      throw new Error(`not a real date: ${formatIsoDate(input)}`);
    return input;
  }
  const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(input);
  const date = m ? { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) } : undefined;
  if (!date || !isRealDate(date.year, date.month, date.day)) throw new Error(`not a real date: ${input}`);
  return date;
}
