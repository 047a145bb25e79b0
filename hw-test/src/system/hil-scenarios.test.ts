// The scenario library through the HIL runner (`runScenario`, what `lightnode hil run --short` does): each file's
// short variant on real peers (Debian's Mosquitto, `lightnode agent` processes, the meter simulator) with every
// invariant holding; and the mutation that proves the bench catches a broken build: power-cut-storm with the store's
// `outbox.ackBeforeCommit` failpoint must fail noSeqConflict or noSampleLost.
// power-cut-storm replaces the former kill loop of agent-crash.test.ts (its `buffer verify` now in batchesVerify).
// every library scenario's short variant runs here (the link action through each agent's link proxy; disk-full on
// the agent's own tmpfs — it replaces agent-disk-full.test.ts, its alarm seen as events from status).
import test from 'ava';
import { join } from 'node:path';
import { loadScenario, runScenario, type HilRunResult } from '../index.js';
import { ROOT } from '../hil/harness.js';

const LIBRARY = ['power-cut-storm', 'link-latency-loss', 'disk-full'];
/** Events a scenario's run must show besides its invariants: that its fault took effect (the alarm in status). */
const EXPECT_EVENTS: Record<string, { do: string; detail: RegExp }[]> = {
  'disk-full': [
    { do: 'disk-full', detail: /filled with .* MiB of ballast \(ENOSPC\)/ },
    { do: 'alarm', detail: /^OUTBOX_WRITE_FAILED raised \(state degraded, \d+ readings held\)/ },
    { do: 'disk-free', detail: /ballast removed/ },
    { do: 'alarm-cleared', detail: /^OUTBOX_WRITE_FAILED cleared/ },
  ],
};
const file = (name: string) => join(ROOT, 'hw-test', 'scenarios', `${name}.yaml`);
const summary = (r: HilRunResult) =>
  JSON.stringify({ broke: r.broke, invariants: r.invariants, figures: r.figures, wallS: r.wallS }, null, 1);

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
    for (const want of EXPECT_EVENTS[name] ?? [])
      t.true(
        r.events.some((e) => e.do === want.do && e.target === 'a1' && want.detail.test(e.detail)),
        `an event ${want.do} a1 matching ${want.detail}: ${JSON.stringify(r.events)}`,
      );
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
