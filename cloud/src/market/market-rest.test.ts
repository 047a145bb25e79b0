import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, lightNodeDomain, makeSample, privateKeySigner, sealBatch } from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { Auth } from '../http/auth.js';
import { listen } from '../http/server.js';
import { createScdServer } from '../scd/api.js';
import { ScdService } from '../scd/service.js';
import { openSqlite } from '../scd/sql.js';
import { ScdStore } from '../scd/store.js';
import { generateCredentials } from '../stack.js';
import { CHAIN, REGISTER, windowOf } from '../testing/fixtures.js';
import { TOR_DI_VALLE, torDiValleSession } from '../testing/market.js';
import { startMarket, type MarketHandle } from './start.js';

const dir = mkdtempSync(join(tmpdir(), 'ln-market-'));
const { credentials, tokens } = generateCredentials();
const clock = new FakeClock(Date.UTC(2021, 5, 22, 8)); // market day 2021-06-23 starts 2021-06-22T22:00Z
const auth = new Auth(credentials, clock);
const DAY = '2021-06-23';
const SESSION = 'DA-2021-06-23';
const GATE = '2021-06-22T12:00:00.000Z';
const [P_978, P_796, P_469, , P_189] = TOR_DI_VALLE.pods.map((p) => p.pod) as [string, string, string, string, string];
/** A PoD without PoM (left out of the session) and one on another PoM without baseline. */
const NO_POM = 'IT002E60000001';
const NO_BASELINE = 'IT002E60000002';
let scd: ScdService;
let scdUrl: string;
let market: MarketHandle;
let stopScd: () => Promise<void>;

test.before(async () => {
  const store = new ScdStore(openSqlite(join(dir, 'scd.sqlite')));
  await store.init();
  scd = new ScdService(store, { clock, platforms: auth.platforms });
  const server = createScdServer(scd, auth);
  scdUrl = await listen(server);
  stopScd = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await store.close();
  };
  market = await startMarket({ scdUrl, token: tokens.market!, auth, dir: join(dir, 'market'), clock });
});
test.after.always(async () => {
  await market?.stop();
  await stopScd?.();
  rmSync(dir, { recursive: true, force: true });
});

type Answer = { status: number; body: Record<string, unknown> & { error?: { code: string; message: string } } };
async function call(base: string, method: string, path: string, who: string, body?: unknown): Promise<Answer> {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${tokens[who]}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: r.status, body: (await r.json()) as Answer['body'] };
}
const m = (method: string, path: string, who: string, body?: unknown) => call(market.url, method, path, who, body);
const refused = (t: ExecutionContext, r: Answer, status: number, code: string, re?: RegExp): void => {
  t.is(r.status, status, JSON.stringify(r.body));
  t.is(r.body.error?.code, code);
  if (re) t.regex(r.body.error?.message ?? '', re);
};

const ref = torDiValleSession();
const offerOn = (pod: string, aggregator: string, slot = 50) => ({
  marketType: 'dayAhead',
  startTime: ref.startTime,
  playerId: aggregator,
  serviceType: 'offer',
  playerServiceId: `${aggregator}/${pod}/dayAhead/extra-${slot}`,
  flexibility: [{ pod, power: [{ index: slot, p: -10, pPrice: 0.02, q: null }] }],
});
type Validated = { flexibility: { pod: string; power: Record<string, unknown>[] }[] };
const entries = (v: Validated): Record<string, unknown>[] =>
  v.flexibility.flatMap((f) => f.power.map((p) => ({ pod: f.pod, ...p })));

