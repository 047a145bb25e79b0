import test from 'ava';
import fc from 'fast-check';
import { Backoff, backoff, type BackoffPolicy } from './backoff.js';

const policy = fc.record<BackoffPolicy>({
  baseMs: fc.integer({ min: 1, max: 60_000 }),
  maxMs: fc.integer({ min: 1, max: 3_600_000 }),
  jitter: fc.constantFrom('full' as const, 'equal' as const),
});
const attempt = fc.oneof(fc.integer({ min: 0, max: 2_000 }), fc.constantFrom(1e9, Number.MAX_SAFE_INTEGER));
const unit = fc.double({ min: 0, max: 1, noNaN: true });

test('within [0, min(max, base·2^attempt)] and finite for any attempt', (t) => {
  fc.assert(
    fc.property(policy, attempt, unit, (p, n, r) => {
      const d = backoff(p, n, () => r);
      const max = Math.max(p.baseMs, p.maxMs);
      const step = n >= 1024 ? max : Math.min(max, p.baseMs * 2 ** n);
      return Number.isFinite(d) && Number.isInteger(d) && d >= 0 && d <= step;
    }),
  );
  t.pass();
});

test('equal jitter waits at least half the step', (t) => {
  fc.assert(
    fc.property(policy, attempt, unit, (p, n, r) => {
      const max = Math.max(p.baseMs, p.maxMs);
      const step = n >= 1024 ? max : Math.min(max, p.baseMs * 2 ** n);
      return backoff({ ...p, jitter: 'equal' }, n, () => r) >= Math.floor(step / 2);
    }),
  );
  t.pass();
});

test('reset brings the attempt back to 0; next() grows the step up to the cap', (t) => {
  fc.assert(
    fc.property(policy, fc.integer({ min: 1, max: 50 }), (p, k) => {
      const b = new Backoff(p, () => 0.999999);
      for (let i = 0; i < k; i++) b.next();
      if (b.attempt !== k) return false;
      b.reset();
      return b.attempt === 0 && b.next() === backoff(p, 0, () => 0.999999);
    }),
  );
  const b = new Backoff({ baseMs: 100, maxMs: 1000, jitter: 'full' }, () => 0.999999);
  t.deepEqual(
    Array.from({ length: 6 }, () => b.next()),
    [99, 199, 399, 799, 999, 999],
  );
});

test('a NaN or negative attempt counts as attempt 0', (t) => {
  const p: BackoffPolicy = { baseMs: 100, maxMs: 1000, jitter: 'full' };
  t.is(
    backoff(p, Number.NaN, () => 0.5),
    50,
  );
  t.is(
    backoff(p, -3, () => 0.5),
    50,
  );
});
