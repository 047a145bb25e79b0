// The MQTT EMS adapter against the embedded broker (aedes): commands on {topic}/set, retained state on
// {topic}/state. Timeouts run on a FakeClock; every other wait is on an MQTT event.
import test from 'ava';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { isLightNodeError } from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { MqttEssAdapter } from './mqtt.js';

/** A TCP server on 127.0.0.1:0 handing each socket to `onSocket`; closed (sockets destroyed) at teardown. */
async function listen(t: { teardown(fn: () => unknown): void }, onSocket: (s: Socket) => void): Promise<string> {
  const sockets: Socket[] = [];
  const server: Server = createServer((s) => (sockets.push(s), onSocket(s)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => (sockets.forEach((s) => s.destroy()), new Promise((r) => server.close(r))));
  return `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function aedesUrl(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const aedes = await Aedes.createBroker();
  t.teardown(() => new Promise<void>((r) => aedes.close(() => r())));
  return listen(t, (s) => aedes.handle(s));
}

async function peer(t: { teardown(fn: () => unknown): void }, url: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, { protocolVersion: 4 });
  t.teardown(() => c.endAsync(true));
  return c;
}

function nextMessage(c: MqttClient): Promise<[string, string]> {
  return new Promise((resolve) =>
    c.once('message', (topic: string, payload: Buffer) => resolve([topic, payload.toString()])),
  );
}

const STATE = { essPowerW: -1200, socPermille: 480, mode: 'remote' };

test('command and release on {topic}/set, state from the retained {topic}/state', async (t) => {
  const url = await aedesUrl(t);
  const ems = await peer(t, url);
  await ems.publishAsync('site/ems/state', JSON.stringify(STATE), { qos: 1, retain: true });
  await ems.subscribeAsync('site/ems/set', { qos: 1 });
  const clock = new FakeClock();
  const a = new MqttEssAdapter({ id: 'ems1', url, topic: 'site/ems/', clock });
  t.teardown(() => a.close());
  await a.start();
  t.like(await a.read(), STATE); // waits for the retained state, which is on its way

  const got = nextMessage(ems);
  await a.command(2500, 60);
  const [topic, payload] = await got;
  t.is(topic, 'site/ems/set');
  t.deepEqual(JSON.parse(payload), { essPowerW: 2500, validUntilMs: clock.now() + 60_000 });
  const rel = nextMessage(ems);
  await a.release();
  t.deepEqual(await rel, ['site/ems/set', '{}']);

  // a new state replaces the last one; a bad one is counted and ignored
  const next = { essPowerW: 2480, socPermille: 478, productionPowerW: 900, mode: 'remote' };
  await clock.advance(31_000); // the retained state is now stale: read waits for the next one
  const reading = a.read();
  await ems.publishAsync('site/ems/state', 'not json', { qos: 1 });
  await ems.publishAsync('site/ems/state', JSON.stringify(next), { qos: 1 });
  const fresh = await reading;
  t.like(fresh, next);
  t.is(a.badStates, 1);
  t.is(fresh.atMs, clock.now());
});

test('no state within the timeout → ADAPTER_TIMEOUT', async (t) => {
  const url = await aedesUrl(t);
  const clock = new FakeClock();
  const a = new MqttEssAdapter({ id: 'ems1', url, topic: 'quiet/ems', clock, timeoutMs: 2000 });
  t.teardown(() => a.close());
  await a.start();
  const p = a.read();
  await clock.advance(2000);
  const e = await t.throwsAsync(p);
  t.true(isLightNodeError(e, 'ADAPTER_TIMEOUT'), String(e));
  t.regex(e.message, /asset ems1: waiting for quiet\/ems\/state on mqtt:\/\/127\.0\.0\.1:\d+: no answer in 2000 ms/);
});

test('a broker that never answers → ADAPTER_TIMEOUT at start', async (t) => {
  let accepted!: () => void;
  const connected = new Promise<void>((r) => (accepted = r));
  const url = await listen(t, () => accepted()); // accepts the TCP connection, never sends CONNACK
  const clock = new FakeClock();
  const a = new MqttEssAdapter({ id: 'ems1', url, topic: 'x', clock });
  t.teardown(() => a.close());
  const p = a.start();
  await connected;
  await clock.advance(5000);
  const e = await t.throwsAsync(p);
  t.true(isLightNodeError(e, 'ADAPTER_TIMEOUT'), String(e));
  t.regex(e.message, /subscribe on mqtt:.*: no answer in 5000 ms/);
});
