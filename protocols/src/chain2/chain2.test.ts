import test from 'ava';
import fc from 'fast-check';
import {
  Chain2Mapper,
  decodeChain2Frame,
  encodeChain2Frame,
  makeChain2Data,
  padPod,
  parseDlmsDate,
  dlmsDateToUtc,
  romeToUtc,
} from './index.js';

// Values of real captured frames (meter M1, 2022), as listed in ../shared/reference/chain2.md
const CF5 = JSON.stringify({
  Chain2Data: {
    Id: 'c2g-8E70E3154',
    Ts: '2022/01/31 00:54:10',
    Meter: 'M1',
    Type: 'CF5',
    Payload: {
      MessagePosixTimestamp: 1643590470,
      MeasurePosixTimestamp: 1643583599,
      DailyTotalActEnergyF1: 1,
      DailyTotalActEnergyF2: 0,
      DailyTotalActEnergyF3: 12604,
      DailyTotalActEnergyF4: 0,
      DailyTotalActEnergyF5: 0,
      DailyTotalActEnergyF6: 0,
      DailyMaxInstantPower: 3134,
      DailyMaxInstantPowerDateTime: '30/01/2022 09:35:44 [7]',
      PrepaidCredit: 0,
      DayType: 7,
    },
  },
});
const CF10 = JSON.stringify({
  Chain2Data: {
    Id: 'c2g-8E70E3154',
    Ts: '2022/02/01 04:53:00',
    Meter: 'M1',
    Type: 'CF10',
    Payload: {
      MessagePosixTimestamp: 1643687600,
      MeasurePosixTimestamp: 1643670000,
      MonthlyTotalActEnergyF1: 202102,
      MonthlyTotalActEnergyF2: 138236,
      MonthlyTotalActEnergyF3: 251823,
      MonthlyTotalActEnergyF4: 0,
      MonthlyTotalActEnergyF5: 0,
      MonthlyTotalActEnergyF6: 0,
      MonthlyMaxQuartAveragePower: 2660,
      MonthlyMaxQuartAveragePowerDateTime: '16/01/2022 12:00:00 [7]',
      ClosingCode: 1,
    },
  },
});
const CF20 = JSON.stringify({
  Chain2Data: {
    Id: 'c2g-8E70E3154',
    Ts: '2022/01/20 10:00:00',
    Meter: 'M1',
    Type: 'CF20',
    Payload: {
      MessagePosixTimestamp: 1642672820,
      EventType: 1,
      EventPosixTimestamp: 1642672800,
      EventsCounter: 3,
      CustomerCode: 'Non Disponibile',
      POD: 'IT001E01524052  ',
      PESSE: 0,
      Vendor: 'Non Disponibile',
      Phone: 'Non Disponibile',
      StartContract: '255/255/65535 [255]',
      ContractPower: 3000,
      AvailablePower: 3300,
      FreezingDay: '01/255/65535 [255]',
      Gap: 300,
      DataPlate: '21E4E5KA101249263',
      K: 0,
    },
  },
});

test('captured CF5, CF10 and CF20 decode with their published values, byte for byte back', (t) => {
  for (const text of [CF5, CF10, CF20]) {
    const r = decodeChain2Frame(text);
    t.true(r.ok, r.ok ? '' : r.error);
    if (r.ok) t.is(encodeChain2Frame(r.frame), text);
  }
  const cf5 = decodeChain2Frame(CF5);
  if (!cf5.ok || cf5.frame.kind !== 'Chain2Data') return t.fail();
  t.is(cf5.frame.values.DailyTotalActEnergyF3, 12604);
  t.is(cf5.frame.values.DailyMaxInstantPower, 3134);
  const d = cf5.frame.dates.DailyMaxInstantPowerDateTime!;
  t.deepEqual([d.day, d.month, d.year, d.hour, d.minute, d.second, d.weekday], [30, 1, 2022, 9, 35, 44, 7]);
  t.is(dlmsDateToUtc(d), romeToUtc(2022, 1, 30, 9, 35, 44));
  t.is(cf5.frame.extra.DayType, 7); // unknown fields preserved
  const cf20 = decodeChain2Frame(CF20);
  if (!cf20.ok || cf20.frame.kind !== 'Chain2Data') return t.fail();
  t.is(cf20.frame.pod, 'IT001E01524052');
  t.is(padPod('IT001E01524052'), 'IT001E01524052  ');
  t.is(cf20.frame.values.ContractPower, 3000);
  t.is(cf20.frame.values.AvailablePower, 3300);
  t.is(cf20.frame.extra.DataPlate, '21E4E5KA101249263');
  const sc = cf20.frame.dates.StartContract!;
  t.deepEqual([sc.day, sc.month, sc.year, sc.weekday], [null, null, null, null]); // unspecified, not a wrong date
  t.is(dlmsDateToUtc(sc), null);
  t.deepEqual([cf20.frame.dates.FreezingDay!.day, cf20.frame.dates.FreezingDay!.month], [1, null]);
});

