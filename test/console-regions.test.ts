import { describe, expect, it } from 'vitest';
import { mapRegionOf } from '../web/src/regions.ts';

const units = (...codes: string[]) => codes.map((unitCode) => ({ unitCode, score: 0.5, rank: 1 }));

describe('the region an evaluation is mapped on', () => {
  it('is the city of district units, the province of city units', () => {
    expect(mapRegionOf(units('330106', '330108'))).toBe('330100');
    expect(mapRegionOf(units('330100', '330200'))).toBe('330000');
    expect(mapRegionOf(units('110101', '110105'))).toBe('110100');
  });

  it('is the one most units share', () => {
    expect(mapRegionOf(units('330201', '330106', '330108'))).toBe('330100');
  });

  it('is none for units below a district, or provinces', () => {
    expect(mapRegionOf(units('330106001', '330106001001'))).toBeNull();
    expect(mapRegionOf(units('330000'))).toBeNull();
    expect(mapRegionOf([])).toBeNull();
  });
});
