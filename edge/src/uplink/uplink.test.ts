// The uplink against the embedded broker (aedes, MQTT 3.1.1 only): the MQTT 5 attempt is refused and the uplink
// falls back to 3.1.1; the retained status and the last-will reach a subscriber; a dropped connection reconnects with
// our backoff and PUBACK-confirmed publishing resumes.
import test from 'ava';
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { createLogger, systemClock, topics } from '@lightnode/protocols';
import { Uplink } from './uplink.js';

async function broker(): Promise<{
  url: string;
  port: number;
  server: Server;
  sockets: Set<Socket>;
  close(): Promise<void>;
}> {
  const aedes = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    aedes.handle(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    server,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => aedes.close(() => resolve()));
      }),
  };
}

const DEV = '0x' + 'ab'.repeat(20);

test('falls back to MQTT 3.1.1 on a broker without MQTT 5, publishes with PUBACK, last-will on a lost connection', async (t) => {
  const b = await broker();
  const watcher = mqtt.connect(b.url, { protocolVersion: 4 });
  const seen: { topic: string; payload: string; retain: boolean }[] = [];
  watcher.on('message', (topic, payload, pkt) => seen.push({ topic, payload: payload.toString(), retain: pkt.retain }));
  await new Promise<void>((r) => watcher.on('connect', () => watcher.subscribe('ln/v1/#', { qos: 1 }, () => r())));
  let connects = 0;
  const up = new Uplink({
    url: b.url,
    deviceId: DEV,
    clock: systemClock,
    protocolVersion: 'auto',
    reconnectBaseMs: 20,
    reconnectMaxMs: 100,
    onConnect: () => connects++,
  });
  try {
    up.start();
    for (let i = 0; i < 200 && up.state !== 'connected'; i++) await new Promise((r) => setTimeout(r, 20));
    t.is(up.state, 'connected');
    t.is(up.protocolVersion, 4);
    await up.publish(topics.status(DEV), JSON.stringify({ v: 1, deviceId: DEV, state: 'online' }), { retain: true });
    await up.publish(topics.batch(DEV), Buffer.from([1, 2, 3]));
    // the connection is cut (not a clean disconnect): the broker publishes the will, the uplink reconnects by itself
    for (const s of b.sockets)
      if ((s as Socket & { remotePort?: number }).remotePort !== (watcher.stream as Socket).localPort) s.destroy();
    for (let i = 0; i < 200 && connects < 2; i++) await new Promise((r) => setTimeout(r, 20));
    t.true(connects >= 2, 'reconnected');
    await up.publish(topics.batch(DEV), Buffer.from([4]));
    await new Promise((r) => setTimeout(r, 100));
    t.true(
      seen.some((m) => m.topic === topics.status(DEV) && JSON.parse(m.payload).state === 'offline'),
      JSON.stringify(seen),
    );
    t.is(seen.filter((m) => m.topic === topics.batch(DEV)).length, 2);
  } finally {
    await up.stop();
    watcher.end(true);
    await b.close();
  }
});

test('publishing while disconnected rejects at once (the outbox keeps the data); reconnect attempts back off', async (t) => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const attempts: number[] = [];
  const t0 = Date.now();
  const logger = createLogger({
    level: 'warn',
    sink: (l) => (JSON.parse(l) as { msg: string }).msg === 'connection error' && attempts.push(Date.now() - t0),
  });
  const up = new Uplink({
    url: `mqtt://127.0.0.1:${port}`,
    deviceId: DEV,
    clock: systemClock,
    logger,
    reconnectBaseMs: 50,
    reconnectMaxMs: 400,
    random: () => 1,
  });
  up.start();
  await new Promise((r) => setTimeout(r, 1500));
  await t.throwsAsync(up.publish('x', 'y'), { message: /UPLINK_CONNECT: not connected/ });
  await up.stop();
  // delays 50, 100, 200, 400, 400 … (full jitter with random() = 1 takes the whole step): few attempts, growing gaps
  t.true(attempts.length >= 3 && attempts.length <= 8, `attempts at ${attempts.join(', ')} ms`);
  const gaps = attempts.slice(1).map((a, i) => a - attempts[i]!);
  t.true(gaps[gaps.length - 1]! >= gaps[0]!, `gaps ${gaps.join(', ')}`);
});
