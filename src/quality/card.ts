import type { ResourceView } from '../catalog/service.ts';
import type { ContractView } from '../sharing/service.ts';
import type { Report } from './schema.ts';

/**
 * Dataset cards in Croissant 1.0 JSON-LD (MLCommons): a schema.org Dataset with the fields as a
 * record set, the version's source file as a FileObject with its SM3 digest, the responsible-AI
 * (RAI) properties, the quality report, and the usage terms as an ODRL policy — an Offer built
 * from the resource's sharing and open conditions, or the Agreement of a contract. Croissant has
 * no usage-terms property, so the policy hangs on the dataset as `odrl:hasPolicy` (as DCAT-AP
 * does on distributions). The context is inline so the card expands offline.
 */
export const CROISSANT_CONTEXT = {
  '@language': 'zh-CN',
  '@vocab': 'https://schema.org/',
  sc: 'https://schema.org/',
  cr: 'http://mlcommons.org/croissant/',
  rai: 'http://mlcommons.org/croissant/RAI/',
  dct: 'http://purl.org/dc/terms/',
  odrl: 'http://www.w3.org/ns/odrl/2/',
  dqv: 'http://www.w3.org/ns/dqv#',
  xsd: 'http://www.w3.org/2001/XMLSchema#',
  // SM3 (GB/T 32905) has no schema.org property; Shutong's term for it.
  sm3: 'https://w3id.org/shutong/ns#sm3',
  citeAs: 'cr:citeAs',
  column: 'cr:column',
  conformsTo: 'dct:conformsTo',
  data: { '@id': 'cr:data', '@type': '@json' },
  dataType: { '@id': 'cr:dataType', '@type': '@vocab' },
  examples: { '@id': 'cr:examples', '@type': '@json' },
  extract: 'cr:extract',
  field: 'cr:field',
  fileObject: 'cr:fileObject',
  format: 'cr:format',
  isLiveDataset: 'cr:isLiveDataset',
  key: 'cr:key',
  recordSet: 'cr:recordSet',
  references: 'cr:references',
  source: 'cr:source',
  'odrl:target': { '@type': '@id' },
  'odrl:assigner': { '@type': '@id' },
  'odrl:assignee': { '@type': '@id' },
  'odrl:action': { '@type': '@id' },
  'odrl:leftOperand': { '@type': '@id' },
  'odrl:operator': { '@type': '@id' },
};

const DATA_TYPES: Record<string, string> = {
  integer: 'sc:Integer',
  decimal: 'sc:Float',
  boolean: 'sc:Boolean',
  date: 'sc:Date',
  timestamp: 'sc:DateTime',
  text: 'sc:Text',
};

const FORMATS: Record<string, string> = {
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  parquet: 'application/vnd.apache.parquet',
};

export interface CardVersion {
  number: number;
  sourceName: string;
  sourceFormat: string;
  sourceSize: number;
  sourceSm3: string | null;
  rowCount: number;
  completedAt: string | null;
}

const constraint = (leftOperand: string, operator: string, rightOperand: unknown) => ({
  '@type': 'odrl:Constraint',
  'odrl:leftOperand': `odrl:${leftOperand}`,
  'odrl:operator': `odrl:${operator}`,
  'odrl:rightOperand': rightOperand,
});

/** The usage terms as ODRL: the contract's Agreement, or an Offer from the resource's conditions. */
export function odrlPolicy(base: string, datasetId: string, r: ResourceView, contract?: ContractView) {
  const assigner = `${base}/v1/organizations/${r.provider.id}`;
  if (!contract) {
    const open = r.openType === 'unconditional' || r.sharingType === 'unconditional';
    return {
      '@id': `${datasetId}#offer`,
      '@type': 'odrl:Offer',
      'odrl:target': datasetId,
      'odrl:assigner': assigner,
      'odrl:permission': {
        '@type': 'odrl:Permission',
        'odrl:action': 'odrl:use',
        ...(open ? {} : { 'odrl:duty': { '@type': 'odrl:Duty', 'odrl:action': 'odrl:obtainConsent' } }),
      },
      'dct:description': r.sharingConditions || r.openConditions || (open ? '无条件共享' : ''),
    };
  }
  const masked = Object.entries(contract.masking).filter(([, rule]) => rule !== 'none');
  return {
    '@id': `${base}/v1/contracts/${contract.id}#policy`,
    '@type': 'odrl:Agreement',
    'odrl:uid': { '@id': `${base}/v1/contracts/${contract.id}` },
    'odrl:target': datasetId,
    'odrl:assigner': assigner,
    'odrl:assignee': `${base}/v1/organizations/${contract.consumerOrgId}`,
    'odrl:permission': {
      '@type': 'odrl:Permission',
      'odrl:action': 'odrl:use',
      'odrl:constraint': [
        constraint('purpose', 'eq', contract.purpose),
        constraint('dateTime', 'gteq', { '@value': contract.validFrom, '@type': 'xsd:dateTime' }),
        constraint('dateTime', 'lt', { '@value': contract.validTo, '@type': 'xsd:dateTime' }),
        constraint('count', 'lteq', { '@value': String(contract.quotaRowsPerDay), '@type': 'xsd:integer' }),
      ],
      // Fields served masked: the consumer receives them anonymised, never raw.
      ...(masked.length > 0
        ? {
            'odrl:duty': masked.map(([field, rule]) => ({
              '@type': 'odrl:Duty',
              'odrl:action': 'odrl:anonymize',
              'odrl:target': `${datasetId}#records/${field}`,
              'dct:description': rule,
            })),
          }
        : {}),
    },
    ...(contract.onwardTransfer
      ? {}
      : { 'odrl:prohibition': { '@type': 'odrl:Prohibition', 'odrl:action': 'odrl:distribute' } }),
    'dct:description': `operations: ${contract.operations.join(', ')}; fields: ${contract.fields.join(', ')}`,
  };
}

