/**
 * The data of the Tor di Valle day-ahead field test (../../../../shared/scenarios/tor-di-valle.md) as the demo uses
 * it: the calibrated synthetic grid model (network.json beside this file, written by calibrate.ts), the five PoDs with
 * their feeder, aggregator and flexibility, a 96-slot baseline profile per PoD (slot 50 = the run's baseline, every
 * other slot lower, so that slot 50 is the only slot with a violation), the offers and the TSO request as Platone
 * documents. The reference numbers come from `TOR_DI_VALLE` / `torDiValleSession()` (@lightnode/cloud/testing).
 */
import { fileURLToPath } from 'node:url';
import { loadDsoModel, type DsoModel, type FlexibilityService } from '@lightnode/cloud';
import { TOR_DI_VALLE, offerServiceId, torDiValleSession } from '@lightnode/cloud/testing';

export { TOR_DI_VALLE, offerServiceId, torDiValleSession };

/** network.json in the source tree (tsc does not need to copy it: resolved from dist/demo/tor-di-valle/). */
export const TOR_DI_VALLE_NETWORK = fileURLToPath(
  new URL('../../../src/demo/tor-di-valle/network.json', import.meta.url),
);

/** The market day (Europe/Rome) and its session id. */
export const TDV_DAY = '2021-06-23';
export const TDV_SESSION = 'DA-2021-06-23';
export const TDV_DAY_START_MS = Date.parse(TOR_DI_VALLE.startTime);
export const TDV_SLOT = TOR_DI_VALLE.slot;
export const TDV_SLOTS = 96;

export type TdvFeeder = 'Mostacciano' | 'Nanchino';

export interface TdvPod {
  pod: string;
  feeder: TdvFeeder;
  /** Secondary substation of the PoD (the run's table). */
  substation: string;
  aggregator: string;
  maxFlexUpkW: number;
  maxFlexDownkW: number;
  /** Baseline at slot 50 (kW). */
  baselinekW: number;
  /** Offered delta at slot 50 (kW, 0: no offer) and its price (€/kW). */
  offerkW: number;
  price: number | null;
}

const TABLE: Record<string, Pick<TdvPod, 'feeder' | 'substation' | 'maxFlexUpkW' | 'maxFlexDownkW'>> = {
  IT002E61899978: { feeder: 'Mostacciano', substation: '81823', maxFlexUpkW: 0, maxFlexDownkW: 2000 },
  IT002E60976796: { feeder: 'Mostacciano', substation: '80598', maxFlexUpkW: 100, maxFlexDownkW: 100 },
  IT002E60974469: { feeder: 'Mostacciano', substation: '80586', maxFlexUpkW: 1000, maxFlexDownkW: 2400 },
  IT002E60499620: { feeder: 'Nanchino', substation: '12150', maxFlexUpkW: 200, maxFlexDownkW: 0 },
  IT002E60550189: { feeder: 'Nanchino', substation: '12157', maxFlexUpkW: 500, maxFlexDownkW: 0 },
};

/** The five PoDs in the run's order. */
export const TDV_PODS: readonly TdvPod[] = TOR_DI_VALLE.pods.map((p) => ({
  pod: p.pod,
  ...TABLE[p.pod]!,
  aggregator: p.aggregator,
  baselinekW: p.baselinekW,
  offerkW: p.offerkW,
  price: p.price,
}));

export const tdvPod = (pod: string): TdvPod => {
  const p = TDV_PODS.find((x) => x.pod === pod);
  if (!p) throw new Error(`not a Tor di Valle PoD: ${pod}`);
  return p;
};

/** Local hour (Europe/Rome, CEST on 2021-06-23) at the middle of a slot. */
const hourOf = (slot: number): number => (slot + 0.5) / 4;

/**
 * The PoDs' load shape, relative to slot 50: 0.25 at night, a daytime bell up to 0.75 around 12:30 and the day's
 * 15-min peak (1) at slot 50 — the slot the run tested.
 */
export function podShape(slot: number): number {
  if (slot === TDV_SLOT) return 1;
  return 0.25 + 0.5 * Math.exp(-(((slot - TDV_SLOT) / 16) ** 2));
}

/** PV output on Mostacciano, relative to slot 50: a bell from 05:45 to 20:45 (CEST), 1 at 12:30–12:45. */
export function pvShape(slot: number): number {
  const day = (h: number): number => Math.max(0, Math.sin((Math.PI * (h - 5.75)) / 15)) ** 1.3;
  return day(hourOf(slot)) / day(hourOf(TDV_SLOT));
}

/** The PoD's 96-slot baseline in W (integers; slot 50 = the run's baseline exactly). */
export function baselinesW(pod: string): number[] {
  const kW = tdvPod(pod).baselinekW;
  return Array.from({ length: TDV_SLOTS }, (_, k) => Math.round(kW * podShape(k) * 1000));
}

/** The baselines of one slot in kW (as the DSOTP reads them from the SCD: slotsW / 1000). */
export function baselinesKW(slot: number, pods: readonly TdvPod[] = TDV_PODS): Map<string, number> {
  return new Map(pods.map((p) => [p.pod, baselinesW(p.pod)[slot]! / 1000]));
}

/** The calibrated model (network.json). */
export const loadTorDiValleModel = (): DsoModel => loadDsoModel(TOR_DI_VALLE_NETWORK);

/** The aggregators' offers (Platone documents, `playerServiceId` `AGG/POD/dayAhead/<day start>`). */
export const tdvOffers = (): FlexibilityService[] => torDiValleSession().offers;

/** The TSO's request: 7500 kW on CP-IRLANDESE at slot 50. */
export const tdvTsoRequest = (): FlexibilityService => torDiValleSession().requests.find((r) => r.playerId === 'TSO')!;
