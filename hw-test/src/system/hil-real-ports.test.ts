// `lightnode hil run --real-ports`: the "real" devices are meters the runner did not start — `lightnode sim meter`
// processes of their own, one on a socat pty pair (a real tty path, as an RS-485 adapter would be) and one on Modbus
// TCP — next to a meter the runner simulates. The agent reads all three (each meter good, the real ones counting the
// agent's requests), a kill -9 still applies, every invariant holds, and the events and notes say which were real.
// And a "real" battery: a `lightnode sim ess --sunspec` process the runner did not start, mapped as e1: the agent
// reads its PoD meter and commands it (the process's own events show the command), the setpoint invariants hold
// from the device-signed acks (the runner sees no battery events), and the report says e1 was real.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BIN, cli } from '../hil/harness.js';
import { spawnEssSim } from '../sim/ess/index.js';

interface RealMeter {
  /** Where the agent reaches it: the pty's client end, or 127.0.0.1:PORT. */
  port: string;
  /** SIGTERM; resolves with the requests it served (its last stderr line). */
  stop(): Promise<number>;
}

/** A `lightnode sim meter` process (the "hardware"), listening once it printed its JSON line. */
async function startRealMeter(over: string[]): Promise<RealMeter> {
  const child = spawn(process.execPath, [BIN, 'sim', 'meter', '--profile', 'eastron/sdm630', ...over], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`lightnode sim meter exited ${code} before listening: ${err}`)));
  });
  const j = JSON.parse(first) as { listening: string; clientPath?: string };
  return {
    port: j.clientPath ?? new URL(j.listening).host,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      return Number(/stopped after (\d+) requests/.exec(err)?.[1] ?? NaN);
    },
  };
}

const SCENARIO = `
name: real-ports-meters
description: two real meters (a tty, Modbus TCP) and a simulated one on one agent, a kill -9 in the middle
seed: 3
durationS: 16
cloud: { kind: mosquitto }
devices:
  - { id: m1, kind: meter, profile: eastron/sdm630, unit: 1, pollMs: 500, rtu: true }
  - { id: m2, kind: meter, profile: eastron/sdm630, unit: 1, pollMs: 500, tcp: true }
  - { id: m3, kind: meter, profile: eastron/sdm630, unit: 1, pollMs: 500, tcp: true }
agents:
  - { id: a1, mode: process, devices: [m1, m2, m3] }
timeline:
  - { atS: 6, do: kill9, agent: a1, restartAfterS: 1 }
invariants: [noSampleLost, noSeqConflict, batchesVerify, { coveragePct: 70 }]
`;

