import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../src/core/db.ts';
import { detectorById } from '../src/rules/detectors.ts';
import { findEntities, SPAN_DEFINITIONS } from '../src/rules/entities.ts';
import { normaliseCell, toHalfWidth } from '../src/rules/formats.ts';
import { applyMask, maskSqlExpression } from '../src/rules/masking.ts';
import { luhnCheckDigit } from '../src/standards/luhn.ts';
import { makeLegacyResidentId, makeResidentId } from '../src/standards/resident-id.ts';
import { freshDatabase } from './helpers.ts';
import { redactSpansBefore } from './redact-spans-before.ts';

// redact_spans on the database the suite runs against (embedded, or TEST_DATABASE_URL's server):
// the SQL form gives exactly the JavaScript form on random Chinese texts with embedded entities.

let handle: { database: DatabaseHandle; drop(): Promise<void> };
beforeAll(async () => {
  handle = await freshDatabase();
});
afterAll(async () => {
  await handle?.drop();
});

const piece = fc.oneof(
  fc.constantFrom(
    '申请人',
    '联系人：',
    '当事人为',
    '患者',
    '先生',
    '女士',
    '王',
    '李小',
    '欧阳',
    '某某',
    '，联系电话',
    '，住址',
    '杭州市西湖区',
    '文三路',
    '号',
    '幢',
    '单元',
    '。',
    ' ',
    '-',
    '+86',
    '0571-',
    '@',
    'zhang.san',
    'example.com',
    '.cn',
    'X',
    '＋８６',
    '０５７１－',
    '（',
    '）',
    '　',
    'Ｘ',
    'ｘ',
  ),
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 19 }),
  // Full-width digits and signs, alone and mixed with half-width ones.
  fc.string({ unit: fc.constantFrom(...'０１２３４５６７８９'), minLength: 1, maxLength: 19 }),
  fc.string({
    unit: fc.constantFrom(...'0123456789０１２３４５６７８９－　 -'),
    minLength: 1,
    maxLength: 22,
  }),
  fc.string({
    unit: fc.constantFrom(
      ...'的了是在有人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严',
    ),
    maxLength: 8,
  }),
  fc.string({ unit: 'binary', maxLength: 6 }).filter((s) => !s.includes('\u0000')),
);
const text = fc.array(piece, { maxLength: 16 }).map((parts) => parts.join(''));

/** Half-width digits and signs to their full-width forms where `pick` says so (a mix, per character). */
function fullWidth(value: string, pick: (i: number) => boolean = () => true): string {
  return [...value]
    .map((ch, i) => {
      if (!pick(i)) return ch;
      if (ch === ' ') return '\u3000';
      return /[0-9Xx+()-]/.test(ch) ? String.fromCharCode(ch.charCodeAt(0) + 0xfee0) : ch;
    })
    .join('');
}
// What the masking before full-width support did not know: full-width digits, signs, X and spaces.
const FULL_WIDTH_SIGN = /[０-９＋－Ｘｘ　（）]/u;

