// `--real-ports MAP`: the map checked against the scenario (HIL_REAL_PORTS_INVALID naming the key) and simulator
// faults on mapped devices refused (HIL_FAULT_NEEDS_SIMULATOR naming device, action and atS). `exists` is faked.
import test, { type ExecutionContext } from 'ava';
import { isLightNodeError, type LightNodeError } from '@lightnode/protocols';
import {
  REAL_HARDWARE_ACTIONS,
  checkFaultsNeedSimulator,
  deviceLink,
  parseRealPorts,
  realPortsText,
  type RealPort,
} from './real-ports.js';
import { parseScenario } from './scenario-file.js';

// one device of each transport: Modbus RTU and TCP meters, Chain 2 over WebSocket and serial, SunSpec and REST ESS
const DEVICES = `name: real
description: a bench with one device of each transport
seed: 1
durationS: 60
cloud: { kind: mosquitto }
devices:
  - { id: m1, kind: meter, profile: eastron/sdm630, unit: 1, pollMs: 1000, rtu: true }
  - { id: m2, kind: meter, profile: eastron/sdm630, unit: 2, pollMs: 1000, tcp: true }
  - { id: c1, kind: chain2, pod: IT001E01524052, transport: ws }
  - { id: c2, kind: chain2, pod: IT001E01524052, transport: serial }
  - { id: e1, kind: ess, sunspec: true }
  - { id: e2, kind: ess, rest: "127.0.0.1:0" }
agents:
  - { id: a1, mode: process, devices: [m1, m2, c1, c2, e1, e2] }
`;
const clean = parseScenario(
  DEVICES +
    `timeline:
  - { atS: 5, do: kill9, agent: a1, restartAfterS: 0 }
  - { atS: 10, do: link, agent: a1, blackhole: true, forS: 5 }
  - { atS: 20, do: clock-step, agent: a1, stepS: -300 }
  - { atS: 30, do: disk-full, agent: a1, forS: 5 }
  - { atS: 40, do: setpoint, agent: a1, targetW: 1000, forS: 10 }
`,
  'real.yaml',
);
const faulty = parseScenario(
  DEVICES.replace('tcp: true }', 'tcp: true, faults: ["timeout@0.1"] }') +
    `timeline:
  - { atS: 5, do: link, agent: a1, latencyMs: 100, forS: 5 }
  - { atS: 12.5, do: device-fault, device: m1, fault: timeout, forS: 5 }
  - { atS: 20, do: gateway-reboot, device: c1 }
  - { atS: 30, do: load, device: e1, powerW: 2500 }
`,
  'faulty.yaml',
);

const present = new Set(['/dev/ttyUSB0', '/dev/serial/by-id/usb-FTDI_FT232R-if00-port0']);
const exists = (p: string) => present.has(p);

function refused(t: ExecutionContext, text: string, key: string | undefined, message: RegExp) {
  const e = t.throws<LightNodeError>(() => parseRealPorts(text, clean, { exists }));
  t.true(isLightNodeError(e, 'HIL_REAL_PORTS_INVALID'), String(e));
  t.regex(e.message, message);
  t.is(e.context.key, key);
}

test('a good map: serial paths, host:port, host alone defaults to 502 for Modbus TCP, [v6]:port', (t) => {
  const ports = parseRealPorts(
    JSON.stringify({
      m1: '/dev/ttyUSB0',
      m2: 'meter.lan',
      c1: '192.168.1.50:81',
      c2: '/dev/serial/by-id/usb-FTDI_FT232R-if00-port0',
      e1: '[fd00::7]:1502',
      e2: 'ess.lan:8080',
    }),
    clean,
    { exists },
  );
  t.deepEqual(Object.fromEntries(ports), {
    m1: { kind: 'serial', path: '/dev/ttyUSB0' },
    m2: { kind: 'tcp', host: 'meter.lan', port: 502 },
    c1: { kind: 'tcp', host: '192.168.1.50', port: 81 },
    c2: { kind: 'serial', path: '/dev/serial/by-id/usb-FTDI_FT232R-if00-port0' },
    e1: { kind: 'tcp', host: 'fd00::7', port: 1502 },
    e2: { kind: 'tcp', host: 'ess.lan', port: 8080 },
  } satisfies Record<string, RealPort>);
  t.is(parseRealPorts('{}', clean, { exists }).size, 0, 'an empty map: everything simulated');
});

test('the transport each device needs follows its scenario keys', (t) => {
  const needs = Object.fromEntries(clean.devices.map((d) => [d.id, deviceLink(d).needs]));
  t.deepEqual(needs, { m1: 'serial', m2: 'tcp', c1: 'tcp', c2: 'serial', e1: 'tcp', e2: 'tcp' });
  t.is(deviceLink(clean.devices[4]!).speaks, 'SunSpec Modbus TCP');
});

