import test from 'ava';
import { FakeClock } from '@lightnode/protocols/testing';
import * as sm from './state.js';

const rel = (version: string, seq: number, source: sm.Source): sm.ReleaseRef => ({
  version,
  seq,
  arch: 'amd64',
  source,
  dir: `/${source}/${version}`,
});
const F = rel('1.0.0', 1, 'factory');
const A = rel('1.1.0', 2, 'ota');
const B = rel('1.2.0', 3, 'ota');

/** Carries out a step's switch on the installed view (what the I/O layer does with the symlinks). */
function run(inst: sm.Installed, step: sm.Step): sm.Installed {
  let i = inst;
  for (const e of step.effects)
    if (e.type === 'switch') i = { current: e.current, previous: e.previous, factory: inst.factory };
  return i;
}

function applyB(clock: FakeClock): { s: sm.UpdateState; inst: sm.Installed } {
  // A is current and confirmed, previous the factory; B applied
  const inst0: sm.Installed = { current: A, previous: F, factory: F };
  const step = sm.applied(sm.emptyState(), inst0, B, clock.now());
  t0Effects(step);
  return { s: step.state, inst: run(inst0, step) };
}
function t0Effects(step: sm.Step): void {
  if (step.effects.map((e) => e.type).join() !== 'switch,restart-agent') throw new Error('apply effects');
}

test('no state: the newest factory release is current and confirmed', async (t) => {
  const st = sm.statusOf(sm.emptyState(), { current: F, previous: null, factory: F });
  t.deepEqual(st.current, { version: '1.0.0', seq: 1, source: 'factory', confirmed: true });
  t.is(st.pending, null);
  t.is(st.last, null);
});

test('apply → pending; one start, active long enough → confirmed by --auto (not earlier)', async (t) => {
  const clock = new FakeClock();
  const applied = applyB(clock);
  const inst = applied.inst;
  let s = applied.s;
  t.is(sm.statusOf(s, inst).current.confirmed, false);
  t.is(sm.statusOf(s, inst).previous?.version, '1.1.0');
  s = sm.hookStart(s, inst, clock.now()).state;
  await clock.advance(299_000);
  const agent = { activeState: 'active', activeForMs: null };
  t.is(sm.confirm(s, inst, clock.now(), { confirmAfterS: 300, agent }), null);
  t.is(
    sm.confirm(s, inst, clock.now(), { confirmAfterS: 300, agent: { activeState: 'activating', activeForMs: 1e9 } }),
    null,
  );
  await clock.advance(1_000);
  const c = sm.confirm(s, inst, clock.now(), { confirmAfterS: 300, agent })!;
  t.truthy(c);
  s = c.state;
  t.is(sm.statusOf(s, inst).current.confirmed, true);
  t.like(s.last, { action: 'confirm', result: 'ok', reason: 'auto' });
  // a confirmed release is never rolled back by itself
  t.deepEqual(sm.hookStop(s, inst, 'watchdog', clock.now()).effects, []);
  t.deepEqual(sm.hookStart(sm.hookStart(s, inst, 1).state, inst, 2).effects, []);
  t.like(sm.rollbackAuto(s, inst, clock.now()).state.last, { action: 'rollback', result: 'skipped' });
});

