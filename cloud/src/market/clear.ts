/**
 * Day-ahead clearing of the flexibility market (issue 12 item 3; the rules reproduce the Tor di Valle run to the last
 * digit, ../shared/scenarios/tor-di-valle.md "How the run's numbers fit together"):
 * - requests are absolute LEVELS of a PoD set (a TSO request: every PoD of its PoM), offers DELTAS from baseline;
 *   a request's need = its level − Σ baselines of its PoDs, each against the baselines (independent of the others);
 * - an offer is eligible for a request when its delta has the need's sign, its PoD is in the request's set and its
 *   price ≤ the request's pPrice (null: no cap);
 * - per slot, DSO requests before TSO requests (each kind in arrival order), price priority, divisible offers, ties
 *   by the offer's playerServiceId in code-point order; what one request takes is gone for the next;
 * - pay-as-clear per request: every service accepted for a request is paid its highest accepted price.
 * Pure and deterministic: the same outcome for any order of the offers and of the registry. O(n log n) per slot.
 */
import { LightNodeError } from '@lightnode/protocols';
import {
  checkSession,
  codePoint,
  podsOf,
  podsOnPom,
  pomOf,
  type FlexibilityService,
  type SessionInput,
} from './documents.js';

export interface MarketOutcome {
  marketType: 'dayAhead';
  startTime: string;
  duration: number;
  interval: number;
  flexibility: { pod: string; power: AcceptedService[] }[];
  requests: RequestResult[];
}
/** One accepted service: an offer's PoD serving a request at a slot. */
export interface AcceptedService {
  index: number;
  /** The PoD's level with this service: baseline + the delta taken for this request (kW). */
  acceptedPValue: number;
  /** The request's clearing price (its highest accepted price, €/kW). */
  acceptedPPrice: number;
  /** The request's playerId (`DSO`, `TSO`). */
  playerRequestId: string;
  /** The offer's playerId (the aggregator). */
  playerOfferId: string;
  /** The offer's playerServiceId. */
  playerServiceId: string;
}
export interface RequestResult {
  playerServiceId: string;
  playerId: string;
  index: number;
  needkW: number;
  acceptedkW: number;
  status: 'full' | 'partial' | 'none';
}

/** One slot of one offer: what is left of it is what later requests can still take. */
export interface OfferUnit {
  readonly offer: FlexibilityService;
  readonly pod: string;
  readonly sign: 1 | -1;
  readonly price: number;
  readonly id: string;
  left: number;
}
/** What a request needs at a slot, as the fill policy sees it. */
export interface NeedSpec {
  readonly sign: 1 | -1;
  /** |need| in kW. */
  readonly target: number;
  /** Below this much left, the need counts as filled (1e-9 relative). */
  readonly tol: number;
  readonly pods: ReadonlySet<string>;
  readonly cap: number | null;
}
export interface Take {
  unit: OfferUnit;
  kW: number;
}
/** A fill policy: given the offers of a slot, a function that fills one need after the other, using up the units. */
export type FillPolicy = (units: OfferUnit[]) => (need: NeedSpec) => Take[];

/** Price priority, then the offer's playerServiceId in code-point order. */
export function unitOrder(a: OfferUnit, b: OfferUnit): number {
  return a.price - b.price || codePoint(a.id, b.id);
}

/** Whether a unit can serve a need (left aside: how much of it is left). */
export function eligible(u: OfferUnit, n: NeedSpec): boolean {
  return u.sign === n.sign && (n.cap === null || u.price <= n.cap) && n.pods.has(u.pod);
}

/** Takes from `u` what `n` still needs after `acc` kW, at most what is left of it. */
export function take(u: OfferUnit, n: NeedSpec, acc: number): Take {
  const kW = Math.min(u.left, n.target - acc);
  u.left -= kW;
  return { unit: u, kW };
}

/** The fast policy: the slot's units sorted once per sign; each need walks them cheapest first. */
export const priorityFill: FillPolicy = (units) => {
  const bySign = { [1]: [] as OfferUnit[], [-1]: [] as OfferUnit[] };
  for (const u of units) bySign[u.sign].push(u);
  bySign[1].sort(unitOrder);
  bySign[-1].sort(unitOrder);
  return (n) => {
    const out: Take[] = [];
    let acc = 0;
    for (const u of bySign[n.sign]) {
      if (n.target - acc <= n.tol) break;
      if (n.cap !== null && u.price > n.cap) break; // sorted by price: every later one is dearer
      if (u.left <= 0 || !eligible(u, n)) continue;
      const t = take(u, n, acc);
      acc += t.kW;
      out.push(t);
    }
    return out;
  };
};

