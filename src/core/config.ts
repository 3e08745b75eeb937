import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Runtime configuration, read once from the environment. Every knob is listed in the README. */
export interface Config {
  port: number;
  host: string;
  /** postgres://… selects a PostgreSQL server; absent selects embedded PGlite in dataDir. */
  databaseUrl: string | undefined;
  /**
   * postgres://… of read replicas (e.g. HAProxy's read-only port): routes marked `staleRead` read
   * there; absent, everything goes to DATABASE_URL. Needs DATABASE_URL.
   */
  databaseReadUrl: string | undefined;
  dataDir: string;
  logLevel: string;
  sessionTtlHours: number;
  demoPassword: string;
  /** Seed the demo city on the first start of an empty database. */
  seedDemo: boolean;
  bodyLimitBytes: number;
  /** Largest file accepted by an upload (streamed to the node's disk, never held in memory). */
  uploadLimitBytes: number;
  /** Memory one import's file reader may hold (IMPORT_MEMORY_MB, default 256): see src/readers MemoryBudget. */
  importMemoryMb: number;
  /** The address users reach Shutong at, for links in DCAT and CKAN views; else taken from the request. */
  publicUrl: string | undefined;
  /** The SM2 private key that signs audit tree heads; created (mode 0600) on first start. */
  auditKeyFile: string;
  /** Encrypts the key file (PBES2: PBKDF2 + AES-256-CBC PKCS#8) when set. */
  auditKeyPassphrase: string | undefined;
  /** How a new key file is encrypted when a passphrase is set: PBES2 AES-256-CBC (default) or SM4. */
  auditKeyCipher: 'aes-256-cbc' | 'sm4';
  /** How often a listening server signs a tree head when the audit log grew; 0 turns it off. */
  auditSignIntervalSeconds: number;
  /** A listening server integrates pending audit entries this often (ms), and soon after its own appends. */
  auditIntegrateMs: number;
  /** Integration refuses an entry dated more than this (ms) before the last integrated one. */
  auditClockSkewMs: number;
  /** A directory (another host's disk) every signed head is published to as a checkpoint first. */
  auditWitnessDir: string | undefined;
  /** HTTP witnesses (`shutong witness serve`) every signed head must be cosigned by first. */
  auditWitnessUrls: string[];
  /** Imports and scans judge every row up to this many; beyond it, a reservoir sample. */
  classifyFullScanRows: number;
  /** Size of that reservoir sample (rows). */
  classifySampleRows: number;
  /** How often a listening server evaluates the alert rules (src/monitor); 0 turns the timer off. */
  monitorIntervalSeconds: number;
  /** How often a listening server turns active contracts past their end into expired ones (0: never). */
  contractExpirySeconds: number;
  /** How long an Idempotency-Key's answer is kept for a retry (IDEMPOTENCY_TTL_HOURS, default 24). */
  idempotencyTtlHours: number;
  /** New alerts are POSTed here as JSON; absent, alerts are only listed. */
  monitorWebhookUrl: string | undefined;
  /**
   * The messaging gateway reminders (and the other pushed messages) are POSTed to, for each
   * recipient user; absent, messages stay in the console and nothing is queued.
   */
  messagesWebhookUrl: string | undefined;
  monitor: MonitorSettings;
  /**
   * Re-identification risk at approval of row access with masks (src/sharing): equivalence
   * classes of the served quasi-identifiers smaller than `reidK` put their records at risk; above
   * `reidRiskPercent` percent of records at risk the approval needs the security officer.
   */
  reidK: number;
  reidRiskPercent: number;
  /** Length of a registration's public notice in working days (26号: 10). */
  registryNoticeWorkingDays: number;
  /** Working days a department has to handle a bad rating (local practice: 5 to 15). */
  ratingsRectifyWorkingDays: number;
  /** Longest term of an authorized operation agreement in years (27号: in principle 5). */
  operationMaxTermYears: number;
  /**
   * A GeoJSON file of division boundaries (DataV's `properties.adcode`) the dashboards' maps are
   * drawn with (src/regions); absent, or unusable, the maps are schematics and say so.
   */
  regionBoundariesFile: string | undefined;
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

/**
 * Where the audit signing key lives: AUDIT_KEY_FILE; else a key a data directory already holds
 * (installations from before issue 15 keep theirs); else outside the data directory, under the
 * user's config directory, one file per data directory, so whoever holds the data
 * directory does not also hold the key that vouches for it.
 */
function auditKeyFile(env: NodeJS.ProcessEnv): string {
  if (env.AUDIT_KEY_FILE) return path.resolve(env.AUDIT_KEY_FILE);
  const dataDir = path.resolve(env.DATA_DIR || '.shutong');
  const legacy = path.join(dataDir, 'audit-signing-key.pem');
  if (fs.existsSync(legacy)) return legacy;
  const configHome = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  const which = createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  return path.join(configHome, 'shutong', `audit-signing-key-${which}.pem`);
}

function readUrl(env: NodeJS.ProcessEnv): string | undefined {
  const url = env.DATABASE_READ_URL || undefined;
  if (url && !env.DATABASE_URL) {
    throw new Error(
      '环境变量 DATABASE_READ_URL 需要同时设置 DATABASE_URL（只读副本不能单独使用）/ DATABASE_READ_URL needs DATABASE_URL: the replicas serve reads beside a primary, not alone',
    );
  }
  return url;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    port: intFromEnv(env, 'PORT', 8080),
    host: env.HOST || '127.0.0.1',
    databaseUrl: env.DATABASE_URL || undefined,
    databaseReadUrl: readUrl(env),
    dataDir: path.resolve(env.DATA_DIR || '.shutong'),
    logLevel: env.LOG_LEVEL || 'info',
    sessionTtlHours: intFromEnv(env, 'SESSION_TTL_HOURS', 12),
    demoPassword: env.DEMO_PASSWORD || 'shutong-demo',
    seedDemo: env.SEED_DEMO !== 'false',
    bodyLimitBytes: intFromEnv(env, 'BODY_LIMIT_BYTES', 1_048_576),
    uploadLimitBytes: intFromEnv(env, 'UPLOAD_LIMIT_BYTES', 4 * 1024 ** 3),
    importMemoryMb: Math.max(16, intFromEnv(env, 'IMPORT_MEMORY_MB', 256)),
    publicUrl: env.PUBLIC_URL ? env.PUBLIC_URL.replace(/\/+$/, '') : undefined,
    auditKeyFile: auditKeyFile(env),
    auditKeyPassphrase: env.AUDIT_KEY_PASSPHRASE || undefined,
    auditKeyCipher: textFromEnv(env, 'AUDIT_KEY_CIPHER', 'aes-256-cbc', /^(aes-256-cbc|sm4)$/) as
      | 'aes-256-cbc'
      | 'sm4',
    auditSignIntervalSeconds: intFromEnv(env, 'AUDIT_SIGN_INTERVAL_SECONDS', 300),
    auditIntegrateMs: intFromEnv(env, 'AUDIT_INTEGRATE_MS', 250),
    auditClockSkewMs: intFromEnv(env, 'AUDIT_CLOCK_SKEW_MS', 60_000),
    auditWitnessDir: env.AUDIT_WITNESS_DIR ? path.resolve(env.AUDIT_WITNESS_DIR) : undefined,
    auditWitnessUrls: textFromEnv(env, 'AUDIT_WITNESS_URLS', '', /^https?:\/\/[^\s,]+(,https?:\/\/[^\s,]+)*$/)
      .split(',')
      .filter((u) => u !== ''),
    classifyFullScanRows: intFromEnv(env, 'CLASSIFY_FULL_SCAN_ROWS', 50_000),
    classifySampleRows: intFromEnv(env, 'CLASSIFY_SAMPLE_ROWS', 20_000),
    monitorIntervalSeconds: intFromEnv(env, 'MONITOR_INTERVAL_SECONDS', 60),
    contractExpirySeconds: intFromEnv(env, 'CONTRACT_EXPIRY_SECONDS', 60),
    idempotencyTtlHours: Math.max(1, intFromEnv(env, 'IDEMPOTENCY_TTL_HOURS', 24)),
    reidK: Math.max(2, intFromEnv(env, 'SHARING_REID_K', 5)),
    reidRiskPercent: Math.min(100, intFromEnv(env, 'SHARING_REID_RISK_PERCENT', 5)),
    registryNoticeWorkingDays: Math.max(1, intFromEnv(env, 'REGISTRY_NOTICE_WORKING_DAYS', 10)),
    ratingsRectifyWorkingDays: Math.min(15, Math.max(5, intFromEnv(env, 'RATINGS_RECTIFY_WORKING_DAYS', 10))),
    operationMaxTermYears: Math.max(1, intFromEnv(env, 'OPERATION_MAX_TERM_YEARS', 5)),
    regionBoundariesFile: env.REGION_BOUNDARIES_FILE ? path.resolve(env.REGION_BOUNDARIES_FILE) : undefined,
    monitorWebhookUrl: textFromEnv(env, 'MONITOR_WEBHOOK_URL', '', /^https?:\/\/[^\s]+$/) || undefined,
    messagesWebhookUrl: textFromEnv(env, 'MESSAGES_WEBHOOK_URL', '', /^https?:\/\/[^\s]+$/) || undefined,
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
