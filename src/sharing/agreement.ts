import { createHash } from 'node:crypto';
import { platformKey } from '../audit/service.ts';
import * as catalog from '../catalog/service.ts';
import type { Ctx } from '../core/context.ts';
import { renderPdf } from '../core/pdf.ts';
import { checkSignature, type DocumentSignature, signBody } from '../core/signed-document.ts';
import * as identity from '../identity/service.ts';
import { describeFilter, type Filter } from '../rules/filters.ts';
import { GRADE_NAMES, isGrade } from '../rules/grades.ts';
import { describeMaskRule } from '../rules/masking.ts';
import { type ContractRow, effectiveState, loadContract } from './service.ts';

/**
 * The data-use agreement as a document a bureau can print, sign and file: every term in words
 * with its numbers, the parties, who approved and when (Beijing time), and a verification code.
 *
 * The code is SM3 over the agreement record: the contract's terms, parties and approvals as ids,
 * numbers and rule codes, in a fixed key order (built here field by field, so JSON.stringify is
 * canonical). Names are printed but not hashed: a renamed organization or field label must not
 * make a filed agreement unverifiable; a changed term must. Anyone allowed to see the contract
 * checks a printout with POST /v1/contracts/{id}/agreement/verify.
 */

export const AGREEMENT_TYPE = 'shutong.data-use-agreement/1';

export type AgreementRecord = {
  type: string;
  contract: string;
  application: string;
  resource: string;
  provider: string;
  consumer: string;
  purpose: string;
  legalBasis: string | null;
  scenario: string | null;
  operations: string[];
  fields: Array<{ name: string; grade: string | null; mask: string }>;
  rowFilter: Filter | null;
  validFrom: string;
  validTo: string;
  rateLimitPerMinute: number;
  quotaRowsPerDay: number;
  minGroupSize: number;
  ipAllowlist: string[];
  onwardTransfer: boolean;
  workingHoursOnly: boolean;
  pinnedVersionId: string | null;
  weakerMaskingSignedOff: boolean;
  approvals: Array<{ role: string; by: string; at: string }>;
};

/** The names the document prints for the ids in the record. */
export type AgreementNames = {
  resource: { name: string; code: string };
  provider: string;
  consumer: string;
  fields: Record<string, string>;
  people: Record<string, string>;
};

export interface Agreement {
  record: AgreementRecord;
  names: AgreementNames;
  code: string;
  state: string;
  stateReason: string | null;
  terms: AgreementTerm[];
}

export interface AgreementTerm {
  key: string;
  label: { zh: string; en: string };
  text: { zh: string; en: string };
}

/** SM3 of the record, lower-case hex (64 digits). */
export function agreementCode(record: AgreementRecord): string {
  return createHash('sm3').update(JSON.stringify(record), 'utf8').digest('hex');
}

/** The code as printed: eight groups of eight, easy to read aloud and to type back. */
export function printedCode(code: string): string {
  return (code.toUpperCase().match(/.{1,8}/g) ?? []).join(' ');
}

/** What a reader types back: spaces, dashes and case do not matter. */
export function normaliseCode(text: string): string {
  return text.replace(/[\s-]/g, '').toLowerCase();
}

/** A moment in Beijing time (UTC+8, no daylight saving): 2026年12月4日 22:35, or 2026-12-04 22:35 (UTC+8). */
export function beijingTime(iso: string, lang: 'zh' | 'en'): string {
  const d = new Date(new Date(iso).getTime() + 8 * 3_600_000);
  const p = (n: number) => String(n).padStart(2, '0');
  const [y, m, day, h, min] = [
    d.getUTCFullYear(),
    d.getUTCMonth() + 1,
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
  ];
  return lang === 'zh'
    ? `${y}年${m}月${day}日 ${p(h)}:${p(min)}`
    : `${y}-${p(m)}-${p(day)} ${p(h)}:${p(min)} (UTC+8)`;
}