test.serial('the SCD registry and baselines → a day-ahead session (PoDs without PoM named as skipped)', async (t) => {
  const s = (method: string, path: string, who: string, body?: unknown) => call(scdUrl, method, path, who, body);
  for (const p of TOR_DI_VALLE.pods) {
    t.is((await s('POST', '/pods', p.aggregator, { podId: p.pod })).status, 201);
    const w = Math.round(p.baselinekW * 1000);
    t.is(
      (await s('PUT', `/pods/${p.pod}/baseline`, p.aggregator, { day: DAY, slotsW: Array(96).fill(w) })).status,
      200,
    );
    t.is((await s('PUT', `/pods/${p.pod}/pom`, 'dso', { pomId: TOR_DI_VALLE.pom })).status, 200);
  }
  t.is((await s('POST', '/pods', 'ACEAE_2', { podId: NO_POM })).status, 201);
  t.is((await s('POST', '/pods', 'ACEAE_2', { podId: NO_BASELINE })).status, 201);
  t.is((await s('PUT', `/pods/${NO_BASELINE}/pom`, 'dso', { pomId: 'CP-OTHER' })).status, 200);

  refused(
    t,
    await m('POST', '/sessions', 'dso', { marketType: 'dayAhead', day: DAY, gateClosure: GATE }),
    403,
    'FORBIDDEN',
  );
  const r = await m('POST', '/sessions', 'market', { marketType: 'dayAhead', day: DAY, gateClosure: GATE });
  t.is(r.status, 201, JSON.stringify(r.body));
  t.like(r.body, {
    id: SESSION,
    marketType: 'dayAhead',
    day: DAY,
    startTime: ref.startTime,
    slots: 96,
    gateClosure: GATE,
  });
  t.deepEqual(r.body.skipped, [{ pod: NO_POM, reason: 'no PoD–PoM association in the SCD' }]);
  t.is((r.body.pods as string[]).length, 6);
  refused(
    t,
    await m('POST', '/sessions', 'market', { marketType: 'dayAhead', day: DAY, gateClosure: GATE }),
    409,
    'CONFLICT',
  );
  const dst = await m('POST', '/sessions', 'market', { marketType: 'dayAhead', day: '2021-10-31', gateClosure: GATE });
  t.is(dst.body.slots, 100, 'a DST day has 100 slots');
});

test.serial('flexibility services: bad ones refused naming the problem, nothing accepted lost', async (t) => {
  for (const d of ref.requests) {
    const who = d.serviceType === 'DSO_request' ? 'dso' : 'tso';
    const r = await m('POST', '/flexibilityService', who, d);
    t.is(r.status, 201, JSON.stringify(r.body));
    t.deepEqual(r.body, { id: d.playerServiceId, session: SESSION });
  }
  for (const d of ref.offers) t.is((await m('POST', '/flexibilityService', d.playerId, d)).status, 201);
  refused(t, await m('POST', '/flexibilityService', 'ACEAE', ref.offers[0]), 409, 'CONFLICT', /already has service/);
  refused(
    t,
    await m('POST', '/flexibilityService', 'ACEAE', offerOn('IT002E69999999', 'ACEAE')),
    422,
    'MARKET_POD_UNKNOWN',
    /IT002E69999999/,
  );
  refused(
    t,
    await m('POST', '/flexibilityService', 'ACEAE', offerOn(P_796, 'ACEAE')),
    403,
    'FORBIDDEN',
    new RegExp(`${P_796}.*ACEAE_2`),
  );
  refused(
    t,
    await m('POST', '/flexibilityService', 'ACEAE_2', offerOn(NO_BASELINE, 'ACEAE_2')),
    422,
    'MARKET_BASELINE_MISSING',
    new RegExp(NO_BASELINE),
  );
  refused(
    t,
    await m('POST', '/flexibilityService', 'ACEAE', offerOn(P_978, 'ACEAE_2')),
    403,
    'FORBIDDEN',
    /as player ACEAE_2/,
  );
  refused(t, await m('POST', '/flexibilityService', 'ACEAE', ref.requests[0]), 403, 'FORBIDDEN', /DSO_request/);
  refused(t, await m('POST', '/flexibilityService', 'market', ref.offers[0]), 403, 'FORBIDDEN');
  const bad = await m('POST', '/flexibilityService', 'ACEAE', { ...offerOn(P_978, 'ACEAE'), serviceType: 'gift' });
  refused(t, bad, 400, 'SCHEMA_INVALID', /serviceType/);
  await clock.advance(Date.parse(GATE) - clock.now() + 1);
  refused(
    t,
    await m('POST', '/flexibilityService', 'ACEAE', offerOn(P_978, 'ACEAE', 51)),
    409,
    'MARKET_GATE_CLOSED',
    /gate closed at 2021-06-22T12:00/,
  );
  const input = await market.service.sessionInput(SESSION);
  t.deepEqual(
    input.requests.map((x) => x.playerServiceId),
    ref.requests.map((x) => x.playerServiceId),
    'arrival order',
  );
  t.deepEqual(
    input.offers.map((x) => x.playerServiceId),
    ref.offers.map((x) => x.playerServiceId),
  );
});

