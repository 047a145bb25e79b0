// The simulated battery on a FakeClock: SoC integration with round-trip losses, limits, stops, revert timer, faults.
import test from 'ava';
import { isLightNodeError } from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { Battery, type BatteryOptions, type EssEvent } from './battery.js';
import { parseEssFaults } from './faults.js';

const HOUR = 3_600_000;

function battery(o: Partial<BatteryOptions> = {}): { clock: FakeClock; b: Battery; events: EssEvent[] } {
  const clock = new FakeClock(Date.UTC(2026, 0, 10, 2));
  const b = new Battery({ clock, autonomous: 'idle', ...o });
  const events: EssEvent[] = [];
  b.onEvent((e) => events.push(e));
  return { clock, b, events };
}

test('the pilot defaults: 3 kVA both ways, 4.8 kWh, SoC 500 ‰, idle when autonomous', (t) => {
  const { b } = battery();
  t.is(b.ratedVA, 3000);
  t.is(b.maxDischargeW, 3000);
  t.is(b.maxChargeW, 3000);
  t.is(b.capacityWh, 4800);
  t.deepEqual(b.state(), { atMs: b.state().atMs, essPowerW: 0, socPermille: 500, mode: 'autonomous' });
});

test('discharging draws P/√η from the cells, charging stores P·√η: one round trip loses 1 − η', async (t) => {
  const { clock, b } = battery({ socPermille: 500 });
  b.setCommand(1000, 0);
  await clock.advance(HOUR);
  const eta = Math.sqrt(0.92);
  t.is(b.state().socPermille, Math.round(((2400 - 1000 / eta) / 4800) * 1000)); // 283 ‰
  b.setCommand(-1000, 0);
  await clock.advance(HOUR);
  t.is(b.state().socPermille, Math.round(((2400 - 1000 / eta + 1000 * eta) / 4800) * 1000)); // 483 ‰
  t.deepEqual(
    { d: Math.round(b.totals.dischargedWh), c: Math.round(b.totals.chargedWh) },
    { d: 1000, c: 1000 },
    'AC energy out and in',
  );
});

test('power is bounded by the limits, and stops at SoC 0 and 1000 ‰ exactly when the cells run out', async (t) => {
  const { clock, b } = battery({ socPermille: 100, maxDischargeW: 2500, maxChargeW: 2000 });
  b.setCommand(9000, 0);
  t.is(b.state().essPowerW, 2500);
  // 480 Wh in the cells at √η: empty after 480·√0.92/2500 h
  const emptyMs = Math.ceil(((480 * Math.sqrt(0.92)) / 2500) * HOUR);
  await clock.advance(emptyMs - 1000);
  t.is(b.state().essPowerW, 2500);
  await clock.advance(1000);
  t.deepEqual([b.state().essPowerW, b.state().socPermille], [0, 0]);
  t.is(b.state().mode, 'remote', 'still commanded, nothing to give');
  b.setCommand(-9000, 0);
  t.is(b.state().essPowerW, -2000);
  await clock.advance(4 * HOUR);
  t.deepEqual([b.state().essPowerW, b.state().socPermille], [0, 1000]);
});

test('the revert timer: back to autonomous after S s unless rewritten', async (t) => {
  const { clock, b, events } = battery();
  b.setCommand(1500, 60_000);
  await clock.advance(50_000);
  b.setCommand(1500, 60_000); // rewritten: the timer starts again
  await clock.advance(59_000);
  t.is(b.state().mode, 'remote');
  t.is(b.state().essPowerW, 1500);
  await clock.advance(1000);
  t.deepEqual(b.state(), { atMs: clock.now(), essPowerW: 0, socPermille: b.socPermille(), mode: 'autonomous' });
  t.deepEqual(
    events.map((e) => [e.event, e.essPowerW]),
    [
      ['command', 1500],
      ['command', 1500],
      ['revert', 0],
    ],
  );
  t.is(events[2]!.atMs - events[1]!.atMs, 60_000);
});

test('release goes back to autonomous: self-consumption covers load − PV within the limits', (t) => {
  const { b, events } = battery({ autonomous: 'self-consumption' });
  b.setSiteNet(1200);
  t.is(b.state().essPowerW, 1200);
  b.setSiteNet(-5000); // PV surplus: charge at most 3000
  t.is(b.state().essPowerW, -3000);
  b.setCommand(500, 0);
  t.is(b.state().essPowerW, 500);
  b.release();
  b.release(); // no change, no line
  t.is(b.state().essPowerW, -3000);
  t.deepEqual(
    events.map((e) => e.event),
    ['command', 'release'],
  );
});