test('not JSON, or JSON that is not an object → HIL_REAL_PORTS_INVALID with the expected shape', (t) => {
  refused(
    t,
    '{m1: /dev/ttyUSB0}',
    undefined,
    /^HIL_REAL_PORTS_INVALID: --real-ports: expected a JSON object like \{"m1"/,
  );
  refused(t, '{m1: /dev/ttyUSB0}', undefined, /received text that is not JSON/);
  refused(t, '["/dev/ttyUSB0"]', undefined, /expected a JSON object like .*, received array/);
  refused(t, 'null', undefined, /received null$/);
  refused(t, '"m1=/dev/ttyUSB0"', undefined, /received string "m1=\/dev\/ttyUSB0"$/);
});

test('a value that is not a string names the key and what its device needs', (t) => {
  refused(
    t,
    '{"m1": 0}',
    'm1',
    /"m1": expected a serial device path like \/dev\/ttyUSB0 \(m1 is a meter speaking Modbus RTU\), received number 0/,
  );
  refused(
    t,
    '{"e1": {"host": "ess.lan"}}',
    'e1',
    /"e1": expected HOST\[:PORT\] \(e1 is an ess speaking SunSpec Modbus TCP\), received object/,
  );
  refused(t, '{"m2": ""}', 'm2', /"m2": expected HOST\[:PORT\]/);
});

test('an unknown device id names the key and the declared ids', (t) => {
  refused(
    t,
    '{"m1": "/dev/ttyUSB0", "m9": "/dev/ttyUSB1"}',
    'm9',
    /"m9": expected a device id of scenario real \(m1, m2, c1, c2, e1, e2\), received an unknown device id/,
  );
  // an agent id is not a device
  refused(t, '{"a1": "/dev/ttyUSB0"}', 'a1', /"a1": expected a device id/);
});

test('a serial path that does not exist (exists is asked, not the real /dev)', (t) => {
  const asked: string[] = [];
  const e = t.throws<LightNodeError>(() =>
    parseRealPorts('{"m1": "/dev/ttyUSB3"}', clean, {
      exists: (p) => (asked.push(p), false),
      source: '--real-ports @bench.json',
    }),
  );
  t.true(isLightNodeError(e, 'HIL_REAL_PORTS_INVALID'));
  t.is(
    e.message,
    'HIL_REAL_PORTS_INVALID: --real-ports @bench.json "m1": expected an existing serial device (m1 speaks Modbus RTU), received /dev/ttyUSB3, which does not exist (is the adapter plugged in? see ls /dev/serial/by-id)',
  );
  t.deepEqual(asked, ['/dev/ttyUSB3']);
  t.like(e.context, { key: 'm1', source: '--real-ports @bench.json' });
  refused(
    t,
    '{"c2": "/dev/ttyACM0"}',
    'c2',
    /"c2": expected an existing serial device \(c2 speaks Chain 2 over a serial line\)/,
  );
});

test('a relative serial name for an RS-485 device is not taken for a path', (t) => {
  refused(
    t,
    '{"m1": "ttyUSB0"}',
    'm1',
    /"m1": expected a serial device path like \/dev\/ttyUSB0 .*, received "ttyUSB0" \(not an absolute path\)/,
  );
  refused(
    t,
    '{"m1": "rs485.lan:502"}',
    'm1',
    /expected a serial device path .* Modbus RTU\), received "rs485\.lan:502" \(not an absolute path\) \(for a Modbus TCP meter set tcp: true on it\)$/,
  );
});

test('a malformed host:port names the key and the expected form', (t) => {
  for (const bad of [
    'ess.lan:',
    'ess.lan:0',
    'ess.lan:65536',
    'ess lan:502',
    'ess.lan:502:1',
    '[zz::1]:502',
    'http://ess.lan',
  ])
    refused(
      t,
      JSON.stringify({ e1: bad }),
      'e1',
      /"e1": expected HOST\[:PORT\] \(e1 is an ess speaking SunSpec Modbus TCP\), port 1\.\.65535, received string/,
    );
  // no default port where the device does not speak Modbus TCP
  refused(
    t,
    '{"c1": "gw.lan"}',
    'c1',
    /"c1": expected HOST:PORT \(c1 is a chain2 speaking Chain 2 over WebSocket\), port 1\.\.65535, received string "gw\.lan"/,
  );
  refused(t, '{"e2": "ess.lan"}', 'e2', /"e2": expected HOST:PORT \(e2 is an ess speaking REST \(HTTP\)\)/);
});

test('a serial path for a device that needs TCP (an ESS speaking SunSpec Modbus TCP)', (t) => {
  refused(
    t,
    '{"e1": "/dev/ttyUSB0"}',
    'e1',
    /^HIL_REAL_PORTS_INVALID: --real-ports "e1": expected HOST\[:PORT\] \(e1 is an ess speaking SunSpec Modbus TCP\), received the serial path \/dev\/ttyUSB0$/,
  );
  refused(
    t,
    '{"m2": "/dev/ttyUSB0"}',
    'm2',
    /"m2": expected HOST\[:PORT\] \(m2 is a meter speaking Modbus TCP\), received the serial path \/dev\/ttyUSB0 \(for an RS-485 meter set rtu: true on it\)$/,
  );
  refused(t, '{"c1": "/dev/ttyUSB0"}', 'c1', /\(for a serial gateway set transport: serial\)$/);
});

