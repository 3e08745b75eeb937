import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyFingerprint, signBody } from '../src/core/signed-document.ts';
import {
  type AgreementNames,
  type AgreementRecord,
  agreementTerms,
  beijingTime,
  printedCode,
  verifySignedAgreement,
} from '../src/sharing/agreement.ts';
import { verifyAgreementFile } from '../src/sharing/cli.ts';
import { startTestApp, type TestApp } from './helpers.ts';
import { type Actors, sharingFixture } from './sharing-fixture.ts';

/**
 * The data-use agreement (#18): terms in words with their numbers, Beijing time, approvers, a
 * printable PDF with the CJK font embedded, and an SM3 code that stops matching when the contract
 * changes. Only the parties and platform roles see it.
 */
let t: TestApp;
let tokens: Actors;
let call: ReturnType<typeof sharingFixture>['call'];
let contractId: string;

beforeAll(async () => {
  t = await startTestApp();
  const fixture = sharingFixture(t);
  ({ tokens, call } = fixture);
  await fixture.login();
  const code = await fixture.resource('门诊就诊明细', 'conditional');
  contractId = await fixture.contractFor(code, {
    fields: ['record_no', 'person_id', 'district'],
    rowFilter: { field: 'district', op: 'eq', value: '西湖区' },
    rateLimitPerMinute: 30,
    quotaRowsPerDay: 5000,
  });
});
afterAll(() => t.close());

const text = (terms: Array<{ key: string; text: { zh: string; en: string } }>, key: string) =>
  terms.find((x) => x.key === key)?.text;

describe('agreement terms in words', () => {
  it('prints Beijing time, UTC+8', () => {
    expect(beijingTime('2026-12-04T14:35:28.854Z', 'zh')).toBe('2026年12月4日 22:35');
    expect(beijingTime('2026-12-31T16:05:00Z', 'zh')).toBe('2027年1月1日 00:05');
    expect(beijingTime('2026-12-04T14:35:28.854Z', 'en')).toBe('2026-12-04 22:35 (UTC+8)');
  });

  it('says every mask with its parameters, the parties, the limits and the approvals', async () => {
    const res = await call('GET', `/v1/contracts/${contractId}/agreement`, tokens.consumer);
    expect(res.statusCode, res.body).toBe(200);
    const a = res.json();
    expect(a.code).toMatch(/^[0-9a-f]{64}$/);
    expect(text(a.terms, 'field.person_id')).toEqual({
      zh: '公民身份号码（person_id，一般数据4级）：保留前6位和后4位',
      en: '公民身份号码 (person_id, general data, level 4): keep the first 6 and last 4 characters',
    });
    expect(text(a.terms, 'field.district')?.zh).toBe('所属区县（district，一般数据1级）：不脱敏');
    expect(text(a.terms, 'rows')?.zh).toBe('所属区县 = 西湖区');
    expect(text(a.terms, 'rate')?.zh).toBe('每分钟至多 30 次');
    expect(text(a.terms, 'quota')).toEqual({ zh: '每日至多 5,000 行', en: 'at most 5,000 rows per day' });
    expect(text(a.terms, 'provider')?.zh).toBe('云岚市卫生健康委员会');
    expect(text(a.terms, 'consumer')?.zh).toBe('云岚市民政局');
    expect(text(a.terms, 'valid')?.zh).toMatch(
      /^\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d 至 \d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d（北京时间）$/,
    );
    const approvals = a.terms.filter((x: { key: string }) => x.key.startsWith('approval.'));
    expect(approvals.map((x: { label: { zh: string } }) => x.label.zh)).toEqual(['批准', '安全员签字']);
    expect(approvals[0].text.zh).toMatch(/^提供方数据管理员 卫健委数据专员（steward\.health），\d{4}年/);
    expect(approvals[1].text.zh).toMatch(/^安全员 安全管理员（security），\d{4}年/);
    // No weaker masks were allowed: the document does not claim a sign-off for them.
    expect(text(a.terms, 'weakerMasking')).toBeUndefined();
    const receipt = await call('GET', `/v1/contracts/${contractId}/receipt`, tokens.consumer);
    expect(receipt.body).toContain('保留前6位和后4位');
    expect(receipt.body).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:/);
    expect(receipt.body).toContain(printedCode(a.code));
  });

  it('names an unassessed field as such and a weaker-mask sign-off only when there was one', () => {
    const record = {
      fields: [{ name: 'home', grade: 'unassessed', mask: 'null' }],
      operations: ['rows'],
      rowFilter: null,
      ipAllowlist: [],
      approvals: [{ role: 'data_steward', by: 'usr_1', at: '2026-12-04T14:35:00Z' }],
      validFrom: '2026-12-04T14:35:00Z',
      validTo: '2027-03-04T14:35:00Z',
      weakerMaskingSignedOff: true,
      purpose: 'p',
      rateLimitPerMinute: 60,
      quotaRowsPerDay: 100_000,
      minGroupSize: 10,
    } as unknown as AgreementRecord;
    const names: AgreementNames = {
      resource: { name: 'R', code: 'C' },
      provider: 'P',
      consumer: 'Q',
      fields: { home: '居住地区县' },
      people: { usr_1: '张三（zhang）' },
    };
    const terms = agreementTerms(record, names);
    expect(text(terms, 'field.home')?.zh).toBe(
      '居住地区县（home，未定级）：置空（删除）；未定级，定级前按最严规则提供（可能为空）',
    );
    expect(text(terms, 'weakerMasking')?.zh).toBe('安全员已签字同意弱于默认规则的脱敏');
    expect(text(terms, 'approval.0')?.zh).toBe('提供方数据管理员 张三（zhang），2026年12月4日 22:35');
    expect(terms.some((x) => x.label.zh === '安全员签字')).toBe(false);
    expect(text(terms, 'quota')?.zh).toBe('每日至多 100,000 行');
  });
});

