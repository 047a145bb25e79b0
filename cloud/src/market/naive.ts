/**
 * The naive clearing: the same rules as `clearMarket`, but each take rescans every offer of the slot for the cheapest
 * eligible one with something left — O(n) per take, O(n²) per request. The baseline of `npm run bench -- market`
 * (`ratios.naiveOverClear`) and the oracle of the clearing's property tests (same outcome, bit for bit).
 */
import { clearWith, eligible, fillFrom, unitOrder, type FillPolicy, type MarketOutcome } from './clear.js';
import type { SessionInput } from './documents.js';

export const naiveFill: FillPolicy = (o) => (n) =>
  fillFrom(o, n, () => {
    let best = -1;
    for (let u = 0; u < o.n; u++)
      if (o.left[u]! > 0 && eligible(o, u, n) && (best < 0 || unitOrder(o, u, best) < 0)) best = u;
    return best;
  });

/** `clearMarket` by rescanning (slow on purpose). */
export function clearMarketNaive(s: SessionInput): MarketOutcome {
  return clearWith(s, naiveFill);
}
