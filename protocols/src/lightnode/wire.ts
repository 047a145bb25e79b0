/**
 * The compact binary wire form of a signed batch (the MQTT payload of `ln/v1/{deviceId}/batch`).
 *
 * Layout: 1 format byte (`0x01` = CBOR, `0x02` = deflate-raw(CBOR), whichever is smaller) then a CBOR array
 * [h, sig, src, t, q, bits (, ql (, raw))] whose elements are:
 *   `h`    header [version, deviceId (20 B), podId, firstSeq, count, windowStartMs, windowDurationMs, root (32 B)]
 *          (lastSeq = firstSeq + count − 1 and windowEndMs = windowStartMs + windowDurationMs are rebuilt)
 *   `sig`  the 65-byte signature r‖s‖v
 *   `src`  index of the source in SAMPLE_SOURCES when all samples share it, else [[index, runLength], …]
 *   `t`    the tsMs column descriptor [orderK, heads…] (values relative to windowStartMs)
 *   `q`    quantity column descriptors, in the order their bits appear:
 *          [id, orderK, heads…] for a quantity present in every sample and coded on its own, or
 *          [−(id + 1), orderK, bitmap, basis, heads…] where `bitmap` is empty (present in every sample) or has bit i
 *          (LSB first within byte i/8) set when sample i has the quantity, and `basis` lists ids of earlier full
 *          columns: the column codes value − Σ basis values (a total against the sum of its phases).
 *          `id` is the 0-based row of the v1 quantity table (`QUANTITY_IDS`).
 *   `bits` one bit string: the residuals of `t` then of each `q` column, in order
 *   `ql`   (optional) sparse non-good qualities: [[sampleIndex, quantity, "stale" | "invalid"], …]
 *   `raw`  (optional) sparse provenance: [[sampleIndex, [[quantity, fc, address, [words…], type, scale], …]], …]
 * Column coding: `orderK` = 3·k + order. Values are differenced `order` times (0, 1 or 2); the first `order` results
 * (the heads) are written in the descriptor as CBOR integers; the others are zigzag-mapped (0, −1, 1, −2 … →
 * 0, 1, 2, 3 …) and Rice-coded with parameter k (0..40): quotient z >> k in unary (ones, then a zero), then the k low
 * bits, MSB first; a quotient ≥ 24 is escaped as 24 ones, 6 bits of length L (≤ 54) and the L bits of z. k = 41: every
 * residual is 0 and takes no bits. Bits are packed MSB first; the last byte is zero-padded. The column coder lives
 * in `wire-columns.ts`.
 *
 * Every sample's canonical bytes are rebuilt exactly (v, deviceId and podId from the header, seq = firstSeq + index,
 * the overall quality from the per-quantity qualities), so a receiver re-hashes every leaf and checks the signed root:
 * the wire form adds no trust of its own.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { decode, encode, rfc8949EncodeOptions } from 'cborg';
import { LightNodeError, invalidField } from '../errors.js';
import {
  BitReader,
  BitWriter,
  K_ALL_ZERO,
  isInt,
  planColumn,
  readColumn,
  riceEncode,
  type Column,
} from './wire-columns.js';
import { fromHex, toHex } from './canonical.js';
import type { BatchHeader, SignedBatch } from './batch.js';
import { QUANTITY_IDS, QUANTITY_NAMES, type QuantityName } from './quantities.js';
import {
  PROTOCOL_VERSION,
  SAMPLE_SOURCES,
  markDecodedValid,
  validateSample,
  worstQuality,
  type RawProvenance,
  type Sample,
} from './sample.js';

const FORMAT_CBOR = 0x01;
const FORMAT_DEFLATE = 0x02;
/** Per-phase quantities whose sum predicts a total (`activePowerW` ← L1 + L2 + L3), for a column basis. */
function sumBasis(name: QuantityName): QuantityName[] {
  const m = /^([a-zA-Z]+?)(W|Var|VA|mA)$/.exec(name);
  if (!m || /L[123]/.test(name)) return [];
  return (['L1', 'L2', 'L3'] as const)
    .map((p) => `${m[1]}${p}${m[2]}`)
    .filter((x): x is QuantityName => x in QUANTITY_IDS);
}

