// The agent's ESS adapters (edge/src/ess) against the simulator over Modbus TCP: SunSpec through 704 and through
// 124 only, and the generic kind "ess" profile. Each commands, reads back the power and mode, and releases.
import test from 'ava';
import { builtinProfiles, systemClock } from '@lightnode/protocols';
import {
  ModbusLine,
  ModbusMapEssAdapter,
  ModbusSerialTransport,
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
    await adapter.start();
    t.like(await adapter.read(), { essPowerW: 0, socPermille: 500, mode: 'autonomous' });
    await adapter.command(-1200, 60);
    t.like(await adapter.read(), { essPowerW: -1200, mode: 'remote' });
    t.like(sim.sim.battery.command, { w: -1200, revertMs: 60_000 });
    await adapter.command(2000, 30);
    t.like(await adapter.read(), { essPowerW: 2000, mode: 'remote' });
    await adapter.release();
    t.like(await adapter.read(), { essPowerW: 0, mode: 'autonomous' });
    await adapter.close();
  });
