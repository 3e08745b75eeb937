import { Type } from 'typebox';
import { pageSchema } from '../core/paging.ts';
import { Nullable } from '../core/schemas.ts';

const DateTime = Type.String({ format: 'date-time' });
const Hash = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SM3 hash, lowercase hex' });
const Text = (description: string) =>
  Type.Optional(Type.String({ minLength: 1, maxLength: 200, description }));
const Seq = (description: string) =>
  Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description });
const Size = (description: string) =>
  Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description });

export const EntryQuery = Type.Object(
  {
    actor: Text('操作人用户 id / actor user id'),
    org: Text('操作人所属机构 id / organization id'),
    objectType: Text('对象类型 / object type'),
    objectId: Text('对象 id / object id'),
    action: Text('动作，如 organization.create / action'),
    from: Type.Optional(
      Type.String({ format: 'date-time', description: '起始时间（含）/ from (inclusive)' }),
    ),
    to: Type.Optional(Type.String({ format: 'date-time', description: '截止时间（不含）/ to (exclusive)' })),
    order: Type.Optional(Type.Enum(['asc', 'desc'] as const, { default: 'desc' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(
      Type.String({ pattern: '^[0-9]{1,15}$', description: 'nextCursor of the previous page (a seq)' }),
    ),
  },
  { additionalProperties: false },
);

/** The entry filters without paging: the CSV export carries every match up to its maximum. */
export const ExportQuery = Type.Object(
  {
    actor: EntryQuery.properties.actor,
    org: EntryQuery.properties.org,
    objectType: EntryQuery.properties.objectType,
    objectId: EntryQuery.properties.objectId,
    action: EntryQuery.properties.action,
    from: EntryQuery.properties.from,
    to: EntryQuery.properties.to,
  },
  { additionalProperties: false },
);

/** The export's answer: a CSV file (UTF-8 with BOM). */
export const ExportCsv = {
  description: 'CSV, UTF-8 with BOM; X-Export-Rows, and X-Export-Truncated when cut at the maximum',
  content: { 'text/csv': { schema: Type.String() } },
};

export const Entry = Type.Object({
  seq: Type.Integer({ description: '日志位置，从 1 起 / log position; leaf index = seq − 1' }),
  id: Type.String(),
  time: DateTime,
  actorId: Nullable(Type.String()),
  orgId: Nullable(Type.String()),
  action: Type.String(),
  objectType: Type.String(),
  objectId: Nullable(Type.String()),
  requestId: Nullable(Type.String()),
  details: Type.Unknown(),
  leafHash: Nullable(Hash),
});
export const EntryPage = pageSchema(Entry);

export const SeqParams = Type.Object({ seq: Seq('log position') });

export const Head = Type.Object({
  id: Type.Integer(),
  treeSize: Type.Integer(),
  rootHash: Hash,
  timestamp: DateTime,
  signature: Type.String({ description: 'SM2 signature (DER, base64), signer ID empty' }),
  keyFingerprint: Type.String(),
});
export const HeadPage = pageSchema(Head);
export const HeadQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })),
  },
  { additionalProperties: false },
);

export const InclusionQuery = Type.Object(
  {
    seq: Seq('the entry to prove'),
    treeSize: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: Number.MAX_SAFE_INTEGER,
        description: 'default: newest signed head',
      }),
    ),
  },
  { additionalProperties: false },
);

export const InclusionProof = Type.Object({
  seq: Type.Integer(),
  leafIndex: Type.Integer(),
  treeSize: Type.Integer(),
  leafHash: Hash,
  rootHash: Hash,
  proof: Type.Array(Hash),
  head: Nullable(Head),
  entry: Entry,
});

export const ConsistencyQuery = Type.Object(
  {
    from: Size('older tree size'),
    to: Type.Optional(Size('newer tree size; default: newest signed head')),
  },
  { additionalProperties: false },
);

export const ConsistencyProof = Type.Object({
  fromSize: Type.Integer(),
  toSize: Type.Integer(),
  fromRoot: Hash,
  toRoot: Hash,
  proof: Type.Array(Hash),
  fromHead: Nullable(Head),
  toHead: Nullable(Head),
});

export const PublicKey = Type.Object({
  algorithm: Type.String(),
  signerId: Type.String({ description: 'SM2 signer ID: empty (OpenSSL default), not 1234567812345678' }),
  publicKeyPem: Type.String(),
  fingerprint: Type.String({ description: 'SM3 of the SubjectPublicKeyInfo DER, hex' }),
});

export const WitnessStatus = Type.Object({
  source: Type.String({ description: '见证方（目录或地址）/ witness directory or URL' }),
  size: Nullable(Size('见证的日志长度 / witnessed tree size')),
  rootHash: Nullable(Hash),
  status: Type.Enum(
    ['consistent', 'rollback', 'rewrite', 'unsigned', 'empty', 'unavailable', 'archived'] as const,
    {
      description:
        'consistent: the log extends the witnessed checkpoint; rollback: the log is shorter; rewrite: another root at that size; archived: the size lies inside archived months',
    },
  ),
  message: Type.String(),
});

export const WitnessOverview = Type.Object({
  origin: Type.String({ description: '检查点来源名 / checkpoint origin of this log' }),
  treeSize: Size('当前日志长度 / current tree size'),
  latestSignedSize: Size('最新签名树头覆盖的长度 / size of the newest signed head'),
  witnesses: Type.Array(WitnessStatus),
  rollbackDetectable: Type.Boolean({ description: 'false when no witness is configured' }),
});
