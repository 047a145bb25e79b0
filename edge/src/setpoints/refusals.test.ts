// Each refusal of the controller's checks gets its own ack code, in the order; a refusal never touches the
// setpoint in force; garbage floods are acked at most 10/s; the nonce file refuses a replay after a restart.
import test from 'ava';
import { privateKeySigner, signSetpoint, type SignedSetpoint } from '@lightnode/protocols';
import { TEST_DEVICE_KEY, testDomain, testSetpoint } from '@lightnode/protocols/testing';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SetpointRig, TEST_SETPOINT_OPTIONS, TEST_WINDOW } from '../testing/index.js';
import { verifyAuditFile } from './audit.js';
import { ZERO_ID } from './checks.js';

async function rig(
  t: { teardown(fn: () => Promise<void>): void },
  o: ConstructorParameters<typeof SetpointRig>[0] = {},
) {
  const r = await new SetpointRig(o).start();
  t.teardown(() => r.stop());
  return r;
}

const tamper = (s: SignedSetpoint, m: Record<string, unknown>): SignedSetpoint => ({
  ...s,
  message: { ...s.message, ...m },
});

const only = (r: SetpointRig) => {
  const acks = r.acks();
  return { n: acks.length, state: acks[0]?.state, reason: acks[0]?.reason, setpointId: acks[0]?.setpointId };
};

test('not JSON → rejected DECODE_ERROR with a zero id', async (t) => {
  const r = await rig(t);
  await r.link.deliver('setpoint', 'not json {');
  t.deepEqual(only(r), { n: 1, state: 'rejected', reason: 'DECODE_ERROR', setpointId: ZERO_ID });
});

test('JSON that is not an envelope → rejected DECODE_ERROR', async (t) => {
  const r = await rig(t);
  await r.link.deliver('setpoint', JSON.stringify({ kind: 'setpoint', message: 'x' }));
  t.like(only(r), { n: 1, state: 'rejected', reason: 'DECODE_ERROR' });
});

test('a field missing → SCHEMA_INVALID, the id echoed', async (t) => {
  const r = await rig(t);
  const s = testSetpoint(1);
  const { nonce: _n, ...rest } = s.message;
  await r.link.deliver('setpoint', { ...s, message: rest as SignedSetpoint['message'] });
  t.deepEqual(only(r), { n: 1, state: 'rejected', reason: 'SCHEMA_INVALID', setpointId: s.message.id });
});

test('an unknown field → SCHEMA_INVALID', async (t) => {
  const r = await rig(t);
  await r.link.deliver('setpoint', tamper(testSetpoint(1), { extra: 1 }));
  t.like(only(r), { n: 1, state: 'rejected', reason: 'SCHEMA_INVALID' });
  t.true(r.audit.of('check').some((e) => /setpoint\.extra/.test(String(e.message))));
});

test('a mistyped field (numeric string, float, non-bytes32 id) → SCHEMA_INVALID, id 32 zero bytes when not bytes32', async (t) => {
  const r = await rig(t);
  await r.link.deliver('setpoint', tamper(testSetpoint(1), { activePowerW: '-1000' }));
  await r.link.deliver('setpoint', tamper(testSetpoint(2), { activePowerW: -1000.5 }));
  await r.link.deliver('setpoint', tamper(testSetpoint(3), { id: '0x1234' }));
  t.deepEqual(r.ackStates(), ['rejected:SCHEMA_INVALID', 'rejected:SCHEMA_INVALID', 'rejected:SCHEMA_INVALID']);
  t.is(r.acks()[2]!.setpointId, ZERO_ID);
});

test('an inverted window → SETPOINT_INVALID', async (t) => {
  const r = await rig(t);
  await r.link.deliver('setpoint', tamper(testSetpoint(1), { validUntilMs: TEST_WINDOW.fromMs - 1 }));
  t.like(only(r), { n: 1, state: 'rejected', reason: 'SETPOINT_INVALID' });
});

test('a signature not recovering to the issuer → SIGNER_MISMATCH (tampered field, garbage signature)', async (t) => {
  const r = await rig(t);
  await r.link.deliver('setpoint', tamper(testSetpoint(1), { activePowerW: 5000 }));
  await r.link.deliver('setpoint', { ...testSetpoint(2), signature: '0x1234' });
  t.deepEqual(r.ackStates(), ['rejected:SIGNER_MISMATCH', 'rejected:SIGNER_MISMATCH']);
});

test('an issuer not in setpoints.issuers → SETPOINT_ISSUER_UNKNOWN', async (t) => {
  const r = await rig(t);
  const other = privateKeySigner(TEST_DEVICE_KEY);
  const m = { ...testSetpoint(1).message, issuer: other.address };
  await r.link.deliver('setpoint', signSetpoint(m, other, testDomain()));
  t.like(only(r), { n: 1, state: 'rejected', reason: 'SETPOINT_ISSUER_UNKNOWN' });
});

