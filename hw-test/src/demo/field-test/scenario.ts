/**
 * The field test's scenario as the run consumes it: the DSOTP network model, the five PoDs (aggregator, 96-slot
 * baselines in W, flexibility up/down), the aggregators' offers and the TSO request.
 * STAND-IN until hw-test/src/demo/tor-di-valle/ (the calibrated network and scenario) lands: the reference numbers
 * from @lightnode/cloud/testing on the IEEE-33 test model.
 */
import type { FlexibilityService } from '@lightnode/cloud';
import { TOR_DI_VALLE, ieee33Network, torDiValleSession } from '@lightnode/cloud/testing';

export interface FieldPod {
  pod: string;
  aggregator: string;
  /** 96 quarter-hour baselines of the market day, W. */
  baselinesW: number[];
  /** The largest upward / downward flexibility offered (kW ≥ 0): the battery's charge / discharge power. */
  maxUpkW: number;
  maxDownkW: number;
}

export interface FieldScenario {
  day: string;
  sessionId: string;
  /** The market day's start (UTC ms). */
  dayStartMs: number;
  slot: number;
  pom: string;
  network: object;
  pods: FieldPod[];
  offers: FlexibilityService[];
  tsoRequest: FlexibilityService;
}

export function fieldScenario(): FieldScenario {
  const t = TOR_DI_VALLE;
  const session = torDiValleSession();
  const buses = [7, 8, 25, 32, 31];
  const f = ieee33Network();
  const network = {
    ...f,
    branches: f.branches.map((b) => (b.from === 1 && b.to === 2 ? { ...b, ampacityA: 400 } : b)),
    pom: { id: t.pom, bus: 1 },
    feeders: [{ id: 'F1', name: 'Mostacciano', headBranch: { from: 1, to: 2 } }],
    pods: t.pods.map((p, i) => ({ pod: p.pod, bus: buses[i]! })),
  };
  return {
    day: '2021-06-23',
    sessionId: 'DA-2021-06-23',
    dayStartMs: Date.parse(t.startTime),
    slot: t.slot,
    pom: t.pom,
    network,
    pods: t.pods.map((p) => ({
      pod: p.pod,
      aggregator: p.aggregator,
      baselinesW: Array<number>(96).fill(Math.round(p.baselinekW * 1000)),
      maxUpkW: Math.max(0, p.offerkW),
      maxDownkW: Math.max(0, -p.offerkW),
    })),
    offers: session.offers,
    tsoRequest: session.requests.find((r) => r.playerId === 'TSO')!,
  };
}
