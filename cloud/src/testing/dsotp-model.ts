/**
 * The DSOTP test model: IEEE 33 (public data, cloud/data/ieee33/) with 200 A on branch 1–2 and five PoDs on buses 7,
 * 8, 25, 32 and 31 whose baselines are those buses' loads (1180 kW of the feeder's 3715 kW). A PoD bus's load is replaced
 * by its PoD's level at cosφ 0.9, so the file gives those buses the same Q (P·tan φ): at the baselines the model is
 * the file's base case.
 */
import { ieee33Network, type Ieee33Options } from './ieee33.js';

export const TAN_PHI_09 = Math.tan(Math.acos(0.9));

export const DSOTP_PODS = [
  { pod: 'IT002E61899978', bus: 7 },
  { pod: 'IT002E60974469', bus: 8 },
  { pod: 'IT002E60550189', bus: 25 },
  { pod: 'IT002E60550190', bus: 32 },
  { pod: 'IT002E60550191', bus: 31 },
] as const;

export interface DsotpModelOptions extends Ieee33Options {
  /** Extra ampacities by `from-to` (A). */
  limits?: Record<string, number>;
}

/** The model document (`--network FILE` shape). */
export function dsotpTestModel(o: DsotpModelOptions = {}): Record<string, unknown> & {
  buses: { id: number; pKW: number; qKvar: number }[];
} {
  const f = ieee33Network(o);
  const limits: Record<string, number> = { '1-2': 200, ...o.limits };
  const podBuses = new Set<number>(DSOTP_PODS.map((p) => p.bus));
  return {
    ...f,
    buses: f.buses.map((b) => ({
      id: Number(b.id),
      pKW: b.pKW,
      qKvar: podBuses.has(Number(b.id)) ? b.pKW * TAN_PHI_09 : b.qKvar,
    })),
    branches: f.branches.map((b) => {
      const lim = limits[`${String(b.from)}-${String(b.to)}`];
      return lim === undefined ? b : { ...b, ampacityA: lim };
    }),
    pom: { id: 'POM-TDV', bus: 1 },
    feeders: [
      { id: 'F1', name: 'Main', headBranch: { from: 1, to: 2 } },
      { id: 'F2', name: 'Lateral 6-33', headBranch: { from: 6, to: 26 } },
    ],
    pods: DSOTP_PODS.map((p) => ({ ...p })),
  };
}

/** Each test PoD's baseline (kW): its bus's load in the data. */
export function dsotpBaselinesKW(model: { buses: { id: number; pKW: number }[] }): Map<string, number> {
  return new Map(DSOTP_PODS.map((p) => [p.pod, model.buses.find((b) => b.id === p.bus)!.pKW]));
}
