import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LETTER_LIMIT_BYTES } from '../src/sharing/service.ts';
import { startTestApp, type TestApp } from './helpers.ts';
import { type Actors, sharingFixture } from './sharing-fixture.ts';

/**
 * The request letter (申请函) of a data-sharing application through the API: stored and served
 * byte for byte with its SM3, judged by its magic bytes, bounded before it is buffered, visible
 * by the application's rule, replaceable only while the application is a draft, audited without
 * its bytes.
 */
let t: TestApp;
let tokens: Actors;
let call: ReturnType<typeof sharingFixture>['call'];
let apply: ReturnType<typeof sharingFixture>['apply'];
let code: string;

const sm3 = (bytes: Uint8Array) => createHash('sm3').update(bytes).digest('hex');
const pdf = (body: string | Uint8Array) =>
  Buffer.concat([Buffer.from('%PDF-1.7\n'), typeof body === 'string' ? Buffer.from(body) : body]);

function putLetter(
  id: string,
  token: string,
  payload: Buffer | Readable,
  type = 'application/pdf',
  name = '申请函.pdf',
) {
  return t.request({
    method: 'PUT',
    url: `/v1/applications/${id}/letter?filename=${encodeURIComponent(name)}`,
    token,
    headers: { 'content-type': type },
    payload,
  });
}
const getLetter = (id: string, token: string) =>
  t.request({ method: 'GET', url: `/v1/applications/${id}/letter`, token });

/** A draft application of consumer.civil's organization. */
const draft = async () => (await apply(code, { submit: false })).id as string;

beforeAll(async () => {
  t = await startTestApp();
  const fixture = sharingFixture(t);
  ({ tokens, call, apply } = fixture);
  await fixture.login();
  code = await fixture.resource('门诊就诊明细（申请函）', 'conditional');
});
afterAll(() => t.close());

