// The agent config of devices on real ports (`--real-ports`): nothing started for them, each pointed at its port —
// an RS-485 meter at its profile's baud and parity (real meters of one agent on one path share a line), a TCP meter
// at HOST:PORT, a Chain 2 gateway at its URL; an ess mapping, a map built in code with an unknown id or the wrong kind
// of port, and two meters at different settings on one line are refused before anything starts.
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
agents:
  - { id: a1, mode: process, devices: [m1, m2, m3, m4, m5, c1] }
  - { id: a2, mode: process, devices: [c2, e1] }
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
    ['m3', 'm5', 'e1'],
  );
  t.is(simulatedPart(s, new Map()), s);
});

test('refused before anything starts: an ess mapping, an unknown id, the wrong kind of port, two settings on one line', (t) => {
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return isLightNodeError(e) ? e.message : String(e);
    }
    return 'no error';
  };
  t.regex(
    code(() => checkRealPorts(s, ports({ e1: tcp('ess.lan', 502) }))),
    /^HIL_REAL_PORTS_INVALID: .*e1: a real ess device is not wired into this runner yet \(the mapping comes with the ESS peer\)/,
  );
  t.regex(
    code(() => checkRealPorts(s, ports({ m9: tcp('x', 1) }))),
    /^HIL_REAL_PORTS_INVALID: real port of m9: expected a device id of scenario real/,
  );
  t.regex(
    code(() => checkRealPorts(s, ports({ m1: tcp('x', 1) }))),
    /^HIL_REAL_PORTS_INVALID: real port of m1: expected a serial port \(Modbus RTU\), received x:1/,
  );
  const mixed = realDevicePeers(s, ports({ m3: tty('/dev/ttyUSB1'), m5: tty('/dev/ttyUSB1') }));
  t.regex(
    code(() => checkRealLines(mixed)),
    /^HIL_REAL_PORTS_INVALID: real port of m5: expected the line settings of m3 on the same port \(9600 none\), received 19200 even/,
  );
});
