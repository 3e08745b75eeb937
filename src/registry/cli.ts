/**
 * `shutong registry …`. verify-certificate is the offline check: the certificate file and the
 * registry's public key (GET /v1/registry/public-key), no server, no database.
 */
import type { Command } from 'commander';
import { readSignedFile } from '../core/signed-document.ts';
import { verifyCertificate } from './certificate.ts';

const REASONS: Record<string, string> = {
  malformed: 'not a Shutong registration certificate',
  wrong_key: 'not signed by this key (fingerprint differs or the key cannot be read)',
  bad_signature: 'the signature does not match the content: altered or forged',
};

/** Returns the exit code and the lines to print. */
export async function verifyCertificateFile(
  file: string,
  pubkeyFile: string,
): Promise<{ code: number; lines: string[] }> {
  const read = await readSignedFile(file, pubkeyFile);
  if ('code' in read) return read;
  const { document, publicKeyPem } = read;
  const check = verifyCertificate(document, publicKeyPem);
  if (check.valid) {
    const c = (document as { certificate: Record<string, unknown> }).certificate;
    const subject = c.subject as { name?: string } | undefined;
    return {
      code: 0,
      lines: [
        `OK: ${check.code} version ${check.version} (${String(c.status)}), ${subject?.name ?? ''}, registered on ${String(c.registeredOn)}, valid until ${String(c.validUntil)}`,
        'Signature valid. Whether this is still the current version: the public page or POST /v1/registry/certificates/verify.',
      ],
    };
  }
  return { code: 1, lines: [`FAILED: ${REASONS[check.reason] ?? check.reason}`] };
}

export function registryCommands(program: Command): void {
  const group = program.command('registry').description('public data registry: certificates');
  group
    .command('verify-certificate')
    .description('check a registration certificate offline with only the public key (no database needed)')
    .argument('<file>', 'certificate JSON (GET /v1/registry/certificates/{code}/versions/{n})')
    .requiredOption('--pubkey <file>', 'PEM public key (GET /v1/registry/public-key)')
    .action(async (file: string, opts: { pubkey: string }) => {
      const result = await verifyCertificateFile(file, opts.pubkey);
      for (const line of result.lines) console.log(line);
      process.exitCode = result.code;
    });
}
