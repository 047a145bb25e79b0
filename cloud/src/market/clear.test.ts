/**
 * Market clearing: the Tor di Valle reference session reproduces the run (levels ± 1e-6 kW, prices exact), the
 * request statuses say how far each request was met, and bad sessions are refused naming the problem.
 */
import test, { type ExecutionContext } from 'ava';
import { isLightNodeError, type ErrorCode } from '@lightnode/protocols';
import { TOR_DI_VALLE, offerServiceId, torDiValleSession } from '../testing/market.js';
import { clearMarket, type MarketOutcome } from './clear.js';
import { parseFlexibilityService, parseSession, type SessionInput } from './documents.js';

const accepted = (o: MarketOutcome) =>
  Object.fromEntries(o.flexibility.map((f) => [f.pod, f.power.map((p) => ({ ...p }))]));

test('the reference session clears to 1278.545 / 4180.349299061133 / 342.128 kW at 0.03 / 0.03 / 0.07', (t) => {
  for (const tsoPPrice of [null, 0.1]) {
    const o = clearMarket(parseSession(JSON.parse(JSON.stringify(torDiValleSession({ tsoPPrice })))));
    const got = accepted(o);
    t.deepEqual(Object.keys(got), ['IT002E60550189', 'IT002E60974469', 'IT002E61899978'], 'code-point order');
    for (const [pod, want] of Object.entries(TOR_DI_VALLE.expected)) {
      const [e, ...more] = got[pod]!;
      t.is(more.length, 0, pod);
      t.true(Math.abs(e!.acceptedPValue - want.acceptedPValue) <= 1e-6, `${pod}: ${e!.acceptedPValue}`);
      t.is(e!.acceptedPPrice, want.acceptedPPrice, pod);
      t.is(e!.playerRequestId, want.playerRequestId, pod);
      t.is(e!.playerOfferId, 'ACEAE');
      t.is(e!.playerServiceId, offerServiceId('ACEAE', pod));
      t.is(e!.index, 50);
    }
    t.like(o, { marketType: 'dayAhead', startTime: '2021-06-22T22:00:00.000Z', duration: 24, interval: 15 });
    const [dso, tso] = o.requests;
    t.like(dso, { playerServiceId: 'DSO:::dayAhead:::2021-06-23T12:30:00.000Z', playerId: 'DSO', status: 'full' });
    t.like(tso, { playerId: 'TSO', index: 50, status: 'full' });
    t.true(Math.abs(dso!.needkW - -1376.740700938867) <= 1e-6, String(dso!.needkW));
    t.is(dso!.acceptedkW, dso!.needkW);
    t.true(Math.abs(tso!.needkW - 271.748) <= 1e-6, String(tso!.needkW));
    t.is(o.requests.length, 2);
  }
});

test('a request met in part or not at all says so; the price cap and the sign decide eligibility', (t) => {
  const s = torDiValleSession();
  // DSO asks for 3000 kW less: only 1500 kW of downward offers exist
  s.requests[0]!.flexibility[0]!.power[0]!.p -= 3000 - 1376.740700938868;
  // TSO capped below the only upward offer's price
  s.requests[1]!.flexibility[0]!.power[0]!.pPrice = 0.05;
  const o = clearMarket(s);
  t.like(o.requests[0], { status: 'partial', acceptedkW: -1500 });
  t.like(o.requests[1], { status: 'none', acceptedkW: 0 });
  t.deepEqual(
    accepted(o)['IT002E60974469']!.map((p) => p.acceptedPPrice),
    [0.03],
  );
  t.false('IT002E60550189' in accepted(o));
});

test('what one request takes is gone for the next: a second DSO request on the same PoDs gets the rest', (t) => {
  const s = torDiValleSession();
  const again = structuredClone(s.requests[0]!);
  again.playerServiceId = 'DSO:::again';
  s.requests.push(again); // arrival after the TSO request, still cleared before it (DSO first)
  const o = clearMarket(s);
  t.deepEqual(
    o.requests.map((r) => [r.playerServiceId, r.status]),
    [
      ['DSO:::dayAhead:::2021-06-23T12:30:00.000Z', 'full'],
      ['TSO:::dayAhead:::2021-06-23T12:30:00.000Z', 'full'],
      ['DSO:::again', 'partial'],
    ],
  );
  t.true(Math.abs(o.requests[2]!.acceptedkW - -(500 - 376.740700938868)) <= 1e-9);
  const p69 = accepted(o)['IT002E60974469']!;
  t.deepEqual(
    p69.map((p) => p.acceptedPPrice),
    [0.03, 0.03],
  );
  t.true(Math.abs(p69[1]!.acceptedPValue - (4557.09 - 123.259299061132)) <= 1e-6);
});

