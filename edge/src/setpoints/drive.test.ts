// The controller driving the FakeEssAdapter through a simulated house: the command formula, clipping by power and
// by SoC, silent revert re-asserted, fake mode and timeouts → not_applied then autonomous, link loss, expiry, the
// QoS report, supersession, stop.
import test from 'ava';
import { SetpointRig, TEST_WINDOW, type SetpointRigOptions } from '../testing/index.js';

async function rig(t: { teardown(fn: () => Promise<void>): void }, o: SetpointRigOptions = {}) {
  const r = await new SetpointRig({ startMs: TEST_WINDOW.fromMs, ...o }).start();
  t.teardown(() => r.stop());
  return r;
}

test('in force: command = (PoD + battery) − target, applied at the target level', async (t) => {
  const r = await rig(t, { loadW: 2000 });
  const sp = await r.send({ nonce: 1, activePowerW: 500 });
  await r.tick(3);
  t.is(r.ess.commands[0]!.w, 1500);
  t.is(r.ess.commands[0]!.revertS, 60, 'always with the device revert timer');
  t.is(r.podW, 500);
  const acks = r.acks();
  t.deepEqual(r.ackStates(), ['received', 'applied']);
  t.is(acks[1]!.appliedPowerW, 500);
  t.is(acks[1]!.setpointId, sp.id);
  t.like(r.controller.status().inForce, { setpointId: sp.id, commandW: 1500 });
});

test('scheduled ahead, then driven from validFromMs', async (t) => {
  const r = await rig(t, { startMs: TEST_WINDOW.fromMs - 10_000 });
  await r.send({ nonce: 1, activePowerW: 0 });
  await r.tick(5);
  t.is(r.ess.commands.length, 0);
  await r.tick(7);
  t.deepEqual(r.ackStates(), ['scheduled', 'applied']);
  t.true(r.ess.commands[0]!.atMs >= TEST_WINDOW.fromMs);
});

test('rewritten at least every refreshMs; follows the load each cycle', async (t) => {
  const r = await rig(t, { loadW: 2000 });
  await r.send({ nonce: 1, activePowerW: 0 });
  await r.tick(45);
  const at = r.ess.commands.map((c) => c.atMs - TEST_WINDOW.fromMs);
  t.deepEqual(at, [0, 20_000, 40_000]);
  r.loadW = 2500;
  await r.tick(2);
  t.is(r.ess.commands.at(-1)!.w, 2500);
  t.is(r.podW, 0);
});

test('beyond max discharge → clipped ESS_MAX_DISCHARGE, appliedPowerW the PoD level reached', async (t) => {
  const r = await rig(t, { loadW: 5000 });
  await r.send({ nonce: 1, activePowerW: 0 });
  await r.tick(3);
  t.is(r.ess.commands[0]!.w, 3000);
  t.deepEqual(r.ackStates(), ['received', 'clipped:ESS_MAX_DISCHARGE']);
  t.is(r.acks()[1]!.appliedPowerW, 2000);
});

test('beyond max charge → clipped ESS_MAX_CHARGE', async (t) => {
  const r = await rig(t, { loadW: 0, pvW: 1000 });
  await r.send({ nonce: 1, activePowerW: 4000 });
  await r.tick(3);
  t.is(r.ess.commands[0]!.w, -3000);
  t.deepEqual(r.ackStates(), ['received', 'clipped:ESS_MAX_CHARGE']);
  t.is(r.acks()[1]!.appliedPowerW, 2000);
});

test('near the SoC floor → clipped ESS_SOC_MIN: the battery would run empty before validUntilMs', async (t) => {
  // 1 % of 4800 Wh above the floor = 48 Wh over 15 min → at most 192 W
  const r = await rig(t, { loadW: 2000, socPermille: 110 });
  await r.send({ nonce: 1, activePowerW: 1000 });
  await r.tick(3);
  t.is(r.ess.commands[0]!.w, 192);
  t.deepEqual(r.ackStates(), ['received', 'clipped:ESS_SOC_MIN']);
  t.is(r.acks()[1]!.appliedPowerW, 1808);
});

test('near the SoC ceiling → clipped ESS_SOC_MAX', async (t) => {
  const r = await rig(t, { loadW: 500, socPermille: 945 });
  await r.send({ nonce: 1, activePowerW: 2500 });
  await r.tick(2);
  t.is(r.ess.commands[0]!.w, -96);
  t.deepEqual(r.ackStates(), ['received', 'clipped:ESS_SOC_MAX']);
});

