// The pure transitions: schedule (accept, supersede, in force, edges) and readback outcomes (acks on change,
// after a revert always, two failures → fallback), revert detection.
import test from 'ava';
import { testSetpoint } from '@lightnode/protocols/testing';
import { accept, afterReadback, ended, inForce, isReverted, nextEdge, type Drive } from './state.js';

const sp = (nonce: number, fromMs: number, untilMs: number) =>
  testSetpoint(nonce, { validFromMs: fromMs, validUntilMs: untilMs }).message;

test('accept: overlapping windows superseded, disjoint ones kept in start order', (t) => {
  let { entries } = accept([], sp(1, 100, 200));
  ({ entries } = accept(entries, sp(2, 300, 400)));
  t.deepEqual(
    entries.map((e) => e.sp.nonce),
    [1, 2],
  );
  const r = accept(entries, sp(3, 150, 310));
  t.deepEqual(
    r.superseded.map((e) => e.sp.nonce),
    [1, 2],
  );
  t.deepEqual(
    r.entries.map((e) => e.sp.nonce),
    [3],
  );
  // touching windows do not overlap: [100, 200) and [200, 300)
  t.is(accept(accept([], sp(1, 100, 200)).entries, sp(2, 200, 300)).superseded.length, 0);
});

test('in force in [validFromMs, validUntilMs); ended; next edge', (t) => {
  const { entries } = accept(accept([], sp(1, 100, 200)).entries, sp(2, 300, 400));
  t.is(inForce(entries, 99), undefined);
  t.is(inForce(entries, 100)?.sp.nonce, 1);
  t.is(inForce(entries, 200), undefined);
  t.deepEqual(
    ended(entries, 200).done.map((e) => e.sp.nonce),
    [1],
  );
  t.is(nextEdge(entries, 0), 100);
  t.is(nextEdge(entries, 100), 200);
  t.is(nextEdge(entries, 250), 300);
  t.is(nextEdge(entries, 400), undefined);
});

const d0: Drive = { id: '0x01', confirmed: false, failedReadbacks: 0, lastCommandW: 1000 };

test('readback: applied once, not again unchanged; clipped on a new reason; after a revert always', (t) => {
  const a = afterReadback(d0, { ok: true, essPowerW: 1000 }, { ramping: false });
  t.deepEqual(a.ack, { state: 'applied', reason: '' });
  t.true(a.drive.confirmed);
  t.is(afterReadback(a.drive, { ok: true, essPowerW: 1000 }, { ramping: false }).ack, undefined);
  const c = afterReadback(a.drive, { ok: true, essPowerW: 1000 }, { ramping: false, reason: 'ESS_SOC_MIN' });
  t.deepEqual(c.ack, { state: 'clipped', reason: 'ESS_SOC_MIN' });
  const re = afterReadback(
    { ...c.drive, reassert: true },
    { ok: true, essPowerW: 1000 },
    { ramping: false, reason: 'ESS_SOC_MIN' },
  );
  t.deepEqual(re.ack, { state: 'clipped', reason: 'ESS_SOC_MIN' });
  t.false(re.drive.reassert);
  // ramping toward a reachable target: no ack yet
  t.is(afterReadback(d0, { ok: true, essPowerW: 500 }, { ramping: true }).ack, undefined);
});

test('readback failures: not_applied with the code, the second in a row → READBACK_FAILED; a success resets', (t) => {
  const f1 = afterReadback(d0, { ok: false, code: 'READBACK_MISMATCH', message: 'x' }, { ramping: false });
  t.deepEqual(f1.ack, { state: 'not_applied', reason: 'READBACK_MISMATCH' });
  t.true(f1.drive.retry);
  const f2 = afterReadback(f1.drive, { ok: false, code: 'ADAPTER_TIMEOUT', message: 'x' }, { ramping: false });
  t.is(f2.fallback, 'READBACK_FAILED');
  const ok = afterReadback(f1.drive, { ok: true, essPowerW: 1000 }, { ramping: false });
  t.is(ok.drive.failedReadbacks, 0);
  t.false(ok.drive.retry);
});

test('reverted: a confirmed command the asset no longer follows, or autonomous mode', (t) => {
  const d = { ...d0, confirmed: true };
  t.false(isReverted(d, { essPowerW: 1050, mode: 'remote' }, 100));
  t.true(isReverted(d, { essPowerW: 0, mode: 'remote' }, 100));
  t.true(isReverted(d, { essPowerW: 1000, mode: 'autonomous' }, 100));
  t.false(isReverted(d0, { essPowerW: 0, mode: 'remote' }, 100), 'never confirmed: not a revert');
});