const expectError = (t: ExecutionContext, f: () => unknown, code: ErrorCode, ...words: string[]) => {
  const e: unknown = t.throws(f);
  if (!isLightNodeError(e)) return t.fail(String(e));
  t.is(e.code, code, e.message);
  for (const w of words) t.true(e.message.includes(w), `${e.message} names ${w}`);
};

test('a PoD or PoM not in the registry is MARKET_POD_UNKNOWN naming it and the document', (t) => {
  const s = torDiValleSession();
  s.offers[0]!.flexibility[0] = { pod: 'IT002E00000000', power: [{ index: 50, p: -1, pPrice: 0.01 }] };
  expectError(t, () => clearMarket(s), 'MARKET_POD_UNKNOWN', 'IT002E00000000', s.offers[0]!.playerServiceId);
  const s2 = torDiValleSession();
  s2.requests[1]!.flexibility[0] = { pom: 'CP-NOWHERE', power: [{ index: 50, p: 1, pPrice: null }] };
  expectError(t, () => parseSession(s2), 'MARKET_POD_UNKNOWN', 'CP-NOWHERE', 'TSO:::');
});

test('a PoD and slot used without a baseline is MARKET_BASELINE_MISSING naming both', (t) => {
  const s = torDiValleSession();
  s.podRegistry[1]!.baselinekW = {}; // IT002E60976796: in the DSO set and on the PoM
  expectError(t, () => clearMarket(s), 'MARKET_BASELINE_MISSING', 'IT002E60976796', 'slot 50');
  const s2 = torDiValleSession();
  s2.offers[0]!.flexibility[0]!.power.push({ index: 51, p: -1, pPrice: 0.01 });
  expectError(t, () => clearMarket(s2), 'MARKET_BASELINE_MISSING', 'IT002E61899978', 'slot 51');
});

test('bad shapes are SCHEMA_INVALID naming the field path', (t) => {
  const cases: [string, (s: SessionInput) => void][] = [
    ['offers.0.flexibility.0.pod', (s) => (s.offers[0]!.flexibility[0] = { pod: ['A', 'B'], power: [] })],
    ['offers.0.flexibility', (s) => s.offers[0]!.flexibility.push(s.offers[1]!.flexibility[0]!)],
    ['requests.1.flexibility.0.pom', (s) => (s.requests[1]!.flexibility[0] = { pod: 'IT002E60550189', power: [] })],
    [
      'requests.0.flexibility.0.power.0.p',
      (s) => ((s.requests[0]!.flexibility[0]!.power[0] as { p: unknown }).p = '1'),
    ],
    ['offers.0.flexibility.0.power.0.pPrice', (s) => (s.offers[0]!.flexibility[0]!.power[0]!.pPrice = null)],
    ['offers.1.serviceType', (s) => (s.offers[1]!.serviceType = 'DSO_request')],
    ['offers.1.playerServiceId', (s) => (s.offers[1]!.playerServiceId = s.offers[0]!.playerServiceId)],
    ['requests.0.flexibility.0.power.0.index', (s) => (s.requests[0]!.flexibility[0]!.power[0]!.index = 96)],
    ['podRegistry.1.pod', (s) => (s.podRegistry[1]!.pod = s.podRegistry[0]!.pod)],
    ['startTime', (s) => (s.startTime = 'yesterday')],
    ['marketType', (s) => ((s as { marketType: string }).marketType = 'intraday')],
    ['requests.0: expected Unrecognized key: "extra"', (s) => Object.assign(s.requests[0]!, { extra: 1 })],
  ];
  for (const [field, spoil] of cases) {
    const s = torDiValleSession();
    spoil(s);
    expectError(t, () => parseSession(JSON.parse(JSON.stringify(s))), 'SCHEMA_INVALID', field);
  }
  expectError(t, () => parseFlexibilityService({ marketType: 'dayAhead' }), 'SCHEMA_INVALID', 'playerId');
});
