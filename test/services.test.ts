import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { integrateAudit } from '../src/audit/integrate.ts';
import { SYSTEM_PRINCIPAL } from '../src/core/auth.ts';
import { cliCtx } from '../src/core/context.ts';
import { seedDemo } from '../src/demo/seed.ts';
import { criticalPath, planSteps, savingsOf, topologicalOrder } from '../src/services/savings.ts';
import * as services from '../src/services/service.ts';
import type { StepDefinition } from '../src/services/store.ts';
import { diskTarget, migrated } from './audit-support.ts';
import { DEMO_PASSWORD, runCli, startTestApp, type TestApp } from './helpers.ts';
import { ROWS, sharingFixture } from './sharing-fixture.ts';

/**
 * A newborn bundle across three departments of the demo city: the birth certificate at the health
 * commission, then household registration at civil affairs (which has a contract on the health
 * resource) and vaccination at health in parallel, then insurance at human resources (no
 * contract). Driven through HTTP as the departments' staff and as the applicant.
 */
let t: TestApp;
let fx: ReturnType<typeof sharingFixture>;
const org: Record<string, string> = {};
let resourceId = '';
let contractId = '';
let applicant = '';
let citizen: { token: string; ctx: Awaited<ReturnType<TestApp['actAs']>> };
/** The fixture's row whose person_id is a valid resident ID number (check digit). */
const PERSON = ROWS[10]!;
let outsider = '';
let admin = '';

function newbornSteps(source: string): StepDefinition[] {
  const from = (field: string) => ({ resourceId: source, field, keyField: 'person_id' });
  return [
    {
      key: 'birth_cert',
      name: '出生医学证明',
      orgId: org.health!,
      dependsOn: [],
      workingDays: 2,
      fields: [
        { name: 'applicant_phone', label: '联系电话' },
        // Health is the provider, not a consumer under a contract: asked.
        { name: 'district', label: '所属区县', source: from('district') },
      ],
    },
    {
      key: 'registration',
      name: '户口登记',
      orgId: org.civil!,
      dependsOn: ['birth_cert'],
      workingDays: 3,
      fields: [
        { name: 'district', label: '所属区县', source: from('district') },
        { name: 'holder_name', label: '户主姓名', source: from('name') },
      ],
    },
    {
      key: 'vaccination',
      name: '预防接种证',
      orgId: org.health!,
      dependsOn: ['birth_cert'],
      workingDays: 5,
      fields: [],
    },
    {
      key: 'insurance',
      name: '城乡居民医保参保',
      orgId: org.hrss!,
      dependsOn: ['registration'],
      workingDays: 2,
      fields: [{ name: 'applicant_phone', label: '联系电话' }],
    },
  ];
}

const bundleBody = (code: string, steps: StepDefinition[], extra: Record<string, unknown> = {}) => ({
  code,
  name: '新生儿出生一件事',
  nameEn: 'Newborn: one thing',
  eventKind: 'life',
  leadOrgId: org.civil,
  promisedWorkingDays: 10,
  steps,
  ...extra,
});

