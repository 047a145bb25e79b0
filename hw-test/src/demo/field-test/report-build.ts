/** The pieces of the field-test report that are computed rather than copied: the empty report, the request rows. */
import type { MarketOutcome } from '@lightnode/cloud';
import type { FieldTestReport, ReportRequest } from '../report/types.js';
import type { ValidatedView } from './day-ahead.js';
import type { FieldScenario } from './scenario.js';

export const REAL_TIME = [
  'MQTT keepalive (30 s) and reconnect delays run on real time',
  'chain block times (anvil mines each anchor transaction at once, stamped with real time)',
  'HTTP and Modbus frame timeouts run on real time (the Light Node adapter timeouts run on the scaled clock)',
];

export function emptyReport(s: FieldScenario, speed: number, fromMs: number): FieldTestReport {
  return {
    complete: false,
    scenario: { marketDay: s.day, slot: s.slot, pom: s.pom },
    chain: { chainId: 0, keyRegister: '' },
    dsotpIssuer: '',
    steps: [],
    powerFlow: { baseCase: { violations: [] }, validation: { violations: [] }, feeders: [] },
    offers: [],
    requests: [],
    setpoints: [],
    series: [],
    measurements: { samples: 0, anchoredSamples: 0, proofsChecked: 0, proofsVerified: 0, perPod: [] },
    anchors: [],
    settlement: [],
    timing: { wallS: 0, speed, simulatedFromMs: fromMs, simulatedToMs: fromMs, realTime: REAL_TIME },
  };
}

const sumDeltas = (
  flex: ValidatedView['flexibility'] | MarketOutcome['flexibility'],
  base: ReadonlyMap<string, number>,
  playerId: string,
  slot: number,
): number =>
  flex.reduce(
    (a, f) =>
      a +
      f.power
        .filter((p) => p.index === slot && p.playerRequestId === playerId)
        .reduce((b, p) => b + Math.abs(p.acceptedPValue - (base.get(f.pod) ?? 0)), 0),
    0,
  );

/** One row per request at the slot: what it asked, what the market accepted and what validation left of it. */
export function requestRows(
  outcome: MarketOutcome,
  validated: ValidatedView,
  base: ReadonlyMap<string, number>,
  slot: number,
): ReportRequest[] {
  return outcome.requests
    .filter((r) => r.index === slot)
    .map((r) => {
      const marketkW = sumDeltas(outcome.flexibility, base, r.playerId, slot);
      const validatedkW = sumDeltas(validated.flexibility, base, r.playerId, slot);
      const need = Math.abs(r.needkW);
      const status = validatedkW >= need - 0.001 ? 'full' : validatedkW > 0.001 ? 'partial' : 'none';
      return { playerId: r.playerId, playerServiceId: r.playerServiceId, needkW: need, marketkW, validatedkW, status };
    });
}