/** Encodes a signed batch in the compact wire form; `deflate: false` never compresses (default: whichever is smaller). */
export function encodeBatchWire(batch: SignedBatch, opts: { deflate?: boolean } = {}): Uint8Array {
  const { header: h, samples } = batch;
  const n = samples.length;
  const srcs = samples.map((s) => SAMPLE_SOURCES.indexOf(s.source));
  const src: unknown = srcs.every((s) => s === srcs[0])
    ? srcs[0]
    : srcs.reduce<[number, number][]>((runs, s) => {
        const last = runs[runs.length - 1];
        if (last && last[0] === s) last[1]++;
        else runs.push([s, 1]);
        return runs;
      }, []);
  const w = new BitWriter();
  const put = (c: Column): void => {
    if (c.k !== K_ALL_ZERO) riceEncode(w, c.zs, c.k, c.ds);
  };
  const tCol = planColumn(samples.map((s) => s.tsMs - h.windowStartMs));
  put(tCol);
  const names = new Set<QuantityName>();
  for (const s of samples) for (const k of Object.keys(s.quantities)) names.add(k as QuantityName);
  const q: unknown[] = [];
  const full = new Map<QuantityName, number[]>(); // columns present in every sample: usable as a basis
  // id order, with totals (which may use their phases as a basis) after everything else
  const rank = (x: QuantityName): number => QUANTITY_IDS[x] + (sumBasis(x).length ? 1_000_000 : 0);
  for (const name of [...names].sort((a, b) => rank(a) - rank(b))) {
    const bitmap = new Uint8Array(Math.ceil(n / 8));
    const vals: number[] = [];
    samples.forEach((s, i) => {
      const v = s.quantities[name];
      if (v !== undefined) {
        bitmap[i >> 3]! |= 1 << (i & 7);
        vals.push(v);
      }
    });
    const all = vals.length === n;
    const id = QUANTITY_IDS[name];
    let col = planColumn(vals);
    let basis: QuantityName[] = [];
    const candidates = all ? sumBasis(name).filter((b) => full.has(b)) : [];
    if (candidates.length >= 2) {
      const alt = planColumn(vals.map((v, i) => candidates.reduce((acc, b) => acc - full.get(b)![i]!, v)));
      if (alt.bits + 8 * (candidates.length + 3) < col.bits) {
        col = alt;
        basis = candidates;
      }
    }
    put(col);
    const orderK = col.k * 3 + col.order;
    q.push(
      all && basis.length === 0
        ? [id, orderK, ...col.heads]
        : [-(id + 1), orderK, all ? new Uint8Array(0) : bitmap, basis.map((b) => QUANTITY_IDS[b]), ...col.heads],
    );
    if (all) full.set(name, vals);
  }
  const ql: [number, string, string][] = [];
  const raw: [number, unknown[]][] = [];
  samples.forEach((s, i) => {
    if (s.qualities) for (const [k, v] of Object.entries(s.qualities)) ql.push([i, k, v]);
    if (s.raw) raw.push([i, s.raw.map((r) => [r.quantity, r.fc, r.address, r.words, r.type, r.scale])]);
  });
  const doc: unknown[] = [
    [
      h.version,
      fromHex(h.deviceId),
      h.podId,
      h.firstSeq,
      h.count,
      h.windowStartMs,
      h.windowEndMs - h.windowStartMs,
      fromHex(h.root),
    ],
    batch.signature,
    src,
    [tCol.k * 3 + tCol.order, ...tCol.heads],
    q,
    w.finish(),
  ];
  if (ql.length || raw.length) doc.push(ql);
  if (raw.length) doc.push(raw);
  const cbor = encode(doc, rfc8949EncodeOptions);
  const deflated = (opts.deflate ?? true) ? deflateRawSync(cbor, { level: 9 }) : null;
  const useDeflate = deflated !== null && deflated.length < cbor.length;
  const body = useDeflate ? deflated : cbor;
  const out = new Uint8Array(body.length + 1);
  out[0] = useDeflate ? FORMAT_DEFLATE : FORMAT_CBOR;
  out.set(body, 1);
  return out;
}

