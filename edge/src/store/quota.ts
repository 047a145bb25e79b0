/**
 * The quota planner (pure): undelivered items + quota → evictions + gap declarations, and the OUTBOX_FULL alarm.
 *
 * Policy (edge/README.md § Store): when the undelivered bytes (item payloads + unsealed samples) exceed the quota,
 * the oldest undelivered **batches** are evicted whole until the bytes are under 90 % of the quota; each run of
 * consecutive evicted seqs becomes one signed gap (`disk_quota`) carrying the energy over the run when every batch
 * of it knows its first and last energy readings (−1 otherwise). A run that starts right after an undelivered gap of
 * the same reason extends that gap (re-signed, one declaration per run). Gaps, acks, QoS reports and reports are
 * never evicted; signed items are never rewritten; metering never blocks.
 *
 * Alarm: OUTBOX_FULL is raised at the first eviction and stands until the link has delivered something after the
 * last eviction and the backlog is under half the quota.
 */
import type { EnergySpan } from './batcher.js';
import type { GapDeclaration } from './types.js';

export const QUOTA_TARGET = 0.9;
export const QUOTA_CLEAR = 0.5;

export interface QuotaBatch {
  id: number;
  firstSeq: number;
  lastSeq: number;
  bytes: number;
  energies: EnergySpan;
}

export interface QuotaInput {
  /** Undelivered batches in seq order. */
  batches: readonly QuotaBatch[];
  /** Undelivered gaps (a new run may extend one). */
  gaps: readonly { id: number; decl: GapDeclaration }[];
  /** All undelivered bytes: item payloads and unsealed samples. */
  bytes: number;
  quotaBytes: number;
}

export interface QuotaPlan {
  over: boolean;
  /** Batch ids to delete. */
  evict: number[];
  /** Gaps to sign and store; `replaces` = the id of an undelivered gap it extends (to delete). */
  declare: { decl: GapDeclaration; replaces?: number }[];
  evictedSamples: number;
  /** Undelivered bytes after the plan (the new gaps' bytes not counted). */
  bytesAfter: number;
}

/** Extends `prev` by `next` when `next` starts right after it with the same reason; otherwise null. */
export function mergeGap(prev: GapDeclaration, next: GapDeclaration): GapDeclaration | null {
  if (prev.reason !== next.reason || prev.lastSeq + 1 !== next.firstSeq) return null;
  const energies: EnergySpan = {};
  const energy = (k: keyof EnergySpan, a: number, b: number): number => {
    const p = prev.energies?.[k];
    const n = next.energies?.[k];
    if (p && n) {
      energies[k] = [p[0], n[1]];
      return n[1] - p[0]; // the energy between the two runs counts too
    }
    return a >= 0 && b >= 0 ? a + b : -1;
  };
  return {
    firstSeq: prev.firstSeq,
    lastSeq: next.lastSeq,
    reason: next.reason,
    energyImportWh: energy('importWh', prev.energyImportWh, next.energyImportWh),
    energyExportWh: energy('exportWh', prev.energyExportWh, next.energyExportWh),
    energies,
  };
}

function runGap(run: readonly QuotaBatch[], reason: string): GapDeclaration {
  const energies: EnergySpan = {};
  const span = (k: keyof EnergySpan): number => {
    const a = run[0]!.energies[k];
    const z = run[run.length - 1]!.energies[k];
    if (!a || !z || !run.every((x) => x.energies[k])) return -1;
    energies[k] = [a[0], z[1]];
    return z[1] - a[0];
  };
  return {
    firstSeq: run[0]!.firstSeq,
    lastSeq: run[run.length - 1]!.lastSeq,
    reason,
    energyImportWh: span('importWh'),
    energyExportWh: span('exportWh'),
    energies,
  };
}

export function planQuota(input: QuotaInput): QuotaPlan {
  let bytes = input.bytes;
  const plan: QuotaPlan = {
    over: bytes > input.quotaBytes,
    evict: [],
    declare: [],
    evictedSamples: 0,
    bytesAfter: bytes,
  };
  if (!plan.over) return plan;
  const target = input.quotaBytes * QUOTA_TARGET;
  const victims: QuotaBatch[] = [];
  for (const b of input.batches) {
    if (bytes <= target) break;
    victims.push(b);
    bytes -= b.bytes;
  }
  const runs: QuotaBatch[][] = [];
  for (const v of victims) {
    const last = runs[runs.length - 1];
    if (last && last[last.length - 1]!.lastSeq + 1 === v.firstSeq) last.push(v);
    else runs.push([v]);
  }
  for (const run of runs) {
    const gap = runGap(run, 'disk_quota');
    const prev = input.gaps.find((g) => g.decl.lastSeq + 1 === gap.firstSeq && g.decl.reason === gap.reason);
    const merged = prev ? mergeGap(prev.decl, gap) : null;
    plan.declare.push(merged && prev ? { decl: merged, replaces: prev.id } : { decl: gap });
    plan.evictedSamples += gap.lastSeq - gap.firstSeq + 1;
  }
  plan.evict = victims.map((v) => v.id);
  plan.bytesAfter = bytes;
  return plan;
}

/** The OUTBOX_FULL alarm state (kept in memory). */
export interface FullAlarm {
  fullSinceMs?: number;
  deliveredSinceEviction: boolean;
}

/** The alarm after a quota check at `nowMs` (`over` from the plan, `bytes` the backlog). */
export function nextAlarm(a: FullAlarm, over: boolean, bytes: number, quotaBytes: number, nowMs: number): FullAlarm {
  if (over) return { fullSinceMs: a.fullSinceMs ?? nowMs, deliveredSinceEviction: false };
  if (a.fullSinceMs !== undefined && a.deliveredSinceEviction && bytes < quotaBytes * QUOTA_CLEAR)
    return { deliveredSinceEviction: true };
  return a;
}
