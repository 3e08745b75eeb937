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
  };
}
