import test from 'ava';
import {
  LightNodeError,
  RegisterImage,
  builtinProfiles,
  identifyImage,
  identifyPlan,
  type Profile,
} from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { settle } from '../testing/ess-images.js';
import { FakeModbusTransport, type FakeUnitBehaviour } from '../testing/fake-modbus.js';
import {
  foundKind,
  identifyProbe,
  identifyRegistersProbe,
  scanSerialPort,
  scanSettings,
  scanTimeoutMs,
  scanUnits,
  type ScanProgress,
  type SerialSetting,
} from './scan.js';
import type { ModbusTransport } from './transport.js';

const reg = builtinProfiles();
const sdm630 = reg.get('eastron/sdm630'); // 9600/none, unit 1, 300 ms
const b23 = reg.get('abb/b23'); // 9600/even, unit 1, 300 ms
const iem = reg.get('schneider/iem3000'); // 19200/even, unit 1

/** Each profile's marker in holding register 0 (a stand-in for its identification registers). */
const MARK: Record<string, number> = { 'eastron/sdm630': 630, 'abb/b23': 23, 'schneider/iem3000': 3000 };
const probe = identifyProbe({
  plan: () => [{ name: 'mark', fc: 3, address: 0, count: 1 }],
  match: (p: Profile, words) =>
    words.mark?.[0] === MARK[p.id]
      ? { matched: true, model: p.model, serial: `SN-${words.mark?.[0]}`, detail: 'marker matches' }
      : { matched: false, detail: `marker ${words.mark?.[0]} is not ${MARK[p.id]}` },
});

type Dev = { unit: number; mark?: number; behaviour?: FakeUnitBehaviour };

/** A port whose devices answer only at the settings given; `crcBad` settings get CRC-failing replies. */
function port(clock: FakeClock, devices: Record<string, Dev[]>, crcBad: string[] = []) {
  const opened: string[] = [];
  const requests: { setting: string; unit: number; timeoutMs: number; atMs: number }[] = [];
  const open = (s: SerialSetting): ModbusTransport => {
    const key = `${s.baud}/${s.parity}`;
    opened.push(key);
    const fake = new FakeModbusTransport(clock, { endpoint: `fake://${key}` });
    for (const d of devices[key] ?? []) {
      const img = new RegisterImage();
      if (d.mark !== undefined) img.set(3, 0, [d.mark]);
      fake.addUnit(d.unit, img, d.behaviour);
    }
    return {
      kind: 'rtu',
      endpoint: fake.endpoint,
      open: () => fake.open(),
      close: () => fake.close(),
      write: (w) => fake.write(w),
      read: async (r) => {
        requests.push({ setting: key, unit: r.unit, timeoutMs: r.timeoutMs, atMs: clock.monotonic() });
        if (crcBad.includes(key)) {
          await clock.sleep(15);
          throw new LightNodeError('MODBUS_CRC', `${fake.endpoint} unit ${r.unit}: reply failed its CRC`);
        }
        return fake.read(r);
      },
    };
  };
  return { open, opened, requests };
}

test('settings: the profiles’ defaults first, then 9600/19200/38400/115200 × none/even, no repeats', (t) => {
  const keys = scanSettings([sdm630, iem, b23, reg.get('eastron/sdm120')]).map((s) => `${s.baud}/${s.parity}`);
  t.deepEqual(keys, [
    '9600/none',
    '19200/even',
    '9600/even',
    '2400/none',
    '19200/none',
    '38400/none',
    '38400/even',
    '115200/none',
    '115200/even',
  ]);
  t.deepEqual(
    scanSettings([reg.get('sunspec/meter-203')]).map((s) => `${s.baud}/${s.parity}`),
    ['9600/none', '9600/even', '19200/none', '19200/even', '38400/none', '38400/even', '115200/none', '115200/even'],
  );
});

test('units: the profile’s own, 1, 2; fullScan 1..247', (t) => {
  const at5 = { ...sdm630, transport: { ...sdm630.transport, unitId: 5 } };
  t.deepEqual(scanUnits(at5), [5, 1, 2]);
  t.deepEqual(scanUnits(sdm630), [1, 2]);
  const full = scanUnits(at5, true);
  t.is(full.length, 247);
  t.deepEqual(full.slice(0, 4), [5, 1, 2, 3]);
  t.deepEqual(
    [...full].sort((a, b) => a - b),
    Array.from({ length: 247 }, (_, i) => i + 1),
  );
});

