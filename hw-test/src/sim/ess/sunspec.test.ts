// The SunSpec battery over Modbus TCP, read and written with the agent's own Modbus client (ModbusLine, SunSpec
// discovery): a 704 WSet command shows in 701 W and in the PoD meter, reverts on the device's timer, faults answer
// with exceptions; the 124 path commands too. Battery time runs on a FakeClock.
import test, { type ExecutionContext } from 'ava';
import {
  builtinProfiles,
  decodeRegisters,
  encodeRegisters,
  isLightNodeError,
  systemClock,
  type ProfilePoint,
} from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { ModbusLine, ModbusMeter, ModbusSerialTransport, discoverSunSpec } from '@lightnode/edge';
import { startEssSim, type EssSimOptions } from './start.js';

const profiles = builtinProfiles();
const point = (profile: string, name: string): ProfilePoint =>
  profiles.get(profile).points.find((p) => p.name === name)!;

async function rig(t: ExecutionContext, o: Partial<EssSimOptions> = {}) {
  const clock = new FakeClock(Date.UTC(2026, 0, 10, 2)); // night: no PV
  const sim = await startEssSim({
    interface: { kind: 'sunspec' },
    clock,
    loadW: 800,
    battery: { autonomous: 'idle' },
    ...o,
  });
  const transport = new ModbusSerialTransport({ tcp: { host: '127.0.0.1', port: sim.port! } });
  const line = new ModbusLine(transport, { clock: systemClock });
  const ess = line.addDevice({ name: 'ess', unit: 1, timeoutMs: 1000, retries: 0 });
  const podDevice = line.addDevice({ name: 'pod', unit: 2, timeoutMs: 1000, retries: 0 });
  t.teardown(async () => {
    await transport.close();
    await sim.stop();
  });
  const found = await discoverSunSpec(ess, profiles);
  const at = (model: number, name: string, profile: string): number =>
    found!.models.find((m) => m.id === model)!.address + point(profile, name).address;
  const pod = new ModbusMeter({
    id: 'pod',
    profile: profiles.get('eastron/sdm630'),
    device: podDevice,
    clock: systemClock,
  });
  const readW = async (): Promise<number> => {
    const [w] = await ess.read(3, at(701, 'W', 'sunspec/der-701'), 1);
    const [sf] = await ess.read(3, at(701, 'W_SF', 'sunspec/der-701'), 1);
    return decodeRegisters('s16', [w!]).value! * 10 ** decodeRegisters('sunssf', [sf!]).value!;
  };
  return { clock, sim, ess, found: found!, at, pod, readW };
}

/** WSetEna, WSetMod, WSet … WSetRvrtTms in one write (offsets 22..32 of model 704). */
function wsetBlock(w: number, revertS: number, enable = 1): number[] {
  return [
    enable,
    1,
    ...encodeRegisters('s32', w),
    ...encodeRegisters('s32', 0),
    0,
    0,
    0,
    ...encodeRegisters('u32', revertS),
  ];
}

test('SunSpec discovery finds SunS at 40000, model 1, then 124, 701, 702, 704, 713', async (t) => {
  const { found } = await rig(t);
  t.is(found.base, 40000);
  t.deepEqual(
    found.models.map((m) => m.id),
    [1, 124, 701, 702, 704, 713],
  );
  t.deepEqual(
    found.models.map((m) => m.length),
    [66, 24, 153, 50, 65, 7],
  );
  t.is(found.manufacturer, 'LightNode');
});

test('a 704 WSet write commands the battery: 701 W follows, the PoD meter reads load − battery, the timer reverts', async (t) => {
  const { clock, sim, ess, at, pod, readW } = await rig(t);
  const events: string[] = [];
  sim.sim.onEvent((e) => events.push(`${e.event} ${e.essPowerW}`));
  t.is(await readW(), 0);
  await ess.write(16, at(704, 'WSetEna', 'sunspec/der-704'), wsetBlock(2000, 60));
  t.is(await readW(), 2000);
  const r = await pod.read();
  t.is(r.values.activePowerW?.value, 800 - 2000, 'the PoD exports what the battery gives beyond the house');
  // the written registers survive the image refresh
  await clock.advance(30_000);
  const [ena, mod] = await ess.read(3, at(704, 'WSetEna', 'sunspec/der-704'), 2);
  t.deepEqual([ena, mod], [1, 1]);
  const [rem] = await ess.read(3, at(704, 'WSetRvrtRem', 'sunspec/der-704') + 1, 1);
  t.is(rem, 30, 'remaining revert time, s');
  const soc = (await ess.read(3, at(713, 'SoC', 'sunspec/der-713'), 1))[0]!; // Pct_SF −1: 0.1 %
  t.is(soc, Math.round(((2400 - (2000 / Math.sqrt(0.92)) * (30 / 3600)) / 4800) * 1000));
  await clock.advance(30_000);
  t.is(await readW(), 0);
  t.is((await ess.read(3, at(704, 'WSetEna', 'sunspec/der-704'), 1))[0], 0, 'WSetEna back to WSetEnaRvrt');
  t.deepEqual(events, ['command 2000', 'revert 0']);
  // a write of WSetEna = 0 releases at once
  await ess.write(16, at(704, 'WSetEna', 'sunspec/der-704'), wsetBlock(-1500, 60));
  t.is(await readW(), -1500);
  await ess.write(6, at(704, 'WSetEna', 'sunspec/der-704'), [0]);
  t.is(await readW(), 0);
  t.deepEqual(events.slice(2), ['command -1500', 'release 0']);
});

