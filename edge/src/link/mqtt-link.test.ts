// The MQTT link against the embedded broker (aedes, MQTT 3.1.1 only): fallback from MQTT 5, typed publishes with
// PUBACK, the last-will, inbound leaves decoded by the protocol's codecs (garbage and throwing handlers counted, the
// PUBACK still sent), resubscription after the broker lost the session, and the reconnect backoff on a fake clock.
// Every wait is on an event or a condition, never a fixed sleep.
import test from 'ava';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { createLogger, systemClock, topics, type SignedSetpoint, type LightNodeError } from '@lightnode/protocols';
import { FakeClock, testSetpoint } from '@lightnode/protocols/testing';
import { MqttLink } from './mqtt-link.js';

interface TestBroker {
  url: string;
  port: number;
  sockets: Set<Socket>;
  close(): Promise<void>;
}

async function broker(port = 0): Promise<TestBroker> {
  const aedes = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    aedes.handle(s);
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const p = (server.address() as { port: number }).port;
  return {
    url: `mqtt://127.0.0.1:${p}`,
    port: p,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => aedes.close(() => resolve()));
      }),
  };
}

/** Resolves when `cond()` holds (checked every few ms, bounded): a condition, never a fixed sleep. */
async function until(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function operator(url: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion: 4 });
}

const DEV = '0x' + 'ab'.repeat(20);
const setpoint = (nonce: number): SignedSetpoint => testSetpoint(nonce);

function link(url: string, extra: Partial<ConstructorParameters<typeof MqttLink>[0]> = {}): MqttLink {
  return new MqttLink({
    url,
    deviceId: DEV,
    clock: systemClock,
    protocolVersion: 'auto',
    reconnectBaseMs: 20,
    reconnectMaxMs: 100,
    ...extra,
  });
}

test('falls back to MQTT 3.1.1, typed publishes with PUBACK, bytes counted, last-will on a lost connection', async (t) => {
  const b = await broker();
  const watcher = await operator(b.url);
  const seen: { topic: string; payload: string }[] = [];
  watcher.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }));
  await watcher.subscribeAsync('ln/v1/#', { qos: 1 });
  const up = link(b.url);
  let connects = 0;
  up.onConnect(() => connects++);
  try {
    up.start();
    await until(() => up.state === 'connected', 'connected');
    t.is(up.protocolVersion, 4);
    await up.publish('status', { v: 1, deviceId: DEV, state: 'online', atMs: 1 }, { retain: true });
    await up.publish('batch', Uint8Array.of(1, 2, 3));
    await up.publish('report', { kind: 'config-ack', seq: 0 });
    t.true(up.stats().bytesOut > 0, 'bytes out counted');
    // the connection is cut (not a clean disconnect): the broker publishes the will, the link reconnects by itself
    for (const s of b.sockets)
      if ((s as Socket & { remotePort?: number }).remotePort !== (watcher.stream as Socket).localPort) s.destroy();
    await until(() => connects >= 2, 'reconnected');
    await up.publish('batch', Uint8Array.of(4));
    await until(() => seen.filter((m) => m.topic === topics.batch(DEV)).length === 2, 'two batches');
    await until(
      () =>
        seen.some(
          (m) => m.topic === topics.status(DEV) && (JSON.parse(m.payload) as { state: string }).state === 'offline',
        ),
      'last-will',
    );
    t.true(seen.some((m) => m.topic === topics.report(DEV)));
    t.true(up.stats().bytesOut > 20 && up.stats().bytesIn > 0);
  } finally {
    await up.stop();
    watcher.end(true);
    await b.close();
  }
});

test('inbound setpoints decoded by the codec; garbage and throwing handlers counted, PUBACK still sent', async (t) => {
  const b = await broker();
  const op = await operator(b.url);
  const up = link(b.url);
  const got: SignedSetpoint[] = [];
  const invalid: LightNodeError[] = [];
  up.subscribe('setpoint', { onMessage: (m) => void got.push(m), onInvalid: (e) => void invalid.push(e) });
  up.subscribe('setpoint', {
    onMessage: () => {
      throw new Error('handler bug');
    },
  });
  try {
    up.start();
    await until(() => up.stats().subscribeAcks === 1, 'SUBACK');
    // QoS 1 publishes resolve only on the broker's PUBACK; delivery to the device is then checked by condition
    const sp = setpoint(1);
    await op.publishAsync(topics.setpoint(DEV), JSON.stringify(sp), { qos: 1 });
    await op.publishAsync(topics.setpoint(DEV), '{not json', { qos: 1 });
    await op.publishAsync(topics.setpoint(DEV), JSON.stringify({ kind: 'setpoint', message: 1, signature: '0x' }), {
      qos: 1,
    });
    await until(() => got.length === 1 && invalid.length === 2, 'one setpoint, two invalid');
    t.deepEqual(got[0], sp);
    t.true(invalid.every((e) => e.code === 'DECODE_ERROR'));
    const s = up.stats();
    t.is(s.received.setpoint, 3);
    t.is(s.undecodable, 2);
    t.is(s.handlerErrors, 1);
  } finally {
    await up.stop();
    op.end(true);
    await b.close();
  }
});

