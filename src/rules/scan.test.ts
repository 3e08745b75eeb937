import { describe, expect, it } from 'vitest';
import { makeResidentId } from '../standards/resident-id.ts';
import { cellText, createColumnScanner, hasText, sampleOrdinals, wilsonLower } from './scan.ts';

const ids = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    makeResidentId('330106', `19${50 + (i % 50)}-0${1 + (i % 9)}-1${i % 10}`, i),
  );
const mobiles = (n: number) =>
  Array.from({ length: n }, (_, i) => `13${i % 10}${String(10_000_000 + i * 7919).slice(-8)}`);
const NAMES =
  '张伟 王芳 李娜 刘洋 陈静 杨磊 赵敏 黄勇 周杰 吴霞 徐涛 孙丽 马超 朱婷 胡斌 郭强 何平 高洁 林峰 罗琳'.split(
    ' ',
  );
const names = (n: number) =>
  Array.from(
    { length: n },
    (_, i) => NAMES[i % NAMES.length]! + '一二三四五六七八九十'[Math.floor(i / NAMES.length) % 10],
  );

function scan(header: string[], rows: unknown[][], options = {}) {
  const scanner = createColumnScanner(header, options);
  for (const row of rows) scanner.add(row);
  return scanner.result();
}

describe('column scanner', () => {
  it('judges values, not headers: email_verified with booleans is not an email column', () => {
    const [col] = scan(
      ['email_verified'],
      Array.from({ length: 50 }, (_, i) => [i % 3 ? 'true' : 'false']),
    );
    expect(col).toMatchObject({ name: 'email_verified', type: null, ratio: 0, nonEmpty: 50 });
    expect(col!.evidence.headerHint).toBe('email');
  });

  it('judges values, not headers: 编号 holding ID numbers is an ID column', () => {
    const [col] = scan(
      ['编号'],
      ids(40).map((v) => [v]),
    );
    expect(col).toMatchObject({ type: 'cn_resident_id', grade: 'g4', ratio: 1, nonEmpty: 40 });
    expect(col!.evidence.headerHint).toBeNull();
    expect(col!.evidence.samples).toHaveLength(5);
    for (const s of col!.evidence.samples) expect(s).toMatch(/^330106\*{8}\d{3}[\dX]$/);
  });

  it('judges blank-heavy columns on their non-empty values', () => {
    const values = mobiles(20);
    const rows = Array.from({ length: 400 }, (_, i) => [i % 20 === 0 ? values[i / 20] : i % 3 ? '' : null]);
    const [col] = scan(['字段9'], rows);
    expect(col).toMatchObject({ type: 'cn_mobile', nonEmpty: 20, ratio: 1 });
  });

  it('treats placeholders as empty', () => {
    const rows = [...ids(30).map((v) => [v]), ['无'], ['不详'], ['-'], ['NULL'], ['  '], [undefined]];
    const [col] = scan(['身份证号'], rows);
    expect(col).toMatchObject({ type: 'cn_resident_id', nonEmpty: 30, ratio: 1 });
    expect(cellText(' 13812345678 ')).toBe('13812345678');
    expect(cellText('N/A')).toBeNull();
    expect(cellText(Number.NaN)).toBeNull();
    expect(cellText(13812345678)).toBe('13812345678');
    expect(cellText(new Date('1990-03-07T00:00:00Z'))).toBe('1990-03-07');
  });

  it('tells non-empty values exactly as cellText does, without building their text', () => {
    const values: unknown[] = [null, undefined, '', 0, Number.NaN, 1.5, 10n, false, new Date(Number.NaN), {}];
    for (const p of ['-', 'N/A', 'null', '暂无', '（空）', 'abc', '西湖区'])
      values.push(p, ` ${p}\t`, `${p}\u3000`);
    // Every character of the basic plane before, after and around text long enough to skip the
    // placeholder check, and alone.
    for (let c = 0; c <= 0xffff; c++) {
      const ch = String.fromCharCode(c);
      values.push(ch, `${ch}abcdef`, `abcdef${ch}`, `${ch}${ch}${ch}${ch}${ch}${ch}`, `${ch}ab${ch}`);
    }
    const differ = values.filter((v) => hasText(v) !== (cellText(v) !== null));
    expect(
      differ.map((v) => (typeof v === 'string' ? [...v].map((c) => c.codePointAt(0)) : String(v))),
    ).toEqual([]);
  });

  it('needs fewer valid values under a supporting header, but some', () => {
    const mixed = ids(30).map((v, i) => [i % 3 === 0 ? '见附件' : v]); // two thirds valid
    expect(scan(['身份证号'], mixed)[0]!.type).toBe('cn_resident_id');
    expect(scan(['字段1'], mixed)[0]!.type).toBeNull();
    const junk = Array.from({ length: 30 }, () => ['见附件']);
    expect(scan(['身份证号'], junk)[0]).toMatchObject({ type: null, evidence: { headerHint: '身份证' } });
  });

  it('scans several columns per row, with short rows', () => {
    const rows = ids(40).map((id, i) => (i % 2 ? [id, names(40)[i], mobiles(40)[i]] : [id, names(40)[i]]));
    const result = scan(['sfzh', '姓名', '手机号'], rows);
    expect(result.map((c) => c.type)).toEqual(['cn_resident_id', 'person_name', 'cn_mobile']);
    expect(result[2]!.nonEmpty).toBe(20);
    expect(result[1]!.evidence.samples[0]).toMatch(/^[\u4e00-\u9fff]\*+$/);
  });

  it('accepts numbers, bigints and dates as values', () => {
    const rows = Array.from({ length: 30 }, (_, i) => [
      13_800_000_000 + i * 1_234_567,
      new Date(Date.UTC(1950 + i, i % 12, 1 + i)),
    ]);
    const result = scan(['联系电话', '出生日期'], rows);
    expect(result.map((c) => c.type)).toEqual(['cn_mobile', 'birth_date']);
  });

  it('does not call a date column a birth date column without a header, unless it looks like a population', () => {
    const recent = Array.from({ length: 60 }, (_, i) => [`20${15 + (i % 10)}-0${1 + (i % 9)}-1${i % 10}`]);
    expect(scan(['日期'], recent)[0]!.type).toBeNull();
    expect(scan(['出生日期'], recent)[0]!.type).toBe('birth_date');
    const population = Array.from({ length: 60 }, (_, i) => [`19${40 + i}-0${1 + (i % 9)}-1${i % 10}`]);
    expect(scan(['日期'], population)[0]!.type).toBe('birth_date');
  });

  it('counts weak shapes only under a supporting header', () => {
    const longitudes = Array.from({ length: 40 }, (_, i) => [(100 + i * 0.731).toFixed(6)]);
    const [col] = scan(['经度'], longitudes);
    expect(col).toMatchObject({ type: 'geo_coordinate', ratio: 1, evidence: { headerHint: '经度' } });
    expect(col!.evidence.samples[0]).toBe('100.00');
    expect(scan(['得分'], longitudes)[0]!.type).toBeNull();
    const fragments = Array.from({ length: 40 }, (_, i) => [`文三路${i + 1}号`]);
    expect(scan(['家庭住址'], fragments)[0]!.type).toBe('address');
    expect(scan(['字段1'], fragments)[0]!.type).toBeNull();
  });

  it('lets a header speak against shapes values cannot separate', () => {
    const versions = Array.from({ length: 40 }, (_, i) => [`${1 + (i % 9)}.${i % 7}.${i}.${i * 3}`]);
    expect(scan(['固件版本'], versions)[0]!.type).toBeNull();
    expect(scan(['登录IP'], versions)[0]!.type).toBe('ipv4');
    const amounts = mobiles(40).map((v) => [v]);
    expect(scan(['金额（分）'], amounts)[0]!.type).toBeNull();
  });

  it('does not call categorical columns names', () => {
    const status = Array.from({ length: 100 }, (_, i) => [['党员', '群众', '高中', '白族'][i % 4]]);
    expect(scan(['字段2'], status)[0]!.type).toBeNull();
    expect(
      scan(
        ['字段2'],
        names(100).map((n) => [n]),
      )[0]!.type,
    ).toBe('person_name');
  });

  it('is more confident with more values and with a header', () => {
    const few = scan(
      ['字段1'],
      ids(5).map((v) => [v]),
    )[0]!;
    const many = scan(
      ['字段1'],
      ids(200).map((v) => [v]),
    )[0]!;
    const hinted = scan(
      ['身份证号'],
      ids(5).map((v) => [v]),
    )[0]!;
    expect(few.confidence).toBeLessThan(many.confidence);
    expect(few.confidence).toBeLessThan(hinted.confidence);
    for (const c of [few, many, hinted]) expect(c.confidence).toBeGreaterThan(0);
    expect(many.confidence).toBeLessThanOrEqual(1);
    expect(wilsonLower(0, 0)).toBe(0);
    expect(wilsonLower(10, 10)).toBeGreaterThan(0.69);
  });

  it('raises field grades to the resource grade', () => {
    const rows = ids(20).map((v, i) => [
      v,
      `状态${i % 2}`,
      makeResidentId('110101', '1990-01-01', 1).slice(0, 0) || 'x',
    ]);
    const plain = scan(['身份证号', '状态', '备注'], rows);
    expect(plain.map((c) => c.grade)).toEqual(['g4', 'unassessed', 'unassessed']);
    const important = scan(['身份证号', '状态', '备注'], rows, { resourceGrade: 'important' });
    expect(important.map((c) => c.grade)).toEqual(['important', 'important', 'important']);
  });

  it('answers from a reservoir sample above the full-scan size, with bounded work', () => {
    const options = { fullScanRows: 1_000, sampleRows: 300, seed: 7 };
    const scanner = createColumnScanner(['a', 'b'], options);
    const idList = ids(500);
    for (let i = 0; i < 20_000; i++) scanner.add([idList[i % 500], i % 10 === 0 ? '' : `备注${i}`]);
    expect(scanner.sampled).toBe(true);
    expect(scanner.rows).toBe(20_000);
    const [a, b] = scanner.result();
    expect(a).toMatchObject({ type: 'cn_resident_id', ratio: 1, nonEmpty: 20_000 });
    expect(b).toMatchObject({ type: null, nonEmpty: 18_000 });
    // The same input and seed give the same answer.
    const again = createColumnScanner(['a', 'b'], options);
    for (let i = 0; i < 20_000; i++) again.add([idList[i % 500], i % 10 === 0 ? '' : `备注${i}`]);
    expect(again.result()).toEqual(scanner.result());
  });

  it('estimates the ratio from the sample', () => {
    const scanner = createColumnScanner(['证件号码'], { fullScanRows: 2_000, sampleRows: 2_000, seed: 3 });
    const idList = ids(100);
    for (let i = 0; i < 50_000; i++) scanner.add([i % 4 === 0 ? `X${i}` : idList[i % 100]]);
    const [col] = scanner.result();
    expect(col!.type).toBe('cn_resident_id');
    expect(col!.ratio).toBeGreaterThan(0.72);
    expect(col!.ratio).toBeLessThan(0.78);
  });
});

