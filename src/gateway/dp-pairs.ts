import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { type Db, type Executor, outsideRequest } from '../core/db.ts';
import type { Database } from '../core/tables.ts';
import {
  boundedPairsSql,
  boundingOf,
  type DpSettings,
  deletionVectorSql,
  pairsValueFields,
} from '../rules/dp/index.ts';
import { buildDerived, derivedTable, derivedTableName, dropDerived, liveVersion } from './derived-tables.ts';
import type { DpSettingsTable } from './store.ts';

/**
 * Materialised bounded pairs and dropped rows (issue 14's speed goal for first queries). The row-level DP
 * statement sorts every row by privacy unit on each query the memo has not seen; the exact
 * query is a hash aggregate. For the current version of a resource with DP settings, and for
 * no group-by and each public-domain field, the bounded (unit, group) pairs — after the L∞
 * clamp and the L0 choice, unit ids dropped — are built once with CREATE TABLE … AS into the
 * `datasets` schema next to the version's table, and an unfiltered aggregate sums them
 * (`sumPairsSql`): a hash aggregate over at most one row per (unit, group). Next to them, the
 * ordinals of the rows that bounding over the whole version drops: a filtered aggregate (or one
 * under a contract's row filter) scans the rows of its filter less those (`keptRowsSql`).
 *
 * Staleness: a pairs table is keyed by (version, settings digest, group-by). A version's table
 * never changes; the digest covers every setting the bounding reads (and `PAIRS_FORMAT`, the
 * shape of the SQL), so a query under changed settings looks for another key and never reads
 * old pairs — dropping them (`refreshPairs`) is housekeeping, not what keeps answers right.
 * A query that finds no pairs, or whose pairs were dropped under it, uses the row-level
 * statement: pairs only make answers faster, never different.
 */

/** Bumped whenever the pairs' SQL or columns change: pairs built by older code are then never read. */
const PAIRS_FORMAT = 1;

export interface DpPairsTable {
  table_name: string;
  resource_id: string;
  version_id: string;
  settings_digest: string;
  group_by: string;
  row_count: string | number;
  build_ms: number;
  created_at: Date;
}
interface PairsDatabase extends Database {
  dp_pairs: DpPairsTable;
}
const pdb = (db: Executor) => db as unknown as Kysely<PairsDatabase>;

/** A dp_settings row as the mechanism reads it. */
export function settingsOf(row: DpSettingsTable): DpSettings {
  return {
    unit: row.unit_field,
    maxGroups: row.max_groups,
    maxRowsPerGroup: row.max_rows_per_group,
    bounds: row.bounds,
    domains: row.domains,
  };
}

/** SHA-256 of everything the bounding reads from the settings, in a canonical order. */
export function settingsDigest(settings: DpSettings): string {
  const sorted = <T>(o: Record<string, T>) =>
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]] as const);
  const canonical = JSON.stringify([
    PAIRS_FORMAT,
    settings.unit,
    settings.maxGroups,
    settings.maxRowsPerGroup,
    sorted(settings.bounds).map(([k, b]) => [k, b!.lower, b!.upper, b!.precision]),
    sorted(settings.domains),
  ]);
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/** The group-by sets built for: none, and each field with a public domain (sorted, for a stable order). */
export function pairGroupBys(settings: DpSettings): string[][] {
  return [
    [],
    ...Object.keys(settings.domains)
      .sort()
      .map((d) => [d]),
  ];
}

/**
 * What is built per group-by set: `pairs`, the bounded pairs an unfiltered aggregate sums; and
 * `dropped`, the rows bounding over the whole version drops as a deletion vector (one row, one
 * bytea: `deletionVectorSql`), which a filtered aggregate leaves out of its rows (`keptRowsSql`).
 */
export type PairsKind = 'pairs' | 'dropped';
const KINDS: readonly PairsKind[] = ['pairs', 'dropped'];

/** Whether a group-by set is one the tables are built for: none, or one field with a public domain. */
export function builtFor(settings: DpSettings, groupBy: string[]): boolean {
  return groupBy.length === 0 || (groupBy.length === 1 && settings.domains[groupBy[0]!] !== undefined);
}

/** The registry's `group_by` key: the fields, prefixed by the kind unless pairs (older rows stay valid). */
function registryKey(groupBy: string[], kind: PairsKind): string {
  return kind === 'pairs' ? groupBy.join(',') : `${kind}:${groupBy.join(',')}`;
}

function tableNameOf(versionId: string, digest: string, groupBy: string[], kind: PairsKind): string {
  return derivedTableName('dpp', [versionId, digest, registryKey(groupBy, kind)]);
}