test('resubscribes on every connection: a broker restarted without its session still delivers', async (t) => {
  let b = await broker();
  const port = b.port;
  const up = link(b.url);
  const got: number[] = [];
  up.subscribe('setpoint', { onMessage: (m) => void got.push(Number(m.message.nonce)) });
  let connects = 0;
  up.onConnect(() => connects++);
  try {
    up.start();
    await until(() => up.stats().subscribeAcks === 1, 'SUBACK');
    let op = await operator(b.url);
    await op.publishAsync(topics.setpoint(DEV), JSON.stringify(setpoint(1)), { qos: 1 });
    await until(() => got.includes(1), 'first setpoint');
    op.end(true);
    await b.close(); // all state gone: a new broker on the same port knows no session
    b = await broker(port);
    await until(() => connects >= 2 && up.stats().subscribeAcks === 2, 'reconnected and resubscribed');
    op = await operator(b.url);
    await op.publishAsync(topics.setpoint(DEV), JSON.stringify(setpoint(2)), { qos: 1 });
    await until(() => got.includes(2), 'setpoint after the restart');
    op.end(true);
    t.true(got.includes(2));
  } finally {
    await up.stop();
    await b.close();
  }
});

test('publishing while disconnected rejects at once; reconnects follow the backoff policy on the injected clock', async (t) => {
  const free = createServer();
  free.listen(0, '127.0.0.1');
  await once(free, 'listening');
  const port = (free.address() as { port: number }).port;
  await new Promise<void>((r) => free.close(() => r()));
  const clock = new FakeClock(0);
  const errors: number[] = [];
  const logger = createLogger({
    level: 'warn',
    sink: (l) => (JSON.parse(l) as { msg: string }).msg === 'connection error' && errors.push(clock.monotonic()),
  });
  const up = new MqttLink({
    url: `mqtt://127.0.0.1:${port}`,
    deviceId: DEV,
    clock,
    logger,
    reconnectBaseMs: 100,
    reconnectMaxMs: 400,
    random: () => 0.999,
  });
  up.start();
  await t.throwsAsync(up.publish('batch', Uint8Array.of(1)), { message: /UPLINK_CONNECT: not connected/ });
  // each refused attempt schedules the next one on the fake clock: 99, 199, 399, 399 ms
  for (const step of [99, 199, 399, 399]) {
    await until(() => clock.pending === 1 && up.state === 'disconnected', 'attempt failed');
    const n = errors.length;
    await clock.advance(step - 1);
    t.is(errors.length, n, 'no attempt before the step');
    await clock.advance(1);
    await until(() => errors.length === n + 1, 'next attempt');
  }
  t.is(up.stats().publishFailures, 1);
  await up.stop();
  t.is(clock.pending, 0);
});

test('a PUBACK that never comes on a live connection: past max(60 s, 2 × keepalive) the link drops it and reconnects', async (t) => {
  // a broker that takes the first PUBLISH and never acknowledges it (never authorizes it), then behaves
  const aedes = await Aedes.createBroker();
  let held = 0;
  aedes.authorizePublish = (_client, _packet, done) => {
    if (held++ === 0) return; // withheld: no PUBACK, ever
    done(null);
  };
  const server: Server = createServer((s) => aedes.handle(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`;
  const clock = new FakeClock(1_000_000);
  const up = link(url, { clock, keepaliveS: 10, protocolVersion: 4 });
  let connects = 0;
  up.onConnect(() => connects++);
  try {
    up.start();
    await until(() => up.state === 'connected', 'connected');
    // its promise may stay pending (mqtt.js keeps it for a resend): the agent's shipper re-ships on every connection
    void up.publish('status', new TextEncoder().encode('{"v":1}'), { qos: 1 }).catch(() => undefined);
    await clock.advance(59_000);
    t.is(up.state, 'connected', 'not before the bound');
    t.is(connects, 1);
    await clock.advance(1_000); // 60 s: the bound (2 × 10 s keepalive is less)
    await until(() => up.state === 'disconnected' || connects >= 2, 'the connection dropped');
    for (let i = 0; i < 50 && connects < 2; i++) await clock.advance(100); // the reconnect backoff (injected clock)
    await until(() => connects >= 2 && up.state === 'connected', 'reconnected');
    await up.publish('status', new TextEncoder().encode('{"v":1}'), { qos: 1 });
    t.pass();
  } finally {
    await up.stop();
    await new Promise<void>((resolve) => server.close(() => aedes.close(() => resolve())));
  }
});
