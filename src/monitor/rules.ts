import type { MonitorSettings } from '../core/config.ts';
import type { AlertSeverity } from '../core/tables.ts';
import { detectorById, isDetectorId } from '../rules/detectors.ts';
import { type Grade, gradeRank } from '../rules/grades.ts';

/**
 * The early-warning rules as a declared table. Each rule is a pure function of one evaluation
 * window — the audit events judged now, the per-window sums they touched, and the contract and
 * version facts they name — returning findings. The service (service.ts) loads the window, runs
 * every rule, and turns findings into alerts: a finding whose dedup key names an alert that is not
 * resolved updates that alert, so one ongoing condition makes one alert.
 *
 * Windows are fixed spans of `windowMinutes` (default 60) aligned to the epoch, so sums from
 * evaluations minutes apart add up to the same window however often the evaluator runs.
 */

export type SubjectType = 'contract' | 'api_key' | 'session' | 'user' | 'organization' | 'resource';

export interface MonitorEvent {
  seq: number;
  time: Date;
  action: string;
  actorId: string | null;
  orgId: string | null;
  objectType: string;
  objectId: string | null;
  details: Record<string, unknown>;
}

/** A window's running sum for one subject, after this evaluation's events were added. */
export interface WindowSum {
  subject: string;
  bucket: Date;
  value: number;
}

export interface RowsSum extends WindowSum {
  /** The subject's sums in the windows before `bucket`, newest first, zeros included. */
  previous: number[];
}

export interface ContractFacts {
  id: string;
  resourceId: string;
  providerOrgId: string;
  consumerOrgId: string;
  state: string;
  validTo: Date;
  createdAt: Date;
  workingHoursOnly: boolean;
}

export interface VersionFacts {
  resourceId: string;
  resourceCode: string;
  providerOrgId: string;
  versionId: string;
  versionNumber: number;
  importedAt: Date;
  importerId: string | null;
  /** The resource's fields as declared now (grade and detector). */
  declared: Array<{ name: string; grade: Grade; detector: string | null }>;
  /** What a scan of this version found: the classifier's, or the monitor's own sample scan. */
  detected: Array<{ name: string; detector: string }>;
  scannedBy: 'classifier' | 'monitor' | null;
  /** Fields the classifier flagged on this version (resources.grade_flag). */
  flagged: Array<{ field: string; detector: string | null; declaredGrade: string | null; reason: string }>;
}

export interface RuleInput {
  now: Date;
  settings: MonitorSettings;
  week: WorkingWeek;
  events: readonly MonitorEvent[];
  sums: { rows: readonly RowsSum[]; refused: readonly WindowSum[]; apiKeys: readonly WindowSum[] };
  /** Contracts named by this window's gateway events and the active ones ending soon. */
  contracts: ReadonlyMap<string, ContractFacts>;
  expiring: readonly ContractFacts[];
  /** Versions imported in this window (`version.create` events). */
  versions: readonly VersionFacts[];
}

export interface Finding {
  subjectType: SubjectType;
  subjectId: string;
  orgId: string | null;
  dedupKey: string;
  severity: AlertSeverity;
  summary: { zh: string; en: string };
  details: Record<string, unknown>;
  /** When the condition was seen (the newest event behind it, or now for standing conditions). */
  at: Date;
}

export const RULE_IDS = [
  'contract_rows_baseline',
  'off_hours_access',
  'refused_burst',
  'api_key_burst',
  'undeclared_sensitive_field',
  'contract_expiring',
  'service_overdue',
  'registry_overdue',
  'quality_level_drop',
] as const;
export type RuleId = (typeof RULE_IDS)[number];

export interface Rule {
  id: RuleId;
  title: { zh: string; en: string };
  /**
   * A standing condition (a contract ending soon, what a version contains) is raised once:
   * resolving its alert is the answer, and only a changed condition (another end date, another
   * version) raises it again. Other rules raise a new alert when the condition recurs after a resolve.
   */
  standing: boolean;
  /** The thresholds it reads, for the rules listing. */
  thresholds: Array<keyof MonitorSettings>;
  evaluate(input: RuleInput): Finding[];
}

/** Windows of history a baseline needs before it judges; fewer and a contract has no baseline yet. */
export const MIN_BASELINE_WINDOWS = 3;

const WINDOW_MS = (s: MonitorSettings) => s.windowMinutes * 60_000;

export function bucketOf(time: Date, windowMinutes: number): Date {
  const ms = windowMinutes * 60_000;
  return new Date(Math.floor(time.getTime() / ms) * ms);
}

const iso = (d: Date) => d.toISOString();
const round1 = (x: number) => Math.round(x * 10) / 10;

