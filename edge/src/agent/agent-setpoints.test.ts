// The agent with `setpoints` and an ESS asset, from fakes: a setpoint on the link → the controller (readings hook,
// the injected FakeEssAdapter) → acks shipped on `ack`; the status details' `setpoints` block; stop releases.
import test from 'ava';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAgentConfig, privateKeySigner } from '@lightnode/protocols';
import { FakeClock, TEST_DEVICE_KEY, TEST_OPERATOR_KEY, testSetpoint } from '@lightnode/protocols/testing';
import { writeNewKeyFile } from '../keys/index.js';
import { verifyAuditFile } from '../setpoints/audit.js';
import { FakeEssAdapter, FakeLink, FakeQueue, FakeSource, TEST_ESS_LIMITS, TEST_WINDOW } from '../testing/index.js';
import type { Reading } from '../sources/index.js';
import { Agent } from './agent.js';

test('a setpoint through the agent: acked, driven from the PoD meter, in the status details, released at stop', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ln-agent-sp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeNewKeyFile(join(dir, 'device.key'), { privateKey: TEST_DEVICE_KEY });
  const config = parseAgentConfig({
    podId: 'IT002E61899978',
    stateDir: dir,
    uplink: { url: 'mqtt://127.0.0.1:1' },
    lines: [
      {
        name: 'l',
        transport: { tcp: { host: '127.0.0.1' } },
        meters: [{ id: 'pod', profile: 'eastron/sdm630', role: 'pod' }],
      },
    ],
    setpoints: { issuers: [privateKeySigner(TEST_OPERATOR_KEY).address] },
    assets: [{ id: 'ess', kind: 'ess', adapter: { sunspec: { line: 'l' } }, limits: TEST_ESS_LIMITS }],
  });
  const clock = new FakeClock(TEST_WINDOW.fromMs);
  const store = FakeQueue.open({ clock });
  const link = new FakeLink(() => clock.now());
  const ess = new FakeEssAdapter(clock);
  // house load 2000 W, no PV: the PoD reads load − battery
  const pod = new FakeSource('pod', clock, {
    role: 'pod',
    values: () => ({ activePowerW: 2000 - ess.essPowerW, energyImportWh: 1_000_000 }),
  });
  const agent = new Agent(config, { clock, store, link, sources: [pod], essAdapters: [ess], notifier: null });
  const essReadings: Reading[] = [];
  agent.onReadings((rs) => essReadings.push(...rs.filter((r) => r.role === 'ess')));
  await agent.start();
  await clock.advance(1000);
  t.true(ess.started);
  await link.deliver('setpoint', testSetpoint(1, { activePowerW: 500 }));
  await clock.advance(3000);
  t.is(ess.commands[0]?.w, 1500);
  const acks = link.sent('ack').map((a) => `${a.message.state}${a.message.reason ? ':' + a.message.reason : ''}`);
  t.deepEqual(acks, ['received', 'applied']);
  const details = agent.details() as { setpoints?: { inForce?: { commandW?: number }; lastAck?: { state: string } } };
  t.like(details.setpoints, { inForce: { commandW: 1500 }, lastAck: { state: 'applied' } });
  // the asset's telemetry: signed `ess` samples with the command in force
  const last = essReadings.at(-1)!;
  t.is(last.source, 'ess');
  t.is(last.sourceId, 'ess');
  t.like(last.values, { essPowerW: { value: 1500 }, socPermille: { value: 500 }, essSetpointW: { value: 1500 } });
  t.is(essReadings[0]!.values.essSetpointW, undefined, 'no essSetpointW while autonomous');
  const stop = agent.stop({ drainMs: 1000 });
  await clock.advance(2000);
  await stop;
  t.is(ess.releases, 1);
  t.true(ess.closed);
  t.is(link.sent('ack').at(-1)?.message.state, 'autonomous');
  t.true(existsSync(join(dir, 'setpoint-nonces.json')));
  t.true(verifyAuditFile(join(dir, 'audit.jsonl')).entries > 10);
});
