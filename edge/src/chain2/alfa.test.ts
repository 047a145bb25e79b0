// Sinapsi Alfa over Modbus TCP (fake transport, fake clock): quarter records synthesised at quarter boundaries from
// the cumulative registers; a restart reading 0 is caught by the mapper as a decreasing total, never taken as truth.
import test from 'ava';
import { builtinProfiles, decodeChain2Frame, imageFromProfile, Chain2Mapper } from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { FakeModbusTransport } from '../testing/index.js';
import { AlfaChain2Transport, lineFramer } from './more-transports.js';

test('Alfa: one CF1 per quarter boundary from the registers, quarter energy from the cumulative difference', async (t) => {
  const clock = new FakeClock(Date.UTC(2024, 0, 10, 8, 58));
  const fake = new FakeModbusTransport(clock, { kind: 'tcp' });
  const alfa = builtinProfiles().get('sinapsi/alfa');
  let energy = 5_000_000;
  const img = () =>
    imageFromProfile(alfa, {
      energyImportWh: energy,
      activePowerW: 1800,
      quarterAveragePowerW: 1700,
      tariffBand: 1,
    });
  fake.addUnit(1, img(), { latencyMs: 5 });
  const frames: string[] = [];
  const tr = new AlfaChain2Transport({ host: 'alfa.test', clock, pollMs: 10_000, transport: fake });
  tr.start((f) => frames.push(f));
  for (let i = 0; i < 6 * 18; i++) {
    await clock.advance(10_000);
    energy += 5; // 1.8 kW ≈ 5 Wh per 10 s
    fake.units.get(1)!.image.set(3, 5, [(energy >>> 16) & 0xffff, energy & 0xffff]);
  }
  await tr.stop();
  const m = new Chain2Mapper({ podId: 'IT001E01524052', meters: ['M1'] });
  const decoded = frames.map((f) => decodeChain2Frame(f));
  t.true(decoded.every((d) => d.ok));
  t.is(decoded.length, 1); // 08:58 → 09:16 crosses 09:00 (the reference: that quarter was not seen from its start) and 09:15
  const d = decoded[0]!;
  if (!d.ok || d.frame.kind !== 'Chain2Data') return t.fail();
  t.is(d.frame.type, 'CF1');
  t.is(d.frame.values.MeasurePosixTimestamp, Date.UTC(2024, 0, 10, 9, 15) / 1000);
  t.true(Math.abs(d.frame.values.CurrQuartActEnergy! - 450) <= 10, String(d.frame.values.CurrQuartActEnergy));
  t.deepEqual(m.accept(d.frame).diagnostics, []);
  t.is(tr.stats().state, 'disconnected');
});

test('the line framer cuts frames on newlines, keeps partial ones, drops runaway garbage', (t) => {
  const carry = { rest: '' };
  t.deepEqual(lineFramer('{"a":1}\n{"b"', carry), ['{"a":1}']);
  t.deepEqual(lineFramer(':2}\r\n\n', carry), ['{"b":2}']);
  t.deepEqual(lineFramer('x'.repeat(70_000), carry), []);
  t.is(carry.rest, '');
});
