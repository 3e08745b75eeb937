import { pinyin } from 'pinyin-pro';
import { RESERVED_COLUMN_NAMES } from '../core/datasets.ts';
import type { DetectorId } from '../rules/detectors.ts';

/** PostgreSQL's identifier limit; a de-duplicating suffix is kept inside it too. */
const MAX_IDENTIFIER = 63;
/** Longer pinyin is cut at a syllable: a name is typed in queries, the label keeps the header. */
const MAX_PINYIN = 40;

/**
 * What a developer would call a column of a type classification recognises. Types whose values
 * say little about what the column is (free text, a financial figure) are named from the header.
 */
const DETECTOR_NAMES: Partial<Record<DetectorId, string>> = {
  cn_resident_id: 'id_number',
  cn_uscc: 'credit_code',
  cn_mobile: 'mobile',
  cn_landline: 'phone',
  email: 'email',
  ipv4: 'ip_address',
  ipv6: 'ipv6_address',
  bank_card: 'bank_card',
  cn_passport: 'passport_no',
  hk_macau_permit: 'permit_no',
  cn_license_plate: 'plate_no',
  person_name: 'name',
  address: 'address',
  geo_coordinate: 'coordinates',
  birth_date: 'birth_date',
  ethnicity: 'ethnicity',
  marital_status: 'marital_status',
  religion: 'religion',
  health: 'health',
  criminal_record: 'criminal_record',
};

const SAFE = /^[a-z_][a-z0-9_]{0,62}$/;

/** The header as an identifier when it already is one (case and separators aside). */
function asIdentifier(title: string): string | null {
  const candidate = title
    .normalize('NFKC')
    .replace(/\p{Cc}/gu, '')
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
  return SAFE.test(candidate) && !RESERVED_COLUMN_NAMES.has(candidate) ? candidate : null;
}

/** The header spelt in toneless pinyin, syllables joined by `_` (ü as v); null when nothing is left. */
export function pinyinName(title: string): string | null {
  // Forty characters of pinyin never need more than the header's first 80 characters.
  const head = [...title.normalize('NFKC')].slice(0, 2 * MAX_PINYIN).join('');
  const syllables = pinyin(head, { toneType: 'none', type: 'array', nonZh: 'consecutive', v: true })
    .map((s) =>
      s
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '_')
        .replace(/^_+|_+$/g, ''),
    )
    .filter((s) => s.length > 0);
  let name = '';
  for (const s of syllables) {
    const next = name ? `${name}_${s}` : s;
    if (next.length > MAX_PINYIN) break;
    name = next;
  }
  if (!name) return null;
  return /^[a-z_]/.test(name) ? name : `f_${name}`;
}

/**
 * Field names usable as columns, readable and unique, for a file's header (issue 18: 身份证号 is
 * `id_number`, not `col_3`): the header itself when it is a safe identifier; else the recognised
 * type's name when one column alone has that type (two ID columns are told apart by their
 * headers instead); else the header in pinyin; else col_N. Never the ordinal column or a
 * PostgreSQL system column (_row, ctid, xmin, tableoid …), never past 63 bytes, also once a
 * de-duplicating suffix is added. The steward can still edit each name before it is adopted.
 */
export function fieldNamesFor(titles: readonly string[], types: readonly (DetectorId | null)[]): string[] {
  const own = titles.map(asIdentifier);
  const count = new Map<DetectorId, number>();
  types.forEach((type, i) => {
    if (type && own[i] === null) count.set(type, (count.get(type) ?? 0) + 1);
  });
  const used = new Set<string>();
  return titles.map((title, i) => {
    const type = types[i];
    const byType = type && count.get(type) === 1 ? DETECTOR_NAMES[type] : undefined;
    const base = own[i] ?? byType ?? pinyinName(title) ?? `col_${i + 1}`;
    let name = base;
    for (let n = 2; used.has(name) || RESERVED_COLUMN_NAMES.has(name); n++) {
      const suffix = `_${n}`;
      name = `${base.slice(0, MAX_IDENTIFIER - suffix.length)}${suffix}`;
    }
    used.add(name);
    return name;
  });
}
