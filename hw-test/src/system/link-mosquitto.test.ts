// The device link against Debian's Mosquitto (MQTT 5, started by the test): a setpoint (QoS 1) and a retained config
// published while the device is offline arrive when it reconnects — with the broker's persistence, and after a
// restart WITHOUT persistence, where the broker forgets the session and only the link's resubscription on every
// connection (whatever sessionPresent says) brings the device back to hearing its topics.
import test from 'ava';
import mqtt from 'mqtt';
import { privateKeySigner, signConfig, systemClock, topics, type SignedSetpoint } from '@lightnode/protocols';
import { TEST_OPERATOR_KEY, testDomain, testSetpoint } from '@lightnode/protocols/testing';
import { MqttLink } from '@lightnode/edge';
import { startMosquitto } from '../peers/index.js';
import { waitFor } from '../hil/harness.js';

const DEV = '0x' + 'cd'.repeat(20);
const issuer = privateKeySigner(TEST_OPERATOR_KEY);

const setpoint = (nonce: number): SignedSetpoint => testSetpoint(nonce);

function config(revision: number) {
  return signConfig({ note: `rev ${revision}` }, { deviceId: DEV, revision, atMs: 1 }, issuer, testDomain());
}

function device(url: string) {
  const link = new MqttLink({
    url,
    deviceId: DEV,
    clientId: 'ln-test-link',
    clock: systemClock,
    protocolVersion: 5,
    reconnectBaseMs: 50,
    reconnectMaxMs: 200,
  });
  const setpoints: number[] = [];
  const configs: number[] = [];
  link.subscribe('setpoint', { onMessage: (m) => void setpoints.push(Number(m.message.nonce)) });
  link.subscribe('config', { onMessage: (m) => void configs.push(m.message.revision) });
  return { link, setpoints, configs };
}

async function publishWhileOffline(url: string, nonce: number, revision: number): Promise<void> {
  const op = await mqtt.connectAsync(url, { protocolVersion: 5 });
  await op.publishAsync(topics.setpoint(DEV), JSON.stringify(setpoint(nonce)), { qos: 1 });
  await op.publishAsync(topics.config(DEV), JSON.stringify(config(revision)), { qos: 1, retain: true });
  await op.endAsync();
}

test('offline setpoint and retained config arrive after reconnect; also after a restart without persistence', async (t) => {
  for (const persistence of [true, false]) {
    const broker = await startMosquitto({ persistence });
    const d = device(broker.url);
    try {
      d.link.start();
      await waitFor(() => d.link.stats().subscribeAcks >= 1, 20_000, 'first SUBACK');
      // 1. the device goes offline (its persistent session stays on the broker), the operator publishes, it returns
      await d.link.stop();
      await publishWhileOffline(broker.url, 1, 1);
      d.link.start();
      await waitFor(() => d.setpoints.includes(1) && d.configs.includes(1), 20_000, 'offline messages after reconnect');
      // 2. the broker restarts while the device is connected; without persistence it forgets session and retained
      const acks = d.link.stats().subscribeAcks;
      await broker.stop();
      await broker.start();
      await waitFor(
        () => d.link.state === 'connected' && d.link.stats().subscribeAcks > acks,
        20_000,
        'reconnected and resubscribed after the restart',
      );
      // 3. offline again, then back: the session the link re-created by resubscribing holds the new messages
      await d.link.stop();
      await publishWhileOffline(broker.url, 2, 2);
      d.link.start();
      await waitFor(
        () => d.setpoints.includes(2) && d.configs.includes(2),
        20_000,
        `after restart (persistence ${persistence})`,
      );
      t.deepEqual(
        [...new Set(d.setpoints)].sort(),
        [1, 2],
        `persistence ${persistence}: setpoints ${JSON.stringify(d.setpoints)}`,
      );
      t.is(d.link.stats().undecodable, 0);
    } finally {
      await d.link.stop();
      await broker.dispose();
    }
  }
});