beforeAll(async () => {
  t = await startTestApp();
  fx = sharingFixture(t);
  await fx.login();
  for (const [key, user] of [
    ['health', 'steward.health'],
    ['civil', 'consumer.civil'],
    ['hrss', 'steward.hrss'],
    ['market', 'steward.market'],
  ] as const)
    org[key] = (await t.actAs(user)).principal!.orgId;
  const code = await fx.resource('出生医学证明信息', 'conditional');
  resourceId = (await fx.call('GET', `/v1/resources/${code}`, fx.tokens.steward)).json().id;
  // Civil affairs looks the applicant up by her resident ID number: the security officer signs off
  // serving that key unmasked to it (a masked field cannot be filtered on).
  contractId = await fx.contractFor(code, {}, {}, undefined, {
    masking: { person_id: 'none' },
    allowWeakerMasking: true,
  });
  // A resident of the fixture's rows (her resident ID number keys them), signed in as a citizen.
  citizen = await t.citizen(PERSON.person_id, PERSON.name);
  applicant = citizen.token;
  outsider = await t.login('steward.market');
  admin = await t.login('admin');
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('service bundles', () => {
  let bundleId = '';
  let applicationId = '';

  it('declares a bundle whose savings come from its graph and the contracts in force', async () => {
    const res = await fx.call(
      'POST',
      '/v1/services/bundles',
      admin,
      bundleBody('NEWBORN', newbornSteps(resourceId)),
    );
    expect(res.statusCode, res.body).toBe(201);
    const bundle = res.json();
    bundleId = bundle.id;
    expect(bundle.state).toBe('draft');
    const registration = bundle.steps.find((s: { key: string }) => s.key === 'registration');
    expect(registration.fields).toEqual([
      expect.objectContaining({
        name: 'district',
        provenance: 'contract',
        contractId,
        providerName: '云岚市卫生健康委员会',
      }),
      expect.objectContaining({ name: 'holder_name', provenance: 'contract', contractId }),
    ]);
    expect(bundle.steps[0].fields[1]).toMatchObject({ name: 'district', provenance: 'no_contract' });
    expect(bundle.savings).toEqual({
      steps: 4,
      departments: 3,
      separateFields: 5,
      mergedFields: 3,
      exemptedFields: 1,
      askedFields: 2,
      fieldsNotAsked: 3,
      materialsExempted: 2,
      countersAvoided: 2,
      sequentialWorkingDays: 12,
      bundleWorkingDays: 7,
    });
  });

  it('refuses a malformed graph, a short promise and a duplicate code with 4xx', async () => {
    const steps = newbornSteps(resourceId);
    const cyclic = steps.map((s) => (s.key === 'birth_cert' ? { ...s, dependsOn: ['insurance'] } : s));
    const cases: Array<[unknown, number, string]> = [
      [bundleBody('CYCLE', cyclic), 400, 'steps'],
      [bundleBody('UNKNOWN', [{ ...steps[0]!, dependsOn: ['nothing'] }]), 400, 'steps[0].dependsOn'],
      [bundleBody('SHORT', steps, { promisedWorkingDays: 6 }), 400, 'promisedWorkingDays'],
      [
        bundleBody('BADFIELD', [
          {
            ...steps[0]!,
            fields: [{ name: 'x', label: 'x', source: { resourceId, field: 'nope', keyField: 'record_no' } }],
          },
        ]),
        400,
        'source.field',
      ],
      [bundleBody('NEWBORN', steps), 409, 'code'],
      [{ ...bundleBody('EXTRA', steps), surprise: 1 }, 400, ''],
    ];
    for (const [body, status, field] of cases) {
      const res = await fx.call('POST', '/v1/services/bundles', admin, body);
      expect(res.statusCode, res.body).toBe(status);
      if (field) expect(res.json().error.details.field).toBe(field);
      expect(res.json().error.messages ?? res.json().error.message).toBeTruthy();
    }
  });

  it('lets only the lead department’s administrators declare and publish; drafts are hidden from others', async () => {
    const steward = await fx.call(
      'POST',
      '/v1/services/bundles',
      fx.tokens.steward,
      bundleBody('X1', newbornSteps(resourceId)),
    );
    expect(steward.statusCode).toBe(403);
    expect((await fx.call('GET', `/v1/services/bundles/${bundleId}`, outsider)).statusCode).toBe(404);
    expect(
      (
        await fx.call('POST', `/v1/services/bundles/${bundleId}/applications`, applicant, {
          form: {},
        })
      ).statusCode,
    ).toBe(404);
    expect((await t.request({ method: 'GET', url: '/v1/services/bundles' })).statusCode).toBe(401);
    const published = await fx.call('POST', `/v1/services/bundles/${bundleId}/publish`, admin);
    expect(published.statusCode, published.body).toBe(200);
    expect(published.json().state).toBe('published');
    const again = await fx.call('POST', `/v1/services/bundles/${bundleId}/publish`, admin);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('INVALID_TRANSITION');
    expect((await fx.call('GET', `/v1/services/bundles/NEWBORN`, outsider)).json().id).toBe(bundleId);
  });

  it('asks exactly the fields no contract gives: an exempted or missing field is refused', async () => {
    const apply = (form: Record<string, string>) =>
      fx.call('POST', `/v1/services/bundles/${bundleId}/applications`, applicant, { form });
    const missing = await apply({ applicant_phone: '13800000000' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.details).toMatchObject({ field: 'form.district', missing: ['district'] });
    const exempted = await apply({ applicant_phone: '13800000000', district: '西湖区', holder_name: '张三' });
    expect(exempted.statusCode).toBe(400);
    expect(exempted.json().error.details.extra).toEqual(['holder_name']);
    expect(exempted.json().error.messages['zh-CN']).toContain('无需填写');
    const res = await apply({ applicant_phone: '13800000000', district: '西湖区' });
    expect(res.statusCode, res.body).toBe(201);
    const application = res.json();
    applicationId = application.id;
    expect(application.steps.map((s: { key: string; state: string }) => [s.key, s.state])).toEqual([
      ['birth_cert', 'submitted'],
      ['registration', 'waiting'],
      ['vaccination', 'waiting'],
      ['insurance', 'waiting'],
    ]);
  });

  it('keeps a step from starting before its inputs, and other departments out', async () => {
    const step = (key: string, event: string, token: string, payload?: unknown) =>
      fx.call('POST', `/v1/services/applications/${applicationId}/steps/${key}/${event}`, token, payload);
    const early = await step('registration', 'accept', fx.tokens.consumer);
    expect(early.statusCode).toBe(409);
    expect(early.json().error.details).toMatchObject({ state: 'waiting', event: 'accept' });
    // Civil affairs sees the application (it has a step) but may not move health's step.
    expect((await step('birth_cert', 'accept', fx.tokens.consumer)).statusCode).toBe(403);
    // An organization with no step in it does not see it at all.
    expect((await fx.call('GET', `/v1/services/applications/${applicationId}`, outsider)).statusCode).toBe(
      404,
    );
    expect((await step('birth_cert', 'accept', outsider)).statusCode).toBe(404);
    expect((await step('birth_cert', 'return', fx.tokens.steward, {})).statusCode).toBe(400);
    for (const event of ['accept', 'start', 'complete']) {
      const res = await step('birth_cert', event, fx.tokens.steward);
      expect(res.statusCode, res.body).toBe(200);
    }
    const after = (await fx.call('GET', `/v1/services/applications/${applicationId}`, applicant)).json();
    const states = Object.fromEntries(
      after.steps.map((s: { key: string; state: string }) => [s.key, s.state]),
    );
    expect(states).toEqual({
      birth_cert: 'done',
      registration: 'submitted',
      vaccination: 'submitted',
      insurance: 'waiting',
    });
    expect(after.steps[1].dueOn).toBeTruthy();
  });

  it('pre-fills through the department’s contract, with the contract as the proof', async () => {
    const res = await fx.call(
      'POST',
      `/v1/services/applications/${applicationId}/steps/registration/prefill`,
      fx.tokens.consumer,
    );
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.filled.sort()).toEqual(['district', 'holder_name']);
    expect(body.missing).toEqual([]);
    const registration = body.application.steps.find((s: { key: string }) => s.key === 'registration');
    expect(registration.prefill.district).toEqual({ value: PERSON.district, contractId });
    expect(registration.prefill.holder_name.contractId).toBe(contractId);
    // Health pre-filling its own step has no contract: the field is named, not guessed.
    const health = await fx.call(
      'POST',
      `/v1/services/applications/${applicationId}/steps/birth_cert/prefill`,
      fx.tokens.steward,
    );
    expect(health.json().missing).toEqual(['district']);
    expect(health.json().reasons).toEqual({ district: 'no_contract' });
    await integrateAudit(t.database.db);
    const auditor = await t.login('auditor');
    const reads = await fx.call(
      'GET',
      `/v1/audit/entries?action=gateway.rows&objectId=${contractId}`,
      auditor,
    );
    expect(reads.statusCode, reads.body).toBe(200);
    expect(reads.json().items.length).toBeGreaterThanOrEqual(2);
    const proof = await fx.call(
      'GET',
      `/v1/audit/entries?action=service_step.prefill&objectId=${applicationId}`,
      auditor,
    );
    expect(proof.json().items.map((e: { details: { missing: string[] } }) => e.details.missing)).toEqual([
      ['district'],
      [],
    ]);
  });

  it('returns, resubmits and completes every step; the application is done', async () => {
    const step = (key: string, event: string, token: string, payload?: unknown) =>
      fx.call('POST', `/v1/services/applications/${applicationId}/steps/${key}/${event}`, token, payload);
    expect(
      (await step('registration', 'return', fx.tokens.consumer, { reason: '请补充父亲信息' })).json().steps[1]
        .state,
    ).toBe('returned');
    expect((await step('registration', 'resubmit', fx.tokens.consumer)).statusCode).toBe(403);
    expect((await step('registration', 'resubmit', applicant)).statusCode).toBe(200);
    const hrss = await t.login('steward.hrss');
    for (const [key, token] of [
      ['registration', fx.tokens.consumer],
      ['vaccination', fx.tokens.steward],
      ['insurance', hrss],
    ] as const) {
      for (const event of ['accept', 'start', 'complete']) {
        const res = await step(key, event, token);
        expect(res.statusCode, `${key} ${event} ${res.body}`).toBe(200);
      }
    }
    const done = (await fx.call('GET', `/v1/services/applications/${applicationId}`, applicant)).json();
    expect(done.state).toBe('done');
    expect((await step('insurance', 'complete', hrss)).statusCode).toBe(409);
    const mine = (await fx.call('GET', '/v1/services/applications', applicant)).json();
    expect(mine.items.map((a: { id: string }) => a.id)).toContain(applicationId);
    expect((await fx.call('GET', '/v1/services/applications', outsider)).json().items).toEqual([]);
  });

  it('counts deadlines in working days across the National Day holiday and lists overdue steps', async () => {
    const ctx = citizen.ctx;
    // The contract starts today, so on 30 September 2025 nothing was exempted yet.
    const form = { applicant_phone: '13800000000', district: '西湖区', holder_name: '张三' };
    const a = await services.apply(ctx, bundleId, { form }, new Date('2025-09-30T02:00:00Z'));
    expect(a.submittedOn).toBe('2025-09-30');
    // 1–8 October are holidays; Saturday 11 October is a make-up working day (so 3 days late on the 14th).
    expect(a.steps[0]!.dueOn).toBe('2025-10-10');
    expect(a.dueOn).toBe('2025-10-21');
    const late = await services.overdueSteps(
      await t.actAs('steward.health'),
      new Date('2025-10-14T02:00:00Z'),
    );
    expect(late).toContainEqual(
      expect.objectContaining({ applicationId: a.id, step: 'birth_cert', workingDaysOverdue: 3 }),
    );
    expect(
      await services.overdueSteps(await t.actAs('consumer.civil'), new Date('2025-10-14T02:00:00Z')),
    ).toEqual([]);
    // Reported once for its due date, as an audit entry the monitor turns into an alert.
    const system = cliCtx(t.database.db, t.config, SYSTEM_PRINCIPAL);
    expect(
      await services.reportOverdueSteps(system, new Date('2025-10-14T02:00:00Z')),
    ).toBeGreaterThanOrEqual(1);
    expect(await services.reportOverdueSteps(system, new Date('2025-10-15T02:00:00Z'))).toBe(0);
    await integrateAudit(t.database.db);
    const entries = await fx.call(
      'GET',
      `/v1/audit/entries?action=service_step.overdue&objectId=${a.id}`,
      await t.login('auditor'),
    );
    expect(entries.json().items).toEqual([
      expect.objectContaining({
        orgId: org.health,
        details: expect.objectContaining({ step: 'birth_cert', dueOn: '2025-10-10' }),
      }),
    ]);
  });

  it('asks the citizen again once the contract is revoked (no contract, no exemption)', async () => {
    const revoke = await fx.call('POST', `/v1/contracts/${contractId}/revoke`, fx.tokens.steward, {
      reason: '测试撤销',
    });
    expect(revoke.statusCode, revoke.body).toBe(200);
    const bundle = (await fx.call('GET', `/v1/services/bundles/${bundleId}`, applicant)).json();
    expect(bundle.savings).toMatchObject({ exemptedFields: 0, askedFields: 3, materialsExempted: 0 });
    const res = await fx.call('POST', `/v1/services/bundles/${bundleId}/applications`, applicant, {
      form: { applicant_phone: '13800000000', district: '西湖区' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.missing).toEqual(['holder_name']);
    const savings = (await fx.call('GET', '/v1/services/savings', applicant)).json();
    expect(savings).toContainEqual({
      code: 'NEWBORN',
      name: '新生儿出生一件事',
      state: 'published',
      savings: bundle.savings,
    });
  });
});

describe('savings arithmetic (property)', () => {
  const graph = fc
    .array(
      fc.record({
        org: fc.integer({ min: 0, max: 3 }),
        days: fc.integer({ min: 1, max: 9 }),
        fields: fc.uniqueArray(
          fc.record({
            name: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
            sourced: fc.boolean(),
            covered: fc.boolean(),
          }),
          {
            selector: (f) => f.name,
            maxLength: 5,
          },
        ),
        deps: fc.array(fc.nat(), { maxLength: 3 }),
      }),
      { minLength: 1, maxLength: 8 },
    )
    .map((raw) =>
      raw.map((s, i) => ({
        key: `s${i}`,
        name: `s${i}`,
        orgId: `o${s.org}`,
        // Only earlier steps: always acyclic.
        dependsOn: i === 0 ? [] : [...new Set(s.deps.map((d) => `s${d % i}`))],
        workingDays: s.days,
        fields: s.fields.map((f) => ({
          name: f.name,
          label: f.name,
          ...(f.sourced ? { source: { resourceId: 'r', field: f.name, keyField: 'k' } } : {}),
          covered: f.covered,
        })),
      })),
    );

  it('never asks more than separately, and exempts only what every use gets by contract', () => {
    fc.assert(
      fc.property(graph, (steps) => {
        const plan = planSteps(steps, (step, name) => {
          const f = step.fields.find((x) => x.name === name) as { covered?: boolean } | undefined;
          return f?.covered ? `ctr_${step.key}` : null;
        });
        const s = savingsOf(plan);
        expect(s.askedFields + s.exemptedFields).toBe(s.mergedFields);
        expect(s.mergedFields).toBeLessThanOrEqual(s.separateFields);
        expect(s.fieldsNotAsked).toBe(s.separateFields - s.askedFields);
        expect(s.fieldsNotAsked).toBeGreaterThanOrEqual(0);
        expect(s.materialsExempted).toBeLessThanOrEqual(s.separateFields);
        expect(s.countersAvoided).toBe(s.departments - 1);
        expect(s.bundleWorkingDays).toBeLessThanOrEqual(s.sequentialWorkingDays);
        expect(s.bundleWorkingDays).toBeGreaterThanOrEqual(Math.max(...steps.map((x) => x.workingDays)));
        // A topological order puts every step after its inputs.
        const order = topologicalOrder(steps)!;
        for (const st of steps)
          for (const d of st.dependsOn) expect(order.indexOf(d)).toBeLessThan(order.indexOf(st.key));
        expect(criticalPath(steps)).toBe(s.bundleWorkingDays);
      }),
    );
  });

  it('finds every cycle', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 8 }), (n) => {
        const ring = Array.from({ length: n }, (_, i) => ({ key: `s${i}`, dependsOn: [`s${(i + 1) % n}`] }));
        expect(topologicalOrder(ring)).toBeNull();
      }),
    );
  });
});

