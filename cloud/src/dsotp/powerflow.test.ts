/**
 * The power flow against the published IEEE 33-bus results (Baran & Wu; cloud/data/ieee33/README.md), the
 * reconfigured feeder, a load sweep, and properties on random radial trees.
 */
import test from 'ava';
import fc from 'fast-check';
import { ieee33Network, solveDenseNewton } from '@lightnode/cloud/testing';
import {
  baseLoads,
  compileNetwork,
  powerFlowReport,
  solvePowerFlow,
  type NetworkFile,
  type PowerFlowResult,
} from './powerflow.js';

const RECONFIGURED = { open: [7, 9, 14, 32, 37], closed: [33, 34, 35, 36] };

test('IEEE 33 base case: losses, minimum voltage and the head branch current as published', (t) => {
  const net = compileNetwork(ieee33Network());
  const r = solvePowerFlow(net);
  t.true(r.converged);
  t.log(`converged in ${r.iterations} iterations`);
  t.true(Math.abs(r.lossesKW - 202.677) <= 0.01, `lossesKW ${r.lossesKW}`);
  t.true(Math.abs(r.lossesKvar - 135.141) <= 0.01, `lossesKvar ${r.lossesKvar}`);
  t.true(Math.abs(r.minVoltagePu - 0.91309) <= 1e-5, `Vmin ${r.minVoltagePu}`);
  t.is(r.minVoltageBus, 18);
  const head = net.branches.findIndex((b) => b.from === 1 && b.to === 2);
  t.true(Math.abs(r.currentA[head]! - 210.364) <= 0.01, `I(1–2) ${r.currentA[head]}`);
  t.is(r.vPu[net.slack], 1);
});

test('IEEE 33 reconfigured (7, 9, 14, 32, 37 open; ties 33–36 closed): 139.551 kW, Vmin 0.937819 at bus 32', (t) => {
  const r = solvePowerFlow(compileNetwork(ieee33Network(RECONFIGURED)));
  t.true(r.converged);
  t.true(Math.abs(r.lossesKW - 139.551) <= 0.01, `lossesKW ${r.lossesKW}`);
  t.true(Math.abs(r.minVoltagePu - 0.937819) <= 1e-5, `Vmin ${r.minVoltagePu}`);
  t.is(r.minVoltageBus, 32);
});

test('IEEE 33 loads ×0.25 … ×2 all converge, losses growing with the load', (t) => {
  const net = compileNetwork(ieee33Network());
  const base = baseLoads(net);
  let last = 0;
  for (const f of [0.25, 0.5, 1, 1.5, 2]) {
    const loads = { pKW: base.pKW.map((v) => v * f), qKvar: base.qKvar.map((v) => v * f) };
    const r = solvePowerFlow(net, loads);
    t.true(r.converged, `×${f}`);
    t.log(`loads ×${f}: ${r.iterations} iterations, ${r.lossesKW.toFixed(3)} kW, Vmin ${r.minVoltagePu.toFixed(6)}`);
    t.true(r.lossesKW > last);
    last = r.lossesKW;
  }
});

/** max over buses of |V_sweep − V_newton| (complex, p.u.) */
function newtonGap(f: NetworkFile): { gap: number; sweep: number; newton: number } {
  const net = compileNetwork(f);
  const r = solvePowerFlow(net);
  const nr = solveDenseNewton(net);
  if (!r.converged || !nr.converged) throw new Error('not converged');
  let gap = 0;
  for (let i = 0; i < net.n; i++) {
    const a = (r.angleDeg[i]! * Math.PI) / 180;
    const b = (nr.angleDeg[i]! * Math.PI) / 180;
    const dr = r.vPu[i]! * Math.cos(a) - nr.vPu[i]! * Math.cos(b);
    const di = r.vPu[i]! * Math.sin(a) - nr.vPu[i]! * Math.sin(b);
    gap = Math.max(gap, Math.hypot(dr, di));
  }
  return { gap, sweep: r.iterations, newton: nr.iterations };
}

test('an independent dense Newton–Raphson gives the same IEEE 33 voltages to 1e-8 (base and reconfigured)', (t) => {
  for (const f of [ieee33Network(), ieee33Network(RECONFIGURED), ieee33Network({ loadScale: 2 })]) {
    const { gap, sweep, newton } = newtonGap(f);
    t.log(`max |ΔV| ${gap.toExponential(2)} p.u. (sweep ${sweep} iterations, Newton ${newton})`);
    t.true(gap < 1e-8, `gap ${gap}`);
  }
});

/** A random radial tree: bus i > 0 hangs on a random earlier bus; ids shuffled strings/ints, branch ends random. */
const treeArb = fc
  .integer({ min: 2, max: 40 })
  .chain((n) =>
    fc.record({
      parents: fc.tuple(...Array.from({ length: n - 1 }, (_, i) => fc.integer({ min: 0, max: i }))),
      imp: fc.array(
        fc.tuple(fc.double({ min: 0.01, max: 0.5, noNaN: true }), fc.double({ min: 0, max: 0.5, noNaN: true })),
        {
          minLength: n - 1,
          maxLength: n - 1,
        },
      ),
      loads: fc.array(
        fc.tuple(fc.double({ min: -20, max: 50, noNaN: true }), fc.double({ min: -20, max: 40, noNaN: true })),
        {
          minLength: n,
          maxLength: n,
        },
      ),
      flips: fc.array(fc.boolean(), { minLength: n - 1, maxLength: n - 1 }),
      stringIds: fc.boolean(),
      slack: fc.integer({ min: 0, max: n - 1 }),
      seed: fc.integer(),
    }),
  )
  .map(({ parents, imp, loads, flips, stringIds, slack, seed }) => {
    const n = loads.length;
    const id = (i: number) => (stringIds ? `B${(i * 7919 + seed) % 100003}-${i}` : i * 3 + 1);
    // bus 0 of the tree is the slack: renumber so the slack sits anywhere in the file
    const fileOf = (k: number) => (k === 0 ? slack : k === slack ? 0 : k);
    const file: NetworkFile = {
      baseKV: 12.66,
      baseMVA: 10,
      slackBus: id(fileOf(0)),
      buses: Array.from({ length: n }, (_, i) => ({ id: id(i), pKW: loads[i]![0], qKvar: loads[i]![1] })),
      branches: parents.map((p, k) => {
        const [a, b] = [id(fileOf(p)), id(fileOf(k + 1))];
        return { from: flips[k] ? b : a, to: flips[k] ? a : b, rOhm: imp[k]![0], xOhm: imp[k]![1] };
      }),
    };
    return { file, seed };
  });

