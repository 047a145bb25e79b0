/**
 * The battery command (pure). Sign conventions: PoD load convention (import positive), ESS discharge positive. To
 * bring the PoD to `activePowerW` the battery must deliver `desired = (PoD power + battery power) − activePowerW`
 * (the site's net load without the battery, minus the target). Clamped in this order, the first binding limit being
 * the reason: power (`ESS_MAX_DISCHARGE` / `ESS_MAX_CHARGE`), energy (`ESS_SOC_MIN` / `ESS_SOC_MAX`: the bound would
 * be crossed before `validUntilMs` at that power, from `capacityWh`), ramp (`rampWps` from the last command;
 * `ESS_RAMP` when the target cannot be reached before the window ends). The ramp never leads outside the power and
 * energy bounds: a command is always within every limit.
 */
import type { ClipReason } from '@lightnode/protocols';
import type { EssLimits } from './types.js';

export type { ClipReason };

export interface PlanInput {
  /** The setpoint's target at the PoD, W, import positive. */
  targetPodW: number;
  /** The PoD meter's power, W, import positive. */
  podPowerW: number;
  /** The battery's power, W, discharge positive. */
  essPowerW: number;
  socPermille: number;
  limits: EssLimits;
  nowMs: number;
  validUntilMs: number;
  /** The last command written for this setpoint; absent → the ramp starts from the battery's power. */
  lastCommandW?: number;
  /** Time the ramp may use since the last command, ms. */
  elapsedMs: number;
}

export interface Plan {
  /** Unclamped battery power that would bring the PoD to the target, W (discharge +). */
  desiredW: number;
  /** What to command, integer W within every limit. */
  commandW: number;
  /** The first binding limit, if any. */
  reason?: ClipReason;
  /** True while the ramp holds the command short of its (clamped) target. */
  ramping: boolean;
  /** The power/energy-feasible range the command stays in, W. */
  boundsW: { min: number; max: number };
  /** The PoD level the command leads to, W (import +). */
  expectedPodW: number;
}

/** The feasible command range: power limits ∩ what the SoC bounds allow until the window ends. */
export function commandBounds(
  l: EssLimits,
  socPermille: number,
  remainingMs: number,
): { min: number; max: number; minBy: ClipReason; maxBy: ClipReason } {
  const hours = Math.max(remainingMs, 1) / 3.6e6;
  const dischargeWh = (Math.max(0, socPermille - l.socMinPermille) / 1000) * l.capacityWh;
  const chargeWh = (Math.max(0, l.socMaxPermille - socPermille) / 1000) * l.capacityWh;
  const byEnergyMax = Math.floor(dischargeWh / hours);
  const byEnergyMin = -Math.floor(chargeWh / hours);
  const powerMax = Math.floor(l.maxDischargeW);
  const powerMin = -Math.floor(l.maxChargeW);
  return {
    max: Math.max(0, Math.min(powerMax, byEnergyMax)),
    maxBy: powerMax <= byEnergyMax ? 'ESS_MAX_DISCHARGE' : 'ESS_SOC_MIN',
    min: Math.min(0, Math.max(powerMin, byEnergyMin)),
    minBy: powerMin >= byEnergyMin ? 'ESS_MAX_CHARGE' : 'ESS_SOC_MAX',
  };
}

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

export function planCommand(i: PlanInput): Plan {
  const l = i.limits;
  const remainingMs = i.validUntilMs - i.nowMs;
  const desiredW = Math.round(i.podPowerW + i.essPowerW - i.targetPodW);
  let reason: ClipReason | undefined;
  // 1. power
  let target = desiredW;
  if (target > l.maxDischargeW) [target, reason] = [Math.floor(l.maxDischargeW), 'ESS_MAX_DISCHARGE'];
  else if (target < -l.maxChargeW) [target, reason] = [-Math.floor(l.maxChargeW), 'ESS_MAX_CHARGE'];
  // 2. energy (a power-clamped target is still checked against the SoC bounds; the reason stays the first binding)
  const b = commandBounds(l, i.socPermille, remainingMs);
  if (target > b.max) [target, reason] = [b.max, reason ?? 'ESS_SOC_MIN'];
  else if (target < b.min) [target, reason] = [b.min, reason ?? 'ESS_SOC_MAX'];
  // 3. ramp, from the last command (or the battery's power), never outside the bounds
  const from = clamp(Math.round(i.lastCommandW ?? i.essPowerW), b.min, b.max);
  const step = Math.floor((l.rampWps * Math.max(0, i.elapsedMs)) / 1000);
  const commandW = clamp(clamp(target, from - step, from + step), b.min, b.max) + 0; // never −0
  const ramping = commandW !== target;
  if (ramping && l.rampWps > 0 && (Math.abs(target - commandW) / l.rampWps) * 1000 > remainingMs - i.elapsedMs)
    reason ??= 'ESS_RAMP';
  else if (ramping && l.rampWps <= 0) reason ??= 'ESS_RAMP';
  return {
    desiredW,
    commandW,
    ...(reason ? { reason } : {}),
    ramping,
    boundsW: { min: b.min, max: b.max },
    expectedPodW: Math.round(i.podPowerW + i.essPowerW - commandW),
  };
}