function windowOf(bucket: Date, s: MonitorSettings) {
  return { from: iso(bucket), to: iso(new Date(bucket.getTime() + WINDOW_MS(s))) };
}

const GATEWAY_ACTIONS = new Set(['gateway.rows', 'gateway.aggregate', 'gateway.refused']);
/** What the service bundles and ratings report when a step or a rectification case passes its deadline. */
const REGISTRY_STEPS: Record<string, { zh: string; en: string }> = {
  accept: { zh: '受理', en: 'acceptance' },
  review: { zh: '审核', en: 'review' },
  notice: { zh: '公示后决定', en: 'post-notice decision' },
};

/**
 * A late step reported once per deadline by its owner's sweep (an audit entry of one of `actions`
 * with `details.step` and `details.dueOn`) becomes a standing warning on the organization
 * concerned; a resolved alert is the answer, a new deadline raises it again.
 */
function overdueRule(
  id: RuleId,
  title: { zh: string; en: string },
  actions: ReadonlySet<string>,
  what: (e: MonitorEvent, step: string | null) => { zh: string; en: string },
): Rule {
  return {
    id,
    title,
    standing: true,
    thresholds: [],
    evaluate({ events }) {
      return events
        .filter((e) => actions.has(e.action) && e.objectId && e.orgId)
        .map((e) => {
          const step = typeof e.details.step === 'string' ? e.details.step : null;
          const subject = what(e, step);
          return {
            subjectType: 'organization' as const,
            subjectId: e.orgId!,
            orgId: e.orgId,
            dedupKey: `${id}:${e.objectId}:${step ?? ''}:${String(e.details.dueOn)}`,
            severity: 'warning' as const,
            summary: {
              zh: `${subject.zh}已超过时限（${String(e.details.dueOn)}）`,
              en: `${subject.en} is past its deadline (${String(e.details.dueOn)})`,
            },
            details: { objectType: e.objectType, objectId: e.objectId, ...e.details },
            at: e.time,
          };
        });
    },
  };
}

