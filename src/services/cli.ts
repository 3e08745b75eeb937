/**
 * `shutong services savings`: what each bundle saves the citizen, computed from the bundle
 * definitions and the contracts in force today (the same numbers as GET /v1/services/savings).
 */
import type { Command } from 'commander';
import type { Config } from '../core/config.ts';
import { cliCtx } from '../core/context.ts';
import type { DatabaseHandle } from '../core/db.ts';
import { allSavings, type SavingsLine } from './service.ts';

const COLUMNS: Array<[string, (l: SavingsLine) => string | number]> = [
  ['bundle', (l) => l.code],
  ['state', (l) => l.state],
  ['steps', (l) => l.savings.steps],
  ['departments', (l) => l.savings.departments],
  ['fields separately', (l) => l.savings.separateFields],
  ['merged form', (l) => l.savings.mergedFields],
  ['exempted', (l) => l.savings.exemptedFields],
  ['still asked', (l) => l.savings.askedFields],
  ['entries not asked', (l) => l.savings.fieldsNotAsked],
  ['materials exempted', (l) => l.savings.materialsExempted],
  ['counters avoided', (l) => l.savings.countersAvoided],
  [
    'working days (sum → chain)',
    (l) => `${l.savings.sequentialWorkingDays} → ${l.savings.bundleWorkingDays}`,
  ],
];

export function savingsTable(lines: SavingsLine[]): string {
  const rows = [
    COLUMNS.map(([name]) => name),
    ...lines.map((l) => COLUMNS.map(([, cell]) => String(cell(l)))),
  ];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const text = rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
  return [...text, ...lines.map((l) => `${l.code}: ${l.name}`)].join('\n');
}

export function servicesCommands(
  program: Command,
  config: Config,
  withDatabase: <T>(work: (database: DatabaseHandle) => Promise<T>) => Promise<T>,
): void {
  const group = program.command('services').description('"get one thing done" service bundles');
  group
    .command('savings')
    .description(
      'materials and counters each bundle saves the citizen, from its definition and the contracts in force',
    )
    .option('--bundle <code>', 'only this bundle')
    .option('--json', 'print JSON instead of a table')
    .action(async (opts: { bundle?: string; json?: boolean }) => {
      await withDatabase(async (database) => {
        const all = await allSavings(cliCtx(database.db, config));
        const lines = opts.bundle ? all.filter((l) => l.code === opts.bundle) : all;
        if (opts.bundle && lines.length === 0) {
          console.error(`shutong: no bundle ${opts.bundle}`);
          process.exitCode = 2;
          return;
        }
        console.log(opts.json ? JSON.stringify(lines, null, 2) : savingsTable(lines));
      });
    });
}
