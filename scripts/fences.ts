/**
 * The architecture's fences, checked as part of `npm run lint` (and held by test/fences.test.ts):
 *
 * - libraries (`src/core`, `src/standards`, `src/rules`, `src/readers`) import no capability and no
 *   part of the program;
 * - a capability reaches another only through its public files: `service.ts`, `schema.ts`, and the
 *   audit log's one writer `audit/append.ts` — never its store or other internals;
 * - capability folders import each other without cycles;
 * - every table has one owner (TABLE_OWNERS), and only the owner's folder writes it — insertInto,
 *   updateTable, deleteFrom, raw INSERT/UPDATE/DELETE, or a lifecycle declared on the table. A
 *   table written anywhere without a declared owner is a violation too, so a new table must say
 *   whose it is;
 * - another capability's table is read only where FOREIGN_READS declares it, with why it is not a
 *   call to the owner's service (selectFrom and joins, raw FROM/JOIN); a declaration no read needs
 *   any more is a violation too, so the list stays the truth.
 *
 * The program (`src/*.ts`, `src/demo/`) may import anything; tests are not fenced.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const LIBRARIES = ['core', 'standards', 'rules', 'readers'] as const;
const PROGRAM_FOLDERS = ['demo'];
const PUBLIC_FILES = ['service.ts', 'schema.ts'];
const PUBLIC_PATHS = ['audit/append.ts'];

/** Each table and the one folder that writes it (migrations/ creates them). */
export const TABLE_OWNERS: Record<string, string> = {
  organizations: 'identity',
  citizen_identities: 'identity',
  users: 'identity',
  sessions: 'identity',
  api_keys: 'identity',
  resources: 'catalog',
  resource_fields: 'catalog',
  resource_history: 'catalog',
  resource_code_counters: 'catalog',
  dataset_versions: 'ingest',
  field_classifications: 'classify',
  applications: 'sharing',
  contracts: 'sharing',
  application_letters: 'sharing',
  contract_usage: 'gateway',
  dp_settings: 'gateway',
  dp_budgets: 'gateway',
  dp_spend: 'gateway',
  dp_releases: 'gateway',
  dp_pairs: 'gateway',
  span_masked: 'gateway',
  query_templates: 'gateway',
  audit_events: 'audit',
  audit_tree_state: 'audit',
  audit_tree_heads: 'audit',
  audit_tree_nodes: 'audit',
  audit_refused: 'audit',
  audit_archives: 'audit',
  audit_archived_leaves: 'audit',
  alerts: 'monitor',
  freezes: 'monitor',
  monitor_state: 'monitor',
  monitor_counters: 'monitor',
  quality_rules: 'quality',
  quality_reports: 'quality',
  quality_alerts: 'quality',
  operation_plans: 'operation',
  operation_agreements: 'operation',
  data_products: 'operation',
  product_prices: 'operation',
  revenue_caps: 'operation',
  product_subscriptions: 'operation',
  bills: 'operation',
  registrations: 'registry',
  registry_code_counters: 'registry',
  registration_objections: 'registry',
  registration_certificates: 'registry',
  service_bundles: 'services',
  service_applications: 'services',
  service_application_steps: 'services',
  service_consents: 'services',
  service_notifications: 'services',
  service_ratings: 'ratings',
  rectification_cases: 'ratings',
  indicators: 'indicators',
  indicator_versions: 'indicators',
  report_forms: 'indicators',
  report_form_items: 'indicators',
  report_submissions: 'indicators',
  report_signoffs: 'indicators',
  indicator_values: 'indicators',
  indicator_prefills: 'indicators',
  evaluation_indexes: 'indicators',
  message_reads: 'messages',
  message_pushes: 'messages',
  jobs: 'core',
  settings: 'core',
  idempotency_keys: 'core',
  commit_markers: 'core',
  schema_migrations: 'core',
};

/**
 * The reads of another capability's tables that stay reads (folder → table → why). Everything
 * else asks the owner's service. Each reason is one of: the statement decides a request on the
 * gateway's hot path in one round trip; a join the database filters or sorts better than two
 * reads; the owner sits above the reader, so a service call would be an import cycle; a detector
 * that scans the whole platform's state at once.
 */