test.serial(
  'hil run --real-ports: a tty meter and a TCP meter the runner did not start are read, the report says so',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'lightnode-real-ports-'));
    const file = join(dir, 'real.yaml');
    writeFileSync(file, SCENARIO);
    const rtu = await startRealMeter(['--serial', 'pty']);
    const tcp = await startRealMeter(['--tcp', '127.0.0.1:0']);
    try {
      const map = JSON.stringify({ m1: rtu.port, m2: tcp.port });
      const junit = join(dir, 'junit.xml');
      const r = await cli(['hil', 'run', file, '--real-ports', map, '--json', '--junit', junit]);
      const out = JSON.parse(r.out) as {
        passed: boolean;
        invariants: { name: string; passed: boolean; detail: string }[];
        events: { do: string; target?: string; detail: string }[];
      };
      t.log(r.err.split('\n').slice(0, 12).join('\n'));
      for (const i of out.invariants) t.true(i.passed, `${i.name}: ${i.detail}`);
      t.true(out.passed);
      t.is(r.code, 0);
      const real = out.events.filter((e) => e.do === 'real');
      t.deepEqual(
        real.map((e) => [e.target, e.detail]),
        [
          ['m1', `not simulated: the agent talks to the real device at ${rtu.port}`],
          ['m2', `not simulated: the agent talks to the real device at ${tcp.port}`],
        ],
      );
      t.regex(out.events.find((e) => e.do === 'run')!.detail, /3 devices \(2 real\)/);
      t.true(
        out.events.some((e) => e.do === 'kill9' && e.target === 'a1'),
        'the kill still applies',
      );
      t.regex(out.events.find((e) => e.do === 'meters')?.detail ?? '', /m1 good .*m2 good .*m3 good/);
      // the reports carry it as a note (JUnit: a property of the suite)
      t.true(
        readFileSync(junit, 'utf8').includes(
          `<property name="note" value="real devices (not simulated): m1 at ${rtu.port}, m2 at ${tcp.port}"/>`,
        ),
      );
    } finally {
      const served = [await rtu.stop(), await tcp.stop()];
      t.true(
        served.every((n) => n > 10),
        `each real meter answered the agent's polls: ${served.join(', ')} requests`,
      );
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

const ESS_SCENARIO = (r: { maxDischargeW: number; maxChargeW: number; capacityWh: number }) => `
name: real-ports-ess
description: a real SunSpec battery (a process of its own) takes a setpoint and hands back at its end
seed: 5
durationS: 22
cloud: { kind: mosquitto }
devices:
  - { id: e1, kind: ess, sunspec: true, maxDischargeW: ${r.maxDischargeW}, maxChargeW: ${r.maxChargeW}, capacityWh: ${r.capacityWh} }
agents:
  - { id: a1, mode: process, devices: [e1] }
timeline:
  - { atS: 5, do: setpoint, agent: a1, targetW: 500, forS: 8 }
invariants: [noSampleLost, batchesVerify, { setpointAppliedWithinS: 5 }, { autonomousWithinS: 5 }]
`;

test.serial(
  'hil run --real-ports: a SunSpec battery the runner did not start is commanded; the setpoint holds from the acks',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'lightnode-real-ess-'));
    // the "hardware": a house load of 1 500 W, the battery idle until told (the PoD reads the whole load)
    const ess = await spawnEssSim(['--sunspec', '--tcp', '127.0.0.1:0', '--load-w', '1500', '--autonomous', 'idle']);
    try {
      const file = join(dir, 'real-ess.yaml');
      writeFileSync(file, ESS_SCENARIO(ess.ready)); // its ratings from its datasheet (here: what it says it is)
      const port = `127.0.0.1:${new URL(ess.ready.listening).port}`;
      const r = await cli(['hil', 'run', file, '--real-ports', JSON.stringify({ e1: port }), '--json']);
      t.log(r.err.split('\n').slice(0, 14).join('\n'));
      const out = JSON.parse(r.out) as {
        passed: boolean;
        invariants: { name: string; passed: boolean; detail: string }[];
        events: { do: string; target?: string; detail: string }[];
      };
      for (const i of out.invariants) t.true(i.passed, `${i.name}: ${i.detail}`);
      t.true(out.passed);
      t.is(r.code, 0);
      t.deepEqual(
        out.events.filter((e) => e.do === 'real').map((e) => [e.target, e.detail]),
        [['e1', `not simulated: the agent talks to the real device at ${port}`]],
      );
      t.regex(out.events.find((e) => e.do === 'run')!.detail, /1 devices \(1 real\)/);
      // the baseline the runner sent: the agent's own PoD + battery reading (1 500 W house load, battery idle)
      t.regex(
        out.events.find((e) => e.do === 'setpoint')!.detail,
        /500 W at PoD .* \(baseline from the agent's PoD \+ battery reading 1500 W/,
      );
      const applied = out.invariants.find((i) => i.name === 'setpointAppliedWithinS')!;
      t.regex(applied.detail, /real battery of .*: from the device-signed applied acks/);
      t.regex(out.invariants.find((i) => i.name === 'autonomousWithinS')!.detail, /its release not observed/);
      // the battery's own events (the process's stdout): the agent commanded it — 1 000 W discharge brings the
      // 1 500 W load to 500 W at the PoD — and released it at the window's end
      const command = await ess.waitEvent((e) => e.event === 'command' && e.commandW === 1000, 1000);
      t.is(command.commandW, 1000);
      t.truthy(
        ess.events.find((e) => e.event === 'release' && e.atMs > command.atMs),
        'released after the window',
      );
    } finally {
      await ess.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
