/**
 * Load: autocannon drives 200 concurrent connections for 30 s at the gateway and the catalog
 * search across two server processes on one database (50 connections each: gateway on node A,
 * gateway on node B, search on A, search on B). Promise: zero 5xx (zero non-2xx: the contract's
 * limits are set high), zero errors or timeouts, and zero wrong answers — every response is
 * checked against the database (gateway pages) or against the answer given before the load
 * (search pages). The p99 latency is reported.
 */
import autocannon from 'autocannon';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiKey,
  call,
  cleanUp,
  connect,
  contractFor,
  createResource,
  csvOf,
  gradeFields,
  importCsv,
  login,
  type Node,
  prepareDatabase,
  report,
  reviewed,
  runCli,
  type Scratch,
  scratchDatabase,
  startNode,
  tempDir,
} from './support.ts';

const SECONDS = Number(process.env.RELIABILITY_LOAD_SECONDS ?? 30);
const CONNECTIONS_EACH = 50;
const ROWS = 5_000;

let scratch: Scratch;
let dataDir: string;
let a: Node;
let b: Node;
let db: Awaited<ReturnType<typeof connect>>['db'];
let key: string;
let contract: string;
let resource: { id: string; code: string };

beforeAll(async () => {
  scratch = await scratchDatabase();
  await prepareDatabase(scratch.url);
  db = (await connect(scratch.url)).db;
  dataDir = tempDir('load');
  [a, b] = await Promise.all([
    startNode({ name: 'node-a', databaseUrl: scratch.url, dataDir }),
    startNode({ name: 'node-b', databaseUrl: scratch.url, dataDir }),
  ]);
  const steward = await login(a.base, 'steward.health');
  const consumer = await login(b.base, 'consumer.civil');
  resource = await createResource(a.base, steward, '门诊就诊记录（负载）');
  await importCsv(a.base, steward, resource.code, csvOf(ROWS, 'ld'));
  await gradeFields(db, resource.id);
  await reviewed(a.base, resource.code);
  for (const name of ['门诊费用结算记录', '住院病案首页记录', '疫苗接种记录', '医疗机构名录']) {
    await createResource(b.base, steward, name);
  }
  contract = await contractFor(a.base, { consumer, steward }, resource.code);
  // Limits high enough that every request of the run is served: the run measures the platform.
  await db
    .updateTable('contracts')
    .set({ rate_limit_per_minute: 100_000_000, quota_rows_per_day: 1e12 })
    .where('id', '=', contract)
    .execute();
  key = (await apiKey(b.base, consumer, ['gateway', 'catalog:read'])).secret;
});
afterAll(cleanUp);

interface Variant {
  path: string;
  /** The answer the database gives; compared with sampled responses. */
  expected: unknown;
  pick: (body: Record<string, unknown>) => unknown;
}

/**
 * Gateway pages and what the dataset table says they must contain. Each asks for an explicit order:
 * without one, rows come in the contract's keyed order, which the table cannot predict.
 */
async function gatewayVariants(): Promise<Variant[]> {
  const version = await db
    .selectFrom('dataset_versions')
    .select('table_name')
    .where('resource_id', '=', resource.id)
    .where('state', '=', 'ready')
    .executeTakeFirstOrThrow();
  const rows = async (where: string, order: string, limit: number) =>
    (
      await sql
        .raw<{ record_no: string; district: string; visits: number; name: string }>(
          `select record_no, district, visits, name from datasets."${version.table_name}" ${where} order by ${order} limit ${limit}`,
        )
        .execute(db)
    ).rows;
  const base = `/v1/gateway/contracts/${contract}/rows`;
  const items = (body: Record<string, unknown>) => body.items;
  const west = await rows(`where district = '西湖区'`, 'record_no', 20);
  const busy = await rows('where visits >= 90', 'visits desc, record_no', 30);
  const two = await rows(`where record_no in ('ld00000007', 'ld00004242')`, 'record_no', 100);
  const first = await rows('', 'record_no', 100);
  return [
    {
      path: `${base}?format=page&limit=50&select=record_no,district,visits&order=record_no`,
      expected: first
        .slice(0, 50)
        .map(({ record_no, district, visits }) => ({ record_no, district, visits })),
      pick: items,
    },
    {
      path: `${base}?format=page&district=eq.${encodeURIComponent('西湖区')}&limit=20&select=record_no,visits&order=record_no`,
      expected: west.map(({ record_no, visits }) => ({ record_no, visits })),
      pick: items,
    },
    {
      path: `${base}?format=page&visits=gte.90&order=visits.desc,record_no&limit=30&select=record_no,visits`,
      expected: busy.map(({ record_no, visits }) => ({ record_no, visits })),
      pick: items,
    },
    {
      path: `${base}?format=page&record_no=in.(ld00000007,ld00004242)&select=record_no,district&order=record_no`,
      expected: two.map(({ record_no, district }) => ({ record_no, district })),
      pick: items,
    },
    {
      // The masked name: never the raw value, always the same mask of it.
      path: `${base}?format=page&limit=100&select=record_no,name&order=record_no`,
      expected: first.map((r) => ({ record_no: r.record_no, rawNameHidden: true })),
      pick: (body) =>
        (body.items as Array<{ record_no: string; name: string }>).map((item, i) => ({
          record_no: item.record_no,
          rawNameHidden: item.name !== first[i]?.name && item.name.startsWith('张'),
        })),
    },
  ];
}