test('timeout rule: the profile’s (or 300 ms) before a latency, then max(100 ms, 4 × latency)', (t) => {
  t.is(scanTimeoutMs(undefined), 300);
  t.is(scanTimeoutMs(undefined, 500), 500);
  t.is(scanTimeoutMs(10, 500), 100);
  t.is(scanTimeoutMs(40, 500), 160);
  t.is(scanTimeoutMs(62.5), 250);
});

test('kind: ESS profiles and SunSpec storage / DER models are ess, the rest meters', (t) => {
  t.is(foundKind(sdm630), 'meter');
  t.is(foundKind(reg.get('sunspec/meter-203')), 'meter');
  t.is(foundKind(reg.get('sunspec/storage-124')), 'ess');
  t.is(foundKind(reg.get('sunspec/der-704')), 'ess');
  t.is(foundKind(reg.get('generic/ess-example')), 'ess');
});

test('stops at the first setting that answers; silent settings cost one request per unit', async (t) => {
  const clock = new FakeClock();
  const p = port(clock, { '19200/none': [{ unit: 2, mark: 630 }] });
  const r = await settle(
    clock,
    scanSerialPort({ path: '/dev/fake', profiles: [sdm630, b23], probe, open: p.open, clock }),
  );
  t.deepEqual(p.opened, ['9600/none', '9600/even', '19200/none']);
  t.deepEqual(r.setting, { baud: 19200, parity: 'none' });
  t.deepEqual(r.found, [
    {
      kind: 'meter',
      profile: 'eastron/sdm630',
      unit: 2,
      port: '/dev/fake',
      baud: 19200,
      parity: 'none',
      model: 'SDM630',
      serialNumber: 'SN-630',
      latencyMs: 10,
    },
  ]);
  // at each silent setting: sdm630 at 1, 2 (silent), b23 skips them
  for (const s of ['9600/none', '9600/even'])
    t.deepEqual(
      p.requests.filter((q) => q.setting === s).map((q) => q.unit),
      [1, 2],
    );
  t.deepEqual(
    r.attempts.filter((a) => a.setting?.baud === 9600 && a.setting.parity === 'none').map((a) => a.result),
    ['silent', 'silent', 'skipped', 'skipped'],
  );
  t.is(r.tried, 6);
  t.regex(r.detail, /19200 baud, parity none .*eastron\/sdm630 at unit 2/);
});

test('at the answering setting the other profiles and units are still tried', async (t) => {
  const clock = new FakeClock();
  const p = port(clock, {
    '9600/even': [
      { unit: 1, mark: 23 },
      { unit: 2, mark: 3000 },
    ],
  });
  const r = await settle(
    clock,
    scanSerialPort({ path: '/dev/fake', profiles: [sdm630, b23, iem], probe, open: p.open, clock }),
  );
  t.deepEqual(p.opened, ['9600/none', '9600/even']); // 9600/even is b23's default: second
  t.deepEqual(
    r.found.map((f) => [f.profile, f.unit]),
    [
      ['abb/b23', 1],
      ['schneider/iem3000', 2],
    ],
  );
  const here = r.attempts.filter((a) => a.setting?.baud === 9600 && a.setting.parity === 'even');
  t.deepEqual(
    here.map((a) => `${a.profile}@${a.unit}:${a.result}`),
    [
      'eastron/sdm630@1:other',
      'eastron/sdm630@2:other',
      'abb/b23@1:matched',
      'abb/b23@2:other',
      'schneider/iem3000@1:skipped',
      'schneider/iem3000@2:matched',
    ],
  );
});

test('fullScan: units 1..247 at each setting, a device at unit 200 found', async (t) => {
  const clock = new FakeClock();
  const p = port(clock, { '9600/even': [{ unit: 200, mark: 630 }] });
  const r = await settle(
    clock,
    scanSerialPort({ path: '/dev/fake', profiles: [sdm630], fullScan: true, probe, open: p.open, clock }),
  );
  t.deepEqual(p.opened, ['9600/none', '9600/even']);
  for (const s of ['9600/none', '9600/even']) {
    const units = p.requests.filter((q) => q.setting === s).map((q) => q.unit);
    t.deepEqual(
      [...units].sort((a, b) => a - b),
      Array.from({ length: 247 }, (_, i) => i + 1),
    );
  }
  t.deepEqual(
    r.found.map((f) => f.unit),
    [200],
  );
  // after the answer at unit 200 (latency 10 ms) the remaining units get 100 ms instead of 300 ms
  const after = p.requests.filter((q) => q.setting === '9600/even' && q.unit > 200);
  t.true(after.length === 47 && after.every((q) => q.timeoutMs === 100));
});

