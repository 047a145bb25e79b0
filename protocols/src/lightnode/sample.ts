/**
 * The v1 sample: one reading of one meter at one instant (or the record of one period, e.g. a Chain 2 quarter).
 * Canonical form (hashed as a Merkle leaf): the CBOR map of exactly these fields, optional ones omitted.
 */
import { LightNodeError, invalidField } from '../errors.js';
import { decodeCanonical, encodeCanonical, type CanonicalValue } from './canonical.js';
import { isQuantityName, type QuantityName } from './quantities.js';
import { validatePodId } from './pod.js';

export const PROTOCOL_VERSION = 1;

/** `good` = fresh and valid; `stale` = last known value, not refreshed this cycle; `invalid` = no usable value. */
export type Quality = 'good' | 'stale' | 'invalid';
export const QUALITIES: readonly Quality[] = ['good', 'stale', 'invalid'];
const QUALITY_RANK: Record<Quality, number> = { good: 0, stale: 1, invalid: 2 };

export type SampleSource = 'chain2' | 'modbus-rtu' | 'modbus-tcp' | 'ess' | 'sim';
export const SAMPLE_SOURCES: readonly SampleSource[] = ['chain2', 'modbus-rtu', 'modbus-tcp', 'ess', 'sim'];

/** Raw-register provenance of one quantity, for audits (what was on the wire, and how it was scaled). */
export interface RawProvenance {
  quantity: QuantityName;
  /** Modbus function code (3 holding, 4 input …). */
  fc: number;
  /** 0-based PDU address of the first register. */
  address: number;
  /** The registers as read (16-bit unsigned each), in wire order. */
  words: number[];
  /** Register type as in the profile (`float32`, `s32` …). */
  type: string;
  /** Decimal exponent applied: value(unit) = decoded × 10^scale (e.g. -1 for 0.1 V → V before ×1000 to mV). */
  scale: number;
}

export interface Sample {
  /** Protocol version, 1. */
  v: number;
  /** Device identity: the Ethereum address of its key, lowercase `0x` hex. */
  deviceId: string;
  /** Point of delivery, e.g. `IT002E61899978`. */
  podId: string;
  /** Per-device sequence number: 0-based, +1 per sample, never reused (persisted across restarts). */
  seq: number;
  /** Measurement time, UTC epoch ms. */
  tsMs: number;
  source: SampleSource;
  /** Integer values, unit in the name. A quantity whose quality is `invalid` has no value here. */
  quantities: Partial<Record<QuantityName, number>>;
  /** Qualities that are not `good` (a quantity absent here is good). */
  qualities?: Partial<Record<QuantityName, 'stale' | 'invalid'>>;
  /** Overall quality: the worst of the quantities' qualities. */
  quality: Quality;
  /** Optional raw-register provenance. */
  raw?: RawProvenance[];
}

/** The worst of a set of qualities (`good` for none). */
export function worstQuality(qs: Iterable<Quality>): Quality {
  let w: Quality = 'good';
  for (const q of qs) if (QUALITY_RANK[q] > QUALITY_RANK[w]) w = q;
  return w;
}

const ADDRESS_RE = /^0x[0-9a-f]{40}$/;
const SAMPLE_KEYS = new Set([
  'v',
  'deviceId',
  'podId',
  'seq',
  'tsMs',
  'source',
  'quantities',
  'qualities',
  'quality',
  'raw',
]);

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}
function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
    throw invalidField('SCHEMA_INVALID', field, `an integer ${min}..${max}`, v);
  return v;
}

/**
 * Samples that came out of a decoder already validated (decodeBatchWire). verifyBatch skips validating them again:
 * any later change to such an object changes its canonical bytes, which the root check refuses anyway.
 */
const decodedValid = new WeakSet<object>();
export function markDecodedValid(s: Sample): Sample {
  decodedValid.add(s);
  return s;
}
export function isDecodedValid(s: unknown): boolean {
  return typeof s === 'object' && s !== null && decodedValid.has(s);
}