test('a target unreachable at rampWps before the window ends → clipped ESS_RAMP, ramping meanwhile', async (t) => {
  const r = await rig(t, { loadW: 2000, limits: { rampWps: 1 } });
  await r.send({ nonce: 1, activePowerW: 0 });
  await r.tick(3);
  t.deepEqual(r.ackStates(), ['received', 'clipped:ESS_RAMP']);
  const ws = r.ess.commands.map((c) => c.w);
  t.deepEqual(ws.slice(0, 3), [1, 2, 3]);
});

test('silent revert: the device drops the command, the controller re-asserts within one refresh (reverted, then applied)', async (t) => {
  const r = await rig(t, { loadW: 2000 });
  r.ess.silentRevertMs = 5000;
  await r.send({ nonce: 1, activePowerW: 0 });
  await r.tick(3);
  t.deepEqual(r.ackStates(), ['received', 'applied']);
  await r.tick(4); // reverted at 5 s (still reporting remote)
  t.deepEqual(r.ackStates(), ['received', 'applied', 'reverted:READBACK_MISMATCH', 'applied']);
  const reassert = r.ess.commands[1]!.atMs - r.ess.commands[0]!.atMs;
  t.true(reassert <= 5000 + 20_000, `re-asserted ${reassert} ms after the first write`);
  t.is(reassert, 5000, 'at the cycle that saw the revert');
  t.true(r.audit.events().includes('reverted'));
});

test('fake mode: the device says remote but power never follows → not_applied READBACK_MISMATCH, then autonomous', async (t) => {
  const r = await rig(t, { loadW: 2000 });
  r.ess.fakeMode = true;
  await r.send({ nonce: 1, activePowerW: 0 });
  await r.tick(15);
  t.deepEqual(r.ackStates(), ['received', 'not_applied:READBACK_MISMATCH', 'autonomous:READBACK_FAILED']);
  t.is(r.ess.releases, 1);
  t.is(r.acks()[1]!.appliedPowerW, 2000);
  const n = r.ess.commands.length;
  await r.tick(30);
  t.is(r.ess.commands.length, n, 'not driven again after the fallback');
});

test('a refusing device → not_applied with its code (MODBUS_EXCEPTION)', async (t) => {
  const r = await rig(t);
  r.ess.refuse = true;
  await r.send({ nonce: 1, activePowerW: 0 });
  await r.tick(1);
  t.deepEqual(r.ackStates(), ['received', 'not_applied:MODBUS_EXCEPTION']);
});

test('an adapter that times out (error or no answer) → typed acks ADAPTER_TIMEOUT, autonomous, no crash', async (t) => {
  for (const mode of ['error', 'hang'] as const) {
    const r = await rig(t);
    r.ess.timeout = mode;
    await r.send({ nonce: 1, activePowerW: 0 });
    await r.tick(15);
    t.deepEqual(r.ackStates(), ['received', 'not_applied:ADAPTER_TIMEOUT', 'autonomous:READBACK_FAILED'], mode);
    t.like(r.controller.status().lastAdapterError, { code: 'ADAPTER_TIMEOUT' });
  }
});

test('link down > linkLossMs → autonomous LINK_LOST within linkLossMs + one cycle, released', async (t) => {
  const r = await rig(t);
  await r.send({ nonce: 1, activePowerW: 0 });
  await r.tick(2);
  const downAt = r.clock.now();
  r.link.disconnect();
  await r.tick(120);
  t.is(r.ess.releases, 0);
  t.false(r.controller.status().link.lost);
  await r.tick(2);
  t.is(r.ess.releases, 1);
  t.deepEqual(r.ackStates(), ['received', 'applied', 'autonomous:LINK_LOST']);
  const fb = r.audit.of('fallback')[0]!;
  t.like(fb, { reason: 'LINK_LOST' });
  t.true(r.controller.status().link.lost);
  t.true(r.clock.now() - downAt <= 120_000 + 2000);
});