export const RULES: readonly Rule[] = [
  {
    id: 'contract_rows_baseline',
    title: { zh: '协议读取行数远超自身基线', en: 'A contract reads far more rows than its own baseline' },
    standing: false,
    thresholds: ['windowMinutes', 'baselineFactor', 'baselineMinRows', 'baselineWindows'],
    evaluate({ sums, contracts, settings }) {
      const out: Finding[] = [];
      for (const sum of sums.rows) {
        const contract = contracts.get(sum.subject);
        if (!contract) continue;
        // History starts with the contract (its first, partial window excluded): a contract that
        // read nothing for days and then reads thousands of rows has a baseline of zero.
        const created = bucketOf(contract.createdAt, settings.windowMinutes).getTime();
        const lived = Math.floor((sum.bucket.getTime() - created) / WINDOW_MS(settings)) - 1;
        const history = sum.previous.slice(0, Math.max(0, Math.min(settings.baselineWindows, lived)));
        if (history.length < MIN_BASELINE_WINDOWS) continue;
        const baseline = history.reduce((a, b) => a + b, 0) / history.length;
        if (sum.value < settings.baselineMinRows || sum.value <= settings.baselineFactor * baseline) continue;
        const ratio = baseline > 0 ? round1(sum.value / baseline) : null;
        out.push({
          subjectType: 'contract',
          subjectId: contract.id,
          orgId: contract.consumerOrgId,
          dedupKey: `contract_rows_baseline:${contract.id}`,
          severity: 'warning',
          summary: {
            zh: `协议 ${contract.id} 在一个窗口内读取 ${sum.value} 行，基线为每窗口 ${round1(baseline)} 行${ratio ? `（${ratio} 倍）` : ''}`,
            en: `contract ${contract.id} read ${sum.value} rows in one window against a baseline of ${round1(baseline)} per window${ratio ? ` (${ratio}×)` : ''}`,
          },
          details: {
            contractId: contract.id,
            resourceId: contract.resourceId,
            window: windowOf(sum.bucket, settings),
            rows: sum.value,
            baselinePerWindow: round1(baseline),
            historyWindows: history.length,
            factor: settings.baselineFactor,
            minRows: settings.baselineMinRows,
          },
          at: sum.bucket,
        });
      }
      return out;
    },
  },
  {
    id: 'off_hours_access',
    title: {
      zh: '限工作时间的协议在非工作时间被访问',
      en: 'Access outside working hours to a contract that forbids it',
    },
    standing: false,
    thresholds: ['workingHours', 'workingDays'],
    evaluate({ events, contracts, week }) {
      const byContract = new Map<
        string,
        { served: number; refused: number; first: Date; last: Date; credentials: Set<string> }
      >();
      for (const e of events) {
        if (!GATEWAY_ACTIONS.has(e.action) || e.objectType !== 'contract' || !e.objectId) continue;
        const contract = contracts.get(e.objectId);
        if (!contract?.workingHoursOnly) continue;
        // A node refused it for the hours: off-hours by that node's clock, whatever ours says.
        const refusedForHours = e.details.outcome === 'OUTSIDE_WORKING_HOURS';
        if (!refusedForHours && isWorkingTime(week, e.time)) continue;
        const hit = byContract.get(contract.id) ?? {
          served: 0,
          refused: 0,
          first: e.time,
          last: e.time,
          credentials: new Set<string>(),
        };
        if (e.action === 'gateway.refused') hit.refused++;
        else hit.served++;
        hit.last = e.time;
        if (typeof e.details.credential === 'string') hit.credentials.add(e.details.credential);
        byContract.set(contract.id, hit);
      }
      return [...byContract].map(([id, hit]) => {
        const contract = contracts.get(id)!;
        return {
          subjectType: 'contract' as const,
          subjectId: id,
          orgId: contract.consumerOrgId,
          dedupKey: `off_hours_access:${id}`,
          // Served off hours means the term did not hold (a node with other hours): worse than attempts.
          severity: hit.served > 0 ? ('critical' as const) : ('warning' as const),
          summary: {
            zh: `限工作时间的协议 ${id} 在非工作时间被访问：${hit.served} 次放行，${hit.refused} 次拒绝`,
            en: `working-hours-only contract ${id} was called outside working hours: ${hit.served} served, ${hit.refused} refused`,
          },
          details: {
            contractId: id,
            served: hit.served,
            refused: hit.refused,
            firstAt: iso(hit.first),
            lastAt: iso(hit.last),
            credentials: [...hit.credentials],
            workingHours: week.label,
          },
          at: hit.last,
        };
      });
    },
  },
  {
    id: 'refused_burst',
    title: { zh: '同一凭据被连续拒绝', en: 'Repeated refused requests from one credential' },
    standing: false,
    thresholds: ['windowMinutes', 'refusedBurst'],
    evaluate({ sums, events, settings }) {
      const out: Finding[] = [];
      for (const sum of sums.refused) {
        if (sum.value < settings.refusedBurst) continue;
        const mine = events.filter(
          (e) => e.action === 'gateway.refused' && e.details.credential === sum.subject,
        );
        const outcomes: Record<string, number> = {};
        for (const e of mine) {
          const outcome = String(e.details.outcome ?? 'unknown');
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        }
        const last = mine.at(-1);
        out.push({
          subjectType: sum.subject.startsWith('key_') ? 'api_key' : 'session',
          subjectId: sum.subject,
          orgId: last?.orgId ?? null,
          dedupKey: `refused_burst:${sum.subject}`,
          severity: 'warning',
          summary: {
            zh: `凭据 ${sum.subject} 在一个窗口内被网关拒绝 ${sum.value} 次`,
            en: `credential ${sum.subject} was refused ${sum.value} times by the gateway in one window`,
          },
          details: {
            credential: sum.subject,
            userId: last?.actorId ?? null,
            window: windowOf(sum.bucket, settings),
            refused: sum.value,
            threshold: settings.refusedBurst,
            recentOutcomes: outcomes,
            contracts: [...new Set(mine.map((e) => e.objectId).filter(Boolean))],
          },
          at: last?.time ?? sum.bucket,
        });
      }
      return out;
    },
  },
  {
    id: 'api_key_burst',
    title: { zh: '短时间内大量新建 API 密钥', en: 'A burst of new API keys' },
    standing: false,
    thresholds: ['windowMinutes', 'keyBurst'],
    evaluate({ sums, events, settings }) {
      const out: Finding[] = [];
      for (const sum of sums.apiKeys) {
        if (sum.value < settings.keyBurst) continue;
        const mine = events.filter((e) => e.action === 'api_key.create' && e.actorId === sum.subject);
        const last = mine.at(-1);
        out.push({
          subjectType: 'user',
          subjectId: sum.subject,
          orgId: last?.orgId ?? null,
          dedupKey: `api_key_burst:${sum.subject}`,
          severity: 'warning',
          summary: {
            zh: `用户 ${sum.subject} 在一个窗口内新建 ${sum.value} 个 API 密钥`,
            en: `user ${sum.subject} created ${sum.value} API keys in one window`,
          },
          details: {
            userId: sum.subject,
            orgId: last?.orgId ?? null,
            window: windowOf(sum.bucket, settings),
            created: sum.value,
            threshold: settings.keyBurst,
            keys: mine.map((e) => e.objectId),
          },
          at: last?.time ?? sum.bucket,
        });
      }
      return out;
    },
  },
  {
    id: 'undeclared_sensitive_field',
    title: {
      zh: '新导入版本含有未申报的敏感字段',
      en: 'A newly imported version contains a sensitive field the resource did not declare',
    },
    standing: true,
    thresholds: [],
    evaluate({ versions }) {
      const out: Finding[] = [];
      for (const v of versions) {
        const fields = undeclaredFields(v);
        if (fields.length === 0) continue;
        out.push({
          subjectType: 'resource',
          subjectId: v.resourceId,
          orgId: v.providerOrgId,
          dedupKey: `undeclared_sensitive_field:${v.resourceId}:${v.versionId}`,
          severity: 'critical',
          summary: {
            zh: `资源 ${v.resourceCode} 第 ${v.versionNumber} 版含未申报的敏感字段：${fields.map((f) => f.field).join('、')}`,
            en: `version ${v.versionNumber} of resource ${v.resourceCode} holds sensitive fields it did not declare: ${fields.map((f) => f.field).join(', ')}`,
          },
          details: {
            resourceId: v.resourceId,
            resourceCode: v.resourceCode,
            versionId: v.versionId,
            versionNumber: v.versionNumber,
            importerId: v.importerId,
            scannedBy: v.scannedBy,
            fields,
          },
          at: v.importedAt,
        });
      }
      return out;
    },
  },
  {
    id: 'contract_expiring',
    title: { zh: '协议即将到期', en: 'A contract is about to expire' },
    standing: true,
    thresholds: ['expiryDays'],
    evaluate({ expiring, now }) {
      return expiring.map((c) => {
        const days = Math.max(0, Math.ceil((c.validTo.getTime() - now.getTime()) / 86_400_000));
        return {
          subjectType: 'contract' as const,
          subjectId: c.id,
          orgId: c.consumerOrgId,
          // The end date is part of the condition: an extended contract that nears its new end is news.
          dedupKey: `contract_expiring:${c.id}:${iso(c.validTo)}`,
          severity: days <= 2 ? ('warning' as const) : ('info' as const),
          summary: {
            zh: `协议 ${c.id} 将于 ${iso(c.validTo)} 到期（约 ${days} 天后）`,
            en: `contract ${c.id} expires at ${iso(c.validTo)} (in about ${days} days)`,
          },
          details: {
            contractId: c.id,
            resourceId: c.resourceId,
            providerOrgId: c.providerOrgId,
            consumerOrgId: c.consumerOrgId,
            validTo: iso(c.validTo),
            daysLeft: days,
          },
          at: now,
        };
      });
    },
  },
  overdueRule(
    'service_overdue',
    {
      zh: '一件事办理步骤或差评整改超过工作日时限',
      en: 'A service step or a bad-rating rectification is past its working-day deadline',
    },
    new Set(['service_step.overdue', 'rectification.overdue']),
    (e, step) =>
      step
        ? { zh: `申请 ${e.objectId} 的步骤 ${step}`, en: `step ${step} of application ${e.objectId}` }
        : { zh: `差评整改 ${e.objectId}`, en: `rectification case ${e.objectId}` },
  ),
  overdueRule(
    'registry_overdue',
    {
      zh: '公共数据产品登记的受理、审核或公示结束后的决定超过工作日时限',
      en: "A registration's acceptance, review or post-notice decision is past its working-day deadline",
    },
    new Set(['registration.overdue']),
    (e, step) => ({
      zh: `登记 ${e.objectId} 的${REGISTRY_STEPS[step ?? '']?.zh ?? step ?? ''}环节`,
      en: `the ${REGISTRY_STEPS[step ?? '']?.en ?? step ?? ''} step of registration ${e.objectId}`,
    }),
  ),
  {
    // The quality capability records the drop (quality_alerts and `quality.level_drop`, once per
    // version); here it becomes an alert people are told of, like every other condition.
    id: 'quality_level_drop',
    title: {
      zh: '数据资源新版本的质量等级下降',
      en: "A resource's new version dropped a quality level",
    },
    standing: true,
    thresholds: [],
    evaluate({ events }) {
      return events
        .filter((e) => e.action === 'quality.level_drop' && e.objectId)
        .map((e) => {
          const d = e.details as {
            version?: number;
            fromLevel?: number;
            toLevel?: number;
            fromScore?: number;
            toScore?: number;
            resourceCode?: string;
          };
          const what = d.resourceCode ?? e.objectId!;
          const from = Number(d.fromLevel);
          const to = Number(d.toLevel);
          return {
            subjectType: 'resource' as const,
            subjectId: e.objectId!,
            orgId: e.orgId,
            dedupKey: `quality_level_drop:${e.objectId}:${String(d.version)}`,
            // Two levels or more at once is data that broke, not data that aged.
            severity: to - from >= 2 ? ('critical' as const) : ('warning' as const),
            summary: {
              zh: `资源 ${what} 第 ${String(d.version)} 版质量由 ${from} 级降至 ${to} 级（得分 ${String(d.fromScore)} → ${String(d.toScore)}）`,
              en: `version ${String(d.version)} of resource ${what} dropped from quality level ${from} to ${to} (score ${String(d.fromScore)} → ${String(d.toScore)})`,
            },
            details: { resourceId: e.objectId, ...d },
            at: e.time,
          };
        });
    },
  },
];