/** Catalog searches and the answer each gave before the load, checked against the database. */
async function searchVariants(): Promise<Variant[]> {
  const names = new Map(
    (await db.selectFrom('resources').select(['code', 'name']).execute()).map((r) => [r.code, r.name]),
  );
  const variants: Variant[] = [];
  const q = (text: string) => `q=${encodeURIComponent(text)}`;
  for (const query of [q('门诊'), `${q('记录')}&limit=50`, 'theme=health&limit=50', q(resource.code)]) {
    const path = `/v1/catalog/search?${query}`;
    const res = await call(a.base, 'GET', path, { token: key });
    expect(res.status, res.text).toBe(200);
    const found = (res.json.items as Array<{ code: string; name: string }>).map((i) => ({
      code: i.code,
      name: i.name,
    }));
    expect(found.length, query).toBeGreaterThan(0);
    for (const item of found) expect(names.get(item.code), query).toBe(item.name);
    variants.push({
      path,
      expected: found,
      pick: (body) =>
        (body.items as Array<{ code: string; name: string }>).map((i) => ({ code: i.code, name: i.name })),
    });
  }
  return variants;
}

function run(
  url: string,
  variants: Variant[],
  tally: { checked: number; wrong: number; examples: string[] },
) {
  return autocannon({
    url,
    connections: CONNECTIONS_EACH,
    duration: SECONDS,
    timeout: 20,
    headers: { authorization: `Bearer ${key}` },
    requests: variants.map((v) => ({
      method: 'GET' as const,
      path: v.path,
      onResponse: (status: number, body: string) => {
        if (status !== 200) return;
        tally.checked++;
        let got: unknown;
        try {
          got = v.pick(JSON.parse(body));
        } catch (error) {
          got = String(error);
        }
        if (JSON.stringify(got) !== JSON.stringify(v.expected)) {
          tally.wrong++;
          if (tally.examples.length < 5)
            tally.examples.push(`${v.path}: ${JSON.stringify(got).slice(0, 200)}`);
        }
      },
    })),
  });
}

describe('200 connections for 30 s on the gateway and the catalog search across two nodes', () => {
  it('serves every request, every answer right, and reports p99', async () => {
    const gateway = await gatewayVariants();
    const search = await searchVariants();
    // The expected answers must be right before the load, or the comparison proves nothing.
    for (const v of [...gateway, ...search]) {
      const res = await call(b.base, 'GET', v.path, { token: key });
      expect(JSON.stringify(v.pick(res.json)), v.path).toBe(JSON.stringify(v.expected));
    }
    const auditBefore = await db
      .selectFrom('audit_events')
      .select(sql<number>`count(*)::int`.as('n'))
      .executeTakeFirstOrThrow();
    const tally = { checked: 0, wrong: 0, examples: [] as string[] };
    const runs = await Promise.all([
      run(a.base, gateway, tally),
      run(b.base, gateway, tally),
      run(a.base, search, tally),
      run(b.base, search, tally),
    ]);
    const names = ['gateway on node A', 'gateway on node B', 'search on node A', 'search on node B'];
    const figures = Object.fromEntries(
      runs.map((r, i) => [
        names[i],
        {
          requests: r.requests.total,
          perSecond: Math.round(r.requests.average),
          p50ms: r.latency.p50,
          p99ms: r.latency.p99,
          maxMs: r.latency.max,
          non2xx: r.non2xx,
          errors: r.errors,
          timeouts: r.timeouts,
          statuses: Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([s, v]) => [s, v.count])),
        },
      ]),
    );
    const total = runs.reduce((sum, r) => sum + r.requests.total, 0);
    report('load', {
      seconds: SECONDS,
      connections: CONNECTIONS_EACH * runs.length,
      requests: total,
      perSecond: Math.round(total / SECONDS),
      p99msWorst: Math.max(...runs.map((r) => r.latency.p99)),
      checkedAnswers: tally.checked,
      wrongAnswers: tally.wrong,
      runs: figures,
    });
    for (const [i, r] of runs.entries()) {
      expect(r['5xx'], `${names[i]}: 5xx`).toBe(0);
      expect(r.non2xx, `${names[i]}: non-2xx ${JSON.stringify(r.statusCodeStats)}`).toBe(0);
      expect(r.errors, `${names[i]}: errors`).toBe(0);
      expect(r.timeouts, `${names[i]}: timeouts`).toBe(0);
      expect(r.requests.total, names[i]).toBeGreaterThan(0);
    }
    expect(tally.wrong, tally.examples.join('\n')).toBe(0);
    expect(tally.checked).toBe(runs.reduce((sum, r) => sum + r['2xx'], 0));
    expect(a.alive() && b.alive()).toBe(true);
    // Every gateway call was recorded, and the audit log written concurrently by both nodes verifies.
    const gatewayCalls = runs[0]!.requests.total + runs[1]!.requests.total;
    const auditAfter = await db
      .selectFrom('audit_events')
      .select(sql<number>`count(*)::int`.as('n'))
      .executeTakeFirstOrThrow();
    expect(auditAfter.n - auditBefore.n).toBeGreaterThanOrEqual(gatewayCalls);
    const started = Date.now();
    const verify = await runCli(['audit', 'verify'], { DATABASE_URL: scratch.url, DATA_DIR: dataDir });
    expect(verify.code, `${verify.stdout}\n${verify.stderr}`).toBe(0);
    report('load: audit verify after the run', { entries: auditAfter.n, ms: Date.now() - started });
  });
});