test('the mapper: per-band totals from CF5/CF10, identity checked, wildcard dates diagnosed, not accepted silently', (t) => {
  const m = new Chain2Mapper({ podId: 'IT001E01524052', meters: ['M1'] });
  const accept = (text: string) => {
    const r = decodeChain2Frame(text);
    if (!r.ok) throw new Error(r.error);
    return m.accept(r.frame);
  };
  const id = accept(CF20);
  t.is(id.events[0]!.type, 'identity');
  t.true(id.diagnostics.some((d) => d.code === 'CHAIN2_DATE_UNSPECIFIED'));
  const day = accept(CF5);
  t.deepEqual(day.readings[0]!.values.energyImportF3Wh, { value: 12604, quality: 'good' });
  const month = accept(CF10);
  t.deepEqual(
    [1, 2, 3].map((b) => month.readings[0]!.values[`energyImportF${b}Wh` as 'energyImportF1Wh']?.value),
    [202102, 138236, 251823],
  );
  // a frame for another PoD blocks the meter's data; an unconfigured slot is dropped with a diagnostic
  const other = new Chain2Mapper({ podId: 'IT002E61899978', meters: ['M1'] });
  const r = decodeChain2Frame(CF20);
  if (!r.ok) return t.fail();
  t.true(other.accept(r.frame).diagnostics.some((d) => d.code === 'CHAIN2_POD_MISMATCH'));
  const d5 = decodeChain2Frame(CF5);
  if (!d5.ok) return t.fail();
  const blocked = other.accept(d5.frame);
  t.is(blocked.readings.length, 0);
  t.true(blocked.diagnostics.some((d) => d.code === 'CHAIN2_POD_MISMATCH'));
  const m2 = decodeChain2Frame(CF5.replace('"Meter":"M1"', '"Meter":"M2"'));
  if (!m2.ok) return t.fail();
  t.deepEqual(
    m.accept(m2.frame).diagnostics.map((d) => d.code),
    ['CHAIN2_METER_UNCONFIGURED'],
  );
});

test('CF1 stream: a missed quarter is detected from the next cumulative energy, a decrease is flagged and not stored', (t) => {
  const m = new Chain2Mapper({ podId: 'IT001E01524052', meters: ['M1'] });
  const q0 = Date.UTC(2024, 0, 10, 9) / 1000;
  const cf1 = (i: number, total: number, quarter: number) =>
    makeChain2Data({
      id: 'c2g-1',
      tsMs: (q0 + i * 900 + 20) * 1000,
      meter: 'M1',
      type: 'CF1',
      payload: {
        MessagePosixTimestamp: q0 + i * 900 + 5,
        MeasurePosixTimestamp: q0 + i * 900,
        TariffCode: 1,
        TotalActEnergy: total,
        CurrQuartActEnergy: quarter,
        PrevQuartActEnergy: 0,
        QuartAveragePower: quarter * 4,
        InstantPower: 1200,
      },
    });
  t.is(m.accept(cf1(0, 10_000, 300)).readings.length, 1);
  t.deepEqual(m.accept(cf1(1, 10_300, 300)).diagnostics, []);
  // quarter 2 lost; quarter 3 arrives: 700 Wh since quarter 1, of which 350 in quarter 3 → 350 Wh over the gap
  const r3 = m.accept(cf1(3, 11_000, 350));
  const gap = r3.diagnostics.find((d) => d.code === 'CHAIN2_GAP')!;
  t.deepEqual(gap.data, { missedQuarters: 1, fromS: q0 + 900, toS: q0 + 2700, energyWh: 350 });
  t.deepEqual(r3.readings[0]!.values.energyImportWh, { value: 11_000, quality: 'good' });
  // the gateway rebooted and reads 0: flagged, not stored as truth
  const r4 = m.accept(cf1(4, 0, 0));
  t.true(r4.diagnostics.some((d) => d.code === 'CHAIN2_TOTAL_DECREASED'));
  t.deepEqual(r4.readings[0]!.values.energyImportWh, { quality: 'invalid' });
  t.deepEqual(r4.readings[0]!.values.quarterEnergyImportWh, { quality: 'invalid' });
  // the next good CF1 accounts for the untrusted quarter as a gap with its energy
  const r5 = m.accept(cf1(5, 11_650, 350));
  t.deepEqual(r5.diagnostics.find((d) => d.code === 'CHAIN2_GAP')?.data, {
    missedQuarters: 1,
    fromS: q0 + 2700,
    toS: q0 + 4500,
    energyWh: 300,
  });
  // a duplicate is dropped with a diagnostic
  t.deepEqual(
    m.accept(cf1(5, 11_650, 350)).diagnostics.map((d) => d.code),
    ['CHAIN2_DUPLICATE'],
  );
});

