/** The field-test report before the run fills it. */
import type { FieldTestReport } from '../report/types.js';
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
