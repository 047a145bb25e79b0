/**
 * `npm run -s bench -- modbus [--json] [--n N]`:
 * (1) transactions/s through the bus scheduler on a pty line to the simulator (no wire timing), and the scheduler's
 *     overhead per transaction vs the bare modbus-serial client doing the same reads;
 * (2) the fraction of the theoretical wire limit reached at 9600 and 19200 baud with the simulator emulating wire
 *     timing: theoretical time of one transaction = (request + response chars) × 11 / baud + 2 × t3.5 + the
 *     simulator's turnaround;
 * (3) requests per poll planned vs one request per point, for every built-in profile.
 */
import ModbusSerial from 'modbus-serial';
import { builtinProfiles, pointRegisters, rtuTiming, systemClock } from '@lightnode/protocols';
import { ModbusLine, ModbusMeter, ModbusSerialTransport } from '@lightnode/edge';
import { MeterSimulator, createPtyPair, serveRtu } from '@lightnode/hw-test';
import { emit, type BenchResult } from './common.js';

const profiles = builtinProfiles();
const REGS = 20; // one read of 20 input registers (SDM630 V, I, P per phase + VA L1): 8-char request, 45-char reply

/** A simulated SDM630 (unit 1) served over RTU on one end of a pty pair; `fn` gets the other end's path. */
async function withSimulatedMeter<T>(
  serve: { baud: number; wireTiming?: boolean; turnaroundMs?: number },
  fn: (path: string) => Promise<T>,
): Promise<T> {
  const pty = await createPtyPair();
  const sim = new MeterSimulator({
    profile: profiles.get('eastron/sdm630'),
    unit: 1,
    clock: systemClock,
    load: { seed: 1 },
  });
  const server = await serveRtu([sim], { path: pty.a, ...serve });
  try {
    return await fn(pty.b);
  } finally {
    await server.close();
    await pty.stop();
  }
}

async function withLine<T>(
  baud: number,
  wireTiming: boolean,
  turnaroundMs: number,
  fn: (line: ModbusLine, path: string) => Promise<T>,
): Promise<T> {
  return withSimulatedMeter({ baud, wireTiming, turnaroundMs }, async (path) => {
    const transport = new ModbusSerialTransport({ rtu: { path, baud, parity: 'none' } });
    const line = new ModbusLine(transport, { clock: systemClock, baud });
    try {
      return await fn(line, path);
    } finally {
      await line.close();
    }
  });
}

export async function main(args: string[]): Promise<number> {
  const ni = args.indexOf('--n');
  const n = ni >= 0 ? Number(args[ni + 1]) : 400;
  const results: BenchResult[] = [];
  const ratios: Record<string, number> = {};

  // (1) throughput and scheduler overhead, no wire timing, zero gap
  const raw = await withSimulatedMeter({ baud: 115200 }, async (path) => {
    const client = new ModbusSerial.default();
    await client.connectRTUBuffered(path, { baudRate: 115200 });
    client.setID(1);
    client.setTimeout(500);
    for (let i = 0; i < 20; i++) await client.readInputRegisters(0, REGS);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await client.readInputRegisters(0, REGS);
    const ms = performance.now() - t0;
    await new Promise<void>((r) => client.close(() => r()));
    return ms / n;
  });
  const sched = await withSimulatedMeter({ baud: 115200 }, async (path) => {
    const line = new ModbusLine(new ModbusSerialTransport({ rtu: { path, baud: 115200, parity: 'none' } }), {
      clock: systemClock,
      interFrameGapMs: 0,
    });
    try {
      const dev = line.addDevice({ name: 'm', unit: 1, timeoutMs: 500 });
      for (let i = 0; i < 20; i++) await dev.read(4, 0, REGS);
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await dev.read(4, 0, REGS);
      return (performance.now() - t0) / n;
    } finally {
      await line.close();
    }
  });
  results.push(
    { name: 'pty.bareClient.msPerTransaction', value: raw, unit: 'ms' },
    { name: 'pty.scheduler.msPerTransaction', value: sched, unit: 'ms' },
    { name: 'pty.scheduler.transactionsPerS', value: 1000 / sched, unit: 'tx/s' },
    { name: 'scheduler.overheadPerTransaction', value: (sched - raw) * 1000, unit: 'µs' },
  );

  // (2) wire efficiency with emulated wire timing
  const turnaroundMs = 5;
  for (const baud of [9600, 19200]) {
    const { charMs, t35Ms } = rtuTiming(baud);
    const theoretical = (8 + (5 + 2 * REGS)) * charMs + 2 * t35Ms + turnaroundMs;
    const rounds = Math.max(40, Math.floor(n / 4));
    const measured = await withLine(baud, true, turnaroundMs, async (line) => {
      const dev = line.addDevice({ name: 'm', unit: 1, timeoutMs: 1000 });
      for (let i = 0; i < 5; i++) await dev.read(4, 0, REGS);
      const t0 = performance.now();
      for (let i = 0; i < rounds; i++) await dev.read(4, 0, REGS);
      return (performance.now() - t0) / rounds;
    });
    results.push(
      { name: `wire${baud}.theoreticalMsPerTransaction`, value: theoretical, unit: 'ms' },
      { name: `wire${baud}.measuredMsPerTransaction`, value: measured, unit: 'ms' },
    );
    ratios[`wireEfficiency${baud}`] = theoretical / measured;
  }

  // (3) planned requests per poll vs one request per point
  let planned = 0;
  let perPoint = 0;
  for (const id of profiles.list()) {
    const p = profiles.get(id);
    if (id === 'sunspec/common') continue;
    const meter = new ModbusMeter({
      id,
      profile: p,
      device: { name: id, unit: 1, read: async () => [], write: async () => undefined, health: () => ({}) as never },
      clock: systemClock,
    });
    const plan = meter.plan(true);
    const points = p.points.length;
    planned += plan.requests.length;
    perPoint += points;
    results.push({
      name: `plan.${id}`,
      value: plan.requests.length,
      unit: `requests for ${points} points (${p.points.reduce((a, x) => a + pointRegisters(x), 0)} registers)`,
    });
  }
  ratios.requestsPerPointOverPlanned = perPoint / planned;

  // a full SDM630 poll on a 9600-baud line, for scale
  const poll = await withLine(9600, true, turnaroundMs, async (line) => {
    const m = new ModbusMeter({
      id: 'm',
      profile: profiles.get('eastron/sdm630'),
      device: line.addDevice({ name: 'm', unit: 1, timeoutMs: 1000 }),
      clock: systemClock,
    });
    await m.read({ includeSlow: true });
    const t0 = performance.now();
    const r = await m.read({ includeSlow: false });
    return { ms: performance.now() - t0, requests: r.timings.requests };
  });
  results.push({ name: 'sdm630.fastPoll9600.ms', value: poll.ms, unit: `ms (${poll.requests} requests)` });

  emit(
    {
      bench: 'modbus',
      command: `npm run -s bench -- modbus${ni >= 0 ? ` --n ${n}` : ''}`,
      dataset: `simulated SDM630 on a socat pty pair; ${n} reads of ${REGS} input registers (FC 04) for throughput; simulator turnaround ${turnaroundMs} ms with wire timing for efficiency`,
      results,
      ratios,
    },
    args,
  );
  return 0;
}