describe('shutong services savings', () => {
  it('prints the savings computed from the stored bundles', async () => {
    const target = await diskTarget();
    try {
      const database = await migrated(target);
      try {
        const ctx = cliCtx(database.db, target.config, SYSTEM_PRINCIPAL);
        await seedDemo(ctx, { data: false });
        const orgs = await database.db
          .selectFrom('organizations')
          .select(['id'])
          .orderBy('id')
          .limit(2)
          .execute();
        const step = (key: string, orgId: string, dependsOn: string[]) => ({
          key,
          name: key,
          orgId,
          dependsOn,
          workingDays: 2,
          fields: [
            { name: 'phone', label: '电话' },
            { name: key, label: key },
          ],
        });
        const bundle = await services.createBundle(ctx, {
          code: 'CHANGE',
          name: '企业信息变更一件事',
          nameEn: 'Company change',
          eventKind: 'business',
          leadOrgId: orgs[0]!.id,
          promisedWorkingDays: 5,
          steps: [step('license', orgs[0]!.id, []), step('tax', orgs[1]!.id, ['license'])],
        });
        await services.changeBundle(ctx, bundle.id, 'publish');
      } finally {
        await database.close();
      }
      const res = await runCli(['services', 'savings', '--json'], { ...target.env, DEMO_PASSWORD });
      expect(res.code, res.stderr).toBe(0);
      expect(JSON.parse(res.stdout)).toEqual([
        {
          code: 'CHANGE',
          name: '企业信息变更一件事',
          state: 'published',
          savings: {
            steps: 2,
            departments: 2,
            separateFields: 4,
            mergedFields: 3,
            exemptedFields: 0,
            askedFields: 3,
            fieldsNotAsked: 1,
            materialsExempted: 0,
            countersAvoided: 1,
            sequentialWorkingDays: 4,
            bundleWorkingDays: 4,
          },
        },
      ]);
      const table = await runCli(['services', 'savings', '--bundle', 'CHANGE'], target.env);
      expect(table.stdout).toMatch(/^bundle\s+state\s+steps/);
      expect(table.stdout).toContain('CHANGE: 企业信息变更一件事');
    } finally {
      await target.drop();
    }
  }, 120_000);
});
