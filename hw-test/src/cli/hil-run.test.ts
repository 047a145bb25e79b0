// `lightnode hil run` through the real bin, on the inputs it must refuse: an invalid scenario (HIL_SCENARIO_INVALID
// at file:line:column, nothing started), bad flags, and an action that cannot be played (the run breaks, named,
// exit 1). The runs themselves are system tests (src/system/hil-scenarios.test.ts).
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const bin = join(root, 'bin', 'lightnode.mjs');
const storm = readFileSync(join(root, 'hw-test', 'scenarios', 'power-cut-storm.yaml'), 'utf8');

function lightnode(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: root, timeout: 60_000 }, (e, out, err) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, out, err });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'lightnode-hil-run-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('an invalid scenario: exit 1, HIL_SCENARIO_INVALID naming file:line:column, no event (nothing started)', async (t) => {
  const bad = join(dir, 'unknown-do.yaml');
  writeFileSync(bad, storm.replace('do: kill9', 'do: kill-9'));
  const line = storm.split('\n').findIndex((l) => l.includes('do: kill9')) + 1;
  const r = await lightnode(['hil', 'run', bad, '--json']);
  t.is(r.code, 1);
  t.regex(r.err, /HIL_SCENARIO_INVALID/);
  t.true(r.err.includes(`${bad}:${line}:`), r.err);
  t.notRegex(r.err, /\[t=/);
  t.is(r.out, '');
});

test('bad flags: exit 2 (a usage error) naming the flag', async (t) => {
  const r = await lightnode(['hil', 'run', join(root, 'hw-test', 'scenarios', 'power-cut-storm.yaml'), '--speed', '0']);
  t.is(r.code, 2);
  t.regex(r.err, /--speed: expected a number/);
  const none = await lightnode(['hil', 'run']);
  t.is(none.code, 2);
  t.regex(none.err, /expected exactly one SCENARIO file/);
});

test('an action that cannot be played: exit 1, --json says the run broke at that timeline entry, named', async (t) => {
  const f = join(dir, 'setpoint-replay.yaml');
  // a battery beside the meter (a setpoint action needs one), and a replay with no setpoint sent before it
  const head = storm
    .slice(0, storm.indexOf('timeline:'))
    .replace('tcp: true }\n', 'tcp: true }\n  - { id: e1, kind: ess, sunspec: true }\n')
    .replace('devices: [m1]', 'devices: [m1, e1]');
  writeFileSync(f, `${head}timeline:\n  - { atS: 1, do: setpoint-replay, agent: a1 }\ninvariants: [noSampleLost]\n`);
  const r = await lightnode(['hil', 'run', f, '--json']);
  t.is(r.code, 1, r.err);
  const j = JSON.parse(r.out) as { passed: boolean; broke?: { stage: string; message: string }; events: unknown[] };
  t.false(j.passed);
  t.is(j.broke?.stage, 'timeline[0] setpoint-replay');
  t.regex(j.broke?.message ?? '', /setpoint-replay a1: no setpoint was sent to it before/);
  t.regex(r.err, /\] broke timeline\[0\] setpoint-replay: /);
});

test('--real-ports: an unknown id, a missing tty, a fault on a mapped device → exit 1, nothing started', async (t) => {
  const tcp = join(dir, 'real-tcp.yaml');
  writeFileSync(tcp, storm);
  const rtu = join(dir, 'real-rtu.yaml');
  writeFileSync(rtu, storm.replace('tcp: true', 'rtu: true'));
  const faulty = join(dir, 'real-faulty.yaml');
  const first = '  - { atS: 10.0, do: kill9';
  writeFileSync(
    faulty,
    storm.replace(first, `  - { atS: 2, do: device-fault, device: m1, fault: timeout, forS: 1 }\n${first}`),
  );
  const cases: [string, string, RegExp][] = [
    [
      tcp,
      '{"m9": "127.0.0.1:502"}',
      /HIL_REAL_PORTS_INVALID: --real-ports "m9": expected a device id of scenario power-cut-storm/,
    ],
    [
      rtu,
      `{"m1": "${join(dir, 'ttyUSB9')}"}`,
      /HIL_REAL_PORTS_INVALID: --real-ports "m1": expected an existing serial device/,
    ],
    [tcp, '{"m1": "/dev/ttyUSB0"}', /HIL_REAL_PORTS_INVALID: --real-ports "m1": expected HOST\[:PORT\]/],
    [
      faulty,
      '{"m1": "127.0.0.1:502"}',
      /HIL_FAULT_NEEDS_SIMULATOR: power-cut-storm: device m1 is real \(127\.0\.0\.1:502\) but device-fault at atS 2/,
    ],
  ];
  for (const [f, map, want] of cases) {
    const r = await lightnode(['hil', 'run', f, '--real-ports', map, '--json']);
    t.is(r.code, 1, r.err);
    t.regex(r.err, want);
    t.notRegex(r.err, /\[t=/, 'no event: nothing started');
    t.is(r.out, '');
  }
});

test('--real-ports with a battery: unrated, over REST, with faults or a load on it → exit 1, nothing started', async (t) => {
  const head = storm.slice(0, storm.indexOf('timeline:')).replace('devices: [m1]', 'devices: [m1, e1]');
  const rated = 'maxDischargeW: 3000, maxChargeW: 3000, capacityWh: 9600';
  const withEss = (name: string, ess: string, timeline = '') => {
    const f = join(dir, `${name}.yaml`);
    const devices = head.replace('tcp: true }\n', `tcp: true }\n  - { id: e1, kind: ess, ${ess} }\n`);
    writeFileSync(
      f,
      `${devices}timeline:\n  - { atS: 1, do: setpoint, agent: a1, targetW: 0, forS: 5 }\n${timeline}invariants: [noSampleLost]\n`,
    );
    return f;
  };
  const cases: [string, RegExp][] = [
    [
      withEss('ess-unrated', 'sunspec: true, maxChargeW: 3000'),
      /HIL_REAL_PORTS_INVALID: real port of e1: a real battery needs its ratings .*missing maxDischargeW, capacityWh on device e1/,
    ],
    [
      withEss('ess-rest', `rest: 127.0.0.1:0, ${rated}`),
      /HIL_REAL_PORTS_INVALID: real port of e1: a real ess is reached over Modbus TCP .* but e1 speaks REST/,
    ],
    [
      withEss('ess-faulty', `sunspec: true, ${rated}, faults: [refuse]`),
      /HIL_FAULT_NEEDS_SIMULATOR: power-cut-storm: device e1 is real \(127\.0\.0\.1:1502\) but its own faults/,
    ],
    [
      withEss('ess-load', `sunspec: true, ${rated}`, '  - { atS: 3, do: load, device: e1, powerW: 900 }\n'),
      /HIL_FAULT_NEEDS_SIMULATOR: power-cut-storm: device e1 is real \(127\.0\.0\.1:1502\) but load at atS 3/,
    ],
  ];
  for (const [f, want] of cases) {
    const r = await lightnode(['hil', 'run', f, '--real-ports', '{"e1": "127.0.0.1:1502"}', '--json']);
    t.is(r.code, 1, r.err);
    t.regex(r.err, want);
    t.notRegex(r.err, /\[t=/, 'no event: nothing started');
    t.is(r.out, '');
  }
});
