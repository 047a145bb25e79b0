/**
 * The meter-reading contract suite: any Modbus target — the fake transport, a simulator, an independent server
 * (pymodbus) — that serves a profile's register image built from known values must read back as those values
 * through the real driver. Run it with `meterReadingContract(test, name, setup)`.
 */
import type { TestFn } from 'ava';
import { builtinProfiles, systemClock, type QuantityName } from '@lightnode/protocols';
import { ModbusLine } from '../modbus/line.js';
import { ModbusMeter } from '../modbus/meter.js';
import type { ModbusTransport } from '../modbus/transport.js';

/** Values every contract target serves (integers in the quantity units). */
export const CONTRACT_VALUES: Record<string, Partial<Record<QuantityName, number>>> = {
  'eastron/sdm630': {
    voltageL1mV: 230_100,
    voltageL2mV: 229_800,
    voltageL3mV: 231_200,
    currentL1mA: 12_340,
    currentL2mA: 8_760,
    currentL3mA: 15_010,
    activePowerL1W: 2_700,
    activePowerL2W: 1_900,
    activePowerL3W: 3_300,
    activePowerW: 7_900,
    frequencymHz: 50_010,
    energyImportWh: 12_345_678,
    energyExportWh: 345_678,
  },
  'carlo-gavazzi/em24': {
    voltageL1mV: 230_100,
    voltageL2mV: 229_800,
    voltageL3mV: 231_200,
    currentL1mA: 12_340,
    currentL2mA: 8_760,
    currentL3mA: 15_010,
    activePowerL1W: 2_700,
    activePowerL2W: -1_900,
    activePowerL3W: 3_300,
    activePowerW: 4_100,
    powerFactorPermille: 951,
    frequencymHz: 50_000,
    energyImportWh: 12_345_600,
    energyExportWh: 345_600,
  },
};

export interface ContractTarget {
  transport: ModbusTransport;
  unit: number;
  /** Tear down whatever the target started. */
  close(): Promise<void>;
}

export function meterReadingContract(
  test: TestFn,
  name: string,
  setup: (profileId: string, values: Partial<Record<QuantityName, number>>) => Promise<ContractTarget>,
): void {
  for (const [profileId, values] of Object.entries(CONTRACT_VALUES)) {
    test(`${name}: ${profileId} reads back the served values with good quality`, async (t) => {
      const target = await setup(profileId, values);
      try {
        const line = new ModbusLine(target.transport, { clock: systemClock, interFrameGapMs: 2 });
        const meter = new ModbusMeter({
          id: 'm1',
          profile: builtinProfiles().get(profileId),
          device: line.addDevice({ name: 'm1', unit: target.unit, timeoutMs: 1000 }),
          clock: systemClock,
          raw: true,
        });
        const r = await meter.read({ includeSlow: true });
        t.deepEqual(r.errors, []);
        for (const [q, v] of Object.entries(values)) {
          t.is(r.values[q as QuantityName]?.quality, 'good', q);
          t.is(r.values[q as QuantityName]?.value, v, q);
        }
        t.true((r.raw?.length ?? 0) > 0);
      } finally {
        await target.close();
      }
    });
  }
}
