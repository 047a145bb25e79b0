// Against a real Mosquitto: a broker refusing the credentials is reported (status alarm) while metering goes on; bad
// input, mutual TLS. The broker outage is the scenario cellular-outage-24h, the tiny outbox quota the scenario
// outbox-quota (hil-scenarios.test.ts).
import test from 'ava';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { builtinProfiles, systemClock } from '@lightnode/protocols';
import { MeterSimulator, makeTestPki, serveTcp, startMosquitto } from '../index.js';
import { agentDir, agentStatus, cli, startAgent, waitFor } from '../hil/harness.js';

test('a broker that refuses the credentials: UPLINK_AUTH alarm in status, metering goes on, data kept', async (t) => {
  const broker = await startMosquitto({ users: { device: 'right-password' } });
  const sim = new MeterSimulator({ profile: builtinProfiles().get('eastron/sdm630'), unit: 1, clock: systemClock });
  const meter = await serveTcp([sim]);
  const { dir, configPath } = agentDir((d) => ({
    podId: 'IT002E61899978',
    stateDir: d,
    batch: { windowMs: 1000 },
    uplink: {
      url: broker.url,
      username: 'device',
      password: 'wrong-password',
      reconnectBaseMs: 200,
      reconnectMaxMs: 1000,
    },
    lines: [
      {
        name: 'l1',
        transport: { tcp: { host: '127.0.0.1', port: meter.port } },
        meters: [{ id: 'main', profile: 'eastron/sdm630', pollMs: 200 }],
      },
    ],
  }));
  t.is((await cli(['protocol', 'keygen', '--out', join(dir, 'device.key')])).code, 0);
  const agent = startAgent(configPath);
  try {
    await waitFor(
      async () =>
        ((await agentStatus(configPath))?.status.alarms ?? []).some((a: { code: string }) => a.code === 'UPLINK_AUTH'),
      15_000,
      'UPLINK_AUTH alarm',
    );
    const s = (await agentStatus(configPath))!;
    t.not(s.status.link.state, 'connected');
    const c1 = s.details.cycles as number;
    await new Promise((r) => setTimeout(r, 1000));
    t.true(((await agentStatus(configPath))!.details.cycles as number) > c1, 'metering goes on');
    t.regex(agent.log(), /broker refused the credentials/);
  } finally {
    agent.child.kill('SIGKILL');
    await meter.close();
    await broker.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad input: a config error and an unreadable key are refused with clear errors', async (t) => {
  const { dir, configPath } = agentDir((d) => ({
    podId: 'bad pod',
    stateDir: d,
    uplink: { url: 'mqtt://127.0.0.1:1' },
  }));
  let r = await cli(['agent', '--config', configPath]);
  t.is(r.code, 1);
  t.regex(r.err, /CONFIG_INVALID: .*config\.json\.podId: .*\(received "bad pod"\)/);
  const ok = agentDir((d) => ({ podId: 'IT002E61899978', stateDir: d, uplink: { url: 'mqtt://127.0.0.1:1' } }));
  r = await cli(['agent', '--config', ok.configPath]);
  t.is(r.code, 1);
  t.regex(r.err, /KEY_INVALID: key file .*device\.key: cannot read \(ENOENT\)/);
  r = await cli(['agent', '--config', join(dir, 'missing.json')]);
  t.regex(r.err, /CONFIG_INVALID: .*missing\.json: cannot read \(ENOENT\)/);
  r = await cli(['status', '--config', ok.configPath]);
  t.is(r.code, 1);
  t.regex(r.err, /AGENT_UNREACHABLE/);
  rmSync(dir, { recursive: true, force: true });
  rmSync(ok.dir, { recursive: true, force: true });
});

test('TLS with a client certificate (mutual TLS) to Mosquitto: the agent connects and ships; without the certificate it cannot', async (t) => {
  const pki = makeTestPki();
  const broker = await startMosquitto({
    tls: { caFile: pki.caFile, certFile: pki.serverCert, keyFile: pki.serverKey, requireClientCert: true },
  });
  const sim = new MeterSimulator({ profile: builtinProfiles().get('eastron/sdm630'), unit: 1, clock: systemClock });
  const meter = await serveTcp([sim]);
  const mk = (withCert: boolean) =>
    agentDir((d) => ({
      podId: 'IT002E61899978',
      stateDir: d,
      batch: { windowMs: 500 },
      uplink: {
        url: broker.url,
        caFile: pki.caFile,
        ...(withCert ? { certFile: pki.clientCert, keyFile: pki.clientKey } : {}),
        reconnectBaseMs: 200,
        reconnectMaxMs: 1000,
      },
      lines: [
        {
          name: 'l1',
          transport: { tcp: { host: '127.0.0.1', port: meter.port } },
          meters: [{ id: 'main', profile: 'eastron/sdm630', pollMs: 100 }],
        },
      ],
    }));
  const good = mk(true);
  const bad = mk(false);
  for (const x of [good, bad]) t.is((await cli(['protocol', 'keygen', '--out', join(x.dir, 'device.key')])).code, 0);
  const a = startAgent(good.configPath);
  const b = startAgent(bad.configPath);
  try {
    // shipping = a batch delivered (PUBACK) over the mTLS connection (an empty outbox alone is also the state
    // before the first batch was sealed)
    await waitFor(
      async () => {
        const s = await agentStatus(good.configPath);
        return s?.status.link.state === 'connected' && (s.details.outbox.deliveredBatches as number) >= 1;
      },
      20_000,
      'mTLS agent connected and shipping',
    );
    // without the certificate: samples pile up in the outbox, the link never connects
    await waitFor(
      async () => ((await agentStatus(bad.configPath))?.status.outbox.depthSamples ?? 0) > 0,
      20_000,
      'the agent without a certificate metering into its outbox',
    );
    const sb = (await agentStatus(bad.configPath))!;
    t.not(sb.status.link.state, 'connected');
    t.is(sb.details.outbox.deliveredBatches, 0);
  } finally {
    a.child.kill('SIGKILL');
    b.child.kill('SIGKILL');
    await meter.close();
    await broker.dispose();
    for (const d of [good.dir, bad.dir, pki.dir]) rmSync(d, { recursive: true, force: true });
  }
});
