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

/** Encodes `value` in canonical CBOR; throws `ENCODE_ERROR` naming the path of a float, null or undefined. */
export function encodeCanonical(value: CanonicalValue): Uint8Array {
  check(value, '$');
  return encode(value, rfc8949EncodeOptions);
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
