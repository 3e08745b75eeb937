/**
 * `shutong audit …`: verify the log in the database, export and check segments, sign heads.
 * verify-export is the auditor's tool: it needs the segment file and the public key, nothing else.
 */
import * as fs from 'node:fs/promises';
import { type Command, InvalidArgumentError } from 'commander';
import type { Config } from '../core/config.ts';
import { cliCtx } from '../core/context.ts';
import type { DatabaseHandle } from '../core/db.ts';
import type { AuditSegment } from './segment.ts';
import { verifySegment } from './segment.ts';
import * as audit from './service.ts';
import type { LogProblem } from './verify.ts';

type WithDatabase = <T>(work: (database: DatabaseHandle) => Promise<T>) => Promise<T>;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError('must be a whole number ≥ 1');
  }
  return n;
}

function where(p: { position: number; through?: number }): string {
  return p.through !== undefined ? `seq ${p.position}..${p.through}` : `seq ${p.position}`;
}

function printProblems(problems: LogProblem[], total: number): void {
  for (const p of problems) console.log(`  ${where(p).padEnd(16)} ${p.kind.padEnd(14)} ${p.reason}`);
  if (total > problems.length) console.log(`  … and ${total - problems.length} more`);
}

async function readPublicKey(file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`cannot read the public key ${file}: ${(err as Error).message}`);
  }
}

export function auditCommands(program: Command, config: Config, withDatabase: WithDatabase): void {
  const group = program
    .command('audit')
    .description('the tamper-evident audit log: verify, export, sign tree heads');

  group
    .command('verify')
    .description(
      'recompute the Merkle tree from the database and check every signed head; ' +
        'prints each problem with its seq and exits 1 if there is any',
    )
    .option('--pubkey <file>', 'PEM public key the heads must be signed with (default: from AUDIT_KEY_FILE)')
    .option('--json', 'print the full report as JSON')
    .action(async (opts: { pubkey?: string; json?: boolean }) => {
      const publicKeyPem = opts.pubkey ? await readPublicKey(opts.pubkey) : undefined;
      await withDatabase(async (database) => {
        const started = Date.now();
        let lastPrint = started;
        const report = await audit.verifyLog(cliCtx(database.db, config), {
          ...(publicKeyPem ? { publicKeyPem } : {}),
          onProgress: (rows) => {
            const now = Date.now();
            if (now - lastPrint < 2000) return;
            lastPrint = now;
            const rate = Math.round(rows / ((now - started) / 1000));
            process.stderr.write(
              `  … ${rows.toLocaleString('en')} entries checked (${rate.toLocaleString('en')}/s)\n`,
            );
          },
        });
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        if (opts.json) {
          console.log(JSON.stringify(report, null, 2));
        } else {
          console.log(
            `audit log: ${report.rows} entries, root ${report.rootHash} (tree state: ${report.stateSize ?? 'unreadable'} entries)` +
              (report.pending > 0
                ? `; ${report.pending} pending (committed, not yet integrated: not checked)`
                : ''),
          );
          console.log(
            `read-only check; subtree cache: ${report.cacheNodesChecked} cached node(s) checked against the recomputed tree`,
          );
          console.log(
            `signed heads: ${report.headsTotal} (${report.headsWithValidSignature} validly signed, ` +
              `${report.headsMatched} match the entries); verified through seq ${report.verifiedSize}, ` +
              `${report.unsignedRows} newer entries not yet covered by a signed head`,
          );
          console.log(`key ${report.publicKeyFingerprint.slice(0, 16)}…, ${seconds} s`);
          if (report.ok) console.log('OK: no entry was edited, deleted, inserted or reordered');
          else {
            console.log(`FAILED: ${report.problemCount} problem(s)`);
            printProblems(report.problems, report.problemCount);
          }
        }
        if (!report.ok) process.exitCode = 1;
      });
    });

  group
    .command('export')
    .description('write entries --from..--to with a range proof against a signed head, for offline checking')
    .requiredOption('--from <seq>', 'first entry', positiveInt)
    .requiredOption('--to <seq>', 'last entry (inclusive)', positiveInt)
    .option('--out <file>', 'output file (default: standard output)')
    .action(async (opts: { from: number; to: number; out?: string }) => {
      await withDatabase(async (database) => {
        const segment = await audit.exportSegment(cliCtx(database.db, config), opts.from, opts.to);
        const text = `${JSON.stringify(segment, null, 2)}\n`;
        if (opts.out) {
          await fs.writeFile(opts.out, text, 'utf8');
          console.error(
            `wrote seq ${segment.from}..${segment.to} with proofs against the head over ${segment.head.treeSize} entries to ${opts.out}`,
          );
        } else {
          process.stdout.write(text);
        }
      });
    });

  group
    .command('verify-export')
    .description('check an exported segment offline with only the public key (no database needed)')
    .argument('<file>', 'segment written by `shutong audit export`')
    .requiredOption(
      '--pubkey <file>',
      'PEM public key (`shutong audit public-key` or GET /v1/audit/public-key)',
    )
    .action(async (file: string, opts: { pubkey: string }) => {
      const publicKeyPem = await readPublicKey(opts.pubkey);
      let segment: AuditSegment;
      try {
        segment = JSON.parse(await fs.readFile(file, 'utf8')) as AuditSegment;
      } catch (err) {
        console.log(`FAILED: cannot read ${file} as JSON: ${(err as Error).message}`);
        process.exitCode = 1;
        return;
      }
      const result = verifySegment(segment, publicKeyPem);
      if (result.ok) {
        console.log(
          `OK: seq ${segment.from}..${segment.to} are entries of the tree of ${segment.head.treeSize} ` +
            `signed at ${segment.head.timestamp}, unchanged`,
        );
        return;
      }
      console.log(`FAILED: ${result.problems.length} problem(s)`);
      for (const p of result.problems) {
        console.log(`  ${(p.position === null ? 'segment' : `seq ${p.position}`).padEnd(16)} ${p.reason}`);
      }
      process.exitCode = 1;
    });

  group
    .command('sign')
    .description('sign a tree head over the current log now')
    .action(async () => {
      await withDatabase(async (database) => {
        const head = await audit.signHead(cliCtx(database.db, config), { reason: 'cli' });
        console.log(JSON.stringify(head, null, 2));
      });
    });

  group
    .command('public-key')
    .description('print the PEM public key that checks the signed tree heads')
    .action(async () => {
      const key = await audit.platformKey(config);
      process.stdout.write(key.publicKeyPem);
      console.error(`SM2, signer ID empty; fingerprint (SM3 of the key) ${key.fingerprint}`);
    });
}
