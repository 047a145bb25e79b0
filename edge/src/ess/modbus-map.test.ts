import test from 'ava';
import {
  ProfileRegistry,
  builtinProfiles,
  imageFromProfile,
  isLightNodeError,
  type Profile,
} from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { ModbusLine } from '../modbus/index.js';
import { ModbusMapEssAdapter } from './modbus-map.js';
import { RecordingTransport, settle } from '../testing/index.js';

function rig(profile: Profile, values = { essPowerW: 1200, socPermille: 455, productionPowerW: 300 }) {
  const clock = new FakeClock();
  const transport = new RecordingTransport(clock);
  const image = imageFromProfile(profile, values);
  transport.addUnit(1, image);
  const line = new ModbusLine(transport, { clock });
  const device = line.addDevice({ name: 'ess1', unit: 1, timeoutMs: 300, retries: 0 });
  const adapter = new ModbusMapEssAdapter({ id: 'ess1', profile, device, clock });
  return { clock, transport, image, adapter, run: <T>(p: Promise<T>) => settle(clock, p) };
}

const example = builtinProfiles().get('generic/ess-example');

test('generic/ess-example: reads with sign and scale; command writes revert timer, setpoint (sign −1), enable', async (t) => {
  const r = rig(example);
  r.image.set(3, 203, [0]);
  await r.run(r.adapter.start());
  const atMs = r.clock.now();
  t.deepEqual(await r.run(r.adapter.read()), {
    atMs,
    essPowerW: 1200, // register 100 holds −1200 (the device counts charge positive)
    socPermille: 455, // 45.5 % in 0.1 %
    productionPowerW: 300,
    mode: 'autonomous',
  });
  t.deepEqual(r.image.read(3, 100, 3), [0xffff, 0x10000 - 1200, 455]);

  await r.run(r.adapter.command(-2000, 60));
  t.deepEqual(r.transport.writes, [
    { fc: 16, address: 202, values: [60] }, // revert timer, s
    { fc: 16, address: 200, values: [0, 2000] }, // int32: charge 2000 W = +2000 in the device's convention
    { fc: 16, address: 203, values: [1] }, // remote control enabled
  ]);
  t.is((await r.run(r.adapter.read())).mode, 'remote');

  r.transport.writes.length = 0;
  await r.run(r.adapter.release());
  t.deepEqual(r.transport.writes, [{ fc: 16, address: 203, values: [0] }]);
  t.is((await r.run(r.adapter.read())).mode, 'autonomous');
});

test('a command outside [min, max] is refused with INPUT_INVALID naming the range, and nothing is written', async (t) => {
  const r = rig(example);
  for (const w of [5001, -5001, Number.NaN]) {
    const e = await t.throwsAsync(r.run(r.adapter.command(w, 60)));
    t.true(isLightNodeError(e, 'INPUT_INVALID'), String(e));
  }
  const e = await t.throwsAsync(r.run(r.adapter.command(6000, 60)));
  t.regex(
    e.message,
    /asset ess1 essPowerW: expected a command in \[-5000, 5000\] W \(generic\/ess-example setpoints\[0\]\), received number 6000/,
  );
  const rv = await t.throwsAsync(r.run(r.adapter.command(100, 70_000)));
  t.regex(rv.message, /revertS: expected an integer number of seconds in 1\.\.65535/);
  t.deepEqual(r.transport.writes, []);
});

test("fc 6, kW with scale and no revert/enable: single-register writes; release writes 0 W; mode is the adapter's own", async (t) => {
  const doc = JSON.parse(JSON.stringify(example)) as Record<string, unknown>;
  const reg = new ProfileRegistry([
    {
      ...doc,
      id: 'test/ess-fc6',
      setpoints: [
        { command: 'essPowerW', fc: 6, address: 300, type: 's16', unit: 'kW', scale: -2, min: -3000, max: 3000 },
      ],
    },
  ]);
  const r = rig(reg.get('test/ess-fc6'));
  await r.run(r.adapter.command(1234, 60));
  t.deepEqual(r.transport.writes, [{ fc: 6, address: 300, values: [123] }]); // 1.23 kW: the register's 10 W steps
  t.is((await r.run(r.adapter.read())).mode, 'remote');
  r.transport.writes.length = 0;
  await r.run(r.adapter.release());
  t.deepEqual(r.transport.writes, [{ fc: 6, address: 300, values: [0] }]);
  t.is((await r.run(r.adapter.read())).mode, 'autonomous');
});

test('a silent device → ADAPTER_TIMEOUT; an exception → MODBUS_EXCEPTION; a meter profile is refused at construction', async (t) => {
  const r = rig(example);
  const unit = r.transport.units.get(1)!;
  unit.behaviour.exception = 3;
  const refused = await t.throwsAsync(r.run(r.adapter.command(100, 60)));
  t.true(isLightNodeError(refused, 'MODBUS_EXCEPTION'), String(refused));
  delete unit.behaviour.exception;
  await r.clock.advance(120_000);
  unit.behaviour.dead = true;
  const late = await t.throwsAsync(r.run(r.adapter.command(100, 60)));
  t.true(isLightNodeError(late, 'ADAPTER_TIMEOUT'), String(late));
  await r.clock.advance(120_000);
  const lateRead = await t.throwsAsync(r.run(r.adapter.read()));
  t.true(isLightNodeError(lateRead, 'ADAPTER_TIMEOUT'), String(lateRead));
  t.regex(lateRead.message, /asset ess1: essPowerW is invalid \(MODBUS_TIMEOUT/);
  const clock = new FakeClock();
  const line = new ModbusLine(new RecordingTransport(clock), { clock });
  t.throws(
    () =>
      new ModbusMapEssAdapter({
        id: 'x',
        profile: builtinProfiles().get('eastron/sdm630'),
        device: line.addDevice({ name: 'x', unit: 1 }),
        clock,
      }),
    { message: /CONFIG_INVALID: assets\.x\.adapter\.modbus\.profile: expected a kind "ess" profile/ },
  );
});
