/**
 * Modbus register data types and their decoding: 16-bit registers ("words") → numbers, both word orders, scale
 * factors, and the unimplemented-value sentinels of SunSpec and vendors (→ quality `invalid`, never a number).
 * Word order `be` = high word first (Modbus convention, "big-endian"); `le` = low word first ("word-swapped", e.g.
 * Carlo Gavazzi INT32). Bytes within a word are always big-endian (Modbus application protocol §4.2).
 */
import { LightNodeError } from '../errors.js';

export const REGISTER_TYPES = [
  'u16',
  's16',
  'u32',
  's32',
  'u64',
  's64',
  'float32',
  'float64',
  'acc32',
  'acc64',
  'sunssf',
  'string',
] as const;
export type RegisterType = (typeof REGISTER_TYPES)[number];
export type WordOrder = 'be' | 'le';

/** Number of 16-bit registers a type occupies (strings: their declared length). */
export function registerCount(type: RegisterType, stringLength = 0): number {
  switch (type) {
    case 'u16':
    case 's16':
    case 'sunssf':
      return 1;
    case 'u32':
    case 's32':
    case 'float32':
    case 'acc32':
      return 2;
    case 'u64':
    case 's64':
    case 'float64':
    case 'acc64':
      return 4;
    case 'string':
      return stringLength;
  }
}

/** Words in wire order → big-endian bytes with high word first. */
function toBytes(words: readonly number[], order: WordOrder): Buffer {
  const ws = order === 'le' ? [...words].reverse() : words;
  const b = Buffer.alloc(ws.length * 2);
  ws.forEach((w, i) => b.writeUInt16BE(w & 0xffff, i * 2));
  return b;
}
function fromBytes(b: Buffer, order: WordOrder): number[] {
  const ws: number[] = [];
  for (let i = 0; i < b.length; i += 2) ws.push(b.readUInt16BE(i));
  return order === 'le' ? ws.reverse() : ws;
}

/** A decoded register value: a number, or `null` when the device marks the value unavailable (a sentinel). */
export interface DecodedValue {
  value: number | null;
  /** Why the value is null (the sentinel seen). */
  sentinel?: string;
}

/**
 * Decodes `words` (wire order) as `type`. Sentinels (SunSpec and vendor "not available" markers) give
 * `{value: null}`: int16 0x8000, uint16 0xFFFF, acc32/acc64 0, uint32 0xFFFFFFFF, int32 0x80000000, uint64 all-ones,
 * int64 0x8000…, sunssf 0x8000, float NaN. `sentinels: false` turns the check off (raw reads).
 */
export function decodeRegisters(
  type: RegisterType,
  words: readonly number[],
  order: WordOrder = 'be',
  opts: { sentinels?: boolean } = {},
): DecodedValue {
  const n = type === 'string' ? words.length : registerCount(type);
  if (words.length !== n)
    throw new LightNodeError('DECODE_ERROR', `${type}: expected ${n} registers, received ${words.length}`, { type });
  const check = opts.sentinels ?? true;
  const b = toBytes(words, order);
  const nil = (sentinel: string): DecodedValue => ({ value: null, sentinel });
  switch (type) {
    case 'u16': {
      const v = b.readUInt16BE(0);
      return check && v === 0xffff ? nil('0xFFFF') : { value: v };
    }
    case 's16':
    case 'sunssf': {
      const v = b.readInt16BE(0);
      return check && v === -0x8000 ? nil('0x8000') : { value: v };
    }
    case 'u32': {
      const v = b.readUInt32BE(0);
      return check && v === 0xffffffff ? nil('0xFFFFFFFF') : { value: v };
    }
    case 'acc32': {
      const v = b.readUInt32BE(0);
      return check && v === 0 ? nil('acc32 0') : { value: v };
    }
    case 's32': {
      const v = b.readInt32BE(0);
      return check && v === -0x80000000 ? nil('0x80000000') : { value: v };
    }
    case 'u64':
    case 'acc64': {
      const v = b.readBigUInt64BE(0);
      if (check && type === 'u64' && v === 0xffffffffffffffffn) return nil('0xFFFFFFFFFFFFFFFF');
      if (check && type === 'acc64' && v === 0n) return nil('acc64 0');
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) return nil('beyond 2^53');
      return { value: Number(v) };
    }
    case 's64': {
      const v = b.readBigInt64BE(0);
      if (check && v === -0x8000000000000000n) return nil('0x8000000000000000');
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) return nil('beyond 2^53');
      return { value: Number(v) };
    }
    case 'float32': {
      const v = b.readFloatBE(0);
      return Number.isFinite(v) ? { value: v } : nil('float32 NaN/Inf');
    }
    case 'float64': {
      const v = b.readDoubleBE(0);
      return Number.isFinite(v) ? { value: v } : nil('float64 NaN/Inf');
    }
    case 'string':
      throw new LightNodeError('DECODE_ERROR', 'string registers decode with decodeString()', { type });
  }
}

/** Encodes a number as `type` in wire order (the simulator's and tests' side). Integers are range-checked. */
export function encodeRegisters(type: RegisterType, value: number, order: WordOrder = 'be'): number[] {
  const n = registerCount(type);
  const b = Buffer.alloc(n * 2);
  const intRange = (min: number | bigint, max: number | bigint): void => {
    if (!Number.isInteger(value) || value < Number(min) || value > Number(max))
      throw new LightNodeError('ENCODE_ERROR', `${type}: ${value} is not an integer in ${min}..${max}`, {
        type,
        value,
      });
  };
  switch (type) {
    case 'u16':
      intRange(0, 0xffff);
      b.writeUInt16BE(value);
      break;
    case 's16':
    case 'sunssf':
      intRange(-0x8000, 0x7fff);
      b.writeInt16BE(value);
      break;
    case 'u32':
    case 'acc32':
      intRange(0, 0xffffffff);
      b.writeUInt32BE(value);
      break;
    case 's32':
      intRange(-0x80000000, 0x7fffffff);
      b.writeInt32BE(value);
      break;
    case 'u64':
    case 'acc64':
      intRange(0, Number.MAX_SAFE_INTEGER);
      b.writeBigUInt64BE(BigInt(value));
      break;
    case 's64':
      intRange(-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
      b.writeBigInt64BE(BigInt(value));
      break;
    case 'float32':
      b.writeFloatBE(value);
      break;
    case 'float64':
      b.writeDoubleBE(value);
      break;
    case 'string':
      throw new LightNodeError('ENCODE_ERROR', 'string registers encode with encodeString()', { type });
  }
  return fromBytes(b, order);
}

/** A string in registers: 2 ASCII bytes per register, high byte first, NUL/space padded. */
export function decodeString(words: readonly number[]): string {
  const b = toBytes(words, 'be');
  return b.toString('latin1').replace(/[\0 ]+$/, '');
}
export function encodeString(s: string, registers: number): number[] {
  const b = Buffer.alloc(registers * 2);
  b.write(s.slice(0, registers * 2), 'latin1');
  return fromBytes(b, 'be');
}

/**
 * Applies a scale to a decoded value and rounds to the integer unit of a quantity: result = round(value × factor ×
 * 10^exp). Rounding half away from zero (declared per profile point as `round: 'nearest'`).
 */
export function scaleToInteger(value: number, factor: number, exp10: number): number {
  const x = value * factor * 10 ** exp10;
  const r = Math.sign(x) * Math.round(Math.abs(x));
  return Object.is(r, -0) ? 0 : r;
}
