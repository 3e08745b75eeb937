import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { base, Faker, type Randomizer, zh_CN } from '@faker-js/faker';
import { Mulberry32 } from '../core/random.ts';
import { luhnCheckDigit } from '../standards/luhn.ts';
import { countiesOf } from '../standards/region.ts';
import { makeResidentId } from '../standards/resident-id.ts';
import { makeUscc, USCC_ALPHABET } from '../standards/uscc.ts';
import { DEMO_CITY, DEMO_SEED } from './city.ts';
import { encodeGb18030 } from './gb18030.ts';
import { DEMO_DEFAULT_ROWS, type DemoResource, findDemoResource } from './resources.ts';

/**
 * Generated rows for the demo city's resources: deterministic for a seed, plausible to a reader
 * and valid to the validators of src/standards (ID numbers, credit codes, phones, bank cards,
 * plates). People, enterprises, schools and hospitals are numbered entities derived from
 * (seed, kind, number) alone, so tables refer to one another consistently: the person paying
 * social insurance is a resident of the residents table, the employer is in the enterprise
 * registry, the school a pupil enrols in is in the school list. Numbers that must be unique (ID
 * numbers, credit codes, plates) come from bijections of the entity number, never from chance.
 */

export type Cell = string | number | boolean | null;
export type DemoRow = Record<string, Cell>;

export interface DemoDataOptions {
  seed?: number;
  /** Rows of the residents and enterprise tables that other tables draw people and employers from. */
  residents?: number;
  enterprises?: number;
}

// ---------------------------------------------------------------- randomness

