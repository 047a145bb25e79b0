import test, { type ExecutionContext } from 'ava';
import {
  Chain2Mapper,
  decodeChain2Frame,
  marketDayStart,
  romeToUtc,
  slotsInMarketDay,
  type Chain2Frame,
} from '@lightnode/protocols';
import { Chain2MeterSim } from './simulator.js';

type Data = Extract<Chain2Frame, { kind: 'Chain2Data' }>;
function week(startMs: number, days = 7): Data[] {
  const sim = new Chain2MeterSim({ pod: 'IT001E01524052', startMs, seed: 5, pvPeakW: 2500 });
  return sim
    .runUntil(startMs + days * 86_400_000 + 3 * 3_600_000)
    .map((f) => decodeChain2Frame(f.text))
    .filter((r): r is { ok: true; frame: Data } => r.ok && r.frame.kind === 'Chain2Data')
    .map((r) => r.frame);
}

function checkWeek(t: ExecutionContext, startMs: number, expectSlots: Record<string, number>) {
  const frames = week(startMs);
  const cf1 = frames.filter((f) => f.type === 'CF1');
  const perDay = new Map<number, Data[]>();
  for (const f of cf1) {
    // a quarter's CF1 carries its end instant: it belongs to the market day of (end − 1 s)
    const day = marketDayStart(f.values.MeasurePosixTimestamp! * 1000 - 1000);
    perDay.set(day, [...(perDay.get(day) ?? []), f]);
  }
  const days = [...perDay.keys()].sort().slice(0, 7);
  for (const d of days) {
    const label = new Date(d + 12 * 3_600_000).toISOString().slice(0, 10);
    t.is(perDay.get(d)!.length, expectSlots[label] ?? 96, `CF1 count on ${label}`);
    t.is(slotsInMarketDay(d), expectSlots[label] ?? 96);
  }
  // daily CF5 per-band totals = the sum of that day's CF1 energies per band
  for (const cf5 of frames.filter((f) => f.type === 'CF5')) {
    const day = marketDayStart(cf5.values.MeasurePosixTimestamp! * 1000);
    const quarters = perDay.get(day);
    if (!quarters) continue;
    for (let b = 1; b <= 3; b++) {
      let sum = 0;
      for (const q of quarters) if (q.values.TariffCode === b) sum += q.values.CurrQuartActEnergy!;
      t.is(
        cf5.values[`DailyTotalActEnergyF${b}`],
        sum,
        `F${b} on ${new Date(day + 43_200_000).toISOString().slice(0, 10)}`,
      );
    }
  }
  // monotonic totals, and the mapper accepts the whole stream without a diagnostic but unspecified dates
  let last = -1;
  for (const f of cf1) {
    t.true(f.values.TotalActEnergy! >= last);
    last = f.values.TotalActEnergy!;
  }
  const m = new Chain2Mapper({ podId: 'IT001E01524052', meters: ['M1'] });
  const diags = frames.flatMap((f) => m.accept(f).diagnostics).filter((d) => d.code !== 'CHAIN2_DATE_UNSPECIFIED');
  t.deepEqual(diags, []);
}

test('a simulated week yields 96 CF1 per day, CF5 per-band totals equal the sums of CF1, monotonic totals', (t) => {
  checkWeek(t, romeToUtc(2024, 1, 8), {});
});

test('the spring DST week has a 92-quarter day, the autumn one a 100-quarter day', (t) => {
  checkWeek(t, romeToUtc(2024, 3, 25), { '2024-03-31': 92 });
  checkWeek(t, romeToUtc(2024, 10, 21), { '2024-10-27': 100 });
});

test('faults: lost and duplicate frames and a gateway reboot are caught by the mapper (gap with energy, duplicate, decrease)', (t) => {
  const start = romeToUtc(2024, 1, 10);
  const sim = new Chain2MeterSim({
    pod: 'IT001E01524052',
    startMs: start,
    seed: 9,
    faults: { lose: 0.05, duplicate: 0.05, malformed: 0.02 },
  });
  const frames = sim.runUntil(start + 86_400_000);
  const m = new Chain2Mapper({ podId: 'IT001E01524052', meters: ['M1'] });
  let malformed = 0;
  const codes = new Map<string, number>();
  for (const f of frames) {
    const r = decodeChain2Frame(f.text);
    if (!r.ok) {
      malformed++;
      continue;
    }
    for (const d of m.accept(r.frame).diagnostics) codes.set(d.code, (codes.get(d.code) ?? 0) + 1);
  }
  t.is(malformed, sim.stats.malformed);
  t.true(sim.stats.lost > 0 && (codes.get('CHAIN2_GAP') ?? 0) > 0, JSON.stringify([...codes]));
  t.true((codes.get('CHAIN2_DUPLICATE') ?? 0) > 0 || sim.stats.duplicated === 0);
  const r = new Chain2MeterSim({ pod: 'IT001E01524052', startMs: start, seed: 3 });
  const m2 = new Chain2Mapper({ podId: 'IT001E01524052', meters: ['M1'] });
  const decode = (fs: { text: string }[]) =>
    fs.flatMap((f) => {
      const x = decodeChain2Frame(f.text);
      return x.ok ? m2.accept(x.frame).diagnostics : [];
    });
  decode(r.runUntil(start + 3_600_000));
  r.reboot();
  const after = decode(r.runUntil(start + 3 * 3_600_000));
  t.true(after.some((d) => d.code === 'CHAIN2_TOTAL_DECREASED'));
});

test('an outage is reported as CF23 and becomes an outage event', (t) => {
  const start = romeToUtc(2024, 1, 10);
  const sim = new Chain2MeterSim({ pod: 'IT001E01524052', startMs: start, seed: 1 });
  sim.runUntil(start + 600_000);
  sim.outage(180);
  const frames = sim.runUntil(start + 1_200_000).filter((f) => f.type === 'CF23');
  t.is(frames.length, 1);
  const r = decodeChain2Frame(frames[0]!.text);
  if (!r.ok) return t.fail(r.error);
  const ev = new Chain2Mapper({ podId: 'IT001E01524052', meters: ['M1'] }).accept(r.frame).events;
  t.deepEqual(
    ev.map((e) => [e.type, e.data.outageDurationS]),
    [['outage', 180]],
  );
});
