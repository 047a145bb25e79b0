/**
 * The compact binary wire form of a signed batch (what goes in the MQTT payload of `ln/v1/{deviceId}/batch`).
 *
 * Layout: 1 format byte (`0x01` = CBOR, `0x02` = deflate-raw(CBOR)) followed by a CBOR map:
 *   `h`   header as an array [version, deviceId (20 B), podId, firstSeq, lastSeq, count, windowStartMs, windowEndMs, root (32 B)]
 *   `sig` the 65-byte signature
 *   `src` the source when all samples share it, else an array of [source, runLength] runs
 *   `t`   byte string of zigzag varints: tsMs deltas of order `to` (key `to`: 1 or 2), first value relative to windowStartMs
 *   `q`   map quantity → [order (1|2), presence bitmap (byte string, empty when present in every sample), zigzag varint deltas]
 *   `ql`  (optional) sparse non-good qualities: array of [sampleIndex, quantity, "stale" | "invalid"]
 *   `raw` (optional) sparse provenance: array of [sampleIndex, [[quantity, fc, address, [words…], type, scale], …]]
 * Every sample's canonical bytes are rebuilt exactly from this (v, deviceId and podId come from the header, seq
 * from firstSeq + index, the overall quality from the per-quantity qualities), so the receiver re-hashes every leaf
 * and checks the signed root: the wire form adds no trust of its own.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { decode, encode, rfc8949EncodeOptions } from 'cborg';
import { LightNodeError, invalidField } from '../errors.js';
import { fromHex, toHex } from './canonical.js';
import type { BatchHeader, SignedBatch } from './batch.js';
import { isQuantityName, type QuantityName } from './quantities.js';
import {
  PROTOCOL_VERSION,
  SAMPLE_SOURCES,
  validateSample,
  worstQuality,
  type RawProvenance,
  type Sample,
} from './sample.js';

const FORMAT_CBOR = 0x01;
const FORMAT_DEFLATE = 0x02;

class Writer {
  private buf = new Uint8Array(256);
  len = 0;
  private grow(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  varint(n: number): void {
    // zigzag for signed safe integers, then LEB128 (7 bits per byte)
    let z = n >= 0 ? n * 2 : -n * 2 - 1;
    this.grow(8);
    while (z >= 0x80) {
      this.buf[this.len++] = (z % 0x80) | 0x80;
      z = Math.floor(z / 0x80);
    }
    this.buf[this.len++] = z;
  }
  bytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function readVarints(b: Uint8Array, count: number, field: string): number[] {
  const out: number[] = [];
  let i = 0;
  for (let k = 0; k < count; k++) {
    let z = 0;
    let mul = 1;
    for (;;) {
      if (i >= b.length)
        throw new LightNodeError('DECODE_ERROR', `batch wire: ${field} ends after ${k} of ${count} values`, { field });
      const byte = b[i++]!;
      z += (byte & 0x7f) * mul;
      mul *= 0x80;
      if (byte < 0x80) break;
      if (mul > 2 ** 56)
        throw new LightNodeError('DECODE_ERROR', `batch wire: ${field} has an over-long varint`, { field });
    }
    out.push(z % 2 === 0 ? z / 2 : -(z + 1) / 2);
  }
  if (i !== b.length)
    throw new LightNodeError('DECODE_ERROR', `batch wire: ${field} has ${b.length - i} trailing bytes`, { field });
  return out;
}

function deltas(values: number[], order: 1 | 2): number[] {
  let v = values;
  for (let o = 0; o < order; o++) v = v.map((x, i) => (i === 0 ? x : x - v[i - 1]!));
  return v;
}
function undeltas(d: number[], order: number): number[] {
  let v = d;
  for (let o = 0; o < order; o++) {
    const acc: number[] = [];
    v.forEach((x, i) => acc.push(i === 0 ? x : acc[i - 1]! + x));
    v = acc;
  }
  return v;
}
function encodeColumn(values: number[]): [number, Uint8Array] {
  let best: [number, Uint8Array] | null = null;
  for (const order of [1, 2] as const) {
    const w = new Writer();
    for (const d of deltas(values, order)) w.varint(d);
    const b = w.bytes();
    if (!best || b.length < best[1].length) best = [order, b];
  }
  return best!;
}

/** Encodes a signed batch in the compact wire form; `deflate` (default true) compresses it. */
export function encodeBatchWire(batch: SignedBatch, opts: { deflate?: boolean } = {}): Uint8Array {
  const { header: h, samples } = batch;
  const n = samples.length;
  const srcs = samples.map((s) => s.source);
  const src: unknown = srcs.every((s) => s === srcs[0])
    ? srcs[0]
    : srcs.reduce<[string, number][]>((runs, s) => {
        const last = runs[runs.length - 1];
        if (last && last[0] === s) last[1]++;
        else runs.push([s, 1]);
        return runs;
      }, []);
  const [to, t] = encodeColumn(samples.map((s) => s.tsMs - h.windowStartMs));
  const names = new Set<string>();
  for (const s of samples) for (const k of Object.keys(s.quantities)) names.add(k);
  const q: Record<string, [number, Uint8Array, Uint8Array]> = {};
  for (const name of names) {
    const bitmap = new Uint8Array(Math.ceil(n / 8));
    const vals: number[] = [];
    let all = true;
    samples.forEach((s, i) => {
      const v = s.quantities[name as QuantityName];
      if (v === undefined) all = false;
      else {
        bitmap[i >> 3]! |= 1 << (i & 7);
        vals.push(v);
      }
    });
    const [order, bytes] = encodeColumn(vals);
    q[name] = [order, all ? new Uint8Array(0) : bitmap, bytes];
  }
  const doc: Record<string, unknown> = {
    h: [
      h.version,
      fromHex(h.deviceId),
      h.podId,
      h.firstSeq,
      h.lastSeq,
      h.count,
      h.windowStartMs,
      h.windowEndMs,
      fromHex(h.root),
    ],
    sig: batch.signature,
    src,
    to,
    t,
    q,
  };
  const ql: [number, string, string][] = [];
  const raw: [number, unknown[]][] = [];
  samples.forEach((s, i) => {
    if (s.qualities) for (const [k, v] of Object.entries(s.qualities)) ql.push([i, k, v]);
    if (s.raw) raw.push([i, s.raw.map((r) => [r.quantity, r.fc, r.address, r.words, r.type, r.scale])]);
  });
  if (ql.length) doc.ql = ql;
  if (raw.length) doc.raw = raw;
  const cbor = encode(doc, rfc8949EncodeOptions);
  const deflate = opts.deflate ?? true;
  const body = deflate ? deflateRawSync(cbor, { level: 9 }) : cbor;
  const out = new Uint8Array(body.length + 1);
  out[0] = deflate ? FORMAT_DEFLATE : FORMAT_CBOR;
  out.set(body, 1);
  return out;
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/**
 * Decodes the wire form back into a `SignedBatch` (samples validated). Never trusts it: call `verifyBatch` on the
 * result. Garbage → `DECODE_ERROR` naming the part; invalid samples → `SCHEMA_INVALID` naming the field.
 */
export function decodeBatchWire(bytes: Uint8Array): SignedBatch {
  if (!(bytes instanceof Uint8Array) || bytes.length < 2)
    throw new LightNodeError('DECODE_ERROR', 'batch wire: too short', {});
  let cbor: Uint8Array;
  if (bytes[0] === FORMAT_CBOR) cbor = bytes.subarray(1);
  else if (bytes[0] === FORMAT_DEFLATE) {
    try {
      cbor = inflateRawSync(bytes.subarray(1), { maxOutputLength: 64 * 1024 * 1024 });
    } catch (e) {
      throw new LightNodeError(
        'DECODE_ERROR',
        `batch wire: deflate stream is corrupt (${(e as Error).message})`,
        {},
        { cause: e },
      );
    }
  } else
    throw new LightNodeError(
      'DECODE_ERROR',
      `batch wire: unknown format byte 0x${bytes[0]!.toString(16).padStart(2, '0')} (expected 01 or 02)`,
      { field: 'format' },
    );
  let doc: unknown;
  try {
    doc = decode(cbor, {
      strict: true,
      useMaps: false,
      rejectDuplicateMapKeys: true,
      allowUndefined: false,
      allowIndefinite: false,
    });
  } catch (e) {
    throw new LightNodeError('DECODE_ERROR', `batch wire: malformed CBOR (${(e as Error).message})`, {}, { cause: e });
  }
  if (!isObj(doc)) throw invalidField('DECODE_ERROR', 'wire', 'a CBOR map', doc);
  const hArr = doc.h;
  if (!Array.isArray(hArr) || hArr.length !== 9)
    throw invalidField('DECODE_ERROR', 'wire.h', 'a 9-element header array', hArr);
  const [version, dev, podId, firstSeq, lastSeq, count, ws, we, root] = hArr as unknown[];
  if (version !== PROTOCOL_VERSION)
    throw new LightNodeError(
      'VERSION_UNSUPPORTED',
      `batch wire: header version ${String(version)} is not supported (speaks ${PROTOCOL_VERSION})`,
      { field: 'header.version' },
    );
  if (!(dev instanceof Uint8Array) || dev.length !== 20)
    throw invalidField('DECODE_ERROR', 'wire.h.deviceId', '20 bytes', dev);
  if (typeof podId !== 'string') throw invalidField('DECODE_ERROR', 'wire.h.podId', 'a string', podId);
  for (const [name, v] of [
    ['firstSeq', firstSeq],
    ['lastSeq', lastSeq],
    ['count', count],
    ['windowStartMs', ws],
    ['windowEndMs', we],
  ] as const)
    if (!isInt(v) || v < 0) throw invalidField('DECODE_ERROR', `wire.h.${name}`, 'a non-negative integer', v);
  if (!(root instanceof Uint8Array) || root.length !== 32)
    throw invalidField('DECODE_ERROR', 'wire.h.root', '32 bytes', root);
  const n = count as number;
  if (n < 1 || n > 1_000_000) throw invalidField('DECODE_ERROR', 'wire.h.count', '1..1000000', n);
  const header: BatchHeader = {
    version: PROTOCOL_VERSION,
    deviceId: toHex(dev),
    podId,
    firstSeq: firstSeq as number,
    lastSeq: lastSeq as number,
    count: n,
    windowStartMs: ws as number,
    windowEndMs: we as number,
    root: toHex(root),
  };
  if (!(doc.sig instanceof Uint8Array) || doc.sig.length !== 65)
    throw invalidField('DECODE_ERROR', 'wire.sig', '65 bytes', doc.sig);
  // sources
  let sources: string[];
  if (typeof doc.src === 'string') sources = new Array<string>(n).fill(doc.src);
  else if (Array.isArray(doc.src)) {
    sources = [];
    for (const run of doc.src as unknown[]) {
      if (!Array.isArray(run) || typeof run[0] !== 'string' || !isInt(run[1]) || run[1] < 1)
        throw invalidField('DECODE_ERROR', 'wire.src', '[source, runLength] runs', run);
      for (let k = 0; k < run[1]; k++) sources.push(run[0]);
    }
  } else throw invalidField('DECODE_ERROR', 'wire.src', 'a source or runs', doc.src);
  if (sources.length !== n) throw invalidField('DECODE_ERROR', 'wire.src', `${n} sources`, sources.length);
  for (const s of sources)
    if (!(SAMPLE_SOURCES as readonly string[]).includes(s))
      throw invalidField('SCHEMA_INVALID', 'wire.src', SAMPLE_SOURCES.join(' | '), s);
  if (!isInt(doc.to) || (doc.to !== 1 && doc.to !== 2)) throw invalidField('DECODE_ERROR', 'wire.to', '1 or 2', doc.to);
  if (!(doc.t instanceof Uint8Array)) throw invalidField('DECODE_ERROR', 'wire.t', 'a byte string', doc.t);
  const ts = undeltas(readVarints(doc.t, n, 'wire.t'), doc.to).map((x) => x + header.windowStartMs);
  const quantities: Record<string, number>[] = Array.from({ length: n }, () => ({}));
  if (!isObj(doc.q)) throw invalidField('DECODE_ERROR', 'wire.q', 'a map of columns', doc.q);
  for (const [name, col] of Object.entries(doc.q)) {
    if (!isQuantityName(name))
      throw invalidField('SCHEMA_INVALID', `wire.q.${name}`, 'a quantity name from the v1 table', name);
    if (
      !Array.isArray(col) ||
      col.length !== 3 ||
      (col[0] !== 1 && col[0] !== 2) ||
      !(col[1] instanceof Uint8Array) ||
      !(col[2] instanceof Uint8Array)
    )
      throw invalidField('DECODE_ERROR', `wire.q.${name}`, '[order, bitmap, deltas]', col);
    const bitmap = col[1];
    const present: number[] = [];
    if (bitmap.length === 0) for (let i = 0; i < n; i++) present.push(i);
    else {
      if (bitmap.length !== Math.ceil(n / 8))
        throw invalidField('DECODE_ERROR', `wire.q.${name}.bitmap`, `${Math.ceil(n / 8)} bytes`, bitmap.length);
      for (let i = 0; i < n; i++) if (bitmap[i >> 3]! & (1 << (i & 7))) present.push(i);
    }
    const vals = undeltas(readVarints(col[2], present.length, `wire.q.${name}`), col[0] as number);
    present.forEach((i, k) => (quantities[i]![name] = vals[k]!));
  }
  const qualities: Record<string, string>[] = Array.from({ length: n }, () => ({}));
  if (doc.ql !== undefined) {
    if (!Array.isArray(doc.ql)) throw invalidField('DECODE_ERROR', 'wire.ql', 'an array', doc.ql);
    for (const e of doc.ql as unknown[]) {
      if (
        !Array.isArray(e) ||
        !isInt(e[0]) ||
        e[0] < 0 ||
        e[0] >= n ||
        typeof e[1] !== 'string' ||
        typeof e[2] !== 'string'
      )
        throw invalidField('DECODE_ERROR', 'wire.ql', '[index, quantity, quality] entries', e);
      qualities[e[0]]![e[1]] = e[2];
    }
  }
  const raws: (RawProvenance[] | undefined)[] = new Array<RawProvenance[] | undefined>(n).fill(undefined);
  if (doc.raw !== undefined) {
    if (!Array.isArray(doc.raw)) throw invalidField('DECODE_ERROR', 'wire.raw', 'an array', doc.raw);
    for (const e of doc.raw as unknown[]) {
      if (!Array.isArray(e) || !isInt(e[0]) || e[0] < 0 || e[0] >= n || !Array.isArray(e[1]))
        throw invalidField('DECODE_ERROR', 'wire.raw', '[index, provenance] entries', e);
      raws[e[0]] = (e[1] as unknown[]).map((r) => {
        if (!Array.isArray(r) || r.length !== 6)
          throw invalidField('DECODE_ERROR', 'wire.raw[].entry', '[quantity, fc, address, words, type, scale]', r);
        const [quantity, fc, address, words, type, scale] = r as unknown[];
        return { quantity, fc, address, words, type, scale } as RawProvenance; // validated with the sample below
      });
    }
  }
  const samples: Sample[] = [];
  for (let i = 0; i < n; i++) {
    const ql = qualities[i]!;
    const s: Record<string, unknown> = {
      v: PROTOCOL_VERSION,
      deviceId: header.deviceId,
      podId,
      seq: header.firstSeq + i,
      tsMs: ts[i],
      source: sources[i],
      quantities: quantities[i],
      quality: worstQuality(Object.values(ql) as ('stale' | 'invalid')[]),
    };
    if (Object.keys(ql).length) s.qualities = ql;
    if (raws[i]) s.raw = raws[i];
    samples.push(validateSample(s, `samples[${i}]`));
  }
  return { header, samples, signature: doc.sig };
}
