import { describe, expect, it } from 'vitest';
import { checkFences, sourcesOf } from '../scripts/fences.ts';

const root = new URL('..', import.meta.url).pathname;

/** The real tree with one file's text replaced or added. */
function treeWith(file: string, text: string): Map<string, string> {
  const files = sourcesOf(root);
  files.set(file, text);
  return files;
}

describe('architecture fences (npm run lint)', () => {
  it('holds for the tree as it is', () => {
    expect(checkFences(sourcesOf(root))).toEqual([]);
  });

  it('refuses a capability importing another capability’s store', () => {
    const gateway = sourcesOf(root).get('src/gateway/service.ts')!;
    const violations = checkFences(
      treeWith('src/gateway/service.ts', `import { ingestStore } from '../ingest/store.ts';\n${gateway}`),
    );
    expect(violations).toEqual([
      expect.objectContaining({
        file: 'src/gateway/service.ts',
        line: 1,
        rule: 'capability-internals',
        target: 'src/ingest/store.ts',
      }),
    ]);
  });

  it('refuses a read of another capability’s table that FOREIGN_READS does not declare', () => {
    const ratings = sourcesOf(root).get('src/ratings/service.ts')!;
    const violations = checkFences(
      treeWith(
        'src/ratings/service.ts',
        `${ratings}\n// prose that reads from contracts is no read\nexport const peek = (db: any) =>\n  db.selectFrom('contracts as c').selectAll().execute();\nexport const raw = sql\`SELECT 1 FROM users JOIN api_keys ON true\`;\n`,
      ),
    );
    const lines = ratings.split('\n').length;
    expect(violations.map((v) => [v.rule, v.target, v.line])).toEqual([
      ['foreign-table-read', 'contracts', lines + 3],
      ['foreign-table-read', 'users', lines + 4],
      ['foreign-table-read', 'api_keys', lines + 4],
    ]);
    expect(violations[0]!.message).toMatch(/ask sharing\/service\.ts/);
  });

  it('refuses a declaration of a foreign read that no code makes any more', () => {
    const violations = checkFences(treeWith('src/audit/store.ts', 'export const nothing = 1;\n'));
    expect(violations.map((v) => [v.rule, v.target])).toEqual([
      ['stale-read-declaration', 'audit.users'],
      ['stale-read-declaration', 'audit.organizations'],
    ]);
  });

  it('refuses a library importing a capability, also through a multi-line or dynamic import', () => {
    const violations = checkFences(
      treeWith(
        'src/rules/leak.ts',
        "import {\n  a,\n  b,\n} from '../catalog/service.ts';\nexport const c = () => import('../audit/append.ts');\n",
      ),
    );
    expect(violations.map((v) => [v.rule, v.target, v.line])).toEqual([
      ['library-imports-capability', 'src/catalog/service.ts', 1],
      ['library-imports-capability', 'src/audit/append.ts', 5],
    ]);
  });

  it('refuses a cycle between capability folders even through their services', () => {
    for (const text of [
      "import { x } from '../catalog/service.ts';\nexport { x };\n",
      "import '../catalog/service.ts';\n",
    ]) {
      const cyclic = checkFences(treeWith('src/identity/extra.ts', text));
      expect(cyclic.map((v) => v.rule)).toEqual(['cycle']);
      expect(cyclic[0]!.message).toMatch(/catalog → identity → catalog/);
    }
  });

  it('lets the program and tests import anything', () => {
    expect(
      checkFences(treeWith('src/demo/extra.ts', "import { ingestStore } from '../ingest/store.ts';\n")),
    ).toEqual([]);
    expect(
      checkFences(treeWith('src/gateway/x.test.ts', "import { ingestStore } from '../ingest/store.ts';\n")),
    ).toEqual([]);
  });
});

describe('one owner per table (npm run lint)', () => {
  it('refuses a write to another capability’s table, by query builder, raw SQL or lifecycle', () => {
    for (const text of [
      "export const f = (db) => db.updateTable('contracts').set({ state: 'expired' }).execute();\n",
      'export const f = (db) => sql`UPDATE resources SET grade = $1`.execute(db);\n',
      "export const L = { objectType: 'user', table: 'users', transitions: [] };\n",
    ]) {
      const violations = checkFences(treeWith('src/gateway/extra.ts', text));
      expect(violations.map((v) => v.rule)).toEqual(['foreign-table-write']);
    }
  });

  it('refuses a written table that has no declared owner, and allows the owner', () => {
    expect(
      checkFences(
        treeWith('src/gateway/extra.ts', "export const f = (db) => db.insertInto('fresh_table');\n"),
      ).map((v) => v.rule),
    ).toEqual(['table-without-owner']);
    expect(
      checkFences(
        treeWith('src/sharing/extra.ts', "export const f = (db) => db.updateTable('contracts');\n"),
      ),
    ).toEqual([]);
  });
});
