import test from 'ava';
import { FakeClock } from './testing/fake-clock.js';
import { scaledClock, steppableScaledClock } from './clock.js';

test('FakeClock fires timers in time order and only when advanced', async (t) => {
  const c = new FakeClock(1000);
  const fired: string[] = [];
  c.setTimer(50, () => fired.push('b'));
  c.setTimer(10, () => fired.push('a'));
  const cancel = c.setTimer(20, () => fired.push('never'));
  cancel();
  await c.advance(9);
  t.deepEqual(fired, []);
  await c.advance(100);
  t.deepEqual(fired, ['a', 'b']);
  t.is(c.now(), 1109);
  t.is(c.monotonic(), 109);
});

test('FakeClock.sleep resolves after advance', async (t) => {
  const c = new FakeClock(0);
  let done = false;
  const p = c.sleep(100).then(() => (done = true));
  await c.advance(99);
  t.false(done);
  await c.advance(1);
  await p;
  t.true(done);
});

test('scaledClock: now = startMs + elapsed × speed; timers and sleeps scaled alike', async (t) => {
  const base = new FakeClock(0);
  const startMs = Date.UTC(2021, 5, 23, 10, 25);
  const c = scaledClock({ startMs, speed: 60 }, base);
  t.is(c.now(), startMs);
  await base.advance(1000);
  t.is(c.now(), startMs + 60_000);
  t.is(c.monotonic(), 60_000);
  const fired: number[] = [];
  c.setTimer(120_000, () => fired.push(c.now()));
  let slept = false;
  void c.sleep(30_000).then(() => (slept = true));
  await base.advance(499);
  t.false(slept);
  await base.advance(1);
  t.true(slept);
  await base.advance(1500);
  t.deepEqual(fired, [startMs + 180_000]);
  t.throws(() => scaledClock({ startMs, speed: 0 }, base), { instanceOf: RangeError });
});

test('steppableScaledClock: advanceTo jumps now() forward only; monotonic and pending timers stay relative', async (t) => {
  const base = new FakeClock(0);
  const startMs = Date.UTC(2021, 5, 22, 10, 0);
  const c = steppableScaledClock({ startMs, speed: 60 }, base);
  await base.advance(1000);
  t.is(c.now(), startMs + 60_000);
  const fired: number[] = [];
  c.setTimer(60_000, () => fired.push(c.now()));
  const target = Date.UTC(2021, 5, 23, 10, 24);
  c.advanceTo(target);
  t.is(c.now(), target);
  t.is(c.monotonic(), 60_000, 'monotonic does not jump');
  c.advanceTo(startMs);
  t.is(c.now(), target, 'never backwards');
  await base.advance(1000);
  t.deepEqual(fired, [target + 60_000], 'the pending timer fired after its relative delay');
  t.is(c.now(), target + 60_000);
});
