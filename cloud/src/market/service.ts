/**
 * The flexibility market's rules, transport-free (api.ts is its route table): day-ahead sessions loaded from the SCD,
 * flexibility services (DSO and TSO requests, aggregator offers) until gate closure, clearing (clear.ts), the DSO's
 * technical outcome → the validated outcome (validated.ts), settlement from the SCD's measurements (settlement.ts).
 * Every step writes its outcome rows to the SCD (kinds market, technical, validated, settlement; append-only).
 *
 * Who does what: the market opens and clears sessions and pushes PoD registry entries; the DSO platform posts
 * DSO_request services and the technical outcome; the TSO posts TSO_request services; an aggregator posts offers on
 * its own PoDs. A DSO or TSO posts as player `requestPlayerId(its platform id)` (dso ↔ DSO). Reads: an aggregator its
 * PoDs' services, DSO and TSO the services of their own requests, the market all.
 */
import { z } from 'zod';
import {
  LightNodeError,
  invalidField,
  marketDayStart,
  romeToUtc,
  silentLogger,
  slotsInMarketDay,
  type Clock,
  type Logger,
} from '@lightnode/protocols';
import type { Platform } from '../http/auth.js';
import { parseBody } from '../http/body.js';
import { requestPlayerId } from '../scd/service.js';
import { clearMarket, type MarketOutcome } from './clear.js';
import {
  checkSession,
  parseFlexibilityService,
  parsePodRegistryEntry,
  type FlexibilityService,
  type PodRegistryEntry,
  type SessionInput,
} from './documents.js';
import { outcomeRow, outcomeRows } from './outcome-rows.js';
import type { MarketScd } from './scd-client.js';
import { MARGIN_MS, SLOT_MS, averageLevel, settleSlot, type SettledService } from './settlement.js';
import type { MarketStore, SessionRow } from './store.js';
import {
  TechnicalOutcomeSchema,
  validateOutcome,
  visibleServices,
  type TechnicalOutcome,
  type ValidatedOutcome,
} from './validated.js';

const DAY = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a market day YYYY-MM-DD');
const ISO = z.string().refine((s) => Number.isFinite(Date.parse(s)), 'an ISO 8601 time');

export const Bodies = {
  session: z.strictObject({ marketType: z.literal('dayAhead'), day: DAY, gateClosure: ISO }),
  technicalOutcome: TechnicalOutcomeSchema,
};
export type SessionBody = z.infer<typeof Bodies.session>;

/** The id of a day-ahead session: `DA-YYYY-MM-DD`. */
export const sessionId = (day: string): string => `DA-${day}`;

/** What `POST /sessions` answers. */
export interface SessionView {
  id: string;
  marketType: 'dayAhead';
  day: string;
  startTime: string;
  slots: number;
  gateClosure: string;
  /** The session's PoDs (with a PoM in the SCD). */
  pods: string[];
  /** PoDs of the SCD left out, with why. */
  skipped: { pod: string; reason: string }[];
}

export interface SettlementView {
  session: string;
  services: SettledService[];
}

const view = (s: SessionRow, pods: readonly PodRegistryEntry[]): SessionView => ({
  id: s.id,
  marketType: s.marketType,
  day: s.day,
  startTime: s.startTime,
  slots: s.slots,
  gateClosure: new Date(s.gateClosureMs).toISOString(),
  pods: pods.map((p) => p.pod),
  skipped: s.skipped,
});

function forbid(caller: Platform, what: string): never {
  throw new LightNodeError('FORBIDDEN', `${caller.id} (${caller.role}) may not ${what}`, {
    platform: caller.id,
    role: caller.role,
  });
}

/** What each role may post, and under which playerId. */
const SERVICE_OF_ROLE: Partial<Record<Platform['role'], FlexibilityService['serviceType']>> = {
  dso: 'DSO_request',
  tso: 'TSO_request',
  aggregator: 'offer',
};

export class MarketService {
  private readonly log: Logger;
  constructor(
    readonly store: MarketStore,
    private readonly o: { scd: MarketScd; clock: Clock; log?: Logger },
  ) {
    this.log = o.log ?? silentLogger;
  }

