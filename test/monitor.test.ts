import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/core/config.ts';
import type { DatabaseHandle } from '../src/core/db.ts';
import { bucketOf } from '../src/monitor/rules.ts';
import { evaluateAlerts } from '../src/monitor/service.ts';
import { settleDeliveries } from '../src/monitor/webhook.ts';
import { buildServer } from '../src/server.ts';
import { secondNode, startTestApp, type TestApp } from './helpers.ts';
import { type Actors, sharingFixture } from './sharing-fixture.ts';

/**
 * Monitoring end to end: each alert rule fires on a scripted scenario and stays quiet on normal
 * traffic; alerts follow their lifecycle and reach a webhook on 127.0.0.1; freezes of every scope
 * stop a second server instance on the same database from its next request, and are lifted.
 */

// Working hours around the clock, so ordinary calls in these tests are in working hours.
const ENV = {
  MONITOR_WORKING_HOURS: '00:00-24:00',
  MONITOR_WORKING_DAYS: '1-7',
  MONITOR_BASELINE_MIN_ROWS: '100',
  MONITOR_REFUSED_BURST: '5',
  MONITOR_KEY_BURST: '6',
};

// ---------------------------------------------------------------- a webhook receiver on 127.0.0.1

interface Received {
  alertId: string;
  body: { type: string; alert: { id: string; rule: string } };
  status: number;
}
const received: Received[] = [];
let receiver: Server;

async function startReceiver(): Promise<string> {
  receiver = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // The very first delivery fails, so the retry is exercised.
      const status = received.length === 0 ? 500 : 200;
      received.push({
        alertId: String(req.headers['x-shutong-alert']),
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
        status,
      });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
}

// ---------------------------------------------------------------- the platform

let t: TestApp;
let tokens: Actors;
let fixture: ReturnType<typeof sharingFixture>;
let code: string;
let auditor: string;
let civilOrg: string;

/** A second server on the same database: its own connection pool when on a PostgreSQL server. */
let otherDb: DatabaseHandle | undefined;
let closeOtherDb: (() => Promise<void>) | undefined;
let otherNode: FastifyInstance;

async function secondHandle(): Promise<DatabaseHandle> {
  const other = await secondNode(t);
  closeOtherDb = other.close;
  // Tests below race the two handles only when they are two.
  if (other.database !== t.database) otherDb = other.database;
  return other.database;
}

beforeAll(async () => {
  const hook = await startReceiver();
  t = await startTestApp({ ...ENV, MONITOR_WEBHOOK_URL: hook });
  fixture = sharingFixture(t);
  tokens = fixture.tokens;
  await fixture.login();
  code = await fixture.resource('门诊就诊明细', 'conditional');
  auditor = await t.login('auditor');
  civilOrg = (
    await t.database.db
      .selectFrom('organizations')
      .select('id')
      .where('name', '=', '云岚市民政局')
      .executeTakeFirstOrThrow()
  ).id;
  otherNode = await buildServer({
    config: t.config,
    database: await secondHandle(),
    logStream: { write: () => true } as never,
  });
});

afterAll(async () => {
  await otherNode?.close();
  await settleDeliveries();
  await closeOtherDb?.();
  await t.close();
  await new Promise((resolve) => receiver.close(resolve));
});

const call = (method: 'GET' | 'POST', url: string, token: string, payload?: unknown) =>
  t.request({ method, url, token, ...(payload === undefined ? {} : { payload: payload as object }) });

async function evaluate() {
  const res = await call('POST', '/v1/monitor/evaluate', tokens.security);
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { events: number; opened: Array<{ id: string; rule: string }>; lastSeq: number };
}

interface AlertJson {
  id: string;
  state: string;
  severity: string;
  occurrences: number;
  subject: { type: string; id: string };
  details: Record<string, unknown>;
}

async function alertsFor(subject: string, rule?: string) {
  const res = await call(
    'GET',
    `/v1/monitor/alerts?subject=${subject}${rule ? `&rule=${rule}` : ''}&limit=200`,
    tokens.security,
  );
  expect(res.statusCode, res.body).toBe(200);
  return res.json().items as AlertJson[];
}

async function newKey(token: string, scopes = ['gateway', 'sharing']) {
  const res = await call('POST', '/v1/api-keys', token, { name: 'monitor-test', scopes });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; secret: string };
}

const smallContract = (changes: Record<string, unknown> = {}) =>
  fixture.contractFor(code, changes, { fields: ['record_no', 'district'] });

const rowsVia = (node: FastifyInstance, contract: string, key: string, query = '') =>
  node.inject({
    method: 'GET',
    url: `/v1/gateway/contracts/${contract}/rows${query}`,
    headers: { authorization: `Bearer ${key}` },
  });