test('watchdog while pending → previous now, which must prove itself; its failure → factory; then retry', async (t) => {
  const clock = new FakeClock();
  let { s, inst } = applyB(clock);
  s = sm.hookStart(s, inst, clock.now()).state;
  let step = sm.hookStop(s, inst, 'watchdog', clock.now());
  t.deepEqual(step.effects, [{ type: 'switch', current: A, previous: B }]);
  t.like(step.state.last, { action: 'rollback', reason: 'watchdog', from: '1.2.0', to: '1.1.0' });
  inst = run(inst, step);
  s = step.state;
  t.like(sm.statusOf(s, inst), {
    current: { version: '1.1.0', confirmed: false },
    pending: { kind: 'rollback', starts: 0 },
  });
  // A never becomes READY: start timeout
  s = sm.hookStart(s, inst, clock.now()).state;
  step = sm.hookStop(s, inst, 'timeout', clock.now());
  t.deepEqual(step.effects, [{ type: 'switch', current: F, previous: A }]);
  t.like(step.state.last, { reason: 'no-ready', to: '1.0.0' });
  inst = run(inst, step);
  s = step.state;
  t.like(sm.statusOf(s, inst).pending, { kind: 'factory' });
  // the factory crashes twice: nowhere to go → retry mode, shown in status
  s = sm.hookStart(s, inst, clock.now()).state;
  s = sm.hookStop(s, inst, 'exit-code', clock.now()).state;
  step = sm.hookStop(s, inst, 'exit-code', clock.now());
  t.deepEqual(step.effects, []);
  s = step.state;
  t.like(sm.statusOf(s, inst), { current: { version: '1.0.0' }, retry: { reason: 'crash-loop', attempts: 0 } });
  // OnFailure= in retry mode does not restart (the timer will)
  t.deepEqual(sm.rollbackAuto(s, inst, clock.now()).effects, []);
  // the retry tick: not while the agent is active; else a fresh chance
  t.deepEqual(sm.retryTick(s, inst, clock.now(), { activeState: 'active', activeForMs: 1 }).effects, []);
  await clock.advance(15 * 60_000);
  step = sm.retryTick(s, inst, clock.now(), { activeState: 'failed', activeForMs: null });
  t.deepEqual(step.effects, [{ type: 'reset-failed' }, { type: 'start-agent' }]);
  s = step.state;
  t.like(s.retry, { attempts: 1 });
  t.like(s.pending, { starts: 0, crashes: 0 });
  // it comes up this time and stays: confirmed, retry cleared
  s = sm.hookStart(s, inst, clock.now()).state;
  await clock.advance(300_000);
  s = sm.confirm(s, inst, clock.now(), {
    confirmAfterS: 300,
    agent: { activeState: 'active', activeForMs: 300_000 },
  })!.state;
  t.is(sm.statusOf(s, inst).retry, undefined);
  t.true(sm.statusOf(s, inst).current.confirmed);
});

test('a restart of the pending release (second hook start) rolls back, reason from the last stop', async (t) => {
  const clock = new FakeClock();
  const { s: s0, inst } = applyB(clock);
  const s1 = sm.hookStart(s0, inst, clock.now()).state;
  // a clean stop (systemctl restart): next start → restarted
  const s2 = sm.hookStop(s1, inst, 'success', clock.now()).state;
  const step = sm.hookStart(s2, inst, clock.now());
  t.like(step.state.last, { reason: 'restarted', to: '1.1.0' });
  // the start under way is the rolled-back-to release's first
  t.like(step.state.pending, { version: '1.1.0', starts: 1 });
  // a power cut (no stop recorded) → restarted as well
  t.like(sm.hookStart(s1, inst, clock.now()).state.last, { reason: 'restarted' });
  // one crash then Restart= → crash-loop
  const s3 = sm.hookStop(s1, inst, 'exit-code', clock.now()).state;
  t.like(sm.hookStart(s3, inst, clock.now()).state.last, { reason: 'crash-loop' });
});

test('OnFailure= (start limit) rolls back with the recorded reason, else no-ready, then reset-failed + start', async (t) => {
  const clock = new FakeClock();
  const { s: s0, inst } = applyB(clock);
  const step = sm.rollbackAuto(sm.hookStart(s0, inst, clock.now()).state, inst, clock.now());
  t.deepEqual(
    step.effects.map((e) => e.type),
    ['switch', 'reset-failed', 'start-agent'],
  );
  t.like(step.state.last, { reason: 'no-ready' });
});

test('a crash between state write and symlink switch keeps the old truth (was)', async (t) => {
  const clock = new FakeClock();
  const inst0: sm.Installed = { current: A, previous: F, factory: F };
  const step = sm.applied(sm.emptyState(), inst0, B, clock.now());
  // the state was written, the switch never happened: A stays current and confirmed
  t.is(sm.effectivePending(step.state, A), null);
  t.true(sm.statusOf(step.state, inst0).current.confirmed);
  // a rollback written but not switched: the failed release stays pending (the next start rolls back again)
  const inst = run(inst0, step);
  const s1 = sm.hookStart(step.state, inst, clock.now()).state;
  const rb = sm.hookStop(s1, inst, 'watchdog', clock.now());
  t.like(sm.effectivePending(rb.state, B), { version: '1.2.0', starts: 1 });
  t.like(sm.effectivePending(rb.state, A), { version: '1.1.0', kind: 'rollback' });
});

test('manual rollback: a confirmed release goes to previous, pending; nothing to go to → null', async (t) => {
  const clock = new FakeClock();
  const inst: sm.Installed = { current: A, previous: F, factory: F };
  const step = sm.rollbackManual(sm.emptyState(), inst, 'operator', clock.now())!;
  t.deepEqual(
    step.effects.map((e) => e.type),
    ['switch', 'restart-agent'],
  );
  t.like(step.state.last, { reason: 'operator', to: '1.0.0' });
  t.is(sm.rollbackManual(sm.emptyState(), { current: F, previous: null, factory: F }, 'x', clock.now()), null);
});