test('@FILE: the file read relative to cwd; an unreadable one → HIL_REAL_PORTS_INVALID', (t) => {
  const read = (f: string) => {
    if (f === '/bench/ports.json') return '{"m1": "/dev/ttyUSB0"}';
    throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
  };
  t.is(realPortsText('{"m1": "/dev/ttyUSB0"}', '/bench', read), '{"m1": "/dev/ttyUSB0"}');
  t.is(realPortsText('@ports.json', '/bench', read), '{"m1": "/dev/ttyUSB0"}');
  const e = t.throws<LightNodeError>(() => realPortsText('@gone.json', '/bench', read));
  t.true(isLightNodeError(e, 'HIL_REAL_PORTS_INVALID'));
  t.regex(
    e.message,
    /^HIL_REAL_PORTS_INVALID: --real-ports @gone\.json: expected a readable JSON file like .*, received ENOENT$/,
  );
});

test('link, kill, clock, disk faults and setpoints on mapped devices still apply', (t) => {
  const all = parseRealPorts(
    '{"m1": "/dev/ttyUSB0", "m2": "meter.lan", "c1": "gw.lan:81", "c2": "/dev/ttyUSB0", "e1": "ess.lan", "e2": "ess.lan:8080"}',
    clean,
    { exists },
  );
  t.notThrows(() => checkFaultsNeedSimulator(clean, all));
  // the faulty scenario with only the devices it does not fault mapped
  t.notThrows(() =>
    checkFaultsNeedSimulator(
      faulty,
      new Map([
        ['c2', { kind: 'serial', path: '/dev/ttyUSB0' }],
        ['e2', { kind: 'tcp', host: 'ess.lan', port: 8080 }],
      ]),
    ),
  );
  t.deepEqual(REAL_HARDWARE_ACTIONS, [
    'kill9',
    'stop',
    'start',
    'broker-down',
    'link',
    'clock-step',
    'disk-full',
    'setpoint',
    'setpoint-forged',
    'setpoint-replay',
  ]);
});

function needs(ports: Record<string, RealPort>, variant?: 'short') {
  return (t: ExecutionContext) => {
    const e = t.throws<LightNodeError>(() =>
      checkFaultsNeedSimulator(faulty, new Map(Object.entries(ports)), variant ? { variant } : {}),
    );
    t.true(isLightNodeError(e, 'HIL_FAULT_NEEDS_SIMULATOR'), String(e));
    return e;
  };
}
const serial: RealPort = { kind: 'serial', path: '/dev/ttyUSB0' };

test('a timeline device-fault on a mapped device: named with its device, action and atS; what still applies said', (t) => {
  const e = needs({ m1: serial })(t);
  t.is(
    e.message,
    'HIL_FAULT_NEEDS_SIMULATOR: real: device m1 is real (/dev/ttyUSB0) but device-fault at atS 12.5 ($.timeline[1]) needs its simulator; ' +
      'on real devices kill9, stop, start, broker-down, link, clock-step, disk-full and setpoints still apply — drop m1 from --real-ports or remove the fault',
  );
  t.like(e.context, { scenario: 'real', device: 'm1', action: 'device-fault', atS: 12.5, path: '$.timeline[1]' });
});

test('gateway-reboot and load on mapped devices', (t) => {
  const reboot = needs({ c1: { kind: 'tcp', host: 'gw.lan', port: 81 } })(t);
  t.regex(
    reboot.message,
    /device c1 is real \(gw\.lan:81\) but gateway-reboot at atS 20 \(\$\.timeline\[2\]\) needs its simulator/,
  );
  const load = needs({ e1: { kind: 'tcp', host: 'fd00::7', port: 502 } })(t);
  t.regex(
    load.message,
    /device e1 is real \(\[fd00::7\]:502\) but load at atS 30 \(\$\.timeline\[3\]\) needs its simulator/,
  );
  t.like(load.context, { device: 'e1', action: 'load', atS: 30 });
});

test("a mapped device's own faults; every problem in the context, the first in the message", (t) => {
  const e = needs(
    { m1: serial, m2: { kind: 'tcp', host: 'meter.lan', port: 502 }, e1: { kind: 'tcp', host: 'ess.lan', port: 502 } },
    'short',
  )(t);
  t.regex(
    e.message,
    /^HIL_FAULT_NEEDS_SIMULATOR: real \(with the short overrides\): device m2 is real \(meter\.lan:502\) but its own faults \(\$\.devices\[1\]\.faults: timeout@0\.1\) needs its simulator \(and 2 more\)/,
  );
  const problems = (e.context.problems as { device: string; action: string; atS?: number }[]).map((p) => [
    p.device,
    p.action,
    p.atS,
  ]);
  t.deepEqual(problems, [
    ['m2', 'faults', undefined],
    ['m1', 'device-fault', 12.5],
    ['e1', 'load', 30],
  ]);
  t.is(e.context.variant, 'short');
});
