/**
 * Device and operator keys: secp256k1, Ethereum-compatible identity (address = last 20 bytes of keccak256 of the
 * uncompressed public key). Signatures are 65 bytes `r‖s‖v`, v ∈ {27, 28}, **low-s** (s ≤ n/2) enforced on both
 * signing and verification.
 */
import * as secp from '@noble/secp256k1';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { LightNodeError } from '../errors.js';
import { fromHex, toHex } from './canonical.js';
import { keccak256 } from './merkle.js';

secp.hashes.hmacSha256 = (k, m) => hmac(sha256, k, m);
secp.hashes.sha256 = sha256;

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = N >> 1n;

/** Signs 32-byte digests. Implementations: `privateKeySigner` (a key in memory); an HSM/TPM may implement it too. */
export interface Signer {
  /** Lowercase 0x address. */
  readonly address: string;
  /** 0x + 128 hex: the uncompressed public key x‖y (what a key register stores), when the signer can tell. */
  readonly publicKey?: string;
  /** 65-byte r‖s‖v signature (v ∈ {27,28}, low-s) over a 32-byte digest (no further hashing). */
  signDigest(digest: Uint8Array): Uint8Array;
}

/** Recovers the signer's lowercase address from a digest and a 65-byte signature. Must enforce low-s. */
export type RecoverFn = (digest: Uint8Array, signature: Uint8Array) => string;

export function generatePrivateKey(): string {
  return toHex(secp.utils.randomSecretKey());
}

function keyBytes(hexKey: string): Uint8Array {
  const k = typeof hexKey === 'string' && /^0x[0-9a-fA-F]{64}$/.test(hexKey) ? fromHex(hexKey) : null;
  if (!k || !secp.utils.isValidSecretKey(k))
    throw new LightNodeError('KEY_INVALID', 'private key: expected 0x + 64 hex digits, a valid secp256k1 scalar', {});
  return k;
}

export function addressFromPublicKey(uncompressed65: Uint8Array): string {
  return toHex(keccak256(uncompressed65.subarray(1)).subarray(12));
}

export function addressFromPrivateKey(hexKey: string): string {
  return addressFromPublicKey(secp.getPublicKey(keyBytes(hexKey), false));
}

/** 0x + 128 hex: the uncompressed public key x‖y of a private key. */
export function publicKeyFromPrivateKey(hexKey: string): string {
  return toHex(secp.getPublicKey(keyBytes(hexKey), false).subarray(1));
}

export function privateKeySigner(hexKey: string): Signer {
  const k = keyBytes(hexKey);
  const pub = secp.getPublicKey(k, false);
  const address = addressFromPublicKey(pub);
  return {
    address,
    publicKey: toHex(pub.subarray(1)),
    signDigest(digest) {
      if (digest.length !== 32)
        throw new LightNodeError(
          'INPUT_INVALID',
          `signDigest: expected a 32-byte digest, received ${digest.length} bytes`,
          {},
        );
      const rec = secp.sign(digest, k, { prehash: false, lowS: true, format: 'recovered' }); // recid ‖ r ‖ s
      const out = new Uint8Array(65);
      out.set(rec.subarray(1, 65), 0);
      out[64] = 27 + rec[0]!;
      return out;
    },
  };
}

/** Splits and checks a 65-byte signature: length, v ∈ {27,28}, r and s in range, low-s. */
export function checkSignatureShape(sig: Uint8Array): { r: bigint; s: bigint; recovery: number } {
  if (!(sig instanceof Uint8Array) || sig.length !== 65)
    throw new LightNodeError(
      'SIGNATURE_INVALID',
      `signature: expected 65 bytes r‖s‖v, received ${sig?.length ?? 0}`,
      {},
    );
  const v = sig[64]!;
  if (v !== 27 && v !== 28)
    throw new LightNodeError('SIGNATURE_INVALID', `signature: v must be 27 or 28, received ${v}`, {});
  const r = BigInt(toHex(sig.subarray(0, 32)));
  const s = BigInt(toHex(sig.subarray(32, 64)));
  if (r === 0n || r >= N || s === 0n || s >= N)
    throw new LightNodeError('SIGNATURE_INVALID', 'signature: r or s out of range', {});
  if (s > HALF_N)
    throw new LightNodeError(
      'SIGNATURE_HIGH_S',
      'signature: s is in the upper half of the curve order (high-s malleable form refused)',
      {},
    );
  return { r, s, recovery: v - 27 };
}

/** Pure-JS recovery (@noble/secp256k1): enforces low-s; throws `SIGNATURE_INVALID` / `SIGNATURE_HIGH_S`. */
export const recoverAddress: RecoverFn = (digest, signature) => {
  const { recovery } = checkSignatureShape(signature);
  const rec = new Uint8Array(65);
  rec[0] = recovery;
  rec.set(signature.subarray(0, 64), 1);
  let pub: Uint8Array;
  try {
    pub = secp.recoverPublicKey(rec, digest, { prehash: false });
  } catch (e) {
    throw new LightNodeError(
      'SIGNATURE_INVALID',
      `signature: no public key recovers from it (${(e as Error).message})`,
      {},
      { cause: e },
    );
  }
  return addressFromPublicKey(secp.Point.fromBytes(pub).toBytes(false));
};

/** Flips s to n − s and v (27↔28): the high-s twin of a valid signature (for tests of the low-s rule). */
export function toHighS(sig: Uint8Array): Uint8Array {
  const s = BigInt(toHex(sig.subarray(32, 64)));
  const out = sig.slice();
  out.set(fromHex(`0x${(N - s).toString(16).padStart(64, '0')}`), 32);
  out[64] = sig[64] === 27 ? 28 : 27;
  return out;
}

/**
 * The text of a signing key file in either form: the `lightnode protocol keygen` JSON
 * `{"v":1,"address":"0x…","privateKey":"0x…"}` (the address must belong to the key) or one line `0x` + 64 hex
 * digits. Returns the private key (0x hex); `KEY_INVALID` naming `path` otherwise. (The reading is the caller's.)
 */
export function parseSigningKey(text: string, path: string): string {
  const t = text.trim();
  if (!t.startsWith('{')) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(t))
      throw new LightNodeError('KEY_INVALID', `key file ${path}: expected 0x + 64 hex digits`, { path });
    return t;
  }
  let doc: { v?: unknown; address?: unknown; privateKey?: unknown };
  try {
    doc = JSON.parse(t) as typeof doc;
  } catch (e) {
    throw new LightNodeError('KEY_INVALID', `key file ${path}: not JSON (${(e as Error).message})`, { path });
  }
  const key = doc.privateKey;
  if (doc.v !== 1 || typeof key !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(key) || typeof doc.address !== 'string')
    throw new LightNodeError('KEY_INVALID', `key file ${path}: expected {"v":1,"address":"0x…","privateKey":"0x…"}`, {
      path,
    });
  const address = addressFromPrivateKey(key);
  if (address !== doc.address.toLowerCase())
    throw new LightNodeError(
      'KEY_INVALID',
      `key file ${path}: address ${doc.address} does not belong to the key (it is ${address})`,
      { path },
    );
  return key;
}
