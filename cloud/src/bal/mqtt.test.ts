/**
 * The BAL's MQTT side against the embedded broker (aedes): it subscribes on every CONNACK whatever `sessionPresent`
 * says — a first CONNACK that reports a session, then a broker restart that lost it — and routes by topic.
 */
import test from 'ava';
import mqtt from 'mqtt';
import { topics } from '@lightnode/protocols';
import { startEmbeddedBroker, type EmbeddedBroker } from '../broker.js';
import { waitFor } from '../testing/index.js';
import { BalMqtt } from './mqtt.js';
import type { IngestOutcome } from './service.js';

const DEVICE = '0x' + '11'.repeat(20);

class RecordingBal {
  seen: string[] = [];
  ingest(topic: string, payload: Uint8Array): Promise<IngestOutcome> {
    this.seen.push(`${topic} ${Buffer.from(payload).toString()}`);
    return Promise.resolve({ status: 'rejected', code: 'SCHEMA_INVALID', message: 'recorded' });
  }
}

async function publish(url: string, topic: string, text: string): Promise<void> {
  const c = await mqtt.connectAsync(url, { protocolVersion: 4 });
  await c.publishAsync(topic, text, { qos: 1 });
  await c.endAsync();
}

test('resubscribes after a session loss, even when its first CONNACK reported a session', async (t) => {
  let broker: EmbeddedBroker = await startEmbeddedBroker();
  const url = broker.url;
  // a persistent session for the BAL's client id, without the BAL's subscriptions
  const earlier = await mqtt.connectAsync(url, { clientId: 'bal-resub', clean: false, protocolVersion: 4 });
  await earlier.subscribeAsync('elsewhere/#', { qos: 1 });
  await earlier.endAsync();

  const bal = new RecordingBal();
  const m = new BalMqtt(bal, {
    url,
    clientId: 'bal-resub',
    reconnect: { baseMs: 20, maxMs: 200, jitter: 'full' },
  });
  try {
    await m.start();
    t.is(m.connections.sessionPresent, 1, 'the first CONNACK reported the session');
    t.is(m.connections.subscribes, 1, 'subscribed anyway');
    await publish(url, topics.batch(DEVICE), 'one');
    await waitFor(() => bal.seen.length === 1, 5000, 'the first batch');

    // the broker restarts without persistence: the session is gone
    await broker.stop();
    broker = await startEmbeddedBroker({ port: broker.port });
    await waitFor(() => m.connections.subscribes === 2, 10_000, 'a reconnect and a new subscription');
    t.is(m.connections.connects, 2);
    t.is(m.connections.sessionPresent, 1, 'the second CONNACK had no session');
    await publish(url, topics.gap(DEVICE), 'two');
    await publish(url, topics.batch(DEVICE), 'three');
    await publish(url, topics.ack(DEVICE), 'four');
    await publish(url, topics.qos(DEVICE), 'five');
    await waitFor(() => bal.seen.length === 5, 5000, 'messages after the session loss');
    t.deepEqual(bal.seen, [
      `${topics.batch(DEVICE)} one`,
      `${topics.gap(DEVICE)} two`,
      `${topics.batch(DEVICE)} three`,
      `${topics.ack(DEVICE)} four`,
      `${topics.qos(DEVICE)} five`,
    ]);
    t.deepEqual(m.received, { batch: 2, gap: 1, ack: 1, qos: 1, other: 0 });
  } finally {
    await m.stop();
    await broker.stop();
  }
});