/** Clears a session with the market's rules (MARKET_POD_UNKNOWN, MARKET_BASELINE_MISSING on bad references). */
export function clearMarket(s: SessionInput): MarketOutcome {
  return clearWith(s, priorityFill);
}

interface Need {
  req: FlexibilityService;
  order: number;
  index: number;
  pods: string[];
  level: number;
  cap: number | null;
}

/** The clearing with a given fill policy (the fast one, or the naive rescanning one of the bench and tests). */
export function clearWith(s: SessionInput, fill: FillPolicy): MarketOutcome {
  checkSession(s);
  const registry = new Map(s.podRegistry.map((e) => [e.pod, e]));
  const baseline = (pod: string, index: number): number => {
    const b = registry.get(pod)?.baselinekW[String(index)];
    if (b === undefined)
      throw new LightNodeError('MARKET_BASELINE_MISSING', `PoD ${pod} has no baseline for slot ${index}`, {
        pod,
        slot: index,
      });
    return b;
  };
  const unitsAt = new Map<number, OfferUnit[]>();
  for (const offer of s.offers)
    for (const f of offer.flexibility) {
      const pod = podsOf(f)[0]!;
      for (const p of f.power) {
        if (p.p === 0) continue;
        const list = unitsAt.get(p.index) ?? unitsAt.set(p.index, []).get(p.index)!;
        list.push({
          offer,
          pod,
          sign: p.p > 0 ? 1 : -1,
          price: p.pPrice!,
          id: offer.playerServiceId,
          left: Math.abs(p.p),
        });
      }
    }
  // DSO requests before TSO requests, each kind in arrival order
  const ordered = [
    ...s.requests.filter((r) => r.serviceType === 'DSO_request'),
    ...s.requests.filter((r) => r.serviceType !== 'DSO_request'),
  ];
  const needsAt = new Map<number, Need[]>();
  ordered.forEach((req, order) => {
    for (const f of req.flexibility) {
      const pom = pomOf(f);
      const pods = pom !== undefined ? podsOnPom(s.podRegistry, pom) : podsOf(f);
      for (const p of f.power) {
        const list = needsAt.get(p.index) ?? needsAt.set(p.index, []).get(p.index)!;
        list.push({ req, order, index: p.index, pods, level: p.p, cap: p.pPrice });
      }
    }
  });
  const results = new Map<FlexibilityService, RequestResult[]>();
  const accepted = new Map<string, (AcceptedService & { order: number })[]>();
  for (const index of [...needsAt.keys()].sort((a, b) => a - b)) {
    const fillNeed = fill(unitsAt.get(index) ?? []);
    for (const n of needsAt.get(index)!.sort((a, b) => a.order - b.order)) {
      let sum = 0;
      for (const pod of n.pods) sum += baseline(pod, index);
      const needkW = n.level - sum;
      const target = Math.abs(needkW);
      const tol = 1e-9 * Math.max(1, target);
      const spec: NeedSpec = { sign: needkW < 0 ? -1 : 1, target, tol, pods: new Set(n.pods), cap: n.cap };
      const takes = target > tol ? fillNeed(spec) : [];
      let acc = 0;
      let price = -Infinity;
      for (const t of takes) {
        acc += t.kW;
        price = Math.max(price, t.unit.price);
      }
      for (const t of takes) {
        const list = accepted.get(t.unit.pod) ?? accepted.set(t.unit.pod, []).get(t.unit.pod)!;
        list.push({
          index,
          acceptedPValue: baseline(t.unit.pod, index) + spec.sign * t.kW,
          acceptedPPrice: price,
          playerRequestId: n.req.playerId,
          playerOfferId: t.unit.offer.playerId,
          playerServiceId: t.unit.id,
          order: n.order,
        });
      }
      const acceptedkW = spec.sign * acc;
      const status = Math.abs(needkW - acceptedkW) <= tol ? 'full' : acc === 0 ? 'none' : 'partial';
      const list = results.get(n.req) ?? results.set(n.req, []).get(n.req)!;
      list.push({
        playerServiceId: n.req.playerServiceId,
        playerId: n.req.playerId,
        index,
        needkW,
        acceptedkW,
        status,
      });
    }
  }
  return {
    marketType: 'dayAhead',
    startTime: s.startTime,
    duration: s.duration,
    interval: s.interval,
    flexibility: [...accepted.keys()].sort(codePoint).map((pod) => ({
      pod,
      power: accepted
        .get(pod)!
        .sort((a, b) => a.index - b.index || a.order - b.order || codePoint(a.playerServiceId, b.playerServiceId))
        .map(({ order: _, ...e }) => e),
    })),
    requests: s.requests.flatMap((r) => results.get(r) ?? []),
  };
}
