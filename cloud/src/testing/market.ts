/**
 * The reference day-ahead session of the Tor di Valle field test (Platone Italian demo, June 2021), as the market's
 * SESSION.json. Numbers copied from ../shared/scenarios/tor-di-valle.json ("pods", "observed.dsoRequest",
 * "observed.tsoRequest"); tests use this builder, never that file.
 */
import { prng } from '@lightnode/protocols/testing';
import {
  podsOnPom,
  type FlexibilityService,
  type FlexPower,
  type PodRegistryEntry,
  type SessionInput,
} from '../market/documents.js';

export const TOR_DI_VALLE = {
  startTime: '2021-06-22T22:00:00.000Z',
  slot: 50,
  pom: 'CP-IRLANDESE',
  /** pod, aggregator, baseline kW at slot 50, offered delta kW at slot 50 (0: no offer), price €/kW */
  pods: [
    { pod: 'IT002E61899978', aggregator: 'ACEAE', baselinekW: 2278.545, offerkW: -1000, price: 0.01 },
    { pod: 'IT002E60976796', aggregator: 'ACEAE_2', baselinekW: 312.145, offerkW: 0, price: null },
    { pod: 'IT002E60974469', aggregator: 'ACEAE', baselinekW: 4557.09, offerkW: -500, price: 0.03 },
    { pod: 'IT002E60499620', aggregator: 'ACEAE_2', baselinekW: 10.092, offerkW: 0, price: null },
    { pod: 'IT002E60550189', aggregator: 'ACEAE', baselinekW: 70.38, offerkW: 500, price: 0.07 },
  ],
  dsoRequest: {
    pods: ['IT002E61899978', 'IT002E60974469', 'IT002E60976796'],
    pkW: 5771.039299061133,
    pPrice: 0.1,
    playerServiceId: 'DSO:::dayAhead:::2021-06-23T12:30:00.000Z',
  },
  tsoRequest: { pkW: 7500, playerServiceId: 'TSO:::dayAhead:::2021-06-23T12:30:00.000Z' },
  /** What the market cleared (the run's figures; the 4180.349… level to the last digit from the semantics). */
  expected: {
    IT002E61899978: { acceptedPValue: 1278.545, acceptedPPrice: 0.03, playerRequestId: 'DSO' },
    IT002E60974469: { acceptedPValue: 4180.349299061133, acceptedPPrice: 0.03, playerRequestId: 'DSO' },
    IT002E60550189: { acceptedPValue: 342.128, acceptedPPrice: 0.07, playerRequestId: 'TSO' },
  },
} as const;

/** The offer's playerServiceId as in the run: `AGGREGATOR/POD/dayAhead/DAY_START`. */
export const offerServiceId = (aggregator: string, pod: string, startTime = TOR_DI_VALLE.startTime): string =>
  `${aggregator}/${pod}/dayAhead/${startTime}`;

/** The reference session; `tsoPPrice` is the TSO request's price cap (null: none — the outcome is the same). */
export function torDiValleSession(o: { tsoPPrice?: number | null } = {}): SessionInput {
  const t = TOR_DI_VALLE;
  const head = { marketType: 'dayAhead', duration: 24, interval: 15, startTime: t.startTime } as const;
  const podRegistry: PodRegistryEntry[] = t.pods.map((p) => ({
    pod: p.pod,
    pom: t.pom,
    aggregator: p.aggregator,
    baselinekW: { [String(t.slot)]: p.baselinekW },
  }));
  const requests: FlexibilityService[] = [
    {
      ...head,
      playerId: 'DSO',
      serviceType: 'DSO_request',
      playerServiceId: t.dsoRequest.playerServiceId,
      flexibility: [
        {
          pod: [...t.dsoRequest.pods],
          power: [{ index: t.slot, p: t.dsoRequest.pkW, pPrice: t.dsoRequest.pPrice, q: null, qPrice: 0.1 }],
        },
      ],
    },
    {
      ...head,
      playerId: 'TSO',
      serviceType: 'TSO_request',
      playerServiceId: t.tsoRequest.playerServiceId,
      flexibility: [
        { pom: t.pom, power: [{ index: t.slot, p: t.tsoRequest.pkW, pPrice: o.tsoPPrice ?? null, q: null }] },
      ],
    },
  ];
  const offers: FlexibilityService[] = t.pods.flatMap((p) =>
    p.offerkW === 0
      ? []
      : [
          {
            ...head,
            playerId: p.aggregator,
            serviceType: 'offer' as const,
            playerServiceId: offerServiceId(p.aggregator, p.pod),
            flexibility: [{ pod: p.pod, power: [{ index: t.slot, p: p.offerkW, pPrice: p.price, q: null }] }],
          },
        ],
  );
  return { ...head, podRegistry, requests, offers };
}

