/**
 * The naive clearing: the same rules as `clearMarket`, but each take rescans every offer of the slot for the cheapest
 * eligible one with something left — O(n) per take, O(n²) per request. The baseline of `npm run bench -- market`
 * (`ratios.naiveOverClear`) and the oracle of the clearing's property tests (same outcome, bit for bit).
 */
import {
  clearWith,
  eligible,
  take,
  unitOrder,
  type FillPolicy,
  type MarketOutcome,
  type OfferUnit,
  type Take,
} from './clear.js';
import type { SessionInput } from './documents.js';

export const naiveFill: FillPolicy = (units) => (n) => {
  const out: Take[] = [];
  let acc = 0;
  while (n.target - acc > n.tol) {
    let best: OfferUnit | undefined;
    for (const u of units) if (u.left > 0 && eligible(u, n) && (!best || unitOrder(u, best) < 0)) best = u;
    if (!best) break;
    const t = take(best, n, acc);
    acc += t.kW;
    out.push(t);
  }
  return out;
};

/** `clearMarket` by rescanning (slow on purpose). */
export function clearMarketNaive(s: SessionInput): MarketOutcome {
  return clearWith(s, naiveFill);
}
