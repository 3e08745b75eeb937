import { describe, expect, it } from 'vitest';
import {
  childDivisions,
  countiesOf,
  findRegion,
  fullRegionName,
  isMunicipality,
  isRegionCode,
} from './region.ts';

describe('GB/T 2260 administrative divisions', () => {
  it('knows provinces, prefectures and counties by their six-digit codes', () => {
    expect(findRegion('330000')).toMatchObject({ name: '浙江省', level: 'province', parentCode: null });
    expect(findRegion('330100')).toMatchObject({ name: '杭州市', level: 'prefecture', parentCode: '330000' });
    expect(findRegion('330106')).toMatchObject({ name: '西湖区', level: 'county', parentCode: '330100' });
    expect(fullRegionName('110105')).toBe('北京市朝阳区');
    expect(fullRegionName('330106')).toBe('浙江省杭州市西湖区');
  });

  it('treats prefecture-level cities without counties as prefectures, not as their own county', () => {
    expect(findRegion('441900')).toMatchObject({ name: '东莞市', level: 'prefecture' });
    expect(fullRegionName('441900')).toBe('广东省东莞市');
    expect(fullRegionName('460400')).toBe('海南省儋州市');
  });

  it('refuses codes that are malformed, made up or abolished', () => {
    for (const code of ['', '33010', '3301066', 'abcdef', '999999', '330199', '330103']) {
      expect(isRegionCode(code)).toBe(false);
    }
  });

  it('tells province-level municipalities apart', () => {
    expect(isMunicipality('110000')).toBe(true);
    expect(isMunicipality('500000')).toBe(true);
    expect(isMunicipality('330000')).toBe(false);
  });

  it('lists the counties of a prefecture from the package data, not a hand-typed list', () => {
    const counties = countiesOf('330100');
    expect(counties.length).toBeGreaterThan(10);
    expect(counties.every((c) => c.code.startsWith('3301') && c.level === 'county')).toBe(true);
  });

  it('gives the divisions a map of a region is drawn with', () => {
    const city = childDivisions('330100');
    expect(city.map((r) => r.code)).toEqual(countiesOf('330100').map((r) => r.code));
    expect(city[0]).toMatchObject({ code: '330102', name: '上城区' });
    expect(childDivisions('330000').every((r) => r.level === 'prefecture' && r.code.startsWith('33'))).toBe(
      true,
    );
    expect(childDivisions('330000').map((r) => r.name)).toContain('宁波市');
    // A municipality's prefectures are the pseudo-entries 市辖区 and 县: its map shows the districts.
    expect(childDivisions('500000').every((r) => r.level === 'county')).toBe(true);
    expect(childDivisions('110000').map((r) => r.name)).toContain('海淀区');
    for (const none of ['330106', '441900', '999999', 'abc']) expect(childDivisions(none)).toEqual([]);
  });
});
