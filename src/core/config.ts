import path from 'node:path';

/** Runtime configuration, read once from the environment. Every knob is listed in the README. */
export interface Config {
  port: number;
  host: string;
  /** postgres://… selects a PostgreSQL server; absent selects embedded PGlite in dataDir. */
  databaseUrl: string | undefined;
  dataDir: string;
  logLevel: string;
  sessionTtlHours: number;
  demoPassword: string;
  /** Seed the demo city on the first start of an empty database. */
  seedDemo: boolean;
  bodyLimitBytes: number;
  /** Largest file accepted by an upload (streamed to the node's disk, never held in memory). */
  uploadLimitBytes: number;
  /** The address users reach Shutong at, for links in DCAT and CKAN views; else taken from the request. */
  publicUrl: string | undefined;
  /** The SM2 private key that signs audit tree heads; created (mode 0600) on first start. */
  auditKeyFile: string;
  /** How often a listening server signs a tree head when the audit log grew; 0 turns it off. */
  auditSignIntervalSeconds: number;
  /** A listening server integrates pending audit entries this often (ms), and soon after its own appends. */
  auditIntegrateMs: number;
  /** Imports and scans judge every row up to this many; beyond it, a reservoir sample. */
  classifyFullScanRows: number;
  /** Size of that reservoir sample (rows). */
  classifySampleRows: number;
  /** How often a listening server evaluates the alert rules (src/monitor); 0 turns the timer off. */
  monitorIntervalSeconds: number;
  /** New alerts are POSTed here as JSON; absent, alerts are only listed. */
  monitorWebhookUrl: string | undefined;
  monitor: MonitorSettings;
  /** Length of a registration's public notice in working days (26号: 10). */
  registryNoticeWorkingDays: number;
  /** Longest term of an authorized operation agreement in years (27号: in principle 5). */
  operationMaxTermYears: number;
}

/** Alert-rule thresholds (MONITOR_* variables; src/monitor/rules.ts says what each one means). */
export interface MonitorSettings {
  windowMinutes: number;
  baselineFactor: number;
  baselineMinRows: number;
  baselineWindows: number;
  refusedBurst: number;
  keyBurst: number;
  expiryDays: number;
  /** `HH:MM-HH:MM`, Beijing time; a start after the end spans midnight. */
  workingHours: string;
  /** ISO weekdays (1 = Monday … 7 = Sunday): `1-5`, `1,2,3,4,5,6`. */
  workingDays: string;
}

function textFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: string, pattern: RegExp): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!pattern.test(raw)) {
    throw new Error(
      `环境变量 ${name} 格式不对 / environment variable ${name} is malformed, got "${raw}" (e.g. "${fallback}")`,
    );
  }
  return raw;
}

function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(
      `环境变量 ${name} 必须是非负整数 / environment variable ${name} must be a non-negative integer, got "${raw}"`,
    );
  }
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    port: intFromEnv(env, 'PORT', 8080),
    host: env.HOST || '127.0.0.1',
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: path.resolve(env.DATA_DIR || '.shutong'),
    logLevel: env.LOG_LEVEL || 'info',
    sessionTtlHours: intFromEnv(env, 'SESSION_TTL_HOURS', 12),
    demoPassword: env.DEMO_PASSWORD || 'shutong-demo',
    seedDemo: env.SEED_DEMO !== 'false',
    bodyLimitBytes: intFromEnv(env, 'BODY_LIMIT_BYTES', 1_048_576),
    uploadLimitBytes: intFromEnv(env, 'UPLOAD_LIMIT_BYTES', 4 * 1024 ** 3),
    publicUrl: env.PUBLIC_URL ? env.PUBLIC_URL.replace(/\/+$/, '') : undefined,
    auditKeyFile: path.resolve(
      env.AUDIT_KEY_FILE || path.join(env.DATA_DIR || '.shutong', 'audit-signing-key.pem'),
    ),
    auditSignIntervalSeconds: intFromEnv(env, 'AUDIT_SIGN_INTERVAL_SECONDS', 300),
    auditIntegrateMs: intFromEnv(env, 'AUDIT_INTEGRATE_MS', 250),
    classifyFullScanRows: intFromEnv(env, 'CLASSIFY_FULL_SCAN_ROWS', 50_000),
    classifySampleRows: intFromEnv(env, 'CLASSIFY_SAMPLE_ROWS', 20_000),
    monitorIntervalSeconds: intFromEnv(env, 'MONITOR_INTERVAL_SECONDS', 60),
    registryNoticeWorkingDays: Math.max(1, intFromEnv(env, 'REGISTRY_NOTICE_WORKING_DAYS', 10)),
    operationMaxTermYears: Math.max(1, intFromEnv(env, 'OPERATION_MAX_TERM_YEARS', 5)),
    monitorWebhookUrl: textFromEnv(env, 'MONITOR_WEBHOOK_URL', '', /^https?:\/\/[^\s]+$/) || undefined,
    monitor: {
      windowMinutes: Math.max(1, intFromEnv(env, 'MONITOR_WINDOW_MINUTES', 60)),
      baselineFactor: intFromEnv(env, 'MONITOR_BASELINE_FACTOR', 5),
      baselineMinRows: intFromEnv(env, 'MONITOR_BASELINE_MIN_ROWS', 1000),
      baselineWindows: Math.max(1, intFromEnv(env, 'MONITOR_BASELINE_WINDOWS', 24)),
      refusedBurst: Math.max(1, intFromEnv(env, 'MONITOR_REFUSED_BURST', 20)),
      keyBurst: Math.max(1, intFromEnv(env, 'MONITOR_KEY_BURST', 5)),
      expiryDays: intFromEnv(env, 'MONITOR_EXPIRY_DAYS', 14),
      workingHours: textFromEnv(env, 'MONITOR_WORKING_HOURS', '08:00-18:00', /^\d{2}:\d{2}-\d{2}:\d{2}$/),
      workingDays: textFromEnv(env, 'MONITOR_WORKING_DAYS', '1-5', /^[1-7](-[1-7])?(,[1-7](-[1-7])?)*$/),
    },
  };
}