  /** `POST /sessions`: a day-ahead session of `day`, its PoDs (with a PoM), aggregators and baselines from the SCD. */
  async openSession(b: SessionBody): Promise<SessionView> {
    const [y, m, d] = b.day.split('-').map(Number) as [number, number, number];
    const start = romeToUtc(y, m, d);
    if (Number.isNaN(start) || marketDayStart(start) !== start)
      throw invalidField('SCHEMA_INVALID', 'day', 'a valid date', b.day);
    const id = sessionId(b.day);
    if (await this.store.session(id)) throw new LightNodeError('CONFLICT', `session ${id} exists`, { session: id });
    const slots = slotsInMarketDay(start);
    const skipped: SessionRow['skipped'] = [];
    const entries: PodRegistryEntry[] = [];
    for (const p of await this.o.scd.pods()) {
      if (!p.pomId) {
        skipped.push({ pod: p.podId, reason: 'no PoD–PoM association in the SCD' });
        continue;
      }
      const w = await this.o.scd.baselineW(p.podId, b.day);
      const baselinekW: Record<string, number> = {};
      w?.forEach((x, i) => (baselinekW[String(i)] = x / 1000));
      entries.push({ pod: p.podId, pom: p.pomId, aggregator: p.aggregator, baselinekW });
    }
    const row: SessionRow = {
      id,
      marketType: 'dayAhead',
      day: b.day,
      startTime: new Date(start).toISOString(),
      slots,
      gateClosureMs: Date.parse(b.gateClosure),
      skipped,
      createdMs: this.o.clock.now(),
    };
    if (!(await this.store.addSession(row, entries)))
      throw new LightNodeError('CONFLICT', `session ${id} exists`, { session: id });
    this.log.info('market session opened', { session: id, pods: entries.length, skipped: skipped.length });
    return view(row, entries);
  }

  async sessionView(id: string): Promise<SessionView> {
    const s = await this.session(id);
    return view(s, await this.store.registry(id));
  }

  private async session(id: string): Promise<SessionRow> {
    const s = await this.store.session(id);
    if (!s) throw new LightNodeError('NOT_FOUND', `no market session ${id}`, { session: id });
    return s;
  }

  /** The session starting at `startTime`, or (none given) the only session not cleared yet. */
  private async sessionAt(startTime: string | undefined, field = 'startTime'): Promise<SessionRow> {
    const all = await this.store.sessions();
    if (startTime !== undefined) {
      const s = all.find((x) => Date.parse(x.startTime) === Date.parse(startTime));
      if (!s) throw new LightNodeError('NOT_FOUND', `no market session starts at ${startTime}`, { field });
      return s;
    }
    const open: SessionRow[] = [];
    for (const s of all) if (!(await this.store.document(s.id, 'market'))) open.push(s);
    if (open.length !== 1)
      throw invalidField(
        'SCHEMA_INVALID',
        field,
        `the session's start time (${open.length} sessions are open: ${open.map((s) => s.id).join(', ') || 'none'})`,
        startTime,
      );
    return open[0]!;
  }

  /** `POST /podRegistry`: entries pushed to a session not cleared yet (each replaces the PoD's entry). */
  async pushRegistry(body: unknown): Promise<{ session: string; entries: number }> {
    const b = parseBody(z.strictObject({ session: z.string().min(1).optional(), entries: z.array(z.unknown()) }), body);
    const entries = b.entries.map((e, i) => parsePodRegistryEntry(e, `entries.${i}`));
    const s = b.session ? await this.session(b.session) : await this.sessionAt(undefined, 'session');
    await this.openFor(s);
    await this.store.putRegistry(s.id, entries);
    return { session: s.id, entries: entries.length };
  }

  /** Gate closure: no service after it, nor once the session is cleared. */
  private async openFor(s: SessionRow): Promise<void> {
    const now = this.o.clock.now();
    if (now > s.gateClosureMs || (await this.store.document(s.id, 'market')))
      throw new LightNodeError(
        'MARKET_GATE_CLOSED',
        `session ${s.id}: the gate closed at ${new Date(s.gateClosureMs).toISOString()}${now > s.gateClosureMs ? '' : ' (cleared)'}`,
        { session: s.id, gateClosure: new Date(s.gateClosureMs).toISOString() },
      );
  }

