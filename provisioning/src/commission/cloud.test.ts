// The cloud check against the embedded broker (aedes) on 127.0.0.1: plain MQTT, MQTT over TLS (a throwaway
// self-signed certificate made by openssl at test time, trusted through the old config's uplink.caFile), and a
// broker that refuses the connection. Real sockets: the system clock times the stages.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import { systemClock } from '@lightnode/protocols';
import { captureIo, POD, rig, tempDir } from '../testing/index.js';
import { resolveInputs } from './inputs.js';
import { runCommission } from './run.js';

interface Broker {
  port: number;
  published: { topic: string; qos: number; retain: boolean }[];
}

async function broker(
  t: { teardown(fn: () => unknown): void },
  o: { tls?: { cert: Buffer; key: Buffer }; refuse?: boolean } = {},
): Promise<Broker> {
  const aedes = await Aedes.createBroker();
  if (o.refuse)
    aedes.authenticate = (_c, _u, _p, done) => done(Object.assign(new Error('bad user'), { returnCode: 4 }), false);
  const published: Broker['published'] = [];
  aedes.on('publish', (p, client) => {
    if (client) published.push({ topic: p.topic, qos: p.qos, retain: p.retain });
  });
  const sockets: Socket[] = [];
  const onSocket = (s: Socket): void => {
    sockets.push(s);
    aedes.handle(s);
  };
  const server: Server = o.tls
    ? createTlsServer({ cert: o.tls.cert, key: o.tls.key }, onSocket)
    : createServer(onSocket);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    await new Promise<void>((r) => aedes.close(() => r()));
  });
  return { port: (server.address() as AddressInfo).port, published };
}

async function commission(dir: string, cloud: string, old?: Record<string, unknown>) {
  if (old) {
    mkdirSync(join(dir, 'etc'), { recursive: true });
    writeFileSync(join(dir, 'etc', 'agent.json'), JSON.stringify(old));
  }
  const inputs = resolveInputs([
    '--pod',
    POD,
    '--cloud',
    cloud,
    '--state-dir',
    join(dir, 'state'),
    '--config-out',
    join(dir, 'etc', 'agent.json'),
  ]);
  const r = rig();
  const c = captureIo();
  const res = await runCommission(inputs, { ...r.deps, clock: systemClock, io: c.io });
  return { res, cloud: res.checks.find((k) => k.id === 'cloud')! };
}

test('mqtt://: DNS, TCP, MQTT connect and publish → PUBACK, each in ms; the probe is QoS 1, not retained', async (t) => {
  const b = await broker(t);
  const { res, cloud } = await commission(tempDir(), `mqtt://localhost:${b.port}`);
  t.is(cloud.result, 'pass', cloud.detail);
  t.regex(
    cloud.detail,
    /DNS [\d.]+ ms, TCP [\d.]+ ms, no TLS \(mqtt:\/\/\), MQTT connect [\d.]+ ms, publish → PUBACK [\d.]+ ms/,
  );
  t.deepEqual(b.published, [
    { topic: `ln/v1/${res.deviceId.toLowerCase()}/commissioning-probe`, qos: 1, retain: false },
  ]);
  t.is(res.checks.find((k) => k.id === 'config')!.result, 'pass');
  t.is(res.result, 'pass');
});

test('mqtts://: the TLS handshake timed too, against the CA of the config being replaced', async (t) => {
  const dir = tempDir();
  const key = join(dir, 'server.key');
  const cert = join(dir, 'server.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
    ].concat(['-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']),
    { stdio: 'pipe' },
  );
  const b = await broker(t, { tls: { cert: readFileSync(cert), key: readFileSync(key) } });
  const { cloud } = await commission(dir, `mqtts://localhost:${b.port}`, {
    podId: POD,
    uplink: { url: 'mqtts://old.test', caFile: cert },
  });
  t.is(cloud.result, 'pass', cloud.detail);
  t.regex(cloud.detail, /TLS [\d.]+ ms \(TLSv1\.3\)/);
  t.is(b.published.length, 1);
  // without the CA the handshake is refused, and the check says where
  const other = tempDir();
  const r2 = await commission(other, `mqtts://localhost:${b.port}`);
  t.is(r2.cloud.result, 'fail');
  t.regex(r2.cloud.detail, /UPLINK_CONNECT: .*tls failed/);
});

test('a broker refusing the connection fails the check at the MQTT stage; the config is still written', async (t) => {
  const b = await broker(t, { refuse: true });
  const { res, cloud } = await commission(tempDir(), `mqtt://127.0.0.1:${b.port}`);
  t.is(cloud.result, 'fail');
  t.regex(cloud.detail, /mqtt failed/);
  t.is(res.checks.find((k) => k.id === 'config')!.result, 'pass');
  t.is(res.result, 'fail');
});

test('nothing listening: the TCP stage fails, naming the URL', async (t) => {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  const { cloud } = await commission(tempDir(), `mqtt://127.0.0.1:${port}`);
  t.is(cloud.result, 'fail');
  t.regex(cloud.detail, new RegExp(`mqtt://127.0.0.1:${port}: tcp failed \\(connect ECONNREFUSED`));
});
