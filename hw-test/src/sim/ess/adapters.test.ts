// The agent's ESS adapters (edge/src/ess) against the simulator over Modbus TCP: SunSpec through 704 and through
// 124 only, the generic kind "ess" profile, the REST and the MQTT EMS. Each commands, reads back the power and mode, and releases.
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinProfiles, systemClock } from '@lightnode/protocols';
import { startEmbeddedBroker } from '@lightnode/cloud';
import {
  ModbusLine,
  ModbusMapEssAdapter,
  MqttEssAdapter,
  ModbusSerialTransport,
  RestEssAdapter,
  SunSpecEssAdapter,
  type EssAdapter,
} from '@lightnode/edge';
import { startEssSim, type EssInterface } from './start.js';

const profiles = builtinProfiles();

const cases: [string, EssInterface][] = [
  ['SunSpec 704', { kind: 'sunspec' }],
  ['SunSpec 124 only', { kind: 'sunspec', models: [1, 124, 701, 713] }],
  ['generic/ess-example', { kind: 'profile', profile: 'generic/ess-example' }],
];

/**
 * command → read back → a new command → release → autonomous. `read` waits until the state matches (MQTT states
 * arrive after the command's PUBACK), bounded by the test's timeout.
 */
async function drive(t: ExecutionContext, adapter: EssAdapter, battery: { command: unknown }) {
  const reads = async (want: { essPowerW: number; mode: string }) => {
    for (;;) {
      const s = await adapter.read();
      if (s.essPowerW === want.essPowerW && s.mode === want.mode) return s;
      await new Promise((r) => setTimeout(r, 5)); // poll: MQTT states arrive on their own
    }
  };
  await adapter.start();
  t.like(await reads({ essPowerW: 0, mode: 'autonomous' }), { socPermille: 500 });
  await adapter.command(-1200, 60);
  await reads({ essPowerW: -1200, mode: 'remote' });
  t.like(battery.command, { w: -1200 });
  await adapter.command(2000, 30);
  await reads({ essPowerW: 2000, mode: 'remote' });
  await adapter.release();
  await reads({ essPowerW: 0, mode: 'autonomous' });
  t.is(battery.command, null);
  await adapter.close();
}

test('the MQTT adapter against the simulated EMS on the embedded broker', async (t) => {
  const broker = await startEmbeddedBroker();
  const sim = await startEssSim({
    interface: { kind: 'mqtt', url: broker.url, topic: 'site/ess' },
    loadW: 500,
    battery: { autonomous: 'idle' },
  });
  t.teardown(async () => {
    await sim.stop();
    await broker.stop();
  });
  await drive(
    t,
    new MqttEssAdapter({ id: 'ess', url: broker.url, topic: 'site/ess', clock: systemClock }),
    sim.sim.battery,
  );
});

test('the REST adapter against the simulated EMS (token from a file)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ln-ess-rest-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'TEST_EMS_TOKEN_not_a_secret\n');
  const sim = await startEssSim({
    interface: { kind: 'rest', token: 'TEST_EMS_TOKEN_not_a_secret' },
    loadW: 500,
    battery: { autonomous: 'idle' },
  });
  t.teardown(async () => {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await drive(t, new RestEssAdapter({ id: 'ess', url: sim.listening, tokenFile, clock: systemClock }), sim.sim.battery);
});

for (const [name, iface] of cases)
  test(`the ${name} adapter commands the simulated battery, reads it back and releases it`, async (t) => {
    const sim = await startEssSim({ interface: iface, loadW: 500, battery: { autonomous: 'idle' } });
    const transport = new ModbusSerialTransport({ tcp: { host: '127.0.0.1', port: sim.port! } });
    const device = new ModbusLine(transport, { clock: systemClock }).addDevice({
      name: 'ess',
      unit: 1,
      timeoutMs: 1000,
    });
    t.teardown(async () => {
      await transport.close();
      await sim.stop();
    });
    const adapter: EssAdapter =
      iface.kind === 'profile'
        ? new ModbusMapEssAdapter({ id: 'ess', profile: profiles.get(iface.profile), device, clock: systemClock })
        : new SunSpecEssAdapter({ id: 'ess', device, clock: systemClock, profiles });
    await drive(t, adapter, sim.sim.battery);
  });
