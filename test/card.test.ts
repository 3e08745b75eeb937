import jsonld from 'jsonld';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers.ts';
import { PEOPLE_FIELDS, peopleRows, qualityFixture, toCsv } from './quality-fixture.ts';
import { sharingFixture } from './sharing-fixture.ts';

let t: TestApp;
let steward: string;
let code: string;
let sx: ReturnType<typeof sharingFixture>;

const SCHEMA = 'https://schema.org/';
const CR = 'http://mlcommons.org/croissant/';
const ODRL = 'http://www.w3.org/ns/odrl/2/';

beforeAll(async () => {
  t = await startTestApp();
  steward = await t.login('steward.health');
  const fx = qualityFixture(t);
  const { resource } = await fx.people(steward);
  code = resource.code;
  await fx.upload(steward, code, toCsv(PEOPLE_FIELDS, peopleRows() as never));
  sx = sharingFixture(t);
  await sx.login();
});
afterAll(() => t.close());

const card = (url: string, token = steward) => t.request({ method: 'GET', url, token });

describe('Croissant dataset card', () => {
  it('expands with a JSON-LD processor in safe mode (nothing dropped), and safe mode does catch loss', async () => {
    const res = await card(`/v1/resources/${code}/card.jsonld`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toContain('application/ld+json');
    const doc = res.json();
    const expanded = await jsonld.expand(doc, { safe: true } as never);
    expect(expanded).toHaveLength(1);
    // (Plain keys fall under @vocab schema.org; what safe mode refuses is anything it would drop.)
    await expect(jsonld.expand({ ...doc, '@notAKeyword': 1 }, { safe: true } as never)).rejects.toThrow();
  });

  it('describes the dataset, its fields as a record set, the source with its SM3 digest, RAI and the quality', async () => {
    const doc = (await card(`/v1/resources/${code}/card`)).json();
    const [d] = (await jsonld.expand(doc)) as Array<Record<string, unknown[]>>;
    expect(d!['@type']).toEqual([`${SCHEMA}Dataset`]);
    expect((d![`http://purl.org/dc/terms/conformsTo`]![0] as { '@id': string })['@id']).toBe(
      'http://mlcommons.org/croissant/1.0',
    );
    const recordSet = d![`${CR}recordSet`]![0] as Record<string, unknown[]>;
    const fields = recordSet[`${CR}field`] as Array<Record<string, Array<{ '@value': string }>>>;
    expect(fields.map((f) => f[`${SCHEMA}name`]![0]!['@value'])).toEqual(PEOPLE_FIELDS.map((f) => f.name));
    const versions = (
      await t.request({ method: 'GET', url: `/v1/resources/${code}/versions`, token: steward })
    ).json();
    const file = d![`${SCHEMA}distribution`]![0] as Record<string, Array<{ '@value': string }>>;
    expect(file['https://w3id.org/shutong/ns#sm3']![0]!['@value']).toBe(versions[0].sourceSm3);
    expect(versions[0].sourceSm3).toMatch(/^[0-9a-f]{64}$/);
    expect(d![`${CR.replace('croissant/', 'croissant/RAI/')}personalSensitiveInformation`]).toBeDefined();
    expect(JSON.stringify(d![`http://mlcommons.org/croissant/RAI/dataLimitations`])).toContain('GB/T 36344');
    // Without a contract the terms are the resource's offer.
    const policy = d![`${ODRL}hasPolicy`]![0] as Record<string, unknown>;
    expect(policy['@type']).toEqual([`${ODRL}Offer`]);
  });

  it('carries a contract’s terms as an ODRL agreement, for its parties only', async () => {
    const shared = await sx.resource('门诊记录（卡片）', 'conditional');
    const contractId = await sx.contractFor(shared);
    const res = await card(`/v1/resources/${shared}/card?contract=${contractId}`, sx.tokens.consumer);
    expect(res.statusCode, res.body).toBe(200);
    const [d] = (await jsonld.expand(res.json(), { safe: true } as never)) as unknown as Array<
      Record<string, unknown[]>
    >;
    const policy = d![`${ODRL}hasPolicy`]![0] as Record<string, Array<Record<string, unknown>>>;
    expect(policy['@type']).toEqual([`${ODRL}Agreement`]);
    expect(String(policy[`${ODRL}assignee`]![0]!['@id'])).toContain('/v1/organizations/');
    const permission = policy[`${ODRL}permission`]![0] as Record<string, Array<Record<string, unknown>>>;
    const operands = permission[`${ODRL}constraint`]!.map(
      (c) => (c as Record<string, Array<{ '@id': string }>>)[`${ODRL}leftOperand`]![0]!['@id'],
    );
    expect(operands).toEqual(expect.arrayContaining([`${ODRL}purpose`, `${ODRL}dateTime`, `${ODRL}count`]));
    // The ID number is served masked under this contract: an anonymize duty names it.
    const duties = (permission[`${ODRL}duty`] ?? []) as Array<Record<string, Array<{ '@id': string }>>>;
    expect(duties.some((duty) => duty[`${ODRL}target`]![0]!['@id'].endsWith('#records/person_id'))).toBe(
      true,
    );
    // Another organization cannot read a contract's terms through the card, nor learn that it exists.
    const other = await card(`/v1/resources/${shared}/card?contract=${contractId}`, sx.tokens.enterprise);
    expect(other.statusCode).toBe(404);
  });
});
