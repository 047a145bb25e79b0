/**
 * The field test's report (`DIR/report.json`, issue "npm start is the Tor di Valle field test"): what the run did,
 * step by step, with the documents exactly as the services exchanged them. `report.html` is rendered from it alone
 * (html.ts), so everything a chart shows is in here.
 */
import type { FlexibilityService, MarketOutcome, TechnicalOutcome, ValidatedOutcome } from '@lightnode/cloud';
import type { SignedAck, SignedQosReport, SignedSetpoint } from '@lightnode/protocols';

/** A branch over its limit: the feeder it belongs to, the branch, its current and ampacity (per phase, A). */
export interface ReportViolation {
  feeder: string;
  from: string | number;
  to: string | number;
  currentA: number;
  limitA: number;
}

/** One feeder head's current in each power flow of the run (the branch-loading chart). */
export interface FeederLoading {
  feeder: string;
  from: string | number;
  to: string | number;
  limitA: number;
  /** At the baselines (the day-ahead forecast). */
  baseCaseA: number;
  /** At the market's accepted levels, before validation. */
  marketA: number;
  /** At the validated levels. */
  validatedA: number;
}

export interface ReportRequest {
  playerId: string;
  playerServiceId: string;
  needkW: number;
  /** Σ of the deltas the market accepted for it. */
  marketkW: number;
  /** Σ of the deltas after the DSO's validation. */
  validatedkW: number;
  status: 'full' | 'partial' | 'none';
}

export interface ReportSetpoint {
  pod: string;
  deviceId: string;
  /** The signed setpoint exactly as published on ln/v1/{deviceId}/setpoint. */
  signed: SignedSetpoint;
  /** The device's signed acks for it, in the order they came (received, applied/clipped, …, expired). */
  acks: SignedAck[];
  /** Its signed QoS report (absent only in an incomplete run). */
  qos?: SignedQosReport;
}

/** One activated PoD's power over the activation window (the setpoint chart). */
export interface PodSeries {
  pod: string;
  deviceId: string;
  baselinekW: number;
  setpointkW: number;
  /** The slot's window (UTC ms): [fromMs, untilMs). */
  fromMs: number;
  untilMs: number;
  /** The PoD meter's signed samples: simulated time and active power at the PoD (kW, import positive). */
  points: { tMs: number; kW: number }[];
}

export interface ReportAnchor {
  windowStartMs: number;
  samples: number;
  txHash: string;
  blockNumber: number;
}

/** One settled service; the kW figures are DELTAS from the PoD's baseline (load convention: negative = consume less). */
export interface ReportSettlement {
  pod: string;
  /** The validated delta (validated level − baseline). */
  acceptedkW: number;
  /** The delivered delta (average level over the slot − baseline), null without measurements. */
  deliveredkW: number | null;
  /** The delivered delta capped at the accepted one (0 when of the other sign). */
  settledkW: number | null;
  priceEurPerkW: number;
  amountEur: number | null;
}

export interface ReportStep {
  /** 1-based, out of `of`. */
  k: number;
  of: number;
  name: string;
  /** The progress line as printed (`[k/N] name: what happened, with its numbers`). */
  line: string;
  ok: boolean;
  /** Wall time the step took (ms, real time). */
  wallMs?: number;
}

export interface FieldTestReport {
  complete: boolean;
  /** Why the run is incomplete (SIGINT, a failed step), absent when complete. */
  incompleteReason?: string;
  scenario: { marketDay: string; slot: number; pom: string };
  chain: { chainId: number; keyRegister: string };
  dsotpIssuer: string;
  steps: ReportStep[];
  powerFlow: {
    baseCase: { violations: ReportViolation[] };
    validation: { violations: ReportViolation[] };
    feeders: FeederLoading[];
  };
  dsoRequest?: FlexibilityService;
  tsoRequest?: FlexibilityService;
  offers: FlexibilityService[];
  marketOutcome?: MarketOutcome;
  technicalOutcome?: TechnicalOutcome;
  validatedOutcome?: Pick<ValidatedOutcome, 'flexibility'>;
  requests: ReportRequest[];
  setpoints: ReportSetpoint[];
  series: PodSeries[];
  measurements: {
    samples: number;
    anchoredSamples: number;
    proofsChecked: number;
    proofsVerified: number;
    perPod: { pod: string; deviceId: string; samples: number; anchoredSamples: number }[];
  };
  anchors: ReportAnchor[];
  settlement: ReportSettlement[];
  timing: {
    wallS: number;
    speed: number;
    simulatedFromMs: number;
    simulatedToMs: number;
    /** What does not run on the scaled clock (MQTT keepalive, chain block times). */
    realTime: string[];
  };
}
