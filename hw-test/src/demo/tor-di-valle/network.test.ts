/**
 * The calibrated Tor di Valle model reproduces the run's figures through the DSOTP's own functions: the Mostacciano
 * overload at the baselines, the DSO request's level and document, the Nanchino overload after the market, the
 * validation's trim; slot 50 is the only slot of the day with a violation; network.json is what calibrate.ts writes.
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import {
  clearMarket,
  findViolations,
  requestDocument,
  slotLoads,
  slotRequests,
  solvePowerFlow,
  validateTechnically,
  type DsoModel,
} from '@lightnode/cloud';
import { calibrate, marketLevels, tdvNetwork } from './calibrate.js';
import {
  TDV_DAY_START_MS,
  TDV_PODS,
  TDV_SESSION,
  TDV_SLOT,
  TDV_SLOTS,
  TOR_DI_VALLE,
  TOR_DI_VALLE_NETWORK,
  baselinesKW,
  baselinesW,
  loadTorDiValleModel,
  tdvOffers,
  tdvTsoRequest,
  torDiValleSession,
} from './scenario.js';

const m = loadTorDiValleModel();
const MOST = TDV_PODS.filter((p) => p.feeder === 'Mostacciano').map((p) => p.pod);
const solve = (model: DsoModel, slot: number, levels: ReadonlyMap<string, number>) =>
  solvePowerFlow(model.net, slotLoads(model, slot, levels));
const near = (x: number, ref: number, tol = 0.01): boolean => Math.abs(x - ref) <= tol;
const inBand = (vPu: Float64Array): boolean => [...vPu].every((v) => v >= m.vMinPu && v <= m.vMaxPu);

test('network.json resolves from dist, parses, and is exactly what calibrate.ts writes', (t) => {
  t.true(existsSync(TOR_DI_VALLE_NETWORK), TOR_DI_VALLE_NETWORK);
  t.true(TOR_DI_VALLE_NETWORK.endsWith('hw-test/src/demo/tor-di-valle/network.json'));
  t.is(readFileSync(TOR_DI_VALLE_NETWORK, 'utf8'), JSON.stringify(tdvNetwork(calibrate()), null, 2) + '\n');
  t.is(m.pom.id, 'CP-IRLANDESE');
  t.deepEqual(
    m.feeders.map((f) => f.name),
    ['Mostacciano', 'Nanchino'],
  );
  t.is(m.podCosPhi, 0.9);
  t.deepEqual(
    m.pods.map((p) => p.pod),
    TDV_PODS.map((p) => p.pod),
  );
});

test('base case at slot 50: Mostacciano head 259.54 A against 212.80 A, nothing else; voltages in band', (t) => {
  const r = solve(m, TDV_SLOT, baselinesKW(TDV_SLOT));
  const v = findViolations(m, r);
  t.is(v.length, 1, JSON.stringify(v));
  t.like(v[0], { kind: 'current', from: 'TDV', to: 'M1', feeder: 'Mostacciano', limitA: 212.8 });
  t.true(near(v[0]!.kind === 'current' ? v[0]!.currentA : 0, 259.54), JSON.stringify(v[0]));
  t.true(inBand(r.vPu), `min ${r.minVoltagePu} at ${r.minVoltageBus}`);
});

test('the DSO request: the three Mostacciano PoDs at 5771.04 kW, slot 50, in the Platone shape', (t) => {
  const s = slotRequests(m, TDV_SLOT, baselinesKW(TDV_SLOT));
  t.is(s.requests.length, 1);
  t.is(s.unresolved.length, 0);
  const req = s.requests[0]!;
  t.true(near(req.levelKW, TOR_DI_VALLE.dsoRequest.pkW), String(req.levelKW));
  t.true(req.valueAfter <= 212.8 && req.valueAfter >= 212.79, String(req.valueAfter));
  const doc = requestDocument(TDV_DAY_START_MS, req, { pPrice: 0.1, qPrice: 0.1 });
  const { flexibility: refFlex, ...refHead } = torDiValleSession().requests.find((r) => r.playerId === 'DSO')!;
  t.like(doc, refHead, 'the reference request: dayAhead, 24 h, 15 min, DSO, DSO:::dayAhead:::2021-06-23T12:30:00.000Z');
  t.deepEqual([...doc.flexibility[0]!.pod].sort(), [...MOST].sort());
  const { p, ...refPower } = refFlex[0]!.power[0]!;
  t.like(doc.flexibility[0]!.power[0], refPower, 'index 50, pPrice 0.1, q null, qPrice 0.1');
  t.true(near(doc.flexibility[0]!.power[0]!.p, p));
  t.log(`DSO level ${req.levelKW} kW (reference ${TOR_DI_VALLE.dsoRequest.pkW}), ${req.iterations} power flows`);
});

test('after the market: Nanchino 30.07 A against 19.60 A, Mostacciano within its limit', (t) => {
  const r = solve(m, TDV_SLOT, marketLevels());
  const v = findViolations(m, r);
  t.is(v.length, 1, JSON.stringify(v));
  t.like(v[0], { kind: 'current', from: 'N2', to: 'NL', feeder: 'Nanchino', limitA: 19.6 });
  t.true(near(v[0]!.kind === 'current' ? v[0]!.currentA : 0, 30.07), JSON.stringify(v[0]));
  t.true(r.currentA[m.feeders[0]!.branch]! <= 212.8);
  t.true(inBand(r.vPu));
});

test('validation trims IT002E60550189 (TSO) to 207.662 kW and keeps both Mostacciano services', (t) => {
  const outcome = clearMarket(torDiValleSession());
  const v = validateTechnically(m, outcome, TDV_SESSION, (pod, i) => baselinesKW(i).get(pod));
  t.is(v.trims.length, 1, JSON.stringify(v.trims));
  t.like(v.trims[0], { pod: 'IT002E60550189', playerRequestId: 'TSO', element: 'branch:N2-NL' });
  t.true(near(v.trims[0]!.validatedKW, 207.6620935799721), String(v.trims[0]!.validatedKW));
  t.deepEqual(v.remaining, []);
  const level = (pod: string) => v.technical.flexibility.find((f) => f.pod === pod)!.power[0]!;
  t.like(level('IT002E61899978'), { acceptedPValue: 1278.545, acceptedP: 'OK' });
  t.true(near(level('IT002E60974469').acceptedPValue, 4180.349299061133, 1e-6));
  t.like(level('IT002E60550189'), { acceptedP: 'OK' });
});

test('over the 96 slots at the baseline profiles, slot 50 is the only one with a violation; voltages in band', (t) => {
  const violated: number[] = [];
  for (let k = 0; k < TDV_SLOTS; k++) {
    const r = solve(m, k, baselinesKW(k));
    t.true(r.converged && inBand(r.vPu), `slot ${k}: min ${r.minVoltagePu}`);
    if (findViolations(m, r).length > 0) violated.push(k);
  }
  t.deepEqual(violated, [TDV_SLOT]);
});

test('baselines: 96 integer W per PoD, slot 50 the reference, every other slot lower; offers and TSO request', (t) => {
  for (const p of TDV_PODS) {
    const w = baselinesW(p.pod);
    t.is(w.length, TDV_SLOTS);
    t.is(w[TDV_SLOT], Math.round(p.baselinekW * 1000));
    t.true(
      w.every((x, k) => Number.isInteger(x) && (k === TDV_SLOT || x < w[TDV_SLOT]!)),
      p.pod,
    );
  }
  t.deepEqual(
    tdvOffers().map((o) => o.playerServiceId),
    [
      'ACEAE/IT002E61899978/dayAhead/2021-06-22T22:00:00.000Z',
      'ACEAE/IT002E60974469/dayAhead/2021-06-22T22:00:00.000Z',
      'ACEAE/IT002E60550189/dayAhead/2021-06-22T22:00:00.000Z',
    ],
  );
  t.like(tdvTsoRequest().flexibility[0], { pom: 'CP-IRLANDESE', power: [{ index: 50, p: 7500 }] });
});
