import { describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.ts';
import {
  bucketOf,
  type ContractFacts,
  isWorkingTime,
  MIN_BASELINE_WINDOWS,
  type MonitorEvent,
  parseWorkingWeek,
  RULES,
  type RuleId,
  type RuleInput,
  undeclaredFields,
  type VersionFacts,
} from './rules.ts';

const settings = loadConfig({}).monitor;
const week = parseWorkingWeek(settings.workingHours, settings.workingDays);
// Wednesday 2025-03-12, 10:00 in Beijing.
const NOW = new Date('2025-03-12T02:00:00Z');
const HOUR = 3_600_000;

const contract = (over: Partial<ContractFacts> = {}): ContractFacts => ({
  id: 'ctr_a',
  resourceId: 'res_a',
  providerOrgId: 'org_p',
  consumerOrgId: 'org_c',
  state: 'active',
  validTo: new Date(NOW.getTime() + 90 * 86_400_000),
  createdAt: new Date(NOW.getTime() - 30 * 86_400_000),
  workingHoursOnly: false,
  ...over,
});

let seq = 0;
const event = (action: string, over: Partial<MonitorEvent> = {}): MonitorEvent => ({
  seq: ++seq,
  time: NOW,
  action,
  actorId: 'usr_a',
  orgId: 'org_c',
  objectType: 'contract',
  objectId: 'ctr_a',
  details: {},
  ...over,
});

function input(over: Partial<RuleInput> = {}): RuleInput {
  const c = contract();
  return {
    now: NOW,
    settings,
    week,
    events: [],
    sums: { rows: [], refused: [], apiKeys: [] },
    contracts: new Map([[c.id, c]]),
    expiring: [],
    versions: [],
    ...over,
  };
}

const run = (id: RuleId, over: Partial<RuleInput> = {}) =>
  RULES.find((r) => r.id === id)!.evaluate(input(over));
const bucket = bucketOf(NOW, settings.windowMinutes);

describe('working hours', () => {
  it('knows a Beijing working day from an evening, a weekend and a span over midnight', () => {
    expect(isWorkingTime(week, NOW)).toBe(true);
    expect(isWorkingTime(week, new Date('2025-03-12T11:00:00Z'))).toBe(false); // 19:00
    expect(isWorkingTime(week, new Date('2025-03-15T02:00:00Z'))).toBe(false); // Saturday
    expect(isWorkingTime(week, new Date('2025-03-12T00:00:00Z'))).toBe(true); // 08:00 sharp
    const night = parseWorkingWeek('22:00-06:00', '1-5');
    expect(isWorkingTime(night, new Date('2025-03-12T15:00:00Z'))).toBe(true); // Wed 23:00
    // The small hours belong to the night before: Monday 04:00 to Sunday's, Tuesday 04:00 to Monday's.
    expect(isWorkingTime(night, new Date('2025-03-16T20:00:00Z'))).toBe(false);
    expect(isWorkingTime(night, new Date('2025-03-17T20:00:00Z'))).toBe(true);
    expect(isWorkingTime(parseWorkingWeek('00:00-24:00', '1-7'), new Date('2025-03-15T20:00:00Z'))).toBe(
      true,
    );
  });

  it('refuses malformed hours and days naming the variable', () => {
    expect(() => parseWorkingWeek('25:00-18:00', '1-5')).toThrow(/MONITOR_WORKING_HOURS/);
    expect(() => parseWorkingWeek('08:00-08:00', '1-5')).toThrow(/MONITOR_WORKING_HOURS/);
    expect(() => parseWorkingWeek('08:00-18:00', '5-1')).toThrow(/MONITOR_WORKING_DAYS/);
    expect(() => parseWorkingWeek('08:00-18:00', '0-5')).toThrow(/MONITOR_WORKING_DAYS/);
  });
});

describe('contract_rows_baseline', () => {
  const sum = (value: number, previous: number[]) => ({ subject: 'ctr_a', bucket, value, previous });

  it('fires when a window reads more than factor × its own average and more than the floor', () => {
    const [finding] = run('contract_rows_baseline', {
      sums: { rows: [sum(6000, Array(24).fill(1000))], refused: [], apiKeys: [] },
    });
    expect(finding).toMatchObject({
      subjectType: 'contract',
      subjectId: 'ctr_a',
      orgId: 'org_c',
      severity: 'warning',
      dedupKey: 'contract_rows_baseline:ctr_a',
      details: { rows: 6000, baselinePerWindow: 1000, historyWindows: 24 },
    });
  });

  it('stays quiet on steady reads, below the floor, and without enough history', () => {
    const quiet = (rows: number, previous: number[], over: Partial<ContractFacts> = {}) =>
      run('contract_rows_baseline', {
        sums: { rows: [sum(rows, previous)], refused: [], apiKeys: [] },
        contracts: new Map([['ctr_a', contract(over)]]),
      });
    expect(quiet(4900, Array(24).fill(1000))).toEqual([]);
    expect(quiet(900, Array(24).fill(0))).toEqual([]);
    // A contract two windows old has no baseline yet, however much it reads.
    expect(quiet(50_000, Array(24).fill(0), { createdAt: new Date(bucket.getTime() - 2 * HOUR) })).toEqual(
      [],
    );
    expect(MIN_BASELINE_WINDOWS).toBe(3);
  });

  it('counts silent windows since the contract began as zeros', () => {
    const found = run('contract_rows_baseline', {
      sums: { rows: [sum(2000, Array(24).fill(0))], refused: [], apiKeys: [] },
      contracts: new Map([['ctr_a', contract({ createdAt: new Date(bucket.getTime() - 10 * HOUR) })]]),
    });
    expect(found[0]?.details).toMatchObject({ baselinePerWindow: 0, historyWindows: 9 });
  });
});

describe('off_hours_access', () => {
  const hours = contract({ workingHoursOnly: true });
  const evening = new Date('2025-03-12T12:30:00Z');

  it('flags served calls off hours as critical and refused attempts as warning', () => {
    const contracts = new Map([[hours.id, hours]]);
    const served = run('off_hours_access', {
      contracts,
      events: [event('gateway.rows', { time: evening, details: { outcome: 'ok', credential: 'key_x' } })],
    });
    expect(served[0]).toMatchObject({
      severity: 'critical',
      details: { served: 1, refused: 0, credentials: ['key_x'] },
    });
    // A node refused it for its hours: flagged even when our clock calls the moment a working one.
    const refused = run('off_hours_access', {
      contracts,
      events: [event('gateway.refused', { details: { outcome: 'OUTSIDE_WORKING_HOURS' } })],
    });
    expect(refused[0]).toMatchObject({ severity: 'warning', details: { served: 0, refused: 1 } });
  });

  it('stays quiet in working hours and for contracts without the term', () => {
    expect(
      run('off_hours_access', {
        contracts: new Map([[hours.id, hours]]),
        events: [event('gateway.rows', { details: { outcome: 'ok' } })],
      }),
    ).toEqual([]);
    expect(run('off_hours_access', { events: [event('gateway.rows', { time: evening })] })).toEqual([]);
  });
});

describe('bursts', () => {
  it('fires on refusals per credential and new keys per user at the threshold, not below', () => {
    const refused = (value: number) =>
      run('refused_burst', {
        sums: { rows: [], refused: [{ subject: 'key_x', bucket, value }], apiKeys: [] },
        events: [event('gateway.refused', { details: { credential: 'key_x', outcome: 'FORBIDDEN' } })],
      });
    expect(refused(settings.refusedBurst - 1)).toEqual([]);
    expect(refused(settings.refusedBurst)[0]).toMatchObject({
      subjectType: 'api_key',
      subjectId: 'key_x',
      orgId: 'org_c',
      details: { refused: settings.refusedBurst, recentOutcomes: { FORBIDDEN: 1 } },
    });
    const keys = (value: number) =>
      run('api_key_burst', {
        sums: { rows: [], refused: [], apiKeys: [{ subject: 'usr_a', bucket, value }] },
      });
    expect(keys(settings.keyBurst - 1)).toEqual([]);
    expect(keys(settings.keyBurst)[0]).toMatchObject({ subjectType: 'user', subjectId: 'usr_a' });
  });
});

describe('undeclared_sensitive_field', () => {
  const version = (over: Partial<VersionFacts>): VersionFacts => ({
    resourceId: 'res_a',
    resourceCode: 'R1',
    providerOrgId: 'org_p',
    versionId: 'ver_a',
    versionNumber: 2,
    importedAt: NOW,
    importerId: 'usr_s',
    declared: [
      { name: 'id_no', grade: 'g1', detector: null },
      { name: 'phone', grade: 'g3', detector: 'cn_mobile' },
      { name: 'uscc', grade: 'g1', detector: null },
    ],
    detected: [],
    scannedBy: 'monitor',
    flagged: [],
    ...over,
  });

  it('flags a detected personal field declared below its grade, and the classifier’s flags', () => {
    const v = version({
      detected: [
        { name: 'id_no', detector: 'cn_resident_id' },
        { name: 'phone', detector: 'cn_mobile' },
        { name: 'uscc', detector: 'cn_uscc' },
      ],
      flagged: [{ field: 'extra', detector: 'email', declaredGrade: 'g1', reason: 'new_sensitive_column' }],
    });
    expect(undeclaredFields(v).map((f) => f.field)).toEqual(['id_no', 'extra']);
    const [finding] = run('undeclared_sensitive_field', { versions: [v] });
    expect(finding).toMatchObject({
      severity: 'critical',
      subjectType: 'resource',
      dedupKey: 'undeclared_sensitive_field:res_a:ver_a',
    });
  });

  it('stays quiet when every sensitive field is declared at its grade', () => {
    expect(
      run('undeclared_sensitive_field', {
        versions: [version({ detected: [{ name: 'phone', detector: 'cn_mobile' }] })],
      }),
    ).toEqual([]);
  });
});

describe('contract_expiring', () => {
  it('names contracts ending within the window, escalating in the last two days', () => {
    const soon = contract({ id: 'ctr_s', validTo: new Date(NOW.getTime() + 5 * 86_400_000) });
    const now = contract({ id: 'ctr_n', validTo: new Date(NOW.getTime() + 86_400_000) });
    const found = run('contract_expiring', { expiring: [soon, now] });
    expect(found.map((f) => [f.subjectId, f.severity, f.details.daysLeft])).toEqual([
      ['ctr_s', 'info', 5],
      ['ctr_n', 'warning', 1],
    ]);
    expect(found[0]!.dedupKey).toBe(`contract_expiring:ctr_s:${soon.validTo.toISOString()}`);
  });
});

it('declares each rule once, with thresholds that exist', () => {
  expect(new Set(RULES.map((r) => r.id)).size).toBe(RULES.length);
  for (const rule of RULES) for (const t of rule.thresholds) expect(settings).toHaveProperty(t);
});

describe('quality_level_drop', () => {
  const drop = (fromLevel: number, toLevel: number, version = 3) =>
    event('quality.level_drop', {
      objectType: 'resource',
      objectId: 'res_q',
      orgId: 'org_p',
      details: { resourceCode: 'R-Q', version, fromLevel, toLevel, fromScore: 92.5, toScore: 71 },
    });

  it('raises one alert per dropped version, critical when it falls two levels or more', () => {
    const [one, two] = run('quality_level_drop', {
      events: [drop(1, 2), drop(1, 3, 4), event('quality.evaluate', { objectType: 'resource' })],
    });
    expect(one).toMatchObject({
      subjectType: 'resource',
      subjectId: 'res_q',
      dedupKey: 'quality_level_drop:res_q:3',
      severity: 'warning',
    });
    expect(one!.summary.zh).toBe('资源 R-Q 第 3 版质量由 1 级降至 2 级（得分 92.5 → 71）');
    expect(two).toMatchObject({ dedupKey: 'quality_level_drop:res_q:4', severity: 'critical' });
    expect(run('quality_level_drop', { events: [event('quality.evaluate')] })).toEqual([]);
  });
});
