import test from 'ava';
import fc from 'fast-check';
import type { MarketOutcome } from './clear.js';
import type { MeasurementRow } from '../scd/rows.js';
import { averageLevel, settleSlot, settledDelta } from './settlement.js';
import { CUT_TOLERANCE_KW, validateOutcome, type TechnicalOutcome } from './validated.js';

const POD = 'IT002E60550189';
const registry = [{ pod: POD, pom: 'P', aggregator: 'ACEAE', baselinekW: { '3': 100 } }];
const kindOf = (p: string) => (p.startsWith('TSO') ? ('TSO_request' as const) : ('DSO_request' as const));
const head = { marketType: 'dayAhead', startTime: '2021-06-22T22:00:00.000Z', duration: 24, interval: 15 } as const;

/** A market outcome of services at POD slot 3: [delta kW, price, playerRequestId, playerServiceId]. */
function market(services: [number, number, string, string][]): MarketOutcome {
  return {
    ...head,
    flexibility: [
      {
        pod: POD,
        power: services.map(([d, price, req, id]) => ({
          index: 3,
          acceptedPValue: 100 + d,
          acceptedPPrice: price,
          playerRequestId: req,
          playerOfferId: 'ACEAE',
          playerServiceId: id,
        })),
      },
    ],
    requests: [],
  };
}
const technical = (level: number): TechnicalOutcome => ({
  ...head,
  marketOutcome: 'DA-2021-06-23',
  flexibility: [{ pod: POD, power: [{ index: 3, acceptedPValue: level, acceptedP: 'OK' }] }],
});
const validate = (services: [number, number, string, string][], level: number) =>
  validateOutcome('DA-2021-06-23', market(services), technical(level), registry, kindOf).flexibility[0]!.power.map(
    (p) => [p.playerServiceId, Math.round((p.acceptedPValue - 100) * 1e6) / 1e6, p.rejectionTypeP],
  );

test('the cut is taken off TSO services first, then DSO, dearest first, each down to a 0 delta', (t) => {
  const s: [number, number, string, string][] = [
    [40, 0.03, 'DSO', 'a'],
    [30, 0.05, 'DSO', 'b'],
    [20, 0.01, 'TSO', 'c'],
    [10, 0.02, 'TSO', 'd'],
  ];
  t.deepEqual(validate(s, 200), [
    ['a', 40, null],
    ['b', 30, null],
    ['c', 20, null],
    ['d', 10, null],
  ]);
  // 100 kW of deltas, 55 allowed: TSO d (dearer) and c go, then DSO b (dearer) loses 15
  t.deepEqual(validate(s, 155), [
    ['a', 40, null],
    ['b', 15, 'PARTIAL_TECHNICAL'],
    ['c', 0, 'TECHNICAL'],
    ['d', 0, 'TECHNICAL'],
  ]);
  t.deepEqual(
    validate(s, 90).map((x) => x[2]),
    ['TECHNICAL', 'TECHNICAL', 'TECHNICAL', 'TECHNICAL'],
    'a level on the other side of the baseline: everything cut',
  );
});

test('downward services are cut towards the baseline the same way; a tiny difference is no cut', (t) => {
  const s: [number, number, string, string][] = [
    [-50, 0.03, 'DSO', 'a'],
    [-20, 0.07, 'TSO', 'b'],
  ];
  t.deepEqual(validate(s, 40), [
    ['a', -50, null],
    ['b', -10, 'PARTIAL_TECHNICAL'],
  ]);
  t.deepEqual(validate(s, 30 + CUT_TOLERANCE_KW / 2), [
    ['a', -50, null],
    ['b', -20, null],
  ]);
});

test('property: the validated deltas sum to the technical delta (within the cleared one), none grows or flips', (t) => {
  const service = fc.tuple(
    fc.double({ min: 0.001, max: 500, noNaN: true }),
    fc.integer({ min: 1, max: 9 }).map((c) => c / 100),
    fc.constantFrom('DSO', 'TSO'),
  );
  fc.assert(
    fc.property(
      fc.array(service, { minLength: 1, maxLength: 6 }),
      fc.boolean(),
      fc.double({ min: -0.5, max: 1.5, noNaN: true }),
      (xs, down, share) => {
        const sign = down ? -1 : 1;
        const s = xs.map(([d, p, r], i) => [sign * d, p, r, `s${i}`] as [number, number, string, string]);
        const total = s.reduce((a, x) => a + x[0], 0);
        const got = validate(s, 100 + total * share);
        const want = sign * Math.max(0, Math.min(sign * total, sign * total * share));
        const sum = got.reduce((a, x) => a + (x[1] as number), 0);
        if (Math.abs(sum - want) > 1e-5) return false;
        return got.every(
          (x, i) => sign * (x[1] as number) >= -1e-6 && sign * (x[1] as number) <= sign * s[i]![0] + 1e-6,
        );
      },
    ),
  );
  t.pass();
});

const row = (tsMs: number, importWh: number, exportWh?: number): MeasurementRow => ({
  deviceId: '0x01',
  seq: tsMs,
  podId: POD,
  tsMs,
  sample: { quantities: { energyImportWh: importWh, ...(exportWh !== undefined ? { energyExportWh: exportWh } : {}) } },
});

test('settlement arithmetic: the average level from counters, capped at the accepted delta, other sign → 0', (t) => {
  const S = 900_000;
  // 25 Wh imported and 5 exported over exactly one slot: 20 Wh × 60/15 / 1000 = 0.08 kW
  const l = averageLevel([row(-1000, 0, 0), row(0, 10, 0), row(S, 35, 5), row(S + 60_000, 40, 5)], 0, S);
  t.like(l, { kW: 0.08, span: { from: 'outside', to: 'outside', fromMs: 0, toMs: S } });
  // no sample at or before the start: the first inside; none after the end: the last inside (an import-only meter)
  const inside = averageLevel([row(300_000, 100), row(600_000, 200)], 0, S);
  t.like(inside, { kW: 1.2, span: { from: 'inside', to: 'inside' } });
  t.regex((averageLevel([row(5, 1)], 0, S) as { reason: string }).reason, /fewer than two samples/);
  t.is(settledDelta(50, 30), 30);
  t.is(settledDelta(20, 30), 20);
  t.is(settledDelta(-20, 30), 0);
  t.is(settledDelta(-80, -50), -50);
  t.is(settledDelta(5, 0), 0);
  const v = validateOutcome(
    'DA-2021-06-23',
    market([
      [40, 0.5, 'DSO', 'a'],
      [30, 0.25, 'TSO', 'b'],
    ]),
    technical(170),
    registry,
    kindOf,
  );
  const [a, b] = settleSlot(POD, v.flexibility[0]!.power, 100, {
    kW: 150,
    span: { from: 'outside', to: 'outside', fromMs: 0, toMs: S },
  });
  t.like(a, { settledkW: 40, amountEur: 20 });
  t.like(b, { settledkW: 10, amountEur: 2.5 }, 'the PoD delivery is shared in order');
  const [n] = settleSlot(POD, v.flexibility[0]!.power, 100, { reason: 'none' });
  t.like(n, { settledkW: null, amountEur: null, deliveredLevelkW: null, reason: 'none' });
});
