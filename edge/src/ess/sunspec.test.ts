import test from 'ava';
import { builtinProfiles, isLightNodeError } from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { ModbusLine } from '../modbus/index.js';
import { SunSpecEssAdapter } from './sunspec.js';
import { RecordingTransport, settle, sunspecEssImage, type ModelSpec } from '../testing/index.js';

function rig(models: ModelSpec[]) {
  const clock = new FakeClock();
  const transport = new RecordingTransport(clock);
  const { image, at } = sunspecEssImage(models);
  transport.addUnit(1, image);
  const line = new ModbusLine(transport, { clock });
  const device = line.addDevice({ name: 'ess1', unit: 1, timeoutMs: 300, retries: 0 });
  const adapter = new SunSpecEssAdapter({ id: 'ess1', device, clock, profiles: builtinProfiles() });
  return { clock, transport, image, at, adapter, run: <T>(p: Promise<T>) => settle(clock, p) };
}

const MEASURE: ModelSpec[] = [
  { id: 701, values: { essPowerW: 1500 } },
  { id: 713, values: { socPermille: 640 } },
];

test('704: one fc 16 write of WSetEna..WSetRvrtTms (offsets 22..32), read from 701 W and 713 SoC, release WSetEna = 0', async (t) => {
  const r = rig([
    ...MEASURE,
    { id: 704, named: { WSetEna: 0, WSetMod: 0, WSet_SF: 0, WSetPct: 0x8000, WSetPctRvrt: 0x8000 } },
  ]);
  await r.run(r.adapter.start());
  const atMs = r.clock.now();
  t.deepEqual(await r.run(r.adapter.read()), {
    atMs,
    essPowerW: 1500,
    socPermille: 640,
    mode: 'autonomous',
  });
  t.deepEqual(r.transport.writes, [], 'start and read write nothing');

  await r.run(r.adapter.command(-1500, 60));
  t.deepEqual(r.transport.writes, [
    {
      fc: 16,
      address: r.at[704]! + 22,
      values: [
        1, // WSetEna = ENABLED
        1, // WSetMod = WATTS
        0xffff, // WSet int32 −1500 (high word) …
        0xfa24, // … (low word): charge 1500 W, WSet_SF 0
        0, // WSetRvrt high
        0, // WSetRvrt low: revert to 0 W …
        0x8000, // WSetPct as read (unused in WATTS mode)
        0x8000, // WSetPctRvrt as read
        0, // WSetEnaRvrt = DISABLED: on reversion the device returns to autonomous
        0, // WSetRvrtTms high
        60, // WSetRvrtTms low: 60 s
      ],
    },
  ]);
  t.is((await r.run(r.adapter.read())).mode, 'remote');

  r.transport.writes.length = 0;
  await r.run(r.adapter.release());
  t.deepEqual(r.transport.writes, [{ fc: 16, address: r.at[704]! + 22, values: [0] }]);
  t.is((await r.run(r.adapter.read())).mode, 'autonomous');
});

test('704 WSet_SF scales the command: 2345 W with WSet_SF = 1 is written 235 (device resolution 10 W)', async (t) => {
  const r = rig([...MEASURE, { id: 704, named: { WSet_SF: 1 } }]);
  await r.run(r.adapter.start());
  await r.run(r.adapter.command(2345, 30));
  t.deepEqual(r.transport.writes[0]!.values.slice(2, 4), [0, 235]);
  t.deepEqual(r.transport.writes[0]!.values.slice(9), [0, 30]);
});

test('124: OutWRte / InWRte in % of the discharge and charge bases with InOutWRte_SF, the revert timer, then StorCtl_Mod = 3', async (t) => {
  const r = rig([
    {
      id: 124,
      named: { WChaMax: 5000, WChaMax_SF: 0, InOutWRte_SF: -2, StorCtl_Mod: 0, ChaState: 515, ChaState_SF: -1 },
    },
    { id: 701, values: { essPowerW: -800 } },
    { id: 702, named: { WDisChaRteMax: 4000, W_SF: 0 } },
  ]);
  await r.run(r.adapter.start());
  // no 713: the SoC is 124's ChaState (51.5 %)
  t.like(await r.run(r.adapter.read()), { essPowerW: -800, socPermille: 515, mode: 'autonomous' });

  await r.run(r.adapter.command(2000, 60));
  t.deepEqual(r.transport.writes, [
    {
      fc: 16,
      address: r.at[124]! + 12,
      values: [
        5000, // OutWRte: 2000 W / 4000 W (702 WDisChaRteMax) = 50.00 % (InOutWRte_SF −2)
        0x10000 - 4000, // InWRte: −2000 W / 5000 W (WChaMax) = −40.00 %: charging is forbidden, discharge forced
        0, // InOutWRte_WinTms: at once
        60, // InOutWRte_RvrtTms: 60 s
      ],
    },
    { fc: 16, address: r.at[124]! + 5, values: [3] }, // StorCtl_Mod: charge and discharge limits active
  ]);
  t.is((await r.run(r.adapter.read())).mode, 'remote');

  r.transport.writes.length = 0;
  await r.run(r.adapter.command(-1000, 60));
  t.deepEqual(r.transport.writes[0]!.values.slice(0, 2), [0x10000 - 2500, 2000]); // −25 % discharge, +20 % charge

  r.transport.writes.length = 0;
  const over = await t.throwsAsync(r.run(r.adapter.command(6000, 60)));
  t.true(isLightNodeError(over, 'INPUT_INVALID'), String(over));
  t.regex(over.message, /6000 W is 150 % of the maximum discharge rate 4000 W/);
  t.deepEqual(r.transport.writes, [], 'a refused command writes nothing');

  await r.run(r.adapter.release());
  t.deepEqual(r.transport.writes, [{ fc: 16, address: r.at[124]! + 5, values: [0] }]);
});

