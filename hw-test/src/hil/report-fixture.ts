/**
 * Three HIL runs for the report tests (unit and Chromium): a passing `link-latency-loss`, a failing
 * `power-cut-storm` (a kill storm at 10 Hz, `noSeqConflict` and `noSampleLost` broken — with markup and `]]>` in
 * its texts to exercise escaping), and a broken `disk-full` (Mosquitto did not start: no invariant judged, every
 * series empty). Deterministic: no clock, no randomness.
 */
import type { HilRunResult, HilSeries } from './result.js';

const FIGURES = {
  samples: 0,
  lost: 0,
  conflicts: 0,
  gaps: 0,
  maxOutboxDepth: 0,
  drainS: null,
  fallbackS: null,
  rssMaxMB: null,
};
const STARTED_MS = Date.UTC(2026, 11, 2, 14, 0, 0);

/** Two meters, a setpoint window, two agents' outbox and link over `durationS` (one point every 5 s). */
function series(durationS: number, offline: [number, number]): HilSeries {
  const s: HilSeries = { power: [], setpoint: [], outbox: [], link: [] };
  for (let t = 0; t <= durationS; t += 5) {
    s.power.push({ tS: t, meter: 'm1', w: Math.round(1800 + 600 * Math.sin(t / 40)) });
    s.power.push({ tS: t, meter: 'm2', w: Math.round(-900 + 300 * Math.cos(t / 25)) });
    const active = t >= 60 && t < 180;
    s.setpoint.push({
      tS: t,
      targetW: active ? 500 : null,
      podW: Math.round(active ? 520 - 400 * Math.exp(-(t - 60) / 8) : 1200),
    });
    const down = t >= offline[0] && t < offline[1];
    s.outbox.push({
      tS: t,
      agent: 'a1',
      // filling while offline (2 samples/s), draining at 8 samples/s once back
      samples:
        t < offline[0]
          ? 0
          : down
            ? (t - offline[0]) * 2
            : Math.max(0, (offline[1] - offline[0]) * 2 - (t - offline[1]) * 8),
    });
    s.outbox.push({ tS: t, agent: 'a2', samples: t % 20 === 0 ? 4 : 0 });
  }
  s.link.push(
    { tS: 0, agent: 'a1', state: 'connected' },
    { tS: offline[0], agent: 'a1', state: 'offline' },
    { tS: offline[1], agent: 'a1', state: 'reconnecting' },
    { tS: offline[1] + 4, agent: 'a1', state: 'connected' },
    { tS: 0, agent: 'a2', state: 'connected' },
  );
  return s;
}

export function passingRun(): HilRunResult {
  return {
    scenario: 'link-latency-loss',
    passed: true,
    seed: 7,
    speed: 10,
    durationS: 300,
    startedAtMs: STARTED_MS,
    wallS: 31.42,
    invariants: [
      { name: 'noSampleLost', passed: true, detail: 'seq 1..600 of 2 devices: all received', value: 0 },
      { name: 'batchesVerify', passed: true, detail: '120 batches verified (ethers)' },
      { name: 'coveragePct', passed: true, detail: '99.2 % of poll periods ≥ 98 %', value: 99.2 },
    ],
    figures: { ...FIGURES, samples: 1200, maxOutboxDepth: 80, drainS: 6.5, rssMaxMB: 71.3 },
    events: [
      { atS: 100, do: 'link', target: 'a1', detail: 'latency 300 ms, jitter 50 ms, loss 2 %, for 40 s' },
      { atS: 140, do: 'link', target: 'a1', detail: 'restored' },
    ],
    series: series(300, [100, 140]),
    notes: ['MQTT keepalive and TCP run in real time', 'speed ×10: agents on LIGHTNODE_CLOCK'],
  };
}

export function failingRun(): HilRunResult {
  const kills = Array.from({ length: 50 }, (_, k) => ({
    atS: 30 + k / 10,
    do: 'kill9',
    target: 'a1',
    detail: `SIGKILL pid ${String(4000 + k)}, restart after 0.05 s`,
  }));
  return {
    scenario: 'power-cut-storm',
    passed: false,
    seed: 42,
    speed: 1,
    durationS: 120,
    startedAtMs: STARTED_MS + 60_000,
    wallS: 125.05,
    invariants: [
      {
        name: 'noSeqConflict',
        passed: false,
        detail: 'device 0xab… seq 17 has 2 leaves: <0x12…> & <0x34…> "differ"',
        value: 3,
      },
      { name: 'noSampleLost', passed: false, detail: 'seq 15..19 neither received nor in a signed gap', value: 5 },
      { name: 'batchesVerify', passed: true, detail: '48 batches verified' },
    ],
    figures: { ...FIGURES, samples: 230, lost: 5, conflicts: 3, maxOutboxDepth: 12 },
    events: [...kills, { atS: 90, do: 'broker-down', detail: 'mosquitto stopped for 10 s; log ends "]]>" & <done>' }],
    series: { ...series(120, [30, 36]), setpoint: [] }, // no setpoint in a kill storm: a "no data" chart
    notes: ['failpoints: outbox.ackBeforeCommit'],
  };
}

export function brokenRun(): HilRunResult {
  return {
    scenario: 'disk-full',
    passed: false,
    seed: 1,
    speed: 1,
    durationS: 0,
    startedAtMs: STARTED_MS + 300_000,
    wallS: 2.5,
    broke: { stage: 'cloud', message: 'mosquitto did not start on 127.0.0.1:18830: "Address in use" <exit 1>' },
    invariants: [],
    figures: FIGURES,
    events: [],
    series: { power: [], setpoint: [], outbox: [], link: [] },
    notes: [],
  };
}

/** The three runs: passing, failing, broken. */
export const sampleHilRuns = (): HilRunResult[] => [passingRun(), failingRun(), brokenRun()];
