import { PGlite } from '@electric-sql/pglite';
import { pgcrypto } from '@electric-sql/pglite/contrib/pgcrypto';
import fc from 'fast-check';
import { type RawBuilder, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offlineCompiler } from '../core/sql-compiler.ts';
import {
  applyMask,
  derivePseudonymKey,
  describeMaskRule,
  isAtLeastAsStrict,
  isMaskRuleId,
  MASK_FAMILIES,
  type MaskContext,
  maskSql,
  maskSqlExpression,
  parseMaskRule,
  pseudonymSqlProbe,
  roundDecimal2,
  strictnessLevel,
} from './masking.ts';

// Kysely is used only to compile; the statements run on PGlite directly.
const compiler = offlineCompiler;

let pg: PGlite;

beforeAll(async () => {
  pg = new PGlite({ extensions: { pgcrypto } });
  await pg.exec('CREATE EXTENSION IF NOT EXISTS pgcrypto');
});

afterAll(async () => {
  await pg.close();
});

async function runSql(expression: RawBuilder<string | null>, values: readonly (string | null)[]) {
  const query = sql<{ m: string | null }>`SELECT ${expression} AS m
    FROM unnest(${values}::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i`.compile(compiler);
  const result = await pg.query<{ m: string | null }>(query.sql, [...query.parameters]);
  return result.rows.map((r) => r.m);
}

async function sqlMask(rule: string, values: readonly (string | null)[], context: MaskContext = {}) {
  return runSql(maskSql(rule, 't.v', context), values);
}

// PostgreSQL text cannot hold NUL; everything else is fair game.
const anyText = fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\u0000'));
const digits = (min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });
const pick = (alphabet: string, max: number) =>
  fc.string({ unit: fc.constantFrom(...Array.from(alphabet)), maxLength: max });