describe('redact_spans: SQL equals JavaScript', () => {
  it('on random texts with embedded entities', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(text, { minLength: 1, maxLength: 80 }), async (values) => {
        const expression = maskSqlExpression('redact_spans', sql`t.v`);
        const { rows } = await sql<{ m: string | null }>`SELECT ${expression} AS m
          FROM unnest(${values}::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i`.execute(handle.database.db);
        expect(rows.map((r) => r.m)).toEqual(values.map((v) => applyMask('redact_spans', v)));
      }),
      { numRuns: 40 },
    );
  });

  it('masks as before full-width support on every text without a full-width digit or sign', () => {
    const plainText = fc.oneof(
      text,
      fc
        .array(
          fc.oneof(
            piece,
            piece.map((p) => p.replace(/[ -]/g, '')),
          ),
          { maxLength: 24 },
        )
        .map((p) => p.join('')),
    );
    fc.assert(
      fc.property(plainText, (t) => {
        fc.pre(!FULL_WIDTH_SIGN.test(t));
        expect(applyMask('redact_spans', t)).toBe(redactSpansBefore(t));
      }),
      { numRuns: 2000 },
    );
  });

  it('masks every entity that detection finds (no detected span survives the mask)', () => {
    fc.assert(
      fc.property(text, (t) => {
        const masked = applyMask('redact_spans', t)!;
        for (const e of findEntities(t)) {
          const span = t.slice(e.start, e.end);
          if (span.length >= 6) expect(masked.includes(span), `${e.type} ${span}`).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('skips a definition only when it cannot match: its guard and needed strings are necessary conditions', () => {
    const compiled = SPAN_DEFINITIONS.map((d) => ({
      d,
      re: new RegExp(d.pattern, 'u'),
      guard: new RegExp(d.guard, 'u'),
    }));
    fc.assert(
      fc.property(text, (t) => {
        for (const { d, re, guard } of compiled) {
          if (!re.test(t)) continue;
          expect(guard.test(t), `${d.pattern} ${t}`).toBe(true);
          if (d.needs)
            expect(
              d.needs.some((n) => t.includes(n)),
              `${d.pattern} ${t}`,
            ).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('declares each pattern once, with groups the replacement uses', () => {
    for (const d of SPAN_DEFINITIONS) {
      const groups = new RegExp(`${d.pattern}|`, 'u').exec('')!.length - 1;
      for (const part of d.replacement)
        if (typeof part === 'number') expect(part).toBeLessThanOrEqual(groups);
    }
  });
});

// Identifiers in every format the column detectors accept (ID numbers, mobiles, bank cards,
// landlines), inside random text: neither the JS nor
// the SQL form of the mask may leave one readable. The text around an identifier touches it with
// anything but a digit (or a `+` before a mobile): digits that run on make a longer number.
const region = fc.constantFrom('330106', '110101', '440305', '510104', '650102', '330225');
const birth = fc.date({
  min: new Date('1901-01-01T00:00:00Z'),
  max: new Date('2019-12-31T00:00:00Z'),
  noInvalidDate: true,
});
const group = (v: string, sizes: readonly number[], sep: string) => {
  const parts: string[] = [];
  let at = 0;
  for (const n of sizes) {
    parts.push(v.slice(at, at + n));
    at += n;
  }
  return parts.join(sep);
};
const residentId = fc
  .tuple(
    region,
    birth,
    fc.integer({ min: 0, max: 999 }),
    fc.integer({ min: 0, max: 5 }),
    fc.constantFrom(' ', '-'),
  )
  .map(([r, d, seq, format, sep]) => {
    const day = d.toISOString().slice(0, 10);
    const id = makeResidentId(r, day, seq);
    if (format === 1) return id.toLowerCase();
    if (format === 2) return group(id, [6, 8, 4], sep);
    if (format === 3) return group(id, [6, 4, 4, 4], sep);
    if (format === 4 && day < '2000') return makeLegacyResidentId(r, day, seq);
    return id;
  });
const mobile = fc
  .tuple(
    fc.constantFrom('13', '15', '17', '18', '19'),
    fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 9, maxLength: 9 }),
    fc.constantFrom('', '86', '+86', '0086', '+86 ', '0086-'),
    fc.constantFrom('', ' ', '-'),
  )
  .map(([head, rest, prefix, sep]) => prefix + group(head + rest, [3, 4, 4], sep));
const digits = (n: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: n, maxLength: n });
const bankCard = fc
  .tuple(
    fc.constantFrom('6222', '6217', '6228', '4367', '6259'),
    digits(14),
    fc.boolean(),
    fc.integer({ min: 0, max: 2 }),
  )
  .map(([bin, rest, long, format]) => {
    const body = (bin + rest).slice(0, long ? 18 : 15);
    const card = body + luhnCheckDigit(body);
    if (format === 0) return card;
    return group(card, long ? [4, 4, 4, 4, 3] : [4, 4, 4, 4], format === 1 ? ' ' : '-');
  });
const landline = fc
  .tuple(
    fc.constantFrom('010', '021', '0571', '0755', '0851'),
    fc.constantFrom(...'23456789'),
    digits(7),
    fc.integer({ min: 0, max: 4 }),
  )
  .map(([area, first, rest, format]) => {
    const local = first + rest;
    return [
      `${area}${local}`,
      `${area}-${local}`,
      `${area} ${local}`,
      `(${area})${local}`,
      `（${area}）${local}`,
    ][format]!;
  });
/** An identifier as written, or with some or all of its digits and signs in full-width form. */
const anyWidth = (values: fc.Arbitrary<string>) =>
  fc
    .tuple(values, fc.integer({ min: 0, max: 2 }), fc.array(fc.boolean(), { minLength: 24, maxLength: 24 }))
    .map(([v, width, mix]) =>
      width === 0 ? v : width === 1 ? fullWidth(v) : fullWidth(v, (i) => mix[i % 24]!),
    );
const around = fc.oneof(
  fc.constantFrom(
    '',
    '申请人',
    '联系电话',
    '身份证号',
    '：',
    '，',
    '。',
    'ID',
    'sfz',
    'Tel:',
    '(',
    ')',
    '住址',
  ),
  fc.string({
    unit: fc.constantFrom(...'王李张先生女士号码电话住址申请人备注abcXx。，；： 0123456789０１９（）＋－　'),
    maxLength: 10,
  }),
);
const NOT_DIGIT = /[^0-9０-９]/u;
/** Surrounding text that ends (before) or starts (after) with something other than a digit. */
const edge = (before: boolean, banned: RegExp) =>
  around.map((s) => {
    const c = before ? s.at(-1) : s[0];
    return c === undefined || (NOT_DIGIT.test(c) && !banned.test(c)) ? s : before ? `${s}，` : `，${s}`;
  });

describe('redact_spans: no identifier survives', () => {
  it('finds and masks the formats registers write (examples)', () => {
    const card = `622202123456789${luhnCheckDigit('622202123456789')}`;
    const id = makeResidentId('330106', '1985-03-12', 123);
    const grouped = `${card.slice(0, 4)} ${card.slice(4, 8)} ${card.slice(8, 12)} ${card.slice(12)}`;
    const text = `经办人李明，卡号${grouped}，电话（0571）87654321，身份证${id.slice(0, 6)} ${id.slice(6, 14)} ${id.slice(14).toLowerCase()}。`;
    expect(findEntities(text).map((e) => e.type)).toEqual([
      'cn_resident_id',
      'bank_card',
      'cn_landline',
      'person_name',
    ]);
    expect(applyMask('redact_spans', text)).toBe(
      `经办人李**，卡号**** **** **** ${card.slice(12)}，电话057-******21，身份证330106********${id.slice(14).toLowerCase()}。`,
    );
  });

  it('finds and masks numbers written in full-width digits and signs (examples)', async () => {
    const id = makeResidentId('330106', '1985-03-12', 123);
    const text = `电话１３８００１３８０００，身份证${fullWidth(id)}，手机＋８６ １３９－００１３－８０００，座机（０５７１）８７６５４３２１`;
    expect(findEntities(text).map((e) => e.type)).toEqual([
      'cn_resident_id',
      'cn_mobile',
      'cn_mobile',
      'cn_landline',
    ]);
    const masked = `电话１３８****８０００，身份证３３０１０６********${fullWidth(id.slice(14))}，手机＋８６ １３９-****-８０００，座机０５７-******２１`;
    expect(applyMask('redact_spans', text)).toBe(masked);
    const { rows } = await sql<{
      m: string;
    }>`SELECT ${maskSqlExpression('redact_spans', sql`${text}::text`)} AS m`.execute(handle.database.db);
    expect(rows[0]!.m).toBe(masked);
  });

  it('masks every detector-valid ID number, mobile, bank card and landline inside random text, half- or full-width, in JS and in SQL', async () => {
    // Only what the column detector itself accepts (a mobile's number segment must exist).
    type Kind = 'cn_resident_id' | 'cn_mobile' | 'bank_card' | 'cn_landline';
    const of = (type: Kind, values: fc.Arbitrary<string>) =>
      values.filter((v) => detectorById(type).validate(normaliseCell(v).text)).map((v) => ({ v, type }));
    const entity = fc.oneof(
      of('cn_resident_id', anyWidth(residentId)),
      of('cn_mobile', anyWidth(mobile)),
      of('bank_card', anyWidth(bankCard)),
      of('cn_landline', anyWidth(landline)),
    );
    const sample = fc.array(fc.tuple(edge(true, /[+＋]/u), entity, edge(false, /$^/)), {
      minLength: 1,
      maxLength: 30,
    });
    await fc.assert(
      fc.asyncProperty(sample, async (items) => {
        for (const [, e] of items)
          expect(detectorById(e.type).validate(normaliseCell(e.v).text), e.v).toBe(true);
        const texts = items.map(([b, e, a]) => b + e.v + a);
        const expression = maskSqlExpression('redact_spans', sql`t.v`);
        const { rows } = await sql<{ m: string }>`SELECT ${expression} AS m
          FROM unnest(${texts}::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i`.execute(handle.database.db);
        for (const [i, [, e]] of items.entries()) {
          // The number, digits only: the national 11 of a mobile, every digit of the others, read
          // in half-width form whatever width each digit was written in.
          const all = toHalfWidth(e.v).replace(/[^0-9Xx]/g, '');
          const national = e.type === 'cn_mobile' ? all.slice(-11) : all;
          for (const masked of [applyMask('redact_spans', texts[i]!)!, rows[i]!.m]) {
            expect(masked.includes(e.v), `${texts[i]} → ${masked}`).toBe(false);
            const digits = toHalfWidth(masked).replace(/[- ]/g, '');
            expect(digits.includes(national), `${texts[i]} → ${masked}`).toBe(false);
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});
