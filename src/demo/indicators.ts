import type { Ctx } from '../core/context.ts';
import { withTx } from '../core/db.ts';
import { Mulberry32 } from '../core/random.ts';
import * as identity from '../identity/service.ts';
import * as evaluation from '../indicators/evaluation.ts';
import * as forms from '../indicators/forms.ts';
import * as dictionary from '../indicators/service.ts';
import type { DataType, Level } from '../indicators/store.ts';
import { countiesOf } from '../standards/region.ts';
import { makeUscc } from '../standards/uscc.ts';
import { DEMO_CITY, DEMO_SEED, stewardUsername } from './city.ts';
import { actAs } from './support.ts';

/**
 * The demo city's one-form reporting (一表通, issue #23), the way Jiangxi's 一表同享 came about
 * (reported forms 91 → 39, indicators 1,849 → 904): last year every department sent the
 * communities its own yearly forms, asking the same figures again under its own indicator codes;
 * the data bureau's duplicate detection finds the departments' twin indicators and merges them,
 * two figures the departments' systems already hold are retired, and this year's catalogue asks
 * each remaining figure once, on three merged forms. A few communities of 西湖区 report through
 * the sign-off chain (town skipped, district signs, the department accepts; one returned), and an
 * evaluation index ranks the city's districts over three years on platform activity and the
 * statistics bureau's yearly figures. Everything goes through the services as the account whose
 * step it is, in one transaction: a start that dies halfway leaves nothing, and seeding again
 * finds the index (made last) and adds nothing.
 */

export const BEFORE_YEAR = 2025;
export const AFTER_YEAR = 2026;
export const EVALUATION_YEARS = [2024, 2025, 2026] as const;
export const DEMO_INDEX = 'YL-GOV-DIGITAL';

/** Signs reports off at 西湖区 (330106): the only staffed division between a community and the city. */
export const DISTRICT_STEWARD = stewardUsername('xihu');
/** Reports for the communities of 西湖区. */
export const COMMUNITY_REPORTER = 'reporter.xihu';
const DISTRICT = '330106';

interface DemoIndicator {
  code: string;
  nameZh: string;
  nameEn: string;
  /** The organization key (city.ts) of the owning department. */
  owner: string;
  definition: string;
  unit: string;
  dataType?: DataType;
  /** The range a demo figure is drawn from. */
  range: [number, number];
  /** A department's twin of this indicator: merged into it by the data bureau. */
  duplicateOf?: string;
  /** Dropped from this year's catalogue: the department's own system holds the figure. */
  retired?: boolean;
}

const pct = { dataType: 'percent' as const, unit: '%' };

