/**
 * From a cleared market outcome and the DSO platform's technical outcome to the validated outcome (issue 12 item 3):
 * per (PoD, slot) the DSOTP gives the PoD's validated LEVEL; the cut = Σ(the market services' deltas) − (that level −
 * baseline) is taken off the PoD's services TSO first, then DSO, dearest first (ties by playerServiceId, code-point
 * order), each down to a 0 delta. A service cut to 0 is `rejectionTypeP: "TECHNICAL"`, one cut partly
 * `"PARTIAL_TECHNICAL"`; a cut of at most `CUT_TOLERANCE_KW` is none. A (PoD, slot) the technical outcome does not name keeps its cleared services.
 */
import { z } from 'zod';
import { LightNodeError } from '@lightnode/protocols';
import type { MarketOutcome } from './clear.js';
import { codePoint, type PodRegistryEntry } from './documents.js';

const NUM = z.number().refine(Number.isFinite, 'expected a finite number');

/** `POST /technicalOutcome` (dso): the DSOTP's validated level per PoD and slot. */
export const TechnicalOutcomeSchema = z.strictObject({
  marketType: z.literal('dayAhead'),
  duration: z.number().positive(),
  interval: z.number().int().positive(),
  startTime: z.string().refine((s) => Number.isFinite(Date.parse(s)), 'expected an ISO 8601 time'),
  /** The session id of the market outcome validated (`DA-2021-06-23`). */
  marketOutcome: z.string().min(1).max(64),
  flexibility: z.array(
    z.strictObject({
      pod: z.string().min(1).max(64),
      power: z.array(
        z.strictObject({
          index: z.number().int().min(0).max(99),
          acceptedPValue: NUM,
          acceptedP: z.enum(['OK', 'REJECTED']),
          acceptedQValue: NUM.nullable().optional(),
          acceptedQ: z.enum(['OK', 'REJECTED']).nullable().optional(),
        }),
      ),
    }),
  ),
});
export type TechnicalOutcome = z.infer<typeof TechnicalOutcomeSchema>;

/** A cut this small is the rounding of the DSOTP's level, not a cut (the DSOTP trims to 0.001 kW). */
export const CUT_TOLERANCE_KW = 1e-6;

export type RejectionType = null | 'TECHNICAL' | 'PARTIAL_TECHNICAL';
export interface ValidatedService {
  index: number;
  /** The PoD's level with this service after validation: baseline + the delta left (kW). */
  acceptedPValue: number;
  acceptedQValue: null;
  /** The market's pay-as-clear price of the service's request (€/kW). */
  acceptedPPrice: number;
  acceptedQPrice: null;
  rejectionTypeP: RejectionType;
  rejectionTypeQ: null;
  playerServiceId: string;
  playerRequestId: string;
  playerOfferId: string;
}
export interface ValidatedOutcome {
  session: string;
  marketType: 'dayAhead';
  startTime: string;
  duration: number;
  interval: number;
  flexibility: { pod: string; power: ValidatedService[] }[];
}

/** Which kind of request a playerRequestId made (`TSO_request` services are cut first). */
export type RequestKindOf = (playerRequestId: string) => 'DSO_request' | 'TSO_request' | undefined;

const baselineOf = (registry: ReadonlyMap<string, PodRegistryEntry>, pod: string, index: number): number => {
  const b = registry.get(pod)?.baselinekW[String(index)];
  if (b === undefined)
    throw new LightNodeError('MARKET_BASELINE_MISSING', `PoD ${pod} has no baseline for slot ${index}`, {
      pod,
      slot: index,
    });
  return b;
};

