/**
 * Technical validation of a market outcome. Per slot, the power flow at the accepted levels (a PoD's level = its
 * baseline + Σ the deltas of its services, each service's delta = its acceptedPValue − baseline); a violation is
 * NEW when its element is not violated at the baselines. While a new violation remains, the next service in trim
 * order whose PoD is below a newly violated element (a branch: the PoD's bus in the branch's subtree; a bus
 * voltage: the PoD on the bus's feeder) is trimmed: TSO services (playerRequestId `TSO`) before DSO ones before any
 * other, dearest (acceptedPPrice) first, ties by playerServiceId (code points). A trim is the largest delta, between
 * 0 and the accepted one, at which none of the new violations of the elements the PoD is below remains — found by
 * bisection to `TRIM_TOLERANCE_KW` (the kept value is the feasible end); a service that cannot help even at its
 * baseline is cut to it and the next one is tried. PoDs not in the network model are not in the power flow and are
 * never trimmed.
 */
import { LightNodeError } from '@lightnode/protocols';
import { feederOfBus, isBelow, type DsoModel } from './model.js';
import { solveSlot } from './requests.js';
import { elementKey, findViolations, type Violation } from './violations.js';
import type { TechnicalOutcome } from '../market/validated.js';

export const TRIM_TOLERANCE_KW = 0.001;

/** The parts of a MarketOutcome (contract B) validation reads. */
export interface OutcomeInput {
  marketType: 'dayAhead';
  startTime: string;
  duration: number;
  interval: number;
  flexibility: {
    pod: string;
    power: {
      index: number;
      acceptedPValue: number;
      acceptedPPrice: number;
      playerRequestId: string;
      playerOfferId?: string;
      playerServiceId: string;
    }[];
  }[];
}

/** The document posted to the market's `POST /technicalOutcome`: one type, the market's schema's. */
export type { TechnicalOutcome };

export interface Trim {
  pod: string;
  index: number;
  playerRequestId: string;
  playerServiceId: string;
  /** The element whose new violation caused the trim. */
  element: string;
  acceptedKW: number;
  validatedKW: number;
}

export interface ValidationResult {
  technical: TechnicalOutcome;
  trims: Trim[];
  /** New violations no trim could remove (elements with no service below them left). */
  remaining: { index: number; element: string }[];
}

interface Service {
  pod: string;
  index: number;
  request: string;
  serviceId: string;
  price: number;
  deltaKW: number;
  acceptedDeltaKW: number;
}

const requestRank = (r: string): number => (r === 'TSO' ? 0 : r === 'DSO' ? 1 : 2);

/** Trim order: TSO, DSO, others; dearest first; then playerServiceId by code points. */
export function trimOrder(a: Service, b: Service): number {
  return (
    requestRank(a.request) - requestRank(b.request) ||
    b.price - a.price ||
    (a.serviceId < b.serviceId ? -1 : a.serviceId > b.serviceId ? 1 : 0)
  );
}

/** Whether the PoD (bus index) is below the element of `v`. */
function podBelow(m: DsoModel, v: Violation, bus: number): boolean {
  if (v.kind === 'current') return isBelow(m, v.branch, bus);
  const f = feederOfBus(m, v.bus);
  return !f || feederOfBus(m, bus)?.id === f.id;
}

/**
 * Validates `outcome` for session `sessionId`; `baselineKW(pod, index)` gives the SCD baseline (kW) of a PoD and slot
 * (undefined → MARKET_BASELINE_MISSING).
 */
