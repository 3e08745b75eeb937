import { auditAs } from '../audit/append.ts';
import type { ResourceView } from '../catalog/service.ts';
import * as catalog from '../catalog/service.ts';
import { authorize, hasRole, SYSTEM_PRINCIPAL } from '../core/auth.ts';
import type { Ctx } from '../core/context.ts';
import { withTx } from '../core/db.ts';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { DataType } from '../core/tables.ts';
import * as ingest from '../ingest/service.ts';
import * as sharing from '../sharing/service.ts';
import { allRegionCodes } from '../standards/region.ts';
import { croissantCard } from './card.ts';
import {
  type CompileContext,
  compileRowRule,
  type IdentifiedRule,
  identify,
  type RowPredicate,
  ruleFields,
} from './rules.ts';
import type { Report, Rule } from './schema.ts';
import { ageScore, aggregate, CYCLE_DAYS, levelName, nullRateScore, passScore } from './score.ts';
import { qualityStore as store } from './store.ts';

/**
 * Data quality after GB/T 36344-2018: rules per resource (declared, or derived from the fields),
 * evaluated in SQL on every version that becomes current (ingest's onVersionCurrent) and on
 * demand; a report per evaluation with dimension scores, an overall score and a five-level grade
 * (score.ts), the trend across versions, and a recorded alert when a version drops a level.
 */

/** Failing row numbers kept per rule. */
export const FAILING_ROWS = 100;

const READ = { roles: 'any', scope: 'catalog:read' } as const;

type VersionRow = Awaited<ReturnType<typeof store.versions>>[number];

function stewardOf(ctx: Ctx, resource: ResourceView) {
  return authorize(ctx.principal, {
    roles: ['data_steward'],
    scope: 'catalog:write',
    orgId: resource.provider.id,
    crossOrg: ['platform_admin'],
  });
}

/** The provider's people (and oversight roles) see rule details that can carry data values. */
function seesDetails(ctx: Ctx, resource: ResourceView): boolean {
  const p = ctx.principal;
  return (
    !!p && (p.orgId === resource.provider.id || hasRole(p, 'platform_admin', 'security_officer', 'auditor'))
  );
}

// ------------------------------------------------------------------------------------ rules

const TIME_FIELD = /(updat|modif|record|report|event|occur|time|date|日期|时间)/i;
const BIRTH = /(birth|出生|生日)/i;
const REGION = /(region_code|division_code|area_code|adcode|行政区划|区划代码)/i;

/** Rules derived from the fields when the resource declares none (documented in ARCHITECTURE.md). */
export function defaultRules(resource: Pick<ResourceView, 'fields'>): Rule[] {
  const rules: Rule[] = [];
  const fields = resource.fields;
  const keys = fields.filter((f) => f.isKey);
  for (const f of fields) {
    if (f.isKey) rules.push({ kind: 'required', field: f.name });
    else rules.push({ kind: 'null_rate', field: f.name, max: 0.5 });
  }
  for (const f of fields) {
    if (f.detector === 'cn_resident_id' || f.detector === 'cn_uscc') {
      rules.push({ kind: 'detector', field: f.name, detector: f.detector });
      rules.push({ kind: 'check_digit', field: f.name, standard: f.detector });
    } else if (f.detector === 'cn_mobile' || f.detector === 'email' || f.detector === 'ipv4') {
      rules.push({ kind: 'detector', field: f.name, detector: f.detector });
    }
    if (f.dataType === 'text' && REGION.test(`${f.name} ${f.label}`))
      rules.push({ kind: 'region_code', field: f.name });
  }
  const id = fields.find((f) => f.detector === 'cn_resident_id');
  const birth = fields.find(
    (f) =>
      f.name !== id?.name &&
      BIRTH.test(`${f.name} ${f.label}`) &&
      ['date', 'timestamp', 'text'].includes(f.dataType),
  );
  if (id && birth) rules.push({ kind: 'id_birth_date', field: id.name, birthField: birth.name });
  if (keys.length > 0) rules.push({ kind: 'unique', fields: keys.map((k) => k.name) });
  const time = fields.find(
    (f) =>
      (f.dataType === 'date' || f.dataType === 'timestamp') &&
      TIME_FIELD.test(`${f.name} ${f.label}`) &&
      !BIRTH.test(`${f.name} ${f.label}`),
  );
  rules.push(time ? { kind: 'timeliness', field: time.name } : { kind: 'timeliness' });
  return rules;
}