const SHAPED: Record<string, fc.Arbitrary<string>> = {
  keep_first_last: fc.oneof(digits(0, 20), pick('张欧阳王😀x', 8)),
  mobile: fc.oneof(
    fc
      .tuple(fc.constantFrom('', '+86', '86', '0086', '+86 '), digits(11, 11))
      .map(([p, d]) => `${p}1${d.slice(1)}`),
    pick('0123456789+- ', 16),
  ),
  landline: fc.oneof(
    fc
      .tuple(fc.constantFrom('010-', '021', '(0571)', '0755 ', '+86 571 ', '0086-10-', '86'), digits(7, 9))
      .map(([a, d]) => a + d),
    pick('0123456789+-() 转', 16),
  ),
  name_surname: fc.oneof(
    pick('张王欧阳司马上官李四五𠀀', 5),
    fc.constantFrom('欧阳', '欧阳修', '司马相如', '张'),
  ),
  bank_card: digits(0, 20),
  year_only: fc.oneof(
    fc.date({ noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
    pick('0123456789-/年月日', 12),
  ),
  district_only: fc.oneof(
    pick('省市区县旗州盟自治地北京上海天津重庆浙江杭州西湖朝阳路号1A内蒙古广西壮族', 30),
    fc.constantFrom(
      '浙江省杭州市西湖区文三路90号',
      '北京市朝阳区建国路88号',
      '广东省东莞市东城街道莞城路1号',
      '新疆维吾尔自治区阿克苏地区阿克苏市人民路2号',
      '吉林省延边朝鲜族自治州延吉市河南街道3号',
      '内蒙古自治区呼和浩特市新城区中山路5号',
      '山东省济南市市中区经七路9号',
      '湖南省永州市道县濂溪路1号',
    ),
  ),
  email: fc.oneof(fc.emailAddress(), pick('a@b.中x', 10)),
  plate: fc.oneof(
    fc
      .tuple(pick('京沪粤', 1), pick('ABCD', 1), fc.constantFrom('', '·', ' ', '-'), pick('0123456789DF', 6))
      .map((p) => p.join('')),
    pick('京A·-1 ', 10),
  ),
  ip_prefix: fc.oneof(
    fc.ipV4(),
    fc.ipV6(),
    fc.ipV4Extended(),
    pick('0123456789abcdefABCDEF:.', 24),
    fc.constantFrom('::', '::1', '1::', '::ffff:1.2.3.4', '1::2:3:4:5:6:7', 'fe80::1%eth0', ':::', '1:2'),
  ),
  round_coord: fc.oneof(
    fc
      .tuple(fc.double({ min: -180, max: 180, noNaN: true }), fc.double({ min: -90, max: 90, noNaN: true }))
      .map(([a, b]) => `${a.toFixed(6)},${b.toFixed(6)}`),
    fc.double({ min: -180, max: 180, noNaN: true }).map((a) => a.toFixed(7)),
    pick('0123456789.-+,， ;', 20),
    fc.constantFrom('-0.004', '-0.005', '0.005', '+1.995', '007.5', '179.999', '-0.00,-0.0049'),
  ),
  pseudonym: anyText,
  redact_spans: fc
    .array(
      fc.oneof(
        pick(
          '申请人联系当事户主患者姓名先生女士王李张欧阳明小为是：:，。 区县市镇路号栋幢室单元楼层杭州西湖文三',
          6,
        ),
        digits(1, 19),
        fc.constantFrom(
          '13800138000',
          '+8613912345678',
          '138-0013-8000',
          '0571-87654321',
          '010 62345678',
          '330106198503121234',
          '33010619850312123X',
          '330106850312123',
          '6222021234567890123',
          'zhang.san@example.com',
          'a@b.c',
          '申请人王某某',
          '联系人：欧阳娜娜',
          '王先生',
          '李小明女士',
          '杭州市西湖区文三路90号3幢2单元',
          '市场监督管理局3号',
          '-',
          ' ',
          '@',
          '+',
          'X',
        ),
        anyText,
      ),
      { maxLength: 12 },
    )
    .map((parts) => parts.join('')),
};

const RULES_UNDER_TEST: [rule: string, shaped: fc.Arbitrary<string>][] = [
  ['none', anyText],
  ['null', anyText],
  ['keep_first_last(6,4)', SHAPED.keep_first_last!],
  ['keep_first_last(1,3)', SHAPED.keep_first_last!],
  ['keep_first_last(0,0)', SHAPED.keep_first_last!],
  ['mobile', SHAPED.mobile!],
  ['landline', SHAPED.landline!],
  ['name_surname', SHAPED.name_surname!],
  ['bank_last4', SHAPED.bank_card!],
  ['year_only', SHAPED.year_only!],
  ['district_only', SHAPED.district_only!],
  ['email', SHAPED.email!],
  ['plate', SHAPED.plate!],
  ['ip_prefix', SHAPED.ip_prefix!],
  ['round_coord', SHAPED.round_coord!],
  ['pseudonym', SHAPED.pseudonym!],
  ['redact_spans', SHAPED.redact_spans!],
];

const KEY = derivePseudonymKey('test master secret', 'contract-1');

describe('masking rules: JavaScript and SQL give the same output', () => {
  it('covers every declared rule family', () => {
    const tested = new Set(RULES_UNDER_TEST.map(([r]) => parseMaskRule(r).family));
    expect(MASK_FAMILIES.map((f) => f.family).filter((f) => !tested.has(f))).toEqual([]);
  });

  for (const [rule, shaped] of RULES_UNDER_TEST) {
    it(`${rule}`, async () => {
      const value = fc.oneof(
        { weight: 3, arbitrary: shaped },
        { weight: 1, arbitrary: anyText },
        fc.constant(null),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(value, { minLength: 1, maxLength: 120 }), async (values) => {
          const expected = values.map((v) => applyMask(rule, v, { pseudonymKey: KEY }));
          expect(await sqlMask(rule, values, { pseudonymKey: KEY })).toEqual(expected);
        }),
        { numRuns: Number(process.env.MASK_RUNS ?? 25) },
      );
    });
  }

  it('keep_first_last with any arguments', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(8),
        fc.nat(8),
        fc.array(fc.oneof(anyText, fc.constant(null)), { minLength: 1, maxLength: 40 }),
        async (m, n, values) => {
          const rule = `keep_first_last(${m},${n})`;
          expect(await sqlMask(rule, values)).toEqual(values.map((v) => applyMask(rule, v)));
        },
      ),
      { numRuns: 20 },
    );
  });

  it('masks non-text columns through their text form', async () => {
    const query = sql<{
      m: string | null;
    }>`SELECT ${maskSqlExpression('year_only', sql`DATE '1987-06-05'`)} AS m`.compile(compiler);
    const { rows } = await pg.query<{ m: string }>(query.sql, [...query.parameters]);
    expect(rows[0]!.m).toBe('1987');
  });

  it('keeps the column type when not masking', async () => {
    const query = sql<{ m: number }>`SELECT ${maskSqlExpression('none', sql`42`)} AS m`.compile(compiler);
    const { rows } = await pg.query<{ m: number }>(query.sql, [...query.parameters]);
    expect(rows[0]!.m).toBe(42);
  });

  it('offers a probe for HMAC-SM3 support in the database', async () => {
    const probe = pseudonymSqlProbe();
    const query = probe.query.compile(compiler);
    const { rows } = await pg.query<{ h: string }>(query.sql, [...query.parameters]);
    expect(rows[0]!.h).toBe(probe.expected);
  });

  it('passes values and keys as parameters, never inside the SQL text', () => {
    const query = sql`SELECT ${maskSql('pseudonym', 'phone', { pseudonymKey: KEY })}`.compile(compiler);
    expect(query.sql).not.toContain(KEY.toString('hex'));
    expect(query.parameters).toContain(KEY.toString('hex'));
    expect(query.sql).toContain('"phone"');
  });
});

