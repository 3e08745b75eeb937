/**
 * This node's memo of EXACT bounded aggregates (issue 14): the rows the bounding SQL returns,
 * before any noise, keyed by contract, dataset version, SQL text and parameters. A served
 * version's table never changes once it is ready, and everything else the rows depend on — the
 * settings (bounds, L0, L∞, domains), the contract's row filter, the request's filter and
 * group-by — is in the SQL text or its parameters, so an entry never goes stale: a new version
 * or new settings make a new key, and old keys age out of the LRU.
 *
 * Privacy: only the exact, noise-free input of the mechanism is kept, never a released (noisy)
 * answer; every release still spends ρ and draws fresh noise, so a hit changes the time a
 * release takes and nothing about its distribution. The contract is part of the key so that
 * how fast an answer comes cannot tell one consumer what another has asked.
 */
export interface MemoLimits {
  entries: number;
  bytes: number;
}

export const DEFAULT_MEMO_LIMITS: MemoLimits = { entries: 256, bytes: 16 * 2 ** 20 };

type ExactRows = ReadonlyArray<Readonly<Record<string, unknown>>>;

interface Entry {
  rows: ExactRows;
  bytes: number;
}

/** A rough size in memory: UTF-16 text of the key and the rows, plus per-row overhead. */
function sizeOf(key: string, rows: ExactRows): number {
  let bytes = 2 * key.length + 64;
  for (const row of rows) bytes += 2 * JSON.stringify(row).length + 64;
  return bytes;
}

export class ExactMemo {
  private readonly entries = new Map<string, Entry>();
  /** Identical queries running at once share one execution. */
  private readonly running = new Map<string, Promise<ExactRows>>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly limits: MemoLimits = DEFAULT_MEMO_LIMITS) {}

  static key(parts: { contractId: string; versionId: string; sql: string; parameters: readonly unknown[] }) {
    const params = JSON.stringify(parts.parameters, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
    return JSON.stringify([parts.contractId, parts.versionId, parts.sql, params]);
  }

  /** The exact rows for `key`, running `compute` only when this node has none. */
  async get(key: string, compute: () => Promise<Array<Record<string, unknown>>>): Promise<ExactRows> {
    const entry = this.entries.get(key);
    if (entry) {
      this.hits++;
      // Most recently used last: Map keeps insertion order.
      this.entries.delete(key);
      this.entries.set(key, entry);
      return entry.rows;
    }
    const pending = this.running.get(key);
    if (pending) {
      this.hits++;
      return pending;
    }
    this.misses++;
    const run = compute()
      .then((rows) => {
        const frozen: ExactRows = Object.freeze(rows.map((r) => Object.freeze({ ...r })));
        this.store(key, frozen);
        return frozen;
      })
      .finally(() => this.running.delete(key));
    this.running.set(key, run);
    return run;
  }

  private store(key: string, rows: ExactRows): void {
    const bytes = sizeOf(key, rows);
    // One answer may not crowd out the rest: an entry above a quarter of the budget is not kept.
    if (bytes > this.limits.bytes / 4) return;
    const previous = this.entries.get(key);
    if (previous) this.bytes -= previous.bytes;
    this.entries.set(key, { rows, bytes });
    this.bytes += bytes;
    for (const [oldest, e] of this.entries) {
      if (this.entries.size <= this.limits.entries && this.bytes <= this.limits.bytes) break;
      this.entries.delete(oldest);
      this.bytes -= e.bytes;
    }
  }

  stats() {
    return { entries: this.entries.size, bytes: this.bytes, hits: this.hits, misses: this.misses };
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}
