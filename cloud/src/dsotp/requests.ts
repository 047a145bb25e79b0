/**
 * Flexibility requests. Per slot, at the PoDs' SCD baselines, every violated element gets one request:
 * - its flexible PoDs: for a branch, the PoDs on buses below it (its child's subtree); for a bus voltage, the PoDs
 *   of the bus's feeder (all the network's PoDs when the bus is on no feeder); only PoDs with a baseline for the slot;
 * - the sensitivity of the element's excess (current − limit, V − vMax, vMin − V) to each PoD's P, numerical: one
 *   extra power flow per PoD with its level raised by `SENSITIVITY_STEP_KW`;
 * - the need distributed over the PoDs in proportion to their sensitivities (share_k = s_k / Σ s; PoDs whose
 *   sensitivity is zero or of the other sign than Σ s take no share and are left out of the request), so that the
 *   PoDs that relieve the element most move most;
 * - the need found by Newton's method on the scalar need (first slope Σ share_k·s_k, then secant slopes), each step
 *   one power flow, until the excess is in [−tolerance, 0] (0.01 A for currents, 1e-4 p.u. for voltages).
 * Request level = Σ baselines of the request's PoDs + need, posted in the Platone shape (`requestDocument`).
 */
import { romeTime } from '@lightnode/protocols';
import { feederOfBus, isBelow, slotLoads, type DsoModel } from './model.js';
import { solvePowerFlow, type PowerFlowResult } from './powerflow.js';
import { elementKey, findViolations, type Violation } from './violations.js';

export const SENSITIVITY_STEP_KW = 1;
export const CURRENT_TOLERANCE_A = 0.01;
export const VOLTAGE_TOLERANCE_PU = 1e-4;
const MAX_ITERATIONS = 60;

/** Solves slot `slot` at the given PoD levels (kW). */
export function solveSlot(m: DsoModel, slot: number, levelsKW: ReadonlyMap<string, number>): PowerFlowResult {
  return solvePowerFlow(m.net, slotLoads(m, slot, levelsKW));
}

/** The element's excess over its limit (> 0 violated): current − limit (A), V − vMax or vMin − V (p.u.). */
export function excess(m: DsoModel, v: Violation, r: PowerFlowResult): number {
  if (v.kind === 'current') return r.currentA[v.branch]! - v.limitA;
  const vPu = r.vPu[v.bus]!;
  return v.limitPu === m.vMinPu ? m.vMinPu - vPu : vPu - m.vMaxPu;
}

/** The PoDs that may relieve the element (see the module comment), among those with a level in `baselinesKW`. */
export function flexiblePods(m: DsoModel, v: Violation, baselinesKW: ReadonlyMap<string, number>): string[] {
  const feeder = v.kind === 'voltage' ? feederOfBus(m, v.bus) : undefined;
  return m.pods
    .filter((p) => baselinesKW.has(p.pod))
    .filter((p) =>
      v.kind === 'current' ? isBelow(m, v.branch, p.bus) : !feeder || feederOfBus(m, p.bus)?.id === feeder.id,
    )
    .map((p) => p.pod);
}

export interface ElementRequest {
  slot: number;
  element: string;
  violation: Violation;
  /** The request's PoDs with their sensitivity (excess per kW) and share of the need. */
  pods: { pod: string; sensitivity: number; share: number }[];
  baselineKW: number;
  needKW: number;
  /** Σ baselines + need. */
  levelKW: number;
  /** The element's value at the request level, distributed by shares (A or p.u.). */
  valueAfter: number;
  iterations: number;
}

export interface UnresolvedElement {
  slot: number;
  element: string;
  violation: Violation;
  reason: string;
}

export interface SlotRequests {
  slot: number;
  result: PowerFlowResult;
  violations: Violation[];
  requests: ElementRequest[];
  unresolved: UnresolvedElement[];
  /** false: the power flow at the baselines did not converge (no violations or requests computed). */
  converged: boolean;
}

/** The PoD levels with `needKW` distributed by shares. */
export function distribute(
  baselinesKW: ReadonlyMap<string, number>,
  pods: readonly { pod: string; share: number }[],
  needKW: number,
): Map<string, number> {
  const out = new Map(baselinesKW);
  for (const p of pods) out.set(p.pod, baselinesKW.get(p.pod)! + needKW * p.share);
  return out;
}

function valueOf(v: Violation, r: PowerFlowResult): number {
  return v.kind === 'current' ? r.currentA[v.branch]! : r.vPu[v.bus]!;
}

