import { describe, expect, it } from 'vitest';
import { fenToYuan, fenToYuanInput, MAX_FEN, yuanToFen } from '../web/src/money.ts';

describe('console money (integer fen ↔ yuan text)', () => {
  it('shows fen as yuan with two decimals', () => {
    expect(fenToYuan(0)).toBe('0.00');
    expect(fenToYuan(5)).toBe('0.05');
    expect(fenToYuan(40)).toBe('0.40');
    expect(fenToYuan(160)).toBe('1.60');
    expect(fenToYuan(123_456_789)).toBe('1,234,567.89');
    expect(fenToYuan(-160)).toBe('-1.60');
    expect(fenToYuan(null)).toBe('—');
    expect(fenToYuanInput(123_456_789)).toBe('1234567.89');
  });

  it('reads typed yuan as exact fen, without floating point', () => {
    expect(yuanToFen('0.29')).toBe(29); // 0.29 * 100 is 28.999999999999996 in floating point
    expect(yuanToFen('0.57')).toBe(57);
    expect(yuanToFen('1.005')).toBeNull();
    expect(yuanToFen('12')).toBe(1200);
    expect(yuanToFen('12.3')).toBe(1230);
    expect(yuanToFen('12.')).toBe(1200);
    expect(yuanToFen(' 0.05 ')).toBe(5);
    expect(yuanToFen('1,234.50')).toBe(123_450);
    expect(yuanToFen('007.10')).toBe(710);
    expect(yuanToFen('100000000000')).toBe(MAX_FEN);
    expect(yuanToFen('100000000000.01')).toBeNull();
    for (const bad of ['', '-1', '1e3', 'abc', '.5', '1,23', '0x10', '1.2.3', '１２'])
      expect(yuanToFen(bad), bad).toBeNull();
  });

  it('round-trips every cent amount of a range', () => {
    for (let fen = 0; fen < 20_000; fen += 7) expect(yuanToFen(fenToYuanInput(fen))).toBe(fen);
  });
});