/** The grassroots dictionary: yearly figures of a community, by the department that defined them. */
export const DEMO_INDICATORS: DemoIndicator[] = [
  // 民政局
  {
    code: 'CIV-POP',
    owner: 'civil',
    nameZh: '常住人口',
    nameEn: 'Resident population',
    unit: '人',
    definition: '本社区内居住半年以上的常住人口总数',
    range: [2500, 9000],
  },
  {
    code: 'CIV-HH',
    owner: 'civil',
    nameZh: '常住户数',
    nameEn: 'Resident households',
    unit: '户',
    definition: '本社区常住人口的家庭户数合计',
    range: [900, 3200],
  },
  {
    code: 'CIV-AGED60',
    owner: 'civil',
    nameZh: '60岁以上人口',
    nameEn: 'Residents aged 60 and over',
    unit: '人',
    definition: '本社区常住人口中年满六十周岁及以上的老年人数',
    range: [500, 2200],
  },
  {
    code: 'CIV-DIBAO',
    owner: 'civil',
    nameZh: '低保户数',
    nameEn: 'Minimum-living-allowance households',
    unit: '户',
    definition: '享受城乡居民最低生活保障待遇的家庭户数',
    range: [8, 60],
  },
  {
    code: 'CIV-TEKUN',
    owner: 'civil',
    nameZh: '特困供养人数',
    nameEn: 'People in extreme-poverty support',
    unit: '人',
    definition: '纳入特困人员救助供养范围的人员',
    range: [1, 12],
  },
  {
    code: 'CIV-DISABLED',
    owner: 'civil',
    nameZh: '残疾人数',
    nameEn: 'Registered disabled residents',
    unit: '人',
    definition: '持有第二代残疾人证的常住居民人数',
    range: [40, 180],
  },
  {
    code: 'CIV-GRID',
    owner: 'civil',
    nameZh: '网格员数',
    nameEn: 'Grid workers',
    unit: '人',
    definition: '本社区配备的专职网格员人数',
    range: [6, 20],
  },
  {
    code: 'CIV-VOLUNTEER',
    owner: 'civil',
    nameZh: '注册志愿者数',
    nameEn: 'Registered volunteers',
    unit: '人',
    definition: '在志愿服务信息系统登记注册的志愿者',
    range: [150, 900],
    retired: true,
  },
  {
    code: 'CIV-ELDERCARE',
    owner: 'civil',
    nameZh: '居家养老服务对象数',
    nameEn: 'Home elderly-care recipients',
    unit: '人',
    definition: '接受上门助餐助洁等居家养老服务的老人',
    range: [30, 240],
  },
  // 公安局
  {
    code: 'PSB-POP',
    owner: 'psb',
    nameZh: '常住人口数',
    nameEn: 'Resident population (police)',
    unit: '人',
    definition: '本社区内居住半年以上的常住人口数',
    range: [2500, 9000],
    duplicateOf: 'CIV-POP',
  },
  {
    code: 'PSB-FLOAT',
    owner: 'psb',
    nameZh: '流动人口数',
    nameEn: 'Migrant population',
    unit: '人',
    definition: '办理居住登记或居住证的外来流动人员',
    range: [300, 3000],
  },
  {
    code: 'PSB-GRID',
    owner: 'psb',
    nameZh: '专职网格员数',
    nameEn: 'Grid workers (police)',
    unit: '人',
    definition: '本社区配备专职网格员人数',
    range: [6, 20],
    duplicateOf: 'CIV-GRID',
  },
  {
    code: 'PSB-FIRECHECK',
    owner: 'psb',
    nameZh: '消防检查次数',
    nameEn: 'Fire-safety inspections',
    unit: '次',
    definition: '年内对沿街商铺和出租房开展消防安全检查的次数',
    range: [40, 260],
  },
  {
    code: 'PSB-FIREFIX',
    owner: 'psb',
    nameZh: '消防隐患整改数',
    nameEn: 'Fire hazards corrected',
    unit: '处',
    definition: '检查发现并已整改完毕的火灾隐患',
    range: [5, 80],
  },
  {
    code: 'PSB-DISPUTE',
    owner: 'psb',
    nameZh: '矛盾纠纷调处数',
    nameEn: 'Disputes mediated',
    unit: '件',
    definition: '人民调解委员会受理且调解成功的矛盾纠纷',
    range: [10, 120],
  },
  {
    code: 'PSB-CAMERA',
    owner: 'psb',
    nameZh: '公共视频点位数',
    nameEn: 'Public video points',
    unit: '个',
    definition: '接入雪亮工程治安防控平台的视频监控点位',
    range: [40, 300],
    retired: true,
  },
  // 卫生健康委员会
  {
    code: 'HLT-AGED60',
    owner: 'health',
    nameZh: '老年人口数',
    nameEn: 'Elderly residents (health)',
    unit: '人',
    definition: '本社区常住人口中年满六十周岁及以上老年人数',
    range: [500, 2200],
    duplicateOf: 'CIV-AGED60',
  },
  {
    code: 'HLT-FAMDOC',
    owner: 'health',
    nameZh: '家庭医生签约人数',
    nameEn: 'Family-doctor contracts',
    unit: '人',
    definition: '与社区卫生服务中心签订家庭医生服务协议的居民',
    range: [800, 4000],
  },
  {
    code: 'HLT-CHRONIC',
    owner: 'health',
    nameZh: '慢病规范管理人数',
    nameEn: 'Chronic-disease patients managed',
    unit: '人',
    definition: '纳入高血压糖尿病规范化健康管理的患者',
    range: [300, 1500],
  },
  {
    code: 'HLT-BIRTH',
    owner: 'health',
    nameZh: '出生人数',
    nameEn: 'Births',
    unit: '人',
    definition: '年内常住人口中新出生的活产婴儿',
    range: [15, 90],
  },
  {
    code: 'HLT-VACC',
    owner: 'health',
    nameZh: '适龄儿童免疫接种率',
    nameEn: 'Child immunisation rate',
    ...pct,
    definition: '适龄儿童国家免疫规划疫苗全程接种比例',
    range: [92, 100],
  },
  // 人力资源和社会保障局
  {
    code: 'HRS-DISABLED',
    owner: 'hrss',
    nameZh: '持证残疾人数',
    nameEn: 'Disabled residents (HR)',
    unit: '人',
    definition: '持有第二代残疾人证的常住居民数',
    range: [40, 180],
    duplicateOf: 'CIV-DISABLED',
  },
  {
    code: 'HRS-DIBAO',
    owner: 'hrss',
    nameZh: '低保家庭户数',
    nameEn: 'Allowance households (HR)',
    unit: '户',
    definition: '享受城乡居民最低生活保障待遇家庭户数',
    range: [8, 60],
    duplicateOf: 'CIV-DIBAO',
  },
  {
    code: 'HRS-NEWJOBS',
    owner: 'hrss',
    nameZh: '城镇新增就业人数',
    nameEn: 'New urban jobs',
    unit: '人',
    definition: '户籍劳动力年内在城镇实现新就业的人员',
    range: [40, 400],
  },
  {
    code: 'HRS-UNEMP',
    owner: 'hrss',
    nameZh: '登记失业人数',
    nameEn: 'Registered unemployed',
    unit: '人',
    definition: '年末在公共就业服务机构登记失业的人员',
    range: [10, 120],
  },
  {
    code: 'HRS-PENSION',
    owner: 'hrss',
    nameZh: '城乡居民养老保险参保人数',
    nameEn: 'Residents’ pension insured',
    unit: '人',
    definition: '参加城乡居民基本养老保险的人员',
    range: [400, 2500],
  },
  // 住房和城乡建设局
  {
    code: 'HSG-OLDHOUSE',
    owner: 'housing',
    nameZh: '老旧小区改造户数',
    nameEn: 'Old estates renovated (households)',
    unit: '户',
    definition: '年内完成老旧小区综合改造的住户',
    range: [0, 600],
  },
  {
    code: 'HSG-ELEVATOR',
    owner: 'housing',
    nameZh: '加装电梯数',
    nameEn: 'Lifts retrofitted',
    unit: '部',
    definition: '既有住宅加装完成并投入使用的电梯',
    range: [0, 25],
  },
  // 教育局
  {
    code: 'EDU-PRESCHOOL',
    owner: 'edu',
    nameZh: '学前儿童数',
    nameEn: 'Pre-school children',
    unit: '人',
    definition: '常住人口中三至五周岁的学龄前儿童',
    range: [60, 400],
  },
  {
    code: 'EDU-PUPILS',
    owner: 'edu',
    nameZh: '义务教育阶段学生数',
    nameEn: 'Compulsory-education pupils',
    unit: '人',
    definition: '就读小学和初中的常住适龄学生',
    range: [200, 1200],
  },
  // 市场监督管理局
  {
    code: 'MKT-SOLE',
    owner: 'market',
    nameZh: '个体工商户数',
    nameEn: 'Sole traders',
    unit: '户',
    definition: '登记注册并正常经营的个体工商户',
    range: [50, 700],
  },
  {
    code: 'MKT-FOOD',
    owner: 'market',
    nameZh: '食品经营主体数',
    nameEn: 'Food businesses',
    unit: '家',
    definition: '持有食品经营许可证的销售和餐饮主体',
    range: [20, 260],
  },
  // 生态环境局
  {
    code: 'ECO-SORTING',
    owner: 'ecology',
    nameZh: '垃圾分类覆盖率',
    nameEn: 'Waste-sorting coverage',
    ...pct,
    definition: '实行生活垃圾分类投放的住户所占比例',
    range: [70, 100],
  },
  // 统计局
  {
    code: 'STA-HH',
    owner: 'stats',
    nameZh: '户数',
    nameEn: 'Households (statistics)',
    unit: '户',
    definition: '本社区常住人口家庭户数合计',
    range: [900, 3200],
    duplicateOf: 'CIV-HH',
  },
];

