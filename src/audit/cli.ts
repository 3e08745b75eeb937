/**
 * `shutong audit …`: verify the log in the database, export and check segments, sign heads.
 * verify-export is the auditor's tool: it needs the segment file and the public key, nothing else.
 */
import * as fs from 'node:fs/promises';
import { type Command, InvalidArgumentError } from 'commander';
import type { Config } from '../core/config.ts';
import { cliCtx } from '../core/context.ts';
import type { DatabaseHandle } from '../core/db.ts';
import { archiveMonths, listArchivesView } from './archive.ts';
import { parseNote } from './checkpoint.ts';
import { listAuditPartitions } from './partitions.ts';
import type { AuditSegment } from './segment.ts';
import { verifySegment } from './segment.ts';
import * as audit from './service.ts';
import type { LogProblem } from './verify.ts';
import {
  CheckpointDir,
  configuredWitnesses,
  directoryWitness,
  httpWitness,
  listWitnessed,
  startWitnessServer,
} from './witness.ts';

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function port(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || n > 65535) throw new InvalidArgumentError('must be a port number 0..65535');
  return n;
}

/** A checkpoint note saved to a file, as a witness source. */
function checkpointFile(file: string): audit.WitnessSource {
  return {
    label: `checkpoint ${file}`,
    async latest(origin) {
      const note = parseNote(await fs.readFile(file, 'utf8'));
      if (note.origin !== origin)
        throw new Error(`the checkpoint is of ${note.origin}, not of this log (${origin})`);
      return note;
    },
  };
}

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
    .option(
      '--witness-dir <dir>',
      'check against the newest checkpoint in this witness directory (repeatable)',
      collect,
    )
    .option(
      '--witness <url>',
      'check against the newest checkpoint this HTTP witness cosigned (repeatable)',
      collect,
    )
    .option('--checkpoint <file>', 'check against a checkpoint note saved earlier (repeatable)', collect)
    .option('--json', 'print the full report as JSON')
    .action(
      async (opts: {
        pubkey?: string;
        json?: boolean;
        witnessDir?: string[];
        witness?: string[];
        checkpoint?: string[];
      }) => {
        const publicKeyPem = opts.pubkey ? await readPublicKey(opts.pubkey) : undefined;
        const given: audit.WitnessSource[] = [
          ...(opts.witnessDir ?? []).map(directoryWitness),
          ...(opts.witness ?? []).map(httpWitness),
          ...(opts.checkpoint ?? []).map(checkpointFile),
        ];
        const witnesses = given.length > 0 ? given : configuredWitnesses(config);
        if (!opts.pubkey) {
          console.error(
            `warning: checking heads with the public half of the local key file ${config.auditKeyFile}; ` +
              'whoever can write that file can re-sign a rewritten log. Give --pubkey with the key published elsewhere.',
          );
        }
        await withDatabase(async (database) => {
          const started = Date.now();
          let lastPrint = started;
          const report = await audit.verifyLog(cliCtx(database.db, config), {
            ...(publicKeyPem ? { publicKeyPem } : {}),
            witnesses,
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
            if (report.archivedLeaves > 0) {
              console.log(
                `archived months: the first ${report.archivedLeaves} entries from the hashes kept when they were archived ` +
                  `(their entries are in the archive's files: shutong audit verify-export)` +
                  (report.headsArchived > 0
                    ? `; ${report.headsArchived} head(s) inside them not checkable here`
                    : ''),
              );
            }
            console.log(
              `signed heads: ${report.headsTotal} (${report.headsWithValidSignature} validly signed, ` +
                `${report.headsMatched} match the entries); verified through seq ${report.verifiedSize}, ` +
                `${report.unsignedRows} newer entries not yet covered by a signed head`,
            );
            console.log(
              `key ${report.publicKeyFingerprint.slice(0, 16)}…, origin ${report.origin}, ${seconds} s`,
            );
            for (const w of report.witnesses) console.log(`witness: ${w.source}: ${w.status}: ${w.message}`);
            if (!report.rollbackDetectable) {
              console.log(
                'WARNING: no witness consulted: a rollback (newest entries and heads deleted together) or a rewrite ' +
                  'after the last retained head cannot be detected. Use --witness-dir, --witness or --checkpoint.',
              );
            }
            if (report.ok) console.log('OK: no entry was edited, deleted, inserted or reordered');
            else {
              console.log(`FAILED: ${report.problemCount} problem(s)`);
              printProblems(report.problems, report.problemCount);
            }
          }
          if (!report.ok) process.exitCode = 1;
        });
      },
    );

  group
    .command('partitions')
    .description('list the audit log partitions (one per month of Beijing time) and the archived months')
    .action(async () => {
      await withDatabase(async (database) => {
        for (const p of await listAuditPartitions(database.db)) {
          const range =
            p.from && p.to ? `${p.from.toISOString()} .. ${p.to.toISOString()}` : 'DEFAULT (any other time)';
          console.log(`${p.name.padEnd(24)} ${range}  ~${p.rows.toLocaleString('en')} rows`);
        }
        for (const a of await listArchivesView(database.db)) console.log(a);
      });
    });

  group
    .command('archive')
    .description(
      'export every month before --before to segment files with proofs, check each file read back, ' +
        'then drop those months from the database (what proofs and verification need is kept)',
    )
    .requiredOption('--before <YYYY-MM>', 'archive the months before this one (Beijing time)')
    .requiredOption('--out <dir>', 'directory for the files (never overwritten)')
    .action(async (opts: { before: string; out: string }) => {
      await withDatabase(async (database) => {
        const result = await archiveMonths(cliCtx(database.db, config), {
          before: opts.before,
          dir: opts.out,
          onProgress: (message) => console.error(`  … ${message}`),
        });
        if (result.months.length === 0) {
          console.log(`nothing to archive before ${opts.before}`);
          return;
        }
        console.log(
          `archived ${result.months.join(', ')}: seq ${result.firstSeq}..${result.lastSeq}` +
            (result.refused > 0 ? `, ${result.refused} refused entr(ies) kept in a file of their own` : ''),
        );
        for (const f of result.files) console.log(`  ${f.name}  ${f.bytes} bytes  SM3 ${f.sm3}`);
        console.log('check a file offline: shutong audit verify-export <file> --pubkey <public key>');
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

/** `shutong witness …`: run a witness for another log, list what it cosigned. */
export function witnessCommands(program: Command): void {
  const group = program
    .command('witness')
    .description("witness another Shutong's audit log: check and cosign its checkpoints");
  group
    .command('serve')
    .description('listen for checkpoints over HTTP, cosign those consistent with the last one held')
    .requiredOption('--dir <dir>', 'where this witness keeps its key (witness-key.pem) and the checkpoints')
    .option('--port <port>', 'TCP port', port, 8090)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--name <name>', 'the name in its cosignatures (default: from its key)')
    .addHelpText(
      'after',
      '\nWITNESS_KEY_PASSPHRASE encrypts witness-key.pem (read from the environment, never a flag that\n' +
        'ps would show); WITNESS_KEY_CIPHER=sm4 (SM4 + PBKDF2-HMAC-SM3 + HMAC-SM3) or aes-256-cbc (default,\n' +
        'PBES2 PKCS#8) chooses how a new key file is written; either is read.',
    )
    .action(async (opts: { dir: string; port: number; host: string; name?: string }) => {
      const cipher = process.env.WITNESS_KEY_CIPHER || 'aes-256-cbc';
      if (cipher !== 'aes-256-cbc' && cipher !== 'sm4') {
        throw new Error(
          `环境变量 WITNESS_KEY_CIPHER 只能是 sm4 或 aes-256-cbc / WITNESS_KEY_CIPHER must be sm4 or aes-256-cbc, got "${cipher}"`,
        );
      }
      const server = await startWitnessServer({
        dir: opts.dir,
        port: opts.port,
        host: opts.host,
        ...(opts.name ? { name: opts.name } : {}),
        key: { passphrase: process.env.WITNESS_KEY_PASSPHRASE || undefined, cipher },
      });
      console.log(`witness ${server.name} listening on ${server.url}`);
      const stop = async () => {
        await server.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });
  group
    .command('list')
    .description('the logs a witness directory holds: newest size, root and time, number of checkpoints')
    .requiredOption('--dir <dir>', 'the witness directory (of `witness serve` or AUDIT_WITNESS_DIR)')
    .option('--json', 'print JSON')
    .action(async (opts: { dir: string; json?: boolean }) => {
      const logs = await listWitnessed(new CheckpointDir(opts.dir));
      if (opts.json) {
        console.log(JSON.stringify(logs, null, 2));
        return;
      }
      if (logs.length === 0) console.log('no checkpoints');
      for (const l of logs) {
        console.log(`${l.origin}  size ${l.size}  root ${l.rootHash}  at ${l.at}  (${l.count} checkpoints)`);
      }
    });
}
