import type { ResourceView } from './service.ts';
import { findTheme } from './themes.ts';

/**
 * DCAT-AP 3.0 JSON-LD (validated against our SHACL shapes of its mandatory and recommended
 * constraints in test/dcat-ap.test.ts; see ARCHITECTURE.md "Data quality and DCAT-AP"). The context is inline so the document parses offline.
 * Access rights and update frequencies use the EU Publications Office vocabularies that
 * DCAT-AP prescribes; open types map to them as unconditional → PUBLIC, conditional →
 * RESTRICTED, not open → NON_PUBLIC.
 */
export const DCAT_CONTEXT = {
  dcat: 'http://www.w3.org/ns/dcat#',
  dct: 'http://purl.org/dc/terms/',
  foaf: 'http://xmlns.com/foaf/0.1/',
  skos: 'http://www.w3.org/2004/02/skos/core#',
  xsd: 'http://www.w3.org/2001/XMLSchema#',
  hydra: 'http://www.w3.org/ns/hydra/core#',
  dcatap: 'http://data.europa.eu/r5r/',
  vcard: 'http://www.w3.org/2006/vcard/ns#',
  dqv: 'http://www.w3.org/ns/dqv#',
  prov: 'http://www.w3.org/ns/prov#',
  'prov:generatedAtTime': { '@type': 'xsd:dateTime' },
  'dcat:startDate': { '@type': 'xsd:date' },
  'dcat:endpointURL': { '@type': '@id' },
  'dcat:endpointDescription': { '@type': '@id' },
  'dcat:servesDataset': { '@type': '@id' },
  'vcard:hasURL': { '@type': '@id' },
  'skos:exactMatch': { '@type': '@id' },
  'dct:issued': { '@type': 'xsd:date' },
  'dct:modified': { '@type': 'xsd:dateTime' },
  'dcat:accessURL': { '@type': '@id' },
  'dct:accessRights': { '@type': '@id' },
  'dct:accrualPeriodicity': { '@type': '@id' },
  'dct:relation': { '@type': '@id' },
  'hydra:next': { '@type': '@id' },
};

const ACCESS_RIGHTS = 'http://publications.europa.eu/resource/authority/access-right/';
const FREQUENCY = 'http://publications.europa.eu/resource/authority/frequency/';
const ACCESS: Record<ResourceView['openType'], string> = {
  unconditional: 'PUBLIC',
  conditional: 'RESTRICTED',
  not_open: 'NON_PUBLIC',
};
const FREQUENCIES: Record<string, string> = {
  realtime: 'CONT',
  daily: 'DAILY',
  weekly: 'WEEKLY',
  monthly: 'MONTHLY',
  quarterly: 'QUARTERLY',
  half_yearly: 'ANNUAL_2',
  yearly: 'ANNUAL',
  irregular: 'IRREG',
};

const zh = (value: string) => ({ '@value': value, '@language': 'zh-CN' });
const en = (value: string) => ({ '@value': value, '@language': 'en' });

const FILE_TYPE = 'http://publications.europa.eu/resource/authority/file-type/';
const LANGUAGE = 'http://publications.europa.eu/resource/authority/language/';
const AVAILABILITY = 'http://publications.europa.eu/resource/authority/planned-availability/';
const DATA_THEME = 'http://publications.europa.eu/resource/authority/data-theme/';
const PUBLISHER_TYPE = 'http://purl.org/adms/publishertype/';
const COUNTRY = 'http://publications.europa.eu/resource/authority/country/';

/** Our themes matched to the EU data themes where one fits (skos:exactMatch); the rest have none. */
export const EU_THEMES: Record<string, string> = {
  population: 'SOCI',
  natural_resources: 'ENVI',
  macro_economy: 'ECON',
  health: 'HEAL',
  social_security: 'SOCI',
  ecology: 'ENVI',
  transport: 'TRAN',
  education: 'EDUC',
  emergency: 'JUST',
  urban_rural: 'REGI',
  finance_tax: 'ECON',
  civil_affairs: 'SOCI',
  statistics: 'ECON',
};

