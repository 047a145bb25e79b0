/**
 * minisign (https://jedisct1.github.io/minisign/) in `node:crypto`, no dependency: public keys, unencrypted secret keys
 * as `minisign -G -W` writes them, prehashed signatures (`ED`: Ed25519 over BLAKE2b-512 of the file) with a trusted
 * comment and a global signature. Pure: bytes and text in, bytes and text out (the caller reads the files).
 *
 * Layouts (checked against Debian's minisign 0.11 output, not only its documentation):
 * - public key: `untrusted comment: …` line, then base64 of `Ed` ‖ key id (8) ‖ Ed25519 public key (32) = 42 bytes.
 * - secret key: `untrusted comment: …` line, then base64 of sig alg `Ed` ‖ kdf alg (2, 0x0000 = not encrypted) ‖
 *   checksum alg `B2` ‖ kdf salt (32) ‖ opslimit (8) ‖ memlimit (8) ‖ key id (8) ‖ secret key (64: seed ‖ public
 *   key) ‖ checksum (32) = 158 bytes. minisign 0.11 `-W` leaves the checksum zero (observed), so the key is checked
 *   by deriving its public key from the seed instead.
 * - signature: `untrusted comment: …`, base64 of `ED` ‖ key id (8) ‖ Ed25519 signature (64) = 74 bytes,
 *   `trusted comment: TEXT`, base64 of the global signature (64) = Ed25519 over signature (64) ‖ TEXT.
 * The key id is the 8 bytes read little-endian, shown here as 16 hex digits (minisign drops leading zeros).
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

export interface MinisignPublicKey {
  /** 8 bytes as minisign prints them (16 upper-case hex digits, little-endian). */
  keyId: string;
  keyIdBytes: Buffer;
  key: KeyObject;
}

export interface MinisignSecretKey extends MinisignPublicKey {
  secret: KeyObject;
  publicKeyBytes: Buffer;
}

export interface MinisignSignature {
  algorithm: 'ED' | 'Ed';
  keyId: string;
  signature: Buffer;
  trustedComment: string;
  globalSignature: Buffer;
}

/** Why a key or signature text was refused (the caller wraps it into its own error code). */
export class MinisignFormatError extends Error {
  override readonly name = 'MinisignFormatError';
}

const keyIdHex = (b: Buffer): string => Buffer.from(b).reverse().toString('hex').toUpperCase();

function b64(line: string, what: string): Buffer {
  const s = line.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s)) throw new MinisignFormatError(`${what}: not base64`);
  return Buffer.from(s, 'base64');
}

function ed25519Public(raw: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

/** Parses one public key from its base64 line (the `RW…` string minisign prints). */
export function parsePublicKeyLine(line: string): MinisignPublicKey {
  const raw = b64(line, 'public key');
  if (raw.length !== 42 || raw.subarray(0, 2).toString('latin1') !== 'Ed')
    throw new MinisignFormatError(`public key: expected 42 bytes starting with "Ed", got ${raw.length} bytes`);
  const keyIdBytes = raw.subarray(2, 10);
  return { keyId: keyIdHex(keyIdBytes), keyIdBytes, key: ed25519Public(raw.subarray(10, 42)) };
}

/**
 * Parses a trusted-keys file: one or more minisign public key files concatenated (comment lines are skipped, every
 * other non-empty line must be a key). Throws `MinisignFormatError` naming the line.
 */
export function parsePublicKeys(text: string): MinisignPublicKey[] {
  const keys: MinisignPublicKey[] = [];
  text.split('\n').forEach((l, i) => {
    const s = l.trim();
    if (s === '' || s.startsWith('untrusted comment:') || s.startsWith('#')) return;
    try {
      keys.push(parsePublicKeyLine(s));
    } catch (e) {
      throw new MinisignFormatError(`line ${i + 1}: ${(e as Error).message}`);
    }
  });
  if (keys.length === 0) throw new MinisignFormatError('no public key in it');
  return keys;
}

/** Writes a public key file as minisign does. */
export function formatPublicKey(k: { keyIdBytes: Buffer; publicKeyBytes: Buffer }): string {
  const raw = Buffer.concat([Buffer.from('Ed', 'latin1'), k.keyIdBytes, k.publicKeyBytes]);
  return `untrusted comment: minisign public key ${BigInt(`0x${keyIdHex(k.keyIdBytes)}`)
    .toString(16)
    .toUpperCase()}\n${raw.toString('base64')}\n`;
}

/** Parses an unencrypted secret key file (`minisign -G -W`); an encrypted one is refused (kdf algorithm ≠ 0). */
export function parseSecretKey(text: string): MinisignSecretKey {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const line = lines.find((l) => !l.startsWith('untrusted comment:'));
  if (line === undefined) throw new MinisignFormatError('secret key: no key line');
  const raw = b64(line, 'secret key');
  if (raw.length !== 158) throw new MinisignFormatError(`secret key: expected 158 bytes, got ${raw.length}`);
  if (raw.subarray(0, 2).toString('latin1') !== 'Ed') throw new MinisignFormatError('secret key: algorithm is not Ed');
  const kdf = raw.readUInt16BE(2);
  if (kdf !== 0)
    throw new MinisignFormatError('secret key: encrypted (a password-protected key): make one with `minisign -G -W`');
  const keyIdBytes = raw.subarray(54, 62);
  const seed = raw.subarray(62, 94);
  const publicKeyBytes = raw.subarray(94, 126);
  const secret = createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', d: seed.toString('base64url'), x: publicKeyBytes.toString('base64url') },
    format: 'jwk',
  });
  const derived = Buffer.from((createPublicKey(secret).export({ format: 'jwk' }).x as string) ?? '', 'base64url');
  if (!derived.equals(publicKeyBytes))
    throw new MinisignFormatError('secret key: its public half does not match its seed (corrupted key)');
  return { keyId: keyIdHex(keyIdBytes), keyIdBytes, key: ed25519Public(publicKeyBytes), secret, publicKeyBytes };
}

