/**
 * Merkle trees of protocol v1 (batches on the device, anchor windows at the BAL): keccak256 with domain separation —
 * leaf = keccak256(0x00 ‖ leaf bytes), node = keccak256(0x01 ‖ left ‖ right); levels paired left to right; an odd
 * last node is promoted unchanged (never duplicated). The leaf count is committed next to the root. A proof `path`
 * is the sibling hashes bottom-up; levels where the node was promoted contribute nothing; left/right follows from
 * (index, count).
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import type { IHasher } from 'hash-wasm';
import { LightNodeError } from '../errors.js';

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

/**
 * keccak256: @noble/hashes (pure JS) by default — enough at device rates (a 1-Hz meter hashes a few leaves a
 * second) and it keeps ≈ 10 MB of WebAssembly runtime out of the agent's RSS. A verifier at cloud rates calls
 * `useWasmKeccak()` once: hash-wasm (WebAssembly) is then ≈ 8× faster on 200-byte inputs. Both are checked against
 * the same vectors.
 */
let wasm: IHasher | undefined;

/** Switches keccak256 to hash-wasm (loaded on first call); stays on JS where WebAssembly is unavailable. */
export async function useWasmKeccak(): Promise<'wasm' | 'js'> {
  if (!wasm) {
    try {
      const { createKeccak } = await import('hash-wasm');
      wasm = await createKeccak(256);
    } catch {
      wasm = undefined;
    }
  }
  return keccakBackend();
}

export function keccak256(...parts: Uint8Array[]): Uint8Array {
  if (wasm) {
    wasm.init();
    for (const p of parts) wasm.update(p);
    return wasm.digest('binary');
  }
  const h = keccak_256.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

/** The pure-JS keccak256 (for cross-checks). */
export function keccak256Js(...parts: Uint8Array[]): Uint8Array {
  const h = keccak_256.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

export const keccakBackend = (): 'wasm' | 'js' => (wasm ? 'wasm' : 'js');

/** keccak256(0x00 ‖ bytes). */
export function leafHash(bytes: Uint8Array): Uint8Array {
  return keccak256(LEAF, bytes);
}

/** keccak256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return keccak256(NODE, left, right);
}

function nextLevel(level: Uint8Array[]): Uint8Array[] {
  const up: Uint8Array[] = [];
  for (let i = 0; i < level.length; i += 2) {
    const l = level[i]!;
    const r = level[i + 1];
    up.push(r === undefined ? l : nodeHash(l, r));
  }
  return up;
}

/** Root over leaf hashes (≥ 1). */
export function merkleRoot(leafHashes: readonly Uint8Array[]): Uint8Array {
  if (leafHashes.length === 0)
    throw new LightNodeError('INPUT_INVALID', 'merkleRoot: a tree needs at least one leaf', {});
  let level = leafHashes.slice();
  while (level.length > 1) level = nextLevel(level);
  return level[0]!;
}

/** All levels, leaves first (to build many proofs from one tree). */
export function merkleLevels(leafHashes: readonly Uint8Array[]): Uint8Array[][] {
  if (leafHashes.length === 0)
    throw new LightNodeError('INPUT_INVALID', 'merkleLevels: a tree needs at least one leaf', {});
  const levels = [leafHashes.slice()];
  while (levels[levels.length - 1]!.length > 1) levels.push(nextLevel(levels[levels.length - 1]!));
  return levels;
}

/** The proof path (sibling hashes bottom-up) of leaf `index`. */
export function merkleProof(leafHashesOrLevels: readonly Uint8Array[] | Uint8Array[][], index: number): Uint8Array[] {
  const levels = Array.isArray(leafHashesOrLevels[0])
    ? (leafHashesOrLevels as Uint8Array[][])
    : merkleLevels(leafHashesOrLevels as Uint8Array[]);
  const count = levels[0]!.length;
  if (!Number.isInteger(index) || index < 0 || index >= count)
    throw new LightNodeError('INPUT_INVALID', `merkleProof: index ${index} outside 0..${count - 1}`, { index, count });
  const path: Uint8Array[] = [];
  let i = index;
  for (let d = 0; d < levels.length - 1; d++) {
    const level = levels[d]!;
    const sib = i ^ 1;
    if (sib < level.length) path.push(level[sib]!);
    i >>= 1;
  }
  return path;
}

/** Recomputes the root from a leaf hash and its path; null when the path has the wrong length for (index, count). */
export function rootFromProof(
  leaf: Uint8Array,
  index: number,
  count: number,
  path: readonly Uint8Array[],
): Uint8Array | null {
  if (!Number.isInteger(index) || !Number.isInteger(count) || count < 1 || index < 0 || index >= count) return null;
  let h = leaf;
  let i = index;
  let n = count;
  let used = 0;
  while (n > 1) {
    const isRight = (i & 1) === 1;
    const hasSibling = isRight || i + 1 < n;
    if (hasSibling) {
      const s = path[used++];
      if (s === undefined || s.length !== 32) return null;
      h = isRight ? nodeHash(s, h) : nodeHash(h, s);
    }
    i >>= 1;
    n = Math.ceil(n / 2);
  }
  return used === path.length ? h : null;
}

export function verifyMerkleProof(
  leaf: Uint8Array,
  index: number,
  count: number,
  path: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  const r = rootFromProof(leaf, index, count, path);
  if (r === null || r.length !== root.length) return false;
  for (let k = 0; k < r.length; k++) if (r[k] !== root[k]) return false;
  return true;
}