describe('masking rules: documented outputs', () => {
  const cases: [string, string, string | null][] = [
    ['keep_first_last(6,4)', '110101199003071234', '110101********1234'],
    ['keep_first_last(6,4)', '11010119900307', '110101****0307'],
    ['keep_first_last(6,4)', '12345', '*****'],
    ['keep_first_last(1,3)', 'E12345678', 'E*****678'],
    ['mobile', '13812345678', '138****5678'],
    ['mobile', '+86 138-1234-5678', '138****5678'],
    ['mobile', '12345', '***'],
    ['landline', '010-62345678', '010-******78'],
    ['landline', '(0571)8888888', '0571-*****88'],
    ['landline', '+86 755 88888888', '0755-******88'],
    ['name_surname', '张三丰', '张**'],
    ['name_surname', '欧阳修', '欧阳*'],
    ['name_surname', '欧阳', '欧*'],
    ['name_surname', '张', '*'],
    ['bank_last4', '6222 0212 3456 7890', '************7890'],
    ['year_only', '1990-03-07', '1990'],
    ['year_only', '1990年3月7日', '1990'],
    ['year_only', '07/03/1990', '***'],
    ['district_only', '浙江省杭州市西湖区文三路90号', '浙江省杭州市西湖区'],
    ['district_only', '北京市朝阳区建国路88号院3号楼', '北京市朝阳区'],
    ['district_only', '江苏省苏州市昆山市玉山镇人民路1号', '江苏省苏州市昆山市'],
    ['district_only', '广东省东莞市东城街道莞城路1号', '广东省东莞市'],
    ['district_only', '新疆维吾尔自治区阿克苏地区阿克苏市人民路2号', '新疆维吾尔自治区阿克苏地区阿克苏市'],
    ['district_only', '文三路90号', '***'],
    ['email', 'zhangsan@example.com', 'z***@example.com'],
    ['email', 'true', '***'],
    ['plate', '京A12345', '京A****5'],
    ['plate', '粤B·D12345', '粤B*****5'],
    ['ip_prefix', '192.168.10.20', '192.168.*.*'],
    ['ip_prefix', '2001:0db8:85a3:0000:0000:8a2e:0370:7334', '2001:db8:85a3::'],
    ['ip_prefix', '2001:db8::1', '2001:db8:0::'],
    ['ip_prefix', '1::2:3:4:5:6:7', '1:0:2::'],
    ['round_coord', '120.155070,30.274085', '120.16,30.27'],
    ['round_coord', '-0.004', '0.00'],
    ['round_coord', '30.275', '30.28'],
    ['null', '13812345678', null],
    ['none', '13812345678', '13812345678'],
    [
      'redact_spans',
      '申请人王某某，联系电话13800138000，住址杭州市西湖区文三路90号3幢。',
      '申请人王**，联系电话138****8000，住址杭州市西湖区****。',
    ],
    ['redact_spans', '请李先生致电0571-87654321', '请李**先生致电057-******21'],
    [
      'redact_spans',
      '身份证330106198503121234，邮箱zhang.san@example.com',
      '身份证330106********1234，邮箱z***@example.com',
    ],
    ['redact_spans', '材料齐全，同意受理', '材料齐全，同意受理'],
  ];
  it.each(cases)('%s(%s) = %s', (rule, value, expected) => {
    expect(applyMask(rule, value)).toBe(expected);
  });

  it('says a rule in words with its parameters', () => {
    expect(describeMaskRule('keep_first_last(6,4)')).toEqual({
      zh: '保留前6位和后4位',
      en: 'keep the first 6 and last 4 characters',
    });
    expect(describeMaskRule('mobile').zh).toBe('手机号保留前3后4位');
  });

  it('null stays null under every rule', () => {
    for (const f of MASK_FAMILIES) {
      const rule = f.arity === 2 ? `${f.family}(1,1)` : f.family;
      expect(applyMask(rule, null, { pseudonymKey: KEY })).toBeNull();
    }
  });

  it('rounds decimals exactly, half away from zero', () => {
    expect(roundDecimal2('1.005')).toBe('1.01');
    expect(roundDecimal2('-1.005')).toBe('-1.01');
    expect(roundDecimal2('-0.0049')).toBe('0.00');
    expect(roundDecimal2('99.995')).toBe('100.00');
  });
});

