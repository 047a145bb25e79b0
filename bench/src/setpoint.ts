/**
 * `npm run -s bench -- setpoint [--json] [--n 1000] [--measure-s 20]`: setpoint latency and refresh traffic on
 * loopback, everything real except the battery (the ESS simulator, in process so its register writes are timed
 * on the same clock):
 *
 * (1) **publish → register write**: the agent runs in its own process (`lightnode agent`); an operator client publishes N signed setpoints one after the other (each once
 *     the previous one's `applied` ack reached the operator, as setpoints come in the field: one per slot) on the embedded
 *     broker (aedes); the agent (its MQTT link, the controller's eight checks, the nonce file, the audit
 *     log with fsync, the durable queue for the ack) drives `lightnode sim ess --sunspec`'s model 704 through the
 *     SunSpec adapter; the time is taken when the simulator applies the write. p50 / p99 over N.
 * (2) **baseline in the same run**: a bare subscriber (no verification, no checks, no audit, no queue) that does the
 *     one 704 Modbus write of the same adapter on each message: publish → subscribe + one Modbus write.
 * (3) **refresh traffic per hour**: Modbus bytes to the battery's unit and MQTT bytes of the agent's link, measured
 *     over `--measure-s` with a setpoint in force (refreshMs 20 000, the default) and without one (telemetry only);
 *     the difference is what holding a setpoint costs, scaled to an hour.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import {
  builtinProfiles,
  lightNodeDomain,
  parseAgentConfig,
  signSetpoint,
  systemClock,
  topicCodecs,
  topics,
  privateKeySigner,
  type Setpoint,
} from '@lightnode/protocols';
import { TEST_OPERATOR_KEY } from '@lightnode/protocols/testing';
import { fileURLToPath } from 'node:url';
import { ModbusLine, ModbusSerialTransport, SunSpecEssAdapter, writeNewKeyFile } from '@lightnode/edge';
import { startEmbeddedBroker } from '@lightnode/cloud';
import { startEssSim, type RunningEssSim } from '@lightnode/hw-test';
import { emit, type BenchResult } from './common.js';

const POD = 'IT002E61899978';
const LIGHTNODE = fileURLToPath(new URL('../../bin/lightnode.mjs', import.meta.url));

interface AgentStatus {
  status: { link?: { state: string } };
  details: { setpoints?: object; uplinkBytes: { out: number; in: number } };
}

function run(argv: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, argv, (e, out) => resolve({ code: e ? Number(e.code ?? 1) : 0, out })),
  );
}
const operator = privateKeySigner(TEST_OPERATOR_KEY);

function flag(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : dflt;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name}: expected a positive integer, received ${args[i + 1]}`);
  return v;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * The simulator's next write of about `commandW` (±25 W: the PoD meter's reading is rounded and time-skewed against
 * the battery's) — the register write applied — as performance.now().
 */
