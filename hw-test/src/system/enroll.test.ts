/**
 * Enrollment on the real stack: Debian's Mosquitto, anvil with the LightNodeKeyRegister, `startCloud({runEnroll})`
 * (BAL, SCD on SQLite, the enrollment service). An installer issues a token over HTTP; a device with a first-boot key
 * file enrolls with `enrollDevice` (provisioning); its key is then on the chain register and bound to the PoD in the
 * SCD, and its signed batches are accepted by the BAL and stored in the SCD. Replayed, expired, foreign and forged
 * requests are refused with their codes and register nothing: no key on chain, no binding in the SCD, and batches
 * signed by those keys are dead-lettered as unregistered. `lightnode commission --enroll URL --token T` enrolls the
 * device it runs on (its key made in the state dir), and refuses the same token a second time (ENROLL_TOKEN_USED,
 * exit 1). `lightnode cloud up --json` prints the service's URL.
 */
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import {
  encodeBatchWire,
  generatePrivateKey,
  isLightNodeError,
  lightNodeDomain,
  privateKeySigner,
  topics,
  type Command,
  type CommandGroup,
  type Signer,
} from '@lightnode/protocols';
import { signerFromKeyFile, writeNewKeyFile } from '@lightnode/edge';
import { enrollDevice } from '@lightnode/provisioning';
import { devAccountKey, startCloud, type CloudStack } from '@lightnode/cloud';
import { commands } from '@lightnode/cloud/cli';
import { enrollRequest, sealedBatch, waitFor } from '@lightnode/cloud/testing';
import { cli } from '../hil/harness.js';
import { cloudPeers } from './cloud-peers.js';

const POD = 'IT002E61899978';
const SERIAL = 'LN-2026-000123';
const peers = cloudPeers(test, 'ln-enroll-');
let cloud: CloudStack;

async function issue(o: { serial?: string; podId?: string; ttlS?: number } = {}): Promise<{
  token: string;
  expiresAtMs: number;
}> {
  const r = await fetch(`${cloud.enrollUrl}/enroll/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${cloud.tokens['INSTALLER-1']}`, 'content-type': 'application/json' },
    body: JSON.stringify({ serial: o.serial ?? SERIAL, podId: o.podId ?? POD, ...(o.ttlS ? { ttlS: o.ttlS } : {}) }),
  });
  if (r.status !== 201) throw new Error(`token: HTTP ${r.status} ${await r.text()}`);
  return (await r.json()) as { token: string; expiresAtMs: number };
}

/** The code a refused enrollment threw. */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'accepted';
  } catch (e) {
    return isLightNodeError(e) ? e.code : String(e);
  }
}

/** Nothing of `s` is registered: no key on chain, no PoD bound to it in the SCD. */
async function unregistered(s: Signer): Promise<boolean> {
  const k = await cloud.chain.keyOf(s.address);
  return k.registeredAtS === 0 && (await cloud.scd!.store.podOfDevice(s.address)) === undefined;
}

