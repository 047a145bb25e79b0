/**
 * A site load model for simulated meters: a daily consumption curve with noise, optional PV, three phases.
 * Produces every quantity a meter profile may map, in the protocol's integer units. Energies integrate power and
 * only ever increase (import from positive net power, export from negative).
 */
import type { QuantityName } from '@lightnode/protocols';

export interface LoadModelOptions {
  /** Average site consumption, W (default 6000). */
  baseLoadW?: number;
  /** PV peak, W (0 = no PV). */
  pvPeakW?: number;
  seed?: number;
  phases?: 1 | 3;
  /** A constant house load, W, instead of the daily curve with noise (the ESS simulator's `--load-w`). */
  constantLoadW?: number;
  /** Starting energy counters, Wh. */
  energyImportWh?: number;
  energyExportWh?: number;
}

export class LoadModel {
  private rnd: () => number;
  private lastMs: number | null = null;
  private eImp: number;
  private eExp: number;
  private eImpPh = [0, 0, 0];
  private eExpPh = [0, 0, 0];
  private eProd = 0;
  private qImp = 0;
  private qExp = 0;
  private v = [230, 230, 230];
  private noise = [1, 1, 1];
  private f = 50;
  /** House load and PV of the last `at()`, W (the ESS simulator's self-consumption mode follows them). */
  readonly last = { loadW: 0, pvW: 0 };
  constructor(private readonly o: LoadModelOptions = {}) {
    let a = (o.seed ?? 42) >>> 0;
    this.rnd = () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    this.eImp = o.energyImportWh ?? 12_345_000;
    this.eExp = o.energyExportWh ?? 345_000;
    this.eImpPh = [this.eImp / 3, this.eImp / 3, this.eImp / 3];
    this.eExpPh = [this.eExp / 3, this.eExp / 3, this.eExp / 3];
  }

  /**
   * Quantities at time `nowMs` (advancing the integrators from the previous call). `behindMeterW` is a source
   * behind the meter that lowers the net (a battery: discharge positive), spread evenly over the phases.
   */
  at(nowMs: number, behindMeterW = 0): Partial<Record<QuantityName, number>> {
    const phases = this.o.phases ?? 3;
    const hour = (nowMs / 3_600_000 + 2) % 24;
    const daily =
      0.55 + 0.45 * Math.max(0, Math.sin(((hour - 5) / 24) * 2 * Math.PI)) + 0.2 * Math.exp(-((hour - 19.5) ** 2) / 2);
    const pv = (this.o.pvPeakW ?? 0) * Math.max(0, Math.sin(((hour - 6) / 13) * Math.PI));
    const out: Partial<Record<QuantityName, number>> = {};
    let pTot = 0;
    let qTot = 0;
    let sTot = 0;
    let loadTot = 0;
    const n = phases === 3 ? 3 : 1;
    for (let i = 0; i < n; i++) {
      this.noise[i] = Math.max(0.5, Math.min(1.5, this.noise[i]! * (1 + 0.02 * (this.rnd() - 0.5) * 2)));
      this.v[i] = this.v[i]! + 0.3 * (this.rnd() - 0.5) * 2 - 0.01 * (this.v[i]! - 230);
      const load =
        this.o.constantLoadW !== undefined
          ? this.o.constantLoadW / n
          : ((this.o.baseLoadW ?? 6000) / n) * daily * this.noise[i]!;
      loadTot += load;
      const p = load - pv / n - behindMeterW / n;
      const pf = 0.93 + 0.05 * Math.sin(i + nowMs / 600_000);
      const s = Math.abs(p) / pf;
      const q = s * Math.sin(Math.acos(pf));
      const L = n === 3 ? `L${i + 1}` : 'L1';
      out[`voltage${L}mV` as QuantityName] = Math.round(this.v[i]! * 1000);
      out[`current${L}mA` as QuantityName] = Math.round((s / this.v[i]!) * 1000);
      if (n === 3) {
        out[`activePower${L}W` as QuantityName] = Math.round(p);
        out[`reactivePower${L}Var` as QuantityName] = Math.round(q);
        out[`apparentPower${L}VA` as QuantityName] = Math.round(s);
        out[`powerFactor${L}Permille` as QuantityName] = Math.round(Math.sign(p || 1) * pf * 1000);
      }
      pTot += p;
      qTot += q;
      sTot += s;
    }
    this.last.loadW = loadTot;
    this.last.pvW = pv;
    this.f = this.f + 0.01 * (this.rnd() - 0.5) * 2 - 0.01 * (this.f - 50);
    const dtH = this.lastMs === null ? 0 : Math.max(0, nowMs - this.lastMs) / 3_600_000;
    this.lastMs = nowMs;
    if (pTot >= 0) this.eImp += pTot * dtH;
    else this.eExp += -pTot * dtH;
    for (let i = 0; i < 3; i++) {
      const share = pTot / 3;
      if (share >= 0) this.eImpPh[i]! += share * dtH;
      else this.eExpPh[i]! += -share * dtH;
    }
    this.eProd += pv * dtH;
    this.qImp += qTot * dtH;
    out.activePowerW = Math.round(pTot);
    out.reactivePowerVar = Math.round(qTot);
    out.apparentPowerVA = Math.round(sTot);
    out.powerFactorPermille = sTot > 0 ? Math.round((pTot / sTot) * 1000) : 1000;
    out.frequencymHz = Math.round(this.f * 1000);
    out.currentmA = Math.round((sTot / 230) * 1000);
    out.energyImportWh = Math.floor(this.eImp);
    out.energyExportWh = Math.floor(this.eExp);
    ['L1', 'L2', 'L3'].forEach((L, i) => {
      out[`energyImport${L}Wh` as QuantityName] = Math.floor(this.eImpPh[i]!);
      out[`energyExport${L}Wh` as QuantityName] = Math.floor(this.eExpPh[i]!);
    });
    out.energyReactiveImportVarh = Math.floor(this.qImp);
    out.energyReactiveExportVarh = Math.floor(this.qExp);
    out.productionPowerW = Math.round(pv);
    out.energyProductionWh = Math.floor(this.eProd);
    out.quarterAveragePowerW = Math.round(pTot);
    out.tariffBand = hour >= 8 && hour < 19 ? 1 : hour >= 7 && hour < 23 ? 2 : 3;
    return out;
  }
}
