/**
 * Settlement of a validated outcome from the SCD's measurements (issue 12 item 3): delivered = the PoD's average level
 * over the slot − baseline; settled = delivered capped at the accepted delta (0 when of the other sign); amount € =
 * |settled| kW × the accepted price (€/kW, paid for flexibility in either direction).
 *
 * The average level comes from the samples' energy counters (a meter without an export counter exports 0): (Δ energyImportWh − Δ energyExportWh) over the span
 * between two samples, in kW (= Δ Wh × 60/15 / 1000 over exactly one 15-min slot). The span starts at the last
 * sample at or before the slot start (none: the first inside the slot) and ends at the first sample at or after the
 * slot end (none: the last inside the slot); the entry says which (`span`). Two PoD services at one slot share the
 * PoD's delivered delta in the validated order.
 */
import type { MeasurementRow } from '../scd/rows.js';
import type { ValidatedService } from './validated.js';

export const SLOT_MS = 900_000;
/** How far outside the slot a bounding sample is looked for. */
export const MARGIN_MS = SLOT_MS;

export interface SettledService {
  /** `{index}/{playerServiceId}/{playerRequestId}`: one per validated service. */
  id: string;
  pod: string;
  index: number;
  playerServiceId: string;
  playerRequestId: string;
  playerOfferId: string;
  baselinekW: number;
  acceptedPValue: number;
  acceptedPPrice: number;
  /** The PoD's average level over the slot (kW), null without measurements. */
  deliveredLevelkW: number | null;
  settledkW: number | null;
  amountEur: number | null;
  /** Which samples bound the span: `outside` (at or beyond the slot bounds) or `inside` the slot. */
  span?: { from: 'outside' | 'inside'; to: 'outside' | 'inside'; fromMs: number; toMs: number };
  /** Why a service is not settled (yet). */
  reason?: string;
}

interface Counters {
  tsMs: number;
  importWh: number;
  exportWh: number;
}

function counters(r: MeasurementRow): Counters | undefined {
  const s = r.sample as { quantities?: Record<string, number>; qualities?: Record<string, string> } | undefined;
  const imp = s?.quantities?.energyImportWh;
  const exp = s?.quantities?.energyExportWh;
  if (typeof imp !== 'number') return undefined;
  if (typeof exp !== 'number' && s?.qualities?.energyExportWh) return undefined; // an export counter gone bad
  return { tsMs: r.tsMs, importWh: imp, exportWh: exp ?? 0 }; // no export counter at all: an import-only meter
}

/** The PoD's average level (kW, load convention) over [startMs, endMs) from `rows` (time order), or why not. */
export function averageLevel(
  rows: readonly MeasurementRow[],
  startMs: number,
  endMs: number,
): { kW: number; span: NonNullable<SettledService['span']> } | { reason: string } {
  const c = rows.map(counters).filter((x): x is Counters => x !== undefined);
  const before = c.filter((x) => x.tsMs <= startMs).at(-1);
  const inside = c.filter((x) => x.tsMs > startMs && x.tsMs < endMs);
  const after = c.find((x) => x.tsMs >= endMs);
  const a = before ?? inside[0];
  const b = after ?? inside.at(-1);
  if (!a || !b || b.tsMs <= a.tsMs)
    return { reason: `fewer than two samples with energy counters around the slot (${c.length} found)` };
  const wh = b.importWh - a.importWh - (b.exportWh - a.exportWh);
  return {
    kW: wh / ((b.tsMs - a.tsMs) / 3_600_000) / 1000,
    span: { from: before ? 'outside' : 'inside', to: after ? 'outside' : 'inside', fromMs: a.tsMs, toMs: b.tsMs },
  };
}

/** settled = delivered delta capped at the accepted delta, 0 when of the other sign (or nothing accepted). */
export function settledDelta(deliveredkW: number, acceptedkW: number): number {
  if (acceptedkW === 0 || Math.sign(deliveredkW) !== Math.sign(acceptedkW)) return 0;
  return Math.sign(acceptedkW) * Math.min(Math.abs(deliveredkW), Math.abs(acceptedkW));
}

/** Settles one PoD-slot's validated services against the PoD's average level (null: `reason`). */
export function settleSlot(
  pod: string,
  services: readonly ValidatedService[],
  baselinekW: number,
  level: { kW: number; span: NonNullable<SettledService['span']> } | { reason: string },
): SettledService[] {
  let left = 'kW' in level ? level.kW - baselinekW : 0;
  return services.map((s) => {
    const base = {
      id: `${s.index}/${s.playerServiceId}/${s.playerRequestId}`,
      pod,
      index: s.index,
      playerServiceId: s.playerServiceId,
      playerRequestId: s.playerRequestId,
      playerOfferId: s.playerOfferId,
      baselinekW,
      acceptedPValue: s.acceptedPValue,
      acceptedPPrice: s.acceptedPPrice,
    };
    if (!('kW' in level))
      return { ...base, deliveredLevelkW: null, settledkW: null, amountEur: null, reason: level.reason };
    const settled = settledDelta(left, s.acceptedPValue - baselinekW);
    left -= settled;
    return {
      ...base,
      deliveredLevelkW: level.kW,
      settledkW: settled,
      amountEur: Math.abs(settled) * s.acceptedPPrice,
      span: level.span,
    };
  });
}
