// The SunSpec ESS adapter against an independent Modbus server (Debian's pymodbus) over TCP, holding a 124 device
// (unit 1) and a 704 device (unit 2): the adapter discovers the models, commands, releases, and the registers it
// wrote are read back from pymodbus by a separate client.
import test from 'ava';
import { builtinProfiles, systemClock } from '@lightnode/protocols';
import { ModbusLine, ModbusSerialTransport, SunSpecEssAdapter } from '@lightnode/edge';
import { sunspecEssImage } from '@lightnode/edge/testing';
import { freePort, startPymodbus } from '../index.js';

test('SunSpec 124 and 704 on pymodbus: discover, command, read back the written registers, release', async (t) => {
  const d124 = sunspecEssImage([
    {
      id: 124,
      named: { WChaMax: 5000, WChaMax_SF: 0, InOutWRte_SF: -2, StorCtl_Mod: 0, ChaState: 620, ChaState_SF: -1 },
    },
    { id: 701, values: { essPowerW: 0 } },
    { id: 702, named: { WDisChaRteMax: 4000, W_SF: 0 } },
  ]);
  const d704 = sunspecEssImage([
    { id: 701, values: { essPowerW: -900 } },
    { id: 702, named: { WMaxRtg: 4600, W_SF: 0 } },
    { id: 704, named: { WSetEna: 0, WSetMod: 0, WSet_SF: 0 } },
    { id: 713, values: { socPermille: 410 } },
  ]);
  const port = await freePort();
  const peer = await startPymodbus({ mode: 'tcp', port, units: { 1: d124.image, 2: d704.image } });
  const transport = new ModbusSerialTransport({ tcp: { host: '127.0.0.1', port } });
  const probe = new ModbusSerialTransport({ tcp: { host: '127.0.0.1', port } });
  t.teardown(async () => {
    await transport.close();
    await probe.close();
    await peer.stop();
  });
  const line = new ModbusLine(transport, { clock: systemClock });
  const profiles = builtinProfiles();
  const adapter = (unit: number) =>
    new SunSpecEssAdapter({
      id: `ess${unit}`,
      device: line.addDevice({ name: `ess${unit}`, unit, timeoutMs: 2000, retries: 1 }),
      clock: systemClock,
      profiles,
    });
  const readBack = (unit: number, address: number, count: number) =>
    probe.read({ fc: 3, unit, address, count, timeoutMs: 2000 });

  const a124 = adapter(1);
  await a124.start();
  t.deepEqual(
    a124.found!.models.map((m) => m.id),
    [1, 124, 701, 702],
  );
  t.like(await a124.read(), { essPowerW: 0, socPermille: 620, mode: 'autonomous' });
  await a124.command(-1000, 60);
  t.deepEqual(await readBack(1, d124.at[124]! + 12, 4), [0x10000 - 2500, 2000, 0, 60]); // −25 % out, +20 % in, 60 s
  t.deepEqual(await readBack(1, d124.at[124]! + 5, 1), [3]);
  t.is((await a124.read()).mode, 'remote');
  await a124.release();
  t.deepEqual(await readBack(1, d124.at[124]! + 5, 1), [0]);
  t.is((await a124.read()).mode, 'autonomous');

  const a704 = adapter(2);
  await a704.start();
  t.deepEqual(
    a704.found!.models.map((m) => m.id),
    [1, 701, 702, 704, 713],
  );
  t.like(await a704.read(), { essPowerW: -900, socPermille: 410, mode: 'autonomous' });
  await a704.command(3000, 45);
  t.deepEqual(await readBack(2, d704.at[704]! + 22, 11), [1, 1, 0, 3000, 0, 0, 0x8000, 0x8000, 0, 0, 45]);
  t.is((await a704.read()).mode, 'remote');
  await a704.release();
  t.deepEqual(await readBack(2, d704.at[704]! + 22, 4), [0, 1, 0, 3000]); // only WSetEna changed
  t.is((await a704.read()).mode, 'autonomous');
});
