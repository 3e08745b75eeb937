import { sql } from 'kysely';
import type { Ctx } from '../core/context.ts';
import * as identity from '../identity/service.ts';
import * as services from '../services/service.ts';
import type { StepDefinition } from '../services/store.ts';
import { isValidUscc } from '../standards/uscc.ts';
import { DEMO_CITY, stewardUsername } from './city.ts';
import { findDemoResource } from './resources.ts';
import { actAs, type DemoResourceRef, demoResource, ensureDemoContract } from './support.ts';

/**
 * The demo city's "get one thing done" services (issue 22): the departments' contracts that let
 * them pull what a citizen would otherwise bring, two published bundles built on them, and the
 * people who can try them on the citizen site — a mother and a father from the first birth
 * certificate, and an enterprise from the first row of the enterprise register, so the shared data
 * the departments pull really is theirs. Every part is found before it is made: seeding again
 * adds only what is missing.
 */

/** Who signs in on the citizen site of the demo city (settings key, read by GET /v1/citizen/demo-identities). */
export const DEMO_IDENTITIES_KEY = 'demo.identities';
export const DEMO_ENTERPRISE_USER = 'enterprise.demo';
/** What this seeding adds to the accounts of city.ts: the register's enterprise, its account, two citizens. */
export const DEMO_SERVICE_ACCOUNTS = { organizations: 1, users: 3 } as const;

export interface DemoIdentities {
  citizens: Array<{ idNumber: string; name: string; note: string }>;
  enterprises: Array<{ username: string; name: string; note: string }>;
}

interface BundleContract {
  consumer: string;
  resource: string;
  fields: string[];
  purpose: string;
}

/** The contracts the bundles stand on; the consumer's `consumer.<org>` account applies. */
const CONTRACTS: BundleContract[] = [
  {
    consumer: 'psb',
    resource: 'birth_certificates',
    fields: ['mother_id_number', 'baby_name', 'baby_sex', 'born_at'],
    purpose: '新生儿出生一件事：户口登记免于提交出生医学证明',
  },
  {
    consumer: 'health',
    resource: 'birth_certificates',
    fields: ['mother_id_number', 'baby_name', 'born_at', 'weight_g'],
    purpose: '新生儿出生一件事：预防接种证办理免于提交出生信息',
  },
  {
    consumer: 'hrss',
    resource: 'birth_certificates',
    fields: ['mother_id_number', 'baby_name', 'baby_sex', 'born_at'],
    purpose: '新生儿出生一件事：医保参保和社会保障卡申领免于提交出生医学证明',
  },
  {
    consumer: 'hrss',
    resource: 'residents',
    fields: ['id_number', 'mobile', 'address'],
    purpose: '新生儿出生一件事：核验监护人联系方式和邮寄地址',
  },
  {
    consumer: 'tax',
    resource: 'enterprises',
    fields: ['uscc', 'name', 'legal_representative', 'address'],
    purpose: '企业信息变更一件事：税务登记信息同步变更',
  },
  {
    consumer: 'hrss',
    resource: 'enterprises',
    fields: ['uscc', 'name', 'legal_representative'],
    purpose: '企业信息变更一件事：社会保险登记信息同步变更',
  },
];

/** The city and its districts in GB/T 2260: what the bundles' region conditions admit. */
const CITY_PREFIX = DEMO_CITY.regionCode.slice(0, 4);

type OrgIds = Map<string, string>;
type ResourceIds = Map<string, string>;

function newbornSteps(org: OrgIds, res: ResourceIds): StepDefinition[] {
  const birth = (field: string) => ({
    resourceId: res.get('birth_certificates')!,
    field,
    keyField: 'mother_id_number',
  });
  const resident = (field: string) => ({ resourceId: res.get('residents')!, field, keyField: 'id_number' });
  return [
    {
      key: 'birth_certificate',
      name: '出生医学证明',
      orgId: org.get('hospital')!,
      dependsOn: [],
      workingDays: 1,
      // The hospital holds the certificate itself: no contract, so the name is confirmed by the parent.
      fields: [{ name: 'baby_name', label: '新生儿姓名', source: birth('baby_name') }],
    },
    {
      key: 'household',
      name: '出生登记（户口）',
      orgId: org.get('psb')!,
      dependsOn: ['birth_certificate'],
      workingDays: 2,
      fields: [
        { name: 'baby_sex', label: '新生儿性别', source: birth('baby_sex') },
        { name: 'born_at', label: '出生时间', source: birth('born_at') },
        { name: 'household_address', label: '申报落户地址' },
      ],
    },
    {
      key: 'vaccination',
      name: '预防接种证',
      orgId: org.get('health')!,
      dependsOn: ['birth_certificate'],
      workingDays: 1,
      fields: [
        { name: 'born_at', label: '出生时间', source: birth('born_at') },
        { name: 'weight_g', label: '出生体重（克）', source: birth('weight_g') },
      ],
    },
    {
      key: 'medical_insurance',
      name: '城乡居民医保参保登记',
      orgId: org.get('hrss')!,
      dependsOn: ['household'],
      workingDays: 1,
      fields: [
        { name: 'baby_sex', label: '新生儿性别', source: birth('baby_sex') },
        { name: 'guardian_mobile', label: '监护人联系电话', source: resident('mobile') },
      ],
    },
    {
      key: 'social_security_card',
      name: '社会保障卡申领',
      orgId: org.get('hrss')!,
      dependsOn: ['household'],
      workingDays: 2,
      fields: [
        { name: 'guardian_mobile', label: '监护人联系电话', source: resident('mobile') },
        { name: 'mailing_address', label: '邮寄地址', source: resident('address') },
      ],
    },
  ];
}

