/**
 * Catalog search latency with 100,000 resources (goal: p95 ≤ 50 ms). The resources are written
 * in bulk with the search vector the catalog service builds (its own searchDocument and SQL), over
 * the 16 demo organizations and 130 district departments; then 200 realistic queries — Chinese
 * and English, abbreviations, several words, with and without filters, first and second pages —
 * go through the catalog service's searchCatalog as a signed-in consumer, each once after a
 * warm-up round. SEARCH_RESOURCES changes the size.
 */
import { sql } from 'kysely';
import { resourceCode, type SearchInput, searchCatalog, searchDocument } from '../src/catalog/service.ts';
import { searchVector, titleVector } from '../src/catalog/store.ts';
import { THEMES } from '../src/catalog/themes.ts';
import type { Config } from '../src/core/config.ts';
import { cliCtx } from '../src/core/context.ts';
import type { Db } from '../src/core/db.ts';
import { newId } from '../src/core/ids.ts';
import type { OpenType, SharingType } from '../src/core/tables.ts';
import { countiesOf } from '../src/standards/region.ts';
import { makeUscc } from '../src/standards/uscc.ts';
import { type BenchContext, type BenchReport, fmt, quantile, scratchDatabase } from './support.ts';

const RESOURCES = Number(process.env.SEARCH_RESOURCES ?? 100_000);
const BATCH = 500;

/** Subjects of government data by theme: what resource names are made of. */
const SUBJECTS: Record<string, string[]> = {
  population: ['户籍人口', '常住人口', '流动人口', '出生登记', '死亡登记', '人口迁移'],
  legal_person: ['企业登记', '个体工商户登记', '农民专业合作社', '社会组织登记', '事业单位法人'],
  natural_resources: ['不动产登记', '土地供应', '国土空间规划', '地质灾害隐患点', '森林资源', '矿产资源'],
  macro_economy: ['地区生产总值', '固定资产投资', '社会消费品零售总额', '居民消费价格'],
  e_licence: ['营业执照', '食品经营许可证', '药品经营许可证', '建筑工程施工许可证', '道路运输经营许可证'],
  health: ['门诊就诊', '住院病案首页', '医疗机构', '执业医师', '疫苗接种', '传染病报告'],
  social_security: ['社会保险缴费', '养老保险待遇', '医疗保险结算', '失业保险金', '工伤认定', '社会保障卡'],
  credit: ['纳税信用', '行政处罚', '失信被执行人', '信用承诺', '守信激励'],
  ecology: ['空气质量监测', '水质监测', '排污许可', '噪声监测', '固体废物'],
  transport: ['公交客流', '出租汽车', '网络预约出租汽车', '道路货运', '停车场', '机动车登记'],
  education: ['学籍', '义务教育招生', '中小学校', '学生资助', '教师资格'],
  emergency: ['安全生产许可', '危险化学品', '应急避难场所', '消防监督检查'],
  market: ['食品安全抽检', '特种设备', '计量器具', '商标注册', '产品质量抽查'],
  urban_rural: ['商品房网签', '住房公积金缴存', '建设工程竣工验收', '保障性住房', '物业服务企业'],
  finance_tax: ['个人所得税', '企业所得税', '增值税发票', '财政预算', '政府采购'],
  civil_affairs: ['最低生活保障', '婚姻登记', '养老机构', '殡葬服务', '残疾人两项补贴'],
  statistics: ['规模以上工业', '人口抽样调查', '经济普查', '农业普查'],
  department: ['行政许可办件', '政务服务评价', '12345热线工单', '公文收发'],
};
const SUFFIXES = ['信息', '明细', '统计', '名录', '数据', '台账', '月报', '年报', '基本信息', '结果'];
const PURPOSES = ['政务服务办理', '监管执法', '统计分析', '公共服务规划', '社会治理', '信用监管'];
const FIELD_POOL: Array<[string, string]> = [
  ['name', '姓名'],
  ['id_number', '公民身份号码'],
  ['uscc', '统一社会信用代码'],
  ['org_name', '单位名称'],
  ['address', '地址'],
  ['mobile', '联系电话'],
  ['district', '所属区县'],
  ['amount', '金额'],
  ['start_date', '开始日期'],
  ['end_date', '结束日期'],
  ['status', '状态'],
  ['record_no', '记录编号'],
  ['approved_on', '批准日期'],
  ['quantity', '数量'],
  ['category', '类别'],
  ['remark', '备注'],
  ['longitude', '经度'],
  ['latitude', '纬度'],
  ['licence_no', '证照编号'],
  ['issued_by', '发证机关'],
  ['valid_until', '有效期至'],
  ['bank_account', '银行账号'],
  ['plate', '号牌号码'],
  ['school', '学校名称'],
  ['hospital', '医疗机构名称'],
  ['diagnosis', '诊断名称'],
  ['fee', '费用'],
  ['tax', '税额'],
  ['floor_area', '建筑面积'],
  ['price', '成交价格'],
];
const DEPARTMENTS = ['卫生健康局', '公安分局', '民政局', '人力资源和社会保障局', '教育局', '市场监督管理局'];
const COUNTY_DEPARTMENTS = [...DEPARTMENTS, '住房和城乡建设局', '交通运输局', '生态环境分局', '税务局'];
const CYCLES = ['daily', 'monthly', 'quarterly', 'yearly', 'realtime'] as const;