async function rulesOf(ctx: Ctx, resource: ResourceView) {
  const row = await store.findRules(ctx.db, resource.id);
  if (row) {
    return {
      source: 'declared' as const,
      revision: row.revision,
      rules: identify(row.rules as Rule[]),
      updatedBy: row.updated_by,
      updatedAt: row.updated_at.toISOString(),
    };
  }
  return {
    source: 'default' as const,
    revision: 0,
    rules: identify(defaultRules(resource)),
    updatedBy: null,
    updatedAt: null,
  };
}

export async function getRules(ctx: Ctx, resourceRef: string) {
  authorize(ctx.principal, READ);
  const resource = await catalog.getResource(ctx, resourceRef);
  return { resourceId: resource.id, ...(await rulesOf(ctx, resource)) };
}

const invalid = (index: number, reason: string, extra: Record<string, unknown> = {}) =>
  new AppError('QUALITY_RULE_INVALID', { field: `rules.${index}`, reason, ...extra });

const NUMERIC: DataType[] = ['integer', 'decimal'];
const TEMPORAL: DataType[] = ['date', 'timestamp'];

/** Checks declared rules against the resource's fields; the reference target must be the same provider's. */
async function checkRules(ctx: Ctx, resource: ResourceView, rules: Rule[]) {
  const types = new Map(resource.fields.map((f) => [f.name, f.dataType as DataType]));
  for (const [i, rule] of rules.entries()) {
    for (const name of ruleFields(rule)) {
      if (!types.has(name)) throw invalid(i, 'unknown_field', { name });
    }
    if (rule.kind === 'range') {
      const type = types.get(rule.field)!;
      if (!NUMERIC.includes(type) && !TEMPORAL.includes(type)) throw invalid(i, 'range_needs_number_or_date');
      for (const b of [rule.min, rule.max]) {
        if (b === undefined) continue;
        const ok = NUMERIC.includes(type) ? Number.isFinite(Number(b)) : !Number.isNaN(Date.parse(String(b)));
        if (!ok) throw invalid(i, 'bad_bound', { value: b });
      }
    }
    if (rule.kind === 'compare' && types.get(rule.field) !== types.get(rule.otherField)) {
      throw invalid(i, 'compare_needs_same_type');
    }
    if (rule.kind === 'timeliness' && rule.field && !TEMPORAL.includes(types.get(rule.field)!)) {
      throw invalid(i, 'timeliness_needs_date');
    }
    if (rule.kind === 'pattern' && !(await store.regexAccepted(ctx.db, rule.pattern))) {
      throw invalid(i, 'bad_pattern');
    }
    if (rule.kind === 'reference') {
      const target = await catalog.getResource(ctx, rule.resource).catch(() => null);
      // Another provider's data would answer "does this value exist there": that needs a
      // contract, which this rule kind does not carry (see ARCHITECTURE.md).
      if (!target || target.provider.id !== resource.provider.id)
        throw invalid(i, 'reference_not_same_provider');
      if (!target.fields.some((f) => f.name === rule.targetField)) {
        throw invalid(i, 'unknown_target_field', { name: rule.targetField });
      }
    }
  }
  identify(rules);
}

export async function setRules(
  ctx: Ctx,
  resourceRef: string,
  input: { rules: Rule[]; revision?: number | undefined },
) {
  const resource = await catalog.getResource(ctx, resourceRef);
  stewardOf(ctx, resource);
  await checkRules(ctx, resource, input.rules);
  await withTx(ctx.db, async (tx) => {
    const revision = await store.saveRules(
      tx,
      resource.id,
      input.rules,
      input.revision,
      ctx.principal!.userId,
    );
    if (revision === null) throw new AppError('CONFLICT', { reason: 'revision', expected: input.revision });
    await auditAs(ctx, tx, 'quality.rules', 'resource', resource.id, { revision, rules: input.rules.length });
  });
  return getRules(ctx, resource.id);
}

// ------------------------------------------------------------------------------- evaluation

let regionCodes: string[] | undefined;

