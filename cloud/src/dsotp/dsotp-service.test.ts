/**
 * startDsotp against a real SCD (SQLite) and the embedded broker, with an in-test stub of the market routes it calls
 * (POST /flexibilityService, GET /sessions/{id}/outcome, POST /technicalOutcome, GET /validatedOutcome): the PoD–PoM
 * associations, a day's requests, the technical outcome, and the setpoints fired 5 min before their slot on a
 * FakeClock — verified with ethers, carrying the SCD baseline, the slot window and the session; the nonce survives a
 * restart.
 */
import test from 'ava';
import { verifyTypedData } from 'ethers';
import mqtt from 'mqtt';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  VECTOR_CHAIN_ID,
  VECTOR_VERIFYING_CONTRACT,
  addressFromPrivateKey,
  lightNodeDomain,
  silentLogger,
  systemClock,
  topicCodecs,
  topics,
  typedDataFor,
  type SignedSetpoint,
} from '@lightnode/protocols';
import { FakeClock, TEST_OPERATOR_KEY } from '@lightnode/protocols/testing';
import { startEmbeddedBroker, type EmbeddedBroker } from '../broker.js';
import { Auth } from '../http/auth.js';
import { listen } from '../http/server.js';
import { createScdServer } from '../scd/api.js';
import { ScdService } from '../scd/service.js';
import { openStore } from '../scd/sql.js';
import { ScdStore } from '../scd/store.js';
import { generateCredentials } from '../stack.js';
import { waitFor } from '../testing/index.js';
import { DSOTP_PODS, dsotpBaselinesKW, dsotpTestModel } from '../testing/dsotp-model.js';
import { parseDsoModel } from './model.js';
import { solveSlot } from './requests.js';
import { startDsotp, type DsoPlatform } from './service.js';

const DAY = '2021-06-23';
const SESSION = 'DA-2021-06-23';
const DAY_START = Date.UTC(2021, 5, 22, 22, 0, 0);
const SLOT50 = DAY_START + 50 * 900_000; // 10:30Z = 12:30 Rome
const DOMAIN = lightNodeDomain(VECTOR_CHAIN_ID, VECTOR_VERIFYING_CONTRACT);
const DSOTP_ADDRESS = addressFromPrivateKey(TEST_OPERATOR_KEY);
const devices: Record<string, string> = Object.fromEntries(
  DSOTP_PODS.slice(0, 4).map((p, i) => [p.pod, '0x' + String(i + 1).repeat(40)]),
); // the fifth PoD (bus 31) has no device
const [P7, , , P32, P31] = DSOTP_PODS.map((p) => p.pod) as [string, string, string, string, string];

// a limit on 27–28 a little above its current at the baselines, so that a TSO service on bus 32 overloads it
const base = dsotpTestModel();
const baseKW = dsotpBaselinesKW(base);
const probe = parseDsoModel(dsotpTestModel({ limits: { '27-28': 1e6 } }));
const b2728 = probe.net.branches.findIndex((b) => b.from === 27 && b.to === 28);
const LIMIT = Math.round((solveSlot(probe, 50, baseKW).currentA[b2728]! + 4) * 100) / 100;
const network = dsotpTestModel({ limits: { '27-28': LIMIT } });
/** Baselines: the buses' loads in slots 40..60, half of them otherwise (branch 1–2 overloaded only in 40..60). */
const slotsW = (pod: string): number[] =>
  Array.from({ length: 96 }, (_, i) => Math.round(baseKW.get(pod)! * 1000 * (i >= 40 && i <= 60 ? 1 : 0.5)));

let dir: string;
let broker: EmbeddedBroker;
let scdServer: Server;
let store: ScdStore;
let scdUrl: string;
let tokens: Record<string, string>;
let marketServer: Server;
let marketUrl: string;
const posted: { path: string; body: unknown }[] = [];
let validated: unknown;

