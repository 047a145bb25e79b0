/**
 * The seeded benchmark dataset: 1-s samples of a 3-phase meter with realistic noise (documented in bench/RESULTS.md).
 * - per-phase voltage: 230 V random walk, σ 0.3 V/s (weak pull back to 230 V, 0.1 %/s, so that it stays plausible);
 * - per-phase current: a load process, multiplicative steps σ 2 %/s around a slow daily-shaped base (8–40 A);
 * - per-phase power factor: 0.90–0.99, random walk σ 0.002/s, reflected at the bounds;
 * - active power per phase P = V·I·PF; reactive Q = V·I·sin(acos PF); totals are the sums;
 * - energies integrate power (import of positive total power, export of negative; fractional Wh carried over);
 * - frequency: 50 Hz random walk σ 10 mHz/s with a pull back to 50 Hz (1 %/s).
 * Each value is rounded to its integer unit (mV, mA, W, var, ‰, mHz, Wh). Deterministic for a seed.
 */
import { makeSample, type Quality, type QuantityName, type Sample } from '@lightnode/protocols';
import { prng } from '@lightnode/protocols/testing';

export interface MeterDatasetOptions {
  deviceId: string;
  podId?: string;
  /** First sample time, UTC ms (default 2021-06-23T00:00:00Z). */
  startMs?: number;
  count: number;
  firstSeq?: number;
  seed?: number;
  periodMs?: number;
}

/** Box–Muller normal from a uniform PRNG. */
function gauss(rnd: () => number): number {
  const u = Math.max(rnd(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
}

/** An iterator of samples (memory-light for long datasets). */
export function* meterDataset(o: MeterDatasetOptions): Generator<Sample> {
  const rnd = prng(o.seed ?? 20210623);
  const start = o.startMs ?? Date.UTC(2021, 5, 23);
  const period = o.periodMs ?? 1000;
  const v = [230, 230, 230];
  const i = [12, 9, 15];
  const pf = [0.95, 0.93, 0.97];
  let f = 50;
  let eImp = 12_345_678; // Wh
  let eExp = 345_678;
  let fracImp = 0;
  let fracExp = 0;
  for (let k = 0; k < o.count; k++) {
    const tsMs = start + k * period;
    const hour = ((tsMs / 3_600_000) % 24) + 2; // local-ish
    const base = 8 + 32 * Math.max(0, Math.sin(((hour - 6) / 24) * 2 * Math.PI)) ** 2;
    const values: Partial<Record<QuantityName, { value: number; quality: Quality }>> = {};
    let pTot = 0;
    let qTot = 0;
    let sTot = 0;
    for (let p = 0; p < 3; p++) {
      v[p] = v[p]! + 0.3 * gauss(rnd) - 0.001 * (v[p]! - 230);
      i[p] = Math.max(0.2, i[p]! * (1 + 0.02 * gauss(rnd)) + 0.01 * (base * (0.8 + 0.2 * p) - i[p]!));
      pf[p] = pf[p]! + 0.002 * gauss(rnd);
      if (pf[p]! > 0.99) pf[p] = 1.98 - pf[p]!;
      if (pf[p]! < 0.9) pf[p] = 1.8 - pf[p]!;
      const s = v[p]! * i[p]!;
      const pw = s * pf[p]!;
      const q = s * Math.sin(Math.acos(pf[p]!));
      pTot += pw;
      qTot += q;
      sTot += s;
      const L = `L${p + 1}`;
      values[`voltage${L}mV` as QuantityName] = { value: Math.round(v[p]! * 1000), quality: 'good' };
      values[`current${L}mA` as QuantityName] = { value: Math.round(i[p]! * 1000), quality: 'good' };
      values[`activePower${L}W` as QuantityName] = { value: Math.round(pw), quality: 'good' };
    }
    f = f + 0.01 * gauss(rnd) - 0.01 * (f - 50);
    const dtH = period / 3_600_000;
    if (pTot >= 0) fracImp += pTot * dtH;
    else fracExp += -pTot * dtH;
    eImp += Math.floor(fracImp);
    fracImp -= Math.floor(fracImp);
    eExp += Math.floor(fracExp);
    fracExp -= Math.floor(fracExp);
    values.activePowerW = { value: Math.round(pTot), quality: 'good' };
    values.reactivePowerVar = { value: Math.round(qTot), quality: 'good' };
    values.powerFactorPermille = { value: Math.round((pTot / sTot) * 1000), quality: 'good' };
    values.frequencymHz = { value: Math.round(f * 1000), quality: 'good' };
    values.energyImportWh = { value: eImp, quality: 'good' };
    values.energyExportWh = { value: eExp, quality: 'good' };
    yield makeSample({
      deviceId: o.deviceId,
      podId: o.podId ?? 'IT002E61899978',
      seq: (o.firstSeq ?? 0) + k,
      tsMs,
      source: 'modbus-rtu',
      values,
    });
  }
}

/** Natural-unit view of a sample (what a naive per-sample JSON publisher would send): V, A, W, var, Hz, kWh. */
export function naturalUnits(s: Sample): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.quantities)) {
    if (k.endsWith('mV')) out[k.replace(/mV$/, 'V')] = v / 1000;
    else if (k.endsWith('mA')) out[k.replace(/mA$/, 'A')] = v / 1000;
    else if (k.endsWith('mHz')) out[k.replace(/mHz$/, 'Hz')] = v / 1000;
    else if (k.endsWith('Permille')) out[k.replace(/Permille$/, '')] = v / 1000;
    else if (k.endsWith('Wh')) out[k.replace(/Wh$/, 'kWh')] = v / 1000;
    else out[k] = v;
  }
  return out;
}
