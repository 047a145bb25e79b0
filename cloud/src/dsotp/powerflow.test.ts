/**
 * The power flow against the published IEEE 33-bus results (Baran & Wu; cloud/data/ieee33/README.md), the
 * reconfigured feeder, a load sweep, and properties on random radial trees.
 */
import test from 'ava';
import { ieee33Network } from '@lightnode/cloud/testing';
import { baseLoads, compileNetwork, solvePowerFlow } from './powerflow.js';

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
