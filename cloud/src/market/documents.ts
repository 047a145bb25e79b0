/**
 * The Platone flexibility-market documents (issue 12 item 3): flexibility services (DSO and TSO requests, aggregator
 * offers), the PoD registry and a day-ahead session (the `lightnode market clear --in SESSION.json` input).
 * Strict zod schemas: a bad shape is SCHEMA_INVALID naming the field path (`offers.2.flexibility.0.pod`); the
 * references between documents (a PoD in the registry, a baseline for every PoD and slot used) are checked by
 * `checkSession`: MARKET_POD_UNKNOWN / MARKET_BASELINE_MISSING.
 */
import { z } from 'zod';
import { LightNodeError } from '@lightnode/protocols';
import { parseBody } from '../http/body.js';

/** One slot of a service: for requests `p` is the LEVEL of the PoD (set) in kW, for offers the DELTA from baseline. */
export type FlexPower = { index: number; p: number; pPrice: number | null; q?: number | null; qPrice?: number | null };
export type FlexOnPods = { pod: string | string[]; power: FlexPower[] };
export type FlexOnPom = { pom: string; power: FlexPower[] };
export interface FlexibilityService {
  marketType: 'dayAhead';
  duration?: number;
  interval?: number;
  startTime?: string;
  playerId: string;
  serviceType: 'DSO_request' | 'TSO_request' | 'offer';
  playerServiceId: string;
  flexibility: (FlexOnPods | FlexOnPom)[];
}
export interface PodRegistryEntry {
  pod: string;
  pom: string;
  aggregator: string;
  /** Baseline per slot index ("50": kW, load convention). */
  baselinekW: Record<string, number>;
}
export interface SessionInput {
  marketType: 'dayAhead';
  startTime: string;
  duration: number;
  interval: number;
  podRegistry: PodRegistryEntry[];
  requests: FlexibilityService[];
  offers: FlexibilityService[];
}

const ID = z.string().min(1).max(256);
const NUM = z.number().refine(Number.isFinite, 'expected a finite number');
const PRICE = NUM.nullable();
const ISO = z.string().refine((s) => Number.isFinite(Date.parse(s)), 'expected an ISO 8601 time');
const POWER = z.strictObject({
  index: z.number().int().min(0).max(99),
  p: NUM,
  pPrice: PRICE,
  q: NUM.nullable().optional(),
  qPrice: PRICE.optional(),
});
const FLEX = z
  .strictObject({ pod: z.union([ID, z.array(ID).min(1)]).optional(), pom: ID.optional(), power: z.array(POWER) })
  .superRefine((f, ctx) => {
    if ((f.pod === undefined) === (f.pom === undefined))
      ctx.addIssue({ code: 'custom', path: ['pod'], message: 'expected exactly one of pod (PoD or PoD set), pom' });
  });

/** The pods of one flexibility element (a PoM element has none of its own). */
export function podsOf(f: FlexOnPods | FlexOnPom): string[] {
  const pod = (f as Partial<FlexOnPods>).pod;
  return pod === undefined ? [] : Array.isArray(pod) ? pod : [pod];
}

/** The PoM of a flexibility element, if it is on one. */
export function pomOf(f: FlexOnPods | FlexOnPom): string | undefined {
  return (f as Partial<FlexOnPom>).pom;
}

const SERVICE = z
  .strictObject({
    marketType: z.literal('dayAhead'),
    duration: z.number().positive().optional(),
    interval: z.number().int().positive().optional(),
    startTime: ISO.optional(),
    playerId: ID,
    serviceType: z.enum(['DSO_request', 'TSO_request', 'offer']),
    playerServiceId: ID,
    flexibility: z.array(FLEX).min(1),
  })
  .superRefine((s, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (s.serviceType === 'offer' && s.flexibility.length !== 1)
      issue(['flexibility'], 'expected an offer on one PoD (one flexibility element)');
    const indexes = new Set<number>();
    s.flexibility.forEach((f, i) => {
      const pods = podsOf(f as FlexOnPods);
      if (s.serviceType === 'offer' && (f.pom !== undefined || pods.length !== 1))
        issue(['flexibility', i, f.pom !== undefined ? 'pom' : 'pod'], 'expected an offer on exactly one PoD');
      if (s.serviceType === 'TSO_request' && f.pom === undefined)
        issue(['flexibility', i, 'pom'], 'expected a TSO request on a PoM (pom)');
      if (s.serviceType === 'DSO_request' && f.pom !== undefined)
        issue(['flexibility', i, 'pom'], 'expected a DSO request on a PoD set (pod), not a PoM');
      if (new Set(pods).size !== pods.length) issue(['flexibility', i, 'pod'], 'expected distinct PoDs');
      f.power.forEach((p, j) => {
        if (indexes.has(p.index))
          issue(['flexibility', i, 'power', j, 'index'], 'expected each slot index once per service');
        indexes.add(p.index);
        if (s.serviceType === 'offer' && p.pPrice === null)
          issue(['flexibility', i, 'power', j, 'pPrice'], 'expected an offer price (€/kW)');
      });
    });
  });

