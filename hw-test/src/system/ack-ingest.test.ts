/**
 * Cloud ingest of acks and QoS reports on a real broker: Debian's Mosquitto, a BAL whose key register is the
 * LightNodeKeyRegister on anvil, forwarding over the SCD's REST API (`POST /ingest/messages`) to an SCD in another
 * stack. Signed acks and a QoS report by the registered test device key, published on `ln/v1/{id}/ack` / `…/qos`,
 * are read back with `GET /acks` and `GET /qos`; forged ones (another key, an unregistered or revoked device) are
 * dead-lettered with their reason and never reach the SCD; another aggregator reading them gets 403.
 */
import test from 'ava';
import { join } from 'node:path';
import mqtt from 'mqtt';
import {
  generatePrivateKey,
  lightNodeDomain,
  privateKeySigner,
  signAck,
  signQosReport,
  topicCodecs,
  topics,
  verifySigned,
} from '@lightnode/protocols';
import { testSigner } from '@lightnode/protocols/testing';
import { TEST_SETPOINT_ID, testAck, testQos, waitFor } from '@lightnode/cloud/testing';
import { ChainClient, devAccountKey, startCloud } from '@lightnode/cloud';
import { cloudPeers } from './cloud-peers.js';

const POD = 'IT002E61899978';

const peers = cloudPeers(test, 'ln-ack-ingest-');

test.serial('signed acks and QoS reports: Mosquitto → BAL → SCD, read back; forged ones dead-lettered', async (t) => {
  const { dir, broker, anvil, stacks } = peers();
  const owner = await ChainClient.deploy(anvil.url, devAccountKey(0));
  const chain = { rpcUrl: anvil.url, privateKey: devAccountKey(0), book: owner.book };
  const scd = await startCloud({ dir: join(dir, 'scd'), brokerUrl: broker.url, chain, runBal: false });
  stacks.push(scd);
  const balStack = await startCloud({
    dir: join(dir, 'bal'),
    brokerUrl: broker.url,
    chain,
    remoteScd: { url: scd.scdUrl!, token: scd.tokens.bal! },
    runScd: false,
    balId: 'bal-acks',
    credentials: { platforms: [{ id: 'unused', role: 'bal' }] },
  });
  stacks.push(balStack);
  const bal = balStack.bal!;
  t.deepEqual(balStack.balMqtt!.filters(), ['ln/v1/+/batch', 'ln/v1/+/gap', 'ln/v1/+/ack', 'ln/v1/+/qos']);

  const domain = lightNodeDomain(owner.book.chainId, owner.book.keyRegister);
  const dev = testSigner();
  const revoked = privateKeySigner(generatePrivateKey());
  const stranger = privateKeySigner(generatePrivateKey());
  await owner.registerDevice(dev.address, dev.publicKey!);
  await owner.registerDevice(revoked.address, revoked.publicKey!);
  await owner.revokeDevice(revoked.address, 'test: key compromised');
  const call = async (path: string, who: string, init: RequestInit = {}) => {
    const r = await fetch(`${scd.scdUrl}${path}`, {
      ...init,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${scd.tokens[who]}` },
    });
    return { status: r.status, body: await r.json() };
  };
  t.is(
    (await call('/pods', 'ACEAE', { method: 'POST', body: JSON.stringify({ podId: POD, deviceId: dev.address }) }))
      .status,
    201,
  );

  const received = signAck(testAck(dev.address, 1, { state: 'received' }), dev, domain);
  const applied = signAck(testAck(dev.address, 2), dev, domain);
  const qos = signQosReport(testQos(dev.address, 3, { podId: POD }), dev, domain);
  const forged = [
    ['SIGNER_MISMATCH', signAck(testAck(dev.address, 4), stranger, domain)],
    ['DEVICE_UNREGISTERED', signAck(testAck(stranger.address, 1), stranger, domain)],
    ['DEVICE_REVOKED', signAck(testAck(revoked.address, 1), revoked, domain)],
  ] as const;
  const pub = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  for (const a of [received, applied, ...forged.map(([, f]) => f)])
    await pub.publishAsync(topics.ack(a.message.deviceId), Buffer.from(topicCodecs.ack.encode(a)), { qos: 1 });
  await pub.publishAsync(topics.qos(dev.address), Buffer.from(topicCodecs.qos.encode(qos)), { qos: 1 });
  await pub.publishAsync(topics.ack(dev.address), Buffer.from(topicCodecs.ack.encode(applied)), { qos: 1 }); // again
  await pub.endAsync();

  await waitFor(
    () => bal.counters.messagesForwarded >= 3 && bal.ledger.stats().deadLetters >= forged.length,
    30_000,
    'three messages forwarded and the forged ones dead-lettered',
  );
  await waitFor(() => bal.counters.messageDuplicates >= 1, 10_000, 'the redelivered ack recognised');

  const acks = await call(`/acks?setpointId=${TEST_SETPOINT_ID}&podId=${POD}`, 'ACEAE');
  t.is(acks.status, 200, JSON.stringify(acks.body));
  const rows = acks.body as { seq: number; state: string; podId: string; signed: typeof applied }[];
  t.deepEqual(
    rows.map((r) => [r.seq, r.state, r.podId]),
    [
      [1, 'received', POD],
      [2, 'applied', POD],
    ],
  );
  for (const r of rows) t.is(verifySigned(r.signed, domain).signer, dev.address, 'stored as signed');
  const q = await call(`/qos?setpointId=${TEST_SETPOINT_ID}&podId=${POD}&fromMs=0&toMs=9999999999999`, 'dso');
  t.like(q.body, [{ seq: 3, slotIndex: 50, deliveredEnergyWh: -29_400, bal: 'bal-acks' }]);
  t.is((await call(`/acks?podId=${POD}`, 'ACEAE_2')).status, 403, "another aggregator's PoD");
  t.is((await call(`/qos?podId=${POD}`, 'ACEAE_2')).status, 403);

  const dead = bal.ledger.deadLetters();
  t.deepEqual(dead.map((d) => d.code).sort(), forged.map(([code]) => code).sort());
  t.true(dead.every((d) => d.topic.endsWith('/ack') && d.message.length > 0));
  const all = (await call(`/acks?setpointId=${TEST_SETPOINT_ID}`, 'market')).body as unknown[];
  t.is(all.length, 2, 'no forged ack reached the SCD');
  t.like(await scd.scd!.store.counts(), { acks: 2, qosReports: 1 });
  owner.close();
});
