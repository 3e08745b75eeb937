/**
 * The one error type. Services throw it; the server turns it into
 * `{ error: { code, message, messages, details } }` with its HTTP status.
 * Every code is declared here once, with its status and a Chinese and an English message,
 * so clients can rely on codes and people can read messages.
 */
export const ERRORS = {
  BAD_REQUEST: { status: 400, zh: '请求无效', en: 'The request is invalid' },
  VALIDATION_FAILED: { status: 400, zh: '请求字段校验失败', en: 'A request field failed validation' },
  INVALID_REGION_CODE: {
    status: 400,
    zh: '行政区划代码无效（须为 GB/T 2260 现行代码）',
    en: 'Invalid administrative division code (must be a current GB/T 2260 code)',
  },
  REGION_LEVEL_MISMATCH: {
    status: 400,
    zh: '行政区划代码与行政级别不一致',
    en: 'The administrative division code does not match the administrative level',
  },
  INVALID_USCC: {
    status: 400,
    zh: '统一社会信用代码无效（GB 32100 校验位不符）',
    en: 'Invalid unified social credit code (GB 32100 check character does not match)',
  },
  INVALID_SCOPE: { status: 400, zh: 'API 密钥权限范围无效', en: 'Invalid API key scope' },
  WEAK_PASSWORD: {
    status: 400,
    zh: '密码至少 10 个字符',
    en: 'The password must be at least 10 characters long',
  },
  UNAUTHENTICATED: {
    status: 401,
    zh: '未登录或凭据无效',
    en: 'Missing or invalid credentials',
  },
  LOGIN_FAILED: { status: 401, zh: '用户名或密码错误', en: 'Wrong username or password' },
  ACCOUNT_LOCKED: {
    status: 429,
    zh: '登录失败次数过多，账户暂时锁定',
    en: 'Too many failed logins; the account is temporarily locked',
  },
  FORBIDDEN: { status: 403, zh: '无权执行此操作', en: 'You are not allowed to do this' },
  NOT_FOUND: { status: 404, zh: '对象不存在', en: 'Not found' },
  ROUTE_NOT_FOUND: { status: 404, zh: '接口不存在', en: 'No such endpoint' },
  CONFLICT: { status: 409, zh: '与现有数据冲突', en: 'Conflicts with existing data' },
  INVALID_TRANSITION: {
    status: 409,
    zh: '当前状态不允许此操作',
    en: 'This action is not allowed in the current state',
  },
  AUDIT_NOT_SIGNED: {
    status: 409,
    zh: '尚无覆盖该位置的已签名树头（可先签发树头）',
    en: 'No signed tree head covers this position yet (sign one first)',
  },
  AUDIT_ENTRY_ARCHIVED: {
    status: 410,
    zh: '该审计条目所在月份已归档，请查阅归档文件（含证明）',
    en: "The audit entry's month has been archived; see the archive's files, which carry its proofs",
  },
  AUDIT_LOG_DAMAGED: {
    status: 500,
    zh: '审计日志已损坏，请运行 shutong audit verify',
    en: 'The audit log is damaged; run `shutong audit verify`',
  },
  AUDIT_WITNESS_REFUSED: {
    status: 409,
    zh: '审计见证方拒绝了新的检查点（日志可能被回滚或改写），树头未签发',
    en: 'A witness refused the new checkpoint (the log may have been rolled back or rewritten); the head was not signed',
  },
  AUDIT_KEY_PROBLEM: {
    status: 500,
    zh: '审计签名密钥不可用',
    en: 'The audit signing key cannot be used',
  },
  PAYLOAD_TOO_LARGE: { status: 413, zh: '请求体过大', en: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    zh: '不支持的内容类型',
    en: 'Unsupported content type',
  },
  FILE_REJECTED: { status: 422, zh: '文件无法读取', en: 'The file cannot be read' },
  HEADER_MISMATCH: {
    status: 422,
    zh: '文件表头与资源字段对不上',
    en: 'The file header does not match the resource fields',
  },
  TOO_MANY_BAD_ROWS: {
    status: 422,
    zh: '错误行超过允许的数量，本次导入未生效',
    en: 'More bad rows than allowed; nothing was imported',
  },
  NO_ROWS: {
    status: 422,
    zh: '文件没有数据行（只有表头或全部为错误行），本次导入未生效；确需发布空版本请设置 allowEmpty',
    en: 'The file has no data rows (a header only, or every row bad); nothing was imported — set allowEmpty to publish an empty version on purpose',
  },
  FIELDS_REQUIRED: {
    status: 409,
    zh: '资源尚未定义字段：请确认推断出的字段后再导入',
    en: 'The resource has no fields yet: confirm the inferred fields, then import',
  },
  IMPORT_FAILED: {
    status: 500,
    zh: '导入失败，本次导入未生效',
    en: 'The import failed; nothing was imported',
  },
  RESOURCE_NOT_READY: {
    status: 409,
    zh: '资源尚不能提交或发布',
    en: 'The resource cannot be submitted or published yet',
  },
  RESOURCE_NOT_PUBLISHED: {
    status: 409,
    zh: '该资源尚未发布或已撤回，不能申请或批准使用',
    en: 'This resource is not published (or was withdrawn); it takes no applications or approvals',
  },
  RESOURCE_NOT_SHARED: {
    status: 403,
    zh: '该资源为不予共享，不能申请',
    en: 'This resource is not shared; applications are refused',
  },
  CORE_DATA_NOT_SERVED: { status: 403, zh: '核心数据不提供共享', en: 'Core data is never served' },
  MASK_TOO_WEAK: {
    status: 403,
    zh: '脱敏规则弱于该字段的分级默认规则，需要安全管理员签认',
    en: "The mask is weaker than the field's grade default; it needs the security officer's sign-off",
  },
  CONTRACT_NOT_ACTIVE: { status: 403, zh: '协议不在生效状态', en: 'The contract is not active' },
  CONTRACT_EXPIRED: {
    status: 403,
    zh: '协议不在有效期内',
    en: 'The contract is outside its validity period',
  },
  OPERATION_NOT_ALLOWED: {
    status: 403,
    zh: '协议不允许此操作',
    en: 'The contract does not allow this operation',
  },
  FIELD_NOT_GRANTED: { status: 403, zh: '协议未授予该字段', en: 'The contract does not grant this field' },
  AGGREGATE_ON_MASKED_FIELD: {
    status: 403,
    zh: '不能对脱敏字段做任何统计（求和、平均、最值、计数）',
    en: 'No aggregate (sum, avg, min, max, count) of a masked field is served',
  },
  FILTER_ON_MASKED_FIELD: {
    status: 403,
    zh: '不能按脱敏或未授予的字段过滤、排序或分组',
    en: 'Filtering, ordering or grouping by a masked or ungranted field is refused',
  },
  IP_NOT_ALLOWED: {
    status: 403,
    zh: '来源地址不在协议白名单内',
    en: "The caller's address is not on the contract's allowlist",
  },
  OUTSIDE_WORKING_HOURS: {
    status: 403,
    zh: '协议仅允许在工作时间访问',
    en: 'The contract allows access in working hours only',
  },
  FROZEN: {
    status: 423,
    zh: '已被安全管理员紧急冻结',
    en: 'Frozen by an emergency stop of the security officer',
  },
  RATE_LIMITED: { status: 429, zh: '请求过于频繁', en: 'Too many requests' },
  QUOTA_EXCEEDED: { status: 429, zh: '今日行数配额已用完', en: "Today's row quota is used up" },
  DP_BUDGET_EXHAUSTED: {
    status: 403,
    zh: '协议的隐私预算不足以支付本次统计',
    en: "The contract's privacy budget cannot pay for this release",
  },
  DP_NOT_CONFIGURED: {
    status: 409,
    zh: '提供方尚未为该资源声明差分隐私设置（隐私单位与裁剪界）',
    en: 'The provider has not declared differential privacy settings (privacy unit, bounds) for the resource',
  },
  DP_REQUIRED: {
    status: 403,
    zh: '含个人信息的资源只能通过差分隐私接口统计',
    en: 'Resources with personal information are aggregated through the differential privacy endpoints',
  },
  TEMPLATE_REQUIRED: {
    status: 403,
    zh: '该协议只允许运行已批准的查询模板',
    en: 'The contract allows only its approved query templates',
  },
  NOT_ACCEPTABLE: {
    status: 406,
    zh: '无法按请求的格式作答',
    en: 'The answer cannot be given in the requested form',
  },
  RANGE_NOT_SATISFIABLE: {
    status: 416,
    zh: '请求的行范围超出结果',
    en: 'The requested range is past the end of the result',
  },
  NO_DATA_VERSION: {
    status: 409,
    zh: '该资源还没有可用的数据版本',
    en: 'The resource has no data version yet',
  },
  QUALITY_RULE_INVALID: {
    status: 400,
    zh: '质量规则无效（字段不存在、类型不符或引用不可用）',
    en: 'Invalid quality rule (unknown field, wrong type or unusable reference)',
  },
  EXPORT_NOT_ALLOWED: {
    status: 403,
    zh: '该协议不允许导出明细数据（仅允许统计）',
    en: 'This contract does not allow exporting rows (aggregates only)',
  },
  // Indicators, one-form reporting and evaluation (src/indicators)
  INDICATOR_DUPLICATE: {
    status: 409,
    zh: '已有相同定义或相同来源的指标（一数一源，请引用或合并）',
    en: 'An indicator with the same definition or the same source exists (reference or merge it)',
  },
  VALUE_ALREADY_REPORTED: {
    status: 409,
    zh: '该指标本期已由本单位报送过不同的数值（一次采集，如需更正请退回原报表）',
    en: 'A different value of this indicator was already reported for this unit and period (collect once; correct it through the first submission)',
  },
  SUBMISSION_DUPLICATE: {
    status: 409,
    zh: '该报表本期已由本单位报送',
    en: 'This form was already submitted for this unit and period',
  },
  REPORT_CHECK_FAILED: {
    status: 422,
    zh: '报送数值未通过校验规则',
    en: 'The reported values fail the validation rules',
  },
  SIGNOFF_PENDING: {
    status: 409,
    zh: '报送尚未逐级签核到此，暂不能办理',
    en: 'The submission has not been signed off up to this level yet',
  },
  SIGNOFF_DECIDED: {
    status: 409,
    zh: '该级签核已办理（已由他人签核或退回，或下级已退回）',
    en: 'This level has already decided (signed off or returned by another reviewer, or returned below)',
  },
  OUTSIDE_JURISDICTION: {
    status: 403,
    zh: '报送单位不在本机构辖区内',
    en: "The reporting unit is outside your organization's area",
  },
  // Registry and authorized operation (src/registry, src/operation)
  NOTICE_NOT_OVER: {
    status: 409,
    zh: '公示期尚未届满',
    en: 'The public notice period has not ended yet',
  },
  OBJECTIONS_OPEN: {
    status: 409,
    zh: '尚有异议未答复，或异议成立（应驳回登记）',
    en: 'An objection is unanswered, or one was upheld (the registration must be rejected)',
  },
  CERTIFICATE_INVALID: {
    status: 422,
    zh: '登记证书签名无效或内容被篡改',
    en: 'The registration certificate signature is invalid or its content was altered',
  },
  PRICE_ABOVE_CAP: {
    status: 422,
    zh: '实际收费高于上限收费标准',
    en: 'The price is above the cap fee',
  },
  FREE_PURPOSE: {
    status: 422,
    zh: '公共治理、公益事业用途须免费',
    en: 'Public governance and public-welfare use is free of charge',
  },
  TERM_TOO_LONG: {
    status: 422,
    zh: '授权运营期限超过允许的最长期限',
    en: 'The operation term exceeds the allowed maximum',
  },
  OPERATION_AGREEMENT_NOT_IN_FORCE: {
    status: 403,
    zh: '本次使用所依据的授权运营协议已终止、到期或尚未生效',
    en: 'The authorized operation agreement this use falls under is terminated, expired or not yet in force',
  },
  BULK_EXPORT_NOT_ALLOWED: {
    status: 403,
    zh: '授权运营方不得批量导出个人信息，请经网关查询、差分隐私统计或批准的计算使用',
    en: 'An authorized operator may not bulk-export personal information: use gateway queries, DP aggregates or approved computations',
  },
  OUT_OF_SCOPE: {
    status: 422,
    zh: '超出授权运营范围',
    en: 'Outside the scope of the authorized operation agreement',
  },
  SERVICE_NOT_ELIGIBLE: {
    status: 422,
    zh: '不符合该事项的申请条件',
    en: 'The application does not meet the bundle’s conditions',
  },
  // Idempotency keys for writes (src/core/idempotency.ts)
  IDEMPOTENCY_KEY_INVALID: {
    status: 400,
    zh: 'Idempotency-Key 须为 1–200 个可打印 ASCII 字符，且只能有一个',
    en: 'Idempotency-Key must be one value of 1–200 printable ASCII characters',
  },
  IDEMPOTENCY_KEY_UNSUPPORTED: {
    status: 400,
    zh: '此请求不能使用 Idempotency-Key（匿名请求或流式上传）',
    en: 'This request cannot take an Idempotency-Key (anonymous request or streamed upload)',
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    zh: '该 Idempotency-Key 已用于另一个请求（方法、路径或请求体不同）',
    en: 'This Idempotency-Key was already used for a different request (method, path or body)',
  },
  IDEMPOTENCY_IN_PROGRESS: {
    status: 409,
    zh: '使用该 Idempotency-Key 的请求仍在处理中，请稍后重试',
    en: 'A request with this Idempotency-Key is still in progress; retry later',
  },
  IDEMPOTENCY_ANSWER_LOST: {
    status: 409,
    zh: '使用该 Idempotency-Key 的写入已生效，但应答在数据库故障中丢失；请查询对象的当前状态，不要重试',
    en: 'The write with this Idempotency-Key was applied, but its answer was lost in a database failure; read the object instead of retrying',
  },
  NOT_READY: { status: 503, zh: '数据库不可用', en: 'The database is unavailable' },
  PDF_FONT_MISSING: {
    status: 503,
    zh: '服务器缺少中文字体，暂不能生成 PDF（请安装 fonts-wqy-microhei 或设置 PDF_CJK_FONT）',
    en: 'The server has no Chinese font, so it cannot make this PDF (install fonts-wqy-microhei or set PDF_CJK_FONT)',
  },
  INTERNAL: { status: 500, zh: '服务器内部错误', en: 'Internal server error' },
} as const satisfies Record<string, { status: number; zh: string; en: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown>;
  readonly zh: string;
  readonly en: string;

  constructor(code: ErrorCode, details: Record<string, unknown> = {}, note?: { zh: string; en: string }) {
    const spec = ERRORS[code];
    const zh = note ? `${spec.zh}：${note.zh}` : spec.zh;
    const en = note ? `${spec.en}: ${note.en}` : spec.en;
    super(`${zh} / ${en}`);
    this.name = 'AppError';
    this.code = code;
    this.status = spec.status;
    this.details = details;
    this.zh = zh;
    this.en = en;
  }

  toBody() {
    return {
      error: {
        code: this.code,
        message: this.message,
        messages: { 'zh-CN': this.zh, en: this.en },
        details: this.details,
      },
    };
  }
}

/** Shorthand for field-level validation failures: the field is named in details and messages. */
export function invalidField(code: ErrorCode, field: string, value?: unknown): AppError {
  return new AppError(code, value === undefined ? { field } : { field, value }, {
    zh: `字段 ${field}`,
    en: `field ${field}`,
  });
}