const technical = (over: Record<string, unknown> = {}) => ({
  marketType: 'dayAhead',
  duration: 24,
  interval: 15,
  startTime: ref.startTime,
  marketOutcome: SESSION,
  flexibility: [
    [P_978, 1278.545],
    [P_469, 4180.349299061133],
    [P_189, 207.6620935799721],
  ].map(([pod, v]) => ({
    pod,
    power: [{ index: 50, acceptedPValue: v, acceptedP: 'OK', acceptedQValue: null, acceptedQ: null }],
  })),
  ...over,
});

test.serial('clearing reproduces the reference session; the outcome rows reach the SCD', async (t) => {
  refused(t, await m('POST', '/technicalOutcome', 'dso', technical()), 409, 'CONFLICT', /not cleared yet/);
  refused(t, await m('POST', `/sessions/${SESSION}/clear`, 'ACEAE'), 403, 'FORBIDDEN');
  const r = await m('POST', `/sessions/${SESSION}/clear`, 'market');
  t.is(r.status, 200, JSON.stringify(r.body));
  const got = Object.fromEntries(
    (
      r.body.flexibility as {
        pod: string;
        power: { acceptedPValue: number; acceptedPPrice: number; playerRequestId: string }[];
      }[]
    ).map((f) => [f.pod, f.power.map((p) => [p.acceptedPValue, p.acceptedPPrice, p.playerRequestId])]),
  );
  t.deepEqual(Object.keys(got).sort(), [P_189, P_469, P_978].sort());
  for (const [pod, e] of Object.entries(TOR_DI_VALLE.expected)) {
    const [v, price, req] = got[pod]![0]!;
    t.true(Math.abs((v as number) - e.acceptedPValue) < 1e-6, `${pod} ${v}`);
    t.is(price, e.acceptedPPrice);
    t.is(req, e.playerRequestId);
  }
  refused(t, await m('POST', `/sessions/${SESSION}/clear`, 'market'), 409, 'CONFLICT', /cleared already/);
  refused(t, await m('GET', `/sessions/${SESSION}/outcome`, 'ACEAE'), 403, 'FORBIDDEN');
  t.deepEqual((await m('GET', `/sessions/${SESSION}/outcome`, 'dso')).body, r.body);
  const rows = (await call(scdUrl, 'GET', `/market-outcomes?session=${SESSION}&kind=market`, 'market', undefined))
    .body as unknown as { podId: string; acceptedPValue: number }[];
  t.is(rows.length, 3);
  const tsoRows = (await call(scdUrl, 'GET', '/market-outcomes', 'tso')).body as unknown as { podId: string }[];
  t.deepEqual(
    tsoRows.map((x) => x.podId),
    [P_189],
    'the TSO reads only the rows of its request',
  );
});