const ROLE_NAMES: Record<string, { zh: string; en: string }> = {
  auto: {
    zh: '系统自动批准（无条件共享、一般数据1–2级）',
    en: 'approved automatically (unconditional, g1–g2)',
  },
  data_steward: { zh: '提供方数据管理员', en: "provider's data steward" },
  security_officer: { zh: '安全员', en: 'security officer' },
};

const OPERATION_NAMES: Record<string, { zh: string; en: string }> = {
  rows: { zh: '明细查询', en: 'row queries' },
  aggregate: { zh: '统计分析', en: 'aggregate statistics' },
};

const n = (v: number) => v.toLocaleString('en-US');
const both = (zh: string, en: string) => ({ zh, en });

/** Every term in words, with its numbers and parameters: what the PDF, the receipt and the console show. */
export function agreementTerms(record: AgreementRecord, names: AgreementNames): AgreementTerm[] {
  const label = (f: string) => names.fields[f] ?? f;
  const person = (id: string) => names.people[id] ?? id;
  const terms: AgreementTerm[] = [];
  const add = (key: string, zhLabel: string, enLabel: string, text: { zh: string; en: string }) =>
    terms.push({ key, label: both(zhLabel, enLabel), text });

  add(
    'resource',
    '数据资源',
    'Resource',
    both(
      `${names.resource.name}（${names.resource.code}）`,
      `${names.resource.name} (${names.resource.code})`,
    ),
  );
  add('provider', '提供方', 'Provider', both(names.provider, names.provider));
  add('consumer', '使用方', 'Consumer', both(names.consumer, names.consumer));
  add('purpose', '用途', 'Purpose', both(record.purpose, record.purpose));
  if (record.legalBasis) add('legalBasis', '依据', 'Legal basis', both(record.legalBasis, record.legalBasis));
  if (record.scenario) add('scenario', '业务场景', 'Scenario', both(record.scenario, record.scenario));
  add(
    'operations',
    '允许操作',
    'Operations',
    both(
      record.operations.map((o) => OPERATION_NAMES[o]?.zh ?? o).join('、'),
      record.operations.map((o) => OPERATION_NAMES[o]?.en ?? o).join(', '),
    ),
  );
  for (const f of record.fields) {
    const grade = f.grade && isGrade(f.grade) ? GRADE_NAMES[f.grade] : GRADE_NAMES.unassessed;
    const mask = describeMaskRule(f.mask);
    // An unassessed field is served as the strictest default until it is graded: say so.
    const blank = f.grade === 'unassessed' || !f.grade;
    add(
      `field.${f.name}`,
      `字段 ${label(f.name)}`,
      `Field ${label(f.name)}`,
      both(
        `${label(f.name)}（${f.name}，${grade.zh}）：${mask.zh}${blank ? '；未定级，定级前按最严规则提供（可能为空）' : ''}`,
        `${label(f.name)} (${f.name}, ${grade.en}): ${mask.en}${blank ? '; not yet graded, served under the strictest rule (possibly blank) until graded' : ''}`,
      ),
    );
  }
  const rows = describeFilter(
    record.rowFilter,
    Object.entries(names.fields).map(([name, l]) => ({ name, label: l })),
  );
  add('rows', '行范围', 'Rows', record.rowFilter ? both(rows, rows) : both('全部行', 'all rows'));
  add(
    'valid',
    '有效期',
    'Valid',
    both(
      `${beijingTime(record.validFrom, 'zh')} 至 ${beijingTime(record.validTo, 'zh')}（北京时间）`,
      `${beijingTime(record.validFrom, 'en')} to ${beijingTime(record.validTo, 'en')}`,
    ),
  );
  add(
    'rate',
    '访问频率',
    'Request rate',
    both(
      `每分钟至多 ${n(record.rateLimitPerMinute)} 次`,
      `at most ${n(record.rateLimitPerMinute)} requests per minute`,
    ),
  );
  add(
    'quota',
    '每日限额',
    'Daily quota',
    both(`每日至多 ${n(record.quotaRowsPerDay)} 行`, `at most ${n(record.quotaRowsPerDay)} rows per day`),
  );
  add(
    'minGroup',
    '统计最小分组',
    'Smallest group',
    both(
      `统计结果每组不少于 ${n(record.minGroupSize)} 条记录`,
      `each aggregate group covers at least ${n(record.minGroupSize)} records`,
    ),
  );
  add(
    'ip',
    '来源地址',
    'Source addresses',
    record.ipAllowlist.length > 0
      ? both(`仅限 ${record.ipAllowlist.join('、')}`, `only ${record.ipAllowlist.join(', ')}`)
      : both('不限', 'any'),
  );
  if (record.workingHoursOnly) add('hours', '访问时间', 'Hours', both('仅工作时间', 'working hours only'));
  add(
    'version',
    '数据版本',
    'Data version',
    record.pinnedVersionId
      ? both(`固定于版本 ${record.pinnedVersionId}`, `pinned to version ${record.pinnedVersionId}`)
      : both('跟随资源当前版本', "follows the resource's current version"),
  );
  add(
    'onward',
    '对外提供',
    'Onward transfer',
    record.onwardTransfer
      ? both('允许向第三方提供', 'may be passed on')
      : both('不得向第三方提供', 'must not be passed on'),
  );
  if (record.weakerMaskingSignedOff)
    add(
      'weakerMasking',
      '安全员同意',
      'Security sign-off',
      both(
        '安全员已签字同意弱于默认规则的脱敏',
        'the security officer signed off masks weaker than the defaults',
      ),
    );
  for (const [i, a] of record.approvals.entries()) {
    const role = ROLE_NAMES[a.role] ?? both(a.role, a.role);
    const who = a.by === 'system' ? '' : person(a.by);
    add(
      `approval.${i}`,
      a.role === 'security_officer' ? '安全员签字' : '批准',
      a.role === 'security_officer' ? 'Security sign-off' : 'Approved',
      both(
        `${role.zh}${who ? ` ${who}` : ''}，${beijingTime(a.at, 'zh')}`,
        `${role.en}${who ? ` ${who}` : ''}, ${beijingTime(a.at, 'en')}`,
      ),
    );
  }
  return terms;
}

