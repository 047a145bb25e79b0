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

const LIBRARY = [
  'power-cut-storm',
  'link-latency-loss',
  'disk-full',
  'cellular-outage-24h',
  'rs485-dead-and-noisy',
  'clock-step',
  'inprocess-speed',
];
/** Events the disk-full run must show: its fault took effect (the alarm in status) and went away. */
const DISK_FULL_EVENTS: { do: string; detail: RegExp }[] = [
  { do: 'disk-full', detail: /filled with .* MiB of ballast \(ENOSPC\)/ },
  { do: 'alarm', detail: /^OUTBOX_WRITE_FAILED raised \(state degraded, \d+ readings held\)/ },
  { do: 'disk-free', detail: /ballast removed/ },
  { do: 'alarm-cleared', detail: /^OUTBOX_WRITE_FAILED cleared/ },
];
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
  'inprocess-speed'(t, r) {
    // the agent in the runner's process (hil-inprocess.test.ts runs it at speed 5 and its kill9 mutation)
    t.regex(r.events.find((e) => e.do === 'clock-step')?.detail ?? '', /status shows stepMs -60000/);
    t.regex(arrivals(r), /windows went back at most 6\d{4} ms/, 'a batch after the step has a window 60 s earlier');
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
  t.is(r.broke, undefined, 'the run itself must not break: the invariants must catch the bug');
  t.false(r.passed);
  const caught = r.invariants.filter((i) => (i.name === 'noSeqConflict' || i.name === 'noSampleLost') && !i.passed);
  t.true(caught.length > 0, 'noSeqConflict or noSampleLost fails');
  t.true(r.figures.conflicts + r.figures.lost > 0);
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
  s.timeline = [{ atS: 1, do: 'setpoint-replay', agent: 'a1' }];
  const started = Date.now();
  const r = await runScenario(s);
  t.false(r.passed);
  t.is(r.broke?.stage, 'timeline');
  t.regex(r.broke?.message ?? '', /setpoint-replay, not supported by this runner yet/);
  t.true(Date.now() - started < 5000);
});