/** The validated outcome of `market` under `technical` (already checked to be this session's). */
export function validateOutcome(
  session: string,
  market: MarketOutcome,
  technical: TechnicalOutcome,
  registry: readonly PodRegistryEntry[],
  kindOf: RequestKindOf,
): ValidatedOutcome {
  const reg = new Map(registry.map((e) => [e.pod, e]));
  const levels = new Map<string, number>();
  technical.flexibility.forEach((f, i) => {
    if (!reg.has(f.pod))
      throw new LightNodeError('MARKET_POD_UNKNOWN', `technical outcome: PoD ${f.pod} is not in session ${session}`, {
        pod: f.pod,
        field: `flexibility.${i}.pod`,
      });
    for (const p of f.power) levels.set(`${f.pod}|${p.index}`, p.acceptedPValue);
  });
  const flexibility = market.flexibility.map(({ pod, power }) => {
    const out: ValidatedService[] = power.map((s) => ({
      index: s.index,
      acceptedPValue: s.acceptedPValue,
      acceptedQValue: null,
      acceptedPPrice: s.acceptedPPrice,
      acceptedQPrice: null,
      rejectionTypeP: null,
      rejectionTypeQ: null,
      playerServiceId: s.playerServiceId,
      playerRequestId: s.playerRequestId,
      playerOfferId: s.playerOfferId,
    }));
    for (const index of new Set(out.map((s) => s.index))) {
      const level = levels.get(`${pod}|${index}`);
      if (level === undefined) continue;
      cutSlot(
        out.filter((s) => s.index === index),
        baselineOf(reg, pod, index),
        level,
        kindOf,
      );
    }
    return { pod, power: out };
  });
  return {
    session,
    marketType: 'dayAhead',
    startTime: market.startTime,
    duration: market.duration,
    interval: market.interval,
    flexibility,
  };
}

/** Cuts one PoD-slot's services (in place) so that the PoD's level is `level` at most in the services' direction. */
function cutSlot(services: ValidatedService[], baseline: number, level: number, kindOf: RequestKindOf): void {
  const delta = (s: ValidatedService): number => s.acceptedPValue - baseline;
  const total = services.reduce((a, s) => a + delta(s), 0);
  const sign = total >= 0 ? 1 : -1;
  const allowed = Math.max(0, Math.min(sign * total, sign * (level - baseline)));
  let excess = sign * total - allowed;
  if (excess <= CUT_TOLERANCE_KW) return;
  const rank = (s: ValidatedService): number => (kindOf(s.playerRequestId) === 'TSO_request' ? 0 : 1);
  const order = services
    .filter((s) => sign * delta(s) > 0)
    .sort(
      (a, b) =>
        rank(a) - rank(b) || b.acceptedPPrice - a.acceptedPPrice || codePoint(a.playerServiceId, b.playerServiceId),
    );
  for (const s of order) {
    if (excess <= 0) break;
    const d = sign * delta(s);
    if (excess >= d) {
      s.acceptedPValue = baseline;
      s.rejectionTypeP = 'TECHNICAL';
      excess -= d;
    } else {
      // the last service cut: the PoD ends at the validated level exactly (not baseline + a rounded delta), or at
      // the baseline when the level is beyond it; never past the service's own delta either way
      const others = services.filter((o) => o !== s).reduce((a, o) => a + delta(o), 0);
      const target = allowed === sign * (level - baseline) ? level : baseline + sign * allowed;
      const left = Math.min(d, Math.max(0, sign * (target - others - baseline)));
      s.acceptedPValue = left === sign * (target - others - baseline) ? target - others : baseline + sign * left;
      s.rejectionTypeP = left === 0 ? 'TECHNICAL' : 'PARTIAL_TECHNICAL';
      excess = 0;
    }
  }
}

/** The entries a participant may read: an aggregator its PoDs', DSO / TSO their own requests', the market all. */
export function visibleServices<T extends { playerRequestId: string }>(
  flexibility: readonly { pod: string; power: T[] }[],
  may: (pod: string, s: T) => boolean,
): { pod: string; power: T[] }[] {
  return flexibility
    .map((f) => ({ pod: f.pod, power: f.power.filter((s) => may(f.pod, s)) }))
    .filter((f) => f.power.length > 0);
}
