/**
 * Violations of one solved slot: a branch whose current is above its `ampacityA`, a bus whose voltage is outside
 * [vMinPu, vMaxPu]. Each names its feeder (the feeder whose head branch has the element below it).
 */
import { feederOfBus, type DsoModel } from './model.js';
import type { BusId } from './network.js';
import type { PowerFlowResult } from './powerflow.js';

export interface CurrentViolation {
  kind: 'current';
  /** Index into `net.branches`. */
  branch: number;
  from: BusId;
  to: BusId;
  feeder?: string;
  currentA: number;
  limitA: number;
}
export interface VoltageViolation {
  kind: 'voltage';
  /** Bus index. */
  bus: number;
  busId: BusId;
  feeder?: string;
  vPu: number;
  /** The bound crossed: vMinPu (under) or vMaxPu (over). */
  limitPu: number;
}
export type Violation = CurrentViolation | VoltageViolation;

/** A stable key of the violated element (`branch:FROM-TO`, `bus:ID`). */
export function elementKey(m: DsoModel, v: Violation): string {
  return v.kind === 'current' ? `branch:${String(v.from)}-${String(v.to)}` : `bus:${String(m.busIds[v.bus])}`;
}

/** The violations of a power-flow result, branches (input order) then buses (input order). */
export function findViolations(m: DsoModel, r: PowerFlowResult): Violation[] {
  const out: Violation[] = [];
  m.net.branches.forEach((b, i) => {
    const currentA = r.currentA[i]!;
    if (b.ampacityA === undefined || !(currentA > b.ampacityA)) return;
    const feeder = feederOfBus(m, b.child)?.name;
    out.push({
      kind: 'current',
      branch: i,
      from: b.from,
      to: b.to,
      ...(feeder ? { feeder } : {}),
      currentA,
      limitA: b.ampacityA,
    });
  });
  for (let bus = 0; bus < m.net.n; bus++) {
    const vPu = r.vPu[bus]!;
    if (vPu >= m.vMinPu && vPu <= m.vMaxPu) continue;
    const feeder = feederOfBus(m, bus)?.name;
    out.push({
      kind: 'voltage',
      bus,
      busId: m.busIds[bus]!,
      ...(feeder ? { feeder } : {}),
      vPu,
      limitPu: vPu < m.vMinPu ? m.vMinPu : m.vMaxPu,
    });
  }
  return out;
}