export function ruleById(id: string): Rule | undefined {
  return RULES.find((r) => r.id === id);
}

/**
 * Sensitive means a detector whose default grade is g3 or above (personal information and up).
 * It is undeclared when the field's declared grade ranks below that: the gateway would serve it
 * with a weaker default mask than its content needs. The classifier's own flags count too.
 */
export function undeclaredFields(v: VersionFacts) {
  const found = new Map<
    string,
    { field: string; detector: string | null; declaredGrade: string | null; expectedGrade: string | null }
  >();
  for (const d of v.detected) {
    if (!isDetectorId(d.detector)) continue;
    const expected = detectorById(d.detector).defaultGrade;
    if (gradeRank(expected) < gradeRank('g3')) continue;
    const declared = v.declared.find((f) => f.name === d.name);
    if (declared && gradeRank(declared.grade) >= gradeRank(expected)) continue;
    found.set(d.name, {
      field: d.name,
      detector: d.detector,
      declaredGrade: declared?.grade ?? null,
      expectedGrade: expected,
    });
  }
  for (const f of v.flagged) {
    if (found.has(f.field)) continue;
    found.set(f.field, {
      field: f.field,
      detector: f.detector,
      declaredGrade: f.declaredGrade,
      expectedGrade: f.detector && isDetectorId(f.detector) ? detectorById(f.detector).defaultGrade : null,
    });
  }
  return [...found.values()];
}

