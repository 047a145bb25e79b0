// Interop: our Modbus reader against an independent server (Debian's pymodbus) over TCP and RTU on a pty pair, and
// an independent master (mbpoll) reading our simulator over TCP and RTU. (The 4-meter RTU line with a dead meter is
// the scenario rs485-dead-and-noisy, hil-scenarios.test.ts.)
import test from 'ava';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinProfiles, imageFromProfile, systemClock, type QuantityName } from '@lightnode/protocols';
import { ModbusLine, ModbusMeter, ModbusSerialTransport } from '@lightnode/edge';
import { CONTRACT_VALUES, meterReadingContract } from '@lightnode/edge/testing';
import {
  MeterSimulator,
  createPtyPair,
  freePort,
  parseMbpoll,
  runMbpoll,
  serveRtu,
  serveTcp,
  startPymodbus,
} from '../index.js';

const profiles = builtinProfiles();
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

meterReadingContract(test, 'pymodbus over Modbus TCP', async (profileId, values) => {
  const port = await freePort();
  const peer = await startPymodbus({
    mode: 'tcp',
    port,
    units: { 1: imageFromProfile(profiles.get(profileId), values) },
  });
  const transport = new ModbusSerialTransport({ tcp: { host: '127.0.0.1', port } });
  return {
    transport,
    unit: 1,
    close: async () => {
      await transport.close();
      await peer.stop();
    },
  };
});

meterReadingContract(test, 'pymodbus over Modbus RTU on a pty pair', async (profileId, values) => {
  const pty = await createPtyPair();
  const peer = await startPymodbus({
    mode: 'rtu',
    device: pty.a,
    baud: 9600,
    units: { 1: imageFromProfile(profiles.get(profileId), values) },
  });
  const transport = new ModbusSerialTransport({ rtu: { path: pty.b, baud: 9600, parity: 'none' } });
  return {
    transport,
    unit: 1,
    close: async () => {
      await transport.close();
      await peer.stop();
      await pty.stop();
    },
  };
});

meterReadingContract(test, 'our simulator over Modbus TCP', async (profileId, values) => {
  const sim = new MeterSimulator({ profile: profiles.get(profileId), unit: 5, clock: systemClock, values });
  const server = await serveTcp([sim]);
  const transport = new ModbusSerialTransport({ tcp: { host: '127.0.0.1', port: server.port! } });
  return {
    transport,
    unit: 5,
    close: async () => {
      await transport.close();
      await server.close();
    },
  };
});

const sdmValues = CONTRACT_VALUES['eastron/sdm630']!;

test('mbpoll reads our simulated SDM630 over Modbus TCP (float32, big-endian words)', async (t) => {
  const sim = new MeterSimulator({
    profile: profiles.get('eastron/sdm630'),
    unit: 1,
    clock: systemClock,
    values: sdmValues,
  });
  const server = await serveTcp([sim]);
  try {
    // input registers (-t 3:float), 1-based reference 1 = PDU address 0, 3 floats: V L1..L3
    const out = await runMbpoll([
      '-m',
      'tcp',
      '-p',
      String(server.port),
      '-a',
      '1',
      '-t',
      '3:float',
      '-B',
      '-r',
      '1',
      '-c',
      '3',
      '-1',
      '127.0.0.1',
    ]);
    const v = parseMbpoll(out);
    t.is(Math.round(v.get(1)! * 10), 2301, out);
    t.is(Math.round(v.get(3)! * 10), 2298, out);
    t.is(Math.round(v.get(5)! * 10), 2312, out);
    const energy = parseMbpoll(
      await runMbpoll([
        '-m',
        'tcp',
        '-p',
        String(server.port),
        '-a',
        '1',
        '-t',
        '3:float',
        '-B',
        '-r',
        String(0x48 + 1),
        '-c',
        '1',
        '-1',
        '127.0.0.1',
      ]),
    );
    // mbpoll prints 6 significant digits (%g): 12345.678 kWh shows as 12345.7
    t.true(Math.abs(energy.get(0x49)! * 1000 - sdmValues.energyImportWh!) <= 50, String(energy.get(0x49)));
  } finally {
    await server.close();
  }
});

test('mbpoll reads our simulated EM24 over Modbus RTU on a pty pair (word-swapped int32 with scale)', async (t) => {
  const pty = await createPtyPair();
  const sim = new MeterSimulator({
    profile: profiles.get('carlo-gavazzi/em24'),
    unit: 3,
    clock: systemClock,
    values: CONTRACT_VALUES['carlo-gavazzi/em24']!,
  });
  const server = await serveRtu([sim], { path: pty.a, baud: 9600 });
  try {
    // mbpoll default 32-bit word order is little-endian (low word first) — EM24's order
    const out = await runMbpoll([
      '-m',
      'rtu',
      '-b',
      '9600',
      '-P',
      'none',
      '-a',
      '3',
      '-t',
      '3:int',
      '-r',
      '1',
      '-c',
      '3',
      '-1',
      pty.b,
    ]);
    const v = parseMbpoll(out);
    t.is(v.get(1), 2301, out); // 230.1 V × 10
    t.is(v.get(3), 2298, out);
    const p = parseMbpoll(
      await runMbpoll([
        '-m',
        'rtu',
        '-b',
        '9600',
        '-P',
        'none',
        '-a',
        '3',
        '-t',
        '3:int',
        '-r',
        String(0x14 + 1),
        '-c',
        '1',
        '-1',
        pty.b,
      ]),
    );
    t.is(p.get(0x15), -19000); // −1900 W × 10 on L2
  } finally {
    await server.close();
    await pty.stop();
  }
});