/** GB 11643 resident id numbers with valid check characters. */
function residentId(i: number): string {
  const body = `33010619${String(70 + (i % 30))}0${1 + (i % 9)}1${i % 10}${String(100 + i).slice(-3)}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((acc, d, k) => acc + Number(d) * weights[k]!, 0);
  return body + '10X98765432'[sum % 11];
}

// ---------------------------------------------------------------- the rules

describe('alert rules', () => {
  it('contract_rows_baseline: a contract reading far above its own history fires; a steady one does not', async () => {
    const burst = await smallContract();
    const steady = await smallContract();
    // Both contracts are two days old and read about 20 rows an hour until now, as earlier
    // evaluations would have recorded in the window sums.
    await sql`update contracts set created_at = now() - interval '2 days' where id in (${burst}, ${steady})`.execute(
      t.database.db,
    );
    const current = bucketOf(new Date(), t.config.monitor.windowMinutes).getTime();
    const history = [burst, steady].flatMap((subject) =>
      Array.from({ length: 24 }, (_, i) => ({
        metric: 'rows',
        subject,
        window_minutes: t.config.monitor.windowMinutes,
        bucket: new Date(current - (i + 1) * t.config.monitor.windowMinutes * 60_000),
        value: 20,
      })),
    );
    await t.database.db.insertInto('monitor_counters').values(history).execute();
    const key = (await newKey(tokens.consumer)).secret;
    expect((await rowsVia(t.app, steady, key)).statusCode).toBe(200);
    for (let i = 0; i < 20; i++) expect((await rowsVia(t.app, burst, key)).statusCode).toBe(200);
    await evaluate();
    const [alert] = await alertsFor(burst, 'contract_rows_baseline');
    expect(alert).toMatchObject({
      severity: 'warning',
      state: 'open',
      subject: { type: 'contract', id: burst },
      details: { baselinePerWindow: 20, historyWindows: 24 },
    });
    expect(alert!.details.rows).toBeGreaterThanOrEqual(400);
    expect(await alertsFor(steady)).toEqual([]);
  });

  it('off_hours_access: a working-hours-only contract called off hours fires; in hours it does not', async () => {
    const restricted = await smallContract({ workingHoursOnly: true });
    const view = (await call('GET', `/v1/contracts/${restricted}`, tokens.consumer)).json();
    expect(view.workingHoursOnly).toBe(true);
    const unrestricted = await smallContract();
    const key = (await newKey(tokens.consumer)).secret;
    // In working hours (this server works around the clock): served, and nothing to flag.
    expect((await rowsVia(t.app, restricted, key)).statusCode).toBe(200);
    await evaluate();
    expect(await alertsFor(restricted)).toEqual([]);

    // A node whose working hours exclude this moment refuses the call outright.
    const hour = Number(new Date(Date.now() + 8 * 3_600_000).toISOString().slice(11, 13));
    const pad = (h: number) => String(h % 24).padStart(2, '0');
    const offHours = { ...t.config.monitor, workingHours: `${pad(hour + 3)}:00-${pad(hour + 4)}:00` };
    const night = await buildServer({
      config: { ...t.config, monitor: offHours },
      database: t.database,
      logStream: { write: () => true } as never,
    });
    const refused = await rowsVia(night, restricted, key);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error).toMatchObject({
      code: 'OUTSIDE_WORKING_HOURS',
      details: { timeZone: 'Asia/Shanghai' },
    });
    expect((await rowsVia(night, unrestricted, key)).statusCode).toBe(200);
    await night.close();
    await evaluate();
    const [attempt] = await alertsFor(restricted, 'off_hours_access');
    expect(attempt).toMatchObject({ severity: 'warning', details: { served: 0, refused: 1 } });
    expect(await alertsFor(unrestricted)).toEqual([]);

    // Judged by those hours, a call this server served is an off-hours read: the alert escalates.
    expect((await rowsVia(t.app, restricted, key)).statusCode).toBe(200);
    await evaluateAlerts(t.database.db, new Date(), { settings: offHours });
    const [served] = await alertsFor(restricted, 'off_hours_access');
    expect(served).toMatchObject({
      id: attempt!.id,
      severity: 'critical',
      occurrences: 2,
      details: { served: 1 },
    });
  });

  it('refused_burst: repeated refusals of one key fire; a few do not; an ongoing burst stays one alert', async () => {
    const contract = await smallContract();
    const noisy = await newKey(tokens.enterprise);
    const quiet = await newKey(tokens.consumer);
    // The enterprise is not this contract's consumer: every call is refused (404: ids cannot be probed).
    for (let i = 0; i < 5; i++) expect((await rowsVia(t.app, contract, noisy.secret)).statusCode).toBe(404);
    for (let i = 0; i < 2; i++) {
      expect((await rowsVia(t.app, contract, quiet.secret, '?select=password')).statusCode).toBe(403);
    }
    await evaluate();
    const [alert] = await alertsFor(noisy.id, 'refused_burst');
    expect(alert).toMatchObject({
      severity: 'warning',
      subject: { type: 'api_key', id: noisy.id },
      details: { refused: 5, recentOutcomes: { NOT_FOUND: 5 } },
    });
    expect(await alertsFor(quiet.id)).toEqual([]);
    // More refusals in the same window update the open alert instead of opening another.
    expect((await rowsVia(t.app, contract, noisy.secret)).statusCode).toBe(404);
    await evaluate();
    const again = await alertsFor(noisy.id, 'refused_burst');
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({ id: alert!.id, occurrences: 2, details: { refused: 6 } });
  });

  it('api_key_burst: a user minting many keys fires; ordinary key creation does not', async () => {
    const steward = await t.login('steward.health');
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await newKey(steward, ['catalog:read'])).id);
    const users = await t.database.db
      .selectFrom('users')
      .select(['id', 'username'])
      .where('username', 'in', ['steward.health', 'consumer.civil', 'consumer.enterprise'])
      .execute();
    const id = (name: string) => users.find((u) => u.username === name)!.id;
    await evaluate();
    const [alert] = await alertsFor(id('steward.health'), 'api_key_burst');
    expect(alert).toMatchObject({ subject: { type: 'user' }, details: { created: 6 } });
    expect(alert!.details.keys).toEqual(ids);
    // The consumers made a handful of keys each in these tests: below the threshold.
    expect(await alertsFor(id('consumer.civil'), 'api_key_burst')).toEqual([]);
    expect(await alertsFor(id('consumer.enterprise'), 'api_key_burst')).toEqual([]);
  });

  async function importResource(name: string, grade: string, detector: string | null) {
    const fields = [
      { name: 'case_no', label: '案件编号', dataType: 'text', isKey: true },
      { name: 'party_id', label: '当事人证件', dataType: 'text' },
      { name: 'district', label: '区县', dataType: 'text' },
    ];
    const created = await call('POST', '/v1/resources', tokens.steward, {
      name,
      theme: 'health',
      updateCycle: 'monthly',
      sharingType: 'conditional',
      sharingConditions: '依法履职需要',
      openType: 'not_open',
      fields,
    });
    expect(created.statusCode, created.body).toBe(201);
    const resource = created.json() as { id: string; code: string };
    await t.publish(resource.code, tokens.steward);
    for (const f of fields) {
      await t.database.db
        .updateTable('resource_fields')
        .set({
          grade: (f.name === 'party_id' ? grade : 'g1') as never,
          detector: f.name === 'party_id' ? detector : null,
        })
        .where('resource_id', '=', resource.id)
        .where('name', '=', f.name)
        .execute();
    }
    const csv = `case_no,party_id,district\n${Array.from({ length: 60 }, (_, i) => `C${i},${residentId(i)},西湖区`).join('\n')}\n`;
    const up = await t.request({
      method: 'POST',
      url: `/v1/resources/${resource.code}/versions?filename=cases.csv&wait=true`,
      token: tokens.steward,
      headers: { 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(up.statusCode, up.body).toBe(201);
    return resource;
  }

  it('undeclared_sensitive_field: a version holding id numbers in a field declared g1 fires; declared ones do not', async () => {
    const hidden = await importResource('调解案件', 'g1', null);
    const declared = await importResource('调解案件（已申报）', 'g4', 'cn_resident_id');
    await evaluate();
    const [alert] = await alertsFor(hidden.id, 'undeclared_sensitive_field');
    expect(alert).toMatchObject({
      severity: 'critical',
      subject: { type: 'resource', id: hidden.id },
      details: { resourceCode: hidden.code, versionNumber: 1, scannedBy: 'classifier' },
    });
    expect(alert!.details.fields).toEqual([
      expect.objectContaining({ field: 'party_id', detector: 'cn_resident_id' }),
    ]);
    expect(await alertsFor(declared.id)).toEqual([]);
  });

  it('undeclared_sensitive_field: without the classifier’s verdict the monitor scans the version itself', async () => {
    const resource = await importResource('调解案件（未分级）', 'g1', null);
    // As if the import had run without classification: no scan of this version, no flag.
    await t.database.db.deleteFrom('field_classifications').where('resource_id', '=', resource.id).execute();
    await sql`update resources set grade_flag = null where id = ${resource.id}`.execute(t.database.db);
    await t.database.db
      .updateTable('resource_fields')
      .set({ grade: 'g1', detector: null })
      .where('resource_id', '=', resource.id)
      .execute();
    await evaluate();
    const [alert] = await alertsFor(resource.id, 'undeclared_sensitive_field');
    expect(alert).toMatchObject({ details: { scannedBy: 'monitor' } });
    expect(alert!.details.fields).toEqual([
      expect.objectContaining({
        field: 'party_id',
        detector: 'cn_resident_id',
        declaredGrade: 'g1',
        expectedGrade: 'g4',
      }),
    ]);
  });

  it('contract_expiring: a contract ending within the window fires once; a resolved one stays quiet until its end date changes', async () => {
    const ending = await smallContract();
    const lasting = await smallContract();
    const setEnd = (days: number) =>
      t.database.db
        .updateTable('contracts')
        .set({ valid_to: new Date(Date.now() + days * 86_400_000) })
        .where('id', '=', ending)
        .execute();
    await setEnd(3);
    await evaluate();
    await evaluate();
    const [alert] = await alertsFor(ending, 'contract_expiring');
    expect(alert).toMatchObject({ severity: 'info', details: { daysLeft: 3 }, occurrences: 2 });
    expect(await alertsFor(lasting)).toEqual([]);
    expect(
      (await call('POST', `/v1/monitor/alerts/${alert!.id}/resolve`, tokens.security, { note: '已提醒续签' }))
        .statusCode,
    ).toBe(200);
    await evaluate();
    expect(await alertsFor(ending, 'contract_expiring')).toHaveLength(1);
    await setEnd(5);
    await evaluate();
    const both = await alertsFor(ending, 'contract_expiring');
    expect(both.map((a) => a.state)).toEqual(['open', 'resolved']);
  });
});

// ---------------------------------------------------------------- alerts as objects

describe('alerts', () => {
  let alertId: string;
  beforeAll(async () => {
    const [first] = (await call('GET', '/v1/monitor/alerts?rule=refused_burst', tokens.security)).json()
      .items;
    alertId = first.id;
  });

  it('moves open → acknowledged → resolved and refuses undeclared transitions with 409', async () => {
    const ack = await call('POST', `/v1/monitor/alerts/${alertId}/acknowledge`, tokens.security, {
      note: '在查',
    });
    expect(ack.statusCode, ack.body).toBe(200);
    expect(ack.json()).toMatchObject({ state: 'acknowledged', acknowledged: { note: '在查' } });
    const twice = await call('POST', `/v1/monitor/alerts/${alertId}/acknowledge`, tokens.security, {});
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error).toMatchObject({
      code: 'INVALID_TRANSITION',
      details: { objectType: 'alert', state: 'acknowledged', event: 'acknowledge' },
    });
    const noNote = await call('POST', `/v1/monitor/alerts/${alertId}/resolve`, tokens.security, {});
    expect(noNote.statusCode).toBe(400);
    expect(noNote.json().error.details.field).toBe('note');
    const resolved = await call('POST', `/v1/monitor/alerts/${alertId}/resolve`, tokens.security, {
      note: '误配置的密钥，已吊销',
    });
    expect(resolved.json()).toMatchObject({ state: 'resolved', resolved: { note: '误配置的密钥，已吊销' } });
    expect(
      (await call('POST', `/v1/monitor/alerts/${alertId}/resolve`, tokens.security, { note: '再来' }))
        .statusCode,
    ).toBe(409);
    expect(
      (await call('POST', `/v1/monitor/alerts/${alertId}/acknowledge`, tokens.security, {})).statusCode,
    ).toBe(409);
    const actions = await t.database.db
      .selectFrom('audit_events')
      .select('action')
      .where('object_id', '=', alertId)
      .orderBy('queued')
      .execute();
    expect(actions.map((a) => a.action)).toEqual([
      'monitor.alert.open',
      'monitor.alert.acknowledge',
      'monitor.alert.resolve',
    ]);
  });

  it('lists with filters and cursor paging', async () => {
    const all = (await call('GET', '/v1/monitor/alerts?limit=200', tokens.security)).json().items;
    expect(all.length).toBeGreaterThan(4);
    const page1 = (await call('GET', '/v1/monitor/alerts?limit=2', tokens.security)).json();
    const page2 = (
      await call('GET', `/v1/monitor/alerts?limit=2&cursor=${page1.nextCursor}`, tokens.security)
    ).json();
    expect([...page1.items, ...page2.items].map((a: { id: string }) => a.id)).toEqual(
      all.slice(0, 4).map((a: { id: string }) => a.id),
    );
    const critical = (await call('GET', '/v1/monitor/alerts?severity=critical', tokens.security)).json()
      .items;
    expect(critical.length).toBeGreaterThan(0);
    expect(critical.every((a: { severity: string }) => a.severity === 'critical')).toBe(true);
    const resolved = (await call('GET', '/v1/monitor/alerts?state=resolved', tokens.security)).json().items;
    expect(resolved.map((a: { id: string }) => a.id)).toContain(alertId);
    const bad = await call('GET', '/v1/monitor/alerts?severity=loud', tokens.security);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.field).toContain('severity');
    expect(
      (await call('GET', '/v1/monitor/alerts/alr_00000000000000000000000000', tokens.security)).statusCode,
    ).toBe(404);
  });

  it('posts new alerts to the webhook, retrying after a failure, and records the delivery', async () => {
    const deadline = Date.now() + 20_000;
    const delivered = () => received.filter((r) => r.status === 200);
    while (delivered().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(received[0]!.status).toBe(500);
    const ok = delivered()[0]!;
    expect(ok.body).toMatchObject({ type: 'shutong.alert', alert: { id: ok.alertId } });
    // The first, failed post was retried: the same alert arrived again.
    expect(received.filter((r) => r.alertId === received[0]!.alertId).map((r) => r.status)).toContain(200);
    await settleDeliveries();
    const alert = (await call('GET', `/v1/monitor/alerts/${ok.alertId}`, tokens.security)).json();
    expect(alert.notifiedAt).not.toBeNull();
  });

  it('lets security officers act, auditors read, and nobody else in', async () => {
    expect((await call('GET', '/v1/monitor/alerts', tokens.consumer)).statusCode).toBe(403);
    expect((await call('GET', '/v1/monitor/alerts', tokens.steward)).statusCode).toBe(403);
    expect((await call('GET', '/v1/monitor/alerts', auditor)).statusCode).toBe(200);
    expect(
      (await call('GET', '/v1/monitor/rules', auditor)).json().map((r: { id: string }) => r.id),
    ).toContain('off_hours_access');
    expect((await call('POST', '/v1/monitor/evaluate', auditor)).statusCode).toBe(403);
    expect((await call('POST', '/v1/monitor/evaluate', tokens.consumer)).statusCode).toBe(403);
    const alert = (await call('GET', '/v1/monitor/alerts?state=open', auditor)).json().items[0];
    expect((await call('POST', `/v1/monitor/alerts/${alert.id}/acknowledge`, auditor, {})).statusCode).toBe(
      403,
    );
    // An officer's API key needs the monitor scope.
    const withScope = await newKey(tokens.security, ['monitor']);
    const without = await newKey(tokens.security, ['audit:read']);
    expect((await call('GET', '/v1/monitor/alerts', withScope.secret)).statusCode).toBe(200);
    const denied = await call('GET', '/v1/monitor/alerts', without.secret);
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.details.reason).toBe('scope:monitor');
  });
});

// ---------------------------------------------------------------- emergency stop

describe('emergency stop', () => {
  let contract: string;
  let key: string;
  beforeAll(async () => {
    contract = await smallContract();
    key = (await newKey(tokens.consumer)).secret;
  });

  it('freezes each scope on the next request of another server instance, and lifts it the same way', async () => {
    expect((await rowsVia(otherNode, contract, key)).statusCode).toBe(200);
    for (const [scope, target] of [
      ['contract', contract],
      ['organization', civilOrg],
      ['resource', code],
      ['gateway', undefined],
    ] as const) {
      const reason = `核查疑似泄露（${scope}）`;
      const frozen = await call('POST', '/v1/monitor/freezes', tokens.security, { scope, target, reason });
      expect(frozen.statusCode, frozen.body).toBe(201);
      expect(frozen.json()).toMatchObject({ scope, active: true, reason });
      const refused = await rowsVia(otherNode, contract, key);
      expect(refused.statusCode, scope).toBe(423);
      // The consumer learns that it is frozen and since when; the reason is the platform's.
      expect(refused.json().error).toMatchObject({ code: 'FROZEN', details: { scope } });
      expect(refused.body).not.toContain(reason);
      const active = (await call('GET', '/v1/monitor/freezes', auditor)).json().items;
      expect(active.map((f: { id: string }) => f.id)).toEqual([frozen.json().id]);
      const lifted = await call('POST', `/v1/monitor/freezes/${frozen.json().id}/lift`, tokens.security, {
        reason: '核查完毕',
      });
      expect(lifted.statusCode, lifted.body).toBe(200);
      expect(lifted.json()).toMatchObject({ active: false, lifted: { reason: '核查完毕' } });
      expect((await rowsVia(otherNode, contract, key)).statusCode, scope).toBe(200);
    }
    const audited = await t.database.db
      .selectFrom('audit_events')
      .select(['action', 'object_type', 'object_id'])
      .where('action', 'like', 'monitor.freeze%')
      .orderBy('queued')
      .execute();
    expect(audited.map((a) => `${a.action} ${a.object_type}`)).toEqual([
      'monitor.freeze contract',
      'monitor.freeze.lift contract',
      'monitor.freeze organization',
      'monitor.freeze.lift organization',
      'monitor.freeze resource',
      'monitor.freeze.lift resource',
      'monitor.freeze gateway',
      'monitor.freeze.lift gateway',
    ]);
    const refusals = await t.database.db
      .selectFrom('audit_events')
      .select('details')
      .where('action', '=', 'gateway.refused')
      .where('object_id', '=', contract)
      .execute();
    expect(refusals.filter((r) => (r.details as { outcome: string }).outcome === 'FROZEN')).toHaveLength(4);
  });

  it('refuses bad freezes naming the field, a second freeze of one target, and lifting twice', async () => {
    const post = (body: Record<string, unknown>) =>
      call('POST', '/v1/monitor/freezes', tokens.security, body);
    const withTarget = await post({ scope: 'gateway', target: contract, reason: '全部停止' });
    expect(withTarget.statusCode).toBe(400);
    expect(withTarget.json().error.details.field).toBe('target');
    expect((await post({ scope: 'contract', reason: '停止' })).json().error.details.field).toBe('target');
    const missing = await post({ scope: 'resource', target: 'NO-SUCH-CODE', reason: '停止' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.details.field).toBe('target');
    expect((await post({ scope: 'everything', reason: '停止' })).statusCode).toBe(400);
    const first = await post({ scope: 'contract', target: contract, reason: '第一次' });
    expect(first.statusCode).toBe(201);
    const second = await post({ scope: 'contract', target: contract, reason: '第二次' });
    expect(second.statusCode).toBe(409);
    expect(second.json().error.details.freezeId).toBe(first.json().id);
    const lift = () =>
      call('POST', `/v1/monitor/freezes/${first.json().id}/lift`, tokens.security, { reason: '解除' });
    expect((await lift()).statusCode).toBe(200);
    const again = await lift();
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('INVALID_TRANSITION');
    const history = (await call('GET', '/v1/monitor/freezes?state=lifted', tokens.security)).json().items;
    expect(history.map((f: { id: string }) => f.id)).toContain(first.json().id);
  });

  it('lets only security officers and platform admins freeze and lift', async () => {
    const body = { scope: 'contract', target: contract, reason: '我来冻结' };
    expect((await call('POST', '/v1/monitor/freezes', tokens.consumer, body)).statusCode).toBe(403);
    expect((await call('POST', '/v1/monitor/freezes', auditor, body)).statusCode).toBe(403);
    expect((await call('POST', '/v1/monitor/freezes', tokens.steward, body)).statusCode).toBe(403);
    expect((await call('GET', '/v1/monitor/freezes', tokens.consumer)).statusCode).toBe(403);
    const admin = await t.login('admin');
    const frozen = await call('POST', '/v1/monitor/freezes', admin, body);
    expect(frozen.statusCode).toBe(201);
    expect(
      (await call('POST', `/v1/monitor/freezes/${frozen.json().id}/lift`, auditor, { reason: '解除' }))
        .statusCode,
    ).toBe(403);
    expect(
      (
        await call('POST', `/v1/monitor/freezes/${frozen.json().id}/lift`, tokens.security, {
          reason: '解除',
        })
      ).statusCode,
    ).toBe(200);
  });
});

// ---------------------------------------------------------------- freezing people and keys

describe('emergency stop on users and API keys', () => {
  const PASSWORD = 'frozen-person-pass-1';
  let admin: string;
  let serial = 0;

  /** A new consumer with a login session and two API keys. */
  async function person() {
    const username = `frozen.${Date.now().toString(36)}.${serial++}`;
    const created = await call('POST', '/v1/users', admin, {
      orgId: civilOrg,
      username,
      displayName: '待查用户',
      password: PASSWORD,
      roles: ['consumer'],
    });
    expect(created.statusCode, created.body).toBe(201);
    const session = await t.login(username, PASSWORD);
    const keys = [
      await newKey(session, ['identity:read', 'catalog:read']),
      await newKey(session, ['identity:read']),
    ];
    return { id: created.json().id as string, username, session, keys };
  }
  const me = (token: string) =>
    otherNode.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
  const freezeOf = async (scope: string, target: string, reason = '核查可疑密钥') => {
    const res = await call('POST', '/v1/monitor/freezes', tokens.security, { scope, target, reason });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; target: string };
  };
  const lift = async (id: string) => {
    const res = await call('POST', `/v1/monitor/freezes/${id}/lift`, tokens.security, { reason: '核查完毕' });
    expect(res.statusCode, res.body).toBe(200);
  };

  beforeAll(async () => {
    admin = await t.login('admin');
  });

  it('a frozen user is refused on every route of another node with any credential, and at login; lifted, the same ones work', async () => {
    const p = await person();
    const bystander = await person();
    const reason = '疑似账号被盗，暂停核查';
    // Found by username as an officer types it; stored as the user's id.
    const frozen = await freezeOf('user', p.username.toUpperCase(), reason);
    expect(frozen.target).toBe(p.id);
    for (const token of [p.session, ...p.keys.map((k) => k.secret)]) {
      const refused = await me(token);
      expect(refused.statusCode).toBe(423);
      expect(refused.json().error).toMatchObject({ code: 'FROZEN', details: { scope: 'user' } });
      expect(refused.body).not.toContain(reason);
    }
    const search = await otherNode.inject({
      method: 'GET',
      url: '/v1/catalog/search?q=x',
      headers: { authorization: `Bearer ${p.keys[0]!.secret}` },
    });
    expect(search.statusCode).toBe(423);
    // Others are untouched.
    expect((await me(bystander.session)).statusCode).toBe(200);
    expect((await me(bystander.keys[0]!.secret)).statusCode).toBe(200);
    // The right password is told of the freeze; a wrong one learns nothing of it.
    const login = (password: string) =>
      t.request({ method: 'POST', url: '/v1/auth/login', payload: { username: p.username, password } });
    const right = await login(PASSWORD);
    expect(right.statusCode).toBe(423);
    expect(right.json().error.details.scope).toBe('user');
    const wrong = await login('not-the-password-1');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).not.toMatch(/FROZEN|冻结|suspend/i);
    // Every refused attempt is in the audit log against its credential.
    const refusals = await t.database.db
      .selectFrom('audit_events')
      .select(['object_type', 'object_id', 'details'])
      .where('action', '=', 'credential.refused')
      .where('actor_id', '=', p.id)
      .execute();
    expect(new Set(refusals.map((r) => r.object_id))).toEqual(
      new Set([...p.keys.map((k) => k.id), expect.stringMatching(/^ses_/)]),
    );
    expect(refusals.every((r) => (r.details as { freezeId: string }).freezeId === frozen.id)).toBe(true);
    const failedLogin = await t.database.db
      .selectFrom('audit_events')
      .select('details')
      .where('action', '=', 'session.login_failed')
      .where('actor_id', '=', p.id)
      .execute();
    expect(failedLogin.map((r) => (r.details as { reason: string }).reason).sort()).toEqual([
      'bad_password',
      'frozen',
    ]);
    await lift(frozen.id);
    for (const token of [p.session, ...p.keys.map((k) => k.secret)])
      expect((await me(token)).statusCode).toBe(200);
    expect((await login(PASSWORD)).statusCode).toBe(200);
  });

  it('a frozen API key is refused while its owner’s session and other key go on', async () => {
    const p = await person();
    const frozen = await freezeOf('api_key', p.keys[0]!.id);
    const refused = await me(p.keys[0]!.secret);
    expect(refused.statusCode).toBe(423);
    expect(refused.json().error.details.scope).toBe('api_key');
    expect((await me(p.keys[1]!.secret)).statusCode).toBe(200);
    expect((await me(p.session)).statusCode).toBe(200);
    await lift(frozen.id);
    expect((await me(p.keys[0]!.secret)).statusCode).toBe(200);
  });

  it('refuses freezing your own account or key, and names an unknown user or key', async () => {
    const post = (body: Record<string, unknown>, token = tokens.security) =>
      call('POST', '/v1/monitor/freezes', token, { reason: '测试冻结', ...body });
    const self = await post({ scope: 'user', target: 'security' });
    expect(self.statusCode).toBe(400);
    expect(self.json().error.details).toMatchObject({ field: 'target', reason: 'own_credential' });
    const officerKey = await newKey(tokens.security, ['monitor']);
    const ownKey = await t.request({
      method: 'POST',
      url: '/v1/monitor/freezes',
      token: officerKey.secret,
      payload: { scope: 'api_key', target: officerKey.id, reason: '测试冻结' },
    });
    expect(ownKey.statusCode).toBe(400);
    for (const scope of ['user', 'api_key']) {
      const missing = await post({ scope, target: 'no-such-one' });
      expect(missing.statusCode).toBe(404);
      expect(missing.json().error.details.field).toBe('target');
    }
  });

  it('property: a credential is refused exactly when its user or itself is frozen', async () => {
    const people = [await person(), await person()];
    const keys = people.flatMap((p) => p.keys.map((k) => ({ user: p.id, id: k.id, secret: k.secret })));
    const sessions = people.map((p) => ({ user: p.id, id: null as string | null, secret: p.session }));
    await fc.assert(
      fc.asyncProperty(
        fc.subarray(people.map((p) => p.id)),
        fc.subarray(keys.map((k) => k.id)),
        async (users, keyIds) => {
          const made = [
            ...(await Promise.all(users.map((u) => freezeOf('user', u)))),
            ...(await Promise.all(keyIds.map((k) => freezeOf('api_key', k)))),
          ];
          try {
            for (const c of [...keys, ...sessions]) {
              const frozen = users.includes(c.user) || (c.id !== null && keyIds.includes(c.id));
              expect((await me(c.secret)).statusCode).toBe(frozen ? 423 : 200);
            }
          } finally {
            for (const f of made) await lift(f.id);
          }
        },
      ),
      { numRuns: 12 },
    );
  });
});

// ---------------------------------------------------------------- one evaluation per window

describe('evaluation claimed through the database', () => {
  it('judges and counts every event once when two nodes evaluate at the same moment', async () => {
    const contract = await smallContract();
    const key = (await newKey(tokens.consumer)).secret;
    const before = (await evaluate()).lastSeq;
    for (let i = 0; i < 3; i++) expect((await rowsVia(t.app, contract, key)).statusCode).toBe(200);
    const settings = loadConfig(ENV).monitor;
    const [a, b] = await Promise.all([
      evaluateAlerts(t.database.db, new Date(), { settings }),
      evaluateAlerts((otherDb ?? t.database).db, new Date(), { settings }),
    ]);
    // Positions are gap-free: the two evaluations split the new stretch of the log between them.
    expect(a.events + b.events).toBe(Math.max(a.lastSeq, b.lastSeq) - before);
    const sums = await t.database.db
      .selectFrom('monitor_counters')
      .select('value')
      .where('metric', '=', 'rows')
      .where('subject', '=', contract)
      .execute();
    const served = await t.database.db
      .selectFrom('audit_events')
      .select('details')
      .where('action', '=', 'gateway.rows')
      .where('object_id', '=', contract)
      .execute();
    expect(served).toHaveLength(3);
    expect(sums.reduce((n, s) => n + Number(s.value), 0)).toBe(
      served.reduce((n, e) => n + Number((e.details as { rows: number }).rows), 0),
    );
  });

  it('evaluates on a timer once the server listens', async () => {
    const started = Date.now();
    const node = await buildServer({
      config: { ...t.config, monitorIntervalSeconds: 1 },
      database: t.database,
      logStream: { write: () => true } as never,
    });
    await node.listen({ port: 0, host: '127.0.0.1' });
    try {
      let at = 0;
      while (at < started && Date.now() - started < 10_000) {
        await new Promise((r) => setTimeout(r, 250));
        const state = await t.database.db
          .selectFrom('monitor_state')
          .select('evaluated_at')
          .executeTakeFirstOrThrow();
        at = state.evaluated_at ? new Date(state.evaluated_at).getTime() : 0;
      }
      expect(at).toBeGreaterThanOrEqual(started);
    } finally {
      await node.close();
    }
  });

  it('skips (the timer) while another node holds the position or evaluated just now', async () => {
    const settings = loadConfig(ENV).monitor;
    if (otherDb) {
      // A second connection pool stands for a second node: it must not wait for the first.
      const skipped = await t.database.db.transaction().execute(async (tx) => {
        await sql`select 1 from monitor_state where id = 1 for update`.execute(tx);
        return evaluateAlerts(otherDb!.db, new Date(), { settings, wait: false });
      });
      expect(skipped).toMatchObject({ evaluated: false, events: 0 });
    }
    // Embedded PostgreSQL has one connection, so no second holder can exist; the interval rule
    // is what keeps several timers from evaluating back to back, and it holds on both.
    await evaluateAlerts(t.database.db, new Date(), { settings });
    const recent = await evaluateAlerts((otherDb ?? t.database).db, new Date(), {
      settings,
      minIntervalMs: 60_000,
    });
    expect(recent.evaluated).toBe(false);
  });
});