function writes(sim: RunningEssSim): (commandW: number, timeoutMs?: number) => Promise<number> {
  let waiting: { w: number; fn: (t: number) => void } | null = null;
  sim.sim.onEvent((e) => {
    if (e.event !== 'command' || e.commandW === undefined || !waiting) return;
    if (Math.abs(e.commandW - waiting.w) > 25) return;
    const { fn } = waiting;
    waiting = null;
    fn(performance.now());
  });
  return (commandW, timeoutMs = 10_000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no register write of ${commandW} W in ${timeoutMs} ms`)),
        timeoutMs,
      );
      waiting = {
        w: commandW,
        fn: (t) => {
          clearTimeout(timer);
          resolve(t);
        },
      };
    });
}

export async function main(args: string[]): Promise<number> {
  const n = flag(args, 'n', 1000);
  const measureS = flag(args, 'measure-s', 20);
  const dir = mkdtempSync(join(tmpdir(), 'ln-bench-setpoint-'));
  const broker = await startEmbeddedBroker();
  const loadW = 1500;
  const sim = await startEssSim({
    interface: { kind: 'sunspec' },
    loadW,
    battery: { ratedVA: 4600, capacityWh: 9600, autonomous: 'idle' },
  });
  const waitWrite = writes(sim);
  const stops: (() => Promise<unknown>)[] = [];
  try {
    // ---- (2) the bare path first: subscribe + one Modbus write of the same adapter
    const bareLine = new ModbusLine(new ModbusSerialTransport({ tcp: { host: '127.0.0.1', port: sim.port! } }), {
      clock: systemClock,
    });
    const bare = new SunSpecEssAdapter({
      id: 'bare',
      device: bareLine.addDevice({ name: 'bare', unit: 1, timeoutMs: 2000, retries: 0 }),
      clock: systemClock,
      profiles: builtinProfiles(),
    });
    await bare.start();
    const bareTopic = 'bench/bare/setpoint';
    const sub = await mqtt.connectAsync(broker.url, { clientId: 'bench-bare-sub', protocolVersion: 4 });
    sub.on('message', (_t, payload) => {
      const m = JSON.parse(payload.toString()) as { w: number };
      void bare.command(m.w, 60);
    });
    await sub.subscribeAsync(bareTopic, { qos: 1 });
    const pub = await mqtt.connectAsync(broker.url, { clientId: 'bench-operator', protocolVersion: 4 });
    (pub.stream as Socket).setNoDelay(true); // an operator platform's client: its PUBLISH must not wait behind its PUBACKs
    const bareLat: number[] = [];
    for (let i = 0; i < n; i++) {
      const w = 1000 + (i % 2) * 300 + (i % 7);
      const wrote = waitWrite(w);
      const t0 = performance.now();
      await pub.publishAsync(bareTopic, JSON.stringify({ w }), { qos: 1 });
      bareLat.push((await wrote) - t0);
    }
    await bare.release();
    await sub.endAsync();
    await bareLine.close();

    // ---- (1) the agent: setpoint → checks → nonce file → audit → ack queued → 704 write
    const keyFile = join(dir, 'device.key');
    const { address } = writeNewKeyFile(keyFile);
    const configPath = join(dir, 'agent.json');
    const config = parseAgentConfig({
      podId: POD,
      stateDir: join(dir, 'agent'),
      keyFile,
      batch: { windowMs: 5000 }, // steady MQTT traffic within the measured intervals
      uplink: { url: broker.url, keepaliveS: 240 },
      lines: [
        {
          name: 'site',
          transport: { tcp: { host: '127.0.0.1', port: sim.port! } },
          meters: [{ id: 'pod', profile: 'eastron/sdm630', unit: sim.meter!.unit, pollMs: 1000, role: 'pod' }],
        },
      ],
      setpoints: { issuers: [operator.address] },
      assets: [
        {
          id: 'battery',
          kind: 'ess',
          adapter: { sunspec: { line: 'site', unit: 1 } },
          limits: {
            maxDischargeW: 4600,
            maxChargeW: 4600,
            socMinPermille: 0,
            socMaxPermille: 1000,
            capacityWh: 1_000_000,
            rampWps: 1_000_000,
          },
        },
      ],
    });
    writeFileSync(configPath, JSON.stringify(config));
    // the agent in its own process, as on the device (`lightnode agent`): its event loop is not the simulator's
    const child = spawn(process.execPath, [LIGHTNODE, 'agent', '--config', configPath], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let agentLog = '';
    child.stderr.on('data', (d: Buffer) => (agentLog = (agentLog + d.toString()).slice(-4000)));
    const exited = new Promise((r) => child.once('exit', r));
    stops.push(async () => {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    });
    const status = async (): Promise<AgentStatus | null> => {
      const r = await run([LIGHTNODE, 'status', '--config', configPath, '--json']);
      return r.code === 0 ? (JSON.parse(r.out) as AgentStatus) : null;
    };
    const connected = Date.now() + 30_000;
    for (;;) {
      const st = await status();
      if (st?.status.link?.state === 'connected' && st.details.setpoints) break;
      if (Date.now() > connected) throw new Error(`the agent did not connect in 30 s: ${agentLog}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // the operator sees the device's acks (signed, on ln/v1/{id}/ack)
    const acks: { setpointId: string; state: string }[] = [];
    const ackWaiters = new Set<() => void>();
    pub.on('message', (t, payload) => {
      if (t !== topics.ack(address)) return;
      acks.push(topicCodecs.ack.decode(payload).message);
      for (const w of [...ackWaiters]) w();
    });
    await pub.subscribeAsync(topics.ack(address), { qos: 1 });
    await new Promise((r) => setTimeout(r, 1000)); // the PoD meter's first readings
    const dom = lightNodeDomain(config.chain.chainId, config.chain.keyRegister);
    const topic = topics.setpoint(address);
    const sp = (i: number, activePowerW: number): Setpoint => {
      const now = Date.now();
      return {
        version: 1,
        id: '0x' + (i + 1).toString(16).padStart(64, '0'),
        issuer: operator.address,
        podId: POD,
        marketSession: 'BENCH',
        slotIndex: 0,
        playerServiceId: 'bench',
        activePowerW,
        baselineW: loadW,
        validFromMs: now - 1000,
        validUntilMs: now + 600_000,
        nonce: now * 1000 + i,
      };
    };
    const agentLat: number[] = [];
    // resolves on the ack's arrival (no polling: the bench's own loop stays idle while it measures)
    const ackOf = (id: string, states: string[], timeoutMs = 10_000): Promise<void> =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (!acks.some((a) => a.setpointId === id && states.includes(a.state))) return;
          ackWaiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          ackWaiters.delete(check);
          reject(new Error(`setpoint ${id}: no ${states.join('/')} ack in ${timeoutMs} ms`));
        }, timeoutMs);
        ackWaiters.add(check);
        check();
      });
    for (let i = 0; i < n; i++) {
      const target = -1000 - (i % 2) * 300 - (i % 7);
      const m = sp(i, target);
      // command = (PoD + battery) − target = site load − target (the simulator's house load is constant)
      const before = performance.now();
      const bytes = topicCodecs.setpoint.encode(signSetpoint(m, operator, dom));
      const signMs = performance.now() - before;
      const expected = loadW - target;
      const wrote = waitWrite(expected);
      const t0 = performance.now();
      await pub.publishAsync(topic, Buffer.from(bytes), { qos: 1 });
      agentLat.push((await wrote) - t0);
      // one setpoint at a time, as they come in the field (one per slot): the next once this one's readback acked it
      await ackOf(m.id, ['applied', 'clipped']);
      if (i === 0)
        process.stderr.write(
          `setpoint: first write after ${agentLat[0]!.toFixed(1)} ms (signing ${signMs.toFixed(1)} ms, not timed)\n`,
        );
    }

    // ---- (3) refresh traffic: a setpoint in force at the default refreshMs vs none
    const battery = () => sim.modbusStats!.bytesByUnit[1] ?? { in: 0, out: 0 };
    const link = async () => (await status())!.details.uplinkBytes;
    const sample = async (): Promise<{ modbus: number; mqtt: number }> => {
      const b0 = battery();
      const l0 = await link();
      const [bi, bo, li, lo] = [b0.in, b0.out, l0.in, l0.out];
      await new Promise((r) => setTimeout(r, measureS * 1000));
      const b1 = battery();
      const l1 = await link();
      return { modbus: b1.in - bi + (b1.out - bo), mqtt: l1.in - li + (l1.out - lo) };
    };
    const held = await sample(); // the last setpoint is in force
    const release = { ...sp(n, 0), validUntilMs: Date.now() + 1500 };
    await pub.publishAsync(topic, Buffer.from(topicCodecs.setpoint.encode(signSetpoint(release, operator, dom))), {
      qos: 1,
    });
    await ackOf(release.id, ['expired'], 15_000);
    const idle = await sample();
    await pub.endAsync();

    const perHour = (x: number) => Math.round((x / measureS) * 3600);
    const a = [...agentLat].sort((x, y) => x - y);
    const b = [...bareLat].sort((x, y) => x - y);
    const p99 = percentile(a, 99);
    const results: BenchResult[] = [
      { name: 'agent.publishToWrite.p50', value: round(percentile(a, 50)), unit: 'ms' },
      { name: 'agent.publishToWrite.p99', value: round(p99), unit: 'ms' },
      { name: 'agent.publishToWrite.max', value: round(a.at(-1)!), unit: 'ms' },
      { name: 'bare.publishToWrite.p50', value: round(percentile(b, 50)), unit: 'ms' },
      { name: 'bare.publishToWrite.p99', value: round(percentile(b, 99)), unit: 'ms' },
      { name: 'refresh.modbusBytesPerHour.held', value: perHour(held.modbus), unit: 'B/h' },
      { name: 'refresh.modbusBytesPerHour.autonomous', value: perHour(idle.modbus), unit: 'B/h' },
      { name: 'refresh.modbusBytesPerHour.setpointCost', value: perHour(held.modbus - idle.modbus), unit: 'B/h' },
      { name: 'refresh.mqttBytesPerHour.held', value: perHour(held.mqtt), unit: 'B/h' },
      { name: 'refresh.mqttBytesPerHour.autonomous', value: perHour(idle.mqtt), unit: 'B/h' },
    ];
    emit(
      {
        bench: 'setpoint',
        command: `npm run -s bench -- setpoint${args.length ? ' ' + args.join(' ') : ''}`,
        dataset: `${n} signed setpoints one after the other (each after the previous one's applied ack reached the operator) to a lightnode agent process on loopback (embedded aedes, ESS simulator SunSpec 704 over Modbus TCP, PoD meter polled every 1000 ms (the default)); refresh traffic over ${measureS} s each, refreshMs 20000, battery telemetry every 1000 ms, 5-s batches`,
        results,
        ratios: {
          targetOverP99: round(50 / p99),
          p99OverBareP99: round(p99 / percentile(b, 99)),
        },
      },
      args,
    );
    return 0;
  } finally {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    await sim.stop();
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (x: number): number => Math.round(x * 100) / 100;