describe('the printable agreement and its verification code', () => {
  it('is a PDF with the CJK font embedded', async () => {
    const res = await call('GET', `/v1/contracts/${contractId}/agreement.pdf`, tokens.steward);
    expect(res.statusCode, res.body.slice(0, 200)).toBe(200);
    expect(res.headers['content-type']).toBe('application/pdf');
    const pdf = res.rawPayload.toString('latin1');
    expect(pdf.startsWith('%PDF-')).toBe(true);
    expect(pdf).toMatch(/FontFile2/);
  });

  it('is signed by the platform (SM2) and checks offline; any changed term, name or code fails', async () => {
    const res = await call('GET', `/v1/contracts/${contractId}/agreement.signed.json`, tokens.consumer);
    expect(res.statusCode, res.body).toBe(200);
    const signed = res.json();
    const { code } = (await call('GET', `/v1/contracts/${contractId}/agreement`, tokens.consumer)).json();
    expect(signed.agreement).toMatchObject({ code, state: 'active', record: { contract: contractId } });
    expect(signed.signature.algorithm).toContain('SM2');
    const pem = (await t.request({ method: 'GET', url: '/v1/registry/public-key' })).json()
      .publicKeyPem as string;
    expect(verifySignedAgreement(signed, pem)).toEqual({
      valid: true,
      reason: 'ok',
      contract: contractId,
      code,
    });

    // Offline, as `shutong contracts verify-agreement FILE --pubkey K`.
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shutong-agreement-'));
    const file = path.join(dir, 'agreement.json');
    const pubFile = path.join(dir, 'pub.pem');
    await fs.writeFile(file, JSON.stringify(signed, null, 2));
    await fs.writeFile(pubFile, pem);
    const ok = await verifyAgreementFile(file, pubFile);
    expect(ok.code).toBe(0);
    expect(ok.lines[0]).toContain(contractId);
    expect(ok.lines[0]).toContain('云岚市卫生健康委员会');

    // Property: changing any single value anywhere in the signed body breaks the signature.
    const leaves: string[][] = [];
    const walk = (value: unknown, at: string[]) => {
      if (value !== null && typeof value === 'object') {
        for (const [k, v] of Object.entries(value)) walk(v, [...at, k]);
      } else leaves.push(at);
    };
    walk(signed.agreement, []);
    expect(leaves.length).toBeGreaterThan(30);
    fc.assert(
      fc.property(
        fc.constantFrom(...leaves),
        fc.oneof(fc.string(), fc.integer(), fc.boolean()),
        (at, value) => {
          const tampered = structuredClone(signed);
          let holder = tampered.agreement;
          for (const k of at.slice(0, -1)) holder = holder[k];
          fc.pre(holder[at.at(-1)!] !== value);
          holder[at.at(-1)!] = value;
          const check = verifySignedAgreement(tampered, pem);
          expect(check.valid).toBe(false);
          expect(['bad_signature', 'malformed']).toContain(check.reason);
        },
      ),
      { numRuns: 200 },
    );
    await fs.writeFile(
      file,
      JSON.stringify({ ...signed, agreement: { ...signed.agreement, state: 'revoked' } }),
    );
    expect((await verifyAgreementFile(file, pubFile)).lines[0]).toContain('altered or forged');

    // Another key; a well-signed file whose code is not the SM3 of its terms; not an agreement.
    const other = generateKeyPairSync('ec', { namedCurve: 'SM2' });
    const otherPem = String(other.publicKey.export({ type: 'spki', format: 'pem' }));
    expect(verifySignedAgreement(signed, otherPem).reason).toBe('wrong_key');
    // A key object made in memory signs as ECDSA; parsed from PEM it is SM2 (src/audit/signing.ts).
    const sm2Private = createPrivateKey(String(other.privateKey.export({ type: 'pkcs8', format: 'pem' })));
    const wrongCode = { ...signed.agreement, code: '0'.repeat(64) };
    const forged = {
      agreement: wrongCode,
      signature: signBody(wrongCode, sm2Private, keyFingerprint(otherPem)),
    };
    expect(verifySignedAgreement(forged, otherPem).reason).toBe('code_mismatch');
    expect(verifySignedAgreement({ certificate: {} }, pem).reason).toBe('malformed');
  });

  it('verifies the printed code, and no longer after the contract changed', async () => {
    const { code } = (await call('GET', `/v1/contracts/${contractId}/agreement`, tokens.consumer)).json();
    const verify = (token: string, printed: string) =>
      call('POST', `/v1/contracts/${contractId}/agreement/verify`, token, { code: printed });
    const ok = await verify(tokens.steward, printedCode(code));
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ valid: true, code, state: 'active' });
    const typo = `${code.slice(0, -1)}${code.endsWith('0') ? '1' : '0'}`;
    expect((await verify(tokens.consumer, typo)).json().valid).toBe(false);
    await t.database.db
      .updateTable('contracts')
      .set({ quota_rows_per_day: 6000 })
      .where('id', '=', contractId)
      .execute();
    const after = (await verify(tokens.consumer, code)).json();
    expect(after.valid).toBe(false);
    expect(after.code).not.toBe(code);
  });

  it('is shown only to the parties and platform roles; others get 404', async () => {
    const outsider = await t.login('steward.psb');
    for (const token of [tokens.enterprise, outsider]) {
      for (const [method, url] of [
        ['GET', `/v1/contracts/${contractId}/agreement`],
        ['GET', `/v1/contracts/${contractId}/agreement.pdf`],
        ['GET', `/v1/contracts/${contractId}/agreement.signed.json`],
        ['POST', `/v1/contracts/${contractId}/agreement/verify`],
      ] as const) {
        const res = await call(method, url, token, method === 'POST' ? { code: 'x' } : undefined);
        expect(res.statusCode, `${url} ${res.body}`).toBe(404);
      }
    }
    for (const token of [tokens.consumer, tokens.steward, tokens.security, await t.login('auditor')]) {
      expect((await call('GET', `/v1/contracts/${contractId}/agreement`, token)).statusCode).toBe(200);
    }
  });
});