function lcg(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state / 4_294_967_296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  return { next, pick };
}

/** The queries: what people type into a government data catalog, with the filters they set. */
export function queries(providers: string[]): SearchInput[] {
  const r = lcg(7);
  const subjects = Object.values(SUBJECTS).flat();
  const counties = countiesOf('330100').map((c) => c.name);
  const chinese = [
    ...subjects,
    '社保',
    '医保',
    '公积金',
    '低保',
    '个税',
    '公交',
    '网约车',
    '营业执照',
    '工商',
    '户籍',
    '空气质量',
    '不动产',
    '门诊',
    '身份证',
    '信用代码',
  ];
  const english = [
    'health',
    'population',
    'transport',
    'credit',
    'ecology',
    'education',
    'social security',
    'market regulation',
    'uscc',
    'id number',
    'mobile',
    'bank account',
    'licence no',
    'longitude latitude',
  ];
  const themes = THEMES.map((t) => t.id);
  const sharing: SharingType[] = ['unconditional', 'conditional', 'not_shared'];
  const open: OpenType[] = ['unconditional', 'conditional', 'not_open'];
  const out: SearchInput[] = [];
  for (let i = 0; i < 200; i++) {
    const kind = i % 20;
    if (kind < 7) out.push({ q: r.pick(chinese) });
    else if (kind < 10) out.push({ q: `${r.pick(counties)} ${r.pick(chinese)}` });
    else if (kind < 13) out.push({ q: r.pick(english) });
    else if (kind === 13) out.push({ q: r.pick(chinese), theme: r.pick(themes) });
    else if (kind === 14) out.push({ q: r.pick(chinese), sharingType: r.pick(sharing) });
    else if (kind === 15) out.push({ q: r.pick(english), openType: r.pick(open) });
    else if (kind === 16) out.push({ q: r.pick(chinese), provider: r.pick(providers) });
    else if (kind === 17) out.push({ theme: r.pick(themes), openType: r.pick(open) });
    else if (kind === 18) out.push({ provider: r.pick(providers) });
    else out.push({ q: r.pick(chinese), offset: 20 });
  }
  return out;
}

const describeQuery = (input: SearchInput) =>
  Object.entries(input)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

/**
 * Adds the district departments as providers and RESOURCES resources with their fields, in bulk,
 * each with the search vector the catalog service would give it. Returns the provider ids.
 */
