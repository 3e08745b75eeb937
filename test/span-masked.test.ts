import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildSpanMasked,
  dropSpanMaskedOf,
  forgetFailedSpanBuilds,
  refreshSpanMasked,
  SPAN_DIGEST,
  spanBuildsSettled,
  spanDigest,
  spanMaskedStats,
  spanMaskSql,
} from '../src/gateway/span-masked.ts';
import { SPAN_DEFINITIONS, type SpanDefinition } from '../src/rules/entities.ts';
import {
  copyTable,
  current,
  db,
  exists,
  expectServedAsExpression,
  registry,
  remarksOf,
  s,
  servedAnswers,
  setup,
  teardown,
  upload,
} from './span-masked-support.ts';

// What is promised and how it is checked: test/span-masked-support.ts.
beforeAll(setup, 120_000);
afterAll(teardown);

describe('the span definitions digest', () => {
  it('moves with any pattern, replacement or needed string, so a copy of other definitions is another key', () => {
    expect(spanDigest()).toBe(SPAN_DIGEST);
    const d = SPAN_DEFINITIONS[3] as { -readonly [K in keyof SpanDefinition]: SpanDefinition[K] };
    const saved = { pattern: d.pattern, replacement: d.replacement, needs: d.needs };
    const changes: Array<Partial<SpanDefinition>> = [
      { pattern: `${d.pattern}?` },
      { replacement: [...d.replacement, '*'] },
      { needs: [...(d.needs ?? []), '#'] },
    ];
    try {
      for (const change of changes) {
        Object.assign(d, change);
        expect(spanDigest()).not.toBe(SPAN_DIGEST);
        Object.assign(d, saved);
      }
    } finally {
      Object.assign(d, saved);
    }
    expect(spanDigest()).toBe(SPAN_DIGEST);
  });
});

