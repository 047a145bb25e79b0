// The line model (baud and parity a pty cannot show) and the commissioning scans against the simulators: the serial
// scan through the line model, the TCP scan against the TCP server on 127.0.0.1.
import test from 'ava';
import fc from 'fast-check';
import { createServer } from 'node:net';
import {
  RtuFramer,
  builtinProfiles,
  encodeRequestPdu,
  encodeRtu,
  planReads,
  pointRegisters,
  systemClock,
} from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { settle } from '@lightnode/edge/testing';
import { isAnswer, scanSerialPort, scanTcp, type ScanProbe } from '@lightnode/edge';
import { MeterSimulator } from '../modbus/simulator.js';
import { serveTcp } from '../modbus/servers.js';
import { LineModel, uartResample, type UartSetting } from './line-model.js';

const sdm630 = builtinProfiles().get('eastron/sdm630'); // default 9600/none

/**
 * A stand-in for the identify-based probe: reads the profile's first register block; matched when it answers with
 * data, "there, not this profile" on an exception, null on silence.
 */
const firstBlock: ScanProbe = async (device, profile) => {
  const [b] = planReads(
    profile.points.map((p) => ({ fc: p.fc, address: p.address, count: pointRegisters(p) })),
    profile.forbidden ? { forbidden: profile.forbidden } : {},
  );
  if (!b) return { matched: false, detail: `${profile.id} has no points` };
  try {
    await device.read(b.fc, b.address, b.count);
    return { matched: true, detail: `fc ${b.fc} @${b.address}×${b.count} answered` };
  } catch (e) {
    return isAnswer(e) ? { matched: false, detail: (e as Error).message } : null;
  }
};

const SETTINGS: UartSetting[] = [9600, 19200, 38400, 115200].flatMap((baud) =>
  (['none', 'even', 'odd'] as const).map((parity) => ({ baud, parity })),
);
const request = (unit: number, address: number, count: number) =>
  encodeRtu(unit, encodeRequestPdu({ fc: 4, address, count }));

test('uartResample: the same setting passes any bytes unchanged', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(...SETTINGS), (bytes, s) => {
      t.deepEqual(uartResample(bytes, s, s), bytes);
    }),
  );
});

test('uartResample: a request at any other setting reaches the device as garbage with no valid frame', (t) => {
  const line: UartSetting = { baud: 19200, parity: 'even' };
  for (const s of SETTINGS) {
    if (s.baud === line.baud && s.parity === line.parity) continue;
    for (const [unit, address, count] of [
      [1, 0, 2],
      [2, 0x48, 4],
      [1, 30000, 10],
    ] as const) {
      const adu = request(unit, address, count);
      const heard = uartResample(adu, s, line);
      t.notDeepEqual(heard, adu, `${s.baud}/${s.parity}`);
      t.deepEqual(new RtuFramer('request').push(heard), [], `${s.baud}/${s.parity}: a frame got through`);
    }
  }
  // the model is the physics, not a flag: a UART at the sender's rate reads 0x00 for a parity mismatch…
  t.deepEqual(
    uartResample(Uint8Array.of(0x01), { baud: 9600, parity: 'even' }, { baud: 9600, parity: 'odd' }),
    Uint8Array.of(0),
  );
  // …and a parity bit that happens to be a valid stop bit passes: 0x03 has even parity 0, odd parity 1
  t.deepEqual(
    uartResample(Uint8Array.of(0x03), { baud: 9600, parity: 'odd' }, { baud: 9600, parity: 'none' }),
    Uint8Array.of(3),
  );
});

test('serial scan through the line model: a meter at 19200/even is found there, and at no setting before', async (t) => {
  const clock = new FakeClock(Date.UTC(2026, 11, 2, 10));
  const sim = new MeterSimulator({ profile: sdm630, unit: 2, clock });
  const line = new LineModel({ baud: 19200, parity: 'even', devices: [sim], clock, name: 'ttyLM0' });
  const r = await settle(
    clock,
    scanSerialPort({ path: '/dev/ttyLM0', profiles: [sdm630], probe: firstBlock, open: (s) => line.open(s), clock }),
  );
  t.deepEqual(r.setting, { baud: 19200, parity: 'even' });
  t.deepEqual(
    r.found.map((f) => [f.profile, f.unit, f.port, f.baud, f.parity]),
    [['eastron/sdm630', 2, '/dev/ttyLM0', 19200, 'even']],
  );
  const before = r.attempts.filter((a) => !(a.setting?.baud === 19200 && a.setting.parity === 'even'));
  t.deepEqual(
    [...new Set(before.map((a) => `${a.setting!.baud}/${a.setting!.parity}`))],
    ['9600/none', '9600/even', '19200/none'],
  );
  t.true(before.every((a) => a.result === 'silent'));
  t.is(sim.stats.requests, 1, 'the device understood only the request sent at its own setting');
  t.is(line.stats.garbledRequests, 6); // 3 settings × units 1 and 2; unit 1 at 19200/even: a clean request, no device
  // latency on the wire: 8 request bytes × 11 bits, 5 ms turnaround, the reply's bytes × 11 bits, at 19200 baud
  const [b] = planReads(sdm630.points.map((p) => ({ fc: p.fc, address: p.address, count: pointRegisters(p) })));
  const replyBytes = 5 + 2 * b!.count;
  t.is(r.found[0]!.latencyMs, Math.round(((8 * 11 + replyBytes * 11) / 19.2 + 5) * 10) / 10);
});

