/**
 * The field test's scenario as the run consumes it: the calibrated Tor di Valle network model, the five PoDs
 * (aggregator, 96-slot baselines in W, flexibility up/down), the aggregators' offers and the TSO request — all from
 * ../tor-di-valle/scenario.ts.
 */
import { readFileSync } from 'node:fs';
import type { FlexibilityService } from '@lightnode/cloud';
import {
  TDV_DAY,
  TDV_DAY_START_MS,
  TDV_PODS,
  TDV_SESSION,
  TDV_SLOT,
  TOR_DI_VALLE,
  TOR_DI_VALLE_NETWORK,
  baselinesW,
  tdvOffers,
  tdvTsoRequest,
} from '../tor-di-valle/scenario.js';

export interface FieldPod {
  pod: string;
  aggregator: string;
  /** 96 quarter-hour baselines of the market day, W. */
  baselinesW: number[];
  /** The PoD's flexibility up / down (kW ≥ 0): the battery's charge / discharge power. */
  maxUpkW: number;
  maxDownkW: number;
}

export interface FieldScenario {
  day: string;
  sessionId: string;
  /** The market day's start (UTC ms). */
  dayStartMs: number;
  slot: number;
  pom: string;
  network: object;
  pods: FieldPod[];
  offers: FlexibilityService[];
  tsoRequest: FlexibilityService;
}

export function fieldScenario(): FieldScenario {
  return {
    day: TDV_DAY,
    sessionId: TDV_SESSION,
    dayStartMs: TDV_DAY_START_MS,
    slot: TDV_SLOT,
    pom: TOR_DI_VALLE.pom,
    network: JSON.parse(readFileSync(TOR_DI_VALLE_NETWORK, 'utf8')) as object,
    pods: TDV_PODS.map((p) => ({
      pod: p.pod,
      aggregator: p.aggregator,
      baselinesW: baselinesW(p.pod),
      maxUpkW: p.maxFlexUpkW,
      maxDownkW: p.maxFlexDownkW,
    })),
    offers: tdvOffers(),
    tsoRequest: tdvTsoRequest(),
  };
}
