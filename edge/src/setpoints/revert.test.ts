// A silent revert (the battery still says remote and the command, its power back at autonomous) seen first by either
// signal — the battery's own reading, or a PoD reading while the battery's telemetry still says it follows — gives one device-signed
// `reverted` ack naming that signal, then the planned command again (never the overshoot a PoD reading paired with
// the battery's pre-revert state would ask for); a load step seen the same way is no revert.
import test, { type ExecutionContext } from 'ava';
import { SetpointRig, TEST_WINDOW } from '../testing/index.js';
import { podDeviates } from './revert.js';

async function rig(t: { teardown(fn: () => Promise<void>): void }) {
  const r = await new SetpointRig({ startMs: TEST_WINDOW.fromMs, loadW: 2000 }).start();
  t.teardown(() => r.stop());
  return r;
}

/** A PoD reading of `podW` measured at `tsMs` (default now) reaching the controller now. */
function podReading(r: SetpointRig, podW = r.podW, tsMs = r.clock.now()): void {
  r.controller.onReadings([
    {
      sourceId: 'pod',
      role: 'pod',
      tsMs,
      source: 'modbus-tcp',
      values: { activePowerW: { value: podW, quality: 'good' } },
    },
  ]);
}

/** Applied at 0 s (2000 W for the 2000 W load, target 0), the battery reverting 5 s after each command. */
async function driven(t: ExecutionContext): Promise<SetpointRig> {
  const r = await rig(t);
  r.ess.silentRevertMs = 5000;
  await r.send({ nonce: 1, activePowerW: 0 });
  await r.tick(4);
  t.deepEqual(r.ackStates(), ['received', 'applied']);
  return r;
}

const commandsW = (r: SetpointRig): number[] => r.ess.commands.map((c) => c.w);

test('the PoD sees it first (telemetry still says the battery follows): one reverted POD_DEVIATION, the plan again', async (t) => {
  const r = await driven(t);
  await r.clock.advance(600);
  r.controller.observe(await r.ess.read()); // the telemetry's read at 4.6 s: following
  await r.clock.advance(600); // reverted at 5 s
  t.is(r.ess.essPowerW, 0);
  podReading(r); // measured at 5.2 s: the PoD at 2000 W, the telemetry 0.6 s old
  await r.clock.advance(0);
  t.deepEqual(r.ackStates(), ['received', 'applied', 'reverted:POD_DEVIATION', 'applied']);
  t.deepEqual(commandsW(r), [2000, 2000], 'the planned command again, not 3000 W (clipped ESS_MAX_DISCHARGE)');
  t.is(r.ess.commands[1]!.atMs - TEST_WINDOW.fromMs, 5200, 'at the cycle that saw it');
  const reverted = r.audit.of('reverted');
  t.is(reverted.length, 1);
  t.like(reverted[0], { reason: 'POD_DEVIATION', commandW: 2000, essPowerW: 0, podW: 2000 });
  await r.tick(4);
  t.is(r.ackStates().filter((s) => s.startsWith('reverted')).length, 1, 'one ack for one revert');
  t.true(Math.max(...commandsW(r)) <= 2000, `commands ${commandsW(r).join(', ')}`);
  t.is(r.podW, 0);
});

test('the PoD first, its reading stamped before the telemetry state (stamps are poll starts): still POD_DEVIATION', async (t) => {
  const r = await driven(t);
  await r.clock.advance(1200); // reverted at 5 s
  // the telemetry's read, stamped 5.2 s, measured the battery before the revert; the PoD read, stamped 5.1 s, after
  r.controller.observe({ atMs: r.clock.now(), essPowerW: 2000, socPermille: 500, mode: 'remote' });
  podReading(r, r.podW, r.clock.now() - 100);
  await r.clock.advance(0);
  t.deepEqual(r.ackStates(), ['received', 'applied', 'reverted:POD_DEVIATION', 'applied']);
  t.deepEqual(commandsW(r), [2000, 2000]);
});

test('the readback sees it first (the PoD reading from before the revert): one reverted READBACK_MISMATCH, the plan again', async (t) => {
  const r = await driven(t);
  await r.clock.advance(1200); // reverted at 5 s
  podReading(r, 0, r.clock.now() - 400); // measured at 4.8 s, before the revert: the PoD still at the target
  await r.clock.advance(0);
  t.deepEqual(r.ackStates(), ['received', 'applied', 'reverted:READBACK_MISMATCH', 'applied']);
  t.deepEqual(commandsW(r), [2000, 2000], 'the planned command again, not 0 W from the stale PoD reading');
  const reverted = r.audit.of('reverted');
  t.is(reverted.length, 1);
  t.like(reverted[0], { reason: 'READBACK_MISMATCH', commandW: 2000, essPowerW: 0 });
  await r.tick(4);
  t.is(r.ackStates().filter((s) => s.startsWith('reverted')).length, 1);
  t.true(Math.max(...commandsW(r)) <= 2000, `commands ${commandsW(r).join(', ')}`);
  t.is(r.podW, 0);
});

test('a load step the PoD sees before the telemetry: no revert, the battery read again, the command follows the load', async (t) => {
  const r = await driven(t);
  await r.clock.advance(600);
  r.controller.observe(await r.ess.read());
  const reads = r.ess.reads;
  await r.clock.advance(300);
  r.loadW = 2500;
  podReading(r); // the PoD at 500 W, the battery (read again) still at its 2000 W
  await r.clock.advance(0);
  t.is(r.ess.reads - reads, 2, 'the battery read again, then the readback of the new command');
  t.deepEqual(r.ackStates(), ['received', 'applied']);
  t.deepEqual(commandsW(r), [2000, 2500]);
  t.is(r.podW, 0);
});

test('podDeviates: a PoD reading off site − command beyond the tolerance, once the command was confirmed', (t) => {
  const d = { id: 'x', confirmed: true, failedReadbacks: 0, lastCommandW: 2000 };
  const s = { atMs: 1000, essPowerW: 2000, socPermille: 500, mode: 'remote' as const };
  const pod = (podW: number) => ({ podW, siteW: 2000 });
  t.true(podDeviates(d, s, pod(2000), 100));
  t.false(podDeviates(d, s, pod(100), 100), 'within the tolerance');
  t.false(podDeviates({ ...d, confirmed: false }, s, pod(2000), 100), 'not confirmed yet');
  t.false(podDeviates(d, { ...s, essPowerW: 0 }, pod(2000), 100), 'the state itself shows it: not the PoD');
  t.false(podDeviates(d, s, { podW: 2000, siteW: undefined }, 100), 'no site figure yet');
});