test('serial scan: the right baud with the wrong parity is no answer either', async (t) => {
  const clock = new FakeClock();
  const sim = new MeterSimulator({ profile: sdm630, unit: 1, clock });
  // a line at 9600/odd: 9600/none and 9600/even are tried first (bytes with parity errors), 9600/odd is never tried
  const line = new LineModel({ baud: 9600, parity: 'odd', devices: [sim], clock });
  const r = await settle(
    clock,
    scanSerialPort({ path: '/dev/x', profiles: [sdm630], probe: firstBlock, open: (s) => line.open(s), clock }),
  );
  t.is(r.setting, undefined);
  t.deepEqual(r.found, []);
  t.is(r.attempts.filter((a) => a.result !== 'skipped').length, 16);
  t.true(r.attempts.every((a) => a.result === 'silent' || a.result === 'skipped'));
});

test('a request that survives the wrong setting gets a reply the client reads as garbage (MODBUS_CRC)', async (t) => {
  // 9600/even sent, 9600/none heard: each character's parity bit is sampled as its stop bit, so a request whose every
  // byte has an odd number of ones (even parity bit 1) arrives intact; the reply (10-bit characters back to back)
  // then meets the client's 11-bit framing, where the next start bit lands on the stop bit: framing errors
  const client: UartSetting = { baud: 9600, parity: 'even' };
  const lineSetting: UartSetting = { baud: 9600, parity: 'none' };
  let address = -1;
  for (let a = 0; a < 65536 && address < 0; a++) {
    const adu = request(1, a, 2);
    if (uartResample(adu, client, lineSetting).every((b, i) => b === adu[i])) address = a;
  }
  t.true(address >= 0, 'some request survives');
  const clock = new FakeClock();
  const sim = new MeterSimulator({ profile: sdm630, unit: 1, clock });
  const line = new LineModel({ ...lineSetting, devices: [sim], clock });
  const tr = line.open(client);
  const err = await t.throwsAsync(settle(clock, tr.read({ fc: 4, unit: 1, address, count: 2, timeoutMs: 300 })));
  t.regex(err.message, /MODBUS_CRC: rtu:\/\/line-model@9600,8E1 unit 1: reply failed its CRC/);
  t.is(sim.stats.requests, 1, 'the device heard the request');
  t.is(line.stats.replies, 1);
  // the same request at the line's own setting: the real answer (data or exception 2 for an unmapped address)
  const ok = line.open(lineSetting);
  const got = await settle(
    clock,
    ok.read({ fc: 4, unit: 1, address, count: 2, timeoutMs: 300 }).then(
      (v) => v.length,
      (e: Error) => e.message,
    ),
  );
  t.true(got === 2 || /MODBUS_EXCEPTION: .*exception 2/.test(String(got)), String(got));
});

test('TCP scan against the simulator on 127.0.0.1: the first port refused (reported), found on the second', async (t) => {
  const sim = new MeterSimulator({ profile: sdm630, unit: 1, clock: systemClock });
  const server = await serveTcp([sim], { host: '127.0.0.1', port: 0 });
  t.teardown(() => server.close());
  // a port known closed: bound, then released (stands for 502 when 1502 is the simulator's)
  const closed = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
  const r = await scanTcp({
    host: '127.0.0.1',
    ports: [closed, server.port!],
    profiles: [sdm630],
    probe: firstBlock,
    clock: systemClock,
  });
  t.is(r.ports[0]?.result, 'refused', r.ports[0]?.detail);
  t.regex(r.ports[0]!.detail, new RegExp(`127\\.0\\.0\\.1:${closed}: .*refused`));
  t.deepEqual(
    r.found.map((f) => [f.kind, f.profile, f.unit, f.host, f.tcpPort]),
    [['meter', 'eastron/sdm630', 1, '127.0.0.1', server.port]],
  );
  t.deepEqual(r.ports[1]?.sunspec, []); // the SDM630 has no SunSpec map: the walk found nothing
  t.true(typeof r.found[0]!.latencyMs === 'number');
});

test('serial scan with the default probe (each profile’s identify registers): two meters of different makers on one 19200/even line, each named by its own profile', async (t) => {
  const clock = new FakeClock(Date.UTC(2026, 11, 2, 10));
  const profiles = builtinProfiles();
  const em24 = profiles.get('carlo-gavazzi/em24');
  const a = new MeterSimulator({ profile: sdm630, unit: 1, clock });
  const b = new MeterSimulator({ profile: em24, unit: 2, clock });
  const line = new LineModel({ baud: 19200, parity: 'even', devices: [a, b], clock, name: 'ttyLM1' });
  const candidates = [sdm630, em24, profiles.get('eastron/sdm120'), profiles.get('abb/b23')];
  const r = await settle(
    clock,
    scanSerialPort({ path: '/dev/ttyLM1', profiles: candidates, open: (s) => line.open(s), clock }),
  );
  t.deepEqual(r.setting, { baud: 19200, parity: 'even' });
  t.deepEqual(r.found.map((f) => [f.profile, f.unit]).sort(), [
    ['carlo-gavazzi/em24', 2],
    ['eastron/sdm630', 1],
  ]);
  t.truthy(r.found.find((f) => f.profile === 'eastron/sdm630')?.model, 'the model named from its meter code');
});