export const FOREIGN_READS: Record<string, Record<string, string>> = {
  audit: {
    users: 'the audit view names actors; identity writes through audit/append, so a call up would be a cycle',
    organizations:
      'the audit view names organizations; identity sits above audit (a call up would be a cycle)',
  },
  catalog: {
    organizations: 'search joins the provider to filter and sort by its name in one statement',
  },
  classify: {
    dataset_versions: 'ingest calls classification during an import (a call back would be a cycle)',
  },
  gateway: {
    contracts:
      'admission reads the contract, its version and labels and counts the call in one statement; span-masked copies follow the masks contracts serve',
    resources:
      'admission, the DP pairs and span-masked copies resolve the served version in the same statement',
    dataset_versions:
      'admission, export manifests, the DP pairs and span-masked copies read the served version’s table',
    resource_fields:
      'admission, DP budgets and span-masked copies read the grades in force on the same request',
    organizations: 'usage statistics group by consumer and name them in one statement',
  },
  monitor: {
    audit_events: 'the rule engine scans the log in order as one stream',
    dataset_versions: 'detectors read import shapes across the platform',
    resources: 'detectors and freeze targets resolve resources across the platform',
    resource_fields: 'detectors compare grades across the platform',
    field_classifications: 'detectors compare suggestions with confirmed grades',
    contracts: 'detectors scan contracts across the platform; freeze targets resolve them',
    organizations: 'freeze targets resolve organizations by id or credit code',
    users: 'freeze targets resolve users by id or username',
    api_keys: 'freeze targets resolve keys by id',
  },
  quality: {
    dataset_versions: 'evaluation reads each version’s table with whether it is the current one',
    resources: 'joined to say which version is current, in the same statement',
  },
  sharing: {
    resources:
      'the applications list is filtered by the provider in the same statement; re-identification risk reads the served version',
    dataset_versions: 're-identification risk samples the served version’s table',
  },
};

export interface Violation {
  file: string;
  line: number;
  target: string;
  rule:
    | 'library-imports-capability'
    | 'capability-internals'
    | 'imports-program'
    | 'cycle'
    | 'foreign-table-write'
    | 'foreign-table-read'
    | 'stale-read-declaration'
    | 'table-without-owner';
  message: string;
}

type Layer = { kind: 'program' } | { kind: 'library'; name: string } | { kind: 'capability'; name: string };

function layerOf(file: string): Layer | null {
  const parts = file.split('/');
  if (parts[0] !== 'src') return null;
  if (parts.length === 2) return { kind: 'program' };
  const folder = parts[1]!;
  if (PROGRAM_FOLDERS.includes(folder)) return { kind: 'program' };
  if ((LIBRARIES as readonly string[]).includes(folder)) return { kind: 'library', name: folder };
  return { kind: 'capability', name: folder };
}

