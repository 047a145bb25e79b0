/**
 * The DSOTP's pure steps on IEEE 33 (200 A on branch 1–2): model keys and their errors, violations, the request
 * that brings branch 1–2 within 0.01 A (checked by an independent power flow), and a validation trim checked
 * against the test's own bisection over solvePowerFlow.
 */
import test from 'ava';
import fc from 'fast-check';
import { isLightNodeError } from '@lightnode/protocols';
import { DSOTP_PODS, TAN_PHI_09, dsotpBaselinesKW, dsotpTestModel } from '../testing/dsotp-model.js';
import { ieee33Network } from '../testing/ieee33.js';
import { parseDsoModel, slotLoads, type DsoModel } from './model.js';
import { compileNetwork } from './network.js';
import { baseLoads, solvePowerFlow } from './powerflow.js';
import { requestDocument, slotRequests } from './requests.js';
import { TRIM_TOLERANCE_KW, validateOutcome, type OutcomeInput } from './validate.js';
import { findViolations } from './violations.js';

const DAY_START = Date.UTC(2021, 5, 22, 22, 0, 0); // 2021-06-23 in Europe/Rome
const doc = dsotpTestModel();
const model = parseDsoModel(doc);
const baselines = dsotpBaselinesKW(doc);
const branchOf = (m: DsoModel, from: number, to: number): number =>
  m.net.branches.findIndex((b) => b.from === from && b.to === to);

/** The test's own loads: the file's, each PoD bus at a level with Q = P·tan φ (no DSOTP code). */
function ownLoads(m: DsoModel, levels: ReadonlyMap<string, number>) {
  const l = baseLoads(m.net);
  for (const p of DSOTP_PODS) {
    const i = m.net.busIndex.get(String(p.bus))!;
    l.pKW[i] = levels.get(p.pod)!;
    l.qKvar[i] = levels.get(p.pod)! * TAN_PHI_09;
  }
  return l;
}

test('IEEE 33 at base load: branch 1–2 carries 210.364 A, 105.2 % of 200 A; the model at baselines is the same', (t) => {
  const raw = solvePowerFlow(compileNetwork(ieee33Network()));
  t.true(Math.abs(raw.currentA[0]! - 210.364) < 0.01, `${raw.currentA[0]}`);
  t.is(Math.round((raw.currentA[0]! / 200) * 1000) / 10, 105.2);
  const r = solvePowerFlow(model.net, slotLoads(model, 50, baselines));
  const v = findViolations(model, r).filter((x) => x.kind === 'current');
  t.is(v.length, 1);
  t.like(v[0], { kind: 'current', from: 1, to: 2, feeder: 'Main', limitA: 200 });
  t.true(v[0]!.currentA > 200 && v[0]!.currentA < 215);
});

test('the request brings branch 1–2 within its limit to 0.01 A (independent power flow at the requested levels)', (t) => {
  const s = slotRequests(model, 50, baselines);
  const req = s.requests.find((r) => r.element === 'branch:1-2')!;
  t.truthy(req, JSON.stringify(s.unresolved));
  t.deepEqual(req.pods.map((p) => p.pod).sort(), DSOTP_PODS.map((p) => p.pod).sort());
  t.true(req.needKW < 0);
  const sumShares = req.pods.reduce((a, p) => a + p.share, 0);
  t.true(Math.abs(sumShares - 1) < 1e-12);
  const levels = new Map(baselines);
  for (const p of req.pods) levels.set(p.pod, baselines.get(p.pod)! + req.needKW * p.share);
  const total = [...levels.values()].reduce((a, x) => a + x, 0);
  t.true(Math.abs(total - req.levelKW) < 1e-9, 'the levels sum to the request level');
  const i = solvePowerFlow(model.net, ownLoads(model, levels)).currentA[branchOf(model, 1, 2)]!;
  t.true(i <= 200 && 200 - i <= 0.01, `I = ${i} A`);
  t.log(`need ${req.needKW.toFixed(3)} kW in ${req.iterations} power flows, I = ${i.toFixed(4)} A`);
  const d = requestDocument(DAY_START, req, { pPrice: 0.1, qPrice: 0.1 });
  t.deepEqual(d, {
    marketType: 'dayAhead',
    duration: 24,
    interval: 15,
    playerId: 'DSO',
    serviceType: 'DSO_request',
    playerServiceId: 'DSO:::dayAhead:::2021-06-23T12:30:00.000Z',
    startTime: '2021-06-22T22:00:00.000Z',
    flexibility: [
      { pod: req.pods.map((p) => p.pod), power: [{ index: 50, p: req.levelKW, pPrice: 0.1, q: null, qPrice: 0.1 }] },
    ],
  });
});

