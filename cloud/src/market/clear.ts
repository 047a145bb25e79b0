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
  slotKey,
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

/**
 * The offers of one slot, as parallel typed arrays (unit u = one offer's delta at the slot): no object per offer and
 * slot (at 96 slots × 10,000 offers those cost more in garbage collection than the clearing). `left` is what later
 * requests can still take.
 */
export interface SlotOffers {
  readonly n: number;
  /** Index into the session's offers. */
  readonly offer: Int32Array;
  /** PoD number (position in the session's PoD list). */
  readonly pod: Int32Array;
  readonly sign: Int8Array;
  readonly price: Float64Array;
  /** The offer's position among the session's offers in playerServiceId code-point order (the tie-break). */
  readonly rank: Int32Array;
  readonly left: Float64Array;
}
/** What a request needs at a slot, as the fill policy sees it. */
export interface NeedSpec {
  readonly sign: 1 | -1;
  /** |need| in kW. */
  readonly target: number;
  /** Below this much left, the need counts as filled (1e-9 relative). */
  readonly tol: number;
  /** 1 for the PoD numbers in the request's set. */
  readonly inSet: Uint8Array;
  readonly cap: number | null;
}
export interface Take {
  unit: number;
  kW: number;
}
/** A fill policy: given the offers of a slot, a function that fills one need after the other, using up the units. */
export type FillPolicy = (slot: SlotOffers) => (need: NeedSpec) => Take[];

/** Price priority, then the offer's playerServiceId in code-point order (negative: unit a first). */
export function unitOrder(o: SlotOffers, a: number, b: number): number {
  return o.price[a]! - o.price[b]! || o.rank[a]! - o.rank[b]!;
}

/** Whether unit u can serve a need (left aside: how much of it is left). */
export function eligible(o: SlotOffers, u: number, n: NeedSpec): boolean {
  return o.sign[u] === n.sign && (n.cap === null || o.price[u]! <= n.cap) && n.inSet[o.pod[u]!] === 1;
}

/**
 * Fills `n` from the units `next` proposes one after the other (-1: none left), each taken as far as still needed
 * and at most what is left of it. The one filling loop of both policies, so they do the same arithmetic.
 */
export function fillFrom(o: SlotOffers, n: NeedSpec, next: () => number): Take[] {
  const out: Take[] = [];
  let acc = 0;
  while (n.target - acc > n.tol) {
    const u = next();
    if (u < 0) break;
    const kW = Math.min(o.left[u]!, n.target - acc);
    o.left[u]! -= kW;
    acc += kW;
    out.push({ unit: u, kW });
  }
  return out;
}

/** Each unit's price rank among the slot's distinct prices (0 = cheapest; 0 and -0 are one price, as in unitOrder). */
export function priceRanks(o: SlotOffers): Int32Array {
  const distinct = Float64Array.from(new Set(o.price)).sort();
  const rank = new Map<number, number>();
  distinct.forEach((p, i) => rank.set(p, i));
  const out = new Int32Array(o.n);
  for (let u = 0; u < o.n; u++) out[u] = rank.get(o.price[u]!)!;
  return out;
}

/**
 * The slot's units of one sign in `unitOrder`, by a native numeric sort of integer keys (price rank × n + the unit
 * number: units are numbered in the offers' tie-break order).
 */
export function sortedUnits(o: SlotOffers, sign: 1 | -1, ranks = priceRanks(o)): Int32Array {
  const keys: number[] = [];
  for (let u = 0; u < o.n; u++) if (o.sign[u] === sign) keys.push(ranks[u]! * o.n + u);
  // keys < n²: 32-bit integers sort faster than doubles (up to 65,535 offers per slot)
  const sorted = o.n <= 0xffff ? Uint32Array.from(keys).sort() : Float64Array.from(keys).sort();
  const out = new Int32Array(sorted.length);
  for (let i = 0; i < sorted.length; i++) out[i] = sorted[i]! % o.n;
  return out;
}

/** The fast policy: the slot's units sorted once per sign; each need walks them cheapest first. */
export const priorityFill: FillPolicy = (o) => {
  const ranks = priceRanks(o);
  const sorted = { [1]: sortedUnits(o, 1, ranks), [-1]: sortedUnits(o, -1, ranks) };
  return (n) => {
    const list = sorted[n.sign];
    let i = 0;
    return fillFrom(o, n, () => {
      while (i < list.length) {
        const u = list[i++]!;
        if (n.cap !== null && o.price[u]! > n.cap) return -1; // sorted by price: every later one is dearer
        if (o.left[u]! > 0 && n.inSet[o.pod[u]!] === 1) return u;
      }
      return -1;
    });
  };
};

