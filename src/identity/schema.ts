import { Type } from 'typebox';
import { SCOPES } from '../core/auth.ts';
import { pageSchema } from '../core/paging.ts';
import { Nullable } from '../core/schemas.ts';
import { ADMIN_LEVELS, ORG_TYPES, ROLES, STAFF_ROLES } from '../core/tables.ts';

export const OrgType = Type.Enum(ORG_TYPES);
export const AdminLevel = Type.Enum(ADMIN_LEVELS);
/** Roles an administrator grants; accounts are shown with any role, citizens' included. */
export const RoleSchema = Type.Enum(STAFF_ROLES);
const AnyRole = Type.Enum(ROLES);
const DateTime = Type.String({ format: 'date-time' });

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const LoginBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 1, maxLength: 256 }),
  },
  { additionalProperties: false },
);
export const LoginReply = Type.Object({ token: Type.String(), expiresAt: DateTime });

export const CitizenLoginBody = Type.Object(
  {
    idNumber: Type.String({ minLength: 15, maxLength: 24, description: '公民身份号码 / resident ID number' }),
    password: Type.String({ minLength: 1, maxLength: 256 }),
  },
  { additionalProperties: false },
);

export const CitizenMe = Type.Object({
  kind: Type.Union([Type.Literal('citizen'), Type.Literal('organization')]),
  name: Type.String(),
  idNumberMasked: Type.Union([Type.String(), Type.Null()]),
  organization: Type.Union([
    Type.Object({ id: Type.String(), name: Type.String(), uscc: Type.String() }),
    Type.Null(),
  ]),
});

export const Organization = Type.Object({
  id: Type.String(),
  name: Type.String(),
  type: OrgType,
  level: AdminLevel,
  regionCode: Nullable(Type.String()),
  regionName: Nullable(Type.String()),
  uscc: Type.String(),
  createdAt: DateTime,
  updatedAt: DateTime,
});

const orgFields = {
  name: Type.String({ minLength: 2, maxLength: 100, description: '机构名称 / organization name' }),
  type: OrgType,
  level: AdminLevel,
  regionCode: Type.Optional(
    Nullable(
      Type.String({
        pattern: '^[0-9]{6}([0-9]{3})?$',
        description:
          'GB/T 2260 administrative division code; a township office: the nine-digit statistical code of its town (统计用区划代码)',
      }),
    ),
  ),
  uscc: Type.String({ minLength: 18, maxLength: 18, description: 'GB 32100 unified social credit code' }),
};

export const OrganizationCreate = Type.Object(orgFields, { additionalProperties: false });
export const OrganizationPatch = Type.Partial(Type.Object(orgFields), {
  additionalProperties: false,
  minProperties: 1,
});

export const User = Type.Object({
  id: Type.String(),
  orgId: Type.String(),
  username: Type.String(),
  displayName: Type.String(),
  roles: Type.Array(AnyRole),
  status: Type.Enum(['active', 'disabled'] as const),
  createdAt: DateTime,
  updatedAt: DateTime,
});

export const UserCreate = Type.Object(
  {
    orgId: Type.String({ minLength: 1, maxLength: 64 }),
    username: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{1,62}$' }),
    displayName: Type.String({ minLength: 1, maxLength: 100 }),
    password: Type.String({ minLength: 1, maxLength: 256 }),
    roles: Type.Array(RoleSchema, { minItems: 1, maxItems: STAFF_ROLES.length, uniqueItems: true }),
  },
  { additionalProperties: false },
);

export const UserPatch = Type.Object(
  {
    displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    roles: Type.Optional(
      Type.Array(RoleSchema, { minItems: 1, maxItems: STAFF_ROLES.length, uniqueItems: true }),
    ),
    status: Type.Optional(Type.Enum(['active', 'disabled'] as const)),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const PasswordBody = Type.Object(
  {
    password: Type.String({ minLength: 1, maxLength: 256 }),
    currentPassword: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false },
);

export const Me = Type.Object({
  user: User,
  organization: Organization,
  credential: Type.Enum(['session', 'api_key', 'cli'] as const),
  scopes: Type.Union([Type.Literal('all'), Type.Array(Type.String())]),
});

export const ApiKey = Type.Object({
  id: Type.String(),
  orgId: Type.String(),
  userId: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  status: Type.Enum(['active', 'revoked'] as const),
  expiresAt: Nullable(DateTime),
  lastUsedAt: Nullable(DateTime),
  createdAt: DateTime,
  revokedAt: Nullable(DateTime),
});

export const ApiKeyCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    scopes: Type.Array(Type.String({ maxLength: 64 }), {
      minItems: 1,
      maxItems: 32,
      uniqueItems: true,
      description: `One or more of: ${Object.keys(SCOPES).join(', ')}`,
    }),
    expiresAt: Type.Optional(DateTime),
  },
  { additionalProperties: false },
);
export const ApiKeyCreated = Type.Intersect([
  ApiKey,
  Type.Object({ secret: Type.String({ description: 'Shown once; store it now' }) }),
]);

export const OrgFilterQuery = Type.Object({
  orgId: Type.Optional(Type.String({ maxLength: 64 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
});

/** A list filter plus `q`: a case-insensitive substring of names, logins or codes, wildcards literal. */
export const SearchQuery = Type.Object({
  ...OrgFilterQuery.properties,
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
});

/** The users list: `q` plus the account status, so an administrator can list the disabled accounts. */
export const UserListQuery = Type.Object({
  ...SearchQuery.properties,
  status: Type.Optional(Type.Enum(['active', 'disabled'] as const)),
});

export const OrganizationPage = pageSchema(Organization);
export const UserPage = pageSchema(User);
export const ApiKeyPage = pageSchema(ApiKey);
