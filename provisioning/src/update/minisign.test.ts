import test from 'ava';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  formatPublicKey,
  parsePublicKeys,
  parseSecretKey,
  parseSignature,
  signDetached,
  verifyDetached,
} from './minisign.js';

// The TEST key pair and vector made once with Debian's minisign 0.11 (fixtures/update/README.md): test only.
const fx = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/update');
const read = (n: string): string => readFileSync(join(fx, n), 'utf8');
const pubText = read('test-only-minisign.pub');
const vector = readFileSync(join(fx, 'vector.txt'));
const vectorSig = read('vector.txt.minisig');

test('a signature made by Debian minisign verifies in node:crypto, trusted comment included', (t) => {
  const keys = parsePublicKeys(pubText);
  t.is(keys.length, 1);
  // minisign prints the id as a hex number (no leading zeros)
  const printed = /public key ([0-9A-F]+)/.exec(pubText)![1]!;
  t.is(BigInt(`0x${printed}`), BigInt(`0x${keys[0]!.keyId}`));
  const r = verifyDetached(vector, vectorSig, keys);
  t.deepEqual(r, { ok: true, keyId: keys[0]!.keyId, trustedComment: 'lightnode 0.0.0-test amd64 seq=1' });
});

test('tampered data, trusted comment or signature, and an untrusted key are told apart', (t) => {
  const keys = parsePublicKeys(pubText);
  const bad = Buffer.from(vector);
  bad[3] = bad[3]! ^ 1;
  t.like(verifyDetached(bad, vectorSig, keys), { ok: false, reason: 'bad-signature' });
  const tc = vectorSig.replace('seq=1', 'seq=9');
  t.like(verifyDetached(vector, tc, keys), { ok: false, reason: 'bad-trusted-comment' });
  t.like(verifyDetached(vector, 'untrusted comment: x\nnot base64!\n', keys), { ok: false, reason: 'malformed' });
  t.like(verifyDetached(vector, '', keys), { ok: false, reason: 'malformed' });
  const sk = parseSecretKey(read('test-only-minisign.key'));
  const other = parsePublicKeys(
    formatPublicKey({ keyIdBytes: Buffer.from('0102030405060708', 'hex'), publicKeyBytes: sk.publicKeyBytes }),
  );
  t.like(verifyDetached(vector, vectorSig, other), { ok: false, reason: 'untrusted' });
});

test('the secret key as minisign -G -W writes it: layout, key id, public half; our signature verifies', (t) => {
  const sk = parseSecretKey(read('test-only-minisign.key'));
  const [pk] = parsePublicKeys(pubText);
  t.is(sk.keyId, pk!.keyId);
  t.is(formatPublicKey(sk).split('\n')[1], pubText.trim().split('\n')[1]);
  const data = Buffer.from('a bundle');
  const sig = signDetached(data, sk, 'lightnode 1.2.3 arm64 seq=7');
  t.is(parseSignature(sig).algorithm, 'ED');
  t.deepEqual(verifyDetached(data, sig, [pk!]), {
    ok: true,
    keyId: sk.keyId,
    trustedComment: 'lightnode 1.2.3 arm64 seq=7',
  });
  // deterministic (Ed25519)
  t.is(signDetached(data, sk, 'lightnode 1.2.3 arm64 seq=7'), sig);
});

test('several keys concatenated; comment lines skipped; garbage named by line', (t) => {
  const sk = parseSecretKey(read('test-only-minisign.key'));
  const other = formatPublicKey({ keyIdBytes: Buffer.alloc(8, 7), publicKeyBytes: sk.publicKeyBytes });
  const keys = parsePublicKeys(other + pubText);
  t.is(keys.length, 2);
  t.true(verifyDetached(vector, vectorSig, keys).ok);
  t.throws(() => parsePublicKeys(pubText + 'garbage\n'), { message: /line 3/ });
  t.throws(() => parsePublicKeys(''), { message: /no public key/ });
});

test('an encrypted or truncated secret key is refused', (t) => {
  const lines = read('test-only-minisign.key').split('\n');
  const raw = Buffer.from(lines[1]!, 'base64');
  raw.writeUInt16BE(0x5363, 2); // kdf "Sc": scrypt-encrypted
  t.throws(() => parseSecretKey(`${lines[0]}\n${raw.toString('base64')}\n`), { message: /encrypted/ });
  t.throws(() => parseSecretKey(`${lines[0]}\n${raw.subarray(0, 100).toString('base64')}\n`), { message: /158 bytes/ });
  const flipped = Buffer.from(lines[1]!, 'base64');
  flipped[100] = flipped[100]! ^ 0xff; // inside the public half of the secret key
  t.throws(() => parseSecretKey(`${lines[0]}\n${flipped.toString('base64')}\n`), { message: /does not match/ });
});