/** The indicator a code stands for once twins are merged (its own code when it is no twin). */
export function mergedCode(code: string): string {
  return DEMO_INDICATORS.find((i) => i.code === code)?.duplicateOf ?? code;
}

export interface DemoForm {
  code: string;
  nameZh: string;
  nameEn: string;
  owner: string;
  approval?: string;
  indicators: string[];
}

/** Last year's forms, as each department issued its own (一事一报 approvals), asking across each other. */
export const BEFORE_FORMS: DemoForm[] = [
  {
    code: 'MZ-2025-01',
    owner: 'civil',
    nameZh: '社区基本情况统计表',
    nameEn: 'Community basics',
    indicators: ['CIV-POP', 'CIV-HH', 'CIV-AGED60', 'CIV-GRID', 'CIV-VOLUNTEER'],
  },
  {
    code: 'MZ-2025-02',
    owner: 'civil',
    nameZh: '社会救助对象统计表',
    nameEn: 'Social assistance recipients',
    indicators: ['CIV-POP', 'CIV-DIBAO', 'CIV-TEKUN', 'CIV-DISABLED'],
  },
  {
    code: 'MZ-2025-03',
    owner: 'civil',
    nameZh: '养老服务情况表',
    nameEn: 'Elderly care',
    indicators: ['CIV-AGED60', 'CIV-ELDERCARE', 'CIV-HH'],
  },
  {
    code: 'GA-2025-01',
    owner: 'psb',
    nameZh: '人口与治安基础信息表',
    nameEn: 'Population and public order',
    indicators: ['PSB-POP', 'PSB-FLOAT', 'PSB-GRID', 'PSB-DISPUTE', 'PSB-CAMERA'],
  },
  {
    code: 'GA-2025-02',
    owner: 'psb',
    nameZh: '消防安全检查情况表',
    nameEn: 'Fire-safety inspections',
    indicators: ['PSB-POP', 'PSB-FIRECHECK', 'PSB-FIREFIX'],
  },
  {
    code: 'WJ-2025-01',
    owner: 'health',
    nameZh: '基本公共卫生服务统计表',
    nameEn: 'Basic public health services',
    indicators: ['CIV-POP', 'HLT-AGED60', 'HLT-FAMDOC', 'HLT-CHRONIC'],
  },
  {
    code: 'WJ-2025-02',
    owner: 'health',
    nameZh: '妇幼与免疫规划情况表',
    nameEn: 'Maternal care and immunisation',
    indicators: ['CIV-POP', 'HLT-BIRTH', 'HLT-VACC', 'EDU-PRESCHOOL'],
  },
  {
    code: 'RS-2025-01',
    owner: 'hrss',
    nameZh: '就业与社会保险情况表',
    nameEn: 'Employment and social insurance',
    indicators: ['CIV-POP', 'HRS-NEWJOBS', 'HRS-UNEMP', 'HRS-PENSION', 'HRS-DISABLED'],
  },
  {
    code: 'RS-2025-02',
    owner: 'hrss',
    nameZh: '困难群体就业援助台账',
    nameEn: 'Employment aid for vulnerable groups',
    indicators: ['HRS-DIBAO', 'HRS-DISABLED', 'HRS-UNEMP'],
  },
  {
    code: 'ZJ-2025-01',
    owner: 'housing',
    nameZh: '住房与城市更新情况表',
    nameEn: 'Housing and urban renewal',
    indicators: ['STA-HH', 'CIV-AGED60', 'HSG-OLDHOUSE', 'HSG-ELEVATOR'],
  },
  {
    code: 'JY-2025-01',
    owner: 'edu',
    nameZh: '适龄人口与就学情况表',
    nameEn: 'School-age population',
    indicators: ['CIV-POP', 'EDU-PRESCHOOL', 'EDU-PUPILS'],
  },
  {
    code: 'SJ-2025-01',
    owner: 'market',
    nameZh: '市场主体与食品安全情况表',
    nameEn: 'Businesses and food safety',
    indicators: ['CIV-POP', 'MKT-SOLE', 'MKT-FOOD'],
  },
  {
    code: 'HB-2025-01',
    owner: 'ecology',
    nameZh: '生活垃圾分类情况表',
    nameEn: 'Household waste sorting',
    indicators: ['STA-HH', 'ECO-SORTING', 'CIV-POP'],
  },
  {
    code: 'TJ-2025-01',
    owner: 'stats',
    nameZh: '社区综合统计年报',
    nameEn: 'Community statistics yearbook',
    indicators: ['CIV-POP', 'STA-HH', 'CIV-AGED60', 'PSB-FLOAT', 'HLT-BIRTH', 'MKT-SOLE', 'HRS-NEWJOBS'],
  },
].map((f) => ({
  ...f,
  approval: `云岚${f.code.slice(0, 2)}〔${BEFORE_YEAR}〕${f.code.slice(-2)}号 一事一报审批`,
}));