interface ResultRow {
  id: string;
  kind: string;
  dimension: IdentifiedRule['dimension'];
  fields: string[];
  checked: number;
  failed: number;
  score: number | null;
  passed: boolean;
  failingRows: number[];
  details: Record<string, unknown>;
}

function result(
  rule: IdentifiedRule,
  checked: number,
  failed: number,
  score: number | null,
  rows: number[],
  details: Record<string, unknown> = {},
): ResultRow {
  return {
    id: rule.id,
    kind: rule.kind,
    dimension: rule.dimension,
    fields: ruleFields(rule),
    checked,
    failed,
    score,
    passed: failed === 0 || (rule.kind === 'null_rate' && score === 100),
    failingRows: rows,
    details,
  };
}

async function evaluateRules(
  ctx: Ctx,
  resource: ResourceView,
  version: VersionRow,
  rules: IdentifiedRule[],
  now: Date,
) {
  const types = new Map(version.columns.map((c) => [c.name, c.dataType as DataType]));
  const compile: CompileContext = { types, regionCodes: () => (regionCodes ??= allRegionCodes()) };
  // A rule on a field the version does not have (added later) fails as a whole rather than erroring.
  const missing = (rule: IdentifiedRule) => ruleFields(rule).filter((f) => !types.has(f));
  const row: RowPredicate[] = [];
  for (const rule of rules) {
    if (missing(rule).length > 0) continue;
    const p = compileRowRule(rule, compile);
    if (p) row.push(p);
  }
  const counted = await store.counts(ctx.db, version.table_name, row);
  const byId = new Map<string, ResultRow>();
  await Promise.all(
    row.map(async (p, i) => {
      const { checked, failed } = counted.rules[i]!;
      const rows = failed > 0 ? await store.failingRows(ctx.db, version.table_name, p, FAILING_ROWS) : [];
      const rule = p.rule;
      if (rule.kind === 'null_rate') {
        const score = nullRateScore(counted.rows, failed, rule.max);
        byId.set(
          rule.id,
          result(rule, checked, failed, score, rows, {
            nullRate: checked ? failed / checked : 0,
            max: rule.max,
          }),
        );
      } else {
        byId.set(rule.id, result(rule, checked, failed, passScore(checked, failed), rows));
      }
    }),
  );
  for (const rule of rules) {
    const absent = missing(rule);
    if (absent.length > 0) {
      byId.set(rule.id, result(rule, 0, 0, 0, [], { missingFields: absent }));
      continue;
    }
    if (rule.kind === 'unique') {
      const [dup, checked] = await Promise.all([
        store.duplicates(ctx.db, version.table_name, rule.fields, FAILING_ROWS),
        store.nonNull(ctx.db, version.table_name, rule.fields),
      ]);
      byId.set(rule.id, result(rule, checked, dup.failed, passScore(checked, dup.failed), dup.rows));
    } else if (rule.kind === 'reference') {
      const target = await catalog.getResource(ctx, rule.resource).catch(() => null);
      const targetVersion = target?.currentVersionId
        ? (await store.versions(ctx.db, target.id)).find((v) => v.id === target.currentVersionId)
        : undefined;
      if (
        !target ||
        target.provider.id !== resource.provider.id ||
        !targetVersion?.columns.some((c) => c.name === rule.targetField)
      ) {
        byId.set(rule.id, result(rule, 0, 0, 0, [], { reason: 'reference_unavailable' }));
        continue;
      }
      const [ref, checked] = await Promise.all([
        store.references(
          ctx.db,
          version.table_name,
          rule.field,
          targetVersion.table_name,
          rule.targetField,
          FAILING_ROWS,
        ),
        store.nonNull(ctx.db, version.table_name, [rule.field]),
      ]);
      byId.set(
        rule.id,
        result(rule, checked, ref.failed, passScore(checked, ref.failed), ref.rows, {
          target: target.code,
          targetVersion: targetVersion.number,
        }),
      );
    } else if (rule.kind === 'timeliness') {
      const allowed = rule.maxAgeDays ?? CYCLE_DAYS[resource.updateCycle] ?? null;
      const newest = rule.field
        ? await store.newest(ctx.db, version.table_name, rule.field)
        : version.completed_at;
      if (allowed === null || newest === null) {
        byId.set(
          rule.id,
          result(rule, 0, 0, null, [], {
            reason: allowed === null ? 'irregular_cycle' : 'no_dated_record',
            allowedDays: allowed,
          }),
        );
        continue;
      }
      const ageDays = Math.max(0, (now.getTime() - newest.getTime()) / 86_400_000);
      const score = ageScore(ageDays, allowed);
      byId.set(
        rule.id,
        result(rule, 1, ageDays > allowed ? 1 : 0, score, [], {
          newest: newest.toISOString(),
          ageDays: Math.round(ageDays * 10) / 10,
          allowedDays: allowed,
          basis: rule.field ? 'field' : 'version_loaded',
        }),
      );
    }
  }
  // Accessibility: the version answers a query, it is what the gateway serves, and the resource is shared or open.
  const answers = await store.answers(ctx.db, version.table_name);
  const checks = {
    answers,
    current: version.current_version_id === version.id,
    shared: resource.sharingType !== 'not_shared' || resource.openType !== 'not_open',
  };
  const passed = Object.values(checks).filter(Boolean).length;
  const accessibility: ResultRow = {
    id: 'accessibility',
    kind: 'accessibility',
    dimension: 'accessibility',
    fields: [],
    checked: 3,
    failed: 3 - passed,
    score: passScore(3, 3 - passed),
    passed: passed === 3,
    failingRows: [],
    details: checks,
  };
  return [...rules.map((r) => byId.get(r.id)!), accessibility];
}

