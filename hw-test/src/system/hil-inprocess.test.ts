// In-process agents (`mode: inprocess`) through the HIL runner, on real peers (Debian's Mosquitto, the meter
// simulator): inprocess-speed's short variant at speed 5 (the agent and the simulator on the run's scaledClock, its
// link blackhole and clock step), and power-cut-storm's short variant with its agent in process — every invariant
// holding, and with `failpoints: [outbox.ackBeforeCommit]` failing noSeqConflict or noSampleLost as the process
// agent's mutation does (hil-scenarios.test.ts): the same failpoint, through `AgentDeps.store`, caught the same way.
// Serial: an in-process agent shares the event loop of the test process, a run beside it would steal its cycles.
import test from 'ava';
import { join } from 'node:path';
import { loadScenario, runScenario, type HilRunResult, type Scenario } from '../index.js';
import { ROOT } from '../hil/harness.js';
import { assertMutationCaught } from './hil-mutation.js';

const file = (name: string) => join(ROOT, 'hw-test', 'scenarios', `${name}.yaml`);
const summary = (r: HilRunResult) =>
  JSON.stringify({ broke: r.broke, invariants: r.invariants, figures: r.figures, wallS: r.wallS }, null, 1);
const inProcess = (s: Scenario, failpoints: Scenario['agents'][number]['failpoints'] = []): Scenario => ({
  ...s,
  agents: s.agents.map((a) => ({ ...a, mode: 'inprocess', failpoints })),
});

test.serial('inprocess-speed (short) at speed 5: every invariant holds, the agent on the run clock', async (t) => {
  const s = loadScenario(file('inprocess-speed'), { short: true });
  // the full variant's 1 s poll: 200 ms of wall time at speed 5 (the short one's 200 ms poll would be 40 ms, and a
  // busy machine's timer lag then costs coverage — what this test checks is the run clock, not the CPU)
  s.devices = s.devices.map((d) => (d.kind === 'meter' ? { ...d, pollMs: 1000 } : d));
  const r = await runScenario(s, { speed: 5 });
  t.log(summary(r));
  t.is(r.broke, undefined);
  for (const i of r.invariants) t.true(i.passed, `${i.name}: ${i.detail}`);
  t.true(r.passed);
  t.is(r.speed, 5);
  // at speed 1 the run alone would take 30 s: at speed 5 it takes ~6 s plus the set-up
  t.true(r.wallS < 28, `30 simulated seconds at speed 5 took ${r.wallS} s of wall time`);
  t.true(r.figures.samples >= 25, `a 1 s poll over 30 simulated seconds: ${r.figures.samples}`);
  t.is(r.figures.lost, 0);
  t.is(r.figures.conflicts, 0);
  t.truthy(r.events.find((e) => e.do === 'link' && /blackhole for 8 s/.test(e.detail)));
  t.regex(r.events.find((e) => e.do === 'clock-step')?.detail ?? '', /status shows stepMs -60000/);
  t.true(
    r.notes.some((n) => /speed 5: the simulators and the in-process agents \(a1\) on the run's scaledClock/.test(n)),
    r.notes.join('\n'),
  );
});

test.serial(
  'power-cut-storm (short) with its agent in process: every invariant holds across the abrupt stops',
  async (t) => {
    const r = await runScenario(inProcess(loadScenario(file('power-cut-storm'), { short: true })));
    t.log(summary(r));
    t.is(r.broke, undefined);
    for (const i of r.invariants) t.true(i.passed, `${i.name}: ${i.detail}`);
    t.is(r.events.filter((e) => e.do === 'kill9' && /^abrupt in-process stop/.test(e.detail)).length, 13);
    t.is(r.events.filter((e) => e.do === 'restarted').length, 13);
  },
);

test.serial(
  'mutation in process: power-cut-storm (short) with failpoints [outbox.ackBeforeCommit] fails noSeqConflict or noSampleLost',
  async (t) => {
    const s = inProcess(loadScenario(file('power-cut-storm'), { short: true }), ['outbox.ackBeforeCommit']);
    const r = await runScenario(s);
    t.log(summary(r));
    assertMutationCaught(t, r);
    t.true(r.events.some((e) => e.do === 'alarm' && /^FAILPOINTS_ACTIVE raised/.test(e.detail)));
  },
);