describe('request letters', () => {
  it('stores the letter and serves it back byte for byte with its SM3, name and type', async () => {
    const id = await draft();
    expect((await call('GET', `/v1/applications/${id}`, tokens.consumer)).json().letter).toBeNull();
    const bytes = pdf('1 0 obj << /Type /Catalog >> endobj\n%%EOF\n');
    const put = await putLetter(
      id,
      tokens.consumer,
      bytes,
      'application/pdf',
      '民政局关于申请就诊数据的函.pdf',
    );
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json().letter).toMatchObject({
      fileName: '民政局关于申请就诊数据的函.pdf',
      contentType: 'application/pdf',
      size: bytes.length,
      sm3: sm3(bytes),
    });

    for (const token of [tokens.consumer, tokens.steward, tokens.security, await t.login('auditor')]) {
      const res = await getLetter(id, token);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.rawPayload.equals(bytes)).toBe(true);
      expect(res.headers['content-type']).toBe('application/pdf');
      expect(res.headers.etag).toBe(`"${sm3(bytes)}"`);
      expect(res.headers.digest).toBe(`sm3=${Buffer.from(sm3(bytes), 'hex').toString('base64')}`);
      expect(res.headers['content-disposition']).toContain(
        `filename*=UTF-8''${encodeURIComponent('民政局关于申请就诊数据的函.pdf')}`,
      );
    }
    const view = (await call('GET', `/v1/applications/${id}`, tokens.steward)).json();
    expect(view.letter).toMatchObject({ sm3: sm3(bytes), size: bytes.length });
    const listed = (await call('GET', '/v1/applications?limit=200', tokens.consumer)).json();
    expect(listed.items.find((a: { id: string }) => a.id === id).letter.sm3).toBe(sm3(bytes));
  });

  it('judges the type by the magic bytes: an .exe named .pdf is 415, and so is a PNG declared as PDF', async () => {
    const id = await draft();
    const exe = Buffer.concat([Buffer.from('MZ\x90\x00\x03\x00', 'latin1'), Buffer.alloc(200, 1)]);
    const res = await putLetter(id, tokens.consumer, exe, 'application/pdf', 'letter.pdf');
    expect(res.statusCode).toBe(415);
    expect(res.json().error).toMatchObject({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      details: { field: 'body', detected: null },
    });
    expect(res.json().error.messages['zh-CN']).toContain('PDF、PNG 或 JPEG');

    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      Buffer.alloc(64),
    ]);
    const mismatch = await putLetter(id, tokens.consumer, png, 'application/pdf', 'scan.pdf');
    expect(mismatch.statusCode).toBe(415);
    expect(mismatch.json().error.details).toMatchObject({
      declared: 'application/pdf',
      detected: 'image/png',
    });

    // The same scan declared as what it is is taken; a generic type leaves it to the bytes.
    expect((await putLetter(id, tokens.consumer, png, 'image/png', 'scan.png')).statusCode).toBe(200);
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(64)]);
    const generic = await putLetter(id, tokens.consumer, jpeg, 'application/octet-stream', 'scan.jpg');
    expect(generic.json().letter.contentType).toBe('image/jpeg');
    expect((await getLetter(id, tokens.consumer)).headers['content-type']).toBe('image/jpeg');
  });

  it('refuses an Idempotency-Key on the streamed upload, as on every streamed body', async () => {
    const id = await draft();
    const res = await t.request({
      method: 'PUT',
      url: `/v1/applications/${id}/letter`,
      token: tokens.consumer,
      headers: { 'content-type': 'application/pdf', 'idempotency-key': 'letter-1' },
      payload: pdf('keyed'),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('IDEMPOTENCY_KEY_UNSUPPORTED');
    expect((await getLetter(id, tokens.consumer)).statusCode).toBe(404);
  });

  it('refuses an empty file with 400', async () => {
    const id = await draft();
    const res = await putLetter(id, tokens.consumer, Buffer.alloc(0));
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'body' } });
    expect((await getLetter(id, tokens.consumer)).statusCode).toBe(404);
  });

  it('refuses a letter over 10 MiB with 413, declared or streamed, and stores nothing', async () => {
    const id = await draft();
    const small = pdf('kept');
    expect((await putLetter(id, tokens.consumer, small)).statusCode).toBe(200);
    const huge = pdf(Buffer.alloc(LETTER_LIMIT_BYTES));
    const declared = await putLetter(id, tokens.consumer, huge);
    expect(declared.statusCode).toBe(413);
    expect(declared.json().error).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      details: { limitBytes: LETTER_LIMIT_BYTES },
    });

    // Without a Content-Length the stream is cut at the chunk that crosses the limit.
    let sent = 0;
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    const endless = new Readable({
      read() {
        sent += chunk.length;
        this.push(sent === chunk.length ? pdf(chunk) : sent > 4 * LETTER_LIMIT_BYTES ? null : chunk);
      },
    });
    const streamed = await putLetter(id, tokens.consumer, endless);
    expect(streamed.statusCode).toBe(413);
    expect(streamed.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(sent).toBeLessThan(2 * LETTER_LIMIT_BYTES);

    const kept = await getLetter(id, tokens.consumer);
    expect(kept.rawPayload.equals(small)).toBe(true);
  });

  it("hides the letter from another organization's user and lets only the applicant upload", async () => {
    const id = await draft();
    expect((await putLetter(id, tokens.consumer, pdf('ours'))).statusCode).toBe(200);
    const other = await putLetter(id, tokens.enterprise, pdf('theirs'));
    expect(other.statusCode).toBe(403);
    expect(other.json().error.code).toBe('FORBIDDEN');
    expect((await getLetter(id, tokens.enterprise)).statusCode).toBe(403);
    // The provider's steward reads it but is not the applicant.
    expect((await putLetter(id, tokens.steward, pdf('steward'))).statusCode).toBe(403);
    expect((await getLetter(id, tokens.consumer)).rawPayload.equals(pdf('ours'))).toBe(true);
    expect((await putLetter('app_missing', tokens.consumer, pdf('x'))).statusCode).toBe(404);
  });

  it('replaces the letter while a draft and refuses any change once submitted or approved', async () => {
    const id = await draft();
    expect((await putLetter(id, tokens.consumer, pdf('first'))).statusCode).toBe(200);
    const second = await putLetter(id, tokens.consumer, pdf('second'), 'application/pdf', '第二稿.pdf');
    expect(second.json().letter).toMatchObject({ fileName: '第二稿.pdf', sm3: sm3(pdf('second')) });

    expect((await call('POST', `/v1/applications/${id}/submit`, tokens.consumer)).statusCode).toBe(200);
    const pending = await putLetter(id, tokens.consumer, pdf('third'));
    expect(pending.statusCode).toBe(409);
    expect(pending.json().error).toMatchObject({
      code: 'INVALID_TRANSITION',
      details: { objectType: 'application', state: 'submitted', event: 'attach_letter' },
    });

    let res = await call('POST', `/v1/applications/${id}/approve`, tokens.steward, {});
    if (res.json().state === 'security_review') {
      res = await call('POST', `/v1/applications/${id}/approve`, tokens.security, {});
    }
    expect(res.json().state).toBe('approved');
    const after = await putLetter(id, tokens.consumer, pdf('after'));
    expect(after.statusCode).toBe(409);
    expect(after.json().error.details).toMatchObject({ state: 'approved', event: 'attach_letter' });
    expect((await getLetter(id, tokens.steward)).rawPayload.equals(pdf('second'))).toBe(true);
  });

  it('audits each upload with name, size and SM3, never the bytes', async () => {
    const id = await draft();
    const marker = 'LETTER-BYTES-MUST-NOT-BE-AUDITED';
    const bytes = pdf(marker);
    await putLetter(id, tokens.consumer, pdf('before'));
    await putLetter(id, tokens.consumer, bytes, 'application/pdf', 'audited.pdf');
    const entries = await t.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'application.letter')
      .where('object_id', '=', id)
      .execute();
    expect(entries).toHaveLength(2);
    // Found by its file name, not by seq: an entry not yet integrated has none (the integrator runs
    // in the background on a server), so ordering by it put the second upload first now and then.
    const second = entries.find((e) => (e.details as { fileName?: string }).fileName === 'audited.pdf');
    expect(second?.details).toEqual({
      fileName: 'audited.pdf',
      contentType: 'application/pdf',
      size: bytes.length,
      sm3: sm3(bytes),
      replaced: sm3(pdf('before')),
    });
    expect(JSON.stringify(entries)).not.toContain(marker);
    expect(JSON.stringify(entries)).not.toContain(bytes.toString('base64'));
  });

  it('round-trips any bytes behind a PDF header exactly (property)', async () => {
    const id = await draft();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 4096 }), async (body) => {
        const bytes = pdf(body);
        const put = await putLetter(id, tokens.consumer, bytes);
        expect(put.statusCode, put.body).toBe(200);
        expect(put.json().letter.sm3).toBe(sm3(bytes));
        const res = await getLetter(id, tokens.security);
        expect(res.rawPayload.equals(bytes)).toBe(true);
        expect(res.headers.etag).toBe(`"${sm3(bytes)}"`);
      }),
      { numRuns: 40 },
    );
  });
});
