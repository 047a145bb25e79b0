// The agent config of devices on real ports (`--real-ports`): nothing started for them, each pointed at its port —
// an RS-485 meter at its profile's baud and parity (real meters of one agent on one path share a line), a TCP meter
// at HOST:PORT, a Chain 2 gateway at its URL, a SunSpec / profile battery at HOST:PORT (its site line with the PoD
// meter, its asset limits from the scenario's ratings); a REST / MQTT or unrated ess mapping, a fault on a mapped
// battery, a map built in code with an unknown id or the wrong kind of port, and two meters at different settings on
// one line are refused before anything starts.
import test from 'ava';
import { isLightNodeError } from '@lightnode/protocols';
import { agentConfig } from './agents.js';
import { checkRealLines, checkRealPorts, realDevicePeers, simulatedPart } from './real-devices.js';
import type { RealPort } from './real-ports.js';
import { parseScenario } from './scenario-file.js';

const s = parseScenario(
  `name: real
description: real meters, gateways and a battery beside simulated ones
seed: 1
durationS: 60
cloud: { kind: mosquitto }
devices:
  - { id: m1, kind: meter, profile: abb/b23, unit: 1, pollMs: 1000, rtu: true }
  - { id: m2, kind: meter, profile: abb/b23, unit: 2, pollMs: 1000, rtu: true }
  - { id: m3, kind: meter, profile: eastron/sdm630, unit: 3, pollMs: 1000, rtu: true }
  - { id: m4, kind: meter, profile: eastron/sdm630, unit: 1, pollMs: 500, tcp: true }
  - { id: m5, kind: meter, profile: schneider/iem3000, unit: 5, pollMs: 1000, rtu: true }
  - { id: c1, kind: chain2, pod: IT001E01524052, transport: ws }
  - { id: c2, kind: chain2, pod: IT001E01524052, transport: http }
  - { id: e1, kind: ess, sunspec: true }
  - { id: e2, kind: ess, profile: generic/ess-example, unit: 100, meterUnit: 31, meterProfile: abb/b23, maxDischargeW: 5000, maxChargeW: 4000, capacityWh: 10000, ratedVa: 6000, loadW: 900 }
  - { id: e3, kind: ess, rest: 127.0.0.1:0, maxDischargeW: 5000, maxChargeW: 4000, capacityWh: 10000 }
  - { id: e4, kind: ess, sunspec: true, maxDischargeW: 3000, maxChargeW: 3000, capacityWh: 9600, faults: [refuse] }
  - { id: e5, kind: ess, sunspec: true, maxDischargeW: 3000, capacityWh: 9600 }
agents:
  - { id: a1, mode: process, devices: [m1, m2, m3, m4, m5, c1] }
  - { id: a2, mode: process, devices: [c2, e1] }
  - { id: a3, mode: process, devices: [e2] }
  - { id: a4, mode: process, devices: [e3] }
  - { id: a5, mode: process, devices: [e4] }
  - { id: a6, mode: process, devices: [e5] }
`,
  'real.yaml',
);
const ports = (o: Record<string, RealPort>) => new Map(Object.entries(o));
const tty = (path: string): RealPort => ({ kind: 'serial', path });
const tcp = (host: string, port: number): RealPort => ({ kind: 'tcp', host, port });

