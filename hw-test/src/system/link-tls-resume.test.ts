// The device link over TLS 1.3 (mutual TLS, the test PKI) to Debian's Mosquitto, through the byte-counting link
// proxy: when the connection drops, the reconnect offers the broker's session ticket, the handshake resumes (no
// certificates on the wire: fewer bytes on a metered link) and publishing goes on.
import test from 'ava';
import { rmSync } from 'node:fs';
import { systemClock } from '@lightnode/protocols';
import { MqttLink } from '@lightnode/edge';
import { makeTestPki, startMosquitto } from '../peers/index.js';
import { startLinkProxy } from '../hil/link-proxy.js';
import { waitFor } from '../hil/harness.js';

const DEV = '0x' + 'ab'.repeat(20);
const STATUS = Buffer.from(JSON.stringify({ v: 1, deviceId: DEV, state: 'online' }));

test('a dropped TLS connection reconnects with the session resumed: fewer bytes, publishing goes on', async (t) => {
  const pki = makeTestPki();
  t.teardown(() => rmSync(pki.dir, { recursive: true, force: true }));
  const broker = await startMosquitto({
    tls: { caFile: pki.caFile, certFile: pki.serverCert, keyFile: pki.serverKey, requireClientCert: true },
  });
  t.teardown(() => broker.dispose());
  const proxy = await startLinkProxy({ port: Number(new URL(broker.url).port) });
  t.teardown(() => proxy.close());
  const link = new MqttLink({
    url: `mqtts://127.0.0.1:${proxy.port}`,
    deviceId: DEV,
    clientId: 'ln-test-tls-resume',
    clock: systemClock,
    caFile: pki.caFile,
    certFile: pki.clientCert,
    keyFile: pki.clientKey,
    reconnectBaseMs: 50,
    reconnectMaxMs: 200,
  });
  t.teardown(() => link.stop());
  link.start();
  await waitFor(() => link.state === 'connected', 20_000, 'the first TLS connect');
  await link.publish('status', STATUS, { retain: true });
  t.is(link.stats().tlsResumes, 0, 'a first connect has no session to resume');
  const first = proxy.connections()[0]!;

  t.is(proxy.reset(), 1);
  await waitFor(() => link.stats().connects >= 2 && link.state === 'connected', 20_000, 'the reconnect');
  t.is(link.stats().tlsResumes, 1, 'the reconnect resumed the TLS session');
  await link.publish('status', STATUS, { retain: true });
  const second = proxy.connections()[1]!;
  // the full handshake carries both certificates (the server's is the larger, with its chain); the resumed one neither
  t.true(
    second.down.bytes < first.down.bytes - 500,
    `broker → device: resumed ${second.down.bytes} B vs full ${first.down.bytes} B`,
  );
  t.true(second.up.bytes < first.up.bytes, `device → broker: resumed ${second.up.bytes} B vs full ${first.up.bytes} B`);
});
