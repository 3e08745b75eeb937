import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ident, RESERVED_COLUMN_NAMES } from '../core/datasets.ts';
import { DETECTOR_IDS } from '../rules/detectors.ts';
import { fieldNamesFor, pinyinName } from './field-names.ts';

describe('field names from a file’s header', () => {
  it('keeps identifiers, names recognised types, spells the rest in pinyin', () => {
    expect(
      fieldNamesFor(
        ['record_no', '身份证号', '手机号码', '居住地区县', 'PM2.5', '2024年人数', '绿色出行'],
        [null, 'cn_resident_id', 'cn_mobile', null, null, null, null],
      ),
    ).toEqual([
      'record_no',
      'id_number',
      'mobile',
      'ju_zhu_di_qu_xian',
      'pm2_5',
      'f_2024_nian_ren_shu',
      'lv_se_chu_xing',
    ]);
  });

  it('tells two columns of one type apart by their headers, not by _2', () => {
    expect(fieldNamesFor(['父亲身份证号', '母亲身份证号'], ['cn_resident_id', 'cn_resident_id'])).toEqual([
      'fu_qin_shen_fen_zheng_hao',
      'mu_qin_shen_fen_zheng_hao',
    ]);
  });

  it('never gives a system column’s name, an empty one or a repeated one', () => {
    expect(
      fieldNamesFor(['_row', 'ctid', '', '——', '姓名', '姓名'], [null, null, null, null, null, null]),
    ).toEqual(['row', 'ctid_2', 'col_3', 'col_4', 'xing_ming', 'xing_ming_2']);
  });

  it('cuts long pinyin at a syllable', () => {
    const name = pinyinName('中华人民共和国居民身份证号码所在行政区划名称及代码')!;
    expect(name.length).toBeLessThanOrEqual(40);
    expect(name).toMatch(/^zhong_hua_ren_min_gong_he_guo/);
    expect(name.endsWith('_')).toBe(false);
  });

  it('property: every name is a safe, unique, unreserved identifier, whatever the header says', () => {
    const header = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.constantFrom('_row', 'ctid', 'xmin', 'oid', 'tableoid', '身份证号', '姓名', 'Name', 'NAME', ''),
    );
    const type = fc.option(fc.constantFrom(...DETECTOR_IDS), { nil: null });
    fc.assert(
      fc.property(fc.array(fc.tuple(header, type), { maxLength: 30 }), (columns) => {
        const names = fieldNamesFor(
          columns.map(([h]) => h),
          columns.map(([, t]) => t),
        );
        expect(names).toHaveLength(columns.length);
        expect(new Set(names).size).toBe(names.length);
        for (const name of names) {
          expect(() => ident(name)).not.toThrow();
          expect(RESERVED_COLUMN_NAMES.has(name)).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });
});
