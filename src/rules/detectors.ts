import { isValidBankCard } from '../standards/bank-card.ts';
import { type CalendarDate, todayInChina } from '../standards/calendar.ts';
import { isValidLicensePlate } from '../standards/license-plate.ts';
import { isValidLandline, isValidMobile } from '../standards/phone.ts';
import { isAcceptedRegionCode, isValidResidentId } from '../standards/resident-id.ts';
import { isValidHkMacauPermit, isValidPassport } from '../standards/travel-documents.ts';
import { isValidUscc, orgCodeCheckChar } from '../standards/uscc.ts';
import {
  ethnicityStrength,
  healthStrength,
  isAmount,
  isCriminalRecord,
  isMaritalStatus,
  isReligion,
} from './categories.ts';
import { type FormatId, ungroup } from './formats.ts';
import { type Grade, gradeRank, highestGrade } from './grades.ts';
import {
  addressStrength,
  coordinateStrength,
  isEmail,
  isIpv4,
  isIpv6,
  isPersonName,
  parseBirthDate,
} from './validators.ts';

/**
 * The declared table of sensitive-data detectors. A column is called for a detector on its
 * values: the share of non-empty values the detector validates must reach `minRatio`, or the
 * lower `minRatioWithHint` when the header supports the detector. Headers are supporting
 * evidence only; a header alone never makes a type (`email_verified` full of true/false is no
 * email column) and a silent header does not prevent one (`编号` full of ID numbers is an ID
 * column). Where values cannot separate two readings, column-level rules (distinct values,
 * distribution of birth years) and counter-evidence in the header decide; see scan.ts.
 */
export const DETECTOR_IDS = [
  'cn_resident_id',
  'cn_uscc',
  'cn_mobile',
  'cn_landline',
  'email',
  'ipv4',
  'ipv6',
  'bank_card',
  'cn_passport',
  'hk_macau_permit',
  'cn_license_plate',
  'person_name',
  'address',
  'geo_coordinate',
  'birth_date',
  'ethnicity',
  'marital_status',
  'religion',
  'health',
  'criminal_record',
  'financial',
  'free_text',
] as const;
export type DetectorId = (typeof DETECTOR_IDS)[number];

/** What the scanner knows about a column when a detector's column-level rule is asked. */
export interface ColumnFacts {
  nonEmpty: number;
  /** Values the detector validated (weak matches included when the header hints at it). */
  validated: number;
  /** Distinct non-empty values, counted up to {@link DISTINCT_CAP}. */
  distinct: number;
  /** A bounded sample of the detector's `measure` over validated values. */
  measures: readonly number[];
  today: CalendarDate;
  /** The column's shape (see scan.ts, shape rules). */
  shape: ColumnShape;
}

/** What the order and spread of a column's values say, whatever their type. */
export interface ColumnShape {
  /** Values of 6–19 digits (after normalisation), the basis of the two sequence measures. */
  digitValues: number;
  /** Share of consecutive digit values that strictly increase. */
  monotonic: number;
  /** Mean step between consecutive digit values in sorted order: (max − min) / (count − 1). */
  meanGap: number;
  /** Distinct values per non-empty value (distinct values counted up to DISTINCT_CAP). */
  unique: number;
  minLength: number;
  maxLength: number;
}

export const DISTINCT_CAP = 1024;

