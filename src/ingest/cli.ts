/**
 * `shutong import <file> --resource <code>`: loads a file as a new version of a resource, with a
 * progress bar on stderr and the result as JSON on stdout. It acts as a data steward of the
 * resource's provider (`--as`, or the provider's first active steward): the command line is the
 * server's console, but the catalog rule "only the provider's stewards load its data" still holds.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import * as catalog from '../catalog/service.ts';
import type { Principal } from '../core/auth.ts';
import type { Config } from '../core/config.ts';
import { cliCtx } from '../core/context.ts';
import type { DatabaseHandle } from '../core/db.ts';
import { AppError } from '../core/errors.ts';
import type { JobProgress } from '../core/jobs.ts';
import * as identity from '../identity/service.ts';
import * as ingest from './service.ts';

type WithDatabase = <T>(work: (database: DatabaseHandle) => Promise<T>) => Promise<T>;

function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number ≥ 0');
  return Number(value);
}

function progressPrinter() {
  const started = Date.now();
  let lastLine = 0;
  const tty = process.stderr.isTTY;
  return (p: JobProgress) => {
    const percent = p.percent ?? 0;
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    const rate = ((p.bytes ?? 0) / 1024 / 1024 / seconds).toFixed(1);
    const filled = Math.round(percent / 5);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(20 - filled)}] ${percent.toFixed(1).padStart(5)}%  ${String(p.loadedRows ?? 0).padStart(10)} rows  ${rate} MB/s  ${p.badRows ?? 0} bad`;
    if (tty) process.stderr.write(`\r${bar}`);
    else if (Date.now() - lastLine > 5000 || percent >= 100) {
      lastLine = Date.now();
      process.stderr.write(`${bar}\n`);
    }
  };
}

/** The steward to act as: `--as`, or the provider's first active data steward. */
async function stewardPrincipal(
  database: DatabaseHandle,
  config: Config,
  resourceRef: string,
  username: string | undefined,
): Promise<Principal> {
  if (username) return identity.actingAs(database.db, { username });
  const resource = await catalog.getResource(cliCtx(database.db, config), resourceRef);
  return identity.actingAs(database.db, { orgId: resource.provider.id, role: 'data_steward' });
}

export function importCommand(program: Command, config: Config, withDatabase: WithDatabase): void {
  program
    .command('import')
    .description(
      'load a file (CSV/TSV, XLSX, JSON, NDJSON, Parquet; UTF-8 or GB18030) as a new version of a resource',
    )
    .argument('<file>', 'the file to load')
    .requiredOption('--resource <code>', 'resource code (or id)')
    .option('--encoding <name>', 'utf-8, gb18030 or gbk (detected when absent)')
    .addOption(
      new Option('--format <format>', 'detected from the name and content when absent').choices([
        'csv',
        'xlsx',
        'json',
        'ndjson',
        'parquet',
      ]),
    )
    .option('--delimiter <char>', 'CSV delimiter (detected when absent)')
    .option('--sheet <name-or-number>', 'XLSX sheet (the first when absent)')
    .option('--max-errors <n>', 'bad rows tolerated before the import fails', wholeNumber, 0)
    .option('--accept-inferred', 'when the resource has no fields yet, adopt the inferred ones')
    .option('--allow-empty', 'make a version of no rows (a header-only file) current')
    .option('--as <username>', "the data steward to act as (default: the provider's first active steward)")
    .action(
      async (
        file: string,
        opts: {
          resource: string;
          encoding?: string;
          format?: ingest.ImportOptions['format'];
          delimiter?: string;
          sheet?: string;
          maxErrors: number;
          acceptInferred?: boolean;
          allowEmpty?: boolean;
          as?: string;
        },
      ) => {
        await withDatabase(async (database) => {
          await ingest.sweepAbandonedImports(database.db, { allForeign: database.kind === 'embedded' });
          const principal = await stewardPrincipal(database, config, opts.resource, opts.as);
          const ctx = cliCtx(database.db, config, principal);
          const options: ingest.ImportOptions = {
            maxErrors: opts.maxErrors,
            adoptInferredFields: opts.acceptInferred ?? false,
            allowEmpty: opts.allowEmpty ?? false,
            onProgress: progressPrinter(),
          };
          if (opts.encoding) options.encoding = opts.encoding;
          if (opts.format) options.format = opts.format;
          if (opts.delimiter) options.delimiter = opts.delimiter;
          if (opts.sheet) options.sheet = /^\d+$/.test(opts.sheet) ? Number(opts.sheet) : opts.sheet;
          try {
            const prepared = await ingest.prepareImport(ctx, opts.resource, file, options);
            const result = await prepared.run();
            if (process.stderr.isTTY) process.stderr.write('\n');
            console.log(JSON.stringify(result, null, 2));
          } catch (error) {
            if (process.stderr.isTTY) process.stderr.write('\n');
            if (error instanceof AppError && error.code === 'FIELDS_REQUIRED') {
              console.error(
                'The resource has no fields yet. Inferred from the file (adopt them with --accept-inferred):',
              );
              for (const f of error.details.proposedFields as ingest.ProposedField[]) {
                console.error(`  ${f.name.padEnd(24)} ${f.dataType.padEnd(10)} ${f.label}`);
              }
            }
            throw error;
          }
        });
      },
    );
}