// Static imports and re-exports (`… from '…'`, over several lines too), side-effect imports and import().
const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*\(?\s*['"]([^'"]+)['"]/g;

function importsOf(source: string): { spec: string; line: number }[] {
  const found: { spec: string; line: number }[] = [];
  for (const match of source.matchAll(IMPORT)) {
    const spec = match[1] ?? match[2]!;
    if (!spec.startsWith('.')) continue;
    found.push({ spec, line: source.slice(0, match.index).split('\n').length });
  }
  return found;
}

// Kysely's writers and lifecycle declarations name the table as a string; raw SQL names it after
// the verb (only known tables count there, so prose like "update the frontier" is not a write).
const QUERY_WRITE =
  /\b(?:insertInto|updateTable|deleteFrom|mergeInto)\(\s*'([a-z_]+)'|\btable:\s*'([a-z_]+)'/g;
const RAW_WRITE = /\b(?:insert\s+into|update|delete\s+from|truncate(?:\s+table)?)\s+([a-z_]+)\b/gi;

function tableWrites(file: string, source: string, owner: string): Violation[] {
  const found: Violation[] = [];
  const lineOf = (index: number) => source.slice(0, index).split('\n').length;
  const check = (table: string, index: number, declaredOnly: boolean) => {
    const expected = TABLE_OWNERS[table];
    const at = { file, line: lineOf(index), target: table };
    if (expected === undefined) {
      if (!declaredOnly) {
        found.push({
          ...at,
          rule: 'table-without-owner',
          message: `${file} writes ${table}, which has no owner in TABLE_OWNERS`,
        });
      }
    } else if (expected !== owner) {
      found.push({
        ...at,
        rule: 'foreign-table-write',
        message: `${file} writes ${table}, which only ${expected} writes; ask ${expected}/service.ts`,
      });
    }
  };
  for (const m of source.matchAll(QUERY_WRITE)) check((m[1] ?? m[2])!, m.index, false);
  for (const m of source.matchAll(RAW_WRITE)) check(m[1]!.toLowerCase(), m.index, true);
  return found;
}

// Kysely's readers name the table as a string (`'contracts as c'` too); raw SQL after FROM or JOIN.
const QUERY_READ = /\b(?:selectFrom|innerJoin|leftJoin|rightJoin|fullJoin)\(\s*'([a-z_]+)(?:\s+as\s+\w+)?'/g;
const RAW_READ = /\b(?:from|join)\s+([a-z_]+)\b/gi;

/** Comments blanked (kept line for line), so prose such as "read from contracts" is no read. */
function code(source: string): string {
  const blank = (m: string) => m.replace(/[^\n]/g, ' ');
  return source
    .replace(/\/\*[\s\S]*?\*\//g, blank)
    .replace(/(^|[^:'"`\\])\/\/[^\n]*/gm, (m, before: string) => before + blank(m.slice(before.length)));
}

function tableReads(file: string, source: string, owner: string, used: Set<string>): Violation[] {
  const found: Violation[] = [];
  const text = code(source);
  const lineOf = (index: number) => text.slice(0, index).split('\n').length;
  for (const m of [...text.matchAll(QUERY_READ), ...text.matchAll(RAW_READ)]) {
    const table = m[1]!.toLowerCase();
    const expected = TABLE_OWNERS[table];
    if (expected === undefined || expected === owner) continue;
    if (FOREIGN_READS[owner]?.[table] !== undefined) {
      used.add(`${owner}.${table}`);
      continue;
    }
    found.push({
      file,
      line: lineOf(m.index),
      target: table,
      rule: 'foreign-table-read',
      message: `${file} reads ${table}, which is ${expected}'s; ask ${expected}/service.ts (or declare why not in FOREIGN_READS)`,
    });
  }
  return found;
}

/** Checks a set of source files (repository-relative path → text); returns every fence crossed. */
export function checkFences(files: ReadonlyMap<string, string>): Violation[] {
  const violations: Violation[] = [];
  const edges = new Map<string, Map<string, { file: string; line: number; target: string }>>();
  const readsUsed = new Set<string>();
  for (const [file, source] of files) {
    if (/\.test\.ts$/.test(file)) continue;
    const from = layerOf(file);
    if (!from || from.kind === 'program') continue;
    violations.push(...tableWrites(file, source, from.name));
    if (from.kind === 'capability') violations.push(...tableReads(file, source, from.name, readsUsed));
    for (const { spec, line } of importsOf(source)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
      const to = layerOf(target);
      if (!to) continue;
      const at = { file, line, target };
      if (to.kind === 'program') {
        violations.push({
          ...at,
          rule: 'imports-program',
          message: `${file} imports the program (${target})`,
        });
      } else if (from.kind === 'library' && to.kind === 'capability') {
        violations.push({
          ...at,
          rule: 'library-imports-capability',
          message: `library ${from.name} imports capability ${to.name} (${target})`,
        });
      } else if (from.kind === 'capability' && to.kind === 'capability' && to.name !== from.name) {
        const inside = target.slice(`src/${to.name}/`.length);
        if (!PUBLIC_FILES.includes(inside) && !PUBLIC_PATHS.includes(`${to.name}/${inside}`)) {
          violations.push({
            ...at,
            rule: 'capability-internals',
            message: `${file} reaches into ${to.name}'s internals (${target}); go through ${to.name}/service.ts`,
          });
        }
        if (!edges.has(from.name)) edges.set(from.name, new Map());
        if (!edges.get(from.name)!.has(to.name)) edges.get(from.name)!.set(to.name, at);
      }
    }
  }
  for (const [folder, tables] of Object.entries(FOREIGN_READS)) {
    for (const table of Object.keys(tables)) {
      if (readsUsed.has(`${folder}.${table}`)) continue;
      violations.push({
        file: 'scripts/fences.ts',
        line: 1,
        target: `${folder}.${table}`,
        rule: 'stale-read-declaration',
        message: `FOREIGN_READS lets ${folder} read ${table}, which it no longer does: remove the declaration`,
      });
    }
  }
  for (const cycle of cyclesOf(edges)) {
    const first = edges.get(cycle[0]!)!.get(cycle[1]!)!;
    violations.push({
      ...first,
      rule: 'cycle',
      message: `capabilities import each other in a cycle: ${[...cycle, cycle[0]].join(' → ')}`,
    });
  }
  return violations;
}

/** Each elementary cycle once (depth-first over the folder graph, smallest folder name first). */
function cyclesOf(edges: Map<string, Map<string, unknown>>): string[][] {
  const cycles: string[][] = [];
  const nodes = [...edges.keys()].sort();
  for (const start of nodes) {
    const walk = (node: string, trail: string[]) => {
      for (const next of edges.get(node)?.keys() ?? []) {
        if (next === start) cycles.push(trail);
        else if (next > start && !trail.includes(next)) walk(next, [...trail, next]);
      }
    };
    walk(start, [start]);
  }
  return cycles;
}

export function sourcesOf(root: string): Map<string, string> {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', 'src'], {
    cwd: root,
    encoding: 'utf8',
  });
  const files = new Map<string, string>();
  for (const file of listed.split('\n')) {
    if (/\.(ts|mjs)$/.test(file)) {
      try {
        files.set(file, readFileSync(path.join(root, file), 'utf8'));
      } catch {
        // listed by git but deleted in the working tree
      }
    }
  }
  return files;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const violations = checkFences(sourcesOf(path.resolve(import.meta.dirname, '..')));
  for (const v of violations) console.error(`${v.file}:${v.line}  ${v.rule}  ${v.message}`);
  if (violations.length > 0) {
    console.error(`\n${violations.length} fence(s) crossed (see scripts/fences.ts for the rules)`);
    process.exit(1);
  }
  console.log(
    'fences: every import keeps the layers; every table is written by its owner and read elsewhere only where declared',
  );
}