test.serial('technical outcome → validated outcome, each participant reads only its own', async (t) => {
  refused(
    t,
    await m('POST', '/technicalOutcome', 'dso', technical({ marketOutcome: 'DA-2021-06-24' })),
    409,
    'MARKET_SESSION_MISMATCH',
    /DA-2021-06-24/,
  );
  refused(t, await m('POST', '/technicalOutcome', 'market', technical()), 403, 'FORBIDDEN');
  refused(
    t,
    await m('GET', `/validatedOutcome?session=${SESSION}`, 'market'),
    404,
    'NOT_FOUND',
    /no validated outcome yet/,
  );
  const r = await m('POST', '/technicalOutcome', 'dso', technical());
  t.is(r.status, 200, JSON.stringify(r.body));
  refused(t, await m('POST', '/technicalOutcome', 'dso', technical()), 409, 'CONFLICT', /validated outcome already/);
  const all = entries((await m('GET', `/validatedOutcome?session=${SESSION}`, 'market')).body as unknown as Validated);
  t.is(all.length, 3);
  const trimmed = all.find((e) => e.pod === P_189)!;
  t.like(trimmed, {
    index: 50,
    acceptedPValue: 207.6620935799721,
    acceptedQValue: null,
    acceptedPPrice: 0.07,
    acceptedQPrice: null,
    rejectionTypeP: 'PARTIAL_TECHNICAL',
    rejectionTypeQ: null,
    playerServiceId: `ACEAE/${P_189}/dayAhead/${ref.startTime}`,
    playerRequestId: 'TSO',
    playerOfferId: 'ACEAE',
  });
  t.deepEqual(
    all.filter((e) => e.pod !== P_189).map((e) => e.rejectionTypeP),
    [null, null],
  );
  const seen = async (who: string) =>
    entries((await m('GET', `/validatedOutcome?session=${SESSION}`, who)).body as unknown as Validated)
      .map((e) => e.pod)
      .sort();
  t.deepEqual(await seen('ACEAE'), [P_189, P_469, P_978].sort());
  t.deepEqual(await seen('ACEAE_2'), [], 'nothing of ACEAE_2 was accepted');
  t.deepEqual(await seen('tso'), [P_189]);
  t.deepEqual(await seen('dso'), [P_469, P_978].sort());
  refused(t, await m('GET', `/validatedOutcome?session=${SESSION}`, 'bal'), 403, 'FORBIDDEN');
  refused(t, await m('GET', '/validatedOutcome', 'ACEAE'), 400, 'SCHEMA_INVALID', /session/);
  const rows = (await call(scdUrl, 'GET', `/market-outcomes?session=${SESSION}`, 'ACEAE_2'))
    .body as unknown as unknown[];
  t.deepEqual(rows, [], 'ACEAE_2 reads no outcome row');
  const val = (await call(scdUrl, 'GET', `/market-outcomes?session=${SESSION}&kind=validated`, 'tso'))
    .body as unknown as { acceptedPValue: number; rejectionTypeP: string }[];
  t.like(val, [{ acceptedPValue: 207.6620935799721, rejectionTypeP: 'PARTIAL_TECHNICAL' }]);
  const tech = (await call(scdUrl, 'GET', `/market-outcomes?session=${SESSION}&kind=technical`, 'dso'))
    .body as unknown as unknown[];
  t.is(tech.length, 3, 'the DSO reads every technical row');
  t.is((await market.service.sessionInput(SESSION)).offers.length, 3, 'nothing accepted before is lost');
});

/** Samples of `pod` every minute from 10:15Z to 11:00Z on 2021-06-23 at a constant level (kW, import). */
function levelWindow(pod: string, levelkW: number) {
  const dev = privateKeySigner(generatePrivateKey());
  const t0 = Date.UTC(2021, 5, 23, 10, 15);
  const samples = Array.from({ length: 46 }, (_, i) =>
    makeSample({
      deviceId: dev.address,
      podId: pod,
      seq: i,
      tsMs: t0 + i * 60_000,
      source: 'modbus-tcp',
      values: {
        activePowerW: { value: levelkW * 1000, quality: 'good' },
        energyImportWh: { value: 1_000_000 + i * ((levelkW * 1000) / 60), quality: 'good' },
        energyExportWh: { value: 5_000, quality: 'good' },
      },
    }),
  );
  return sealBatch(
    { deviceId: dev.address, podId: pod, samples, windowStartMs: t0, windowEndMs: t0 + 46 * 60_000 },
    dev,
    lightNodeDomain(CHAIN, REGISTER),
  );
}

