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
  };
}
