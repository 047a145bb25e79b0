/**
 * Properties of the clearing on random sessions (fast-check drives the seed and the sizes of `randomSession`):
 * no offer over-used, no need over-filled, every need filled as far as the eligible offers left allow, nothing
 * accepted dearer than an eligible offer left unused, the same outcome for any order of the offers and of the
 * registry, and the same outcome, bit for bit, as the naive rescanning clearing.
 */
import test from 'ava';
import fc from 'fast-check';
import { randomSession } from '../testing/market.js';
import { clearMarket, type MarketOutcome } from './clear.js';
import { podsOf, podsOnPom, pomOf, type FlexibilityService, type SessionInput } from './documents.js';
import { clearMarketNaive } from './naive.js';

const EPS = 1e-6;
const sessions = fc
  .record({
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    pods: fc.integer({ min: 1, max: 12 }),
    poms: fc.integer({ min: 1, max: 3 }),
    slots: fc.integer({ min: 1, max: 3 }),
    offers: fc.integer({ min: 0, max: 25 }),
    offerSlotShare: fc.double({ min: 0.3, max: 1, noNaN: true }),
    dsoPerSlot: fc.integer({ min: 0, max: 3 }),
    tsoPerSlot: fc.integer({ min: 0, max: 2 }),
    dsoSetShare: fc.double({ min: 0.1, max: 1, noNaN: true }),
    maxNeedkW: fc.constantFrom(10, 500, 3000),
    maxOfferkW: fc.constantFrom(50, 500),
    priceLevels: fc.integer({ min: 1, max: 4 }),
  })
  .map(({ seed, ...z }) => randomSession(seed, z));

/** What each (offer, slot) gave each request (playerIds are distinct per request in randomSession). */
function takes(s: SessionInput, o: MarketOutcome): Map<string, number> {
  const base = new Map(s.podRegistry.map((e) => [e.pod, e.baselinekW]));
  const m = new Map<string, number>();
  for (const f of o.flexibility)
    for (const p of f.power) {
      const k = `${p.playerServiceId}|${p.index}|${p.playerRequestId}`;
      m.set(k, (m.get(k) ?? 0) + Math.abs(p.acceptedPValue - base.get(f.pod)![String(p.index)]!));
    }
  return m;
}

const processing = (s: SessionInput): FlexibilityService[] => [
  ...s.requests.filter((r) => r.serviceType === 'DSO_request'),
  ...s.requests.filter((r) => r.serviceType === 'TSO_request'),
];

test('no offer over-used, no need over-filled, filled as far as eligible offers allow, cheapest first', (t) => {
  fc.assert(
    fc.property(sessions, (s) => {
      const o = clearMarket(s);
      const took = takes(s, o);
      const used = new Map<string, number>(); // offer|slot → kW taken so far (in processing order)
      for (const req of processing(s)) {
        const f = req.flexibility[0]!;
        const pom = pomOf(f);
        const pods = new Set(pom === undefined ? podsOf(f) : podsOnPom(s.podRegistry, pom));
        const { index, pPrice: cap } = f.power[0]!;
        const res = o.requests.find((x) => x.playerServiceId === req.playerServiceId)!;
        const { needkW: need, acceptedkW: got } = res;
        if (!(Math.abs(got) <= Math.abs(need) + EPS && got * need >= 0)) return false;
        const eligible = s.offers.flatMap((of) => {
          const p = of.flexibility[0]!.power.find((x) => x.index === index);
          const ok = p && p.p !== 0 && Math.sign(p.p) === Math.sign(need) && (cap === null || p.pPrice! <= cap);
          return ok && pods.has(podsOf(of.flexibility[0]!)[0]!)
            ? [{ id: of.playerServiceId, p: p.p, price: p.pPrice! }]
            : [];
        });
        let room = 0;
        let dearestTaken = -Infinity;
        let cheapestLeft = Infinity;
        for (const e of eligible) {
          const k = `${e.id}|${index}`;
          const before = used.get(k) ?? 0;
          room += Math.abs(e.p) - before;
          const now = took.get(`${k}|${req.playerId}`) ?? 0;
          used.set(k, before + now);
          if (before + now > Math.abs(e.p) + EPS) return false; // over-used
          if (now > 0) dearestTaken = Math.max(dearestTaken, e.price);
          if (Math.abs(e.p) - before - now > EPS) cheapestLeft = Math.min(cheapestLeft, e.price);
        }
        if (Math.abs(Math.abs(got) - Math.min(Math.abs(need), room)) > EPS) return false;
        if (dearestTaken > cheapestLeft) return false;
        const prices = o.flexibility.flatMap((x) => x.power.filter((p) => p.playerRequestId === req.playerId));
        if (prices.some((p) => p.acceptedPPrice !== dearestTaken)) return false; // pay-as-clear
      }
      return true;
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('the same outcome for any order of the offers and of the registry, and the same as the naive clearing', (t) => {
  fc.assert(
    fc.property(sessions, fc.integer(), (s, seed) => {
      const want = clearMarket(structuredClone(s));
      let x = seed;
      const shuffle = <T>(a: T[]): T[] => {
        for (let i = a.length - 1; i > 0; i--) {
          x = (Math.imul(x, 1103515245) + 12345) | 0;
          const j = Math.abs(x) % (i + 1);
          [a[i], a[j]] = [a[j]!, a[i]!];
        }
        return a;
      };
      const shuffled = { ...s, offers: shuffle([...s.offers]), podRegistry: shuffle([...s.podRegistry]) };
      t.deepEqual(clearMarket(shuffled), want);
      t.deepEqual(clearMarketNaive(structuredClone(s)), want);
    }),
    { numRuns: 200 },
  );
});
