// The site on a FakeClock: the PoD meter reads house load − PV − battery and integrates import and export apart.
import test from 'ava';
import { builtinProfiles, decodeResponsePdu, encodeRequestPdu } from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { EssSimulator } from './site.js';

const HOUR = 3_600_000;

test('the PoD meter: import while the house draws, export while the battery gives more, counters apart', async (t) => {
  const clock = new FakeClock(Date.UTC(2026, 0, 10, 2)); // night: no PV
  const site = new EssSimulator({ clock, loadW: 1000, battery: { autonomous: 'idle', capacityWh: 9600 } });
  t.teardown(() => site.stop());
  const start = site.siteValues(clock.now());
  t.is(start.activePowerW, 1000);
  await clock.advance(HOUR);
  const afterImport = site.podValues();
  t.is(afterImport.energyImportWh! - start.energyImportWh!, 1000);
  t.is(afterImport.energyExportWh, start.energyExportWh);
  site.battery.setCommand(3000, 0);
  t.is(site.siteValues(clock.now()).activePowerW, -2000);
  await clock.advance(HOUR);
  const afterExport = site.podValues();
  t.is(afterExport.energyExportWh! - start.energyExportWh!, 2000);
  t.is(afterExport.energyImportWh, afterImport.energyImportWh, 'import does not move while exporting');
  t.like(site.state(), { essPowerW: 3000, mode: 'remote' });
});

test('self-consumption follows the house; the meter over Modbus (SDM630 float32) reads the net near 0', async (t) => {
  const clock = new FakeClock(Date.UTC(2026, 0, 10, 2));
  const site = new EssSimulator({ clock, loadW: 1200, meterUnit: 7 });
  t.teardown(() => site.stop());
  await clock.advance(2000);
  t.like(site.state(), { essPowerW: 1200, mode: 'autonomous' });
  const sdm = builtinProfiles().get('eastron/sdm630');
  const total = sdm.points.find((p) => p.quantity === 'activePowerW')!;
  const a = site.meter.handle(7, encodeRequestPdu({ fc: 4, address: total.address, count: 2 }));
  t.is(a.kind, 'reply');
  const r = decodeResponsePdu((a as { pdu: Uint8Array }).pdu, { fc: 4, count: 2 }) as { values: number[] };
  const w = Buffer.from(new Uint16Array(r.values.map((x) => ((x & 0xff) << 8) | (x >> 8))).buffer).readFloatBE(0);
  t.is(Math.round(w), 0);
});

test('PV: productionPowerW in the state at midday, the surplus charges the battery in self-consumption', async (t) => {
  const clock = new FakeClock(Date.UTC(2026, 5, 21, 10, 30)); // 12:30 Rome
  const site = new EssSimulator({ clock, loadW: 500, pvPeakW: 4000 });
  t.teardown(() => site.stop());
  await clock.advance(2000);
  const s = site.state();
  t.true(s.productionPowerW! > 3000, `PV ${s.productionPowerW}`);
  t.is(s.essPowerW, Math.max(-3000, 500 - s.productionPowerW!));
});