test('meters and gateways on real ports: their agent config points at the port, at the profile line settings', (t) => {
  const map = ports({
    m1: tty('/dev/ttyUSB0'),
    m2: tty('/dev/ttyUSB0'),
    m4: tcp('meter.lan', 502),
    c1: tcp('gw.lan', 81),
    c2: tcp('fd00::7', 8080),
  });
  checkRealPorts(s, map);
  const peers = realDevicePeers(s, map);
  t.deepEqual(
    peers.map((p) => [p.id, p.real]),
    [
      ['m1', '/dev/ttyUSB0'],
      ['m2', '/dev/ttyUSB0'],
      ['m4', 'meter.lan:502'],
      ['c1', 'gw.lan:81'],
      ['c2', '[fd00::7]:8080'],
    ],
  );
  checkRealLines(peers);
  const a1 = agentConfig(
    s.agents[0]!,
    peers.slice(0, 4).map((p) => p.config),
    'mqtt://127.0.0.1:1883',
    '/tmp/a1',
  );
  t.deepEqual(a1.lines, [
    {
      name: 'rs485-a1-ttyUSB0', // one line, one master: both real ABB meters on it, at the B23's 9600 8E1
      transport: { rtu: { path: '/dev/ttyUSB0', baud: 9600, parity: 'even' } },
      meters: [
        { id: 'm1', profile: 'abb/b23', unit: 1, pollMs: 1000 },
        { id: 'm2', profile: 'abb/b23', unit: 2, pollMs: 1000 },
      ],
    },
    {
      name: 'm4',
      transport: { tcp: { host: 'meter.lan', port: 502 } },
      meters: [{ id: 'm4', profile: 'eastron/sdm630', unit: 1, pollMs: 500 }],
    },
  ]);
  t.deepEqual(a1.chain2, [{ name: 'c1', ws: 'ws://gw.lan:81' }]);
  t.like(peers[4]!.config, { podId: 'IT001E01524052', chain2: [{ name: 'c2', http: 'http://[fd00::7]:8080' }] });
  // the simulators serve the rest: the real meters are not on the simulated RS-485 line
  t.deepEqual(
    simulatedPart(s, map).devices.map((d) => d.id),
    ['m3', 'm5', 'e1', 'e2', 'e3', 'e4', 'e5'],
  );
  t.is(simulatedPart(s, new Map()), s);
});

test('a battery on a real port: its site line and asset at HOST:PORT, limits from its ratings, no events', (t) => {
  const map = ports({ e2: tcp('ess.lan', 502) });
  checkRealPorts(s, map);
  const [e2] = realDevicePeers(s, map);
  t.is(e2!.real, 'ess.lan:502');
  t.is(e2!.essEvents, undefined, 'nothing simulated: no battery events');
  t.is(e2!.loadW?.(), 900, "the scenario's loadW: the setpoint baseline when the agent has no PoD reading");
  t.deepEqual(e2!.config, {
    lines: [
      {
        name: 'e2',
        transport: { tcp: { host: 'ess.lan', port: 502 } },
        meters: [{ id: 'e2-pod', profile: 'abb/b23', unit: 31, role: 'pod', pollMs: 500 }],
      },
    ],
    assets: [
      {
        id: 'e2',
        kind: 'ess',
        pollMs: 1000,
        adapter: { modbus: { line: 'e2', unit: 100, profile: 'generic/ess-example' } },
        limits: {
          maxDischargeW: 5000,
          maxChargeW: 4000,
          socMinPermille: 100,
          socMaxPermille: 950,
          capacityWh: 10000,
          rampWps: 100000,
        },
      },
    ],
  });
  // a SunSpec one at the simulator's defaults: battery unit 1, PoD meter unit 2 (eastron/sdm630)
  const rated = parseScenario(
    `name: rated
description: one real SunSpec battery
seed: 1
durationS: 10
cloud: { kind: mosquitto }
devices:
  - { id: e1, kind: ess, sunspec: true, maxDischargeW: 3000, maxChargeW: 2500, capacityWh: 9600 }
agents:
  - { id: a1, mode: process, devices: [e1] }
`,
    'rated.yaml',
  );
  const one = ports({ e1: tcp('127.0.0.1', 1502) });
  checkRealPorts(rated, one);
  const [e1] = realDevicePeers(rated, one);
  t.is(e1!.loadW, undefined, 'no loadW: the baseline comes from the agent');
  t.like(e1!.config, {
    lines: [
      { transport: { tcp: { host: '127.0.0.1', port: 1502 } }, meters: [{ unit: 2, profile: 'eastron/sdm630' }] },
    ],
    assets: [{ adapter: { sunspec: { line: 'e1', unit: 1 } }, limits: { maxDischargeW: 3000, maxChargeW: 2500 } }],
  });
  t.deepEqual(simulatedPart(rated, one).devices, []);
});

const failure = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return isLightNodeError(e) ? e.message : String(e);
  }
  return 'no error';
};