/** Murmur3-style mixing of integers into a 32-bit seed. */
function mix(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Mulberry32 as faker's randomizer: reseeding it per entity is cheap, unlike the Mersenne Twister. */
function seededRandomizer(): Randomizer {
  const generator = new Mulberry32();
  return {
    next: () => generator.next(),
    seed(seed) {
      generator.seed(Array.isArray(seed) ? mix(...seed) : seed);
    },
  };
}

class Rng {
  private readonly randomizer = seededRandomizer();
  readonly faker = new Faker({ locale: [zh_CN, base], randomizer: this.randomizer });

  reseed(...parts: number[]): this {
    this.randomizer.seed(mix(...parts));
    return this;
  }
  next(): number {
    return this.randomizer.next();
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  /** One of the keys, each as likely as its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    return this.weightedItem(Object.entries(weights) as Array<[K, number]>);
  }
  weightedItem<T>(items: ReadonlyArray<readonly [T, number]>): T {
    let total = 0;
    for (const [, w] of items) total += w;
    let r = this.next() * total;
    for (const [item, w] of items) {
      r -= w;
      if (r < 0) return item;
    }
    return items[items.length - 1]![0];
  }
  digits(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String(Math.floor(this.next() * 10));
    return s;
  }
  /** Normally distributed (Box–Muller), clamped to [min, max]. */
  normal(mean: number, sd: number, min: number, max: number): number {
    const z = Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
    return Math.min(max, Math.max(min, mean + z * sd));
  }
}

// Multiplication modulo m < 2^31 without leaving exact double arithmetic.
function mulmod(a: number, b: number, m: number): number {
  const hi = Math.floor(b / 65_536);
  return (((((a * hi) % m) * 65_536) % m) + a * (b % 65_536)) % m;
}
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** A bijection of [0, modulus): k ↦ a·k + c mod modulus with a coprime to the modulus. */
function permutation(modulus: number): (k: number) => number {
  let a = Math.floor(modulus * 0.618_033_988_7);
  while (gcd(a, modulus) !== 1) a++;
  return (k) => (mulmod(a, k % modulus, modulus) + 7_919) % modulus;
}

function base31(value: number, width: number): string {
  let s = '';
  for (let i = 0; i < width; i++) {
    s = USCC_ALPHABET[value % 31]! + s;
    value = Math.floor(value / 31);
  }
  return s;
}

// ---------------------------------------------------------------- calendar

const DAY_MS = 86_400_000;
const dayOf = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / DAY_MS;
const isoDay = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);
const isoMonth = (year: number, month: number) => `${year}-${String(month).padStart(2, '0')}-01`;
/** The demo city's data run up to this day, whatever the date of seeding: the seed decides everything. */
const LAST_DAY = dayOf('2026-02-28');

function yearsBetween(fromDay: number, toDay: number): number {
  const a = new Date(fromDay * DAY_MS);
  const b = new Date(toDay * DAY_MS);
  const years = b.getUTCFullYear() - a.getUTCFullYear();
  const beforeBirthday =
    b.getUTCMonth() < a.getUTCMonth() ||
    (b.getUTCMonth() === a.getUTCMonth() && b.getUTCDate() < a.getUTCDate());
  return beforeBirthday ? years - 1 : years;
}

/** Year and month `back` months before the last month of the data (wrapping after `window` months). */
function monthBack(back: number, window = 120): { year: number; month: number } {
  const last = new Date(LAST_DAY * DAY_MS);
  const total = last.getUTCFullYear() * 12 + last.getUTCMonth() - (back % window);
  return { year: Math.floor(total / 12), month: (total % 12) + 1 };
}

const timestamp = (day: number, hour: number, minute = 0, second = 0) =>
  `${isoDay(day)} ${[hour, minute, second].map((n) => String(n).padStart(2, '0')).join(':')}`;

const money = (n: number) => n.toFixed(2);

// ---------------------------------------------------------------- places

const COUNTIES = countiesOf(DEMO_CITY.regionCode);
const COUNTY_BY_CODE = new Map(COUNTIES.map((c) => [c.code, c]));
/** Relative population of the city's districts: the urban ones are larger. */
const COUNTY_WEIGHT: Record<string, number> = {
  '330102': 3,
  '330105': 3,
  '330106': 3,
  '330109': 3,
  '330110': 3,
};
const countyWeights = COUNTIES.map((c) => [c, COUNTY_WEIGHT[c.code] ?? 1] as const);
/** Birthplaces of people who moved to the city (real county codes of other provinces). */
const ELSEWHERE = ['340104', '360102', '410105', '320102', '420106', '430104', '510104', '330302'];

const STREET_ROOTS = [
  ...'和平 建设 人民 解放 文化 中山 新华 青年 环城 云岚 岚山 望湖 翠苑 锦绣 春晖 明月 清泉 兴业 振兴 科技'.split(
    ' ',
  ),
  ...'创业 学府 滨江 钱塘 湖滨 溪南 桂花 梧桐 枫林 玉泉 天目 凤起 秋涛 丰潭 古墩 星桥 湘湖 富春 南苑 北山'.split(
    ' ',
  ),
];
const STREET_SUFFIXES = ['路', '路', '街', '大道'];
const ESTATE_ROOTS = [
  '翠苑',
  '和园',
  '锦绣',
  '春晖',
  '金色',
  '阳光',
  '绿城',
  '桂语',
  '云栖',
  '湖畔',
  '紫荆',
  '蓝湾',
];
const ESTATE_SUFFIXES = ['花园', '家园', '小区', '公寓', '新村', '苑'];

function streetAddress(g: Rng, district: string): string {
  return `${district}${g.pick(STREET_ROOTS)}${g.pick(STREET_SUFFIXES)}${g.int(1, 999)}号`;
}
function homeAddress(g: Rng, district: string): string {
  return `${streetAddress(g, district)}${g.pick(ESTATE_ROOTS)}${g.pick(ESTATE_SUFFIXES)}${g.int(1, 36)}幢${g.int(1, 4)}单元${g.int(1, 32)}0${g.int(1, 4)}室`;
}

const BUS_LINES = 150;
const BUS_OPERATORS = [
  '云岚市公共交通集团有限公司',
  '云岚市萧山公共交通有限公司',
  '云岚市余杭公共交通有限公司',
];

const MOBILE_PREFIXES =
  '130 131 132 133 135 136 137 138 139 150 151 152 155 157 158 159 166 173 177 180 181 182 183 186 187 188 189 191 198 199'.split(
    ' ',
  );
const mobile = (g: Rng) => `${g.pick(MOBILE_PREFIXES)}${g.digits(8)}`;
/** Landlines keep the area code of the city whose division codes the demo borrows. */
const landline = (g: Rng) => `0571-${g.int(5, 8)}${g.digits(7)}`;

/** UnionPay debit cards of large banks: a real issuer prefix, 19 digits, Luhn check digit. */
const CARD_BINS = ['622202', '621700', '622848', '621661', '622588', '623058', '621226'];
function bankCard(g: Rng): string {
  const partial = `${g.pick(CARD_BINS)}${g.digits(12)}`;
  return partial + luhnCheckDigit(partial);
}

// ---------------------------------------------------------------- identity numbers

/**
 * Resident ID numbers without collisions: the i-th identity of a space takes its address code
 * from a slot list (weights by repetition) and its birth day and sequence number from a
 * bijection of its rank within that address code. Spaces with disjoint sequence ranges never
 * share a number; sex sets the parity of the sequence.
 */
class IdSpace {
  private readonly rank: number[];
  private readonly weight: number[];
  private readonly offset: number[];
  private readonly days: number;
  private readonly permute: (k: number) => number;

  constructor(
    private readonly slots: readonly string[],
    private readonly firstDay: number,
    lastDay: number,
    private readonly seqFrom: number,
    seqTo: number,
  ) {
    this.days = lastDay - firstDay + 1;
    const counts = new Map<string, number>();
    this.rank = slots.map((code) => {
      const n = counts.get(code) ?? 0;
      counts.set(code, n + 1);
      return n;
    });
    this.weight = slots.map((code) => counts.get(code)!);
    const modulus = this.days * (seqTo - seqFrom);
    this.offset = slots.map((code) => hashText(code) % modulus);
    this.permute = permutation(modulus);
  }

  private position(i: number): { slot: number; p: number } {
    const slot = i % this.slots.length;
    const k = Math.floor(i / this.slots.length) * this.weight[slot]! + this.rank[slot]!;
    // Offset per address code, so that the first people of each district are not born the same day.
    return { slot, p: this.permute(k + this.offset[slot]!) };
  }

  birthDay(i: number): number {
    return this.firstDay + (this.position(i).p % this.days);
  }

  at(i: number, male: boolean): { regionCode: string; birthDay: number; idNumber: string } {
    const { slot, p } = this.position(i);
    const birthDay = this.firstDay + (p % this.days);
    const seq = (this.seqFrom + Math.floor(p / this.days)) * 2 + (male ? 1 : 0);
    const regionCode = this.slots[slot]!;
    return { regionCode, birthDay, idNumber: makeResidentId(regionCode, isoDay(birthDay), seq) };
  }
}

const LOCAL_SLOTS = countyWeights.flatMap(([c, w]) => Array<string>(w).fill(c.code));
// Sequence ranges: residents 001–799, children 800–999.
const RESIDENT_IDS = new IdSpace(
  [...LOCAL_SLOTS, ...ELSEWHERE],
  dayOf('1940-01-01'),
  dayOf('2019-12-31'),
  1,
  400,
);
const PUPIL_IDS = new IdSpace(LOCAL_SLOTS, dayOf('2012-09-01'), dayOf('2019-08-31'), 400, 500);
const NEWBORN_IDS = new IdSpace(LOCAL_SLOTS, dayOf('2025-03-01'), LAST_DAY, 400, 500);

// ---------------------------------------------------------------- entities

export interface Person {
  name: string;
  surname: string;
  male: boolean;
  birthDay: number;
  idNumber: string;
  districtCode: string;
  district: string;
  address: string;
  mobile: string;
  bankCard: string;
}

export interface Enterprise {
  uscc: string;
  name: string;
  type: string;
  legalRepresentative: Person;
  capital: number;
  establishedDay: number;
  districtCode: string;
  district: string;
  address: string;
  scope: string;
  status: string;
  email: string;
}

interface Institution {
  uscc: string;
  name: string;
  district: string;
  address: string;
  phone: string;
}

const KIND = {
  person: 1,
  pupil: 2,
  newborn: 3,
  enterprise: 4,
  school: 5,
  medical: 6,
  elderly: 7,
  busLine: 8,
  table: 9,
};

const INDUSTRIES: ReadonlyArray<readonly [string, string]> = [
  ['网络科技', '技术服务、技术开发、技术咨询；软件开发；信息系统集成服务'],
  ['商贸', '日用百货、电子产品、服装鞋帽销售；货物进出口'],
  ['餐饮管理', '餐饮服务；食品经营；餐饮管理'],
  ['建设工程', '房屋建筑和市政基础设施项目工程总承包；建设工程施工'],
  ['物流', '道路货物运输（不含危险货物）；普通货物仓储服务'],
  ['医疗器械', '第二类医疗器械销售；医疗设备租赁'],
  ['文化传媒', '广告设计、代理、制作；组织文化艺术交流活动'],
  ['新能源科技', '太阳能发电技术服务；储能技术服务；新能源汽车换电设施销售'],
  ['食品', '食品生产；食品销售；农副产品销售'],
  ['物业管理', '物业管理；停车场服务；家政服务'],
  ['房地产开发', '房地产开发经营；住房租赁'],
  ['电子科技', '电子元器件制造；集成电路设计；电子产品销售'],
];
const BRAND_HEADS = [...'恒华瑞鼎汇锦远天嘉中星博润宏金永聚启卓云海同新方正东盛德创凯'];
const BRAND_TAILS = [...'信达丰盛通程航成禾科河泽图桥安力明越帆源泰隆昌和兴翔'];
const ENTERPRISE_TYPES = {
  '有限责任公司（自然人投资或控股）': 55,
  '有限责任公司（自然人独资）': 25,
  '有限责任公司（非自然人投资或控股的法人独资）': 12,
  '股份有限公司（非上市、自然人投资或控股）': 8,
};
const MAIL_DOMAINS = ['163.com', '126.com', 'qq.com', 'aliyun.com', 'sina.com', 'foxmail.com'];

const ORDINARY_PLATE_LETTERS = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const PLATE_CHARS = `${ORDINARY_PLATE_LETTERS}0123456789`;
const ORDINARY_PLATES = permutation(24 * 10_000 + 24 * 24 * 1_000);
const NEW_ENERGY_PLATES = permutation(2 * 34 * 10_000);

/** 浙A plates, unique per vehicle number: three in ten are new-energy plates (D electric, F hybrid). */
function plateOf(i: number): string {
  const newEnergy = i % 10 < 3;
  const k = newEnergy ? Math.floor(i / 10) * 3 + (i % 10) : Math.floor(i / 10) * 7 + (i % 10) - 3;
  if (newEnergy) {
    const n = NEW_ENERGY_PLATES(k);
    const pad = (x: number) => String(x % 10_000).padStart(4, '0');
    return `浙A${n < 340_000 ? 'D' : 'F'}${PLATE_CHARS[Math.floor(n / 10_000) % 34]}${pad(n)}`;
  }
  const n = ORDINARY_PLATES(k);
  if (n < 240_000)
    return `浙A${ORDINARY_PLATE_LETTERS[Math.floor(n / 10_000)]}${String(n % 10_000).padStart(4, '0')}`;
  const m = n - 240_000;
  const letters = `${ORDINARY_PLATE_LETTERS[Math.floor(m / 24_000)]}${ORDINARY_PLATE_LETTERS[Math.floor(m / 1_000) % 24]}`;
  return `浙A${String(m % 1_000).padStart(3, '0')}${letters}`;
}

const USCC_BODIES = permutation(31 ** 6);
const LICENCE_NUMBERS = permutation(100_000_000);
/** A credit code unique per (space, number): the organization code's first two characters name the space. */
function creditCode(space: string, authority: string, category: string, region: string, n: number): string {
  return makeUscc(authority, category, region, `${space}${base31(USCC_BODIES(n), 6)}`);
}

const countyName = (code: string) => COUNTY_BY_CODE.get(code)?.name ?? '';
/** Residents are drawn again and again by other tables; beyond this many, they are made anew each time. */
const PEOPLE_CACHED = 200_000;

/** The numbered people, enterprises and institutions of the demo city for one seed. */
class DemoCity {
  private readonly rngs = {
    person: new Rng(),
    sketch: new Rng(),
    enterprise: new Rng(),
    institution: new Rng(),
  };
  private readonly people = new Map<number, Person>();
  readonly residents: number;
  readonly enterprises: number;

  constructor(
    readonly seed: number,
    sizes: { residents: number; enterprises: number },
  ) {
    this.residents = Math.max(1, sizes.residents);
    this.enterprises = Math.max(1, sizes.enterprises);
  }

  private makePerson(kind: number, space: IdSpace, i: number, options: { surname?: string } = {}): Person {
    const g = this.rngs.person.reseed(this.seed, kind, i);
    // The first draw decides the sex: sexOf() repeats it without making the whole person.
    const male = g.chance(0.51);
    const { regionCode, birthDay, idNumber } = space.at(i, male);
    const districtCode =
      COUNTY_BY_CODE.has(regionCode) && g.chance(0.8) ? regionCode : g.weightedItem(countyWeights).code;
    const district = countyName(districtCode);
    const surname = options.surname ?? g.faker.person.lastName();
    return {
      name: surname + g.faker.person.firstName(male ? 'male' : 'female'),
      surname,
      male,
      birthDay,
      idNumber,
      districtCode,
      district,
      address: homeAddress(g, district),
      mobile: mobile(g),
      bankCard: bankCard(g),
    };
  }

  /** The i-th resident (row i of the residents table). */
  person(i: number): Person {
    let person = this.people.get(i);
    if (!person) {
      person = this.makePerson(KIND.person, RESIDENT_IDS, i);
      if (this.people.size < PEOPLE_CACHED) this.people.set(i, person);
    }
    return person;
  }

  /** Sex and birth day of the i-th resident, cheaply: what drawing people by age needs. */
  private sketch(i: number): { male: boolean; birthDay: number } {
    const male = this.rngs.sketch.reseed(this.seed, KIND.person, i).chance(0.51);
    return { male, birthDay: RESIDENT_IDS.birthDay(i) };
  }
  pupil(i: number): Person {
    return this.makePerson(KIND.pupil, PUPIL_IDS, i);
  }
  newborn(i: number, surname: string): Person {
    return this.makePerson(KIND.newborn, NEWBORN_IDS, i, { surname });
  }

  /** A resident drawn by `g` whose age on `day` is within [minAge, maxAge] (and of that sex, if given). */
  resident(g: Rng, minAge: number, maxAge: number, day = LAST_DAY, male?: boolean): Person {
    let j = g.int(0, this.residents - 1);
    // A small population may hold nobody who fits: then the last one drawn will do.
    for (let tries = 0; tries < 200; tries++) {
      const s = this.sketch(j);
      const age = yearsBetween(s.birthDay, day);
      if (age >= minAge && age <= maxAge && (male === undefined || s.male === male)) break;
      j = g.int(0, this.residents - 1);
    }
    return this.person(j);
  }

  /** The i-th enterprise (row i of the enterprise registry). */
  enterprise(i: number): Enterprise {
    const g = this.rngs.enterprise.reseed(this.seed, KIND.enterprise, i);
    const county = g.weightedItem(countyWeights);
    const [industry, scope] = g.pick(INDUSTRIES);
    const type = g.weighted(ENTERPRISE_TYPES);
    const suffix = type.startsWith('股份') ? '股份有限公司' : '有限公司';
    const establishedDay = LAST_DAY - Math.floor(g.next() ** 1.6 * 30 * 365);
    const status = g.weighted({ 存续: 85, 在业: 5, 注销: 7, 吊销: 3 });
    const legalRepresentative = this.resident(g, 22, 75);
    return {
      uscc: creditCode('MA', '9', '1', county.code, i),
      name: `${DEMO_CITY.name.slice(0, 2)}${g.pick(BRAND_HEADS)}${g.pick(BRAND_TAILS)}${industry}${suffix}`,
      type,
      legalRepresentative,
      capital: g.pick([10, 30, 50, 100, 200, 300, 500, 1000, 2000, 5000]),
      establishedDay,
      districtCode: county.code,
      district: county.name,
      address: `${streetAddress(g, county.name)}${g.int(1, 20)}幢${g.int(1, 18)}层${g.int(1, 30)}室`,
      scope,
      status,
      email: g.chance(0.6)
        ? `${g.int(10_000, 9_999_999_999)}@qq.com`
        : `service${g.digits(4)}@${g.pick(MAIL_DOMAINS)}`,
    };
  }

  randomEnterprise(g: Rng): Enterprise {
    return this.enterprise(g.int(0, this.enterprises - 1));
  }

  private institution(
    kind: number,
    space: string,
    i: number,
    category: string,
    name: (g: Rng, district: string) => string,
  ): Institution {
    const g = this.rngs.institution.reseed(this.seed, kind, i);
    const county = COUNTIES[i % COUNTIES.length]!;
    return {
      uscc: creditCode(space, '1', category, county.code, i),
      name: name(g, county.name),
      district: county.name,
      address: streetAddress(g, county.name),
      phone: landline(g),
    };
  }

  /** Schools: the first of each district are its larger primary schools. */
  school(i: number): Institution & { kind: string } {
    const kind = ['小学', '小学', '初级中学', '九年一贯制学校', '小学', '初级中学', '高级中学', '完全中学'][
      Math.floor(i / COUNTIES.length) % 8
    ]!;
    const label = {
      小学: '小学',
      初级中学: '中学',
      九年一贯制学校: '学校',
      高级中学: '高级中学',
      完全中学: '中学',
    }[kind]!;
    const school = this.institution(
      KIND.school,
      '46',
      i,
      '2',
      (g, district) => `${district}${g.pick(STREET_ROOTS)}${label}`,
    );
    return { ...school, kind };
  }

  /** Medical institutions: district hospitals first, then community health centres, then clinics. */
  medical(i: number): Institution & { category: string; level: string } {
    const tier = i < COUNTIES.length ? 0 : i < COUNTIES.length * 3 ? 1 : 2;
    const category = ['综合医院', '社区卫生服务中心', '诊所'][tier]!;
    const level = ['三级甲等', '未定级', '未定级'][tier]!;
    const institution = this.institution(KIND.medical, '47', i, '2', (g, district) =>
      tier === 0
        ? `${district}人民医院`
        : tier === 1
          ? `${district}${g.pick(STREET_ROOTS)}街道社区卫生服务中心`
          : `${g.faker.person.lastName()}${g.pick(['氏', ''])}${g.pick(['口腔', '中医', '内科', '皮肤科'])}诊所`,
    );
    return { ...institution, category, level: tier === 0 && i % 3 === 2 ? '二级甲等' : level };
  }

  busLine(line: number) {
    const g = this.rngs.institution.reseed(this.seed, KIND.busLine, line);
    const lineNo = line < 120 ? `${line + 1}` : `B${line - 119}`;
    const from = g.pick(STREET_ROOTS);
    const to = g.pick(STREET_ROOTS);
    return {
      lineNo,
      name: `${lineNo}路（${from}—${to === from ? '火车站' : to}）`,
      operator: BUS_OPERATORS[line % BUS_OPERATORS.length]!,
      length: g.int(8, 36),
      passengers: g.int(1_500, 22_000),
      trips: g.int(60, 220),
    };
  }

  elderly(i: number): Institution {
    return this.institution(
      KIND.elderly,
      '50',
      i,
      '2',
      (g, district) =>
        `${district}${g.pick(STREET_ROOTS)}${g.pick(['颐养院', '福利院', '养老服务中心', '康养中心', '老年公寓', '敬老院'])}`,
    );
  }
}

// ---------------------------------------------------------------- tables

type RowGenerator = (city: DemoCity, g: Rng, i: number) => DemoRow;

const sexLabel = (p: Person) => (p.male ? '男' : '女');

/** Tariffs of 2025 (share of the contribution base): employer and personal. */
const INSURANCE: ReadonlyArray<readonly [string, number, number]> = [
  ['企业职工基本养老保险', 0.14, 0.08],
  ['职工基本医疗保险', 0.095, 0.02],
  ['失业保险', 0.005, 0.005],
  ['工伤保险', 0.004, 0],
];

const DIAGNOSES: Record<string, ReadonlyArray<readonly [string, string]>> = {
  内科: [
    ['原发性高血压', 'I10'],
    ['2型糖尿病', 'E11.9'],
    ['急性上呼吸道感染', 'J06.9'],
    ['慢性胃炎', 'K29.5'],
  ],
  儿科: [
    ['急性支气管炎', 'J20.9'],
    ['急性上呼吸道感染', 'J06.9'],
    ['腹泻', 'K52.9'],
  ],
  外科: [
    ['腰椎间盘突出', 'M51.2'],
    ['软组织损伤', 'T14.0'],
  ],
  眼科: [
    ['屈光不正', 'H52.7'],
    ['结膜炎', 'H10.9'],
  ],
  口腔科: [['龋病', 'K02.9']],
  皮肤科: [['湿疹', 'L30.9']],
};

/** Individual income tax on a month's wages after the 5,000 yuan threshold (monthly bracket table). */
function wageTax(taxable: number): number {
  const brackets: ReadonlyArray<readonly [number, number, number]> = [
    [3_000, 0.03, 0],
    [12_000, 0.1, 210],
    [25_000, 0.2, 1_410],
    [35_000, 0.25, 2_660],
    [55_000, 0.3, 4_410],
    [80_000, 0.35, 7_160],
    [Number.POSITIVE_INFINITY, 0.45, 15_160],
  ];
  if (taxable <= 0) return 0;
  const [, rate, quick] = brackets.find(([limit]) => taxable <= limit)!;
  return taxable * rate - quick;
}

// Air quality index (HJ 633-2012): concentration breakpoints per pollutant for IAQI 0…500.
const IAQI = [0, 50, 100, 150, 200, 300, 400, 500];
const BREAKPOINTS: Record<'pm25' | 'pm10' | 'no2' | 'o3', number[]> = {
  pm25: [0, 35, 75, 115, 150, 250, 350, 500],
  pm10: [0, 50, 150, 250, 350, 420, 500, 600],
  no2: [0, 100, 200, 700, 1200, 2340, 3090, 3840],
  o3: [0, 160, 200, 300, 400, 800, 1000, 1200],
};
const POLLUTANT_NAMES = { pm25: '细颗粒物(PM2.5)', pm10: '颗粒物(PM10)', no2: '二氧化氮', o3: '臭氧1小时' };
const AQI_LEVELS: ReadonlyArray<readonly [number, string]> = [
  [50, '优'],
  [100, '良'],
  [150, '轻度污染'],
  [200, '中度污染'],
  [300, '重度污染'],
  [Number.POSITIVE_INFINITY, '严重污染'],
];

function iaqi(pollutant: keyof typeof BREAKPOINTS, c: number): number {
  const bp = BREAKPOINTS[pollutant];
  for (let k = 1; k < bp.length; k++) {
    if (c <= bp[k]!)
      return Math.ceil(((IAQI[k]! - IAQI[k - 1]!) / (bp[k]! - bp[k - 1]!)) * (c - bp[k - 1]!) + IAQI[k - 1]!);
  }
  return 500;
}

const STATIONS = COUNTIES.slice(0, 12).map((c, s) => ({
  name: `${c.name.replace(/[区县市]$/, '')}监测站`,
  code: `${1223 + s}A`,
  district: c.name,
  longitude: (119.2 + ((s * 37) % 12) * 0.09).toFixed(6),
  latitude: (29.6 + ((s * 53) % 12) * 0.07).toFixed(6),
}));

/** GDP of each district in a quarter of 2025 (100 million yuan), roughly by size. */
const GDP_BASE = COUNTIES.map((c) => (COUNTY_WEIGHT[c.code] ?? 1) * 160 + (hashText(c.code) % 90));

export const GENERATORS: Record<string, RowGenerator> = {
  residents(city, g, i) {
    const p = city.person(i);
    const age = yearsBetween(p.birthDay, LAST_DAY);
    return {
      id_number: p.idNumber,
      name: p.name,
      sex: sexLabel(p),
      birth_date: isoDay(p.birthDay),
      ethnicity: g.weighted({ 汉族: 960, 畲族: 12, 回族: 8, 土家族: 8, 苗族: 6, 满族: 3, 壮族: 3 }),
      education:
        age < 12
          ? '小学'
          : age < 15
            ? '初中'
            : g.weighted({
                初中: 25,
                高中: 18,
                中等职业教育: 8,
                大学专科: 17,
                大学本科: 24,
                硕士研究生: 6,
                博士研究生: 1,
                小学: 1,
              }),
      marital_status:
        age < 22
          ? '未婚'
          : g.weighted({ 未婚: age < 35 ? 40 : 6, 已婚: 80, 离婚: 6, 丧偶: age > 65 ? 20 : 1 }),
      district_code: p.districtCode,
      district: p.district,
      address: p.address,
      mobile: age < 12 ? null : p.mobile,
      registered_on: isoDay(Math.max(p.birthDay + g.int(0, 60), LAST_DAY - g.int(0, 20 * 365))),
    };
  },

  vehicles(city, g, i) {
    const owner = city.resident(g, 20, 80);
    const fuelIndex = i % 10 < 3 ? 1 : 0;
    const [fuel, brand] =
      fuelIndex === 1
        ? g.pick([
            ['纯电动', g.pick(['比亚迪牌BYD7005BEV', '特斯拉牌TSL7000BEVBR0', '小鹏牌NHQ7000BEVGA'])],
            ['插电式混合动力', g.pick(['比亚迪牌BYD6470ST6HEV', '理想牌LXA6500SHEVX1'])],
          ])
        : [
            '汽油',
            g.pick([
              '大众牌SVW71420BJ',
              '丰田牌TV7152FLV',
              '本田牌HG7154BAC6',
              '吉利牌JL7152L17',
              '别克牌SGM7151LAT',
            ]),
          ];
    const registered = LAST_DAY - g.int(10, 15 * 365);
    return {
      plate: plateOf(i),
      vehicle_type: g.weighted({
        小型普通客车: 86,
        小型轿车: 6,
        轻型普通货车: 5,
        大型普通客车: 1,
        重型厢式货车: 2,
      }),
      brand,
      color: g.pick(['白', '黑', '灰', '银', '蓝', '红']),
      fuel,
      use_nature: g.weighted({ 非营运: 92, 预约出租客运: 4, 货运: 3, 公路客运: 1 }),
      first_registered_on: isoDay(registered),
      owner_name: owner.name,
      owner_id_number: owner.idNumber,
      owner_mobile: owner.mobile,
      inspection_valid_until: isoDay(LAST_DAY + g.int(-60, 2 * 365)),
    };
  },

  low_income(city, g, i) {
    const head = city.resident(g, 30, 86);
    const size = Number(g.weighted({ 1: 35, 2: 30, 3: 20, 4: 10, 5: 5 }));
    // 2025 standard 1,258 yuan per person and month, less what the family earns.
    const allowance = size * 1_258 - g.int(0, size * 500);
    return {
      certificate_no: `DB${head.districtCode}${String(i + 1).padStart(6, '0')}`,
      head_name: head.name,
      head_id_number: head.idNumber,
      family_size: size,
      monthly_allowance: money(allowance),
      district: head.district,
      address: head.address,
      bank_account: head.bankCard,
      mobile: head.mobile,
      approved_on: isoDay(LAST_DAY - g.int(15, 8 * 365)),
    };
  },

  elderly_care(city, g, i) {
    const home = city.elderly(i);
    const beds = g.int(3, 60) * 10;
    const isPublic = g.chance(0.4);
    return {
      uscc: home.uscc,
      name: home.name,
      ownership: isPublic ? g.pick(['公办', '公建民营']) : '民办',
      district: home.district,
      address: home.address,
      beds,
      residents: Math.round(beds * g.normal(0.72, 0.12, 0.3, 0.98)),
      medical_care: g.chance(0.55),
      rating: g.weighted({ 一级: 10, 二级: 25, 三级: 30, 四级: 12, 五级: 5, 未评定: 18 }),
      phone: home.phone,
    };
  },

  social_insurance(city, g, i) {
    const { year, month } = monthBack(Math.floor(i / 97), 36);
    const payDay = dayOf(isoMonth(year, month));
    const person = city.resident(g, 18, 60, payDay);
    const employer = city.randomEnterprise(g);
    const [type, employerRate, personalRate] = INSURANCE[i % INSURANCE.length]!;
    // 2025 bounds of the contribution base in the province: 4,462 to 24,930 yuan a month.
    const contributionBase = Math.round(4_462 + g.next() ** 2.2 * (24_930 - 4_462));
    return {
      record_no: `SB${year}${String(month).padStart(2, '0')}${String(i + 1).padStart(9, '0')}`,
      id_number: person.idNumber,
      name: person.name,
      employer: employer.name,
      employer_uscc: employer.uscc,
      insurance_type: type,
      pay_month: isoDay(payDay),
      contribution_base: money(contributionBase),
      employer_amount: money(contributionBase * employerRate),
      personal_amount: money(contributionBase * personalRate),
      card_account: person.bankCard,
      credited_on: isoDay(payDay + 30 + g.int(5, 25)),
    };
  },

  outpatient_stats(city, g, i) {
    const institutions = Math.min(40, COUNTIES.length * 3);
    const unit = city.medical(i % institutions);
    const { year, month } = monthBack(Math.floor(i / institutions));
    const hospital = unit.category === '综合医院';
    const visits = hospital ? g.int(60_000, 260_000) : g.int(6_000, 40_000);
    return {
      institution: unit.name,
      institution_uscc: unit.uscc,
      level: unit.level,
      district: unit.district,
      stat_month: isoMonth(year, month),
      outpatient_visits: visits,
      emergency_visits: Math.round(visits * g.normal(hospital ? 0.11 : 0.02, 0.02, 0, 0.3)),
      discharged: hospital ? g.int(2_000, 9_000) : 0,
      avg_outpatient_cost: money(hospital ? g.normal(320, 45, 180, 520) : g.normal(150, 25, 80, 260)),
      avg_stay_days: hospital ? g.normal(7.2, 1, 4.5, 11).toFixed(1) : null,
    };
  },

  medical_institutions(city, g, i) {
    const unit = city.medical(i);
    const beds =
      unit.category === '综合医院' ? g.int(30, 180) * 10 : unit.category === '诊所' ? 0 : g.int(0, 6) * 10;
    return {
      uscc: unit.uscc,
      name: unit.name,
      category: unit.category,
      level: unit.level,
      ownership: unit.category === '诊所' ? '私营' : '公立',
      district: unit.district,
      address: unit.address,
      beds,
      physicians:
        unit.category === '综合医院' ? Math.round(beds * g.normal(0.45, 0.08, 0.2, 0.8)) : g.int(1, 40),
      phone: unit.phone,
    };
  },

  birth_certificates(city, g, i) {
    const father = city.resident(g, 24, 45, LAST_DAY, true);
    const mother = city.resident(g, 22, 42, LAST_DAY, false);
    const baby = city.newborn(i, father.surname);
    const weeks = Math.round(g.normal(39, 1.2, 32, 42));
    return {
      certificate_no: `Q33${String(USCC_BODIES(i) % 1_000_000_000).padStart(9, '0')}`,
      baby_name: baby.name,
      baby_sex: sexLabel(baby),
      born_at: timestamp(baby.birthDay, g.int(0, 23), g.int(0, 59)),
      weight_g: Math.round(g.normal(3_300 - (39 - weeks) * 180, 380, 1_500, 4_800)),
      length_cm: g.normal(50, 1.8, 42, 56).toFixed(1),
      gestation_weeks: weeks,
      mother_name: mother.name,
      mother_id_number: mother.idNumber,
      father_name: father.name,
      father_id_number: father.idNumber,
      issued_on: isoDay(baby.birthDay + g.int(1, 4)),
    };
  },

  outpatient_records(city, g, i) {
    const day = LAST_DAY - Math.floor(i / 40);
    const patient = city.resident(g, 0, 100, day);
    const age = yearsBetween(patient.birthDay, day);
    const department =
      age < 14 ? '儿科' : g.weighted({ 内科: 50, 外科: 18, 眼科: 12, 口腔科: 10, 皮肤科: 10 });
    const [diagnosis, icd10] = g.pick(DIAGNOSES[department]!);
    const total = g.normal(260, 150, 25, 1_800);
    const insured = total * g.normal(0.62, 0.1, 0.3, 0.9);
    return {
      visit_no: `MZ${isoDay(day).replaceAll('-', '')}${String(i + 1).padStart(8, '0')}`,
      patient_name: patient.name,
      patient_id_number: patient.idNumber,
      sex: sexLabel(patient),
      age,
      department,
      diagnosis,
      icd10,
      visited_at: timestamp(day, g.int(8, 16), g.int(0, 59), g.int(0, 59)),
      total_fee: money(total),
      insurance_paid: money(insured),
      self_paid: money(Number(money(total)) - Number(money(insured))),
      mobile: age < 14 ? null : patient.mobile,
    };
  },

  school_enrollment(city, g, i) {
    const pupil = city.pupil(i);
    const born = new Date(pupil.birthDay * DAY_MS);
    // School year starts in September: children born after 31 August start a year later.
    const primaryYear = born.getUTCFullYear() + (born.getUTCMonth() >= 8 ? 7 : 6);
    const junior = primaryYear + 6 <= 2025;
    const guardian = city.resident(g, 26, 55);
    const schools = Math.max(COUNTIES.length * 8, 1);
    const kinds = junior ? ['初级中学', '九年一贯制学校', '完全中学'] : ['小学', '九年一贯制学校'];
    let school = city.school(g.int(0, schools - 1));
    for (let tries = 0; tries < 30 && !kinds.includes(school.kind); tries++)
      school = city.school(g.int(0, schools - 1));
    return {
      student_no: `G${pupil.idNumber}`,
      student_name: guardian.surname + pupil.name.slice(pupil.surname.length),
      id_number: pupil.idNumber,
      sex: sexLabel(pupil),
      birth_date: isoDay(pupil.birthDay),
      school: school.name,
      stage: junior ? '初中' : '小学',
      enroll_year: junior ? primaryYear + 6 : primaryYear,
      enroll_route: g.weighted({ 学区划片: 70, 随迁子女积分入学: 18, 民办学校摇号: 12 }),
      household_district: pupil.district,
      guardian_name: guardian.name,
      guardian_mobile: guardian.mobile,
      address: guardian.address,
    };
  },

  schools(city, g, i) {
    const school = city.school(i);
    const classes = school.kind === '小学' ? g.int(12, 48) : g.int(9, 36);
    const students = classes * g.int(36, 45);
    return {
      school_code: `21330${String(10_000 + ((i * 7_919) % 90_000)).padStart(5, '0')}`,
      name: school.name,
      kind: school.kind,
      sponsor: g.chance(0.88) ? '地方教育部门' : '民办',
      district: school.district,
      address: school.address,
      students,
      teachers: Math.round(students / g.normal(14, 2, 9, 19)),
      classes,
      founded: g.int(1905, 2022),
      phone: school.phone,
    };
  },

  enterprises(city, _g, i) {
    const e = city.enterprise(i);
    return {
      uscc: e.uscc,
      name: e.name,
      type: e.type,
      legal_representative: e.legalRepresentative.name,
      registered_capital: money(e.capital),
      established_on: isoDay(e.establishedDay),
      authority: `${DEMO_CITY.name}${e.district}市场监督管理局`,
      district: e.district,
      address: e.address,
      business_scope: e.scope,
      status: e.status,
      email: e.email,
    };
  },

  business_licences(city, g, i) {
    const e = city.enterprise(i);
    return {
      licence_no: `${e.districtCode}6${String(LICENCE_NUMBERS(i)).padStart(8, '0')}`,
      uscc: e.uscc,
      name: e.name,
      type: e.type,
      legal_representative: e.legalRepresentative.name,
      registered_capital: money(e.capital),
      established_on: isoDay(e.establishedDay),
      address: e.address,
      issued_on: isoDay(Math.min(LAST_DAY, e.establishedDay + g.int(0, 3 * 365))),
      authority: `${DEMO_CITY.name}${e.district}市场监督管理局`,
      status: e.status === '存续' || e.status === '在业' ? '有效' : '注销',
    };
  },

  property_registration(city, g, i) {
    const owner = city.resident(g, 22, 86);
    const registered = LAST_DAY - g.int(1, 15 * 365);
    const year = new Date(registered * DAY_MS).getUTCFullYear();
    const usage = g.weighted({ 住宅: 82, 商业: 8, 办公: 6, 工业: 4 });
    return {
      certificate_no: `浙(${year})${DEMO_CITY.name}不动产权第${String(i + 1).padStart(7, '0')}号`,
      unit_no: `${owner.districtCode}${g.digits(6)}GB${g.digits(5)}F${g.digits(8)}`,
      owner_name: owner.name,
      owner_id_number: owner.idNumber,
      location: owner.address,
      usage,
      floor_area: money(usage === '住宅' ? g.normal(96, 32, 35, 280) : g.normal(180, 90, 30, 2_000)),
      right_type: '国有建设用地使用权/房屋所有权',
      co_ownership: g.weighted({ 单独所有: 45, 共同共有: 48, 按份共有: 7 }),
      registered_on: isoDay(registered),
    };
  },

  housing_contracts(city, g, i) {
    const developer = city.randomEnterprise(g);
    const buyer = city.resident(g, 22, 70);
    const project = `${g.pick(ESTATE_ROOTS)}${g.pick(['府', '公馆', '云庐', '名邸', '雅园', '湾'])}`;
    const area = g.normal(105, 28, 45, 240);
    const unitPrice = g.normal(32_000, 9_000, 14_000, 78_000);
    const filed = LAST_DAY - Math.floor(i / 12);
    return {
      contract_no: `YLWQ${isoDay(filed).slice(0, 4)}${String(i + 1).padStart(7, '0')}`,
      project,
      developer: developer.name,
      developer_uscc: developer.uscc,
      location: `${developer.district}${project}${g.int(1, 24)}幢${g.int(1, 3)}单元${g.int(2, 33)}0${g.int(1, 4)}室`,
      floor_area: money(area),
      unit_price: money(unitPrice),
      total_price: money(Number(money(area)) * Number(money(unitPrice))),
      buyer_name: buyer.name,
      buyer_id_number: buyer.idNumber,
      buyer_mobile: buyer.mobile,
      filed_on: isoDay(filed),
    };
  },

  bus_ridership(city, g, i) {
    const line = city.busLine(i % BUS_LINES);
    const day = LAST_DAY - (Math.floor(i / BUS_LINES) % 3_650);
    const weekday = new Date(day * DAY_MS).getUTCDay();
    const scale = weekday === 0 || weekday === 6 ? 0.78 : 1;
    const passengers = Math.round(line.passengers * scale * g.normal(1, 0.08, 0.6, 1.4));
    const cash = Math.round(passengers * g.normal(0.04, 0.01, 0, 0.1));
    const cards = Math.round(passengers * g.normal(0.34, 0.05, 0.1, 0.6));
    const trips = Math.round(line.trips * (scale === 1 ? 1 : 0.85));
    const length = line.length;
    return {
      line_no: line.lineNo,
      line_name: line.name,
      operator: line.operator,
      run_date: isoDay(day),
      passengers,
      trips,
      mileage_km: (trips * length * g.normal(1, 0.02, 0.9, 1.1)).toFixed(1),
      card_taps: cards,
      qr_scans: passengers - cards - cash,
      cash_fares: cash,
    };
  },

  air_quality(_city, g, i) {
    const station = STATIONS[i % STATIONS.length]!;
    const hoursBack = Math.floor(i / STATIONS.length) % (5 * 365 * 24);
    const day = LAST_DAY - Math.floor(hoursBack / 24);
    const hour = 23 - (hoursBack % 24);
    const month = new Date(day * DAY_MS).getUTCMonth();
    // Winter haze, summer ozone, traffic peaks in the morning and evening.
    const winter = Math.cos(((month + 0.5) / 12) * 2 * Math.PI);
    const peak = hour === 8 || hour === 9 || hour === 18 || hour === 19 ? 1.25 : 1;
    const pm25 = Math.round(g.normal(38 + 22 * winter, 14, 3, 260) * peak);
    const pm10 = Math.round(pm25 * g.normal(1.55, 0.2, 1.05, 2.6));
    const no2 = Math.round(g.normal(32 + 10 * winter, 12, 3, 160) * peak);
    const daylight = Math.max(0, Math.sin(((hour - 6) / 14) * Math.PI));
    const o3 = Math.round(g.normal(40 + 90 * daylight * (1 - 0.6 * winter), 18, 2, 320));
    const values = { pm25, pm10, no2, o3 };
    let aqi = 0;
    let primary: keyof typeof values = 'pm25';
    for (const key of Object.keys(values) as Array<keyof typeof values>) {
      const index = iaqi(key, values[key]);
      if (index > aqi) {
        aqi = index;
        primary = key;
      }
    }
    return {
      station: station.name,
      station_code: station.code,
      district: station.district,
      longitude: station.longitude,
      latitude: station.latitude,
      observed_at: timestamp(day, hour),
      aqi,
      pm25,
      pm10,
      so2: g.int(3, 14),
      no2,
      o3,
      co: g.normal(0.7 + 0.2 * winter, 0.15, 0.2, 2.5).toFixed(1),
      primary_pollutant: aqi > 50 ? POLLUTANT_NAMES[primary] : '—',
      quality_level: AQI_LEVELS.find(([limit]) => aqi <= limit)![1],
      exceeded: aqi > 100,
    };
  },

  taxpayer_credit(city, g, i) {
    const e = city.enterprise(i % city.enterprises);
    const year = 2025 - (Math.floor(i / city.enterprises) % 10);
    const level = g.weighted({ A: 15, B: 60, M: 15, C: 7, D: 3 });
    const score = {
      A: g.normal(94, 3, 90, 100),
      B: g.normal(80, 5, 70, 89.9),
      M: g.normal(78, 6, 70, 89.9),
      C: g.normal(55, 8, 40, 69.9),
      D: 0,
    }[level];
    return {
      taxpayer_id: e.uscc,
      name: e.name,
      legal_representative: e.legalRepresentative.name,
      tax_office: `国家税务总局${DEMO_CITY.name}${e.district}税务局`,
      year,
      credit_level: level,
      score: score.toFixed(1),
    };
  },

  income_tax(city, g, i) {
    const { year, month } = monthBack(Math.floor(i / 120), 36);
    const period = dayOf(isoMonth(year, month));
    const person = city.resident(g, 18, 65, period);
    const agent = city.randomEnterprise(g);
    const item = g.weighted({ '工资、薪金所得': 88, 劳务报酬所得: 9, 稿酬所得: 2, 特许权使用费所得: 1 });
    const income = Math.round(g.normal(9_800, 6_500, 2_500, 90_000));
    const deductions = item === '工资、薪金所得' ? Math.min(income, 24_930) * 0.105 : 0;
    const tax =
      item === '工资、薪金所得'
        ? wageTax(income - 5_000 - deductions - g.pick([0, 1_000, 2_000, 3_000]))
        : Math.max(0, (income - 800) * (income > 4_000 ? 0.8 : 1) * (item === '稿酬所得' ? 0.7 : 1) * 0.2);
    return {
      record_no: `GS${year}${String(month).padStart(2, '0')}${String(i + 1).padStart(10, '0')}`,
      id_number: person.idNumber,
      name: person.name,
      withholding_agent: agent.name,
      agent_tax_id: agent.uscc,
      income_item: item,
      period: isoDay(period),
      income: money(income),
      special_deductions: money(deductions),
      tax_paid: money(tax),
      filed_on: isoDay(period + 31 + g.int(1, 14)),
    };
  },

  district_gdp(_city, g, i) {
    const county = COUNTIES[i % COUNTIES.length]!;
    const back = Math.floor(i / COUNTIES.length) % 80;
    const quarterIndex = 2025 * 4 + 3 - back;
    const year = Math.floor(quarterIndex / 4);
    const quarter = (quarterIndex % 4) + 1;
    // Each year about 6% smaller going back; the fourth quarter is the largest.
    const gdp =
      GDP_BASE[i % COUNTIES.length]! * 0.94 ** (2025 - year) * [0.22, 0.24, 0.25, 0.29][quarter - 1]! * 4;
    const primary = gdp * g.normal(0.03, 0.015, 0.005, 0.12);
    const secondary = gdp * g.normal(0.32, 0.08, 0.12, 0.55);
    return {
      district_code: county.code,
      district: county.name,
      quarter: `${year}年第${quarter}季度`,
      quarter_end: isoDay(
        dayOf(isoMonth(year + (quarter === 4 ? 1 : 0), quarter === 4 ? 1 : quarter * 3 + 1)) - 1,
      ),
      gdp: money(
        Number(money(primary)) + Number(money(secondary)) + Number(money(gdp - primary - secondary)),
      ),
      primary_industry: money(primary),
      secondary_industry: money(secondary),
      tertiary_industry: money(gdp - primary - secondary),
      growth_pct: g.normal(5.6, 1.4, 0.8, 10.5).toFixed(1),
    };
  },
};

/** Table sizes other tables draw from, when a load does not say: the first version's rows. */
function defaultSizes(): { residents: number; enterprises: number } {
  return {
    residents: findDemoResource('residents')?.rows ?? DEMO_DEFAULT_ROWS,
    enterprises: findDemoResource('enterprises')?.rows ?? DEMO_DEFAULT_ROWS,
  };
}

/** The rows of one demo resource, in field order; the same seed and sizes give the same rows. */
export function* demoRows(
  resource: DemoResource,
  count: number,
  options: DemoDataOptions = {},
): Generator<DemoRow> {
  const generate = GENERATORS[resource.key];
  if (!generate) throw new Error(`no generator for demo resource ${resource.key}`);
  const seed = options.seed ?? DEMO_SEED;
  const sizes = defaultSizes();
  const city = new DemoCity(seed, {
    residents: options.residents ?? sizes.residents,
    enterprises: options.enterprises ?? sizes.enterprises,
  });
  const g = new Rng().reseed(seed, KIND.table, hashText(resource.key));
  for (let i = 0; i < count; i++) yield generate(city, g, i);
}

function csvCell(value: Cell): string {
  if (value === null) return '';
  if (typeof value === 'boolean') return value ? '是' : '否';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * Writes a demo resource's rows as a CSV file with the fields' Chinese labels as header, in the
 * resource's encoding (UTF-8 or GB18030), streaming: a million rows never sit in memory.
 */
export async function writeDemoCsv(
  path: string,
  resource: DemoResource,
  count: number,
  options: DemoDataOptions = {},
): Promise<void> {
  const encode = resource.encoding === 'gb18030' ? encodeGb18030 : (text: string) => Buffer.from(text);
  const out = createWriteStream(path);
  const failed = once(out, 'error').then(([error]) => {
    throw error;
  });
  const write = async (text: string) => {
    if (!out.write(encode(text))) await Promise.race([once(out, 'drain'), failed]);
  };
  const names = resource.fields.map((f) => f.name);
  let chunk = `${resource.fields.map((f) => csvCell(f.label)).join(',')}\n`;
  for (const row of demoRows(resource, count, options)) {
    chunk += `${names.map((name) => csvCell(row[name] ?? null)).join(',')}\n`;
    if (chunk.length >= 256 * 1024) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
  out.end();
  await Promise.race([once(out, 'finish'), failed]);
}
