import { Mulberry32 } from '../core/random.ts';
import type { AdminLevel, OrgType, Role } from '../core/tables.ts';
import { makeUscc, USCC_ALPHABET } from '../standards/uscc.ts';

/**
 * 云岚市 (Yunlan) is a fictional prefecture-level city. So that every code in the demo validates
 * against the real GB/T 2260 list, its organizations borrow Hangzhou's division codes (330100 and
 * its districts); the names of the city and its organizations are made up.
 */
export const DEMO_CITY = { name: '云岚市', regionCode: '330100' } as const;
export const DEMO_SEED = 20_260_301;

export interface DemoOrganization {
  key: string;
  name: string;
  type: OrgType;
  level: AdminLevel;
  regionCode: string;
}

export interface DemoUser {
  username: string;
  displayName: string;
  org: string;
  roles: Role[];
}

const dept = (key: string, name: string): DemoOrganization => ({
  key,
  name: `${DEMO_CITY.name}${name}`,
  type: 'government_department',
  level: 'municipal',
  regionCode: DEMO_CITY.regionCode,
});

export const DEMO_ORGANIZATIONS: DemoOrganization[] = [
  dept('data', '数据资源管理局'),
  dept('psb', '公安局'),
  dept('civil', '民政局'),
  dept('hrss', '人力资源和社会保障局'),
  dept('health', '卫生健康委员会'),
  dept('edu', '教育局'),
  dept('market', '市场监督管理局'),
  dept('nature', '自然资源和规划局'),
  dept('transport', '交通运输局'),
  dept('ecology', '生态环境局'),
  dept('housing', '住房和城乡建设局'),
  dept('tax', '税务局'),
  dept('stats', '统计局'),
  {
    key: 'hospital',
    name: `${DEMO_CITY.name}第一人民医院`,
    type: 'public_institution',
    level: 'county',
    regionCode: '330106',
  },
  {
    key: 'operator',
    name: `${DEMO_CITY.name}数据运营有限公司`,
    type: 'authorized_operator',
    level: 'municipal',
    regionCode: DEMO_CITY.regionCode,
  },
  {
    key: 'mobility',
    name: `${DEMO_CITY.name}智慧出行科技有限公司`,
    type: 'enterprise',
    level: 'county',
    regionCode: '330108',
  },
];

/** The data steward account of an organization: the demo's resources are registered and loaded as it. */
export const stewardUsername = (org: string) => `steward.${org}`;
const steward = (org: string, displayName: string): DemoUser => ({
  username: stewardUsername(org),
  displayName,
  org,
  roles: ['data_steward'],
});

export const DEMO_USERS: DemoUser[] = [
  { username: 'admin', displayName: '平台管理员', org: 'data', roles: ['platform_admin'] },
  { username: 'security', displayName: '安全管理员', org: 'data', roles: ['security_officer'] },
  { username: 'auditor', displayName: '审计员', org: 'data', roles: ['auditor'] },
  steward('health', '卫健委数据专员'),
  steward('psb', '公安局数据专员'),
  steward('market', '市场监管局数据专员'),
  steward('civil', '民政局数据专员'),
  steward('hrss', '人社局数据专员'),
  steward('edu', '教育局数据专员'),
  steward('nature', '自然资源和规划局数据专员'),
  steward('housing', '住建局数据专员'),
  steward('transport', '交通运输局数据专员'),
  steward('ecology', '生态环境局数据专员'),
  steward('tax', '税务局数据专员'),
  steward('stats', '统计局数据专员'),
  steward('hospital', '第一人民医院数据专员'),
  { username: 'consumer.civil', displayName: '民政局数据使用人', org: 'civil', roles: ['consumer'] },
  // The departments of the demo's one-thing services: they apply for the contracts the bundles
  // stand on and handle their steps (src/demo/services.ts).
  { username: 'consumer.psb', displayName: '公安局户籍窗口', org: 'psb', roles: ['consumer'] },
  { username: 'consumer.health', displayName: '卫健委接种服务窗口', org: 'health', roles: ['consumer'] },
  { username: 'consumer.hrss', displayName: '人社局社保窗口', org: 'hrss', roles: ['consumer'] },
  { username: 'consumer.tax', displayName: '税务局登记窗口', org: 'tax', roles: ['consumer'] },
  {
    username: 'consumer.enterprise',
    displayName: '数据运营公司数据使用人',
    org: 'operator',
    roles: ['consumer'],
  },
  // Authorized operation (src/demo/operation.ts): the operator's steward registers its product,
  // prices it under the cap, subscribes customers and issues their bills; the mobility company
  // is its paying customer, through its own sharing contract.
  steward('operator', '数据运营公司数据专员'),
  { username: 'consumer.mobility', displayName: '智慧出行数据使用人', org: 'mobility', roles: ['consumer'] },
];

/**
 * GB 32100 registration authority and organization category by organization type:
 * 1-1 机构编制·机关, 1-2 机构编制·事业单位, 9-1 市场监管·企业.
 */
const USCC_PREFIX: Record<OrgType, [string, string]> = {
  government_department: ['1', '1'],
  public_institution: ['1', '2'],
  enterprise: ['9', '1'],
  authorized_operator: ['9', '1'],
};

/** Deterministic credit codes: the same seed always gives the same city. */
export function demoCreditCodes(seed = DEMO_SEED): Map<string, string> {
  // A seeded generator of our own, not faker: this module loads at every start, faker is ~36 MB.
  const random = new Mulberry32(seed);
  const alphabet = [...USCC_ALPHABET.slice(0, 10), ...'ABCDEFGHJKLMNPQRTUWXY'];
  const codes = new Map<string, string>();
  for (const org of DEMO_ORGANIZATIONS) {
    const [authority, category] = USCC_PREFIX[org.type];
    const body = Array.from({ length: 8 }, () => alphabet[Math.floor(random.next() * alphabet.length)]).join(
      '',
    );
    codes.set(org.key, makeUscc(authority, category, org.regionCode, body));
  }
  return codes;
}