/** This year's catalogue, the data bureau's: every figure still needed asked once. */
export const AFTER_FORMS: DemoForm[] = [
  {
    code: 'YBT-2026-01',
    owner: 'data',
    nameZh: '基层人口与社会事务综合表',
    nameEn: 'Population and social affairs (merged)',
    indicators: [
      'CIV-POP',
      'CIV-HH',
      'CIV-AGED60',
      'PSB-FLOAT',
      'HLT-BIRTH',
      'EDU-PRESCHOOL',
      'EDU-PUPILS',
      'CIV-GRID',
    ],
  },
  {
    code: 'YBT-2026-02',
    owner: 'data',
    nameZh: '基层社会保障与健康服务综合表',
    nameEn: 'Social security and health (merged)',
    indicators: [
      'CIV-DIBAO',
      'CIV-TEKUN',
      'CIV-DISABLED',
      'CIV-ELDERCARE',
      'HLT-FAMDOC',
      'HLT-CHRONIC',
      'HLT-VACC',
      'HRS-NEWJOBS',
      'HRS-UNEMP',
      'HRS-PENSION',
    ],
  },
  {
    code: 'YBT-2026-03',
    owner: 'data',
    nameZh: '基层平安与城市运行综合表',
    nameEn: 'Safety and city operation (merged)',
    indicators: [
      'PSB-FIRECHECK',
      'PSB-FIREFIX',
      'PSB-DISPUTE',
      'HSG-OLDHOUSE',
      'HSG-ELEVATOR',
      'ECO-SORTING',
      'MKT-SOLE',
      'MKT-FOOD',
    ],
  },
];