test('`lightnode meter read --json` reads the simulator end to end through the CLI', async (t) => {
  const sim = new MeterSimulator({
    profile: profiles.get('eastron/sdm630'),
    unit: 1,
    clock: systemClock,
    values: sdmValues,
  });
  const server = await serveTcp([sim]);
  try {
    const out = await new Promise<string>((resolve, reject) => {
      const c = spawn(
        process.execPath,
        [
          join(root, 'bin', 'lightnode.mjs'),
          'meter',
          'read',
          '--profile',
          'eastron/sdm630',
          '--tcp',
          `127.0.0.1:${server.port}`,
          '--json',
          '--raw',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let o = '';
      let e = '';
      c.stdout.on('data', (d: Buffer) => (o += d.toString()));
      c.stderr.on('data', (d: Buffer) => (e += d.toString()));
      c.on('exit', (code) => (code === 0 ? resolve(o) : reject(new Error(`exit ${code}: ${e}`))));
    });
    const r = JSON.parse(out) as {
      quantities: Record<string, number>;
      quality: Record<string, string>;
      timings: { requests: number };
      raw: unknown[];
    };
    t.is(r.quantities.voltageL1mV, 230_100);
    t.is(r.quantities.energyImportWh, sdmValues.energyImportWh);
    t.is(r.quality.activePowerW, 'good');
    t.true(r.timings.requests >= 1 && r.timings.requests <= 5);
    t.true(r.raw.length > 10);
  } finally {
    await server.close();
  }
});

test('faults: timeouts, exceptions and a corrupted byte are survived and reported as quality, never thrown', async (t) => {
  const pty = await createPtyPair();
  const sdm = profiles.get('eastron/sdm630');
  const flaky = new MeterSimulator({
    profile: sdm,
    unit: 1,
    clock: systemClock,
    values: sdmValues,
    faults: [
      { kind: 'corrupt-byte', every: 3 },
      { kind: 'exception', code: 4, every: 5 },
    ],
    random: () => 0,
  });
  const server = await serveRtu([flaky], { path: pty.a, baud: 9600 });
  const transport = new ModbusSerialTransport({ rtu: { path: pty.b, baud: 9600, parity: 'none' } });
  const line = new ModbusLine(transport, { clock: systemClock, baud: 9600 });
  const meter = new ModbusMeter({
    id: 'flaky',
    profile: sdm,
    device: line.addDevice({ name: 'flaky', unit: 1, timeoutMs: 200, retries: 2, backoffBaseMs: 0, backoffMaxMs: 0 }),
    clock: systemClock,
  });
  try {
    const qualities = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const r = await meter.read({ includeSlow: true });
      for (const v of Object.values(r.values)) qualities.add(v.quality);
      for (const q of Object.keys(sdmValues) as QuantityName[])
        if (r.values[q]?.quality === 'good') t.is(r.values[q].value, sdmValues[q], q);
    }
    t.true(qualities.has('good'));
    const errs = line.health().devices[0]!.errors;
    t.true((errs.MODBUS_EXCEPTION ?? 0) >= 1, JSON.stringify(errs));
    t.true((errs.MODBUS_CRC ?? 0) + (errs.MODBUS_TIMEOUT ?? 0) + (errs.MODBUS_FRAME ?? 0) >= 1, JSON.stringify(errs));
  } finally {
    await line.close();
    await server.close();
    await pty.stop();
  }
});

test('the CLI names the device and the cause: refused TCP connection, missing serial port, unknown profile, exception', async (t) => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; err: string }>((resolve) => {
      const c = spawn(process.execPath, [join(root, 'bin', 'lightnode.mjs'), 'meter', 'read', ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let e = '';
      c.stderr.on('data', (d: Buffer) => (e += d.toString()));
      c.on('exit', (code) => resolve({ code, err: e }));
    });
  const port = await freePort();
  let r = await run(['--profile', 'eastron/sdm630', '--tcp', `127.0.0.1:${port}`]);
  t.is(r.code, 1);
  t.regex(r.err, new RegExp(`MODBUS_CONNECT: tcp://127\\.0\\.0\\.1:${port}: connection refused`));
  r = await run(['--profile', 'eastron/sdm630', '--serial', '/dev/ttyLIGHTNODE-NONE']);
  t.is(r.code, 1);
  t.regex(r.err, /MODBUS_PORT_MISSING: rtu:\/\/\/dev\/ttyLIGHTNODE-NONE@9600,8N1/);
  r = await run(['--profile', 'acme/none', '--tcp', '127.0.0.1:1']);
  t.is(r.code, 1);
  t.regex(r.err, /PROFILE_UNKNOWN/);
  r = await run(['--profile', 'eastron/sdm630']);
  t.is(r.code, 2);
  const sim = new MeterSimulator({
    profile: profiles.get('eastron/sdm630'),
    unit: 1,
    clock: systemClock,
    faults: [{ kind: 'exception', code: 2 }],
  });
  const server = await serveTcp([sim]);
  try {
    r = await run(['--profile', 'eastron/sdm630', '--tcp', `127.0.0.1:${server.port}`]);
    t.is(r.code, 1);
    t.regex(r.err, /MODBUS_EXCEPTION: .*eastron\/sdm630.*no register could be read/);
  } finally {
    await server.close();
  }
});