test('timeouts: the profile’s until a latency is measured, then max(100, 4 × latency)', async (t) => {
  const clock = new FakeClock();
  const p = port(clock, { '9600/none': [{ unit: 1, mark: 23, behaviour: { latencyMs: 40 } }] });
  const r = await settle(
    clock,
    scanSerialPort({ path: '/dev/fake', profiles: [sdm630, b23], probe, open: p.open, clock }),
  );
  t.deepEqual(
    p.requests.map((q) => [q.unit, q.timeoutMs]),
    [
      [1, 300], // sdm630 at 1: answers (another marker) in 40 ms
      [2, 160], // sdm630 at 2: silent, waited 4 × 40 ms
      [1, 160], // b23 at 1: matches; b23 at 2 skipped (silent)
    ],
  );
  // the silent request really cost its timeout; t3.5 at 9600 baud (≈ 4 ms) separates requests
  t.true(p.requests[2]!.atMs - p.requests[1]!.atMs >= 160 + 4);
  t.is(r.found[0]?.latencyMs, 40);
});

test('progress: one event per candidate, done counts up to total, total shrinks when a setting answers', async (t) => {
  const clock = new FakeClock();
  const p = port(clock, { '9600/even': [{ unit: 1, mark: 630 }] });
  const events: ScanProgress[] = [];
  await settle(
    clock,
    scanSerialPort({
      path: '/dev/fake',
      profiles: [sdm630, b23],
      probe,
      open: p.open,
      clock,
      onProgress: (e) => events.push(e),
    }),
  );
  t.is(events.length, 8); // 2 settings × (2 profiles × 2 units)
  t.deepEqual(
    events.map((e) => e.done),
    [1, 2, 3, 4, 5, 6, 7, 8],
  );
  t.is(events[0]!.total, 8 * 4); // 8 settings × 4 candidates planned
  t.is(events.at(-1)!.total, 8);
  t.deepEqual(events[0], {
    setting: { baud: 9600, parity: 'none' },
    unit: 1,
    profile: 'eastron/sdm630',
    done: 1,
    total: 32,
  });
  t.deepEqual(events[4]!.setting, { baud: 9600, parity: 'even' });
});

test('an exception reply counts as an answer: the scan stops there, nothing matched', async (t) => {
  const clock = new FakeClock();
  const p = port(clock, { '9600/even': [{ unit: 1, behaviour: { exception: 2 } }] });
  const r = await settle(clock, scanSerialPort({ path: '/dev/fake', profiles: [sdm630], probe, open: p.open, clock }));
  t.deepEqual(r.setting, { baud: 9600, parity: 'even' });
  t.deepEqual(r.found, []);
  t.deepEqual(p.opened, ['9600/none', '9600/even']);
  t.is(r.attempts.find((a) => a.result === 'other')?.unit, 1);
  t.regex(r.detail, /answered but no profile matched/);
});

test('a reply with a bad CRC is no answer: the scan goes on to the next setting', async (t) => {
  const clock = new FakeClock();
  const p = port(clock, { '9600/none': [{ unit: 1, mark: 630 }], '9600/even': [{ unit: 1, mark: 630 }] }, [
    '9600/none',
  ]);
  const r = await settle(clock, scanSerialPort({ path: '/dev/fake', profiles: [sdm630], probe, open: p.open, clock }));
  t.deepEqual(p.opened, ['9600/none', '9600/even']);
  t.deepEqual(r.setting, { baud: 9600, parity: 'even' });
  t.is(r.found.length, 1);
  t.deepEqual(
    r.attempts.slice(0, 2).map((a) => a.result),
    ['silent', 'silent'],
  );
});

test('nothing anywhere: every setting tried, a detail that says what to check', async (t) => {
  const clock = new FakeClock();
  const p = port(clock, {});
  const r = await settle(clock, scanSerialPort({ path: '/dev/fake', profiles: [sdm630], probe, open: p.open, clock }));
  t.is(p.opened.length, 8);
  t.is(r.setting, undefined);
  t.is(r.tried, 16);
  t.regex(r.detail, /no answer at any of 8 settings.*wiring/);
});

test('a port that cannot be opened is reported, not thrown', async (t) => {
  const clock = new FakeClock();
  let closed = 0;
  const r = await scanSerialPort({
    path: '/dev/ttyNOPE',
    profiles: [sdm630],
    probe,
    clock,
    open: () => ({
      kind: 'rtu',
      endpoint: 'rtu:///dev/ttyNOPE',
      open: () =>
        Promise.reject(new LightNodeError('MODBUS_PORT_MISSING', 'rtu:///dev/ttyNOPE: serial port not found')),
      close: async () => void closed++,
      read: () => Promise.reject(new Error('unused')),
      write: () => Promise.reject(new Error('unused')),
    }),
  });
  t.deepEqual(r.found, []);
  t.is(closed, 1);
  t.regex(r.detail, /ttyNOPE.*not found/);
});

