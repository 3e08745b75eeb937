import { Type } from 'typebox';
import { pageSchema } from '../core/paging.ts';
import { Nullable } from '../core/schemas.ts';
import { REGISTRATION_KINDS, REGISTRATION_STATES, SUBJECT_TYPES } from './store.ts';

const Text = (maxLength: number, minLength = 1) => Type.String({ minLength, maxLength });
const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD (China civil date)' });
const Code = Type.String({ pattern: '^DJ\\d{10}[0-9A-Z*]$', description: '登记编码 / registration code' });

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export const ObjectionParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64 }),
  objectionId: Type.String({ minLength: 1, maxLength: 64 }),
});
export const CodeParams = Type.Object({ code: Type.String({ minLength: 1, maxLength: 32 }) });
export const VersionParams = Type.Object({
  code: Type.String({ minLength: 1, maxLength: 32 }),
  version: Type.Integer({ minimum: 1 }),
});

export const Content = Type.Object(
  {
    name: Text(200),
    summary: Text(4000),
    fields: Type.Array(
      Type.Object(
        { name: Text(128), label: Text(128), dataType: Type.Optional(Text(32)) },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 500 },
    ),
    volume: Text(200),
    source: Text(1000),
    updateCycle: Text(100),
    grade: Text(50),
    storageLocation: Text(500),
    storageMethod: Text(500),
    intendedUse: Text(2000),
    qualityDescription: Text(4000),
    operationScope: Text(1000),
  },
  { additionalProperties: false, description: '登记内容（26号）/ registration content' },
);

export const Commitment = Type.Object(
  { signatory: Text(100), signedOn: Day, text: Text(4000) },
  { additionalProperties: false, description: '登记承诺书 / signed commitment' },
);

export const SubmitBody = Type.Object(
  {
    kind: Type.Enum(REGISTRATION_KINDS),
    subjectType: Type.Enum(SUBJECT_TYPES),
    subjectId: Text(64),
    code: Type.Optional(Code),
    content: Content,
    commitment: Commitment,
  },
  { additionalProperties: false },
);

export const ReasonBody = Type.Object({ reason: Text(2000) }, { additionalProperties: false });
export const ResubmitBody = Type.Object(
  { content: Type.Optional(Content), commitment: Type.Optional(Commitment) },
  { additionalProperties: false },
);
export const ObjectionBody = Type.Object(
  { realName: Text(100), text: Text(4000) },
  { additionalProperties: false },
);
export const AnswerBody = Type.Object(
  { answer: Text(4000), upheld: Type.Boolean() },
  { additionalProperties: false },
);

export const RegistrationQuery = Type.Object(
  {
    state: Type.Optional(Type.Enum(REGISTRATION_STATES)),
    orgId: Type.Optional(Text(64)),
    code: Type.Optional(Text(32)),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 64, pattern: '^[a-z]{3}_[0-9a-z]{26}$' })),
  },
  { additionalProperties: false },
);

const Objection = Type.Object({
  id: Type.String(),
  orgId: Type.String(),
  userId: Type.String(),
  realName: Type.String(),
  text: Type.String(),
  answer: Nullable(Type.String()),
  upheld: Nullable(Type.Boolean()),
  answeredBy: Nullable(Type.String()),
  lodgedAt: Type.String({ format: 'date-time' }),
  answeredAt: Nullable(Type.String({ format: 'date-time' })),
});

export const Registration = Type.Object({
  id: Type.String(),
  kind: Type.Enum(REGISTRATION_KINDS),
  subject: Type.Object({ type: Type.Enum(SUBJECT_TYPES), id: Type.String(), name: Type.String() }),
  registrantOrgId: Type.String(),
  submittedBy: Type.String(),
  code: Nullable(Type.String()),
  state: Type.Enum(REGISTRATION_STATES),
  content: Content,
  commitment: Commitment,
  noticeWorkingDays: Type.Integer(),
  dates: Type.Object({
    submittedOn: Day,
    acceptDue: Day,
    acceptedOn: Nullable(Day),
    reviewDue: Nullable(Day),
    reviewedOn: Nullable(Day),
    noticeFrom: Nullable(Day),
    noticeUntil: Nullable(Day),
    registeredOn: Nullable(Day),
    validUntil: Nullable(Day),
  }),
  step: Nullable(
    Type.Object(
      { name: Type.Enum(['accept', 'review', 'notice'] as const), due: Day },
      {
        description: '当前环节及其期限（工作日）/ current step and its working-day deadline',
      },
    ),
  ),
  reason: Nullable(Type.String()),
  objections: Type.Array(Objection),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export const RegistrationPage = pageSchema(Registration);

export const Overdue = Type.Array(
  Type.Object({
    registration: Registration,
    step: Type.Enum(['accept', 'review', 'notice'] as const),
    due: Day,
    workingDaysOverdue: Type.Integer(),
    calendarCertain: Type.Boolean(),
  }),
);

export const SignedCertificate = Type.Object(
  {
    certificate: Type.Record(Type.String(), Type.Unknown()),
    signature: Type.Object({
      algorithm: Type.String(),
      publicKeyFingerprint: Type.String(),
      value: Type.String(),
    }),
  },
  { description: 'SM2 签名的登记证书 / SM2-signed registration certificate' },
);

export const CertificateHistory = Type.Object({
  code: Type.String(),
  status: Type.Enum(['registered', 'cancelled'] as const),
  current: SignedCertificate,
  versions: Type.Array(
    Type.Object({
      version: Type.Integer(),
      status: Type.String(),
      issuedAt: Type.String({ format: 'date-time' }),
      registrationId: Type.String(),
      kind: Type.String(),
    }),
  ),
});

export const CertificateCheck = Type.Object({
  valid: Type.Boolean(),
  reason: Type.Enum(['ok', 'malformed', 'wrong_key', 'bad_signature'] as const),
  code: Nullable(Type.String()),
  version: Nullable(Type.Integer()),
  current: Nullable(Type.Boolean()),
  publicKeyFingerprint: Type.String(),
});

export const PublicKey = Type.Object({
  algorithm: Type.String(),
  publicKeyPem: Type.String(),
  fingerprint: Type.String(),
});