function record(
  c: ContractRow,
  app: { legal_basis: string; scenario: string; decisions: Array<Record<string, unknown>> } | undefined,
  resourceCode: string,
): AgreementRecord {
  const grades = c.granted_grades ?? {};
  const masking = c.masking as Record<string, string>;
  return {
    type: AGREEMENT_TYPE,
    contract: c.id,
    application: c.application_id,
    resource: resourceCode,
    provider: c.provider_org_id,
    consumer: c.consumer_org_id,
    purpose: c.purpose,
    legalBasis: app?.legal_basis ?? null,
    scenario: app?.scenario ?? null,
    operations: [...c.operations],
    fields: c.fields.map((name) => ({
      name,
      grade: grades[name]?.grade ?? null,
      mask: masking[name] ?? 'none',
    })),
    rowFilter: (c.row_filter ?? null) as Filter | null,
    validFrom: c.valid_from.toISOString(),
    validTo: c.valid_to.toISOString(),
    rateLimitPerMinute: c.rate_limit_per_minute,
    quotaRowsPerDay: Number(c.quota_rows_per_day),
    minGroupSize: c.min_group_size,
    ipAllowlist: [...c.ip_allowlist],
    onwardTransfer: c.onward_transfer,
    workingHoursOnly: c.working_hours_only,
    pinnedVersionId: c.pinned_version_id,
    weakerMaskingSignedOff: c.security_signoff,
    approvals: (app?.decisions ?? [])
      .filter((d) => d.decision === 'approve')
      .map((d) => ({ role: String(d.role ?? 'data_steward'), by: String(d.by), at: String(d.at) })),
  };
}

