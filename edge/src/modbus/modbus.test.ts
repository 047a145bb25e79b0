import test from 'ava';
import { FakeClock, memoryLogger } from '@lightnode/protocols/testing';
import { builtinProfiles, imageFromProfile, RegisterImage, sunspecImage, isLightNodeError } from '@lightnode/protocols';
import { CONTRACT_VALUES, FakeModbusTransport, meterReadingContract } from '../testing/index.js';
import { ModbusLine } from './line.js';
import { ModbusMeter } from './meter.js';
import { discoverSunSpec } from './sunspec.js';

const profiles = builtinProfiles();

meterReadingContract(test, 'fake transport', async (profileId, values) => {
  const clock = new FakeClock();
  void clock;
  const { systemClock } = await import('@lightnode/protocols');
  const transport = new FakeModbusTransport(systemClock);
  transport.addUnit(7, imageFromProfile(profiles.get(profileId), values));
  return { transport, unit: 7, close: async () => undefined };
});

function fourMeterLine(clock: FakeClock) {
  const transport = new FakeModbusTransport(clock);
  const sdm = profiles.get('eastron/sdm630');
  for (const unit of [1, 2, 3])
    transport.addUnit(unit, imageFromProfile(sdm, CONTRACT_VALUES['eastron/sdm630']!), { latencyMs: 40 });
  transport.addUnit(4, new RegisterImage(), { dead: true });
  const line = new ModbusLine(transport, { clock, baud: 9600, random: () => 1, logger: memoryLogger() });
  const meters = [1, 2, 3, 4].map(
    (unit) =>
      new ModbusMeter({
        id: `m${unit}`,
        profile: sdm,
        device: line.addDevice({
          name: `m${unit}`,
          unit,
          timeoutMs: 300,
          retries: 1,
          backoffBaseMs: 2000,
          backoffMaxMs: 30_000,
        }),
        clock,
        slowEvery: 10,
      }),
  );
  return { transport, line, meters };
}

test('a 4-meter RS-485 line with one dead meter keeps polling the three live ones every second', async (t) => {
  const clock = new FakeClock();
  const { transport, line, meters } = fourMeterLine(clock);
  const goodPolls = [0, 0, 0, 0];
  const cycleMs: number[] = [];
  for (let cycle = 0; cycle < 60; cycle++) {
    const start = clock.monotonic();
    let done = false;
    const p = Promise.all(
      meters.map((m, i) => m.read().then((r) => (r.values.activePowerW?.quality === 'good' ? goodPolls[i]!++ : 0))),
    ).then(() => (done = true));
    while (!done) await clock.advance(10);
    await p;
    cycleMs.push(clock.monotonic() - start);
    await clock.advance(Math.max(0, start + 1000 - clock.monotonic()));
  }
  // the first cycle reads every register of every meter (energy counters included) and pays the dead meter's full
  // retry budget; every later cycle fits in its second
  const cyclesOverrun = cycleMs.slice(1).filter((ms) => ms > 1000).length;
  t.deepEqual(goodPolls.slice(0, 3), [60, 60, 60]);
  t.is(goodPolls[3], 0);
  t.is(cyclesOverrun, 0);
  t.is(transport.maxInFlight, 1);
  const h = line.health();
  const dead = h.devices.find((d) => d.name === 'm4')!;
  // the dead meter is tried only when its backoff expires: 2 s, 4 s, 8 s, 16 s, 30 s … → a handful of attempts in 60 s
  t.true(dead.requests <= 2 * 6, `dead meter requests: ${dead.requests}`);
  t.true(dead.busMs <= 2 * 6 * 300 + 1, `dead meter bus time ${dead.busMs} ms`);
  t.is(dead.state, 'backoff');
  t.true(h.devices.filter((d) => d.name !== 'm4').every((d) => d.failures === 0 && d.lastGoodMs !== undefined));
});

test('a dead device never takes more than (retries + 1) × timeout from one cycle of the others', async (t) => {
  const clock = new FakeClock();
  const { transport, meters } = fourMeterLine(clock);
  const p = Promise.all(meters.map((m) => m.read({ includeSlow: false })));
  await clock.advance(5000);
  await p;
  const dead = transport.log.filter((l) => l.unit === 4);
  t.is(dead.length, 2); // first request + 1 retry, then backoff refuses the rest of its plan without bus time
  const live = transport.log.filter((l) => l.unit !== 4);
  const lastLive = Math.max(...live.map((l) => l.atMs));
  t.true(lastLive <= 2 * 300 + live.length * (40 + 5) + 50, `live requests done by ${lastLive} ms`);
});

test('the line keeps one request in flight, puts writes before queued reads and respects the inter-frame gap', async (t) => {
  const clock = new FakeClock();
  const transport = new FakeModbusTransport(clock);
  transport.addUnit(1, imageFromProfile(profiles.get('sunspec/meter-203'), { activePowerW: 1000 }), { latencyMs: 20 });
  const line = new ModbusLine(transport, { clock, interFrameGapMs: 5 });
  const dev = line.addDevice({ name: 'd', unit: 1 });
  const order: string[] = [];
  const jobs = [
    dev.read(3, 18, 1).then(() => order.push('r1')),
    dev.read(3, 18, 1).then(() => order.push('r2')),
    dev.write(6, 100, [7]).then(() => order.push('w1')),
    dev.read(3, 18, 1).then(() => order.push('r3')),
  ];
  await clock.advance(1000);
  await Promise.all(jobs);
  t.deepEqual(order, ['r1', 'w1', 'r2', 'r3']); // r1 was already on the wire
  const starts = transport.log.map((l) => l.atMs);
  for (let i = 1; i < starts.length; i++) t.true(starts[i]! - starts[i - 1]! >= 20 + 5, `gap before request ${i}`);
  t.is(transport.maxInFlight, 1);
  t.deepEqual(line.health().devices[0]!.errors, {});
});

