/**
 * `npm run -s bench -- powerflow [--json]`: the DSOTP radial power flow (backward/forward sweep) on synthetic MV
 * feeders of 1,000, 10,000 and 100,000 buses — time per solve (median), iterations, a day of 96 quarter-hour slots
 * on the 10,000-bus feeder — against a dense polar Newton–Raphson (full Jacobian, Gaussian elimination) on the
 * 1,000-bus feeder in the same run. Targets: ≤ 0.3 ms at 1k, ≤ 3 ms at 10k, 96 × 10k < 1 s (reported, never failed).
 */
import {
  baseLoads,
  compileNetwork,
  solvePowerFlow,
  type Loads,
  type NetworkFile,
  type RadialNetwork,
} from '@lightnode/cloud';
import { solveDenseNewton } from '@lightnode/cloud/testing';
import { prng } from '@lightnode/protocols/testing';
import { emit, type BenchResult } from './common.js';

const TRUNK_KM = 15;
const LATERAL_KM = 4;
const TOTAL_KW = 8000;

/**
 * A 20 kV feeder of `n` buses: a trunk of ⌈√n⌉ buses over 15 km (cable 0.125 + j0.10 Ω/km), laterals of random
 * length hanging off trunk buses, and sub-laterals off lateral buses (overhead 0.30 + j0.35 Ω/km, ≤ 4 km per
 * lateral); 8 MW total at power factor 0.95–0.98, spread over the non-slack buses (0.5–1.5 × the mean).
 */
export function syntheticFeeder(n: number, seed = 20261202): NetworkFile {
  const rnd = prng(seed);
  const trunk = Math.max(2, Math.ceil(Math.sqrt(n)));
  const parent = new Int32Array(n).fill(-1);
  const km = new Float64Array(n);
  const overhead = new Uint8Array(n);
  for (let b = 1; b <= Math.min(trunk, n - 1); b++) {
    parent[b] = b - 1;
    km[b] = TRUNK_KM / trunk;
  }
  const lateralBuses: number[] = [];
  let next = trunk + 1;
  while (next < n) {
    const sub = lateralBuses.length > 0 && rnd() < 0.3;
    let at = sub ? lateralBuses[Math.floor(rnd() * lateralBuses.length)]! : 1 + Math.floor(rnd() * trunk);
    const len = Math.min(n - next, 1 + Math.floor(rnd() * 2 * trunk));
    const seg = LATERAL_KM / (2 * trunk);
    for (let i = 0; i < len; i++, next++) {
      parent[next] = at;
      km[next] = seg * (0.5 + rnd());
      overhead[next] = 1;
      if (!sub) lateralBuses.push(next);
      at = next;
    }
  }
  const weights = Array.from({ length: n }, (_, b) => (b === 0 ? 0 : 0.5 + rnd()));
  const scale = TOTAL_KW / weights.reduce((a, w) => a + w, 0);
  return {
    baseKV: 20,
    baseMVA: 10,
    slackBus: 0,
    slackVoltagePu: 1.02,
    buses: weights.map((w, b) => {
      const p = w * scale;
      const pf = 0.95 + 0.03 * rnd();
      return { id: b, pKW: p, qKvar: p * Math.tan(Math.acos(pf)) };
    }),
    branches: Array.from({ length: n - 1 }, (_, i) => {
      const b = i + 1;
      const [r, x] = overhead[b] ? [0.3, 0.35] : [0.125, 0.1];
      return { from: parent[b]!, to: b, rOhm: r * km[b]!, xOhm: x * km[b]!, ampacityA: overhead[b] ? 200 : 400 };
    }),
  };
}

