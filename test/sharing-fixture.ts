import { expect } from 'vitest';
import { loadedResource, type TestApp } from './helpers.ts';

/**
 * A health resource with graded fields and 40 rows, and the application → approval → contract
 * flow through the API: shared by the sharing, gateway and property tests.
 */
export const FIELDS = [
  { name: 'record_no', label: '记录编号', dataType: 'text', isKey: true },
  { name: 'person_id', label: '公民身份号码', dataType: 'text' },
  { name: 'name', label: '姓名', dataType: 'text' },
  { name: 'district', label: '所属区县', dataType: 'text' },
  { name: 'visits', label: '就诊人次', dataType: 'integer' },
  { name: 'note', label: '备注', dataType: 'text' },
];
// Grades and detectors as classification would set them.
export const GRADING: Record<string, [string, string | null]> = {
  record_no: ['g1', null],
  person_id: ['g4', 'cn_resident_id'],
  name: ['g3', 'person_name'],
  district: ['g1', null],
  visits: ['g2', null],
  note: ['g1', null],
};
const DISTRICTS = ['西湖区', '西湖区', '滨江区', '上城区'];
const SURNAMES = ['张', '李', '王', '欧阳'];
export const ROWS = Array.from({ length: 40 }, (_, i) => ({
  record_no: `R${String(i).padStart(3, '0')}`,
  person_id: `33010619900101${String(1000 + i).slice(-4)}`,
  name: `${SURNAMES[i % 4]}小${i}`,
  district: DISTRICTS[i % 4]!,
  visits: i % 7,
  note: i === 0 ? '=HYPERLINK("http://evil")' : `备注${i}`,
}));

export interface Actors {
  steward: string;
  consumer: string;
  enterprise: string;
  security: string;
  key: string;
  otherKey: string;
}

export function sharingFixture(t: TestApp) {
  const tokens = {} as Actors;

  const call = (method: 'GET' | 'POST', url: string, token: string, payload?: unknown) =>
    t.request({ method, url, token, ...(payload === undefined ? {} : { payload: payload as object }) });

  async function gatewayKey(token: string) {
    const res = await call('POST', '/v1/api-keys', token, {
      name: 'gateway',
      scopes: ['gateway', 'sharing'],
    });
    return res.json().secret as string;
  }

  async function login() {
    tokens.steward = await t.login('steward.health');
    tokens.consumer = await t.login('consumer.civil');
    tokens.enterprise = await t.login('consumer.enterprise');
    tokens.security = await t.login('security');
    tokens.key = await gatewayKey(tokens.consumer);
    tokens.otherKey = await gatewayKey(tokens.enterprise);
  }

  async function resource(name: string, sharingType: string, gradeAll?: string) {
    const grades = Object.fromEntries(
      Object.entries(GRADING).map(([field, [grade, detector]]) => [field, [gradeAll ?? grade, detector]]),
    ) as Record<string, [string, string | null]>;
    return (
      await loadedResource(t, tokens.steward, { name, sharingType, fields: FIELDS, grades, rows: ROWS })
    ).code;
  }

  const application = (resourceCode: string, overrides: Record<string, unknown> = {}) => ({
    resource: resourceCode,
    fields: ['record_no', 'person_id', 'name', 'district', 'visits', 'note'],
    purpose: '核验低保申请人就医情况',
    purposeCategory: 'public_service',
    legalBasis: '《社会救助暂行办法》',
    scenario: '低保审核',
    operations: ['rows', 'aggregate'],
    requestedTo: new Date(Date.now() + 90 * 86_400_000).toISOString(),
    ...overrides,
  });

  async function apply(
    resourceCode: string,
    overrides: Record<string, unknown> = {},
    consumer = tokens.consumer,
  ) {
    const res = await call('POST', '/v1/applications', consumer, application(resourceCode, overrides));
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  }

  /** Apply, the provider approves with the given changes, the security officer approves: the contract id. */
  async function contractFor(
    resourceCode: string,
    changes: Record<string, unknown> = {},
    overrides: Record<string, unknown> = {},
    consumer = tokens.consumer,
    securityChanges: Record<string, unknown> = {},
  ) {
    const app = await apply(resourceCode, overrides, consumer);
    let res = await call('POST', `/v1/applications/${app.id}/approve`, tokens.steward, changes);
    expect(res.statusCode, res.body).toBe(200);
    if (res.json().state === 'security_review') {
      res = await call('POST', `/v1/applications/${app.id}/approve`, tokens.security, securityChanges);
      expect(res.statusCode, res.body).toBe(200);
    }
    expect(res.json().state).toBe('approved');
    return res.json().contractId as string;
  }

  /** The rows endpoint in Shutong's paged envelope ({items, nextCursor, fields}). */
  const rows = (contractId: string, query = '', token = tokens.key) =>
    t.request({
      method: 'GET',
      url: `/v1/gateway/contracts/${contractId}/rows${query ? `?${query}` : ''}`,
      token,
      headers: { accept: 'application/vnd.shutong.page+json' },
    });

  return { tokens, call, login, resource, application, apply, contractFor, rows };
}
