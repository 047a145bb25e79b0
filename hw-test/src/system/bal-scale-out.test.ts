/**
 * Scale-out on a real broker: Debian's Mosquitto (MQTT 5), two BAL instances on the shared subscription
 * `$share/bal/ln/v1/+/batch`, each anchoring its own windows with its own key on anvil, both forwarding to one SCD
 * over its REST API. The instances process disjoint parts of the stream; the SCD ends with every sample exactly once.
 */
import test from 'ava';
import { join } from 'node:path';
import mqtt from 'mqtt';
import {
  encodeBatchWire,
  generatePrivateKey,
  lightNodeDomain,
  privateKeySigner,
  topics,
  type Signer,
} from '@lightnode/protocols';
import { sealedBatch, waitFor } from '@lightnode/cloud/testing';
import { ChainClient, devAccountKey, startCloud } from '@lightnode/cloud';
import { cloudPeers } from './cloud-peers.js';

const DEVICES = 4;
const BATCHES_PER_DEVICE = 50;
const SAMPLES_PER_BATCH = 10;

const peers = cloudPeers(test, 'ln-scaleout-');

test.serial('two BAL instances on a shared subscription split the load: nothing lost, nothing doubled', async (t) => {
  const { dir, broker, anvil, stacks } = peers();
  const owner = await ChainClient.deploy(anvil.url, devAccountKey(0));
  const second = ChainClient.connect(owner.book, devAccountKey(1));
  await owner.setAnchorer(second.address!, true);
  second.close();

  // the SCD (and no BAL) in one stack; two BAL-only stacks forwarding to it over HTTP
  const scd = await startCloud({
    dir: join(dir, 'scd'),
    brokerUrl: broker.url,
    chain: { rpcUrl: anvil.url, privateKey: devAccountKey(0), book: owner.book },
    runBal: false,
  });
  stacks.push(scd);
  for (const [i, id] of ['bal-a', 'bal-b'].entries())
    stacks.push(
      await startCloud({
        dir: join(dir, id),
        brokerUrl: broker.url,
        shared: true,
        chain: { rpcUrl: anvil.url, privateKey: devAccountKey(i), book: owner.book },
        remoteScd: { url: scd.scdUrl!, token: scd.tokens.bal! },
        runScd: false,
        balId: id,
        windowMs: 1000,
        credentials: { platforms: [{ id: 'unused', role: 'bal' }] },
      }),
    );
  const [a, b] = [stacks[1]!.bal!, stacks[2]!.bal!];
  t.deepEqual(
    stacks[1]!.balMqtt!.filters(),
    ['batch', 'gap', 'ack', 'qos'].map((l) => `$share/bal/ln/v1/+/${l}`),
  );

  const domain = lightNodeDomain(owner.book.chainId, owner.book.keyRegister);
  const devices: Signer[] = [];
  for (let d = 0; d < DEVICES; d++) {
    const s = privateKeySigner(generatePrivateKey());
    await owner.registerDevice(s.address, s.publicKey!);
    devices.push(s);
  }
  const pub = mqtt.connect(broker.url, { protocolVersion: 5 });
  await new Promise<void>((r) => pub.once('connect', () => r()));
  for (let k = 0; k < BATCHES_PER_DEVICE; k++)
    for (const s of devices) {
      const batch = sealedBatch(s, k * SAMPLES_PER_BATCH, SAMPLES_PER_BATCH, { domain });
      await pub.publishAsync(topics.batch(s.address), Buffer.from(encodeBatchWire(batch)), { qos: 1 });
    }
  await pub.endAsync();

  const total = DEVICES * BATCHES_PER_DEVICE * SAMPLES_PER_BATCH;
  await waitFor(
    async () => (await scd.scd!.store.counts()).measurements >= total,
    60_000,
    `${total} samples in the SCD`,
  );
  await new Promise((r) => setTimeout(r, 1500)); // anything doubled would arrive now
  const counts = await scd.scd!.store.counts();
  t.is(counts.measurements, total, 'every sample exactly once');
  t.is(counts.batches, DEVICES * BATCHES_PER_DEVICE);
  const ca = a.counters;
  const cb = b.counters;
  t.log(
    `bal-a accepted ${ca.batchesAccepted} batches in ${ca.windowsAnchored} windows; bal-b ${cb.batchesAccepted} in ${cb.windowsAnchored}`,
  );
  t.true(ca.batchesAccepted > 0 && cb.batchesAccepted > 0, 'both instances took part');
  t.is(ca.batchesAccepted + cb.batchesAccepted, DEVICES * BATCHES_PER_DEVICE, 'disjoint halves: no batch went to both');
  t.is(ca.duplicates + cb.duplicates, 0);
  t.deepEqual({ ...ca.rejected, ...cb.rejected }, {});
  t.true(ca.windowsAnchored > 0 && cb.windowsAnchored > 0, 'each instance anchors its own roots');
  for (const s of devices) t.deepEqual(await scd.scd!.store.gaps(s.address), [], `no gap for ${s.address}`);
  // the stored proofs name the anchor of the instance that handled the batch
  const bals = await scd.scd!.store.db.all<{ bal: string; n: number }>(
    'SELECT bal, count(*) AS n FROM batches GROUP BY bal ORDER BY bal',
  );
  t.deepEqual(
    bals.map((r) => r.bal),
    ['bal-a', 'bal-b'],
  );
  owner.close();
});