  /** `POST /flexibilityService`: a DSO request (dso), a TSO request (tso) or an offer on one own PoD (aggregator). */
  async addService(caller: Platform, body: unknown): Promise<{ id: string; session: string }> {
    const doc = parseFlexibilityService(body);
    const type = SERVICE_OF_ROLE[caller.role];
    if (doc.serviceType !== type)
      forbid(caller, `post a ${doc.serviceType} (it posts ${type ?? 'no flexibility service'})`);
    const player = caller.role === 'aggregator' ? caller.id : requestPlayerId(caller.id);
    if (doc.playerId !== player) forbid(caller, `post as player ${doc.playerId} (it posts as ${player})`);
    const s = await this.sessionAt(doc.startTime);
    await this.openFor(s);
    const registry = await this.store.registry(s.id);
    checkSession({
      ...this.head(s),
      podRegistry: registry,
      requests: type === 'offer' ? [] : [doc],
      offers: type === 'offer' ? [doc] : [],
    });
    if (caller.role === 'aggregator')
      for (const f of doc.flexibility) {
        const pod = (f as { pod: string }).pod;
        const owner = registry.find((e) => e.pod === pod)!.aggregator;
        if (owner !== caller.id) forbid(caller, `offer on PoD ${pod}: it belongs to aggregator ${owner}`);
      }
    if (!(await this.store.addService(s.id, doc, caller.id, this.o.clock.now())))
      throw new LightNodeError('CONFLICT', `session ${s.id} already has service ${doc.playerServiceId}`, {
        playerServiceId: doc.playerServiceId,
      });
    return { id: doc.playerServiceId, session: s.id };
  }

  private head(s: SessionRow): Pick<SessionInput, 'marketType' | 'startTime' | 'duration' | 'interval'> {
    return { marketType: 'dayAhead', startTime: s.startTime, duration: (s.slots * 15) / 60, interval: 15 };
  }

  /** The session as clear.ts takes it: its registry, requests and offers in arrival order. */
  async sessionInput(id: string): Promise<SessionInput> {
    const s = await this.session(id);
    const services = await this.store.services(id);
    return {
      ...this.head(s),
      podRegistry: await this.store.registry(id),
      requests: services.filter((x) => x.serviceType !== 'offer'),
      offers: services.filter((x) => x.serviceType === 'offer'),
    };
  }

  /** `POST /sessions/{id}/clear`: the market outcome, its `market` rows written to the SCD. Once per session. */
  async clear(id: string): Promise<MarketOutcome> {
    const s = await this.session(id);
    if (await this.store.document(id, 'market'))
      throw new LightNodeError('CONFLICT', `session ${id} is cleared already (GET /sessions/${id}/outcome)`, {});
    const input = await this.sessionInput(id);
    const outcome = clearMarket(input);
    const aggregatorOf = new Map(input.podRegistry.map((e) => [e.pod, e.aggregator]));
    await this.o.scd.addOutcomes(outcomeRows(s, 'market', outcome.flexibility, aggregatorOf, () => ({})));
    await this.store.addDocument(id, 'market', outcome, this.o.clock.now());
    this.log.info('market session cleared', { session: id, pods: outcome.flexibility.length });
    return outcome;
  }

  async outcome(id: string): Promise<MarketOutcome> {
    await this.session(id);
    const o = await this.store.document<MarketOutcome>(id, 'market');
    if (!o) throw new LightNodeError('NOT_FOUND', `session ${id} is not cleared yet`, { session: id });
    return o;
  }

  /** `POST /technicalOutcome` (dso): the validated outcome, `technical` and `validated` rows to the SCD. Once. */
  async technicalOutcome(t: TechnicalOutcome): Promise<ValidatedOutcome> {
    const s = await this.sessionAt(t.startTime);
    if (t.marketOutcome !== s.id)
      throw new LightNodeError(
        'MARKET_SESSION_MISMATCH',
        `technical outcome for ${t.marketOutcome}, but the session starting at ${t.startTime} is ${s.id}`,
        { field: 'marketOutcome', session: s.id },
      );
    const market = await this.store.document<MarketOutcome>(s.id, 'market');
    if (!market) throw new LightNodeError('CONFLICT', `session ${s.id} is not cleared yet`, { session: s.id });
    if (await this.store.document(s.id, 'validated'))
      throw new LightNodeError('CONFLICT', `session ${s.id} has a validated outcome already`, { session: s.id });
    const input = await this.sessionInput(s.id);
    const kinds = new Map(input.requests.map((r) => [r.playerId, r.serviceType] as const));
    const validated = validateOutcome(s.id, market, t, input.podRegistry, (p) =>
      kinds.get(p) === 'offer' ? undefined : (kinds.get(p) as 'DSO_request' | 'TSO_request' | undefined),
    );
    const levels = new Map(t.flexibility.flatMap((f) => f.power.map((p) => [`${f.pod}|${p.index}`, p] as const)));
    const aggregatorOf = new Map(input.podRegistry.map((e) => [e.pod, e.aggregator]));
    const technicalRows = outcomeRows(s, 'technical', validated.flexibility, aggregatorOf, (pod, v) => {
      const l = levels.get(`${pod}|${v.index}`);
      return l ? { acceptedPValue: l.acceptedPValue, acceptedP: l.acceptedP } : { acceptedP: 'OK' as const };
    });
    const validatedRows = outcomeRows(s, 'validated', validated.flexibility, aggregatorOf, (_, v) => ({
      acceptedQValue: null,
      acceptedQPrice: null,
      rejectionTypeP: v.rejectionTypeP,
    }));
    await this.o.scd.addOutcomes([...technicalRows, ...validatedRows]);
    const now = this.o.clock.now();
    await this.store.addDocument(s.id, 'technical', t, now);
    await this.store.addDocument(s.id, 'validated', validated, now);
    return validated;
  }