function enterpriseChangeSteps(org: OrgIds, res: ResourceIds): StepDefinition[] {
  const register = (field: string) => ({ resourceId: res.get('enterprises')!, field, keyField: 'uscc' });
  return [
    {
      key: 'change_registration',
      name: '企业变更登记',
      orgId: org.get('market')!,
      dependsOn: [],
      workingDays: 2,
      fields: [
        { name: 'new_name', label: '变更后企业名称' },
        { name: 'new_address', label: '变更后住所' },
      ],
    },
    {
      key: 'licence',
      name: '换发营业执照',
      orgId: org.get('market')!,
      dependsOn: ['change_registration'],
      workingDays: 1,
      fields: [],
    },
    {
      key: 'tax',
      name: '税务登记信息变更',
      orgId: org.get('tax')!,
      dependsOn: ['change_registration'],
      workingDays: 2,
      fields: [
        { name: 'registered_name', label: '原登记名称', source: register('name') },
        { name: 'legal_representative', label: '法定代表人', source: register('legal_representative') },
      ],
    },
    {
      key: 'social_insurance',
      name: '社会保险登记变更',
      orgId: org.get('hrss')!,
      dependsOn: ['change_registration'],
      workingDays: 2,
      fields: [
        { name: 'registered_name', label: '原登记名称', source: register('name') },
        { name: 'legal_representative', label: '法定代表人', source: register('legal_representative') },
      ],
    },
  ];
}

async function orgIdsOf(ctx: Ctx, keys: readonly string[]): Promise<OrgIds> {
  const ids: OrgIds = new Map();
  for (const key of keys)
    ids.set(key, (await identity.actingAs(ctx.db, { username: stewardUsername(key) })).orgId);
  return ids;
}

/** The first demo row of a resource, as loaded in its first version (src/demo/data.ts is deterministic). */
async function firstRow(key: string, accept: (row: Record<string, unknown>) => boolean) {
  const { demoRows } = await import('./data.ts');
  const resource = findDemoResource(key)!;
  for (const row of demoRows(resource, resource.rows)) if (accept(row)) return row;
  return null;
}

async function ensureBundle(admin: Ctx, input: services.BundleInput): Promise<void> {
  const existing = await services.getBundle(admin, input.code).catch(() => null);
  if (!existing) await services.createBundle(admin, input);
  if ((existing?.state ?? 'draft') === 'draft') await services.changeBundle(admin, input.code, 'publish');
}