/** Checks a Sample-shaped value field by field; throws `SCHEMA_INVALID` / `VERSION_UNSUPPORTED` naming the field. */
export function validateSample(x: unknown, path = 'sample'): Sample {
  if (!isObj(x)) throw invalidField('SCHEMA_INVALID', path, 'a sample object', x);
  for (const k of Object.keys(x))
    if (!SAMPLE_KEYS.has(k)) throw invalidField('SCHEMA_INVALID', `${path}.${k}`, 'no such field', x[k]);
  if (x.v !== PROTOCOL_VERSION) {
    if (typeof x.v === 'number')
      throw new LightNodeError(
        'VERSION_UNSUPPORTED',
        `${path}.v: protocol version ${x.v} is not supported (this implementation speaks ${PROTOCOL_VERSION})`,
        { field: `${path}.v`, received: x.v },
      );
    throw invalidField('SCHEMA_INVALID', `${path}.v`, `${PROTOCOL_VERSION}`, x.v);
  }
  if (typeof x.deviceId !== 'string' || !ADDRESS_RE.test(x.deviceId))
    throw invalidField('SCHEMA_INVALID', `${path}.deviceId`, 'a lowercase 0x address (40 hex digits)', x.deviceId);
  const pod = validatePodId(x.podId);
  if (!pod.ok) throw new LightNodeError('SCHEMA_INVALID', `${path}.podId: ${pod.reason}`, { field: `${path}.podId` });
  int(x.seq, `${path}.seq`, 0, Number.MAX_SAFE_INTEGER);
  int(x.tsMs, `${path}.tsMs`, 0, 253402300799999);
  if (typeof x.source !== 'string' || !(SAMPLE_SOURCES as readonly string[]).includes(x.source))
    throw invalidField('SCHEMA_INVALID', `${path}.source`, SAMPLE_SOURCES.join(' | '), x.source);
  if (!isObj(x.quantities))
    throw invalidField('SCHEMA_INVALID', `${path}.quantities`, 'a map of quantity name to integer', x.quantities);
  for (const [k, v] of Object.entries(x.quantities)) {
    if (!isQuantityName(k))
      throw invalidField('SCHEMA_INVALID', `${path}.quantities.${k}`, 'a quantity name from the v1 table', k);
    int(v, `${path}.quantities.${k}`, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  }
  const qs: Quality[] = [];
  if (x.qualities !== undefined) {
    if (!isObj(x.qualities) || Object.keys(x.qualities).length === 0)
      throw invalidField(
        'SCHEMA_INVALID',
        `${path}.qualities`,
        'a non-empty map of quantity name to stale | invalid (omit when all good)',
        x.qualities,
      );
    for (const [k, v] of Object.entries(x.qualities)) {
      if (!isQuantityName(k))
        throw invalidField('SCHEMA_INVALID', `${path}.qualities.${k}`, 'a quantity name from the v1 table', k);
      if (v !== 'stale' && v !== 'invalid')
        throw invalidField('SCHEMA_INVALID', `${path}.qualities.${k}`, 'stale | invalid', v);
      if (v === 'invalid' && Object.hasOwn(x.quantities, k))
        throw invalidField(
          'SCHEMA_INVALID',
          `${path}.quantities.${k}`,
          'no value for an invalid quantity',
          x.quantities[k],
        );
      if (v === 'stale' && !Object.hasOwn(x.quantities, k))
        throw invalidField(
          'SCHEMA_INVALID',
          `${path}.quantities.${k}`,
          'the last known value for a stale quantity',
          undefined,
        );
      qs.push(v);
    }
  }
  const worst = worstQuality(qs);
  if (x.quality !== worst)
    throw invalidField('SCHEMA_INVALID', `${path}.quality`, `the worst quantity quality (${worst})`, x.quality);
  if (x.raw !== undefined) {
    if (!Array.isArray(x.raw) || x.raw.length === 0)
      throw invalidField('SCHEMA_INVALID', `${path}.raw`, 'a non-empty array (omit when absent)', x.raw);
    x.raw.forEach((r: unknown, i) => {
      const p = `${path}.raw[${i}]`;
      if (!isObj(r)) throw invalidField('SCHEMA_INVALID', p, 'a provenance object', r);
      for (const k of Object.keys(r))
        if (!['quantity', 'fc', 'address', 'words', 'type', 'scale'].includes(k))
          throw invalidField('SCHEMA_INVALID', `${p}.${k}`, 'no such field', r[k]);
      if (typeof r.quantity !== 'string' || !isQuantityName(r.quantity))
        throw invalidField('SCHEMA_INVALID', `${p}.quantity`, 'a quantity name', r.quantity);
      int(r.fc, `${p}.fc`, 1, 127);
      int(r.address, `${p}.address`, 0, 65535);
      if (!Array.isArray(r.words) || r.words.length === 0 || r.words.length > 125)
        throw invalidField('SCHEMA_INVALID', `${p}.words`, 'an array of 1..125 registers', r.words);
      r.words.forEach((w: unknown, j) => int(w, `${p}.words[${j}]`, 0, 65535));
      if (typeof r.type !== 'string' || r.type.length === 0)
        throw invalidField('SCHEMA_INVALID', `${p}.type`, 'a register type name', r.type);
      int(r.scale, `${p}.scale`, -20, 20);
    });
  }
  return x as unknown as Sample;
}

/** The sample as the canonical data model (optional fields omitted). */
export function sampleToCanonical(s: Sample): CanonicalValue {
  const o: Record<string, CanonicalValue> = {
    v: s.v,
    deviceId: s.deviceId,
    podId: s.podId,
    seq: s.seq,
    tsMs: s.tsMs,
    source: s.source,
    quantities: s.quantities,
    quality: s.quality,
  };
  if (s.qualities !== undefined) o.qualities = s.qualities;
  if (s.raw !== undefined) o.raw = s.raw.map((r) => ({ ...r }));
  return o;
}

/** Canonical bytes of a sample (the Merkle leaf's bytes). Validates first. */
export function encodeSample(s: Sample): Uint8Array {
  validateSample(s);
  return encodeCanonical(sampleToCanonical(s));
}

/** Decodes and validates canonical sample bytes; `DECODE_ERROR` / `SCHEMA_INVALID` / `VERSION_UNSUPPORTED`. */
export function decodeSample(bytes: Uint8Array): Sample {
  return validateSample(decodeCanonical(bytes));
}

/** The JSON form for people and debugging: the same fields; round-trips exactly (`sampleFromJson(sampleToJson(s))`). */
export function sampleToJson(s: Sample): string {
  return JSON.stringify(sampleToCanonical(s));
}

/** Parses and validates the JSON form; malformed JSON → `DECODE_ERROR`, bad fields → `SCHEMA_INVALID` naming the field. */
export function sampleFromJson(text: string): Sample {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new LightNodeError('DECODE_ERROR', `sample: malformed JSON (${(e as Error).message})`, {}, { cause: e });
  }
  return validateSample(v);
}