/** A probe's device: unit `unit` of the fake transport. */
const probeDevice = (fake: FakeModbusTransport, unit: number) => ({
  name: `u${unit}`,
  unit,
  read: (fc: 1 | 2 | 3 | 4, address: number, count: number) => fake.read({ fc, unit, address, count, timeoutMs: 300 }),
  write: () => Promise.resolve(),
  health: () => ({
    name: '',
    unit,
    state: 'ok' as const,
    requests: 0,
    failures: 0,
    consecutiveFailures: 0,
    errors: {},
    busMs: 0,
  }),
});

test('identifyProbe: a refused read is left to the matcher and named when nothing matched, a silent one null', async (t) => {
  const clock = new FakeClock();
  const fake = new FakeModbusTransport(clock);
  const img = new RegisterImage();
  img.set(4, 10, [1, 2, 3]);
  fake.addUnit(1, img);
  fake.addUnit(3, new RegisterImage(), { dead: true });
  const seen: Record<string, number[]>[] = [];
  const pr = identifyProbe({
    plan: () => [{ name: 'code', fc: 4, address: 10, count: 3 }],
    match: (_p, words) => (seen.push(words), { matched: true, detail: 'ok' }),
  });
  const dev = (unit: number) => probeDevice(fake, unit);
  t.deepEqual(await settle(clock, pr(dev(1), sdm630)), { matched: true, detail: 'ok' });
  t.deepEqual(seen, [{ code: [1, 2, 3] }]);
  const refused = await settle(
    clock,
    identifyProbe({
      plan: () => [
        { name: 'x', fc: 3, address: 99, count: 1 },
        { name: 'code', fc: 4, address: 10, count: 3 },
      ],
      match: (_p, words) => ({ matched: 'x' in words, detail: `read ${Object.keys(words).join(',')}` }),
    })(dev(1), sdm630),
  );
  t.is(refused?.matched, false);
  t.regex(refused!.detail, /^read code; x \(fc 3 @99×1\) refused: .*exception 2/, 'the next register still read');
  t.is(await settle(clock, pr(dev(3), sdm630)), null);
  t.regex(
    (await settle(clock, pr(dev(1), { ...sdm630, id: 'x/none' })))!.detail,
    /ok/, // the plan comes from the injected function, not from the profile
  );
  const none = identifyProbe({ plan: () => [], match: () => ({ matched: true, detail: '' }) });
  t.deepEqual(await none(dev(1), sdm630), {
    matched: false,
    detail: 'eastron/sdm630 declares no identification registers',
  });
});

test('the default probe finds a meter that refuses its serial register (reported without a serial), not one that refuses its model code', async (t) => {
  const clock = new FakeClock();
  const plan = identifyPlan(sdm630);
  const declared = (pred: (r: NonNullable<Profile['identify']>['registers'][number]) => boolean) =>
    plan.find((r) => sdm630.identify!.registers.some((x) => x.name === r.name && pred(x)));
  const serial = declared((x) => x.role === 'serial');
  // a register the match needs: one with accepted values or models
  const constrained = declared((x) => x.accept !== undefined || x.models !== undefined);
  t.truthy(serial, 'sdm630 declares a serial register');
  t.truthy(constrained, 'sdm630 declares a register its match needs');
  const full = identifyImage(sdm630);
  const imageWithout = (skip: string): RegisterImage => {
    const img = new RegisterImage();
    for (const r of plan) if (r.name !== skip) img.set(r.fc, r.address, full.read(r.fc, r.address, r.count)!);
    return img;
  };
  const fake = new FakeModbusTransport(clock);
  fake.addUnit(1, imageWithout(serial!.name));
  fake.addUnit(2, imageWithout(constrained!.name));
  const bus = (unit: number) => probeDevice(fake, unit);
  const found = await settle(clock, identifyRegistersProbe(bus(1), sdm630));
  t.true(found?.matched, found?.detail);
  t.is((found as { serial?: string }).serial, undefined);
  const other = await settle(clock, identifyRegistersProbe(bus(2), sdm630));
  t.is(other?.matched, false);
  t.regex(
    other!.detail,
    new RegExp(`${constrained!.name} \\(fc ${constrained!.fc} @${constrained!.address}×\\d+\\) refused`),
  );
});
