/**
 * The battery's SunSpec register map, built from the model profiles (`sunspec/common`, `sunspec/storage-124`,
 * `sunspec/der-701`, `-702`, `-704`, `-713`): every address comes from a profile point, found by its SunSpec name.
 * This file says only what each point holds (in the point's engineering unit: W, %, s, Wh, V…) and what a write of
 * the control points means:
 * - 704 `WSetEna` = 1 with `WSetMod` = 1 (WATTS): command `WSet`·10^WSet_SF W (injection = discharge positive) with
 *   the revert timer `WSetRvrtTms` s; `WSetMod` = 0 (W_MAX_PCT): `WSetPct` % of `WMax`; `WSetEna` = 0: release.
 * - 124 `StorCtl_Mod` bit 1 (discharge limit active, alone or with bit 0): command `OutWRte` % of the discharge
 *   base (702 `WDisChaRteMax`, else `WDisChaRteMaxRtg`, else 124 `WChaMax`; negative charges); bit 0 alone (charge
 *   limit): charge at `InWRte` % of `WChaMax`; 0: release; revert timer `InOutWRte_RvrtTms` s. With both bits (the
 *   agent's adapter writes StorCtl_Mod 3 with OutWRte = −InWRte·WChaMax/base, a window of one point) the window's
 *   discharge end is the command.
 * When the battery's own timer reverts, `WSetEna` and `StorCtl_Mod` read 0 again; under `silent-revert` and
 * `fake-mode` they keep what was written (the device does not tell).
 */
import type { Profile, ProfilePoint } from '@lightnode/protocols';
import type { Battery } from './battery.js';

/** Default scale factors (a group's SF is raised when a value would not fit its registers). */
const SF_DEFAULT: Record<string, number> = {
  PF_SF: -3,
  Hz_SF: -3,
  A_SF: -1,
  ChaState_SF: -1,
  Pct_SF: -1,
  InOutWRte_SF: -2,
};

/** What the points of a model hold now, by point name, in the point's unit. */
export type PointValues = Record<string, number>;

export interface MapContext {
  battery: Battery;
  nowMs: number;
  /** The value a control point holds now (written, or its default): read back from the image. */
  control(model: number, name: string): number | null;
}

const PF_MIN = 0.8;
const V_NOM = 230;

/** The measured and rated values of each model (control points get their defaults here; writes override them). */
export function modelValues(model: number, c: MapContext): PointValues {
  const b = c.battery;
  const p = b.powerNow();
  const soc = b.socPermille();
  const cmd = b.command;
  switch (model) {
    case 124: {
      const full = soc >= 1000;
      const empty = soc <= 0;
      return {
        WChaMax: b.maxChargeW,
        WChaGra: 100,
        WDisChaGra: 100,
        StorCtl_Mod: 0,
        MinRsvPct: 0,
        ChaState: soc / 10,
        // ChaSt: 2 EMPTY, 3 DISCHARGING, 4 CHARGING, 5 FULL, 6 HOLDING
        ChaSt: p > 0 ? 3 : p < 0 ? 4 : full ? 5 : empty ? 2 : 6,
        OutWRte: 0,
        InWRte: 0,
        InOutWRte_WinTms: 0,
        InOutWRte_RvrtTms: 0,
        InOutWRte_RmpTms: 0,
        ChaGriSet: 1,
      };
    }
    case 701: {
      const t = b.totals;
      return {
        ACType: 1, // single phase
        St: 1, // on
        ConnSt: 1, // connected
        Alrm: 0,
        W: p,
        VA: Math.abs(p),
        Var: 0,
        PF: 1,
        A: Math.abs(p) / V_NOM,
        LNV: V_NOM,
        Hz: 50,
        TotWhInj: Math.floor(t.dischargedWh),
        TotWhAbs: Math.floor(t.chargedWh),
      };
    }
    case 702:
      return {
        WMaxRtg: Math.max(b.maxDischargeW, b.maxChargeW),
        WOvrExtRtg: b.ratedVA * PF_MIN,
        WOvrExtRtgPF: PF_MIN,
        WUndExtRtg: b.ratedVA * PF_MIN,
        WUndExtRtgPF: PF_MIN,
        VAMaxRtg: b.ratedVA,
        VarMaxInjRtg: b.ratedVA * Math.sqrt(1 - PF_MIN ** 2),
        VarMaxAbsRtg: b.ratedVA * Math.sqrt(1 - PF_MIN ** 2),
        WChaRteMaxRtg: b.maxChargeW,
        WDisChaRteMaxRtg: b.maxDischargeW,
        VAChaRteMaxRtg: b.ratedVA,
        VADisChaRteMaxRtg: b.ratedVA,
        VNomRtg: V_NOM,
        AMaxRtg: b.ratedVA / V_NOM,
        WMax: Math.max(b.maxDischargeW, b.maxChargeW),
        VAMax: b.ratedVA,
        WChaRteMax: b.maxChargeW,
        WDisChaRteMax: b.maxDischargeW,
        VAChaRteMax: b.ratedVA,
        VADisChaRteMax: b.ratedVA,
      };
    case 704:
      return {
        WMaxLimPctEna: 0,
        WMaxLimPct: 100,
        WSetEna: 0,
        WSetMod: 1,
        WSet: 0,
        WSetRvrt: 0,
        WSetPct: 0,
        WSetPctRvrt: 0,
        WSetEnaRvrt: 0,
        WSetRvrtTms: 0,
        WSetRvrtRem:
          cmd && Number.isFinite(cmd.revertAtMs) ? Math.max(0, Math.ceil((cmd.revertAtMs - c.nowMs) / 1000)) : 0,
      };
    case 713:
      return {
        WHRtg: b.capacityWh,
        WHAvail: (soc / 1000) * b.capacityWh,
        SoC: soc / 10,
        SoH: 100,
        Sta: p > 0 ? 3 : p < 0 ? 4 : 6, // as 124 ChaSt
      };
    default:
      return {};
  }
}

