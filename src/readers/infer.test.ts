import { describe, expect, it } from 'vitest';
import { mapHeader, normalizeHeaderName } from './header.ts';
import { inferFields, inferType, isNullLike, parseValue } from './infer.ts';

describe('inferType', () => {
  it.each([
    ['integers', ['1', '-20', '0', '300000'], 'integer'],
    ['integers with nulls', ['1', '', 'NULL', 'N/A', '#N/A', ' ', '2'], 'integer'],
    ['decimals', ['1.5', '2', '-0.25', '1e-3'], 'decimal'],
    ['numbers from spreadsheets', [1, 2.5, 3], 'decimal'],
    ['leading zeros stay text', ['001234', '000001'], 'text'],
    ['one leading zero among integers', ['12', '0012'], 'text'],
    ['18-digit ID numbers stay text', ['110101199001011234', '330106198512125678'], 'text'],
    ['ID numbers with X', ['11010119900101123X'], 'text'],
    ['16-digit card numbers stay text even as JSON numbers', [6222020200112233], 'text'],
    ['mobile numbers stay text', ['13812345678', '15900001111'], 'text'],
    ['mobile numbers read as numbers from Excel', [13812345678, 15900001111], 'text'],
    ['11-digit amounts that are not all phone-like', ['13812345678', '25000000000'], 'integer'],
    ['beyond int8', ['9223372036854775808'], 'text'],
    ['booleans', ['true', 'FALSE', 'True'], 'boolean'],
    ['Chinese booleans', ['是', '否', '是'], 'boolean'],
    ['Y/N with both letters', ['Y', 'N', 'y'], 'boolean'],
    ['only Y is not enough', ['Y', 'Y'], 'text'],
    ['0/1 is a count, not a boolean', ['0', '1', '1', '0'], 'integer'],
    ['real booleans', [true, false], 'boolean'],
    ['dates', ['2024-03-01', '2024/3/5', '2024年3月15日'], 'date'],
    ['invalid calendar dates', ['2023-02-29'], 'text'],
    ['8-digit dates stay numbers', ['20240301', '20240302'], 'integer'],
    ['timestamps', ['2024-03-01T08:30:00Z', '2024-03-01 08:30', '2024/3/1 8:30:15.123+08:00'], 'timestamp'],
    ['dates mixed with timestamps', ['2024-03-01', '2024-03-01 08:30:00'], 'timestamp'],
    ['text among numbers', ['1', '2', 'three'], 'text'],
    ['thousands separators', ['1,234', '5,678'], 'text'],
    ['formula-like text', ['=1+1', '+1'], 'text'],
    ['only nulls', ['', null, 'null'], 'text'],
  ] as const)('%s → %s', (_label, values, type) => {
    expect(inferType(values).type).toBe(type);
  });

  it('keeps digit codes as text when the header names a code', () => {
    expect(inferType(['330106', '330102'], '区划代码').type).toBe('text');
    expect(inferType(['310000'], 'postcode').type).toBe('text');
    expect(inferType(['42', '43'], 'userId').type).toBe('text');
    expect(inferType(['42', '43'], '人数').type).toBe('integer');
    expect(inferType(['42', '43'], 'video').type).toBe('integer');
  });

  it('reports nullability and counts', () => {
    expect(inferType(['1', '', '2'])).toEqual({ type: 'integer', nullable: true, sampled: 2, nulls: 1 });
  });
});

describe('inferFields', () => {
  it('names empty and repeated columns', () => {
    const fields = inferFields(['姓名', '', '姓名', '金额'], [{ values: ['张三', 'x', '张三', '1.5'] }]);
    expect(fields.map((field) => [field.name, field.type])).toEqual([
      ['姓名', 'text'],
      ['column_2', 'text'],
      ['姓名_2', 'text'],
      ['金额', 'decimal'],
    ]);
  });
});