export interface RandomSessionSizes {
  pods: number;
  poms: number;
  slots: number;
  offers: number;
  /** Chance that an offer has a delta at a given slot (1: every slot). */
  offerSlotShare?: number;
  /** DSO and TSO requests per slot. */
  dsoPerSlot: number;
  tsoPerSlot: number;
  /** Share of the PoDs in a DSO request's set. */
  dsoSetShare?: number;
  /** |need| is drawn in [0, maxNeedkW). */
  maxNeedkW: number;
  /** |offer delta| is drawn in (0, maxOfferkW]. */
  maxOfferkW?: number;
  /** Distinct prices, in cents from 1 (few: many ties). */
  priceLevels?: number;
}

/**
 * A seeded random day-ahead session (property tests and `bench -- market`): PoDs on PoMs with baselines, offers of
 * mixed signs and prices on random PoDs (several may share a PoD), per slot DSO requests on contiguous PoD sets and
 * TSO requests on PoMs, with or without a price cap. Every request has its own playerId (`DSO-3`, `TSO-0`), so an
 * outcome entry names the request it serves.
 */
export function randomSession(seed: number, z: RandomSessionSizes): SessionInput {
  const r = prng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const kW = (max: number) => Math.round(r() * max * 1000) / 1000;
  const levels = z.priceLevels ?? 5;
  const price = () => (1 + int(levels)) / 100;
  const startTime = '2026-03-01T23:00:00.000Z';
  const head = { marketType: 'dayAhead', duration: 24, interval: 15, startTime } as const;
  const podRegistry: PodRegistryEntry[] = Array.from({ length: z.pods }, (_, i) => ({
    pod: `IT001E${String(i).padStart(8, '0')}`,
    pom: `POM-${i % z.poms}`,
    aggregator: `AGG${i % 7}`,
    baselinekW: Object.fromEntries(Array.from({ length: z.slots }, (_, k) => [String(k), kW(2000)])),
  }));
  const offers: FlexibilityService[] = [];
  for (let j = 0; j < z.offers; j++) {
    const e = podRegistry[int(z.pods)]!;
    const power: FlexPower[] = [];
    for (let k = 0; k < z.slots; k++) {
      if (r() >= (z.offerSlotShare ?? 1)) continue;
      const p = (r() < 0.5 ? -1 : 1) * Math.max(0.001, kW(z.maxOfferkW ?? 500));
      power.push({ index: k, p, pPrice: price(), q: null });
    }
    const id = `${e.aggregator}/${e.pod}/dayAhead/${startTime}/${j}`;
    const flexibility = [{ pod: e.pod, power }];
    offers.push({ ...head, playerId: e.aggregator, serviceType: 'offer', playerServiceId: id, flexibility });
  }
  const requests: FlexibilityService[] = [];
  const byPod = new Map(podRegistry.map((e) => [e.pod, e]));
  const request = (kind: 'DSO' | 'TSO', k: number, pods: string[], on: { pod: string[] } | { pom: string }) => {
    const sum = pods.reduce((a, pod) => a + byPod.get(pod)!.baselinekW[String(k)]!, 0);
    const p = sum + (r() < 0.5 ? -1 : 1) * kW(z.maxNeedkW);
    const power = [{ index: k, p, pPrice: r() < 0.3 ? null : price(), q: null }];
    const playerId = `${kind}-${requests.length}`;
    const serviceType = kind === 'DSO' ? 'DSO_request' : 'TSO_request';
    const playerServiceId = `${playerId}:::dayAhead:::${k}`;
    requests.push({ ...head, playerId, serviceType, playerServiceId, flexibility: [{ ...on, power }] });
  };
  const size = Math.max(1, Math.round(z.pods * (z.dsoSetShare ?? 0.3)));
  for (let k = 0; k < z.slots; k++) {
    for (let d = 0; d < z.dsoPerSlot; d++) {
      const from = int(z.pods - size + 1);
      const pods = podRegistry.slice(from, from + size).map((e) => e.pod);
      request('DSO', k, pods, { pod: pods });
    }
    for (let d = 0; d < z.tsoPerSlot; d++) {
      const pom = `POM-${int(Math.min(z.poms, z.pods))}`;
      request('TSO', k, podsOnPom(podRegistry, pom), { pom });
    }
  }
  // arrival order: DSO and TSO requests interleaved at random (the clearing still takes DSO first)
  for (let i = requests.length - 1; i > 0; i--) {
    const j = int(i + 1);
    [requests[i], requests[j]] = [requests[j]!, requests[i]!];
  }
  return { ...head, podRegistry, requests, offers };
}