const outcome = {
  marketType: 'dayAhead',
  startTime: new Date(DAY_START).toISOString(),
  duration: 24,
  interval: 15,
  flexibility: [
    { pod: P7, power: [svc(baseKW.get(P7)! - 150, 0.03, 'DSO', `ACEAE/${P7}/dayAhead/2021-06-22T22:00:00.000Z`)] },
    { pod: P32, power: [svc(baseKW.get(P32)! + 200, 0.07, 'TSO', `ACEAE/${P32}/dayAhead/2021-06-22T22:00:00.000Z`)] },
    { pod: P31, power: [svc(baseKW.get(P31)! - 20, 0.02, 'DSO', `ACEAE/${P31}/dayAhead/2021-06-22T22:00:00.000Z`)] },
  ],
  requests: [],
};
function svc(acceptedPValue: number, price: number, req: string, id: string) {
  return {
    index: 50,
    acceptedPValue,
    acceptedPPrice: price,
    playerRequestId: req,
    playerOfferId: 'ACEAE',
    playerServiceId: id,
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') as unknown;
}

async function call(path: string, who: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const r = await fetch(`${scdUrl}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[who]}` },
  });
  return { status: r.status, body: await r.json() };
}

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ln-dsotp-'));
  broker = await startEmbeddedBroker();
  store = new ScdStore(await openStore(`sqlite:${join(dir, 'scd.sqlite')}`));
  await store.init();
  const creds = generateCredentials();
  tokens = creds.tokens;
  const auth = new Auth(creds.credentials, systemClock);
  scdServer = createScdServer(new ScdService(store, { clock: systemClock, platforms: auth.platforms }), auth);
  scdUrl = await listen(scdServer);
  for (const p of DSOTP_PODS) {
    const body = devices[p.pod] ? { podId: p.pod, deviceId: devices[p.pod] } : { podId: p.pod };
    const r = await call('/pods', 'ACEAE', { method: 'POST', body: JSON.stringify(body) });
    if (r.status !== 201) throw new Error(`PoD ${p.pod}: ${r.status} ${JSON.stringify(r.body)}`);
    const b = await call(`/pods/${p.pod}/baseline`, 'ACEAE', {
      method: 'PUT',
      body: JSON.stringify({ day: DAY, slotsW: slotsW(p.pod) }),
    });
    if (b.status !== 200) throw new Error(`baseline ${p.pod}: ${b.status} ${JSON.stringify(b.body)}`);
  }
  marketServer = createServer((req, res) => {
    void (async () => {
      const send = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.headers.authorization !== `Bearer ${tokens.dso}`) return send(401, { error: { code: 'UNAUTHORIZED' } });
      const url = new URL(req.url!, 'http://x');
      if (req.method === 'POST') {
        const body = await readJson(req);
        if ((body as { playerServiceId?: string }).playerServiceId === 'DSO:::dayAhead:::2021-06-23T15:00:00.000Z')
          return send(409, { error: { code: 'MARKET_GATE_CLOSED', message: 'the gate closed (stub)' } });
        posted.push({ path: url.pathname, body });
        return send(201, { id: (body as { playerServiceId?: string }).playerServiceId ?? SESSION, session: SESSION });
      }
      if (url.pathname === `/sessions/${SESSION}/outcome`) return send(200, outcome);
      if (url.pathname === '/validatedOutcome' && url.searchParams.get('session') === SESSION)
        return send(200, validated);
      return send(404, { error: { code: 'NOT_FOUND', message: url.pathname } });
    })();
  });
  marketUrl = await listen(marketServer);
});