/** The agreement of a contract, for whoever may see the contract (its parties and platform roles; others get 404). */
export async function contractAgreement(ctx: Ctx, id: string): Promise<Agreement> {
  const contract = await loadContract(ctx, id);
  const [resource, app, orgs] = await Promise.all([
    catalog.getResource(ctx, contract.resource_id),
    ctx.db
      .selectFrom('applications')
      .select(['legal_basis', 'scenario', 'decisions'])
      .where('id', '=', contract.application_id)
      .executeTakeFirst(),
    identity.organizationNames(ctx, [contract.provider_org_id, contract.consumer_org_id]),
  ]);
  const rec = record(contract, app, resource.code);
  const people = await identity.usernames(
    ctx.db,
    rec.approvals.map((a) => a.by).filter((by) => by !== 'system'),
  );
  const org = (orgId: string) => orgs.get(orgId) ?? orgId;
  const names: AgreementNames = {
    resource: { name: resource.name, code: resource.code },
    provider: org(contract.provider_org_id),
    consumer: org(contract.consumer_org_id),
    fields: Object.fromEntries(resource.fields.map((f) => [f.name, f.label])),
    people: Object.fromEntries(people.map((p) => [p.id, `${p.displayName}（${p.username}）`])),
  };
  return {
    record: rec,
    names,
    code: agreementCode(rec),
    state: effectiveState(contract),
    stateReason: contract.state_reason,
    terms: agreementTerms(rec, names),
  };
}

export interface AgreementCheck {
  valid: boolean;
  /** The contract's current code: a printout whose code differs was made before a change, or forged. */
  code: string;
  state: string;
}

/** Checks a printed code against the contract as it is now. */
export async function verifyAgreement(ctx: Ctx, id: string, code: string): Promise<AgreementCheck> {
  const agreement = await contractAgreement(ctx, id);
  return { valid: normaliseCode(code) === agreement.code, code: agreement.code, state: agreement.state };
}

export const SIGNED_AGREEMENT_TYPE = 'shutong.signed-data-use-agreement/1';

/**
 * The agreement as a file the platform signs (SM2 over SM3, the platform's key — the one that
 * signs the audit log's heads and registry certificates): its record, the names printed for it,
 * its state and verification code at signing time. Anyone holding the file checks it offline with
 * the public key alone (`shutong contracts verify-agreement FILE --pubkey K`): any change to a
 * term, a name or the code breaks the signature, and the code must be the SM3 of the record, so
 * the printed code on a paper copy ties it to the file.
 */
export interface SignedAgreement {
  agreement: {
    type: string;
    code: string;
    state: string;
    signedAt: string;
    record: AgreementRecord;
    names: AgreementNames;
  };
  signature: DocumentSignature;
}

export async function signedAgreement(ctx: Ctx, id: string, now = new Date()): Promise<SignedAgreement> {
  const a = await contractAgreement(ctx, id);
  const key = await platformKey(ctx.config);
  const body = {
    type: SIGNED_AGREEMENT_TYPE,
    code: a.code,
    state: a.state,
    signedAt: now.toISOString(),
    record: a.record,
    names: a.names,
  };
  return { agreement: body, signature: signBody(body, key.privateKey, key.fingerprint) };
}

export interface SignedAgreementCheck {
  valid: boolean;
  reason: 'ok' | 'malformed' | 'wrong_key' | 'bad_signature' | 'code_mismatch';
  contract: string | null;
  code: string | null;
}

/** Checks a signed agreement file against a public key (PEM), offline. */
export function verifySignedAgreement(document: unknown, publicKeyPem: string): SignedAgreementCheck {
  const doc = document as Partial<SignedAgreement> | null;
  const body = doc?.agreement;
  const contract = typeof body?.record?.contract === 'string' ? body.record.contract : null;
  const code = typeof body?.code === 'string' ? body.code : null;
  const result = (reason: SignedAgreementCheck['reason']) => ({
    valid: reason === 'ok',
    reason,
    contract,
    code,
  });
  if (
    !body ||
    typeof body !== 'object' ||
    body.type !== SIGNED_AGREEMENT_TYPE ||
    !body.record ||
    !doc?.signature
  ) {
    return result('malformed');
  }
  const signature = checkSignature(body, doc.signature, publicKeyPem);
  if (signature !== 'ok') return result(signature);
  return result(agreementCode(body.record) === body.code ? 'ok' : 'code_mismatch');
}

