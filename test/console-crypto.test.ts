import * as crypto from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeEntry as serverEncodeEntry } from '../src/audit/entry.ts';
import { inclusionProof, rootOf, leafHash as serverLeafHash } from '../src/audit/merkle.ts';
import { generateSigningKeyPair, signTreeHead, sm2Sign } from '../src/audit/signing.ts';
import {
  encodeEntry,
  entryLeafHashHex,
  rootFromInclusionProof,
  verifyInclusionHex,
} from '../web/src/lib/merkle.ts';
import {
  parsePublicKeyPem,
  sm2Verify,
  sm2VerifyBase64,
  verifyTreeHeadSignature,
} from '../web/src/lib/sm2.ts';
import { fromHex, sm3, toHex } from '../web/src/lib/sm3.ts';

// The console checks audit proofs and signed heads in the browser (SM3 and SM2 from the maintained
// sm-crypto-v2, strict parsing and the Merkle code our own); these tests hold it to the server's
// node:crypto implementation.

describe('console SM3', () => {
  it('matches the GB/T 32905 test vectors', () => {
    expect(toHex(sm3(new TextEncoder().encode('abc')))).toBe(
      '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0',
    );
    expect(toHex(sm3(new TextEncoder().encode('abcd'.repeat(16))))).toBe(
      'debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732',
    );
  });

  it('equals node:crypto on any input, across block boundaries', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        expect(toHex(sm3(data))).toBe(crypto.createHash('sm3').update(data).digest('hex'));
      }),
      { numRuns: 300 },
    );
  });
});