/**
 * The communities' reports: each climbs from its town (no department there: skipped) to 西湖区,
 * which signs off or returns, then to the form's department. `reaches` is how far it has got.
 */
export const DEMO_REPORTS: Array<{
  form: string;
  year: number;
  unitCode: string;
  reaches: 'accepted' | 'signed' | 'pending' | 'returned';
}> = [
  // Last year the departments' overlapping forms: the second and third reuse the figures the first brought.
  { form: 'MZ-2025-01', year: BEFORE_YEAR, unitCode: '330106001001', reaches: 'accepted' },
  { form: 'MZ-2025-02', year: BEFORE_YEAR, unitCode: '330106001001', reaches: 'accepted' },
  { form: 'GA-2025-01', year: BEFORE_YEAR, unitCode: '330106001001', reaches: 'accepted' },
  { form: 'YBT-2026-01', year: AFTER_YEAR, unitCode: '330106001001', reaches: 'accepted' },
  { form: 'YBT-2026-02', year: AFTER_YEAR, unitCode: '330106001001', reaches: 'signed' },
  { form: 'YBT-2026-01', year: AFTER_YEAR, unitCode: '330106001002', reaches: 'pending' },
  { form: 'YBT-2026-02', year: AFTER_YEAR, unitCode: '330106002001', reaches: 'pending' },
  { form: 'YBT-2026-01', year: AFTER_YEAR, unitCode: '330106002002', reaches: 'returned' },
];
export const RETURN_REASON = '60岁以上人口超过常住人口的三成，与上年差异较大，请核对台账后重报';