/** Builds a sample from a reading: computes `quality` and splits invalid quantities out of `quantities`. */
export function makeSample(fields: {
  deviceId: string;
  podId: string;
  seq: number;
  tsMs: number;
  source: SampleSource;
  values: Partial<Record<QuantityName, { value?: number; quality: Quality }>>;
  raw?: RawProvenance[];
}): Sample {
  const quantities: Partial<Record<QuantityName, number>> = {};
  const qualities: Partial<Record<QuantityName, 'stale' | 'invalid'>> = {};
  for (const [k, r] of Object.entries(fields.values) as [QuantityName, { value?: number; quality: Quality }][]) {
    if (r.quality === 'invalid' || r.value === undefined) {
      qualities[k] = 'invalid';
      continue;
    }
    if (!Number.isSafeInteger(r.value))
      throw invalidField('SCHEMA_INVALID', `values.${k}`, 'an integer in the unit of the name', r.value);
    quantities[k] = r.value;
    if (r.quality === 'stale') qualities[k] = 'stale';
  }
  const s: Sample = {
    v: PROTOCOL_VERSION,
    deviceId: fields.deviceId.toLowerCase(),
    podId: fields.podId,
    seq: fields.seq,
    tsMs: fields.tsMs,
    source: fields.source,
    quantities,
    quality: worstQuality(Object.values(qualities)),
  };
  if (Object.keys(qualities).length > 0) s.qualities = qualities;
  if (fields.raw && fields.raw.length > 0) s.raw = fields.raw;
  return s;
}