function reportView(row: Awaited<ReturnType<typeof store.insertReport>>, detailed: boolean): Report {
  const results = (row.results as ResultRow[]).map((r) =>
    detailed || r.kind === 'accessibility' ? r : { ...r, details: { ...r.details, newest: undefined } },
  );
  return {
    id: row.id,
    resourceId: row.resource_id,
    versionId: row.version_id,
    version: row.version_number,
    rowCount: Number(row.row_count),
    score: Number(row.score),
    level: Number(row.level),
    levelName: levelName(Number(row.level)),
    dimensions: row.dimensions as Report['dimensions'],
    results: JSON.parse(JSON.stringify(results)),
    rulesSource: row.rules_source,
    trigger: row.trigger,
    evaluatedAt: row.evaluated_at.toISOString(),
    durationMs: row.duration_ms,
  };
}

/** Evaluates one ready version of a resource, stores the report, records a level drop. */
async function evaluateVersion(
  ctx: Ctx,
  resource: ResourceView,
  version: VersionRow,
  trigger: 'version' | 'demand',
) {
  const started = Date.now();
  const now = new Date();
  const { rules, source } = await rulesOf(ctx, resource);
  const results = await evaluateRules(ctx, resource, version, rules, now);
  const { dimensions, score, level } = aggregate(results);
  return withTx(ctx.db, async (tx) => {
    const report = await store.insertReport(tx, {
      id: newId('qrp'),
      resource_id: resource.id,
      version_id: version.id,
      version_number: version.number,
      row_count: Number(version.row_count),
      score,
      level,
      dimensions: JSON.stringify(dimensions),
      results: JSON.stringify(results),
      rules_source: source,
      trigger,
      evaluated_by: ctx.principal?.userId ?? null,
      evaluated_at: now,
      duration_ms: Date.now() - started,
    });
    await auditAs(ctx, tx, 'quality.evaluate', 'resource', resource.id, {
      version: version.number,
      score,
      level,
      trigger,
    });
    const previous = await store.previousReport(tx, resource.id, version.number);
    if (previous && level > Number(previous.level)) {
      const recorded = await store.insertAlert(tx, {
        id: newId('qal'),
        resource_id: resource.id,
        version_id: version.id,
        report_id: report.id,
        previous_version_id: previous.version_id,
        from_level: Number(previous.level),
        to_level: level,
        from_score: Number(previous.score),
        to_score: score,
      });
      if (recorded) {
        await auditAs(ctx, tx, 'quality.level_drop', 'resource', resource.id, {
          resourceCode: resource.code,
          version: version.number,
          previousVersion: previous.version_number,
          fromLevel: Number(previous.level),
          toLevel: level,
          fromScore: Number(previous.score),
          toScore: score,
        });
      }
    }
    return report;
  });
}

