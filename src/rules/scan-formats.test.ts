import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { luhnCheckDigit } from '../standards/luhn.ts';
import { makeLegacyResidentId, makeResidentId } from '../standards/resident-id.ts';
import { normaliseCell, toHalfWidth, ungroup } from './formats.ts';
import { createColumnScanner, isSerialHeader } from './scan.ts';

function scan(header: string, values: readonly unknown[]) {
  const scanner = createColumnScanner([header]);
  for (const v of values) scanner.add([v]);
  return scanner.result()[0]!;
}

const id18 = (i: number) =>
  makeResidentId('330106', `19${50 + (i % 40)}-0${1 + (i % 9)}-1${i % 10}`, (i * 37) % 1000);
const id15 = (i: number) =>
  makeLegacyResidentId('330106', `19${50 + (i % 40)}-0${1 + (i % 9)}-2${i % 8}`, i % 1000);
const mobile = (i: number) =>
  `13${(i * 7) % 10}${String(10_000_000 + ((i * 7_919_993) % 89_999_999)).slice(-8)}`;
const FULL = '０１２３４５６７８９';
const fullWidth = (v: string) => v.replace(/[0-9]/g, (d) => FULL[Number(d)]!);

describe('cell normalisation', () => {
  it('undoes Excel text markers, formula text and full-width characters', () => {
    expect(normaliseCell("'330106198503121234")).toEqual({ text: '330106198503121234', bits: 1 });
    expect(normaliseCell('="05718765432"')).toEqual({ text: '05718765432', bits: 2 });
    expect(normaliseCell('１３８００１３８０００')).toEqual({ text: '13800138000', bits: 4 });
    expect(normaliseCell('（0571）87654321').text).toBe('(0571)87654321');
    expect(normaliseCell('plain')).toEqual({ text: 'plain', bits: 0 });
    expect(toHalfWidth('Ａｂ　１')).toBe('Ab 1');
    expect(ungroup('330106 19850312 1234')).toBe('330106198503121234');
    expect(ungroup('3301_06')).toBeUndefined();
    expect(ungroup('33  01')).toBeUndefined();
  });
});

