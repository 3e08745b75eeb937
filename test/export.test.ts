import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanBatches } from '../src/core/db.ts';
import { startTestApp, type TestApp } from './helpers.ts';
import { type Actors, ROWS, sharingFixture } from './sharing-fixture.ts';

/** Issue #20: the training export under a contract, and its manifest. */
let t: TestApp;
let tokens: Actors;
let fx: ReturnType<typeof sharingFixture>;
let code: string;

const exportFile = (contract: string, format: string, token = tokens.key) =>
  t.request({ method: 'GET', url: `/v1/gateway/contracts/${contract}/export?format=${format}`, token });
const manifest = (contract: string, format: string, token = tokens.key) =>
  t.request({
    method: 'GET',
    url: `/v1/gateway/contracts/${contract}/export/manifest?format=${format}`,
    token,
  });
const lines = (body: string) =>
  body
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
/** Every row the rows endpoint serves, in its (the contract's keyed) order. */
const allRows = async (contract: string) => {
  const res = await t.request({
    method: 'GET',
    url: `/v1/gateway/contracts/${contract}/rows?limit=1000`,
    token: tokens.key,
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as Record<string, unknown>[];
};
const parquetRows = async (bytes: Buffer) => {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const rows = await parquetReadObjects({ file });
  return { rows, metadata: parquetMetadata(file) };
};
/** Parquet's INT64 reads back as bigint; JSON has numbers. */
const plain = (rows: Record<string, unknown>[]) =>
  rows.map((r) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
  );

beforeAll(async () => {
  t = await startTestApp();
  fx = sharingFixture(t);
  tokens = fx.tokens;
  await fx.login();
  code = await fx.resource('门诊就诊明细', 'conditional');
});
afterAll(() => t.close());

describe('export under a contract', () => {
  let contract: string;
  beforeAll(async () => {
    contract = await fx.contractFor(code);
  });

  it('sends the rows endpoint view as JSONL: the same rows, masks and order, no raw value of a masked field', async () => {
    const res = await exportFile(contract, 'jsonl');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toContain('application/jsonl');
    expect(res.headers['x-export-rows']).toBe('40');
    const exported = lines(res.body);
    expect(exported).toEqual(await allRows(contract));
    expect(Object.keys(exported[0]!)).toEqual([
      'record_no',
      'person_id',
      'name',
      'district',
      'visits',
      'note',
    ]);
    for (const raw of ROWS) {
      expect(res.body).not.toContain(raw.person_id);
      expect(res.body).not.toContain(raw.name);
    }
    // Not the file's order either: the contract's keyed permutation.
    expect(exported.map((r) => r.record_no)).not.toEqual(ROWS.map((r) => r.record_no));
  });

  it('sends Parquet that a Parquet reader reads back to the same rows as the JSONL', async () => {
    const res = await exportFile(contract, 'parquet');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('application/vnd.apache.parquet');
    const { rows, metadata } = await parquetRows(res.rawPayload);
    expect(plain(rows)).toEqual(lines((await exportFile(contract, 'jsonl')).body));
    expect(Number(metadata.num_rows)).toBe(40);
    expect(metadata.key_value_metadata).toContainEqual({ key: 'shutong.contract', value: contract });
    expect(res.rawPayload.toString('latin1')).not.toContain(ROWS[1]!.person_id);
  });

  it('gives a manifest whose SM3 digest matches the bytes of each format', async () => {
    for (const format of ['jsonl', 'parquet']) {
      const m = await manifest(contract, format);
      expect(m.statusCode, m.body).toBe(200);
      const file = (await exportFile(contract, format)).rawPayload;
      expect(m.json()).toMatchObject({
        contractId: contract,
        format,
        rows: 40,
        bytes: file.byteLength,
        sm3: createHash('sm3').update(file).digest('hex'),
        version: { number: 1, pinned: false },
        terms: { purpose: '核验低保申请人就医情况', onwardTransfer: false },
      });
      const fields = m.json().fields as Array<{ name: string; mask: string; parquetType: string }>;
      expect(fields.find((f) => f.name === 'visits')).toMatchObject({ parquetType: 'INT64' });
      const masked = fields.find((f) => f.name === 'person_id')!;
      expect(masked.mask).not.toBe('none');
      expect(masked.parquetType).toBe('STRING');
      expect(m.json().terms.masking.person_id).toBe(masked.mask);
    }
  });

  it("applies the contract's row filter and field selection", async () => {
    const narrow = await fx.contractFor(code, {
      fields: ['record_no', 'district', 'visits'],
      rowFilter: { field: 'district', op: 'eq', value: '西湖区' },
    });
    const exported = lines((await exportFile(narrow, 'jsonl')).body);
    expect(exported).toHaveLength(ROWS.filter((r) => r.district === '西湖区').length);
    expect(new Set(exported.map((r) => r.district))).toEqual(new Set(['西湖区']));
    expect(Object.keys(exported[0]!)).toEqual(['record_no', 'district', 'visits']);
    const { rows } = await parquetRows((await exportFile(narrow, 'parquet')).rawPayload);
    expect(plain(rows)).toEqual(exported);
  });

  it('records the export in the audit log as a rows read and meters it against the row quota', async () => {
    const small = await fx.contractFor(code, { fields: ['record_no'], quotaRowsPerDay: 60 });
    expect((await exportFile(small, 'jsonl')).statusCode).toBe(200);
    // 40 of 60 spent: a second whole export does not fit and is refused before any row is read.
    const refused = await exportFile(small, 'parquet');
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error).toMatchObject({ code: 'QUOTA_EXCEEDED', details: { exportRows: 40 } });
    expect(refused.headers['retry-after']).toBeDefined();
    // …and the refusal gave its reservation back: the remaining 20 rows can still be read.
    const rest = await t.request({
      method: 'GET',
      url: `/v1/gateway/contracts/${small}/rows?limit=1000`,
      token: tokens.key,
    });
    expect(rest.json()).toHaveLength(20);
    const events = await t.database.db
      .selectFrom('audit_events')
      .select(['action', 'details'])
      .where('object_id', '=', small)
      .where('action', 'in', ['gateway.rows', 'gateway.refused'])
      // Append order: positions (seq) come later, from the integrator, and pending ones are null.
      .orderBy('queued')
      .execute();
    const details = events.map(
      (e) => ({ action: e.action, ...(e.details as object) }) as Record<string, unknown>,
    );
    expect(details[0]).toMatchObject({
      action: 'gateway.rows',
      rows: 40,
      export: { format: 'jsonl', complete: true },
    });
    expect(details[0]!.bytes).toBeGreaterThan(0);
    expect(details[1]).toMatchObject({ action: 'gateway.refused', outcome: 'QUOTA_EXCEEDED' });
    expect(details[2]).toMatchObject({ action: 'gateway.rows', rows: 20 });
    expect(details).toHaveLength(3);
  });

  it('refuses revoked, suspended and expired contracts, aggregate-only ones, and other organizations', async () => {
    const revoked = await fx.contractFor(code, { fields: ['record_no'] });
    await fx.call('POST', `/v1/contracts/${revoked}/revoke`, tokens.security, { reason: '超范围使用' });
    const suspended = await fx.contractFor(code, { fields: ['record_no'] });
    await fx.call('POST', `/v1/contracts/${suspended}/suspend`, tokens.steward, { reason: '核查中' });
    const expired = await fx.contractFor(code, { fields: ['record_no'] });
    await t.database.db
      .updateTable('contracts')
      .set({ valid_to: new Date(Date.now() - 1000) })
      .where('id', '=', expired)
      .execute();
    const aggregateOnly = await fx.contractFor(code, {
      fields: ['record_no', 'district'],
      operations: ['aggregate'],
    });
    for (const [id, status, errorCode] of [
      [revoked, 403, 'CONTRACT_NOT_ACTIVE'],
      [suspended, 403, 'CONTRACT_NOT_ACTIVE'],
      [expired, 403, 'CONTRACT_EXPIRED'],
      [aggregateOnly, 403, 'OPERATION_NOT_ALLOWED'],
      [contract, 404, 'NOT_FOUND'],
    ] as const) {
      const token = id === contract ? tokens.otherKey : tokens.key;
      for (const res of [await exportFile(id, 'jsonl', token), await manifest(id, 'parquet', token)]) {
        expect(res.statusCode, `${id} ${res.body}`).toBe(status);
        expect(res.json().error.code).toBe(errorCode);
      }
    }
    expect((await exportFile(contract, 'csv')).statusCode).toBe(400);
  });

  it('property: whatever fields a contract grants, the export is the rows view and leaks no raw masked value', async () => {
    const names = ['record_no', 'person_id', 'name', 'district', 'visits', 'note'] as const;
    await fc.assert(
      fc.asyncProperty(fc.subarray([...names], { minLength: 1 }), async (fields) => {
        const id = await fx.contractFor(code, { fields }, { fields });
        const body = (await exportFile(id, 'jsonl')).body;
        const exported = lines(body);
        expect(exported).toEqual(await allRows(id));
        const m = (await manifest(id, 'jsonl')).json() as { fields: Array<{ name: string; mask: string }> };
        for (const f of m.fields) {
          if (f.mask === 'none') continue;
          for (const raw of ROWS) {
            const value = String(raw[f.name as keyof typeof raw]);
            expect(exported.every((r) => r[f.name] !== value)).toBe(true);
          }
        }
      }),
      { numRuns: 6 },
    );
  });
});

describe('scanBatches', () => {
  it('reads a result in batches of the given size and closes its cursor, also when the reader stops early', async () => {
    const db = t.database.db;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 25 }), async (n, size) => {
        const query = sql<{ g: number }>`SELECT g FROM generate_series(1, ${n}::int) g ORDER BY g`;
        const sizes: number[] = [];
        const seen: number[] = [];
        for await (const batch of scanBatches(db, query, size)) {
          sizes.push(batch.length);
          seen.push(...batch.map((r) => r.g));
        }
        expect(seen).toEqual(Array.from({ length: n }, (_, i) => i + 1));
        expect(sizes.every((s, i) => (i < sizes.length - 1 ? s === size : s > 0 && s <= size))).toBe(true);
        for await (const _ of scanBatches(db, query, size)) break;
      }),
      { numRuns: 20 },
    );
    // pg_cursors lists one session's cursors: on PGlite (one session) all of them; on a server,
    // those of the pooled connection that answers, which the scans above leased and gave back.
    const open = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_cursors`.execute(db);
    expect(open.rows[0]!.n).toBe(0);
  });
});