test('the window end: expired, released, QoS report with requested, baseline and delivered energies', async (t) => {
  const r = await rig(t, { loadW: 2000 });
  await r.send({ nonce: 1, activePowerW: -1000, baselineW: 1800 });
  await r.tick(900);
  await r.tick(1);
  t.deepEqual(r.ackStates(), ['received', 'applied', 'expired']);
  t.is(r.ess.releases, 1);
  const [q] = r.reports();
  t.truthy(q);
  t.like(q, { requestedPowerW: -1000, requestedEnergyWh: -250, baselineEnergyWh: 450, slotIndex: 50 });
  // the PoD held −1000 W for the window (the first cycle at 2000 W before the write lands)
  t.true(Math.abs(q!.deliveredEnergyWh - -250) <= 2, `delivered ${q!.deliveredEnergyWh}`);
  const ev = r.audit.events();
  t.true(ev.indexOf('expired') < ev.lastIndexOf('qos'));
  // every ack and report queued is in the audit log under its message seq
  t.deepEqual(
    r.audit.of('ack').map((e) => [e.seq, e.state]),
    r.acks().map((a) => [a.seq, a.state]),
  );
  t.deepEqual(r.audit.of('qos')[0]?.seq, q!.seq);
  t.like(r.audit.of('qos')[0], { deliveredFrom: 'counters', deliveredEnergyWh: q!.deliveredEnergyWh });
});

test('a newer setpoint for an overlapping window supersedes the one in force', async (t) => {
  const r = await rig(t, { loadW: 2000 });
  const a = await r.send({ nonce: 1, activePowerW: 0 });
  await r.tick(2);
  const b = await r.send({ nonce: 2, activePowerW: 1000, id: '0x' + 'bb'.repeat(32) });
  await r.tick(2);
  t.is(r.ess.commands.at(-1)!.w, 1000);
  t.is(r.controller.status().inForce?.setpointId, b.id);
  t.not(a.id, b.id);
  t.true(r.audit.of('superseded').some((e) => e.setpointId === a.id));
});

test('agent stop while driving → released, autonomous AGENT_STOP', async (t) => {
  const r = new SetpointRig({ startMs: TEST_WINDOW.fromMs });
  await r.start();
  await r.send({ nonce: 1, activePowerW: 0 });
  await r.tick(2);
  await r.stop();
  t.is(r.ess.releases, 1);
  t.true(r.ess.closed);
  t.deepEqual(r.ackStates(), ['received', 'applied', 'autonomous:AGENT_STOP']);
});

test('superseded by a later-starting overlapping setpoint: released until the newer one starts', async (t) => {
  const r = await rig(t, { loadW: 2000 });
  await r.send({ nonce: 1, activePowerW: 0 });
  await r.tick(2);
  const b = await r.send({ nonce: 2, activePowerW: 1000, validFromMs: TEST_WINDOW.fromMs + 60_000 });
  await r.tick(1);
  t.is(r.ess.releases, 1);
  t.is(r.controller.status().inForce, undefined);
  const n = r.ess.commands.length;
  await r.tick(60);
  t.is(r.controller.status().inForce?.setpointId, b.id);
  t.is(r.ess.commands.length, n + 1);
  t.is(r.ess.commands.at(-1)!.w, 1000);
});

test('back-to-back slots: the first expires with its QoS report, the next one drives from its start', async (t) => {
  const r = await rig(t, { loadW: 2000 });
  const next = { validFromMs: TEST_WINDOW.untilMs, validUntilMs: TEST_WINDOW.untilMs + 900_000 };
  const a = await r.send({ nonce: 1, activePowerW: 0 });
  const b = await r.send({ nonce: 2, activePowerW: 1500, slotIndex: 51, id: '0x' + 'b2'.repeat(32), ...next });
  await r.tick(901);
  t.deepEqual(r.ackStates(), ['received', 'scheduled', 'applied', 'expired', 'applied']);
  t.deepEqual(
    r.acks().map((x) => x.setpointId),
    [a.id, b.id, a.id, a.id, b.id],
  );
  t.is(r.reports().length, 1);
  t.is(r.reports()[0]!.setpointId, a.id);
  t.is(r.ess.commands.at(-1)!.w, 500);
});

test('link already lost when a scheduled window starts → autonomous LINK_LOST, never commanded', async (t) => {
  const r = await rig(t, { startMs: TEST_WINDOW.fromMs - 200_000 });
  await r.send({ nonce: 1, activePowerW: 0 });
  r.link.disconnect();
  await r.tick(205);
  t.deepEqual(r.ackStates(), ['scheduled', 'autonomous:LINK_LOST']);
  t.is(r.ess.commands.length, 0);
});
