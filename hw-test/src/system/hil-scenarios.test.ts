// The scenario library through the HIL runner (`runScenario`, what `lightnode hil run --short` does): each file's
// short variant on real peers (Debian's Mosquitto, `lightnode agent` processes, the meter simulator) with every
// invariant holding; and the mutation that proves the bench catches a broken build: power-cut-storm with the store's
// `outbox.ackBeforeCommit` failpoint must fail noSeqConflict or noSampleLost.
// power-cut-storm replaces the former kill loop of agent-crash.test.ts (its `buffer verify` now in batchesVerify).
// every library scenario's short variant runs here (the link action through each agent's link proxy; disk-full on
// the agent's own tmpfs — it replaces agent-disk-full.test.ts, its alarm seen as events from status).
import test, { type ExecutionContext } from 'ava';
import { join } from 'node:path';
import { loadScenario, runScenario, type HilRunResult } from '../index.js';
import { ROOT } from '../hil/harness.js';
import { batterySize } from '../demo/field-test/agents.js';
import { fieldScenario } from '../demo/field-test/scenario.js';
import { TDV_SLOT, TOR_DI_VALLE } from '../demo/tor-di-valle/scenario.js';
import { assertMutationCaught } from './hil-mutation.js';

/** The PoD of the field test that tor-di-valle-activation plays (ACEAE's −1000 kW offer, accepted by the DSO). */
const TDV_POD = 'IT002E61899978';

const LIBRARY = [
  'power-cut-storm',
  'link-latency-loss',
  'disk-full',
  'cellular-outage-24h',
  'rs485-dead-and-noisy',
  'clock-step',
  'setpoint-forged-replayed',
  'battery-silent-revert',
  'tor-di-valle-activation',
  'chain2-gateway-reboot',
  'outbox-quota',
  'sigterm-in-flight',
  'inprocess-speed',
];
/** Events the disk-full run must show: its fault took effect (the alarm in status) and went away. */
const DISK_FULL_EVENTS: { do: string; detail: RegExp }[] = [
  { do: 'disk-full', detail: /filled with .* MiB of ballast \(ENOSPC\)/ },
  { do: 'alarm', detail: /^OUTBOX_WRITE_FAILED raised \(state degraded, \d+ readings held\)/ },
  { do: 'disk-free', detail: /ballast removed/ },
  { do: 'alarm-cleared', detail: /^OUTBOX_WRITE_FAILED cleared/ },
];
const invariant = (r: HilRunResult, name: string) => r.invariants.find((i) => i.name === name);
/** The PoD level followed the setpoint: a second inside its window where the PoD meter read the target ± 300 W. */
function podFollowed(t: ExecutionContext, r: HilRunResult, targetW: number): void {
  const inWindow = r.series.setpoint.filter((p) => p.targetW === targetW);
  t.true(inWindow.length >= 3, `setpoint series: ${JSON.stringify(r.series.setpoint)}`);
  t.true(
    inWindow.some((p) => p.podW !== null && Math.abs(p.podW - targetW) <= 300),
    `the PoD reached ${targetW} W: ${JSON.stringify(inWindow)}`,
  );
  t.true(
    r.series.setpoint.some((p) => p.targetW === null),
    'and points outside the window',
  );
}
/** The numbers of an event's detail matching `re` (NaN when it does not match). */
const num = (r: HilRunResult, what: string, re: RegExp) =>
  Number(re.exec(r.events.find((e) => e.do === what)?.detail ?? '')?.[1] ?? NaN);
