/**
 * A complete field-test report built from the Tor di Valle reference numbers (../shared/scenarios/tor-di-valle.md):
 * the market's own clearing of the reference session, the DSOTP's trim of IT002E60550189 to 207.662 kW, setpoints,
 * acks and QoS reports signed for real with the public TEST keys, one-minute PoD series over slot 50. The report
 * page's development data and the fixture of its tests — never a run's result.
 */
import {
  buildSetpoint,
  clearMarket,
  sessionId,
  validateOutcome,
  type MarketOutcome,
  type TechnicalOutcome,
} from '@lightnode/cloud';
import { TOR_DI_VALLE, torDiValleSession } from '@lightnode/cloud/testing';
import {
  lightNodeDomain,
  privateKeySigner,
  signAck,
  signQosReport,
  signSetpoint,
  type AckState,
  type SignedAck,
} from '@lightnode/protocols';
import { TEST_OPERATOR_KEY, prng } from '@lightnode/protocols/testing';
import { reportRequests } from './derive.js';
import { baselinesKW, loadTorDiValleModel } from '../tor-di-valle/scenario.js';
import { currentA } from '../tor-di-valle/calibrate.js';
import type {
  FeederLoading,
  FieldTestReport,
  PodSeries,
  ReportSetpoint,
  ReportStep,
  ReportViolation,
} from './types.js';

/** The DSOTP's validated level of IT002E60550189 (tor-di-valle.json `observed.technicalOutcome`). */
export const VALIDATED_NANCHINO_KW = 207.6620935799721;
const TRIMMED_POD = 'IT002E60550189';
const MARKET_DAY = '2021-06-23';
const CHAIN_ID = 31337;
const KEY_REGISTER = '0x5fbdb2315678afecb367f032d93f642f64180aa3';
const SLOT_FROM_MS = Date.UTC(2021, 5, 23, 10, 30);
const SLOT_MS = 900_000;
const MIN = 60_000;

/** A public, obviously-test device key per PoD (0x0d…0d1k): never use it for anything real. */
const testDeviceKey = (k: number): string => '0x' + '0d'.repeat(31) + (0x10 + k).toString(16);

/**
 * The two overloaded branches of the calibrated synthetic model (tor-di-valle/network.json), solved at the baselines,
 * at the market's levels and at the validated ones: the Mostacciano head and the Nanchino lateral N2–NL.
 */
function powerFlows(market: MarketOutcome): FieldTestReport['powerFlow'] {
  const m = loadTorDiValleModel();
  const base = baselinesKW(TOR_DI_VALLE.slot);
  const atMarket = new Map(base);
  for (const f of market.flexibility) for (const p of f.power) atMarket.set(f.pod, p.acceptedPValue);
  const validated = new Map(atMarket).set(TRIMMED_POD, VALIDATED_NANCHINO_KW);
  const feeders: FeederLoading[] = [
    { feeder: 'Mostacciano', from: 'TDV', to: 'M1' },
    { feeder: 'Nanchino', from: 'N2', to: 'NL' },
  ].map((b) => ({
    ...b,
    limitA: m.net.branches.find((x) => x.from === b.from && x.to === b.to)!.ampacityA!,
    baseCaseA: currentA(m, b.from, b.to, base),
    marketA: currentA(m, b.from, b.to, atMarket),
    validatedA: currentA(m, b.from, b.to, validated),
  }));
  const over = (f: FeederLoading, currentA: number): ReportViolation[] =>
    currentA > f.limitA ? [{ feeder: f.feeder, from: f.from, to: f.to, currentA, limitA: f.limitA }] : [];
  return {
    baseCase: { violations: feeders.flatMap((f) => over(f, f.baseCaseA)) },
    validation: { violations: feeders.flatMap((f) => over(f, f.marketA)) },
    feeders,
  };
}

