// Sources from fakes (FakeClock, FakeModbusTransport, a fake Chain 2 transport): one Reading shape from each, roles,
// a source's quality as the worst of its last reading's quantities, Alfa registers straight to quarter readings.
import test from 'ava';
import { builtinProfiles, encodeChain2Frame, imageFromProfile, makeChain2Data } from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { CONTRACT_VALUES, FakeModbusTransport } from '../testing/index.js';
import { ModbusLine, ModbusMeter } from '../modbus/index.js';
import type { Chain2Transport, Chain2TransportStats } from '../chain2/index.js';
import { AlfaSource, Chain2MeterSource, ModbusMeterSource, defaultChain2Role, type Reading } from './index.js';

const sdm = builtinProfiles().get('eastron/sdm630');
/** Every quantity of the profile served (the contract values, 1000 for the others). */
const full = Object.fromEntries(
  sdm.points
    .filter((p) => p.quantity)
    .map((p) => [p.quantity!, CONTRACT_VALUES['eastron/sdm630']![p.quantity!] ?? 1000]),
);

/** Stops a source whose poll may be waiting on the fake clock. */
async function stop(clock: FakeClock, src: { stop(): Promise<void> }): Promise<void> {
  const p = src.stop();
  await clock.advance(5_000);
  await p;
}

function modbusSource(clock: FakeClock, values: Record<string, number>) {
  const transport = new FakeModbusTransport(clock, { kind: 'tcp' });
  transport.addUnit(1, imageFromProfile(sdm, values), { latencyMs: 5 });
  const line = new ModbusLine(transport, { clock, random: () => 0 });
  const device = line.addDevice({ name: 'pod-meter', unit: 1, timeoutMs: 100 });
  const meter = new ModbusMeter({ id: 'pod-meter', profile: sdm, device, clock });
  const src = new ModbusMeterSource({ meter, device, clock, pollMs: 1000, source: 'modbus-tcp', role: 'pod' });
  return { src, transport, line };
}

test('a Modbus source polls on its own scheduler every pollMs and emits one Reading per poll, with its role', async (t) => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const { src, line } = modbusSource(clock, full);
  const got: Reading[] = [];
  src.start((r) => got.push(r));
  await clock.advance(4_500);
  t.is(got.length, 5); // t = 0, 1, 2, 3, 4 s
  t.deepEqual(
    got.map((r) => r.tsMs - Date.UTC(2026, 0, 1)),
    [0, 1000, 2000, 3000, 4000],
  );
  const r = got[0]!;
  t.is(r.sourceId, 'pod-meter');
  t.is(r.role, 'pod');
  t.is(r.source, 'modbus-tcp');
  t.deepEqual(r.values.activePowerW, { value: 7_900, quality: 'good' });
  const h = src.health();
  t.is(h.quality, 'good');
  t.is(h.readings, 5);
  t.is(h.role, 'pod');
  t.is(h.lastPowerW, 7_900, "the last good reading's active power, in the status");
  await stop(clock, src);
  await clock.advance(5_000);
  t.is(got.length, 5, 'nothing emitted after stop');
  await line.close();
});

test("a source's quality is the worst of its last reading's quantities, not good when one quantity is", async (t) => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const values = { ...full };
  delete values.frequencymHz; // written as NaN: "not available" → invalid
  const { src, transport, line } = modbusSource(clock, values);
  const got: Reading[] = [];
  src.start((r) => got.push(r));
  await clock.advance(500);
  t.is(got[0]!.values.voltageL1mV?.quality, 'good');
  t.is(got[0]!.values.frequencymHz?.quality, 'invalid');
  t.is(src.health().quality, 'invalid');
  transport.units.get(1)!.behaviour.dead = true;
  await stop(clock, src);
  await line.close();
});

test('a dead Modbus meter: stale values, then invalid; errors counted in health', async (t) => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const { src, transport, line } = modbusSource(clock, full);
  src.start(() => undefined);
  await clock.advance(500);
  t.is(src.health().quality, 'good');
  transport.units.get(1)!.behaviour.dead = true;
  await clock.advance(1_000);
  t.is(src.health().quality, 'stale');
  t.is(src.health().lastPowerW, undefined, 'a stale reading gives no power now');
  await clock.advance(200_000);
  t.is(src.health().quality, 'invalid');
  t.true(src.health().errors > 0);
  await stop(clock, src);
  await line.close();
});

class FakeChain2Transport implements Chain2Transport {
  readonly endpoint = 'fake://chain2';
  onFrame: ((text: string) => void) | null = null;
  state: Chain2TransportStats['state'] = 'disconnected';
  start(onFrame: (text: string) => void): void {
    this.onFrame = onFrame;
    this.state = 'connected';
  }
  async stop(): Promise<void> {
    this.state = 'disconnected';
    return Promise.resolve();
  }
  stats(): Chain2TransportStats {
    return { connects: 1, disconnects: 0, messages: 0, bytes: 0, state: this.state };
  }
}

const cf1 = (meter: string, measureS: number, total: number, quarter: number) =>
  encodeChain2Frame(
    makeChain2Data({
      id: 'c2g-1',
      tsMs: measureS * 1000 + 20_000,
      meter,
      type: 'CF1',
      payload: {
        MessagePosixTimestamp: measureS + 20,
        MeasurePosixTimestamp: measureS,
        TariffCode: 1,
        TotalActEnergy: total,
        CurrQuartActEnergy: quarter,
        QuartAveragePower: quarter * 4,
        InstantPower: 1200,
      },
    }),
  );