/** What the catalog knows about a provider beyond its name (organizations' type, level and region). */
export interface ProviderFacts {
  type: string;
  level: string;
  regionCode: string | null;
  regionName: string | null;
}

/** Extra statements other capabilities contribute to a dataset (quality's dqv:hasQualityMeasurement). */
export type DatasetAnnex = Record<string, unknown>;

/** ADMS publisher type of an organization: government bodies by administrative level, enterprises as companies. */
export function publisherType(facts: ProviderFacts | undefined): string {
  if (!facts) return `${PUBLISHER_TYPE}PublicBody`;
  if (facts.type === 'enterprise' || facts.type === 'authorized_operator') return `${PUBLISHER_TYPE}Company`;
  if (facts.level === 'national') return `${PUBLISHER_TYPE}NationalAuthority`;
  if (facts.level === 'provincial') return `${PUBLISHER_TYPE}RegionalAuthority`;
  return `${PUBLISHER_TYPE}LocalAuthority`;
}

/** The concept scheme (authority table) an authority IRI belongs to: its namespace without the slash. */
const schemeOf = (iri: string) => ({ '@id': iri.slice(0, iri.lastIndexOf('/')) });

/**
 * An authority-table concept, typed and placed in its scheme inline, so that a validator without
 * the EU vocabularies loaded still sees what they would say (class, skos:inScheme, label).
 */
function concept(
  iri: string,
  label: string,
  types: string | string[] = 'skos:Concept',
  scheme = schemeOf(iri),
) {
  return {
    '@id': iri,
    '@type': types,
    'skos:prefLabel': en(label),
    'skos:inScheme': scheme,
  };
}
const lastSegment = (iri: string) => iri.slice(iri.lastIndexOf('/') + 1);

/** The gateway as a DCAT-AP data service; `serves` lists the datasets it serves (all of them in the catalog). */
export function gatewayService(base: string, serves: string[]) {
  return {
    '@id': `${base}/dcat/services/gateway`,
    '@type': 'dcat:DataService',
    'dct:title': [zh('数通数据网关'), en('Shutong data gateway')],
    'dct:description': zh('按共享协议（字段、脱敏、行过滤、配额）提供数据的接口'),
    'dcat:endpointURL': `${base}/v1/gateway`,
    'dcat:endpointDescription': `${base}/openapi.json`,
    'dcat:servesDataset': serves,
    'dct:accessRights': concept(`${ACCESS_RIGHTS}RESTRICTED`, 'RESTRICTED', [
      'skos:Concept',
      'dct:RightsStatement',
    ]),
    'dct:conformsTo': { '@id': 'https://spec.openapis.org/oas/v3.1.0', '@type': 'dct:Standard' },
    'dct:publisher': catalogPublisher(base),
    'dcat:contactPoint': {
      '@id': `${base}/#contact`,
      '@type': ['vcard:Kind', 'vcard:Organization'],
      'vcard:fn': zh('数通公共数据平台'),
      'vcard:hasURL': `${base}/`,
    },
    'dcat:keyword': [zh('数据网关'), zh('共享协议'), en('data gateway')],
    'dcat:theme': concept(`${DATA_THEME}GOVE`, 'Government and public sector'),
  };
}

const publisherConcept = (iri: string) =>
  concept(iri, lastSegment(iri), 'skos:Concept', { '@id': 'http://purl.org/adms/publishertype/1.0' });

const datasetIri = (base: string, code: string) => `${base}/dcat/datasets/${encodeURIComponent(code)}`;

function accessRights(r: ResourceView) {
  const code = ACCESS[r.openType];
  return concept(`${ACCESS_RIGHTS}${code}`, code, ['skos:Concept', 'dct:RightsStatement']);
}

