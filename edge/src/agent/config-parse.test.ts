import test from 'ava';
import { parseAgentConfig } from '@lightnode/protocols';

test('config errors name the path, the expectation and the received value', (t) => {
  const good = {
    podId: 'IT002E61899978',
    uplink: { url: 'mqtt://127.0.0.1:1883' },
    lines: [{ name: 'l', transport: { tcp: { host: 'h' } }, meters: [{ id: 'm', profile: 'eastron/sdm630' }] }],
  };
  const c = parseAgentConfig(good);
  t.is(c.uplink.keepaliveS, 240);
  t.is(c.batch.windowMs, 60_000);
  t.is(c.lines[0]!.meters[0]!.pollMs, 1000);
  t.throws(() => parseAgentConfig({ ...good, uplink: { url: 'http://x' } }), {
    message: /config\.uplink\.url: .*mqtt:\/\/.*received "http:\/\/x"/,
  });
  t.throws(() => parseAgentConfig({ ...good, batch: { windowMs: 5 } }), {
    message: /config\.batch\.windowMs: .*received 5/,
  });
  t.throws(
    () =>
      parseAgentConfig({
        ...good,
        lines: [{ ...good.lines[0], meters: [{ id: 'm', profile: 'eastron/sdm630', pollMs: 'fast' }] }],
      }),
    { message: /lines\[0\]\.meters\[0\]\.pollMs/ },
  );
  t.throws(() => parseAgentConfig({ ...good, bogus: 1 }), { message: /CONFIG_INVALID/ });
});