/** The pairs table for this key, if built (a registry row is committed with its table). */
export async function findPairs(
  db: Executor,
  versionId: string,
  digest: string,
  groupBy: string[],
  kind: PairsKind = 'pairs',
): Promise<string | undefined> {
  const row = await pdb(db)
    .selectFrom('dp_pairs')
    .select('table_name')
    .where('version_id', '=', versionId)
    .where('settings_digest', '=', digest)
    .where('group_by', '=', registryKey(groupBy, kind))
    .executeTakeFirst();
  return row?.table_name;
}

/**
 * Builds the pairs for one key unless built (derived-tables.ts: the registry row and the table in
 * one transaction, built once across nodes). Returns the table and whether this call built it.
 */
export async function buildPairs(
  db: Db,
  input: {
    resourceId: string;
    versionId: string;
    versionTable: string;
    settings: DpSettings;
    groupBy: string[];
    kind?: PairsKind;
  },
): Promise<{ table: string; built: boolean }> {
  const kind = input.kind ?? 'pairs';
  const digest = settingsDigest(input.settings);
  const bounding = boundingOf(input.settings, input.groupBy);
  const source = derivedTable(input.versionTable);
  const query =
    kind === 'pairs'
      ? boundedPairsSql(bounding, input.settings, pairsValueFields(input.settings), {
          table: source,
          where: null,
        })
      : deletionVectorSql(bounding, input.settings, source);
  return buildDerived(db, {
    registry: 'dp_pairs',
    table: tableNameOf(input.versionId, digest, input.groupBy, kind),
    resourceId: input.resourceId,
    versionId: input.versionId,
    key: { settings_digest: digest, group_by: registryKey(input.groupBy, kind) },
    query,
  });
}

/** Drops every pairs table of a resource: tests that rewrite a version's rows in place need it. */
export async function dropPairsOf(db: Db, resourceId: string): Promise<void> {
  const rows = await pdb(db)
    .selectFrom('dp_pairs')
    .select('table_name')
    .where('resource_id', '=', resourceId)
    .execute();
  await dropDerived(
    db,
    'dp_pairs',
    rows.map((r) => r.table_name),
  );
}

/** What the last refreshes did on this node: for tests, the benchmark and operators. */
const stats = { built: 0, dropped: 0, failures: 0, lastError: null as string | null, lastBuildMs: 0 };
export function pairsBuildStats() {
  return { ...stats };
}

/**
 * Makes the resource's pairs match its current version and settings: drops every other pairs
 * table of the resource (older versions, older settings — or all, without settings), then builds
 * the missing ones for the current version, one group-by set at a time. Run after a version
 * becomes current and after settings are declared; a failure to build leaves queries on the
 * row-level statement (counted in `pairsBuildStats`), never wrong.
 */
export async function refreshPairs(db: Db, resourceId: string): Promise<void> {
  await outsideRequest(async () => {
    const live = await liveVersion(db, resourceId);
    const row = await (db as unknown as Kysely<{ dp_settings: DpSettingsTable }>)
      .selectFrom('dp_settings')
      .selectAll()
      .where('resource_id', '=', resourceId)
      .executeTakeFirst();
    const settings = row ? settingsOf(row) : null;
    const digest = settings ? settingsDigest(settings) : null;
    let query = pdb(db).selectFrom('dp_pairs').select('table_name').where('resource_id', '=', resourceId);
    if (live && digest)
      query = query.where((eb) =>
        eb.or([eb('version_id', '!=', live.id), eb('settings_digest', '!=', digest)]),
      );
    const stale = await query.execute();
    await dropDerived(
      db,
      'dp_pairs',
      stale.map((s) => s.table_name),
    );
    stats.dropped += stale.length;
    if (!live || !settings) return;
    const columns = new Set(((live.columns ?? []) as Array<{ name: string }>).map((c) => c.name));
    const needed = [settings.unit, ...Object.keys(settings.bounds)];
    for (const groupBy of pairGroupBys(settings)) {
      // A field the settings name but this version lacks: the row-level statement would fail as well.
      if (![...needed, ...groupBy].every((f) => columns.has(f))) continue;
      for (const kind of KINDS) {
        try {
          const started = performance.now();
          const { built } = await buildPairs(db, {
            resourceId,
            versionId: live.id,
            versionTable: live.table_name,
            settings,
            groupBy,
            kind,
          });
          if (built) {
            stats.built++;
            stats.lastBuildMs = Math.round(performance.now() - started);
          }
        } catch (error) {
          stats.failures++;
          stats.lastError = error instanceof Error ? error.message : String(error);
        }
      }
    }
  });
}