test('another PoD → SETPOINT_POD_MISMATCH', async (t) => {
  const r = await rig(t);
  await r.send({ nonce: 1, podId: 'IT002E00000001' });
  t.like(only(r), { n: 1, state: 'rejected', reason: 'SETPOINT_POD_MISMATCH' });
});

test('a nonce ≤ the last accepted → SETPOINT_REPLAY; only accepted setpoints advance the nonce', async (t) => {
  const r = await rig(t);
  await r.send({ nonce: 5, podId: 'IT002E00000001' }); // refused: does not advance
  await r.send({ nonce: 5 });
  await r.send({ nonce: 5 });
  await r.send({ nonce: 4 });
  t.deepEqual(r.ackStates(), [
    'rejected:SETPOINT_POD_MISMATCH',
    'scheduled',
    'rejected:SETPOINT_REPLAY',
    'rejected:SETPOINT_REPLAY',
  ]);
});

test('validUntilMs ≤ now → SETPOINT_EXPIRED', async (t) => {
  const r = await rig(t, { startMs: TEST_WINDOW.untilMs });
  await r.send({ nonce: 1 });
  t.like(only(r), { n: 1, state: 'rejected', reason: 'SETPOINT_EXPIRED' });
});

test('validFromMs > now + maxLeadMs → SETPOINT_NOT_YET_VALID', async (t) => {
  const r = await rig(t, { startMs: TEST_WINDOW.fromMs - 172_800_001 });
  await r.send({ nonce: 1 });
  t.like(only(r), { n: 1, state: 'rejected', reason: 'SETPOINT_NOT_YET_VALID' });
});

test('every check is audited before the ack', async (t) => {
  const r = await rig(t);
  await r.send({ nonce: 1 });
  const ev = r.audit.entries.map((e) => (e.event === 'setpoint.check' ? `check:${String(e.check)}` : e.event.slice(9)));
  t.deepEqual(ev, [
    'message',
    'check:schema',
    'check:window',
    'check:signature',
    'check:issuer',
    'check:pod',
    'check:nonce',
    'check:expiry',
    'check:lead',
    'ack',
  ]);
});

test('a refusal never touches the setpoint in force', async (t) => {
  const r = await rig(t, { startMs: TEST_WINDOW.fromMs });
  const sp = await r.send({ nonce: 3 });
  await r.tick(3);
  const before = r.controller.status().inForce;
  const commands = r.ess.commands.length;
  await r.send({ nonce: 3, activePowerW: 2000 }); // replay
  await r.link.deliver('setpoint', 'garbage');
  await r.tick(3);
  t.is(before?.setpointId, sp.id);
  t.deepEqual(r.controller.status().inForce, before);
  t.is(r.ess.commands.length, commands, 'no new command: the same target, no refresh due');
  t.is(r.ess.releases, 0);
});

test('a garbage flood: at most 10 refusals acked per second, the rest counted in status', async (t) => {
  const r = await rig(t);
  for (let i = 0; i < 100; i++) await r.link.deliver('setpoint', `garbage ${i}`);
  t.is(r.acks().length, 10);
  await r.clock.advance(1000);
  for (let i = 0; i < 30; i++) await r.link.deliver('setpoint', `garbage ${i}`);
  t.is(r.acks().length, 20);
  const s = r.controller.status().refusals;
  t.deepEqual(s, { acked: 20, suppressed: 110, byCode: { DECODE_ERROR: 130 } });
  t.true(r.audit.of('refusals_suppressed').some((e) => e.count === 90));
  t.is(r.audit.of('message').length, 20, 'suppressed garbage is counted, not written to the audit log');
  // a valid setpoint in the middle of a flood is still accepted and acked
  await r.send({ nonce: 1 });
  t.is(r.acks().at(-1)?.state, 'scheduled');
});

test('restart: the nonce file refuses a replay of the accepted setpoint', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ln-setpoints-restart-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const a = await new SetpointRig({ stateDir: dir }).start();
  await a.send({ nonce: 7 });
  t.deepEqual(a.ackStates(), ['scheduled']);
  await a.stop();
  t.deepEqual(JSON.parse(readFileSync(join(dir, 'setpoint-nonces.json'), 'utf8')), {
    [TEST_SETPOINT_OPTIONS.issuers[0]!]: 7,
  });
  const b = await new SetpointRig({ stateDir: dir }).start();
  t.teardown(() => b.stop());
  await b.send({ nonce: 7 });
  await b.send({ nonce: 8 });
  t.deepEqual(b.ackStates(), ['rejected:SETPOINT_REPLAY', 'scheduled']);
  t.is(verifyAuditFile(join(dir, 'audit.jsonl')).entries, b.audit.entries.length, 'one chain over both runs');
});
