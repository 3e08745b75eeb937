import { describe, expect, it } from 'vitest';
import { luhnCheckDigit } from '../standards/luhn.ts';
import { makeResidentId } from '../standards/resident-id.ts';
import { makeUscc } from '../standards/uscc.ts';
import {
  DETECTOR_IDS,
  DETECTORS,
  type DetectorId,
  defaultMaskFor,
  detectorById,
  headerContradicts,
  headerHintFor,
  headerWords,
  isDetectorId,
  suggestGrade,
} from './detectors.ts';
import { isGrade } from './grades.ts';
import { isMaskRuleId } from './masking.ts';
import { addressStrength, coordinateStrength } from './validators.ts';

const GOOD: Record<DetectorId, string[]> = {
  cn_resident_id: ['11010519491231002X', makeResidentId('330106', '2001-09-30', 44), '110105491231002'],
  cn_uscc: [makeUscc('9', '1', '330106', 'MA27XK0L'), makeUscc('1', '1', '100000', '00001234')],
  cn_mobile: ['13812345678', '+86 199 1234 5678', '8617712345678'],
  cn_landline: ['010-62345678', '(0571)88888888', '0755 8888 6666'],
  email: ['zhang.san@example.com', '12345678@qq.com', 'a+b@mail.zj.gov.cn'],
  ipv4: ['192.168.1.1', '8.8.8.8', '255.255.255.255'],
  ipv6: ['2001:db8::1', '::1', 'fe80::1%eth0', '2408:8207:2c4e:a5f0::1'],
  bank_card: ['6217001234567890123'.slice(0, 18) + luhnCheckDigit('621700123456789012'), '4111111111111111'],
  cn_passport: ['E12345678', 'EA1234567', 'G12345678'],
  hk_macau_permit: ['C12345678', 'CA1234567'],
  cn_license_plate: ['京A12345', '粤BD12345', '川A12345F', '浙A·1B2C3'],
  person_name: ['张三', '欧阳娜娜', '司马光', '阿卜杜·热合曼'],
  address: [
    '浙江省杭州市西湖区文三路90号',
    '北京市朝阳区建国路88号院3号楼1单元502室',
    '丽水市莲都区碧湖镇下堰村3组12号',
  ],
  geo_coordinate: ['120.155070,30.274085', '30.2741, 120.1551', 'POINT(120.1551 30.2741)'],
  birth_date: ['1990-03-07', '19900307', '1990年3月7日', '1990/3/7'],
  ethnicity: ['汉族', '维吾尔族', '蒙古', '鄂伦春族'],
  marital_status: ['未婚', '已婚', '丧偶', '离异'],
  religion: ['佛教', '伊斯兰教', '无宗教信仰'],
  health: ['2型糖尿病', '原发性高血压伴肾损害', '乙肝疫苗', '九价HPV疫苗第2剂', '流感疫苗'],
  criminal_record: ['无犯罪记录', '盗窃罪', '因诈骗罪判处有期徒刑三年', '判处拘役六个月'],
  // Amounts are weak evidence only: nothing validates without a header.
  financial: [],
  free_text: [],
};

const BAD: Record<DetectorId, string[]> = {
  cn_resident_id: ['110105194912310021', '202403150001234567', '11010519491231002', '330106200113011234'],
  cn_uscc: ['91330106MA27XK0L0A', '913301061234567890', 'ABCDEFGHJKLMNPQRTU'],
  cn_mobile: ['12812345678', '1381234567', '1700000000000', '23812345678'],
  cn_landline: ['62345678', '13812345678', '0571-0888888'],
  email: ['true', 'user@localhost', 'zhang at qq.com', '@qq.com', 'a@b.c'],
  ipv4: ['256.1.1.1', '1.2.3', '01.2.3.4', '1.2.3.4.5'],
  ipv6: ['12:30:45', '00:1A:2B:3C:4D:5E', 'gggg::1', '1.2.3.4'],
  bank_card: ['6217001234567890124', '20240315123456789', '1700000000000'],
  cn_passport: ['A12345678', 'E1234567', 'C12345678'],
  hk_macau_permit: ['E12345678', 'C1234567', 'CI1234567'],
  cn_license_plate: ['京I12345', 'AB12345', '京A1234'],
  person_name: ['财政局', '办公室', '华为手机', 'Zhang San', '张', '人力资源和社会保障局', '汉族'],
  address: ['杭州市西湖区人民政府', '浙江省杭州市', '甘肃省建华林业有限公司'],
  geo_coordinate: ['120.15,30.27', '200.123456,30.123456', '120.123456,120.123456'],
  birth_date: ['1990-02-30', '2990-01-01', '1899-12-31', '1990-03-07 12:00:00', '07/03/1990'],
  ethnicity: ['汉', '中国', '男', '群众', '美国'],
  marital_status: ['是', '否', '本科', '结婚证'],
  religion: ['无', '群众', '佛山', '基督教青年会活动中心'],
  health: ['E11.9', '疾病预防控制中心', '健康', '正常', '卫生健康委员会'],
  criminal_record: ['罪', '无', '违法建筑', '有期'],
  financial: ['12345.67', '3.5万元', '1,234,567.00'],
  // Decided per column by the free-text rule, never per value.
  free_text: ['申请人王某，联系电话13800138000，住址杭州市西湖区文三路90号。'],
};

