/**
 * `shutong contracts …`. verify-agreement is the offline check of a data-use agreement the
 * platform signed (GET /v1/contracts/{id}/agreement.signed.json): the file and the platform's
 * public key (GET /v1/registry/public-key), no server, no database.
 */
import type { Command } from 'commander';
import { readSignedFile } from '../core/signed-document.ts';
import { type SignedAgreement, verifySignedAgreement } from './agreement.ts';

const REASONS: Record<string, string> = {
  malformed: 'not a Shutong signed data-use agreement',
  wrong_key: 'not signed by this key (fingerprint differs or the key cannot be read)',
  bad_signature: 'the signature does not match the content: altered or forged',
  code_mismatch: 'the verification code is not the SM3 of the terms',
};

/** Returns the exit code and the lines to print. */
export async function verifyAgreementFile(
  file: string,
  pubkeyFile: string,
): Promise<{ code: number; lines: string[] }> {
  const read = await readSignedFile(file, pubkeyFile);
  if ('code' in read) return read;
  const check = verifySignedAgreement(read.document, read.publicKeyPem);
  if (!check.valid) return { code: 1, lines: [`FAILED: ${REASONS[check.reason] ?? check.reason}`] };
  const a = (read.document as SignedAgreement).agreement;
  return {
    code: 0,
    lines: [
      `OK: agreement of contract ${check.contract} between ${a.names.provider} and ${a.names.consumer}, ${a.state} when signed at ${a.signedAt}`,
      `Verification code ${check.code}. Whether the contract is still in force: POST /v1/contracts/${check.contract}/agreement/verify.`,
    ],
  };
}

export function contractCommands(program: Command): void {
  const group = program.command('contracts').description('data-use agreements');
  group
    .command('verify-agreement')
    .description('check a signed data-use agreement offline with only the public key (no database needed)')
    .argument('<file>', 'signed agreement JSON (GET /v1/contracts/{id}/agreement.signed.json)')
    .requiredOption('--pubkey <file>', 'PEM public key (GET /v1/registry/public-key)')
    .action(async (file: string, opts: { pubkey: string }) => {
      const result = await verifyAgreementFile(file, opts.pubkey);
      for (const line of result.lines) console.log(line);
      process.exitCode = result.code;
    });
}
