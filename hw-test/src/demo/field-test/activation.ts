/**
 * The activation of the field test on the run's scaled clock: the DSOTP dispatches the validated services 5 min
 * before their slot, the Light Nodes apply the signed setpoints and ack them, report their QoS after the slot; their
 * samples are anchored through the BAL; the market settles; the proofs of the slot's samples are checked.
 */
import type { CloudStack } from '@lightnode/cloud';
import type { SignedAck, SignedQosReport, SignedSetpoint, SteppableClock } from '@lightnode/protocols';
import type { FieldTestReport } from '../report/types.js';
import { stopPodNode, type PodNode } from './agents.js';
import { client, settlement } from './day-ahead.js';
import type { Progress } from './progress.js';
import { checkProofs, type SlotSample } from './proofs.js';
import type { FieldScenario } from './scenario.js';

const r3 = (x: number): string => x.toFixed(3);

/** Polls `cond` every 100 ms of real time until it holds; throws after `ms` (real) or when interrupted. */
async function until(
  what: string,
  cond: () => Promise<boolean> | boolean,
  ms: number,
  check: () => void,
): Promise<void> {
  const end = performance.now() + ms;
  for (;;) {
    check();
    if (await cond()) return;
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface AckRow {
  state: string;
  appliedPowerW: number;
  signed: SignedAck;
}
interface QosRow {
  deliveredEnergyWh: number;
  requestedEnergyWh: number;
  baselineEnergyWh: number;
  signed: SignedQosReport;
}
interface Measurement {
  deviceId: string;
  seq: number;
  podId: string;
  tsMs: number;
  sample: { quantities?: { activePowerW?: number } };
}

export async function activate(o: {
  stack: CloudStack;
  s: FieldScenario;
  clock: SteppableClock;
  nodes: PodNode[];
  report: FieldTestReport;
  progress: Progress;
  check: () => void;
  seed: number;
  proofs: number;
  workDir: string;
  onPid?: (what: string, pid: number) => void;
}): Promise<void> {
  const { stack, s, clock, report, progress, check } = o;
  const dso = stack.dsotp!;
  const scd = client(stack, 'scd', 'dso');
  const slotStart = s.dayStartMs + s.slot * 900_000;
  const slotEnd = slotStart + 900_000;
  // real-time budget of a simulated span, with slack for a loaded machine
  const budget = (simMs: number): number => simMs / report.timing.speed + 60_000;

  // QoS 1 reaches only a subscribed client: every Light Node's setpoint subscription acknowledged (SUBACK) before
  // the DSOTP may publish (on a loaded machine the agents may still be connecting when 10:25 comes)
  await until(
    "every Light Node's setpoint subscription",
    () => o.nodes.every((n) => ((n.agent.details().link as { subscribeAcks?: number }).subscribeAcks ?? 0) >= 1),
    60_000,
    check,
  );
  const plan = await dso.dispatch(s.sessionId);
  await until('the dispatch time', () => clock.now() >= slotStart - 5 * 60_000, budget(5 * 60_000), check);
  await dso.idle();
  let rows: { id: string; body: SignedSetpoint }[] = [];
  await until(
    'the setpoints in the SCD',
    async () => (rows = await scd.request('GET', '/setpoints')).length >= plan.items.length,
    30_000,
    check,
  );
  const setpoints = rows.map((r) => r.body).filter((x) => x.message.slotIndex === s.slot);
  const deviceOf = new Map(o.nodes.map((n) => [n.key.pod, n.key.deviceId]));
  report.setpoints = setpoints.map((x) => ({
    pod: x.message.podId,
    deviceId: deviceOf.get(x.message.podId) ?? '',
    signed: x,
    acks: [],
  }));
  progress.done(
    'setpoints',
    `at ${new Date(clock.now()).toISOString()} the DSOTP signed and published ${setpoints.length} setpoints for slot ${s.slot}: ` +
      setpoints
        .map(
          (x) =>
            `${x.message.podId} ${r3(x.message.activePowerW / 1000)} kW (baseline ${r3(x.message.baselineW / 1000)})`,
        )
        .join(', '),
  );

  const acks = async (id: string): Promise<AckRow[]> => scd.request<AckRow[]>('GET', `/acks?setpointId=${id}`);
  await until(
    'the applied acks',
    async () => {
      for (const sp of report.setpoints) {
        const a = await acks(sp.signed.message.id);
        sp.acks = a.map((x) => x.signed);
        if (!a.some((x) => x.state === 'applied' || x.state === 'clipped')) return false;
      }
      return true;
    },
    budget(slotStart - clock.now()),
    check,
  );
  progress.done(
    'acks',
    report.setpoints
      .map((sp) => `${sp.pod}: ${sp.acks.map((a) => (a.message as { state: string }).state).join(' → ')}`)
      .join('; '),
  );

  const qosRows = new Map<string, QosRow>();
  await until(
    'the QoS reports',
    async () => {
      for (const sp of report.setpoints) {
        const q = await scd.request<QosRow[]>('GET', `/qos?setpointId=${sp.signed.message.id}`);
        if (q[0]) {
          qosRows.set(sp.pod, q[0]);
          sp.qos = q[0].signed;
        }
      }
      return qosRows.size === report.setpoints.length;
    },
    budget(slotEnd + 5 * 60_000 - clock.now()),
    check,
  );
  for (const sp of report.setpoints) sp.acks = (await acks(sp.signed.message.id)).map((x) => x.signed);
  progress.done(
    'QoS',
    [...qosRows]
      .map(([pod, q]) => {
        const asked = q.requestedEnergyWh - q.baselineEnergyWh;
        const got = q.deliveredEnergyWh - q.baselineEnergyWh;
        return `${pod} delivered ${r3(got / 1000)} of ${r3(asked / 1000)} kWh (${((100 * got) / (asked || 1)).toFixed(1)} %)`;
      })
      .join('; '),
  );

  // run to 10:50Z (a sample after the slot for the settlement), then stop the nodes: they drain their outboxes
  await until('the end of the activation', () => clock.now() >= slotEnd + 5 * 60_000, budget(10 * 60_000), check);
  for (const n of o.nodes.splice(0)) await stopPodNode(n);
  const bal = stack.bal!;
  let all: Measurement[] = [];
  await until(
    'every sample anchored',
    async () => {
      const st = bal.status();
      all = (await scd.request<Measurement[]>('GET', '/measurements?limit=100000')) ?? [];
      return st.ledger.pendingBatches === 0 && all.length === st.counters.samplesAccepted;
    },
    60_000,
    check,
  );
  const samples = bal.counters.samplesAccepted;
  report.measurements.samples = samples;
  report.measurements.anchoredSamples = all.length;
  report.measurements.perPod = s.pods.map((p) => {
    const n = all.filter((m) => m.podId === p.pod).length;
    return { pod: p.pod, deviceId: deviceOf.get(p.pod) ?? '', samples: n, anchoredSamples: n };
  });
  report.series = report.setpoints.map((sp) => ({
    pod: sp.pod,
    deviceId: sp.deviceId,
    baselinekW: sp.signed.message.baselineW / 1000,
    setpointkW: sp.signed.message.activePowerW / 1000,
    fromMs: sp.signed.message.validFromMs,
    untilMs: sp.signed.message.validUntilMs,
    // a reading without active power (the meter's slow group only) is no point of the chart
    points: all.flatMap((m) =>
      m.podId === sp.pod && m.sample.quantities?.activePowerW !== undefined
        ? [{ tMs: m.tsMs, kW: m.sample.quantities.activePowerW / 1000 }]
        : [],
    ),
  }));
  progress.done(
    'anchoring',
    `the BAL verified ${samples} samples (${bal.counters.batchesAccepted} batches) and anchored ${bal.counters.windowsAnchored} windows; the SCD holds ${all.length}`,
  );

  const settled = await settlement(stack, s);
  report.settlement = settled.map((x) => ({
    pod: x.pod,
    acceptedkW: x.acceptedPValue - x.baselinekW,
    deliveredkW: x.deliveredLevelkW === null ? null : x.deliveredLevelkW - x.baselinekW,
    settledkW: x.settledkW,
    priceEurPerkW: x.acceptedPPrice,
    amountEur: x.amountEur,
  }));
  progress.done(
    'settlement',
    report.settlement
      .map(
        (x) =>
          `${x.pod} settled ${x.settledkW === null ? '—' : r3(x.settledkW)} kW → ${x.amountEur === null ? '—' : x.amountEur.toFixed(2)} €`,
      )
      .join('; '),
  );

  const activated = new Set(report.setpoints.map((x) => x.pod));
  const slotSamples: SlotSample[] = all
    .filter((m) => activated.has(m.podId) && m.tsMs >= slotStart && m.tsMs < slotEnd)
    .map((m) => ({ pod: m.podId, deviceId: m.deviceId, seq: m.seq }));
  const pf = await checkProofs({
    stack,
    samples: slotSamples,
    n: o.proofs,
    seed: o.seed,
    workDir: o.workDir,
    onPid: (pid) => o.onPid?.('lightnode proof verify', pid),
  });
  report.measurements.proofsChecked = pf.checked;
  report.measurements.proofsVerified = pf.verified;
  report.anchors = pf.anchors;
  progress.done(
    'proofs',
    `${pf.inProcessVerified}/${pf.inProcessChecked} samples of slot ${s.slot} verified in process (chain included); ` +
      `${pf.verified}/${pf.checked} random ones verified by \`lightnode proof verify --rpc\``,
    pf.verified === pf.checked && pf.inProcessVerified === pf.inProcessChecked,
  );
  if (pf.verified !== pf.checked || pf.inProcessVerified !== pf.inProcessChecked)
    throw new Error('a proof did not verify');
}