/** District-level yearly figures of the evaluation index: platform activity and imported statistics. */
const DISTRICT_INDICATORS: DemoIndicator[] = [
  {
    code: 'DST-SHARECALLS',
    owner: 'data',
    nameZh: '数据共享调用量',
    nameEn: 'Shared-data calls',
    unit: '万次',
    dataType: 'decimal',
    definition: '区内部门经共享网关调用数据的年度次数',
    range: [8, 60],
  },
  {
    code: 'DST-ONLINE',
    owner: 'data',
    nameZh: '一表通线上报送率',
    nameEn: 'One-form online reporting rate',
    ...pct,
    definition: '区内基层单位经一表通在线报送的报表占应报报表比例',
    range: [55, 98],
  },
  {
    code: 'DST-GOVONLINE',
    owner: 'data',
    nameZh: '政务服务网办率',
    nameEn: 'Online government services rate',
    ...pct,
    definition: '依申请政务服务事项全程网上办理的比例',
    range: [60, 97],
  },
  {
    code: 'DST-GDPPC',
    owner: 'stats',
    nameZh: '人均地区生产总值',
    nameEn: 'GDP per capita',
    unit: '万元',
    dataType: 'decimal',
    definition: '地区生产总值除以年平均常住人口',
    range: [8, 25],
  },
  {
    code: 'DST-DIGITALSHARE',
    owner: 'stats',
    nameZh: '数字经济核心产业增加值占比',
    nameEn: 'Digital economy share of GDP',
    ...pct,
    definition: '数字经济核心产业增加值占地区生产总值的比重',
    range: [5, 40],
  },
];

/** The statistics bureau's form of a year for the district figures (filed, not on the catalogue). */
function districtForm(year: number): DemoForm {
  return {
    code: `TJ-QX-${year}`,
    owner: 'stats',
    nameZh: '区县统计年报数据导入',
    nameEn: 'District yearly statistics (imported)',
    approval: `云岚统〔${year}〕1号 备案`,
    indicators: DISTRICT_INDICATORS.map((i) => i.code),
  };
}

/** Every form the seed issues for a year, as declared: what the year's catalogue measure counts. */
export function yearForms(year: number): DemoForm[] {
  const community = year === BEFORE_YEAR ? BEFORE_FORMS : year === AFTER_YEAR ? AFTER_FORMS : [];
  return [...community, districtForm(year)];
}

/** A deterministic figure for a unit, indicator and year: the same seed always gives the same city. */
function figure(indicator: DemoIndicator, unitCode: string, year: number): number {
  let hash = DEMO_SEED;
  for (const ch of `${unitCode}|${mergedCode(indicator.code)}`) hash = (hash * 31 + ch.charCodeAt(0)) | 0;
  const [lo, hi] = indicator.range;
  const base = lo + new Mulberry32(hash >>> 0).next() * (hi - lo);
  // A steady drift from year to year, so the trend lines move and the previous year differs.
  const value = Math.min(hi, base * (1 + 0.04 * (year - EVALUATION_YEARS[0])));
  return indicator.dataType === 'decimal' || indicator.dataType === 'percent'
    ? Math.round(value * 10) / 10
    : Math.round(value);
}

const byCode = new Map([...DEMO_INDICATORS, ...DISTRICT_INDICATORS].map((i) => [i.code, i]));
const valuesFor = (codes: string[], unitCode: string, year: number) =>
  Object.fromEntries(codes.map((c) => [c, figure(byCode.get(c)!, unitCode, year)]));