export async function populate(db: Db, count = RESOURCES): Promise<string[]> {
  // More providers: the departments of every district, as a city-wide catalog has them.
  const counties = countiesOf('330100');
  const r = lcg(20_260_301);
  let n = 0;
  const departments = counties.flatMap((county) =>
    COUNTY_DEPARTMENTS.map((dept) => ({
      id: newId('org'),
      name: `云岚市${county.name}${dept}`,
      type: 'government_department' as const,
      level: 'county' as const,
      region_code: county.code,
      uscc: makeUscc('1', '1', county.code, `BENCH${String(n++).padStart(3, '0')}`),
      updated_at: new Date(),
    })),
  );
  await db.insertInto('organizations').values(departments).execute();
  const providers = await db
    .selectFrom('organizations')
    .select(['id', 'uscc', 'region_code', 'name'])
    .execute();
  const creator = await db
    .selectFrom('users')
    .select('id')
    .where('username', '=', 'admin')
    .executeTakeFirstOrThrow();
  const seq = new Map<string, number>();
  for (let start = 0; start < count; start += BATCH) {
    const resources = [];
    const fields = [];
    for (let i = start; i < Math.min(count, start + BATCH); i++) {
      const provider = providers[i % providers.length]!;
      const themeId = r.pick(Object.keys(SUBJECTS));
      const theme = THEMES.find((t) => t.id === themeId)!;
      const subject = r.pick(SUBJECTS[themeId]!);
      const qualifier = r.next() < 0.3 ? r.pick(counties).name : '';
      const year = r.next() < 0.2 ? `（${2015 + Math.floor(r.next() * 11)}年）` : '';
      const name = `${qualifier}${subject}${r.pick(SUFFIXES)}${year}`;
      const chosen = [...FIELD_POOL].sort(() => r.next() - 0.5).slice(0, 5 + Math.floor(r.next() * 10));
      const fieldRows = chosen.map(([fieldName, label], position) => ({
        position,
        name: fieldName,
        label,
        data_type: 'text' as const,
        description: '',
        grade: 'unassessed' as const,
        is_key: position === 0,
      }));
      const number = (seq.get(provider.id) ?? 0) + 1;
      seq.set(provider.id, number);
      const sharingType = r.pick(['unconditional', 'unconditional', 'conditional', 'not_shared'] as const);
      const row = {
        id: newId('res'),
        code: resourceCode(provider.region_code, theme.category, theme.code, provider.uscc, number),
        name,
        summary: `${provider.name}提供的${subject}${r.pick(SUFFIXES)}，包括${chosen
          .slice(0, 3)
          .map(([, label]) => label)
          .join('、')}等${chosen.length}项信息，用于${r.pick(PURPOSES)}。`,
        keywords: [subject, theme.zh, r.pick(SUFFIXES)],
        theme: theme.id,
      };
      const doc = searchDocument(row, fieldRows);
      resources.push({
        ...row,
        provider_org_id: provider.id,
        category: theme.category,
        format: 'table',
        update_cycle: r.pick(CYCLES),
        sharing_type: sharingType,
        sharing_conditions: sharingType === 'unconditional' ? '' : '依申请共享，用于依法履职',
        open_type: r.pick(['unconditional', 'conditional', 'not_open', 'not_open'] as const),
        open_conditions: '',
        published_on: null,
        related_codes: [],
        grade: 'unassessed' as const,
        revision: 1,
        current_version_id: null,
        created_by: creator.id,
        created_at: new Date(Date.UTC(2020, 0, 1) + i * 1_500_000),
        updated_at: new Date(),
        search_vector: searchVector(doc),
        title_vector: titleVector(doc),
      });
      fields.push(...fieldRows.map((f) => ({ ...f, resource_id: row.id })));
    }
    await db.insertInto('resources').values(resources).execute();
    await db.insertInto('resource_fields').values(fields).execute();
  }
  // As autovacuum would leave it: statistics for the planner, GIN pending lists merged.
  for (const table of ['resources', 'resource_fields', 'organizations']) {
    await sql`vacuum analyze ${sql.table(table)}`.execute(db);
  }
  return providers.map((p) => p.id);
}

export interface Timing {
  ms: number;
  input: SearchInput;
  hits: number;
}

/** Each query once as a warm-up, then each once measured, as the consumer of the civil affairs bureau. */
export async function measure(db: Db, config: Config, providers: string[]): Promise<Timing[]> {
  const consumer = await db
    .selectFrom('users')
    .select(['id', 'username', 'org_id', 'roles'])
    .where('username', '=', 'consumer.civil')
    .executeTakeFirstOrThrow();
  const ctx = cliCtx(db, config, {
    kind: 'session',
    credentialId: 'bench',
    userId: consumer.id,
    username: consumer.username,
    orgId: consumer.org_id,
    roles: consumer.roles,
    scopes: 'all',
  });
  const inputs = queries(providers);
  for (const input of inputs) await searchCatalog(ctx, input);
  const timings: Timing[] = [];
  for (const input of inputs) {
    const started = performance.now();
    const result = await searchCatalog(ctx, input);
    timings.push({ ms: performance.now() - started, input, hits: result.items.length });
  }
  return timings;
}

export async function run(ctx: BenchContext): Promise<BenchReport> {
  const scratch = await scratchDatabase(ctx, 'search');
  try {
    const loadStarted = Date.now();
    const providers = await populate(scratch.database.db);
    const loadSeconds = (Date.now() - loadStarted) / 1000;
    const timings = await measure(scratch.database.db, scratch.ctx.config, providers);
    const sorted = timings.map((t) => t.ms).sort((a, b) => a - b);
    const p95 = quantile(sorted, 0.95);
    const slowest = [...timings].sort((a, b) => b.ms - a.ms).slice(0, 5);
    const empty = timings.filter((t) => t.hits === 0).length;
    return {
      title: `Catalog search: ${fmt(RESOURCES)} resources from ${providers.length} providers, ${timings.length} queries through searchCatalog (after a warm-up round)`,
      table: {
        'latency ms': {
          p50: fmt(quantile(sorted, 0.5), 1),
          p95: fmt(p95, 1),
          p99: fmt(quantile(sorted, 0.99), 1),
          max: fmt(sorted.at(-1)!, 1),
          mean: fmt(sorted.reduce((a, b) => a + b, 0) / sorted.length, 1),
        },
      },
      goals: [{ name: 'search: p95 latency', value: `${fmt(p95, 1)} ms`, goal: '≤ 50 ms', met: p95 <= 50 }],
      notes: [
        `bulk load of the resources and their fields: ${fmt(loadSeconds, 1)} s; ${empty} queries found nothing`,
        `slowest: ${slowest.map((t) => `${describeQuery(t.input)} ${fmt(t.ms, 1)} ms`).join('; ')}`,
      ],
    };
  } finally {
    await scratch.drop();
  }
}
