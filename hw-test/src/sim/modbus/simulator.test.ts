import test from 'ava';
import { builtinProfiles, decodeResponsePdu, encodeRequestPdu, isLightNodeError } from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { MeterSimulator, parseFault } from './simulator.js';

const sdm = builtinProfiles().get('eastron/sdm630');
const read = (sim: MeterSimulator, address: number, count: number) => {
  const a = sim.handle(1, encodeRequestPdu({ fc: 4, address, count }));
  return a.kind === 'reply' ? decodeResponsePdu(a.pdu, { fc: 4, count }) : a.kind;
};

test('the load model drives the image: energies only increase', async (t) => {
  const clock = new FakeClock(Date.UTC(2024, 0, 10, 9));
  const sim = new MeterSimulator({ profile: sdm, unit: 1, clock, refreshMs: 0 });
  let last = -1;
  for (let i = 0; i < 50; i++) {
    await clock.advance(60_000);
    const r = read(sim, 0x48, 2);
    t.true(typeof r === 'object' && r !== null && 'values' in r);
    const v = Buffer.from(
      new Uint16Array((r as { values: number[] }).values.map((w) => ((w & 0xff) << 8) | (w >> 8))).buffer,
    ).readFloatBE(0);
    t.true(v >= last, `energy went from ${last} to ${v}`);
    last = v;
  }
  t.true(last > 12_345, `energy moved: ${last} kWh`);
});

test('garbage requests get exceptions, unmapped addresses exception 2, other units silence', (t) => {
  const sim = new MeterSimulator({ profile: sdm, unit: 1, clock: new FakeClock() });
  const a = sim.handle(1, new Uint8Array([4, 0, 0]));
  t.is(a.kind, 'reply');
  t.deepEqual(decodeResponsePdu((a as { pdu: Uint8Array }).pdu), { fc: 4, exception: 3 });
  const b = sim.handle(1, new Uint8Array([0x41, 0, 0, 0, 1]));
  t.deepEqual(decodeResponsePdu((b as { pdu: Uint8Array }).pdu), { fc: 0x41, exception: 1 });
  t.deepEqual(read(sim, 9000, 2), { fc: 4, exception: 2 });
  t.is(sim.handle(9, encodeRequestPdu({ fc: 4, address: 0, count: 2 })).kind, 'silence');
});

test('a reboot fault: no answer while down, then registers read 0 for a while', async (t) => {
  const clock = new FakeClock(0);
  const sim = new MeterSimulator({
    profile: sdm,
    unit: 1,
    clock,
    refreshMs: 0,
    faults: [{ kind: 'reboot', everyMs: 10_000, downMs: 2000 }],
  });
  t.not((read(sim, 0, 2) as { values: number[] }).values.join(), '0,0');
  await clock.advance(10_500);
  t.is(read(sim, 0, 2), 'silence');
  await clock.advance(2000);
  t.deepEqual((read(sim, 0, 2) as { values: number[] }).values, [0, 0]);
  await clock.advance(3000);
  t.not((read(sim, 0, 2) as { values: number[] }).values.join(), '0,0');
});

test('fault specs parse, and bad ones name the problem', (t) => {
  t.deepEqual(parseFault('timeout@0.1'), { kind: 'timeout', probability: 0.1 });
  t.deepEqual(parseFault('exception:2'), { kind: 'exception', code: 2 });
  t.deepEqual(parseFault('slow:250'), { kind: 'slow', delayMs: 250 });
  t.deepEqual(parseFault('reboot:60000/5000'), { kind: 'reboot', everyMs: 60000, downMs: 5000 });
  for (const bad of ['explode', 'slow', 'timeout@2', 'slow:-1'])
    t.true(
      isLightNodeError(
        (() => {
          try {
            parseFault(bad);
          } catch (e) {
            return e;
          }
        })(),
        'USAGE',
      ),
      bad,
    );
});
