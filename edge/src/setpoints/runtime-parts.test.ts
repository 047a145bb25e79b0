// The runtime's small helpers: the battery's power at a PoD reading's time, the refusal limiter, the PoD meter.
import test from 'ava';
import { EssAtPod, PodMeter, RefusalLimiter } from './runtime-parts.js';

test('EssAtPod: now when nothing was done since the reading; before the action when it falls between; else none', (t) => {
  const e = new EssAtPod();
  e.seen(0);
  t.is(e.at(1000, 0), 0);
  e.acted(1500); // a write at 1500: battery goes 0 → 2000
  e.seen(2000);
  t.is(e.at(1000, 2000), 0, 'a reading from before the write goes with the battery before it');
  t.is(e.at(1600, 2000), 2000);
  e.acted(1700); // a second action before a fresh reading
  t.is(e.at(1000, 2000), undefined);
  t.is(e.at(1600, 2000), 2000, 'between the two actions: the power before the last one');
});

test('RefusalLimiter: max per period, the suppressed count reported when the next period opens', (t) => {
  const l = new RefusalLimiter(2, 1000);
  t.deepEqual([l.take(0).ok, l.take(10).ok, l.take(20).ok, l.take(999).ok], [true, true, false, false]);
  t.deepEqual(l.take(1000), { ok: true, suppressedBefore: 2 });
});

test('PodMeter: counters over a window, the power integral when there are none', (t) => {
  const m = new PodMeter();
  const r = (tsMs: number, w: number, imp?: number) => ({
    sourceId: 'pod',
    role: 'pod' as const,
    tsMs,
    source: 'sim' as const,
    values: {
      activePowerW: { value: w, quality: 'good' as const },
      ...(imp !== undefined ? { energyImportWh: { value: imp, quality: 'good' as const } } : {}),
    },
  });
  m.update(r(0, 3600, 100));
  const mark = m.mark();
  m.update(r(3_600_000, 3600, 3700));
  t.deepEqual(m.energySince(mark), { wh: 3600, from: 'counters' });
  const p = new PodMeter();
  p.update(r(0, 1800));
  const pm = p.mark();
  p.update(r(3_600_000, 0));
  t.deepEqual(p.energySince(pm), { wh: 1800, from: 'power' });
  t.deepEqual(p.energySince(undefined), { wh: 0, from: 'none' });
});