function license(base: string, r: ResourceView) {
  // Shutong resources are used under the terms of a sharing contract (or the open conditions):
  // the licence is that document, described here; it is no standard open licence.
  const open = r.openType === 'unconditional';
  return {
    '@id': `${base}/dcat/licences/${open ? 'open' : 'contract'}`,
    '@type': 'dct:LicenseDocument',
    'dct:title': zh(open ? '无条件开放使用条件' : '按共享协议使用'),
    'dct:type': concept(
      `http://purl.org/adms/licencetype/${open ? 'Attribution' : 'ReuseWithObligations'}`,
      open ? 'Attribution' : 'Reuse with obligations',
      'skos:Concept',
      { '@id': 'http://purl.org/adms/licencetype/1.0' },
    ),
  };
}

export function dcatDataset(
  base: string,
  r: ResourceView,
  extra: { provider?: ProviderFacts; annex?: DatasetAnnex } = {},
) {
  const theme = findTheme(r.theme);
  const self = datasetIri(base, r.code);
  const region = extra.provider?.regionCode;
  const euTheme = EU_THEMES[r.theme];
  return {
    '@id': self,
    '@type': 'dcat:Dataset',
    'dct:identifier': r.code,
    'dct:title': zh(r.name),
    'dct:description': zh(r.summary || r.name),
    'dct:publisher': {
      '@id': `${base}/v1/organizations/${r.provider.id}`,
      '@type': ['foaf:Agent', 'foaf:Organization'],
      'foaf:name': zh(r.provider.name),
      'dct:type': publisherConcept(publisherType(extra.provider)),
    },
    'dcat:contactPoint': {
      '@id': `${base}/v1/organizations/${r.provider.id}#contact`,
      '@type': ['vcard:Kind', 'vcard:Organization'],
      'vcard:fn': zh(r.provider.name),
      'vcard:hasURL': `${base}/v1/organizations/${r.provider.id}`,
    },
    'dcat:theme': {
      '@id': `${base}/dcat/themes/${r.theme}`,
      '@type': 'skos:Concept',
      'skos:prefLabel': [zh(theme?.zh ?? r.theme), en(theme?.en ?? r.theme)],
      'skos:inScheme': { '@id': `${base}/dcat/themes` },
      ...(euTheme ? { 'skos:exactMatch': `${DATA_THEME}${euTheme}` } : {}),
    },
    // A resource without keywords is found by its theme (DCAT-AP recommends at least one keyword).
    'dcat:keyword': (r.keywords.length > 0 ? r.keywords : [theme?.zh ?? r.theme]).map(zh),
    'dct:accessRights': accessRights(r),
    'dct:accrualPeriodicity': concept(
      `${FREQUENCY}${FREQUENCIES[r.updateCycle] ?? 'UNKNOWN'}`,
      FREQUENCIES[r.updateCycle] ?? 'UNKNOWN',
      ['skos:Concept', 'dct:Frequency'],
    ),
    // China in the EU country table, and the provider's GB/T 2260 division (no EU table has it).
    'dct:spatial': [
      concept(`${COUNTRY}CHN`, 'China', ['skos:Concept', 'dct:Location']),
      ...(region
        ? [
            {
              '@id': `${base}/dcat/regions/${region}`,
              '@type': 'dct:Location',
              'skos:notation': region,
              ...(extra.provider?.regionName ? { 'skos:prefLabel': zh(extra.provider.regionName) } : {}),
            },
          ]
        : []),
    ],
    'dct:temporal': {
      '@type': 'dct:PeriodOfTime',
      'dcat:startDate': r.publishedOn ?? r.createdAt.slice(0, 10),
    },
    ...(r.publishedOn ? { 'dct:issued': r.publishedOn } : {}),
    'dct:modified': r.updatedAt,
    'dct:relation': r.relatedCodes.map((code) => datasetIri(base, code)),
    'dcat:distribution': [
      {
        '@id': `${self}#gateway`,
        '@type': 'dcat:Distribution',
        'dct:title': zh(`${r.name}（数据网关）`),
        'dct:description': zh('经数据网关按共享协议提供的 JSON 行数据与统计'),
        'dcat:accessURL': `${base}/v1/resources/${encodeURIComponent(r.code)}`,
        'dcat:accessService': { '@id': `${base}/dcat/services/gateway`, '@type': 'dcat:DataService' },
        'dct:format': concept(`${FILE_TYPE}JSON`, 'JSON', ['skos:Concept', 'dct:MediaTypeOrExtent']),
        'dct:license': license(base, r),
        'dcatap:availability': concept(`${AVAILABILITY}STABLE`, 'stable'),
        'dct:accessRights': accessRights(r),
      },
    ],
    ...(extra.annex ?? {}),
  };
}