export interface DetectorSpec {
  id: DetectorId;
  name: { zh: string; en: string };
  /**
   * The formats of its own type the validator accepts besides the plain one (every detector also
   * accepts the cell formats undone by `normaliseCell` in formats.ts).
   */
  formats: readonly FormatId[];
  /** Which of its accepted formats a validated value is written in (undefined: plain). */
  formatOf?(value: string): FormatId | undefined;
  /**
   * Values drawn from a population (people's numbers): a column whose values form a dense
   * increasing sequence, or increase under a serial-number header, is not of this type.
   */
  population?: boolean;
  /** Where the category comes from, for the evidence (vocabulary source, standard). */
  basis?: string;
  /** Strong evidence: the value is of this type by itself. */
  validate(value: string): boolean;
  /** Shapes that fit but prove nothing alone; counted only under a matching header. */
  weak?(value: string): boolean;
  /** A number per validated value for the column-level rule (e.g. birth year). */
  measure?(value: string): number | undefined;
  /**
   * Header words that support the detector: Chinese ones match as substrings, English ones
   * (and pinyin initials) as whole words of the snake/camel-case header. A header hint lowers
   * the share of values needed but never replaces it.
   */
  headerHints: { zh: readonly string[]; en: readonly string[] };
  /** Header words that cancel the hint (`单位名称` is not a person's name). */
  headerExclude?: { zh?: readonly string[]; en?: readonly string[] };
  /**
   * Header words that are evidence against the detector, for shapes that values cannot
   * separate (`版本号` holding 1.2.3.4, `金额（分）` holding 13xxxxxxxxx): unless a hint also
   * matches, the column is not called for the detector.
   */
  headerContra?: { zh?: readonly string[]; en?: readonly string[] };
  defaultGrade: Grade;
  defaultMask: string;
  /** Share of non-empty values that must validate without a header hint … */
  minRatio: number;
  /** … and with one. */
  minRatioWithHint: number;
  /** Column-level plausibility beyond the share of valid values. */
  columnCheck?(facts: ColumnFacts, hinted: boolean): boolean;
  /**
   * A kind of column, not a type of value: never run on values (see {@link VALUE_DETECTORS}); the
   * scanner decides it by its own column rule and it names the field's effective detector.
   */
  columnKind?: true;
}

// Thresholds tuned on the labelled corpus (corpus.test.ts). Sweeping them, precision and recall
// stay at 1.0 for minRatio 0.5–0.8 and minRatioWithHint 0.4–0.6: below 0.4 a column with one
// valid ID number in three under a 证件号码 header is called; above 0.8 messy unhinted columns
// (a tenth of typos and junk) are lost. The top of the first band and the middle of the second
// keep the most distance from hard negatives that sit at 0.3–0.45 (brand names as personal
// names, short department names, ID-shaped order numbers).
const MIN_RATIO = 0.8;
const MIN_RATIO_WITH_HINT = 0.5;

let dayCache: { at: number; day: CalendarDate } | undefined;
/** Today's date, refreshed once a minute: validators run millions of times per import. */
export function currentDay(): CalendarDate {
  const now = Date.now();
  if (!dayCache || now - dayCache.at > 60_000) dayCache = { at: now, day: todayInChina(new Date(now)) };
  return dayCache.day;
}

function isCreditCode(value: string): boolean {
  const v = value.toUpperCase();
  if (!isValidUscc(v)) return false;
  // The embedded GB 11714 organization code carries its own check character; the region part
  // is a GB/T 2260 code or 100000 for organisations registered at national level.
  if (orgCodeCheckChar(v.slice(8, 16)) !== v[16]) return false;
  const region = v.slice(2, 8);
  return region === '100000' || isAcceptedRegionCode(region);
}

const RESIDENT_ID_OPTIONS = () => ({ latestBirth: currentDay() });

/** An 18- or 15-character resident ID number, plain or in groups (`330106 19850312 1234`). */
function isResidentIdValue(v: string): boolean {
  if (v.length === 18 || v.length === 15)
    return startsWithAny(v, '123456789') && isValidResidentId(v, RESIDENT_ID_OPTIONS());
  if (v.length < 17 || v.length > 22 || !startsWithAny(v, '123456789')) return false;
  const joined = ungroup(v);
  return (
    joined !== undefined &&
    (joined.length === 18 || joined.length === 15) &&
    isValidResidentId(joined, RESIDENT_ID_OPTIONS())
  );
}

/**
 * 18 digits ending in 0 whose region code and birth date are right: a number a spreadsheet stored
 * as a double, which keeps 17 significant digits at most.
 */
function isResidentIdLostDigits(v: string): boolean {
  if (v.length !== 18 || !v.endsWith('0') || !/^[1-9]\d{17}$/.test(v)) return false;
  if (!isAcceptedRegionCode(v.slice(0, 6))) return false;
  const date = `${v.slice(6, 10)}-${v.slice(10, 12)}-${v.slice(12, 14)}`;
  return parseBirthDate(date, currentDay()) !== undefined;
}