test('124 without 702: the discharge base is WChaMax too', async (t) => {
  const r = rig([
    { id: 124, named: { WChaMax: 300, WChaMax_SF: 1, InOutWRte_SF: 0 } },
    { id: 701, values: { essPowerW: 0 } },
    { id: 713, values: { socPermille: 500 } },
  ]);
  await r.run(r.adapter.start());
  await r.run(r.adapter.command(1500, 20));
  t.deepEqual(r.transport.writes[0]!.values, [50, 0x10000 - 50, 0, 20]);
});

test('no 704 and no 124 → NOT_FOUND naming the models found; a 704 of another revision is refused', async (t) => {
  const a = rig(MEASURE);
  const e = await t.throwsAsync(a.run(a.adapter.start()));
  t.true(isLightNodeError(e, 'NOT_FOUND'));
  t.regex(
    e.message,
    /no model 704 \(DER AC controls\) or 124 \(storage\) to command \(SunSpec models found: 1, 701, 713\)/,
  );

  const b = rig([...MEASURE, { id: 704, length: 69 }]);
  const e2 = await t.throwsAsync(b.run(b.adapter.start()));
  t.regex(e2.message, /model 704 \(DER AC controls\) has L = 69, the revision we can write has L = 65/);

  const c = rig([{ id: 704 }, { id: 713, values: { socPermille: 1 } }]);
  t.regex((await t.throwsAsync(c.run(c.adapter.start()))).message, /no model 701/);
});

test('a silent device → ADAPTER_TIMEOUT; a refused write (exception) → MODBUS_EXCEPTION; unimplemented W → IO_ERROR', async (t) => {
  const r = rig([...MEASURE, { id: 704, named: { WSet_SF: 0 } }]);
  await r.run(r.adapter.start());
  const unit = r.transport.units.get(1)!;
  unit.behaviour.exception = 4;
  const refused = await t.throwsAsync(r.run(r.adapter.command(100, 60)));
  t.true(isLightNodeError(refused, 'MODBUS_EXCEPTION'), String(refused));
  delete unit.behaviour.exception;
  unit.behaviour.dead = true;
  const late = await t.throwsAsync(r.run(r.adapter.command(100, 60)));
  t.true(isLightNodeError(late, 'ADAPTER_TIMEOUT'), String(late));
  t.regex(late.message, /asset ess1: command: the device did not answer in time/);
  // the line now backs off from the silent device: refused at once, without waiting for another timeout
  const backoff = await t.throwsAsync(r.run(r.adapter.read()));
  t.true(isLightNodeError(backoff, 'DEVICE_UNAVAILABLE'), String(backoff));
  unit.behaviour.dead = false;
  r.image.set(3, r.at[701]! + 10, [0x8000]);
  await r.clock.advance(120_000); // past the line's backoff
  const na = await t.throwsAsync(r.run(r.adapter.read()));
  t.true(isLightNodeError(na, 'IO_ERROR'), String(na));
  t.regex(na.message, /701 W is not available/);
  const bad = await t.throwsAsync(r.run(r.adapter.command(100, 0)));
  t.true(isLightNodeError(bad, 'INPUT_INVALID'));
  t.regex(bad.message, /revertS: expected an integer number of seconds/);
});

test('a dead unit at start → ADAPTER_TIMEOUT from discovery', async (t) => {
  const r = rig(MEASURE);
  r.transport.units.get(1)!.behaviour.dead = true;
  const e = await t.throwsAsync(r.run(r.adapter.start()));
  t.true(isLightNodeError(e, 'ADAPTER_TIMEOUT'), String(e));
  t.regex(e.message, /asset ess1 \(unit 1\): SunSpec discovery: the device did not answer in time/);
});