describe('accepted formats: a column counts values valid in any accepted format', () => {
  it('resident IDs: 15-digit legacy, grouped, Excel marker, lower-case x, full width, numeric cells', () => {
    const values: unknown[] = [];
    for (let i = 0; i < 60; i++) {
      const v = id18(i);
      const k = i % 7;
      if (k === 0) values.push(id15(i));
      else if (k === 1) values.push(`${v.slice(0, 6)} ${v.slice(6, 14)} ${v.slice(14)}`);
      else if (k === 2) values.push(`'${v}`);
      else if (k === 3) values.push(v.toLowerCase());
      else if (k === 4) values.push(fullWidth(v));
      else if (k === 5) values.push(Number(id15(i)));
      else values.push(v);
    }
    const col = scan('字段1', values);
    expect(col.type).toBe('cn_resident_id');
    const lowerX = values.filter((v) => typeof v === 'string' && v.endsWith('x')).length;
    // Every value validates in some format (the lower-case x ones only when the check is X).
    expect(col.ratio).toBe(1);
    expect(col.evidence.formats).toMatchObject({ legacy_15: expect.any(Number), grouped: 9, excel_text: 9 });
    expect(col.evidence.formats!.full_width).toBeGreaterThanOrEqual(8);
    expect(lowerX).toBeGreaterThanOrEqual(0);
  });

  it('mobiles: separators, +86/0086, numeric cells, full width', () => {
    const values = Array.from({ length: 50 }, (_, i) => {
      const m = mobile(i);
      return [
        m,
        `${m.slice(0, 3)}-${m.slice(3, 7)}-${m.slice(7)}`,
        `+86 ${m}`,
        `0086${m}`,
        Number(m),
        fullWidth(m),
        `="${m}"`,
      ][i % 7];
    });
    const col = scan('value', values);
    expect(col).toMatchObject({ type: 'cn_mobile', ratio: 1 });
    expect(Object.keys(col.evidence.formats!).sort()).toEqual(
      ['country_prefix', 'excel_formula', 'full_width', 'grouped'].sort(),
    );
  });

  it('landlines with the area code in brackets (also full-width) and extensions', () => {
    const values = Array.from({ length: 40 }, (_, i) => {
      const local = `8${String(7_654_321 + i * 13).slice(-7)}`;
      return [`(0571)${local}`, `（0571）${local}`, `0571-${local}-${100 + i}`, `0571-${local}转${i + 1}`][
        i % 4
      ];
    });
    const col = scan('col_3', values);
    expect(col).toMatchObject({ type: 'cn_landline', ratio: 1 });
    expect(col.evidence.formats).toMatchObject({ area_brackets: 20, extension: 20, full_width: 10 });
  });

  it('bank cards in groups of four and plates with a middle dot', () => {
    const cards = Array.from({ length: 30 }, (_, i) => {
      const partial = `62220212345${String((i * 7919) % 10_000).padStart(4, '0')}`;
      const card = partial + luhnCheckDigit(partial);
      return i % 2 ? card.replace(/(\d{4})(?=\d)/g, '$1 ') : card;
    });
    expect(scan('attr', cards)).toMatchObject({ type: 'bank_card', ratio: 1 });
    // Numbers in groups contain spaces but are no sentences: the column is not free text.
    const grouped = Array.from({ length: 30 }, (_, i) => id18(i).replace(/^(\d{6})(\d{8})/, '$1 $2 '));
    const ids = scan('attr', grouped);
    expect(ids).toMatchObject({ type: 'cn_resident_id', ratio: 1 });
    expect(ids.evidence.freeText).toBeUndefined();
    const landlines = Array.from(
      { length: 30 },
      (_, i) => `(0571) 8${String(1_000_000 + i * 7919).slice(-7)}`,
    );
    expect(scan('attr', landlines).evidence.freeText).toBeUndefined();
    const plates = Array.from(
      { length: 30 },
      (_, i) => `浙A${i % 2 ? '·' : ''}${String(10_000 + ((i * 7919) % 89_999)).slice(-5)}`,
    );
    expect(scan('attr', plates)).toMatchObject({ type: 'cn_license_plate', ratio: 1 });
  });

  it('counts an 18-digit number that a numeric cell rounded only under a header', () => {
    const rounded = Array.from({ length: 40 }, (_, i) => id18(i))
      .filter((v) => !v.endsWith('X'))
      .map((v) => String(Number(v)));
    expect(rounded.every((v) => v.endsWith('0'))).toBe(true);
    expect(scan('身份证号', rounded).type).toBe('cn_resident_id');
    expect(scan('value', rounded).type).toBeNull();
  });

  it('a minority of messy values never switches a column off (property)', () => {
    const messy = fc.constantFrom<(v: string) => string>(
      (v) => `'${v}`,
      (v) => `="${v}"`,
      fullWidth,
      (v) => `${v.slice(0, 6)} ${v.slice(6, 14)} ${v.slice(14)}`,
      (v) => `${v.slice(0, 6)}-${v.slice(6, 14)}-${v.slice(14)}`,
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 20, max: 80 }),
        fc.array(fc.tuple(fc.nat(79), messy), { maxLength: 39 }),
        (n, edits) => {
          const values = Array.from({ length: n }, (_, i) => id18(i));
          for (const [at, f] of edits) if (at < n && edits.length < n / 2) values[at] = f(id18(at));
          const col = scan('编码', values);
          expect(col.type).toBe('cn_resident_id');
          expect(col.ratio).toBe(1);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('shape rules', () => {
  const counter = (start: number, step: (i: number) => number, n = 60) => {
    let x = start;
    return Array.from({ length: n }, (_, i) => {
      x += step(i);
      return String(x);
    });
  };

  it('serial_header: strictly increasing 11-digit numbers starting 139 under 流水号 are not mobiles', () => {
    const values = counter(13_912_345_678, (i) => 1 + ((i * 7919) % 4000));
    const col = scan('流水号', values);
    expect(col.type).toBeNull();
    expect(col.evidence.rules).toContain('serial_header:cn_mobile');
    // The same values in another order are mobiles: the header alone decides nothing.
    const shuffled = [...values].sort((a, b) => (a.slice(-3) < b.slice(-3) ? -1 : 1));
    expect(scan('流水号', shuffled).type).toBe('cn_mobile');
  });

  it('sequence: a dense increasing run is not a population of numbers, whatever the header', () => {
    const col = scan(
      'value',
      counter(13_800_000_000, () => 1),
    );
    expect(col.type).toBeNull();
    expect(col.evidence.rules).toContain('sequence:cn_mobile');
    expect(col.evidence.shape).toMatchObject({
      monotonic: 1,
      meanGap: 1,
      unique: 1,
      minLength: 11,
      maxLength: 11,
    });
  });

  it('serial_header_confidence: ID numbers under 编号 are still IDs, with lower confidence', () => {
    const ids = Array.from({ length: 60 }, (_, i) => id18(i * 13));
    const under = scan('编号', ids);
    const plain = scan('字段', ids);
    expect(under.type).toBe('cn_resident_id');
    expect(plain.type).toBe('cn_resident_id');
    expect(under.confidence).toBeLessThan(plain.confidence);
    expect(under.evidence.rules).toEqual(['serial_header_confidence:cn_resident_id']);
  });

  it('sorted mobiles spanning the numbering plan are no sequence', () => {
    const sorted = Array.from({ length: 200 }, (_, i) => mobile(i)).sort();
    expect(scan('value', sorted).type).toBe('cn_mobile');
  });

  it('recognises serial headers', () => {
    for (const h of ['流水号', '单据编号', '序号', '业务单号', '批次', 'serial_no', 'seqNo', 'batch'])
      expect(isSerialHeader(h), h).toBe(true);
    for (const h of ['手机号', 'mobile', 'phone_number', '联系电话'])
      expect(isSerialHeader(h), h).toBe(false);
  });
});

describe('sensitive categories', () => {
  const many = (values: readonly string[], n = 40) =>
    Array.from({ length: n }, (_, i) => values[i % values.length]!);
  it.each([
    ['民族', ['汉族', '汉族', '回族', '维吾尔族'], 'ethnicity'],
    ['col', ['汉族', '汉族', '满族', '蒙古族'], 'ethnicity'],
    ['婚姻状况', ['未婚', '已婚', '离异', '丧偶'], 'marital_status'],
    ['宗教信仰', ['无宗教信仰', '佛教', '伊斯兰教'], 'religion'],
    ['f1', ['2型糖尿病', '原发性高血压', '社区获得性肺炎'], 'health'],
    ['疫苗', ['乙肝疫苗第1剂', '麻腮风疫苗', '流感疫苗'], 'health'],
    ['诊断编码', ['I10', 'E11.9', 'J18.9', 'K29.5'], 'health'],
    ['犯罪记录', ['无犯罪记录', '无犯罪记录', '盗窃罪', '因诈骗罪判处有期徒刑三年'], 'criminal_record'],
    ['账户余额', ['1234.50', '0.00', '88,000.00', '12'], 'financial'],
    ['月收入', ['8000', '12000.5', '6500'], 'financial'],
  ] as const)('%s %j → %s, graded g4 and suppressed', (header, values, type) => {
    const col = scan(header, many(values));
    expect(col.type).toBe(type);
    expect(col.grade).toBe('g4');
    expect(col.evidence.basis).toBeTruthy();
  });

  it.each([
    ['value', ['I10', 'E11.9', 'J18.9']],
    ['金额', ['1234.50', '88.00']],
    ['score', ['0.5', '12']],
    ['名称', ['疾病预防控制中心', '卫生健康委员会']],
    ['result', ['是', '否']],
  ] as const)('%s %j → no category', (header, values) => {
    expect(scan(header, many(values)).type).toBeNull();
  });
});

describe('free-text columns', () => {
  const remarks = (n: number) =>
    Array.from({ length: n }, (_, i) =>
      i % 3 === 0
        ? `申请人王${'伟芳娜敏静'[i % 5]}，联系电话${mobile(i)}，住址杭州市西湖区文三路${i + 1}号。`
        : i % 3 === 1
          ? '材料齐全，同意受理，转交属地街道处理。'
          : `当事人李${'强磊军'[i % 3]}（身份证号${id18(i)}）申请补办。`,
    );

  it('finds entities inside sentences, reports them with counts, typed by the most sensitive', () => {
    const col = scan('备注', remarks(30));
    expect(col.type).toBe('cn_resident_id');
    expect(col.grade).toBe('g4');
    expect(col.evidence.freeText).toEqual({
      entities: { cn_resident_id: 10, cn_mobile: 10, person_name: 20, address: 10 },
      valuesWithEntities: 20,
      mask: 'redact_spans',
    });
    // Samples are masked span by span.
    expect(col.evidence.samples[0]).toMatch(
      /^申请人王\*\*，联系电话13\d\*{4}\d{4}，住址杭州市西湖区\*{4}。$/,
    );
    for (const s of col.evidence.samples) expect(s).not.toMatch(/\d{11}/);
  });

  it('a sentence column with an address inside is free text, not an address column', () => {
    const values = Array.from(
      { length: 20 },
      (_, i) => `现场核查地点：浙江省杭州市西湖区文三路${i + 1}号，情况属实。`,
    );
    const col = scan('情况说明', values);
    expect(col.type).toBe('address');
    expect(col.evidence.freeText?.mask).toBe('redact_spans');
  });

  it('sentences without entities, and one stray number, are no free-text finding', () => {
    expect(
      scan(
        '备注',
        remarks(30).filter((_, i) => i % 3 === 1),
      ).type,
    ).toBeNull();
    const one = [
      ...Array.from({ length: 20 }, () => '材料齐全，同意受理。'),
      `联系电话${mobile(1)}，请回电。`,
    ];
    expect(scan('备注', one).type).toBeNull();
    const numbers = Array.from(
      { length: 20 },
      (_, i) => `根据2023年第${i + 1}号文件，补贴标准为每人每月1200元。`,
    );
    expect(scan('备注', numbers).type).toBeNull();
  });
});
