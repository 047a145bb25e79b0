/**
 * The column coder of the batch wire form (layout: `wire.ts`, SPEC §5): bit I/O, zigzag, Rice codes with an escape,
 * and delta orders 0..2. A column of integers becomes `orderK` (3·k + order), the heads (the first `order` values
 * after differencing, written in the CBOR descriptor) and the Rice-coded zigzagged residuals in the bit string.
 * A residual whose quotient is ≥ 24 is escaped: 24 ones, 6 bits of length L (≤ 54, so the value stays a safe
 * integer) and the L bits of z. k = 41 means every residual is 0 and takes no bits.
 */
import { LightNodeError, invalidField } from '../errors.js';

/** Rice quotients from this value on are escaped (24 ones, then L in 6 bits, then z in L bits). */
export const ESCAPE_Q = 24;
/** The longest escaped residual, bits: the zigzag value of a safe integer (|v| ≤ 2^53 − 1) is below 2^54. */
export const MAX_ESCAPE_BITS = 54;
const MAX_K = 40;
/** k meaning every zigzagged residual is 0: no bits. */
export const K_ALL_ZERO = 41;

export const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

export class BitWriter {
  private readonly out: number[] = [];
  private cur = 0;
  private n = 0;
  bit(b: number): void {
    this.cur = (this.cur << 1) | b;
    if (++this.n === 8) {
      this.out.push(this.cur);
      this.cur = 0;
      this.n = 0;
    }
  }
  /** The low `n` bits of a non-negative safe integer, MSB first. */
  bits(v: number, n: number): void {
    for (let i = n - 1; i >= 0; i--) this.bit(Math.floor(v / 2 ** i) % 2);
  }
  finish(): Uint8Array {
    const out = this.out.slice();
    if (this.n > 0) out.push(this.cur << (8 - this.n));
    return new Uint8Array(out);
  }
}

export class BitReader {
  private pos = 0;
  constructor(private readonly b: Uint8Array) {}
  bit(): number {
    const byte = this.b[this.pos >> 3];
    if (byte === undefined)
      throw new LightNodeError('DECODE_ERROR', 'batch wire: bits end early', { field: 'wire.bits' });
    return (byte >> (7 - (this.pos++ & 7))) & 1;
  }
  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }
  /** Only zero padding may follow. */
  end(): void {
    const used = Math.ceil(this.pos / 8);
    const padBits = used * 8 - this.pos;
    if (this.b.length !== used || (padBits > 0 && (this.b[used - 1]! & ((1 << padBits) - 1)) !== 0))
      throw new LightNodeError('DECODE_ERROR', 'batch wire: bits has trailing data', { field: 'wire.bits' });
  }
}

const zigzag = (n: number): number => (n >= 0 ? n * 2 : -n * 2 - 1);
const unzigzag = (z: number): number => (z % 2 === 0 ? z / 2 : -(z + 1) / 2);
function bitLength(z: number): number {
  let l = 0;
  while (z >= 2 ** l) l++;
  return l;
}
const cborIntBits = (v: number): number =>
  8 * (Math.abs(v) < 24 ? 1 : Math.abs(v) < 256 ? 2 : Math.abs(v) < 65536 ? 3 : Math.abs(v) < 2 ** 32 ? 5 : 9);

function riceBits(zs: readonly number[], k: number): number {
  let total = 0;
  const div = 2 ** k;
  for (const z of zs) {
    const q = Math.floor(z / div);
    total += q >= ESCAPE_Q ? ESCAPE_Q + 6 + bitLength(z) : q + 1 + k;
  }
  return total;
}

/** A zigzag value this large is not exact as a double: written from its signed residual with BigInt. */
const EXACT_Z = 2 ** 53;

/**
 * Writes the residuals `ds` (signed; `zs` = their zigzag values) with parameter k. A zigzag value ≥ 2^53 (a residual
 * of magnitude ≥ 2^52, only ever from values near the safe-integer limits) is computed and written exactly in BigInt;
 * it is always escaped (its quotient is ≥ 2^13).
 */
export function riceEncode(w: BitWriter, zs: readonly number[], k: number, ds: readonly number[]): void {
  const div = 2 ** k;
  zs.forEach((z, i) => {
    if (z >= EXACT_Z) {
      const d = BigInt(ds[i]!);
      const zb = d >= 0n ? d * 2n : -d * 2n - 1n;
      const bits = zb.toString(2);
      for (let j = 0; j < ESCAPE_Q; j++) w.bit(1);
      w.bits(bits.length, 6);
      for (const c of bits) w.bit(c === '1' ? 1 : 0);
      return;
    }
    const q = Math.floor(z / div);
    if (q >= ESCAPE_Q) {
      for (let j = 0; j < ESCAPE_Q; j++) w.bit(1);
      const L = bitLength(z);
      w.bits(L, 6);
      w.bits(z, L);
    } else {
      for (let j = 0; j < q; j++) w.bit(1);
      w.bit(0);
      w.bits(z - q * div, k);
    }
  });
}