/** The platform itself as the catalog's publisher. */
function catalogPublisher(base: string) {
  return {
    '@id': `${base}/#publisher`,
    '@type': ['foaf:Agent', 'foaf:Organization'],
    'foaf:name': zh('数通公共数据平台'),
    'dct:type': publisherConcept(`${PUBLISHER_TYPE}LocalAuthority`),
  };
}

export function dcatCatalog(
  base: string,
  datasets: ResourceView[],
  page: number,
  hasNext: boolean,
  extra: { providers?: Map<string, ProviderFacts>; annexes?: Map<string, DatasetAnnex> } = {},
) {
  const self = `${base}/dcat/catalog.jsonld`;
  const issued = datasets.reduce<string | null>(
    (a, d) => (a === null || d.createdAt < a ? d.createdAt : a),
    null,
  );
  const modified = datasets.reduce<string | null>(
    (a, d) => (a === null || d.updatedAt > a ? d.updatedAt : a),
    null,
  );
  return {
    '@context': DCAT_CONTEXT,
    '@id': self,
    '@type': 'dcat:Catalog',
    'dct:title': [zh('数通公共数据资源目录'), en('Shutong public data resource catalog')],
    'dct:description': zh('公共数据资源目录（DCAT-AP 3.0）'),
    'dct:publisher': catalogPublisher(base),
    'dct:spatial': concept(`${COUNTRY}CHN`, 'China', ['skos:Concept', 'dct:Location']),
    'dct:language': concept(`${LANGUAGE}ZHO`, 'Chinese', ['skos:Concept', 'dct:LinguisticSystem']),
    'dct:license': {
      '@id': `${base}/dcat/licences/catalog`,
      '@type': 'dct:LicenseDocument',
      'dct:title': zh('目录元数据可自由使用'),
      'dct:type': concept('http://purl.org/adms/licencetype/PublicDomain', 'Public domain', 'skos:Concept', {
        '@id': 'http://purl.org/adms/licencetype/1.0',
      }),
    },
    ...(issued ? { 'dct:issued': issued.slice(0, 10) } : {}),
    ...(modified ? { 'dct:modified': modified } : {}),
    'dcat:themeTaxonomy': {
      '@id': `${base}/dcat/themes`,
      '@type': 'skos:ConceptScheme',
      'dct:title': [zh('数通资源主题分类'), en('Shutong resource themes')],
    },
    'foaf:homepage': { '@id': `${base}/`, '@type': 'foaf:Document' },
    'dcat:service': gatewayService(
      base,
      datasets.map((d) => datasetIri(base, d.code)),
    ),
    'dcat:dataset': datasets.map((d) =>
      dcatDataset(base, d, {
        ...(extra.providers?.get(d.provider.id) ? { provider: extra.providers.get(d.provider.id)! } : {}),
        ...(extra.annexes?.get(d.id) ? { annex: extra.annexes.get(d.id)! } : {}),
      }),
    ),
    'hydra:view': {
      '@id': `${self}?page=${page}`,
      '@type': 'hydra:PartialCollectionView',
      ...(hasNext ? { 'hydra:next': `${self}?page=${page + 1}` } : {}),
    },
  };
}
