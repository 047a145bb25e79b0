import test from 'ava';
import { FakeClock } from './testing/fake-clock.js';
import { FAILPOINTS, parseClockKnob, parseClockStep, parseFailpoints, steppedClock } from './test-knobs.js';

test('LIGHTNODE_CLOCK: absent or blank is the system clock (null)', (t) => {
  t.is(parseClockKnob(undefined), null);
  t.is(parseClockKnob(''), null);
  t.is(parseClockKnob('  '), null);
});

test('LIGHTNODE_CLOCK: any subset of offsetMs, speed, stepFile; defaults 0 and 1', (t) => {
  t.deepEqual(parseClockKnob('offsetMs=-3600000,speed=60,stepFile=/tmp/x step'), {
    offsetMs: -3_600_000,
    speed: 60,
    stepFile: '/tmp/x step',
  });
  t.deepEqual(parseClockKnob('stepFile=/run/ln/step'), { offsetMs: 0, speed: 1, stepFile: '/run/ln/step' });
  t.deepEqual(parseClockKnob(' speed = 0.5 '), { offsetMs: 0, speed: 0.5 });
  t.deepEqual(parseClockKnob('offsetMs=+1000'), { offsetMs: 1000, speed: 1 });
});

test('LIGHTNODE_CLOCK: each bad part → CONFIG_INVALID naming the variable and the part', (t) => {
  const bad: [string, string][] = [
    ['speed=0', 'speed=0'],
    ['speed=-2', 'speed=-2'],
    ['speed=fast', 'speed=fast'],
    ['speed=', 'speed='],
    ['speed=Infinity', 'speed=Infinity'],
    ['offsetMs=1.5', 'offsetMs=1.5'],
    ['offsetMs=1e3', 'offsetMs=1e3'],
    ['offsetMs=', 'offsetMs='],
    ['stepFile=', 'stepFile='],
    ['speed=2,offset=5', 'offset=5'],
    ['speed=2,speed=3', 'speed=3'],
    ['speed', 'speed'],
    ['speed=2,', ''],
  ];
  for (const [text, part] of bad) {
    const e = t.throws(() => parseClockKnob(text), { message: /^CONFIG_INVALID: LIGHTNODE_CLOCK: / }, text);
    t.true(e?.message.includes(JSON.stringify(part)), `${text}: ${e?.message}`);
    t.like((e as unknown as { context: object }).context, { variable: 'LIGHTNODE_CLOCK', part });
  }
});

test('step file: an integer of ms, may be negative; blank is 0; anything else CONFIG_INVALID naming the file', (t) => {
  t.is(parseClockStep('-300000\n', 'f'), -300_000);
  t.is(parseClockStep(' 42 ', 'f'), 42);
  t.is(parseClockStep('', 'f'), 0);
  t.is(parseClockStep('\n', 'f'), 0);
  for (const text of ['-300 s', '1.5', 'abc', '9'.repeat(20)])
    t.throws(() => parseClockStep(text, '/tmp/step'), {
      message: /^CONFIG_INVALID: LIGHTNODE_CLOCK stepFile \/tmp\/step: /,
    });
});

test('steppedClock: scaled from the base with the offset; the step moves now() only', async (t) => {
  const base = new FakeClock(1_000_000);
  const c = steppedClock({ offsetMs: -500, speed: 10 }, base);
  t.is(c.now(), 999_500);
  await base.advance(100);
  t.is(c.now(), 999_500 + 1000);
  t.is(c.monotonic(), 1000);
  c.stepMs = -300_000;
  t.is(c.now(), 999_500 + 1000 - 300_000);
  t.is(c.monotonic(), 1000, 'monotonic time never jumps');
  const fired: number[] = [];
  c.setTimer(1000, () => fired.push(c.now()));
  await base.advance(99);
  t.deepEqual(fired, []);
  await base.advance(1);
  t.deepEqual(fired, [999_500 + 2000 - 300_000], 'timers stay relative and scaled');
});

test('LIGHTNODE_FAILPOINTS: a comma list of known names; unknown → CONFIG_INVALID listing the known ones', (t) => {
  t.deepEqual(parseFailpoints(undefined), []);
  t.deepEqual(parseFailpoints(' '), []);
  t.deepEqual(parseFailpoints('outbox.ackBeforeCommit'), ['outbox.ackBeforeCommit']);
  t.deepEqual(parseFailpoints(' outbox.ackBeforeCommit ,, outbox.ackBeforeCommit'), ['outbox.ackBeforeCommit']);
  const e = t.throws(() => parseFailpoints('outbox.ackBeforeCommit,outbox.fsyncLies'));
  t.regex(e.message, /^CONFIG_INVALID: LIGHTNODE_FAILPOINTS: unknown failpoint "outbox\.fsyncLies": known ones are /);
  for (const k of FAILPOINTS) t.true(e.message.includes(k));
});