test('property: on random baselines and loads, every branch 1–2 request lands within 0.01 A below the limit', (t) => {
  let requests = 0;
  fc.assert(
    fc.property(
      fc.double({ min: 0.8, max: 1.6, noNaN: true }),
      fc.array(fc.double({ min: 0, max: 4, noNaN: true }), { minLength: 5, maxLength: 5 }),
      (scale, podScale) => {
        const d = dsotpTestModel({ loadScale: scale });
        const m = parseDsoModel(d);
        const b = new Map([...dsotpBaselinesKW(d)].map(([pod, kW], i) => [pod, kW * podScale[i]!]));
        const req = slotRequests(m, 0, b).requests.find((r) => r.element === 'branch:1-2');
        if (!req) return true;
        requests++;
        const levels = new Map(b);
        for (const p of req.pods) levels.set(p.pod, b.get(p.pod)! + req.needKW * p.share);
        const i = solvePowerFlow(m.net, ownLoads(m, levels)).currentA[0]!;
        return i <= 200 && 200 - i <= 0.01;
      },
    ),
    { numRuns: 40, seed: 12 },
  );
  t.true(requests > 10, `${requests} of 40 runs had an overload to relieve`);
});

test('an under-voltage gets a request on its feeder PoDs that lifts the bus to vMinPu', (t) => {
  const m = parseDsoModel({ ...doc, vMinPu: 0.92 });
  const s = slotRequests(m, 0, baselines);
  const v18 = s.requests.find((r) => r.element === 'bus:18');
  t.truthy(v18, JSON.stringify(s.unresolved.map((u) => u.element)));
  const levels = new Map(baselines);
  for (const p of v18!.pods) levels.set(p.pod, baselines.get(p.pod)! + v18!.needKW * p.share);
  const v = solvePowerFlow(m.net, ownLoads(m, levels)).vPu[m.net.busIndex.get('18')!]!;
  t.true(v >= 0.92 && v - 0.92 <= 1e-4, `V18 = ${v}`);
});

test('model keys: an unknown bus, a head branch that is not a branch, a bad profile length → NETWORK_INVALID naming the key', (t) => {
  const bad = (x: object, field: string): void => {
    const e = t.throws(() => parseDsoModel({ ...doc, ...x }));
    t.true(isLightNodeError(e, 'NETWORK_INVALID'), String(e));
    t.true(e.message.includes(field), e.message);
  };
  bad({ pom: { id: 'P', bus: 99 } }, 'pom.bus');
  bad({ pods: [{ pod: 'IT002E61899978', bus: 'x' }] }, 'pods.0.bus');
  bad({ feeders: [{ id: 'F', name: 'F', headBranch: { from: 1, to: 3 } }] }, 'feeders.0.headBranch');
  bad({ profiles: [{ bus: 4, pKW: [1, 2], qKvar: [1, 2] }] }, 'profiles.0.pKW');
  bad({ profiles: [{ bus: 77, pKW: Array(96).fill(1), qKvar: Array(96).fill(1) }] }, 'profiles.0.bus');
  bad({ surprise: 1 }, 'surprise');
});

test('profiles: a bus takes its slot value, the others their constant load', (t) => {
  const p = Array.from({ length: 96 }, (_, i) => (i === 10 ? 500 : 90));
  const m = parseDsoModel({ ...doc, profiles: [{ bus: 18, pKW: p, qKvar: p.map((x) => x / 2) }] });
  const l = slotLoads(m, 10, baselines);
  const i18 = m.net.busIndex.get('18')!;
  t.is(l.pKW[i18], 500);
  t.is(l.qKvar[i18], 250);
  t.is(slotLoads(m, 11, baselines).pKW[i18], 90);
  t.is(l.pKW[m.net.busIndex.get('17')!], 60);
  t.true(Math.abs(l.qKvar[m.net.busIndex.get('25')!]! - 420 * TAN_PHI_09) < 1e-9);
});