describe('detector table', () => {
  it('declares every detector once, with a valid grade and default mask', () => {
    expect(DETECTORS.map((d) => d.id)).toEqual([...DETECTOR_IDS]);
    for (const d of DETECTORS) {
      expect(isGrade(d.defaultGrade), d.id).toBe(true);
      expect(isMaskRuleId(d.defaultMask), d.id).toBe(true);
      expect(d.minRatioWithHint).toBeLessThanOrEqual(d.minRatio);
      expect(d.minRatioWithHint).toBeGreaterThan(0);
    }
    expect(detectorById('cn_uscc').defaultMask).toBe('none');
    expect(isDetectorId('email')).toBe(true);
    expect(isDetectorId('credit_card')).toBe(false);
  });

  it('matches REFERENCE.md defaults', () => {
    expect(detectorById('cn_resident_id')).toMatchObject({
      defaultGrade: 'g4',
      defaultMask: 'keep_first_last(6,4)',
    });
    expect(detectorById('bank_card')).toMatchObject({ defaultGrade: 'g4', defaultMask: 'bank_last4' });
    expect(detectorById('cn_passport')).toMatchObject({
      defaultGrade: 'g4',
      defaultMask: 'keep_first_last(1,3)',
    });
    expect(detectorById('person_name')).toMatchObject({ defaultGrade: 'g3', defaultMask: 'name_surname' });
    expect(detectorById('cn_uscc')).toMatchObject({ defaultGrade: 'g1', defaultMask: 'none' });
  });

  for (const id of DETECTOR_IDS) {
    it(`${id}: accepts known-good and rejects known-bad values`, () => {
      const d = detectorById(id);
      for (const v of GOOD[id]) expect(d.validate(v), `${id} should accept ${v}`).toBe(true);
      for (const v of BAD[id]) expect(d.validate(v), `${id} should reject ${v}`).toBe(false);
    });
  }

  it('keeps address fragments and single coordinates as weak evidence', () => {
    expect(addressStrength('文三路90号')).toBe(1);
    expect(coordinateStrength('30.274085')).toBe(1);
    expect(coordinateStrength('0.5')).toBe(0);
  });
});

describe('header hints', () => {
  it('splits headers into words', () => {
    expect(headerWords('clientIP')).toEqual(['client', 'ip']);
    expect(headerWords('IDCardNo')).toEqual(['id', 'card', 'no']);
    expect(headerWords('email_verified')).toEqual(['email', 'verified']);
    expect(headerWords('申请人ID_No')).toEqual(['id', 'no']);
  });

  it('matches Chinese and English hints, with exclusions', () => {
    expect(headerHintFor('申请人身份证号', detectorById('cn_resident_id'))).toBe('身份证');
    expect(headerHintFor('idNo', detectorById('cn_resident_id'))).toBe('id_no');
    expect(headerHintFor('ID_CARD', detectorById('cn_resident_id'))).toBe('id_card');
    expect(headerHintFor('姓名', detectorById('person_name'))).toBe('姓名');
    expect(headerHintFor('dept_name', detectorById('person_name'))).toBeNull();
    expect(headerHintFor('单位名称', detectorById('person_name'))).toBeNull();
    expect(headerHintFor('filename', detectorById('person_name'))).toBeNull();
    expect(headerHintFor('hotel', detectorById('cn_landline'))).toBeNull();
    expect(headerHintFor('IP地址', detectorById('address'))).toBeNull();
    expect(headerHintFor('IP地址', detectorById('ipv4'))).toBe('ip地址');
    expect(headerContradicts('app_version', detectorById('ipv4'))).toBe(true);
    expect(headerContradicts('client_ip', detectorById('ipv4'))).toBe(false);
  });
});

describe('grades and default masks', () => {
  it('suggests the detector grade, raised by the resource grade', () => {
    expect(suggestGrade('cn_resident_id')).toBe('g4');
    expect(suggestGrade('cn_uscc')).toBe('g1');
    expect(suggestGrade('cn_uscc', 'g3')).toBe('g3');
    expect(suggestGrade('person_name', 'core')).toBe('core');
    expect(suggestGrade('cn_resident_id', 'g2')).toBe('g4');
    expect(suggestGrade(null)).toBe('unassessed');
    expect(suggestGrade(null, 'g2')).toBe('g2');
  });

  it('chooses the default mask by grade and type', () => {
    expect(defaultMaskFor('g4', 'cn_resident_id')).toBe('keep_first_last(6,4)');
    expect(defaultMaskFor('g3', 'cn_mobile')).toBe('mobile');
    expect(defaultMaskFor('unassessed', 'email')).toBe('email');
    expect(defaultMaskFor('g4', 'cn_uscc')).toBe('none');
    expect(defaultMaskFor('g3', null)).toBe('null');
    expect(defaultMaskFor('important', 'cn_mobile')).toBe('null');
    expect(defaultMaskFor('core', null)).toBe('null');
    expect(defaultMaskFor('g2', 'cn_resident_id')).toBe('none');
    expect(defaultMaskFor('g1', null)).toBe('none');
    // A free-text field: each entity span masked at g3/g4, the rest of the text kept.
    expect(defaultMaskFor('g4', 'free_text')).toBe('redact_spans');
    expect(defaultMaskFor('g3', 'free_text')).toBe('redact_spans');
    expect(defaultMaskFor('unassessed', 'free_text')).toBe('redact_spans');
    expect(defaultMaskFor('important', 'free_text')).toBe('null');
    expect(defaultMaskFor('g2', 'free_text')).toBe('none');
  });
});
