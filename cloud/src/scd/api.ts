/**
 * The SCD's REST API: its route table on the cloud HTTP layer (http/). Errors are `{error: {code, message, field?}}`
 * with the status their code maps to (http/errors.ts): a bad body, path parameter or query → 400 naming it, no or an
 * unknown token → 401, a role or owner that may not → 403, unknown → 404, a body over its limit (1 MiB, 64 MiB for
 * `/ingest`) → 413.
 *
 *   POST /oauth/token                      client credentials → bearer token
 *   GET  /health
 *   POST /pods                 aggregator  register / update one of its PoDs
 *   GET  /pods                             own PoDs (aggregator) or all (dso, tso, market)
 *   PUT  /pods/{podId}/pom     dso         PoD–PoM association
 *   PUT  /pods/{podId}/device  enroller    bind a device to a PoD for an installer's aggregator {deviceId, aggregator}
 *   PUT  /pods/{podId}/baseline aggregator its PoD's baseline for a market day
 *   GET  /pods/{podId}/baseline?day=
 *   POST /setpoints            dso         GET /setpoints
 *   POST /market-outcomes      market      one outcome row or an array (one transaction), append-only: an id
 *                                          again, PUT/PATCH/DELETE /market-outcomes/{id} → 403
 *   GET  /market-outcomes?session=&kind=   rows {id, session, day, slot, podId, aggregator, kind: market |
 *                                          technical | validated | settlement, acceptedPValue (kW),
 *                                          acceptedPPrice? (€/kW), acceptedQValue?, acceptedQPrice?, acceptedP?,
 *                                          rejectionTypeP?, playerServiceId, playerRequestId, playerOfferId,
 *                                          settledkW?, amountEur?, createdBy, createdMs}: an aggregator its PoDs',
 *                                          dso / tso those of its own requests (playerRequestId = its id
 *                                          upper-cased: dso ↔ DSO), dso also every market and technical row,
 *                                          market all
 *   GET  /measurements?podId=&fromMs=&toMs=&limit=
 *   GET  /proof/{deviceId}/{seq}           the proof document of one sample
 *   GET  /gaps/{deviceId}
 *   GET  /acks?setpointId=&podId=          the devices' signed acks (aggregator: podId of one of its PoDs)
 *   GET  /qos?setpointId=&podId=&fromMs=&toMs=   the devices' signed QoS reports (likewise)
 *   POST /ingest               bal         an anchored window;  POST /ingest/gaps  declared gaps
 *   POST /ingest/messages      bal         signed acks and QoS reports, deduplicated on (deviceId, seq)
 */
import type { Server } from 'node:http';
import { podIdSchema, silentLogger, type Logger } from '@lightnode/protocols';
import { parseBody } from '../http/body.js';
import type { Auth, Role } from '../http/auth.js';
import { route, type Route } from '../http/router.js';
import { createApiServer } from '../http/server.js';
import { Bodies, type ScdService } from './service.js';

/** Largest `POST /ingest` body (one anchor window with its batches): 64 MiB. */
export const INGEST_BODY_LIMIT = 64 << 20;

const READERS: readonly Role[] = ['aggregator', 'dso', 'tso', 'market'];

/** The query parameters `keys` that are given (an empty one is absent). */
function queryOf<K extends string>(query: URLSearchParams, keys: readonly K[]): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const k of keys) if (query.get(k)) out[k] = query.get(k)!;
  return out;
}
const MESSAGE_QUERY = ['setpointId', 'podId', 'fromMs', 'toMs', 'limit'] as const;

