// Detection over the wire: one simulator per builtin profile on Modbus TCP (127.0.0.1, a port the OS picks), read
// with the agent's own Modbus client (ModbusLine over ModbusSerialTransport, as edge's wiring opens a line) along
// each profile's identifyPlan, judged by matchIdentify. Every simulator is detected as its own profile, and no
// other family's identify matches it (only sunspec/common, the bare SunS marker, matches every SunSpec device).
import test from 'ava';
import {
  builtinProfiles,
  identifyPlan,
  isLightNodeError,
  matchIdentify,
  systemClock,
  type IdentifyMatch,
  type Profile,
} from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { ModbusLine, ModbusSerialTransport, type LineDevice } from '@lightnode/edge';
import { startEssSim } from '../ess/start.js';
import { serveTcp, type RunningServer } from './servers.js';
import { MeterSimulator } from './simulator.js';

const profiles = builtinProfiles();
const all = profiles.list().map((id) => profiles.get(id));

/** Reads the profile's plan from the device; a read the device refuses (exception) is left out, as a scan would. */
async function identify(device: LineDevice, profile: Profile): Promise<IdentifyMatch> {
  const words: Record<string, number[]> = {};
  for (const r of identifyPlan(profile)) {
    try {
      words[r.name] = await device.read(r.fc, r.address, r.count);
    } catch (e) {
      if (!isLightNodeError(e, 'MODBUS_EXCEPTION')) throw e;
    }
  }
  return matchIdentify(profile, words);
}

interface Rig {
  profile: Profile;
  server: RunningServer;
  transport: ModbusSerialTransport;
  device: LineDevice;
}

async function start(profile: Profile, unit: number): Promise<Rig> {
  const sim = new MeterSimulator({
    profile,
    unit,
    clock: new FakeClock(Date.UTC(2026, 0, 10, 12)),
    ...(profile.kind === 'sunspec-model' ? { sunspec: { profiles } } : {}),
  });
  const server = await serveTcp([sim], { host: '127.0.0.1', port: 0 });
  const transport = new ModbusSerialTransport({ tcp: { host: '127.0.0.1', port: server.port! } });
  const line = new ModbusLine(transport, { clock: systemClock });
  const device = line.addDevice({ name: profile.id, unit, timeoutMs: 2000, retries: 0 });
  return { profile, server, transport, device };
}

test('every builtin profile is detected on its simulator over Modbus TCP, and no other family matches it', async (t) => {
  t.is(all.length, 22);
  const rigs: Rig[] = [];
  t.teardown(async () => {
    for (const r of rigs) {
      await r.transport.close();
      await r.server.close();
    }
  });
  for (const p of all) rigs.push(await start(p, p.transport.unitId ?? 1));
  await Promise.all(
    rigs.map(async ({ profile: device, device: line }) => {
      const own = await identify(line, device);
      t.true(own.matched, `${device.id} on its own simulator: ${own.detail}`);
      t.truthy(own.serial ?? (device.id === 'sinapsi/alfa' ? 'none documented' : undefined), `${device.id} serial`);
      const detected: string[] = [];
      for (const p of all) if ((await identify(line, p)).matched) detected.push(p.id);
      const expected = [...new Set([device.id, ...(device.kind === 'sunspec-model' ? ['sunspec/common'] : [])])];
      t.deepEqual(detected.sort(), expected.sort(), `profiles matching the ${device.id} simulator`);
    }),
  );
  const byId = new Map(rigs.map((r) => [r.profile.id, r]));
  const em24 = byId.get('carlo-gavazzi/em24')!;
  t.like(await identify(em24.device, profiles.get('carlo-gavazzi/em24')), {
    matched: true,
    model: 'EM24DINAV23XE1X',
    serial: 'SN000001',
  });
  const sdm630 = await identify(em24.device, profiles.get('eastron/sdm630'));
  t.false(sdm630.matched);
  t.regex(sdm630.detail, /MeterCode: not read/);
  const em340 = await identify(em24.device, profiles.get('carlo-gavazzi/em340'));
  t.regex(em340.detail, /ModelCode 1648 ∉ \{330\.\.348\}/);
  t.like(await identify(byId.get('sunspec/meter-203')!.device, profiles.get('sunspec/meter-203')), {
    matched: true,
    model: '203',
    serial: 'SIM1',
  });
  t.like(await identify(byId.get('eastron/sdm630')!.device, profiles.get('eastron/sdm630')), {
    model: 'SDM630Modbus',
    serial: '1',
  });
});

test('the ESS simulator answers identify too: the generic ess profile, and SunSpec with 124 as the first model', async (t) => {
  for (const [iface, want] of [
    [{ kind: 'profile', profile: 'generic/ess-example' }, ['generic/ess-example']],
    [{ kind: 'sunspec' }, ['sunspec/common', 'sunspec/storage-124']],
  ] as const) {
    const sim = await startEssSim({
      interface: iface,
      clock: new FakeClock(Date.UTC(2026, 0, 10, 2)),
      loadW: 800,
      battery: { autonomous: 'idle' },
    });
    const transport = new ModbusSerialTransport({ tcp: { host: '127.0.0.1', port: sim.port! } });
    try {
      const device = new ModbusLine(transport, { clock: systemClock }).addDevice({
        name: 'ess',
        unit: 1,
        timeoutMs: 2000,
        retries: 0,
      });
      const detected: string[] = [];
      for (const p of all) if ((await identify(device, p)).matched) detected.push(p.id);
      t.deepEqual(detected.sort(), [...want], iface.kind);
    } finally {
      await transport.close();
      await sim.stop();
    }
  }
});
