/**
 * The steps of the Tor di Valle day-ahead run over a real cloud stack (`startCloud({runMarket, runDsotp: {network:
 * TOR_DI_VALLE_NETWORK}})`), each one REST call sequence with the platforms' own tokens:
 * 1. `registerPods`: each aggregator (ACEAE, ACEAE_2) registers its PoDs in the SCD (with a device) and their 96-slot
 *    baselines; 2. `associate` (DSOTP → SCD: PoD–PoM); 3. `openSession` (market: `DA-2021-06-23`);
 * 4. `dsoRequests` (DSOTP: power flow per slot, one request at slot 50); 5. `postTsoRequest` and `postOffers`;
 * 6. `clearSession`; 7. `validate` (DSOTP: trims); 8. `dispatch` (DSOTP: the setpoint plan, fired on the clock 5 min
 * before slot 50). `runDayAhead` runs them in order and returns what each answered.
 */
import {
  JsonClient,
  type CloudStack,
  type DispatchPlan,
  type FlexibilityService,
  type MarketOutcome,
  type RequestsResult,
  type ValidationResult,
} from '@lightnode/cloud';
import { TDV_DAY, TDV_DAY_START_MS, TDV_PODS, TDV_SESSION, baselinesW, tdvOffers, tdvTsoRequest } from './scenario.js';

type Stack = Pick<CloudStack, 'scdUrl' | 'marketUrl' | 'tokens' | 'dsotp'>;

const client = (stack: Stack, base: 'scd' | 'market', who: string): JsonClient => {
  const url = base === 'scd' ? stack.scdUrl : stack.marketUrl;
  const token = stack.tokens[who];
  if (!url || !token) throw new Error(`the stack has no ${base} URL or no token for ${who}`);
  return new JsonClient(url, token, { name: base === 'scd' ? 'SCD' : 'market' });
};

const dsotp = (stack: Stack) => {
  if (!stack.dsotp) throw new Error('the stack runs no DSOTP (runDsotp)');
  return stack.dsotp;
};

/** A test device address per PoD index (`0x1111…`, `0x2222…`). */
export const tdvDevice = (i: number): string => '0x' + String(i + 1).repeat(40);

/** Each PoD registered by its aggregator, with its device and its 96-slot baseline of the market day. */
export async function registerPods(
  stack: Stack,
  deviceOf: (pod: string, i: number) => string = (_, i) => tdvDevice(i),
) {
  for (const [i, p] of TDV_PODS.entries()) {
    const scd = client(stack, 'scd', p.aggregator);
    await scd.request('POST', '/pods', { podId: p.pod, deviceId: deviceOf(p.pod, i) });
    await scd.request('PUT', `/pods/${p.pod}/baseline`, { day: TDV_DAY, slotsW: baselinesW(p.pod) });
  }
}

/** The DSOTP's PoD–PoM association. */
export const associate = (stack: Stack) => dsotp(stack).associate();

/** The market opens `DA-2021-06-23`, gate closure 6 h before the day (16:00 Rome, 22 June) unless given. */
export async function openSession(stack: Stack, gateClosureMs = TDV_DAY_START_MS - 6 * 3_600_000) {
  return client(stack, 'market', 'market').request<{ id: string }>('POST', '/sessions', {
    marketType: 'dayAhead',
    day: TDV_DAY,
    gateClosure: new Date(gateClosureMs).toISOString(),
  });
}

/** The DSOTP's power flow over the day and its requests (one: slot 50, the three Mostacciano PoDs). */
export const dsoRequests = (stack: Stack): Promise<RequestsResult> => dsotp(stack).requests(TDV_DAY);

const post = (stack: Stack, who: string, doc: FlexibilityService) =>
  client(stack, 'market', who).request('POST', '/flexibilityService', doc);

/** The TSO's 7500 kW on CP-IRLANDESE at slot 50. */
export const postTsoRequest = (stack: Stack) => post(stack, 'tso', tdvTsoRequest());

/** The aggregators' offers, each with its own token. */
export async function postOffers(stack: Stack): Promise<void> {
  for (const o of tdvOffers()) await post(stack, o.playerId, o);
}

/** The market clears the session. */
export const clearSession = (stack: Stack): Promise<MarketOutcome> =>
  client(stack, 'market', 'market').request<MarketOutcome>('POST', `/sessions/${TDV_SESSION}/clear`);

/** The DSOTP's technical validation (the trim of IT002E60550189). */
export const validate = (stack: Stack): Promise<ValidationResult> => dsotp(stack).validate(TDV_SESSION);

/** The DSOTP's setpoint plan of the validated outcome. */
export const dispatch = (stack: Stack): Promise<DispatchPlan> => dsotp(stack).dispatch(TDV_SESSION);

export interface DayAheadResult {
  associated: string[];
  requests: RequestsResult;
  outcome: MarketOutcome;
  validation: ValidationResult;
  plan: DispatchPlan;
}

/**
 * Every step in order. `beforeClear` runs between the offers and the clearing (e.g. advance a FakeClock past gate
 * closure).
 */
export async function runDayAhead(
  stack: Stack,
  o: { beforeClear?: () => Promise<void> } = {},
): Promise<DayAheadResult> {
  await registerPods(stack);
  const { associated } = await associate(stack);
  await openSession(stack);
  const requests = await dsoRequests(stack);
  await postTsoRequest(stack);
  await postOffers(stack);
  await o.beforeClear?.();
  const outcome = await clearSession(stack);
  const validation = await validate(stack);
  const plan = await dispatch(stack);
  return { associated, requests, outcome, validation, plan };
}