test('a 124 StorCtl_Mod / OutWRte write commands a share of WChaMax; read-only points refuse writes', async (t) => {
  const { ess, at, readW } = await rig(t);
  const a = (name: string) => at(124, name, 'sunspec/storage-124');
  const [sf] = await ess.read(3, a('InOutWRte_SF'), 1);
  const pct = (p: number) => encodeRegisters('s16', Math.round(p / 10 ** decodeRegisters('sunssf', [sf!]).value!));
  await ess.write(16, a('OutWRte'), [...pct(50), ...pct(0), 0, 120]); // OutWRte, InWRte, WinTms, RvrtTms
  await ess.write(6, a('StorCtl_Mod'), [2]); // discharge limit active
  t.is(await readW(), 1500);
  await ess.write(16, a('OutWRte'), [...pct(-25)]);
  t.is(await readW(), -750, 'a negative OutWRte charges');
  await ess.write(6, a('StorCtl_Mod'), [0]);
  t.is(await readW(), 0);
  const e = await t.throwsAsync(ess.write(6, at(701, 'W', 'sunspec/der-701'), [5]));
  t.true(isLightNodeError(e, 'MODBUS_EXCEPTION'), e.message);
  t.regex(e.message, /exception 2|illegal data address/i);
});

test('faults on Modbus: refuse → exception 4; fake-mode and silent-revert → WSetEna says enabled, power does not follow', async (t) => {
  const refusing = await rig(t, { faults: ['refuse'] });
  const e = await t.throwsAsync(
    refusing.ess.write(16, refusing.at(704, 'WSetEna', 'sunspec/der-704'), wsetBlock(2000, 60)),
  );
  t.true(isLightNodeError(e, 'MODBUS_EXCEPTION'), e.message);
  t.regex(e.message, /exception 4|device failure/i);
  t.is((await refusing.ess.read(3, refusing.at(704, 'WSetEna', 'sunspec/der-704'), 1))[0], 0);
  const faking = await rig(t, { faults: ['fake-mode'] });
  await faking.ess.write(16, faking.at(704, 'WSetEna', 'sunspec/der-704'), wsetBlock(2000, 60));
  const [ena, , hi, lo] = await faking.ess.read(3, faking.at(704, 'WSetEna', 'sunspec/der-704'), 4);
  t.deepEqual([ena, decodeRegisters('s32', [hi!, lo!]).value], [1, 2000]);
  t.is(await faking.readW(), 0);
  const reverting = await rig(t, { faults: ['silent-revert:20'] });
  const wsetEna = reverting.at(704, 'WSetEna', 'sunspec/der-704');
  await reverting.ess.write(16, wsetEna, wsetBlock(2000, 60));
  t.is(await reverting.readW(), 2000);
  await reverting.clock.advance(20_000);
  t.is(await reverting.readW(), 0, 'power back to autonomous');
  t.is((await reverting.ess.read(3, wsetEna, 1))[0], 1, 'WSetEna still says enabled');
  await reverting.ess.write(16, wsetEna, wsetBlock(2000, 60)); // re-asserted
  t.is(await reverting.readW(), 2000);
});

test('fault drop-connection on Modbus: the server closes the connection instead of answering, one fault line', async (t) => {
  const clock = new FakeClock();
  const sim = await startEssSim({ interface: { kind: 'sunspec' }, clock, faults: ['drop-connection'] });
  const transport = new ModbusSerialTransport({ tcp: { host: '127.0.0.1', port: sim.port! } });
  const ess = new ModbusLine(transport, { clock: systemClock }).addDevice({
    name: 'ess',
    unit: 1,
    timeoutMs: 1000,
    retries: 0,
  });
  t.teardown(async () => {
    await transport.close();
    await sim.stop();
  });
  const faults: string[] = [];
  sim.sim.onEvent((e) => faults.push(`${e.event} ${e.fault}`));
  const e = await t.throwsAsync(ess.read(3, 40000, 2));
  t.true(isLightNodeError(e), String(e));
  t.deepEqual(faults, ['fault drop-connection']);
});
