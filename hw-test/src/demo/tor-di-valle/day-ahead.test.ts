/**
 * The Tor di Valle day-ahead run on the real cloud stack (SCD + market + DSOTP on the calibrated model, FakeClock, no
 * agents): one DSO request at 5771.04 kW, the market's 1278.545 / 4180.349 / 342.128, the validation's 207.662, three
 * setpoints signed by the DSOTP and published 5 min before slot 50.
 */
import test from 'ava';
import mqtt from 'mqtt';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lightNodeDomain, topicCodecs, topics, verifySetpoint, type SignedSetpoint } from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { startCloud, type CloudStack } from '@lightnode/cloud';
import { waitFor } from '@lightnode/cloud/testing';
import { runDayAhead, tdvDevice } from './day-ahead.js';
import { TDV_DAY_START_MS, TDV_PODS, TDV_SESSION, TOR_DI_VALLE, TOR_DI_VALLE_NETWORK } from './scenario.js';

const SLOT50_MS = TDV_DAY_START_MS + 50 * 900_000;
const clock = new FakeClock(TDV_DAY_START_MS - 12 * 3_600_000);
let dir: string;
let cloud: CloudStack;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ln-tdv-day-ahead-'));
  cloud = await startCloud({
    dir,
    runBal: false,
    runMarket: true,
    runDsotp: { network: TOR_DI_VALLE_NETWORK },
    clock,
  });
});
test.after.always(async () => {
  await cloud?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const near = (x: number | undefined, ref: number, tol = 0.01): boolean => x !== undefined && Math.abs(x - ref) <= tol;

test('registration → one DSO request → TSO request + offers → clearing → validation (trim) → three setpoints', async (t) => {
  const r = await runDayAhead(cloud, { beforeClear: () => clock.advance(7 * 3_600_000) });
  t.deepEqual([...r.associated].sort(), TDV_PODS.map((p) => p.pod).sort());

  t.is(r.requests.posted.length, 1, JSON.stringify(r.requests.posted));
  t.is(r.requests.violations.length, 1);
  const posted = r.requests.posted[0]!;
  t.like(posted, { slot: 50, element: 'branch:TDV-M1', playerServiceId: TOR_DI_VALLE.dsoRequest.playerServiceId });
  t.true(near(posted.levelKW, TOR_DI_VALLE.dsoRequest.pkW), String(posted.levelKW));
  t.deepEqual([...r.requests.documents[0]!.flexibility[0]!.pod].sort(), [...TOR_DI_VALLE.dsoRequest.pods].sort());

  const accepted = (pod: string) => r.outcome.flexibility.find((f) => f.pod === pod)?.power[0]?.acceptedPValue;
  for (const [pod, e] of Object.entries(TOR_DI_VALLE.expected))
    t.true(near(accepted(pod), e.acceptedPValue, 1e-3), `${pod}: ${accepted(pod)}`);

  t.is(r.validation.trims.length, 1, JSON.stringify(r.validation.trims));
  t.like(r.validation.trims[0], { pod: 'IT002E60550189', playerRequestId: 'TSO', element: 'branch:N2-NL' });
  t.true(near(r.validation.trims[0]!.validatedKW, 207.6620935799721), String(r.validation.trims[0]!.validatedKW));

  const items = new Map(r.plan.items.map((i) => [i.pod, i]));
  t.deepEqual([...items.keys()].sort(), ['IT002E60550189', 'IT002E60974469', 'IT002E61899978']);
  t.is(items.get('IT002E60550189')!.activePowerW, Math.round(r.validation.trims[0]!.validatedKW * 1000));
  t.is(items.get('IT002E61899978')!.activePowerW, 1_278_545);

  const c = await mqtt.connectAsync(cloud.brokerUrl, { protocolVersion: 4 });
  t.teardown(() => c.endAsync());
  const got: SignedSetpoint[] = [];
  c.on('message', (_t, payload) => got.push(topicCodecs.setpoint.decode(payload)));
  for (const i of TDV_PODS.keys()) await c.subscribeAsync(topics.setpoint(tdvDevice(i)), { qos: 1 });
  await clock.advance(SLOT50_MS - 5 * 60_000 - clock.now());
  await cloud.dsotp!.idle();
  await waitFor(() => got.length === 3, 5000, 'three setpoints');
  const domain = lightNodeDomain(cloud.book.chainId, cloud.book.keyRegister);
  for (const s of got) {
    t.is(verifySetpoint(s, domain).signer, cloud.dsotp!.address);
    t.like(s.message, { marketSession: TDV_SESSION, slotIndex: 50, validFromMs: SLOT50_MS });
  }
  t.log(
    `DSO request ${posted.levelKW} kW; IT002E60550189 trimmed ${r.validation.trims[0]!.acceptedKW} → ` +
      `${r.validation.trims[0]!.validatedKW} kW`,
  );
});