// ---------------------------------------------------------------------------- working hours

export interface WorkingWeek {
  /** ISO weekdays, 1 = Monday … 7 = Sunday. */
  days: ReadonlySet<number>;
  /** Minutes after local midnight; start > end spans midnight. */
  start: number;
  end: number;
  label: string;
}

/** Parses MONITOR_WORKING_HOURS (`08:00-18:00`) and MONITOR_WORKING_DAYS (`1-5`); throws naming the variable. */
export function parseWorkingWeek(hours: string, days: string): WorkingWeek {
  const bad = (name: string, value: string) =>
    new Error(`环境变量 ${name} 无效 / environment variable ${name} is invalid: "${value}"`);
  const m = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/.exec(hours);
  if (!m) throw bad('MONITOR_WORKING_HOURS', hours);
  const minute = (h: string, mm: string) => {
    const value = Number(h) * 60 + Number(mm);
    if (Number(mm) > 59 || value > 24 * 60) throw bad('MONITOR_WORKING_HOURS', hours);
    return value;
  };
  const start = minute(m[1]!, m[2]!);
  const end = minute(m[3]!, m[4]!);
  if (start === end) throw bad('MONITOR_WORKING_HOURS', hours);
  const set = new Set<number>();
  for (const part of days.split(',')) {
    const [a, b = a] = part.split('-').map(Number);
    if (!a || !b || a < 1 || b > 7 || a > b) throw bad('MONITOR_WORKING_DAYS', days);
    for (let d = a; d <= b; d++) set.add(d);
  }
  return { days: set, start, end, label: `${hours} Asia/Shanghai, ISO weekdays ${days}` };
}

/** Beijing time has no daylight saving: UTC+8 all year. Public holidays and make-up days are not modelled. */
export function isWorkingTime(week: WorkingWeek, at: Date): boolean {
  const local = new Date(at.getTime() + 8 * 3_600_000);
  const day = local.getUTCDay() || 7;
  const minute = local.getUTCHours() * 60 + local.getUTCMinutes();
  if (week.start < week.end) return week.days.has(day) && minute >= week.start && minute < week.end;
  // Spanning midnight: the evening belongs to its day, the small hours to the day before.
  const previous = day === 1 ? 7 : day - 1;
  return (minute >= week.start && week.days.has(day)) || (minute < week.end && week.days.has(previous));
}
