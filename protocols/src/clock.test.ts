import test from 'ava';
import { FakeClock } from './clock.js';

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
