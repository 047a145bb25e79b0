/**
 * The report's power-flow figures at the activation slot: violations, and per feeder the current of its limiting
 * branch (the most loaded overloaded one, else its head) at the baselines, at the market's accepted levels and at the
 * validated levels (the DSOTP's own model and solver).
 */
import { findViolations, slotLoads, solvePowerFlow, type DsoModel, type Violation } from '@lightnode/cloud';
import type { FeederLoading, ReportViolation } from '../report/types.js';

const r2 = (x: number): number => Math.round(x * 100) / 100;

function solve(m: DsoModel, slot: number, levelsKW: ReadonlyMap<string, number>) {
  return solvePowerFlow(m.net, slotLoads(m, slot, levelsKW));
}

export function reportViolations(vs: readonly Violation[]): ReportViolation[] {
  return vs.flatMap((v) =>
    v.kind === 'current'
      ? [{ feeder: v.feeder ?? '', from: v.from, to: v.to, currentA: r2(v.currentA), limitA: v.limitA }]
      : [],
  );
}

/** The PoD levels (kW) of an outcome at `slot`: baseline + Σ (acceptedPValue − baseline) of its services. */
export function levelsOf(
  baselinekW: ReadonlyMap<string, number>,
  flexibility: readonly { pod: string; power: readonly { index: number; acceptedPValue: number }[] }[],
  slot: number,
): Map<string, number> {
  const out = new Map(baselinekW);
  for (const f of flexibility)
    for (const p of f.power) {
      if (p.index !== slot || !out.has(f.pod)) continue;
      out.set(f.pod, out.get(f.pod)! + p.acceptedPValue - baselinekW.get(f.pod)!);
    }
  return out;
}

export function powerFlowFigures(
  m: DsoModel,
  slot: number,
  levels: {
    base: ReadonlyMap<string, number>;
    market: ReadonlyMap<string, number>;
    validated: ReadonlyMap<string, number>;
  },
): { baseCase: ReportViolation[]; validation: ReportViolation[]; feeders: FeederLoading[] } {
  const base = solve(m, slot, levels.base);
  const market = solve(m, slot, levels.market);
  const validated = solve(m, slot, levels.validated);
  const [vBase, vMarket] = [findViolations(m, base), findViolations(m, market)];
  const loading = (v: { currentA: number; limitA: number }): number => v.currentA / v.limitA;
  const feeders = m.feeders.map((f) => {
    // the feeder's most loaded overloaded branch in either flow (Nanchino's lateral), else its head branch
    const worst = [...vBase, ...vMarket]
      .filter((v): v is Violation & { kind: 'current' } => v.kind === 'current' && v.feeder === f.name)
      .sort((a, b) => loading(b) - loading(a))[0];
    const k = worst ? worst.branch : f.branch;
    const b = m.net.branches[k]!;
    return {
      feeder: f.name,
      from: b.from,
      to: b.to,
      limitA: b.ampacityA ?? Number.NaN,
      baseCaseA: r2(base.currentA[k]!),
      marketA: r2(market.currentA[k]!),
      validatedA: r2(validated.currentA[k]!),
    };
  });
  return { baseCase: reportViolations(vBase), validation: reportViolations(vMarket), feeders };
}
