/**
 * The reference day-ahead session of the Tor di Valle field test (Platone Italian demo, June 2021), as the market's
 * SESSION.json. Numbers copied from ../shared/scenarios/tor-di-valle.json ("pods", "observed.dsoRequest",
 * "observed.tsoRequest"); tests use this builder, never that file.
 */
import type { FlexibilityService, PodRegistryEntry, SessionInput } from '../market/documents.js';

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