/**
 * Seeds the dictionary, both years' forms, the communities' reports and the evaluation index,
 * unless the index is there already. Returns whether it seeded.
 */
export async function seedIndicators(ctx: Ctx): Promise<boolean> {
  return withTx(ctx.db, async (tx) => {
    const scoped: Ctx = { ...ctx, db: tx };
    const admin = await actAs(scoped, 'admin');
    if ((await evaluation.listIndexes(admin)).some((i) => i.code === DEMO_INDEX)) return false;
    await seedAccounts(scoped);
    const as = memo((username: string) => actAs(scoped, username));
    // The data bureau's part (its indicators, the catalogue, the merges, the index) is its platform
    // admin's: the catalogue and merging are the platform admin's alone.
    const steward = (org: string) => (org === 'data' ? Promise.resolve(admin) : as(stewardUsername(org)));

    for (const i of [...DEMO_INDICATORS, ...DISTRICT_INDICATORS])
      await dictionary.createIndicator(await steward(i.owner), {
        code: i.code,
        nameZh: i.nameZh,
        nameEn: i.nameEn,
        definition: i.definition,
        unit: i.unit,
        dataType: i.dataType ?? 'integer',
        period: 'year',
        level: i.code.startsWith('DST-') ? 'district' : 'community',
        source: { kind: 'reported' },
        rule: { min: 0 },
      });
    for (const f of BEFORE_FORMS) await issue(await steward(f.owner), f, BEFORE_YEAR, 'community');
    const reporter = await as(COMMUNITY_REPORTER);
    const district = await as(DISTRICT_STEWARD);
    // Last year's reports come before the merge: the twins' figures (equal) become one value.
    const report = (r: (typeof DEMO_REPORTS)[number]) => submitReport(reporter, district, steward, r);
    for (const r of DEMO_REPORTS.filter((r) => r.year === BEFORE_YEAR)) await report(r);

    // The bureau finds the twins as anyone would, by the dictionary's duplicate detection, and
    // merges each into the indicator the seed names; a twin it would not find is a seed error.
    const found = await dictionary.nearDuplicates(admin);
    for (const twin of DEMO_INDICATORS.filter((i) => i.duplicateOf)) {
      const pair = found.find(
        (p) => [p.a, p.b].includes(twin.code) && [p.a, p.b].includes(twin.duplicateOf!),
      );
      if (!pair)
        throw new Error(`demo indicators: ${twin.code} is not found as a twin of ${twin.duplicateOf}`);
      await dictionary.mergeIndicator(admin, twin.code, twin.duplicateOf!);
    }
    for (const i of DEMO_INDICATORS.filter((i) => i.retired))
      await dictionary.retireIndicator(await steward(i.owner), i.code);
    for (const f of AFTER_FORMS) await issue(admin, f, AFTER_YEAR, 'community');
    for (const r of DEMO_REPORTS.filter((r) => r.year === AFTER_YEAR)) await report(r);

    await seedEvaluation(admin, await steward('stats'));
    return true;
  });
}

/** A community's report, taken as far up the chain as the seed says. */
async function submitReport(
  reporter: Ctx,
  district: Ctx,
  steward: (org: string) => Promise<Ctx>,
  r: (typeof DEMO_REPORTS)[number],
) {
  const form = [...BEFORE_FORMS, ...AFTER_FORMS].find((f) => f.code === r.form)!;
  const submitted = await forms.submitForm(reporter, r.form, {
    period: String(r.year),
    unitCode: r.unitCode,
    values: valuesFor(form.indicators, r.unitCode, r.year),
  });
  if (r.reaches === 'pending') return;
  if (r.reaches === 'returned') {
    await forms.decideSubmission(district, submitted.id, 'return', RETURN_REASON);
    return;
  }
  await forms.signOff(district, submitted.id, '已核对社区台账');
  if (r.reaches === 'accepted')
    await forms.decideSubmission(await steward(form.owner), submitted.id, 'accept');
}