test.after.always(async () => {
  for (const s of [scdServer, marketServer]) {
    s?.closeAllConnections();
    await new Promise<void>((r) => (s ? s.close(() => r()) : r()));
  }
  await store?.close();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function platform(clock: FakeClock): DsoPlatform {
  const keyFile = join(dir, 'dsotp.key');
  writeFileSync(keyFile, TEST_OPERATOR_KEY + '\n', { mode: 0o600 });
  return startDsotp({
    network,
    keyFile,
    scdUrl,
    marketUrl,
    token: tokens.dso!,
    brokerUrl: broker.url,
    dir,
    clock,
    log: silentLogger,
    domain: DOMAIN,
  });
}

/** Subscribes as the devices would; collects the setpoints received. */
async function listenDevices(): Promise<{ got: SignedSetpoint[]; close(): Promise<void> }> {
  const c = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
  for (const d of Object.values(devices)) await c.subscribeAsync(topics.setpoint(d), { qos: 1 });
  const got: SignedSetpoint[] = [];
  c.on('message', (_t, payload) => got.push(topicCodecs.setpoint.decode(payload)));
  return { got, close: () => c.endAsync() };
}

const verify = (s: SignedSetpoint): string => {
  const td = typedDataFor('Setpoint', s.message as never, DOMAIN);
  return verifyTypedData(td.domain, td.types, td.message, s.signature).toLowerCase();
};

test.serial('associate: writes the PoD–PoM association of every model PoD registered in the SCD', async (t) => {
  const dso = platform(new FakeClock(DAY_START - 3_600_000));
  const r = await dso.associate();
  t.deepEqual(r.associated.sort(), DSOTP_PODS.map((p) => p.pod).sort());
  t.deepEqual(r.unregistered, []);
  const pods = (await call('/pods', 'dso')).body as { podId: string; pomId?: string }[];
  t.true(pods.every((p) => p.pomId === 'POM-TDV'));
  await dso.stop();
});

test.serial(
  'requests: one per overloaded slot (40..60), posted in the Platone shape; one the market refuses is reported',
  async (t) => {
    const dso = platform(new FakeClock(DAY_START - 3_600_000));
    const r = await dso.requests(DAY);
    t.is(r.slots, 96);
    t.deepEqual(
      r.posted.map((p) => p.slot),
      Array.from({ length: 20 }, (_, i) => 40 + i),
      'slot 60 is refused by the market',
    );
    t.is(r.documents.length, 21);
    t.deepEqual(
      r.refused.map((x) => [x.playerServiceId, x.code]),
      [['DSO:::dayAhead:::2021-06-23T15:00:00.000Z', 'MARKET_GATE_CLOSED']],
    );
    t.true(r.posted.every((p) => p.element === 'branch:1-2' && p.needKW < 0));
    const docs = posted.filter((p) => p.path === '/flexibilityService').map((p) => p.body as Record<string, unknown>);
    t.is(docs.length, 20);
    t.like(docs[10], {
      marketType: 'dayAhead',
      playerId: 'DSO',
      serviceType: 'DSO_request',
      playerServiceId: 'DSO:::dayAhead:::2021-06-23T12:30:00.000Z',
      startTime: '2021-06-22T22:00:00.000Z',
    });
    t.like(dso.status(), {
      requestsPosted: 20,
      violations: 21,
      lastPowerFlow: { day: DAY, slot: 95, converged: true },
    });
    await dso.stop();
  },
);

test.serial('validate: the TSO service overloading 27–28 is trimmed; the technical outcome is posted', async (t) => {
  const dso = platform(new FakeClock(DAY_START - 3_600_000));
  const r = await dso.validate(SESSION);
  t.is(r.trims.length, 1);
  t.like(r.trims[0], { pod: P32, playerRequestId: 'TSO', element: 'branch:27-28' });
  const sent = posted.find((p) => p.path === '/technicalOutcome')!.body;
  t.deepEqual(sent, JSON.parse(JSON.stringify(r.technical)));
  t.like(r.technical, { marketOutcome: SESSION, startTime: '2021-06-22T22:00:00.000Z' });
  const p32 = r.technical.flexibility.find((f) => f.pod === P32)!.power[0]!;
  t.true(p32.acceptedPValue > baseKW.get(P32)! && p32.acceptedPValue < baseKW.get(P32)! + 200);
  validated = {
    flexibility: r.technical.flexibility.map((f) => ({
      pod: f.pod,
      power: f.power.map((p) => ({
        index: p.index,
        acceptedPValue: p.acceptedPValue,
        playerRequestId: outcome.flexibility.find((o) => o.pod === f.pod)!.power[0]!.playerRequestId,
        playerServiceId: outcome.flexibility.find((o) => o.pod === f.pod)!.power[0]!.playerServiceId,
      })),
    })),
  };
  await dso.stop();
});

test.serial(
  'dispatch: setpoints 5 min before the slot, signed, with the SCD baseline, window and session; nonce survives a restart',
  async (t) => {
    const clock = new FakeClock(SLOT50 - 30 * 60_000);
    const dso = platform(clock);
    const dev = await listenDevices();
    try {
      const plan = await dso.dispatch(SESSION);
      t.deepEqual(plan.skipped, [{ pod: P31, index: 50, reason: 'no device registered for the PoD' }]);
      t.is(plan.items.length, 2);
      await clock.advance(24 * 60_000);
      await dso.idle();
      t.is(dso.dispatcher.dispatched.length, 0, 'nothing before slot start − 5 min');
      await clock.advance(60_000);
      await dso.idle();
      t.is(dso.dispatcher.dispatched.length, 2);
      t.deepEqual(
        dso.dispatcher.dispatched.map((d) => d.error),
        [undefined, undefined],
      );
      const stored = (await call('/setpoints', 'dso')).body as unknown[];
      t.is(stored.length, 2);
      await waitFor(() => dev.got.length === 2, 5000, 'two setpoints at the devices');
      for (const s of dev.got) {
        t.is(verify(s), DSOTP_ADDRESS);
        const m = s.message;
        const validatedLevel = (
          validated as { flexibility: { pod: string; power: { acceptedPValue: number }[] }[] }
        ).flexibility.find((f) => f.pod === m.podId)!.power[0]!.acceptedPValue;
        t.like(m, {
          marketSession: SESSION,
          slotIndex: 50,
          baselineW: slotsW(m.podId)[50],
          activePowerW: Math.round(validatedLevel * 1000),
          validFromMs: SLOT50,
          validUntilMs: SLOT50 + 900_000,
          playerServiceId: `ACEAE/${m.podId}/dayAhead/2021-06-22T22:00:00.000Z`,
        });
      }
      t.deepEqual(dev.got.map((s) => s.message.podId).sort(), [P32, P7].sort());
      const last = Math.max(...dev.got.map((s) => s.message.nonce));
      await dso.stop();
      t.is(JSON.parse(readFileSync(join(dir, 'dsotp-nonce.json'), 'utf8')).nonce, last);

      // restart with a clock an hour EARLIER: the nonce still grows (it comes from the file, not the clock)
      const clock2 = new FakeClock(SLOT50 - 90 * 60_000);
      const again = platform(clock2);
      await again.dispatch(SESSION);
      await clock2.advance(85 * 60_000);
      await again.idle();
      await waitFor(() => dev.got.length === 4, 5000, 'two more setpoints at the devices');
      const next = dev.got.slice(2).map((s) => s.message.nonce);
      t.true(
        next.every((n) => n > last),
        `${next} > ${last}`,
      );
      t.not(next[0], next[1]);
      t.like(again.status(), { setpointsScheduled: 2, setpointsDispatched: 2, setpointsFailed: 0 });
      await again.stop();
    } finally {
      await dev.close();
    }
  },
);

test.serial('validation of an outcome on a slot without an SCD baseline is MARKET_BASELINE_MISSING', async (t) => {
  const dso = platform(new FakeClock(DAY_START));
  const saved = outcome.flexibility[0]!.power[0]!.index;
  outcome.flexibility[0]!.power[0]!.index = 99;
  try {
    await t.throwsAsync(dso.validate(SESSION), { message: /MARKET_BASELINE_MISSING/ });
  } finally {
    outcome.flexibility[0]!.power[0]!.index = saved;
    await dso.stop();
  }
});