const REGISTRY_ENTRY = z.strictObject({
  pod: ID,
  pom: ID,
  aggregator: ID,
  baselinekW: z.record(z.string().regex(/^(0|[1-9]\d?)$/, 'expected a slot index "0".."99"'), NUM),
});

const SESSION = z.strictObject({
  marketType: z.literal('dayAhead'),
  startTime: ISO,
  duration: z.number().positive().max(25),
  interval: z.number().int().positive(),
  podRegistry: z.array(REGISTRY_ENTRY),
  requests: z.array(SERVICE),
  offers: z.array(SERVICE),
});

/** A flexibility service document (`POST /flexibilityService`); SCHEMA_INVALID naming the field. */
export function parseFlexibilityService(x: unknown): FlexibilityService {
  return parseBody(SERVICE, x) as FlexibilityService;
}

/** The registry entry schema (`POST /podRegistry` entries). */
export function parsePodRegistryEntry(x: unknown, prefix = 'entry'): PodRegistryEntry {
  return parseBody(REGISTRY_ENTRY, x, prefix);
}

/** A SESSION.json document: shapes (SCHEMA_INVALID naming the path), then the references (`checkSession`). */
export function parseSession(x: unknown): SessionInput {
  const s = parseBody(SESSION, x) as SessionInput;
  checkSession(s);
  return s;
}

const schemaError = (field: string, message: string, extra: Record<string, unknown> = {}): LightNodeError =>
  new LightNodeError('SCHEMA_INVALID', `${field}: ${message}`, { field, ...extra });

/** Number of slots of the session's market day (96; 92 / 100 on DST days). */
export function sessionSlots(s: Pick<SessionInput, 'duration' | 'interval'>): number {
  return Math.round((s.duration * 60) / s.interval);
}

/**
 * The references of a session: slot indexes within the day, requests are requests and offers offers, playerServiceIds
 * unique, registry PoDs unique, every PoD (and PoM) named known (MARKET_POD_UNKNOWN naming it and the document),
 * every PoD and slot a service uses with a baseline (MARKET_BASELINE_MISSING naming both).
 */
export function checkSession(s: SessionInput): void {
  const slots = sessionSlots(s);
  const pods = new Map<string, PodRegistryEntry>();
  const poms = new Set<string>();
  s.podRegistry.forEach((e, i) => {
    if (pods.has(e.pod)) throw schemaError(`podRegistry.${i}.pod`, `PoD ${e.pod} registered twice`, { pod: e.pod });
    pods.set(e.pod, e);
    poms.add(e.pom);
  });
  const check = (list: FlexibilityService[], name: 'requests' | 'offers'): void => {
    const ids = new Set<string>();
    list.forEach((d, i) => {
      const at = `${name}.${i}`;
      if ((name === 'offers') !== (d.serviceType === 'offer'))
        throw schemaError(`${at}.serviceType`, `expected ${name === 'offers' ? 'offer' : 'DSO_request | TSO_request'}`);
      if (ids.has(d.playerServiceId))
        throw schemaError(`${at}.playerServiceId`, `${d.playerServiceId} used by another of the ${name}`);
      ids.add(d.playerServiceId);
      d.flexibility.forEach((f, j) => {
        const pom = pomOf(f);
        const set = pom !== undefined ? podsOnPom(s.podRegistry, pom) : podsOf(f);
        if (pom !== undefined && !poms.has(pom))
          throw new LightNodeError(
            'MARKET_POD_UNKNOWN',
            `PoM ${pom} of ${d.playerServiceId}: no PoD registered on it`,
            {
              pom,
              playerServiceId: d.playerServiceId,
              field: `${at}.flexibility.${j}.pom`,
            },
          );
        for (const pod of set)
          if (!pods.has(pod))
            throw new LightNodeError('MARKET_POD_UNKNOWN', `PoD ${pod} of ${d.playerServiceId}: not in the registry`, {
              pod,
              playerServiceId: d.playerServiceId,
              field: `${at}.flexibility.${j}.pod`,
            });
        f.power.forEach((p, k) => {
          if (p.index >= slots)
            throw schemaError(
              `${at}.flexibility.${j}.power.${k}.index`,
              `expected 0..${slots - 1}, received ${p.index}`,
            );
          for (const pod of set)
            if (pods.get(pod)!.baselinekW[String(p.index)] === undefined)
              throw new LightNodeError(
                'MARKET_BASELINE_MISSING',
                `PoD ${pod} has no baseline for slot ${p.index} (used by ${d.playerServiceId})`,
                { pod, slot: p.index, playerServiceId: d.playerServiceId },
              );
        });
      });
    });
  };
  check(s.requests, 'requests');
  check(s.offers, 'offers');
}

/** The PoDs of the registry on a PoM, in code-point order (so sums do not depend on the registry's order). */
export function podsOnPom(registry: readonly PodRegistryEntry[], pom: string): string[] {
  return registry
    .filter((e) => e.pom === pom)
    .map((e) => e.pod)
    .sort(codePoint);
}

/** Code-point order of strings (not `localeCompare`). */
export function codePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
