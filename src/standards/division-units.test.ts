import { describe, expect, it } from 'vitest';
import { divisionName, parentUnit, regionPrefix, unitLevel, unitWithin } from './division-units.ts';

describe('reporting units (统计用区划代码)', () => {
  it('names the level of a unit code, checking the GB/T 2260 part', () => {
    expect(unitLevel('330100')).toBe('city');
    expect(unitLevel('330106')).toBe('district');
    expect(unitLevel('330106001')).toBe('town');
    expect(unitLevel('330106001002')).toBe('community');
    for (const bad of [
      '330000',
      '999999',
      '330106000',
      '330106001000',
      '3301060010',
      '33010600100x',
      '330100001',
    ]) {
      expect(unitLevel(bad), bad).toBeUndefined();
    }
  });

  it('places units in regions and under their parents', () => {
    expect(regionPrefix('330000')).toBe('33');
    expect(regionPrefix('330100')).toBe('3301');
    expect(unitWithin('330106001002', '330100')).toBe(true);
    expect(unitWithin('330108001002', '330106')).toBe(false);
    expect(parentUnit('330106001002')).toBe('330106001');
    expect(parentUnit('330106001')).toBe('330106');
    expect(parentUnit('330106')).toBe('330100');
    expect(parentUnit('330100')).toBeNull();
  });

  it('keeps a town code whole: one ending in 00 is a town, not its city', () => {
    expect(regionPrefix('330106100')).toBe('330106100');
    expect(unitWithin('330106100002', '330106100')).toBe(true);
    expect(unitWithin('330106101002', '330106100')).toBe(false);
    expect(unitWithin('330108001002', '330106100')).toBe(false);
  });

  it('names a town by its county, since town names are not on GB/T 2260', () => {
    expect(divisionName('330106')).toBe('浙江省杭州市西湖区');
    expect(divisionName('330106', false)).toBe('西湖区');
    expect(divisionName('330106001', false)).toBe('西湖区（乡级区划 001）');
    expect(divisionName('999999001')).toBeUndefined();
  });
});
