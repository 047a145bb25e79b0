/**
 * Radial power flow: backward/forward sweep with current summation over the parent pointers of a compiled network
 * (network.ts), O(n) per iteration, no allocation in the iteration (one workspace per network).
 *
 * Per unit on the file's baseMVA (three-phase) and baseKV (line-to-line): zBase = baseKV² / baseMVA; loads are
 * constant power, load convention; flat start at the slack voltage (angle 0); stop when max |ΔV| < tol (1e-9 p.u.)
 * between two forward sweeps, at most maxIter (100) iterations. Branch current per phase, A = |I| × iBase with
 * iBase = baseMVA·1e6 / (√3·baseKV·1e3); losses = Σ |I|²·(R + jX), three-phase.
 */
import { invalidField } from '@lightnode/protocols';
import { sweepData, type BusId, type RadialNetwork } from './network.js';

export {
  compileNetwork,
  loadNetwork,
  parseNetwork,
  type BusId,
  type NetworkFile,
  type RadialBranch,
  type RadialNetwork,
} from './network.js';

/** Per bus index, three-phase kW / kvar, load convention (positive = consumption). */
export interface Loads {
  pKW: Float64Array;
  qKvar: Float64Array;
}

export interface PowerFlowResult {
  converged: boolean;
  iterations: number;
  lossesKW: number;
  lossesKvar: number;
  minVoltagePu: number;
  minVoltageBus: BusId;
  vPu: Float64Array;
  angleDeg: Float64Array;
  currentA: Float64Array;
}

/** Fresh arrays with the file's loads. */
export function baseLoads(net: RadialNetwork): Loads {
  const pKW = new Float64Array(net.n);
  const qKvar = new Float64Array(net.n);
  net.file.buses.forEach((b, i) => {
    pKW[i] = b.pKW;
    qKvar[i] = b.qKvar;
  });
  return { pKW, qKvar };
}

const RAD_TO_DEG = 180 / Math.PI;

/** Solves the network with `loads` (default the file's). Not converging is `converged: false`, never a throw. */
export function solvePowerFlow(
  net: RadialNetwork,
  loads: Loads = baseLoads(net),
  o: { tol?: number; maxIter?: number } = {},
): PowerFlowResult {
  const { n, order } = net;
  if (loads.pKW.length !== n || loads.qKvar.length !== n)
    throw invalidField('NETWORK_INVALID', 'loads', `${n} values per array (one per bus)`, loads.pKW);
  const tol = o.tol ?? 1e-9;
  const maxIter = o.maxIter ?? 100;
  const { posParent, r, x, vr, vi, jr, ji, p, q } = sweepData(net);
  const kwPerPu = net.file.baseMVA * 1000;
  for (let k = 0; k < n; k++) {
    const b = order[k]!;
    p[k] = loads.pKW[b]! / kwPerPu;
    q[k] = loads.qKvar[b]! / kwPerPu;
  }
  const v0 = net.file.slackVoltagePu ?? 1;
  vr.fill(v0);
  vi.fill(0);
  const tol2 = tol * tol;
  let iterations = 0;
  let converged = false;
  while (iterations < maxIter) {
    iterations++;
    jr.fill(0);
    ji.fill(0);
    // backward: each bus's load current plus its subtree's (children come later in BFS order)
    for (let k = n - 1; k > 0; k--) {
      const a = vr[k]!;
      const b = vi[k]!;
      const m = a * a + b * b;
      const cr = jr[k]! + (p[k]! * a + q[k]! * b) / m;
      const ci = ji[k]! + (p[k]! * b - q[k]! * a) / m;
      jr[k] = cr;
      ji[k] = ci;
      const u = posParent[k]!;
      jr[u] = jr[u]! + cr;
      ji[u] = ji[u]! + ci;
    }
    // forward: V(child) = V(parent) − Z·J
    let worst = 0;
    for (let k = 1; k < n; k++) {
      const u = posParent[k]!;
      const cr = jr[k]!;
      const ci = ji[k]!;
      const nr = vr[u]! - (r[k]! * cr - x[k]! * ci);
      const ni = vi[u]! - (r[k]! * ci + x[k]! * cr);
      const dr = nr - vr[k]!;
      const di = ni - vi[k]!;
      const d2 = dr * dr + di * di;
      if (d2 > worst) worst = d2;
      vr[k] = nr;
      vi[k] = ni;
    }
    if (worst < tol2) {
      converged = true;
      break;
    }
    if (!(worst < Infinity)) break; // NaN or overflow: voltage collapse, no point iterating
  }
  return collect(net, converged, iterations);
}

function collect(net: RadialNetwork, converged: boolean, iterations: number): PowerFlowResult {
  const { n, order, branchOfBus, iBaseA } = net;
  const { r, x, vr, vi, jr, ji } = sweepData(net);
  const vPu = new Float64Array(n);
  const angleDeg = new Float64Array(n);
  const currentA = new Float64Array(net.branches.length);
  let lossP = 0;
  let lossQ = 0;
  let minV = Infinity;
  let minBus = net.slack;
  for (let k = 0; k < n; k++) {
    const b = order[k]!;
    const v = Math.sqrt(vr[k]! * vr[k]! + vi[k]! * vi[k]!);
    vPu[b] = v;
    angleDeg[b] = Math.atan2(vi[k]!, vr[k]!) * RAD_TO_DEG;
    if (v < minV || (v === minV && b < minBus)) {
      minV = v;
      minBus = b;
    }
    if (k === 0) continue;
    const i2 = jr[k]! * jr[k]! + ji[k]! * ji[k]!;
    lossP += i2 * r[k]!;
    lossQ += i2 * x[k]!;
    currentA[branchOfBus[b]!] = Math.sqrt(i2) * iBaseA;
  }
  const kwPerPu = net.file.baseMVA * 1000;
  return {
    converged,
    iterations,
    lossesKW: lossP * kwPerPu,
    lossesKvar: lossQ * kwPerPu,
    minVoltagePu: minV,
    minVoltageBus: net.file.buses[minBus]!.id,
    vPu,
    angleDeg,
    currentA,
  };
}

/** The `--json` document: the result's figures, then the buses and in-service branches in file order. */
export interface PowerFlowReport extends Pick<
  PowerFlowResult,
  'converged' | 'iterations' | 'lossesKW' | 'lossesKvar' | 'minVoltagePu' | 'minVoltageBus'
> {
  buses: { id: BusId; vPu: number; angleDeg: number }[];
  branches: { from: BusId; to: BusId; currentA: number; loadingPct?: number }[];
}

/** The `lightnode dsotp powerflow --json` document: buses in input order, in-service branches in input order. */
export function powerFlowReport(net: RadialNetwork, r: PowerFlowResult): PowerFlowReport {
  return {
    converged: r.converged,
    iterations: r.iterations,
    lossesKW: r.lossesKW,
    lossesKvar: r.lossesKvar,
    minVoltagePu: r.minVoltagePu,
    minVoltageBus: r.minVoltageBus,
    buses: net.file.buses.map((b, i) => ({ id: b.id, vPu: r.vPu[i]!, angleDeg: r.angleDeg[i]! })),
    branches: net.branches.map((b, i) => ({
      from: b.from,
      to: b.to,
      currentA: r.currentA[i]!,
      ...(b.ampacityA !== undefined ? { loadingPct: (100 * r.currentA[i]!) / b.ampacityA } : {}),
    })),
  };
}
