/** The market's outcome rows for the SCD (`POST /market-outcomes`, scd/service.ts `Bodies.outcome`). */
import type { OutcomeBody } from '../scd/service.js';
import type { SessionRow } from './store.js';
import type { ValidatedService } from './validated.js';

export type ServiceLike = Pick<
  ValidatedService,
  'index' | 'acceptedPValue' | 'acceptedPPrice' | 'playerServiceId' | 'playerRequestId' | 'playerOfferId'
>;

/** One outcome row of a service at a PoD (id made unique by outcomeRows). */
export function outcomeRow(
  s: SessionRow,
  kind: OutcomeBody['kind'],
  pod: string,
  aggregatorOf: ReadonlyMap<string, string>,
  x: ServiceLike,
): OutcomeBody {
  return {
    id: `${s.id}/${kind}/${x.index}/${x.playerServiceId}/${x.playerRequestId}`,
    session: s.id,
    day: s.day,
    slot: x.index,
    podId: pod,
    aggregator: aggregatorOf.get(pod) ?? x.playerOfferId,
    kind,
    acceptedPValue: x.acceptedPValue,
    acceptedPPrice: x.acceptedPPrice,
    playerServiceId: x.playerServiceId,
    playerRequestId: x.playerRequestId,
    playerOfferId: x.playerOfferId,
  };
}

/** The rows of every service of `flexibility`; a second service with the same id gets `#2`, … */
export function outcomeRows<T extends ServiceLike>(
  s: SessionRow,
  kind: OutcomeBody['kind'],
  flexibility: readonly { pod: string; power: T[] }[],
  aggregatorOf: ReadonlyMap<string, string>,
  extra: (pod: string, x: T) => Partial<OutcomeBody>,
): OutcomeBody[] {
  const seen = new Map<string, number>();
  return flexibility.flatMap((f) =>
    f.power.map((x) => {
      const r = { ...outcomeRow(s, kind, f.pod, aggregatorOf, x), ...extra(f.pod, x) };
      const n = (seen.get(r.id) ?? 0) + 1;
      seen.set(r.id, n);
      return n === 1 ? r : { ...r, id: `${r.id}#${n}` };
    }),
  );
}