describe('parseValue', () => {
  it.each([
    ['integer', '42', 42],
    ['integer', ' +007 ', 7],
    ['integer', '12.00', 12],
    ['integer', '9223372036854775807', '9223372036854775807'],
    ['integer', 5, 5],
    ['decimal', '1234567890123456789.123456789', '1234567890123456789.123456789'],
    ['decimal', '+.5', '.5'],
    ['decimal', 0.1, '0.1'],
    ['boolean', '是', true],
    ['boolean', 'N', false],
    ['boolean', '1', true],
    ['boolean', 0, false],
    ['date', '2024/3/1', '2024-03-01'],
    ['date', '2024年12月31日', '2024-12-31'],
    ['date', '2024-03-01 00:00:00', '2024-03-01'],
    ['timestamp', '2024-03-01 08:30', '2024-03-01T08:30:00+08:00'],
    ['timestamp', '2024-03-01T08:30:15.1234567Z', '2024-03-01T08:30:15.123456Z'],
    ['timestamp', '2024-03-01T08:30:00-0530', '2024-03-01T08:30:00-05:30'],
    ['timestamp', '2024-03-01', '2024-03-01T00:00:00+08:00'],
    ['text', '  kept as is ', '  kept as is '],
    ['text', 3.5, '3.5'],
    ['integer', '', null],
    ['date', 'N/A', null],
  ] as const)('%s %j → %j', (type, raw, expected) => {
    expect(parseValue(type, raw)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['integer', '1.5', 'VALUE_NOT_INTEGER'],
    ['integer', '9223372036854775808', 'VALUE_OUT_OF_RANGE'],
    ['integer', '1,000', 'VALUE_NOT_INTEGER'],
    ['decimal', 'abc', 'VALUE_NOT_DECIMAL'],
    ['boolean', 'maybe', 'VALUE_NOT_BOOLEAN'],
    ['date', '2023-02-29', 'VALUE_NOT_DATE'],
    ['date', '2024-03-01 08:00', 'VALUE_NOT_DATE'],
    ['timestamp', '2024-03-01 25:00', 'VALUE_NOT_TIMESTAMP'],
  ] as const)('%s %j is invalid (%s)', (type, raw, code) => {
    const result = parseValue(type, raw);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason.code).toBe(code);
      expect(result.reason.zh).toContain(JSON.stringify(raw));
    }
  });

  it('uses the given default offset', () => {
    expect(parseValue('timestamp', '2024-03-01 08:30', { defaultOffset: 'Z' })).toEqual({
      ok: true,
      value: '2024-03-01T08:30:00Z',
    });
  });

  it('recognises null words', () => {
    expect(['', ' ', 'NULL', 'null', 'N/A', '#N/A', null].every(isNullLike)).toBe(true);
    expect(['0', 'NA', '-', 'none'].some(isNullLike)).toBe(false);
  });
});

describe('mapHeader', () => {
  it('matches names and titles loosely and reports what does not match', () => {
    const mapping = mapHeader(
      ['姓名', 'Birth_Date', 'ＩＤ', '出生 日期', '备注', '身份证号码'],
      [
        { name: 'name', title: '姓名' },
        { name: 'birth_date', title: '出生日期' },
        { name: 'id' },
        { name: 'id_number', title: '身份证号码' },
        { name: 'phone', title: '电话' },
      ],
    );
    expect(mapping.columnToField).toEqual([0, 1, 2, null, null, 3]);
    expect(mapping.duplicateColumns).toEqual([{ index: 3, name: '出生 日期', field: 'birth_date' }]);
    expect(mapping.unknownColumns).toEqual([{ index: 4, name: '备注' }]);
    expect(mapping.missingFields).toEqual(['phone']);
  });

  it('normalises full-width and spacing', () => {
    expect(normalizeHeaderName(' Ｂｉｒｔｈ　Ｄａｔｅ ')).toBe('birthdate');
  });
});