/** Clears a session with the market's rules (MARKET_POD_UNKNOWN, MARKET_BASELINE_MISSING on bad references). */
export function clearMarket(s: SessionInput): MarketOutcome {
  return clearWith(s, priorityFill);
}

/**
 * The offers of each slot that has requests: two passes over the offers (count, then fill typed arrays), the offers
 * taken in playerServiceId code-point order, so that a slot's unit numbers follow the tie-break.
 */
function slotOffers(s: SessionInput, podNo: ReadonlyMap<string, number>, slots: Iterable<number>) {
  const byId = s.offers
    .map((_, j) => j)
    .sort((a, b) => codePoint(s.offers[a]!.playerServiceId, s.offers[b]!.playerServiceId));
  const count: number[] = [];
  for (const k of slots) count[k] = 0;
  for (const o of s.offers)
    for (const f of o.flexibility)
      for (const p of f.power) if (p.p !== 0 && count[p.index] !== undefined) count[p.index]!++;
  type Slot = { -readonly [K in keyof SlotOffers]: SlotOffers[K] };
  const at: (Slot | undefined)[] = count.map((n) => {
    const [offer, pod, rank] = [new Int32Array(n), new Int32Array(n), new Int32Array(n)];
    const [sign, price, left] = [new Int8Array(n), new Float64Array(n), new Float64Array(n)];
    return { n: 0, offer, pod, sign, price, rank, left };
  });
  byId.forEach((j, rank) => {
    const o = s.offers[j]!;
    const pod = podNo.get(podsOf(o.flexibility[0]!)[0]!)!;
    for (const f of o.flexibility)
      for (const p of f.power) {
        const slot = p.p !== 0 ? at[p.index] : undefined;
        if (!slot) continue;
        const u = slot.n++;
        slot.offer[u] = j;
        slot.pod[u] = pod;
        slot.sign[u] = p.p > 0 ? 1 : -1;
        slot.price[u] = p.pPrice!;
        slot.rank[u] = rank;
        slot.left[u] = Math.abs(p.p);
      }
  });
  return at;
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
  const pods = [...registry.keys()];
  const podNo = new Map(pods.map((pod, i) => [pod, i]));
  const baseline = (pod: string, index: number): number => {
    const b = registry.get(pod)?.baselinekW[slotKey(index)];
    if (b === undefined)
      throw new LightNodeError('MARKET_BASELINE_MISSING', `PoD ${pod} has no baseline for slot ${index}`, {
        pod,
        slot: index,
      });
    return b;
  };
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
  const unitsAt = slotOffers(s, podNo, needsAt.keys());
  const results = new Map<FlexibilityService, RequestResult[]>();
  const accepted = new Map<string, (AcceptedService & { order: number })[]>();
  for (const index of [...needsAt.keys()].sort((a, b) => a - b)) {
    const slot = unitsAt[index]!;
    const fillNeed = fill(slot);
    for (const n of needsAt.get(index)!.sort((a, b) => a.order - b.order)) {
      let sum = 0;
      for (const pod of n.pods) sum += baseline(pod, index);
      const needkW = n.level - sum;
      const target = Math.abs(needkW);
      const tol = 1e-9 * Math.max(1, target);
      const inSet = new Uint8Array(pods.length);
      for (const pod of n.pods) inSet[podNo.get(pod)!] = 1;
      const spec: NeedSpec = { sign: needkW < 0 ? -1 : 1, target, tol, inSet, cap: n.cap };
      const takes = target > tol ? fillNeed(spec) : [];
      let acc = 0;
      let price = -Infinity;
      for (const t of takes) {
        acc += t.kW;
        price = Math.max(price, slot.price[t.unit]!);
      }
      for (const t of takes) {
        const offer = s.offers[slot.offer[t.unit]!]!;
        const pod = pods[slot.pod[t.unit]!]!;
        const list = accepted.get(pod) ?? accepted.set(pod, []).get(pod)!;
        list.push({
          index,
          acceptedPValue: baseline(pod, index) + spec.sign * t.kW,
          acceptedPPrice: price,
          playerRequestId: n.req.playerId,
          playerOfferId: offer.playerId,
          playerServiceId: offer.playerServiceId,
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