const arrivals = (r: HilRunResult) => r.events.find((e) => e.do === 'arrivals')?.detail ?? '';
/** What a scenario's faults must visibly have done (the faults prove themselves), beyond its invariants. */
const CHECKS: Record<string, (t: ExecutionContext, r: HilRunResult) => void> = {
  'disk-full'(t, r) {
    for (const want of DISK_FULL_EVENTS)
      t.true(
        r.events.some((e) => e.do === want.do && e.target === 'a1' && want.detail.test(e.detail)),
        `an event ${want.do} a1 matching ${want.detail}: ${JSON.stringify(r.events)}`,
      );
  },
  'cellular-outage-24h'(t, r) {
    t.true(r.figures.maxOutboxDepth >= 50, `a backlog built up while the broker was down: ${r.figures.maxOutboxDepth}`);
    t.truthy(r.events.find((e) => e.do === 'broker-up'));
    const offline = r.series.link.filter((l) => l.tS > 8 && l.tS < 28);
    t.true(offline.length > 0 && offline.every((l) => l.state !== 'connected'), 'the agent saw the link down');
    t.regex(arrivals(r), / 0 first arrivals out of seq order/, 'the backlog drains in seq order');
  },
  'rs485-dead-and-noisy'(t, r) {
    const meters = r.events.find((e) => e.do === 'meters')?.detail ?? '';
    const failed = (id: string) => Number(new RegExp(`${id} \\w+ \\((\\d+) failed`).exec(meters)?.[1] ?? NaN);
    t.regex(meters, /m4 invalid/, 'the dead meter never gave a reading');
    t.true(failed('m4') > 0, meters);
    t.true(failed('m3') > 0, `the noisy meter's corrupted replies were seen: ${meters}`);
    t.regex(meters, /m1 good.*m2 good.*m3 (good|stale)/);
  },
  'chain2-gateway-reboot'(t, r) {
    const health = r.events.find((e) => e.do === 'chain2')?.detail ?? '';
    const quarters = r.events.find((e) => e.do === 'quarters')?.detail ?? '';
    t.log(health, quarters);
    t.true(num(r, 'chain2', / (\d+) connects/) >= 3, `the agent reconnected after each restart: ${health}`);
    t.true(num(r, 'chain2', /CHAIN2_TOTAL_DECREASED (\d+)/) >= 1, `it saw the totals drop: ${health}`);
    t.true(num(r, 'quarters', /^(\d+) quarters/) >= 14, quarters);
    // every quarter between the first and the last received: a sample with its energy, an untrusted one, or missing
    // and inside a reported gap
    const missing = num(r, 'quarters', /; (\d+) not received/);
    const untrusted = num(r, 'quarters', /\((\d+) untrusted\)/);
    t.is(missing + untrusted, num(r, 'chain2', /, (\d+) missed quarters/), `${quarters} / ${health}`);
    t.true(untrusted >= 1, quarters);
    const energies = /missed quarters \(([\d., ]+) Wh\)/.exec(health)?.[1]?.split(', ').map(Number) ?? [];
    t.true(energies.length > 0 && energies.every((wh) => wh > 0), `every gap carries its energy: ${health}`);
  },
  'outbox-quota'(t, r) {
    t.true(
      r.events.some((e) => e.do === 'alarm' && /^OUTBOX_FULL raised \(state degraded/.test(e.detail)),
      `the agent said its outbox was full: ${JSON.stringify(r.events.filter((e) => e.do.startsWith('alarm')))}`,
    );
    t.true(num(r, 'gaps', /(\d+) disk_quota/) >= 1, 'the oldest batches evicted as signed disk_quota gaps');
    t.true(r.figures.gaps >= 1);
    // the quota bounds the outbox: 15 s offline at 10 Hz would pile up ~150 samples without it
    t.true(r.figures.maxOutboxDepth < 75, `outbox bounded by its quota: ${r.figures.maxOutboxDepth} samples at most`);
  },
  'sigterm-in-flight'(t, r) {
    const stops = r.events.filter((e) => e.do === 'stop' && e.target === 'a1' && !e.detail.startsWith('end of'));
    t.is(stops.length, 5);
    for (const e of stops) {
      t.regex(e.detail, /^SIGTERM, exit 0 after \d+ ms$/);
      const ms = Number(/after (\d+) ms/.exec(e.detail)?.[1]);
      t.true(ms < 5000, `exits within 5 s of SIGTERM with a poll in flight: ${e.detail}`);
    }
    t.log(stops.map((e) => e.detail).join('; '));
  },
  'inprocess-speed'(t, r) {
    // the agent in the runner's process (hil-inprocess.test.ts runs it at speed 5 and its kill9 mutation)
    t.regex(r.events.find((e) => e.do === 'clock-step')?.detail ?? '', /status shows stepMs -60000/);
    // a batch window opened after the step starts up to 60 s (less the part of the 1-s window already gone) earlier
    const back = Number(/went back at most (\d+) ms/.exec(arrivals(r))?.[1]);
    t.true(Math.abs(back - 60_000) < 5000, `a batch after the step has a window 60 s earlier: ${arrivals(r)}`);
    t.true(r.notes.some((n) => /rssMaxMB is the runner's own RSS/.test(n)));
    t.truthy(r.figures.rssMaxMB);
  },
  'clock-step'(t, r) {
    const steps = r.events.filter((e) => e.do === 'clock-step').map((e) => e.detail);
    t.is(steps.length, 2);
    t.regex(steps[0]!, /status shows stepMs -300000/);
    t.regex(steps[1]!, /status shows stepMs 0\b/);
    const behind = steps.map((d) => Number(/its clock (-?\d+) ms behind/.exec(d)?.[1]));
    t.true(Math.abs(behind[0]! - 300_000) < 5000, `the agent's clock went back 300 s: ${steps[0]}`);
    t.true(Math.abs(behind[1]!) < 5000, `and forward again: ${steps[1]}`);
    t.regex(arrivals(r), / 0 first arrivals out of seq order/);
    const back = Number(/went back at most (\d+) ms/.exec(arrivals(r))?.[1]);
    t.true(Math.abs(back - 300_000) < 5000, `a batch after the step has a window 300 s earlier: ${arrivals(r)}`);
  },
  'setpoint-forged-replayed'(t, r) {
    const rej = invariant(r, 'rejectedWith')!;
    // every kind of bad order came back rejected with its own code, device-signed
    t.is(rej.value, 'SETPOINT_ISSUER_UNKNOWN, SIGNER_MISMATCH, SETPOINT_REPLAY');
    t.regex(
      rej.detail,
      /^6 refused with device-signed rejected acks \(forged SETPOINT_ISSUER_UNKNOWN, tampered SIGNER_MISMATCH, replay SETPOINT_REPLAY,/,
    );
    t.is(r.events.filter((e) => e.do === 'setpoint-forged').length, 2);
    t.regex(r.events.find((e) => e.do === 'setpoint-replay')!.detail, /republished \(\d+ bytes, as first delivered\)/);
    const applied = invariant(r, 'setpointAppliedWithinS')!;
    t.true(typeof applied.value === 'number' && applied.value <= 2, `applied within 2 s: ${applied.detail}`);
    t.regex(invariant(r, 'autonomousWithinS')!.detail, /window-end [\d.]+ s \(expired ack \+ battery release\)/);
    t.true(r.figures.fallbackS !== null && r.figures.fallbackS <= 2, `fallbackS ${r.figures.fallbackS}`);
    podFollowed(t, r, -1000);
  },
  'battery-silent-revert'(t, r) {
    t.truthy(r.events.find((e) => e.do === 'device-fault' && e.detail === 'silent-revert:2 for 10 s'));
    const auto = invariant(r, 'autonomousWithinS')!.detail;
    // each silent revert (the fault re-arms with every write while it stands) was reported and taken back: a
    // device-signed `reverted` ack naming what saw it first (the readback, or the PoD meter), then a new command
    const answered = [...auto.matchAll(/silent-revert ([\d.]+) s \(([^)]*)\)/g)];
    const retaken = answered.filter((m) =>
      /^battery command -?\d+ W \+ reverted ack (READBACK_MISMATCH|POD_DEVIATION)$/.test(m[2]!),
    );
    t.true(retaken.length >= 2, auto);
    t.is(retaken.length, answered.length, `every silent revert answered by a reverted ack: ${auto}`);
    t.true(
      retaken.every((m) => Number(m[1]) <= 3),
      auto,
    );
    t.regex(auto, /window-end [\d.]+ s \(expired ack \+ battery release\)/);
    t.true(r.figures.fallbackS !== null && r.figures.fallbackS <= 3, `fallbackS ${r.figures.fallbackS}`);
    podFollowed(t, r, -1000);
  },
  'tor-di-valle-activation'(t, r) {
    // the scenario's numbers are still the field test's: the PoD's baseline at the slot, its battery, the accepted level
    const s = loadScenario(file('tor-di-valle-activation'));
    const pod = fieldScenario().pods.find((p) => p.pod === TDV_POD)!;
    const e1 = s.devices.find((d) => d.id === 'e1');
    t.like(e1, { kind: 'ess', loadW: pod.baselinesW[TDV_SLOT], ...batterySize(pod) });
    t.like(s.agents[0]!.config, { podId: TDV_POD });
    const level = Math.round(TOR_DI_VALLE.expected[TDV_POD].acceptedPValue * 1000);
    for (const v of [s, loadScenario(file('tor-di-valle-activation'), { short: true })])
      t.like(
        v.timeline.find((e) => e.do === 'setpoint'),
        { targetW: level },
      );
    t.regex(
      r.events.find((e) => e.do === 'setpoint')!.detail,
      new RegExp(`at PoD ${TDV_POD} .*baseline ${pod.baselinesW[TDV_SLOT]} W`),
    );
    t.regex(invariant(r, 'autonomousWithinS')!.detail, /window-end [\d.]+ s \(expired ack \+ battery release\)/);
    podFollowed(t, r, level);
    // the cloud of the field test saw it: the BAL verified every batch the subscriber did, rejected none, anchored
    // windows, and the SCD holds the device-signed applied ack of the setpoint
    t.regex(r.events.find((e) => e.do === 'enroll' && e.target === 'a1')?.detail ?? '', /registered on chain/);
    const batches = num(r, 'arrivals', /^(\d+) batches/);
    t.is(num(r, 'cloud', /^BAL verified (\d+) batches/), batches, JSON.stringify(r.events.slice(-4)));
    t.true(batches > 0);
    t.is(num(r, 'cloud', /rejected (\d+)/), 0);
    t.true(num(r, 'cloud', /(\d+) windows anchored/) > 0);
    t.true(num(r, 'cloud', /(\d+) acks accepted/) > 0);
    t.regex(r.events.find((e) => e.do === 'cloud-acks')?.detail ?? '', /: (received|scheduled), applied(,|$)/);
  },
};
const file = (name: string) => join(ROOT, 'hw-test', 'scenarios', `${name}.yaml`);
const summary = (r: HilRunResult) =>
  JSON.stringify(
    { broke: r.broke, invariants: r.invariants, figures: r.figures, wallS: r.wallS, events: r.events.slice(-6) },
    null,
    1,
  );

for (const name of LIBRARY)
  test(`${name} (short) through the runner: every invariant holds`, async (t) => {
    const r = await runScenario(loadScenario(file(name), { short: true }));
    t.log(summary(r));
    t.is(r.broke, undefined);
    t.true(r.invariants.length > 0);
    for (const i of r.invariants) t.true(i.passed, `${i.name}: ${i.detail}`);
    t.true(r.passed);
    t.true(r.figures.samples > 0);
    t.is(r.figures.lost, 0);
    t.is(r.figures.conflicts, 0);
    CHECKS[name]?.(t, r);
  });

test('mutation: power-cut-storm (short) with failpoints [outbox.ackBeforeCommit] fails noSeqConflict or noSampleLost', async (t) => {
  const s = loadScenario(file('power-cut-storm'), { short: true });
  s.agents = s.agents.map((a) => ({ ...a, failpoints: ['outbox.ackBeforeCommit'] }));
  const r = await runScenario(s);
  t.log(summary(r));
  assertMutationCaught(t, r);
});

test('a tmpfs that cannot be mounted breaks the run at stage tmpfs AGENT, before the agent starts', async (t) => {
  const s = loadScenario(file('disk-full'), { short: true });
  s.agents = s.agents.map((a) => ({ ...a, tmpfsMiB: 0 })); // past the schema: the injector refuses the size
  const r = await runScenario(s);
  t.false(r.passed);
  t.is(r.broke?.stage, 'tmpfs a1');
  t.regex(r.broke?.message ?? '', /disk-full: sizeMiB must be an integer ≥ 1, got 0/);
  t.false(r.events.some((e) => e.do === 'disk-full'));
});

test('a timeline the runner cannot play breaks the run before anything starts, named', async (t) => {
  const s = loadScenario(file('power-cut-storm'), { short: true });
  s.timeline = [{ atS: 1, do: 'teleport', agent: 'a1' } as never]; // past the schema: no handler for it
  const started = Date.now();
  const r = await runScenario(s);
  t.false(r.passed);
  t.is(r.broke?.stage, 'timeline');
  t.regex(r.broke?.message ?? '', /teleport, not supported by this runner yet/);
  t.true(Date.now() - started < 5000);
});