/** The control points a model's write re-evaluates, and what they command. */
export function interpretWrite(
  model: number,
  c: MapContext,
): { command: { w: number; revertMs: number } } | { release: true } | null {
  const v = (name: string): number => c.control(model, name) ?? 0;
  if (model === 704) {
    if (v('WSetEna') !== 1) return { release: true };
    const w =
      v('WSetMod') === 0 ? (v('WSetPct') / 100) * (c.control(702, 'WMax') ?? c.battery.maxDischargeW) : v('WSet');
    return { command: { w: Math.round(w), revertMs: v('WSetRvrtTms') * 1000 } };
  }
  if (model === 124) {
    const mod = v('StorCtl_Mod');
    const base = v('WChaMax');
    const revertMs = v('InOutWRte_RvrtTms') * 1000;
    const disBase = c.control(702, 'WDisChaRteMax') ?? c.control(702, 'WDisChaRteMaxRtg') ?? base;
    if (mod & 2) return { command: { w: Math.round((v('OutWRte') / 100) * disBase), revertMs } };
    if (mod & 1) return { command: { w: Math.round((-v('InWRte') / 100) * base), revertMs } };
    return { release: true };
  }
  return null;
}

/** Which points of a model are controls whose write commands the battery. */
export const CONTROL_POINTS: Record<number, readonly string[]> = {
  124: ['WChaMax', 'StorCtl_Mod', 'OutWRte', 'InWRte', 'InOutWRte_RvrtTms'],
  704: ['WSetEna', 'WSetMod', 'WSet', 'WSetPct', 'WSetRvrtTms'],
};

/** The points that go back to 0 when the battery's own timer reverts (and on release). */
export const ENABLE_POINTS: Record<number, string> = { 124: 'StorCtl_Mod', 704: 'WSetEna' };

/** Each scale-factor group's SF: the default, raised until every value of the group fits its registers. */
/** Units whose values scale with the battery's rating (a current is below its power in W at any voltage ≥ 1 V). */
const POWER_UNITS = new Set(['W', 'VA', 'var', 'A']);

export function chooseSfs(profile: Profile, values: PointValues, ratedW = 0): Map<string, number> {
  const out = new Map<string, number>();
  // a power point must hold the battery's rating (the values at start are often 0 W: an MV battery overflows later)
  const magnitude = (pt: ProfilePoint): number =>
    POWER_UNITS.has(pt.unit ?? '') ? Math.max(Math.abs(values[pt.name!]!), ratedW) : Math.abs(values[pt.name!]!);
  const limit = (pt: ProfilePoint): number =>
    pt.type === 's16' ? 32767 : pt.type === 'u16' ? 65534 : pt.type === 's32' ? 2147483647 : 4294967294;
  for (const sfName of new Set(profile.points.map((pt) => pt.scaleFactor).filter((x): x is string => !!x))) {
    const users = profile.points.filter((pt) => pt.scaleFactor === sfName && pt.name && values[pt.name] !== undefined);
    let sf = SF_DEFAULT[sfName] ?? 0;
    while (sf < 9 && users.some((pt) => Math.round(magnitude(pt) / 10 ** sf) > limit(pt))) sf++;
    out.set(sfName, sf);
  }
  return out;
}