/** Reads `count` residuals coded with parameter k and returns them signed (zigzag undone, exactly for L = 54). */
function riceDecode(r: BitReader, k: number, count: number): number[] {
  const out: number[] = [];
  for (let n = 0; n < count; n++) {
    let q = 0;
    while (q < ESCAPE_Q && r.bit() === 1) q++;
    if (q !== ESCAPE_Q) {
      out.push(unzigzag(q * 2 ** k + r.bits(k)));
      continue;
    }
    const L = r.bits(6);
    if (L > MAX_ESCAPE_BITS)
      throw new LightNodeError('DECODE_ERROR', `batch wire: escape length ${L} > ${MAX_ESCAPE_BITS}`, {
        field: 'wire.bits',
      });
    if (L < 53) {
      out.push(unzigzag(r.bits(L)));
      continue;
    }
    let zb = 0n;
    for (let i = 0; i < L; i++) zb = zb * 2n + BigInt(r.bit());
    out.push(Number(zb % 2n === 0n ? zb / 2n : -(zb + 1n) / 2n));
  }
  return out;
}

function deltas(values: readonly number[], order: number): number[] {
  let v = values.slice();
  for (let o = 0; o < order; o++) {
    const prev = v;
    v = prev.map((x, i) => (i <= o ? x : x - prev[i - 1]!));
  }
  return v;
}
function undeltas(d: readonly number[], order: number): number[] {
  let v = d.slice();
  for (let o = order - 1; o >= 0; o--) {
    const acc: number[] = [];
    v.forEach((x, i) => acc.push(i <= o ? x : acc[i - 1]! + x));
    v = acc;
  }
  return v;
}

export interface Column {
  order: number;
  k: number;
  heads: number[];
  /** The residuals after the heads, signed, and their zigzag values. */
  ds: number[];
  zs: number[];
  bits: number;
}

/**
 * Picks the delta order ∈ {0, 1, 2} and Rice k that minimise the column's size. An order whose differencing leaves
 * the safe integers at any stage (values near ±2^53) is not a candidate; order 0 always is (sample values are safe integers), so
 * every residual fits the escape's L ≤ 54 bits.
 */
export function planColumn(values: readonly number[]): Column {
  let best: Column = { order: 0, k: 0, heads: [], ds: [], zs: [], bits: Infinity };
  for (const order of [0, 1, 2]) {
    // every differencing stage must stay exact, or the decoder's running sums would not rebuild the values
    const stages = [0, 1, 2].slice(0, order + 1).map((o) => deltas(values, o));
    if (!stages.every((st) => st.every(Number.isSafeInteger))) break;
    const d = stages[order]!;
    const heads = d.slice(0, Math.min(order, d.length));
    const ds = d.slice(heads.length);
    const zs = ds.map(zigzag);
    const headBits = heads.reduce((a, h) => a + cborIntBits(h), 0);
    if (zs.every((z) => z === 0)) {
      if (headBits < best.bits) best = { order, k: K_ALL_ZERO, heads, ds, zs, bits: headBits };
      continue;
    }
    for (let k = 0; k <= MAX_K; k++) {
      const bits = headBits + riceBits(zs, k);
      if (bits < best.bits) best = { order, k, heads, ds, zs, bits };
    }
  }
  return best;
}

export function readColumn(r: BitReader, orderK: unknown, heads: unknown[], count: number, field: string): number[] {
  if (!isInt(orderK) || orderK < 0 || orderK > K_ALL_ZERO * 3 + 2)
    throw invalidField('DECODE_ERROR', `${field}.orderK`, `0..${K_ALL_ZERO * 3 + 2}`, orderK);
  const order = orderK % 3;
  const k = (orderK - order) / 3;
  if (heads.length !== Math.min(order, count) || !heads.every(isInt))
    throw invalidField('DECODE_ERROR', `${field}.heads`, `${Math.min(order, count)} integers`, heads);
  const rest =
    k === K_ALL_ZERO ? new Array<number>(count - heads.length).fill(0) : riceDecode(r, k, count - heads.length);
  const values = undeltas([...heads, ...rest], order);
  for (const v of values)
    if (!Number.isSafeInteger(v))
      throw new LightNodeError('DECODE_ERROR', `batch wire: ${field} decodes beyond safe integers`, { field });
  return values;
}
