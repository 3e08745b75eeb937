import { PostgrestClient } from '@supabase/postgrest-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Filter, matches } from '../src/rules/filters.ts';
import { startTestApp, type TestApp } from './helpers.ts';
import { ROWS, sharingFixture } from './sharing-fixture.ts';

/**
 * The gateway driven by the most common PostgREST client, @supabase/postgrest-js, pointed at a
 * real listening server on loopback: `/v1/gateway/contracts/{id}` as the base, `rows` as the
 * table, the API key as bearer. Every ordinary read a developer writes must work, within the
 * contract's rules (person_id and name are masked and cannot be filtered or ordered by).
 */
let t: TestApp;
let base: string;
let key: string;
let client: PostgrestClient;
const rows = () => client.from('rows');

type Row = (typeof ROWS)[number];
const expected = (filter: Filter) => ROWS.filter((r) => matches(filter, r as Record<string, unknown>));
const ids = (data: unknown) => (data as Array<{ record_no: string }>).map((r) => r.record_no).sort();
const idsOf = (list: Row[]) => list.map((r) => r.record_no).sort();

beforeAll(async () => {
  t = await startTestApp();
  const fixture = sharingFixture(t);
  await fixture.login();
  const code = await fixture.resource('门诊就诊明细（PostgREST）', 'conditional');
  const contract = await fixture.contractFor(code);
  key = fixture.tokens.key;
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = t.app.server.address() as { port: number };
  base = `http://127.0.0.1:${port}/v1/gateway/contracts/${contract}`;
  client = new PostgrestClient(base, { headers: { Authorization: `Bearer ${key}` } });
});
afterAll(() => t.close());