describe('span-masked copies', () => {
  it('are built when a version becomes current, for the free-text field only', async () => {
    const { versionId } = await current();
    // Built by the import's hook, before any contract: the field's default mask decided.
    const rows = await registry();
    expect(rows).toEqual([
      expect.objectContaining({
        version_id: versionId,
        field: 'remarks',
        digest: SPAN_DIGEST,
        row_count: '40',
      }),
    ]);
    expect(await exists(rows[0]!.table_name)).toBe(true);
  });

  it('serve JSON pages, CSV, NDJSON and exports equal to the expression, row for row', async () => {
    const before = spanMaskedStats();
    await expectServedAsExpression();
    const after = spanMaskedStats();
    expect(after.fromCopy).toBeGreaterThanOrEqual(before.fromCopy + 4);
    expect(after.fromExpression).toBe(before.fromExpression);
  });

  it('are what is served: a tampered copy shows (so the equality above was read from it)', async () => {
    const [copy] = await registry();
    await sql`UPDATE ${copyTable(copy!.table_name)} SET v = 'TAMPERED' WHERE _row = 1`.execute(db());
    const served = await servedAnswers();
    for (const answer of Object.values(served)) expect([...answer.values()]).toContain('TAMPERED');
    const { table } = await current();
    await sql`UPDATE ${copyTable(copy!.table_name)} s SET v = ${spanMaskSql('t.remarks')}
      FROM ${copyTable(table)} t WHERE t._row = s._row AND s._row = 1`.execute(db());
    await expectServedAsExpression();
  });

  it('of other definitions (another digest) are never read, and are dropped on refresh', async () => {
    const { versionId, table } = await current();
    const other = await buildSpanMasked(db(), {
      resourceId: s.resourceId,
      versionId,
      versionTable: table,
      field: 'remarks',
      digest: '0'.repeat(64),
    });
    expect(other.built).toBe(true);
    await sql`UPDATE ${copyTable(other.table)} SET v = 'STALE'`.execute(db());
    await expectServedAsExpression();
    await refreshSpanMasked(db(), s.resourceId);
    expect(await exists(other.table)).toBe(false);
    expect((await registry()).map((r) => r.digest)).toEqual([SPAN_DIGEST]);
  });

  it('are never read for a field not served under redact_spans', async () => {
    const { versionId, table } = await current();
    const keyCopy = await buildSpanMasked(db(), {
      resourceId: s.resourceId,
      versionId,
      versionTable: table,
      field: 'case_no',
    });
    await sql`UPDATE ${copyTable(keyCopy.table)} SET v = 'WRONG'`.execute(db());
    const page = await s.f.rows(s.contract, 'select=case_no&limit=1000');
    expect(page.statusCode, page.body).toBe(200);
    const served = (page.json().items as { case_no: string }[]).map((r) => r.case_no).sort();
    expect(served).toEqual(Array.from({ length: 40 }, (_, i) => `C${String(i).padStart(3, '0')}`));
    await refreshSpanMasked(db(), s.resourceId);
    expect((await registry()).map((r) => r.field)).toEqual(['remarks']);
  });

  it('dropped under a query: the answer is read again with the expression', async () => {
    const [copy] = await registry();
    // The window between admission's look-up and the read: registered, but the table gone.
    await sql`DROP TABLE ${copyTable(copy!.table_name)}`.execute(db());
    const before = spanMaskedStats();
    await expectServedAsExpression();
    expect(spanMaskedStats().fallbacks).toBeGreaterThanOrEqual(before.fallbacks + 4);
    // The fallback's read found no copy and started building one: let it end, then start over.
    await spanBuildsSettled();
    await dropSpanMaskedOf(db(), s.resourceId);
  });

  it('missing: served with the expression, and built outside the request for the next one', async () => {
    expect(await registry()).toEqual([]);
    const before = spanMaskedStats();
    const page = await s.f.rows(s.contract, 'select=case_no,remarks&limit=1000');
    expect(page.statusCode, page.body).toBe(200);
    expect(spanMaskedStats().fromExpression).toBe(before.fromExpression + 1);
    await spanBuildsSettled();
    expect((await registry()).map((r) => r.field)).toEqual(['remarks']);
    const built = spanMaskedStats();
    await expectServedAsExpression();
    expect(spanMaskedStats().fromCopy).toBeGreaterThanOrEqual(built.fromCopy + 4);
  });

  it('a failed build leaves answers correct, and a later request builds again', async () => {
    const [copy] = await registry();
    await dropSpanMaskedOf(db(), s.resourceId);
    // Something already holds the copy's name: CREATE TABLE … AS fails.
    await sql`CREATE TABLE ${copyTable(copy!.table_name)} (x int)`.execute(db());
    const before = spanMaskedStats();
    await expectServedAsExpression();
    await spanBuildsSettled();
    expect(spanMaskedStats().failures).toBeGreaterThan(before.failures);
    expect(await registry()).toEqual([]);
    await expectServedAsExpression();
    await sql`DROP TABLE ${copyTable(copy!.table_name)}`.execute(db());
    forgetFailedSpanBuilds();
    await expectServedAsExpression();
    await spanBuildsSettled();
    expect((await registry()).map((r) => r.table_name)).toEqual([copy!.table_name]);
  });

  it('a new version gets its own copy and the old one is dropped', async () => {
    const [old] = await registry();
    const { versionId: oldVersion } = await current();
    await upload(remarksOf(2));
    const { versionId } = await current();
    expect(versionId).not.toBe(oldVersion);
    const rows = await registry();
    expect(rows).toEqual([
      expect.objectContaining({ version_id: versionId, field: 'remarks', digest: SPAN_DIGEST }),
    ]);
    expect(await exists(old!.table_name)).toBe(false);
    const before = spanMaskedStats();
    await expectServedAsExpression();
    expect(spanMaskedStats().fromExpression).toBe(before.fromExpression);
    const served = await servedAnswers();
    expect([...served.json!.values()]).toContain('材料齐全，同意受理（第2版）。');
  });
});