/** The SCD's route table. */
export function scdRoutes(scd: ScdService): Route[] {
  return [
    route({
      method: 'POST',
      path: '/pods',
      roles: ['aggregator'],
      forbidden: 'register PoDs (aggregators register their own PoDs)',
      body: Bodies.pod,
      status: 201,
      handle: (c) => scd.registerPod(c.caller, c.body),
    }),
    route({
      method: 'GET',
      path: '/pods',
      roles: READERS,
      forbidden: 'read the PoD registry',
      handle: (c) => scd.listPods(c.caller),
    }),
    route({
      method: 'PUT',
      path: '/pods/{podId}/pom',
      roles: ['dso'],
      forbidden: 'write PoD–PoM associations (only the DSO platform does)',
      body: Bodies.pom,
      handle: (c) => scd.setPom(c.caller, c.params.podId!, c.body),
    }),
    route({
      method: 'PUT',
      path: '/pods/{podId}/device',
      roles: ['enroller'],
      forbidden: 'bind devices to PoDs (only the enrollment service does)',
      body: Bodies.device,
      handle: (c) => scd.bindDevice(c.caller, parseBody(podIdSchema, c.params.podId!, 'podId'), c.body),
    }),
    route({
      method: 'PUT',
      path: '/pods/{podId}/baseline',
      roles: ['aggregator'],
      forbidden: "update baselines (aggregators update their PoDs' baselines)",
      body: Bodies.baseline,
      handle: (c) => scd.putBaseline(c.caller, c.params.podId!, c.body),
    }),
    route({
      method: 'GET',
      path: '/pods/{podId}/baseline',
      handle: (c) => scd.baseline(c.caller, c.params.podId!, c.query.get('day') ?? undefined),
    }),
    route({
      method: 'POST',
      path: '/setpoints',
      roles: ['dso'],
      forbidden: 'write setpoints (the DSO platform dispatches them)',
      body: Bodies.setpoint,
      status: 201,
      handle: (c) => scd.addSetpoint(c.caller, c.body),
    }),
    route({
      method: 'GET',
      path: '/setpoints',
      roles: READERS,
      forbidden: 'read setpoints',
      handle: (c) => scd.listSetpoints(c.caller),
    }),
    route({
      method: 'POST',
      path: '/market-outcomes',
      roles: ['market'],
      forbidden: 'write market outcomes (only the market does)',
      body: 'json',
      maxBodyBytes: INGEST_BODY_LIMIT,
      status: 201,
      handle: (c) => scd.addOutcomes(c.caller, c.body),
    }),
    route({
      method: 'GET',
      path: '/market-outcomes',
      roles: READERS,
      forbidden: 'read market outcomes',
      handle: (c) => scd.listOutcomes(c.caller, queryOf(c.query, ['session', 'kind'])),
    }),
    ...(['PUT', 'PATCH', 'DELETE'] as const).map((method) =>
      route({ method, path: '/market-outcomes/{id}', handle: (c) => scd.modifyOutcome(c.caller, c.params.id!) }),
    ),
    route({
      method: 'GET',
      path: '/measurements',
      roles: READERS,
      forbidden: 'read measurements',
      handle: (c) => scd.measurements(c.caller, queryOf(c.query, ['podId', 'fromMs', 'toMs', 'limit'])),
    }),
    route({
      method: 'GET',
      path: '/acks',
      roles: READERS,
      forbidden: 'read acks',
      handle: (c) => scd.acks(c.caller, queryOf(c.query, MESSAGE_QUERY)),
    }),
    route({
      method: 'GET',
      path: '/qos',
      roles: READERS,
      forbidden: 'read QoS reports',
      handle: (c) => scd.qos(c.caller, queryOf(c.query, MESSAGE_QUERY)),
    }),
    route({
      method: 'GET',
      path: '/proof/{deviceId}/{seq}',
      handle: (c) => scd.proof(c.caller, c.params.deviceId!, c.params.seq!),
    }),
    route({ method: 'GET', path: '/gaps/{deviceId}', handle: (c) => scd.gaps(c.caller, c.params.deviceId!) }),
    route({
      method: 'POST',
      path: '/ingest',
      roles: ['bal'],
      forbidden: 'write measurements (only the BAL does, with proofs)',
      body: 'json',
      maxBodyBytes: INGEST_BODY_LIMIT,
      handle: (c) => scd.ingestWindow(c.body),
    }),
    route({
      method: 'POST',
      path: '/ingest/gaps',
      roles: ['bal'],
      forbidden: 'write gap declarations (only the BAL does)',
      body: 'json',
      handle: (c) => scd.ingestGaps(c.body),
    }),
    route({
      method: 'POST',
      path: '/ingest/messages',
      roles: ['bal'],
      forbidden: 'write acks and QoS reports (only the BAL does, verified)',
      body: 'json',
      handle: (c) => scd.ingestMessages(c.body),
    }),
  ];
}

export function createScdServer(scd: ScdService, auth: Auth, log: Logger = silentLogger): Server {
  return createApiServer({
    routes: scdRoutes(scd),
    auth,
    log,
    name: 'SCD',
    health: async () => ({ ok: true, store: scd.store.db.kind, counts: await scd.store.counts() }),
  });
}