/** A residential-and-commercial daily shape, 96 quarter hours, relative to the peak (night 0.39, 1.0 at 19:00). */
export function dailyProfile(): Float64Array {
  const p = new Float64Array(96);
  for (let s = 0; s < 96; s++) {
    const h = s / 4;
    const morning = 0.25 * Math.exp(-(((h - 8) / 1.5) ** 2));
    const midday = 0.2 * Math.exp(-(((h - 13) / 2.5) ** 2));
    const evening = 0.55 * Math.exp(-(((h - 19) / 2) ** 2));
    p[s] = 0.35 + morning + midday + evening;
  }
  const max = Math.max(...p);
  return p.map((v) => v / max);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Median ms per solve over `reps` timed solves (after a warm-up), and the iterations of one solve. */
function timeSolves(
  net: RadialNetwork,
  reps: number,
): { ms: number; cpuMs: number; iterations: number; lossesKW: number } {
  const loads = baseLoads(net);
  for (let i = 0; i < Math.min(reps, 50); i++) solvePowerFlow(net, loads);
  const times: number[] = [];
  let last = solvePowerFlow(net, loads);
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    last = solvePowerFlow(net, loads);
    times.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  if (!last.converged) throw new Error(`the ${net.n}-bus feeder did not converge`);
  return {
    ms: median(times),
    cpuMs: (cpu.user + cpu.system) / 1000 / reps,
    iterations: last.iterations,
    lossesKW: last.lossesKW,
  };
}

/** The 96 slots of a day on one feeder: each slot's loads = base × profile, then a solve; total ms. */
function timeDay(net: RadialNetwork): { ms: number; maxIterations: number } {
  const base = baseLoads(net);
  const loads: Loads = { pKW: new Float64Array(net.n), qKvar: new Float64Array(net.n) };
  const profile = dailyProfile();
  const day = () => {
    let maxIterations = 0;
    for (let s = 0; s < 96; s++) {
      const k = profile[s]!;
      for (let b = 0; b < net.n; b++) {
        loads.pKW[b] = base.pKW[b]! * k;
        loads.qKvar[b] = base.qKvar[b]! * k;
      }
      const r = solvePowerFlow(net, loads);
      if (!r.converged) throw new Error(`slot ${s} did not converge`);
      maxIterations = Math.max(maxIterations, r.iterations);
    }
    return maxIterations;
  };
  day(); // warm-up
  const times: number[] = [];
  let maxIterations = 0;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    maxIterations = day();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), maxIterations };
}

export async function main(args: string[]): Promise<number> {
  const results: BenchResult[] = [];
  const sizes = [
    { n: 1_000, reps: 2000 },
    { n: 10_000, reps: 300 },
    { n: 100_000, reps: 40 },
  ];
  const perBus: Record<number, number> = {};
  const nets: Record<number, RadialNetwork> = {};
  for (const { n, reps } of sizes) {
    const t0 = performance.now();
    const net = compileNetwork(syntheticFeeder(n));
    const compileMs = performance.now() - t0;
    nets[n] = net;
    const r = timeSolves(net, reps);
    perBus[n] = r.ms / n;
    const k = n >= 1000 ? `${n / 1000}k` : `${n}`;
    results.push(
      { name: `sweep ${k} buses: time per solve (median of ${reps})`, value: r.ms, unit: 'ms' },
      { name: `sweep ${k} buses: CPU time per solve (mean)`, value: r.cpuMs, unit: 'ms' },
      { name: `sweep ${k} buses: iterations`, value: r.iterations, unit: '' },
      { name: `sweep ${k} buses: losses`, value: r.lossesKW, unit: 'kW' },
      { name: `compile ${k} buses (checks, tree, workspace)`, value: compileMs, unit: 'ms' },
    );
  }
  const day = timeDay(nets[10_000]!);
  results.push(
    { name: '96 slots × 10k buses: total (median of 5 days)', value: day.ms, unit: 'ms' },
    { name: '96 slots × 10k buses: most iterations in a slot', value: day.maxIterations, unit: '' },
  );
  // the baseline: dense Newton–Raphson on the 1k feeder, solved once (O(n³) per iteration)
  const net1k = nets[1_000]!;
  const t0 = performance.now();
  const nr = solveDenseNewton(net1k);
  const nrMs = performance.now() - t0;
  const sweep = solvePowerFlow(net1k);
  let gap = 0;
  for (let i = 0; i < net1k.n; i++) {
    const a = (sweep.angleDeg[i]! * Math.PI) / 180;
    const b = (nr.angleDeg[i]! * Math.PI) / 180;
    gap = Math.max(
      gap,
      Math.hypot(
        sweep.vPu[i]! * Math.cos(a) - nr.vPu[i]! * Math.cos(b),
        sweep.vPu[i]! * Math.sin(a) - nr.vPu[i]! * Math.sin(b),
      ),
    );
  }
  results.push(
    { name: 'dense Newton–Raphson 1k buses: time per solve', value: nrMs, unit: 'ms' },
    { name: 'dense Newton–Raphson 1k buses: iterations', value: nr.iterations, unit: '' },
    { name: 'max |V sweep − V Newton| at 1k', value: gap, unit: 'p.u.' },
  );
  emit(
    {
      bench: 'powerflow',
      command: 'npm run -s bench -- powerflow',
      dataset:
        'synthetic 20 kV radial feeders (seed 20261202): trunk of √n buses over 15 km, laterals and sub-laterals, 8 MW at PF 0.95–0.98; 1k, 10k, 100k buses; day = 96 slots of a daily load profile',
      results,
      ratios: {
        denseNrOverSweep1k: nrMs / (perBus[1_000]! * 1_000),
        linearity100k: perBus[1_000]! / perBus[100_000]!,
      },
    },
    args,
  );
  return nr.converged && gap < 1e-6 ? 0 : 1;
}
