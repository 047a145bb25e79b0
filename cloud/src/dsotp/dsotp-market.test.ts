/**
 * End to end on one stack (`startCloud({runMarket, runDsotp})`, FakeClock): the DSOTP associates the PoDs, the market
 * opens the day, the DSOTP posts its requests, the TSO asks on the PoM, the aggregator offers, the market clears, the
 * DSOTP validates (the TSO service on bus 32 would overload 27–28: trimmed) and dispatches 5 min before slot 50 —
 * the TSO service included, at its trimmed level, signed, with the SCD baseline.
 */
import test from 'ava';
import mqtt from 'mqtt';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lightNodeDomain, topicCodecs, topics, verifySetpoint, type SignedSetpoint } from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { startCloud, type CloudStack } from '../stack.js';
import { DSOTP_PODS, dsotpBaselinesKW, dsotpTestModel } from '../testing/dsotp-model.js';
import { waitFor } from '../testing/index.js';
import { parseDsoModel } from './model.js';
import { solveSlot } from './requests.js';

const DAY = '2021-06-23';
const SESSION = 'DA-2021-06-23';
const DAY_START = Date.UTC(2021, 5, 22, 22, 0, 0);
const SLOT50 = DAY_START + 50 * 900_000;
const HEAD = { marketType: 'dayAhead', duration: 24, interval: 15, startTime: new Date(DAY_START).toISOString() };
const baseKW = dsotpBaselinesKW(dsotpTestModel());
const probe = parseDsoModel(dsotpTestModel({ limits: { '27-28': 1e6 } }));
const b2728 = probe.net.branches.findIndex((b) => b.from === 27 && b.to === 28);
const LIMIT = Math.round((solveSlot(probe, 50, baseKW).currentA[b2728]! + 4) * 100) / 100;
const device = (i: number): string => '0x' + String(i + 1).repeat(40);
const [P7, P8, , P32] = DSOTP_PODS.map((p) => p.pod) as [string, string, string, string];

let dir: string;
let cloud: CloudStack;
const clock = new FakeClock(DAY_START - 12 * 3_600_000);

async function call(base: string, method: string, path: string, who: string, body?: unknown) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${cloud.tokens[who]}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ln-dsotp-market-'));
  cloud = await startCloud({
    dir,
    runBal: false,
    runMarket: true,
    runDsotp: { network: dsotpTestModel({ limits: { '27-28': LIMIT } }) },
    clock,
  });
});
test.after.always(async () => {
  await cloud?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('requests → market → validation (trim) → dispatch of every validated service, TSO included', async (t) => {
  const scd = (m: string, p: string, who: string, b?: unknown) => call(cloud.scdUrl!, m, p, who, b);
  const market = (m: string, p: string, who: string, b?: unknown) => call(cloud.marketUrl!, m, p, who, b);
  for (const [i, p] of DSOTP_PODS.entries()) {
    t.is((await scd('POST', '/pods', 'ACEAE', { podId: p.pod, deviceId: device(i) })).status, 201);
    const slotsW = Array(96).fill(Math.round(baseKW.get(p.pod)! * 1000)) as number[];
    t.is((await scd('PUT', `/pods/${p.pod}/baseline`, 'ACEAE', { day: DAY, slotsW })).status, 200);
  }
  const dso = cloud.dsotp!;
  t.is((await dso.associate()).associated.length, DSOTP_PODS.length);
  const opened = await market('POST', '/sessions', 'market', {
    marketType: 'dayAhead',
    day: DAY,
    gateClosure: new Date(DAY_START - 6 * 3_600_000).toISOString(),
  });
  t.is(opened.status, 201, JSON.stringify(opened.body));

  const req = await dso.requests(DAY);
  t.is(req.posted.length, 96, 'branch 1–2 is overloaded in every slot at constant baselines');
  const sumKW = [...baseKW.values()].reduce((a, x) => a + x, 0);
  const tso = {
    ...HEAD,
    playerId: 'TSO',
    serviceType: 'TSO_request',
    playerServiceId: 'TSO:::dayAhead:::50',
    flexibility: [{ pom: 'POM-TDV', power: [{ index: 50, p: sumKW + 200, pPrice: null, q: null }] }],
  };
  t.is((await market('POST', '/flexibilityService', 'tso', tso)).status, 201);
  const offer = (pod: string, p: number, pPrice: number) => ({
    ...HEAD,
    playerId: 'ACEAE',
    serviceType: 'offer',
    playerServiceId: `ACEAE/${pod}/dayAhead/${HEAD.startTime}`,
    flexibility: [{ pod, power: [{ index: 50, p, pPrice, q: null }] }],
  });
  for (const o of [offer(P7, -200, 0.01), offer(P8, -200, 0.02), offer(P32, +250, 0.05)]) {
    const r = await market('POST', '/flexibilityService', 'ACEAE', o);
    t.is(r.status, 201, JSON.stringify(r.body));
  }
  await clock.advance(7 * 3_600_000); // past gate closure
  const cleared = await market('POST', `/sessions/${SESSION}/clear`, 'market');
  t.is(cleared.status, 200, JSON.stringify(cleared.body));

  const v = await dso.validate(SESSION);
  t.is(v.trims.length, 1, JSON.stringify(v.trims));
  t.like(v.trims[0], { pod: P32, playerRequestId: 'TSO', element: 'branch:27-28' });
  const trimmedKW = v.trims[0]!.validatedKW;
  t.true(trimmedKW > baseKW.get(P32)! && trimmedKW < baseKW.get(P32)! + 200);
  const asDso = (await market('GET', `/validatedOutcome?session=${SESSION}`, 'dso')).body as {
    flexibility: { pod: string }[];
  };
  t.false(
    asDso.flexibility.some((f) => f.pod === P32),
    'GET /validatedOutcome shows the dso its own requests only',
  );

  const c = await mqtt.connectAsync(cloud.brokerUrl, { protocolVersion: 4 });
  t.teardown(() => c.endAsync());
  const got: SignedSetpoint[] = [];
  c.on('message', (_t, payload) => got.push(topicCodecs.setpoint.decode(payload)));
  for (const i of DSOTP_PODS.keys()) await c.subscribeAsync(topics.setpoint(device(i)), { qos: 1 });
  const plan = await dso.dispatch(SESSION);
  t.deepEqual(plan.items.map((x) => x.pod).sort(), [P32, P7].sort(), 'P7 fills the DSO need alone (cheapest)');
  await clock.advance(SLOT50 - 5 * 60_000 - clock.now() - 1);
  await dso.idle();
  t.is(got.length, 0);
  await clock.advance(1);
  await dso.idle();
  await waitFor(() => got.length === 2, 5000, 'two setpoints');
  const domain = lightNodeDomain(cloud.book.chainId, cloud.book.keyRegister);
  for (const s of got) t.is(verifySetpoint(s, domain).signer, dso.address);
  const p32 = got.find((s) => s.message.podId === P32)!.message;
  t.like(p32, {
    activePowerW: Math.round(trimmedKW * 1000),
    baselineW: Math.round(baseKW.get(P32)! * 1000),
    playerServiceId: `ACEAE/${P32}/dayAhead/${HEAD.startTime}`,
    marketSession: SESSION,
    slotIndex: 50,
    validFromMs: SLOT50,
  });
  t.log(`P32 TSO service trimmed to ${trimmedKW.toFixed(3)} kW (baseline ${baseKW.get(P32)} kW, limit ${LIMIT} A)`);
});
