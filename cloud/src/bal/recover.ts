/**
 * Signature recovery for the BAL: the native `secp256k1` package (libsecp256k1, ≈ 21k recoveries/s) when its
 * binding loads, `@noble/secp256k1` (pure JS, ≈ 0.5k/s) otherwise. The native one accepts high-s signatures, so
 * the low-s rule and the signature shape are checked first, by the protocol's own `checkSignatureShape`.
 */
import { createRequire } from 'node:module';
import {
  checkSignatureShape,
  keccak256,
  recoverAddress,
  toHex,
  LightNodeError,
  type RecoverFn,
} from '@lightnode/protocols';

export type RecoverImpl = 'native' | 'js';

interface NativeSecp {
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed?: boolean): Uint8Array;
}

let native: NativeSecp | null | undefined;

/** The native binding itself (not the package's silent pure-JS fallback), or null when it does not load. */
export function loadNative(): NativeSecp | null {
  if (native !== undefined) return native;
  try {
    native = createRequire(import.meta.url)('secp256k1/bindings.js') as NativeSecp;
  } catch {
    native = null;
  }
  return native;
}

export const nativeRecover: RecoverFn = (digest, signature) => {
  const lib = loadNative();
  if (!lib) throw new LightNodeError('INTERNAL', 'the native secp256k1 binding is not available', {});
  const { recovery } = checkSignatureShape(signature);
  let pub: Uint8Array;
  try {
    pub = lib.ecdsaRecover(signature.subarray(0, 64), recovery, digest, false);
  } catch (e) {
    throw new LightNodeError(
      'SIGNATURE_INVALID',
      `signature: no public key recovers from it (${(e as Error).message})`,
      {},
      { cause: e },
    );
  }
  return toHex(keccak256(pub.subarray(1)).subarray(12));
};

/** Picks the recovery: `auto` = native when it loads. */
export function selectRecover(prefer: RecoverImpl | 'auto' = 'auto'): { impl: RecoverImpl; recover: RecoverFn } {
  if (prefer === 'js') return { impl: 'js', recover: recoverAddress };
  if (loadNative()) return { impl: 'native', recover: nativeRecover };
  if (prefer === 'native')
    throw new LightNodeError(
      'CONFIG_INVALID',
      'recover: native was asked for, but the secp256k1 binding does not load',
      {},
    );
  return { impl: 'js', recover: recoverAddress };
}