export function validateOutcome(
  m: DsoModel,
  outcome: OutcomeInput,
  sessionId: string,
  baselineKW: (pod: string, index: number) => number | undefined,
): ValidationResult {
  const busOf = new Map(m.pods.map((p) => [p.pod, p.bus]));
  const bySlot = new Map<number, Service[]>();
  const base = (pod: string, index: number): number => {
    const b = baselineKW(pod, index);
    if (b === undefined)
      throw new LightNodeError('MARKET_BASELINE_MISSING', `PoD ${pod} has no baseline for slot ${index}`, {
        pod,
        index,
      });
    return b;
  };
  for (const f of outcome.flexibility)
    for (const p of f.power) {
      const delta = p.acceptedPValue - base(f.pod, p.index);
      const s: Service = {
        pod: f.pod,
        index: p.index,
        request: p.playerRequestId,
        serviceId: p.playerServiceId,
        price: p.acceptedPPrice,
        deltaKW: delta,
        acceptedDeltaKW: delta,
      };
      bySlot.set(p.index, [...(bySlot.get(p.index) ?? []), s]);
    }
  const trims: Trim[] = [];
  const remaining: { index: number; element: string }[] = [];
  for (const [index, services] of [...bySlot].sort((a, b) => a[0] - b[0])) {
    const baselines = new Map<string, number>();
    for (const p of m.pods) {
      const b = baselineKW(p.pod, index);
      if (b !== undefined) baselines.set(p.pod, b);
    }
    const levels = (): Map<string, number> => {
      const l = new Map(baselines);
      for (const s of services) if (busOf.has(s.pod)) l.set(s.pod, l.get(s.pod)! + s.deltaKW);
      return l;
    };
    const atBase = new Set(findViolations(m, solveSlot(m, index, baselines)).map((v) => elementKey(m, v)));
    const newViolations = (): Violation[] =>
      findViolations(m, solveSlot(m, index, levels())).filter((v) => !atBase.has(elementKey(m, v)));
    const pending = services.filter((s) => busOf.has(s.pod) && s.deltaKW !== 0).sort(trimOrder);
    for (let nv = newViolations(); nv.length > 0; nv = newViolations()) {
      const at = pending.findIndex((s) => nv.some((v) => podBelow(m, v, busOf.get(s.pod)!)));
      if (at < 0) {
        for (const v of nv) remaining.push({ index, element: elementKey(m, v) });
        break;
      }
      const s = pending.splice(at, 1)[0]!;
      const bus = busOf.get(s.pod)!;
      const mine = nv.filter((v) => podBelow(m, v, bus));
      const keys = new Set(mine.map((v) => elementKey(m, v)));
      const feasible = (deltaKW: number): boolean => {
        s.deltaKW = deltaKW;
        return !newViolations().some((v) => keys.has(elementKey(m, v)));
      };
      let lo = 0;
      let hi = s.acceptedDeltaKW;
      if (feasible(lo))
        while (Math.abs(hi - lo) > TRIM_TOLERANCE_KW) {
          const mid = (lo + hi) / 2;
          if (feasible(mid)) lo = mid;
          else hi = mid;
        }
      s.deltaKW = lo;
      const b = baselines.get(s.pod)!;
      trims.push({
        pod: s.pod,
        index,
        playerRequestId: s.request,
        playerServiceId: s.serviceId,
        element: [...keys].join(','),
        acceptedKW: b + s.acceptedDeltaKW,
        validatedKW: b + lo,
      });
    }
  }
  return { technical: technicalOutcome(outcome, sessionId, bySlot, base), trims, remaining };
}

function technicalOutcome(
  outcome: OutcomeInput,
  sessionId: string,
  bySlot: ReadonlyMap<number, Service[]>,
  base: (pod: string, index: number) => number,
): TechnicalOutcome {
  const pods = [...new Set(outcome.flexibility.map((f) => f.pod))];
  return {
    marketType: outcome.marketType,
    duration: outcome.duration,
    interval: outcome.interval,
    startTime: outcome.startTime,
    marketOutcome: sessionId,
    flexibility: pods.map((pod) => ({
      pod,
      power: [...bySlot]
        .sort((a, b) => a[0] - b[0])
        .filter(([, ss]) => ss.some((s) => s.pod === pod))
        .map(([index, ss]) => {
          const mine = ss.filter((s) => s.pod === pod);
          const delta = mine.reduce((a, s) => a + s.deltaKW, 0);
          const trimmed = mine.some((s) => s.deltaKW !== s.acceptedDeltaKW);
          return {
            index,
            acceptedPValue: base(pod, index) + delta,
            acceptedP: trimmed && mine.every((s) => s.deltaKW === 0) ? ('REJECTED' as const) : ('OK' as const),
            acceptedQValue: null,
            acceptedQ: null,
          };
        }),
    })),
  };
}