/** BLAKE2b-512 of the data (minisign's prehash). */
export function prehash(data: Uint8Array): Buffer {
  return createHash('blake2b512').update(data).digest();
}

/** Signs `data` (prehashed, `ED`) with a trusted comment (one line); returns the `.minisig` text. */
export function signDetached(data: Uint8Array, sk: MinisignSecretKey, trustedComment: string): string {
  if (/[\r\n]/.test(trustedComment)) throw new MinisignFormatError('trusted comment: must be one line');
  const signature = sign(null, prehash(data), sk.secret);
  const global = sign(null, Buffer.concat([signature, Buffer.from(trustedComment, 'utf8')]), sk.secret);
  const sigLine = Buffer.concat([Buffer.from('ED', 'latin1'), sk.keyIdBytes, signature]).toString('base64');
  return [
    'untrusted comment: signature from lightnode secret key',
    sigLine,
    `trusted comment: ${trustedComment}`,
    global.toString('base64'),
    '',
  ].join('\n');
}

/** Parses a `.minisig` text (4 lines). */
export function parseSignature(text: string): MinisignSignature {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (lines.length < 4) throw new MinisignFormatError(`signature: expected 4 lines, got ${lines.length}`);
  if (!lines[0]!.startsWith('untrusted comment:'))
    throw new MinisignFormatError('signature: line 1 is not an untrusted comment');
  const raw = b64(lines[1]!, 'signature');
  const alg = raw.subarray(0, 2).toString('latin1');
  if (raw.length !== 74 || (alg !== 'ED' && alg !== 'Ed'))
    throw new MinisignFormatError(`signature: expected 74 bytes starting with "ED", got ${raw.length} bytes`);
  const tc = 'trusted comment: ';
  if (!lines[2]!.startsWith(tc)) throw new MinisignFormatError('signature: line 3 is not a trusted comment');
  const globalSignature = b64(lines[3]!, 'global signature');
  if (globalSignature.length !== 64)
    throw new MinisignFormatError(`global signature: expected 64 bytes, got ${globalSignature.length}`);
  return {
    algorithm: alg,
    keyId: keyIdHex(raw.subarray(2, 10)),
    signature: raw.subarray(10, 74),
    trustedComment: lines[2]!.slice(tc.length),
    globalSignature,
  };
}

export type VerifyResult =
  | { ok: true; keyId: string; trustedComment: string }
  | { ok: false; reason: 'malformed' | 'untrusted' | 'bad-signature' | 'bad-trusted-comment'; detail: string };

/**
 * Verifies a detached signature text over `data` against trusted keys; never throws. `data` may be given as its
 * prehash (BLAKE2b-512, computed while streaming a large file): then only prehashed (`ED`) signatures are accepted.
 */
export function verifyDetached(
  data: Uint8Array | { prehash: Buffer },
  sigText: string,
  keys: readonly MinisignPublicKey[],
): VerifyResult {
  let s: MinisignSignature;
  try {
    s = parseSignature(sigText);
  } catch (e) {
    return { ok: false, reason: 'malformed', detail: (e as Error).message };
  }
  const key = keys.find((k) => k.keyId === s.keyId);
  if (!key)
    return {
      ok: false,
      reason: 'untrusted',
      detail: `signed by key ${s.keyId}, trusted: ${keys.map((k) => k.keyId).join(', ') || 'none'}`,
    };
  const given = 'prehash' in data ? data.prehash : null;
  if (s.algorithm !== 'ED' && given)
    return {
      ok: false,
      reason: 'malformed',
      detail: 'a legacy (not prehashed, Ed) signature: sign with minisign 0.8+',
    };
  const msg = given ?? (s.algorithm === 'ED' ? prehash(data as Uint8Array) : (data as Uint8Array));
  if (!verify(null, msg, key.key, s.signature))
    return { ok: false, reason: 'bad-signature', detail: `signature by key ${s.keyId} does not match the data` };
  const g = Buffer.concat([s.signature, Buffer.from(s.trustedComment, 'utf8')]);
  if (!verify(null, g, key.key, s.globalSignature))
    return {
      ok: false,
      reason: 'bad-trusted-comment',
      detail: 'the global signature does not cover the trusted comment',
    };
  return { ok: true, keyId: s.keyId, trustedComment: s.trustedComment };
}