const arbCf1 = fc.record({
  id: fc.string({ minLength: 1, maxLength: 20 }),
  tsS: fc.integer({ min: 1_500_000_000, max: 2_000_000_000 }),
  meter: fc.constantFrom('M1', 'M2', 'M2_2'),
  total: fc.integer({ min: 0, max: 1e9 }),
  quarter: fc.integer({ min: 0, max: 1e5 }),
  band: fc.integer({ min: 0, max: 6 }),
  extra: fc.dictionary(
    fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !['TotalActEnergy', 'POD'].includes(k)),
    fc.oneof(fc.integer(), fc.string()),
    { maxKeys: 3 },
  ),
});

test('decode(encode(x)) = x for generated frames (property)', (t) => {
  fc.assert(
    fc.property(arbCf1, (g) => {
      const f = makeChain2Data({
        id: g.id,
        tsMs: g.tsS * 1000,
        meter: g.meter,
        type: 'CF1',
        payload: {
          MeasurePosixTimestamp: g.tsS,
          TotalActEnergy: g.total,
          CurrQuartActEnergy: g.quarter,
          TariffCode: g.band,
          ...Object.fromEntries(Object.entries(g.extra).map(([k, v]) => [`X_${k}`, v])),
        },
      });
      const back = decodeChain2Frame(encodeChain2Frame(f));
      return (
        back.ok &&
        JSON.stringify(back.frame) === JSON.stringify(f) &&
        encodeChain2Frame(back.frame) === encodeChain2Frame(f)
      );
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('garbage, truncated JSON and wrong types never throw: a CHAIN2_DECODE result naming the problem', (t) => {
  const good = CF5;
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string(),
        fc.nat(good.length).map((n) => good.slice(0, n)),
        fc.jsonValue().map((v) => JSON.stringify(v)),
      ),
      (text) => {
        const r = decodeChain2Frame(text);
        return r.ok || (r.code === 'CHAIN2_DECODE' && r.error.length > 0);
      },
    ),
    { numRuns: 500 },
  );
  const wrong = decodeChain2Frame(CF5.replace('"DailyTotalActEnergyF3":12604', '"DailyTotalActEnergyF3":"12604"'));
  t.false(wrong.ok);
  if (!wrong.ok) t.regex(wrong.error, /CF5\.DailyTotalActEnergyF3: expected a number, received "12604"/);
  const two = decodeChain2Frame('{"Chain2Info":{},"Chain2Data":{}}');
  t.false(two.ok);
  const baddate = decodeChain2Frame(CF5.replace('30/01/2022 09:35:44 [7]', '31/13/2022 [9]'));
  t.false(baddate.ok);
  t.is(parseDlmsDate('not a date'), null);
});

test('Chain2Info and Chain2State envelopes are recognised', (t) => {
  const info = decodeChain2Frame(
    '{"Chain2Info":{"Id":"c2g-8E70E3154","Ip":"192.168.1.20","ProgId":"x","CFcountFromBoot":12}}',
  );
  t.true(info.ok && info.frame.kind === 'Chain2Info' && info.frame.id === 'c2g-8E70E3154');
  const state = decodeChain2Frame('{"Chain2State":{"anything":1}}');
  t.true(state.ok && state.frame.kind === 'Chain2State');
});
