// The runtime's small helpers: the battery's power at a PoD reading's time, the refusal limiter, the PoD meter.
import test from 'ava';
import { FakeClock } from '@lightnode/protocols/testing';
import { AssetView, EssAtPod, PodMeter, RefusalLimiter, SiteFigure } from './runtime-parts.js';

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
  t.deepEqual(m.energySince(mark), { wh: 3600, from: 'counters', spanMs: 3_600_000 });
  t.deepEqual(m.energySince(mark, mark), { wh: 0, from: 'counters', spanMs: 0 }, 'to an earlier mark');
  const p = new PodMeter();
  p.update(r(0, 1800));
  const pm = p.mark();
  p.update(r(3_600_000, 0));
  t.deepEqual(p.energySince(pm), { wh: 1800, from: 'power', spanMs: 3_600_000 });
  t.deepEqual(p.energySince(undefined), { wh: 0, from: 'none' });
  // counters read less often than the power: a mark's time is the counters' reading
  const c = new PodMeter();
  c.update(r(0, 1000, 500));
  c.update(r(60_000, 1000));
  t.is(c.mark().atMs, 0);
  t.is(c.lastTsMs, 60_000);
});

const ess = (atMs: number, essPowerW: number) => ({ atMs, essPowerW, socPermille: 500, mode: 'remote' as const });

test('AssetView: the telemetry state while younger than 1.5 periods; none for one period after a write', async (t) => {
  const clock = new FakeClock(10_000);
  const v = new AssetView(clock, 1000);
  t.is(v.fresh(), undefined);
  v.observe(ess(10_000, 100));
  t.is(v.fresh()?.essPowerW, 100);
  await clock.advance(1499);
  t.is(v.fresh()?.essPowerW, 100);
  await clock.advance(1);
  t.is(v.fresh(), undefined, 'too old: the controller reads itself');
  v.observe(ess(11_500, 120));
  v.acted(); // a write at 11 500
  t.is(v.fresh(), undefined, 'a write invalidates it');
  await clock.advance(500);
  v.observe(ess(12_000, 120)); // a read in flight across the write: from before it
  t.is(v.fresh(), undefined, 'ignored for one period after the write');
  await clock.advance(600);
  v.observe(ess(12_600, 900));
  t.is(v.fresh()?.essPowerW, 900);
});

test('SiteFigure: PoD + battery at the reading; the last site figure with the battery now when that is unknown', (t) => {
  const f = new SiteFigure();
  t.is(f.pair(2000, undefined, ess(0, 0)), undefined, 'nothing before a first pair');
  t.deepEqual(f.pair(2000, 0, ess(0, 0)), { podW: 2000, essW: 0 }); // site 2000 W
  t.deepEqual(f.pair(500, undefined, ess(0, 1800)), { podW: 200, essW: 1800 }, 'site 2000 − battery 1800');
  t.deepEqual(f.pair(300, 1800, ess(0, 1800)), { podW: 300, essW: 1800 });
  t.deepEqual(f.pair(0, undefined, ess(0, 1000)), { podW: 1100, essW: 1000 }, 'site now 2100');
});
