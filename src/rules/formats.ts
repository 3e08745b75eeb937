/**
 * Accepted formats: the ways real exports write a value that is still the same value. The column
 * scanner normalises every cell once with {@link normaliseCell} (the formats every detector
 * accepts), and each detector declares the formats of its own type that its validator accepts
 * (see `DetectorSpec.formats` in detectors.ts). A value counts towards a detector's ratio when it
 * validates in any accepted format, so a minority of messy values lowers a column's ratio by no
 * more than their share and never switches the column off.
 */
export const FORMAT_IDS = [
  // Every detector: written by spreadsheets and register software, not by people.
  'excel_text',
  'excel_formula',
  'full_width',
  // Per detector.
  'grouped',
  'country_prefix',
  'lower_case',
  'legacy_15',
  'area_brackets',
  'extension',
  'plate_separator',
] as const;
export type FormatId = (typeof FORMAT_IDS)[number];

export const FORMAT_NAMES: Readonly<Record<FormatId, { zh: string; en: string }>> = {
  excel_text: { zh: 'Excel文本标记（前导单引号）', en: "Excel text marker (leading ')" },
  excel_formula: { zh: 'Excel公式文本（="…"）', en: 'Excel formula text (="…")' },
  full_width: { zh: '全角字符', en: 'full-width characters' },
  grouped: { zh: '空格或连字符分组', en: 'digits grouped by spaces or hyphens' },
  country_prefix: { zh: '国家代码前缀（+86/0086）', en: 'country prefix (+86/0086)' },
  lower_case: { zh: '小写校验码或字母', en: 'lower-case check character or letters' },
  legacy_15: { zh: '15位旧身份证号', en: 'legacy 15-digit number' },
  area_brackets: { zh: '区号加括号', en: 'area code in brackets' },
  extension: { zh: '分机号', en: 'extension' },
  plate_separator: { zh: '号牌分隔点', en: 'plate separator (·)' },
};

/** Bits of the formats {@link normaliseCell} undid. */
export const CELL_FORMAT_BITS: Readonly<Record<'excel_text' | 'excel_formula' | 'full_width', number>> = {
  excel_text: 1,
  excel_formula: 2,
  full_width: 4,
};

// Full-width digits, letters, the signs numbers and addresses use (（）＋－．＠＃) and the
// ideographic space; Chinese punctuation (，：；) stays what it is.
const FULL_WIDTH =
  /[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\uff08\uff09\uff0b\uff0d\uff0e\uff20\uff03\u3000]/;
const EXCEL_FORMULA = /^="(.*)"$/s;

export interface NormalisedCell {
  text: string;
  /** {@link CELL_FORMAT_BITS} of what was undone; 0 when the text was already plain. */
  bits: number;
}

/**
 * The formats every detector accepts, undone: a leading apostrophe (Excel's text marker, also
 * in its full-width form), the formula form `="…"` that CSV exports use to keep leading zeros,
 * and full-width digits, letters and number signs (０-９, Ａ-Ｚ, （）, ＋, －, the ideographic space)
 * mapped to ASCII. `text`
 * is trimmed again afterwards.
 */
export function normaliseCell(text: string): NormalisedCell {
  let bits = 0;
  let v = text;
  const c = v.charCodeAt(0);
  if (c === 0x27 || c === 0xff07) {
    v = v.slice(1).trim();
    bits |= CELL_FORMAT_BITS.excel_text;
  } else if (c === 0x3d) {
    const m = EXCEL_FORMULA.exec(v);
    if (m) {
      v = m[1]!.trim();
      bits |= CELL_FORMAT_BITS.excel_formula;
    }
  }
  if (FULL_WIDTH.test(v)) {
    v = toHalfWidth(v).trim();
    bits |= CELL_FORMAT_BITS.full_width;
  }
  return { text: v, bits };
}

const FULL_WIDTH_ALL = new RegExp(FULL_WIDTH.source, 'g');

/** The full-width forms above to ASCII; everything else unchanged. */
export function toHalfWidth(text: string): string {
  return text.replace(FULL_WIDTH_ALL, (ch) => {
    const c = ch.charCodeAt(0);
    return c === 0x3000 ? ' ' : String.fromCharCode(c - 0xfee0);
  });
}

const GROUPED = /^[0-9A-Za-z]+(?:[ -][0-9A-Za-z]+)+$/;

/**
 * Digits (and letters) written in groups with single spaces or hyphens (`330106 19850312 1234`,
 * `6222-0212-3456-7890`), joined; undefined when the value is not grouped that way.
 */
export function ungroup(value: string): string | undefined {
  if (!GROUPED.test(value)) return undefined;
  return value.replace(/[ -]/g, '');
}
