/**
 * Calibration of the synthetic Tor di Valle model (README.md beside this file): the topology, cables and limits are
 * fixed here; four loads are solved, through the DSOTP's own functions (`parseDsoModel`, `slotLoads`,
 * `solvePowerFlow`, `slotRequests`, `clearMarket`), so that the model reproduces the run's figures:
 * - Mostacciano: the PV output at 12:30 and the background load scale → head current at the baselines 259.54 A and
 *   the DSO request's level 5771.039299061133 kW (2-D Newton, finite-difference Jacobian);
 * - Nanchino: the load of the lateral's substation and the background load scale → the lateral reaches its 19.60 A
 *   at IT002E60550189 = 207.6620935799721 kW and carries 30.07 A at the market's 342.128 kW.
 * `node hw-test/dist/demo/tor-di-valle/calibrate.js` (after `npx tsc -b`) writes
 * network.json in the source tree.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { clearMarket, parseDsoModel, slotLoads, slotRequests, solvePowerFlow, type DsoModel } from '@lightnode/cloud';
import {
  TDV_SLOT,
  TDV_SLOTS,
  TOR_DI_VALLE,
  TOR_DI_VALLE_NETWORK,
  baselinesKW,
  pvShape,
  torDiValleSession,
} from './scenario.js';

/** The figures the model is calibrated to. */
export const TARGETS = {
  mostacciano: { headA: 259.54, limitA: 212.8, dsoLevelkW: TOR_DI_VALLE.dsoRequest.pkW },
  nanchino: { afterMarketA: 30.07, limitA: 19.6, validatedkW: 207.6620935799721 },
} as const;

export interface CalibrationParams {
  /** Mostacciano PV output at slot 50 (kW, two plants sharing it). */
  pvKW: number;
  /** Scale of Mostacciano's background loads (×300/300/200 kW, cosφ 0.95). */
  mostBg: number;
  /** Scale of Nanchino's background loads (×1200/800 kW, cosφ 0.9). */
  nanBg: number;
  /** Load of substation NL on the lateral towards IT002E60550189 (kW, cosφ 0.9). */
  lateralKW: number;
}

const BASE_KV = 8.4;
const tan = (cosPhi: number): number => Math.tan(Math.acos(cosPhi));
const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const load = (id: string, kW: number, cosPhi: number) => ({ id, pKW: kW, qKvar: kW * tan(cosPhi) });
/** A cable of `km` km: R, X in ohm/km. */
const cable = (from: string, to: string, km: number, ohmKm: [number, number], ampacityA: number) => ({
  from,
  to,
  rOhm: r3(km * ohmKm[0]),
  xOhm: r3(km * ohmKm[1]),
  ampacityA,
});
/**
 * Conductors, R and X in Ω/km: 3×1×240 mm² Al cable (0.125, 0.10), 3×1×150 mm² Al (0.206, 0.11), 3×1×400 mm² Al
 * (0.078, 0.095), a 50 mm² Cu overhead section (0.39, 0.35).
 */
const AL240: [number, number] = [0.125, 0.1];
const AL150: [number, number] = [0.206, 0.11];
const AL400: [number, number] = [0.078, 0.095];
const CU50: [number, number] = [0.39, 0.35];