const SENSITIVE = new Set(['core', 'important', 'g4', 'g3']);

export function croissantCard(input: {
  base: string;
  resource: ResourceView;
  version: CardVersion | null;
  report: Report | null;
  contract?: ContractView;
}) {
  const { base, resource: r, version, report, contract } = input;
  const id = `${base}/dcat/datasets/${encodeURIComponent(r.code)}`;
  const fields = contract ? r.fields.filter((f) => contract.fields.includes(f.name)) : r.fields;
  const fileId = version ? `version-${version.number}` : null;
  const sensitive = fields.filter((f) => SENSITIVE.has(f.grade) || f.detector);
  return {
    '@context': CROISSANT_CONTEXT,
    '@id': id,
    '@type': 'sc:Dataset',
    conformsTo: { '@id': 'http://mlcommons.org/croissant/1.0' },
    name: r.name,
    description: r.summary || r.name,
    url: { '@id': `${base}/v1/resources/${encodeURIComponent(r.code)}` },
    identifier: r.code,
    keywords: r.keywords,
    publisher: {
      '@id': `${base}/v1/organizations/${r.provider.id}`,
      '@type': 'sc:Organization',
      name: r.provider.name,
    },
    creator: { '@id': `${base}/v1/organizations/${r.provider.id}` },
    dateModified: r.updatedAt,
    ...(r.publishedOn ? { datePublished: r.publishedOn } : {}),
    ...(version ? { version: String(version.number) } : {}),
    isLiveDataset: r.updateCycle === 'realtime',
    citeAs: `${r.provider.name}. ${r.name} (${r.code})${version ? `, 第 ${version.number} 版` : ''}. 数通公共数据平台.`,
    license: { '@id': `${base}/dcat/licences/${r.openType === 'unconditional' ? 'open' : 'contract'}` },
    'odrl:hasPolicy': odrlPolicy(base, id, r, contract),
    distribution:
      version && fileId
        ? [
            {
              '@id': `${id}#${fileId}`,
              '@type': 'cr:FileObject',
              name: version.sourceName,
              description: `第 ${version.number} 版的源文件（${version.rowCount} 行）`,
              contentUrl: `${base}/v1/resources/${encodeURIComponent(r.code)}/versions/${version.number}`,
              contentSize: `${version.sourceSize} B`,
              encodingFormat: FORMATS[version.sourceFormat] ?? 'application/octet-stream',
              ...(version.sourceSm3 ? { sm3: version.sourceSm3 } : {}),
            },
          ]
        : [],
    recordSet: [
      {
        '@id': `${id}#records`,
        '@type': 'cr:RecordSet',
        name: 'records',
        ...(r.fields.some((f) => f.isKey)
          ? { key: r.fields.filter((f) => f.isKey).map((f) => ({ '@id': `${id}#records/${f.name}` })) }
          : {}),
        field: fields.map((f) => ({
          '@id': `${id}#records/${f.name}`,
          '@type': 'cr:Field',
          name: f.name,
          description: f.description ? `${f.label}：${f.description}` : f.label,
          dataType: DATA_TYPES[f.dataType] ?? 'sc:Text',
          ...(fileId
            ? { source: { fileObject: { '@id': `${id}#${fileId}` }, extract: { column: f.name } } }
            : {}),
          ...(contract && contract.masking[f.name] && contract.masking[f.name] !== 'none'
            ? { 'odrl:hasPolicy': { '@id': `${base}/v1/contracts/${contract.id}#policy` } }
            : {}),
        })),
      },
    ],
    // Responsible-AI properties (Croissant RAI 1.0).
    'rai:dataCollection': `由${r.provider.name}在依法履职中采集、登记的政务数据，按更新周期（${r.updateCycle}）导入数通。`,
    'rai:dataCollectionType': 'Administrative records',
    'rai:personalSensitiveInformation':
      sensitive.length > 0
        ? sensitive.map(
            (f) => `${f.name}（${f.label}）：级别 ${f.grade}${f.detector ? `，类型 ${f.detector}` : ''}`,
          )
        : ['无敏感字段 / no sensitive field'],
    'rai:dataUseCases': r.sharingConditions || r.openConditions || '按共享协议约定的用途',
    'rai:dataLimitations': report
      ? `质量评估（GB/T 36344 六性）：${report.score} 分，${report.levelName['zh-CN']}；未通过的规则：${
          report.results
            .filter((x) => !x.passed)
            .map((x) => x.id)
            .join('、') || '无'
        }`
      : '尚未评估质量',
    'rai:dataPreprocessingProtocol':
      '按资源字段定义解析类型；无法解析的行不入库（见导入报告）；字段级别由分类分级扫描确定。',
    'rai:dataBiases': '行政记录只覆盖办理相应业务的对象，不代表全体人口。',
    ...(report
      ? {
          'dqv:hasQualityMeasurement': {
            '@id': `${id}#quality-v${report.version}-overall`,
            '@type': 'dqv:QualityMeasurement',
            'dqv:isMeasurementOf': { '@id': `${base}/dcat/quality/metrics/overall` },
            'dqv:value': { '@value': report.score.toFixed(2), '@type': 'xsd:decimal' },
          },
        }
      : {}),
  };
}