/**
 * Decodes the wire form into a `SignedBatch` (samples validated). Trusts nothing: call `verifyBatch` on the result.
 * Garbage → `DECODE_ERROR` naming the part; invalid samples → `SCHEMA_INVALID` naming the field.
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
      {
        field: 'format',
      },
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
  if (!Array.isArray(doc) || doc.length < 6 || doc.length > 8)
    throw invalidField('DECODE_ERROR', 'wire', 'a CBOR array [h, sig, src, t, q, bits (, ql (, raw))]', doc);
  const [hArr, sig, srcField, tField, qField, bitsField, qlField, rawField] = doc as unknown[];
  if (!Array.isArray(hArr) || hArr.length !== 8)
    throw invalidField('DECODE_ERROR', 'wire.h', 'an 8-element header array', hArr);
  const [version, dev, podId, firstSeq, count, ws, dur, root] = hArr as unknown[];
  if (version !== PROTOCOL_VERSION)
    throw new LightNodeError(
      'VERSION_UNSUPPORTED',
      `batch wire: header version ${String(version)} is not supported (speaks ${PROTOCOL_VERSION})`,
      {
        field: 'header.version',
      },
    );
  if (!(dev instanceof Uint8Array) || dev.length !== 20)
    throw invalidField('DECODE_ERROR', 'wire.h.deviceId', '20 bytes', dev);
  if (typeof podId !== 'string') throw invalidField('DECODE_ERROR', 'wire.h.podId', 'a string', podId);
  for (const [name, v] of [
    ['firstSeq', firstSeq],
    ['count', count],
    ['windowStartMs', ws],
    ['windowDurationMs', dur],
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
    lastSeq: (firstSeq as number) + n - 1,
    count: n,
    windowStartMs: ws as number,
    windowEndMs: (ws as number) + (dur as number),
    root: toHex(root),
  };
  if (!(sig instanceof Uint8Array) || sig.length !== 65)
    throw invalidField('DECODE_ERROR', 'wire.sig', '65 bytes', sig);
  const sourceName = (i: unknown): string => {
    const name = isInt(i) ? SAMPLE_SOURCES[i] : undefined;
    if (name === undefined)
      throw invalidField('SCHEMA_INVALID', 'wire.src', `a source index 0..${SAMPLE_SOURCES.length - 1}`, i);
    return name;
  };
  let sources: string[];
  if (isInt(srcField)) sources = new Array<string>(n).fill(sourceName(srcField));
  else if (Array.isArray(srcField)) {
    sources = [];
    for (const run of srcField as unknown[]) {
      if (!Array.isArray(run) || !isInt(run[1]) || run[1] < 1 || sources.length + run[1] > n)
        throw invalidField('DECODE_ERROR', 'wire.src', '[sourceIndex, runLength] runs', run);
      const name = sourceName(run[0]);
      for (let k = 0; k < run[1]; k++) sources.push(name);
    }
  } else throw invalidField('DECODE_ERROR', 'wire.src', 'a source index or runs', srcField);
  if (sources.length !== n) throw invalidField('DECODE_ERROR', 'wire.src', `${n} sources`, sources.length);
  if (!(bitsField instanceof Uint8Array)) throw invalidField('DECODE_ERROR', 'wire.bits', 'a byte string', bitsField);
  const r = new BitReader(bitsField);
  if (!Array.isArray(tField) || tField.length < 1)
    throw invalidField('DECODE_ERROR', 'wire.t', '[orderK, heads…]', tField);
  const ts = readColumn(r, tField[0], tField.slice(1), n, 'wire.t').map((x) => x + header.windowStartMs);
  const quantities: Record<string, number>[] = Array.from({ length: n }, () => ({}));
  if (!Array.isArray(qField)) throw invalidField('DECODE_ERROR', 'wire.q', 'an array of columns', qField);
  const seen = new Set<number>();
  const fullCols = new Map<number, number[]>();
  for (const col of qField as unknown[]) {
    if (!Array.isArray(col) || col.length < 2 || !isInt(col[0]))
      throw invalidField('DECODE_ERROR', 'wire.q[]', '[quantityId, orderK, …]', col);
    const extended = col[0] < 0;
    const id = extended ? -col[0] - 1 : col[0];
    const name = QUANTITY_NAMES[id];
    if (name === undefined || seen.has(id))
      throw invalidField('SCHEMA_INVALID', 'wire.q[].quantityId', `a new id 0..${QUANTITY_NAMES.length - 1}`, id);
    seen.add(id);
    const bitmap: unknown = extended ? col[2] : new Uint8Array(0);
    if (!(bitmap instanceof Uint8Array))
      throw invalidField('DECODE_ERROR', `wire.q.${name}.bitmap`, 'a byte string', bitmap);
    const present: number[] = [];
    if (bitmap.length === 0) for (let i = 0; i < n; i++) present.push(i);
    else {
      if (bitmap.length !== Math.ceil(n / 8))
        throw invalidField('DECODE_ERROR', `wire.q.${name}.bitmap`, `${Math.ceil(n / 8)} bytes`, bitmap.length);
      for (let i = 0; i < n; i++) if (bitmap[i >> 3]! & (1 << (i & 7))) present.push(i);
    }
    const basis: number[][] = [];
    if (extended) {
      if (!Array.isArray(col[3]) || (col[3].length > 0 && present.length !== n))
        throw invalidField('DECODE_ERROR', `wire.q.${name}.basis`, 'quantity ids (full columns only)', col[3]);
      for (const b of col[3] as unknown[]) {
        const vals = isInt(b) ? fullCols.get(b) : undefined;
        if (!vals) throw invalidField('DECODE_ERROR', `wire.q.${name}.basis`, 'ids of earlier full columns', b);
        basis.push(vals);
      }
    }
    const vals = readColumn(r, col[1], col.slice(extended ? 4 : 2), present.length, `wire.q.${name}`).map((v, i) =>
      basis.reduce((acc, b) => acc + b[i]!, v),
    );
    if (present.length === n) fullCols.set(id, vals);
    present.forEach((i, k) => (quantities[i]![name] = vals[k]!));
  }
  r.end();
  const qualities: Record<string, string>[] = Array.from({ length: n }, () => ({}));
  if (qlField !== undefined) {
    if (!Array.isArray(qlField)) throw invalidField('DECODE_ERROR', 'wire.ql', 'an array', qlField);
    for (const e of qlField as unknown[]) {
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
  if (rawField !== undefined) {
    if (!Array.isArray(rawField)) throw invalidField('DECODE_ERROR', 'wire.raw', 'an array', rawField);
    for (const e of rawField as unknown[]) {
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
    samples.push(markDecodedValid(validateSample(s, `samples[${i}]`)));
  }
  return { header, samples, signature: sig };
}
