import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cardDigits, isPlausibleCardIssuer, isValidBankCard } from './bank-card.ts';
import { parseCalendarDate } from './calendar.ts';
import { isNewEnergyPlate, isValidLicensePlate } from './license-plate.ts';
import { isLuhnValid, luhnCheckDigit } from './luhn.ts';
import { isValidLandline, isValidMobile, mobileNationalNumber, parseLandline } from './phone.ts';
import { COMPOUND_SURNAMES, SINGLE_SURNAMES, surnameOf } from './surnames.ts';
import { isValidHkMacauPermit, isValidPassport } from './travel-documents.ts';
import { isValidUscc, makeUscc } from './uscc.ts';

describe('Luhn', () => {
  it('matches the ISO/IEC 7812 examples', () => {
    expect(isLuhnValid('79927398713')).toBe(true);
    expect(isLuhnValid('79927398710')).toBe(false);
    expect(isLuhnValid('4111111111111111')).toBe(true);
    expect(isLuhnValid('4111111111111112')).toBe(false);
    expect(luhnCheckDigit('7992739871')).toBe('3');
    expect(isLuhnValid('0')).toBe(false);
    expect(isLuhnValid('12a4')).toBe(false);
  });

  it('property: the check digit completes any number, and a changed digit breaks it', () => {
    const digitString = fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 25 });
    fc.assert(
      fc.property(digitString, fc.nat(), fc.integer({ min: 1, max: 9 }), (partial, pos, delta) => {
        const full = partial + luhnCheckDigit(partial);
        expect(isLuhnValid(full)).toBe(true);
        const i = pos % full.length;
        const changed = full.slice(0, i) + String((Number(full[i]) + delta) % 10) + full.slice(i + 1);
        expect(isLuhnValid(changed)).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('bank card', () => {
  const complete = (partial: string) => partial + luhnCheckDigit(partial);
  it('accepts Luhn-valid numbers of known schemes, 15–19 digits', () => {
    expect(isValidBankCard('4111111111111111')).toBe(true); // Visa test number
    expect(isValidBankCard('5500005555555559')).toBe(true); // Mastercard test number
    expect(isValidBankCard('378282246310005')).toBe(true); // American Express test number
    expect(isValidBankCard(complete('621700123456789012'))).toBe(true); // UnionPay, 19 digits
    expect(isValidBankCard(complete('955880123456789012'))).toBe(true); // ICBC legacy 9558
    expect(isValidBankCard('6222 0212 3456 7890'.replace(/\d$/, luhnCheckDigit('622202123456789')))).toBe(
      true,
    );
  });

  it('rejects Luhn failures, unknown issuers and wrong lengths', () => {
    expect(isValidBankCard('4111111111111112')).toBe(false);
    expect(isValidBankCard(complete('20240315123456'))).toBe(false); // 15 digits but date-like prefix
    expect(isValidBankCard(complete('100000000000000'))).toBe(false);
    expect(isValidBankCard(complete('1234567890123'))).toBe(false); // 14 digits
    expect(isValidBankCard(complete('62170012345678901234'))).toBe(false); // 21 digits
    expect(isPlausibleCardIssuer('2221000000000000')).toBe(true);
    expect(isPlausibleCardIssuer('2720990000000000')).toBe(true);
    expect(isPlausibleCardIssuer('2721000000000000')).toBe(false);
    expect(isPlausibleCardIssuer('2024000000000000')).toBe(false);
  });

  it('reads grouped digits but not arbitrary punctuation', () => {
    expect(cardDigits('6222-0212-3456-7890')).toBe('6222021234567890');
    expect(cardDigits('6222  0212')).toBeUndefined();
    expect(cardDigits('6222.0212')).toBeUndefined();
  });
});

describe('mobile numbers', () => {
  it('accepts current segments with or without +86', () => {
    for (const v of [
      '13812345678',
      '15012345678',
      '16612345678',
      '17712345678',
      '18912345678',
      '19912345678',
      '14712345678',
      '+8613812345678',
      '+86 138 1234 5678',
      '86-138-1234-5678',
      '008613812345678',
    ])
      expect(isValidMobile(v), v).toBe(true);
    expect(mobileNationalNumber('+86 138-1234-5678')).toBe('13812345678');
  });

  it('rejects unassigned segments, IoT blocks and wrong lengths', () => {
    for (const v of [
      '12812345678',
      '10012345678',
      '11012345678',
      '15412345678',
      '14012345678',
      '19412345678',
      '16012345678',
      '17912345678',
      '1381234567',
      '138123456789',
      '+8513812345678',
      '+013812345678',
      '138 1234  5678',
      '138.1234.5678',
      '',
    ])
      expect(isValidMobile(v), v).toBe(false);
  });
});

describe('landline numbers', () => {
  it('parses area codes and local numbers', () => {
    expect(parseLandline('010-62345678')).toEqual({ areaCode: '010', local: '62345678' });
    expect(parseLandline('(0571)88888888')).toEqual({ areaCode: '0571', local: '88888888' });
    expect(parseLandline('0571 8888 8888')).toEqual({ areaCode: '0571', local: '88888888' });
    expect(parseLandline('057188888888')).toEqual({ areaCode: '0571', local: '88888888' });
    expect(parseLandline('02087654321')).toEqual({ areaCode: '020', local: '87654321' });
    expect(parseLandline('+86 571 88888888')).toEqual({ areaCode: '0571', local: '88888888' });
    expect(parseLandline('0571-8888888 转123')).toEqual({
      areaCode: '0571',
      local: '8888888',
      extension: '123',
    });
    expect(parseLandline('010-62345678-8001')).toEqual({
      areaCode: '010',
      local: '62345678',
      extension: '8001',
    });
  });

  it('rejects local numbers alone, bad area codes and bad local numbers', () => {
    for (const v of [
      '62345678',
      '011-62345678',
      '010-12345678',
      '010-6234567',
      '0571-888888',
      '0571-02345678',
      '00571-88888888',
      '13812345678',
      '+86 0571 88888888',
      '0571 88888888 9',
    ])
      expect(isValidLandline(v), v).toBe(false);
  });
});

describe('passports and travel permits', () => {
  it('accepts the documented forms', () => {
    for (const v of [
      'E12345678',
      'EA1234567',
      'G12345678',
      'D12345678',
      'DE1234567',
      'SE1234567',
      'KJ1234567',
      'MA1234567',
      '141234567',
    ])
      expect(isValidPassport(v), v).toBe(true);
    for (const v of ['C12345678', 'CA1234567', 'W12345678']) expect(isValidHkMacauPermit(v), v).toBe(true);
  });

  it('rejects other shapes', () => {
    for (const v of ['A12345678', 'E1234567', 'E123456789', 'EI1234567', '121234567', 'C12345678'])
      expect(isValidPassport(v), v).toBe(false);
    for (const v of ['C1234567', 'CI1234567', 'E12345678', 'C1234567A'])
      expect(isValidHkMacauPermit(v), v).toBe(false);
    expect(isValidHkMacauPermit('W12345678', { booklet: false })).toBe(false);
  });
});

describe('licence plates', () => {
  it('accepts ordinary and new-energy plates', () => {
    for (const v of [
      '京A12345',
      '沪B1C2D3',
      '粤B·D12345',
      '粤BF12345',
      '沪AD1234X'.replace('X', '5'),
      '川A12345D',
      '京A1234挂',
      '浙A-12345',
    ])
      expect(isValidLicensePlate(v), v).toBe(true);
    expect(isNewEnergyPlate('粤BD12345')).toBe(true);
    expect(isNewEnergyPlate('川A12345F')).toBe(true);
    expect(isNewEnergyPlate('京A12345')).toBe(false);
  });

  it('rejects unknown provinces, I and O, and wrong lengths', () => {
    for (const v of [
      '港A12345',
      '京I12345',
      '京A1O345',
      '京A1234',
      '京A1234567',
      '京AA12345',
      'AB12345',
      '京A12345DX',
    ])
      expect(isValidLicensePlate(v), v).toBe(false);
  });
});

describe('surnames', () => {
  it('finds single and compound surnames', () => {
    expect(surnameOf('张三')).toBe('张');
    expect(surnameOf('欧阳修')).toBe('欧阳');
    expect(surnameOf('欧阳')).toBe('欧');
    expect(surnameOf('国土局')).toBeUndefined();
    expect(SINGLE_SURNAMES.has('王')).toBe(true);
    expect(SINGLE_SURNAMES.has('公')).toBe(false);
    expect(COMPOUND_SURNAMES).toContain('司马');
  });
});

describe('credit codes (used through src/standards/uscc.ts)', () => {
  it('generated codes validate, single changes do not', () => {
    const code = makeUscc('9', '1', '330106', 'MA27XK0L');
    expect(isValidUscc(code)).toBe(true);
    expect(isValidUscc(code.slice(0, 17) + (code[17] === '0' ? '1' : '0'))).toBe(false);
  });
});

describe('calendar dates', () => {
  it('parses the register formats and rejects impossible dates', () => {
    expect(parseCalendarDate('1990-03-07')).toEqual({ year: 1990, month: 3, day: 7 });
    expect(parseCalendarDate('1990/3/7')).toEqual({ year: 1990, month: 3, day: 7 });
    expect(parseCalendarDate('19900307')).toEqual({ year: 1990, month: 3, day: 7 });
    expect(parseCalendarDate('1990年3月7日')).toEqual({ year: 1990, month: 3, day: 7 });
    expect(parseCalendarDate('1990-03-07 00:00:00')).toEqual({ year: 1990, month: 3, day: 7 });
    expect(parseCalendarDate('1990-03-07 12:30:00')).toBeUndefined();
    expect(parseCalendarDate('1990-02-29')).toBeUndefined();
    expect(parseCalendarDate('1990-03/07')).toBeUndefined();
    expect(parseCalendarDate('19901307')).toBeUndefined();
  });
});