describe('console audit entry encoding and inclusion proofs', () => {
  const json = fc.jsonValue({ maxDepth: 3 });

  it('encodes and hashes an entry exactly as the server does', () => {
    fc.assert(
      fc.property(
        fc.record({
          seq: fc.integer({ min: 1, max: 1_000_000 }),
          time: fc
            .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
            .map((d) => d.toISOString()),
          actorId: fc.option(fc.string(), { nil: null }),
          orgId: fc.option(fc.string(), { nil: null }),
          action: fc.string({ minLength: 1 }),
          objectType: fc.string({ minLength: 1 }),
          objectId: fc.option(fc.string(), { nil: null }),
          requestId: fc.option(fc.string(), { nil: null }),
          details: json,
        }),
        (entry) => {
          const roundTripped = JSON.parse(JSON.stringify(entry));
          expect(Buffer.from(encodeEntry(roundTripped)).toString('utf8')).toBe(
            serverEncodeEntry(roundTripped).toString('utf8'),
          );
          expect(entryLeafHashHex(roundTripped)).toBe(
            serverLeafHash(serverEncodeEntry(roundTripped)).toString('hex'),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('accepts every server inclusion proof and rejects altered ones', () => {
    for (const size of [1, 2, 3, 5, 8, 13, 31, 64, 100]) {
      const leaves = Array.from({ length: size }, (_, i) => serverLeafHash(Buffer.from(`leaf ${i}`)));
      const root = rootOf(leaves).toString('hex');
      for (let index = 0; index < size; index++) {
        const proof = inclusionProof(leaves, index, size).map((p) => p.toString('hex'));
        const leaf = leaves[index]!.toString('hex');
        expect(verifyInclusionHex(index, size, leaf, proof, root), `${index}/${size}`).toBe(true);
        const other = leaves[(index + 1) % size]!.toString('hex');
        if (size > 1) expect(verifyInclusionHex(index, size, other, proof, root)).toBe(false);
        if (proof.length > 0) {
          const bent = [...proof];
          bent[0] = bent[0]!.replace(/^./, (c) => (c === '0' ? '1' : '0'));
          expect(verifyInclusionHex(index, size, leaf, bent, root)).toBe(false);
          expect(
            rootFromInclusionProof(index, size, fromHex(leaf), [...proof.map(fromHex), fromHex(leaf)]),
          ).toBe(null);
        }
      }
    }
  });
});

describe('console SM2 tree-head verification', () => {
  it('verifies heads the server signs and refuses altered heads or another key', () => {
    const keys = generateSigningKeyPair();
    const other = generateSigningKeyPair();
    const key = parsePublicKeyPem(keys.publicKeyPem);
    for (let i = 0; i < 5; i++) {
      const head = signTreeHead(
        {
          treeSize: 1000 + i,
          rootHash: crypto.randomBytes(32).toString('hex'),
          timestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
        },
        keys.privateKeyPem,
      );
      expect(verifyTreeHeadSignature(head, key)).toBe(true);
      expect(verifyTreeHeadSignature({ ...head, treeSize: head.treeSize + 1 }, key)).toBe(false);
      expect(verifyTreeHeadSignature(head, parsePublicKeyPem(other.publicKeyPem))).toBe(false);
    }
  });

  it('verifies the independent known-answer signature and not a tampered message', () => {
    const pem = [
      '-----BEGIN PUBLIC KEY-----',
      'MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAEJ7o+6JndeusEOQFDwONg3WA0Iq2n',
      'Qwy1KT+oFeSDfvKdVB25PhdnElR5MiA0ZgbswRYoVwq5N/Vq7tQjrWhduA==',
      '-----END PUBLIC KEY-----',
    ].join('\n');
    const signature =
      'MEQCIACyXlytDjRy5eyaPeGeTQ4VVckIOws9BBtfsTd7MRLjAiAQeqX9m3h1Nr3RY0pmCx5iAjldiOhF50yT6RUhhiEnXQ==';
    const key = parsePublicKeyPem(pem);
    expect(sm2VerifyBase64(new TextEncoder().encode('shutong sm2 self-test'), signature, key)).toBe(true);
    expect(sm2VerifyBase64(new TextEncoder().encode('shutong sm2 self-test!'), signature, key)).toBe(false);
    expect(sm2VerifyBase64(new TextEncoder().encode('shutong sm2 self-test'), 'AAAA', key)).toBe(false);
  });

  it('accepts exactly what node:crypto signs, for any message', () => {
    const keys = generateSigningKeyPair();
    const key = parsePublicKeyPem(keys.publicKeyPem);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(199), (message, flip) => {
        const signature = sm2Sign(message, keys.privateKeyPem);
        expect(sm2Verify(message, signature, key)).toBe(true);
        const altered = Uint8Array.from(message.length > 0 ? message : [0]);
        altered[flip % altered.length]! ^= 1;
        if (message.length > 0) expect(sm2Verify(altered, signature, key)).toBe(false);
      }),
      { numRuns: 25 },
    );
  });

  it('gives one signature one encoding: s + n, trailing bytes and a key off the curve are refused', () => {
    const keys = generateSigningKeyPair();
    const key = parsePublicKeyPem(keys.publicKeyPem);
    const message = new TextEncoder().encode('tree head');
    const der = sm2Sign(message, keys.privateKeyPem);
    expect(sm2Verify(message, der, key)).toBe(true);
    expect(sm2Verify(message, Buffer.concat([der, Buffer.of(0)]), key)).toBe(false);
    // Re-encode with s replaced by s + n: the same curve point, a second encoding — refused.
    const rLen = der[3]!;
    const r = der.subarray(4, 4 + rLen);
    const sBytes = der.subarray(6 + rLen);
    const n = BigInt('0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123');
    const sPlusN = (BigInt(`0x${Buffer.from(sBytes).toString('hex')}`) + n).toString(16);
    const sHex = Buffer.from(sPlusN.padStart(sPlusN.length + (sPlusN.length % 2), '0'), 'hex');
    const sField = sHex[0]! & 0x80 ? Buffer.concat([Buffer.of(0), sHex]) : sHex;
    const inner = Buffer.concat([Buffer.of(2, rLen), r, Buffer.of(2, sField.length), sField]);
    expect(sm2Verify(message, Buffer.concat([Buffer.of(0x30, inner.length), inner]), key)).toBe(false);
    const spki = crypto.createPublicKey(keys.publicKeyPem).export({ type: 'spki', format: 'der' });
    spki[spki.length - 1]! ^= 1; // y changed by one bit: no longer a point of the curve
    const offCurve = `-----BEGIN PUBLIC KEY-----\n${spki.toString('base64')}\n-----END PUBLIC KEY-----`;
    expect(() => parsePublicKeyPem(offCurve)).toThrow();
  });
});
