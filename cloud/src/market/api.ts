/**
 * The flexibility market's REST API: its route table on the cloud HTTP layer (http/), the SCD's credentials and
 * error bodies `{error: {code, message, field?}}` (http/errors.ts: a bad body 400 naming the field, 401, a role or
 * owner that may not 403, unknown 404, MARKET_GATE_CLOSED / MARKET_SESSION_MISMATCH / CONFLICT 409,
 * MARKET_POD_UNKNOWN / MARKET_BASELINE_MISSING 422).
 *
 *   POST /oauth/token, GET /health
 *   POST /sessions {marketType, day, gateClosure}  market      a day-ahead session from the SCD's PoDs and baselines
 *   GET  /sessions/{id}                            all but bal
 *   POST /podRegistry {session?, entries}          market      PoD registry entries pushed to an open session
 *   POST /flexibilityService                       dso (DSO_request), tso (TSO_request), aggregator (offer, own PoD)
 *   POST /sessions/{id}/clear                      market      → the market outcome; `market` rows to the SCD
 *   GET  /sessions/{id}/outcome                    market, dso → the market outcome (what the DSOTP validates)
 *   POST /technicalOutcome                         dso         → the validated outcome; `technical`, `validated` rows
 *   GET  /validatedOutcome?session=                all but bal: an aggregator its PoDs', dso / tso their requests'
 *   GET  /settlement?session=                      likewise, from the SCD's measurements; `settlement` rows
 */
import type { Server } from 'node:http';
import { invalidField, silentLogger, type Logger } from '@lightnode/protocols';
import type { Auth, Role } from '../http/auth.js';
import { route, type Route } from '../http/router.js';
import { createApiServer } from '../http/server.js';
import { Bodies, type MarketService } from './service.js';

const READERS: readonly Role[] = ['aggregator', 'dso', 'tso', 'market'];

function sessionQuery(q: URLSearchParams): string {
  const s = q.get('session');
  if (!s) throw invalidField('SCHEMA_INVALID', 'session', 'a session id, e.g. DA-2021-06-23 (query parameter)', s);
  return s;
}

export function marketRoutes(m: MarketService): Route[] {
  return [
    route({
      method: 'POST',
      path: '/sessions',
      roles: ['market'],
      forbidden: 'open market sessions (only the market does)',
      body: Bodies.session,
      status: 201,
      handle: (c) => m.openSession(c.body),
    }),
    route({
      method: 'GET',
      path: '/sessions/{id}',
      roles: READERS,
      forbidden: 'read market sessions',
      handle: (c) => m.sessionView(c.params.id!),
    }),
    route({
      method: 'POST',
      path: '/podRegistry',
      roles: ['market'],
      forbidden: 'push PoD registry entries (the SCD side of the market does)',
      body: 'json',
      handle: (c) => m.pushRegistry(c.body),
    }),
    route({
      method: 'POST',
      path: '/flexibilityService',
      roles: ['dso', 'tso', 'aggregator'],
      forbidden: 'post flexibility services (DSO and TSO requests, aggregator offers)',
      body: 'json',
      status: 201,
      handle: (c) => m.addService(c.caller, c.body),
    }),
    route({
      method: 'POST',
      path: '/sessions/{id}/clear',
      roles: ['market'],
      forbidden: 'clear market sessions (only the market does)',
      handle: (c) => m.clear(c.params.id!),
    }),
    route({
      method: 'GET',
      path: '/sessions/{id}/outcome',
      roles: ['market', 'dso'],
      forbidden: 'read the market outcome before validation (the DSO platform validates it)',
      handle: (c) => m.outcome(c.params.id!),
    }),
    route({
      method: 'POST',
      path: '/technicalOutcome',
      roles: ['dso'],
      forbidden: 'post technical outcomes (only the DSO platform validates)',
      body: Bodies.technicalOutcome,
      handle: (c) => m.technicalOutcome(c.body),
    }),
    route({
      method: 'GET',
      path: '/validatedOutcome',
      roles: READERS,
      forbidden: 'read validated outcomes',
      handle: (c) => m.validatedOutcome(c.caller, sessionQuery(c.query)),
    }),
    route({
      method: 'GET',
      path: '/settlement',
      roles: READERS,
      forbidden: 'read settlements',
      handle: (c) => m.settlement(c.caller, sessionQuery(c.query)),
    }),
  ];
}

export function createMarketServer(m: MarketService, auth: Auth, log: Logger = silentLogger): Server {
  return createApiServer({
    routes: marketRoutes(m),
    auth,
    log,
    name: 'market',
    health: async () => ({ ok: true, sessions: (await m.store.sessions()).length }),
  });
}