/** ingest's hook: a version became current, evaluate it (as the platform; failures leave it for on-demand). */
export async function onVersionCurrent(ctx: Ctx, event: ingest.VersionCurrent): Promise<void> {
  const system: Ctx = { ...ctx, principal: SYSTEM_PRINCIPAL };
  const resource = await catalog.getResource(system, event.resourceId);
  const version = (await store.versions(ctx.db, resource.id)).find((v) => v.id === event.versionId);
  if (!version) return;
  if (event.reason === 'activate' && (await store.latestReport(ctx.db, version.id))) return;
  await evaluateVersion(
    { ...ctx, principal: ctx.principal ?? SYSTEM_PRINCIPAL },
    resource,
    version,
    'version',
  );
}

/** Registers the hook with ingest (the server does this once at start; registering again is a no-op). */
export function startQuality(): void {
  ingest.onVersionCurrent(onVersionCurrent);
  catalog.addCatalogAnnex(catalogAnnex);
}

const DIMENSION_LABELS: Record<string, [string, string]> = {
  completeness: ['完整性', 'Completeness'],
  conformance: ['规范性', 'Conformance'],
  accuracy: ['准确性', 'Accuracy'],
  consistency: ['一致性', 'Consistency'],
  timeliness: ['时效性', 'Timeliness'],
  accessibility: ['可访问性', 'Accessibility'],
  overall: ['综合得分', 'Overall score'],
  level: ['质量等级（1 优 … 5 不合格）', 'Quality level (1 best … 5 worst)'],
};

/** W3C DQV measurements of a report: one per assessed dimension, the overall score and the level. */
export function dqvMeasurements(base: string, datasetIri: string, report: Report) {
  const metric = (name: string, type: 'decimal' | 'integer') => ({
    '@id': `${base}/dcat/quality/metrics/${name}`,
    '@type': 'dqv:Metric',
    'skos:prefLabel': [
      { '@value': DIMENSION_LABELS[name]![0], '@language': 'zh-CN' },
      { '@value': DIMENSION_LABELS[name]![1], '@language': 'en' },
    ],
    'dqv:expectedDataType': { '@id': `http://www.w3.org/2001/XMLSchema#${type}` },
    'dqv:inDimension': {
      '@id': `${base}/dcat/quality/dimensions/${['overall', 'level'].includes(name) ? 'overall' : name}`,
      '@type': 'dqv:Dimension',
    },
  });
  const measurement = (name: string, value: number, type: 'decimal' | 'integer') => ({
    '@id': `${datasetIri}#quality-v${report.version}-${name}`,
    '@type': 'dqv:QualityMeasurement',
    'dqv:computedOn': { '@id': datasetIri },
    'dqv:isMeasurementOf': metric(name, type),
    'dqv:value': { '@value': type === 'integer' ? String(value) : value.toFixed(2), '@type': `xsd:${type}` },
    'prov:generatedAtTime': report.evaluatedAt,
  });
  return [
    ...report.dimensions
      .filter((d) => d.score !== null)
      .map((d) => measurement(d.dimension, d.score as number, 'decimal')),
    measurement('overall', report.score, 'decimal'),
    measurement('level', report.level, 'integer'),
  ];
}

/** The catalog's DCAT (dqv:hasQualityMeasurement) and CKAN extras (quality_*) from the current versions' reports. */
async function catalogAnnex(ctx: Ctx, base: string, resources: ResourceView[]) {
  const reports = await currentReports(ctx, resources);
  const out = new Map<string, catalog.CatalogAnnex>();
  for (const r of resources) {
    const report = reports.get(r.id);
    if (!report) continue;
    const iri = `${base}/dcat/datasets/${encodeURIComponent(r.code)}`;
    out.set(r.id, {
      dcat: { 'dqv:hasQualityMeasurement': dqvMeasurements(base, iri, report) },
      ckanExtras: [
        { key: 'quality_score', value: report.score.toFixed(2) },
        { key: 'quality_level', value: String(report.level) },
        { key: 'quality_level_name', value: report.levelName['zh-CN'] },
        { key: 'quality_version', value: String(report.version) },
        { key: 'quality_evaluated_at', value: report.evaluatedAt },
        ...report.dimensions
          .filter((d) => d.score !== null)
          .map((d) => ({ key: `quality_${d.dimension}`, value: (d.score as number).toFixed(2) })),
      ],
    });
  }
  return out;
}