test('a Chain 2 source: frames through codec and mapper to Readings tagged with the slot role (M1 pod, M2 pv)', async (t) => {
  const clock = new FakeClock(Date.UTC(2024, 0, 10, 9));
  const transport = new FakeChain2Transport();
  const src = new Chain2MeterSource({
    name: 'gw',
    transport,
    podId: 'IT001E01524052',
    roles: { M1: defaultChain2Role('M1'), M2: defaultChain2Role('M2') },
    clock,
  });
  t.is(src.health().quality, 'invalid');
  const got: Reading[] = [];
  src.start((r) => got.push(r));
  const s0 = Date.UTC(2024, 0, 10, 9) / 1000;
  transport.onFrame!(cf1('M1', s0, 1000, 250));
  transport.onFrame!(cf1('M2', s0, 500, 100));
  transport.onFrame!('{"Chain2Data": {broken');
  t.deepEqual(
    got.map((r) => [r.sourceId, r.role, r.source, r.tsMs]),
    [
      ['chain2:gw/M1', 'pod', 'chain2', s0 * 1000],
      ['chain2:gw/M2', 'pv', 'chain2', s0 * 1000],
    ],
  );
  t.deepEqual(got[0]!.values.quarterEnergyImportWh, { value: 250, quality: 'good' });
  t.is(src.role, undefined, 'two roles: none for the source as a whole');
  t.is(src.health().quality, 'good');
  t.is(src.health().errors, 1, 'the undecodable frame');
  transport.onFrame!(cf1('M1', s0 + 900, 0, 0)); // a gateway reboot reads 0: decreasing total
  t.is(got.at(-1)!.values.energyImportWh?.quality, 'invalid');
  t.is(src.health().quality, 'invalid');
  await src.stop();
  t.is(src.health().quality, 'invalid', 'a disconnected gateway is not good');
});

function alfaRig(startMs: number) {
  const clock = new FakeClock(startMs);
  const fake = new FakeModbusTransport(clock, { kind: 'tcp' });
  const alfa = builtinProfiles().get('sinapsi/alfa');
  const state = { energy: 5_000_000 };
  fake.addUnit(
    1,
    imageFromProfile(alfa, {
      energyImportWh: state.energy,
      activePowerW: 1800,
      quarterAveragePowerW: 1700,
      tariffBand: 1,
    }),
    { latencyMs: 5 },
  );
  const setEnergy = (e: number) => {
    state.energy = e;
    fake.units.get(1)!.image.set(3, 5, [(e >>> 16) & 0xffff, e & 0xffff]);
  };
  const src = new AlfaSource({
    id: 'chain2:alfa',
    host: 'alfa.test',
    clock,
    pollMs: 10_000,
    transport: fake,
    role: 'pod',
  });
  return { clock, src, state, setEnergy };
}

test('Alfa: registers straight to one Reading per quarter, energy from the cumulative difference', async (t) => {
  const { clock, src, state, setEnergy } = alfaRig(Date.UTC(2024, 0, 10, 8, 58));
  const got: Reading[] = [];
  src.start((r) => got.push(r));
  for (let i = 0; i < 6 * 18; i++) {
    await clock.advance(10_000);
    setEnergy(state.energy + 5); // 1.8 kW ≈ 5 Wh per 10 s
  }
  await stop(clock, src);
  // 08:58 → 09:16 crosses 09:00 (the reference: that quarter was not seen from its start) and 09:15
  t.is(got.length, 1);
  const r = got[0]!;
  t.is(r.tsMs, Date.UTC(2024, 0, 10, 9, 15));
  t.is(r.sourceId, 'chain2:alfa');
  t.is(r.role, 'pod');
  t.is(r.source, 'chain2');
  t.true(Math.abs(r.values.quarterEnergyImportWh!.value! - 450) <= 10, String(r.values.quarterEnergyImportWh?.value));
  t.is(r.values.energyImportWh?.quality, 'good');
  t.deepEqual(r.values.activePowerW, { value: 1800, quality: 'good' });
  t.deepEqual(r.values.quarterAveragePowerW, { value: 1700, quality: 'good' });
  t.deepEqual(r.values.tariffBand, { value: 1, quality: 'good' });
  t.is(src.health().quality, 'good');
});

test('Alfa: a restart reading 0 is a decreasing total, never taken as truth, until the total is back above', async (t) => {
  const { clock, src, setEnergy } = alfaRig(Date.UTC(2024, 0, 10, 8, 59));
  const got: Reading[] = [];
  src.start((r) => got.push(r));
  await clock.advance(60_000 + 15 * 60_000 + 5_000); // past 09:00 (reference) and 09:15 (first quarter)
  t.is(got.length, 1);
  setEnergy(0); // the Alfa restarted
  await clock.advance(15 * 60_000); // 09:30
  t.is(got.length, 2);
  t.is(got[1]!.values.energyImportWh?.quality, 'invalid');
  t.is(got[1]!.values.quarterEnergyImportWh?.quality, 'invalid');
  t.is(got[1]!.values.activePowerW?.quality, 'good');
  t.is(src.stats().totalDecreased, 1);
  setEnergy(5_000_100);
  await clock.advance(15 * 60_000); // 09:45
  t.is(got[2]!.values.energyImportWh?.value, 5_000_100);
  t.is(got[2]!.values.energyImportWh?.quality, 'good');
  await stop(clock, src);
});
