import { describe, expect, it } from 'vitest';
import {
  addWorkingDays,
  calendarCovers,
  chinaDate,
  deadline,
  endOfChinaDay,
  isMakeUpWorkingDay,
  isWorkingDay,
  workingDaysBetween,
} from './working-days.ts';

describe('working days under the official holiday calendar', () => {
  it('knows the 2025 National Day and Mid-Autumn holiday and its make-up days', () => {
    for (let d = 1; d <= 8; d++) expect(isWorkingDay(`2025-10-0${d}`)).toBe(false);
    expect(isWorkingDay('2025-09-28')).toBe(true); // Sunday, make-up
    expect(isWorkingDay('2025-10-11')).toBe(true); // Saturday, make-up
    expect(isMakeUpWorkingDay('2025-09-28')).toBe(true);
    expect(isMakeUpWorkingDay('2025-10-11')).toBe(true);
    expect(isMakeUpWorkingDay('2025-10-09')).toBe(false);
    expect(isWorkingDay('2025-10-12')).toBe(false);
    expect(isWorkingDay('2025-09-27')).toBe(false);
  });

  it('counts deadlines across the holiday, make-up days included', () => {
    // Friday 26 Sep + 3: Sun 28 (make-up), Mon 29, Tue 30.
    expect(addWorkingDays('2025-09-26', 3)).toBe('2025-09-30');
    // Tue 30 Sep + 3: the holiday is skipped; Thu 9, Fri 10, Sat 11 (make-up).
    expect(addWorkingDays('2025-09-30', 3)).toBe('2025-10-11');
    // Tue 30 Sep + 20: 9, 10, 11, 13–17, 20–24, 27–31, 3 Nov, 4 Nov.
    expect(addWorkingDays('2025-09-30', 20)).toBe('2025-11-04');
    expect(workingDaysBetween('2025-09-30', '2025-11-04')).toBe(20);
    expect(addWorkingDays('2025-10-01', 0)).toBe('2025-10-01');
  });

  it('says when the calendar of a year is not known', () => {
    expect(calendarCovers(2025)).toBe(true);
    expect(calendarCovers(2099)).toBe(false);
    expect(deadline('2025-09-30', 20)).toEqual({ due: '2025-11-04', certain: true });
    expect(deadline('2099-06-01', 3).certain).toBe(false);
  });

  it('uses the civil date in China', () => {
    expect(chinaDate(new Date('2025-09-30T16:30:00Z'))).toBe('2025-10-01');
    expect(() => addWorkingDays('2025-13-01', 1)).toThrow(RangeError);
    // The day ends at midnight Beijing time, 16:00 UTC.
    expect(endOfChinaDay('2025-10-01').toISOString()).toBe('2025-10-01T15:59:59.999Z');
    expect(chinaDate(endOfChinaDay('2025-10-01'))).toBe('2025-10-01');
    expect(chinaDate(new Date(endOfChinaDay('2025-10-01').getTime() + 1))).toBe('2025-10-02');
  });
});
