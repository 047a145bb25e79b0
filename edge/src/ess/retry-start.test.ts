// RetryingStartAdapter: a battery off at boot is found later; attempts paced by the backoff; the typed error kept.
import test from 'ava';
import { LightNodeError } from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { FakeEssAdapter } from '../testing/index.js';
import { RetryingStartAdapter } from './retry-start.js';

class FlakyStart extends FakeEssAdapter {
  failures = 2;
  attempts = 0;
  override async start(): Promise<void> {
    this.attempts++;
    if (this.failures-- > 0) throw new LightNodeError('ADAPTER_TIMEOUT', 'SunSpec discovery: no answer');
    await super.start();
  }
}

test('a failed start is retried on use, at most once per backoff step, then reads go through', async (t) => {
  const clock = new FakeClock(0);
  const inner = new FlakyStart(clock, { socPermille: 640 });
  const a = new RetryingStartAdapter(inner, clock, () => 0.5);
  await t.throwsAsync(a.start(), { message: /no answer/ });
  await t.throwsAsync(a.read(), { message: /no answer/ }, 'within the backoff: the last error at once');
  t.is(inner.attempts, 1);
  await clock.advance(1000);
  await t.throwsAsync(a.read(), { message: /no answer/ });
  t.is(inner.attempts, 2, 'a second attempt after the first step');
  await clock.advance(999);
  await t.throwsAsync(a.command(100, 60));
  t.is(inner.attempts, 2, 'the step doubled: no attempt yet');
  await clock.advance(1001);
  t.is((await a.read()).socPermille, 640);
  t.is(inner.attempts, 3);
  t.true(a.isStarted);
  await a.start();
  t.is(inner.attempts, 3, 'start is idempotent once started');
  await a.command(500, 60);
  t.deepEqual(
    inner.commands.map((c) => [c.w, c.revertS]),
    [[500, 60]],
  );
  await a.close();
  await a.close();
  t.true(inner.closed);
});
