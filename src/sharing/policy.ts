import { AppError } from '../core/errors.ts';
import type { Operation } from '../core/tables.ts';
import { defaultMaskFor, isDetectorId } from '../rules/detectors.ts';
import { checkFilter, type Filter, type FilterField } from '../rules/filters.ts';
import { effectiveGrade, type Grade } from '../rules/grades.ts';
import { isAtLeastAsStrict, isMaskRuleId, parseMaskRule } from '../rules/masking.ts';

/**
 * The sharing rules of REFERENCE.md as functions of a resource's fields and a request: which
 * applications are refused outright, which are approved automatically, which need the security
 * officer, and what a contract's terms may be.
 */
export interface PolicyField extends FilterField {
  grade: Grade;
  detector: string | null;
}

export function defaultMask(field: PolicyField): string {
  return defaultMaskFor(field.grade, field.detector && isDetectorId(field.detector) ? field.detector : null);
}

/** g4 and important data need the security officer's approval too. */
export function needsSecurityReview(fields: readonly PolicyField[]): boolean {
  return fields.some((f) => ['g4', 'important'].includes(effectiveGrade(f.grade)));
}

/** Unconditional sharing of g1/g2 fields only is approved without a reviewer (still recorded). */
export function autoApproves(sharingType: string, fields: readonly PolicyField[]): boolean {
  return (
    sharingType === 'unconditional' && fields.every((f) => ['g1', 'g2'].includes(effectiveGrade(f.grade)))
  );
}

export function checkRequestedFields(all: readonly PolicyField[], names: readonly string[]): PolicyField[] {
  const picked: PolicyField[] = [];
  for (const [i, name] of names.entries()) {
    const field = all.find((f) => f.name === name);
    if (!field)
      throw new AppError(
        'VALIDATION_FAILED',
        { field: `fields.${i}`, value: name },
        { zh: `资源没有字段 ${name}`, en: `the resource has no field ${name}` },
      );
    if (field.grade === 'core') {
      throw new AppError('CORE_DATA_NOT_SERVED', { field: `fields.${i}`, value: name });
    }
    picked.push(field);
  }
  return picked;
}

export interface Terms {
  fields: string[];
  masking: Record<string, string>;
  rowFilter: Filter | null;
  operations: Operation[];
  validFrom: string;
  validTo: string;
  rateLimitPerMinute: number;
  quotaRowsPerDay: number;
  ipAllowlist: string[];
  minGroupSize: number;
  onwardTransfer: boolean;
  securitySignoff: boolean;
  /** Served only in working hours (MONITOR_WORKING_HOURS/DAYS); absent in terms granted before it existed. */
  workingHoursOnly?: boolean;
  /** A version id the contract stays on; null follows the resource's current version. */
  pinnedVersionId: string | null;
}

export interface TermChanges {
  fields?: string[] | undefined;
  masking?: Record<string, string> | undefined;
  rowFilter?: unknown;
  operations?: Operation[] | undefined;
  validTo?: string | undefined;
  rateLimitPerMinute?: number | undefined;
  quotaRowsPerDay?: number | undefined;
  ipAllowlist?: string[] | undefined;
  minGroupSize?: number | undefined;
  /** Security officer only: accept masks weaker than the fields' grade defaults. */
  allowWeakerMasking?: boolean | undefined;
  /** Narrowing only: once set, a reviewer cannot take it off again. */
  workingHoursOnly?: boolean | undefined;
  /** Pin the contract to this ready version (by id, resolved by the caller). */
  pinnedVersionId?: string | undefined;
}

export const DEFAULT_LIMITS = { rateLimitPerMinute: 120, quotaRowsPerDay: 100_000, minGroupSize: 10 };

const IPV4_OR_CIDR = /^(\d{1,3}\.){3}\d{1,3}(\/\d{1,2})?$/;

/**
 * Applies a reviewer's changes to the terms. Reviewers can only narrow: fewer fields, stricter
 * masks, a shorter period, an added row filter, fewer operations. A weaker mask than the field's
 * default needs the security officer's explicit sign-off.
 */
