import test from 'ava';
import { LightNodeError, RegisterImage, builtinProfiles, sunspecImage, type Profile } from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { settle } from '../testing/ess-images.js';
import { FakeModbusTransport } from '../testing/fake-modbus.js';
import { identifyProbe } from './scan.js';
import { scanTcp, sunspecFound } from './scan-tcp.js';
import type { ModbusTransport } from './transport.js';

const reg = builtinProfiles();
const sdm630 = reg.get('eastron/sdm630');
const probe = identifyProbe({
  plan: () => [{ name: 'mark', fc: 3, address: 0, count: 1 }],
  match: (p: Profile, words) =>
    words.mark?.[0] === 630 && p.id === 'eastron/sdm630'
      ? { matched: true, model: 'SDM630', serial: 'SN-1', detail: 'marker' }
      : { matched: false, detail: 'other marker' },
});

const refused = (port: number): ModbusTransport => ({
  kind: 'tcp',
  endpoint: `tcp://10.0.0.9:${port}`,
  open: () => Promise.reject(new LightNodeError('MODBUS_CONNECT', `tcp://10.0.0.9:${port}: connection refused`)),
  close: () => Promise.resolve(),
  read: () => Promise.reject(new Error('unused')),
  write: () => Promise.reject(new Error('unused')),
});

test('502 refused is reported; on 1502 identify finds the meter at unit 2, SunSpec a meter and an ESS at unit 1', async (t) => {
  const clock = new FakeClock();
  const fake = new FakeModbusTransport(clock, { kind: 'tcp', endpoint: 'tcp://10.0.0.9:1502' });
  const { image } = sunspecImage(
    [
      { profile: reg.get('sunspec/meter-203'), values: {}, length: 105 },
      { profile: reg.get('sunspec/storage-124'), values: {}, length: 24 },
    ],
    { profile: reg.get('sunspec/common'), named: { Mn: 'Acme', Md: 'Hybrid 10', SN: 'H10-77', Vr: '1' } },
  );
  fake.addUnit(1, image);
  const meter = new RegisterImage();
  meter.set(3, 0, [630]);
  fake.addUnit(2, meter);
  const opened: number[] = [];
  const r = await settle(
    clock,
    scanTcp({
      host: '10.0.0.9',
      profiles: [sdm630],
      probe,
      clock,
      open: (_h, port) => (opened.push(port), port === 502 ? refused(502) : fake),
    }),
  );
  t.deepEqual(opened, [502, 1502]);
  t.is(r.ports[0]?.result, 'refused');
  t.regex(r.ports[0]!.detail, /10\.0\.0\.9:502: .*connection refused/);
  t.is(r.ports[1]?.result, 'scanned');
  t.deepEqual(
    r.found.map((f) => [f.kind, f.profile, f.unit, f.tcpPort, f.host, f.serialNumber]),
    [
      ['meter', 'eastron/sdm630', 2, 1502, '10.0.0.9', 'SN-1'],
      ['meter', 'sunspec/meter-203', 1, 1502, '10.0.0.9', 'H10-77'],
      ['ess', 'sunspec/storage-124', 1, 1502, '10.0.0.9', 'H10-77'],
    ],
  );
  t.deepEqual(r.ports[1]?.sunspec, [{ unit: 1, base: 40000, models: [1, 203, 124] }]);
  t.regex(r.detail, /502: .*refused; 10\.0\.0\.9:1502: found eastron\/sdm630 at unit 2/);
});

test('an explicit port is the only one tried; a silent unit gets no SunSpec walk', async (t) => {
  const clock = new FakeClock();
  const fake = new FakeModbusTransport(clock, { kind: 'tcp' });
  const r = await settle(
    clock,
    scanTcp({ host: 'h', port: 8502, profiles: [sdm630], probe, clock, open: (_h, port) => (t.is(port, 8502), fake) }),
  );
  t.deepEqual(r.found, []);
  t.deepEqual(
    fake.log.map((l) => l.unit),
    [1, 2],
  ); // identify only: both units silent, no walk at 40000/0/50000
  t.regex(r.detail, /h:8502: connected, but no unit answered/);
});

test('SunSpec classification: meters by model, storage with 704 controls → der-704, a PV inverter → nothing', (t) => {
  const dev = (ids: number[]) => ({
    base: 40000,
    probes: [],
    models: ids.map((id) => ({ id, address: 0, length: 1 })),
  });
  t.deepEqual(sunspecFound(dev([1, 213]), reg), [{ kind: 'meter', profile: 'sunspec/meter-213' }]);
  t.deepEqual(sunspecFound(dev([1, 701, 704, 713]), reg), [{ kind: 'ess', profile: 'sunspec/der-704' }]);
  t.deepEqual(sunspecFound(dev([1, 124]), reg), [{ kind: 'ess', profile: 'sunspec/storage-124' }]);
  t.deepEqual(sunspecFound(dev([1, 701, 704]), reg), []);
});
