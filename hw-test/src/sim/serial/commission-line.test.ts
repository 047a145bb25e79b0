// `lightnode commission --non-interactive` with its real RS-485 scan (every builtin profile's identify registers, each
// (baud, parity) in the order) on in-process line models: a pty ignores baud and parity, so only a line that
// garbles frames at the wrong setting shows the scan finding the right one. Two ports, at settings no profile
// defaults to; the fake clock gives every timeout its time.
import test from 'ava';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinProfiles, parseAgentConfig } from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { settle } from '@lightnode/edge/testing';
import { commissionCommand, scanSerialDep, type CommandDeps } from '@lightnode/provisioning';
import { captureIo } from '@lightnode/provisioning/testing';
import { MeterSimulator } from '../modbus/simulator.js';
import { LineModel } from './line-model.js';

const POD = 'IT001E12345678';

interface Meter {
  profile: string;
  unit: number;
  port: string;
  baud: number;
  parity: string;
  serialNumber?: string;
  readings: Record<string, unknown>;
}

test('commission finds each meter at its line’s (baud, parity), reads it there, and writes those settings', async (t) => {
  const clock = new FakeClock(Date.UTC(2026, 11, 2, 10));
  const profiles = builtinProfiles();
  const sim = (id: string, unit: number) => new MeterSimulator({ profile: profiles.get(id), unit, clock });
  // 38400/even and 115200/none: neither is any profile's default, so the scan walks the common settings to them
  const lines = new Map([
    [
      '/dev/ttyLM2',
      new LineModel({
        baud: 38400,
        parity: 'even',
        devices: [sim('eastron/sdm630', 1), sim('carlo-gavazzi/em24', 2)],
        clock,
        name: 'ttyLM2',
      }),
    ],
    [
      '/dev/ttyLM3',
      new LineModel({ baud: 115200, parity: 'none', devices: [sim('abb/b23', 1)], clock, name: 'ttyLM3' }),
    ],
  ]);
  const lineOf = (path: string): LineModel => {
    const l = lines.get(path);
    if (!l) throw new Error(`no line model at ${path}`);
    return l;
  };
  const dir = mkdtempSync(join(tmpdir(), 'commission-line-'));
  const configOut = join(dir, 'etc', 'agent.json');
  // the uplink comes from the earlier config (no --cloud: the cloud check is skipped, the config still has one)
  mkdirSync(join(dir, 'etc'));
  writeFileSync(configOut, JSON.stringify({ podId: POD, uplink: { url: 'mqtts://broker.example:8883' } }));
  const progress: string[] = [];
  const deps: CommandDeps = {
    clock,
    scanSerial: (path, o) => scanSerialDep(path, o, (s) => lineOf(path).open(s)),
    scanTcp: () => Promise.reject(new Error('no --tcp given')),
    enroll: () => Promise.reject(new Error('no --enroll given')),
    openTransport: (d) => lineOf(d.port!).open({ baud: d.baud!, parity: d.parity! }),
    machineSerial: () => ({ serial: 'LN-LINE-0001', source: 'test' }),
    agentVersion: '0.1.0-test',
    onEvent: (e) => {
      if (e.type === 'progress') progress.push(e.detail);
    },
  };
  const c = captureIo();
  const argv = [
    '--non-interactive',
    '--pod',
    POD,
    '--rs485',
    '/dev/ttyLM2,/dev/ttyLM3',
    '--state-dir',
    join(dir, 'state'),
    '--config-out',
    configOut,
    '--out',
    join(dir, 'out'),
    '--json',
  ];
  const code = await settle(clock, commissionCommand(deps).run(argv, c.io));
  t.is(code, 0, c.err.join(''));
  const out = JSON.parse(c.out[0]!) as {
    meters: Meter[];
    checks: { id: string; result: string; detail: string }[];
    configPath: string;
  };
  const rs485 = out.checks.find((x) => x.id === 'rs485')!;
  t.is(rs485.result, 'pass', rs485.detail);
  t.deepEqual(
    out.meters.map((m) => [m.port, m.profile, m.unit, m.baud, m.parity]).sort(),
    [
      ['/dev/ttyLM2', 'carlo-gavazzi/em24', 2, 38400, 'even'],
      ['/dev/ttyLM2', 'eastron/sdm630', 1, 38400, 'even'],
      ['/dev/ttyLM3', 'abb/b23', 1, 115200, 'none'],
    ],
    rs485.detail,
  );
  for (const m of out.meters) {
    t.truthy(m.serialNumber, `${m.profile}: its serial number read`);
    t.true(Object.keys(m.readings).length > 0, `${m.profile}: values read at ${m.baud}/${m.parity}`);
  }
  // the wrong settings were tried first and garbled on the line; the right one answered
  for (const [path, line] of lines) {
    t.true(line.stats.garbledRequests > 0, `${path}: requests at other settings reached the devices as garbage`);
    t.true(line.stats.replies > 0, `${path}: answered at its own setting`);
  }
  t.true(
    progress.some((p) => p.includes('9600')),
    'progress names the settings as they are tried',
  );

  // the config the agent would run: valid, each line at the setting its meters answered
  const config = parseAgentConfig(JSON.parse(readFileSync(out.configPath, 'utf8')), out.configPath);
  const rtu = Object.fromEntries(
    config.lines.map((l) => {
      const tr = l.transport as { rtu?: { path: string; baud: number; parity: string } };
      return [tr.rtu?.path, [tr.rtu?.baud, tr.rtu?.parity, l.meters.map((m) => m.profile).sort()]];
    }),
  );
  t.deepEqual(rtu, {
    '/dev/ttyLM2': [38400, 'even', ['carlo-gavazzi/em24', 'eastron/sdm630']],
    '/dev/ttyLM3': [115200, 'none', ['abb/b23']],
  });
  t.is(config.podId, POD);
  t.is(config.uplink.url, 'mqtts://broker.example:8883');
});