// Cheap first-character and character-class tests that spare the full validators most values:
// a scan runs every detector on every cell.
function startsWithAny(value: string, firstChars: string): boolean {
  return value.length > 0 && firstChars.includes(value[0]!);
}
const HOUSE_UNIT = /[号栋幢座室楼层弄组户元]/;
// A year, then a separator or exactly eight digits in all.
const DATE_START = /^[12]\d{3}(?:\D|\d{4}$)/;

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

const base = { minRatio: MIN_RATIO, minRatioWithHint: MIN_RATIO_WITH_HINT };

/** The declared table of detectors, in tie-break order. */
export const DETECTORS: readonly DetectorSpec[] = [
  {
    ...base,
    id: 'cn_resident_id',
    name: { zh: '居民身份证号码', en: 'resident identity number' },
    formats: ['grouped', 'lower_case', 'legacy_15'],
    formatOf: (v) =>
      v.length > 18 || /[ -]/.test(v)
        ? 'grouped'
        : v.length === 15
          ? 'legacy_15'
          : v.endsWith('x')
            ? 'lower_case'
            : undefined,
    population: true,
    validate: isResidentIdValue,
    // An 18-digit number read back from a numeric spreadsheet cell has lost its last digits
    // (double precision): its region and birth date still say what it was.
    weak: isResidentIdLostDigits,
    headerHints: {
      zh: ['身份证', '证件号', '身份号码', '公民身份'],
      en: [
        'id_card',
        'id_no',
        'id_number',
        'identity',
        'citizen_id',
        'resident_id',
        'sfz',
        'sfzh',
        'sfzhm',
        'zjhm',
      ],
    },
    defaultGrade: 'g4',
    defaultMask: 'keep_first_last(6,4)',
  },
  {
    ...base,
    id: 'cn_uscc',
    name: { zh: '统一社会信用代码', en: 'unified social credit code' },
    formats: ['lower_case'],
    formatOf: (v) => (/[a-z]/.test(v) ? 'lower_case' : undefined),
    validate: (v) => v.length === 18 && isCreditCode(v),
    headerHints: {
      zh: ['信用代码', '社会信用', '纳税人识别号'],
      en: ['uscc', 'credit_code', 'tyshxydm', 'shxydm', 'tax_id'],
    },
    defaultGrade: 'g1',
    defaultMask: 'none',
  },
  {
    ...base,
    id: 'cn_mobile',
    name: { zh: '手机号码', en: 'mobile number' },
    formats: ['grouped', 'country_prefix'],
    formatOf: (v) =>
      v.length > 11 && /^(?:\+|0086|86)/.test(v) ? 'country_prefix' : /[ -]/.test(v) ? 'grouped' : undefined,
    population: true,
    validate: (v) => v.length >= 11 && v.length <= 17 && startsWithAny(v, '1+80') && isValidMobile(v),
    headerHints: {
      zh: ['手机', '移动电话', '联系电话', '联系方式', '电话'],
      en: ['mobile', 'phone', 'cellphone', 'cell', 'tel', 'msisdn', 'sjh', 'sjhm', 'lxdh', 'lxfs'],
    },
    headerContra: {
      zh: ['金额', '数量', '次数', '总数', '流量', '字节', '余额', '面积', '人数', '单号'],
      en: ['amount', 'count', 'total', 'sum', 'num', 'qty', 'bytes', 'balance', 'size', 'seq', 'order'],
    },
    defaultGrade: 'g3',
    defaultMask: 'mobile',
  },
  {
    ...base,
    id: 'cn_landline',
    name: { zh: '固定电话', en: 'landline number' },
    formats: ['grouped', 'country_prefix', 'area_brackets', 'extension'],
    formatOf: (v) =>
      /转|分机|ext|#|^[^-]*-[^-]*-/i.test(v)
        ? 'extension'
        : v.startsWith('(')
          ? 'area_brackets'
          : v.startsWith('+') || v.startsWith('0086')
            ? 'country_prefix'
            : / /.test(v)
              ? 'grouped'
              : undefined,
    population: true,
    validate: (v) => v.length >= 10 && v.length <= 30 && startsWithAny(v, '0(+') && isValidLandline(v),
    headerHints: {
      zh: ['固定电话', '座机', '办公电话', '联系电话', '电话', '传真'],
      en: ['tel', 'telephone', 'phone', 'landline', 'fax', 'gddh', 'bgdh', 'lxdh'],
    },
    defaultGrade: 'g3',
    defaultMask: 'landline',
  },
  {
    ...base,
    id: 'email',
    name: { zh: '电子邮箱', en: 'email address' },
    formats: [],
    validate: isEmail,
    headerHints: { zh: ['邮箱', '邮件', '电邮'], en: ['email', 'e_mail', 'mail', 'dzyx', 'yx'] },
    defaultGrade: 'g3',
    defaultMask: 'email',
  },
  {
    ...base,
    id: 'ipv4',
    name: { zh: 'IPv4地址', en: 'IPv4 address' },
    formats: [],
    validate: (v) => v.length <= 15 && isIpv4(v),
    headerHints: {
      zh: ['ip地址', '网络地址'],
      en: ['ip', 'ipv4', 'ip_addr', 'ip_address', 'remote_addr', 'host'],
    },
    // Four-part version numbers (1.12.30.255) are valid dotted quads.
    headerContra: { zh: ['版本', '序号'], en: ['version', 'ver', 'build', 'release', 'firmware', 'oid'] },
    defaultGrade: 'g3',
    defaultMask: 'ip_prefix',
  },
  {
    ...base,
    id: 'ipv6',
    name: { zh: 'IPv6地址', en: 'IPv6 address' },
    formats: ['lower_case'],
    validate: (v) => v.length >= 2 && v.length <= 64 && isIpv6(v),
    headerHints: {
      zh: ['ip地址', '网络地址'],
      en: ['ip', 'ipv6', 'ip_addr', 'ip_address', 'remote_addr', 'host'],
    },
    defaultGrade: 'g3',
    defaultMask: 'ip_prefix',
  },
  {
    ...base,
    id: 'bank_card',
    name: { zh: '银行卡号', en: 'bank card number' },
    formats: ['grouped'],
    formatOf: (v) => (/[ -]/.test(v) ? 'grouped' : undefined),
    population: true,
    validate: (v) => v.length >= 15 && v.length <= 23 && isValidBankCard(v),
    headerHints: {
      zh: ['银行卡', '卡号', '银行账号', '银行帐号', '账号', '帐号', '开户'],
      en: [
        'bank_card',
        'card_no',
        'card_number',
        'bank_account',
        'account_no',
        'acct',
        'pan',
        'yhkh',
        'yhzh',
      ],
    },
    defaultGrade: 'g4',
    defaultMask: 'bank_last4',
  },
  {
    ...base,
    id: 'cn_passport',
    name: { zh: '护照号码', en: 'passport number' },
    formats: [],
    population: true,
    validate: (v) => v.length === 9 && isValidPassport(v),
    headerHints: { zh: ['护照'], en: ['passport', 'hzhm', 'hzh'] },
    defaultGrade: 'g4',
    defaultMask: 'keep_first_last(1,3)',
  },
  {
    ...base,
    id: 'hk_macau_permit',
    name: { zh: '往来港澳通行证', en: 'mainland travel permit for Hong Kong and Macao' },
    formats: [],
    population: true,
    validate: (v) => v.length === 9 && isValidHkMacauPermit(v),
    headerHints: { zh: ['港澳通行证', '通行证'], en: ['permit', 'hk_macau', 'gatxz', 'txz'] },
    defaultGrade: 'g4',
    defaultMask: 'keep_first_last(1,3)',
  },
  {
    ...base,
    id: 'cn_license_plate',
    name: { zh: '机动车号牌', en: 'licence plate' },
    formats: ['plate_separator', 'lower_case'],
    formatOf: (v) => (/[·•\- ]/.test(v) ? 'plate_separator' : /[a-z]/.test(v) ? 'lower_case' : undefined),
    validate: (v) => v.length >= 7 && v.length <= 10 && isValidLicensePlate(v),
    headerHints: {
      zh: ['车牌', '号牌', '车辆号码'],
      en: ['plate', 'license_plate', 'plate_no', 'cphm', 'hphm'],
    },
    defaultGrade: 'g3',
    defaultMask: 'plate',
  },
  {
    ...base,
    id: 'person_name',
    name: { zh: '姓名', en: 'personal name' },
    formats: [],
    validate: (v) => v.length <= 20 && v.charCodeAt(0) >= 0x3400 && isPersonName(v),
    headerHints: {
      zh: [
        '姓名',
        '名字',
        '人名',
        '联系人',
        '负责人',
        '法定代表人',
        '法人',
        '户主',
        '申请人',
        '经办人',
        '监护人',
        '收件人',
        '当事人',
        '患者',
      ],
      en: [
        'name',
        'full_name',
        'person',
        'contact',
        'applicant',
        'legal_rep',
        'xm',
        'xingming',
        'lxr',
        'fzr',
      ],
    },
    headerExclude: {
      zh: ['名称', '单位', '部门', '机构', '公司', '企业', '产品', '商品', '品牌', '拼音', '电话', '手机'],
      en: [
        'user',
        'username',
        'login',
        'dept',
        'department',
        'org',
        'company',
        'product',
        'brand',
        'file',
        'table',
        'host',
        'app',
        'project',
        'item',
        'phone',
        'tel',
        'mobile',
      ],
    },
    defaultGrade: 'g3',
    defaultMask: 'name_surname',
    // Status, ethnicity and education columns are short words that sometimes start with a
    // surname (党员, 高中, 白族); a names column has many different values.
    columnCheck: (f) => f.nonEmpty < 10 || f.distinct >= Math.min(30, f.nonEmpty * 0.5),
  },
  {
    ...base,
    id: 'address',
    name: { zh: '地址', en: 'address' },
    formats: [],
    validate: (v) => HOUSE_UNIT.test(v) && addressStrength(v) === 2,
    weak: (v) => HOUSE_UNIT.test(v) && addressStrength(v) === 1,
    headerHints: {
      zh: ['地址', '住址', '住所', '居住地', '户籍地', '所在地', '通讯地', '住宅'],
      en: ['address', 'addr', 'residence', 'dz', 'zz', 'jtzz', 'hjdz', 'jzdz'],
    },
    headerExclude: {
      zh: ['ip地址', '网址', '邮箱地址', '邮件地址', 'mac地址', '网络地址'],
      en: ['ip', 'email', 'mac', 'url', 'web', 'remote', 'ipv4', 'ipv6'],
    },
    defaultGrade: 'g3',
    defaultMask: 'district_only',
  },
  {
    ...base,
    id: 'geo_coordinate',
    name: { zh: '地理坐标', en: 'geographic coordinate' },
    formats: [],
    validate: (v) =>
      v.length <= 60 && v.includes('.') && startsWithAny(v, '0123456789+-Pp') && coordinateStrength(v) === 2,
    weak: (v) =>
      v.length <= 20 && v.includes('.') && startsWithAny(v, '0123456789+-') && coordinateStrength(v) === 1,
    headerHints: {
      zh: ['经度', '纬度', '经纬度', '坐标', '位置'],
      en: [
        'lat',
        'lng',
        'lon',
        'latitude',
        'longitude',
        'coord',
        'coordinate',
        'coordinates',
        'geo',
        'jd',
        'wd',
        'jwd',
      ],
    },
    defaultGrade: 'g3',
    defaultMask: 'round_coord',
  },
  {
    ...base,
    id: 'birth_date',
    name: { zh: '出生日期', en: 'date of birth' },
    formats: [],
    validate: (v) =>
      v.length >= 8 && v.length <= 24 && DATE_START.test(v) && parseBirthDate(v, currentDay()) !== undefined,
    measure: (v) => parseBirthDate(v, currentDay())?.year,
    headerHints: {
      zh: ['出生', '生日'],
      en: ['birth', 'birthday', 'birthdate', 'dob', 'date_of_birth', 'born', 'csrq', 'csny'],
    },
    defaultGrade: 'g3',
    defaultMask: 'year_only',
    // Without a header, a date column is a birth date column only if it looks like a
    // population: spread over decades and reaching back at least forty years. Registration,
    // update and transaction dates cluster in recent years.
    columnCheck: (f, hinted) => {
      if (hinted) return true;
      if (f.measures.length < 10) return false;
      const p10 = quantile(f.measures, 0.1);
      const p90 = quantile(f.measures, 0.9);
      return p10 <= f.today.year - 40 && p90 - p10 >= 20;
    },
  },
  // Sensitive categories that are not identifiers (PIPL art. 28, GB/T 35273-2020 annex B):
  // graded g4 (sensitive personal information) and suppressed in row access by default, since
  // no partial form of a diagnosis or a religion is safe to show. Vocabularies: src/rules/vocab.
  {
    ...base,
    id: 'ethnicity',
    name: { zh: '民族', en: 'ethnicity' },
    basis: 'GB/T 3304-1991 (56 ethnic groups)',
    formats: [],
    validate: (v) => ethnicityStrength(v) === 2,
    weak: (v) => ethnicityStrength(v) === 1,
    headerHints: { zh: ['民族', '族别'], en: ['ethnicity', 'ethnic', 'ethnic_group', 'mz', 'minzu'] },
    defaultGrade: 'g4',
    defaultMask: 'null',
  },
  {
    ...base,
    id: 'marital_status',
    name: { zh: '婚姻状况', en: 'marital status' },
    basis: 'GB/T 2261.2-2003',
    formats: [],
    validate: isMaritalStatus,
    headerHints: { zh: ['婚姻', '婚否', '婚史'], en: ['marital', 'marriage', 'marital_status', 'hyzk'] },
    defaultGrade: 'g4',
    defaultMask: 'null',
  },
  {
    ...base,
    id: 'religion',
    name: { zh: '宗教信仰', en: 'religious belief' },
    basis: 'Regulations on Religious Affairs (2017)',
    formats: [],
    validate: isReligion,
    headerHints: { zh: ['宗教', '信仰'], en: ['religion', 'religious', 'belief', 'faith', 'zjxy'] },
    defaultGrade: 'g4',
    defaultMask: 'null',
  },
  {
    ...base,
    id: 'health',
    name: { zh: '健康医疗信息', en: 'health information' },
    basis: 'ICD-10 (national clinical edition 2.0), National Immunization Program vaccines',
    formats: [],
    validate: (v) => healthStrength(v) === 2,
    weak: (v) => healthStrength(v) === 1,
    headerHints: {
      zh: [
        '诊断',
        '疾病',
        '病种',
        '病名',
        '病史',
        '既往史',
        '疫苗',
        '接种',
        '病情',
        '主诉',
        '健康状况',
        '病因',
      ],
      en: [
        'diagnosis',
        'disease',
        'icd',
        'icd10',
        'vaccine',
        'vaccination',
        'illness',
        'condition',
        'zd',
        'jbzd',
      ],
    },
    defaultGrade: 'g4',
    defaultMask: 'null',
  },
  {
    ...base,
    id: 'criminal_record',
    name: { zh: '犯罪记录', en: 'criminal record' },
    basis: 'Criminal Law of the PRC (charge names)',
    formats: [],
    validate: isCriminalRecord,
    headerHints: {
      zh: ['犯罪', '前科', '刑事', '罪名', '判决', '刑罚', '违法记录'],
      en: ['criminal', 'conviction', 'crime', 'offence', 'offense', 'fzjl'],
    },
    defaultGrade: 'g4',
    defaultMask: 'null',
  },
  {
    ...base,
    id: 'financial',
    name: { zh: '个人财产信息', en: 'personal financial information' },
    basis: 'GB/T 35273-2020 annex B (personal property information)',
    formats: [],
    // An amount says nothing by itself; only under a balance, income or tax header.
    validate: () => false,
    weak: isAmount,
    headerHints: {
      zh: [
        '余额',
        '收入',
        '工资',
        '薪资',
        '薪酬',
        '月薪',
        '年薪',
        '纳税',
        '税额',
        '个税',
        '存款',
        '负债',
        '资产',
        '缴存基数',
      ],
      en: ['balance', 'income', 'salary', 'wage', 'wages', 'tax', 'deposit', 'debt', 'assets', 'ye', 'gz'],
    },
    headerExclude: { zh: ['数量', '次数', '流量'], en: ['count', 'bytes'] },
    defaultGrade: 'g4',
    defaultMask: 'null',
  },
  {
    // A free-text column with personal data inside (备注, 事项说明): the scanner's free-text rule
    // (scan.ts) decides it, and its grade comes from the entities found, not from this default.
    // Its mask replaces each entity span and keeps the rest of the text.
    id: 'free_text',
    name: { zh: '含个人信息的自由文本', en: 'free text with personal data inside' },
    formats: [],
    columnKind: true,
    validate: () => false,
    headerHints: { zh: [], en: [] },
    defaultGrade: 'g3',
    defaultMask: 'redact_spans',
    minRatio: 1,
    minRatioWithHint: 1,
  },
];