test.serial('settlement from the SCD measurements: capped at the accepted delta, missing ones named', async (t) => {
  const early = (await m('GET', `/settlement?session=${SESSION}`, 'market')).body as unknown as {
    services: { settledkW: null; reason: string }[];
  };
  t.is(early.services.length, 3);
  t.true(early.services.every((s) => s.settledkW === null && /ends at 2021-06-23T10:45/.test(s.reason)));
  await scd.ingestWindow(windowOf([levelWindow(P_189, 180), levelWindow(P_978, 1200)]));
  await clock.advance(Date.UTC(2021, 5, 23, 11) - clock.now());
  type S = {
    pod: string;
    settledkW: number | null;
    amountEur: number | null;
    deliveredLevelkW: number | null;
    reason?: string;
    span?: unknown;
  };
  const r = (await m('GET', `/settlement?session=${SESSION}`, 'market')).body as unknown as { services: S[] };
  const by = Object.fromEntries(r.services.map((s) => [s.pod, s]));
  t.true(Math.abs(by[P_189]!.deliveredLevelkW! - 180) < 1e-9);
  t.true(Math.abs(by[P_189]!.settledkW! - (180 - 70.38)) < 1e-9, 'delivered below the accepted delta: all settled');
  t.true(Math.abs(by[P_189]!.amountEur! - (180 - 70.38) * 0.07) < 1e-9);
  t.deepEqual(by[P_189]!.span, {
    from: 'outside',
    to: 'outside',
    fromMs: Date.UTC(2021, 5, 23, 10, 30),
    toMs: Date.UTC(2021, 5, 23, 10, 45),
  });
  t.is(by[P_978]!.settledkW, -1000, 'delivered beyond the accepted delta: capped at it');
  t.true(Math.abs(by[P_978]!.amountEur! - 30) < 1e-9);
  t.like(by[P_469], { settledkW: null, amountEur: null });
  t.regex(by[P_469]!.reason!, /fewer than two samples/);
  const rows = () => call(scdUrl, 'GET', `/market-outcomes?session=${SESSION}&kind=settlement`, 'market');
  t.is(((await rows()).body as unknown as unknown[]).length, 2, 'settlement rows of the settled services');
  const again = (await m('GET', `/settlement?session=${SESSION}`, 'tso')).body as unknown as { services: S[] };
  t.deepEqual(
    again.services.map((s) => s.pod),
    [P_189],
    'same visibility as the validated outcome',
  );
  t.is(((await rows()).body as unknown as unknown[]).length, 2, 'written once');
  t.deepEqual(
    ((await m('GET', `/settlement?session=${SESSION}`, 'ACEAE_2')).body as { services: unknown[] }).services,
    [],
  );
});

test.serial('the store survives a restart: sessions, services and outcomes are still there', async (t) => {
  const before = (await m('GET', `/validatedOutcome?session=${SESSION}`, 'market')).body;
  await market.stop();
  market = await startMarket({ scdUrl, token: tokens.market!, auth, dir: join(dir, 'market'), clock });
  t.like((await m('GET', `/sessions/${SESSION}`, 'ACEAE')).body, { id: SESSION, slots: 96 });
  t.deepEqual((await m('GET', `/validatedOutcome?session=${SESSION}`, 'market')).body, before);
  t.is((await market.service.sessionInput(SESSION)).requests.length, 2);
  refused(t, await m('POST', `/sessions/${SESSION}/clear`, 'market'), 409, 'CONFLICT');
});