describe('sampleOrdinals', () => {
  it('reads every row of a table within the full-scan size', () => {
    expect(sampleOrdinals(200_000)).toBeNull();
    expect(sampleOrdinals(100, { fullScanRows: 100, sampleRows: 10 })).toBeNull();
  });

  it('draws sampleRows distinct rows of 1..rows, in order, the same for the same seed', () => {
    const drawn = sampleOrdinals(1_000, { fullScanRows: 100, sampleRows: 200 })!;
    expect(drawn).toHaveLength(200);
    expect(new Set(drawn).size).toBe(200);
    expect(drawn).toEqual([...drawn].sort((a, b) => a - b));
    expect(drawn[0]).toBeGreaterThanOrEqual(1);
    expect(drawn.at(-1)).toBeLessThanOrEqual(1_000);
    expect(sampleOrdinals(1_000, { fullScanRows: 100, sampleRows: 200 })).toEqual(drawn);
    expect(sampleOrdinals(1_000, { fullScanRows: 100, sampleRows: 200, seed: 7 })).not.toEqual(drawn);
  });

  it('is uniform: each tenth of the table gets about a tenth of the sample', () => {
    const drawn = sampleOrdinals(1_000_000, { fullScanRows: 0, sampleRows: 20_000 })!;
    const tenths = new Array<number>(10).fill(0);
    for (const r of drawn) tenths[Math.floor((r - 1) / 100_000)]!++;
    for (const n of tenths) expect(Math.abs(n - 2_000)).toBeLessThan(250);
  });
});
