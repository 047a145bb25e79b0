import test from 'ava';
import { builtinProfiles, isLightNodeError, type AssetConfig } from '@lightnode/protocols';
import { FakeClock, memoryLogger } from '@lightnode/protocols/testing';
import { ModbusLine } from '../modbus/index.js';
import { createEssAdapter } from './factory.js';
import { RecordingTransport, settle, sunspecEssImage } from '../testing/index.js';

const limits = {
  maxDischargeW: 3000,
  maxChargeW: 3000,
  socMinPermille: 100,
  socMaxPermille: 900,
  capacityWh: 4800,
  rampWps: 1000,
};
const asset = (id: string, adapter: AssetConfig['adapter']): AssetConfig => ({
  id,
  kind: 'ess',
  pollMs: 1000,
  adapter,
  limits,
});

function ctx() {
  const clock = new FakeClock();
  const transport = new RecordingTransport(clock, { kind: 'tcp' });
  const bus = new ModbusLine(transport, { clock });
  const line = (name: string): ModbusLine => {
    if (name !== 'bus') throw new Error(`no line ${name}`);
    return bus;
  };
  return { clock, transport, bus, c: { clock, logger: memoryLogger(), line, profiles: builtinProfiles() } };
}

test('createEssAdapter: each adapter kind; Modbus ones are devices on the named line, with the asset id', async (t) => {
  const { clock, transport, bus, c } = ctx();
  const { image, at } = sunspecEssImage([
    { id: 701, values: { essPowerW: 500 } },
    { id: 713, values: { socPermille: 700 } },
    { id: 704, named: { WSet_SF: 0 } },
  ]);
  transport.addUnit(3, image);
  const ss = createEssAdapter(asset('ess-a', { sunspec: { line: 'bus', unit: 3 } }), c);
  t.is(ss.kind, 'sunspec');
  await settle(clock, ss.start());
  await settle(clock, ss.command(1000, 60));
  t.is(transport.writes[0]!.address, at[704]! + 22);
  const mb = createEssAdapter(asset('ess-b', { modbus: { line: 'bus', unit: 4, profile: 'generic/ess-example' } }), c);
  t.is(mb.kind, 'modbus');
  t.deepEqual(
    bus.health().devices.map((d) => [d.name, d.unit]),
    [
      ['ess-a', 3],
      ['ess-b', 4],
    ],
  );
  t.is(
    createEssAdapter(asset('ess-c', { rest: { url: 'http://127.0.0.1:1', tokenFile: '/nonexistent' } }), c).kind,
    'rest',
  );
  t.is(createEssAdapter(asset('ess-d', { mqtt: { url: 'mqtt://127.0.0.1:1', topic: 'x' } }), c).kind, 'mqtt');
});

test('createEssAdapter: a non-ess profile → CONFIG_INVALID naming the key; an unknown profile → PROFILE_UNKNOWN', (t) => {
  const { c } = ctx();
  const e = t.throws(() =>
    createEssAdapter(asset('ess-b', { modbus: { line: 'bus', unit: 4, profile: 'eastron/sdm630' } }), c),
  );
  t.true(isLightNodeError(e, 'CONFIG_INVALID'));
  t.regex(
    e.message,
    /assets\.ess-b\.adapter\.modbus\.profile: expected a kind "ess" profile, received eastron\/sdm630/,
  );
  const u = t.throws(() =>
    createEssAdapter(asset('ess-b', { modbus: { line: 'bus', unit: 4, profile: 'acme/x' } }), c),
  );
  t.true(isLightNodeError(u, 'PROFILE_UNKNOWN'));
});