/** One element's request, or why there is none. */
export function elementRequest(
  m: DsoModel,
  slot: number,
  v: Violation,
  baselinesKW: ReadonlyMap<string, number>,
  base: PowerFlowResult,
): ElementRequest | UnresolvedElement {
  const element = elementKey(m, v);
  const tol = v.kind === 'current' ? CURRENT_TOLERANCE_A : VOLTAGE_TOLERANCE_PU;
  const e0 = excess(m, v, base);
  const sens = flexiblePods(m, v, baselinesKW).map((pod) => {
    const lv = new Map(baselinesKW);
    lv.set(pod, baselinesKW.get(pod)! + SENSITIVITY_STEP_KW);
    return { pod, sensitivity: (excess(m, v, solveSlot(m, slot, lv)) - e0) / SENSITIVITY_STEP_KW };
  });
  const sum = sens.reduce((a, s) => a + s.sensitivity, 0);
  const kept = sens.filter((s) => Math.abs(s.sensitivity) > 1e-12 && Math.sign(s.sensitivity) === Math.sign(sum));
  const keptSum = kept.reduce((a, s) => a + s.sensitivity, 0);
  if (kept.length === 0 || keptSum === 0)
    return { slot, element, violation: v, reason: 'no flexible PoD with a baseline below the element' };
  const pods = kept.map((s) => ({ ...s, share: s.sensitivity / keptSum }));
  const target = -tol / 2;
  let x0 = 0;
  let f0 = e0;
  let slope = pods.reduce((a, p) => a + p.share * p.sensitivity, 0);
  for (let it = 1; it <= MAX_ITERATIONS; it++) {
    const x1 = x0 - (f0 - target) / slope;
    const r = solveSlot(m, slot, distribute(baselinesKW, pods, x1));
    const f1 = r.converged ? excess(m, v, r) : Number.NaN;
    if (!Number.isFinite(f1)) break;
    if (f1 <= 0 && f1 >= -tol) {
      const baselineKW = pods.reduce((a, p) => a + baselinesKW.get(p.pod)!, 0);
      return {
        slot,
        element,
        violation: v,
        pods,
        baselineKW,
        needKW: x1,
        levelKW: baselineKW + x1,
        valueAfter: valueOf(v, r),
        iterations: it,
      };
    }
    if (x1 !== x0 && f1 !== f0) slope = (f1 - f0) / (x1 - x0);
    x0 = x1;
    f0 = f1;
  }
  return { slot, element, violation: v, reason: `no need found within ${MAX_ITERATIONS} power flows` };
}

/** Violations and requests of one slot at the given baselines (kW, PoDs registered with a baseline only). */
export function slotRequests(m: DsoModel, slot: number, baselinesKW: ReadonlyMap<string, number>): SlotRequests {
  const result = solveSlot(m, slot, baselinesKW);
  if (!result.converged) return { slot, result, violations: [], requests: [], unresolved: [], converged: false };
  const violations = findViolations(m, result);
  const requests: ElementRequest[] = [];
  const unresolved: UnresolvedElement[] = [];
  for (const v of violations) {
    const r = elementRequest(m, slot, v, baselinesKW, result);
    if ('reason' in r) unresolved.push(r);
    else requests.push(r);
  }
  return { slot, result, violations, requests, unresolved, converged: true };
}

/** `YYYY-MM-DDTHH:MM:SS` of an instant in Europe/Rome. */
export function romeLocalIso(utcMs: number): string {
  const t = romeTime(utcMs);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${t.year}-${p(t.month)}-${p(t.day)}T${p(t.hour)}:${p(t.minute)}:${p(t.second)}`;
}

export interface RequestPrices {
  pPrice: number | null;
  qPrice: number | null;
}

/**
 * The Platone document of a request. `playerServiceId` = `DSO:::dayAhead:::<slot local start>.000Z` (the run's
 * form: the local time with a `Z`); the second and later requests of one slot get `:::2`, `:::3`… appended so
 * each stays unique.
 */
export function requestDocument(dayStartMs: number, r: ElementRequest, prices: RequestPrices, ordinal = 1) {
  const local = romeLocalIso(dayStartMs + r.slot * 900_000);
  return {
    marketType: 'dayAhead' as const,
    duration: 24,
    interval: 15,
    playerId: 'DSO',
    serviceType: 'DSO_request' as const,
    playerServiceId: `DSO:::dayAhead:::${local}.000Z${ordinal > 1 ? `:::${ordinal}` : ''}`,
    startTime: new Date(dayStartMs).toISOString(),
    flexibility: [
      {
        pod: r.pods.map((p) => p.pod),
        power: [{ index: r.slot, p: r.levelKW, pPrice: prices.pPrice, q: null, qPrice: prices.qPrice }],
      },
    ],
  };
}
export type RequestDocument = ReturnType<typeof requestDocument>;
