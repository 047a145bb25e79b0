/**
 * Canonical encoding: CBOR per RFC 8949 §4.2.1 (core deterministic encoding): definite lengths, shortest integer
 * forms, map keys sorted by their encoded bytes; text keys only; **no floating-point values** (and no `undefined`,
 * `null`, tags or bigints beyond the safe integer range) anywhere in hashed data. Encoding through cborg's
 * RFC 8949 options; decoding is strict and checks that the bytes are exactly the canonical form.
 */
import { decode, encode, rfc8949EncodeOptions } from 'cborg';
import { LightNodeError } from '../errors.js';

/** A value of the canonical data model: integers, text, byte strings, booleans, arrays and text-keyed maps. */
export type CanonicalValue =
  number | string | boolean | Uint8Array | CanonicalValue[] | { [k: string]: CanonicalValue };

function check(v: unknown, path: string): void {
  switch (typeof v) {
    case 'number':
      if (!Number.isSafeInteger(v))
        throw new LightNodeError(
          'ENCODE_ERROR',
          `${path}: expected a safe integer (no floats in hashed data), received ${v}`,
          {
            field: path,
          },
        );
      return;
    case 'string':
    case 'boolean':
      return;
    case 'object':
      if (v instanceof Uint8Array) return;
      if (Array.isArray(v)) {
        v.forEach((x, i) => check(x, `${path}[${i}]`));
        return;
      }
      if (v !== null && Object.getPrototypeOf(v) === Object.prototype) {
        for (const [k, x] of Object.entries(v)) {
          if (x === undefined)
            throw new LightNodeError('ENCODE_ERROR', `${path}.${k}: undefined (omit optional fields instead)`, {
              field: `${path}.${k}`,
            });
          check(x, `${path}.${k}`);
        }
        return;
      }
  }
  throw new LightNodeError(
    'ENCODE_ERROR',
    `${path}: a ${v === null ? 'null' : typeof v} cannot be encoded canonically`,
    { field: path },
  );
}

/**
 * Encodes `value` in canonical CBOR; throws `ENCODE_ERROR` naming the path of a float, null or undefined.
 * A direct single-pass writer does the work (a verifier re-encodes every sample it checks: this is its hot path);
 * anything it does not take (an error, -0) goes through check() and cborg, whose bytes it reproduces exactly —
 * a property test holds the two to the same output.
 */
export function encodeCanonical(value: CanonicalValue): Uint8Array {
  const fast = encodeFast(value);
  if (fast) return fast;
  check(value, '$');
  return encode(value, rfc8949EncodeOptions);
}

/** cborg's RFC 8949 encoder (the reference the fast writer is tested against). */
export function encodeCanonicalReference(value: CanonicalValue): Uint8Array {
  check(value, '$');
  return encode(value, rfc8949EncodeOptions);
}

class Unsupported extends Error {}
const UNSUPPORTED = new Unsupported();