/** The slack's injection from the solved voltages and the branch admittances, kW / kvar. */
function slackInjection(f: NetworkFile, r: PowerFlowResult, index: (id: string | number) => number) {
  const zBase = (f.baseKV * f.baseKV) / f.baseMVA;
  const v = (i: number) => {
    const a = (r.angleDeg[i]! * Math.PI) / 180;
    return [r.vPu[i]! * Math.cos(a), r.vPu[i]! * Math.sin(a)] as const;
  };
  const s = index(f.slackBus);
  const [v0r, v0i] = v(s);
  let ir = 0;
  let ii = 0;
  for (const br of f.branches) {
    const [i, j] = [index(br.from), index(br.to)];
    if (i !== s && j !== s) continue;
    const [ur, ui] = v(i === s ? j : i);
    const [dr, di] = [v0r - ur, v0i - ui];
    const [zr, zi] = [br.rOhm / zBase, br.xOhm / zBase];
    const m = zr * zr + zi * zi;
    ir += (dr * zr + di * zi) / m;
    ii += (di * zr - dr * zi) / m;
  }
  // S = V·conj(I) into the branches, plus the slack bus's own load
  const k = f.baseMVA * 1000;
  const own = f.buses[s]!;
  return { p: (v0r * ir + v0i * ii) * k + own.pKW, q: (v0i * ir - v0r * ii) * k + own.qKvar };
}

test('random radial trees: slack injection = Σ loads + losses, and results do not depend on the branch order', (t) => {
  fc.assert(
    fc.property(treeArb, ({ file, seed }) => {
      const net = compileNetwork(file);
      const r = solvePowerFlow(net);
      if (!r.converged) return false;
      const index = (id: string | number) => net.busIndex.get(String(id))!;
      const inj = slackInjection(file, r, index);
      const sumP = file.buses.reduce((a, b) => a + b.pKW, 0);
      const sumQ = file.buses.reduce((a, b) => a + b.qKvar, 0);
      if (Math.abs(inj.p - (sumP + r.lossesKW)) > 1e-6) return false;
      if (Math.abs(inj.q - (sumQ + r.lossesKvar)) > 1e-6) return false;
      // shuffle the branch order (deterministic from the seed)
      const branches = [...file.branches];
      let x = seed >>> 0;
      for (let i = branches.length - 1; i > 0; i--) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        const j = x % (i + 1);
        [branches[i], branches[j]] = [branches[j]!, branches[i]!];
      }
      const net2 = compileNetwork({ ...file, branches });
      const r2 = solvePowerFlow(net2);
      if (!r2.converged || Math.abs(r2.lossesKW - r.lossesKW) > 1e-9) return false;
      for (let i = 0; i < net.n; i++) if (Math.abs(r2.vPu[i]! - r.vPu[i]!) > 1e-12) return false;
      const current = new Map(net.branches.map((b, i) => [`${b.from}|${b.to}`, r.currentA[i]!]));
      return net2.branches.every((b, i) => Math.abs(current.get(`${b.from}|${b.to}`)! - r2.currentA[i]!) < 1e-9);
    }),
    { numRuns: 300, seed: 12 },
  );
  t.pass();
});

test('powerFlowReport: string ids echoed, in-service branches in file order, loadingPct only where rated', (t) => {
  const f: NetworkFile = {
    baseKV: 20,
    baseMVA: 1,
    slackBus: 'S',
    buses: (['S', 'L1', 'L2'] as const).map((id, i) => ({ id, pKW: [0, 400, 200][i]!, qKvar: [0, 100, 50][i]! })),
    branches: [
      { from: 'L1', to: 'L2', rOhm: 1, xOhm: 0.5, ampacityA: 50 },
      { from: 'S', to: 'L2', rOhm: 1, xOhm: 1, inService: false },
      { from: 'S', to: 'L1', rOhm: 0.5, xOhm: 0.3 },
    ],
  };
  const net = compileNetwork(f);
  const doc = powerFlowReport(net, solvePowerFlow(net));
  t.deepEqual(
    doc.buses.map((b) => b.id),
    ['S', 'L1', 'L2'],
  );
  t.deepEqual(
    doc.branches.map((b) => [b.from, b.to, 'loadingPct' in b]),
    [
      ['L1', 'L2', true],
      ['S', 'L1', false],
    ],
  );
  // 600 kW + j150 kvar at ≈ 20 kV: ≈ 17.9 A on S–L1, ≈ 6 A on L1–L2
  t.true(Math.abs(doc.branches[1]!.currentA - 17.9) < 0.3, `${doc.branches[1]!.currentA}`);
  t.true(Math.abs(doc.branches[0]!.loadingPct! - (100 * doc.branches[0]!.currentA) / 50) < 1e-12);
  t.is(doc.minVoltageBus, 'L2');
});