test('failed points report stale (last good value) and then invalid; sentinels report invalid', async (t) => {
  const clock = new FakeClock();
  const transport = new FakeModbusTransport(clock);
  const sdm = profiles.get('eastron/sdm630');
  const values = { ...CONTRACT_VALUES['eastron/sdm630']! };
  delete values.frequencymHz; // written as NaN: "not available"
  transport.addUnit(1, imageFromProfile(sdm, values));
  const line = new ModbusLine(transport, { clock, random: () => 0 });
  const meter = new ModbusMeter({
    id: 'm',
    profile: sdm,
    device: line.addDevice({ name: 'm', unit: 1, backoffBaseMs: 10 }),
    clock,
    staleAfterMs: 60_000,
  });
  const read = async () => {
    const p = meter.read({ includeSlow: true });
    await clock.advance(2000);
    return p;
  };
  const r1 = await read();
  t.is(r1.values.voltageL1mV?.quality, 'good');
  t.is(r1.values.frequencymHz?.quality, 'invalid');
  t.is(r1.values.frequencymHz?.value, undefined);
  transport.units.get(1)!.behaviour.dead = true;
  const r2 = await read();
  t.deepEqual(r2.values.voltageL1mV, { value: 230_100, quality: 'stale' });
  t.true(r2.errors.includes('MODBUS_TIMEOUT'));
  await clock.advance(61_000);
  const r3 = await read();
  t.is(r3.values.voltageL1mV?.quality, 'invalid');
});

test('SunSpec discovery finds the models past a base that times out, and the meter reads with scale factors', async (t) => {
  const clock = new FakeClock();
  const transport = new FakeModbusTransport(clock);
  const m203 = profiles.get('sunspec/meter-203');
  const values = {
    activePowerW: -4200,
    voltageL1mV: 230_400,
    frequencymHz: 49_980,
    energyImportWh: 9_876_540,
    energyExportWh: 120_000,
    currentmA: 18_300,
  };
  const { image, addresses } = sunspecImage(
    [{ profile: m203, values, length: 105 }],
    { profile: profiles.get('sunspec/common'), named: { Mn: 'Acme', Md: 'M-203', SN: 'SN42', Vr: '1.0' } },
    0,
  );
  transport.addUnit(1, image);
  const line = new ModbusLine(transport, { clock });
  const dev = line.addDevice({ name: 'd', unit: 1 });
  const p = discoverSunSpec(dev, profiles);
  await clock.advance(10_000);
  const found = await p;
  t.truthy(found);
  t.is(found!.base, 0);
  t.is(found!.probes[0]!.result, 'MODBUS_EXCEPTION'); // nothing at 40000: exception 2, discovery goes on
  t.deepEqual(
    found!.models.map((m) => [m.id, m.length, m.profile]),
    [
      [1, 66, 'sunspec/common'],
      [203, 105, 'sunspec/meter-203'],
    ],
  );
  t.is(found!.manufacturer, 'Acme');
  t.is(found!.serialNumber, 'SN42');
  const meter = new ModbusMeter({ id: 'm', profile: m203, device: dev, clock, baseAddress: addresses[0]! });
  const rp = meter.read({ includeSlow: true });
  await clock.advance(10_000);
  const r = await rp;
  for (const [q, v] of Object.entries(values)) t.is(r.values[q as keyof typeof values]?.value, v, q);
});

test('Sinapsi Alfa: import and export power registers combine into one signed activePowerW', async (t) => {
  const clock = new FakeClock();
  const transport = new FakeModbusTransport(clock, { kind: 'tcp' });
  const alfa = profiles.get('sinapsi/alfa');
  transport.addUnit(
    1,
    imageFromProfile(alfa, { activePowerW: -1500, energyImportWh: 5_000_000, energyExportWh: 7_000, tariffBand: 2 }),
  );
  const line = new ModbusLine(transport, { clock });
  const meter = new ModbusMeter({
    id: 'alfa',
    profile: alfa,
    device: line.addDevice({ name: 'alfa', unit: 1 }),
    clock,
  });
  const p = meter.read({ includeSlow: true });
  await clock.advance(5000);
  const r = await p;
  t.is(r.values.activePowerW?.value, -1500);
  t.is(r.values.tariffBand?.value, 2);
  t.is(r.values.energyImportWh?.value, 5_000_000);
});

test('a closed line and a backing-off device refuse requests at once with DEVICE_UNAVAILABLE', async (t) => {
  const clock = new FakeClock();
  const transport = new FakeModbusTransport(clock);
  transport.addUnit(1, new RegisterImage(), { dead: true });
  const line = new ModbusLine(transport, { clock, random: () => 1 });
  const dev = line.addDevice({ name: 'x', unit: 1, retries: 0, timeoutMs: 100, backoffBaseMs: 1000 });
  const p = dev.read(3, 0, 1).catch((e: unknown) => e);
  await clock.advance(200);
  t.true(isLightNodeError(await p, 'MODBUS_TIMEOUT'));
  const e2 = await dev.read(3, 0, 1).catch((e: unknown) => e);
  t.true(isLightNodeError(e2, 'DEVICE_UNAVAILABLE'));
  t.regex((e2 as Error).message, /backing off/);
  await line.close();
  t.true(isLightNodeError(await dev.read(3, 0, 1).catch((e: unknown) => e), 'DEVICE_UNAVAILABLE'));
});
