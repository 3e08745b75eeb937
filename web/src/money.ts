/**
 * Money in the console: the server counts integer fen (分); people read and type yuan (元) with two
 * decimals. Both ways go through strings and integers only — never a float — so 0.29 元 is 29 分,
 * not 28.999….
 */

/** The largest amount the server takes (its schema's maximum: 1e13 分). */
export const MAX_FEN = 10_000_000_000_000;

/** Fen as yuan with exactly two decimals and thousands grouped: 123456 → "1,234.56". */
export function fenToYuan(fen: number | null | undefined): string {
  if (fen === null || fen === undefined || !Number.isInteger(fen)) return '—';
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  const yuan = Math.floor(abs / 100);
  const cents = String(abs % 100).padStart(2, '0');
  return `${sign}${yuan.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${cents}`;
}

/** Fen as yuan for a form field: no grouping, two decimals ("1234.56"). */
export function fenToYuanInput(fen: number | null | undefined): string {
  return fenToYuan(fen).replace(/,/g, '');
}

/**
 * A typed yuan amount ("12", "12.3", "12.30", "1,234.50", " 0.05 ") as integer fen, or null when it
 * is not a non-negative amount with at most two decimals within the server's maximum.
 */
export function yuanToFen(text: string): number | null {
  const m = /^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{0,2}))?$/.exec(text.trim());
  if (!m) return null;
  const whole = m[1]!.replace(/,/g, '').replace(/^0+(?=\d)/, '');
  if (whole.length > 12) return null;
  const fen = Number(whole) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  return Number.isSafeInteger(fen) && fen <= MAX_FEN ? fen : null;
}