export function sampleReport(): FieldTestReport {
  const t = TOR_DI_VALLE;
  const session = torDiValleSession();
  const market = clearMarket(session);
  const session_ = sessionId(MARKET_DAY);
  const technical: TechnicalOutcome = {
    marketType: 'dayAhead',
    duration: 24,
    interval: 15,
    startTime: t.startTime,
    marketOutcome: session_,
    flexibility: market.flexibility.map(({ pod, power }) => ({
      pod,
      power: power.map((s) => ({
        index: s.index,
        acceptedPValue: pod === TRIMMED_POD ? VALIDATED_NANCHINO_KW : s.acceptedPValue,
        acceptedP: 'OK' as const,
        acceptedQValue: null,
        acceptedQ: null,
      })),
    })),
  };
  const kinds = new Map(session.requests.map((r) => [r.playerId, r.serviceType]));
  const validated = validateOutcome(session_, market, technical, session.podRegistry, (id) => {
    const k = kinds.get(id);
    return k === 'offer' ? undefined : k;
  });
  const baseline = new Map<string, number>(t.pods.map((p) => [p.pod, p.baselinekW]));
  const requests = reportRequests(market, validated, (pod) => baseline.get(pod)!);

  const domain = lightNodeDomain(CHAIN_ID, KEY_REGISTER);
  const operator = privateKeySigner(TEST_OPERATOR_KEY);
  const podIndex = new Map<string, number>(t.pods.map((p, i) => [p.pod, i]));
  const rnd = prng(13);
  const setpoints: ReportSetpoint[] = [];
  const series: PodSeries[] = [];
  validated.flexibility.forEach(({ pod, power }, n) => {
    const s = power[0]!;
    const device = privateKeySigner(testDeviceKey(podIndex.get(pod)!));
    const basekW = baseline.get(pod)!;
    const msg = buildSetpoint(
      {
        podId: pod,
        activePowerW: Math.round(s.acceptedPValue * 1000),
        baselineW: Math.round(basekW * 1000),
        validFromMs: SLOT_FROM_MS,
        validUntilMs: SLOT_FROM_MS + SLOT_MS,
        marketSession: session_,
        slotIndex: t.slot,
        playerServiceId: s.playerServiceId,
        nonce: 1 + n,
      },
      operator.address,
      SLOT_FROM_MS - 5 * MIN,
    );
    const signed = signSetpoint(msg, operator, domain);
    const ack = (state: AckState, atMs: number, seq: number): SignedAck =>
      signAck(
        {
          version: 1,
          setpointId: msg.id,
          deviceId: device.address,
          state,
          reason: '',
          appliedPowerW: state === 'received' || state === 'scheduled' ? 0 : msg.activePowerW,
          atMs,
          seq,
        },
        device,
        domain,
      );
    const acks = [
      ack('received', SLOT_FROM_MS - 5 * MIN + 40, 1),
      ack('scheduled', SLOT_FROM_MS - 5 * MIN + 60, 2),
      ack('applied', SLOT_FROM_MS + 500, 3),
      ack('expired', SLOT_FROM_MS + SLOT_MS + 200, 4),
    ];
    // one-minute points from 10:27 to 10:47Z: baseline outside the slot, the setpoint (±0.4 % noise) inside it
    const points = Array.from({ length: 21 }, (_, k) => {
      const tMs = SLOT_FROM_MS - 3 * MIN + k * MIN;
      const level = tMs >= SLOT_FROM_MS && tMs < SLOT_FROM_MS + SLOT_MS ? s.acceptedPValue : basekW;
      return { tMs, kW: Math.round(level * (1 + 0.008 * (rnd() - 0.5)) * 1000) / 1000 };
    });
    const inSlot = points.filter((p) => p.tMs >= SLOT_FROM_MS && p.tMs < SLOT_FROM_MS + SLOT_MS);
    const avgkW = inSlot.reduce((a, p) => a + p.kW, 0) / inSlot.length;
    const qos = signQosReport(
      {
        version: 1,
        setpointId: msg.id,
        deviceId: device.address,
        podId: pod,
        slotIndex: t.slot,
        requestedPowerW: msg.activePowerW,
        requestedEnergyWh: Math.round(msg.activePowerW / 4),
        baselineEnergyWh: Math.round(msg.baselineW / 4),
        deliveredEnergyWh: Math.round(avgkW * 250),
        atMs: SLOT_FROM_MS + SLOT_MS + 1500,
        seq: 5,
      },
      device,
      domain,
    );
    setpoints.push({ pod, deviceId: device.address, signed, acks, qos });
    series.push({
      pod,
      deviceId: device.address,
      baselinekW: basekW,
      setpointkW: s.acceptedPValue,
      fromMs: SLOT_FROM_MS,
      untilMs: SLOT_FROM_MS + SLOT_MS,
      points,
    });
  });

  const settlement = validated.flexibility.map(({ pod, power }) => {
    const s = power[0]!;
    const sr = series.find((x) => x.pod === pod)!;
    const acceptedkW = s.acceptedPValue - sr.baselinekW;
    const inSlot = sr.points.filter((p) => p.tMs >= sr.fromMs && p.tMs < sr.untilMs);
    const deliveredkW = inSlot.reduce((a, p) => a + p.kW, 0) / inSlot.length - sr.baselinekW;
    const settledkW =
      Math.sign(deliveredkW) === Math.sign(acceptedkW)
        ? Math.sign(acceptedkW) * Math.min(Math.abs(deliveredkW), Math.abs(acceptedkW))
        : 0;
    return {
      pod,
      acceptedkW,
      deliveredkW,
      settledkW,
      priceEurPerkW: s.acceptedPPrice,
      amountEur: Math.abs(settledkW) * s.acceptedPPrice,
    };
  });

  const perPod = t.pods.map((p, i) => ({
    pod: p.pod,
    deviceId: privateKeySigner(testDeviceKey(i)).address,
    samples: 1500,
    anchoredSamples: 1500,
  }));
  const anchorFromMs = SLOT_FROM_MS - 5 * MIN;
  const anchors = Array.from({ length: 5 }, (_, k) => ({
    windowStartMs: anchorFromMs + k * 5 * MIN,
    samples: 1500,
    txHash: '0x' + (k + 1).toString(16).padStart(2, '0').repeat(32),
    blockNumber: 12 + k,
  }));
  const tso = requests.find((r) => r.playerId === 'TSO')!;
  const lines = [
    ['cloud', `aedes, anvil (chain ${CHAIN_ID}), SCD, BAL, DSOTP, market up; 5 Light Node agents registered on chain`],
    ['podRegistry', `ACEAE, ACEAE_2 registered 5 PoDs with baselines; DSOTP associated all 5 with ${t.pom}`],
    ['powerFlow', 'base case: Mostacciano 259.54 A against its 212.80 A limit'],
    ['dsoRequest', `DSO asks ${t.dsoRequest.pkW.toFixed(2)} kW at slot 50 on the 3 Mostacciano PoDs`],
    ['tsoRequest', `TSO asks ${t.tsoRequest.pkW} kW at slot 50 on ${t.pom}`],
    [
      'offers',
      'ACEAE posted 3 offers: IT002E61899978 −1000 kW at 0.01, IT002E60974469 −500 kW at 0.03, IT002E60550189 +500 kW at 0.07',
    ],
    [
      'clear',
      'market accepted IT002E61899978 1278.545 kW, IT002E60974469 4180.349 kW (DSO, 0.03), IT002E60550189 342.128 kW (TSO, 0.07)',
    ],
    [
      'validate',
      `Nanchino 30.07 A against 19.60 A with the market's levels: IT002E60550189 trimmed to 207.662 kW; the TSO request is partly fulfilled (asked +${tso.needkW.toFixed(3)} kW, validated +${tso.validatedkW.toFixed(3)} kW)`,
    ],
    ['dispatch', 'DSOTP signed and published 3 setpoints for slot 50 (10:30–10:45Z)'],
    ['activation', '3 setpoints applied, 3 QoS reports within 1 % of the service'],
    ['anchoring', '7500 samples in 5 anchor windows, all anchored'],
    ['proofs', '6 of 6 proofs verified by `lightnode proof verify`; 1500 slot samples verified in process'],
    ['settlement', `market settled 3 services, ${settlement.reduce((a, s) => a + (s.amountEur ?? 0), 0).toFixed(2)} €`],
  ];
  const steps: ReportStep[] = lines.map(([name, what], i) => ({
    k: i + 1,
    of: lines.length,
    name: name!,
    line: `[${i + 1}/${lines.length}] ${name}: ${what}`,
    ok: true,
  }));

  return {
    complete: true,
    scenario: { marketDay: MARKET_DAY, slot: t.slot, pom: t.pom },
    chain: { chainId: CHAIN_ID, keyRegister: KEY_REGISTER },
    dsotpIssuer: operator.address,
    steps,
    powerFlow: powerFlows(market),
    dsoRequest: session.requests.find((r) => r.playerId === 'DSO')!,
    tsoRequest: session.requests.find((r) => r.playerId === 'TSO')!,
    offers: session.offers,
    marketOutcome: market,
    technicalOutcome: technical,
    validatedOutcome: { flexibility: validated.flexibility },
    requests,
    setpoints,
    series,
    measurements: { samples: 7500, anchoredSamples: 7500, proofsChecked: 6, proofsVerified: 6, perPod },
    anchors,
    settlement,
    timing: {
      wallS: 96.4,
      speed: 60,
      simulatedFromMs: Date.UTC(2021, 5, 23, 10, 25),
      simulatedToMs: Date.UTC(2021, 5, 23, 10, 50),
      realTime: ['MQTT keepalive', 'chain block times (anvil)'],
    },
  };
}