class Writer {
  buf = new Uint8Array(512);
  pos = 0;
  private view = new DataView(this.buf.buffer);
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let len = this.buf.length * 2;
    while (len < this.pos + n) len *= 2;
    const b = new Uint8Array(len);
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }
  head(major: number, n: number): void {
    this.reserve(9);
    const m = major << 5;
    if (n < 24) this.buf[this.pos++] = m | n;
    else if (n < 0x100) {
      this.buf[this.pos++] = m | 24;
      this.buf[this.pos++] = n;
    } else if (n < 0x10000) {
      this.buf[this.pos++] = m | 25;
      this.view.setUint16(this.pos, n);
      this.pos += 2;
    } else if (n < 0x100000000) {
      this.buf[this.pos++] = m | 26;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    } else {
      this.buf[this.pos++] = m | 27;
      this.view.setUint32(this.pos, Math.floor(n / 0x100000000));
      this.view.setUint32(this.pos + 4, n >>> 0);
      this.pos += 8;
    }
  }
  text(s: string): void {
    const start = this.pos;
    this.head(3, s.length);
    this.reserve(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) {
        // not ASCII: the UTF-8 length differs from the string length, start again
        this.pos = start;
        this.bytes(3, Buffer.from(s, 'utf8'));
        return;
      }
      this.buf[this.pos++] = c;
    }
  }
  bytes(major: number, b: Uint8Array): void {
    this.head(major, b.length);
    this.reserve(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

/** Keys in canonical order (by their encoded bytes: shorter first, then bytewise), memoised per key set. */
const keyOrders = new Map<string, string[]>();
function sortKeys(keys: string[]): string[] {
  const enc = keys.map((k) => ({ k, b: Buffer.from(k, 'utf8') }));
  enc.sort((a, b) => a.b.length - b.b.length || Buffer.compare(a.b, b.b));
  return enc.map((e) => e.k);
}
/** The last key list seen per length: consecutive samples share their shape, so this usually hits. */
const lastByLength = new Map<number, { keys: string[]; order: string[] }>();
function canonicalKeys(keys: string[]): string[] {
  const last = lastByLength.get(keys.length);
  if (last) {
    let same = true;
    for (let i = 0; i < keys.length; i++)
      if (last.keys[i] !== keys[i]) {
        same = false;
        break;
      }
    if (same) return last.order;
  }
  const order = memoKeys(keys);
  lastByLength.set(keys.length, { keys, order });
  return order;
}
function memoKeys(keys: string[]): string[] {
  // the memo key is unambiguous only when no key contains NUL
  if (keys.some((k) => k.includes('\u0000'))) return sortKeys(keys);
  const sig = `${keys.length}\u0000${keys.join('\u0000')}`;
  let order = keyOrders.get(sig);
  if (!order) {
    order = sortKeys(keys);
    if (keyOrders.size > 10_000) keyOrders.clear();
    keyOrders.set(sig, order);
  }
  return order;
}

function writeValue(w: Writer, v: unknown): void {
  switch (typeof v) {
    case 'number':
      if (!Number.isSafeInteger(v) || Object.is(v, -0)) throw UNSUPPORTED;
      if (v >= 0) w.head(0, v);
      else w.head(1, -1 - v);
      return;
    case 'string':
      w.text(v);
      return;
    case 'boolean':
      w.reserve(1);
      w.buf[w.pos++] = v ? 0xf5 : 0xf4;
      return;
    case 'object': {
      if (v instanceof Uint8Array) return w.bytes(2, v);
      if (Array.isArray(v)) {
        w.head(4, v.length);
        for (const x of v) writeValue(w, x);
        return;
      }
      if (v === null || Object.getPrototypeOf(v) !== Object.prototype) throw UNSUPPORTED;
      const o = v as Record<string, unknown>;
      const keys = canonicalKeys(Object.keys(o));
      w.head(5, keys.length);
      for (const k of keys) {
        const x = o[k];
        if (x === undefined) throw UNSUPPORTED;
        w.text(k);
        writeValue(w, x);
      }
      return;
    }
    default:
      throw UNSUPPORTED;
  }
}

/** One writer, reused (encoding is synchronous and not re-entrant); the result is a copy. */
const shared = new Writer();

function encodeFast(value: CanonicalValue): Uint8Array | undefined {
  const w = shared;
  w.pos = 0;
  try {
    writeValue(w, value);
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
  return w.buf.slice(0, w.pos);
}

/**
 * Decodes canonical CBOR; throws `DECODE_ERROR` on malformed, non-canonical (e.g. unsorted keys, long integer
 * forms, indefinite lengths) or float-bearing input.
 */
export function decodeCanonical(bytes: Uint8Array): CanonicalValue {
  let v: unknown;
  try {
    v = decode(bytes, {
      strict: true,
      allowIndefinite: false,
      allowUndefined: false,
      allowNaN: false,
      allowInfinity: false,
      rejectDuplicateMapKeys: true,
      useMaps: false,
      allowBigInt: false,
    });
  } catch (e) {
    throw new LightNodeError('DECODE_ERROR', `malformed CBOR: ${(e as Error).message}`, {}, { cause: e });
  }
  try {
    check(v, '$');
  } catch (e) {
    throw new LightNodeError('DECODE_ERROR', (e as Error).message.replace(/^ENCODE_ERROR: /, ''), {}, { cause: e });
  }
  const again = encode(v, rfc8949EncodeOptions);
  if (!bytesEqual(again, bytes))
    throw new LightNodeError('DECODE_ERROR', 'CBOR is well-formed but not in canonical (RFC 8949 §4.2.1) form', {});
  return v as CanonicalValue;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function toHex(b: Uint8Array): string {
  return `0x${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')}`;
}

export function fromHex(s: string, field = 'hex'): Uint8Array {
  if (typeof s !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(s))
    throw new LightNodeError(
      'INPUT_INVALID',
      `${field}: expected 0x-prefixed even-length hex, received ${typeof s === 'string' ? JSON.stringify(s.slice(0, 20)) : typeof s}`,
      { field },
    );
  return new Uint8Array(Buffer.from(s.slice(2), 'hex'));
}
