/**
 * The textbook reference the sweep is checked and benchmarked against: a dense Newton–Raphson power flow in polar
 * coordinates (full bus admittance matrix, full Jacobian, Gaussian elimination with partial pivoting on a
 * Float64Array). O(n³) per iteration: for tests and the bench baseline, not for production.
 */
import { baseLoads, type Loads } from './powerflow.js';
import type { RadialNetwork } from './network.js';

export interface NewtonResult {
  converged: boolean;
  iterations: number;
  /** per bus index */
  vPu: Float64Array;
  angleDeg: Float64Array;
}

/** Solves A·x = b in place (A row-major n×n, destroyed; b becomes x). */
function gaussSolve(a: Float64Array, b: Float64Array, n: number): void {
  for (let k = 0; k < n; k++) {
    let piv = k;
    let best = Math.abs(a[k * n + k]!);
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(a[i * n + k]!);
      if (v > best) {
        best = v;
        piv = i;
      }
    }
    if (piv !== k) {
      for (let j = 0; j < n; j++) {
        const t = a[k * n + j]!;
        a[k * n + j] = a[piv * n + j]!;
        a[piv * n + j] = t;
      }
      const t = b[k]!;
      b[k] = b[piv]!;
      b[piv] = t;
    }
    const d = a[k * n + k]!;
    for (let i = k + 1; i < n; i++) {
      const f = a[i * n + k]! / d;
      const ri = i * n;
      const rk = k * n;
      for (let j = k; j < n; j++) a[ri + j] = a[ri + j]! - f * a[rk + j]!;
      b[i] = b[i]! - f * b[k]!;
    }
  }
  for (let k = n - 1; k >= 0; k--) {
    let s = b[k]!;
    for (let j = k + 1; j < n; j++) s -= a[k * n + j]! * b[j]!;
    b[k] = s / a[k * n + k]!;
  }
}

/** Dense polar Newton–Raphson on the in-service branches; stops when max |mismatch| < tol (p.u.). */
export function solveDenseNewton(
  net: RadialNetwork,
  loads: Loads = baseLoads(net),
  o: { tol?: number; maxIter?: number } = {},
): NewtonResult {
  const f = net.file;
  const n = net.n;
  const zBase = (f.baseKV * f.baseKV) / f.baseMVA;
  const g = new Float64Array(n * n);
  const bm = new Float64Array(n * n);
  for (const br of f.branches) {
    if (br.inService === false) continue;
    const i = net.busIndex.get(String(br.from))!;
    const j = net.busIndex.get(String(br.to))!;
    const r = br.rOhm / zBase;
    const x = br.xOhm / zBase;
    const m = r * r + x * x;
    const gy = r / m;
    const by = -x / m;
    g[i * n + i] = g[i * n + i]! + gy;
    g[j * n + j] = g[j * n + j]! + gy;
    g[i * n + j] = g[i * n + j]! - gy;
    g[j * n + i] = g[j * n + i]! - gy;
    bm[i * n + i] = bm[i * n + i]! + by;
    bm[j * n + j] = bm[j * n + j]! + by;
    bm[i * n + j] = bm[i * n + j]! - by;
    bm[j * n + i] = bm[j * n + i]! - by;
  }
  const kwPerPu = f.baseMVA * 1000;
  // unknowns: angle then magnitude of every bus but the slack
  const idx: number[] = [];
  for (let i = 0; i < n; i++) if (i !== net.slack) idx.push(i);
  const m = idx.length;
  const vm = new Float64Array(n).fill(f.slackVoltagePu ?? 1);
  const va = new Float64Array(n);
  const pCalc = new Float64Array(n);
  const qCalc = new Float64Array(n);
  const jac = new Float64Array(4 * m * m);
  const rhs = new Float64Array(2 * m);
  const tol = o.tol ?? 1e-11;
  const maxIter = o.maxIter ?? 20;
  const injections = () => {
    let worst = 0;
    for (let i = 0; i < n; i++) {
      let p = 0;
      let q = 0;
      for (let j = 0; j < n; j++) {
        const gij = g[i * n + j]!;
        const bij = bm[i * n + j]!;
        if (gij === 0 && bij === 0) continue;
        const t = va[i]! - va[j]!;
        const c = Math.cos(t);
        const s = Math.sin(t);
        p += vm[j]! * (gij * c + bij * s);
        q += vm[j]! * (gij * s - bij * c);
      }
      pCalc[i] = vm[i]! * p;
      qCalc[i] = vm[i]! * q;
    }
    for (let a = 0; a < m; a++) {
      const i = idx[a]!;
      rhs[a] = -loads.pKW[i]! / kwPerPu - pCalc[i]!;
      rhs[m + a] = -loads.qKvar[i]! / kwPerPu - qCalc[i]!;
      worst = Math.max(worst, Math.abs(rhs[a]!), Math.abs(rhs[m + a]!));
    }
    return worst;
  };
  let iterations = 0;
  let converged = injections() < tol;
  const w = 2 * m;
  while (!converged && iterations < maxIter) {
    iterations++;
    jac.fill(0);
    for (let a = 0; a < m; a++) {
      const i = idx[a]!;
      for (let c = 0; c < m; c++) {
        const j = idx[c]!;
        const gij = g[i * n + j]!;
        const bij = bm[i * n + j]!;
        if (i === j) {
          const vi = vm[i]!;
          jac[a * w + c] = -qCalc[i]! - bij * vi * vi; // ∂P/∂θ
          jac[a * w + m + c] = pCalc[i]! / vi + gij * vi; // ∂P/∂V
          jac[(m + a) * w + c] = pCalc[i]! - gij * vi * vi; // ∂Q/∂θ
          jac[(m + a) * w + m + c] = qCalc[i]! / vi - bij * vi; // ∂Q/∂V
          continue;
        }
        if (gij === 0 && bij === 0) continue;
        const t = va[i]! - va[j]!;
        const cs = Math.cos(t);
        const sn = Math.sin(t);
        const e1 = gij * sn - bij * cs;
        const e2 = gij * cs + bij * sn;
        jac[a * w + c] = vm[i]! * vm[j]! * e1;
        jac[a * w + m + c] = vm[i]! * e2;
        jac[(m + a) * w + c] = -vm[i]! * vm[j]! * e2;
        jac[(m + a) * w + m + c] = vm[i]! * e1;
      }
    }
    gaussSolve(jac, rhs, w);
    for (let a = 0; a < m; a++) {
      const i = idx[a]!;
      va[i] = va[i]! + rhs[a]!;
      vm[i] = vm[i]! + rhs[m + a]!;
    }
    converged = injections() < tol;
  }
  return { converged, iterations, vPu: vm, angleDeg: va.map((v) => (v * 180) / Math.PI) };
}