/** 西湖区's district office (signs off at the district) and a community service centre (reports). */
export const DEMO_INDICATOR_USERS = [
  {
    username: DISTRICT_STEWARD,
    displayName: '西湖区数据专员',
    roles: ['data_steward' as const],
    org: {
      name: `${DEMO_CITY.name}西湖区人民政府办公室`,
      type: 'government_department' as const,
      body: '33010601',
    },
  },
  {
    username: COMMUNITY_REPORTER,
    displayName: '转塘街道社区填报员',
    roles: ['data_steward' as const],
    // Not a government department: it reports for the communities but signs nothing off.
    org: {
      name: `${DEMO_CITY.name}西湖区转塘街道社区服务中心`,
      type: 'public_institution' as const,
      body: '33010602',
    },
  },
];

/** What this seeding adds to the accounts of city.ts: one organization and one user each. */
export const DEMO_INDICATOR_ACCOUNTS = {
  organizations: DEMO_INDICATOR_USERS.length,
  users: DEMO_INDICATOR_USERS.length,
} as const;

async function seedAccounts(ctx: Ctx) {
  for (const a of DEMO_INDICATOR_USERS) {
    // GB 32100 category: 1-1 机关, 1-2 事业单位 (as city.ts).
    const uscc = makeUscc('1', a.org.type === 'government_department' ? '1' : '2', DISTRICT, a.org.body);
    const org = await identity.createOrganization(ctx, {
      name: a.org.name,
      type: a.org.type,
      level: 'county',
      regionCode: DISTRICT,
      uscc,
    });
    await identity.createUser(ctx, {
      orgId: org.id,
      username: a.username,
      displayName: a.displayName,
      password: ctx.config.demoPassword,
      roles: a.roles,
    });
  }
}

/** Creates and issues a form as its owner: on the catalogue for the bureau, else by approval. */
async function issue(owner: Ctx, form: DemoForm, year: number, level: Level) {
  await forms.createForm(owner, {
    code: form.code,
    nameZh: form.nameZh,
    nameEn: form.nameEn,
    year,
    period: 'year',
    level,
    basis: form.approval ? 'one_off' : 'catalogue',
    approval: form.approval,
    indicators: form.indicators,
  });
  await forms.actOnForm(owner, form.code, 'issue');
}

/**
 * The statistics bureau reports its yearly district figures (and the platform's own activity
 * counts) for every district of the city over three years, accepting them as the form's owner;
 * the bureau publishes an index over them.
 */
async function seedEvaluation(admin: Ctx, stats: Ctx) {
  for (const year of EVALUATION_YEARS) {
    const form = districtForm(year);
    await issue(stats, form, year, 'district');
    for (const county of countiesOf(DEMO_CITY.regionCode)) {
      const submitted = await forms.submitForm(stats, form.code, {
        period: String(year),
        unitCode: county.code,
        values: valuesFor(form.indicators, county.code, year),
      });
      await forms.decideSubmission(stats, submitted.id, 'accept');
    }
  }
  const dimension = (code: string, nameZh: string, nameEn: string, weight: number, indicators: string[]) => ({
    code,
    nameZh,
    nameEn,
    weight,
    indicators: indicators.map((c) => ({ code: c, weight: 1, normalization: { method: 'minmax' as const } })),
  });
  await evaluation.createIndex(admin, {
    code: DEMO_INDEX,
    nameZh: '云岚市区县数字政府发展指数',
    nameEn: 'Yunlan district digital government index',
    aggregation: 'arithmetic',
    dimensions: [
      dimension('platform', '平台应用', 'Platform activity', 0.6, [
        'DST-SHARECALLS',
        'DST-ONLINE',
        'DST-GOVONLINE',
      ]),
      dimension('economy', '统计基础', 'Statistics', 0.4, ['DST-GDPPC', 'DST-DIGITALSHARE']),
    ],
  });
  await evaluation.actOnIndex(admin, DEMO_INDEX, 'publish');
}

function memo<T>(make: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const cache = new Map<string, Promise<T>>();
  return (key) => {
    if (!cache.has(key)) cache.set(key, make(key));
    return cache.get(key)!;
  };
}