test('refused before anything starts: an ess without ratings, over REST, with faults; an unknown id, the wrong port, two settings on one line', (t) => {
  const code = failure;
  t.regex(
    code(() => checkRealPorts(s, ports({ e1: tcp('ess.lan', 502) }))),
    /^HIL_REAL_PORTS_INVALID: real port of e1: a real battery needs its ratings in the scenario \(the controller's safety limits cannot come from a simulator\): missing maxDischargeW, maxChargeW, capacityWh on device e1/,
  );
  t.regex(
    code(() => checkRealPorts(s, ports({ e5: tcp('ess.lan', 502) }))),
    /^HIL_REAL_PORTS_INVALID: real port of e5: .*missing maxChargeW on device e5/,
  );
  t.regex(
    code(() => checkRealPorts(s, ports({ e3: tcp('ess.lan', 8080) }))),
    /^HIL_REAL_PORTS_INVALID: real port of e3: a real ess is reached over Modbus TCP \(sunspec: true or profile: ID\), but e3 speaks REST/,
  );
  t.regex(
    code(() => realDevicePeers(s, ports({ e3: tcp('ess.lan', 8080) }))),
    /^HIL_REAL_PORTS_INVALID: real port of e3/,
    'the peers refuse it too (a map that skipped the check)',
  );
  t.regex(
    code(() => checkRealPorts(s, ports({ e4: tcp('ess.lan', 502) }))),
    /^HIL_FAULT_NEEDS_SIMULATOR: real: device e4 is real \(ess.lan:502\) but its own faults \(\$\.devices\[10\]\.faults: refuse\) needs its simulator/,
  );
  t.regex(
    code(() => checkRealPorts(s, ports({ m9: tcp('x', 1) }))),
    /^HIL_REAL_PORTS_INVALID: real port of m9: expected a device id of scenario real/,
  );
  t.regex(
    code(() => checkRealPorts(s, ports({ m1: tcp('x', 1) }))),
    /^HIL_REAL_PORTS_INVALID: real port of m1: expected a serial port \(Modbus RTU\), received x:1/,
  );
  t.regex(
    code(() => checkRealPorts(s, ports({ e2: tty('/dev/ttyUSB0') }))),
    /^HIL_REAL_PORTS_INVALID: real port of e2: expected a tcp port \(Modbus TCP \(profile generic\/ess-example\)\), received \/dev\/ttyUSB0/,
  );
  const mixed = realDevicePeers(s, ports({ m3: tty('/dev/ttyUSB1'), m5: tty('/dev/ttyUSB1') }));
  t.regex(
    code(() => checkRealLines(mixed)),
    /^HIL_REAL_PORTS_INVALID: real port of m5: expected the line settings of m3 on the same port \(9600 none\), received 19200 even/,
  );
});

test('a mapped battery: a timeline device-fault or load on it needs its simulator; setpoints still apply', (t) => {
  const base = `name: timeline
description: a real battery and what its timeline asks
seed: 1
durationS: 30
cloud: { kind: mosquitto }
devices:
  - { id: e1, kind: ess, sunspec: true, maxDischargeW: 3000, maxChargeW: 3000, capacityWh: 9600 }
agents:
  - { id: a1, mode: process, devices: [e1] }
timeline:
  - { atS: 2, do: setpoint, agent: a1, targetW: 500, forS: 5 }
`;
  const map = ports({ e1: tcp('ess.lan', 502) });
  t.notThrows(() => checkRealPorts(parseScenario(base, 't.yaml'), map));
  const load = parseScenario(`${base}  - { atS: 9, do: load, device: e1, powerW: 2000 }\n`, 't.yaml');
  t.regex(
    failure(() => checkRealPorts(load, map)),
    /^HIL_FAULT_NEEDS_SIMULATOR: timeline: device e1 is real \(ess.lan:502\) but load at atS 9 \(\$\.timeline\[1\]\) needs its simulator/,
  );
  const fault = parseScenario(
    `${base}  - { atS: 9, do: device-fault, device: e1, fault: silent-revert:2, forS: 5 }\n`,
    't.yaml',
  );
  t.regex(
    failure(() => checkRealPorts(fault, map, { variant: 'short' })),
    /^HIL_FAULT_NEEDS_SIMULATOR: timeline \(with the short overrides\): device e1 is real .* but device-fault at atS 9/,
  );
});
