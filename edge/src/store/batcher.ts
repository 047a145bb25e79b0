/**
 * The batcher (pure, no I/O): which unsealed samples form a batch, and sealing them.
 *
 * Windowing: consecutive seqs whose tsMs fall in one window [k·windowMs, (k+1)·windowMs) form one batch; a batch is
 * sealed once its window has ended (`nowMs ≥ windowEnd`) or when forced. A seq hole or a sample outside the window
 * closes the group early (it is sealed at once: nothing more can join it).
 */
import {
  makeSample,
  sealBatch,
  signGap,
  topicCodecs,
  type Eip712Domain,
  type Sample,
  type SignedGap,
  type Signer,
} from '@lightnode/protocols';
import type { CycleReading, GapDeclaration, SealedBatch } from './types.js';

export interface BatcherOptions {
  signer: Signer;
  domain: Eip712Domain;
  podId: string;
  windowMs: number;
}

/** A group of unsealed samples ready to seal: indexes [from, to) into the rows given to `planSeal`. */
export interface SealGroup {
  from: number;
  to: number;
  windowStartMs: number;
  windowEndMs: number;
}

/**
 * Plans the batches to seal from unsealed samples in seq order. Only `seq` and `tsMs` are looked at, so a store can
 * plan from its index and decode only what it seals.
 */
export function planSeal(
  rows: readonly { seq: number; tsMs: number }[],
  windowMs: number,
  nowMs: number,
  force = false,
): SealGroup[] {
  const out: SealGroup[] = [];
  let from = 0;
  let ws = 0;
  for (let i = 0; i <= rows.length; i++) {
    const r = rows[i];
    const prev = rows[i - 1];
    const joins =
      r !== undefined &&
      prev !== undefined &&
      i > from &&
      r.tsMs >= ws &&
      r.tsMs < ws + windowMs &&
      r.seq === prev.seq + 1;
    if (joins) continue;
    if (i > from) {
      const closed = r !== undefined || ws + windowMs <= nowMs;
      if (closed || force) out.push({ from, to: i, windowStartMs: ws, windowEndMs: ws + windowMs });
    }
    if (r !== undefined) {
      from = i;
      ws = Math.floor(r.tsMs / windowMs) * windowMs;
    }
  }
  return out;
}

/** Energies of a run of samples (first and last reading), for gap declarations. */
export interface EnergySpan {
  importWh?: [number, number];
  exportWh?: [number, number];
}

export function energySpan(samples: readonly Sample[]): EnergySpan {
  const f = samples[0]?.quantities;
  const l = samples[samples.length - 1]?.quantities;
  if (!f || !l) return {};
  return {
    ...(f.energyImportWh !== undefined && l.energyImportWh !== undefined
      ? { importWh: [f.energyImportWh, l.energyImportWh] as [number, number] }
      : {}),
    ...(f.energyExportWh !== undefined && l.energyExportWh !== undefined
      ? { exportWh: [f.energyExportWh, l.energyExportWh] as [number, number] }
      : {}),
  };
}

/** A gap over samples (e.g. lost because they could not be stored), with the energy they cover when known. */
export function gapOverSamples(samples: readonly Sample[], reason: string): GapDeclaration {
  const e = energySpan(samples);
  return {
    firstSeq: samples[0]!.seq,
    lastSeq: samples[samples.length - 1]!.seq,
    reason,
    energyImportWh: e.importWh ? e.importWh[1] - e.importWh[0] : -1,
    energyExportWh: e.exportWh ? e.exportWh[1] - e.exportWh[0] : -1,
    energies: e,
  };
}

export class Batcher {
  constructor(readonly o: BatcherOptions) {}

  get windowMs(): number {
    return this.o.windowMs;
  }

  /** Readings → samples with the given consecutive seqs (from `firstSeq`). */
  samples(readings: readonly CycleReading[], firstSeq: number): Sample[] {
    return readings.map((r, i) =>
      makeSample({
        deviceId: this.o.signer.address,
        podId: this.o.podId,
        seq: firstSeq + i,
        tsMs: r.tsMs,
        source: r.source,
        values: r.values,
        ...(r.raw ? { raw: r.raw } : {}),
      }),
    );
  }

  plan(rows: readonly { seq: number; tsMs: number }[], nowMs: number, force = false): SealGroup[] {
    return planSeal(rows, this.o.windowMs, nowMs, force);
  }

  /** Signs one group (consecutive samples of one window) and encodes it for the wire. */
  seal(samples: Sample[], windowStartMs: number): SealedBatch {
    const batch = sealBatch(
      {
        deviceId: this.o.signer.address,
        podId: this.o.podId,
        samples,
        windowStartMs,
        windowEndMs: windowStartMs + this.o.windowMs,
      },
      this.o.signer,
      this.o.domain,
    );
    return { batch, wire: topicCodecs.batch.encode(batch) };
  }

  /** Signs a gap declaration (`atMs` = when it is declared). */
  signGap(d: GapDeclaration, atMs: number): { gap: SignedGap; payload: Uint8Array } {
    const gap = signGap(
      {
        version: 1,
        deviceId: this.o.signer.address,
        podId: this.o.podId,
        firstSeq: d.firstSeq,
        lastSeq: d.lastSeq,
        count: d.lastSeq - d.firstSeq + 1,
        reason: d.reason,
        energyImportWh: d.energyImportWh,
        energyExportWh: d.energyExportWh,
        atMs,
      },
      this.o.signer,
      this.o.domain,
    );
    return { gap, payload: topicCodecs.gap.encode(gap) };
  }
}