describe('pseudonym', () => {
  it('is stable within a contract and differs across contracts', () => {
    const k1 = derivePseudonymKey('master', 'contract-a');
    const k2 = derivePseudonymKey('master', 'contract-b');
    const a1 = applyMask('pseudonym', '110101199003071234', { pseudonymKey: k1 });
    expect(applyMask('pseudonym', '110101199003071234', { pseudonymKey: k1 })).toBe(a1);
    expect(applyMask('pseudonym', '110101199003071234', { pseudonymKey: k2 })).not.toBe(a1);
    expect(a1).toMatch(/^[0-9a-f]{32}$/);
  });

  it('needs a key', () => {
    expect(() => applyMask('pseudonym', 'x')).toThrow(/key/);
    expect(() => maskSql('pseudonym', 'x')).toThrow(/key/);
  });
});

describe('rule ids and strictness', () => {
  it('parses and canonicalises ids', () => {
    expect(parseMaskRule('keep_first_last( 6, 4 )')).toEqual({
      id: 'keep_first_last(6,4)',
      family: 'keep_first_last',
      args: [6, 4],
    });
    expect(isMaskRuleId('mobile')).toBe(true);
    expect(isMaskRuleId('keep_first_last(6)')).toBe(false);
    expect(isMaskRuleId('mobile(1,2)')).toBe(false);
    expect(isMaskRuleId('drop table')).toBe(false);
  });

  it('orders rules by what they reveal', () => {
    expect(strictnessLevel('none')).toBe(0);
    expect(strictnessLevel('mobile')).toBe(1);
    expect(strictnessLevel('pseudonym')).toBe(2);
    expect(strictnessLevel('null')).toBe(3);
    // (baseline, candidate): may a contract replace the baseline by the candidate?
    expect(isAtLeastAsStrict('keep_first_last(6,4)', 'keep_first_last(3,4)')).toBe(true);
    expect(isAtLeastAsStrict('keep_first_last(6,4)', 'keep_first_last(6,6)')).toBe(false);
    expect(isAtLeastAsStrict('keep_first_last(6,4)', 'pseudonym')).toBe(true);
    expect(isAtLeastAsStrict('keep_first_last(6,4)', 'null')).toBe(true);
    expect(isAtLeastAsStrict('keep_first_last(6,4)', 'none')).toBe(false);
    expect(isAtLeastAsStrict('mobile', 'keep_first_last(0,4)')).toBe(true);
    expect(isAtLeastAsStrict('mobile', 'keep_first_last(6,4)')).toBe(false);
    expect(isAtLeastAsStrict('name_surname', 'keep_first_last(1,0)')).toBe(true);
    expect(isAtLeastAsStrict('keep_first_last(1,0)', 'name_surname')).toBe(false);
    expect(isAtLeastAsStrict('year_only', 'year_only')).toBe(true);
    expect(isAtLeastAsStrict('year_only', 'mobile')).toBe(false);
    expect(isAtLeastAsStrict('null', 'pseudonym')).toBe(false);
    expect(isAtLeastAsStrict('none', 'none')).toBe(true);
  });

  it('is reflexive and transitive over all rules', () => {
    const rules = [
      'none',
      'null',
      'pseudonym',
      'mobile',
      'landline',
      'name_surname',
      'bank_last4',
      'year_only',
      'district_only',
      'email',
      'plate',
      'ip_prefix',
      'round_coord',
      'redact_spans',
      'keep_first_last(0,0)',
      'keep_first_last(1,3)',
      'keep_first_last(6,4)',
      'keep_first_last(3,4)',
    ];
    for (const a of rules) {
      expect(isAtLeastAsStrict(a, a)).toBe(true);
      for (const b of rules)
        for (const c of rules)
          if (isAtLeastAsStrict(a, b) && isAtLeastAsStrict(b, c)) expect(isAtLeastAsStrict(a, c)).toBe(true);
    }
  });
});
