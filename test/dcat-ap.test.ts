import { readFileSync } from 'node:fs';
import jsonld from 'jsonld';
import { Parser, Store } from 'n3';
import SHACLValidator from 'rdf-validate-shacl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers.ts';
import { PEOPLE_FIELDS, peopleRows, qualityFixture, toCsv } from './quality-fixture.ts';

/**
 * The catalog against our SHACL shapes of DCAT-AP 3.0 (test/fixtures/dcat-ap-3.shapes.ttl):
 * no violation of a mandatory constraint, no warning of a recommended one; the DQV quality
 * measurements parsed by an RDF library; quality in CKAN's extras.
 */
let t: TestApp;
let steward: string;
let code: string;

const SHAPES = new Store(new Parser().parse(readFileSync('test/fixtures/dcat-ap-3.shapes.ttl', 'utf8')));
const DQV = 'http://www.w3.org/ns/dqv#';
const RDF_TYPE = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#type';

async function toStore(doc: object): Promise<Store> {
  const nquads = (await jsonld.toRDF(doc, { format: 'application/n-quads' })) as unknown as string;
  return new Store(new Parser({ format: 'N-Quads' }).parse(nquads));
}

async function validate(doc: object) {
  const report = await new SHACLValidator(SHAPES).validate(await toStore(doc));
  return report.results.map((r) => ({
    severity: r.severity?.value.split('#')[1],
    path: r.path?.value,
    focus: r.focusNode?.value,
    message: r.message.map((m) => m.value).join(' '),
  }));
}

beforeAll(async () => {
  t = await startTestApp();
  steward = await t.login('steward.health');
  const fx = qualityFixture(t);
  const { resource } = await fx.people(steward, {
    openType: 'unconditional',
    sharingType: 'unconditional',
    sharingConditions: '',
  });
  code = resource.code;
  await fx.upload(steward, code, toCsv(PEOPLE_FIELDS, peopleRows() as never));
});
afterAll(() => t.close());

describe('DCAT-AP 3.0', () => {
  it('the shapes catch what they are for (a catalog without publisher, a literal format)', async () => {
    const doc = (await t.request({ method: 'GET', url: '/dcat/catalog.jsonld' })).json();
    const broken = structuredClone(doc);
    delete broken['dct:publisher'];
    broken['dcat:dataset'][0]['dcat:distribution'][0]['dct:format'] = 'table';
    const problems = await validate(broken);
    expect(
      problems.some((p) => p.severity === 'Violation' && p.path === 'http://purl.org/dc/terms/publisher'),
    ).toBe(true);
    expect(
      problems.some((p) => p.severity === 'Violation' && p.path === 'http://purl.org/dc/terms/format'),
    ).toBe(true);
  });

  it('the catalog conforms: no violation and no warning, anonymous and signed in', async () => {
    const anonymous = (await t.request({ method: 'GET', url: '/dcat/catalog.jsonld' })).json();
    expect(anonymous['dcat:dataset'].length).toBeGreaterThan(0);
    expect(await validate(anonymous)).toEqual([]);
    const token = await t.login('consumer.civil');
    const all = (await t.request({ method: 'GET', url: '/dcat/catalog.jsonld', token })).json();
    expect(await validate(all)).toEqual([]);
    const one = (await t.request({ method: 'GET', url: `/dcat/datasets/${code}.jsonld` })).json();
    expect(await validate(one)).toEqual([]);
  });

  it('describes the gateway as a data service serving the dataset, and formats as EU file types', async () => {
    const store = await toStore((await t.request({ method: 'GET', url: '/dcat/catalog.jsonld' })).json());
    const services = store.getSubjects(RDF_TYPE, 'http://www.w3.org/ns/dcat#DataService', null);
    expect(services).toHaveLength(1);
    const served = store
      .getObjects(services[0]!, 'http://www.w3.org/ns/dcat#servesDataset', null)
      .map((o) => o.value);
    expect(served.some((s) => s.endsWith(`/dcat/datasets/${code}`))).toBe(true);
    const formats = store.getObjects(null, 'http://purl.org/dc/terms/format', null).map((o) => o.value);
    expect(formats.length).toBeGreaterThan(0);
    expect(
      formats.every((f) => f === 'http://publications.europa.eu/resource/authority/file-type/JSON'),
    ).toBe(true);
  });

  it('carries the quality of the current version as DQV measurements an RDF library reads back', async () => {
    const quality = (
      await t.request({ method: 'GET', url: `/v1/resources/${code}/quality`, token: steward })
    ).json();
    const store = await toStore(
      (await t.request({ method: 'GET', url: `/dcat/datasets/${code}.jsonld` })).json(),
    );
    const measurements = store.getSubjects(RDF_TYPE, `${DQV}QualityMeasurement`, null);
    const values = new Map<string, string>();
    for (const m of measurements) {
      const metric = store.getObjects(m, `${DQV}isMeasurementOf`, null)[0]!.value;
      const value = store.getObjects(m, `${DQV}value`, null)[0]!;
      values.set(metric.split('/').pop()!, value.value);
      expect(store.getObjects(m, `${DQV}computedOn`, null)[0]!.value).toMatch(
        new RegExp(`/dcat/datasets/${code}$`),
      );
    }
    expect(Number(values.get('overall'))).toBeCloseTo(quality.report.score, 2);
    expect(values.get('level')).toBe(String(quality.report.level));
    expect(Number(values.get('completeness'))).toBeCloseTo(
      quality.report.dimensions.find((d: { dimension: string }) => d.dimension === 'completeness').score,
      2,
    );
  });

  it('shows the quality in CKAN extras', async () => {
    const res = await t.request({ method: 'GET', url: `/api/3/action/package_show?id=${code}` });
    const extras = Object.fromEntries(
      res.json().result.extras.map((e: { key: string; value: string }) => [e.key, e.value]),
    );
    const quality = (
      await t.request({ method: 'GET', url: `/v1/resources/${code}/quality`, token: steward })
    ).json();
    expect(extras.quality_level).toBe(String(quality.report.level));
    expect(Number(extras.quality_score)).toBeCloseTo(quality.report.score, 2);
    expect(res.json().result.resources[0].format).toBe('JSON');
  });
});