test('fault refuse: the write throws DEVICE_UNAVAILABLE, nothing changes, one fault line', (t) => {
  const { b, events } = battery({ faults: parseEssFaults(['refuse']).ess });
  const e = t.throws(() => b.setCommand(1000, 60_000));
  t.true(isLightNodeError(e, 'DEVICE_UNAVAILABLE'));
  t.throws(() => b.release());
  t.is(b.state().mode, 'autonomous');
  t.deepEqual(
    events.map((x) => [x.event, x.fault, x.commandW]),
    [
      ['fault', 'refuse', 1000],
      ['fault', 'refuse', undefined],
    ],
  );
});

test('fault silent-revert:S: after S s power goes back to autonomous while the state still says remote', async (t) => {
  const { clock, b, events } = battery({ faults: parseEssFaults(['silent-revert:30']).ess });
  b.setCommand(2000, 120_000);
  await clock.advance(29_000);
  t.is(b.state().essPowerW, 2000);
  await clock.advance(1000);
  t.like(b.state(), { essPowerW: 0, mode: 'remote', setpointW: 2000 });
  b.setCommand(2000, 120_000); // re-asserted: followed again
  t.like(b.state(), { essPowerW: 2000, mode: 'remote' });
  t.deepEqual(
    events.map((e) => [e.event, e.fault ?? null, e.essPowerW]),
    [
      ['command', null, 2000],
      ['fault', 'silent-revert', 0],
      ['command', null, 2000],
    ],
  );
});

test('fault fake-mode: reports remote and the setpoint, power never follows', async (t) => {
  const { clock, b, events } = battery({ faults: parseEssFaults(['fake-mode']).ess });
  b.setCommand(2000, 60_000);
  await clock.advance(10_000);
  t.like(b.state(), { essPowerW: 0, socPermille: 500, mode: 'remote', setpointW: 2000 });
  t.like(events[0], { event: 'fault', fault: 'fake-mode', commandW: 2000, essPowerW: 0 });
  await clock.advance(50_000);
  t.is(b.state().mode, 'autonomous', 'its revert timer still runs');
});

test('fault specs: battery faults and Modbus transport faults apart; bad ones name the problem', (t) => {
  t.deepEqual(parseEssFaults(['refuse@0.5', 'silent-revert:30', 'fake-mode', 'drop-connection', 'slow:100']), {
    ess: [
      { kind: 'refuse', probability: 0.5 },
      { kind: 'silent-revert', afterS: 30 },
      { kind: 'fake-mode' },
      { kind: 'drop-connection' },
    ],
    modbus: [{ kind: 'slow', delayMs: 100 }],
  });
  for (const [bad, re] of [
    ['silent-revert', /silent-revert:S with S > 0/],
    ['refuse@3', /probability must be 0\.\.1/],
    ['explode', /unknown kind \(battery faults: refuse/],
  ] as const) {
    const e = t.throws(() => parseEssFaults([bad]));
    t.true(isLightNodeError(e, 'USAGE'));
    t.regex(e.message, re);
  }
});

test('bad ratings and commands name the field', (t) => {
  const clock = new FakeClock();
  t.regex(t.throws(() => new Battery({ clock, capacityWh: 0 })).message, /capacityWh: expected a capacity > 0 Wh/);
  t.regex(
    t.throws(() => new Battery({ clock, socPermille: 1200 })).message,
    /socPermille: expected a number 0\.\.1000/,
  );
  const b = new Battery({ clock });
  t.regex(t.throws(() => b.setCommand(Number.NaN, 0)).message, /essPowerW: expected a finite number/);
  t.regex(t.throws(() => b.setCommand(100, -1)).message, /revertMs: expected a duration ≥ 0 ms/);
});

test('a trickle far from the bounds keeps its wake-up timer within an hour (no timer overflow)', async (t) => {
  const { clock, b } = battery();
  b.setCommand(1, 0); // 1 W: 2400 Wh would last ~2300 h
  t.is(clock.pending, 1);
  await clock.advance(HOUR);
  t.is(clock.pending, 1, 'woke up once and re-armed');
  t.is(b.state().essPowerW, 1);
});

test('addFault at run time: a silent revert from the next command on, removed again by its function', async (t) => {
  const { clock, b, events } = battery();
  b.setCommand(1000, 0);
  const remove = b.addFault({ kind: 'silent-revert', afterS: 2 });
  await clock.advance(5000);
  t.is(b.state().essPowerW, 1000, 'the command in force when it was added is not affected');
  b.setCommand(1000, 0);
  await clock.advance(2000);
  t.like(b.state(), { essPowerW: 0, mode: 'remote', setpointW: 1000 });
  t.like(events.at(-1), { event: 'fault', fault: 'silent-revert' });
  remove();
  b.setCommand(1000, 0);
  await clock.advance(5000);
  t.is(b.state().essPowerW, 1000);
});