  /** May `caller` read this service of `pod`? */
  private async reader(
    caller: Platform,
    session: string,
  ): Promise<(pod: string, s: { playerRequestId: string; playerOfferId: string }) => boolean> {
    if (caller.role === 'market') return () => true;
    if (caller.role === 'aggregator') {
      const mine = new Set(
        (await this.store.registry(session)).filter((e) => e.aggregator === caller.id).map((e) => e.pod),
      );
      return (pod) => mine.has(pod);
    }
    const player = requestPlayerId(caller.id);
    return (_, s) => s.playerRequestId === player;
  }

  /** `GET /validatedOutcome?session=`: the services the caller may read. */
  async validatedOutcome(caller: Platform, id: string): Promise<ValidatedOutcome> {
    const v = await this.validated(id);
    return { ...v, flexibility: visibleServices(v.flexibility, await this.reader(caller, id)) };
  }

  private async validated(id: string): Promise<ValidatedOutcome> {
    await this.session(id);
    const v = await this.store.document<ValidatedOutcome>(id, 'validated');
    if (!v) throw new LightNodeError('NOT_FOUND', `session ${id} has no validated outcome yet`, { session: id });
    return v;
  }

  /**
   * `GET /settlement?session=`: each validated service against the SCD's measurements of its PoD and slot. A service
   * settled once stays as it was (its `settlement` row is written once); one without measurements (or whose slot has
   * not ended) is listed with `settledkW: null` and the reason, and tried again on the next call.
   */
  async settlement(caller: Platform, id: string): Promise<SettlementView> {
    const s = await this.session(id);
    const v = await this.validated(id);
    const done = new Map((await this.store.settled<SettledService>(id)).map((x) => [x.id, x]));
    const registry = new Map((await this.store.registry(id)).map((e) => [e.pod, e]));
    const start = Date.parse(s.startTime);
    const out: SettledService[] = [];
    const fresh: SettledService[] = [];
    for (const f of v.flexibility)
      for (const index of [...new Set(f.power.map((p) => p.index))].sort((a, b) => a - b)) {
        const services = f.power.filter((p) => p.index === index);
        const ids = services.map((p) => `${index}/${p.playerServiceId}/${p.playerRequestId}`);
        if (ids.every((x) => done.has(x))) {
          out.push(...ids.map((x) => done.get(x)!));
          continue;
        }
        const from = start + index * SLOT_MS;
        const to = from + SLOT_MS;
        const level =
          this.o.clock.now() < to
            ? { reason: `slot ${index} ends at ${new Date(to).toISOString()}` }
            : averageLevel(await this.o.scd.measurements(f.pod, from - MARGIN_MS, to + MARGIN_MS + 1), from, to);
        const settled = settleSlot(f.pod, services, registry.get(f.pod)?.baselinekW[String(index)] ?? 0, level);
        out.push(...settled);
        fresh.push(...settled.filter((x) => x.settledkW !== null));
      }
    if (fresh.length > 0) {
      const aggregatorOf = new Map([...registry.values()].map((e) => [e.pod, e.aggregator]));
      await this.o.scd.addOutcomes(
        fresh.map((x) => ({
          ...outcomeRow(s, 'settlement', x.pod, aggregatorOf, x),
          id: `${s.id}/settlement/${x.id}`,
          settledkW: x.settledkW,
          amountEur: x.amountEur,
        })),
      );
      await this.store.addSettled(id, fresh, this.o.clock.now());
    }
    const may = await this.reader(caller, id);
    return { session: id, services: out.filter((x) => may(x.pod, x)) };
  }
}