const STATE_NAMES: Record<string, { zh: string; en: string }> = {
  active: both('生效', 'active'),
  suspended: both('暂停', 'suspended'),
  revoked: both('撤销', 'revoked'),
  expired: both('到期', 'expired'),
};

/** The agreement as plain text in both languages (GET /v1/contracts/{id}/receipt). */
export function agreementText(a: Agreement): string {
  const state = STATE_NAMES[a.state] ?? both(a.state, a.state);
  return [
    `数据使用协议 / Data-use agreement ${a.record.contract}`,
    `状态 / State: ${state.zh} / ${state.en}${a.stateReason ? ` (${a.stateReason})` : ''}`,
    ...a.terms.map(
      (t) => `${t.label.zh} / ${t.label.en}: ${t.text.zh}${t.text.zh === t.text.en ? '' : ` / ${t.text.en}`}`,
    ),
    '使用方仅可将数据用于上述用途；每次访问均被记录。',
    'The consumer may use the data only for the purpose above; every access is recorded.',
    `核验码 / Verification code (SM3): ${printedCode(a.code)}`,
    '',
  ].join('\n');
}

/** The printable PDF: A4, the CJK font embedded, signature lines for both parties. */
export function agreementPdf(a: Agreement, verifyPath: string): Promise<Buffer> {
  const state = STATE_NAMES[a.state] ?? both(a.state, a.state);
  const cell = (text: string, extra: Record<string, unknown> = {}) => ({ text, ...extra });
  return renderPdf({
    info: { title: `数据使用协议 ${a.record.contract}`, subject: a.names.resource.name },
    content: [
      { text: '数据使用协议', fontSize: 20, alignment: 'center', margin: [0, 0, 0, 4] },
      { text: 'Data-use Agreement', fontSize: 11, alignment: 'center', margin: [0, 0, 0, 4] },
      {
        text: `${a.record.contract} · ${state.zh} / ${state.en}`,
        fontSize: 9,
        alignment: 'center',
        color: a.state === 'active' ? '#555555' : '#cf222e',
        margin: [0, 0, 0, 12],
      },
      {
        table: {
          widths: [110, '*'],
          body: a.terms.map((t) => [
            cell(`${t.label.zh}\n${t.label.en}`, { fillColor: '#f2f2f2', fontSize: 9 }),
            {
              stack: [
                cell(t.text.zh),
                ...(t.text.en === t.text.zh ? [] : [cell(t.text.en, { fontSize: 8, color: '#555555' })]),
              ],
            },
          ]),
        },
        layout: 'lightHorizontalLines',
      },
      {
        text: '使用方仅可将数据用于上述用途，按上述条件使用；每次访问均被记录并可审计。\nThe consumer may use the data only for the purpose and on the terms above; every access is recorded and auditable.',
        fontSize: 9,
        margin: [0, 12, 0, 16],
      },
      {
        columns: [
          {
            text: `提供方（盖章）Provider\n${a.names.provider}\n\n\n签字 Signature：__________\n日期 Date：__________`,
          },
          {
            text: `使用方（盖章）Consumer\n${a.names.consumer}\n\n\n签字 Signature：__________\n日期 Date：__________`,
          },
        ],
        margin: [0, 0, 0, 16],
      },
      { text: `核验码 Verification code (SM3)`, fontSize: 9 },
      { text: printedCode(a.code), fontSize: 11, margin: [0, 2, 0, 4] },
      {
        text: `核验：登录后在协议页输入核验码，或 POST ${verifyPath}（body {"code": "…"}）；协议条款有任何改动，核验码即不再相符。离线核验：下载平台 SM2 签名的协议文件（GET ${verifyPath.replace(/\/verify$/, '.signed.json')}），以平台公钥运行 shutong contracts verify-agreement。\nVerify: enter the code on the agreement page, or POST ${verifyPath}; any change to the terms makes the code no longer match. Offline: the platform-signed file (SM2) and the platform's public key, with shutong contracts verify-agreement.`,
        fontSize: 8,
        color: '#555555',
      },
    ],
  });
}
