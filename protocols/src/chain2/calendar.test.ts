import test from 'ava';
import { easterSunday, marketDayStart, romeToUtc, slotIndex, slotsInMarketDay, tariffBand } from './calendar.js';

const rome = (y: number, mo: number, d: number, h: number, mi = 0) => romeToUtc(y, mo, d, h, mi);

test('tariff bands match the published examples (../shared/reference/chain2.md)', (t) => {
  t.is(tariffBand(rome(2024, 1, 10, 10)), 1); // Wednesday 10:00
  t.is(tariffBand(rome(2024, 1, 10, 7, 30)), 2);
  t.is(tariffBand(rome(2024, 1, 10, 22, 30)), 2);
  t.is(tariffBand(rome(2024, 1, 10, 23, 30)), 3);
  t.is(tariffBand(rome(2024, 1, 13, 10)), 2); // Saturday
  t.is(tariffBand(rome(2024, 1, 14, 10)), 3); // Sunday
  t.is(tariffBand(rome(2024, 4, 25, 10)), 3); // Liberation Day (Thursday)
  t.is(tariffBand(rome(2024, 4, 1, 10)), 3); // Easter Monday
});

test('Easter, market days and DST change days (92 / 100 slots)', (t) => {
  t.deepEqual(easterSunday(2024), [3, 31]);
  t.deepEqual(easterSunday(2021), [4, 4]);
  // the reference field test: the market day starts 2021-06-22T22:00:00Z and slot 50 is 12:30 local
  const start = Date.parse('2021-06-22T22:00:00Z');
  t.is(marketDayStart(start + 3_600_000), start);
  t.is(slotIndex(Date.parse('2021-06-23T10:30:00Z')), 50);
  t.is(slotsInMarketDay(start), 96);
  t.is(slotsInMarketDay(rome(2024, 3, 31, 12)), 92); // spring forward
  t.is(slotsInMarketDay(rome(2024, 10, 27, 12)), 100); // fall back
});
