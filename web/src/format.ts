/** Display formats: times in Asia/Shanghai (DESIGN.md), numbers and sizes in the console's language. */
import i18n from './i18n.ts';

const locale = () => (i18n.language === 'en' ? 'en-GB' : 'zh-CN');

export function fmtDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(locale(), {
    timeZone: 'Asia/Shanghai',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  }).format(date);
}

export function fmtDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(locale(), {
    timeZone: 'Asia/Shanghai',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(date);
}

export function fmtNumber(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  return new Intl.NumberFormat(locale()).format(n);
}

export function fmtPercent(ratio: number | null | undefined, digits = 0): string {
  if (ratio === null || ratio === undefined) return '—';
  return new Intl.NumberFormat(locale(), { style: 'percent', maximumFractionDigits: digits }).format(ratio);
}

export function fmtBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** A Shanghai calendar date (YYYY-MM-DD) as the end of that day, in ISO form for the API. */
export function endOfShanghaiDay(date: string): string {
  return new Date(`${date}T23:59:59.999+08:00`).toISOString();
}

export function startOfShanghaiDay(date: string): string {
  return new Date(`${date}T00:00:00.000+08:00`).toISOString();
}

/** Today (or `days` from today) as a Shanghai calendar date, YYYY-MM-DD. */
export function shanghaiDate(daysFromToday = 0): string {
  return new Date(Date.now() + 8 * 3_600_000 + daysFromToday * 86_400_000).toISOString().slice(0, 10);
}

/** The label in the current language of a value the API gives in both. */
export function bilingual(value: { 'zh-CN'?: string; zh?: string; en?: string } | null | undefined): string {
  if (!value) return '';
  return (i18n.language === 'en' ? value.en : (value['zh-CN'] ?? value.zh)) ?? value.en ?? '';
}