function pickVersion(versions: VersionRow[], resource: ResourceView, number: number | undefined) {
  const version =
    number === undefined
      ? versions.find((v) => v.id === resource.currentVersionId)
      : versions.find((v) => v.number === number);
  if (!version) {
    if (number === undefined) throw new AppError('NO_DATA_VERSION', { resource: resource.code });
    throw new AppError('NOT_FOUND', { objectType: 'version', id: `${resource.code}#${number}` });
  }
  return version;
}

/** Evaluates a version now (the provider's stewards; platform admins). */
export async function evaluateNow(ctx: Ctx, resourceRef: string, number?: number) {
  const resource = await catalog.getResource(ctx, resourceRef);
  stewardOf(ctx, resource);
  const version = pickVersion(await store.versions(ctx.db, resource.id), resource, number);
  await evaluateVersion(ctx, resource, version, 'demand');
  return getQuality(ctx, resource.id, version.number);
}

/** The report of a version (the current one by default), evaluated first when it has none; trend and alerts. */
export async function getQuality(ctx: Ctx, resourceRef: string, number?: number) {
  authorize(ctx.principal, READ);
  const resource = await catalog.getResource(ctx, resourceRef);
  const version = pickVersion(await store.versions(ctx.db, resource.id), resource, number);
  const report =
    (await store.latestReport(ctx.db, version.id)) ??
    (await evaluateVersion({ ...ctx, principal: SYSTEM_PRINCIPAL }, resource, version, 'demand'));
  const [trend, alerts] = await Promise.all([
    store.trend(ctx.db, resource.id),
    store.alerts(ctx.db, resource.id),
  ]);
  return {
    report: reportView(report, seesDetails(ctx, resource)),
    trend: trend.map((t) => ({
      version: t.version_number,
      versionId: t.version_id,
      score: Number(t.score),
      level: Number(t.level),
      evaluatedAt: new Date(t.evaluated_at).toISOString(),
    })),
    alerts: alerts.map((a) => ({
      id: a.id,
      resourceId: a.resource_id,
      versionId: a.version_id,
      previousVersionId: a.previous_version_id,
      fromLevel: Number(a.from_level),
      toLevel: Number(a.to_level),
      fromScore: Number(a.from_score),
      toScore: Number(a.to_score),
      createdAt: a.created_at.toISOString(),
    })),
  };
}

/** The latest report of each resource's current version, for the catalog's DQV and CKAN views (no evaluation). */
export async function currentReports(ctx: Ctx, resources: ResourceView[]) {
  const out = new Map<string, Report>();
  for (const r of resources) {
    if (!r.currentVersionId) continue;
    const row = await store.latestReport(ctx.db, r.currentVersionId);
    if (row) out.set(r.id, reportView(row, false));
  }
  return out;
}

/**
 * The Croissant 1.0 card of a resource's current version (or of the version a contract is pinned
 * to), with its quality and its usage terms: an ODRL Offer, or a contract's Agreement when
 * `contractId` is given (the contract's consumer or provider only; the card then lists the
 * granted fields).
 */
export async function getCard(ctx: Ctx, base: string, resourceRef: string, contractId?: string) {
  authorize(ctx.principal, READ);
  const resource = await catalog.getResource(ctx, resourceRef);
  const contract = contractId ? await sharing.getContract(ctx, contractId) : undefined;
  if (contract && contract.resourceId !== resource.id) {
    throw new AppError('VALIDATION_FAILED', { field: 'contract', reason: 'other_resource' });
  }
  const versions = await store.versions(ctx.db, resource.id);
  const wanted = contract?.pinnedVersionId ?? resource.currentVersionId;
  const version = versions.find((v) => v.id === wanted) ?? null;
  const report = version
    ? ((await store.latestReport(ctx.db, version.id)) ??
      (await evaluateVersion({ ...ctx, principal: SYSTEM_PRINCIPAL }, resource, version, 'demand')))
    : null;
  return croissantCard({
    base,
    resource,
    version: version
      ? {
          number: version.number,
          sourceName: version.source_name,
          sourceFormat: version.source_format,
          sourceSize: Number(version.source_size),
          sourceSm3: version.source_sm3,
          rowCount: Number(version.row_count),
          completedAt: version.completed_at?.toISOString() ?? null,
        }
      : null,
    report: report ? reportView(report, false) : null,
    ...(contract ? { contract } : {}),
  });
}