/** The detectors the scanner runs on every value: the table without the kinds of column. */
export const VALUE_DETECTORS: readonly DetectorSpec[] = DETECTORS.filter((d) => !d.columnKind);

const BY_ID = new Map(DETECTORS.map((d) => [d.id, d]));

export function detectorById(id: DetectorId): DetectorSpec {
  const d = BY_ID.get(id);
  if (!d) throw new Error(`unknown detector: ${id}`);
  return d;
}

export function isDetectorId(value: unknown): value is DetectorId {
  return typeof value === 'string' && BY_ID.has(value as DetectorId);
}

/** Lowercase words of a header: snake_case, kebab-case, camelCase and CJK boundaries split. */
export function headerWords(header: string): string[] {
  return header
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

/**
 * The hint word of `header` that supports `detector`, or null. English hints match a run of
 * consecutive words written with or without separators (`id_no` matches `idNo`, `ID-No`, `idno`).
 */
export function headerHintFor(header: string, detector: DetectorSpec): string | null {
  const lower = header.toLowerCase();
  const words = headerWords(header);
  const runs = new Set<string>();
  for (let i = 0; i < words.length; i++) {
    let joined = '';
    for (let j = i; j < words.length && j < i + 4; j++) {
      joined += words[j];
      runs.add(joined);
    }
  }
  const excluded =
    (detector.headerExclude?.zh ?? []).some((w) => lower.includes(w)) ||
    (detector.headerExclude?.en ?? []).some((w) => words.includes(w));
  if (excluded) return null;
  for (const hint of detector.headerHints.zh) if (lower.includes(hint)) return hint;
  for (const hint of detector.headerHints.en) if (runs.has(hint.replaceAll('_', ''))) return hint;
  return null;
}

/** Whether the header speaks against the detector (see {@link DetectorSpec.headerContra}). */
export function headerContradicts(header: string, detector: DetectorSpec): boolean {
  if (!detector.headerContra) return false;
  const lower = header.toLowerCase();
  const words = headerWords(header);
  return (
    (detector.headerContra.zh ?? []).some((w) => lower.includes(w)) ||
    (detector.headerContra.en ?? []).some((w) => words.includes(w))
  );
}

/**
 * The grade a field is suggested: its detector's default grade, raised to the resource's grade
 * when the resource's metadata puts it higher ("grade up when in doubt"). A field without a
 * detector takes the resource's grade, or stays unassessed.
 */
export function suggestGrade(type: DetectorId | null, resourceGrade?: Grade): Grade {
  if (type === null) return resourceGrade ?? 'unassessed';
  const own = detectorById(type).defaultGrade;
  return resourceGrade === undefined ? own : highestGrade(own, resourceGrade);
}

/**
 * The default masking rule for row access to a field of this grade and type (REFERENCE.md §1):
 * core and important data are not served row by row, so suppressed; g4, g3 and unassessed get the
 * detector's mask, and suppression when no detector says what the values are; g2 and g1 are raw.
 */
export function defaultMaskFor(grade: Grade, type: DetectorId | null): string {
  const rank = gradeRank(grade);
  if (rank >= gradeRank('important')) return 'null';
  if (rank <= gradeRank('g2')) return 'none';
  return type === null ? 'null' : detectorById(type).defaultMask;
}