/** The model document for the given calibration parameters. */
export function tdvNetwork(c: CalibrationParams) {
  const pv = Array.from({ length: TDV_SLOTS }, (_, k) => (-c.pvKW / 2) * pvShape(k));
  const zeros = pv.map(() => 0);
  return {
    name: 'Tor di Valle (synthetic, calibrated)',
    description:
      'Synthetic 8.4 kV model of the Mostacciano and Nanchino feeders of the Tor di Valle primary substation, ' +
      'calibrated by hw-test/src/demo/tor-di-valle/calibrate.ts to the figures of the Platone field test (June 2021). ' +
      'Not the real network.',
    baseKV: BASE_KV,
    baseMVA: 10,
    slackBus: 'TDV',
    slackVoltagePu: 1,
    buses: [
      { id: 'TDV', pKW: 0, qKvar: 0 },
      load('M1', 300 * c.mostBg, 0.95),
      { id: 'PV-M1', pKW: 0, qKvar: 0 },
      { id: '80598', pKW: 0, qKvar: 0 },
      load('M2', 300 * c.mostBg, 0.95),
      { id: 'PV-M2', pKW: 0, qKvar: 0 },
      { id: '80586', pKW: 0, qKvar: 0 },
      load('M3', 200 * c.mostBg, 0.95),
      { id: '81823', pKW: 0, qKvar: 0 },
      load('N1', 1200 * c.nanBg, 0.9),
      load('N2', 800 * c.nanBg, 0.9),
      { id: '12150', pKW: 0, qKvar: 0 },
      load('NL', c.lateralKW, 0.9),
      { id: '12157', pKW: 0, qKvar: 0 },
    ],
    branches: [
      cable('TDV', 'M1', 2.0, AL150, TARGETS.mostacciano.limitA),
      cable('M1', 'PV-M1', 0.5, AL240, 320),
      cable('M1', '80598', 0.8, AL240, 320),
      cable('M1', 'M2', 1.6, AL400, 470),
      cable('M2', 'PV-M2', 0.5, AL240, 320),
      cable('M2', '80586', 0.3, AL240, 450),
      cable('M2', 'M3', 1.4, AL240, 400),
      cable('M3', '81823', 1.0, AL240, 320),
      cable('TDV', 'N1', 3.0, AL240, 360),
      cable('N1', 'N2', 2.5, AL240, 360),
      cable('N2', '12150', 0.4, AL240, 200),
      cable('N2', 'NL', 1.2, CU50, TARGETS.nanchino.limitA),
      cable('NL', '12157', 0.3, AL240, 200),
    ],
    pom: { id: TOR_DI_VALLE.pom, bus: 'TDV' },
    feeders: [
      { id: 'MOSTACCIANO', name: 'Mostacciano', headBranch: { from: 'TDV', to: 'M1' } },
      { id: 'NANCHINO', name: 'Nanchino', headBranch: { from: 'TDV', to: 'N1' } },
    ],
    pods: [
      { pod: 'IT002E61899978', bus: '81823' },
      { pod: 'IT002E60976796', bus: '80598' },
      { pod: 'IT002E60974469', bus: '80586' },
      { pod: 'IT002E60499620', bus: '12150' },
      { pod: 'IT002E60550189', bus: '12157' },
    ],
    vMinPu: 0.9,
    vMaxPu: 1.1,
    podCosPhi: 0.9,
    profiles: [
      { bus: 'PV-M1', pKW: pv, qKvar: zeros },
      { bus: 'PV-M2', pKW: pv, qKvar: zeros },
    ],
  };
}

const branchOf = (m: DsoModel, from: string, to: string): number =>
  m.net.branches.findIndex((b) => b.from === from && b.to === to);

/** The current of branch from–to at slot 50 with the given PoD levels (kW). */
export function currentA(m: DsoModel, from: string, to: string, levels: ReadonlyMap<string, number>): number {
  return solvePowerFlow(m.net, slotLoads(m, TDV_SLOT, levels)).currentA[branchOf(m, from, to)]!;
}

/** The PoD levels of the market's outcome (clearMarket on the reference session), the others at their baseline. */
export function marketLevels(): Map<string, number> {
  const levels = baselinesKW(TDV_SLOT);
  for (const f of clearMarket(torDiValleSession()).flexibility)
    for (const p of f.power) if (p.index === TDV_SLOT) levels.set(f.pod, p.acceptedPValue);
  return levels;
}