/** Seeds the contracts, bundles and demo people; the platform at the command line. */
export async function seedServices(ctx: Ctx): Promise<DemoIdentities> {
  const org = await orgIdsOf(ctx, ['hospital', 'psb', 'health', 'hrss', 'market', 'tax', 'civil']);
  const resources = new Map<string, DemoResourceRef>();
  for (const key of new Set(CONTRACTS.map((c) => c.resource)))
    resources.set(key, await demoResource(ctx, key));
  const ids: ResourceIds = new Map([...resources].map(([key, r]) => [key, r.id]));
  // The department looks one person up by the ID number or credit code the applicant applied with
  // and pre-fills what it reads: the security officer signs off serving these fields unmasked to it.
  for (const c of CONTRACTS)
    await ensureDemoContract(ctx, {
      consumer: `consumer.${c.consumer}`,
      resource: resources.get(c.resource)!,
      fields: c.fields,
      purpose: c.purpose,
      purposeCategory: 'public_service',
      legalBasis:
        '《国务院关于进一步优化政务服务提升行政效能推动“高效办成一件事”的指导意见》（国发〔2024〕3号）',
      scenario: '一件事一次办：部门间共享核验，免于申请人重复提交材料',
      approval: '依法履职所需，同意共享',
      security: { reason: '安全审查通过：按申请人身份号码或信用代码逐条核验，字段用于预填', unmasked: true },
    });

  const admin = await actAs(ctx, 'admin');
  await ensureBundle(admin, {
    code: 'NEWBORN',
    name: '新生儿出生一件事',
    nameEn: 'Newborn: one thing',
    eventKind: 'life',
    leadOrgId: org.get('psb')!,
    promisedWorkingDays: 5,
    eligibility: [
      `新生儿在${DEMO_CITY.name}医疗机构出生并已签发出生医学证明`,
      {
        kind: 'region',
        text: `以户籍在${DEMO_CITY.name}的父亲或母亲的身份申请（本人，或经其授权）`,
        prefixes: [CITY_PREFIX],
      },
      { kind: 'age', text: '申请所用身份的父亲或母亲年满 16 周岁', min: 16 },
      '出生后 90 日内申请',
    ],
    steps: newbornSteps(org, ids),
  });
  await ensureBundle(admin, {
    code: 'ENTERPRISE-CHANGE',
    name: '企业信息变更一件事',
    nameEn: 'Enterprise change: one thing',
    eventKind: 'business',
    leadOrgId: org.get('market')!,
    promisedWorkingDays: 5,
    eligibility: [
      { kind: 'region', text: `在${DEMO_CITY.name}登记的企业`, prefixes: [CITY_PREFIX] },
      '由企业（法人）账号申请，变更事项已经股东会决议',
    ],
    steps: enterpriseChangeSteps(org, ids),
  });

  // Parents registered in the city, so that the newborn bundle's checked conditions admit them.
  const inCity = (id: unknown) => String(id).startsWith(CITY_PREFIX);
  const certificate = await firstRow(
    'birth_certificates',
    (r) => inCity(r.mother_id_number) && inCity(r.father_id_number),
  );
  const citizens: DemoIdentities['citizens'] = [];
  if (certificate) {
    const people = [
      [
        String(certificate.mother_id_number),
        String(certificate.mother_name),
        '新生儿母亲：办理新生儿出生一件事',
      ],
      [String(certificate.father_id_number), String(certificate.father_name), '新生儿父亲：可授权或代办'],
    ] as const;
    for (const [idNumber, name, note] of people) {
      await identity.registerCitizen(ctx, {
        provider: identity.LOCAL_CITIZEN_PROVIDER,
        idNumber,
        name,
        password: ctx.config.demoPassword,
      });
      citizens.push({ idNumber, name, note });
    }
  }
  const enterprises: DemoIdentities['enterprises'] = [];
  const row = await firstRow('enterprises', (r) => isValidUscc(String(r.uscc)) && r.status === '存续');
  if (row) {
    const uscc = String(row.uscc);
    const existing = await ctx.db
      .selectFrom('organizations')
      .select('id')
      .where('uscc', '=', uscc)
      .executeTakeFirst();
    const orgId =
      existing?.id ??
      (
        await identity.createOrganization(ctx, {
          name: String(row.name),
          type: 'enterprise',
          level: 'municipal',
          regionCode: DEMO_CITY.regionCode,
          uscc,
        })
      ).id;
    const user = await ctx.db
      .selectFrom('users')
      .select('id')
      .where('username', '=', DEMO_ENTERPRISE_USER)
      .executeTakeFirst();
    if (!user)
      await identity.createUser(ctx, {
        orgId,
        username: DEMO_ENTERPRISE_USER,
        displayName: `${String(row.legal_representative)}（法定代表人）`,
        password: ctx.config.demoPassword,
        roles: ['consumer'],
      });
    enterprises.push({
      username: DEMO_ENTERPRISE_USER,
      name: String(row.name),
      note: '企业（法人）：办理企业信息变更一件事',
    });
  }
  const identities: DemoIdentities = { citizens, enterprises };
  const value = JSON.stringify(identities);
  await sql`insert into settings (key, value, updated_at) values (${DEMO_IDENTITIES_KEY}, ${value}::jsonb, now())
    on conflict (key) do update set value = excluded.value, updated_at = now()`.execute(ctx.db);
  return identities;
}

/** What the citizen site offers to sign in with in the demo city (none elsewhere). */
export async function demoIdentities(ctx: Ctx): Promise<DemoIdentities> {
  const row = await ctx.db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', DEMO_IDENTITIES_KEY)
    .executeTakeFirst();
  return (row?.value as DemoIdentities | undefined) ?? { citizens: [], enterprises: [] };
}
