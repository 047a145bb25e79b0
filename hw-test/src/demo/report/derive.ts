/**
 * Report figures derived from the services' documents (pure): what the run and the fixture both compute, one place.
 */
import type { MarketOutcome, ValidatedOutcome } from '@lightnode/cloud';
import type { ReportRequest } from './types.js';

/** Below this many kW a validated delta is none, within it of the need a request is fully served. */
const TOLERANCE_KW = 1e-6;

/**
 * Per market request: its need and what the market accepted (the clearing's own figures), what is left after the
 * DSO's validation (Σ over the validated services serving it at its slot of level − the PoD's baseline), and the
 * status after validation: `full`, `partial` or `none`.
 */
export function reportRequests(
  market: Pick<MarketOutcome, 'requests'>,
  validated: Pick<ValidatedOutcome, 'flexibility'>,
  baselinekW: (pod: string, index: number) => number,
): ReportRequest[] {
  return market.requests.map((r) => {
    const validatedkW = validated.flexibility
      .flatMap((f) => f.power.map((s) => ({ pod: f.pod, s })))
      .filter(({ s }) => s.playerRequestId === r.playerId && s.index === r.index)
      .reduce((a, { pod, s }) => a + s.acceptedPValue - baselinekW(pod, s.index), 0);
    const status =
      Math.abs(validatedkW) >= Math.abs(r.needkW) - TOLERANCE_KW
        ? 'full'
        : Math.abs(validatedkW) < TOLERANCE_KW
          ? 'none'
          : 'partial';
    return {
      playerId: r.playerId,
      playerServiceId: r.playerServiceId,
      needkW: r.needkW,
      marketkW: r.acceptedkW,
      validatedkW,
      status,
    };
  });
}