/** The Mostacciano residuals: head current at the baselines − 259.54 A, DSO level − 5771.039299 kW. */
function mostResiduals(c: CalibrationParams): [number, number] {
  const m = parseDsoModel(tdvNetwork(c));
  const base = baselinesKW(TDV_SLOT);
  const req = slotRequests(m, TDV_SLOT, base).requests.find((r) => r.violation.feeder === 'Mostacciano');
  return [
    currentA(m, 'TDV', 'M1', base) - TARGETS.mostacciano.headA,
    (req?.levelKW ?? Number.NaN) - TARGETS.mostacciano.dsoLevelkW,
  ];
}

/**
 * The level of IT002E60550189 (others at the market's levels) at which the lateral N2–NL carries exactly its limit,
 * by bisection to 1e-9 kW over the power flow (the validation's own bisection stops 0.001 kW below it).
 */
export function lateralCrossingKW(m: DsoModel, levels: ReadonlyMap<string, number>): number {
  const at = (kW: number): number => currentA(m, 'N2', 'NL', new Map(levels).set('IT002E60550189', kW));
  let lo = 0;
  let hi = 2000;
  while (hi - lo > 1e-9) {
    const mid = (lo + hi) / 2;
    if (at(mid) > TARGETS.nanchino.limitA) hi = mid;
    else lo = mid;
  }
  return lo;
}

/** The Nanchino residuals: crossing − (207.662… + 0.0005) kW, lateral current at the market levels − 30.07 A. */
function nanResiduals(c: CalibrationParams): [number, number] {
  const m = parseDsoModel(tdvNetwork(c));
  const levels = marketLevels();
  return [
    lateralCrossingKW(m, levels) - (TARGETS.nanchino.validatedkW + 0.0005),
    currentA(m, 'N2', 'NL', levels) - TARGETS.nanchino.afterMarketA,
  ];
}

/** 2-D Newton on two parameters of `c` (finite-difference Jacobian, relative step `h`). */
function newton2(
  c: CalibrationParams,
  keys: [keyof CalibrationParams, keyof CalibrationParams],
  f: (c: CalibrationParams) => [number, number],
  tol: [number, number],
  h: [number, number],
): CalibrationParams {
  let x = { ...c };
  for (let it = 0; it < 40; it++) {
    const f0 = f(x);
    if (Math.abs(f0[0]) < tol[0] && Math.abs(f0[1]) < tol[1]) return x;
    const col = (i: 0 | 1): [number, number] => {
      const y = { ...x, [keys[i]]: x[keys[i]] + h[i] };
      const fy = f(y);
      return [(fy[0] - f0[0]) / h[i], (fy[1] - f0[1]) / h[i]];
    };
    const [a, b] = [col(0), col(1)];
    const det = a[0] * b[1] - b[0] * a[1];
    const d0 = (f0[0] * b[1] - b[0] * f0[1]) / det;
    const d1 = (a[0] * f0[1] - f0[0] * a[1]) / det;
    x = { ...x, [keys[0]]: x[keys[0]] - d0, [keys[1]]: x[keys[1]] - d1 };
  }
  throw new Error(`calibration of ${keys.join('/')} did not converge: ${JSON.stringify(x)} → ${f(x).join(', ')}`);
}

/** Solves the four parameters from a start point. */
export function calibrate(start: CalibrationParams = { pvKW: 7000, mostBg: 0.4, nanBg: 1, lateralKW: 44 }) {
  const most = newton2(start, ['pvKW', 'mostBg'], mostResiduals, [1e-6, 1e-6], [1, 0.01]);
  return newton2(most, ['nanBg', 'lateralKW'], nanResiduals, [1e-6, 1e-6], [0.01, 0.1]);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const c = calibrate();
  writeFileSync(TOR_DI_VALLE_NETWORK, JSON.stringify(tdvNetwork(c), null, 2) + '\n');
  console.log(`calibrated ${JSON.stringify(c)}\nwrote ${TOR_DI_VALLE_NETWORK}`);
}