export function reviseTerms(
  current: Terms,
  changes: TermChanges,
  allFields: readonly PolicyField[],
  reviewer: { isSecurityOfficer: boolean },
): Terms {
  const next: Terms = { ...current, masking: { ...current.masking } };
  if (changes.fields) {
    const unknown = changes.fields.filter((f) => !current.fields.includes(f));
    if (unknown.length > 0 || changes.fields.length === 0) {
      throw new AppError(
        'VALIDATION_FAILED',
        { field: 'fields', value: unknown },
        { zh: '只能减少字段', en: 'fields can only be narrowed to requested ones' },
      );
    }
    next.fields = [...changes.fields];
    for (const name of Object.keys(next.masking)) if (!next.fields.includes(name)) delete next.masking[name];
  }
  if (changes.allowWeakerMasking && !reviewer.isSecurityOfficer) {
    throw new AppError('FORBIDDEN', { field: 'allowWeakerMasking', reason: 'security_officer_only' });
  }
  if (changes.allowWeakerMasking) next.securitySignoff = true;
  for (const [name, rule] of Object.entries(changes.masking ?? {})) {
    const field = allFields.find((f) => f.name === name);
    if (!field || !next.fields.includes(name)) {
      throw new AppError(
        'VALIDATION_FAILED',
        { field: `masking.${name}` },
        { zh: '该字段未授予', en: 'field not granted' },
      );
    }
    if (!isMaskRuleId(rule))
      throw new AppError(
        'VALIDATION_FAILED',
        { field: `masking.${name}`, value: rule },
        { zh: '未知脱敏规则', en: 'unknown mask rule' },
      );
    const canonical = parseMaskRule(rule).id;
    if (!isAtLeastAsStrict(defaultMask(field), canonical) && !next.securitySignoff) {
      throw new AppError('MASK_TOO_WEAK', {
        field: `masking.${name}`,
        value: canonical,
        default: defaultMask(field),
      });
    }
    next.masking[name] = canonical;
  }
  if (changes.rowFilter !== undefined && changes.rowFilter !== null) {
    // A row filter may use any field of the resource: it restricts rows, it reveals nothing.
    const added = checkFilter(changes.rowFilter, allFields, 'rowFilter');
    next.rowFilter = current.rowFilter ? { and: [current.rowFilter, added] } : added;
  }
  if (changes.operations) {
    if (changes.operations.some((o) => !current.operations.includes(o)) || changes.operations.length === 0) {
      throw new AppError(
        'VALIDATION_FAILED',
        { field: 'operations' },
        { zh: '只能减少操作', en: 'operations can only be narrowed' },
      );
    }
    next.operations = [...changes.operations];
  }
  if (changes.validTo) {
    if (
      !(Date.parse(changes.validTo) <= Date.parse(current.validTo)) ||
      !(Date.parse(changes.validTo) > Date.parse(current.validFrom))
    ) {
      throw new AppError(
        'VALIDATION_FAILED',
        { field: 'validTo' },
        { zh: '有效期只能缩短', en: 'the period can only be shortened' },
      );
    }
    next.validTo = new Date(changes.validTo).toISOString();
  }
  for (const key of ['rateLimitPerMinute', 'quotaRowsPerDay'] as const) {
    const value = changes[key];
    if (value === undefined) continue;
    if (value > current[key])
      throw new AppError(
        'VALIDATION_FAILED',
        { field: key },
        { zh: '只能收紧限额', en: 'limits can only be tightened' },
      );
    next[key] = value;
  }
  if (changes.minGroupSize !== undefined) {
    if (changes.minGroupSize < current.minGroupSize) {
      throw new AppError(
        'VALIDATION_FAILED',
        { field: 'minGroupSize' },
        { zh: '最小分组只能调大', en: 'the minimum group size can only grow' },
      );
    }
    next.minGroupSize = changes.minGroupSize;
  }
  if (changes.pinnedVersionId) next.pinnedVersionId = changes.pinnedVersionId;
  if (changes.workingHoursOnly !== undefined) {
    if (!changes.workingHoursOnly && current.workingHoursOnly) {
      throw new AppError(
        'VALIDATION_FAILED',
        { field: 'workingHoursOnly' },
        { zh: '工作时间限制只能加上，不能取消', en: 'the working-hours restriction can only be added' },
      );
    }
    next.workingHoursOnly = changes.workingHoursOnly;
  }
  if (changes.ipAllowlist) {
    const badIp = changes.ipAllowlist.find((ip) => !IPV4_OR_CIDR.test(ip));
    if (badIp) throw new AppError('VALIDATION_FAILED', { field: 'ipAllowlist', value: badIp });
    next.ipAllowlist = [...changes.ipAllowlist];
  }
  return next;
}

/** Initial terms from an application: what was asked, with each field's default mask. */
export function requestedTerms(
  request: { fields: string[]; operations: Operation[]; requestedFrom: Date; requestedTo: Date },
  fields: readonly PolicyField[],
): Terms {
  const masking: Record<string, string> = {};
  for (const name of request.fields) masking[name] = defaultMask(fields.find((f) => f.name === name)!);
  // Important data is aggregate-only unless the security officer grants rows (by approving them).
  return {
    fields: [...request.fields],
    masking,
    rowFilter: null,
    operations: [...request.operations],
    validFrom: request.requestedFrom.toISOString(),
    validTo: request.requestedTo.toISOString(),
    ...DEFAULT_LIMITS,
    ipAllowlist: [],
    onwardTransfer: false,
    securitySignoff: false,
    workingHoursOnly: false,
    pinnedVersionId: null,
  };
}

export function ipAllowed(ip: string, allowlist: readonly string[]): boolean {
  if (allowlist.length === 0) return true;
  const toInt = (a: string) => a.split('.').reduce((n, part) => (n << 8) + Number(part), 0) >>> 0;
  const plain = ip.replace(/^::ffff:/, '');
  if (!/^(\d{1,3}\.){3}\d{1,3}$/.test(plain)) return false;
  return allowlist.some((entry) => {
    const [base, bits = '32'] = entry.split('/');
    const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
    return (toInt(plain) & mask) === (toInt(base!) & mask);
  });
}

/**
 * The mask the gateway serves a granted field under today: the stricter of the contract's mask
 * and the default of the field's current grade (a field re-graded after approval, or flagged by
 * classification in a new version, is served under its new grade's default at once). A security
 * officer's sign-off of a weaker mask holds only while the field keeps the grade and detector it
 * was given for. When neither rule is at least as strict as the other, the value is suppressed.
 * `null` means the field is not served at all (core data).
 */
export function effectiveMask(
  contractMask: string,
  current: { grade: Grade; detector: string | null },
  atGrant: { grade: string; detector: string | null } | undefined,
  securitySignoff: boolean,
): string | null {
  if (current.grade === 'core') return null;
  const unchanged =
    atGrant === undefined || (atGrant.grade === current.grade && atGrant.detector === current.detector);
  if (securitySignoff && unchanged) return contractMask;
  const gradeDefault = defaultMask({ name: '', dataType: 'text', ...current });
  if (isAtLeastAsStrict(gradeDefault, contractMask)) return contractMask;
  if (isAtLeastAsStrict(contractMask, gradeDefault)) return gradeDefault;
  return 'null';
}
