import type { ResourceView } from './service.ts';
import { findTheme } from './themes.ts';

/**
 * DCAT 3 (DCAT-AP style) JSON-LD. The context is inline so the document parses offline.
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

export function dcatDataset(base: string, r: ResourceView) {
  const theme = findTheme(r.theme);
  return {
    '@id': `${base}/dcat/datasets/${encodeURIComponent(r.code)}`,
    '@type': 'dcat:Dataset',
    'dct:identifier': r.code,
    'dct:title': zh(r.name),
    'dct:description': zh(r.summary || r.name),
    'dct:publisher': {
      '@id': `${base}/v1/organizations/${r.provider.id}`,
      '@type': 'foaf:Organization',
      'foaf:name': zh(r.provider.name),
    },
    'dcat:theme': {
      '@id': `${base}/dcat/themes/${r.theme}`,
      '@type': 'skos:Concept',
      'skos:prefLabel': [zh(theme?.zh ?? r.theme), { '@value': theme?.en ?? r.theme, '@language': 'en' }],
    },
    'dcat:keyword': r.keywords.map(zh),
    'dct:accessRights': `${ACCESS_RIGHTS}${ACCESS[r.openType]}`,
    'dct:accrualPeriodicity': `${FREQUENCY}${FREQUENCIES[r.updateCycle] ?? 'UNKNOWN'}`,
    ...(r.publishedOn ? { 'dct:issued': r.publishedOn } : {}),
    'dct:modified': r.updatedAt,
    'dct:relation': r.relatedCodes.map((code) => `${base}/dcat/datasets/${encodeURIComponent(code)}`),
    'dcat:distribution': [
      {
        '@id': `${base}/dcat/datasets/${encodeURIComponent(r.code)}#gateway`,
        '@type': 'dcat:Distribution',
        'dct:title': zh(`${r.name}（数据网关）`),
        'dcat:accessURL': `${base}/v1/resources/${encodeURIComponent(r.code)}`,
        'dct:format': r.format,
        'dct:accessRights': `${ACCESS_RIGHTS}${ACCESS[r.openType]}`,
      },
    ],
  };
}

export function dcatCatalog(base: string, datasets: ResourceView[], page: number, hasNext: boolean) {
  const self = `${base}/dcat/catalog.jsonld`;
  return {
    '@context': DCAT_CONTEXT,
    '@id': self,
    '@type': 'dcat:Catalog',
    'dct:title': [
      zh('数通公共数据资源目录'),
      { '@value': 'Shutong public data resource catalog', '@language': 'en' },
    ],
    'dct:description': zh('公共数据资源目录（DCAT 3）'),
    'foaf:homepage': { '@id': `${base}/` },
    'dcat:dataset': datasets.map((d) => dcatDataset(base, d)),
    'hydra:view': {
      '@id': `${self}?page=${page}`,
      '@type': 'hydra:PartialCollectionView',
      ...(hasNext ? { 'hydra:next': `${self}?page=${page + 1}` } : {}),
    },
  };
}