describe('the gateway through @supabase/postgrest-js', () => {
  it('select(): a bare array of every granted field, masked fields masked', async () => {
    const { data, error, status } = await rows().select();
    expect(error).toBeNull();
    expect(status).toBe(200);
    expect(Array.isArray(data)).toBe(true);
    expect(data).toHaveLength(40);
    const r1 = (data as Array<Record<string, unknown>>).find((r) => r.record_no === 'R001')!;
    expect(Object.keys(r1).sort()).toEqual(['district', 'name', 'note', 'person_id', 'record_no', 'visits']);
    expect(r1.person_id).toBe('330106********1001');
    expect(r1.name).toBe('李**');
    expect(r1.visits).toBe(1);
  });

  it('select with renaming, and * beside it', async () => {
    const { data, error } = await rows().select('no:record_no, v:visits').eq('record_no', 'R002');
    expect(error).toBeNull();
    expect(data).toEqual([{ no: 'R002', v: 2 }]);
    const star = await rows().select('*,no:record_no').eq('record_no', 'R002');
    expect((star.data as Array<Record<string, unknown>>)[0]).toMatchObject({ record_no: 'R002', no: 'R002' });
  });

  it('two filters on one column, and every comparison operator', async () => {
    const { data, error } = await rows().select('record_no').gte('visits', 2).lt('visits', 5);
    expect(error).toBeNull();
    expect(ids(data)).toEqual(
      idsOf(
        expected({
          and: [
            { field: 'visits', op: 'gte', value: 2 },
            { field: 'visits', op: 'lt', value: 5 },
          ],
        }),
      ),
    );
    const neq = await rows().select('record_no').neq('district', '西湖区').gt('visits', 3).lte('visits', 5);
    expect(ids(neq.data)).toEqual(
      idsOf(ROWS.filter((r) => r.district !== '西湖区' && r.visits > 3 && r.visits <= 5)),
    );
  });

  it('not. on operators, in, is', async () => {
    const notEq = await rows().select('record_no').not('district', 'eq', '西湖区');
    expect(ids(notEq.data)).toEqual(idsOf(ROWS.filter((r) => r.district !== '西湖区')));
    const notIn = await rows().select('record_no').not('visits', 'in', '(1,2,3)');
    expect(ids(notIn.data)).toEqual(idsOf(ROWS.filter((r) => ![1, 2, 3].includes(r.visits))));
    const inList = await rows().select('record_no').in('district', ['滨江区', '上城区']);
    expect(ids(inList.data)).toEqual(idsOf(ROWS.filter((r) => ['滨江区', '上城区'].includes(r.district))));
    const isNull = await rows().select('record_no').is('note', null);
    expect(isNull.data).toEqual([]);
    const notNull = await rows().select('record_no').not('note', 'is', null);
    expect(notNull.data).toHaveLength(40);
    const notLike = await rows().select('record_no').not('record_no', 'like', 'R00*');
    expect(notLike.data).toHaveLength(30);
  });

  it('like and ilike with * and % wildcards', async () => {
    const like = await rows().select('record_no').like('record_no', 'R01*');
    expect(ids(like.data)).toEqual(idsOf(ROWS.filter((r) => r.record_no.startsWith('R01'))));
    const ilike = await rows().select('record_no').ilike('record_no', 'r00%');
    expect(ids(ilike.data)).toEqual(idsOf(ROWS.filter((r) => r.record_no.startsWith('R00'))));
    const chinese = await rows().select('record_no').like('note', '*注3*');
    expect(ids(chinese.data)).toEqual(idsOf(ROWS.filter((r) => r.note.includes('注3'))));
  });

  it('or, and, nested, and negated logic trees', async () => {
    const tree: Filter = {
      or: [
        { field: 'visits', op: 'eq', value: 0 },
        {
          and: [
            { field: 'district', op: 'eq', value: '上城区' },
            { field: 'visits', op: 'gt', value: 4 },
          ],
        },
        {
          not: {
            and: [
              { field: 'district', op: 'neq', value: '滨江区' },
              { field: 'visits', op: 'lt', value: 6 },
            ],
          },
        },
      ],
    };
    const { data, error } = await rows()
      .select('record_no')
      .or('visits.eq.0,and(district.eq.上城区,visits.gt.4),not.and(district.neq.滨江区,visits.lt.6)');
    expect(error).toBeNull();
    expect(ids(data)).toEqual(idsOf(expected(tree)));
    const negated = await fetch(
      `${base}/rows?select=record_no&not.or=${encodeURIComponent('(district.eq.西湖区,visits.in.(1,2))')}`,
      { headers: { authorization: `Bearer ${key}` } },
    );
    expect(negated.status).toBe(200);
    expect(ids(await negated.json())).toEqual(
      idsOf(ROWS.filter((r) => r.district !== '西湖区' && ![1, 2].includes(r.visits))),
    );
    const andTree = await fetch(
      `${base}/rows?select=record_no&and=${encodeURIComponent('(visits.gte.5,note.like."备注*")')}`,
      {
        headers: { authorization: `Bearer ${key}` },
      },
    );
    expect(ids(await andTree.json())).toEqual(
      idsOf(ROWS.filter((r) => r.visits >= 5 && r.note.startsWith('备注'))),
    );
  });

  it('order with directions and nulls placement on several fields, limit', async () => {
    const { data, error } = await rows()
      .select('record_no,visits')
      .order('visits', { ascending: false, nullsFirst: false })
      .order('record_no')
      .limit(12);
    expect(error).toBeNull();
    const want = [...ROWS]
      .sort((a, b) => b.visits - a.visits || a.record_no.localeCompare(b.record_no))
      .slice(0, 12)
      .map((r) => ({ record_no: r.record_no, visits: r.visits }));
    expect(data).toEqual(want);
  });

  it('range() with count: Content-Range total and 206 Partial Content', async () => {
    const { data, count, status, error } = await rows()
      .select('record_no', { count: 'exact' })
      .order('record_no')
      .range(5, 9);
    expect(error).toBeNull();
    expect(status).toBe(206);
    expect(count).toBe(40);
    expect(ids(data)).toEqual(['R005', 'R006', 'R007', 'R008', 'R009']);
    const all = await rows().select('record_no', { count: 'planned' }).eq('district', '滨江区');
    expect(all.status).toBe(200);
    expect(all.count).toBe(10);
    const estimated = await rows().select('record_no', { count: 'estimated' }).limit(1);
    expect(estimated.count).toBe(40);
  });

  it('head: true answers the count without rows', async () => {
    const { data, count, status, error } = await rows()
      .select('*', { count: 'exact', head: true })
      .eq('district', '西湖区');
    expect(error).toBeNull();
    expect([200, 206]).toContain(status);
    expect(data).toBeNull();
    expect(count).toBe(20);
  });

  it('single() and maybeSingle()', async () => {
    const one = await rows().select('record_no,district').eq('record_no', 'R003').single();
    expect(one.error).toBeNull();
    expect(one.data).toEqual({ record_no: 'R003', district: '上城区' });
    const many = await rows().select('record_no').eq('district', '西湖区').single();
    expect(many.status).toBe(406);
    expect(many.data).toBeNull();
    expect(many.error?.code).toBe('PGRST116');
    const none = await rows().select('record_no').eq('record_no', 'nope').single();
    expect(none.status).toBe(406);
    expect(none.error?.code).toBe('PGRST116');
    const maybeNone = await rows().select('record_no').eq('record_no', 'nope').maybeSingle();
    expect(maybeNone.error).toBeNull();
    expect(maybeNone.data).toBeNull();
    const maybeOne = await rows().select('record_no').eq('record_no', 'R004').maybeSingle();
    expect(maybeOne.data).toEqual({ record_no: 'R004' });
  });

  it('csv()', async () => {
    const { data, error } = await rows().select('record_no,visits').in('record_no', ['R001', 'R002']).csv();
    expect(error).toBeNull();
    const lines = String(data)
      .replace(/^\ufeff/, '')
      .trim()
      .split(/\r?\n/);
    // Rows come in the contract's keyed order, not file order.
    expect([lines[0], ...lines.slice(1).sort()]).toEqual(['record_no,visits', 'R001,1', 'R002,2']);
  });

  it('refuses masked fields in every operator and tree, with PostgREST error fields', async () => {
    const attempts = [
      rows().select('record_no').eq('person_id', '330106199001011001'),
      rows().select('record_no').ilike('name', '张*'),
      rows().select('record_no').like('person_id', '3301*'),
      rows().select('record_no').not('name', 'is', null),
      rows().select('record_no').or('visits.eq.1,name.like.张*'),
      rows().select('record_no').or('and(visits.eq.1,not.or(person_id.gte.3))'),
      rows().select('record_no').order('name'),
      rows().select('record_no').eq('secret', '1'),
    ];
    for (const attempt of attempts) {
      const { error, status, data } = await attempt;
      expect(status).toBe(403);
      expect(data).toBeNull();
      expect(error?.code).toBe('FILTER_ON_MASKED_FIELD');
      expect(typeof error?.message).toBe('string');
      expect(typeof error?.details).toBe('string');
    }
    const ungranted = await rows().select('record_no,password');
    expect(ungranted.status).toBe(403);
    expect(ungranted.error?.code).toBe('FIELD_NOT_GRANTED');
    const grammar = await rows().select('record_no').filter('visits', 'fts', 'x');
    expect(grammar.status).toBe(400);
    expect(grammar.error?.code).toBe('PGRST100');
  });

  it('Range request header: Content-Range answer, 416 past the end with a count', async () => {
    const headers = { authorization: `Bearer ${key}`, range: '0-4', 'range-unit': 'items' };
    const res = await fetch(`${base}/rows?select=record_no&order=record_no`, { headers });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-range')).toBe('0-4/*');
    expect(ids(await res.json())).toEqual(['R000', 'R001', 'R002', 'R003', 'R004']);
    const past = await fetch(`${base}/rows?select=record_no`, {
      headers: { ...headers, range: '50-60', prefer: 'count=exact' },
    });
    expect(past.status).toBe(416);
    expect(((await past.json()) as { code: string }).code).toBe('PGRST103');
  });

  it('keeps the paged envelope for Accept: application/vnd.shutong.page+json', async () => {
    const res = await fetch(`${base}/rows?select=record_no&limit=7`, {
      headers: { authorization: `Bearer ${key}`, accept: 'application/vnd.shutong.page+json' },
    });
    const page = (await res.json()) as {
      items: unknown[];
      nextCursor: unknown;
      fields: Array<{ name: string }>;
    };
    expect(page.items).toHaveLength(7);
    expect(page.nextCursor).toEqual(expect.any(String));
    expect(page.fields.map((f: { name: string }) => f.name)).toEqual(['record_no']);
  });

  it('describes the contract as OpenAPI at the base URL', async () => {
    const res = await fetch(`${base}/`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    // biome-ignore lint/suspicious/noExplicitAny: a JSON document read by path
    const doc = (await res.json()) as any;
    expect(doc.openapi).toBe('3.0.3');
    const props = doc.components.schemas.rows.properties;
    expect(Object.keys(props).sort()).toEqual([
      'district',
      'name',
      'note',
      'person_id',
      'record_no',
      'visits',
    ]);
    expect(props.person_id['x-shutong-mask']).toBe('keep_first_last(6,4)');
    expect(props.person_id['x-shutong-operators']).toEqual([]);
    expect(props.visits.type).toBe('integer');
    expect(props.visits['x-shutong-operators']).toContain('gte');
    expect(props.visits['x-shutong-operators']).not.toContain('like');
    expect(doc.paths['/rows'].get).toBeDefined();
  });
});
