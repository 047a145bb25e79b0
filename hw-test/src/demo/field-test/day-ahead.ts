/**
 * The day-ahead steps of the field test (2021-06-22, simulated), every one through the public REST APIs with the
 * platform's own token: the aggregators register their PoDs (with the Light Nodes' device ids) and baselines in the
 * SCD, the market opens the session, the DSOTP associates PoD–PoM and posts its requests, the TSO and the aggregators
 * post theirs, the market clears after the gate, the DSOTP validates, each participant reads its validated outcome.
 */
import {
  JsonClient,
  type CloudStack,
  type FlexibilityService,
  type MarketOutcome,
  type SettledService,
  type SettlementView,
} from '@lightnode/cloud';
import type { FieldScenario } from './scenario.js';

export const client = (stack: CloudStack, base: 'scd' | 'market', who: string): JsonClient =>
  new JsonClient(base === 'scd' ? stack.scdUrl! : stack.marketUrl!, stack.tokens[who]!, {
    name: base === 'scd' ? 'SCD' : 'market',
  });

/** Gate closure of the session: 12:00Z on the day before (14:00 in Rome). */
export const gateClosureMs = (s: FieldScenario): number => s.dayStartMs - 10 * 3_600_000;

export async function registerPods(
  stack: CloudStack,
  s: FieldScenario,
  deviceIds: ReadonlyMap<string, string>,
): Promise<void> {
  for (const p of s.pods) {
    const scd = client(stack, 'scd', p.aggregator);
    await scd.request('POST', '/pods', { podId: p.pod, deviceId: deviceIds.get(p.pod) });
    await scd.request('PUT', `/pods/${p.pod}/baseline`, { day: s.day, slotsW: p.baselinesW });
  }
}

export async function openSession(stack: CloudStack, s: FieldScenario): Promise<void> {
  await client(stack, 'market', 'market').request('POST', '/sessions', {
    marketType: 'dayAhead',
    day: s.day,
    gateClosure: new Date(gateClosureMs(s)).toISOString(),
  });
}

export async function postService(stack: CloudStack, who: string, doc: FlexibilityService): Promise<void> {
  await client(stack, 'market', who).request('POST', '/flexibilityService', doc);
}

export async function clear(stack: CloudStack, s: FieldScenario): Promise<MarketOutcome> {
  return client(stack, 'market', 'market').request<MarketOutcome>('POST', `/sessions/${s.sessionId}/clear`);
}

export interface ValidatedView {
  flexibility: { pod: string; power: { index: number; acceptedPValue: number; playerRequestId: string }[] }[];
}

/** Each participant's view of the validated outcome (the aggregators see their PoDs, the DSO its requests). */
export async function validatedViews(stack: CloudStack, s: FieldScenario): Promise<Map<string, ValidatedView>> {
  const out = new Map<string, ValidatedView>();
  for (const who of ['ACEAE', 'ACEAE_2', 'dso', 'tso', 'market'])
    out.set(
      who,
      await client(stack, 'market', who).request<ValidatedView>('GET', `/validatedOutcome?session=${s.sessionId}`),
    );
  return out;
}

export async function settlement(stack: CloudStack, s: FieldScenario): Promise<SettledService[]> {
  const v = await client(stack, 'market', 'market').request<SettlementView>(
    'GET',
    `/settlement?session=${s.sessionId}`,
  );
  return v.services;
}
