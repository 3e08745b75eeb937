import { type Principal, SYSTEM_PRINCIPAL } from './auth.ts';
import type { Config } from './config.ts';
import type { Db } from './db.ts';

/** What a service call knows about its caller and its environment. Routes build it; services read it. */
export interface Ctx {
  db: Db;
  /**
   * The read replicas (DATABASE_READ_URL), when configured: only reads that check on the replica
   * itself that what they read is complete go there (gateway pages, `gateway/service.ts`).
   */
  replicaDb?: Db | undefined;
  config: Config;
  principal: Principal | null;
  requestId: string | null;
}

/** A context for work started at the server's command line (CLI, demo seeding). */
export function cliCtx(db: Db, config: Config, principal: Principal = SYSTEM_PRINCIPAL): Ctx {
  return { db, config, principal, requestId: null };
}
