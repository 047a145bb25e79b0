import test from 'ava';
import { steppedClock } from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { Poller } from './poller.js';

test('the poller runs every pollMs across wall-clock steps (−300 s, +300 s): due times are monotonic', async (t) => {
  const base = new FakeClock(Date.UTC(2024, 0, 10, 9));
  const clock = steppedClock({ offsetMs: 0, speed: 1 }, base);
  const at: number[] = [];
  const poller = new Poller(clock, 500, () => {
    at.push(clock.monotonic());
    return Promise.resolve();
  });
  poller.start();
  await base.advance(1_000);
  clock.stepMs = -300_000;
  await base.advance(1_000);
  clock.stepMs = 300_000;
  await base.advance(1_000);
  await poller.stop();
  t.deepEqual(at, [0, 500, 1000, 1500, 2000, 2500, 3000]);
});