test('validation trims the TSO service that overloads branch 27–28 to a brute bisection ± 0.001 kW, dearest first', (t) => {
  const { m, limit, b2728 } = headroomOn2728(4);
  const [p7, p8, , p32] = DSOTP_PODS.map((p) => p.pod) as [string, string, string, string];
  const outcome = outcomeOf([
    { pod: p7, power: [svc(50, baselines.get(p7)! - 150, 0.03, 'DSO', 'A/7')] },
    { pod: p8, power: [svc(50, baselines.get(p8)! + 100, 0.09, 'TSO', 'A/8')] },
    {
      pod: p32,
      power: [
        svc(50, baselines.get(p32)! + 200, 0.07, 'TSO', 'A/32'),
        svc(50, baselines.get(p32)! - 10, 0.02, 'DSO', 'A/32d'),
      ],
    },
  ]);
  const r = validateOutcome(m, outcome, 'DA-2021-06-23', (pod) => baselines.get(pod));
  t.is(r.trims.length, 1, JSON.stringify(r.trims));
  t.like(r.trims[0], { pod: p32, playerServiceId: 'A/32', element: 'branch:27-28' });
  // the test's own bisection on PoD 32's TSO delta, everything else at its accepted level
  const lv = (delta: number): Map<string, number> =>
    new Map([
      ...baselines,
      [p7, baselines.get(p7)! - 150],
      [p8, baselines.get(p8)! + 100],
      [p32, baselines.get(p32)! - 10 + delta],
    ]);
  let lo = 0;
  let hi = 200;
  while (hi - lo > 1e-7) {
    const mid = (lo + hi) / 2;
    if (solvePowerFlow(m.net, ownLoads(m, lv(mid))).currentA[b2728]! <= limit) lo = mid;
    else hi = mid;
  }
  const trimmed = r.trims[0]!.validatedKW - baselines.get(p32)!;
  t.true(Math.abs(trimmed - lo) <= TRIM_TOLERANCE_KW, `${trimmed} vs ${lo}`);
  t.true(solvePowerFlow(m.net, ownLoads(m, lv(trimmed))).currentA[b2728]! <= limit);
  t.log(`trimmed A/32 from +200 to +${trimmed.toFixed(4)} kW (brute ${lo.toFixed(4)})`);
  const pod = (id: string) => r.technical.flexibility.find((f) => f.pod === id)!.power[0]!;
  t.deepEqual(pod(p7), {
    index: 50,
    acceptedPValue: baselines.get(p7)! - 150,
    acceptedP: 'OK',
    acceptedQValue: null,
    acceptedQ: null,
  });
  t.is(pod(p8).acceptedPValue, baselines.get(p8)! + 100, 'a service not below the new violation is not trimmed');
  t.true(Math.abs(pod(p32).acceptedPValue - (baselines.get(p32)! - 10 + trimmed)) < 1e-9);
  t.is(r.technical.marketOutcome, 'DA-2021-06-23');
  t.deepEqual(r.remaining, []);
});

test('validation rejects a service that has to go back to its baseline (REJECTED) and then trims the next', (t) => {
  const { m } = headroomOn2728(2);
  const p32 = DSOTP_PODS[3].pod;
  const p25 = DSOTP_PODS[2].pod;
  const outcome = outcomeOf([
    { pod: p32, power: [svc(50, baselines.get(p32)! + 300, 0.07, 'TSO', 'A/32')] },
    { pod: p25, power: [svc(50, baselines.get(p25)! + 50, 0.07, 'TSO', 'A/25')] },
  ]);
  const single = validateOutcome(m, outcome, 'DA-2021-06-23', (pod) => baselines.get(pod));
  t.is(single.trims.length, 1, 'bus 25 is not below 27–28: only A/32 is trimmed');
  const p31 = DSOTP_PODS[4].pod;
  const both = validateOutcome(
    m,
    {
      ...outcome,
      flexibility: [
        { pod: p31, power: [svc(50, baselines.get(p31)! + 300, 0.09, 'TSO', 'A/31')] },
        { pod: p32, power: [svc(50, baselines.get(p32)! + 300, 0.05, 'DSO', 'B/32')] },
      ],
    },
    'DA-2021-06-23',
    (pod) => baselines.get(pod),
  );
  t.is(both.trims.length, 2);
  t.like(
    both.trims[0],
    { playerServiceId: 'A/31', validatedKW: baselines.get(p31)! },
    'TSO first, cut to its baseline',
  );
  t.like(both.trims[1], { playerServiceId: 'B/32' });
  const level = (id: string) => both.technical.flexibility.find((f) => f.pod === id)!.power[0]!;
  t.like(level(p31), { acceptedPValue: baselines.get(p31)!, acceptedP: 'REJECTED' });
  t.is(level(p32).acceptedP, 'OK');
  t.true(level(p32).acceptedPValue > baselines.get(p32)! && level(p32).acceptedPValue < baselines.get(p32)! + 300);
});

/** The model with branch 27–28 limited to its current at the baselines + `headroomA`. */
function headroomOn2728(headroomA: number): { m: DsoModel; limit: number; b2728: number } {
  const probe = parseDsoModel(dsotpTestModel({ limits: { '27-28': 1e6 } }));
  const b2728 = branchOf(probe, 27, 28);
  const atBase = solvePowerFlow(probe.net, ownLoads(probe, baselines)).currentA[b2728]!;
  const limit = Math.round((atBase + headroomA) * 100) / 100;
  return { m: parseDsoModel(dsotpTestModel({ limits: { '27-28': limit } })), limit, b2728 };
}

function outcomeOf(flexibility: OutcomeInput['flexibility']): OutcomeInput {
  return { marketType: 'dayAhead', startTime: '2021-06-22T22:00:00.000Z', duration: 24, interval: 15, flexibility };
}

function svc(index: number, acceptedPValue: number, price: number, req: string, id: string) {
  return {
    index,
    acceptedPValue,
    acceptedPPrice: price,
    playerRequestId: req,
    playerOfferId: 'ACEAE',
    playerServiceId: id,
  };
}
