// The MQTT EMS against the embedded broker: {T}/set commands and releases, retained {T}/state, errors named.
import test from 'ava';
import mqtt from 'mqtt';
import { startEmbeddedBroker } from '@lightnode/cloud';
import { startEssSim } from './start.js';

test('MQTT EMS: set → retained state remote, {} → autonomous, malformed → {T}/error', async (t) => {
  const broker = await startEmbeddedBroker();
  const sim = await startEssSim({
    interface: { kind: 'mqtt', url: broker.url, topic: 'site/ess' },
    loadW: 600,
    battery: { autonomous: 'idle' },
  });
  const client = await mqtt.connectAsync(broker.url);
  t.teardown(async () => {
    await client.endAsync();
    await sim.stop();
    await broker.stop();
  });
  const states: Record<string, unknown>[] = [];
  const errors: string[] = [];
  const waiters: (() => void)[] = [];
  client.on('message', (topic, payload) => {
    if (topic === 'site/ess/state') states.push(JSON.parse(payload.toString()) as Record<string, unknown>);
    else errors.push(payload.toString());
    for (const w of waiters.splice(0)) w();
  });
  const until = async (ok: () => boolean): Promise<void> => {
    while (!ok()) await new Promise<void>((r) => waiters.push(r));
  };
  await client.subscribeAsync(['site/ess/state', 'site/ess/error']);
  await until(() => states.length > 0); // retained
  t.like(states.at(-1), { essPowerW: 0, mode: 'autonomous' });
  await client.publishAsync('site/ess/set', JSON.stringify({ essPowerW: -1800, validUntilMs: Date.now() + 60_000 }));
  await until(() => states.at(-1)?.mode === 'remote');
  t.like(states.at(-1), { essPowerW: -1800, setpointW: -1800 });
  await client.publishAsync('site/ess/set', '{}');
  await until(() => states.at(-1)?.mode === 'autonomous');
  await client.publishAsync('site/ess/set', '{"essPowerW": 1.5}');
  await until(() => errors.length > 0);
  t.regex(errors[0]!, /INPUT_INVALID.*essPowerW: expected an integer/);
  await client.publishAsync('site/ess/set', 'not json');
  await until(() => errors.length > 1);
  t.regex(errors[1]!, /DECODE_ERROR/);
});