test.serial(
  'an enrolled device’s batches are accepted; replayed, expired, foreign, forged requests refused',
  async (t) => {
    const { dir, broker, anvil, stacks } = peers();
    cloud = await startCloud({
      dir: join(dir, 'cloud'),
      brokerUrl: broker.url,
      chain: { rpcUrl: anvil.url, privateKey: devAccountKey(0) },
      windowMs: 1000,
      registryTtlMs: 0,
      runEnroll: true,
    });
    stacks.push(cloud);
    const domain = lightNodeDomain(cloud.book.chainId, cloud.book.keyRegister);
    const keyFile = join(dir, 'device.key');
    writeNewKeyFile(keyFile);
    const dev = signerFromKeyFile(keyFile);
    const url = cloud.enrollUrl!;
    const { token } = await issue();

    // foreign: another serial, another PoD (each refused attempt counts against the token; five would revoke it)
    const foreign = { url, token, signer: dev };
    t.is(await codeOf(enrollDevice({ ...foreign, serial: 'LN-2026-999999', podId: POD })), 'ENROLL_TOKEN_MISMATCH');
    t.is(await codeOf(enrollDevice({ ...foreign, serial: SERIAL, podId: 'IT002E60550189' })), 'ENROLL_TOKEN_MISMATCH');
    t.is(await codeOf(enrollDevice({ ...foreign, serial: SERIAL, podId: 'IT0' })), 'POD_INVALID');
    // forged: the device's public key with a proof signed by a thief's key
    const thief = privateKeySigner(generatePrivateKey());
    const forged = enrollRequest(
      token,
      dev,
      { serial: SERIAL, podId: POD, atMs: Date.now() },
      { domain, signWith: thief },
    );
    const r = await fetch(`${url}/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(forged),
    });
    t.is(r.status, 400);
    t.is(((await r.json()) as { error: { code: string } }).error.code, 'ENROLL_PROOF_INVALID');
    t.true(await unregistered(dev), 'nothing registered by the refused requests');
    t.true(await unregistered(thief));
    // expired: a 1-s token, claimed once its expiry has passed
    const short = await issue({ ttlS: 1 });
    const late = privateKeySigner(generatePrivateKey());
    await waitFor(() => Date.now() > short.expiresAtMs, 5000, 'the 1-s token to expire');
    t.is(
      await codeOf(enrollDevice({ url, token: short.token, serial: SERIAL, podId: POD, signer: late })),
      'ENROLL_TOKEN_EXPIRED',
    );
    t.true(await unregistered(late));

    // the genuine request: on the chain register and bound in the SCD
    const enrolled = await enrollDevice({ url, token, serial: SERIAL, podId: POD, signer: dev });
    t.like(enrolled, { deviceId: dev.address, podId: POD, aggregator: 'ACEAE' });
    t.regex(enrolled.txHash, /^0x[0-9a-f]{64}$/);
    const key = await cloud.chain.keyOf(dev.address);
    t.true(key.active);
    t.is(key.publicKey.toLowerCase(), dev.publicKey!.toLowerCase());
    t.is(key.enroller.toLowerCase(), cloud.chain.address!.toLowerCase());
    const pods = (await (
      await fetch(`${cloud.scdUrl}/pods`, { headers: { authorization: `Bearer ${cloud.tokens.ACEAE}` } })
    ).json()) as { podId: string; deviceId?: string }[];
    t.deepEqual(pods, [{ ...pods[0]!, podId: POD, deviceId: dev.address }]);
    // replayed: the same request again, and the same token for another key
    t.is(await codeOf(enrollDevice({ url, token, serial: SERIAL, podId: POD, signer: dev })), 'ENROLL_TOKEN_USED');
    const again = privateKeySigner(generatePrivateKey());
    t.is(await codeOf(enrollDevice({ url, token, serial: SERIAL, podId: POD, signer: again })), 'ENROLL_TOKEN_USED');
    t.true(await unregistered(again));

    // the enrolled device's signed batches are accepted by the BAL and stored; the thief's are not
    const pub = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    for (const [s, first] of [
      [dev, 0],
      [dev, 10],
      [thief, 0],
    ] as const)
      await pub.publishAsync(
        topics.batch(s.address),
        Buffer.from(encodeBatchWire(sealedBatch(s, first, 10, { podId: POD, domain }))),
        { qos: 1 },
      );
    await pub.endAsync();
    const bal = cloud.bal!;
    await waitFor(
      async () => (await cloud.scd!.store.measurements({ deviceId: dev.address })).length >= 20,
      30_000,
      "the enrolled device's 20 samples in the SCD",
    );
    await waitFor(() => bal.ledger.deadLetters().length >= 1, 10_000, "the thief's batch dead-lettered");
    t.is(bal.counters.batchesAccepted, 2);
    t.deepEqual(
      bal.ledger.deadLetters().map((d) => [d.deviceId, d.code]),
      [[thief.address, 'DEVICE_UNREGISTERED']],
    );
    const m = await fetch(`${cloud.scdUrl}/measurements?podId=${POD}`, {
      headers: { authorization: `Bearer ${cloud.tokens.ACEAE}` },
    });
    t.is(((await m.json()) as unknown[]).length, 20);
  },
);

test.serial(
  'commission --enroll enrolls the device with an installer’s token; the same token again: ENROLL_TOKEN_USED',
  async (t) => {
    const { dir, broker, anvil, stacks } = peers();
    cloud = await startCloud({
      dir: join(dir, 'cloud-commission'),
      brokerUrl: broker.url,
      chain: { rpcUrl: anvil.url, privateKey: devAccountKey(0) },
      runEnroll: true,
    });
    stacks.push(cloud);
    const serial = 'LN-2026-000456';
    const { token } = await issue({ serial });
    const site = join(dir, 'site');
    const commission = () =>
      cli([
        'commission',
        '--non-interactive',
        '--pod',
        POD,
        '--serial',
        serial,
        '--installer',
        'INSTALLER-1',
        '--enroll',
        cloud.enrollUrl!,
        '--token',
        token,
        '--cloud',
        broker.url,
        '--state-dir',
        join(site, 'state'),
        '--config-out',
        join(site, 'agent.json'),
        '--out',
        join(site, 'out'),
        '--json',
      ]);
    type Out = { deviceId: string; checks: { id: string; result: string; detail: string }[] };
    const failed = (o: Out): string[] => o.checks.filter((c) => c.result === 'fail').map((c) => c.id);
    const enrollCheck = (o: Out) => o.checks.find((c) => c.id === 'enroll')!;

    const first = await commission();
    t.is(first.code, 0, first.err + first.out);
    const out = JSON.parse(first.out) as Out;
    t.deepEqual(failed(out), []);
    t.is(enrollCheck(out).result, 'pass');
    t.true(
      enrollCheck(out).detail.includes(`device ${out.deviceId} enrolled at PoD ${POD} for aggregator ACEAE`),
      enrollCheck(out).detail,
    );
    // registered: the device's key on the chain register, the device bound to the PoD in the SCD
    const key = await cloud.chain.keyOf(out.deviceId);
    t.true(key.active);
    t.is(key.publicKey.toLowerCase(), signerFromKeyFile(join(site, 'state', 'device.key')).publicKey!.toLowerCase());
    t.like(await cloud.scd!.store.podOfDevice(out.deviceId), { podId: POD, aggregator: 'ACEAE' });

    // the same token a second time (same device, same key file): refused, exit 1
    const second = await commission();
    t.is(second.code, 1, second.err);
    const again = JSON.parse(second.out) as Out;
    t.is(again.deviceId, out.deviceId);
    t.deepEqual(failed(again), ['enroll']);
    t.regex(enrollCheck(again).detail, /ENROLL_TOKEN_USED/);
    t.true((await cloud.chain.keyOf(out.deviceId)).active, 'still registered once');
  },
);

test.serial('lightnode cloud up --json names the enrollment service, on --enroll-port', async (t) => {
  const { dir, broker, anvil } = peers();
  const keyFile = join(dir, 'up.key');
  writeFileSync(keyFile, `${devAccountKey(1)}\n`);
  const group = (await commands.cloud!()) as CommandGroup;
  const out: string[] = [];
  const ac = new AbortController();
  const io = { stdout: (s: string) => out.push(s), stderr: () => undefined, env: {}, cwd: dir, signal: ac.signal };
  const argv = ['--dir', join(dir, 'up'), '--broker', broker.url, '--rpc', anvil.url, '--key-file', keyFile];
  const running = (group.subcommands.up as Command).run([...argv, '--enroll-port', '0', '--json'], io);
  try {
    await waitFor(() => out.length > 0, 60_000, 'cloud up to print its endpoints');
    const info = JSON.parse(out[0]!) as { enroll: string; chain: { chainId: number; keyRegister: string } };
    t.regex(info.enroll, /^http:\/\/127\.0\.0\.1:\d+$/);
    const d = (await (await fetch(`${info.enroll}/enroll/domain`)).json()) as object;
    t.deepEqual(d, { ...lightNodeDomain(info.chain.chainId, info.chain.keyRegister) });
  } finally {
    ac.abort();
    await running;
  }
});
